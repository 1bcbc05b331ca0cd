"""The processes of the Prometheus tier: a LiteLLM Proxy per conventions mode, exposing its
metrics through the OpenTelemetry Prometheus exporter, and a Prometheus scraping each.

Why a real Proxy under ``opentelemetry-instrument``: it is how a user gets these metrics
(``OTEL_METRICS_EXPORTER=prometheus``, nothing in code), and the dashboard's team and key
panels need the Proxy's identity of a call, which only the Proxy hands to LiteLLM. Why one
Prometheus per mode: every query is then checked against each name set on its own, which a
shared server could not tell apart.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.loopback_server import LoopbackLLMServer

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "docs" / "dashboards" / "litellm-otel.json"
RULES = REPO / "docs" / "dashboards" / "alerts.yaml"
RULE_TESTS = REPO / "docs" / "dashboards" / "alerts.test.yaml"
BIN = Path(sys.executable).parent
MODES = ("default", "latest")
OPT_IN = "gen_ai_latest_experimental"
SCRAPE_INTERVAL = "1s"
#: A loaded 2-core machine needs up to a minute for the Proxy's first start.
PROXY_STARTUP_TIMEOUT_S = 180.0
PROMETHEUS_STARTUP_TIMEOUT_S = 30.0
SETUP_HINT = "run scripts/prometheus_env.sh (it installs Debian's prometheus package)"

#: The union every call-count query reads (scripts/dashboards.py says why).
CALLS = '{__name__=~"gen_ai_client_(operation|inference|embeddings)_duration_seconds_count"}'
FAILED_CALLS = CALLS.replace("}", ', error_type!=""}')


def tool(name: str) -> Path:
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: {SETUP_HINT}")
    return Path(found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, chars: int = 4000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-chars:]
    return ""


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- the Proxy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A virtual key and the identity the test's custom auth gives it."""

    key: str
    key_alias: str
    team_id: str
    team_alias: str
    user_id: str


def callers() -> tuple[Caller, Caller]:
    return (
        Caller(f"sk-alpha-{secrets.token_hex(8)}", "alpha-key", "team-a", "Team A", "user-a"),
        Caller(f"sk-beta-{secrets.token_hex(8)}", "beta-key", "team-b", "Team B", "user-b"),
    )


AUTH_MODULE = '''"""Test-only custom auth: the tier's keys -> their identities, others -> 401."""
import json
import os

from litellm.proxy._types import ProxyErrorTypes, ProxyException, UserAPIKeyAuth

IDENTITIES = json.loads(os.environ["LITELLM_OTEL_TEST_IDENTITIES"])


async def user_api_key_auth(request, api_key):
    identity = IDENTITIES.get(api_key)
    if identity is None:
        raise ProxyException(
            message="Invalid key", type=ProxyErrorTypes.auth_error, param="api_key", code=401
        )
    return UserAPIKeyAuth(api_key=api_key, **identity)
'''


def proxy_config(base_url: str, root_url: str, master_key: str) -> str:
    """Two providers (OpenAI, Azure OpenAI), embeddings, a model that always fails (HTTP
    500, no fallback, no retries) and LiteLLM's in-memory response cache."""
    return f"""model_list:
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{base_url}", api_key: sk-upstream}}
  - model_name: azure-chat
    litellm_params:
      model: azure/gpt-4o
      api_base: "{root_url}"
      api_key: sk-upstream
      api_version: "2024-10-21"
  - model_name: text-embedding-3-small
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: "{base_url}"
      api_key: sk-upstream
  - model_name: broken
    litellm_params: {{model: openai/error-500, api_base: "{base_url}", api_key: sk-upstream}}
router_settings:
  num_retries: 0
litellm_settings:
  cache: true
  cache_params: {{type: local}}
general_settings:
  master_key: {master_key}
  custom_auth: proxy_test_auth.user_api_key_auth
"""


@dataclass
class Proxy:
    mode: str
    base_url: str
    metrics_url: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float

    def wait_ready(self) -> None:
        deadline = self.started + PROXY_STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the {self.mode} Proxy exited ({self.process.returncode}):\n"
                    f"{log_tail(self.log)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/health/liveliness", timeout=2).status_code == 200:
                    return
            time.sleep(0.25)
        raise AssertionError(
            f"the {self.mode} Proxy did not start in {PROXY_STARTUP_TIMEOUT_S:.0f} s:\n"
            f"{log_tail(self.log)}"
        )


def start_proxy(
    mode: str, base_url: str, identities: dict[str, dict[str, str]], directory: Path
) -> Proxy:
    """``opentelemetry-instrument litellm -c config.yaml`` with the Prometheus exporter, the
    way docs/dashboards.md tells users to run it; ``latest`` adds the conventions' opt-in."""
    directory.mkdir(parents=True, exist_ok=True)
    master_key = f"sk-master-{secrets.token_hex(8)}"
    root_url = base_url.removesuffix("/v1")
    (directory / "config.yaml").write_text(proxy_config(base_url, root_url, master_key))
    (directory / "proxy_test_auth.py").write_text(AUTH_MODULE)
    port, metrics_port = free_port(), free_port()
    # Only what a user would set: inherited OTEL_* settings would blur the test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OTEL_TEST_IDENTITIES=json.dumps(identities),
        OTEL_SERVICE_NAME=f"litellm-proxy-{mode}",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_METRICS_EXPORTER="prometheus",
        OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
        OTEL_EXPORTER_PROMETHEUS_PORT=str(metrics_port),
        PYTHONUNBUFFERED="1",
    )
    if mode == "latest":
        # Among other entries, as users list them.
        env["OTEL_SEMCONV_STABILITY_OPT_IN"] = f"http, {OPT_IN}"
    command = [
        str(BIN / "opentelemetry-instrument"),
        str(BIN / "litellm"),
        "-c",
        str(directory / "config.yaml"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log = directory / "proxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=directory, stdout=out, stderr=subprocess.STDOUT
        )
    return Proxy(
        mode,
        f"http://127.0.0.1:{port}",
        f"127.0.0.1:{metrics_port}",
        process,
        log,
        time.monotonic(),
    )


# -- traffic -------------------------------------------------------------------------------


@dataclass
class Traffic:
    """What one phase sends to a Proxy, and what the tests expect back from Prometheus."""

    run: str = field(default_factory=lambda: secrets.token_hex(4))
    phases: int = 0

    #: Per phase: the calls by key alias, and the failed ones (all on the ``broken`` model).
    CALLS_PER_PHASE = {"alpha-key": 5, "beta-key": 3}
    ERRORS_PER_PHASE = 1

    def send(self, proxy: Proxy, alpha: Caller, beta: Caller, phase: int) -> None:
        """Chats (one of them a cache hit), a stream, embeddings and a failing call; every
        prompt is unique to this run and phase except the repeated one."""
        tag = f"{self.run} p{phase}"
        with httpx.Client(base_url=proxy.base_url, timeout=60) as client:

            def post(caller: Caller, path: str, body: dict[str, Any], status: int = 200) -> str:
                response = client.post(
                    path, json=body, headers={"Authorization": f"Bearer {caller.key}"}
                )
                assert response.status_code == status, (
                    f"{proxy.mode} Proxy {path} {body.get('model')}: {response.status_code} "
                    f"{response.text[:500]}"
                )
                return response.text

            def chat(caller: Caller, model: str, text: str, status: int = 200) -> str:
                body = {"model": model, "messages": [{"role": "user", "content": text}]}
                return post(caller, "/v1/chat/completions", body, status)

            chat(alpha, "gpt-4o-mini", f"{tag} alpha one")
            chat(alpha, "gpt-4o-mini", f"{tag} alpha two")
            chat(alpha, "gpt-4o-mini", f"{tag} alpha one")  # LiteLLM's cache answers
            stream = post(
                alpha,
                "/v1/chat/completions",
                {
                    "model": "azure-chat",
                    "stream": True,
                    "messages": [{"role": "user", "content": f"{tag} alpha stream"}],
                },
            )
            assert "[DONE]" in stream, stream[-500:]
            post(
                alpha,
                "/v1/embeddings",
                {"model": "text-embedding-3-small", "input": [f"{tag} alpha"]},
            )
            chat(beta, "gpt-4o-mini", f"{tag} beta")
            chat(beta, "broken", f"{tag} beta broken", status=500)
            post(beta, "/v1/embeddings", {"model": "text-embedding-3-small", "input": [f"{tag} b"]})

    def calls(self) -> dict[str, int]:
        return {alias: n * self.phases for alias, n in self.CALLS_PER_PHASE.items()}


# -- Prometheus ----------------------------------------------------------------------------


class QueryError(AssertionError):
    pass


@dataclass
class Prometheus:
    mode: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        payload = response.json()
        if payload.get("status") != "success":
            raise QueryError(f"{self.mode} Prometheus /{path} {params}: {payload}")
        return payload["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def value(self, expr: str) -> float:
        """The value of a query expected to return exactly one series."""
        result = self.query(expr)
        if len(result) != 1:
            raise QueryError(f"{self.mode}: {expr} -> {result}")
        return float(result[0]["value"][1])

    def by(self, expr: str, label: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}

    def names(self) -> list[str]:
        return sorted(self.api("label/__name__/values"))

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, QueryError):
                if check():
                    return
            time.sleep(0.25)
        raise AssertionError(f"{self.mode} Prometheus: {what} within {timeout:.0f} s")


def start_prometheus(mode: str, target: str, directory: Path) -> Prometheus:
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "prometheus.yml"
    config.write_text(
        f"""global:
  scrape_interval: {SCRAPE_INTERVAL}
  scrape_timeout: {SCRAPE_INTERVAL}
  evaluation_interval: {SCRAPE_INTERVAL}
rule_files:
  - {RULES}
scrape_configs:
  - job_name: litellm-proxy
    static_configs:
      - targets: ["{target}"]
"""
    )
    log = directory / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(tool("prometheus")),
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    prometheus = Prometheus(mode, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + PROMETHEUS_STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited ({process.returncode}):\n{log_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{prometheus.url}/-/ready", timeout=2).status_code == 200:
                return prometheus
        time.sleep(0.2)
    stop(process)
    raise AssertionError(f"prometheus did not start:\n{log_tail(log)}")


@dataclass
class Deployment:
    """One mode: its Proxy and the Prometheus that scrapes it."""

    mode: str
    proxy: Proxy
    prometheus: Prometheus


@dataclass
class Stack:
    deployments: dict[str, Deployment]
    traffic: Traffic
    loopback: LoopbackLLMServer

    def prometheus(self, mode: str) -> Prometheus:
        return self.deployments[mode].prometheus


# -- the dashboard and the rules as data ---------------------------------------------------


@dataclass(frozen=True)
class PanelQuery:
    panel: str
    ref: str
    expr: str

    @property
    def modes(self) -> tuple[str, ...]:
        """The name sets the query is written for (scripts/dashboards.py's ref rule)."""
        for mode in MODES:
            if self.ref.startswith(mode):
                return (mode,)
        return MODES


def panel_queries() -> list[PanelQuery]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        PanelQuery(panel["title"], target["refId"], target["expr"])
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


#: What Grafana substitutes before it sends a query; the traffic is seconds old, so any
#: window of minutes covers all of it.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "5m"}


def as_sent(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a Grafana variable the tier does not substitute: {expr}"
    return expr


_NAME_REGEX = re.compile(r'__name__=~"([^"]+)"')
_NAME = re.compile(r"\b(?:gen_ai_client|litellm_client)_[a-z0-9_]+")


def metric_names(expr: str, known: Iterable[str]) -> set[str]:
    """The metric names of ``known`` that ``expr`` reads (plain names and ``__name__`` regexes)."""
    known = list(known)
    names = {name for name in _NAME.findall(_NAME_REGEX.sub("", expr))}
    for pattern in _NAME_REGEX.findall(expr):
        names.update(name for name in known if re.fullmatch(pattern, name))
    return names


def finite(result: list[dict[str, Any]]) -> list[float]:
    values = [float(r["value"][1]) for r in result]
    return [v for v in values if math.isfinite(v)]


def why_empty(prometheus: Prometheus, expr: str) -> str:
    """Why a query found nothing: which of its metrics the mode's Proxy never exposed, said
    in terms of the work the names belong to."""
    names = prometheus.names()
    ours = [n for n in names if n.startswith(("gen_ai_", "litellm_"))]
    read = metric_names(expr, names)
    lines = [
        f"the {prometheus.mode} Prometheus has these GenAI/LiteLLM metrics: {ours}",
        f"the query reads {sorted(read & set(names)) or 'none of them'}"
        + (f"; absent: {sorted(read - set(names))}" if read - set(names) else ""),
    ]
    if prometheus.mode == "latest" and not any(
        n.startswith("gen_ai_client_inference_") for n in ours
    ):
        lines.append(
            "no gen_ai_client_inference_* metric at all: this tree does not implement "
            f"OTEL_SEMCONV_STABILITY_OPT_IN={OPT_IN} (docs/conventions.md, issue 18 item 1)"
        )
    if "litellm_client_cost" in expr and "litellm_client_cost_usd_total" not in names:
        lines.append(
            "litellm_client_cost_usd_total is absent: this tree has no cost counter "
            "(issue 18 item 2)"
        )
    if "litellm_proxy_" in expr and not prometheus.query(
        '{__name__=~".+", litellm_proxy_key_alias!=""}'
    ):
        lines.append(
            "no series has a litellm_proxy_* label: this tree puts no Proxy identity on "
            "metrics (issue 18 item 2)"
        )
    return "\n".join(lines)
