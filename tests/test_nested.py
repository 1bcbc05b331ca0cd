"""Nested LLM SDK instrumentations: one GenAI span per LiteLLM call unless asked otherwise.

Two real kinds of nested instrumentation are exercised:

* Traceloop's ``opentelemetry-instrumentation-openai`` (installed in the test environment),
  which honours the ``suppress_language_model_instrumentation`` context key;
* an instrumentation built on ``opentelemetry-util-genai`` the way the contrib
  ``opentelemetry-instrumentation-openai-v2`` is (``handler.inference()`` around the OpenAI
  SDK's ``create``). The contrib package itself cannot be installed next to util-genai 1.3
  (its 2.4b0 release imports ``opentelemetry.util.genai.instruments``, which 1.3 removed),
  so the test builds the same pattern with util-genai directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import litellm
import openai.resources.chat.completions as chat_resources
import pytest
import wrapt
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.trace import SpanKind
from opentelemetry.util.genai.handler import TelemetryHandler

from litellm_otel import LiteLLMInstrumentor
from tests.support.telemetry import API_KEY, Telemetry, make_telemetry, user_messages

MODEL = "openai/gpt-4o-mini"


@pytest.fixture(scope="module")
def shared() -> Iterator[Telemetry]:
    """One pipeline for the module: LiteLLM caches its OpenAI clients, whose bound methods
    keep the SDK instrumentation (and its tracer) they were first created with."""
    telemetry = make_telemetry()
    handler = TelemetryHandler(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        instrumentation_scope_name="fake.openai_v2",
    )

    def create(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        # The contrib openai-v2 pattern: a util-genai inference around the SDK call.
        with handler.inference("openai", request_model=kwargs.get("model")) as invocation:
            result = wrapped(*args, **kwargs)
            invocation.response_id = getattr(result, "id", None)
            return result

    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    wrapt.wrap_function_wrapper(chat_resources.Completions, "create", create)
    yield telemetry
    unwrap(chat_resources.Completions, "create")
    OpenAIInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


@pytest.fixture
def call_args(server: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    """A key of its own per test: LiteLLM caches OpenAI clients per key, and a client made
    before the SDK instrumentations were installed would bypass them (and prove nothing)."""
    return {
        "api_base": server.base_url,
        "api_key": f"{API_KEY}-{request.node.name}",
        "max_retries": 0,
    }


@pytest.fixture
def nested(shared: Telemetry) -> Iterator[Any]:
    """Instrument LiteLLM (with options) into the shared pipeline, for one test."""
    shared.spans.clear()
    shared.metrics.get_metrics_data()  # drain cumulative state read so far

    def _instrument(**options: Any) -> Telemetry:
        LiteLLMInstrumentor().instrument(
            tracer_provider=shared.tracer_provider, meter_provider=shared.meter_provider, **options
        )
        return shared

    yield _instrument
    LiteLLMInstrumentor().uninstrument()


def names(telemetry: Telemetry) -> list[str]:
    return sorted(s.name for s in telemetry.finished())


@pytest.mark.parametrize("stream", [False, True])
def test_nested_sdk_spans_are_suppressed_under_ours(
    nested: Any, call_args: dict[str, Any], stream: bool
) -> None:
    telemetry = nested()
    result = litellm.completion(model=MODEL, messages=user_messages(), stream=stream, **call_args)
    if stream:
        list(result)
    spans = telemetry.finished()
    # neither Traceloop's "openai.chat" nor the util-genai-based span: only ours + HTTP
    assert names(telemetry) == ["POST", "chat gpt-4o-mini"]
    ours = next(s for s in spans if s.name == "chat gpt-4o-mini")
    http = next(s for s in spans if s.name == "POST")
    assert http.kind is SpanKind.CLIENT  # HTTP client spans survive
    assert http.parent.span_id == ours.context.span_id


def test_nested_sdk_spans_come_back_when_suppression_is_off(
    nested: Any, call_args: dict[str, Any]
) -> None:
    telemetry = nested(suppress_nested_llm_spans=False)
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    spans = telemetry.finished()
    by_scope = {s.instrumentation_scope.name: s for s in spans}
    assert names(telemetry) == ["POST", "chat gpt-4o-mini", "chat gpt-4o-mini", "openai.chat"]
    ours = by_scope["litellm_otel"]
    util_based = by_scope["fake.openai_v2"]
    traceloop = next(s for s in spans if s.name == "openai.chat")
    assert util_based.parent.span_id == ours.context.span_id
    assert traceloop.parent.span_id == util_based.context.span_id


def test_suppress_instrumentation_gives_no_spans_at_all(
    nested: Any, call_args: dict[str, Any]
) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    telemetry = nested()
    with suppress_instrumentation():
        litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    # ours, Traceloop's and the HTTP span honour it; the hand-made util-genai test double
    # does not check it (util-genai leaves that to each instrumentation), so it is ignored
    scopes = [s.instrumentation_scope.name for s in telemetry.finished()]
    assert [scope for scope in scopes if scope != "fake.openai_v2"] == []
