"""Shared fixtures: SDK providers with in-memory exporters, the instrumentor, the loopback server.

Every test talks only to 127.0.0.1. ``LITELLM_LOCAL_MODEL_COST_MAP`` is set before LiteLLM
is imported anywhere, or it would try to download its price map at import.
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.pop("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", None)
os.environ.pop("OTEL_INSTRUMENTATION_LITELLM_REQUEST_STREAM_USAGE", None)
os.environ.pop("OTEL_SEMCONV_STABILITY_OPT_IN", None)

import gc
import platform
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import litellm
import pytest

from litellm_otel import LiteLLMInstrumentor
from litellm_otel._failsafe import reset_reported
from tests.support.loopback_server import LoopbackLLMServer
from tests.support.telemetry import API_KEY, Telemetry, make_telemetry
from tests.support.tiers import deselect_unrequested

litellm.suppress_debug_info = True
litellm.telemetry = False

#: The distributions whose versions head every run, so a CI log says what each tier tested.
REPORTED = (
    "litellm",
    "openai",
    "opentelemetry-util-genai",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "wrapt",
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    tier_file = Path(sys.prefix) / ".tier"
    tier = tier_file.read_text(encoding="utf-8").strip() if tier_file.exists() else "none"
    versions = []
    for name in REPORTED:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    rust = os.environ.get("LITELLM_RUST")
    return [
        f"tier: {tier}; Python {platform.python_version()}"
        + (f"; LITELLM_RUST={rust}" if rust is not None else ""),
        "versions: " + ", ".join(versions),
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tiers (slow, soak, proxy, phoenix, prometheus) run only when asked for
    (tests/support/tiers.py)."""
    deselect_unrequested(config, items)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    telemetry = make_telemetry()
    yield telemetry
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


@pytest.fixture
def instrument(telemetry: Telemetry) -> Iterator[Callable[..., Telemetry]]:
    """Call with ``instrument(**options)``; uninstruments when the test ends."""
    instrumentor = LiteLLMInstrumentor()
    reset_reported()

    def _instrument(**options: Any) -> Telemetry:
        arguments: dict[str, Any] = {
            "tracer_provider": telemetry.tracer_provider,
            "meter_provider": telemetry.meter_provider,
            "logger_provider": telemetry.logger_provider,
        }
        arguments.update(options)
        instrumentor.instrument(**arguments)
        return telemetry

    yield _instrument
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture
def traced(instrument: Callable[..., Telemetry]) -> Telemetry:
    """Instrumented with default options (content capture off)."""
    return instrument()


@pytest.fixture(scope="session")
def loopback() -> Iterator[LoopbackLLMServer]:
    with LoopbackLLMServer() as server:
        yield server


@pytest.fixture
def server(loopback: LoopbackLLMServer) -> LoopbackLLMServer:
    loopback.clear()
    return loopback


@pytest.fixture
def call_args(server: LoopbackLLMServer) -> dict[str, Any]:
    """Keyword arguments that route a LiteLLM call to the loopback server, no retries."""
    return {"api_base": server.base_url, "api_key": API_KEY, "max_retries": 0, "num_retries": 0}


#: The LiteLLM callback lists every ``litellm.Router`` adds itself to, for good.
ROUTER_CALLBACK_LISTS = (
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


@pytest.fixture
def forget_routers() -> Iterator[None]:
    """Takes the callbacks of the Routers a test built off LiteLLM's lists afterwards: they
    stay there otherwise, and past LiteLLM's limit of 100 a later test's callback is refused.

    A sync Router call runs LiteLLM's async code in a loop of its own, closed with LiteLLM's
    logging worker still waiting in it; collecting here finalizes that worker now rather than
    at whatever moment the collector next runs (inside ``compile``, it breaks CPython 3.11's
    parser)."""
    saved = {name: list(getattr(litellm, name, None) or ()) for name in ROUTER_CALLBACK_LISTS}
    yield
    gc.collect()
    for name, callbacks in saved.items():
        current = getattr(litellm, name, None)
        if isinstance(current, list):
            current[:] = callbacks
