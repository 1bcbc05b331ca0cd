"""``_operations/responses.py`` alone: Responses API arguments, responses and stream events."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.util.genai.types import (
    BlobPart,
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
)

from litellm_otel._operations import responses
from litellm_otel._operations.responses import ResponsesStreamState
from tests.support.invocations import Invocations, recorded
from tests.support.telemetry import PROMPT

REQUEST: dict[str, Any] = {
    "model": "gpt-4.1-mini",
    "input": PROMPT,
    "instructions": "Be brief",
    "max_output_tokens": 50,
    "reasoning": {"effort": "high", "summary": "auto"},
    "text": {"format": {"type": "json_schema", "name": "answer"}},
    "previous_response_id": "resp_0",
    "temperature": 0.2,
    "tools": [
        {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {}},
        {"type": "web_search_preview"},
    ],
}

REQUEST_FIELDS: dict[str, Any] = {
    "max_tokens": 50,
    "reasoning_level": "high",
    "output_type": "json",
    "previous_response_id": "resp_0",
    "temperature": 0.2,
}


def test_request_without_content(made: Invocations) -> None:
    invocation = made.inference()
    responses.apply_request(invocation, REQUEST, False)
    assert recorded(invocation) == REQUEST_FIELDS


def test_request_with_content(made: Invocations) -> None:
    invocation = made.inference()
    responses.apply_request(invocation, REQUEST, True)
    assert recorded(invocation) == {
        **REQUEST_FIELDS,
        "input_messages": [InputMessage(role="user", parts=[TextPart(content=PROMPT)])],
        "system_instruction": [TextPart(content="Be brief")],
        "tool_definitions": [
            FunctionToolDefinition(name="get_weather", description="Weather", parameters={}),
            GenericToolDefinition(name="web_search_preview", type="web_search_preview"),
        ],
    }


@pytest.mark.parametrize(
    ("text", "output_type"),
    [({"format": {"type": "text"}}, "text"), ({"format": {"type": "json_object"}}, "json")],
)
def test_text_formats(made: Invocations, text: Any, output_type: str) -> None:
    invocation = made.inference()
    responses.apply_request(invocation, {"text": text}, False)
    assert recorded(invocation) == {"output_type": output_type}


def test_input_items_of_every_kind() -> None:
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"a": 1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "Sunny"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "grep", "input": "x"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Thought"}]},
        {"type": "reasoning", "summary": [], "encrypted_content": "opaque"},
        {"type": "item_reference", "id": "msg_1"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
    ]
    assert responses.input_messages(items) == [
        InputMessage(role="user", parts=[TextPart(content="Weather?")]),
        InputMessage(
            role="assistant",
            parts=[ToolCallRequestPart(arguments={"a": 1}, name="get_weather", id="c1")],
        ),
        InputMessage(role="tool", parts=[ToolCallResponsePart(response="Sunny", id="c1")]),
        InputMessage(
            role="assistant", parts=[ToolCallRequestPart(arguments="x", name="grep", id="c2")]
        ),
        InputMessage(role="assistant", parts=[ReasoningPart(content="Thought")]),
    ]


@pytest.mark.parametrize("items", [None, 3, iter([{"role": "user", "content": "x"}])])
def test_input_that_cannot_be_read_twice_or_at_all_is_no_message(items: Any) -> None:
    assert responses.input_messages(items) == []


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ({"status": "completed", "output": [{"type": "message"}]}, "stop"),
        ({"status": "completed", "output": [{"type": "function_call"}]}, "tool_calls"),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
            "length",
        ),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}},
            "content_filter",
        ),
        ({"status": "incomplete", "incomplete_details": {"reason": "other"}}, "other"),
        ({"status": "incomplete"}, "length"),
        ({"status": "failed"}, "error"),
        ({"status": "in_progress"}, None),
        ({}, None),
    ],
)
def test_finish_reason(response: dict[str, Any], reason: str | None) -> None:
    assert responses.finish_reason(response) == reason


#: A completed Responses API answer as a dict: text, a tool call, reasoning and an image.
RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "model": "gpt-4.1-mini-2025-04-14",
    "status": "completed",
    "output": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello"}],
        },
        {"type": "image_generation_call", "result": "aGk=", "output_format": "webp"},
    ],
    "usage": {
        "input_tokens": 20,
        "output_tokens": 8,
        "input_tokens_details": {"cached_tokens": 6},
        "output_tokens_details": {"reasoning_tokens": 3},
    },
    "_hidden_params": {"response_cost": 2e-05},
}

RESPONSE_FIELDS: dict[str, Any] = {
    "response_id": "resp_1",
    "response_model_name": "gpt-4.1-mini-2025-04-14",
    "finish_reasons": ["stop"],
    "input_tokens": 20,
    "output_tokens": 8,
    "cache_read_input_tokens": 6,
    "thinking_tokens": 3,
    "attributes": {"litellm.response_cost": 2e-05},
}

RESPONSE_MESSAGE = OutputMessage(
    role="assistant",
    parts=[
        ReasoningPart(content="Plan"),
        TextPart(content="Hello"),
        BlobPart(mime_type="image/webp", modality="image", content=b""),  # never the bytes
    ],
    finish_reason="stop",
)


def test_response(made: Invocations) -> None:
    uncaptured = made.inference()
    responses.apply_response(uncaptured, RESPONSE, False)
    assert recorded(uncaptured) == RESPONSE_FIELDS
    captured = made.inference()
    responses.apply_response(captured, RESPONSE, True)
    assert recorded(captured) == {**RESPONSE_FIELDS, "output_messages": [RESPONSE_MESSAGE]}


def test_a_tool_call_answer() -> None:
    response = {
        "status": "completed",
        "output": [
            {"type": "function_call", "call_id": "c9", "name": "lookup", "arguments": "[1, 2]"}
        ],
    }
    assert responses.output_message(response) == OutputMessage(
        role="assistant",
        parts=[ToolCallRequestPart(arguments=[1, 2], name="lookup", id="c9")],
        finish_reason="tool_call",
    )


def _events(final_kind: str | None) -> list[dict[str, Any]]:
    created = {"id": "resp_1", "model": "gpt-4.1-mini-2025-04-14", "status": "in_progress"}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": created},
        {"type": "response.output_text.delta", "delta": "Hel"},
        {"type": "response.output_text.delta", "delta": "lo"},
    ]
    if final_kind is not None:
        events.append({"type": final_kind, "response": RESPONSE})
    return events


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        (False, RESPONSE_FIELDS),
        (True, {**RESPONSE_FIELDS, "output_messages": [RESPONSE_MESSAGE]}),
    ],
)
def test_a_stream_ends_with_the_whole_response(
    made: Invocations, capture: bool, expected: dict[str, Any]
) -> None:
    invocation = made.inference()
    state = ResponsesStreamState(capture)
    for event in _events("response.completed"):
        state.process(event, invocation)
    state.apply(invocation)
    assert recorded(invocation) == expected


def test_the_model_is_known_from_the_first_event(made: Invocations) -> None:
    invocation = made.inference()
    ResponsesStreamState(False).process(_events(None)[0], invocation)
    assert recorded(invocation) == {"response_model_name": "gpt-4.1-mini-2025-04-14"}


def test_a_stream_cut_short_keeps_what_arrived(made: Invocations) -> None:
    invocation = made.inference()
    state = ResponsesStreamState(True)
    for event in _events(None):
        state.process(event, invocation)
    state.apply(invocation)
    assert recorded(invocation) == {
        "response_id": "resp_1",
        "response_model_name": "gpt-4.1-mini-2025-04-14",
        "output_messages": [
            OutputMessage(role="assistant", parts=[TextPart(content="Hello")], finish_reason=None)
        ],
    }
