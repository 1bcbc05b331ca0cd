"""Reading LiteLLM's objects: pydantic models and plain dicts alike, typed on the way out.

LiteLLM hands back pydantic models (responses, choices, usage, stream chunks) and accepts
dicts or models as input, so every mapping reads through :func:`field`. Pydantic answers
every name it does not keep in the instance ``__dict__`` (extras such as a response's
``usage``, private attributes such as ``_hidden_params``, and any missing name) from its
``__getattr__``, and for a missing name by raising and catching an exception; the per-chunk
path looks up names chunks usually lack. So a model's storage is read directly, and
``getattr`` is left for what a class defines itself (properties).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

#: Typed ``Any`` so that what ``getattr`` returns past it stays LiteLLM's ``Any``.
_NOT_PYDANTIC: Final[Any] = object()
# Model class → name → whether the class itself has the name (a property, say). Nested, so
# a miss (``usage`` on every stream chunk) allocates no key.
_CLASS_HAS: dict[type, dict[str, bool]] = {}


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``name`` of a mapping or an object alike, without going through pydantic's fallback."""
    if type(obj) is dict:
        # The hot path (every chunk, every usage field): ``cast`` would cost more than the
        # lookup. LiteLLM's dicts are str-keyed with values of any type: ``Any`` is their type.
        return obj.get(name, default)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    extra = getattr(obj, "__pydantic_extra__", _NOT_PYDANTIC)
    if extra is not _NOT_PYDANTIC:
        values: dict[str, Any] = obj.__dict__
        if name in values:
            return values[name]
        if extra and name in extra:
            return extra[name]
        private = getattr(obj, "__pydantic_private__", None)
        if private and name in private:
            return private[name]
        instance: object = obj
        cls = type(instance)
        names = _CLASS_HAS.get(cls)
        if names is None:
            names = _CLASS_HAS[cls] = {}
        on_class = names.get(name)
        if on_class is None:  # once per model class and name; both sets are small
            on_class = names[name] = hasattr(cls, name)
        return getattr(obj, name, default) if on_class else default
    if isinstance(obj, Mapping):
        return cast("Mapping[str, Any]", obj).get(name, default)
    return getattr(obj, name, default)


def plain(value: Any) -> Any:
    """A pydantic model's fields (extras included) as a dict; anything else as it is.

    For objects read many times in one pass (usage and its details): one dict built here
    makes every following lookup a plain ``.get``.
    """
    instance: object = value
    value_type = type(instance)
    if value is None or value_type is dict or not hasattr(value_type, "model_fields"):
        return value
    values = getattr(value, "__dict__", None)
    if not isinstance(values, dict):
        return value
    fields = cast("dict[str, Any]", values)
    extra: dict[str, Any] | None = getattr(value, "__pydantic_extra__", None)
    return {**fields, **extra} if extra else fields


def number(value: object) -> float | None:
    """A real number, or ``None``; ``bool`` is not a number here (``0`` is)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def integer(value: object) -> int | None:
    """An ``int`` that is not a ``bool``, or ``None``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def text(value: object) -> str | None:
    """A non-empty string, or ``None``."""
    return value if isinstance(value, str) and value else None


def mapping(value: object) -> Mapping[str, Any] | None:
    """``value`` when it is a mapping, typed as LiteLLM's are (str keys, values of any type)."""
    return cast("Mapping[str, Any]", value) if isinstance(value, Mapping) else None


def items(value: object) -> list[Any] | tuple[Any, ...] | None:
    """``value`` when it is a list or tuple (LiteLLM's sequences hold values of any type)."""
    return cast("list[Any] | tuple[Any, ...]", value) if isinstance(value, (list, tuple)) else None
