"""Our overhead, precisely: instrumented and uninstrumented batches alternate in ONE process.

Across processes, two runs of the very same code differ by a few percent (address layout,
which core, what the neighbours do), which for a 2 ms LiteLLM call is more than we add. In
one process those differences vanish, so for our own instrumentation -- which, unlike the
peers, uninstruments cleanly -- we toggle ``instrument()`` / ``uninstrument()`` between small
batches and pair each instrumented batch with the uninstrumented batch next to it.

Design: ``blocks`` blocks; in each block every state (``base``, ``off`` = content capture
off, ``on`` = content capture on, plus the floor) runs one batch of every workload, in an
order rotated from block to block so no state always runs first (warm caches) or last. A
block gives one paired difference per state and workload (median per-call thread CPU of the
state's batch minus that of the ``base`` batch of the same block); we report the median and
the interquartile range of those differences over the blocks.

Workloads: mock ``completion``, mock ``acompletion``, mock ``embedding``, a 1,000-chunk mock
stream (LiteLLM's real ``CustomStreamWrapper``, no HTTP), and a synthetic 1,000-chunk stream:
our real wrapper (taken from the instrumented ``litellm.completion``)
around a function that returns prebuilt ``ModelResponseStream`` chunks, so the per-chunk
number is our proxy's cost alone, not LiteLLM's streaming machinery.

``--nosdk`` runs the states ``base`` and ``nosdk`` (instrumented with the OpenTelemetry API's
no-op providers) in a process that configures no SDK. ``--ablation`` measures the opt-in
early-bound LiteLLM callback: ``callback`` is ``off`` plus ``early_bound_callback=True``.

With ``--shapes``, two reference states run around the same real LiteLLM calls (see
``inline.py``): ``floor`` (the least SDK work for our telemetry) and ``genai`` (the same
telemetry through util-genai with fixed values, no mapping of LiteLLM's objects).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import benchlib as lib


class Toggle:
    """Puts the process into one state: uninstrumented, or instrumented with some options."""

    def __init__(
        self, litellm: Any, pipeline: lib.Pipeline | None, shapes: dict[str, Any] | None = None
    ) -> None:
        from litellm_otel import LiteLLMInstrumentor

        self.litellm = litellm
        self.pipeline = pipeline
        self.instrumentor = LiteLLMInstrumentor()
        self.state = "base"
        self.instrumented_calls = 0  # calls made while instrumented (expected spans)
        self.reference_calls = 0  # calls made under a reference emitter (also one span each)
        self.references: dict[str, Any] = {}
        if pipeline is not None and shapes is not None:
            from inline import Reference

            self.references = {
                kind: Reference(litellm, pipeline, shapes, kind) for kind in ("floor", "genai")
            }

    def set(self, state: str) -> None:
        if state == self.state:
            return
        if self.instrumentor.is_instrumented_by_opentelemetry:
            self.instrumentor.uninstrument()
        if self.state in self.references:
            self.references[self.state].remove()
        if state in self.references:
            self.references[state].install()
        if state in ("off", "on", "nosdk", "callback"):
            kwargs: dict[str, Any] = {"capture_content": state == "on"}
            if self.pipeline is not None and state != "nosdk":
                kwargs["tracer_provider"] = self.pipeline.tracer_provider
                kwargs["meter_provider"] = self.pipeline.meter_provider
            if state == "callback":  # ablation: the opt-in early-bound callback on top
                kwargs["early_bound_callback"] = True
            self.instrumentor.instrument(**kwargs)
        self.state = state

    def counted(self, calls: int) -> None:
        if self.state in ("off", "on", "callback"):
            self.instrumented_calls += calls
        elif self.state in self.references:
            self.reference_calls += calls


def fake_stream_function(chunks: list[Any]) -> Callable[..., Iterator[Any]]:
    def completion(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return iter(chunks)

    return completion


def synthetic_stream(toggle: Toggle, chunks: list[Any]) -> Callable[[], Any]:
    """Open a 1,000-chunk stream through our real wrapper (or none, uninstrumented)."""
    import wrapt

    fake = fake_stream_function(chunks)
    target: Callable[..., Any] = fake
    current = toggle.litellm.completion
    if isinstance(current, wrapt.FunctionWrapper):
        # The wrapper function instrument() installed on litellm.completion, reused as is.
        target = wrapt.FunctionWrapper(fake, current._self_wrapper)

    def open_stream() -> Any:
        return target(model=lib.CHAT_MODEL, messages=lib.MESSAGES, stream=True)

    return open_stream


def median_ns(values: list[int]) -> float:
    return lib.quantile(values, 0.5)


def run(args: argparse.Namespace) -> dict[str, Any]:
    pipeline = None if args.nosdk else lib.Pipeline()
    litellm = lib.import_litellm()
    shapes: dict[str, Any] | None = None
    floor: lib.Floor | None = None
    if pipeline is not None and args.shapes:
        with open(args.shapes, encoding="utf-8") as handle:
            shapes = json.load(handle)
        floor = lib.Floor(pipeline, shapes)
    toggle = Toggle(litellm, pipeline, shapes)
    states = ["base", "nosdk"] if args.nosdk else ["base", "off", "on", *toggle.references]
    if args.ablation:
        states = ["base", "off", "callback"]
    chunks = lib.synthetic_chunks()
    chat = lib.chat_call(litellm)
    achat = lib.achat_call(litellm)
    embed = lib.embed_call(litellm)
    batch = args.batch

    # LiteLLM's real streaming machinery (CustomStreamWrapper) without HTTP: mock text is cut
    # into 3-character chunks, so 3,000 characters give 1,000 chunks (all different: LiteLLM
    # aborts a stream that repeats one chunk).
    mock_text = "".join(f"{index:03d}" for index in range(lib.LONG_STREAM_CHUNKS))

    def mock_stream() -> Any:
        return litellm.completion(
            model=lib.CHAT_MODEL, messages=lib.MESSAGES, mock_response=mock_text, stream=True
        )

    async def abatch(n: int) -> lib.Samples:
        return await lib.measure_async(achat, n)

    def one(workload: str) -> tuple[list[int], int, float]:
        """Per-call (per-chunk) thread CPU samples, calls made, process CPU per call (chunk)."""
        """One batch of ``workload`` in the current state → per-call (or per-chunk) samples."""
        if workload == "completion":
            samples = lib.measure_sync(chat, batch)
            return samples.thread_ns, batch, samples.process_ns / batch
        if workload == "acompletion":
            samples = asyncio.run(abatch(batch))
            return samples.thread_ns, batch, samples.process_ns / batch
        if workload == "embedding":
            samples = lib.measure_sync(embed, batch)
            return samples.thread_ns, batch, samples.process_ns / batch
        if workload == "stream_mock":
            stream = lib.measure_stream(mock_stream, 1)
            if stream.chunks < lib.LONG_STREAM_CHUNKS:
                raise lib.BenchmarkError(f"mock stream gave {stream.chunks} chunks")
            return stream.chunk_thread_ns, 1, stream.process_ns / max(stream.chunks, 1)
        if workload == "stream_synthetic":
            stream = lib.measure_stream(synthetic_stream(toggle, chunks), 1)
            if stream.chunks != len(chunks):
                raise lib.BenchmarkError(f"synthetic stream gave {stream.chunks} chunks")
            return stream.chunk_thread_ns, 1, stream.process_ns / max(stream.chunks, 1)
        raise ValueError(workload)

    workloads = ["completion", "acompletion", "embedding", "stream_mock", "stream_synthetic"]
    # Warm-up: every state, every workload, once (caches, provider resolution, lazy imports).
    for state in states:
        toggle.set(state)
        for workload in workloads:
            _, calls, _ = one(workload)
            toggle.counted(calls)

    medians: dict[str, dict[str, list[float]]] = {w: {s: [] for s in states} for w in workloads}
    process: dict[str, dict[str, list[float]]] = {w: {s: [] for s in states} for w in workloads}
    floor_calls: dict[str, list[float]] = {"completion": [], "embedding": []}
    floor_chunk: list[float] = []
    started = time.perf_counter()
    for block in range(args.blocks):
        order = states[block % len(states) :] + states[: block % len(states)]
        for workload in workloads:
            for state in order:
                toggle.set(state)
                gc.collect()
                samples, calls, process_per_call = one(workload)
                toggle.counted(calls)
                medians[workload][state].append(median_ns(samples))
                process[workload][state].append(process_per_call)
        if floor is not None:
            for name, values in floor_calls.items():
                emit = floor.call(name)
                values.append(median_ns(lib.measure_sync(emit, batch).thread_ns))
            if floor.has_chunk_metric("stream"):
                record = floor.chunk_recorder("stream")
                floor_chunk.append(median_ns(lib.measure_sync(record, 1000).thread_ns))
        lib.log(
            f"in-process block {block + 1}/{args.blocks} ({time.perf_counter() - started:.0f}s)"
        )
    toggle.set("base")

    result: dict[str, Any] = {"states": states, "blocks": args.blocks, "batch": batch}
    for workload, by_state in medians.items():
        entry: dict[str, Any] = {"base": lib.summarize(by_state["base"])}
        for state in states[1:]:
            diffs = [x - b for x, b in zip(by_state[state], by_state["base"], strict=True)]
            entry[state] = lib.summarize(by_state[state])
            entry[f"{state}_minus_base"] = lib.summarize(diffs)
            by_process = process[workload]
            entry[f"{state}_minus_base_process"] = lib.summarize(
                [x - b for x, b in zip(by_process[state], by_process["base"], strict=True)]
            )
        result[workload] = entry
    for name, values in floor_calls.items():
        if values:
            result[f"floor_{name}"] = lib.summarize(values)
    if floor_chunk:
        result["floor_chunk"] = lib.summarize(floor_chunk)

    if pipeline is not None:
        # Proof: every call made while instrumented produced exactly one exported span.
        spans = pipeline.exported_spans()
        floor_spans = sum(len(values) for values in floor_calls.values()) * batch
        ours = spans - floor_spans - toggle.reference_calls
        result["spans"] = {
            "exported": ours,
            "expected": toggle.instrumented_calls,
            "reference": toggle.reference_calls,
        }
        if ours != toggle.instrumented_calls:
            raise lib.BenchmarkError(
                f"in-process: {ours} spans for {toggle.instrumented_calls} instrumented calls"
                f" (after {toggle.reference_calls} reference calls)"
            )
    else:
        lib.assert_no_sdk_configured()
        result["wrapper_only"] = nosdk_wrapper_cost(toggle)
        result["sdk_module_imported"] = "opentelemetry.sdk" in sys.modules
        result["proof"] = verify_nosdk_invocations(toggle)
    return result


def nosdk_wrapper_cost(toggle: Toggle, calls: int = 20_000, repeats: int = 9) -> dict[str, float]:
    """What our wrapper adds with no SDK, precisely: around a no-op function, not LiteLLM.

    With no SDK the wrapper does the same few checks whatever it wraps, so a no-op target
    isolates them from LiteLLM's ~1 ms, whose noise here is larger than the whole cost.
    Per call, thread CPU; median of ``repeats`` paired (bare, wrapped) loops of ``calls``.
    """
    import wrapt

    toggle.set("nosdk")
    try:

        def bare(*args: Any, **kwargs: Any) -> None:
            return None

        wrapped = wrapt.FunctionWrapper(bare, toggle.litellm.completion._self_wrapper)
        kwargs = {"model": lib.CHAT_MODEL, "messages": lib.MESSAGES, **lib.CHAT_PARAMS}

        def per_call(function: Callable[..., None]) -> float:
            start = time.thread_time_ns()
            for _ in range(calls):
                function(**kwargs)
            return (time.thread_time_ns() - start) / calls

        per_call(wrapped)
        diffs = [per_call(wrapped) - per_call(bare) for _ in range(repeats)]
    finally:
        toggle.set("base")
    return lib.summarize(diffs)


def verify_nosdk_invocations(toggle: Toggle) -> int:
    """Proof that the no-SDK state really runs our wrappers (see ``benchlib``)."""
    toggle.set("nosdk")
    try:
        return lib.count_nonrecording_invocations(lib.chat_call(toggle.litellm))
    finally:
        toggle.set("base")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--shapes", default=None)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--nosdk", action="store_true")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="states base / off / callback (off plus the opt-in early-bound LiteLLM callback)",
    )
    args = parser.parse_args(argv)
    try:
        payload = run(args)
        status = 0
    except lib.BenchmarkError as error:
        payload = {"error": str(error)}
        status = 3
    payload["versions"] = lib.versions(("litellm", "opentelemetry-sdk", "litellm-otel"))
    lib.write_json(args.out, payload)
    if status:
        lib.log(f"in-process run FAILED: {payload['error']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
