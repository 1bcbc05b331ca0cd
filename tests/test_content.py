"""Content capture: off by default, exact JSON when on, never secrets or binary payloads."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.util.genai.types import ContentCapturingMode

from litellm_otel._config import DEFAULT_MAX_CONTENT_LENGTH
from tests.support.content import (
    CONTENT_KEYS,
    MARKER_ALLOWANCE,
    content_recorder,
    content_values,
    parsed,
    record,
)
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
    for log in telemetry.logs.get_finished_logs():
        parts.append(repr(log.log_record.body) + repr(dict(log.log_record.attributes or {})))
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
    telemetry = instrument(capture_content=True, max_content_length=400)
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
    for key in ("gen_ai.input.messages", "gen_ai.tool.definitions"):
        assert 390 <= len(attributes[key]) <= 400, key  # filled up to the limit, not beyond
    (message,) = json.loads(attributes["gen_ai.input.messages"])
    (text,) = [part["content"] for part in message["parts"]]
    kept = text.index("…")
    assert text == "x" * kept + f"…[truncated {5000 - kept} chars]"
    (answer,) = json.loads(attributes["gen_ai.output.messages"])
    assert answer["parts"][0]["content"] == "y" * 300  # within the limit: whole
    (tool,) = json.loads(attributes["gen_ai.tool.definitions"])
    # the two large values are cut to the same size; the schema as its JSON text
    assert tool["description"].startswith("ddd")
    assert tool["description"].endswith(" chars]")
    assert tool["parameters"].startswith('{"type":"object","properties":{"p0":')
    assert tool["parameters"].endswith(" chars]")
    assert abs(len(json.dumps(tool["description"])) - len(json.dumps(tool["parameters"]))) < 8


def test_default_limit_and_environment_variable(
    instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH", "150")
    telemetry = instrument(capture_content=True)
    litellm.completion(model=MODEL, messages=user_messages("z" * 200), mock_response="ok")
    value = telemetry.only_span().attributes["gen_ai.input.messages"]
    assert len(value) <= 150
    (message,) = json.loads(value)
    (text,) = [part["content"] for part in message["parts"]]
    assert text.startswith("zzz")
    assert text.endswith(f"…[truncated {200 - text.index('…')} chars]")


def test_a_limit_smaller_than_any_message_records_one_marker(instrument: Any) -> None:
    telemetry = instrument(capture_content=True, max_content_length=10)
    litellm.completion(model=MODEL, messages=user_messages("z" * 20), mock_response="ok")
    value = telemetry.only_span().attributes["gen_ai.input.messages"]
    whole = '[{"role":"user","parts":[{"content":"' + "z" * 20 + '","type":"text"}],"name":null}]'
    assert json.loads(value) == [
        {
            "role": "user",
            "parts": [{"type": "text", "content": f"…[1 messages truncated, {len(whole)} chars]"}],
            "name": None,
        }
    ]


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


# --- inline payloads: recorded as a MIME type, never the bytes --------------------------------

# Random bytes: no window of their base64 occurs in anything else a test records.
PAYLOAD = base64.b64encode(bytes(range(7, 250, 3)) * 3).decode()
WINDOW = 16

SPELLINGS = {
    "data URL": "data:image/png;base64,{}",
    "upper case": "DATA:image/png;base64,{}",
    "mixed case": "Data:image/png;base64,{}",
    "leading space": " data:image/png;base64,{}",
    "leading newline and tab": "\n\tdata:image/png;base64,{}",
    "tab inside the scheme": "da\tta:image/png;base64,{}",
    "no comma": "data:{}",
    "raw base64": "{}",
    "media type without scheme": "image/png;base64,{}",
    "unknown scheme": "base64:{}",
}

PART_SHAPES: dict[str, Callable[[str], dict[str, Any]]] = {
    "image_url object": lambda u: {"type": "image_url", "image_url": {"url": u, "detail": "low"}},
    "image_url string": lambda u: {"type": "image_url", "image_url": u},
    "video_url": lambda u: {"type": "video_url", "video_url": {"url": u}},
    "file.file_data": lambda u: {"type": "file", "file": {"file_data": u, "filename": "a.pdf"}},
    "input_audio": lambda u: {"type": "input_audio", "input_audio": {"data": u, "format": "wav"}},
    "anthropic image": lambda u: {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": u},
    },
    "anthropic document": lambda u: {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": u},
    },
    "responses input_image": lambda u: {"type": "input_image", "image_url": u, "detail": "auto"},
    "responses input_file": lambda u: {"type": "input_file", "file_data": u, "filename": "a.pdf"},
    "gemini inline_data": lambda u: {"inline_data": {"mime_type": "image/png", "data": u}},
    "gemini inlineData": lambda u: {"inlineData": {"mimeType": "image/png", "data": u}},
}


def payload_windows(payload: str = PAYLOAD) -> list[str]:
    return [payload[i : i + WINDOW] for i in range(0, len(payload) - WINDOW + 1, WINDOW // 2)]


def assert_no_payload(telemetry: Telemetry) -> None:
    exported = everything_exported(telemetry)
    leaked = [window for window in payload_windows() if window in exported]
    assert not leaked, leaked[:3]


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("shape", sorted(PART_SHAPES))
def test_inline_payloads_are_never_recorded(
    telemetry: Telemetry, shape: str, spelling: str
) -> None:
    part = PART_SHAPES[shape](SPELLINGS[spelling].format(PAYLOAD))
    recorder = content_recorder(telemetry)
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "look"}, part]}],
        },
    )
    record(recorder, "responses", {"model": MODEL, "input": [{"role": "user", "content": [part]}]})
    assert_no_payload(telemetry)
    for span in telemetry.finished():
        (message,) = json.loads(span.attributes["gen_ai.input.messages"])
        blobs = [p for p in message["parts"] if p["type"] == "blob"]
        assert len(blobs) == 1, message["parts"]
        assert blobs[0]["content"] == ""


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_inline_payloads_in_tool_results_and_answers_are_never_recorded(
    telemetry: Telemetry, spelling: str
) -> None:
    url = SPELLINGS[spelling].format(PAYLOAD)
    recorder = content_recorder(telemetry)
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [
                {
                    "role": "tool",
                    "tool_call_id": "c1",
                    "content": [{"type": "image_url", "image_url": {"url": url}}],
                }
            ],
        },
        {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": "here",
                        "images": [{"type": "image_url", "image_url": {"url": url}, "index": 0}],
                        "audio": {"id": "a1", "data": PAYLOAD, "transcript": "hi", "expires_at": 1},
                    },
                }
            ]
        },
    )
    record(
        recorder,
        "responses",
        {
            "model": MODEL,
            "input": [
                {
                    "type": "function_call_output",
                    "call_id": "c1",
                    "output": [
                        {"type": "input_text", "text": "the chart"},
                        {"type": "input_image", "image_url": url},
                        {"type": "input_file", "file_data": url},
                    ],
                },
                {
                    "type": "computer_call_output",
                    "call_id": "c2",
                    "output": {"type": "computer_screenshot", "image_url": url},
                },
            ],
        },
        {
            "id": "r1",
            "status": "completed",
            "output": [{"type": "image_generation_call", "result": PAYLOAD}],
        },
    )
    record(
        recorder,
        "image_generation",
        {"model": "openai/dall-e-3", "prompt": "a cat"},
        {"data": [{"url": url}, {"b64_json": PAYLOAD}]},
    )
    assert_no_payload(telemetry)


def test_references_are_recorded_as_uris_and_files(telemetry: Telemetry) -> None:
    recorder = content_recorder(telemetry)
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": " https://example.com/a.png"}},
                        {"type": "file", "file": {"file_id": "file-123"}},
                        {
                            "type": "image",
                            "source": {"type": "url", "url": "https://example.com/b.png"},
                        },
                        {"type": "input_image", "file_id": "file-456"},
                        {"file_data": {"mime_type": "application/pdf", "file_uri": "gs://b/c.pdf"}},
                    ],
                }
            ],
        },
    )
    (message,) = parsed(telemetry, "gen_ai.input.messages")
    assert message["parts"] == [
        {
            "type": "uri",
            "mime_type": None,
            "modality": "image",
            "uri": " https://example.com/a.png",
        },
        {"type": "file", "mime_type": None, "modality": "document", "file_id": "file-123"},
        {"type": "uri", "mime_type": None, "modality": "image", "uri": "https://example.com/b.png"},
        {"type": "file", "mime_type": None, "modality": "image", "file_id": "file-456"},
        {
            "type": "uri",
            "mime_type": "application/pdf",
            "modality": "document",
            "uri": "gs://b/c.pdf",
        },
    ]


def test_the_mime_type_is_never_taken_from_the_payload(telemetry: Telemetry) -> None:
    """``data:`` followed by base64 with a slash and no comma must not become a MIME type."""
    recorder = content_recorder(telemetry)
    slashed = "iVBORw0KGgo/" + PAYLOAD
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": f"data:{slashed}"}},
                        {
                            "type": "input_audio",
                            "input_audio": {"data": PAYLOAD, "format": PAYLOAD},
                        },
                        {
                            "type": "image_url",
                            "image_url": {"url": "DATA:Image/PNG;base64," + PAYLOAD},
                        },
                    ],
                }
            ],
        },
    )
    (message,) = parsed(telemetry, "gen_ai.input.messages")
    assert [(p["type"], p["mime_type"]) for p in message["parts"]] == [
        ("blob", None),
        ("blob", None),
        ("blob", "image/png"),
    ]
    assert_no_payload(telemetry)


# --- max_content_length bounds every content attribute ----------------------------------------

LIMIT = 1000


def assert_bounded(telemetry: Telemetry, limit: int = LIMIT, *, expect_cut: bool = True) -> None:
    """Every content attribute (spans and events) is valid JSON within the limit."""
    values = content_values(telemetry)
    seen = [value for key in CONTENT_KEYS for value in values[key]]
    assert seen, "no content recorded"
    for key in CONTENT_KEYS:
        for value in values[key]:
            json.loads(value)
            assert len(value) <= limit + MARKER_ALLOWANCE, (key, len(value))
    if expect_cut:
        assert any("…[" in json.dumps(json.loads(v), ensure_ascii=False) for v in seen)


def huge_json(size: int = 200_000) -> str:
    return json.dumps({"text": "a" * size, "items": list(range(100))})


def test_valid_json_tool_arguments_are_cut(telemetry: Telemetry) -> None:
    recorder = content_recorder(telemetry, limit=LIMIT)
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": huge_json()}}
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [{"role": "assistant", "content": None, "tool_calls": [call]}],
        },
        {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {"role": "assistant", "tool_calls": [call]},
                }
            ]
        },
    )
    record(
        recorder,
        "responses",
        {
            "model": MODEL,
            "input": [
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": huge_json()}
            ],
        },
        {
            "id": "r",
            "status": "completed",
            "output": [
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": huge_json()}
            ],
        },
    )
    assert_bounded(telemetry)


def test_list_form_tool_outputs_are_cut(telemetry: Telemetry) -> None:
    recorder = content_recorder(telemetry, limit=LIMIT)
    long_parts = [{"type": "text", "text": "b" * 100_000}, {"type": "text", "text": "c" * 100_000}]
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [{"role": "tool", "tool_call_id": "c1", "content": long_parts}],
        },
    )
    record(
        recorder,
        "responses",
        {
            "model": MODEL,
            "input": [
                {
                    "type": "function_call_output",
                    "call_id": "c1",
                    "output": [
                        {"type": "input_text", "text": "d" * 100_000},
                        {"type": "input_text", "text": "e" * 10},
                    ],
                }
            ],
        },
    )
    assert_bounded(telemetry)


def test_long_chats_keep_the_newest_messages(telemetry: Telemetry) -> None:
    """Thousands of turns each under the limit: the newest are kept whole, the oldest go."""
    recorder = content_recorder(telemetry)  # the default limit
    turns = [
        {"role": "user" if i % 2 else "assistant", "content": f"turn {i} " + "x" * 80}
        for i in range(5000)
    ]
    record(recorder, "completion", {"model": MODEL, "messages": turns})
    assert_bounded(telemetry, DEFAULT_MAX_CONTENT_LENGTH)
    messages = parsed(telemetry, "gen_ai.input.messages")
    assert messages[-1]["parts"] == [{"type": "text", "content": turns[-1]["content"]}]
    assert messages[-2]["parts"] == [{"type": "text", "content": turns[-2]["content"]}]
    dropped = 5000 - (len(messages) - 1)
    assert dropped > 0
    assert messages[0]["parts"][0]["content"].startswith(f"…[{dropped} messages truncated, ")


def test_one_huge_part_is_cut_and_the_small_ones_kept(telemetry: Telemetry) -> None:
    recorder = content_recorder(telemetry, limit=LIMIT * 4)
    turns = [{"role": "user", "content": f"short {i}"} for i in range(10)]
    turns.insert(5, {"role": "user", "content": "h" * 1_000_000})
    record(recorder, "completion", {"model": MODEL, "messages": turns})
    assert_bounded(telemetry, LIMIT * 4)
    messages = parsed(telemetry, "gen_ai.input.messages")
    assert len(messages) == 11
    texts = [m["parts"][0]["content"] for m in messages]
    assert texts[:5] + texts[6:] == [f"short {i}" for i in range(10)]
    assert texts[5].startswith("hhhh")
    assert texts[5].endswith(" chars]")


def test_huge_uris_are_cut(telemetry: Telemetry) -> None:
    recorder = content_recorder(telemetry, limit=LIMIT)
    url = "https://example.com/" + "u" * 1_000_000
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
            ],
        },
    )
    assert_bounded(telemetry)


def test_system_instructions_and_tool_definitions_are_bounded(telemetry: Telemetry) -> None:
    recorder = content_recorder(telemetry, limit=LIMIT)
    tools = [
        {
            "type": "function",
            "name": f"tool_{i}",
            "description": "d" * 900,
            "parameters": {"type": "object"},
        }
        for i in range(300)
    ]
    record(
        recorder,
        "responses",
        {"model": MODEL, "input": "hi", "instructions": "s" * 100_000, "tools": tools},
    )
    assert_bounded(telemetry)
    span = telemetry.only_span()
    assert "gen_ai.system_instructions" in span.attributes
    assert "gen_ai.tool.definitions" in span.attributes


def test_output_messages_are_bounded(telemetry: Telemetry) -> None:
    recorder = content_recorder(telemetry, limit=LIMIT)
    choices = [
        {
            "index": i,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "o" * 5000},
        }
        for i in range(50)
    ]
    record(
        recorder, "completion", {"model": MODEL, "messages": user_messages()}, {"choices": choices}
    )
    chunks = [{"id": "x", "choices": [{"index": 0, "delta": {"content": "p" * 1000}}]}] * 100
    record(
        recorder,
        "completion",
        {"model": MODEL, "messages": user_messages(), "stream": True},
        chunks=chunks,
    )
    assert_bounded(telemetry)


@pytest.mark.parametrize(
    "mode", [ContentCapturingMode.EVENT_ONLY, ContentCapturingMode.SPAN_AND_EVENT]
)
def test_the_event_form_is_bounded_too(telemetry: Telemetry, mode: ContentCapturingMode) -> None:
    recorder = content_recorder(telemetry, mode=mode, limit=LIMIT)
    turns = [{"role": "user", "content": "x" * 500} for _ in range(100)]
    record(
        recorder,
        "completion",
        {"model": MODEL, "messages": turns},
        {"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "y" * 50_000}}]},
    )
    (log,) = telemetry.logs.get_finished_logs()
    assert "gen_ai.input.messages" in log.log_record.attributes
    assert_bounded(telemetry)


def test_non_ascii_text_is_measured_as_it_is_written(telemetry: Telemetry) -> None:
    """util-genai writes JSON with ASCII escapes: "é" takes six characters, an emoji twelve."""
    recorder = content_recorder(telemetry, limit=LIMIT)
    record(recorder, "completion", {"model": MODEL, "messages": user_messages("é😀" * LIMIT)})
    assert_bounded(telemetry)


def test_content_within_the_limit_is_recorded_whole(telemetry: Telemetry) -> None:
    recorder = content_recorder(telemetry, limit=LIMIT)
    arguments = json.dumps({"city": "Paris", "days": [1, 2, 3]})
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [
                {"role": "user", "content": "x" * 400},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": arguments}}],
                },
            ],
        },
    )
    messages = parsed(telemetry, "gen_ai.input.messages")
    assert messages[0]["parts"] == [{"type": "text", "content": "x" * 400}]
    assert messages[1]["parts"][0]["arguments"] == {"city": "Paris", "days": [1, 2, 3]}
    assert "…[" not in telemetry.only_span().attributes["gen_ai.input.messages"]


# --- content_filter sees every captured text ---------------------------------------------------


class Texts:
    """Distinct lower-case texts to put wherever a surface captures text."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self, where: str) -> str:
        text = f"sentinel {where} {len(self.made)} text"
        self.made.append(text)
        return text


def upper(text: str) -> str:
    return text.upper()


def assert_filtered_everywhere(telemetry: Telemetry, texts: Texts) -> None:
    """No text survives as written; each was recorded through the filter (upper-cased)."""
    exported = everything_exported(telemetry)
    unfiltered = [text for text in texts.made if text in exported]
    assert not unfiltered, unfiltered
    decoded = exported.encode().decode("unicode_escape")  # the JSON writes ASCII escapes
    missing = [text for text in texts.made if text.upper() not in decoded]
    assert not missing, missing


def chat_request(t: Texts) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": t("system")},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": t("user part")},
                    {"type": "image_url", "image_url": {"url": f"https://example.com/{t('url')}"}},
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": t("doc")},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "text", "text": t("assistant part")}],
                "reasoning_content": t("reasoning"),
                "tool_calls": [
                    {
                        "id": "c1",
                        "function": {"name": "f", "arguments": json.dumps({"q": t("args")})},
                    },
                    {"id": "c2", "function": {"name": "g", "arguments": t("invalid json args")}},
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": t("tool result")},
            {
                "role": "tool",
                "tool_call_id": "c2",
                "content": [{"type": "text", "text": t("tool list result")}],
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "description": t("tool description"),
                    "parameters": {"type": "object", "description": t("schema")},
                },
            }
        ],
    }


def chat_response(t: Texts) -> dict[str, Any]:
    return {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": t("answer"),
                    "reasoning_content": t("answer reasoning"),
                    "tool_calls": [
                        {
                            "id": "c3",
                            "function": {
                                "name": "f",
                                "arguments": json.dumps({"q": t("answer args")}),
                            },
                        }
                    ],
                },
            }
        ]
    }


def responses_request(t: Texts) -> dict[str, Any]:
    return {
        "model": MODEL,
        "instructions": t("instructions"),
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": t("input text")},
                    {"type": "input_image", "image_url": f"https://example.com/{t('image url')}"},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "output_text", "text": t("earlier answer")}],
            },
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": t("earlier reasoning")}],
            },
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "f",
                "arguments": json.dumps({"q": t("call args")}),
            },
            {"type": "function_call_output", "call_id": "c1", "output": t("call output")},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [
                    {"type": "input_text", "text": t("list output")},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                ],
            },
        ],
        "tools": [
            {
                "type": "function",
                "name": "f",
                "description": t("responses tool"),
                "parameters": {"type": "object", "title": t("responses schema")},
            }
        ],
    }


def responses_response(t: Texts) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "status": "completed",
        "output": [
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": t("output reasoning")}],
            },
            {
                "type": "message",
                "content": [
                    {"type": "output_text", "text": t("output text")},
                    {"type": "refusal", "refusal": t("refusal")},
                ],
            },
            {
                "type": "function_call",
                "call_id": "c9",
                "name": "f",
                "arguments": json.dumps({"q": t("output args")}),
            },
        ],
    }


def test_the_filter_sees_every_text_of_a_chat_call(telemetry: Telemetry) -> None:
    t = Texts()
    record(
        content_recorder(telemetry, content_filter=upper),
        "completion",
        chat_request(t),
        chat_response(t),
    )
    assert_filtered_everywhere(telemetry, t)


def test_the_filter_sees_every_text_of_a_responses_call(telemetry: Telemetry) -> None:
    t = Texts()
    record(
        content_recorder(telemetry, content_filter=upper),
        "responses",
        responses_request(t),
        responses_response(t),
    )
    assert_filtered_everywhere(telemetry, t)


def test_the_filter_sees_responses_tool_results_given_as_parts(telemetry: Telemetry) -> None:
    """The case of the issue: ``function_call_output`` whose ``output`` is a list of parts."""
    recorder = content_recorder(
        telemetry, content_filter=lambda text: text.replace("secret", "[x]")
    )
    record(
        recorder,
        "responses",
        {
            "model": MODEL,
            "input": [
                {
                    "type": "function_call_output",
                    "call_id": "c1",
                    "output": [{"type": "input_text", "text": "the secret is 42"}],
                }
            ],
        },
    )
    (message,) = parsed(telemetry, "gen_ai.input.messages")
    assert message == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "c1", "response": "the [x] is 42"}],
        "name": None,
    }


def test_the_filter_sees_every_text_of_streams(telemetry: Telemetry) -> None:
    t = Texts()
    recorder = content_recorder(telemetry, content_filter=upper)
    chunks = [
        {
            "id": "x",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": t("chunk")}}],
        },
        {
            "id": "x",
            "choices": [{"index": 0, "delta": {"reasoning_content": t("chunk reasoning")}}],
        },
        {
            "id": "x",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "c",
                                "function": {
                                    "name": "f",
                                    "arguments": json.dumps({"q": t("chunk args")}),
                                },
                            }
                        ]
                    },
                    "finish_reason": "tool_calls",
                }
            ],
        },
    ]
    record(
        recorder,
        "completion",
        {"model": MODEL, "messages": [{"role": "user", "content": t("prompt")}], "stream": True},
        chunks=chunks,
    )
    events = [
        {"type": "response.output_text.delta", "delta": t("delta")},
    ]
    record(
        recorder,
        "responses",
        {"model": MODEL, "input": t("responses prompt"), "stream": True},
        chunks=events,
    )
    assert_filtered_everywhere(telemetry, t)


def test_the_filter_sees_what_a_stream_said_before_it_failed(telemetry: Telemetry) -> None:
    t = Texts()
    recorder = content_recorder(telemetry, content_filter=upper, limit=LIMIT)
    chunks = [
        {
            "id": "x",
            "choices": [{"index": 0, "delta": {"content": t("partial") + " " + "z" * 50_000}}],
        }
    ]
    record(
        recorder,
        "completion",
        {"model": MODEL, "messages": [{"role": "user", "content": t("prompt")}], "stream": True},
        chunks=chunks,
        error=RuntimeError("connection reset"),
    )
    assert_filtered_everywhere(telemetry, t)
    assert_bounded(telemetry)


def test_the_filter_sees_every_text_of_the_other_surfaces(telemetry: Telemetry) -> None:
    t = Texts()
    recorder = content_recorder(telemetry, content_filter=upper)
    record(
        recorder,
        "text_completion",
        {"model": MODEL, "prompt": [t("prompt one"), t("prompt two")]},
        {"choices": [{"index": 0, "text": t("completion"), "finish_reason": "stop"}]},
    )
    record(
        recorder,
        "image_generation",
        {"model": "openai/dall-e-3", "prompt": t("image prompt")},
        {"data": [{"url": f"https://example.com/{t('image')}", "revised_prompt": t("revised")}]},
    )
    record(recorder, "speech", {"model": "openai/tts-1", "input": t("speech")})
    record(
        recorder,
        "transcription",
        {"model": "openai/whisper-1", "prompt": t("transcription prompt")},
        {"text": t("transcript")},
    )
    record(
        recorder, "rerank", {"model": "cohere/rerank-v3", "query": t("query"), "documents": ["a"]}
    )
    record(recorder, "moderation", {"model": "omni-moderation-latest", "input": [t("moderated")]})
    assert_filtered_everywhere(telemetry, t)


def test_a_filter_that_drops_tool_arguments_drops_the_call_part(telemetry: Telemetry) -> None:
    recorder = content_recorder(
        telemetry, content_filter=lambda text: None if "card" in text else text
    )
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "function": {"name": "pay", "arguments": '{"card": "4111"}'}},
                        {
                            "id": "c2",
                            "function": {"name": "look", "arguments": '{"city": "Paris"}'},
                        },
                    ],
                }
            ],
        },
    )
    (message,) = parsed(telemetry, "gen_ai.input.messages")
    assert message["parts"] == [
        {"type": "tool_call", "id": "c2", "name": "look", "arguments": {"city": "Paris"}}
    ]


# --- one-shot iterables the caller passed are never consumed ---------------------------------


def one_shot_calls(server_args: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}],
        },
    ]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]

    def generator(items: list[Any]) -> Any:
        yield from items

    return {
        "messages=iter(...)": lambda: litellm.completion(
            model=MODEL, messages=iter(messages), **server_args
        ),
        "messages=generator": lambda: litellm.completion(
            model=MODEL, messages=generator(messages), **server_args
        ),
        "tools=iter(...)": lambda: litellm.completion(
            model=MODEL, messages=list(messages), tools=iter(tools), **server_args
        ),
        "content=iter(...)": lambda: litellm.completion(
            model=MODEL,
            messages=[{"role": "user", "content": iter([{"type": "text", "text": "hi"}])}],
            **server_args,
        ),
        "responses input=iter(...)": lambda: litellm.responses(
            model=MODEL, input=iter([{"role": "user", "content": "hi"}]), **server_args
        ),
        "responses tools=iter(...)": lambda: litellm.responses(
            model=MODEL,
            input="hi",
            tools=iter([{"type": "function", "name": "f", "parameters": {"type": "object"}}]),
            **server_args,
        ),
    }


def sent(server: Any, call: Callable[[], Any]) -> Any:
    server.clear()
    try:
        call()
        outcome: Any = "returned"
    except Exception as error:
        outcome = (type(error).__name__, str(error))
    bodies = [request.body for request in server.requests]
    for body in bodies:
        if isinstance(body, dict):
            body.pop("loopback_mode", None)
    return outcome, bodies


@pytest.mark.parametrize(
    "case",
    [
        "messages=iter(...)",
        "messages=generator",
        "tools=iter(...)",
        "content=iter(...)",
        "responses input=iter(...)",
        "responses tools=iter(...)",
    ],
)
def test_one_shot_iterables_reach_the_provider_as_without_us(
    instrument: Any, server: Any, call_args: dict[str, Any], case: str
) -> None:
    # LiteLLM itself cannot send some of these (an iterator is not JSON): then the same error.
    plain = sent(server, one_shot_calls(call_args)[case])
    telemetry = instrument(capture_content=True)
    traced = sent(server, one_shot_calls(call_args)[case])
    assert traced == plain
    assert len(telemetry.finished()) == 1


def test_values_json_cannot_write_are_recorded_as_a_marker(telemetry: Telemetry) -> None:
    """util-genai's serialiser raises on them, and the span lost every attribute with it."""
    recorder = content_recorder(telemetry)
    record(
        recorder,
        "completion",
        {
            "model": MODEL,
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "function": {
                                "name": "f",
                                "arguments": {"when": datetime.date(2024, 1, 2)},
                            },
                        }
                    ],
                }
            ],
            "tools": [
                {"type": "function", "function": {"name": "f", "parameters": {"enum": {1, 2}}}}
            ],
        },
        {
            "model": "gpt-4o-mini",
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "ok"}}],
        },
    )
    attributes = telemetry.only_span().attributes
    assert attributes["gen_ai.usage.input_tokens"] == 3
    (message,) = json.loads(attributes["gen_ai.input.messages"])
    assert message["parts"][0]["arguments"] == "…[not JSON: dict]"
    (tool,) = json.loads(attributes["gen_ai.tool.definitions"])
    assert tool["parameters"] == "…[not JSON: dict]"
