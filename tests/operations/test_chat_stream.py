"""``_operations/chat_stream.py`` alone: chat and text-completion chunks, as plain dicts."""

from __future__ import annotations

from typing import Any

from opentelemetry.util.genai.types import (
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
)

from litellm_otel._operations.chat_stream import ChatStreamState
from tests.support.invocations import Invocations, recorded


def _chunk(
    *choices: dict[str, Any], usage: Any = None, model: str = "gpt-4o-mini", **extra: Any
) -> dict[str, Any]:
    chunk: dict[str, Any] = {"id": "chatcmpl-9", "model": model, "choices": list(choices)}
    if usage is not None:
        chunk["usage"] = usage
    return {**chunk, **extra}


def _delta(index: int = 0, finish_reason: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish_reason}


HELLO = [
    _chunk(_delta(role="assistant", content="Hel")),
    _chunk(_delta(content="lo"), model="another-model"),  # the first model seen is kept
    _chunk(_delta(finish_reason="stop")),
    _chunk(usage={"prompt_tokens": 3, "completion_tokens": 2, "cost": 1.5e-06}),
]

HELLO_FIELDS: dict[str, Any] = {
    "response_id": "chatcmpl-9",
    "response_model_name": "gpt-4o-mini",
    "finish_reasons": ["stop"],
    "input_tokens": 3,
    "output_tokens": 2,
    "attributes": {"litellm.response_cost": 1.5e-06},
}


def _read(state: ChatStreamState, invocation: Any, chunks: list[dict[str, Any]]) -> None:
    for chunk in chunks:
        state.process(chunk, invocation)
    state.apply(invocation)


def test_a_stream_without_content(made: Invocations) -> None:
    invocation = made.inference()
    state = ChatStreamState(capture_content=False)
    _read(state, invocation, HELLO)
    assert recorded(invocation) == HELLO_FIELDS
    assert state.choices == {}  # nothing of the text is kept


def test_a_stream_with_content(made: Invocations) -> None:
    invocation = made.inference()
    _read(ChatStreamState(capture_content=True), invocation, HELLO)
    assert recorded(invocation) == {
        **HELLO_FIELDS,
        "output_messages": [
            OutputMessage(role="assistant", parts=[TextPart(content="Hello")], finish_reason="stop")
        ],
    }


def test_the_response_model_is_set_with_the_first_chunk(made: Invocations) -> None:
    """The chunk-timing metrics recorded from then on carry it; the id waits for the end."""
    invocation = made.inference()
    state = ChatStreamState(capture_content=False)
    state.process(HELLO[0], invocation)
    assert recorded(invocation) == {"response_model_name": "gpt-4o-mini"}


def test_the_providers_model_wins_over_litellms_stamp(made: Invocations) -> None:
    invocation = made.inference()
    chunk = _chunk(
        _delta(content="x"), _hidden_params={"provider_response_model": "gpt-4o-mini-2024-07-18"}
    )
    _read(ChatStreamState(capture_content=False), invocation, [chunk])
    assert recorded(invocation) == {
        "response_id": "chatcmpl-9",
        "response_model_name": "gpt-4o-mini-2024-07-18",
    }


def test_choices_ending_in_any_order_are_reported_by_index(made: Invocations) -> None:
    invocation = made.inference()
    state = ChatStreamState(capture_content=True)
    chunks = [
        _chunk(_delta(0, content="A"), _delta(1, content="B")),
        _chunk(_delta(1, finish_reason="length")),
        _chunk(_delta(0, finish_reason="stop")),
    ]
    _read(state, invocation, chunks)
    assert state.finish_reasons == {1: "length", 0: "stop"}
    assert recorded(invocation) == {
        "response_id": "chatcmpl-9",
        "response_model_name": "gpt-4o-mini",
        "finish_reasons": ["stop", "length"],
        "output_messages": [
            OutputMessage(role="assistant", parts=[TextPart(content="A")], finish_reason="stop"),
            OutputMessage(role="assistant", parts=[TextPart(content="B")], finish_reason="length"),
        ],
    }


def test_tool_call_fragments_and_reasoning_are_joined(made: Invocations) -> None:
    invocation = made.inference()

    def call(**fields: Any) -> dict[str, Any]:
        return {"index": 0, **fields}

    chunks = [
        _chunk(_delta(role="assistant", reasoning_content="Think")),
        _chunk(_delta(reasoning_content="ing")),
        _chunk(
            _delta(
                tool_calls=[call(id="call_1", function={"name": "get_weather", "arguments": ""})]
            )
        ),
        _chunk(_delta(tool_calls=[call(function={"arguments": '{"city": '})])),
        _chunk(_delta(tool_calls=[call(function={"arguments": '"Paris"}'})])),
        _chunk(_delta(finish_reason="tool_calls")),
    ]
    _read(ChatStreamState(capture_content=True), invocation, chunks)
    (message,) = recorded(invocation)["output_messages"]
    assert message == OutputMessage(
        role="assistant",
        parts=[
            ReasoningPart(content="Thinking"),
            ToolCallRequestPart(arguments={"city": "Paris"}, name="get_weather", id="call_1"),
        ],
        finish_reason="tool_call",
    )


def test_text_completion_chunks_carry_text(made: Invocations) -> None:
    invocation = made.inference("text_completion")
    chunks = [
        {"id": "cmpl-1", "model": "gpt-3.5-turbo-instruct", "choices": [{"index": 0, "text": "A"}]},
        {"choices": [{"index": 0, "text": "B", "finish_reason": "stop"}]},
    ]
    _read(ChatStreamState(capture_content=True), invocation, chunks)
    assert recorded(invocation) == {
        "response_id": "cmpl-1",
        "response_model_name": "gpt-3.5-turbo-instruct",
        "finish_reasons": ["stop"],
        "output_messages": [
            OutputMessage(role="assistant", parts=[TextPart(content="AB")], finish_reason="stop")
        ],
    }


def test_the_latest_usage_counts(made: Invocations) -> None:
    invocation = made.inference()
    chunks = [
        _chunk(usage={"prompt_tokens": 3, "completion_tokens": 1}),
        _chunk(usage={"prompt_tokens": 3, "completion_tokens": 9}),
    ]
    _read(ChatStreamState(capture_content=False), invocation, chunks)
    assert recorded(invocation) == {
        "response_id": "chatcmpl-9",
        "response_model_name": "gpt-4o-mini",
        "input_tokens": 3,
        "output_tokens": 9,
    }


def test_a_stream_cut_before_any_chunk_sets_nothing(made: Invocations) -> None:
    invocation = made.inference()
    ChatStreamState(capture_content=True).apply(invocation)
    assert recorded(invocation) == {}
