"""A real Arize Phoenix server for the ``phoenix`` test tier.

Why a real backend: the rest of the suite proves what we *send* (``tests/support/otlp_receiver.py``
decodes every OTLP message), but not what a trace backend makes of it: whether Phoenix
accepts the payloads, keeps the parent/child links, and maps our ``gen_ai.*`` attributes onto
its own views. Phoenix runs locally from ``pip`` with no container, so it is the one backend of
``docs/recipes`` that CI can start.

Phoenix lives in its own virtual environment (``scripts/phoenix_env.sh``; ``PHOENIX_VENV``,
default ``.venv-phoenix``) because its dependency pins must not leak into the project's venv;
the tests talk to it only over HTTP and gRPC.

Selection: a tier (tests/support/tiers.py), *deselected* unless ``-m`` names ``phoenix`` or
``RUN_PHOENIX=1`` is set, so a plain ``pytest`` / ``make test`` never needs Phoenix. Once
selected they never skip: a missing or broken Phoenix venv is an error with the command that
fixes it, because a tier that quietly skips in CI tests nothing.

Each session gets a fresh server: free ports on 127.0.0.1, a temporary
``PHOENIX_WORKING_DIR`` (so a new SQLite database), telemetry and every outbound request of
Phoenix's own switched off, and no inherited ``OTEL_*`` / ``PHOENIX_*`` settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
LOG_TAIL_CHARS = 4000
ENV_SETUP_HINT = "create it with: scripts/phoenix_env.sh   (or: make test-phoenix)"

# Phoenix's own settings (phoenix/config.py of arize-phoenix 20.x). Everything that would make
# it reach outside 127.0.0.1 on its own initiative is off.
PHOENIX_SETTINGS: dict[str, str] = {
    # FullStory / Scarf.sh pixels in the UI.
    "PHOENIX_TELEMETRY_ENABLED": "false",
    # Web fonts, the WASM sandbox download and any other public-internet fetch.
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    # The LLM-backed assistant and the MCP endpoint: not under test, less to start.
    "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    "PHOENIX_ENABLE_MCP_SERVER": "false",
    # Migrations otherwise echo every CREATE TABLE into the log we show on failure.
    "PHOENIX_LOG_MIGRATIONS": "false",
}


def phoenix_venv() -> Path:
    """``PHOENIX_VENV`` (relative paths are relative to the repository), else ``.venv-phoenix``."""
    venv = Path(os.environ.get("PHOENIX_VENV") or ".venv-phoenix")
    return venv if venv.is_absolute() else REPO / venv


def free_port() -> int:
    """A port nothing listens on right now, on every interface.

    Every interface, not just 127.0.0.1, because Phoenix binds its gRPC port on ``[::]``
    whatever ``PHOENIX_HOST`` says (arize-phoenix 20.26: ``grpc_server.py``).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
        return port


def phoenix_environment(host: str, port: int, grpc_port: int, working_dir: Path) -> dict[str, str]:
    """Our environment minus any OTel or Phoenix setting, plus this server's settings.

    An inherited ``PHOENIX_SQL_DATABASE_URL`` would point the tests at someone's real
    database, and ``OTEL_*`` variables would make Phoenix trace itself into the data we read.
    """
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "PHOENIX_"))
    }
    env.update(PHOENIX_SETTINGS)
    env.update(
        {
            "PHOENIX_HOST": host,
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(grpc_port),
            "PHOENIX_WORKING_DIR": str(working_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class PhoenixServer:
    """A running ``phoenix serve``: where to send OTLP and how to read spans back."""

    host: str
    port: int
    grpc_port: int
    working_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        """The UI, the REST API and OTLP/HTTP (``/v1/traces``) share this address."""
        return f"http://{self.host}:{self.port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://{self.host}:{self.grpc_port}"

    def log_tail(self) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            return f"(no log: {error})"
        return text[-LOG_TAIL_CHARS:]

    def get_json(self, path: str, **params: Any) -> Any:
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        with urllib.request.urlopen(f"{self.base_url}{path}{query}", timeout=30) as response:
            return json.load(response)

    def project_spans(self, project: str) -> list[dict[str, Any]]:
        """Every span of a project, oldest first ([] while the project does not exist yet)."""
        spans: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 1000, "sort": "start_time", "order": "asc"}
        path = f"/v1/projects/{urllib.parse.quote(project)}/spans"
        while True:
            try:
                page = self.get_json(path, **params)
            except urllib.error.HTTPError as error:
                if error.code == 404:  # the first span of the project has not landed yet
                    return []
                raise
            spans.extend(page["data"])
            if not page.get("next_cursor"):
                return spans
            params["cursor"] = page["next_cursor"]

    def wait_for_spans(
        self,
        project: str,
        done: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 60.0,
    ) -> list[dict[str, Any]]:
        """Poll until ``done(spans)``: Phoenix ingests OTLP asynchronously, in batches."""
        deadline = time.monotonic() + timeout
        spans: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            self.check_alive()
            spans = self.project_spans(project)
            if done(spans):
                return spans
            time.sleep(0.5)
        names = [span["name"] for span in spans]
        pytest.fail(
            f"Phoenix project {project!r} did not get the expected spans in {timeout:.0f} s; "
            f"it has {names}\n--- Phoenix log (tail) ---\n{self.log_tail()}"
        )

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            pytest.fail(f"phoenix serve exited with {code}\n--- log ---\n{self.log_tail()}")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def accepts_connections(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def wait_until_ready(server: PhoenixServer, timeout: float) -> None:
    """Until ``/healthz`` answers 200 and the gRPC port accepts connections (~20 s here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.check_alive()
        if answers(f"{server.base_url}/healthz") and accepts_connections(
            server.host, server.grpc_port
        ):
            return
        time.sleep(0.5)
    pytest.fail(
        f"Phoenix did not answer on {server.base_url} within {timeout:.0f} s\n"
        f"--- Phoenix log (tail) ---\n{server.log_tail()}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down cleanly on it), then SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def phoenix() -> Iterator[PhoenixServer]:
    """``phoenix serve`` from the Phoenix venv, fresh and private to this test session."""
    venv = phoenix_venv()
    executable = venv / "bin" / "phoenix"
    if not executable.exists():
        pytest.fail(
            f"no Phoenix in {venv} (PHOENIX_VENV={os.environ.get('PHOENIX_VENV', '<unset>')}): "
            f"{executable} does not exist; {ENV_SETUP_HINT}"
        )
    host = "127.0.0.1"
    port, grpc_port = free_port(), free_port()
    while grpc_port == port:
        grpc_port = free_port()
    with tempfile.TemporaryDirectory(prefix="phoenix-tests-") as tmp:
        working_dir = Path(tmp) / "phoenix"
        working_dir.mkdir()
        log_path = Path(tmp) / "phoenix.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(executable), "serve"],
                env=phoenix_environment(host, port, grpc_port, working_dir),
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = PhoenixServer(host, port, grpc_port, working_dir, log_path, process)
        try:
            wait_until_ready(server, STARTUP_TIMEOUT_S)
            yield server
        finally:
            stop(process)
