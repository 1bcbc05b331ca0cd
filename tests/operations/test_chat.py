"""Chat: spans of real calls through the loopback server, sync and async; then the mapping
(``_operations/chat.py``) alone, given plain arguments and responses."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.genai.types import (
    FunctionToolDefinition,
    InputMessage,
    OutputMessage,
    TextPart,
    ToolCallRequestPart,
)

from litellm_otel._operations import chat
from tests.support.invocations import Invocations, recorded
from tests.support.telemetry import API_KEY, PROMPT, Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"


def _loopback_cost() -> float:
    """What the loopback's answer costs by LiteLLM's price map: 12 input tokens of which 4
    cached, 5 output tokens."""
    prices = litellm.model_cost["gpt-4o-mini"]
    return (
        8 * prices["input_cost_per_token"]
        + 4 * prices["cache_read_input_token_cost"]
        + 5 * prices["output_cost_per_token"]
    )


LOOPBACK_COST = _loopback_cost()


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
        "litellm.response_cost": pytest.approx(LOOPBACK_COST, rel=1e-9),
    }
    assert response._hidden_params["response_cost"] == pytest.approx(LOOPBACK_COST, rel=1e-9)
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
    traced: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    responses = [
        litellm.completion(MODEL, user_messages(), None, 0.5, **call_args),
        litellm.completion(model=MODEL, messages=user_messages(), temperature=0.5, **call_args),
    ]

    for span, response in zip(traced.finished(), responses, strict=True):
        assert span.name == "chat gpt-4o-mini"
        assert dict(span.attributes) == {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.request.temperature": 0.5,
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
            "litellm.response_cost": pytest.approx(LOOPBACK_COST, rel=1e-9),
        }


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
    """The cost LiteLLM hands the caller (its price map applied to the usage), not ours."""
    response = litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    cost = traced.only_span().attributes["litellm.response_cost"]
    assert cost == response._hidden_params["response_cost"]
    assert cost == pytest.approx(LOOPBACK_COST, rel=1e-9)


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
    assert "litellm.cache_hit" not in miss.attributes  # LiteLLM says None for a miss


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


# -- the mapping alone: chat.py given plain arguments and responses, no LiteLLM call -----------


class _Answer:
    """A pydantic model class passed as ``response_format`` (structured output)."""


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        (None, None),
        (_Answer, "json"),
        ({"type": "json_object"}, "json"),
        ({"type": "json_schema", "json_schema": {"name": "a"}}, "json"),
        ({"type": "text"}, "text"),
        ({"type": "xml"}, None),
        ({}, None),
        (SimpleNamespace(type="json_schema"), "json"),
    ],
)
def test_output_type(response_format: Any, expected: str | None) -> None:
    assert chat.output_type(response_format) == expected


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("END", ["END"]),
        (["a", 3, "b"], ["a", "b"]),
        (("x",), ["x"]),
        ([1, 2], None),
        ([], None),
        (5, None),
        (iter(["a"]), None),  # a one-shot iterator is not read (LiteLLM still needs it)
    ],
)
def test_stop_sequences(stop: Any, expected: list[str] | None) -> None:
    assert chat.stop_sequences(stop) == expected


def test_every_request_parameter_without_content(made: Invocations) -> None:
    invocation = made.inference()
    params = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0,
        "top_p": 0.9,
        "top_k": 40,
        "frequency_penalty": 0.1,
        "presence_penalty": -0.2,
        "seed": 7,
        "max_tokens": 100,
        "max_completion_tokens": 64,  # max_tokens wins
        "stop": "END",
        "n": 2,
        "stream": True,
        "reasoning_effort": "low",
        "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    chat.apply_request(invocation, params, False)
    assert recorded(invocation) == {
        "temperature": 0.0,
        "top_p": 0.9,
        "top_k": 40,
        "frequency_penalty": 0.1,
        "presence_penalty": -0.2,
        "seed": 7,
        "max_tokens": 100,
        "stop_sequences": ["END"],
        "request_choice_count": 2,
        "request_stream": True,
        "reasoning_level": "low",
        "output_type": "json",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {}),
        ({"max_completion_tokens": 64}, {"max_tokens": 64}),
        ({"n": 1, "stream": False}, {}),  # the defaults, not recorded
        ({"temperature": None, "seed": None}, {}),
        # bools are not numbers, a float is no integer count: dropped, not converted
        ({"temperature": True, "top_k": 40.0, "seed": "7", "n": True}, {}),
        ({"reasoning_effort": 3, "response_format": {"type": "xml"}}, {}),
        ({"stop": [1]}, {}),
    ],
)
def test_request_parameters_are_recorded_only_as_passed(
    made: Invocations, params: dict[str, Any], expected: dict[str, Any]
) -> None:
    invocation = made.inference()
    chat.apply_request(invocation, params, False)
    assert recorded(invocation) == expected


def test_request_content_when_captured(made: Invocations) -> None:
    invocation = made.inference()
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather", "parameters": {"a": 1}},
    }
    params = {
        "messages": [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": PROMPT},
        ],
        "tools": [tool],
    }
    chat.apply_request(invocation, params, True)
    assert recorded(invocation) == {
        "input_messages": [
            InputMessage(role="system", parts=[TextPart(content="Be brief")]),
            InputMessage(role="user", parts=[TextPart(content=PROMPT)]),
        ],
        "tool_definitions": [
            FunctionToolDefinition(name="get_weather", description="Weather", parameters={"a": 1})
        ],
    }


@pytest.mark.parametrize(
    ("prompt", "captured_fields"),
    [
        (
            "Say hi",
            {"input_messages": [InputMessage(role="user", parts=[TextPart(content="Say hi")])]},
        ),
        (
            ["one", 2, "three"],
            {
                "input_messages": [
                    InputMessage(role="user", parts=[TextPart(content="one")]),
                    InputMessage(role="user", parts=[TextPart(content="three")]),
                ]
            },
        ),
        ([1, 2], {}),  # token ids are no text: input messages stay empty
    ],
)
def test_text_completion_prompt(
    made: Invocations, prompt: Any, captured_fields: dict[str, Any]
) -> None:
    captured = made.inference("text_completion")
    chat.apply_text_request(captured, {"prompt": prompt, "temperature": 0.5}, True)
    assert recorded(captured) == {"temperature": 0.5, **captured_fields}
    uncaptured = made.inference("text_completion")
    chat.apply_text_request(uncaptured, {"prompt": prompt, "temperature": 0.5}, False)
    assert recorded(uncaptured) == {"temperature": 0.5}


#: A Chat Completions response as LiteLLM hands it back, as a dict: every field the mapping reads.
CHAT_RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}},
        {
            "index": 1,
            "finish_reason": "tool_calls",
            "message": {
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
        },
    ],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    },
    "_hidden_params": {"response_cost": 4.5e-06, "cache_hit": False},
}

CHAT_RESPONSE_FIELDS: dict[str, Any] = {
    "response_id": "chatcmpl-1",
    "response_model_name": "gpt-4o-mini-2024-07-18",
    "finish_reasons": ["stop", "tool_calls"],
    "input_tokens": 12,
    "output_tokens": 5,
    "cache_read_input_tokens": 4,
    "thinking_tokens": 2,
    "attributes": {"litellm.response_cost": 4.5e-06, "litellm.cache_hit": False},
}


def test_response_without_content(made: Invocations) -> None:
    invocation = made.inference()
    chat.apply_response(invocation, CHAT_RESPONSE, False)
    assert recorded(invocation) == CHAT_RESPONSE_FIELDS


def test_response_content_when_captured(made: Invocations) -> None:
    invocation = made.inference()
    chat.apply_response(invocation, CHAT_RESPONSE, True)
    assert recorded(invocation) == {
        **CHAT_RESPONSE_FIELDS,
        "output_messages": [
            OutputMessage(role="assistant", parts=[TextPart(content="Hi")], finish_reason="stop"),
            OutputMessage(
                role="assistant",
                parts=[
                    ToolCallRequestPart(
                        arguments={"city": "Paris"}, name="get_weather", id="call_1"
                    )
                ],
                finish_reason="tool_call",
            ),
        ],
    }


def test_response_as_litellms_model_reads_the_same(made: Invocations) -> None:
    """The pydantic ``ModelResponse`` (usage kept as an extra, ``_hidden_params`` private)."""
    response = litellm.ModelResponse(
        id="chatcmpl-1",
        model="gpt-4o-mini-2024-07-18",
        choices=CHAT_RESPONSE["choices"],
        usage=litellm.Usage(**CHAT_RESPONSE["usage"]),
    )
    response._hidden_params = dict(CHAT_RESPONSE["_hidden_params"])
    invocation = made.inference()
    chat.apply_response(invocation, response, False)
    assert recorded(invocation) == CHAT_RESPONSE_FIELDS


def test_response_that_says_nothing_sets_nothing(made: Invocations) -> None:
    invocation = made.inference()
    chat.apply_response(invocation, {"choices": [{"finish_reason": None}]}, True)
    assert recorded(invocation) == {
        "output_messages": [OutputMessage(role="assistant", parts=[], finish_reason=None)]
    }


def test_text_completion_response(made: Invocations) -> None:
    response = {
        "id": "cmpl-1",
        "model": "gpt-3.5-turbo-instruct",
        "choices": [{"index": 0, "text": "Hello", "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    invocation = made.inference("text_completion")
    chat.apply_text_response(invocation, response, True)
    assert recorded(invocation) == {
        "response_id": "cmpl-1",
        "response_model_name": "gpt-3.5-turbo-instruct",
        "finish_reasons": ["length"],
        "input_tokens": 3,
        "output_tokens": 1,
        "output_messages": [
            OutputMessage(
                role="assistant", parts=[TextPart(content="Hello")], finish_reason="length"
            )
        ],
    }
