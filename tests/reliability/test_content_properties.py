"""Property-based tests of captured content: bounded, valid, filtered, no payloads, no side effects.

Why: content capture reads whatever a program passes and whatever a provider answers, in every
shape LiteLLM accepts, and writes it into four attributes. Hypothesis generates message lists
that mix every inline-payload spelling and shape (data URLs in any case, with leading
whitespace, bare base64, Anthropic ``source`` blocks, Gemini ``inline_data``, Responses
``input_image`` / ``input_file``), huge and invalid JSON tool arguments, tool results given as
lists of parts, huge URLs, long chats, and one-shot iterables where lists usually go; answers
and streams with the same. The properties, with content capture on (spans and events), a
content filter that upper-cases and limits from tiny to generous:

1. Bounded: every content attribute, on the span and on the event, is valid JSON of at most
   ``max_content_length`` characters (plus one marker item when the limit is smaller).
2. No payloads: no 48-character window of any generated base64 payload is anywhere in the
   telemetry (so no run of 64 or more characters of one).
3. Filtered: no generated text (lower case) survives anywhere; the filter saw every one.
4. No side effects: the caller's arguments are left as they were and its iterables unread; and
   (through LiteLLM and the loopback server) the provider receives exactly the request it
   receives without us.

``PROPERTY_SCALE=20`` searches twenty times harder.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import litellm
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.util.genai.types import ContentCapturingMode

from litellm_otel._failsafe import reset_reported
from tests.support.content import (
    CONTENT_KEYS,
    MARKER_ALLOWANCE,
    content_recorder,
    content_values,
    everything_exported,
    record,
)
from tests.support.loopback_server import LoopbackLLMServer
from tests.support.telemetry import API_KEY, Telemetry

SCALE = float(os.environ.get("PROPERTY_SCALE", "1"))
MODEL = "openai/gpt-4o-mini"
WINDOW = 48  # every leaked run of 64 characters holds one window at a multiple of 16
STEP = 16


def examples(count: int) -> int:
    return max(1, round(count * SCALE))


SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --- what a case is made of -------------------------------------------------------------------


@dataclass
class Case:
    """One call's arguments and answer, with what was generated to check for afterwards."""

    surface: str = "completion"
    params: dict[str, Any] = field(default_factory=dict)
    response: Any = None
    chunks: list[Any] | None = None
    limit: int = 1000
    long_chat: bool = False
    payloads: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    # one-shot iterables handed over, with the items each must still hold afterwards
    iterables: list[tuple[Iterator[Any], list[Any]]] = field(default_factory=list)

    def __repr__(self) -> str:
        params = {k: v for k, v in self.params.items() if k != "messages"}
        messages = self.params.get("messages")
        size = len(messages) if isinstance(messages, list) else type(messages).__name__
        return f"Case({self.surface}, limit={self.limit}, messages={size}, params={params!r:.300})"


# Texts in letters no key, marker or model name of ours uses, so a lower-case survivor is one
# of them and nothing else.
LETTERS = "qzjkvw"
short_texts = st.text(LETTERS + " ", min_size=6, max_size=40).filter(lambda t: t.strip() != "")
LENGTHS = (1, 2, 10, 100, 1000, 5000)  # times a short text is repeated
SPELLINGS = (
    "data:{mime};base64,{data}",
    "DATA:{mime};base64,{data}",
    "Data:{mime};BASE64,{data}",
    " data:{mime};base64,{data}",
    "\r\n\t data:{mime};base64,{data}",
    "da\nta:{mime};base64,{data}",
    "data:{data}",
    "data:;base64,{data}",
    "{data}",
    "{mime};base64,{data}",
    "blob:{data}",
)
MIMES = ("image/png", "image/jpeg", "application/pdf", "audio/wav", "video/mp4", "")
PART_SHAPES: tuple[Callable[[str, str], Any], ...] = (
    lambda u, m: {"type": "image_url", "image_url": {"url": u}},
    lambda u, m: {"type": "image_url", "image_url": u},
    lambda u, m: {"type": "image_url", "image_url": {"url": u, "format": m}},
    lambda u, m: {"type": "video_url", "video_url": {"url": u}},
    lambda u, m: {"type": "file", "file": {"file_data": u, "filename": "a.bin"}},
    lambda u, m: {"type": "input_audio", "input_audio": {"data": u, "format": "wav"}},
    lambda u, m: {"type": "image", "source": {"type": "base64", "media_type": m, "data": u}},
    lambda u, m: {"type": "document", "source": {"type": "base64", "media_type": m, "data": u}},
    lambda u, m: {"type": "input_image", "image_url": u},
    lambda u, m: {"type": "input_file", "file_data": u},
    lambda u, m: {"inline_data": {"mime_type": m, "data": u}},
    lambda u, m: {"inlineData": {"mimeType": m, "data": u}},
)

# The shapes LiteLLM's chat validation lets through to an OpenAI-compatible provider.
CHAT_SHAPES = PART_SHAPES[:6]


class Draw:
    """Draws the pieces of one case, noting texts and payloads as it goes."""

    def __init__(self, draw: st.DrawFn, case: Case, *, longest: int, valid: bool) -> None:
        self.draw = draw
        self.case = case
        self.longest = longest  # times a short text is repeated, at most
        # only what LiteLLM lets through to an OpenAI-compatible provider
        self.valid = valid

    def text(self) -> str:
        repeat = self.draw(st.sampled_from([n for n in LENGTHS if n <= self.longest]))
        text = self.draw(short_texts) * repeat
        self.case.texts.append(text)
        return text

    def payload_part(self) -> Any:
        data = base64.b64encode(self.draw(st.binary(min_size=48, max_size=400))).decode()
        self.case.payloads.append(data)
        mime = self.draw(st.sampled_from(MIMES))
        spelled = self.draw(st.sampled_from(SPELLINGS)).format(mime=mime, data=data)
        shapes = CHAT_SHAPES if self.valid and self.case.surface == "completion" else PART_SHAPES
        return self.draw(st.sampled_from(shapes))(spelled, mime)

    def url_part(self) -> Any:
        url = f"https://example.invalid/{self.text()}"
        chat = self.valid and self.case.surface == "completion"
        kind = "image_url" if chat else self.draw(st.sampled_from(["image_url", "input_image"]))
        return (
            {"type": kind, kind: url}
            if kind == "input_image"
            else {"type": kind, kind: {"url": url}}
        )

    def part(self) -> Any:
        kind = self.draw(st.sampled_from(["text", "payload", "url"]))
        if kind == "payload":
            return self.payload_part()
        if kind == "url":
            return self.url_part()
        chat = self.valid and self.case.surface == "completion"
        kind = "text" if chat else self.draw(st.sampled_from(["text", "input_text"]))
        return {"type": kind, "text": self.text()}

    def parts(self, at_most: int = 4) -> list[Any]:
        return [self.part() for _ in range(self.draw(st.integers(1, at_most)))]

    def maybe_one_shot(self, items: list[Any]) -> Any:
        """``items``, or a one-shot iterator over them (noted to check it stays unread)."""
        if self.draw(st.integers(0, 9)) != 0:
            return items
        iterator = iter(items)
        self.case.iterables.append((iterator, list(items)))
        return iterator

    def arguments(self) -> str:
        if self.draw(st.booleans()):
            return json.dumps(
                {"query": self.text(), "n": self.draw(st.lists(st.integers(), max_size=5))}
            )
        return self.text()  # not JSON

    def tool_call(self) -> dict[str, Any]:
        call_id = f"call_{self.draw(st.integers(0, 10**6))}"
        return {
            "id": call_id,
            "type": "function",
            "function": {"name": "f", "arguments": self.arguments()},
        }

    def chat_message(self) -> dict[str, Any]:
        role = self.draw(st.sampled_from(["system", "user", "user", "assistant", "tool"]))
        if role == "tool":
            content: Any = self.text() if self.draw(st.booleans()) else self.parts()
            return {"role": "tool", "tool_call_id": "call_1", "content": content}
        if role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": self.text()}
            if self.draw(st.booleans()):
                message["reasoning_content"] = self.text()
            if self.draw(st.booleans()):
                message["tool_calls"] = [
                    self.tool_call() for _ in range(self.draw(st.integers(1, 2)))
                ]
            return message
        if self.draw(st.booleans()) or (self.valid and role == "system"):
            return {"role": role, "content": self.text()}
        parts = self.parts()
        return {"role": role, "content": parts if self.valid else self.maybe_one_shot(parts)}

    def chat_tools(self) -> list[Any]:
        return [
            {
                "type": "function",
                "function": {
                    "name": f"tool_{i}",
                    "description": self.text(),
                    "parameters": {"type": "object", "description": self.text()},
                },
            }
            for i in range(self.draw(st.integers(1, 40)))
        ]

    def chat_answer(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text()}
        if self.draw(st.booleans()):
            message["tool_calls"] = [self.tool_call()]
        if self.draw(st.booleans()):
            message["images"] = [self.payload_part()]
        if self.draw(st.booleans()):
            data = base64.b64encode(self.draw(st.binary(min_size=48, max_size=200))).decode()
            self.case.payloads.append(data)
            message["audio"] = {"id": "a", "data": data, "transcript": self.text(), "expires_at": 1}
        count = self.draw(st.integers(1, 3))
        return {
            "id": "chatcmpl-1",
            "model": "gpt-4o-mini",
            "choices": [
                {"index": i, "finish_reason": "stop", "message": message} for i in range(count)
            ],
        }

    def chat_chunks(self) -> list[Any]:
        chunks: list[Any] = [
            {"id": "c", "choices": [{"index": 0, "delta": {"content": self.text()}}]}
            for _ in range(self.draw(st.integers(1, 5)))
        ]
        if self.draw(st.booleans()):
            arguments = self.arguments()
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                chunks.append(
                    {
                        "id": "c",
                        "choices": [
                            {
                                "index": 0,
                                "delta": {
                                    "tool_calls": [
                                        {
                                            "index": 0,
                                            "id": "call_9",
                                            "function": {"name": "f", "arguments": piece},
                                        }
                                    ]
                                },
                            }
                        ],
                    }
                )
        return chunks

    def responses_item(self) -> Any:
        kind = self.draw(st.sampled_from(["message", "call", "output", "reasoning"]))
        if kind == "call":
            return {
                "type": "function_call",
                "call_id": "call_1",
                "name": "f",
                "arguments": self.arguments(),
            }
        if kind == "output":
            output: Any = self.text() if self.draw(st.booleans()) else self.parts()
            return {"type": "function_call_output", "call_id": "call_1", "output": output}
        if kind == "reasoning":
            return {"type": "reasoning", "summary": [{"type": "summary_text", "text": self.text()}]}
        return {"role": "user", "content": self.parts()}

    def responses_answer(self) -> dict[str, Any]:
        output: list[Any] = [
            {"type": "message", "content": [{"type": "output_text", "text": self.text()}]}
        ]
        if self.draw(st.booleans()):
            output.append(
                {
                    "type": "function_call",
                    "call_id": "c",
                    "name": "f",
                    "arguments": self.arguments(),
                }
            )
        if self.draw(st.booleans()):
            output.insert(
                0, {"type": "reasoning", "summary": [{"type": "summary_text", "text": self.text()}]}
            )
        if self.draw(st.booleans()):
            data = base64.b64encode(self.draw(st.binary(min_size=48, max_size=200))).decode()
            self.case.payloads.append(data)
            output.append({"type": "image_generation_call", "result": data})
        return {"id": "resp_1", "status": "completed", "output": output}


@st.composite
def cases(draw: st.DrawFn, longest: int = 5000, valid: bool = False) -> Case:
    case = Case(limit=draw(st.sampled_from([120, 400, 1000, 4000, 32_768])))
    long_chat = draw(st.sampled_from([True, False, False]))  # many turns, each under the limit
    case.surface = draw(st.sampled_from(["completion", "completion", "responses"]))
    d = Draw(draw, case, longest=10 if long_chat else longest, valid=valid)
    if case.surface == "completion":
        messages = [d.chat_message() for _ in range(draw(st.integers(1, 6)))]
        if long_chat:  # the same turns many times over
            messages = messages * draw(st.sampled_from([50, 400]))
            case.long_chat = True
        case.params = {"model": MODEL, "messages": d.maybe_one_shot(messages)}
        if draw(st.booleans()):
            case.params["tools"] = d.maybe_one_shot(d.chat_tools())
        if draw(st.booleans()):
            case.params["stream"] = True
            case.chunks = d.chat_chunks()
        else:
            case.response = d.chat_answer()
    else:
        items = [d.responses_item() for _ in range(draw(st.integers(1, 6)))]
        case.params = {"model": MODEL, "input": d.maybe_one_shot(items) if items else d.text()}
        if draw(st.booleans()):
            case.params["instructions"] = d.text()
        if draw(st.booleans()):
            tools = [
                {
                    "type": "function",
                    "name": "f",
                    "description": d.text(),
                    "parameters": {"title": d.text()},
                }
            ]
            case.params["tools"] = d.maybe_one_shot(tools)
        case.response = d.responses_answer()
    return case


# --- the checks ---------------------------------------------------------------------------------


def upper(text: str) -> str:
    return text.upper()


def check_telemetry(telemetry: Telemetry, case: Case, *, expect_content: bool = True) -> None:
    values = content_values(telemetry)
    written = [value for key in CONTENT_KEYS for value in values[key]]
    if expect_content:
        assert written, "no content recorded"
    for key in CONTENT_KEYS:
        for value in values[key]:
            json.loads(value)
            assert len(value) <= case.limit + MARKER_ALLOWANCE, (key, len(value), case.limit)
    exported = everything_exported(telemetry)
    for payload in case.payloads:
        for start in range(0, max(len(payload) - WINDOW, 0) + 1, STEP):
            window = payload[start : start + WINDOW]
            assert window not in exported, f"payload leaked: {window}"
    survivors = [text for text in case.texts if text in exported]
    assert not survivors, f"unfiltered: {survivors[0][:80]!r}"
    assert API_KEY not in exported


def equal(value: Any, copied: Any) -> bool:
    """``value`` as it was when ``copied`` was deep-copied from it (iterators by what is left)."""
    if isinstance(value, dict):
        return (
            isinstance(copied, dict)
            and value.keys() == copied.keys()  # pyright: ignore[reportUnknownMemberType]
            and all(equal(value[k], copied[k]) for k in value)  # pyright: ignore[reportUnknownArgumentType]
        )
    if isinstance(value, list):
        return (
            isinstance(copied, list)
            and len(value) == len(copied)  # pyright: ignore[reportUnknownArgumentType]
            and all(equal(a, b) for a, b in zip(value, copied, strict=True))  # pyright: ignore[reportUnknownArgumentType]
        )
    if isinstance(value, Iterator):
        return True  # checked by what it still yields
    return bool(value == copied)


def check_iterables_unread(case: Case) -> None:
    for iterator, items in case.iterables:
        assert list(iterator) == items, "a one-shot iterable was read"


@settings(SETTINGS, max_examples=examples(300))
@given(case=cases())
def test_content_is_bounded_filtered_and_free_of_payloads(telemetry: Telemetry, case: Case) -> None:
    telemetry.spans.clear()
    telemetry.logs.clear()
    recorder = content_recorder(
        telemetry, mode=ContentCapturingMode.SPAN_AND_EVENT, limit=case.limit, content_filter=upper
    )
    before = copy.deepcopy(case.params)
    record(recorder, case.surface, case.params, case.response, chunks=case.chunks)
    assert equal(case.params, before), "the arguments were changed"
    check_iterables_unread(case)
    check_telemetry(telemetry, case)
    describe(telemetry, case)


def describe(telemetry: Telemetry, case: Case) -> None:
    """What the corpus covered (``--hypothesis-show-statistics`` prints it)."""
    event(f"{case.surface}{' stream' if case.chunks is not None else ''}")
    event(f"{len(case.payloads)} inline payloads" if case.payloads else "no inline payload")
    if case.iterables:
        event("a one-shot iterable")
    if case.long_chat:
        event("a long chat")
    written = " ".join(v for values in content_values(telemetry).values() for v in values)
    if "truncated" in written:
        event("values cut")
    if " messages truncated" in written or " tool definitions truncated" in written:
        event("items dropped")


# --- the same through LiteLLM: the provider gets the very same request ---------------------------


def loopback_call(case: Case, server: LoopbackLLMServer) -> Any:
    """(what the call returned or raised, the request bodies the provider got)."""
    server.clear()
    params = copy.copy(case.params)  # iterators are shared: each run gets fresh ones below
    params.pop("stream", None)
    target = {"api_base": server.base_url, "api_key": API_KEY, "max_retries": 0}
    try:
        function = litellm.completion if case.surface == "completion" else litellm.responses
        result = function(**params, **target)
        outcome: Any = ("returned", type(result).__name__)
    except Exception as error:
        outcome = ("raised", type(error).__name__)
    return outcome, [request.body for request in server.requests]


def fresh(case: Case) -> Case:
    """The case again, with new one-shot iterators over the same items."""
    replacements = {id(iterator): items for iterator, items in case.iterables}
    renewed: list[tuple[Iterator[Any], list[Any]]] = []

    def renew(value: Any) -> Any:
        items = replacements.get(id(value))
        if items is not None:
            iterator = iter([renew(item) for item in items])
            renewed.append((iterator, list(items)))
            return iterator
        if isinstance(value, dict):
            return {key: renew(item) for key, item in value.items()}
        if isinstance(value, list):
            return [renew(item) for item in value]
        return value

    return Case(
        case.surface,
        renew(case.params),
        case.response,
        case.chunks,
        case.limit,
        case.long_chat,
        case.payloads,
        case.texts,
        renewed,
    )


@settings(SETTINGS, max_examples=examples(60))
@given(case=cases(longest=100, valid=True))
def test_the_provider_receives_the_request_it_receives_without_us(
    instrument: Callable[..., Telemetry], server: LoopbackLLMServer, case: Case
) -> None:
    telemetry = getattr(instrument, "telemetry", None)
    if telemetry is None:
        telemetry = instrument(capture_content=True, content_filter=upper, max_content_length=1000)
        instrument.telemetry = telemetry  # type: ignore[attr-defined]
    case.limit = 1000
    reset_reported()
    with suppress_instrumentation():
        plain = loopback_call(fresh(case), server)
    telemetry.spans.clear()
    traced_case = fresh(case)
    traced = loopback_call(traced_case, server)
    assert traced == plain
    event(f"{case.surface} {plain[0][0]}{' ' + plain[0][1] if plain[0][0] == 'raised' else ''}")
    event(f"{len(plain[1])} requests reached the provider")
    check_telemetry(telemetry, traced_case, expect_content=False)
