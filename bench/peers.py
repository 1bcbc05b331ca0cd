"""The peer instrumentations, each in its own virtual environment under ``.bench/venvs/<name>``.

Why separate venvs: the peers patch the same LiteLLM functions we do, pull in their own
OpenTelemetry pieces (OpenLIT alone brings a dozen contrib instrumentations), and cannot all
be uninstrumented cleanly, so sharing a process or a venv with us would measure a mix. Each
venv gets the *same* LiteLLM release as the main venv (read from it, never guessed) and the
OpenTelemetry SDK; ``bench/worker.py`` then builds the same SDK pipeline in every venv.

A venv is created once and reused while its requirement list is unchanged (a stamp file
named after the list's hash); delete ``.bench/venvs`` to rebuild.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import benchlib as lib


@dataclass(frozen=True)
class Peer:
    """A peer instrumentation: its worker configuration name and what its venv installs."""

    name: str  # worker configuration (and venv directory) name
    label: str  # how the report names it
    requirements: tuple[str, ...]
    # Tried when the plain requirements do not resolve (see OPENLIT_OTEL_PINS).
    fallback_pins: tuple[str, ...] = ()


# OpenLIT depends on a dozen contrib HTTP/web-framework instrumentations, each pinning one
# exact ``opentelemetry-instrumentation`` release. When the package registry does not carry
# all of them for the newest contrib release, pip's resolver gives up; pinning the newest
# line they all share lets it resolve. (Checked: 0.66b1 / 1.45.1.)
OPENLIT_OTEL_PINS: tuple[str, ...] = (
    "opentelemetry-api==1.45.1",
    "opentelemetry-sdk==1.45.1",
    "opentelemetry-instrumentation==0.66b1",
    "opentelemetry-semantic-conventions==0.66b1",
)

PEERS: tuple[Peer, ...] = (
    Peer("openinference", "OpenInference", ("openinference-instrumentation-litellm",)),
    Peer("traceloop", "Traceloop (OpenLLMetry)", ("opentelemetry-instrumentation-litellm",)),
    Peer("openlit", "OpenLIT", ("openlit",), fallback_pins=OPENLIT_OTEL_PINS),
)


def main_litellm_version() -> str:
    """The LiteLLM release of the main venv (this interpreter): the peers get the same one."""
    version = lib.versions(("litellm",))["litellm"]
    if version == "-":
        raise lib.BenchmarkError("LiteLLM is not installed in the main venv")
    return version


def venv_python(root: Path, name: str) -> Path:
    return root / "venvs" / name / "bin" / "python"


def ensure_venv(root: Path, peer: Peer) -> Path:
    """Create (or reuse) the peer's venv; returns its interpreter."""
    litellm = f"litellm=={main_litellm_version()}"
    plain = (litellm, "opentelemetry-sdk", *peer.requirements)
    directory = root / "venvs" / peer.name
    python = venv_python(root, peer.name)
    digest = hashlib.sha256("\n".join((*plain, *peer.fallback_pins)).encode()).hexdigest()[:12]
    stamp = directory / f".installed-{digest}"
    if stamp.exists() and python.exists():
        return python
    started = time.perf_counter()
    lib.log(f"[peers] creating {directory} ({' '.join(plain)})")
    # sys._base_executable: the interpreter behind the main venv, so every venv runs the
    # same CPython build.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(directory)], check=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    attempt = subprocess.run([*pip, *plain], env=env, capture_output=True, text=True, check=False)
    if attempt.returncode != 0 and peer.fallback_pins:
        lib.log(f"[peers] {peer.name}: plain install did not resolve; retrying with pins")
        attempt = subprocess.run(
            [*pip, *plain, *peer.fallback_pins],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if attempt.returncode != 0:
        errors = [line for line in attempt.stderr.splitlines() if "ignored:" not in line]
        raise lib.BenchmarkError(
            f"pip could not install {peer.name}'s venv:\n" + "\n".join(errors[-25:])
        )
    stamp.write_text("\n".join(plain) + "\n")
    lib.log(f"[peers] {peer.name} ready in {time.perf_counter() - started:.0f}s")
    return python
