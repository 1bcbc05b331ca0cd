"""Message mapping, with plain dicts and LiteLLM objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litellm.types.utils import Message
from opentelemetry.util.genai.types import (
    BlobPart,
    FilePart,
    InputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    UriPart,
)

from litellm_otel import _messages


def test_pydantic_messages_and_dicts_map_alike() -> None:
    as_dict = {"role": "assistant", "content": "hi", "reasoning_content": "think"}
    as_object = Message(role="assistant", content="hi", reasoning_content="think")
    assert _messages.input_messages([as_dict]) == _messages.input_messages([as_object])
    (message,) = _messages.input_messages([as_object])
    assert message.parts == [ReasoningPart(content="think"), TextPart(content="hi")]


def test_tool_results_and_invalid_json_arguments() -> None:
    messages = _messages.input_messages(
        [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "function": {"name": "f", "arguments": "not json"}},
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "ok"}]},
        ]
    )
    assert messages[0].parts == [ToolCallRequestPart(arguments="not json", name="f", id="c1")]
    assert messages[1].role == "tool"
    assert messages[1].parts == [ToolCallResponsePart(response="ok", id="c1")]


def test_audio_payload_is_never_copied() -> None:
    (message,) = _messages.input_messages(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": "AAAA" * 100, "format": "wav"}}
                ],
            }
        ]
    )
    assert message.parts == [BlobPart(mime_type="audio/wav", modality="audio", content=b"")]


def test_odd_inputs_do_not_raise() -> None:
    assert _messages.input_messages(None) == []
    assert _messages.input_messages("just a string") == []
    assert _messages.input_messages([{"content": None}])[0].parts == []
    assert _messages.input_messages([{"role": "user", "content": 42}])[0].parts == [
        TextPart(content="42")
    ]


def test_finish_reason_mapping() -> None:
    assert _messages.map_finish_reason("tool_calls") == "tool_call"
    assert _messages.map_finish_reason("function_call") == "tool_call"
    assert _messages.map_finish_reason("stop") == "stop"
    assert _messages.map_finish_reason("something_new") == "something_new"
    assert _messages.map_finish_reason(None) is None


def test_field_reads_pydantic_storage_without_getattr_misses() -> None:
    """Extras, private attributes and properties read alike; a missing name costs no exception."""
    import pydantic
    from litellm import ModelResponse

    response = ModelResponse(
        model="gpt-4o-mini", usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    )
    response._hidden_params = {"response_cost": 0.5}
    assert _messages.field(response, "model") == "gpt-4o-mini"
    assert _messages.field(response, "usage").prompt_tokens == 3  # an extra on ModelResponse
    assert _messages.field(response, "_hidden_params") == {"response_cost": 0.5}  # private
    assert _messages.field(response, "no_such_field", "fallback") == "fallback"

    class WithProperty(pydantic.BaseModel):
        value: int = 2

        @property
        def doubled(self) -> int:
            return self.value * 2

    assert _messages.field(WithProperty(), "doubled") == 4
    assert _messages.field({"a": 1}, "a") == 1
    assert _messages.field(object(), "missing") is None

    misses = 0
    original = type(response).__getattr__

    def counting(self: object, name: str) -> object:
        nonlocal misses
        misses += 1
        return original(self, name)  # type: ignore[arg-type]

    type(response).__getattr__ = counting  # type: ignore[method-assign]
    try:
        for name in ("usage", "_hidden_params", "no_such_field", "choices"):
            _messages.field(response, name)
    finally:
        type(response).__getattr__ = original  # type: ignore[method-assign]
    assert misses == 0


# --- inline payloads, references, one-shot iterables ------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com/a.png", UriPart(None, "image", "https://example.com/a.png")),
        ("HTTPS://example.com/a.png", UriPart(None, "image", "HTTPS://example.com/a.png")),
        ("gs://bucket/a.png", UriPart(None, "image", "gs://bucket/a.png")),
        ("s3://bucket/a.png", UriPart(None, "image", "s3://bucket/a.png")),
        ("data:image/png;base64,AAAA", BlobPart("image/png", "image", b"")),
        ("DATA:IMAGE/PNG;BASE64,AAAA", BlobPart("image/png", "image", b"")),
        ("\x00 \tdata:image/jpeg;base64,AAAA", BlobPart("image/jpeg", "image", b"")),
        ("d\na\tta:image/png,AAAA", BlobPart("image/png", "image", b"")),
        ("data:application/pdf;base64,AAAA", BlobPart("application/pdf", "image", b"")),
        ("data:audio/wav;base64,AAAA", BlobPart("audio/wav", "audio", b"")),
        ("data:AAAA/BBBB", BlobPart(None, "image", b"")),  # no comma: no media type to trust
        ("data:not a type,AAAA", BlobPart(None, "image", b"")),
        ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ", BlobPart(None, "image", b"")),
        ("javascript:alert(1)", BlobPart(None, "image", b"")),  # not a scheme that names a place
        ("\u3000https://example.com", BlobPart(None, "image", b"")),  # not how URL parsers skip
    ],
)
def test_only_reference_schemes_are_recorded_as_uris(value: str, expected: Any) -> None:
    assert _messages.media_part(value, "image") == expected


def test_the_mime_hint_is_used_only_when_it_is_a_mime_type() -> None:
    assert _messages.media_part("AAAA", "document", "application/pdf") == BlobPart(
        "application/pdf", "document", b""
    )
    assert _messages.media_part("AAAA", "document", "AAAA" * 40) == BlobPart(None, "document", b"")


def test_one_shot_iterables_are_not_read() -> None:
    def generator() -> Iterator[Any]:
        yield {"role": "user", "content": "hi"}

    messages = iter([{"role": "user", "content": "hi"}])
    assert _messages.input_messages(messages) == []
    assert list(messages) == [{"role": "user", "content": "hi"}]
    assert _messages.input_messages(generator()) == []
    tools = iter([{"type": "function", "function": {"name": "f"}}])
    assert _messages.tool_definitions(tools) == []
    assert len(list(tools)) == 1
    content = iter([{"type": "text", "text": "hi"}])
    (message,) = _messages.input_messages([{"role": "user", "content": content}])
    assert message.parts == []
    assert len(list(content)) == 1
    # sequences of any kind are read
    assert _messages.input_messages(({"role": "user", "content": "hi"},))[0].parts == [
        TextPart(content="hi")
    ]


def test_tool_results_keep_their_parts_when_they_hold_more_than_text() -> None:
    assert (
        _messages.tool_output([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])
        == "ab"
    )
    assert _messages.tool_output(
        [
            {"type": "input_text", "text": "chart:"},
            {"type": "input_image", "image_url": "data:image/png;base64,AA"},
        ]
    ) == [TextPart(content="chart:"), BlobPart("image/png", "image", b"")]
    assert _messages.tool_output([]) is None
    assert _messages.tool_output(
        {"type": "computer_screenshot", "image_url": "https://x/s.png"}
    ) == [UriPart(None, "image", "https://x/s.png")]


def test_responses_items_map_to_their_roles() -> None:
    from litellm_otel._operations import responses

    messages = responses.input_messages(
        [
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "think"}],
                "encrypted_content": "opaque",
            },
            {"type": "custom_tool_call", "call_id": "c1", "name": "sh", "input": "ls -la"},
            {"type": "custom_tool_call_output", "call_id": "c1", "output": "a.txt"},
            {"type": "item_reference", "id": "msg_1"},
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "be brief"}],
            },
        ]
    )
    assert messages == [
        InputMessage(role="assistant", parts=[ReasoningPart(content="think")]),
        InputMessage(
            role="assistant", parts=[ToolCallRequestPart(arguments="ls -la", name="sh", id="c1")]
        ),
        InputMessage(role="tool", parts=[ToolCallResponsePart(response="a.txt", id="c1")]),
        InputMessage(role="developer", parts=[TextPart(content="be brief")]),
    ]


def test_anthropic_and_gemini_blocks() -> None:
    (message,) = _messages.input_messages(
        [
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "the doc"},
                    },
                    {
                        "type": "document",
                        "source": {
                            "type": "content",
                            "content": [{"type": "text", "text": "nested"}],
                        },
                    },
                    {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                    {"type": "thinking", "thinking": "hmm", "signature": "opaque"},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"text": "gemini text"},
                    {"inline_data": {"mime_type": "audio/mp3", "data": "AAAA"}},
                ],
            }
        ]
    )
    assert message.parts == [
        TextPart(content="the doc"),
        TextPart(content="nested"),
        FilePart(None, "image", "file_1"),
        ReasoningPart(content="hmm"),
        TextPart(content="gemini text"),
        BlobPart("audio/mp3", "audio", b""),
    ]
