"""What every benchmark process shares: workloads, timing loops, the SDK pipeline, the floor.

This module is imported by processes that run in *other* virtual environments too (the peers'
venvs under ``.bench/venvs/``), so at import time it needs only the standard library; LiteLLM,
the OpenTelemetry SDK and ``litellm_otel`` are imported inside the functions that use them.

Why the timing loops look the way they do:

* **Thread CPU time** (``time.thread_time_ns``) around each call is the primary number: on a
  shared 2-core machine, wall time mostly measures the neighbours, while the CPU our thread
  burns is what instrumentation adds to the caller's critical path.
* **Process CPU time** over a whole batch is kept next to it: LiteLLM runs its success
  logging (and ``acompletion`` its ``completion``) on worker threads, and the SDK exports on
  its own thread. That work is invisible to the caller's thread clock but still costs CPU.
* **Wall time** (``perf_counter_ns``) per call is kept for the end-to-end HTTP workload.
* Medians, not means, summarize per-call samples: garbage collection and neighbours produce
  long tails that say nothing about our code; the mean is reported alongside for honesty.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

# ---------------------------------------------------------------------------------------------
# The calls every configuration makes (the same arguments everywhere, so spans are comparable).
# ---------------------------------------------------------------------------------------------

CHAT_MODEL: Final = "openai/gpt-4o-mini"
EMBED_MODEL: Final = "openai/text-embedding-3-small"
MESSAGES: Final = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello to the benchmark."},
]
# Two sampling parameters: a realistic call sets a few, and each one is a span attribute.
CHAT_PARAMS: Final = {"temperature": 0.2, "max_tokens": 64}
MOCK_TEXT: Final = "Hello from the benchmark"
# Short mock streams (memory test): LiteLLM cuts mock text into 3-character chunks.
SHORT_STREAM_TEXT: Final = "Hi there"
EMBED_INPUT: Final = ["hello benchmark"]
EMBED_VECTOR: Final = [0.125] * 8
API_KEY: Final = "sk-bench-not-a-secret"
LONG_STREAM_MODEL: Final = "openai/long-stream"
LONG_STREAM_CHUNKS: Final = 1000
CONCURRENCY: Final = 50


def litellm_env() -> dict[str, str]:
    """The environment of every child process: no cost-map download, no OTel env config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_"))}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    # Same hash seed everywhere: dict/set layouts (and so timings) differ less across processes.
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def import_litellm() -> Any:
    """Import LiteLLM the same way in every configuration (quiet, no telemetry, local cost map)."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default), without numpy in the peers' venvs."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median and spread of per-call samples (nanoseconds in, nanoseconds out)."""
    if not values:
        return {"n": 0, "median": math.nan, "p10": math.nan, "p25": math.nan, "p75": math.nan,
                "p90": math.nan, "mean": math.nan}  # fmt: skip
    return {
        "n": len(values),
        "median": quantile(values, 0.5),
        "p10": quantile(values, 0.1),
        "p25": quantile(values, 0.25),
        "p75": quantile(values, 0.75),
        "p90": quantile(values, 0.9),
        "mean": sum(values) / len(values),
    }


# ---------------------------------------------------------------------------------------------
# Timing loops
# ---------------------------------------------------------------------------------------------


@dataclass
class Samples:
    """Per-call samples of one measured batch, plus the batch's process CPU."""

    thread_ns: list[int] = field(default_factory=list)
    wall_ns: list[int] = field(default_factory=list)
    process_ns: int = 0  # process CPU of the whole batch (all threads)
    calls: int = 0  # calls the batch made (the divisor of process_ns)

    def as_json(self) -> dict[str, Any]:
        per_call_process = self.process_ns / self.calls if self.calls else math.nan
        return {
            "thread": summarize(self.thread_ns),
            "wall": summarize(self.wall_ns),
            "process_per_call": per_call_process,
            "calls": self.calls,
        }


def measure_sync(call: Callable[[], object], n: int) -> Samples:
    """Time ``n`` calls one by one; the clocks are read in the same order for every config."""
    samples = Samples(calls=n)
    thread_clock = time.thread_time_ns
    wall_clock = time.perf_counter_ns
    threads = samples.thread_ns
    walls = samples.wall_ns
    process_start = time.process_time_ns()
    for _ in range(n):
        wall_start = wall_clock()
        thread_start = thread_clock()
        call()
        thread_end = thread_clock()
        wall_end = wall_clock()
        threads.append(thread_end - thread_start)
        walls.append(wall_end - wall_start)
    samples.process_ns = time.process_time_ns() - process_start
    return samples


async def measure_async(call: Callable[[], Awaitable[object]], n: int) -> Samples:
    """Like :func:`measure_sync` for a coroutine function, awaited one call at a time."""
    samples = Samples(calls=n)
    thread_clock = time.thread_time_ns
    wall_clock = time.perf_counter_ns
    process_start = time.process_time_ns()
    for _ in range(n):
        wall_start = wall_clock()
        thread_start = thread_clock()
        await call()
        thread_end = thread_clock()
        wall_end = wall_clock()
        samples.thread_ns.append(thread_end - thread_start)
        samples.wall_ns.append(wall_end - wall_start)
    samples.process_ns = time.process_time_ns() - process_start
    return samples


async def measure_concurrent(
    call: Callable[[], Awaitable[object]], batches: int, width: int
) -> Samples:
    """``batches`` rounds of ``width`` concurrent calls; each sample is one call's share of a round.

    Per-call cost under concurrency is what matters (does the instrumentation serialize, does
    context switching between tasks cost extra), so each round's time is divided by ``width``.
    """
    samples = Samples(calls=batches * width)
    process_start = time.process_time_ns()
    for _ in range(batches):
        wall_start = time.perf_counter_ns()
        thread_start = time.thread_time_ns()
        await asyncio.gather(*(call() for _ in range(width)))
        thread_end = time.thread_time_ns()
        wall_end = time.perf_counter_ns()
        samples.thread_ns.append((thread_end - thread_start) // width)
        samples.wall_ns.append((wall_end - wall_start) // width)
    samples.process_ns = time.process_time_ns() - process_start
    return samples


@dataclass
class StreamSamples:
    """Per-chunk samples (each ``next()``), per-stream totals, and the chunk count."""

    chunk_thread_ns: list[int] = field(default_factory=list)
    stream_thread_ns: list[int] = field(default_factory=list)
    stream_wall_ns: list[int] = field(default_factory=list)
    chunks: int = 0
    streams: int = 0
    process_ns: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "chunk_thread": summarize(self.chunk_thread_ns),
            "stream_thread": summarize(self.stream_thread_ns),
            "stream_wall": summarize(self.stream_wall_ns),
            "chunks_per_stream": self.chunks / self.streams if self.streams else math.nan,
            "process_per_chunk": self.process_ns / self.chunks if self.chunks else math.nan,
            "calls": self.streams,
        }


def measure_stream(open_stream: Callable[[], Any], streams: int) -> StreamSamples:
    """Read ``streams`` streams to the end, timing every ``next()`` on its own.

    The first chunk of each stream (it includes the request) and the final ``StopIteration``
    (it includes stream finalization) are left out of the per-chunk samples, so the per-chunk
    median is the steady-state cost of one chunk; the per-stream totals keep everything.
    """
    result = StreamSamples(streams=streams)
    thread_clock = time.thread_time_ns
    process_start = time.process_time_ns()
    for _ in range(streams):
        wall_start = time.perf_counter_ns()
        stream_start = thread_clock()
        iterator = iter(open_stream())
        first = True
        count = 0
        while True:
            chunk_start = thread_clock()
            try:
                next(iterator)
            except StopIteration:
                break
            chunk_end = thread_clock()
            count += 1
            if first:
                first = False
            else:
                result.chunk_thread_ns.append(chunk_end - chunk_start)
        result.stream_thread_ns.append(thread_clock() - stream_start)
        result.stream_wall_ns.append(time.perf_counter_ns() - wall_start)
        result.chunks += count
    result.process_ns = time.process_time_ns() - process_start
    return result


# ---------------------------------------------------------------------------------------------
# The SDK pipeline: identical in every configuration that has an SDK.
# ---------------------------------------------------------------------------------------------


class Pipeline:
    """TracerProvider + BatchSpanProcessor → an exporter that counts and discards spans;
    MeterProvider with an InMemoryMetricReader. Also installed as the global providers, for
    instrumentations (OpenLIT) that only use the globals.
    """

    def __init__(self) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class CountingExporter(SpanExporter):  # type: ignore[misc]
            """Counts exported spans and drops them: the export itself must cost ~nothing."""

            def __init__(self) -> None:
                self.count = 0
                self.names: dict[str, int] = {}
                # Span name → the most attributes seen on it: what a span carries, for the
                # comparison of what each instrumentation emits for its price.
                self.attributes: dict[str, int] = {}

            def export(self, spans: Sequence[Any]) -> Any:
                self.count += len(spans)
                names = self.names
                attributes = self.attributes
                for span in spans:
                    name = span.name
                    names[name] = names.get(name, 0) + 1
                    count = len(span.attributes or ())
                    if count > attributes.get(name, -1):
                        attributes[name] = count
                return SpanExportResult.SUCCESS

            def shutdown(self) -> None:
                return None

        self.exporter = CountingExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self.exporter))
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)

    def exported_spans(self) -> int:
        """Spans that reached the exporter, after flushing the batch processor."""
        if not self.tracer_provider.force_flush(timeout_millis=30_000):
            raise BenchmarkError("TracerProvider.force_flush timed out: spans may be missing")
        return int(self.exporter.count)

    def histogram_counts(self) -> dict[str, int]:
        """Recorded histogram values per metric name (cumulative since start)."""
        counts: dict[str, int] = {}
        data = self.metric_reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    total = 0
                    for point in metric.data.data_points:
                        total += int(getattr(point, "count", 0) or 0)
                    counts[metric.name] = counts.get(metric.name, 0) + total
        return counts

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


class BenchmarkError(RuntimeError):
    """A configuration did not do what it claims (missing spans): the run must not be reported."""


# ---------------------------------------------------------------------------------------------
# Workloads (LiteLLM calls). ``url`` is the loopback server, or None when it is not running.
# ---------------------------------------------------------------------------------------------


def chat_call(litellm: Any) -> Callable[[], object]:
    def call() -> object:
        return litellm.completion(
            model=CHAT_MODEL, messages=MESSAGES, mock_response=MOCK_TEXT, **CHAT_PARAMS
        )

    return call


def achat_call(litellm: Any) -> Callable[[], Coroutine[Any, Any, object]]:
    async def call() -> object:
        return await litellm.acompletion(
            model=CHAT_MODEL, messages=MESSAGES, mock_response=MOCK_TEXT, **CHAT_PARAMS
        )

    return call


def embed_call(litellm: Any) -> Callable[[], object]:
    def call() -> object:
        return litellm.embedding(model=EMBED_MODEL, input=EMBED_INPUT, mock_response=EMBED_VECTOR)

    return call


def http_chat_call(litellm: Any, url: str) -> Callable[[], object]:
    def call() -> object:
        return litellm.completion(
            model=CHAT_MODEL,
            messages=MESSAGES,
            api_base=url,
            api_key=API_KEY,
            max_retries=0,
            **CHAT_PARAMS,
        )

    return call


def long_stream_call(litellm: Any, url: str, chunks: int = LONG_STREAM_CHUNKS) -> Callable[[], Any]:
    def call() -> Any:
        return litellm.completion(
            model=LONG_STREAM_MODEL,
            messages=MESSAGES,
            api_base=url,
            api_key=API_KEY,
            max_retries=0,
            stream=True,
            extra_headers={"x-loopback-chunks": str(chunks)},
        )

    return call


def short_stream_call(litellm: Any) -> Callable[[], int]:
    """One complete mock stream (a few chunks), read to the end; returns the chunk count."""

    def call() -> int:
        count = 0
        for _ in litellm.completion(
            model=CHAT_MODEL, messages=MESSAGES, mock_response=SHORT_STREAM_TEXT, stream=True
        ):
            count += 1
        return count

    return call


def synthetic_chunks(count: int = LONG_STREAM_CHUNKS) -> list[Any]:
    """``count`` real ``ModelResponseStream`` objects, built once, ending with a finish reason.

    Iterating a list of prebuilt chunks costs ~50 ns a chunk, so a proxy over it shows our
    per-chunk cost alone; LiteLLM's own per-chunk work (tens of µs) would drown it.
    """
    from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

    chunks = []
    for index in range(count):
        last = index == count - 1
        chunks.append(
            ModelResponseStream(
                id="chatcmpl-synthetic",
                model="gpt-4o-mini-2024-07-18",
                choices=[
                    StreamingChoices(
                        index=0,
                        delta=Delta(content="" if last else "x", role="assistant"),
                        finish_reason="stop" if last else None,
                    )
                ],
            )
        )
    return chunks


# ---------------------------------------------------------------------------------------------
# Span and metric shapes, and the floor that replays them through the bare SDK
# ---------------------------------------------------------------------------------------------

# Attributes util-genai knows when the span starts; the floor sets these at start_span and the
# rest with one set_attributes() before end(), the cheapest legal way to emit the same span.
_START_PREFIXES: Final = (
    "gen_ai.operation.name",
    "gen_ai.request.",
    "gen_ai.provider.name",
    "server.",
    "litellm.provider",
    "litellm.request.model",
)
CHUNK_METRIC: Final = "gen_ai.client.operation.time_per_output_chunk"


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def capture_shapes(url: str | None, *, capture_content: bool = False) -> dict[str, Any]:
    """One real instrumented call per workload → its span (name, attributes) and metric records.

    The floor must emit *the same* telemetry we emit; counting it from a real span (rather
    than from a list in this file) keeps the floor honest when the instrumentation changes.
    """
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from litellm_otel import LiteLLMInstrumentor

    litellm = import_litellm()
    achat = achat_call(litellm)
    calls: dict[str, Callable[[], object]] = {
        "completion": chat_call(litellm),
        "acompletion": lambda: asyncio.run(achat()),
        "embedding": embed_call(litellm),
    }
    if url is not None:
        stream = long_stream_call(litellm, url, chunks=4)
        calls["stream"] = lambda: sum(1 for _ in stream())
    shapes: dict[str, Any] = {}
    for name, call in calls.items():
        spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        instrumentor = LiteLLMInstrumentor()
        instrumentor.instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            capture_content=capture_content,
        )
        try:
            call()
        finally:
            instrumentor.uninstrument()
        finished = spans.get_finished_spans()
        if len(finished) != 1:
            raise BenchmarkError(f"shape of {name}: expected 1 span, got {len(finished)}")
        span = finished[0]
        attributes = {k: _jsonable(v) for k, v in (span.attributes or {}).items()}
        records: list[dict[str, Any]] = []
        per_chunk: dict[str, Any] | None = None
        data = reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    for point in metric.data.data_points:
                        record = {
                            "name": metric.name,
                            "unit": metric.unit,
                            "bounds": list(getattr(point, "explicit_bounds", ())),
                            "attributes": {
                                k: _jsonable(v) for k, v in (point.attributes or {}).items()
                            },
                            "count": int(getattr(point, "count", 1)),
                        }
                        if metric.name == CHUNK_METRIC:
                            per_chunk = record
                        else:
                            records.append(record)
        shapes[name] = {
            "span_name": span.name,
            "span_kind": span.kind.name,
            "start_attributes": {
                k: v for k, v in attributes.items() if k.startswith(_START_PREFIXES)
            },
            "end_attributes": {
                k: v for k, v in attributes.items() if not k.startswith(_START_PREFIXES)
            },
            "attribute_count": len(attributes),
            "records": records,
            "per_chunk": per_chunk,
        }
        tracer_provider.shutdown()
        meter_provider.shutdown()
    return shapes


class Floor:
    """The least any instrumentation must pay to emit our telemetry through the same SDK.

    Per call: one span started with the request attributes, the response attributes set,
    ended; the same metric records (duration, token usage per token type, ...) with the same
    attribute dicts, recorded in the span's context (so exemplar sampling runs as it does for
    us). Per chunk: one ``time_per_output_chunk`` record. No LiteLLM, no argument mapping.
    """

    def __init__(self, pipeline: Pipeline, shapes: Mapping[str, Any]) -> None:
        from opentelemetry.trace import SpanKind, set_span_in_context

        self._set_span_in_context = set_span_in_context
        self._tracer = pipeline.tracer_provider.get_tracer("bench.floor")
        meter = pipeline.meter_provider.get_meter("bench.floor")
        self._histograms: dict[str, Any] = {}
        self._kind = SpanKind.CLIENT
        self._shapes = shapes
        self._compiled: dict[str, tuple[Any, ...]] = {}
        for workload, shape in shapes.items():
            records = []
            for record in shape["records"]:
                histogram = self._histogram(meter, record)
                for _ in range(record["count"]):
                    records.append((histogram, record["attributes"]))
            chunk = shape.get("per_chunk")
            chunk_record = (self._histogram(meter, chunk), chunk["attributes"]) if chunk else None
            self._compiled[workload] = (
                shape["span_name"],
                shape["start_attributes"],
                shape["end_attributes"],
                tuple(records),
                chunk_record,
            )

    def _histogram(self, meter: Any, record: Mapping[str, Any]) -> Any:
        name = record["name"]
        if name not in self._histograms:
            self._histograms[name] = meter.create_histogram(
                name=name,
                unit=record["unit"],
                explicit_bucket_boundaries_advisory=record["bounds"],
            )
        return self._histograms[name]

    def call(self, workload: str) -> Callable[[], None]:
        """The floor of one call of ``workload`` (span + its per-call metric records)."""
        name, start_attributes, end_attributes, records, _ = self._compiled[workload]
        tracer = self._tracer
        kind = self._kind
        in_context = self._set_span_in_context

        def emit() -> None:
            span = tracer.start_span(name, kind=kind, attributes=start_attributes)
            context = in_context(span)
            span.set_attributes(end_attributes)
            for histogram, attributes in records:
                histogram.record(0.5, attributes=attributes, context=context)
            span.end()

        return emit

    def chunk_recorder(self, workload: str = "stream") -> Callable[[], None]:
        """The floor of one stream chunk: one histogram record, in a (live) span's context."""
        _, _, _, _, chunk_record = self._compiled[workload]
        if chunk_record is None:
            raise BenchmarkError(f"no per-chunk metric in the shape of {workload}")
        histogram, attributes = chunk_record
        span = self._tracer.start_span("floor stream", kind=self._kind)
        context = self._set_span_in_context(span)

        def record() -> None:
            histogram.record(0.001, attributes=attributes, context=context)

        return record

    def has_chunk_metric(self, workload: str) -> bool:
        return workload in self._compiled and self._compiled[workload][4] is not None


def assert_no_sdk_configured() -> None:
    """The no-SDK case: the global providers must still be the API's proxies (no-op).

    Whether ``opentelemetry.sdk`` is *imported* is not the question: with LiteLLM's proxy
    extras installed, LiteLLM's logging thread imports redis, which imports the SDK, as soon
    as any callback is registered. Nothing configures it, so every span stays non-recording.
    """
    from opentelemetry import metrics, trace

    tracer_provider = type(trace.get_tracer_provider()).__name__
    meter_provider = type(metrics.get_meter_provider()).__name__
    if tracer_provider != "ProxyTracerProvider" or meter_provider != "_ProxyMeterProvider":
        raise BenchmarkError(
            f"no-SDK run has providers configured: {tracer_provider}, {meter_provider}"
        )


def count_nonrecording_invocations(call: Callable[[], object], calls: int = 5) -> int:
    """Proof that the no-SDK case runs through our wrappers: count their idle decisions.

    There is no exporter to count in the no-SDK case. With no SDK configured the wrappers
    skip all telemetry work (``Tracer.idle()``), so this counts, for a few calls outside
    every measured batch, the wrapper invocations that checked and found nothing to record.
    """
    from litellm_otel._wrappers import Tracer

    entered = 0
    original = Tracer.idle

    def counting(self: Any) -> bool:
        nonlocal entered
        idle = original(self)
        if not idle:
            raise BenchmarkError("the no-SDK configuration found an SDK to record to")
        entered += 1
        return idle

    Tracer.idle = counting  # type: ignore[method-assign]
    try:
        for _ in range(calls):
            call()
    finally:
        Tracer.idle = original  # type: ignore[method-assign]
    # LiteLLM's dispatcher calls the wrapped ``litellm.main.completion`` too: at least one
    # idle decision per call.
    if entered < calls:
        raise BenchmarkError(f"no-SDK: {calls} calls passed our wrappers {entered} times")
    return entered


# ---------------------------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------------------------


def versions(names: Sequence[str]) -> dict[str, str]:
    """Installed versions of ``names`` (``-`` when not installed)."""
    from importlib import metadata

    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "-"
    return found


def source_digest(package: str = "litellm_otel") -> str:
    """A short hash of the package's source files: which code a result measured.

    The source changes under the benchmark (other work lands while it runs); the installed
    version string does not, so results carry this digest instead.
    """
    import hashlib
    from importlib.util import find_spec

    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return "-"
    digest = hashlib.sha256()
    for root in spec.submodule_search_locations:
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def write_json(path: str | Path, payload: Mapping[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


def log(message: str) -> None:
    """Progress on stderr (stdout of workers is reserved for nothing; results go to files)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


@contextlib.contextmanager
def gc_collected() -> Iterator[None]:
    """Start a measured batch with no garbage pending from the previous one."""
    gc.collect()
    yield
