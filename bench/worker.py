"""One benchmark process: one configuration, every workload, results to a JSON file.

Run by ``bench/run.py`` (never by hand, though it works by hand)::

    python bench/worker.py --config ours --round 0 --out .bench/results/x.json \
        --url http://127.0.0.1:PORT/v1 --shapes .bench/shapes.json

Why one process per configuration: an instrumentation cannot be fully removed from a process
(imports, caches, LiteLLM callback lists, the peers' module-level state), and peers need their
own virtual environments anyway. So every configuration starts clean, and ``run.py``
interleaves the processes in rounds and pairs round ``i`` of each configuration with round
``i`` of the uninstrumented baseline.

Every configuration proves it did its work: after each workload the tracer provider is
flushed and the exporter's count must equal the calls made (for us and the floor exactly;
a peer may emit more than one span per call, never fewer). Otherwise the process exits with
status 3 and ``run.py`` aborts the run: a benchmark of an instrumentation that silently
stopped tracing would look wonderful and mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import benchlib as lib

# Configuration → the peer package it needs (None: only LiteLLM / our package / the SDK).
PEER_PACKAGES: dict[str, str] = {
    "openinference": "openinference-instrumentation-litellm",
    "traceloop": "opentelemetry-instrumentation-litellm",
    "openlit": "openlit",
}
CONFIGS = (
    "baseline",  # LiteLLM, SDK pipeline present, nothing instrumented
    "ours",  # litellm-otel, content capture off (the default)
    "ours_content",  # litellm-otel, content capture on (SPAN_ONLY)
    "ours_nosdk",  # litellm-otel with the API's no-op providers: no SDK imported at all
    "floor",  # no LiteLLM: our span and metric records replayed through the bare SDK
    "openinference",
    "openinference_content",
    "traceloop",
    "traceloop_content",
    "openlit",
    "openlit_content",
)
VERSION_PACKAGES = (
    "litellm",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-util-genai",
    "litellm-otel",
    "wrapt",
    "openai",
    "httpx",
    "pydantic",
    *PEER_PACKAGES.values(),
    "openinference-instrumentation",
)


@dataclass
class Sizes:
    """Calls per workload; ``--scale`` multiplies the measured ones (not the warm-ups)."""

    warmup: int = 30
    completion: int = 300
    acompletion: int = 300
    concurrent_batches: int = 6
    embedding: int = 300
    stream_http: int = 4
    completion_http: int = 150
    floor_chunks: int = 20_000

    def scaled(self, scale: float) -> Sizes:
        def s(value: int) -> int:
            return max(1, round(value * scale))

        return Sizes(
            warmup=self.warmup,
            completion=s(self.completion),
            acompletion=s(self.acompletion),
            concurrent_batches=s(self.concurrent_batches),
            embedding=s(self.embedding),
            stream_http=s(self.stream_http),
            completion_http=s(self.completion_http),
            floor_chunks=s(self.floor_chunks),
        )


@dataclass
class Setup:
    """What a configuration set up: the pipeline to check, and how many spans a call may make."""

    litellm: Any = None
    pipeline: lib.Pipeline | None = None
    exact_spans: bool = True  # us and the floor: exactly one span per call
    traces: bool = True  # False for the baseline, which must export no span at all
    startup: dict[str, float] = field(default_factory=dict)
    verify_active: Callable[[Any], int] | None = None  # no-SDK: proves the wrappers ran


def _timed(startup: dict[str, float], key: str, action: Callable[[], Any]) -> Any:
    wall = time.perf_counter_ns()
    cpu = time.process_time_ns()
    result = action()
    startup[f"{key}_wall_ms"] = (time.perf_counter_ns() - wall) / 1e6
    startup[f"{key}_cpu_ms"] = (time.process_time_ns() - cpu) / 1e6
    return result


def setup(config: str) -> Setup:
    """Build the configuration. LiteLLM is imported first everywhere, then the SDK pipeline,
    then (timed) the instrumentation's import and its ``instrument()``."""
    result = Setup()
    if config == "floor":
        result.pipeline = lib.Pipeline()
        return result
    result.litellm = _timed(result.startup, "import_litellm", lib.import_litellm)
    if config == "ours_nosdk":
        result.startup.update(_instrument_ours(None, capture_content=False))
        result.verify_active = _verify_ours_active
        return result
    result.pipeline = lib.Pipeline()
    pipeline = result.pipeline
    if config in ("ours", "ours_content"):
        result.startup.update(_instrument_ours(pipeline, capture_content=config == "ours_content"))
    elif config.startswith("openinference"):
        result.exact_spans = False
        result.startup.update(_instrument_openinference(pipeline, config.endswith("_content")))
    elif config.startswith("traceloop"):
        result.exact_spans = False
        result.startup.update(_instrument_traceloop(pipeline, config.endswith("_content")))
    elif config.startswith("openlit"):
        result.exact_spans = False
        result.startup.update(_instrument_openlit(config.endswith("_content")))
    elif config == "baseline":
        result.traces = False
    else:
        raise SystemExit(f"unknown configuration {config!r}")
    return result


def _instrument_ours(pipeline: lib.Pipeline | None, *, capture_content: bool) -> dict[str, float]:
    startup: dict[str, float] = {}
    module = _timed(startup, "import", lambda: __import__("litellm_otel"))
    kwargs: dict[str, Any] = {"capture_content": capture_content}
    if pipeline is not None:
        kwargs["tracer_provider"] = pipeline.tracer_provider
        kwargs["meter_provider"] = pipeline.meter_provider
    _timed(startup, "instrument", lambda: module.LiteLLMInstrumentor().instrument(**kwargs))
    if pipeline is None:
        lib.assert_no_sdk_configured()
    return startup


def _verify_ours_active(litellm: Any) -> int:
    return lib.count_nonrecording_invocations(lib.chat_call(litellm))


def _instrument_openinference(pipeline: lib.Pipeline, content: bool) -> dict[str, float]:
    startup: dict[str, float] = {}

    def load() -> Any:
        from openinference.instrumentation import TraceConfig
        from openinference.instrumentation.litellm import LiteLLMInstrumentor

        return TraceConfig, LiteLLMInstrumentor

    trace_config, instrumentor = _timed(startup, "import", load)
    config = trace_config(hide_inputs=not content, hide_outputs=not content)
    _timed(
        startup,
        "instrument",
        lambda: instrumentor().instrument(tracer_provider=pipeline.tracer_provider, config=config),
    )
    return startup


def _instrument_traceloop(pipeline: lib.Pipeline, content: bool) -> dict[str, float]:
    # Traceloop records prompts and completions unless TRACELOOP_TRACE_CONTENT is false.
    os.environ["TRACELOOP_TRACE_CONTENT"] = "true" if content else "false"
    startup: dict[str, float] = {}

    def load() -> Any:
        from opentelemetry.instrumentation.litellm import LiteLLMInstrumentor

        return LiteLLMInstrumentor

    instrumentor = _timed(startup, "import", load)
    _timed(
        startup,
        "instrument",
        lambda: instrumentor().instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
        ),
    )
    return startup


def _instrument_openlit(content: bool) -> dict[str, float]:
    """OpenLIT reuses the global providers (``Pipeline`` installed them); only litellm is on."""
    startup: dict[str, float] = {}
    pricing = os.path.join(os.environ.get("BENCH_STATE_DIR", "."), "openlit-pricing.json")
    # A local, empty price list: OpenLIT would otherwise fetch one from the network at init.
    with open(pricing, "w", encoding="utf-8") as handle:
        json.dump({"chat": {}, "embeddings": {}, "images": {}, "audio": {}}, handle)
    openlit = _timed(startup, "import", lambda: __import__("openlit"))
    from openlit._instrumentors import MODULE_NAME_MAP

    disabled = [name for name in MODULE_NAME_MAP if name != "litellm"]
    _timed(
        startup,
        "instrument",
        lambda: openlit.init(
            capture_message_content=content,
            disabled_instrumentors=disabled,
            disable_events=True,
            pricing_json=pricing,
        ),
    )
    return startup


# ---------------------------------------------------------------------------------------------


def run_workloads(
    config: str, env: Setup, sizes: Sizes, url: str | None, shapes_path: str | None
) -> dict[str, Any]:
    """Every workload, each with its warm-up, measurement and span check."""
    if config == "floor":
        return _run_floor(env, sizes, shapes_path)
    litellm = env.litellm
    results: dict[str, Any] = {}
    warm = sizes.warmup

    def check(name: str, before: int, calls: int, payload: dict[str, Any]) -> None:
        expected = calls if env.traces else 0
        payload["expected_spans"] = expected
        if env.pipeline is None:
            payload["spans"] = None
            results[name] = payload
            return
        spans = env.pipeline.exported_spans() - before
        payload["spans"] = spans
        payload["spans_per_call"] = spans / calls
        results[name] = payload
        if spans < expected or ((env.exact_spans or not env.traces) and spans != expected):
            raise lib.BenchmarkError(
                f"{config}/{name}: exported {spans} spans for {calls} calls"
                f" ({'exactly' if env.exact_spans else 'at least'} {expected} expected)"
            )

    def before() -> int:
        return env.pipeline.exported_spans() if env.pipeline is not None else 0

    # completion (mock)
    call = lib.chat_call(litellm)
    start = before()
    lib.measure_sync(call, warm)
    with lib.gc_collected():
        samples = lib.measure_sync(call, sizes.completion)
    check("completion", start, warm + sizes.completion, samples.as_json())

    # acompletion (mock), one at a time
    acall = lib.achat_call(litellm)

    async def sequential() -> lib.Samples:
        await lib.measure_async(acall, warm)
        gc.collect()
        return await lib.measure_async(acall, sizes.acompletion)

    start = before()
    samples = asyncio.run(sequential())
    check("acompletion", start, warm + sizes.acompletion, samples.as_json())

    # 50 concurrent acompletion, per-call share
    async def concurrent() -> lib.Samples:
        await lib.measure_concurrent(acall, 1, lib.CONCURRENCY)
        gc.collect()
        return await lib.measure_concurrent(acall, sizes.concurrent_batches, lib.CONCURRENCY)

    start = before()
    samples = asyncio.run(concurrent())
    check(
        "acompletion_x50",
        start,
        (1 + sizes.concurrent_batches) * lib.CONCURRENCY,
        samples.as_json(),
    )

    # embedding (mock)
    ecall = lib.embed_call(litellm)
    start = before()
    lib.measure_sync(ecall, warm)
    with lib.gc_collected():
        samples = lib.measure_sync(ecall, sizes.embedding)
    check("embedding", start, warm + sizes.embedding, samples.as_json())

    if url is not None:
        # 1,000-chunk stream from the loopback server: LiteLLM's real streaming path.
        scall = lib.long_stream_call(litellm, url)
        start = before()
        lib.measure_stream(scall, 1)
        with lib.gc_collected():
            stream = lib.measure_stream(scall, sizes.stream_http)
        payload = stream.as_json()
        if payload["chunks_per_stream"] < lib.LONG_STREAM_CHUNKS:
            raise lib.BenchmarkError(f"{config}: stream gave {payload['chunks_per_stream']} chunks")
        check("stream_http", start, 1 + sizes.stream_http, payload)
        results["_stream_chunks"] = (1 + sizes.stream_http) * payload["chunks_per_stream"]

        # non-streamed completion over real HTTP: end-to-end latency.
        hcall = lib.http_chat_call(litellm, url)
        start = before()
        lib.measure_sync(hcall, 10)
        with lib.gc_collected():
            samples = lib.measure_sync(hcall, sizes.completion_http)
        check("completion_http", start, 10 + sizes.completion_http, samples.as_json())

    if env.pipeline is not None:
        results["_histograms"] = env.pipeline.histogram_counts()
    if env.verify_active is not None:
        results["_verified_invocations"] = env.verify_active(litellm)
    return results


def _run_floor(env: Setup, sizes: Sizes, shapes_path: str | None) -> dict[str, Any]:
    if shapes_path is None or env.pipeline is None:
        raise SystemExit("the floor needs --shapes (written by run.py from a real span)")
    with open(shapes_path, encoding="utf-8") as handle:
        shapes = json.load(handle)
    floor = lib.Floor(env.pipeline, shapes)
    results: dict[str, Any] = {}
    for workload in ("completion", "acompletion", "embedding", "stream"):
        if workload not in shapes:
            continue
        emit = floor.call(workload)
        before = env.pipeline.exported_spans()
        n = sizes.completion
        lib.measure_sync(emit, sizes.warmup)
        with lib.gc_collected():
            samples = lib.measure_sync(emit, n)
        payload = samples.as_json()
        spans = env.pipeline.exported_spans() - before
        payload.update(spans=spans, expected_spans=sizes.warmup + n, spans_per_call=spans / n)
        payload["attribute_count"] = shapes[workload]["attribute_count"]
        payload["metric_records"] = sum(r["count"] for r in shapes[workload]["records"])
        if spans != sizes.warmup + n:
            raise lib.BenchmarkError(f"floor/{workload}: {spans} spans for {sizes.warmup + n}")
        results[workload] = payload
    if "stream" in shapes and shapes["stream"].get("per_chunk"):
        record = floor.chunk_recorder("stream")
        lib.measure_sync(record, 1000)
        before_counts = env.pipeline.histogram_counts().get(lib.CHUNK_METRIC, 0)
        with lib.gc_collected():
            samples = lib.measure_sync(record, sizes.floor_chunks)
        recorded = env.pipeline.histogram_counts().get(lib.CHUNK_METRIC, 0) - before_counts
        if recorded != sizes.floor_chunks:
            raise lib.BenchmarkError(f"floor/chunk: {recorded} records for {sizes.floor_chunks}")
        results["chunk"] = samples.as_json()
    results["_histograms"] = env.pipeline.histogram_counts()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=CONFIGS)
    parser.add_argument("--round", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--url", default=None, help="loopback server base URL (…/v1)")
    parser.add_argument("--shapes", default=None, help="span/metric shapes for the floor")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--capture-shapes", action="store_true", help="write our real span/metric shapes to --out"
    )
    args = parser.parse_args(argv)
    if args.capture_shapes:
        lib.write_json(args.out, lib.capture_shapes(args.url))
        return 0
    if args.config is None:
        parser.error("--config is required")

    payload: dict[str, Any] = {"config": args.config, "round": args.round, "pid": os.getpid()}
    status = 0
    try:
        env = setup(args.config)
        payload["startup"] = env.startup
        payload["workloads"] = run_workloads(
            args.config, env, Sizes().scaled(args.scale), args.url, args.shapes
        )
        if env.pipeline is not None:
            payload["span_names"] = dict(env.pipeline.exporter.names)
            payload["span_attributes"] = dict(env.pipeline.exporter.attributes)
    except lib.BenchmarkError as error:
        payload["error"] = str(error)
        status = 3
    except Exception:
        payload["error"] = traceback.format_exc()
        status = 2
    payload["versions"] = lib.versions(VERSION_PACKAGES)
    if payload["versions"].get("litellm-otel", "-") != "-":
        payload["versions"]["litellm-otel-src"] = lib.source_digest()
    payload["python"] = sys.version.split()[0]
    payload["executable"] = sys.executable
    lib.write_json(args.out, payload)
    if status:
        lib.log(f"worker {args.config} round {args.round} FAILED: {payload['error']}")
    # Skip interpreter teardown (LiteLLM's logging threads, the batch processor): the results
    # are written, and a slow or noisy exit only costs the next round time.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
