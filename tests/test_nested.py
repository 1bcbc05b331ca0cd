"""Nested OpenAI SDK instrumentations under LiteLLM: one GenAI span per call unless asked otherwise.

Two real instrumentations of the OpenAI SDK run under our spans here, both following the SDK
from 1.x to 3.x:

* the official one built on util-genai, ``opentelemetry-instrumentation-genai-openai``: its
  ``handler.inference()`` / ``handler.embedding()`` find util-genai's "invocation in progress"
  value in the context we make current and fold into our span instead of starting one;
* Traceloop's ``opentelemetry-instrumentation-openai``, which skips its span while the
  ``suppress_language_model_instrumentation`` context key is set.

Both wrap the SDK's resource methods (``chat.completions.create``, ``embeddings.create``), so
they see a LiteLLM call only where LiteLLM calls those. Its OpenAI provider in recent releases
posts to ``/chat/completions`` through the client's low-level ``post()`` instead, which no SDK
instrumentation sees; its Azure provider still goes through the resource methods, so the
calls here use ``azure/<deployment>`` against the loopback server. A spy under the SDK
instrumentation counts the resource-method calls: every test proves the nested
instrumentation was on the call's path, or a "no second span" assertion would prove nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import litellm
import openai.resources.chat.completions as chat_resources
import openai.resources.embeddings as embedding_resources
import pytest
import wrapt
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as GenAIOpenAIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.openai import OpenAIInstrumentor as TraceloopOpenAIInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation, unwrap
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from litellm_otel import LiteLLMInstrumentor
from tests.support.telemetry import API_KEY, PROMPT, Telemetry, make_telemetry, user_messages

CHAT_DEPLOYMENT = "loopback-chat"
EMBEDDING_DEPLOYMENT = "loopback-embedding"
API_VERSION = "2024-10-21"
OUR_SCOPE = "litellm_otel"
HTTP_SCOPE = "opentelemetry.instrumentation.httpx"
DURATION = "gen_ai.client.operation.duration"


@dataclass(frozen=True)
class SdkInstrumentation:
    """One real OpenAI SDK instrumentation and how its spans look."""

    label: str
    instrumentor: Callable[[], BaseInstrumentor]
    scope: str
    span_names: dict[str, str]  # gen_ai operation -> the name of its span


GENAI_OPENAI = SdkInstrumentation(
    "genai-openai",
    GenAIOpenAIInstrumentor,
    "opentelemetry.instrumentation.genai.openai",
    {"chat": f"chat {CHAT_DEPLOYMENT}", "embeddings": f"embeddings {EMBEDDING_DEPLOYMENT}"},
)
TRACELOOP = SdkInstrumentation(
    "traceloop",
    TraceloopOpenAIInstrumentor,
    "opentelemetry.instrumentation.openai.v1",
    {"chat": "openai.chat", "embeddings": "openai.embeddings"},
)

# The SDK resource methods the nested instrumentations wrap, and the ones LiteLLM's Azure
# provider calls (through ``with_raw_response``).
SDK_METHODS = (
    (chat_resources.Completions, "create"),
    (chat_resources.AsyncCompletions, "create"),
    (embedding_resources.Embeddings, "create"),
    (embedding_resources.AsyncEmbeddings, "create"),
)


@dataclass
class Nested:
    """The pipeline of one test: ours over an SDK instrumentation over a spy, and HTTP spans."""

    telemetry: Telemetry
    sdk: SdkInstrumentation
    args: dict[str, Any]
    sdk_calls: list[str] = field(default_factory=list)

    def instrument(self, **options: Any) -> None:
        LiteLLMInstrumentor().instrument(
            tracer_provider=self.telemetry.tracer_provider,
            meter_provider=self.telemetry.meter_provider,
            logger_provider=self.telemetry.logger_provider,
            **options,
        )

    def spans(self) -> list[ReadableSpan]:
        return self.telemetry.finished()

    def by_scope(self, scope: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.instrumentation_scope.name == scope]

    def duration_scopes(self) -> list[str]:
        data = self.telemetry.metrics.get_metrics_data()
        scopes: list[str] = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == DURATION:
                        scopes += [scope_metrics.scope.name] * len(metric.data.data_points)
        return sorted(scopes)


def _spy(qualname: str, calls: list[str]) -> Callable[..., Any]:
    def record(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        calls.append(qualname)
        return wrapped(*args, **kwargs)

    return record


@pytest.fixture(params=[GENAI_OPENAI, TRACELOOP], ids=lambda sdk: sdk.label)
def nested(
    request: pytest.FixtureRequest, server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Nested]:
    sdk: SdkInstrumentation = request.param
    telemetry = make_telemetry()
    # A key of its own per test: LiteLLM caches its SDK clients per key, and a client made
    # under another test's instrumentation would keep that one's wrappers.
    args = {
        "api_base": server.base_url.removesuffix("/v1"),
        "api_key": f"{API_KEY}-{request.node.name}",
        "api_version": API_VERSION,
        "max_retries": 0,
    }
    # LiteLLM's async clients send through aiohttp by default, which the httpx
    # instrumentation does not see; httpx's own transport makes the async HTTP span.
    monkeypatch.setattr(litellm, "disable_aiohttp_transport", True, raising=False)
    pipeline = Nested(telemetry, sdk, args)
    for owner, name in SDK_METHODS:  # the spy first: the SDK instrumentation wraps over it
        wrapt.wrap_function_wrapper(
            owner, name, _spy(f"{owner.__name__}.{name}", pipeline.sdk_calls)
        )
    providers = {
        "tracer_provider": telemetry.tracer_provider,
        "meter_provider": telemetry.meter_provider,
        "logger_provider": telemetry.logger_provider,
    }
    sdk.instrumentor().instrument(**providers)
    HTTPXClientInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    yield pipeline
    LiteLLMInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()
    sdk.instrumentor().uninstrument()
    for owner, name in SDK_METHODS:
        unwrap(owner, name)
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


def _chat(args: dict[str, Any]) -> Any:
    return litellm.completion(model=f"azure/{CHAT_DEPLOYMENT}", messages=user_messages(), **args)


def _chat_stream(args: dict[str, Any]) -> Any:
    chunks = list(
        litellm.completion(
            model=f"azure/{CHAT_DEPLOYMENT}", messages=user_messages(), stream=True, **args
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from loopback"
    return chunks


async def _achat(args: dict[str, Any]) -> Any:
    return await litellm.acompletion(
        model=f"azure/{CHAT_DEPLOYMENT}", messages=user_messages(), **args
    )


async def _achat_stream(args: dict[str, Any]) -> Any:
    stream = await litellm.acompletion(
        model=f"azure/{CHAT_DEPLOYMENT}", messages=user_messages(), stream=True, **args
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from loopback"
    return chunks


def _embedding(args: dict[str, Any]) -> Any:
    return litellm.embedding(model=f"azure/{EMBEDDING_DEPLOYMENT}", input=["hi"], **args)


async def _aembedding(args: dict[str, Any]) -> Any:
    return await litellm.aembedding(model=f"azure/{EMBEDDING_DEPLOYMENT}", input=["hi"], **args)


# call → (how to make it, its gen_ai operation, the SDK method it reaches)
CALLS: dict[str, tuple[Callable[[dict[str, Any]], Any], str, str]] = {
    "completion": (_chat, "chat", "Completions.create"),
    "completion-stream": (_chat_stream, "chat", "Completions.create"),
    "acompletion": (_achat, "chat", "AsyncCompletions.create"),
    "acompletion-stream": (_achat_stream, "chat", "AsyncCompletions.create"),
    "embedding": (_embedding, "embeddings", "Embeddings.create"),
    "aembedding": (_aembedding, "embeddings", "AsyncEmbeddings.create"),
}


async def make_call(name: str, args: dict[str, Any]) -> Any:
    result = CALLS[name][0](args)
    if hasattr(result, "__await__"):
        result = await result
    return result


def our_span_name(operation: str) -> str:
    deployment = CHAT_DEPLOYMENT if operation == "chat" else EMBEDDING_DEPLOYMENT
    return f"{operation} {deployment}"


@pytest.mark.parametrize("call", list(CALLS))
async def test_nested_sdk_span_is_suppressed_under_ours(nested: Nested, call: str) -> None:
    nested.instrument()  # suppress_nested_llm_spans defaults to on
    await make_call(call, nested.args)
    _, operation, sdk_method = CALLS[call]
    # the call went through the SDK method the nested instrumentation wraps
    assert nested.sdk_calls == [sdk_method]
    spans = nested.spans()
    assert len(spans) == 2, [(s.name, s.instrumentation_scope.name) for s in spans]
    (ours,) = nested.by_scope(OUR_SCOPE)
    (http,) = nested.by_scope(HTTP_SCOPE)
    assert nested.by_scope(nested.sdk.scope) == []
    assert ours.name == our_span_name(operation)
    assert ours.kind is SpanKind.CLIENT
    assert ours.parent is None
    assert http.name == "POST"
    assert http.kind is SpanKind.CLIENT
    assert http.parent is not None
    assert http.parent.span_id == ours.context.span_id
    assert nested.duration_scopes() == [OUR_SCOPE]


@pytest.mark.parametrize("call", list(CALLS))
async def test_nested_sdk_span_comes_back_when_suppression_is_off(
    nested: Nested, call: str
) -> None:
    nested.instrument(suppress_nested_llm_spans=False)
    await make_call(call, nested.args)
    _, operation, sdk_method = CALLS[call]
    assert nested.sdk_calls == [sdk_method]
    spans = nested.spans()
    assert len(spans) == 3, [(s.name, s.instrumentation_scope.name) for s in spans]
    (ours,) = nested.by_scope(OUR_SCOPE)
    (inner,) = nested.by_scope(nested.sdk.scope)
    (http,) = nested.by_scope(HTTP_SCOPE)
    assert ours.name == our_span_name(operation)
    assert ours.parent is None
    assert inner.name == nested.sdk.span_names[operation]
    assert inner.kind is SpanKind.CLIENT
    assert inner.parent is not None
    assert inner.parent.span_id == ours.context.span_id
    assert inner.context.trace_id == ours.context.trace_id
    assert http.name == "POST"
    assert http.parent is not None
    assert http.parent.span_id == inner.context.span_id


@pytest.mark.parametrize("call", ["completion", "acompletion-stream", "embedding"])
async def test_suppress_instrumentation_silences_ours_and_traceloop(
    nested: Nested, call: str
) -> None:
    nested.instrument()
    with suppress_instrumentation():
        await make_call(call, nested.args)
    _, operation, sdk_method = CALLS[call]
    assert nested.sdk_calls == [sdk_method]
    spans = [(s.name, s.instrumentation_scope.name) for s in nested.spans()]
    if nested.sdk is TRACELOOP:
        assert spans == []
    else:
        # util-genai leaves the suppression key to each instrumentation and the official
        # OpenAI one does not read it: with ours silenced, its span is a root of its own
        assert spans == [(GENAI_OPENAI.span_names[operation], GENAI_OPENAI.scope)]


@pytest.fixture
def genai_openai_capturing(
    server: Any, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Nested]:
    """Only the official OpenAI instrumentation, told by its environment to capture content
    (read when it is instrumented), with ours left at its default (content off)."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_and_event")
    telemetry = make_telemetry()
    args = {
        "api_base": server.base_url.removesuffix("/v1"),
        "api_key": f"{API_KEY}-{request.node.name}",
        "api_version": API_VERSION,
        "max_retries": 0,
    }
    GenAIOpenAIInstrumentor().instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        logger_provider=telemetry.logger_provider,
    )
    yield Nested(telemetry, GENAI_OPENAI, args)
    LiteLLMInstrumentor().uninstrument()
    GenAIOpenAIInstrumentor().uninstrument()
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


def exported_text(nested: Nested) -> str:
    """Everything the pipeline exported, as one string to search."""
    parts = [json.dumps(dict(s.attributes or {}), default=str) for s in nested.spans()]
    parts += [
        json.dumps(dict(event.attributes or {}), default=str)
        for s in nested.spans()
        for event in s.events
    ]
    parts += [
        f"{record.log_record.body} {dict(record.log_record.attributes or {})}"
        for record in nested.telemetry.logs.get_finished_logs()
    ]
    return "\n".join(parts)


def test_suppressed_sdk_invocation_folds_into_ours_without_content(
    genai_openai_capturing: Nested,
) -> None:
    nested = genai_openai_capturing
    nested.instrument(capture_content=False)
    _chat(nested.args)
    ours = next(iter(nested.spans()))
    assert [s.instrumentation_scope.name for s in nested.spans()] == [OUR_SCOPE]
    # util-genai merged what the suppressed inner invocation read off the response into our
    # span (proof that it ran), keeping our values where both have one
    assert ours.attributes["openai.response.system_fingerprint"] == "fp_loopback"
    assert ours.attributes["gen_ai.provider.name"] == "azure.ai.openai"
    assert ours.attributes["gen_ai.request.model"] == CHAT_DEPLOYMENT
    # the inner instrumentation would capture content, ours is off: none reaches telemetry
    assert PROMPT not in exported_text(nested)
    assert "Hello from loopback" not in exported_text(nested)


def test_unsuppressed_sdk_span_captures_what_its_own_settings_ask(
    genai_openai_capturing: Nested,
) -> None:
    """The other side of the test above: the same setup records the prompt once the nested
    span is its own (so the absence above is the suppression's doing, not a quiet setup)."""
    nested = genai_openai_capturing
    nested.instrument(capture_content=False, suppress_nested_llm_spans=False)
    _chat(nested.args)
    (ours,) = nested.by_scope(OUR_SCOPE)
    (inner,) = nested.by_scope(GENAI_OPENAI.scope)
    assert "openai.response.system_fingerprint" not in ours.attributes
    assert PROMPT not in json.dumps(dict(ours.attributes or {}), default=str)
    assert PROMPT in exported_text(nested)
    assert inner.parent is not None
    assert inner.parent.span_id == ours.context.span_id
