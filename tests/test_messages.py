"""Message mapping, with plain dicts and LiteLLM objects."""

from __future__ import annotations

from litellm.types.utils import Message
from opentelemetry.util.genai.types import (
    BlobPart,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
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
