"""One content budget: every content attribute we write fits in ``max_content_length``.

util-genai writes ``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.system_instructions`` and ``gen_ai.tool.definitions`` each as one JSON document (the
span attribute is its text; the event attribute is the same structure). The limit bounds that
document, measured in the characters util-genai writes (ASCII escapes: "é" takes six, an emoji
twelve), not each text in it: a long chat of short turns, a tool result given as parts, or
tool-call arguments that are valid JSON all count, and the document always stays valid JSON.

How the budget is spent, and why:

1. A document that fits is left alone, and finding that out is cheap: strings are measured by
   the JSON encoder's own escaper and the fixed part of each message or part once per class,
   so no document is serialised to be measured; only structured values (parsed tool
   arguments, schemas) are, each once, by a C encoder. A value the filter returned as JSON text
   is measured by a bound on that text until the document may not fit.
2. A document that does not fit has its largest values cut first, all to one size (the
   largest size at which everything fits). Roles, ids and short turns stay whole, and one huge
   tool result or pasted document cannot push the rest of the conversation out. A cut value
   ends with ``…[truncated N chars]``; a structured value (tool arguments, a JSON schema) is
   cut as its JSON text and recorded as that string.
3. When that size would be too small to say anything (a long chat of many short turns), whole
   items go instead, oldest first: the newest turns are the ones a trace is read for. One
   marker item at the start says how many went. The items kept are cut as in 2 if need be.
4. When not even the newest item fits, the document is that one marker item, which is then the
   only thing that may exceed a limit smaller than itself.

Items are changed in place: the content policy hands over objects our mappings made for this
call, never the caller's.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, Final

#: The escaper ``json.dumps`` uses for strings (with ``ensure_ascii``, as util-genai writes).
_escape: Final[Callable[[str], str]] = json.encoder.encode_basestring_ascii

#: The smallest size a value is cut to before whole items go instead.
MAX_FLOOR: Final = 512
MIN_FLOOR: Final = 64
#: The smallest size that still holds a visible marker.
MIN_CUT: Final = 40
# Parsing JSON text and writing it again can lengthen one number by this much (``1e15`` is
# written ``1000000000000000.0``); everything else comes out no longer than it went in.
_NUMBER_GROWTH: Final = 14


def marker(cut: int) -> str:
    return f"…[truncated {cut} chars]"


class Sources:
    """The JSON text structured values were parsed from or written as, by identity.

    A text is *exact* when it is what util-genai will write for the value (it was written by
    the same serialiser); otherwise it is the text the value was parsed from, which bounds it.
    """

    __slots__ = ("_texts",)

    def __init__(self) -> None:
        # id → (the value, kept alive so its id stays its own; its text; exact)
        self._texts: dict[int, tuple[Any, str, bool]] = {}

    def add(self, value: Any, text: str, *, exact: bool) -> None:
        self._texts[id(value)] = (value, text, exact)

    def get(self, value: Any) -> tuple[str, bool] | None:
        known = self._texts.get(id(value))
        return None if known is None else (known[1], known[2])


def _default(value: Any) -> Any:
    """What util-genai's encoder does with values JSON has no form for."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# util-genai's ``gen_ai_json_dumps`` makes an encoder per call; the same settings, made once.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), default=_default)


def not_json(value: Any) -> str:
    """What is recorded instead of a value util-genai could not write (it would fail)."""
    return f"…[not JSON: {type(value).__name__}]"


def json_text(value: Any) -> str | None:
    """``value`` as util-genai will write it, or ``None`` when it cannot be written."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError, OverflowError):
        return None


Layout = tuple[tuple[str, ...], int]
# dataclass → (field names, characters of its fixed structure: braces, keys, commas); ``None``
# for a class that is not a dataclass.
_LAYOUTS: dict[type[Any], Layout | None] = {}


def _layout(cls: type[Any]) -> Layout | None:
    try:
        return _LAYOUTS[cls]
    except KeyError:
        pass
    layout = None
    if dataclasses.is_dataclass(cls):
        names = tuple(f.name for f in dataclasses.fields(cls))
        fixed = 2 + sum(len(_escape(name)) + 1 for name in names) + max(len(names) - 1, 0)
        layout = (names, fixed)
    _LAYOUTS[cls] = layout
    return layout


def _float_size(value: float) -> int:
    if math.isfinite(value):
        return len(float.__repr__(value))
    return 3 if math.isnan(value) else 8 if value > 0 else 9  # NaN, Infinity, -Infinity


class _Measure:
    """Sizes of values as written, exact or bounded from above."""

    __slots__ = ("exact", "limit", "sources")

    def __init__(self, limit: int, sources: Sources, *, exact: bool) -> None:
        self.limit = limit
        self.sources = sources
        self.exact = exact

    def string(self, value: str) -> int:
        # Longer than the limit in characters: longer written too, and it will be cut; the
        # exact size is not needed (escaping a megabyte to learn it is not free).
        if len(value) > self.limit:
            return len(value) + 2
        return len(_escape(value))

    def size(self, value: Any) -> int:
        kind: type[Any] = value.__class__
        if kind is str:
            return len(value) + 2 if len(value) > self.limit else len(_escape(value))
        if value is None:
            return 4
        layout = _LAYOUTS[kind] if kind in _LAYOUTS else _layout(kind)
        if layout is not None:  # a message, part or tool definition: the hot path
            names, total = layout
            limit = self.limit
            for name in names:
                item: Any = getattr(value, name)
                if type(item) is str:
                    total += len(item) + 2 if len(item) > limit else len(_escape(item))
                elif item is None:
                    total += 4
                else:
                    total += self.size(item)
            return total
        if kind is list or kind is tuple:
            total = 2 + max(len(value) - 1, 0)
            for item in value:
                total += self.size(item)
            return total
        if kind is bool:
            return 4 if value else 5
        if kind is int:
            return len(int.__repr__(value))
        if kind is float:
            return _float_size(value)
        if isinstance(value, str):  # a str enum (Modality): written as its value
            text = str.__str__(value)
            return len(text) + 2 if len(text) > self.limit else len(_escape(text))
        if isinstance(value, (bytes, bytearray)):
            return 4 * ((len(value) + 2) // 3) + 2  # written as base64
        return self.structured(value)

    def structured(self, value: Any) -> int:
        """A structured value's size (it is written here once if its text is not known)."""
        known = self.sources.get(value)
        if known is not None:
            text, exact = known
            if exact:
                return len(text)
            if not self.exact:
                # Parsed from ``text``: written no longer than ``text`` escaped, but numbers.
                growth = _NUMBER_GROWTH * (text.count("e") + text.count("E"))
                return len(_escape(text)) + growth
        text = json_text(value)
        if text is None:  # replaced when measured exactly: make sure that happens
            return self.limit + 1
        if known is None:
            self.sources.add(value, text, exact=True)
        return len(text)


@dataclasses.dataclass
class _Leaf:
    """One value that may be cut: ``owner.name``, its size, and the text it is cut from."""

    owner: Any
    name: str
    size: int
    text: str


class _Item:
    __slots__ = ("leaves", "size")

    def __init__(self, size: int, leaves: list[_Leaf]) -> None:
        self.size = size
        self.leaves = leaves

    @property
    def fixed(self) -> int:
        return self.size - sum(leaf.size for leaf in self.leaves)


def _walk(value: Any, measure: _Measure, leaves: list[_Leaf]) -> int:
    """The exact size of a dataclass instance, noting every value in it that may be cut."""
    layout = _layout(value.__class__)
    if layout is None:
        return measure.size(value)
    names, total = layout
    for name in names:
        item: Any = getattr(value, name)
        kind: type[Any] = item.__class__
        if isinstance(item, str):
            size = measure.size(item)
            leaves.append(_Leaf(value, name, size, str.__str__(item)))
        elif item is None or kind in (bool, int, float) or isinstance(item, (bytes, bytearray)):
            size = measure.size(item)
        elif _layout(kind) is not None:
            size = _walk(item, measure, leaves)
        elif (kind is list or kind is tuple) and all(_layout(i.__class__) for i in item):
            size = 2 + max(len(item) - 1, 0) + sum(_walk(i, measure, leaves) for i in item)
        else:  # tool arguments, a JSON schema, a tool result that is not parts
            known = measure.sources.get(item)
            if known is not None and known[1]:
                written = source = known[0]
            else:  # parsed from a text: cut that text, but measure the value as written
                text = json_text(item)
                if text is None:  # util-genai would fail on it: record what it was instead
                    text = not_json(item)
                    setattr(value, name, text)
                    written = _escape(text)
                else:
                    written = text
                source = known[0] if known is not None else text
            size = len(written)
            leaves.append(_Leaf(value, name, size, source))
        total += size
    return total


def _level(sizes: Sequence[int], budget: int) -> int | None:
    """The largest size to cut every value to so that they fit ``budget``; ``None``: no cut."""
    if budget < 0:
        return -1
    if sum(sizes) <= budget:
        return None
    remaining = budget
    count = len(sizes)
    for index, size in enumerate(sorted(sizes)):
        if size * (count - index) <= remaining:
            remaining -= size
        else:
            return remaining // (count - index)
    return None


def cut(text: str, size: int) -> str:
    """``text`` shortened to end with the marker and take at most ``size`` written characters."""
    if len(text) <= size and len(_escape(text)) <= size:
        return text
    longest = len(_escape(marker(len(text))))  # the quotes are counted once, with the marker
    room = size - longest
    if room <= 0:
        return marker(len(text))
    keep = min(len(text), room)
    written = len(_escape(text[:keep])) - 2
    while written > room:  # escapes took more room than characters: take fewer
        keep = min(keep - 1, keep * room // written)
        written = len(_escape(text[:keep])) - 2
    # The marker for what is actually cut may be shorter than the one room was kept for.
    while keep < len(text):
        grown = written + len(_escape(text[keep])) - 2
        if grown + len(_escape(marker(len(text) - keep - 1))) > size:
            break
        keep += 1
        written = grown
    return text[:keep] + marker(len(text) - keep)


def _apply(items: Sequence[_Item], level: int) -> None:
    for item in items:
        for leaf in item.leaves:
            if leaf.size > level:
                setattr(leaf.owner, leaf.name, cut(leaf.text, level))


def floor_for(limit: int) -> int:
    return min(MAX_FLOOR, max(MIN_FLOOR, limit // 16))


def bound(
    items: list[Any],
    limit: int,
    sources: Sources,
    dropped: Callable[[int, int, Any], Any],
) -> list[Any]:
    """``items`` (one attribute's messages, parts or tool definitions) within ``limit``.

    ``dropped(count, chars, first)`` makes the marker item standing for ``count`` items of
    ``chars`` written characters, ``first`` the oldest of them.
    """
    count = len(items)
    if not count:
        return items
    quick = _Measure(limit, sources, exact=False)
    if 2 + count - 1 + sum(quick.size(item) for item in items) <= limit:
        return items
    measure = _Measure(limit, sources, exact=True)
    measured: list[_Item] = []
    for item in items:
        leaves: list[_Leaf] = []
        measured.append(_Item(_walk(item, measure, leaves), leaves))
    total = 2 + count - 1 + sum(item.size for item in measured)
    if total <= limit:
        return items
    floor = floor_for(limit)
    # 2. everything kept, the largest values cut to one size
    fixed = total - sum(leaf.size for item in measured for leaf in item.leaves)
    level = _level([leaf.size for item in measured for leaf in item.leaves], limit - fixed)
    if level is not None and level >= floor:
        _apply(measured, level)
        return items
    # 3. the newest items kept, each value at least ``floor`` unless that is all there is
    reserve = measure.size(dropped(count, total, items[0])) + 1
    budget = limit - 2 - reserve
    kept = 0
    used = 0
    for item in reversed(measured):
        cost = item.fixed + sum(min(leaf.size, floor) for leaf in item.leaves) + (1 if kept else 0)
        if used + cost > budget:
            break
        used += cost
        kept += 1
    kept = max(kept, 1)
    newest = measured[count - kept :]
    fixed = 2 + kept - 1 + sum(item.fixed for item in newest) + (reserve if kept < count else 0)
    level = _level([leaf.size for item in newest for leaf in item.leaves], limit - fixed)
    if level is None or level >= MIN_CUT:
        if level is not None:
            _apply(newest, level)
        result = items[count - kept :]
        if kept < count:
            gone = sum(item.size for item in measured[: count - kept])
            result = [dropped(count - kept, gone, items[0]), *result]
        if _Measure(limit, sources, exact=True).size(result) <= limit:
            return result
    # 4. nothing fits
    return [dropped(count, total, items[0])]
