"""Every LiteLLM entry point beyond chat and embeddings, sync and async, exactly one span."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import litellm
import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.telemetry import API_KEY, Telemetry, user_messages

AUDIO = ("hello.wav", b"RIFF" + b"\0" * 64)


def moderation_client(fn: Any, kwargs: dict[str, Any]) -> Any:
    client_type = openai.AsyncOpenAI if fn is litellm.amoderation else openai.OpenAI
    return client_type(base_url=kwargs["api_base"], api_key=kwargs["api_key"], max_retries=0)


def server_args(server: Any, *, retries: bool = True) -> dict[str, Any]:
    args: dict[str, Any] = {"api_base": server.base_url, "api_key": API_KEY}
    if retries:
        args["max_retries"] = 0
    return args


# entry point → (call, expected span name, expected operation, extra expected attributes)
ENTRY_POINTS: dict[str, tuple[Callable[[Any, str], Any], str, str, dict[str, Any]]] = {
    "text_completion": (
        lambda fn, model, **kw: fn(prompt="Say hi", model=f"openai/{model}", **kw),
        "text_completion gpt-3.5-turbo-instruct",
        "text_completion",
        {"gen_ai.usage.input_tokens": 12, "gen_ai.response.finish_reasons": ("stop",)},
    ),
    "responses": (
        lambda fn, model, **kw: fn(input="Say hi", model=f"openai/{model}", **kw),
        "chat gpt-4o-mini",
        "chat",
        {
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.usage.cache_read.input_tokens": 4,
            "gen_ai.usage.reasoning.output_tokens": 2,
            "gen_ai.response.finish_reasons": ("stop",),
        },
    ),
    "image_generation": (
        lambda fn, model, **kw: fn(prompt="a cat", model=f"openai/{model}", n=2, **kw),
        "image_generation gpt-image-1",
        "image_generation",
        {"gen_ai.output.type": "image", "gen_ai.request.choice.count": 2},
    ),
    "transcription": (
        lambda fn, model, **kw: fn(model=f"openai/{model}", file=AUDIO, **kw),
        "transcription whisper-1",
        "transcription",
        {"gen_ai.output.type": "text"},
    ),
    "speech": (
        lambda fn, model, **kw: fn(model=f"openai/{model}", input="hello", voice="alloy", **kw),
        "speech tts-1",
        "speech",
        {"gen_ai.output.type": "speech"},
    ),
    "rerank": (
        lambda fn, model, **kw: fn(
            model=f"cohere/{model}", query="q", documents=["a", "b", "c"], top_n=2, **kw
        ),
        "rerank rerank-english-v3.0",
        "rerank",
        {
            "gen_ai.provider.name": "cohere",
            "litellm.rerank.top_n": 2,
            "litellm.rerank.document_count": 3,
        },
    ),
    "moderation": (
        # LiteLLM's moderation ignores api_base in some releases; an explicit client does not
        lambda fn, model, **kw: fn(
            input="some text", model=model, client=moderation_client(fn, kw), **kw
        ),
        "moderation omni-moderation-latest",
        "moderation",
        {"litellm.moderation.flagged": False},
    ),
}
MODELS = {
    "text_completion": "gpt-3.5-turbo-instruct",
    "responses": "gpt-4o-mini",
    "image_generation": "gpt-image-1",
    "transcription": "whisper-1",
    "speech": "tts-1",
    "rerank": "rerank-english-v3.0",
    "moderation": "omni-moderation-latest",
}
NO_MAX_RETRIES = {"rerank", "moderation"}


def check_span(telemetry: Telemetry, name: str, expected: tuple[Any, ...]) -> Any:
    _, span_name, operation, extra = expected
    span = telemetry.only_span()
    assert span.name == span_name
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["gen_ai.operation.name"] == operation
    assert span.attributes["gen_ai.request.model"] == MODELS[name]
    assert span.attributes["server.address"] == "127.0.0.1"
    for key, value in extra.items():
        assert span.attributes[key] == value, key
    (point,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["gen_ai.operation.name"] == operation
    return span


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_sync_entry_point(name: str, traced: Telemetry, server: Any) -> None:
    call = ENTRY_POINTS[name][0]
    result = call(
        getattr(litellm, name),
        MODELS[name],
        **server_args(server, retries=name not in NO_MAX_RETRIES),
    )
    assert result is not None
    span = check_span(traced, name, ENTRY_POINTS[name])
    response_id = getattr(result, "id", None)
    if isinstance(response_id, str):
        assert span.attributes["gen_ai.response.id"] == response_id
    usage = getattr(result, "usage", None)
    if name == "image_generation" and getattr(usage, "input_tokens", None):
        # gpt-image-1 reports usage; LiteLLM before ~1.75 drops it (then none is recorded)
        assert span.attributes["gen_ai.usage.input_tokens"] == 10
        assert span.attributes["gen_ai.usage.output_tokens"] == 20
    elif name == "image_generation":
        assert "gen_ai.usage.input_tokens" not in span.attributes


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
async def test_async_entry_point(name: str, traced: Telemetry, server: Any) -> None:
    call = ENTRY_POINTS[name][0]
    result = await call(
        getattr(litellm, f"a{name}"),
        MODELS[name],
        **server_args(server, retries=name not in NO_MAX_RETRIES),
    )
    assert result is not None
    check_span(traced, name, ENTRY_POINTS[name])


@pytest.mark.parametrize(
    "name", ["text_completion", "responses", "image_generation", "transcription", "rerank"]
)
def test_entry_point_errors(name: str, traced: Telemetry, server: Any) -> None:
    call = ENTRY_POINTS[name][0]
    prefix = "cohere/" if name == "rerank" else ""
    # RateLimitError everywhere in recent LiteLLM; older releases map some 429s differently
    with pytest.raises(openai.APIError) as raised:
        kwargs = server_args(server, retries=name not in NO_MAX_RETRIES)
        if prefix:
            litellm.rerank(model="cohere/error-429", query="q", documents=["a"], **kwargs)
        else:
            call(getattr(litellm, name), "error-429", **kwargs)
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.attributes["gen_ai.request.model"] == "error-429"


def test_completion_with_retries_is_one_span(traced: Telemetry, server: Any) -> None:
    response = litellm.completion_with_retries(
        model="openai/gpt-4o-mini", messages=user_messages(), **server_args(server)
    )
    span = traced.only_span()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.response.id"] == response.id


async def test_acompletion_with_retries_is_one_span(traced: Telemetry, server: Any) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    kwargs = {"model": "openai/gpt-4o-mini", "messages": user_messages(), **server_args(server)}
    try:  # some LiteLLM releases break this function themselves; then we must fail alike
        with suppress_instrumentation():
            await litellm.acompletion_with_retries(**kwargs)
        expected: type[BaseException] | None = None
    except Exception as uninstrumented:
        expected = type(uninstrumented)
    if expected is None:
        await litellm.acompletion_with_retries(**kwargs)
        assert traced.only_span().name == "chat gpt-4o-mini"
    else:
        with pytest.raises(expected):
            await litellm.acompletion_with_retries(**kwargs)
        assert traced.only_span().attributes["error.type"] == expected.__qualname__


def test_positional_arguments_of_forwarding_entry_points(traced: Telemetry, server: Any) -> None:
    litellm.text_completion("Say hi", "openai/gpt-3.5-turbo-instruct", **server_args(server))
    litellm.completion_with_retries("openai/gpt-4o-mini", user_messages(), **server_args(server))
    assert [s.name for s in traced.finished()] == [
        "text_completion gpt-3.5-turbo-instruct",
        "chat gpt-4o-mini",
    ]


def test_text_completion_stream(instrument: Any, server: Any) -> None:
    telemetry = instrument(capture_content=True)
    stream = litellm.text_completion(
        prompt="Say hi", model="openai/gpt-3.5-turbo-instruct", stream=True, **server_args(server)
    )
    list(stream)
    span = telemetry.only_span()
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert message["parts"] == [{"type": "text", "content": "Hello from loopback"}]
    (prompt,) = json.loads(span.attributes["gen_ai.input.messages"])
    assert prompt["parts"] == [{"type": "text", "content": "Say hi"}]


@pytest.mark.parametrize("is_async", [False, True])
async def test_responses_stream(instrument: Any, server: Any, is_async: bool) -> None:
    telemetry = instrument(capture_content=True)
    kwargs = {"input": "Say hi", "model": "openai/gpt-4o-mini", "stream": True}
    if is_async:
        stream = await litellm.aresponses(**kwargs, **server_args(server))
        events = [event async for event in stream]
    else:
        stream = litellm.responses(**kwargs, **server_args(server))
        events = list(stream)
    assert events[-1].type == "response.completed"
    span = telemetry.only_span()
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert message["parts"] == [{"type": "text", "content": "Hello from loopback"}]
    assert message["finish_reason"] == "stop"


def test_responses_content(instrument: Any, server: Any) -> None:
    telemetry = instrument(capture_content=True)
    litellm.responses(
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        ],
        instructions="Be brief.",
        model="openai/tool-model",
        max_output_tokens=64,
        temperature=0.1,
        **server_args(server),
    )
    attributes = telemetry.only_span().attributes
    assert json.loads(attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    inputs = json.loads(attributes["gen_ai.input.messages"])
    assert [m["role"] for m in inputs] == ["user", "assistant", "tool"]
    assert inputs[1]["parts"][0] == {
        "type": "tool_call",
        "id": "call_1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert inputs[2]["parts"][0] == {
        "type": "tool_call_response",
        "id": "call_1",
        "response": "sunny",
    }
    (output,) = json.loads(attributes["gen_ai.output.messages"])
    assert output["parts"][0]["type"] == "tool_call"
    assert output["parts"][0]["name"] == "get_weather"
    assert output["finish_reason"] == "tool_call"
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.request.temperature"] == 0.1


def test_image_content_never_carries_the_payload(instrument: Any, server: Any) -> None:
    telemetry = instrument(capture_content=True)
    result = litellm.image_generation(
        prompt="a cat", model="openai/gpt-image-1", **server_args(server)
    )
    payload = result.data[0].b64_json
    assert payload
    attributes = telemetry.only_span().attributes
    assert payload[:16] not in repr(dict(attributes))
    (output,) = json.loads(attributes["gen_ai.output.messages"])
    assert output["parts"][0] == {
        "type": "blob",
        "mime_type": "image/png",
        "modality": "image",
        "content": "",
    }


def test_audio_content_never_carries_the_payload(instrument: Any, server: Any) -> None:
    telemetry = instrument(capture_content=True)
    litellm.transcription(model="openai/whisper-1", file=AUDIO, **server_args(server))
    litellm.speech(model="openai/tts-1", input="hello", voice="alloy", **server_args(server))
    transcription, speech = telemetry.finished()
    (heard,) = json.loads(transcription.attributes["gen_ai.input.messages"])
    assert heard["parts"] == [
        {"type": "blob", "mime_type": None, "modality": "audio", "content": ""}
    ]
    (said,) = json.loads(transcription.attributes["gen_ai.output.messages"])
    assert said["parts"] == [{"type": "text", "content": "Hello from loopback"}]
    (audio,) = json.loads(speech.attributes["gen_ai.output.messages"])
    assert audio["parts"] == [
        {"type": "blob", "mime_type": "audio/mpeg", "modality": "audio", "content": ""}
    ]
