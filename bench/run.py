"""The benchmark behind ``make bench`` and ``make bench-peers`` (method: bench/README.md).

One long-lived worker process per state (``worker.py``, in the state's venv), all started
first; then ROUNDS rounds, in each every workload once for every state, the states in an
order rotated from round to round. Each batch answers the state's own thread CPU (LiteLLM's
subtracted by the timing shim); a state's number for a round is that minus the same round's
uninstrumented batch, and the report gives the median and interquartile range over rounds
of those paired differences and of their ratios to the floors. ``make bench`` adds the
no-SDK state and the memory soak (``tests/soak``); ``make bench-peers`` the peers. The
tables replace their own section of docs/performance.md; raw data in .bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import common
from worker import WORKLOADS

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DOC = ROOT / "docs" / "performance.md"
NA = "\u2013"  # an en dash: no number
TIMES = "\u00d7"
CALLS = ("completion", "acompletion", "embedding")
STREAMS = ("stream", "astream")
LABELS = {
    "completion": "`completion`",
    "acompletion": "`acompletion`",
    "embedding": "`embedding`",
    "stream": "`completion(stream=True)`",
    "astream": "`acompletion(stream=True)`",
}
STATE_LABELS = {
    "baseline:twin": "uninstrumented, a second process (the method's null result)",
    "floor": "floor",
    "genai": "util-genai alone",
    "ours": "litellm-otel",
    "nosdk": "litellm-otel, no SDK configured",
    "openinference": "OpenInference",
    "traceloop": "Traceloop",
    "openlit": "OpenLIT",
}
# Each peer pinned, so a run says exactly what it measured. OpenLIT depends on a dozen contrib
# instrumentations pinning one exact opentelemetry-instrumentation release; when the registry
# lacks one for the newest line, pip gives up, and the line they all share resolves.
PEERS: dict[str, tuple[str, ...]] = {
    "openinference": ("openinference-instrumentation-litellm==0.1.51",),
    "traceloop": ("opentelemetry-instrumentation-litellm==0.62.4",),
    "openlit": ("openlit==1.45.0",),
}
OPENLIT_FALLBACK = (
    "opentelemetry-api==1.45.1",
    "opentelemetry-sdk==1.45.1",
    "opentelemetry-instrumentation==0.66b1",
    "opentelemetry-semantic-conventions==0.66b1",
)


# -- venvs and workers --------------------------------------------------------------------


def ensure_venv(root: Path, name: str, requirements: Sequence[str]) -> Path:
    """``root/venvs/<name>`` with ``requirements``, reused while the list is unchanged."""
    directory = root / "venvs" / name
    python = directory / "bin" / "python"
    stamp = directory / f".installed-{hashlib.sha256(repr(requirements).encode()).hexdigest()[:12]}"
    if stamp.exists() and python.exists():
        return python
    common.log(f"[bench] creating {directory}: {' '.join(requirements)}")
    base = getattr(sys, "_base_executable", sys.executable)  # the same CPython build everywhere
    subprocess.run([base, "-m", "venv", "--clear", str(directory)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", *requirements]
    attempt = subprocess.run(pip, capture_output=True, text=True, check=False)
    if attempt.returncode != 0 and name.startswith("openlit"):
        attempt = subprocess.run(
            [*pip, *OPENLIT_FALLBACK], capture_output=True, text=True, check=False
        )
    if attempt.returncode != 0:
        raise common.BenchmarkError(f"pip failed for {name}:\n{attempt.stderr[-3000:]}")
    stamp.write_text("\n".join(requirements) + "\n")
    return python


class Worker:
    """A running ``worker.py``: one JSON line out, one JSON line back."""

    def __init__(self, state: str, python: Path, args: argparse.Namespace, kwargs: str) -> None:
        self.state = state
        options = f"--chunks {args.chunks} --warmup {args.calls} --kwargs".split()
        command = [str(python), str(BENCH / "worker.py"), "--state", state.split(":", 1)[0]]
        env = {**common.child_env(), "BENCH_STATE_DIR": str(args.state_dir)}
        pipe = subprocess.PIPE
        self.process = subprocess.Popen(
            [*command, *options, kwargs], stdin=pipe, stdout=pipe, text=True, env=env, cwd=ROOT
        )

    def read(self) -> dict[str, Any]:
        stdout: TextIO | None = self.process.stdout
        line = stdout.readline() if stdout else ""
        if not line:
            raise common.BenchmarkError(f"{self.state}: worker exited ({self.process.wait()})")
        payload: dict[str, Any] = json.loads(line)
        if "error" in payload:
            raise common.BenchmarkError(f"{self.state}: {payload['error']}")
        return payload

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self.read()


def measure(args: argparse.Namespace, states: dict[str, tuple[Path, str]]) -> dict[str, Any]:
    workers = {
        name: Worker(name, python, args, kwargs) for name, (python, kwargs) in states.items()
    }
    ready = {name: worker.read() for name, worker in workers.items()}
    common.log(f"[bench] {len(workers)} workers ready; {args.rounds} rounds")
    rounds: list[dict[str, dict[str, Any]]] = []
    names = list(workers)
    started = time.perf_counter()
    for index in range(args.rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        results: dict[str, dict[str, Any]] = {name: {} for name in names}
        for workload in WORKLOADS:
            n = args.streams if workload in STREAMS else args.calls
            for name in order:
                results[name][workload] = workers[name].ask({"run": workload, "n": n})
        rounds.append(results)
        common.log(
            f"[bench] round {index + 1}/{args.rounds} ({time.perf_counter() - started:.0f}s)"
        )
    finished = {name: worker.ask({"finish": True}) for name, worker in workers.items()}
    for worker in workers.values():
        worker.process.wait(timeout=60)
    return {"ready": ready, "rounds": rounds, "finished": finished}


def soak(scale: float) -> dict[str, Any]:
    """The memory soak of the test suite (tests/soak) at ``scale``: its figures and verdict."""
    env = {**common.child_env(), "SOAK_SCALE": str(scale)}
    python = str(ROOT / ".venv" / "bin" / "python")
    command = [python, *shlex.split("-m pytest -m soak tests/soak -s -q -p no:cacheprovider")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("soak at SOAK_SCALE")), "")
    # "key=number, key=number": keys hold commas and "=" too, the numbers neither.
    figures = dict(re.findall(r"(?:^|, )(.+?)=(-?[\d.]+)(?=, |$)", line.split(": ", 1)[-1]))
    return {"scale": scale, "passed": done.returncode == 0, "figures": figures}


# -- statistics -----------------------------------------------------------------------------


def quartiles(values: Sequence[float]) -> tuple[float, float, float] | None:
    """Median and interquartile range (``statistics``, inclusive method)."""
    if len(values) < 2:
        return (values[0],) * 3 if values else None  # type: ignore[return-value]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return median, q1, q3


def per_unit(batch: dict[str, Any], key: str) -> float:
    return float(batch[key]) / max(1, int(batch["units"]))


def added(
    rounds: list[dict[str, Any]], state: str, workload: str, key: str = "own_ns"
) -> list[float]:
    """Per round: the state's cost per call (chunk) minus the uninstrumented batch's, µs."""
    return [
        (per_unit(r[state][workload], key) - per_unit(r["baseline"][workload], key)) / 1000
        for r in rounds
    ]


def ratios(rounds: list[dict[str, Any]], state: str, workload: str) -> list[float]:
    """Per round: the state's added cost ÷ the floor's added cost, in the same round."""
    mine, floor = added(rounds, state, workload), added(rounds, "floor", workload)
    return [m / f for m, f in zip(mine, floor, strict=True) if f > 0]


def spread(values: Sequence[float], digits: int = 1, suffix: str = "") -> str:
    found = quartiles(values)
    if found is None:
        return NA
    median, q1, q3 = found
    return f"{median:,.{digits}f}{suffix} [{q1:,.{digits}f} … {q3:,.{digits}f}]"


# -- report ---------------------------------------------------------------------------------


def label(state: str) -> str:
    if state.startswith("ours:"):
        return f"litellm-otel, {state.removeprefix('ours:')}"
    return STATE_LABELS.get(state, state)


def md(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def report(data: dict[str, Any]) -> str:
    meta, rounds, ready, finished = data["meta"], data["rounds"], data["ready"], data["finished"]
    states = [s for s in ready if s != "baseline"]
    machine = meta["machine"]
    main = ready["baseline"]["versions"]
    title = "With the other LiteLLM instrumentations" if meta["peers"] else "Our instrumentation"
    lines = [
        f"## {title} (`make bench{'-peers' if meta['peers'] else ''}`)",
        "",
        f"Measured {meta['date']} with `{meta['command']}`: {len(rounds)} rounds, "
        f"{meta['calls']} calls per batch, streams of {meta['chunks']} chunks, "
        f"{meta['minutes']:.1f} min. Machine: {machine['cores']} cores, {machine['cpu']}, "
        f"Python {machine['python']}, load average {machine['load_start']} at the start, "
        f"{meta['load_end']} at the end."
        + (" **A quick run: a smoke test, not a measurement.**" if meta.get("quick") else ""),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in main.items() if k != "litellm-otel") + ".",
    ]
    for state in states:  # a peer's venv: its package and whatever differs from the main venv
        other = {k: v for k, v in ready[state]["versions"].items() if main.get(k) != v}
        if other:
            lines.append(f"{label(state)}: " + ", ".join(f"{k} {v}" for k, v in other.items()))
    lines += [
        "",
        "Added thread CPU in µs over the uninstrumented call, LiteLLM's own time subtracted; "
        f"`median [IQR]` over rounds of paired differences; {TIMES} floor: the same per round, "
        "divided by the floor's.",
    ]
    for title, workloads, digits in (("per call", CALLS, 1), ("per chunk", STREAMS, 2)):
        floor = f"{TIMES} {'chunk ' if workloads is STREAMS else ''}floor"
        lines += ["", md(title, *(f"{LABELS[w]} µs | {floor}" for w in workloads))]
        lines.append("|---|" + "---:|---:|" * len(workloads))
        for state in ["floor", *(s for s in states if s != "floor")]:
            lines.append(md(label(state), *(
                f"{spread(added(rounds, state, w), digits)} | {spread(ratios(rounds, state, w), 2)}"
                for w in workloads)))  # fmt: skip
    lines += [
        "",
        "What was subtracted: LiteLLM's own thread CPU per call (chunk) uninstrumented, the "
        "harness's and shim's own cost there; and how LiteLLM's time differed in each state's "
        "process (µs). Separate processes differ by a few percent here (see the second "
        "uninstrumented process); a shift well beyond that would be work an instrumentation "
        "causes inside LiteLLM, which the ratios above do not count.",
        "",
        md("", *(LABELS[w] for w in WORKLOADS)),
        "|---|" + "---:|" * len(WORKLOADS),
    ]
    for key, name, digits in (("litellm_ns", "LiteLLM", 1), ("own_ns", "harness + shim", 2)):
        values = [[per_unit(r["baseline"][w], key) / 1000 for r in rounds] for w in WORKLOADS]
        lines.append(md(f"{name}, uninstrumented", *(spread(v, digits) for v in values)))
    for state in states:
        cells = (spread(added(rounds, state, w, "litellm_ns")) for w in WORKLOADS)
        lines.append(md(f"\u0394 LiteLLM, {label(state)}", *cells))
    lines += [
        "",
        "What each state emitted over the run (every call it made, warm-up included), and its "
        "start-up (import and `instrument()`, ms of CPU):",
        "",
        md("", "spans per call", "attributes per span", "histograms",
           "`time_per_output_chunk` points per chunk", "start-up ms"),
        "|---|---:|---|---|---:|---:|",
    ]  # fmt: skip
    for state in states:
        done, startup = finished[state], f"{ready[state]['startup_ms']:.0f}"
        if "spans" not in done:
            lines.append(md(label(state), NA, NA, NA, NA, startup))
            continue
        counts = sorted(done["attributes"].values()) or [0]
        points = done["points"]
        names = ", ".join(f"`{n.removeprefix('gen_ai.client.')}`" for n in sorted(points))
        chunk_points = points.get(common.CHUNK_METRIC, 0) / max(1, done["chunks"])
        lines.append(md(label(state), f"{done['spans'] / done['calls']:.2f}",
                        f"{counts[0]} … {counts[-1]}", names or "none", f"{chunk_points:.2f}",
                        startup))  # fmt: skip
    if not meta["peers"]:
        lines += ["", targets(data)]
    return "\n".join(lines) + "\n"


def targets(data: dict[str, Any]) -> str:
    rounds = data["rounds"]
    call = quartiles(ratios(rounds, "ours", "completion"))
    chunk = quartiles(ratios(rounds, "ours", "stream"))
    lines = ["| target (issue 19) | measured | verdict |", "|---|---|---|"]

    def row(target: str, measured: str, met: bool | None) -> None:
        verdict = NA if met is None else ("met" if met else "**not met**")
        lines.append(f"| {target} | {measured} | {verdict} |")

    row(
        f"per call ≤ 1.3{TIMES} the in-call floor (`completion`)",
        spread(ratios(rounds, "ours", "completion"), 2, TIMES),
        call and call[0] <= 1.3,
    )
    row(
        f"per chunk ≤ 0.5{TIMES} the chunk floor (`completion(stream=True)`)",
        spread(ratios(rounds, "ours", "stream"), 2, TIMES),
        chunk and chunk[0] <= 0.5,
    )
    if "nosdk" in data["ready"]:
        nosdk = quartiles(added(rounds, "nosdk", "completion"))
        row(
            "no SDK configured ≤ 10 µs per call (`completion`)",
            spread(added(rounds, "nosdk", "completion"), 2, " µs"),
            nosdk and nosdk[0] <= 10,
        )
    if "ours:latest" in data["ready"]:  # --variant latest='{"environment": {...}}'
        for workload in ("completion", "stream"):
            latest, default = (
                added(rounds, "ours:latest", workload),
                added(rounds, "ours", workload),
            )
            shares = [
                mine / theirs for mine, theirs in zip(latest, default, strict=True) if theirs > 0
            ]
            found = quartiles(shares)
            row(
                f"the two convention modes within 10% (`{workload}`: latest ÷ default)",
                spread(shares, 2, TIMES),
                found and abs(found[0] - 1) <= 0.1,
            )
    memory = data.get("soak")
    if memory:
        f = memory["figures"]
        measured = (
            f"`tests/soak` at SOAK_SCALE={memory['scale']}: {f.get('streams', '?')} streams; "
            f"{f.get('traced growth (bytes)', '?')} B retained by ours and OpenTelemetry over "
            f"{f.get('traced streams', '?')} traced streams; RSS "
            f"+{f.get('rss growth, +threads = whole run (MiB)', '?')} MiB over the whole soak"
        )
        row("memory flat over 20,000 streams (the soak's bounds)", measured, memory["passed"])
    return "\n".join(lines) + "\n"


def write_section(name: str, body: str) -> None:
    """Replace the generated section ``name`` of docs/performance.md, keeping the rest."""
    begin = f"<!-- BEGIN generated:{name} (bench/run.py rewrites this section) -->"
    end = f"<!-- END generated:{name} -->"
    text = DOC.read_text()
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text}\n{block}\n"
    DOC.write_text(text)


# -- main -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((x.split(":", 1)[1].strip() for x in info if x.startswith("model name")), cpu)
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_start": load(),
    }


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", action="store_true", help="ours, the floors and the peers")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--calls", type=int, default=40, help="calls per batch")
    parser.add_argument("--streams", type=int, default=1, help="streams per batch")
    parser.add_argument("--chunks", type=int, default=500, help="chunks per stream")
    parser.add_argument("--quick", action="store_true", help="smoke test: 5 small rounds")
    parser.add_argument("--litellm", help="run every state on this LiteLLM release, in venvs")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="also ours with these instrument() options ('environment': variables), e.g."
        " content='{...}'",
    )
    parser.add_argument("--memory-scale", type=float, default=1.0, help="SOAK_SCALE; 0: skip")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/performance.md alone")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--report-only", type=Path, metavar="RESULTS", help="re-render a run")
    args = parser.parse_args(argv)
    if args.report_only:
        data = json.loads((args.report_only / "raw.json").read_text())
        body = report(data)
        if not args.no_doc:
            write_section("peers" if data["meta"]["peers"] else "main", body)
        sys.stdout.write(body + "\n")
        return 0
    if args.quick:
        args.rounds, args.calls, args.chunks = min(args.rounds, 5), 10, 200
        args.memory_scale = min(args.memory_scale, 0.05)

    started = time.perf_counter()
    info = machine()
    main_python = Path(sys.executable)
    version = args.litellm or common.versions(("litellm",))["litellm"]
    if args.litellm:
        main_python = ensure_venv(
            args.state_dir,
            f"main-{version}",
            (f"litellm=={version}", "opentelemetry-sdk", "-e", str(ROOT)),
        )
    names = ("baseline", "baseline:twin", "floor", "genai", "ours")
    states: dict[str, tuple[Path, str]] = {name: (main_python, "{}") for name in names}
    for variant in args.variant:
        name, options = variant.split("=", 1)
        states[f"ours:{name}"] = (main_python, options)
    if args.peers:
        for peer, requirements in PEERS.items():
            reqs = (f"litellm=={version}", "opentelemetry-sdk", *requirements)
            states[peer] = (ensure_venv(args.state_dir, f"{peer}-{version}", reqs), "{}")
    else:
        states["nosdk"] = (main_python, "{}")
    data = measure(args, states)
    if not args.peers and args.memory_scale > 0:
        common.log(f"[bench] memory soak at SOAK_SCALE={args.memory_scale}")
        data["soak"] = soak(args.memory_scale)
    command = "make bench-peers" if args.peers else "make bench"
    extra = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--peers"]
    data["meta"] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command + (f" BENCH_ARGS='{shlex.join(extra)}'" if extra else ""),
        "peers": args.peers,
        "quick": args.quick or args.rounds < 31,
        "calls": args.calls,
        "chunks": args.chunks,
        "machine": info,
        "load_end": load(),
        "minutes": (time.perf_counter() - started) / 60,
    }
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.state_dir / "results" / f"{stamp}-{'peers' if args.peers else 'main'}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "raw.json").write_text(json.dumps(data, indent=1) + "\n")
    body = report(data)
    (out / "report.md").write_text(body + "\n")
    if not args.no_doc:
        write_section("peers" if args.peers else "main", body)
    sys.stdout.write(body + "\n")
    common.log(f"[bench] done in {data['meta']['minutes']:.1f} min; raw results in {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except common.BenchmarkError as error:
        common.log(f"[bench] FAILED: {error}")
        sys.exit(3)
