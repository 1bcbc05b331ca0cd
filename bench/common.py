"""What every benchmark process shares: the calls, the SDK pipeline, our real telemetry shapes.

Imported in the peers' virtual environments too, so at import time it needs only the standard
library; LiteLLM, the SDK and ``litellm_otel`` are imported inside the functions using them.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Final

MESSAGES: Final = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello to the benchmark."},
]
# Two sampling parameters, as a realistic call sets: each one is a span attribute.
CHAT: Final = {
    "model": "openai/gpt-4o-mini",
    "messages": MESSAGES,
    "temperature": 0.2,
    "max_tokens": 64,
}
EMBED: Final = {
    "model": "openai/text-embedding-3-small",
    "input": ["hello benchmark"],
    "mock_response": [0.125] * 8,
}
MOCK_TEXT: Final = "Hello from the benchmark"
CHUNK_METRIC: Final = "gen_ai.client.operation.time_per_output_chunk"


def chat_kwargs(stream_chunks: int = 0) -> dict[str, Any]:
    """A mock chat call; streamed, LiteLLM cuts the mock text into 3-character chunks (all
    different: LiteLLM aborts a stream that repeats one chunk)."""
    if stream_chunks:
        text = "".join(f"{index:03d}" for index in range(stream_chunks))
        return {**CHAT, "mock_response": text, "stream": True}
    return {**CHAT, "mock_response": MOCK_TEXT}


def import_litellm() -> Any:
    """LiteLLM imported the same way everywhere: local cost map, no telemetry, quiet."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def child_env() -> dict[str, str]:
    """Environment of every benchmark child: no OTel or Traceloop configuration leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_"))}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONHASHSEED="0")
    env.pop("PYTHONPATH", None)
    return env


class BenchmarkError(RuntimeError):
    """A state did not do what it claims (spans missing, the shim bypassed): no report."""


class Pipeline:
    """The same SDK pipeline in every state that has one, also set as the global providers
    (OpenLIT uses only those): a batch processor into an exporter that counts and drops, an
    in-memory metric reader, and a processor that notes where each span started.

    A span started while the shim's clock runs means an instrumentation did work that the
    benchmark would count as LiteLLM's; :attr:`started_inside` must stay 0.
    """

    def __init__(self, clock: Any) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        pipeline = self
        self.count = 0
        self.attributes: dict[str, int] = {}  # span name -> most attributes seen on it
        self.started_inside = 0

        class Counting(SpanExporter):  # type: ignore[misc]
            def export(self, spans: Sequence[Any]) -> Any:
                pipeline.count += len(spans)
                for span in spans:
                    seen = pipeline.attributes.get(span.name, -1)
                    pipeline.attributes[span.name] = max(seen, len(span.attributes or ()))
                return SpanExportResult.SUCCESS

        class WhereStarted(SpanProcessor):  # type: ignore[misc]
            def on_start(self, span: Any, parent_context: Any = None) -> None:
                if clock.depth and clock.owner == threading.get_ident():
                    pipeline.started_inside += 1

        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(WhereStarted())
        self.tracer_provider.add_span_processor(BatchSpanProcessor(Counting()))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)

    def exported(self) -> int:
        if not self.tracer_provider.force_flush(timeout_millis=30_000):
            raise BenchmarkError("force_flush timed out: spans may be missing")
        return self.count

    def points(self) -> dict[str, int]:
        """Histogram points recorded so far, per metric name."""
        counts: dict[str, int] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    total = sum(int(getattr(p, "count", 0)) for p in metric.data.data_points)
                    counts[metric.name] = counts.get(metric.name, 0) + total
        return counts


# Attributes util-genai sets when the span starts; the references set these at start_span and
# the rest with one set_attributes() at the end, the cheapest legal way to emit the same span.
_START_PREFIXES: Final = (
    "gen_ai.operation.name",
    "gen_ai.request.",
    "gen_ai.provider.name",
    "server.",
    "litellm.provider",
    "litellm.request.model",
)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def capture_shapes(litellm: Any) -> dict[str, Any]:
    """One real instrumented call per kind → our span (name, attributes) and metric points.

    The references must emit *the same* telemetry we do; reading it off a real span keeps
    them honest when the instrumentation changes. Leaves LiteLLM uninstrumented.
    """
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from litellm_otel import LiteLLMInstrumentor

    calls = {
        "completion": lambda: litellm.completion(**chat_kwargs()),
        "embedding": lambda: litellm.embedding(**EMBED),
        "stream": lambda: sum(1 for _ in litellm.completion(**chat_kwargs(4))),
        "acompletion": lambda: asyncio.run(litellm.acompletion(**chat_kwargs())),
    }
    shapes: dict[str, Any] = {}
    for name, call in calls.items():
        spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        instrumentor = LiteLLMInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            call()
        finally:
            instrumentor.uninstrument()
        finished = spans.get_finished_spans()
        if len(finished) != 1:
            raise BenchmarkError(f"shape of {name}: {len(finished)} spans, expected 1")
        attributes = {k: _plain(v) for k, v in (finished[0].attributes or {}).items()}
        records: list[dict[str, Any]] = []
        chunk: dict[str, Any] | None = None
        data = reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        record = {
                            "name": metric.name,
                            "unit": metric.unit,
                            "bounds": list(getattr(point, "explicit_bounds", ())),
                            "attributes": {k: _plain(v) for k, v in point.attributes.items()},
                            "count": int(getattr(point, "count", 1)),
                            # a counter (our cost) or a histogram (util-genai's)
                            "counter": type(metric.data).__name__ == "Sum",
                        }
                        if metric.name == CHUNK_METRIC:
                            chunk = record
                        else:
                            records.append(record)
        start = {k: v for k, v in attributes.items() if k.startswith(_START_PREFIXES)}
        shapes[name] = {
            "span_name": finished[0].name,
            "start_attributes": start,
            "end_attributes": {k: v for k, v in attributes.items() if k not in start},
            "records": records,
            "per_chunk": chunk,
        }
        tracer_provider.shutdown()
        meter_provider.shutdown()
    return shapes


def versions(names: Sequence[str]) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def source_digest(package: str = "litellm_otel") -> str:
    """A short hash of the package's sources: which code a result measured (the version
    string does not change while work lands)."""
    from importlib.util import find_spec

    spec = find_spec(package)
    digest = hashlib.sha256()
    for root in spec.submodule_search_locations or () if spec else ():
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
