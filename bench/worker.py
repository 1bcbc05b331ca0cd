"""One benchmark state in one long-lived process, driven batch by batch over stdin/stdout.

``bench/run.py`` starts one worker per state (each with its venv's interpreter) and sends it
one JSON line per batch; the worker answers with one JSON line. Set-up order matters and is
the same everywhere: import LiteLLM, put the timing shim under its entry points
(``shim.py``), build the SDK pipeline, then install the state's instrumentation (timed), so
that every instrumentation wraps the shim. Then a warm-up, ``gc.freeze()`` (LiteLLM's heap of
~300,000 objects otherwise makes every full collection cost milliseconds, charged to
whichever code happened to allocate), and the command loop.

A batch answers ``own_ns`` (thread CPU of the batch minus thread CPU inside LiteLLM) and
``litellm_ns`` (the latter), with ``units`` calls or chunks. ``finish`` answers what the state
emitted; ``run.py`` aborts the run when it is not what the state claims.

By hand, for item-by-item profiles of a state's own work (cProfile inflates small calls: read
the shares, not the µs)::

    .venv/bin/python bench/worker.py --state ours --profile completion
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
from typing import Any

import common
import shim

PEERS = {
    "openinference": "openinference-instrumentation-litellm",
    "traceloop": "opentelemetry-instrumentation-litellm",
    "openlit": "openlit",
}
STATES = ("baseline", "ours", "nosdk", "floor", "genai", *PEERS)
WORKLOADS = ("completion", "acompletion", "embedding", "stream", "astream")
VERSIONS = (
    "litellm",
    "litellm-otel",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-util-genai",
    "wrapt",
    "pydantic",
    *PEERS.values(),
)


class Worker:
    def __init__(self, state: str, kwargs: dict[str, Any], chunks: int) -> None:
        self.state = state
        self.chunks = chunks
        self.calls = 0  # LiteLLM calls made: the spans an instrumented state must export
        self.streamed = 0  # chunks read
        self.litellm = common.import_litellm()
        self.shim = shim.install(self.litellm)
        self.clock = self.shim.clock
        self.outer = shim.Clock()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.pipeline = None if state == "nosdk" else common.Pipeline(self.clock)
        if state in ("floor", "genai"):
            self.shapes = common.capture_shapes(self.litellm)
        started = time.process_time()
        self.install(kwargs)
        self.startup_ms = (time.process_time() - started) * 1000  # import + instrument()
        self.check_installed()

    def install(self, kwargs: dict[str, Any]) -> None:
        state, pipeline, litellm = self.state, self.pipeline, self.litellm
        providers: dict[str, Any] = {}
        if pipeline is not None:
            providers = {
                "tracer_provider": pipeline.tracer_provider,
                "meter_provider": pipeline.meter_provider,
            }
        if state in ("ours", "nosdk"):
            from litellm_otel import LiteLLMInstrumentor

            # ``--variant 'latest={"environment": {...}}'``: variables instrument() reads
            os.environ.update(kwargs.pop("environment", {}))

            LiteLLMInstrumentor().instrument(**providers, **kwargs)
        elif state in ("floor", "genai"):
            from references import Reference

            Reference(litellm, pipeline, self.shapes, state).install()
        elif state == "openinference":
            from openinference.instrumentation import TraceConfig
            from openinference.instrumentation.litellm import LiteLLMInstrumentor as OpenInference

            hidden = TraceConfig(hide_inputs=True, hide_outputs=True)
            OpenInference().instrument(tracer_provider=providers["tracer_provider"], config=hidden)
        elif state == "traceloop":
            os.environ["TRACELOOP_TRACE_CONTENT"] = "false"  # it records content by default
            from opentelemetry.instrumentation.litellm import LiteLLMInstrumentor as Traceloop

            Traceloop().instrument(**providers)
        elif state == "openlit":
            # A local, empty price list: OpenLIT would fetch one from the network at init.
            pricing = os.path.join(os.environ.get("BENCH_STATE_DIR", "."), "openlit-pricing.json")
            with open(pricing, "w", encoding="utf-8") as handle:
                json.dump({"chat": {}, "embeddings": {}, "images": {}, "audio": {}}, handle)
            import openlit
            from openlit._instrumentors import MODULE_NAME_MAP

            openlit.init(  # reuses the global providers the pipeline installed
                capture_message_content=False,
                disable_events=True,
                disabled_instrumentors=[name for name in MODULE_NAME_MAP if name != "litellm"],
                pricing_json=pricing,
            )
        elif state != "baseline":
            raise common.BenchmarkError(f"unknown state {state!r}")

    def check_installed(self) -> None:
        """Every instrumented state must sit on top of the shim; the baseline must not."""
        for name in ("completion", "acompletion", "embedding"):
            wrapped = self.shim.wrapped_by_instrumentation(self.litellm, name)
            if wrapped != (self.state != "baseline"):
                raise common.BenchmarkError(f"{self.state}: litellm.{name} wrapped={wrapped}")
        if self.state == "nosdk":
            from opentelemetry import metrics, trace

            providers = (
                type(trace.get_tracer_provider()).__name__,
                type(metrics.get_meter_provider()).__name__,
            )
            if providers != ("ProxyTracerProvider", "_ProxyMeterProvider"):
                raise common.BenchmarkError(f"no-SDK state has providers configured: {providers}")

    # -- workloads -------------------------------------------------------------------------

    def batch(self, workload: str, n: int) -> dict[str, Any]:
        """``n`` calls (or ``n`` streams) of ``workload``: own and LiteLLM thread CPU.

        For streams only the chunks after the first count, up to and including the end of
        the stream (work an instrumentation defers to the end is per-chunk work too); the
        call and the first chunk are per-call work (time to first chunk).
        """
        litellm, outer, clock = self.litellm, self.outer, self.clock
        gc.collect()
        outer_start, inside_start = outer.inside_ns, clock.inside_ns
        entries, nested = clock.entries, clock.nested
        units = n
        if workload in ("completion", "embedding"):
            kwargs = common.chat_kwargs() if workload == "completion" else common.EMBED
            function = getattr(litellm, workload)
            outer.enter()
            for _ in range(n):
                function(**kwargs)
            outer.leave()
            outer_ns, litellm_ns = outer.inside_ns - outer_start, clock.inside_ns - inside_start
        elif workload == "acompletion":
            kwargs = common.chat_kwargs()

            async def calls() -> None:
                for _ in range(n):
                    await litellm.acompletion(**kwargs)

            self.loop.run_until_complete(shim.Steps(calls(), outer))
            outer_ns, litellm_ns = outer.inside_ns - outer_start, clock.inside_ns - inside_start
        elif workload in ("stream", "astream"):
            read_stream = self._stream if workload == "stream" else self._astream
            units = outer_ns = litellm_ns = 0
            for _ in range(n):
                read, outer_part, inside_part = read_stream(common.chat_kwargs(self.chunks))
                units += read
                outer_ns += outer_part
                litellm_ns += inside_part
            self.streamed += units + n
        else:
            raise common.BenchmarkError(f"unknown workload {workload!r}")
        self.calls += n
        return {
            "own_ns": outer_ns - litellm_ns,
            "litellm_ns": litellm_ns,
            "units": units,
            "entries": clock.entries - entries,
            "nested": clock.nested - nested,
        }

    def _stream(self, kwargs: dict[str, Any]) -> tuple[int, int, int]:
        outer, clock = self.outer, self.clock
        iterator = iter(self.litellm.completion(**kwargs))
        next(iterator)
        outer_start, inside_start = outer.inside_ns, clock.inside_ns
        read = 0
        outer.enter()
        for _chunk in iterator:
            read += 1
        outer.leave()
        return read, outer.inside_ns - outer_start, clock.inside_ns - inside_start

    def _astream(self, kwargs: dict[str, Any]) -> tuple[int, int, int]:
        outer, clock = self.outer, self.clock

        async def consume(iterator: Any) -> int:
            read = 0
            async for _chunk in iterator:
                read += 1
            return read

        async def one() -> tuple[int, int, int]:
            iterator = aiter(await self.litellm.acompletion(**kwargs))
            await anext(iterator)
            outer_start, inside_start = outer.inside_ns, clock.inside_ns
            read = await shim.Steps(consume(iterator), outer)
            return read, outer.inside_ns - outer_start, clock.inside_ns - inside_start

        return self.loop.run_until_complete(one())

    def finish(self) -> dict[str, Any]:
        result: dict[str, Any] = {"calls": self.calls, "chunks": self.streamed}
        if self.clock.nested:
            raise common.BenchmarkError(
                f"{self.state}: LiteLLM called its own entry points {self.clock.nested} times on"
                " the calling thread: a wrapper there would be timed as LiteLLM's (see shim.py)"
            )
        pipeline = self.pipeline
        if pipeline is not None:
            spans = pipeline.exported()
            result.update(spans=spans, points=pipeline.points(), attributes=pipeline.attributes)
            result["started_inside"] = pipeline.started_inside
            exact = self.state in ("ours", "floor", "genai")
            expected = 0 if self.state == "baseline" else self.calls
            if spans < expected or ((exact or not expected) and spans != expected):
                raise common.BenchmarkError(
                    f"{self.state}: {spans} spans exported for {self.calls} calls"
                )
            if pipeline.started_inside:
                raise common.BenchmarkError(
                    f"{self.state}: {pipeline.started_inside} spans started inside LiteLLM's"
                    " timed region: the shim is not under this instrumentation"
                )
        return result


def serve(worker: Worker, warmup: int, reply: Callable[[dict[str, Any]], None]) -> None:
    for workload in WORKLOADS:
        for _ in range(2):
            worker.batch(workload, 1 if "stream" in workload else warmup)
    gc.collect()
    gc.freeze()
    versions = common.versions(VERSIONS)
    if "litellm-otel" in versions:
        versions["litellm-otel source"] = common.source_digest()
    reply({"ready": worker.state, "startup_ms": worker.startup_ms, "versions": versions})
    for line in sys.stdin:
        command = json.loads(line)
        if "finish" in command:
            reply(worker.finish())
            return
        reply(worker.batch(command["run"], command["n"]))


def profile(worker: Worker, workload: str, n: int) -> None:
    import cProfile
    import pstats

    n = max(1, n // 200) if "stream" in workload else n  # streams: about as many chunks
    worker.batch(workload, max(1, n // 10))
    profiler = cProfile.Profile(time.thread_time_ns, 1e-9)  # CPU, as the benchmark counts
    profiler.runcall(worker.batch, workload, n)
    stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime")
    stats.print_stats(r"^(?!.*site-packages/litellm/)", 40)  # all but LiteLLM's own frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", choices=STATES, required=True)
    parser.add_argument("--kwargs", default="{}", help="instrument() options (ours), JSON")
    parser.add_argument("--chunks", type=int, default=500, help="chunks per stream")
    parser.add_argument("--warmup", type=int, default=20, help="calls per warm-up batch")
    parser.add_argument("--profile", choices=WORKLOADS, help="cProfile one workload, by hand")
    parser.add_argument("--calls", type=int, default=2000, help="calls profiled (/200: streams)")
    args = parser.parse_args()
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def reply(payload: dict[str, Any]) -> None:
        protocol.write(json.dumps(payload) + "\n")

    status = 0
    try:
        worker = Worker(args.state, json.loads(args.kwargs), args.chunks)
        if args.profile:
            profile(worker, args.profile, args.calls)
        else:
            serve(worker, args.warmup, reply)
    except Exception as error:
        reply(
            {
                "error": str(error)
                if isinstance(error, common.BenchmarkError)
                else traceback.format_exc()
            }
        )
        status = 3
    protocol.flush()
    sys.stderr.flush()
    os._exit(status)  # skip teardown (LiteLLM's logging threads, the batch processor)


if __name__ == "__main__":
    sys.exit(main())
