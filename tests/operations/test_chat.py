"""Chat spans: attributes from requests and responses, sync and async, via the loopback server."""

from __future__ import annotations

import json
from typing import Any

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.telemetry import API_KEY, Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"


def test_sync_completion_span(traced: Telemetry, call_args: dict[str, Any], server: Any) -> None:
    response = litellm.completion(model=MODEL, messages=user_messages(), **call_args)

    assert isinstance(response, litellm.ModelResponse)
    assert response.choices[0].message.content == "Hello from loopback"
    span = traced.only_span()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "gen_ai.response.id": response.id,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 4,
        "gen_ai.usage.reasoning.output_tokens": 2,
        "litellm.provider": "openai",
        "litellm.request.model": MODEL,
        # LiteLLM's own cost of the call, as it hands it to the caller
        "litellm.response_cost": response._hidden_params["response_cost"],
    }
    assert span.attributes["litellm.response_cost"] > 0
    assert response.id.startswith("chatcmpl-loopback-")


def test_request_attributes_are_on_the_span_at_start(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    """Samplers see operation, provider, model and server: they are start attributes."""
    seen: list[dict[str, Any]] = []

    from opentelemetry.sdk.trace import SpanProcessor

    class Recorder(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            seen.append(dict(span.attributes))

    traced.tracer_provider.add_span_processor(Recorder())
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert seen[0]["gen_ai.operation.name"] == "chat"
    assert seen[0]["gen_ai.provider.name"] == "openai"
    assert seen[0]["gen_ai.request.model"] == "gpt-4o-mini"
    assert seen[0]["server.address"] == "127.0.0.1"


async def test_async_completion_span(traced: Telemetry, call_args: dict[str, Any]) -> None:
    response = await litellm.acompletion(model=MODEL, messages=user_messages(), **call_args)

    assert response.choices[0].message.content == "Hello from loopback"
    span = traced.only_span()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.response.id"] == response.id
    assert span.attributes["gen_ai.usage.input_tokens"] == 12


def test_positional_arguments_give_the_same_span(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    litellm.completion(MODEL, user_messages(), None, 0.5, **call_args)
    litellm.completion(model=MODEL, messages=user_messages(), temperature=0.5, **call_args)

    positional, keyword = traced.finished()
    ignore = {"gen_ai.response.id", "litellm.response_cost"}
    assert {k: v for k, v in positional.attributes.items() if k not in ignore} == {
        k: v for k, v in keyword.attributes.items() if k not in ignore
    }
    assert positional.attributes["gen_ai.request.temperature"] == 0.5
    assert positional.name == keyword.name


def test_every_request_parameter(traced: Telemetry, call_args: dict[str, Any]) -> None:
    litellm.completion(
        model=MODEL,
        messages=user_messages(),
        temperature=0,
        top_p=0.9,
        top_k=40,
        max_tokens=100,
        stop="END",
        seed=7,
        frequency_penalty=0.1,
        presence_penalty=-0.2,
        n=2,
        response_format={"type": "json_object"},
        reasoning_effort="low",
        drop_params=True,
        **call_args,
    )
    attributes = traced.only_span().attributes
    assert attributes["gen_ai.request.temperature"] == 0.0
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 40
    assert attributes["gen_ai.request.max_tokens"] == 100
    assert attributes["gen_ai.request.stop_sequences"] == ("END",)
    assert attributes["gen_ai.request.seed"] == 7
    assert attributes["gen_ai.request.frequency_penalty"] == 0.1
    assert attributes["gen_ai.request.presence_penalty"] == -0.2
    assert attributes["gen_ai.request.choice.count"] == 2
    assert attributes["gen_ai.output.type"] == "json"
    assert attributes["gen_ai.request.reasoning.level"] == "low"


def test_max_completion_tokens_and_stop_list(traced: Telemetry, call_args: dict[str, Any]) -> None:
    litellm.completion(
        model=MODEL,
        messages=user_messages(),
        max_completion_tokens=64,
        stop=["a", "b"],
        n=1,
        response_format={"type": "text"},
        **call_args,
    )
    attributes = traced.only_span().attributes
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.request.stop_sequences"] == ("a", "b")
    assert "gen_ai.request.choice.count" not in attributes  # n == 1 is the default
    assert attributes["gen_ai.output.type"] == "text"


def test_parameters_not_passed_are_not_recorded(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    attributes = traced.only_span().attributes
    for absent in (
        "gen_ai.request.temperature",
        "gen_ai.request.top_p",
        "gen_ai.request.top_k",
        "gen_ai.request.max_tokens",
        "gen_ai.request.stop_sequences",
        "gen_ai.request.seed",
        "gen_ai.request.frequency_penalty",
        "gen_ai.request.presence_penalty",
        "gen_ai.request.choice.count",
        "gen_ai.output.type",
        "gen_ai.request.reasoning.level",
        "gen_ai.request.stream",
    ):
        assert absent not in attributes, absent


def test_finish_reasons_of_every_choice(traced: Telemetry, call_args: dict[str, Any]) -> None:
    response = litellm.completion(model=MODEL, messages=user_messages(), n=3, **call_args)
    assert len(response.choices) == 3
    attributes = traced.only_span().attributes
    assert attributes["gen_ai.response.finish_reasons"] == ("stop", "length", "stop")
    assert attributes["gen_ai.request.choice.count"] == 3


def test_tool_call_response(traced: Telemetry, call_args: dict[str, Any]) -> None:
    response = litellm.completion(model="openai/tool-model", messages=user_messages(), **call_args)
    assert response.choices[0].message.tool_calls[0].function.name == "get_weather"
    span = traced.only_span()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert "gen_ai.output.messages" not in span.attributes  # content capture is off


def test_no_usage_means_no_token_attributes_or_points(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    response = litellm.completion(
        model="openai/no-usage-model", messages=user_messages(), **call_args
    )
    span = traced.only_span()
    assert response.choices[0].message.content == "Hello from loopback"
    assert not [k for k in span.attributes if k.startswith("gen_ai.usage.")]
    assert traced.metric_points("gen_ai.client.token.usage") == []


@pytest.mark.parametrize(
    ("model", "exception", "status"),
    [
        # LiteLLM before ~1.74 maps a 500 from OpenAI-compatible servers to APIError
        ("openai/error-500", (litellm.InternalServerError, litellm.APIError), 500),
        ("openai/error-429", litellm.RateLimitError, 429),
        ("openai/error-401", litellm.AuthenticationError, 401),
        ("openai/error-400", litellm.BadRequestError, 400),
    ],
)
def test_http_errors(
    traced: Telemetry,
    call_args: dict[str, Any],
    model: str,
    exception: type[Exception] | tuple[type[Exception], ...],
    status: int,
) -> None:
    with pytest.raises(exception) as raised:
        litellm.completion(model=model, messages=user_messages(), temperature=0.3, **call_args)
    raised_type = type(raised.value)
    uninstrumented = _uninstrumented_exception(model, call_args)
    assert raised_type is type(uninstrumented)  # the very class LiteLLM raises, unchanged
    assert str(raised.value) == str(uninstrumented)

    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == raised_type.__name__
    assert span.attributes["http.response.status_code"] == status
    # request attributes stay on error spans
    assert span.attributes["gen_ai.request.temperature"] == 0.3
    assert span.attributes["gen_ai.request.model"] == model.split("/", 1)[1]
    events = [event for event in span.events if event.name == "exception"]
    assert len(events) == 1
    assert API_KEY not in json.dumps(dict(events[0].attributes))

    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == raised_type.__name__


def _uninstrumented_exception(model: str, call_args: dict[str, Any]) -> BaseException:
    """The exception LiteLLM raises for the same call with the instrumentation switched off."""
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        try:
            litellm.completion(model=model, messages=user_messages(), temperature=0.3, **call_args)
        except Exception as exception:
            return exception
    raise AssertionError("the call was expected to fail")


async def test_async_error(traced: Telemetry, call_args: dict[str, Any]) -> None:
    with pytest.raises(litellm.RateLimitError):
        await litellm.acompletion(model="openai/error-429", messages=user_messages(), **call_args)
    span = traced.only_span()
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.status.status_code is StatusCode.ERROR


def test_mock_response_error(traced: Telemetry) -> None:
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            model=MODEL,
            messages=user_messages(),
            mock_response=litellm.RateLimitError(
                message="mocked", llm_provider="openai", model="gpt-4o-mini"
            ),
        )
    span = traced.only_span()
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.status.status_code is StatusCode.ERROR


def test_mock_response_success(traced: Telemetry) -> None:
    response = litellm.completion(model=MODEL, messages=user_messages(), mock_response="hi there")
    assert response.choices[0].message.content == "hi there"
    span = traced.only_span()
    assert span.attributes["gen_ai.provider.name"] == "openai"
    # No request left the process: no server is named (it is not api.openai.com).
    assert "server.address" not in span.attributes
    assert "server.port" not in span.attributes
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert "server.address" not in point.attributes


def test_no_server_for_any_mocked_answer(traced: Telemetry) -> None:
    list(litellm.completion(model=MODEL, messages=user_messages(), mock_response="hi", stream=True))
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            model=MODEL,
            messages=user_messages(),
            mock_response=litellm.RateLimitError("mocked", "openai", "gpt-4o-mini"),
        )
    tool_call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    litellm.completion(model=MODEL, messages=user_messages(), mock_tool_calls=[tool_call])
    spans = traced.finished()
    assert len(spans) == 3
    for span in spans:
        assert "server.address" not in span.attributes, span.name
        assert "server.port" not in span.attributes, span.name


def test_a_real_request_names_its_server(traced: Telemetry, call_args: dict[str, Any]) -> None:
    """The other side of the tests above: with a request sent, the server is named."""
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    span = traced.only_span()
    assert span.attributes["server.address"] == "127.0.0.1"
    assert isinstance(span.attributes["server.port"], int)


def test_mocked_embedding_names_no_server(traced: Telemetry) -> None:
    litellm.embedding(model="openai/text-embedding-3-small", input=["hi"], mock_response=[0.1])
    span = traced.only_span()
    assert "server.address" not in span.attributes


def test_cost_attribute_is_litellms_own(traced: Telemetry, call_args: dict[str, Any]) -> None:
    response = litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert traced.only_span().attributes["litellm.response_cost"] == pytest.approx(
        response._hidden_params["response_cost"]
    )


def test_cache_hit_attribute(traced: Telemetry, call_args: dict[str, Any], server: Any) -> None:
    from litellm.caching.caching import Cache

    litellm.cache = Cache(type="local")
    try:
        first = litellm.completion(
            model=MODEL, messages=user_messages("cache me"), caching=True, **call_args
        )
        second = litellm.completion(
            model=MODEL, messages=user_messages("cache me"), caching=True, **call_args
        )
    finally:
        litellm.cache = None
    assert second.choices[0].message.content == first.choices[0].message.content
    assert len([r for r in server.requests if r.path.endswith("/chat/completions")]) == 1
    miss, hit = traced.finished()
    assert hit.attributes["litellm.cache_hit"] is True
    assert miss.attributes.get("litellm.cache_hit") in (None, False)


@pytest.mark.parametrize(
    ("model", "provider_name", "litellm_provider"),
    [
        ("anthropic/claude-3-5-sonnet-20240620", "anthropic", "anthropic"),
        ("bedrock/anthropic.claude-3-sonnet-20240229-v1:0", "aws.bedrock", "bedrock"),
        ("azure/my-deployment", "azure.ai.openai", "azure"),
        ("vertex_ai/gemini-1.5-pro", "gcp.vertex_ai", "vertex_ai"),
        ("gemini/gemini-1.5-pro", "gcp.gemini", "gemini"),
        ("mistral/mistral-large-latest", "mistral_ai", "mistral"),
        ("groq/llama3-8b-8192", "groq", "groq"),
        ("xai/grok-2", "x_ai", "xai"),
        ("ollama/llama3", "ollama", "ollama"),
    ],
)
def test_provider_names(
    traced: Telemetry, model: str, provider_name: str, litellm_provider: str
) -> None:
    litellm.completion(model=model, messages=user_messages(), mock_response="ok")
    attributes = traced.only_span().attributes
    assert attributes["gen_ai.provider.name"] == provider_name
    assert attributes["litellm.provider"] == litellm_provider
    assert attributes["gen_ai.request.model"] == model.split("/", 1)[1]
