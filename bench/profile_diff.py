"""Where the time over the floor goes: the floor, util-genai alone and ours, side by side.

All three emit the same telemetry for one mock ``completion`` (shapes captured from a real
instrumented call) in a tight loop, without LiteLLM in between, so the differences are the
emitters' own work:

* ``floor``: the bare SDK span and metric records (``benchlib.Floor``);
* ``genai``: util-genai's ``TelemetryHandler`` with every value preset (``inline.py``);
* ``ours``: our real wrapper around a function that returns a prebuilt LiteLLM response.

It prints the median thread CPU per call of each, then the functions whose own time
(cProfile ``tottime``) grows most from one to the next. cProfile inflates small calls, so
read the shares, not the absolute µs. Usage::

    .venv/bin/python bench/profile_diff.py [--calls 5000] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import benchlib as lib


def say(text: str) -> None:
    sys.stdout.write(text + "\n")


def per_call_us(function: Callable[[], Any], calls: int) -> float:
    for _ in range(calls // 10):
        function()
    gc.collect()
    clock = time.thread_time_ns
    samples = []
    for _ in range(calls):
        start = clock()
        function()
        samples.append(clock() - start)
    return statistics.median(samples) / 1000


def profile(function: Callable[[], Any], calls: int) -> dict[Any, Any]:
    for _ in range(calls // 10):
        function()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        function()
    profiler.disable()
    return pstats.Stats(profiler).stats  # type: ignore[attr-defined,no-any-return]


def print_diff(
    name: str, before: dict[Any, Any], after: dict[Any, Any], args: argparse.Namespace
) -> None:
    calls, top = args.calls, args.top
    rows = []
    for key in set(before) | set(after):
        old = before.get(key, (0, 0, 0.0, 0.0))
        new = after.get(key, (0, 0, 0.0, 0.0))
        rows.append(((new[2] - old[2]) / calls * 1e6, (new[1] - old[1]) / calls, key))
    rows.sort(key=lambda row: -row[0])
    total = sum(row[0] for row in rows)
    say(f"\n{name}: +{total:.1f} µs per call under cProfile; largest own-time increases:")
    for delta, more_calls, (path, line, function) in rows[:top]:
        where = path.split("site-packages/")[-1].split("/src/")[-1]
        say(f"  {delta:7.2f} µs  {more_calls:+6.1f} calls  {where}:{line} {function}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    import wrapt
    from inline import Reference

    shapes = lib.capture_shapes(None)
    pipeline = lib.Pipeline()
    litellm = lib.import_litellm()
    response = lib.chat_call(litellm)()

    def litellm_stand_in(*call_args: Any, **kwargs: Any) -> Any:
        return response

    floor = lib.Floor(pipeline, shapes).call("completion")
    reference = Reference(litellm, pipeline, shapes, "genai")
    reference.install()
    genai_wrapper = litellm.completion._self_wrapper
    reference.remove()
    genai_call = wrapt.FunctionWrapper(litellm_stand_in, genai_wrapper)

    from litellm_otel import LiteLLMInstrumentor

    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
    )
    ours_call = wrapt.FunctionWrapper(litellm_stand_in, litellm.completion._self_wrapper)
    kwargs = {"model": lib.CHAT_MODEL, "messages": lib.MESSAGES, **lib.CHAT_PARAMS}

    configurations: dict[str, Callable[[], Any]] = {
        "floor": floor,
        "genai": lambda: genai_call(**kwargs),
        "ours": lambda: ours_call(**kwargs),
    }
    times = {name: per_call_us(call, args.calls) for name, call in configurations.items()}
    say("thread CPU per call, median (µs): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))
    say(
        f"util-genai alone = {times['genai'] / times['floor']:.2f}x the floor; "
        f"ours = {times['ours'] / times['floor']:.2f}x; ours - util-genai = "
        f"{times['ours'] - times['genai']:.1f} µs"
    )
    stats = {name: profile(call, args.calls) for name, call in configurations.items()}
    print_diff("util-genai alone over the floor", stats["floor"], stats["genai"], args)
    print_diff("ours over util-genai alone", stats["genai"], stats["ours"], args)
    instrumentor.uninstrument()
    return 0


if __name__ == "__main__":
    sys.exit(main())
