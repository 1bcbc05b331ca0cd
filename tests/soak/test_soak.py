"""Soak: thousands of streams (half abandoned), concurrent async calls and threads.

Why: the promises that matter in production (every span ends exactly once, under the right
parent, and memory stays flat) fail at scale, not in a ten-call unit test: a span leaked by
one abandoned stream in a thousand, a context token detached in the wrong task under heavy
concurrency, a per-call byte kept forever. This runs the three shapes of load a service puts
on LiteLLM and checks each promise with exact numbers.

Size: ``SOAK_SCALE`` (default 0.05, the short run the normal suite includes, well under a
minute). ``SOAK_SCALE=1 pytest -m soak tests/soak`` is the full soak, whose figures are in
docs/reliability.md. At scale 1:

* 20,000 streamed ``litellm.completion(stream=True)`` calls, every other one abandoned after
  its first chunk (``break``, then the last reference dropped);
* 1,000 concurrent ``litellm.acompletion`` calls on one event loop, a third plain, a third
  streamed to the end, a third streamed and abandoned, each under its own parent span;
* 16 threads making 250 calls each (the same mix), each call under its own parent span.

Checked: zero spans left open (a processor tracks ``on_start`` / ``on_end``), exact span
counts, exactly the abandoned streams marked ``litellm.stream.closed_early``, every call's
span a child of its own parent, no "Failed to detach context", no warning from us, no
stream proxy / invocation / span object left alive, and flat memory: tracemalloc (our
package and OpenTelemetry, SDK and util-genai included) from 10% of the streams to the end
of the stream phase, and the process's RSS from 10% of the streams to the end of the run.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import os
import resource
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import litellm
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from litellm_otel import LiteLLMInstrumentor
from litellm_otel._failsafe import reset_reported

pytestmark = pytest.mark.soak

SCALE = float(os.environ.get("SOAK_SCALE", "0.05"))
STREAMS = max(100, round(20_000 * SCALE))
ASYNC_CALLS = max(30, round(1_000 * SCALE))
THREADS = 16
CALLS_PER_THREAD = max(6, round(250 * SCALE))
WARMUP_CALLS_PER_THREAD = 3

MODEL = "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "soak"}]
ANSWER = "0123456789"  # LiteLLM's mock streams it as a handful of chunks
EARLY_BOUND_CALLS = max(20, round(400 * SCALE))
# A reference no module global holds, taken before instrument(): only the opt-in LiteLLM
# callback path can trace calls through it.
EARLY_BOUND = {"completion": litellm.completion}

# Bounds, with their reasons (figures measured at scale 1 are in docs/reliability.md).
# Allocations from our code and OpenTelemetry still alive after 18,000 more streams: the
# per-call state is freed, so what remains is a constant (caches filled once, the stream
# being read at the checkpoint). 256 KiB is ~13 bytes per stream at scale 1 — a leak of a
# single small object per call would exceed it.
TRACED_GROWTH_LIMIT = 256 * 1024
# RSS also counts LiteLLM, the interpreter's arenas and tracemalloc's own bookkeeping,
# which do not shrink back; generous, but a leak of one span per call (~2 KiB each,
# 30,000 calls) would still exceed it.
RSS_GROWTH_LIMIT = 24 * 1024 * 1024

# LiteLLM's global LoggingWorker keeps its last asyncio Task, whose context was copied from
# the call that started the worker, so that call's span (ours, or the caller's) stays
# reachable until the worker restarts: one span, however many calls are made.
SPANS_KEPT_BY_LITELLM = 2

OURS_AND_OTEL = (
    tracemalloc.Filter(True, "*/litellm_otel/*"),
    tracemalloc.Filter(True, "*/opentelemetry/*"),
)


class CountingExporter(SpanExporter):
    """Counts and discards, so the exporter itself keeps memory flat.

    While ``keep`` is set it remembers (name, trace, span, parent) of each span, for the
    parentage checks of the concurrent phases.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.closed_early = 0
        self.keep = False
        self.kept: list[tuple[str, int, int, int | None]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self.lock:
            for span in spans:
                self.count += 1
                if (span.attributes or {}).get("litellm.stream.closed_early") is True:
                    self.closed_early += 1
                if self.keep:
                    parent = span.parent.span_id if span.parent is not None else None
                    context = span.context
                    self.kept.append((span.name, context.trace_id, context.span_id, parent))
        return SpanExportResult.SUCCESS

    def reset(self) -> None:
        with self.lock:
            self.count = self.closed_early = 0
            self.kept = []


class OpenSpans(SpanProcessor):
    """Tracks every span between ``on_start`` and ``on_end``: what is left never ended."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: dict[int, str] = {}
        self.started = 0
        self.ended = 0
        self.ended_twice = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        with self.lock:
            self.started += 1
            self.open[span.context.span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        with self.lock:
            self.ended += 1
            if self.open.pop(span.context.span_id, None) is None:
                self.ended_twice += 1

    def reset(self) -> None:
        with self.lock:
            self.open.clear()
            self.started = self.ended = self.ended_twice = 0


class Records(logging.Handler):
    """Everything our logger and OpenTelemetry's context module say during the soak."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


@dataclass
class Soak:
    exporter: CountingExporter
    spans: OpenSpans
    metrics: InMemoryMetricReader
    tracer: Any
    records: Records
    instrumentor: LiteLLMInstrumentor
    # Ids of earlier tests' spans and invocations; they are kept alive by ``KEPT`` below, so no
    # object made during the soak can reuse one.
    alive_before: frozenset[int] = frozenset()
    figures: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def soak() -> Iterator[Soak]:
    alive_before = frozenset(id(obj) for obj in tracked_objects())
    exporter = CountingExporter()
    spans = OpenSpans()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(spans)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metrics])
    records = Records()
    loggers = [logging.getLogger(name) for name in ("litellm_otel", "opentelemetry.context")]
    for logger in loggers:
        logger.addHandler(records)
    instrumentor = LiteLLMInstrumentor()
    reset_reported()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, early_bound_callback=True
    )
    try:
        yield Soak(
            exporter,
            spans,
            metrics,
            tracer_provider.get_tracer("soak"),
            records,
            instrumentor,
            alive_before,
        )
    finally:
        instrumentor.uninstrument()
        for logger in loggers:
            logger.removeHandler(records)
        tracer_provider.shutdown()
        meter_provider.shutdown()


# --- the calls ----------------------------------------------------------------------------


def plain_call() -> None:
    response = litellm.completion(model=MODEL, messages=MESSAGES, mock_response=ANSWER)
    assert response.choices[0].message.content == ANSWER


def full_stream() -> None:
    stream = litellm.completion(model=MODEL, messages=MESSAGES, mock_response=ANSWER, stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == ANSWER


def abandoned_stream() -> None:
    stream = litellm.completion(model=MODEL, messages=MESSAGES, mock_response=ANSWER, stream=True)
    for _ in stream:
        break
    del stream  # the last reference: the proxy ends the span as closed early


async def async_call(kind: int) -> None:
    if kind == 0:
        response = await litellm.acompletion(model=MODEL, messages=MESSAGES, mock_response=ANSWER)
        assert response.choices[0].message.content == ANSWER
        return
    stream = await litellm.acompletion(
        model=MODEL, messages=MESSAGES, mock_response=ANSWER, stream=True
    )
    if kind == 1:
        assert "".join([c.choices[0].delta.content or "" async for c in stream]) == ANSWER
        return
    async for _ in stream:
        break
    del stream


SYNC_MIX: tuple[Callable[[], None], ...] = (plain_call, full_stream, abandoned_stream)


# --- measurements -------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size now (/proc), else the peak so far (getrusage, in KiB on Linux)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def traced_bytes() -> int:
    """Live bytes allocated (since tracing started) by our package and OpenTelemetry."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(OURS_AND_OTEL)
    return sum(stat.size for stat in snapshot.statistics("filename"))


def tracked_objects() -> list[Any]:
    """The live objects ``live_objects`` looks for (earlier tests' ones are pinned in ``KEPT``)."""
    from opentelemetry.sdk.trace import Span as SdkSpan
    from opentelemetry.util.genai.invocation import EmbeddingInvocation, InferenceInvocation

    from litellm_otel._streams import StreamSession, _StreamProxy

    kinds = (_StreamProxy, StreamSession, InferenceInvocation, EmbeddingInvocation, SdkSpan)
    gc.collect()
    found = [obj for obj in gc.get_objects() if issubclass(type(obj), kinds)]
    KEPT.extend(found)
    return found


KEPT: list[Any] = []


def live_objects(
    before: frozenset[int] = frozenset(),
) -> tuple[collections.Counter[str], list[Any]]:
    """Our per-call objects, and the SDK spans, still alive after a full collection, leaving
    out those alive ``before`` the soak (earlier tests' objects that their modules keep).

    LiteLLM's success logging for sync calls runs on its thread pool with a copy of the
    caller's context, which keeps that call's spans reachable for a moment: wait for it.
    """
    from opentelemetry.sdk.trace import Span as SdkSpan
    from opentelemetry.util.genai.invocation import EmbeddingInvocation, InferenceInvocation

    from litellm_otel._streams import StreamSession, _StreamProxy

    ours = (_StreamProxy, StreamSession, InferenceInvocation, EmbeddingInvocation)
    deadline = time.monotonic() + 10
    while True:
        gc.collect()
        counts: collections.Counter[str] = collections.Counter()
        spans: list[Any] = []
        for obj in gc.get_objects():
            if id(obj) in before:
                continue
            kind = type(obj)  # type(), not isinstance: proxies pretend to be what they wrap
            if issubclass(kind, ours):
                counts[kind.__name__] += 1
            elif issubclass(kind, SdkSpan):
                spans.append(obj)
        if len(spans) <= SPANS_KEPT_BY_LITELLM or time.monotonic() > deadline:
            return counts, spans
        time.sleep(0.2)


def check_parentage(kept: list[tuple[str, int, int, int | None]], prefix: str, count: int) -> None:
    """``count`` parents named ``prefix-*``, each with exactly one chat span as its child."""
    parents = {span: (name, trace) for name, trace, span, _ in kept if name.startswith(prefix)}
    children = [(trace, parent) for name, trace, _, parent in kept if name == "chat gpt-4o-mini"]
    assert len(parents) == count
    assert len(children) == count
    parent_ids = [parent for _, parent in children]
    assert len(set(parent_ids)) == count, "a parent has two chat spans, or one has none"
    for trace, parent in children:
        assert parent in parents, "a chat span is not a child of a caller's span"
        assert parents[parent][1] == trace, "a chat span is in another trace than its parent"


# --- the soak -----------------------------------------------------------------------------


def test_soak(soak: Soak) -> None:
    figures = soak.figures
    started = time.perf_counter()

    # Warm-up: LiteLLM's lazy imports, the provider cache, the meters' instruments, and one
    # burst of each concurrent phase at full size, so the RSS checkpoint below already
    # includes the high-water mark of 1,000 calls in flight and 16 threads' stacks (the
    # allocator does not hand that memory back): RSS growth after it means a leak.
    for call in SYNC_MIX * 10:
        call()
    asyncio.run(_run_async(soak, ASYNC_CALLS))
    _run_threads(soak, calls_per_thread=WARMUP_CALLS_PER_THREAD)
    gc.collect()
    soak.exporter.reset()
    soak.spans.reset()
    rss_start = rss_bytes()

    # Phase 1: streams, every other one abandoned after its first chunk.
    checkpoint, traced_until = STREAMS // 10, STREAMS // 2
    phase = time.perf_counter()
    for index in range(checkpoint):
        (abandoned_stream if index % 2 else full_stream)()
    gc.collect()
    rss_checkpoint = rss_bytes()
    tracemalloc.start()
    try:
        traced_checkpoint = traced_bytes()
        for index in range(checkpoint, traced_until):
            (abandoned_stream if index % 2 else full_stream)()
        traced_end = traced_bytes()
        figures["traced peak, all allocations (MiB)"] = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    for index in range(traced_until, STREAMS):
        (abandoned_stream if index % 2 else full_stream)()
    figures["streams"] = STREAMS
    figures["streams: seconds"] = time.perf_counter() - phase
    figures["traced streams"] = traced_until - checkpoint
    figures["traced growth (bytes)"] = traced_end - traced_checkpoint
    gc.collect()
    assert not soak.spans.open, f"{len(soak.spans.open)} stream spans never ended"
    assert soak.exporter.count == STREAMS
    assert soak.exporter.closed_early == STREAMS // 2
    figures["rss growth, streams (MiB)"] = (rss_bytes() - rss_checkpoint) / 2**20

    # Phase 2: concurrent async calls on one event loop, each under its own parent.
    phase = time.perf_counter()
    soak.exporter.reset()
    soak.exporter.keep = True
    asyncio.run(_run_async(soak, ASYNC_CALLS))
    soak.exporter.keep = False
    figures["async calls"] = ASYNC_CALLS
    figures["async: seconds"] = time.perf_counter() - phase
    gc.collect()
    assert not soak.spans.open, f"{len(soak.spans.open)} async spans never ended"
    assert soak.exporter.count == 2 * ASYNC_CALLS
    assert soak.exporter.closed_early == len(range(2, ASYNC_CALLS, 3))
    check_parentage(soak.exporter.kept, "async-", ASYNC_CALLS)
    figures["rss growth, +async (MiB)"] = (rss_bytes() - rss_checkpoint) / 2**20

    # Phase 3: 16 threads at once, each call under its own parent.
    phase = time.perf_counter()
    soak.exporter.reset()
    soak.exporter.keep = True
    _run_threads(soak, calls_per_thread=CALLS_PER_THREAD)
    soak.exporter.keep = False
    figures["thread calls"] = THREADS * CALLS_PER_THREAD
    figures["threads: seconds"] = time.perf_counter() - phase
    gc.collect()
    assert not soak.spans.open, f"{len(soak.spans.open)} thread spans never ended"
    assert soak.exporter.count == 2 * THREADS * CALLS_PER_THREAD
    assert soak.exporter.closed_early == THREADS * len(range(2, CALLS_PER_THREAD, 3))
    check_parentage(soak.exporter.kept, "thread-", THREADS * CALLS_PER_THREAD)
    soak.exporter.kept = []

    # Phase 4: calls through a reference bound before instrument(), traced by the callback
    # path (their spans end on LiteLLM's logging thread: wait for them, with a deadline).
    phase = time.perf_counter()
    soak.exporter.reset()
    for index in range(EARLY_BOUND_CALLS):
        stream = index % 2 == 1
        result = EARLY_BOUND["completion"](
            model=MODEL, messages=MESSAGES, mock_response=ANSWER, stream=stream
        )
        if stream:
            assert "".join(chunk.choices[0].delta.content or "" for chunk in result) == ANSWER
    deadline = time.monotonic() + 30
    while soak.exporter.count < EARLY_BOUND_CALLS and time.monotonic() < deadline:
        time.sleep(0.05)
    figures["early-bound calls"] = EARLY_BOUND_CALLS
    figures["early-bound: seconds"] = time.perf_counter() - phase
    assert soak.exporter.count == EARLY_BOUND_CALLS
    callback = soak.instrumentor._callback
    assert callback is not None
    assert callback._open == {}, "calls left in the early-bound registry"

    # The whole run.
    total = STREAMS + 2 * ASYNC_CALLS + 2 * THREADS * CALLS_PER_THREAD + EARLY_BOUND_CALLS
    assert soak.spans.started == soak.spans.ended == total
    assert soak.spans.ended_twice == 0
    durations = _metric_count(soak.metrics, "gen_ai.client.operation.duration")
    warmup_calls = len(SYNC_MIX) * 10 + ASYNC_CALLS + THREADS * WARMUP_CALLS_PER_THREAD
    assert durations == (
        STREAMS + ASYNC_CALLS + THREADS * CALLS_PER_THREAD + EARLY_BOUND_CALLS + warmup_calls
    )
    leftovers, spans_alive = live_objects(soak.alive_before)
    assert not leftovers, f"per-call objects still alive: {dict(leftovers)}"
    assert len(spans_alive) <= SPANS_KEPT_BY_LITELLM, [s.name for s in spans_alive[:5]]
    assert all(span.end_time is not None for span in spans_alive)
    detach = [m for m in soak.records.messages if "Failed to detach context" in m]
    assert not detach, detach[:3]
    assert soak.records.messages == [], soak.records.messages[:5]

    figures["spans"] = total
    figures["rss growth, +threads = whole run (MiB)"] = (rss_bytes() - rss_checkpoint) / 2**20
    figures["rss after warm-up (MiB)"] = rss_start / 2**20
    figures["seconds"] = time.perf_counter() - started
    summary = ", ".join(f"{key}={_fmt(value)}" for key, value in figures.items())
    print(f"\nsoak at SOAK_SCALE={SCALE}: {summary}")  # the figures docs/reliability.md quotes
    assert figures["traced growth (bytes)"] < TRACED_GROWTH_LIMIT, figures
    assert rss_bytes() - rss_checkpoint < RSS_GROWTH_LIMIT, figures


async def _run_async(soak: Soak, count: int) -> None:
    async def one(index: int) -> None:
        with soak.tracer.start_as_current_span(f"async-{index}"):
            await async_call(index % 3)

    await asyncio.gather(*(one(index) for index in range(count)))
    # LiteLLM's async success logging runs as tasks on this loop: let it finish here.
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _run_threads(soak: Soak, *, calls_per_thread: int) -> None:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(thread: int) -> None:
        try:
            barrier.wait()
            for index in range(calls_per_thread):
                with soak.tracer.start_as_current_span(f"thread-{thread}-{index}"):
                    SYNC_MIX[index % 3]()
        except BaseException as error:  # reported below, with the thread that raised
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]


def _metric_count(reader: InMemoryMetricReader, name: str) -> int:
    data = reader.get_metrics_data()
    total = 0
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    total += sum(point.count for point in metric.data.data_points)
    return total


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)
