"""The benchmark's method holds: the references emit what we emit, the shim sits under us.

``make bench`` divides our added time by the floor's (``bench/references.py``) and takes
LiteLLM's own time out with the timing shim (``bench/shim.py``). If a reference emitted less
than we do, or an instrumentation's work ran inside the shim's clock, the ratios would lie.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import litellm
import pytest

from tests.support.telemetry import Telemetry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import common
import shim
from references import Reference

BENCH = Path(common.__file__).parent


@pytest.fixture(scope="module")
def shapes() -> dict[str, Any]:
    return common.capture_shapes(litellm)


@pytest.fixture
def installed() -> Iterator[shim.Installed]:
    originals = litellm.completion, litellm.CustomStreamWrapper.__next__
    installed = shim.install(litellm)
    yield installed
    installed.remove()
    assert (litellm.completion, litellm.CustomStreamWrapper.__next__) == originals


def _metric_series(telemetry: Telemetry) -> set[tuple[str, frozenset[Any]]]:
    series = set()
    data = telemetry.metrics.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    series.add((metric.name, frozenset(point.attributes.items())))
    return series


def _expected_series(shapes: dict[str, Any], workloads: tuple[str, ...]) -> set[Any]:
    records = [r for w in workloads for r in shapes[w]["records"]]
    records += [shapes[w]["per_chunk"] for w in workloads if shapes[w]["per_chunk"]]
    return {(r["name"], frozenset(r["attributes"].items())) for r in records}


@pytest.mark.parametrize("kind", ["floor", "genai"])
def test_reference_emits_our_span_and_metric_series(
    kind: str, shapes: dict[str, Any], telemetry: Telemetry
) -> None:
    reference = Reference(litellm, telemetry, shapes, kind)
    reference.install()
    try:
        litellm.completion(**common.chat_kwargs())
        asyncio.run(litellm.acompletion(**common.chat_kwargs()))
        litellm.embedding(**common.EMBED)
    finally:
        reference.remove()
    assert not hasattr(litellm.completion, "_self_wrapper")  # removed cleanly

    spans = telemetry.finished()
    workloads = ("completion", "acompletion", "embedding")
    assert [span.name for span in spans] == [shapes[w]["span_name"] for w in workloads]
    for span, workload in zip(spans, workloads, strict=True):
        shape = shapes[workload]
        expected = {**shape["start_attributes"], **shape["end_attributes"]}
        assert set(span.attributes) == set(expected), workload
        assert span.attributes["gen_ai.request.model"] == expected["gen_ai.request.model"]
    assert _metric_series(telemetry) == _expected_series(shapes, ("completion", "embedding"))


@pytest.mark.parametrize("kind", ["floor", "genai"])
def test_reference_stream_keeps_isinstance_and_records_every_chunk(
    kind: str, shapes: dict[str, Any], telemetry: Telemetry
) -> None:
    reference = Reference(litellm, telemetry, shapes, kind)
    reference.install()
    try:
        stream = litellm.completion(**common.chat_kwargs(7))
        assert isinstance(stream, litellm.CustomStreamWrapper)
        chunks = sum(1 for _ in stream)
    finally:
        reference.remove()
    assert chunks >= 7
    span = telemetry.only_span()
    shape = shapes["stream"]
    assert span.name == shape["span_name"]
    if kind == "floor":  # util-genai sets its own stream attributes; the floor ours exactly
        expected = {**shape["start_attributes"], **shape["end_attributes"]}
        assert set(span.attributes) == set(expected)
    assert _metric_series(telemetry) == _expected_series(shapes, ("stream",))
    points = telemetry.metric_points(common.CHUNK_METRIC)
    assert sum(point.count for point in points) == (chunks if kind == "floor" else chunks - 1)


def test_shim_sits_under_our_wrappers_and_times_only_litellm(
    installed: shim.Installed, instrument: Any
) -> None:
    clock = installed.clock
    telemetry = instrument()
    depths: list[int] = []
    original_start = telemetry.tracer_provider._active_span_processor.on_start

    def on_start(span: Any, parent_context: Any = None) -> None:
        depths.append(clock.depth)
        original_start(span, parent_context=parent_context)

    telemetry.tracer_provider._active_span_processor.on_start = on_start  # type: ignore[method-assign]
    assert installed.wrapped_by_instrumentation(litellm, "completion")
    assert litellm.completion.__wrapped__ is installed.shims["completion"]

    litellm.completion(**common.chat_kwargs())
    asyncio.run(litellm.acompletion(**common.chat_kwargs()))
    stream = litellm.completion(**common.chat_kwargs(5))
    entries = clock.entries
    chunks = sum(1 for _ in stream)

    assert depths == [0, 0, 0]  # every span started outside LiteLLM's timed region
    assert clock.entries - entries == chunks + 1  # one per next(), the StopIteration too
    assert clock.depth == 0 and clock.nested == 0 and clock.inside_ns > 0
    assert len(telemetry.finished()) == 3


def test_steps_count_only_the_coroutines_own_steps(installed: shim.Installed) -> None:
    clock = installed.clock

    async def burn() -> None:
        until = time.thread_time() + 0.05
        while time.thread_time() < until:
            pass

    async def waits() -> str:
        await asyncio.sleep(0.01)  # the event loop runs burn() meanwhile
        return "done"

    async def failing() -> None:
        await asyncio.sleep(0)
        raise KeyError("inside")

    async def main() -> str:
        other = asyncio.ensure_future(burn())
        result = await shim.Steps(waits(), clock)
        await other
        with pytest.raises(KeyError):
            await shim.Steps(failing(), clock)
        slow = asyncio.ensure_future(shim.Steps(asyncio.sleep(10), clock))
        await asyncio.sleep(0)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        return result

    assert asyncio.run(main()) == "done"
    assert clock.inside_ns < 0.01e9  # the 50 ms burnt by the other task are not counted
    assert clock.depth == 0


def test_shim_ignores_other_threads(installed: shim.Installed) -> None:
    clock = installed.clock
    thread = threading.Thread(target=lambda: litellm.completion(**common.chat_kwargs()))
    thread.start()
    thread.join()
    assert clock.entries == 0 and clock.inside_ns == 0
    litellm.completion(**common.chat_kwargs())
    assert clock.entries == 1 and clock.inside_ns > 0


def test_worker_answers_batches_and_checks_its_spans() -> None:
    """The harness's worker end to end, in its own process (a few seconds: LiteLLM's import)."""
    commands = [{"run": "completion", "n": 2}, {"run": "astream", "n": 1}, {"finish": True}]
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "worker.py"),
            "--state",
            "ours",
            "--chunks",
            "6",
            "--warmup",
            "1",
        ],
        input="".join(json.dumps(c) + "\n" for c in commands),
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=common.child_env(),
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr[-2000:]
    ready, calls, stream, finished = replies
    assert ready["ready"] == "ours" and "litellm-otel" in ready["versions"]
    assert calls["units"] == 2 and calls["own_ns"] > 0 and calls["litellm_ns"] > 0
    assert stream["units"] == 6 and stream["entries"] >= 6  # chunks after the first, + the end
    # warm-up: 2 batches of each of 5 workloads (1 call, 1 stream each), then 3 more calls
    assert finished["calls"] == finished["spans"] == 13
    assert finished["started_inside"] == 0
