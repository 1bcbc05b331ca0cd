"""The content budget: sizes as util-genai writes them, cuts that fit, documents that fit."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.util.genai.types import (
    BlobPart,
    FilePart,
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    Modality,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    UriPart,
)
from opentelemetry.util.genai.utils import gen_ai_json_dumps

from litellm_otel import _budget
from litellm_otel._budget import MIN_CUT, Sources, bound, cut, marker
from litellm_otel._messages import parse_arguments

SETTINGS = settings(max_examples=300, deadline=None, database=None)

texts = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=30),  # astral characters, controls
    st.text(st.characters(categories=["Cs"]), max_size=3),  # lone surrogates
    st.builds(lambda t, n: t * n, st.text(min_size=1, max_size=5), st.integers(50, 400)),
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(),  # NaN and the infinities too: util-genai writes them as Python does
        texts,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
modalities = st.one_of(st.sampled_from(list(Modality)), st.sampled_from(["image", "document"]))
leaf_parts = st.one_of(
    st.builds(TextPart, content=texts),
    st.builds(ReasoningPart, content=texts),
    st.builds(UriPart, mime_type=st.none() | texts, modality=modalities, uri=texts),
    st.builds(BlobPart, mime_type=st.none() | texts, modality=modalities, content=st.binary()),
    st.builds(FilePart, mime_type=st.none() | texts, modality=modalities, file_id=texts),
)
parts = st.one_of(
    leaf_parts,
    st.builds(ToolCallRequestPart, arguments=json_values, name=texts, id=st.none() | texts),
    st.builds(
        ToolCallResponsePart,
        response=st.one_of(json_values, st.lists(leaf_parts, max_size=3)),
        id=st.none() | texts,
    ),
)
messages = st.one_of(
    st.builds(InputMessage, role=texts, parts=st.lists(parts, max_size=4), name=st.none() | texts),
    st.builds(
        OutputMessage,
        role=texts,
        parts=st.lists(parts, max_size=4),
        finish_reason=st.none() | st.sampled_from(["stop", "length"]),
    ),
)
definitions = st.one_of(
    st.builds(
        FunctionToolDefinition, name=texts, description=st.none() | texts, parameters=json_values
    ),
    st.builds(GenericToolDefinition, name=texts, type=texts),
)
documents = st.lists(st.one_of(messages, definitions, leaf_parts), max_size=6)


def written(items: list[Any]) -> str:
    """What util-genai writes for a span attribute."""
    return gen_ai_json_dumps([asdict(item) for item in items])


@SETTINGS
@given(items=documents)
def test_sizes_are_exactly_what_util_genai_writes(items: list[Any]) -> None:
    measure = _budget._Measure(10**9, Sources(), exact=True)  # pyright: ignore[reportPrivateUsage]
    assert measure.size(items) == len(written(items))


@SETTINGS
@given(arguments=st.one_of(json_values, texts), limit=st.integers(1, 5000))
def test_the_quick_size_of_parsed_arguments_is_never_too_small(arguments: Any, limit: int) -> None:
    """Parsed arguments are measured by their source text; that must bound what is written."""
    source = arguments if isinstance(arguments, str) else json.dumps(arguments)
    sources = Sources()
    parsed = parse_arguments(source)
    if parsed is not source:
        sources.add(parsed, source, exact=False)
    part = ToolCallRequestPart(arguments=parsed, name="f", id=None)
    quick = _budget._Measure(limit, sources, exact=False)  # pyright: ignore[reportPrivateUsage]
    exact = len(written([part]))
    size = quick.size([part])
    assert size >= exact or (size > limit and exact > limit)


def test_numbers_can_grow_when_written_again() -> None:
    """Why parsed arguments are not measured by their text alone."""
    assert gen_ai_json_dumps(json.loads("[1e15]")) == "[1000000000000000.0]"
    assert gen_ai_json_dumps(json.loads("[1e999]")) == "[Infinity]"
    assert math.isinf(json.loads("1e999"))


@SETTINGS
@given(text=texts, size=st.integers(MIN_CUT, 2000))
def test_a_cut_text_fits_its_size_and_keeps_the_marker(text: str, size: int) -> None:
    result = cut(text, size)
    assert len(json.dumps(result)) <= size
    if len(json.dumps(text)) <= size:
        assert result == text
        return
    # the result is a prefix of the text and the marker for the rest
    keep = next((k for k in range(len(text)) if result == text[:k] + marker(len(text) - k)), None)
    assert keep is not None, (text, result)
    longer = text[: keep + 1] + marker(len(text) - keep - 1)
    assert len(json.dumps(longer)) > size  # one more character would not have fitted


def test_a_cut_counts_characters_and_escapes_as_written() -> None:
    assert cut("x" * 100, 40) == "x" * 12 + "…[truncated 88 chars]"
    assert len(json.dumps(cut("x" * 100, 40))) == 40
    assert len(json.dumps(cut("é" * 100, 40))) <= 40  # six characters each as written
    assert cut("x" * 100, 10) == marker(100)  # too small for text: the marker alone


def message_marker(count: int, chars: int, first: Any) -> Any:
    return InputMessage(role="user", parts=[TextPart(content=f"…[{count} gone, {chars}]")])


@SETTINGS
@given(items=documents, limit=st.integers(1, 3000))
def test_bound_documents_fit_and_stay_valid(items: list[Any], limit: int) -> None:
    before = written(items) if items else "[]"
    result = bound(list(items), limit, Sources(), message_marker)
    text = written(result) if result else "[]"
    json.loads(text.replace("NaN", "0").replace("Infinity", "0"))
    if len(before) <= limit:
        assert text == before  # within the limit: untouched
    else:
        assert len(text) <= max(limit, len(written([message_marker(10**6, 10**9, None)])))


def test_a_document_within_the_limit_is_the_same_object() -> None:
    items = [InputMessage(role="user", parts=[TextPart(content="hi")])]
    assert bound(items, 1000, Sources(), message_marker) is items


def test_the_largest_values_are_cut_first() -> None:
    items = [
        InputMessage(role="user", parts=[TextPart(content="a" * 50)]),
        InputMessage(role="user", parts=[TextPart(content="b" * 5000)]),
        InputMessage(role="user", parts=[TextPart(content="c" * 3000)]),
    ]
    result = bound(items, 2000, Sources(), message_marker)
    contents = [message.parts[0].content for message in result]
    assert contents[0] == "a" * 50
    assert contents[1].startswith("bbb") and contents[1].endswith(" chars]")
    assert contents[2].startswith("ccc") and contents[2].endswith(" chars]")
    # both cut to one size
    assert abs(len(json.dumps(contents[1])) - len(json.dumps(contents[2]))) <= 2
    assert 1990 <= len(written(result)) <= 2000


def test_many_short_turns_drop_the_oldest() -> None:
    items = [
        InputMessage(role="user", parts=[TextPart(content=f"{i:04}" * 20)]) for i in range(400)
    ]
    result = bound(items, 5000, Sources(), message_marker)
    assert len(written(result)) <= 5000
    assert result[-1] is items[-1]
    assert result[-1].parts[0].content == "0399" * 20  # the newest whole
    dropped = 400 - (len(result) - 1)
    assert result[0].parts[0].content.startswith(f"…[{dropped} gone, ")
