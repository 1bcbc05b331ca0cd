"""Shared fixtures: SDK providers with in-memory exporters, the instrumentor, the loopback server.

Every test talks only to 127.0.0.1. ``LITELLM_LOCAL_MODEL_COST_MAP`` is set before LiteLLM
is imported anywhere, or it would try to download its price map at import.
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.pop("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", None)
os.environ.pop("OTEL_INSTRUMENTATION_LITELLM_REQUEST_STREAM_USAGE", None)

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import litellm
import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from litellm_otel import LiteLLMInstrumentor
from litellm_otel._failsafe import reset_reported
from tests.loopback_server import LoopbackLLMServer

litellm.suppress_debug_info = True
litellm.telemetry = False

API_KEY = "sk-loopback-SECRET-0123456789"
PROMPT = "What is the weather in Paris? secret-prompt-7f3a"


@dataclass
class Telemetry:
    """The SDK pipeline a test reads back: spans, metric points and log records."""

    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    logs: InMemoryLogRecordExporter
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def only_span(self) -> ReadableSpan:
        spans = self.finished()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def metric_points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        points: list[Any] = []
        if data is None:
            return points
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def metric(self, name: str) -> Any:
        data = self.metrics.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        return metric
        return None


def make_telemetry() -> Telemetry:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metrics])
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    return Telemetry(spans, metrics, logs, tracer_provider, meter_provider, logger_provider)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    telemetry = make_telemetry()
    yield telemetry
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


@pytest.fixture
def instrument(telemetry: Telemetry) -> Iterator[Callable[..., Telemetry]]:
    """Call with ``instrument(**options)``; uninstruments when the test ends."""
    instrumentor = LiteLLMInstrumentor()
    reset_reported()

    def _instrument(**options: Any) -> Telemetry:
        arguments: dict[str, Any] = {
            "tracer_provider": telemetry.tracer_provider,
            "meter_provider": telemetry.meter_provider,
            "logger_provider": telemetry.logger_provider,
        }
        arguments.update(options)
        instrumentor.instrument(**arguments)
        return telemetry

    yield _instrument
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture
def traced(instrument: Callable[..., Telemetry]) -> Telemetry:
    """Instrumented with default options (content capture off)."""
    return instrument()


@pytest.fixture(scope="session")
def loopback() -> Iterator[LoopbackLLMServer]:
    with LoopbackLLMServer() as server:
        yield server


@pytest.fixture
def server(loopback: LoopbackLLMServer) -> LoopbackLLMServer:
    loopback.clear()
    return loopback


@pytest.fixture
def call_args(server: LoopbackLLMServer) -> dict[str, Any]:
    """Keyword arguments that route a LiteLLM call to the loopback server, no retries."""
    return {"api_base": server.base_url, "api_key": API_KEY, "max_retries": 0, "num_retries": 0}


def user_messages(text: str = PROMPT) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]
