"""The test tiers: which LiteLLM each one runs, its lock, and how its virtual environment is made.

This file is the one place that says what a tier installs. ``make lock`` and the ``make test*``
targets call it; ``scripts/versions.py`` reads it (and the locks) to write ``docs/versions.md``.

Why uv: it resolves a universal lock (every Python we support, every platform, with hashes,
overrides for the pins LiteLLM's proxy extra gets wrong) in seconds, and installs a tier's
packages in parallel, far faster than pip. It is bootstrapped with pip from
``locks/tools.txt`` (hashed), so a machine needs only ``python3`` and the package registry.
uv reads no pip configuration (``pip.conf``, ``PIP_*``): it resolves against the registry
itself, so a lock is the same wherever it was made.

    python scripts/tiers.py lock [--upgrade] [TIER ...]   write locks/<tier>.txt
    python scripts/tiers.py check                         exit 1 when a lock is stale
    python scripts/tiers.py sync [--python PY] TIER VENV  make VENV hold TIER (+ the project)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (tomli comes with the tools venv and with pytest)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "locks"
#: The uv that makes the locks and the venvs; ``make lock`` writes it into ``locks/tools.txt``.
UV_VERSION = "0.13.9"
#: Every lock resolves for all the Pythons ``requires-python`` admits, from this one up.
LOCK_PYTHON = "3.10"

#: LiteLLM's long-term-support line: ``make test`` and the Proxy tier run its newest release.
LTS_LINE = "1.108"

#: ``litellm[proxy]`` pins companion distributions exactly, and some of those pins are not on the
#: package index: the tiers below patch them (uv's overrides and excludes), each saying why.
LTS_OVERRIDES = ("litellm-enterprise==0.1.79.post1", "litellm-proxy-extras==0.4.110")
LTS_NOTE = (
    "LiteLLM 1.108.8 and later pin releases of `litellm-enterprise` and `litellm-proxy-extras` "
    "that the index lacks, so an unpinned `pip install 'litellm[proxy]'` quietly gets 1.108.7. "
    "The lock takes the newest 1.108.x with the companions 1.108.7 was released with."
)
NEWEST_EXCLUDES = ("litellm-proxy",)
NEWEST_OVERRIDES = ("litellm-enterprise", "litellm-proxy-extras")
NEWEST_NOTE = (
    "From 1.110 on, the extra requires a `litellm-proxy` distribution the index does not serve "
    "(the Proxy's code still ships inside `litellm`), and exact companion releases it lacks: "
    "the tier leaves `litellm-proxy` out and takes the newest served companions."
)


@dataclass(frozen=True)
class Tier:
    name: str
    #: The make target that runs the suite on this tier.
    target: str
    summary: str
    extras: tuple[str, ...]
    requirements: tuple[str, ...]
    overrides: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    #: False: resolved when its venv is made, never locked (the canary; the demo).
    locked: bool = True
    #: A lock whose versions an unlocked tier must keep (the demo takes the LTS tier's).
    constraints: str | None = None
    #: Why the tier patches what it installs (overrides, excludes), for docs/versions.md.
    note: str = ""

    @property
    def lock(self) -> Path:
        return LOCKS / f"{self.name}.txt"


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def oldest_litellm() -> str:
    """The lower bound of the ``instruments`` extra: the oldest LiteLLM we support."""
    extra = pyproject()["project"]["optional-dependencies"]["instruments"]
    for requirement in extra:
        match = re.fullmatch(r"litellm\s*>=\s*([\w.]+)", requirement.strip())
        if match:
            return match.group(1)
    raise SystemExit(f"no 'litellm >= X' in the instruments extra: {extra}")


def tiers() -> dict[str, Tier]:
    return {
        tier.name: tier
        for tier in (
            Tier(
                "lts",
                "test",
                f"LiteLLM's long-term-support line, its newest {LTS_LINE}.x release",
                ("test", "demo", "docs"),
                (f"litellm[proxy] ~= {LTS_LINE}.0",),
                overrides=LTS_OVERRIDES,
                note=LTS_NOTE,
            ),
            Tier(
                "oldest",
                "test-oldest",
                "the oldest LiteLLM we support, with the 1.x OpenAI SDK",
                ("test", "demo"),
                (f"litellm[proxy] == {oldest_litellm()}", "openai < 2"),
            ),
            Tier(
                "newest",
                "test-newest",
                "the newest release of everything our ranges admit (unpinned)",
                ("test", "demo"),
                ("litellm[proxy]",),
                overrides=NEWEST_OVERRIDES,
                excludes=NEWEST_EXCLUDES,
                locked=False,
                note=NEWEST_NOTE,
            ),
            Tier(
                "demo",
                "demo",
                "what `make demo` needs and nothing else, at the LTS tier's versions",
                ("demo",),
                (),
                locked=False,
                constraints="locks/lts.txt",
            ),
        )
    }


#: Locks of tools rather than tiers: name -> (what it is for, its requirements).
TOOL_LOCKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tools": (
        "The tools venv (.venv-tools): uv; the Makefile installs it with pip --require-hashes.",
        (f"uv == {UV_VERSION}", 'tomli ; python_version < "3.11"'),
    ),
    "release": (
        "The release venv (.venv-release, make dist-check): builds and checks the distribution.",
        ("build", "twine"),
    ),
}


def inputs_digest(tier: Tier | str) -> str:
    """A digest of everything a lock was resolved from; a lock whose digest differs is stale."""
    project = pyproject()["project"]
    if isinstance(tier, str):
        inputs: dict[str, Any] = {"requirements": TOOL_LOCKS[tier][1]}
    else:
        inputs = {
            "requires-python": project.get("requires-python"),
            "dependencies": project.get("dependencies", []),
            "optional-dependencies": project.get("optional-dependencies", {}),
            "extras": tier.extras,
            "requirements": tier.requirements,
            "overrides": tier.overrides,
            "excludes": tier.excludes,
        }
    encoded = json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


#: Written into a tier's venv by ``sync``: the tier's name.
TIER_FILE = ".tier"

DIGEST_LINE = re.compile(r"^# inputs: (?P<digest>[0-9a-f]+)$", re.MULTILINE)


PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)(?: ; (?P<marker>[^\\]+))?"
)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(lock: Path) -> list[tuple[str, str, str | None]]:
    """(canonical name, version, environment marker or None) of each pin of a lock."""
    found = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            marker = match.group("marker")
            found.append(
                (canonical(match.group("name")), match.group("version"), marker and marker.strip())
            )
    return found


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        raise SystemExit("uv not found: run through make (it installs .venv-tools)")
    return found


def run(command: Sequence[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def write_list(directory: Path, name: str, lines: Sequence[str]) -> str:
    path = directory / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return str(path)


def compile_args(tier: Tier, scratch: Path) -> list[str]:
    """``uv pip compile`` arguments for a tier (its output file excluded)."""
    args = ["pyproject.toml"]
    for extra in tier.extras:
        args += ["--extra", extra]
    if tier.requirements:
        args.append(write_list(scratch, "requirements.in", tier.requirements))
    if tier.constraints:
        args += ["-c", tier.constraints]
    if tier.overrides:
        args += ["--overrides", write_list(scratch, "overrides.txt", tier.overrides)]
    if tier.excludes:
        args += ["--excludes", write_list(scratch, "excludes.txt", tier.excludes)]
    return args


def lock_one(
    name: str, title: str, args: list[str], digest: str, scratch: Path, *, upgrade: bool
) -> None:
    """Resolve into ``locks/<name>.txt``; the existing lock's pins are kept unless ``upgrade``.

    ``args`` name input files written to ``scratch``; uv's ``# via`` lines name them, so they
    are renamed after the place they come from (a temporary path would change at every run).
    """
    target = LOCKS / f"{name}.txt"
    with tempfile.TemporaryDirectory() as workdir:
        output = Path(workdir) / "lock.txt"
        if target.exists() and not upgrade:
            shutil.copyfile(target, output)  # uv prefers the versions already in its output
        command = [uv(), "pip", "compile", "--quiet", "--universal"]
        command += ["--python-version", LOCK_PYTHON, "--generate-hashes", "--no-header"]
        command += [*args, "-o", str(output)]
        if upgrade:
            command.append("--upgrade")
        run(command)
        body = output.read_text(encoding="utf-8")
    for kind in ("requirements", "overrides", "excludes"):
        for suffix in (".in", ".txt"):
            body = body.replace(str(scratch / f"{kind}{suffix}"), f"scripts/tiers.py ({kind})")
    header = (
        f"# {title}\n"
        "# Generated by `make lock` (scripts/tiers.py, uv pip compile); do not edit by hand.\n"
        f"# inputs: {digest}\n"
    )
    if target.exists() and target.read_text(encoding="utf-8") == header + body:
        print(f"{target.relative_to(ROOT)} unchanged")  # and its mtime too: no venv rebuilds
        return
    LOCKS.mkdir(exist_ok=True)
    target.write_text(header + body, encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")


def command_lock(names: Sequence[str], *, upgrade: bool) -> None:
    known = tiers()
    selected = names or [*TOOL_LOCKS, *[t.name for t in known.values() if t.locked]]
    for name in selected:
        with tempfile.TemporaryDirectory() as scratch:
            if name in TOOL_LOCKS:
                title, requirements = TOOL_LOCKS[name]
                args = [write_list(Path(scratch), "requirements.in", requirements)]
                lock_one(name, title, args, inputs_digest(name), Path(scratch), upgrade=upgrade)
                continue
            tier = known.get(name)
            if tier is None or not tier.locked:
                raise SystemExit(f"no locked tier {name!r}; locked: {sorted(known)}")
            title = f"Tier {tier.name} (make {tier.target}): {tier.summary}."
            args = compile_args(tier, Path(scratch))
            lock_one(name, title, args, inputs_digest(tier), Path(scratch), upgrade=upgrade)


def stale_locks() -> list[str]:
    """One line per lock that is missing or was resolved from other inputs than today's."""
    problems = []
    wanted = {name: inputs_digest(name) for name in TOOL_LOCKS}
    wanted.update({t.name: inputs_digest(t) for t in tiers().values() if t.locked})
    for name, digest in wanted.items():
        path = LOCKS / f"{name}.txt"
        if not path.exists():
            problems.append(f"{path.relative_to(ROOT)} is missing")
            continue
        match = DIGEST_LINE.search(path.read_text(encoding="utf-8"))
        if match is None or match.group("digest") != digest:
            problems.append(
                f"{path.relative_to(ROOT)} was resolved from other inputs than pyproject.toml and "
                "scripts/tiers.py say today"
            )
    return problems


def command_check() -> int:
    problems = stale_locks()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run `make lock` and commit the locks", file=sys.stderr)
    return 1 if problems else 0


def make_venv(venv: Path, python: str, *, seed: bool) -> None:
    """uv's venv: ``python -m venv`` spends seconds installing pip, which only the dev venv
    keeps (``seed``: for a developer's ``.venv/bin/pip install py-spy``)."""
    if (venv / "bin" / "python").exists():
        return
    run([uv(), "venv", "--quiet", "--python", python, *(["--seed"] if seed else []), str(venv)])


def command_sync(name: str, venv: Path, python: str) -> None:
    """Make VENV hold exactly the tier's packages, and the project installed editable."""
    target = ["--python", str(venv / "bin" / "python")]
    if name in TOOL_LOCKS:
        make_venv(venv, python, seed=False)
        run([uv(), "pip", "sync", "--quiet", *target, str(LOCKS / f"{name}.txt")])
        return
    tier = tiers()[name]
    make_venv(venv, python, seed=name == "lts")
    if tier.locked:
        problems = [p for p in stale_locks() if p.startswith(f"locks/{name}.txt")]
        if problems:
            raise SystemExit(f"{problems[0]}: run `make lock`")
        resolved = str(tier.lock)
    else:
        # Resolved now (--upgrade: uv would otherwise keep the pins of the last resolution), and
        # kept in the venv, so a failing run can be reproduced with `uv pip sync` from it.
        resolved = str(venv / "resolved.txt")
        with tempfile.TemporaryDirectory() as scratch:
            args = compile_args(tier, Path(scratch))
            run([uv(), "pip", "compile", "--quiet", "--upgrade", *target, *args, "-o", resolved])
    # Byte-compiled at install, as pip does (uv does not by default): where
    # PYTHONDONTWRITEBYTECODE is set, as on our CI machines, every test subprocess would compile
    # LiteLLM again, doubling its import. The demo runs once: compiling all of site-packages
    # would cost it more than it saves.
    compile_bytecode = ["--compile-bytecode"] if tier.name != "demo" else []
    run([uv(), "pip", "sync", "--quiet", *compile_bytecode, *target, resolved])
    run([uv(), "pip", "install", "--quiet", *target, "--no-deps", "-e", "."])
    # Tells the suite which tier it runs in (its header prints it; the lock check reads it).
    (venv / TIER_FILE).write_text(f"{name}\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lock = commands.add_parser("lock", help="resolve the locks (keeps pins unless --upgrade)")
    lock.add_argument("tiers", nargs="*")
    lock.add_argument("--upgrade", action="store_true", help="take the newest releases")
    commands.add_parser("check", help="exit 1 when a lock is stale")
    sync = commands.add_parser("sync", help="install a tier into a virtual environment")
    sync.add_argument("tier", choices=sorted([*tiers(), *TOOL_LOCKS]))
    sync.add_argument("venv", type=Path)
    sync.add_argument("--python", default="python3", help="the interpreter a new venv gets")
    args = parser.parse_args(argv)
    if args.command == "lock":
        command_lock(args.tiers, upgrade=args.upgrade)
        return 0
    if args.command == "check":
        return command_check()
    command_sync(args.tier, args.venv, args.python)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
