"""The Prometheus tier: the dashboard's and the alert rules' queries against a real Prometheus.

A LiteLLM Proxy per conventions mode (default, latest) runs under ``opentelemetry-instrument``
with the OpenTelemetry Prometheus exporter, its only upstream the loopback LLM server; a
Prometheus per mode (Debian's package, ``scripts/prometheus_env.sh``) scrapes it every second
and loads ``docs/dashboards/alerts.yaml``. The session drives the same traffic through both
Proxies in two phases (so every counter rises between scrapes and every rate is positive),
waits until Prometheus has scraped all of it, then the tests run every panel's and every
rule's query (tests/prometheus/test_dashboard.py, test_alerts.py).

Selection: a tier (tests/support/tiers.py), deselected unless ``-m`` names ``prometheus`` or
``RUN_PROMETHEUS=1`` (``make test-prometheus``). Once selected nothing skips: a missing
``prometheus`` binary is an error that says how to install it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.prometheus.stack import (
    CALLS,
    MODES,
    Deployment,
    Prometheus,
    Proxy,
    Stack,
    Traffic,
    callers,
    log_tail,
    start_prometheus,
    start_proxy,
    stop,
    tool,
)
from tests.support.loopback_server import LoopbackLLMServer
from tests.support.tiers import selected

MARKER = "prometheus"


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not selected(config, MARKER):
        return []
    try:
        version = subprocess.run(
            [str(tool("prometheus")), "--version"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0]
    except (FileNotFoundError, IndexError) as error:
        version = f"prometheus: {error}"
    return [version]


_TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def stack(loopback: LoopbackLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    try:
        tool("prometheus")
        tool("promtool")
    except FileNotFoundError as error:
        pytest.fail(str(error))
    started = time.monotonic()
    directory = tmp_path_factory.mktemp("prometheus-tier")
    alpha, beta = callers()
    identities = {
        c.key: {
            "key_alias": c.key_alias,
            "team_id": c.team_id,
            "team_alias": c.team_alias,
            "user_id": c.user_id,
        }
        for c in (alpha, beta)
    }
    proxies = [
        start_proxy(mode, loopback.base_url, identities, directory / f"proxy-{mode}")
        for mode in MODES
    ]
    prometheuses: list[Prometheus] = []
    try:
        for proxy in proxies:
            prometheuses.append(
                start_prometheus(proxy.mode, proxy.metrics_url, directory / f"prom-{proxy.mode}")
            )
        with ThreadPoolExecutor(len(proxies)) as pool:
            list(pool.map(Proxy.wait_ready, proxies))
        _TIMINGS["proxies ready"] = time.monotonic() - started
        stack = Stack(
            {p.mode: Deployment(p.mode, p, m) for p, m in zip(proxies, prometheuses, strict=True)},
            Traffic(),
            loopback,
        )
        for deployment in stack.deployments.values():
            deployment.prometheus.wait_for(
                lambda d=deployment: d.prometheus.value('up{job="litellm-proxy"}') == 1,
                "the Proxy's metrics endpoint up",
            )
        traffic_started = time.monotonic()
        traffic_wall_clock = time.time()
        for phase in (1, 2):

            def send(proxy: Proxy, phase: int = phase) -> None:
                stack.traffic.send(proxy, alpha, beta, phase)

            with ThreadPoolExecutor(len(proxies)) as pool:
                list(pool.map(send, proxies))
            stack.traffic.phases = phase
            expected = sum(stack.traffic.calls().values())
            for deployment in stack.deployments.values():
                prometheus = deployment.prometheus
                # Scraped once every call of the phase is in (each call is counted once).
                prometheus.wait_for(
                    lambda p=prometheus, n=expected: (
                        bool(p.query(f"sum({CALLS})")) and p.value(f"sum({CALLS})") == n
                    ),
                    f"{expected} calls scraped\n{log_tail(deployment.proxy.log)}",
                )
        # The rules have run on the final samples (evaluation every second).
        for deployment in stack.deployments.values():
            deployment.prometheus.wait_for(
                lambda p=deployment.prometheus: bool(
                    p.query("provider_model:gen_ai_client_calls:rate5m")
                ),
                "the recording rules evaluated",
            )
        time.sleep(2)
        _TIMINGS["traffic and scrapes"] = time.monotonic() - traffic_started
        _TIMINGS["setup total"] = time.monotonic() - started
        preview = os.environ.get("PROMETHEUS_PREVIEW")
        if preview:
            # make dashboard-preview: pictures of what the panels get (tests/prometheus/preview.py)
            from tests.prometheus.preview import render

            for mode in MODES:
                render(
                    stack.prometheus(mode),
                    traffic_wall_clock - 2,
                    Path(preview) / f"dashboard-{mode}.png",
                )
        yield stack
    finally:
        for process in [p.process for p in prometheuses] + [p.process for p in proxies]:
            stop(process)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TIMINGS:
        terminalreporter.write_line(
            "prometheus tier: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in _TIMINGS.items())
        )
