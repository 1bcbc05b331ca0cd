"""A real LiteLLM Proxy process per loading mode, exporting OTLP to the proto receiver.

Why a real proxy: what the proxy hands to ``litellm.acompletion`` (the ``metadata`` we read),
where it reports refusals, how its server (uvicorn) runs the app and whether the launcher's
instrumentation survives into the process that serves requests can only be observed from
the outside. So each test module run starts ``litellm -c <config>`` from the venv, once under
``opentelemetry-instrument`` and once with our object named in ``litellm_settings.callbacks``,
with the loopback LLM server as the only upstream (and ``tests/support/mcp_upstream.py`` as the
MCP server of its gateway) and ``tests/support/otlp_receiver.py`` as the only backend; tests
talk to it with httpx (and the MCP SDK's client).

The proxy takes a while to start, so these tests are marked ``proxy``, a tier
(tests/support/tiers.py): ``make test`` leaves them out, ``make test-proxy`` (``pytest -m
proxy``, or ``RUN_PROXY=1``) runs them.

No database: virtual keys need one, so a custom auth function (written next to the config,
where LiteLLM's loader finds it) maps a few random test keys to identities (key alias, team,
user, budgets, rate limits), the way a deployment with keys in its database would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.loopback_server import LoopbackLLMServer
from tests.support.otlp_receiver import OTLPReceiver, SpanRecord
from tests.support.pricing import priced_model

#: The Claude model behind the Proxy's ``claude`` group: one this LiteLLM release prices.
CLAUDE = priced_model("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-20250514")

if TYPE_CHECKING:  # imported by its fixture: the oldest tier's MCP SDK has no such server
    from tests.support.mcp_upstream import MCPUpstream

BIN = Path(sys.executable).parent
LITELLM = BIN / "litellm"
OTEL_INSTRUMENT = BIN / "opentelemetry-instrument"
#: A loaded 2-core machine needs ~40 s for the proxy's first start (imports, config).
STARTUP_TIMEOUT_S = 180
SCOPE = "litellm_otel"
MODES = ("launcher", "config")
#: Distinct identity values each attribute keeps on metrics in these proxies; the keys below
#: have more aliases, teams and users than that, so the ceiling is reached.
METRIC_IDENTITY_LIMIT = 3
MANY_KEYS = 4
#: The web search tool of the proxies' config: Perplexity's Search API on the loopback server.
SEARCH_TOOL = "loopback-search"
#: The vector store of the proxies' registry: OpenAI's vector store API on the loopback server.
VECTOR_STORE = "vs_loopback"
#: The MCP server of the proxies' config (``tests/support/mcp_upstream.py``).
MCP_SERVER = "weather"


@dataclass(frozen=True)
class Keys:
    """Every secret of a run; the test suite asserts none of them, nor their hash, is exported."""

    master: str = field(default_factory=lambda: f"sk-master-{secrets.token_hex(12)}")
    upstream: str = field(default_factory=lambda: f"sk-upstream-{secrets.token_hex(12)}")
    team: str = field(default_factory=lambda: f"sk-team-a-{secrets.token_hex(12)}")
    limited: str = field(default_factory=lambda: f"sk-limited-{secrets.token_hex(12)}")
    budget: str = field(default_factory=lambda: f"sk-budget-{secrets.token_hex(12)}")
    wrong: str = field(default_factory=lambda: f"sk-wrong-{secrets.token_hex(12)}")
    #: Keys of their own alias, team and user each, to go past the metric identity ceiling.
    many: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            f"sk-many-{i}-{secrets.token_hex(12)}" for i in range(MANY_KEYS)
        )
    )

    def all(self) -> list[str]:
        return [
            self.master,
            self.upstream,
            self.team,
            self.limited,
            self.budget,
            self.wrong,
            *self.many,
        ]

    def forbidden(self) -> list[str]:
        """The keys and LiteLLM's SHA-256 of each (``user_api_key`` / ``user_api_key_hash``)."""
        return [*self.all(), *(hashlib.sha256(k.encode()).hexdigest() for k in self.all())]

    def identities(self) -> dict[str, dict[str, Any]]:
        """What the custom auth returns per key (the fields of LiteLLM's ``UserAPIKeyAuth``)."""
        return {
            self.master: {"user_role": "proxy_admin"},
            self.team: {
                "key_alias": "team-a-key",
                "team_id": "team-a",
                "team_alias": "Team A",
                "user_id": "user-1",
            },
            self.limited: {"key_alias": "limited-key", "user_id": "user-3", "rpm_limit": 1},
            self.budget: {
                "key_alias": "budget-key",
                "user_id": "user-4",
                # LiteLLM's own cost of one loopback chat call is 4.5e-06 USD.
                "model_max_budget": {"gpt-4o-mini": {"budget_limit": 1e-6, "time_period": "1d"}},
            },
            **{
                key: {
                    "key_alias": f"many-key-{i}",
                    "team_id": f"many-team-{i}",
                    "user_id": f"many-user-{i}",
                }
                for i, key in enumerate(self.many)
            },
        }


AUTH_MODULE = '''"""Test-only custom auth: test keys -> identities, anything else -> 401."""
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


def proxy_config(base_url: str, keys: Keys, mode: str, mcp_url: str) -> str:
    models = [
        ("gpt-4o-mini", "openai/gpt-4o-mini"),
        ("slow", "openai/slow-stream"),
        ("flaky", "openai/error-500"),
        ("text-embedding-3-small", "openai/text-embedding-3-small"),
        # upstream errors that echo the upstream key (whole, masked) or the request
        ("leaky", "openai/leak-vllm"),
        ("leaky-masked", "openai/leak-openai"),
        ("leaky-echo", "openai/leak-echo"),
    ]
    # Anthropic's API lives at the server's root (LiteLLM appends /v1/messages)
    models_at = [(name, model, base_url) for name, model in models]
    models_at.append(("claude", f"anthropic/{CLAUDE}", base_url.removesuffix("/v1")))
    model_list = "".join(
        f"""
  - model_name: {name}
    litellm_params:
      model: {model}
      api_base: {base}
      api_key: {keys.upstream}"""
        for name, model, base in models_at
    )
    callbacks = '["litellm_otel.proxy.proxy_handler_instance"]' if mode == "config" else "[]"
    return f"""model_list:{model_list}
search_tools:
  - search_tool_name: {SEARCH_TOOL}
    litellm_params:
      search_provider: perplexity
      api_base: {base_url}
      api_key: {keys.upstream}
vector_store_registry:
  - vector_store_name: loopback-store
    litellm_params:
      vector_store_id: {VECTOR_STORE}
      custom_llm_provider: openai
      api_base: {base_url}
      api_key: {keys.upstream}
mcp_servers:
  {MCP_SERVER}:
    url: {mcp_url}
    transport: http
    allow_all_keys: true
router_settings:
  num_retries: 0
  fallbacks: [{{"flaky": ["gpt-4o-mini"]}}]
litellm_settings:
  callbacks: {callbacks}
  enable_post_custom_auth_checks: true
general_settings:
  master_key: {keys.master}
  custom_auth: proxy_test_auth.user_api_key_auth
  custom_auth_run_common_checks: true
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proxy:
    """A running proxy: its address, its secrets, and what the receiver got from it."""

    mode: str
    base_url: str
    keys: Keys
    receiver: OTLPReceiver
    process: subprocess.Popen[bytes]
    log: Path
    service_name: str
    startup_s: float

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def spans(self) -> list[SpanRecord]:
        return [
            s
            for s in self.receiver.spans()
            if s.resource_attributes.get("service.name") == self.service_name
        ]

    def trace(self, trace_id: str, predicate: Any, timeout: float = 20.0) -> list[SpanRecord]:
        """The spans of one trace, once ``predicate(spans)`` holds (exports are batched)."""

        def check() -> list[SpanRecord] | None:
            spans = [s for s in self.spans() if s.trace_id == trace_id]
            return spans if predicate(spans) else None

        try:
            return self.receiver.wait_for(check, timeout)
        except TimeoutError:
            got = [(s.scope_name, s.name) for s in self.spans() if s.trace_id == trace_id]
            raise AssertionError(f"trace {trace_id}: {got}\n{self.output()[-3000:]}") from None


def start_proxy(
    mode: str,
    loopback: LoopbackLLMServer,
    mcp_upstream: MCPUpstream,
    receiver: OTLPReceiver,
    directory: Path,
) -> Proxy:
    keys = Keys()
    config = directory / "config.yaml"
    config.write_text(proxy_config(loopback.base_url, keys, mode, mcp_upstream.url))
    (directory / "proxy_test_auth.py").write_text(AUTH_MODULE)
    port = free_port()
    service_name = f"litellm-proxy-{mode}"
    # Only what a user would set: inherited OTEL_* settings would blur the test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OTEL_TEST_IDENTITIES=json.dumps(keys.identities()),
        OTEL_SERVICE_NAME=service_name,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_LOGS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_METRIC_EXPORT_INTERVAL="500",
        OTEL_PYTHON_FASTAPI_EXCLUDED_URLS="/health",
        OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY_LIMIT=str(METRIC_IDENTITY_LIMIT),
        PYTHONUNBUFFERED="1",
    )
    command = [str(LITELLM), "-c", str(config), "--port", str(port), "--host", "127.0.0.1"]
    if mode == "launcher":
        # ``-c``, not ``--config``: the launcher's own argument parser takes ``--config`` as
        # an abbreviation of its ``--configurator`` option and fails.
        command = [str(OTEL_INSTRUMENT), *command]
    log = directory / "proxy.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=directory, stdout=out, stderr=subprocess.STDOUT
        )
    proxy = Proxy(mode, f"http://127.0.0.1:{port}", keys, receiver, process, log, service_name, 0.0)
    deadline = started + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the proxy exited ({process.returncode}):\n{proxy.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{proxy.base_url}/health/liveliness", timeout=2).status_code == 200:
                proxy.startup_s = time.monotonic() - started
                return proxy
        time.sleep(0.25)
    stop_proxy(proxy)
    raise AssertionError(f"the proxy did not start in {STARTUP_TIMEOUT_S} s:\n{proxy.output()}")


def stop_proxy(proxy: Proxy) -> None:
    """SIGTERM (uvicorn shuts down, the SDK flushes at exit), SIGKILL if it hangs."""
    if proxy.process.poll() is None:
        proxy.process.terminate()
        try:
            proxy.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proxy.process.kill()
            proxy.process.wait(timeout=10)


@pytest.fixture(scope="module")
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def mcp_upstream() -> Iterator[MCPUpstream]:
    """The MCP server of the proxies' config (``mcp_servers``)."""
    from tests.support.mcp_upstream import MCPUpstream

    with MCPUpstream() as upstream:
        yield upstream


@pytest.fixture(scope="module", params=MODES)
def proxy(
    request: pytest.FixtureRequest,
    loopback: LoopbackLLMServer,
    mcp_upstream: MCPUpstream,
    receiver: OTLPReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Proxy]:
    """``launcher``: ``opentelemetry-instrument litellm -c config.yaml``, nothing in the config;
    ``config``: plain ``litellm -c config.yaml`` naming ``litellm_otel.proxy`` in callbacks."""
    for tool in (LITELLM, OTEL_INSTRUMENT):
        if not tool.exists():
            pytest.fail(f"{tool} missing: install litellm[proxy] and opentelemetry-distro")
    mode = str(request.param)
    directory = tmp_path_factory.mktemp(f"proxy-{mode}")
    proxy = start_proxy(mode, loopback, mcp_upstream, receiver, directory)
    try:
        yield proxy
    finally:
        stop_proxy(proxy)
