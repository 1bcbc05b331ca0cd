"""Gemini's ``generateContent`` through LiteLLM (``litellm.google_genai``): one
``generate_content`` span per call, streamed or not, Gemini natively or another model that
LiteLLM bridges through ``completion`` (that inner call adds no span)."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import litellm
import pytest
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, StatusCode

from litellm_otel._operations.generate_content import GenerateContentStreamState, apply_response
from tests.support import loopback_surfaces as wire
from tests.support.invocations import Invocations
from tests.support.loopback_server import CONTENT_PIECES
from tests.support.pricing import cost_points, litellm_cost, priced_model
from tests.support.telemetry import API_KEY, Telemetry

VERSION = version("litellm")
genai = pytest.importorskip(
    "litellm.google_genai", reason=f"LiteLLM {VERSION} has no litellm.google_genai"
)
CONTENTS = [{"role": "user", "parts": [{"text": "Say hi"}]}]
MODEL = "gemini-2.0-flash"
#: A Gemini model this LiteLLM release prices (MODEL has no price in some).
PRICED = priced_model("gemini", "gemini-2.5-flash", "gemini-2.0-flash")
COST_ATTRIBUTE = "litellm.response_cost"
LATEST = "gen_ai_latest_experimental"
USAGE = wire.GEMINI_USAGE


def cost(model: str, provider: str = "gemini") -> dict[str, float]:
    """The span's cost attribute as LiteLLM prices the loopback's usage for ``model``:
    thoughts are output tokens, cached tokens part of the prompt's."""
    return litellm_cost(
        model,
        provider,
        prompt_tokens=USAGE["promptTokenCount"],
        completion_tokens=USAGE["candidatesTokenCount"] + USAGE["thoughtsTokenCount"],
        cache_read=USAGE["cachedContentTokenCount"],
    )


async def call(name: str, **kwargs: Any) -> Any:
    result = getattr(genai, name)(**kwargs)
    return await result if name.startswith("a") else result


async def drain(stream: Any) -> list[Any]:
    if hasattr(stream, "__next__"):
        return list(stream)
    return [chunk async for chunk in stream]


def native(server: Any, response_id: str, *, stream: bool = False) -> dict[str, Any]:
    usage = wire.GEMINI_USAGE
    return {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": MODEL,
        "server.address": "127.0.0.1",
        "server.port": server.port,
        **({"gen_ai.request.stream": True} if stream else {}),
        "gen_ai.response.id": response_id,
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ("STOP",),
        "gen_ai.usage.input_tokens": usage["promptTokenCount"],
        "gen_ai.usage.output_tokens": usage["candidatesTokenCount"] + usage["thoughtsTokenCount"],
        "gen_ai.usage.cache_read.input_tokens": usage["cachedContentTokenCount"],
        "gen_ai.usage.reasoning.output_tokens": usage["thoughtsTokenCount"],
        "litellm.provider": "gemini",
        "litellm.request.model": f"gemini/{MODEL}",
        **cost(MODEL),
    }


@pytest.mark.parametrize("name", ["generate_content", "agenerate_content"])
async def test_native_call_is_one_span(traced: Telemetry, server: Any, name: str) -> None:
    response = await call(
        name, model=f"gemini/{MODEL}", contents=CONTENTS, api_base=server.base_url, api_key=API_KEY
    )
    assert [r.path for r in server.requests] == [f"/v1/models/{MODEL}:generateContent"]
    span = traced.only_span()
    assert (span.name, span.kind) == (f"generate_content {MODEL}", SpanKind.CLIENT)
    assert dict(span.attributes or {}) == native(server, response.responseId)


def test_the_top_level_alias_is_the_same_wrapper(traced: Telemetry) -> None:
    for name in ("generate_content", "agenerate_content"):
        if name in vars(litellm):  # the releases that export it at all
            assert getattr(litellm, name) is getattr(genai, name)


@pytest.mark.parametrize("name", ["generate_content_stream", "agenerate_content_stream"])
async def test_native_stream_is_one_span(traced: Telemetry, server: Any, name: str) -> None:
    stream = await call(
        name, model=f"gemini/{MODEL}", contents=CONTENTS, api_base=server.base_url, api_key=API_KEY
    )
    assert traced.finished() == []
    chunks = await drain(stream)
    span = traced.only_span()
    attributes = dict(span.attributes or {})
    assert attributes.pop("gen_ai.response.time_to_first_chunk") >= 0
    response_id = attributes["gen_ai.response.id"]
    assert attributes == native(server, response_id, stream=True)
    assert b"".join(chunks) == b"".join(wire.gemini_stream(response_id, MODEL, CONTENT_PIECES))


@pytest.mark.parametrize("stream", [False, True], ids=["response", "stream"])
async def test_a_bridged_model_is_one_span(traced: Telemetry, server: Any, stream: bool) -> None:
    name = "agenerate_content_stream" if stream else "agenerate_content"
    result = await call(
        name,
        model="openai/gpt-4o-mini",
        contents=CONTENTS,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    if stream:
        await drain(result)
    assert [r.path for r in server.requests] == ["/v1/chat/completions"]
    span = traced.only_span()
    attributes = dict(span.attributes or {})
    attributes.pop("gen_ai.response.time_to_first_chunk", None)
    assert attributes == {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        **({"gen_ai.request.stream": True} if stream else {}),
        "gen_ai.response.finish_reasons": ("STOP",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "litellm.provider": "openai",
        "litellm.request.model": "openai/gpt-4o-mini",
        # the reply's usage (LiteLLM's bridge reports no cached tokens in it), priced for the
        # model that answered
        **litellm_cost("gpt-4o-mini", "openai", prompt_tokens=12, completion_tokens=5),
    }
    assert COST_ATTRIBUTE in attributes  # a priced model: the assertion above can fail


async def test_a_stream_left_early_ends_its_span_once(traced: Telemetry, server: Any) -> None:
    stream = genai.generate_content_stream(
        model=f"gemini/{MODEL}", contents=CONTENTS, api_base=server.base_url, api_key=API_KEY
    )
    next(stream)
    assert traced.finished() == []
    del stream  # LiteLLM's iterator has no close(): dropping it ends the span
    gc.collect()
    (span,) = traced.finished()
    assert span.attributes is not None
    assert span.attributes["litellm.stream.closed_early"] is True
    assert span.status.status_code is StatusCode.UNSET
    # no finish reason came, nor the final usage: nothing to price
    assert COST_ATTRIBUTE not in span.attributes
    assert cost_points(traced) == []


@pytest.mark.parametrize("model", ["gemini/error-429", "openai/error-429"])
async def test_provider_errors_are_recorded_as_for_chat(
    traced: Telemetry, server: Any, model: str
) -> None:
    with pytest.raises(litellm.RateLimitError):
        await call(
            "agenerate_content",
            model=model,
            contents=CONTENTS,
            api_base=server.base_url,
            api_key=API_KEY,
        )
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.attributes["http.response.status_code"] == 429
    assert COST_ATTRIBUTE not in span.attributes
    assert cost_points(traced) == []
    assert API_KEY not in span.to_json()


async def test_content_only_with_capture(instrument: Callable[..., Telemetry], server: Any) -> None:
    telemetry = instrument(capture_content=True)
    config = {
        "temperature": 0.5,
        "maxOutputTokens": 20,
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
    }
    await call(
        "agenerate_content",
        model=f"gemini/{MODEL}",
        contents=CONTENTS,
        config=config,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    attributes = telemetry.only_span().attributes or {}
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.max_tokens"] == 20
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hi"}], "name": None}
    ]
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello from loopback"}],
            "finish_reason": "stop",
            "name": None,
        }
    ]


async def test_no_content_without_capture(traced: Telemetry, server: Any) -> None:
    await call(
        "agenerate_content",
        model=f"gemini/{MODEL}",
        contents=CONTENTS,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    assert not [n for n in traced.only_span().attributes or {} if "messages" in n]


@pytest.mark.parametrize("mode", ["default", "latest"])
@pytest.mark.parametrize(
    "name",
    [
        *("generate_content", "agenerate_content"),
        *("generate_content_stream", "agenerate_content_stream"),
    ],
)
async def test_a_priced_call_costs_what_litellm_charges(
    instrument: Callable[..., Telemetry],
    monkeypatch: pytest.MonkeyPatch,
    server: Any,
    name: str,
    mode: str,
) -> None:
    if mode == "latest":
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", LATEST)
    telemetry = instrument()
    result = await call(
        name, model=f"gemini/{PRICED}", contents=CONTENTS, api_base=server.base_url, api_key=API_KEY
    )
    if "stream" in name:
        await drain(result)
    expected = cost(PRICED)[COST_ATTRIBUTE]
    assert expected > 0
    attributes = telemetry.only_span().attributes or {}
    assert attributes[COST_ATTRIBUTE] == expected
    point = {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": PRICED,
        "gen_ai.response.model": PRICED,
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }
    assert cost_points(telemetry) == [(point, expected)]


def priced_invocation(made: Invocations, model: str = PRICED) -> Any:
    invocation = made.handler.inference(
        "gcp.gemini", request_model=model, operation_name="generate_content", context=Context()
    )
    made.made.append(invocation)
    invocation.attributes["litellm.provider"] = "gemini"
    return invocation


REPLY: dict[str, Any] = {
    "responseId": "r1",
    "modelVersion": PRICED,
    "candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "STOP"}],
}


def test_a_reply_without_usage_has_no_cost(made: Invocations) -> None:
    invocation = priced_invocation(made)
    apply_response(invocation, REPLY, False)
    assert COST_ATTRIBUTE not in invocation.attributes
    apply_response(invocation, {**REPLY, "usageMetadata": dict(USAGE)}, False)
    assert invocation.attributes[COST_ATTRIBUTE] == cost(PRICED)[COST_ATTRIBUTE]


def test_snake_case_usage_is_priced_alike(made: Invocations) -> None:
    """The ``google-genai`` SDK's spelling of the same counts."""
    invocation = priced_invocation(made)
    usage = {
        "prompt_token_count": USAGE["promptTokenCount"],
        "cached_content_token_count": USAGE["cachedContentTokenCount"],
        "candidates_token_count": USAGE["candidatesTokenCount"],
        "thoughts_token_count": USAGE["thoughtsTokenCount"],
        "total_token_count": USAGE["totalTokenCount"],
    }
    apply_response(invocation, {**REPLY, "usage_metadata": usage}, False)
    assert invocation.attributes[COST_ATTRIBUTE] == cost(PRICED)[COST_ATTRIBUTE]


def test_a_model_litellm_does_not_price_has_no_cost(made: Invocations) -> None:
    invocation = priced_invocation(made, "gemini-loopback-unpriced")
    apply_response(invocation, {**REPLY, "usageMetadata": dict(USAGE)}, False)
    assert invocation.input_tokens == USAGE["promptTokenCount"]
    assert COST_ATTRIBUTE not in invocation.attributes


def test_a_stream_is_priced_once_it_finished(made: Invocations) -> None:
    """A chunk's usage before the finish reason is a running count, not what the call cost."""
    invocation = priced_invocation(made)
    state = GenerateContentStreamState(capture_content=False)
    running = {"responseId": "r1", "usageMetadata": {"promptTokenCount": 12}}
    state.process(f"data: {json.dumps(running)}\n\n".encode(), invocation)
    state.apply(invocation)
    assert invocation.input_tokens == 12
    assert COST_ATTRIBUTE not in invocation.attributes
    final = {**REPLY, "usageMetadata": dict(USAGE)}
    state.process(f"data: {json.dumps(final)}\n\n".encode(), invocation)
    state.apply(invocation)
    assert invocation.attributes[COST_ATTRIBUTE] == cost(PRICED)[COST_ATTRIBUTE]


def test_without_litellm_s_translation_the_same_usage_is_priced_alike(
    made: Invocations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Releases whose Gemini config has no public ``calculate_usage``: our reading of the
    counts, as LiteLLM's translation reads them, priced the same."""
    monkeypatch.setattr(litellm, "VertexGeminiConfig", type("WithoutTranslation", (), {}))
    invocation = priced_invocation(made)
    apply_response(invocation, {**REPLY, "usageMetadata": dict(USAGE)}, False)
    assert invocation.attributes[COST_ATTRIBUTE] == cost(PRICED)[COST_ATTRIBUTE]


CAMEL_CONFIG = {
    "temperature": 0.5,
    "topP": 0.8,
    "topK": 4,
    "maxOutputTokens": 20,
    "stopSequences": ["END"],
    "candidateCount": 2,
}
SNAKE_CONFIG = {
    "temperature": 0.5,
    "top_p": 0.8,
    "top_k": 4,
    "max_output_tokens": 20,
    "stop_sequences": ["END"],
    "candidate_count": 2,
}


@pytest.mark.parametrize("config", [CAMEL_CONFIG, SNAKE_CONFIG], ids=["camelCase", "snake_case"])
async def test_config_parameters_are_recorded_as_passed(
    traced: Telemetry, server: Any, config: dict[str, Any]
) -> None:
    response = await call(
        "agenerate_content",
        model=f"gemini/{MODEL}",
        contents=CONTENTS,
        config=config,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    assert dict(traced.only_span().attributes or {}) == {
        **native(server, response.responseId),
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 0.8,
        "gen_ai.request.top_k": 4,
        "gen_ai.request.max_tokens": 20,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.choice.count": 2,
    }


async def test_latest_mode_times_and_counts_it_as_inference(
    instrument: Callable[..., Telemetry], server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    telemetry = instrument()
    response = await call(
        "agenerate_content",
        model=f"gemini/{MODEL}",
        contents=CONTENTS,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    assert dict(telemetry.only_span().attributes or {}) == native(server, response.responseId)
    (duration,) = telemetry.metric_points("gen_ai.client.inference.duration")
    assert duration.attributes["gen_ai.operation.name"] == "generate_content"
    assert telemetry.metric_points("gen_ai.client.operation.duration") == []
    usage = wire.GEMINI_USAGE
    for metric, expected in (
        ("gen_ai.client.inference.usage.input_tokens", usage["promptTokenCount"]),
        (
            "gen_ai.client.inference.usage.output_tokens",
            usage["candidatesTokenCount"] + usage["thoughtsTokenCount"],
        ),
        ("gen_ai.client.inference.usage.cache_read.input_tokens", usage["cachedContentTokenCount"]),
        ("gen_ai.client.inference.usage.reasoning.output_tokens", usage["thoughtsTokenCount"]),
    ):
        (point,) = telemetry.metric_points(metric)
        assert point.value == expected, metric
