"""instrument / uninstrument / instrument twice / entry point."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import litellm
import wrapt

from litellm_otel import LiteLLMInstrumentor
from litellm_otel._operations import ENTRY_POINTS as WRAPPED_FUNCTIONS
from tests.support.telemetry import Telemetry, user_messages


def test_uninstrument_restores_originals_and_emits_nothing(instrument: Any) -> None:
    originals = {
        name: getattr(litellm, name) for name in WRAPPED_FUNCTIONS if hasattr(litellm, name)
    }
    telemetry = instrument()
    for name in originals:
        assert isinstance(getattr(litellm, name), wrapt.FunctionWrapper), name
    LiteLLMInstrumentor().uninstrument()
    for name, original in originals.items():
        assert getattr(litellm, name) is original, name
    litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x")
    litellm.embedding(model="openai/text-embedding-3-small", input=["a"], mock_response=[0.1])
    assert telemetry.finished() == []
    assert telemetry.metric_points("gen_ai.client.operation.duration") == []


def test_instrument_twice_emits_one_span(instrument: Any) -> None:
    telemetry = instrument()
    instrument()
    litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x")
    assert len(telemetry.finished()) == 1


def test_instrument_uninstrument_instrument_again(instrument: Any) -> None:
    telemetry = instrument()
    LiteLLMInstrumentor().uninstrument()
    instrument()
    litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x")
    assert len(telemetry.finished()) == 1


def test_entry_point_is_registered() -> None:
    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "litellm"]
    assert entry.value == "litellm_otel:LiteLLMInstrumentor"
    assert entry.load() is LiteLLMInstrumentor


def test_instrumentation_dependencies_name_litellm() -> None:
    (requirement,) = LiteLLMInstrumentor().instrumentation_dependencies()
    assert requirement.startswith("litellm >= ")


def test_global_providers_are_used_when_none_given(telemetry: Telemetry) -> None:
    from opentelemetry import metrics, trace

    trace_before = trace._TRACER_PROVIDER  # type: ignore[attr-defined]  # None when unset
    instrumentor = LiteLLMInstrumentor()
    try:
        trace._TRACER_PROVIDER = telemetry.tracer_provider  # type: ignore[attr-defined]
        metrics._internal._METER_PROVIDER = telemetry.meter_provider  # type: ignore[attr-defined]
        instrumentor.instrument()
        litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x")
    finally:
        instrumentor.uninstrument()
        trace._TRACER_PROVIDER = trace_before  # type: ignore[attr-defined]
        metrics._internal._METER_PROVIDER = None  # type: ignore[attr-defined]
    assert len(telemetry.finished()) == 1
    assert len(telemetry.metric_points("gen_ai.client.operation.duration")) == 1


def test_no_sdk_configured_means_no_work(monkeypatch: Any) -> None:
    """With only the API's placeholder providers, the wrappers do nothing but call LiteLLM."""
    from litellm_otel import _recorder

    started: list[Any] = []
    monkeypatch.setattr(_recorder.CallRecorder, "start", lambda *a, **k: started.append(a))
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument()  # no providers: the globals, unset in this test process
    try:
        response = litellm.completion(
            model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x"
        )
    finally:
        instrumentor.uninstrument()
    assert response.choices[0].message.content == "x"
    assert started == []
