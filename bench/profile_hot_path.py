"""Where our per-call and per-chunk time goes: py-spy samples, attributed to packages.

Run ``python bench/profile_hot_path.py`` (py-spy must be installed in the venv:
``pip install py-spy``; it is not a dependency of the project). For each scenario it profiles
an uninstrumented and an instrumented child process doing the same calls, with py-spy
sampling only the thread that holds the GIL (``--gil``: samples are CPU spent in Python, not
waiting), at 1 kHz, with full file names, and then reports two views:

1. **Attribution inside the process**: every sample is charged to the innermost frame that is
   not the standard library, grouped by owner: ``litellm_otel`` (ours),
   ``opentelemetry.util.genai``, ``opentelemetry.sdk``, the OpenTelemetry API / context /
   instrumentation helpers, ``wrapt``, or the instrumented library's side (LiteLLM, pydantic,
   ...). Per call, in µs of sampled CPU.
2. **Differential by function**: per-call self time of each function, instrumented minus
   uninstrumented, largest first. This is what catches work LiteLLM does *because* we are
   there (for example, LiteLLM running its callback machinery for our registered callback),
   which view 1 charges to LiteLLM.

Why py-spy and not cProfile: cProfile's per-call hook costs about as much as the small
functions on our hot path, so it inflates exactly the code we want to measure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchlib as lib

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RATE = 1000
LOOP_MARKER = "_profiled_loop"

SCENARIOS: dict[str, dict[str, Any]] = {
    # name: calls (or streams) in the profiled loop, and a description
    "completion": {"calls": 2000, "what": "mock litellm.completion, content off, per call"},
    "completion_content": {"calls": 2000, "what": "mock litellm.completion, content on"},
    "chunk": {"calls": 60, "what": "1,000-chunk synthetic stream through our proxy, per chunk"},
    "chunk_mock": {
        "calls": 12,
        "what": "1,000-chunk mock stream (LiteLLM's CustomStreamWrapper, no HTTP), per chunk",
    },
    "nosdk": {"calls": 2000, "what": "mock litellm.completion, no SDK (no-op providers)"},
}

# Frame owners, by a substring of the frame's file path; first match wins.
OWNERS: tuple[tuple[str, str], ...] = (
    ("/litellm_otel/", "ours (litellm_otel)"),
    ("/opentelemetry/util/genai/", "util-genai"),
    ("/opentelemetry/sdk/", "otel SDK"),
    ("/opentelemetry/", "otel API/context/semconv"),
    ("/wrapt/", "wrapt"),
    ("/bench/", "benchmark harness"),
    ("/litellm/", "LiteLLM"),
    ("/litellm_enterprise/", "LiteLLM"),
    ("/pydantic", "pydantic (LiteLLM)"),
    ("/site-packages/", "other libraries"),
)
INSTRUMENTATION = {
    "ours (litellm_otel)",
    "util-genai",
    "otel SDK",
    "otel API/context/semconv",
    "wrapt",
}
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def owner(path: str) -> str | None:
    for marker, name in OWNERS:
        if marker in path:
            return name
    return None  # the standard library, frozen importlib, builtins: charged to the caller


# ---------------------------------------------------------------------------------------------
# The profiled child
# ---------------------------------------------------------------------------------------------


def child(scenario: str, state: str, calls: int) -> None:
    """Set up, warm up, then run ``_profiled_loop`` (the marker the analysis looks for)."""
    pipeline = None if scenario == "nosdk" else lib.Pipeline()
    litellm = lib.import_litellm()
    if state == "ours":
        from litellm_otel import LiteLLMInstrumentor

        kwargs: dict[str, Any] = {"capture_content": scenario == "completion_content"}
        if pipeline is not None:
            kwargs.update(
                tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
            )
        LiteLLMInstrumentor().instrument(**kwargs)
    if scenario == "chunk":
        import wrapt

        chunks = lib.synthetic_chunks()

        def fake(*args: Any, **kwargs: Any) -> Any:
            return iter(chunks)

        target: Callable[..., Any] = fake
        if isinstance(litellm.completion, wrapt.FunctionWrapper):
            target = wrapt.FunctionWrapper(fake, litellm.completion._self_wrapper)

        def call() -> object:
            return sum(1 for _ in target(model=lib.CHAT_MODEL, messages=lib.MESSAGES, stream=True))

    elif scenario == "chunk_mock":
        text = "".join(f"{index:03d}" for index in range(lib.LONG_STREAM_CHUNKS))

        def call() -> object:
            stream = litellm.completion(
                model=lib.CHAT_MODEL, messages=lib.MESSAGES, mock_response=text, stream=True
            )
            return sum(1 for _ in stream)

    else:
        call = lib.chat_call(litellm)
    for _ in range(max(20, calls // 20)):
        call()
    _profiled_loop(call, calls)
    if pipeline is not None:
        pipeline.exported_spans()
    # Let LiteLLM's logging threads finish the last calls' success handlers before exiting.
    time.sleep(1.0)


def _profiled_loop(call: Callable[[], object], calls: int) -> None:
    for _ in range(calls):
        call()


# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------


def parse(raw: Path) -> list[tuple[str, list[tuple[str, str]], int]]:
    """py-spy raw lines → (thread, [(function, file)], count), outermost frame first."""
    samples = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        parts = stack.split(";")
        thread = parts[0]
        frames = []
        for part in parts[1:]:
            match = FRAME.match(part)
            if match:
                frames.append((match["function"], match["file"]))
            else:
                frames.append((part, ""))
        samples.append((thread, frames, int(count)))
    return samples


def attribute(
    samples: list[tuple[str, list[tuple[str, str]], int]],
) -> tuple[Counter[str], Counter[str], int, int]:
    """Owner totals (main thread, inside the loop), self time per function, and sample counts."""
    owners: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    loop_samples = 0
    background = 0
    for thread, frames, count in samples:
        in_loop = any(function == LOOP_MARKER for function, _ in frames)
        is_main = "MainThread" in thread
        if is_main and not in_loop:
            continue  # imports, set-up, warm-up
        if not is_main:
            background += count
        else:
            loop_samples += count
        if any(function == "_find_and_load" for function, _ in frames):
            # A lazy import: one-time, so not a per-call cost even if it lands in the loop.
            owners["one-time lazy imports (all threads)"] += count
            continue
        leaf_owner = None
        leaf_function = "(standard library)"
        for function, path in reversed(frames):
            found = owner(path)
            if found is not None:
                leaf_owner = found
                leaf_function = f"{function} ({_short(path)})"
                break
        key = leaf_owner or "standard library"
        owners[("main: " if is_main else "other threads: ") + key] += count
        functions[("" if is_main else "[thread] ") + leaf_function] += count
    return owners, functions, loop_samples, background


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/bench/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return os.path.basename(path)


def per_call_us(samples: int, calls: int) -> float:
    return samples / RATE / calls * 1e6


def profile(scenario: str, state: str, out: Path) -> Path:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    raw = out / f"{scenario}-{state}.txt"
    calls = SCENARIOS[scenario]["calls"]
    command = [
        py_spy, "record", "--rate", str(RATE), "--gil", "--threads", "--full-filenames",
        "--format", "raw", "--output", str(raw), "--",
        sys.executable, str(Path(__file__).resolve()), "--child", scenario, "--state", state,
        "--calls", str(calls),
    ]  # fmt: skip
    subprocess.run(
        command, check=True, env=lib.litellm_env(), cwd=str(ROOT), stdout=subprocess.DEVNULL
    )
    return raw


def report(scenario: str, out: Path) -> str:
    calls = SCENARIOS[scenario]["calls"]
    # Per call, or per chunk for the stream scenario.
    per_chunk = scenario.startswith("chunk")
    units = calls * (lib.LONG_STREAM_CHUNKS if per_chunk else 1)
    unit = "chunk" if per_chunk else "call"
    results = {}
    for state in ("base", "ours"):
        raw = profile(scenario, state, out)
        results[state] = attribute(parse(raw))
    lines = [f"## {scenario}: {SCENARIOS[scenario]['what']}", ""]
    base_owners, base_functions, base_loop, base_bg = results["base"]
    ours_owners, ours_functions, ours_loop, ours_bg = results["ours"]
    lines.append(
        f"sampled CPU per {unit}: main thread {per_call_us(base_loop, units):.1f} → "
        f"{per_call_us(ours_loop, units):.1f} µs; other threads {per_call_us(base_bg, units):.1f}"
        f" → {per_call_us(ours_bg, units):.1f} µs"
    )
    lines.append("")
    lines.append(f"### attribution (innermost non-stdlib frame), µs per {unit}")
    lines.append("")
    lines.append("| owner | uninstrumented | instrumented | difference |")
    lines.append("|---|---:|---:|---:|")
    for key in sorted(set(base_owners) | set(ours_owners), key=lambda k: -ours_owners[k]):
        b = per_call_us(base_owners[key], units)
        o = per_call_us(ours_owners[key], units)
        lines.append(f"| {key} | {b:.2f} | {o:.2f} | {o - b:+.2f} |")
    lines.append("")
    lines.append(f"### largest per-{unit} increases by function (self time), µs")
    lines.append("")
    diffs = {
        key: per_call_us(ours_functions[key], units) - per_call_us(base_functions[key], units)
        for key in set(base_functions) | set(ours_functions)
    }
    for key, delta in sorted(diffs.items(), key=lambda item: -item[1])[:30]:
        lines.append(f"- {delta:+8.2f}  {key}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=tuple(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--state", choices=("base", "ours"), default="ours")
    parser.add_argument("--calls", type=int, default=0)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), choices=tuple(SCENARIOS))
    parser.add_argument("--out", default=str(ROOT / ".bench" / "profile"))
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.state, args.calls)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = "\n".join(report(scenario, out) for scenario in args.scenarios)
    (out / "report.md").write_text(text + "\n")
    sys.stdout.write(text + "\n")
    lib.log(f"raw py-spy stacks and report.md in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
