"""Memory over many streamed calls: does anything we keep per stream outlive the stream?

A stream proxy holds the invocation, its span, its context and the chunk reader's state;
if any of that is kept past the end of the stream (a cache keyed by call, a reference cycle
that the collector cannot break, a callback bookkeeping dict), memory grows with every call.

Two paths (``--path``):

* ``synthetic`` (the default in ``make bench``): our real wrapper -- the one ``instrument()``
  puts on ``litellm.completion`` -- around a function returning a short list of prebuilt
  ``ModelResponseStream`` chunks. Only our code runs per call, so 20,000 calls take seconds
  and tracemalloc can watch all of them; anything that grows is ours.
* ``litellm``: real ``litellm.completion(stream=True, mock_response=...)`` calls. LiteLLM's own
  streaming and logging cost ~15 ms a call on this machine (several minutes for 20,000), so
  ``make bench`` runs fewer of them; ``--calls 20000`` runs the full count.

Method: warm up (caches fill, provider resolution, lazy imports), collect garbage, start
tracemalloc (``--tracemalloc``), then at 20 checkpoints collect garbage and record
tracemalloc's current and peak, RSS (``VmRSS``) and the high-water mark (``VmHWM``). Growth
per call is the Theil-Sen slope (median of pairwise slopes) of the retained bytes over the
checkpoints: in-flight buffers (queued spans, LiteLLM's pending log events) make a sawtooth
that a first-to-last difference would read as growth or shrinkage.
``--state base`` runs the same calls uninstrumented, as the reference.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import benchlib as lib

CHECKPOINTS = 20
SHORT_CHUNKS = 5


def _status_kib(field_name: str) -> int:
    """A ``VmRSS`` / ``VmHWM`` line of /proc/self/status, in KiB (0 where there is no /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def theil_sen(points: list[tuple[float, float]]) -> float:
    """Median of pairwise slopes: bytes per call, robust to a sawtooth of in-flight buffers."""
    slopes = [
        (y2 - y1) / (x2 - x1)
        for i, (x1, y1) in enumerate(points)
        for x2, y2 in points[i + 1 :]
        if x2 != x1
    ]
    return lib.quantile(slopes, 0.5) if slopes else 0.0


def make_call(path: str, litellm: Any) -> Callable[[], int]:
    """One streamed call read to its end (returns the chunk count)."""
    if path == "litellm":
        return lib.short_stream_call(litellm)
    import wrapt

    chunks = lib.synthetic_chunks(SHORT_CHUNKS)

    def fake(*args: Any, **kwargs: Any) -> Any:
        return iter(chunks)

    current = litellm.completion
    target: Callable[..., Any] = fake
    if isinstance(current, wrapt.FunctionWrapper):
        target = wrapt.FunctionWrapper(fake, current._self_wrapper)

    def call() -> int:
        count = 0
        for _ in target(model=lib.CHAT_MODEL, messages=lib.MESSAGES, stream=True):
            count += 1
        return count

    return call


def run(args: argparse.Namespace) -> dict[str, Any]:
    pipeline = lib.Pipeline()
    litellm = lib.import_litellm()
    if args.state == "ours":
        from litellm_otel import LiteLLMInstrumentor

        LiteLLMInstrumentor().instrument(
            tracer_provider=pipeline.tracer_provider,
            meter_provider=pipeline.meter_provider,
            capture_content=args.capture_content,
        )
    call = make_call(args.path, litellm)
    for _ in range(args.warmup):
        call()
    gc.collect()
    spans_before = pipeline.exported_spans()
    if args.tracemalloc:
        tracemalloc.start()
    checkpoints: list[dict[str, float]] = []
    every = max(1, args.calls // CHECKPOINTS)
    started = time.perf_counter()
    cpu_started = time.process_time()
    for index in range(1, args.calls + 1):
        if call() < 1:
            raise lib.BenchmarkError("a stream produced no chunk")
        if index % every == 0 or index == args.calls:
            # Let in-flight work finish first: LiteLLM's logging threads still hold the last
            # calls' success events, the batch processor its queued spans. Neither is leaked.
            if args.path == "litellm":
                time.sleep(0.25)
            pipeline.exported_spans()
            gc.collect()
            current, peak = tracemalloc.get_traced_memory() if args.tracemalloc else (0, 0)
            checkpoints.append(
                {
                    "calls": index,
                    "traced_current": current,
                    "traced_peak": peak,
                    "rss_kib": _status_kib("VmRSS"),
                    "hwm_kib": _status_kib("VmHWM"),
                    "gc_objects": len(gc.get_objects()),
                }
            )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if args.tracemalloc:
        tracemalloc.stop()
    spans = pipeline.exported_spans() - spans_before
    expected = args.calls if args.state == "ours" else 0
    if spans != expected:
        raise lib.BenchmarkError(f"memory/{args.state}: {spans} spans for {expected} calls")
    first, last = checkpoints[0], checkpoints[-1]
    return {
        "path": args.path,
        "state": args.state,
        "capture_content": args.capture_content,
        "calls": args.calls,
        "tracemalloc": args.tracemalloc,
        "spans": spans,
        "elapsed_s": elapsed,
        "cpu_s": cpu,
        "checkpoints": checkpoints,
        "traced_growth_per_call": theil_sen(
            [(c["calls"], c["traced_current"]) for c in checkpoints]
        ),
        "rss_growth_kib": last["rss_kib"] - first["rss_kib"],
        "gc_objects_growth": last["gc_objects"] - first["gc_objects"],
        "traced_peak": max(c["traced_peak"] for c in checkpoints),
        "hwm_kib": last["hwm_kib"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--path", choices=("synthetic", "litellm"), default="synthetic")
    parser.add_argument("--state", choices=("base", "ours"), default="ours")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--capture-content", action="store_true")
    args = parser.parse_args(argv)
    try:
        payload = run(args)
        status = 0
    except lib.BenchmarkError as error:
        payload = {"error": str(error)}
        status = 3
    lib.write_json(args.out, payload)
    if status:
        lib.log(f"memory run FAILED: {payload['error']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
