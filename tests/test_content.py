"""Content capture: off by default, exact JSON when on, never secrets or binary payloads."""

from __future__ import annotations

import json
from typing import Any

import litellm
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.support.telemetry import API_KEY, PROMPT, Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def everything_exported(telemetry: Telemetry) -> str:
    """Every attribute, event and log record as one string, to search for leaks."""
    parts: list[str] = []
    for span in telemetry.finished():
        parts.append(span.name)
        parts.append(repr(dict(span.attributes)))
        for event in span.events:
            parts.append(event.name + repr(dict(event.attributes)))
    for record in telemetry.logs.get_finished_logs():
        parts.append(repr(record.log_record.body) + repr(dict(record.log_record.attributes or {})))
    data = telemetry.metrics.get_metrics_data()
    if data is not None:
        parts.append(data.to_json())
    return "\n".join(parts)


def test_content_is_off_by_default(traced: Telemetry, call_args: dict[str, Any]) -> None:
    litellm.completion(
        model=MODEL,
        messages=[{"role": "system", "content": "secret-system-prompt"}, *user_messages()],
        tools=TOOLS,
        extra_headers={"Authorization": "Bearer header-secret-123"},
        metadata={"customer": "metadata-secret-456"},
        **call_args,
    )
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(model="openai/error-401", messages=user_messages(), **call_args)
    exported = everything_exported(traced)
    for secret in (
        PROMPT,
        "secret-system-prompt",
        API_KEY,
        "header-secret-123",
        "metadata-secret-456",
        "Hello from loopback",
        "get_weather",
    ):
        assert secret not in exported, secret
    span = traced.finished()[0]
    for key in span.attributes:
        assert key not in (
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system_instructions",
            "gen_ai.tool.definitions",
        )


def test_content_on_gives_the_exact_json(instrument: Any, call_args: dict[str, Any]) -> None:
    telemetry = instrument(capture_content=True)
    litellm.completion(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        tools=TOOLS,
        n=2,
        **call_args,
    )
    attributes = telemetry.only_span().attributes
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}], "name": None},
        {"role": "user", "parts": [{"type": "text", "content": "Weather?"}], "name": None},
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "name": None,
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}],
            "name": None,
        },
    ]
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello from loopback"}],
            "finish_reason": "stop",
            "name": None,
        },
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello from loopback 1"}],
            "finish_reason": "length",
            "name": None,
        },
    ]
    assert json.loads(attributes["gen_ai.tool.definitions"]) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    # system messages in the chat history stay in the input messages (upstream rule)
    assert "gen_ai.system_instructions" not in attributes
    assert API_KEY not in repr(dict(attributes))


def test_tool_call_output_message(instrument: Any, call_args: dict[str, Any]) -> None:
    telemetry = instrument(capture_content=True)
    litellm.completion(model="openai/tool-model", messages=user_messages(), **call_args)
    output = json.loads(telemetry.only_span().attributes["gen_ai.output.messages"])
    assert output == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_weather_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_call",
            "name": None,
        }
    ]


def test_inline_images_record_the_mime_type_not_the_payload(instrument: Any) -> None:
    telemetry = instrument(capture_content=True)
    payload = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA" + "60e6kg" * 8
    )
    litellm.completion(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{payload}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            }
        ],
        mock_response="a pixel",
    )
    attributes = telemetry.only_span().attributes
    assert payload[:20] not in attributes["gen_ai.input.messages"]
    (message,) = json.loads(attributes["gen_ai.input.messages"])
    assert message["parts"] == [
        {"type": "text", "content": "What is this?"},
        {"type": "blob", "mime_type": "image/png", "modality": "image", "content": ""},
        {
            "type": "uri",
            "mime_type": None,
            "modality": "image",
            "uri": "https://example.com/cat.png",
        },
    ]


def test_mock_response_and_api_key_never_recorded(instrument: Any) -> None:
    telemetry = instrument(capture_content=True)
    litellm.completion(
        model=MODEL, messages=user_messages(), mock_response="mocked-answer-xyz", api_key=API_KEY
    )
    attributes = telemetry.only_span().attributes
    assert API_KEY not in repr(dict(attributes))
    # the mock answer is the response, so it is the output; the argument itself is not recorded
    assert "mock_response" not in repr(dict(attributes))


def test_event_only_mode_emits_the_details_event(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    telemetry = instrument(capture_content="EVENT_ONLY")
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    span = telemetry.only_span()
    assert "gen_ai.input.messages" not in span.attributes
    (record,) = telemetry.logs.get_finished_logs()
    log = record.log_record
    assert log.event_name == "gen_ai.client.inference.operation.details"
    assert log.span_id == span.context.span_id
    assert log.attributes["gen_ai.input.messages"][0]["parts"][0]["content"] == PROMPT


def test_environment_variable_turns_content_on(
    instrument: Any, call_args: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    telemetry = instrument()
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert PROMPT in telemetry.only_span().attributes["gen_ai.input.messages"]


def test_argument_overrides_environment(
    instrument: Any, call_args: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    telemetry = instrument(capture_content=False)
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert "gen_ai.input.messages" not in telemetry.only_span().attributes


def test_content_work_is_skipped_when_the_span_is_not_recording(
    instrument: Any, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from litellm_otel import _messages

    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    unsampled.add_span_processor(SimpleSpanProcessor(telemetry.spans))
    instrument(capture_content=True, tracer_provider=unsampled)
    calls: list[Any] = []
    real = _messages.input_messages
    monkeypatch.setattr(_messages, "input_messages", lambda m: calls.append(m) or real(m))
    litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    assert telemetry.finished() == []
    assert calls == []
    # metrics still flow: they do not depend on sampling
    assert len(telemetry.metric_points("gen_ai.client.operation.duration")) == 1


def test_long_content_is_truncated_with_a_marker(instrument: Any) -> None:
    telemetry = instrument(capture_content=True, max_content_length=100)
    huge_schema = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(50)}}
    litellm.completion(
        model=MODEL,
        messages=user_messages("x" * 5000),
        tools=[
            {
                "type": "function",
                "function": {"name": "big", "description": "d" * 500, "parameters": huge_schema},
            }
        ],
        mock_response="y" * 300,
    )
    attributes = telemetry.only_span().attributes
    (message,) = json.loads(attributes["gen_ai.input.messages"])
    assert message["parts"][0]["content"] == "x" * 100 + "…[truncated 4900 chars]"
    (answer,) = json.loads(attributes["gen_ai.output.messages"])
    assert answer["parts"][0]["content"] == "y" * 100 + "…[truncated 200 chars]"
    (tool,) = json.loads(attributes["gen_ai.tool.definitions"])
    assert tool["description"] == "d" * 100 + "…[truncated 400 chars]"
    assert tool["parameters"].startswith("…[truncated ")


def test_default_limit_and_environment_variable(
    instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH", "10")
    telemetry = instrument(capture_content=True)
    litellm.completion(model=MODEL, messages=user_messages("z" * 20), mock_response="ok")
    (message,) = json.loads(telemetry.only_span().attributes["gen_ai.input.messages"])
    assert message["parts"][0]["content"] == "z" * 10 + "…[truncated 10 chars]"


def test_sdk_attribute_length_limit_is_honoured(telemetry: Telemetry, instrument: Any) -> None:
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider

    limited = TracerProvider(span_limits=SpanLimits(max_attribute_length=64))
    limited.add_span_processor(SimpleSpanProcessor(telemetry.spans))
    instrument(capture_content=True, tracer_provider=limited)
    litellm.completion(model=MODEL, messages=user_messages("w" * 1000), mock_response="ok")
    span = telemetry.only_span()
    for value in span.attributes.values():
        if isinstance(value, str):
            assert len(value) <= 64
