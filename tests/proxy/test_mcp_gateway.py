"""The Proxy's MCP gateway, in-process: the caller's identity goes on the MCP SDK's
``tools/call`` span of the same tool, and no span of ours is added (the Proxy-tier tests in
``test_proxy_routes.py`` run it end to end)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
import wrapt
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, use_span

from litellm_otel._failsafe import reset_reported
from litellm_otel.proxy import identity, integration, mcp_gateway
from litellm_otel.proxy.mcp_gateway import GatewayToolCalls, record_caller
from tests.support.telemetry import Telemetry

TOOL = "weather-get_weather"
KEY_HASH = "88dc28d0f030c55ed0d69e8a7c31a8d8a0fa1bd6a1ec5d3a4d2a7ae0bd2d4f21"
#: What the gateway hands ``call_mcp_tool``: the tool call and the Proxy's metadata.
CALL: dict[str, Any] = {
    "name": TOOL,
    "arguments": {"city": "Paris"},
    "metadata": {
        "user_api_key_request_route": "/mcp/tools/call",
        "user_api_key_hash": KEY_HASH,
        "user_api_key_alias": "team-a-key",
        "user_api_key_team_id": "team-a",
        "user_api_key_user_id": "user-1",
        "headers": {"authorization": "Bearer sk-SECRET"},
    },
}
IDENTITY = {
    "litellm.proxy.key_alias": "team-a-key",
    "litellm.proxy.team_id": "team-a",
    "litellm.proxy.user_id": "user-1",
}


def sdk_span(telemetry: Telemetry, tool: str = TOOL, operation: str = "execute_tool") -> Any:
    """A span as the MCP SDK's server middleware starts it for ``tools/call <tool>``."""
    tracer = telemetry.tracer_provider.get_tracer("mcp-python-sdk")
    return tracer.start_span(
        f"tools/call {tool}",
        kind=SpanKind.SERVER,
        attributes={
            "mcp.method.name": "tools/call",
            "gen_ai.operation.name": operation,
            "gen_ai.tool.name": tool,
        },
    )


def finished_attributes(telemetry: Telemetry) -> dict[str, Any]:
    (span,) = telemetry.finished()
    return dict(span.attributes or {})


def test_identity_goes_on_the_sdk_span_of_the_tool(telemetry: Telemetry) -> None:
    span = sdk_span(telemetry)
    with use_span(span, end_on_exit=True):
        record_caller((), CALL)
    attributes = finished_attributes(telemetry)
    assert {k: v for k, v in attributes.items() if k.startswith("litellm.")} == IDENTITY
    assert "sk-SECRET" not in repr(attributes)
    assert KEY_HASH not in repr(attributes)


def test_positional_tool_name(telemetry: Telemetry) -> None:
    span = sdk_span(telemetry)
    with use_span(span, end_on_exit=True):
        record_caller((TOOL,), {k: v for k, v in CALL.items() if k != "name"})
    assert finished_attributes(telemetry)["litellm.proxy.key_alias"] == "team-a-key"


@pytest.mark.parametrize(
    ("tool", "operation"),
    [("weather-broken", "execute_tool"), (TOOL, None)],
    ids=["another tool's span", "not a tool execution span"],
)
def test_other_spans_are_left_alone(telemetry: Telemetry, tool: str, operation: str | None) -> None:
    span = sdk_span(telemetry, tool, operation or "chat")
    with use_span(span, end_on_exit=True):
        record_caller((), CALL)
    assert not [k for k in finished_attributes(telemetry) if k.startswith("litellm.")]


def test_no_current_span_or_not_recording_adds_nothing(telemetry: Telemetry) -> None:
    record_caller((), CALL)
    context = SpanContext(trace_id=1, span_id=2, is_remote=True)
    with use_span(NonRecordingSpan(context)):
        record_caller((), CALL)
    assert telemetry.finished() == []


def test_a_call_outside_the_proxy_adds_nothing(telemetry: Telemetry) -> None:
    span = sdk_span(telemetry)
    with use_span(span, end_on_exit=True):
        record_caller((), {"name": TOOL, "metadata": {"user_api_key_alias": "look-alike"}})
    assert not [k for k in finished_attributes(telemetry) if k.startswith("litellm.")]


# -- the wrapper of ``call_mcp_tool`` -------------------------------------------------------


class ToolError(Exception):
    pass


def operations_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)

    async def call_mcp_tool(name: str, arguments: Any = None, **kwargs: Any) -> str:
        if name == "weather-broken":
            raise ToolError("no weather")
        return f"called {name}"

    module.call_mcp_tool = call_mcp_tool  # type: ignore[attr-defined]
    return module


@pytest.fixture
def calls() -> Iterator[GatewayToolCalls]:
    calls = GatewayToolCalls()
    reset_reported()
    yield calls
    calls.remove()


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The gateway's module, loaded (under its newer name, the older one an alias of it)."""
    new, old = mcp_gateway.OPERATIONS_MODULES
    module = operations_module(new)
    monkeypatch.setitem(sys.modules, new, module)
    monkeypatch.setitem(sys.modules, old, module)
    return module


async def test_the_wrapper_records_the_caller_and_returns_the_result(
    telemetry: Telemetry, calls: GatewayToolCalls, loaded: types.ModuleType
) -> None:
    original = loaded.call_mcp_tool
    calls.install()
    assert calls.wrapped == (mcp_gateway.OPERATIONS_MODULES[0],)  # one module, two names: once
    span = sdk_span(telemetry)
    with use_span(span, end_on_exit=True):
        assert await loaded.call_mcp_tool(**CALL) == f"called {TOOL}"
    assert finished_attributes(telemetry)["litellm.proxy.team_id"] == "team-a"
    calls.remove()
    assert loaded.call_mcp_tool is original
    assert calls.wrapped == ()


async def test_the_calls_exception_is_the_callers(
    telemetry: Telemetry, calls: GatewayToolCalls, loaded: types.ModuleType
) -> None:
    calls.install()
    span = sdk_span(telemetry, "weather-broken")
    with pytest.raises(ToolError, match="no weather"), use_span(span, end_on_exit=True):
        await loaded.call_mcp_tool(**{**CALL, "name": "weather-broken"})
    assert finished_attributes(telemetry)["litellm.proxy.key_alias"] == "team-a-key"


async def test_a_bug_of_ours_leaves_the_call_alone(
    telemetry: Telemetry,
    calls: GatewayToolCalls,
    loaded: types.ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(params: Any) -> dict[str, str]:
        raise RuntimeError("our bug")

    monkeypatch.setattr(identity, "request_attributes", broken)
    calls.install()
    with use_span(sdk_span(telemetry), end_on_exit=True):
        assert await loaded.call_mcp_tool(**CALL) == f"called {TOOL}"
    assert "telemetry failed while recording who called an MCP tool" in caplog.text


def test_a_module_imported_later_is_wrapped_on_import(
    calls: GatewayToolCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = mcp_gateway.OPERATIONS_MODULES[1]
    for module_name in mcp_gateway.OPERATIONS_MODULES:
        monkeypatch.delitem(sys.modules, module_name, raising=False)
    calls.install()
    assert calls.wrapped == ()
    module = operations_module(name)
    monkeypatch.setitem(sys.modules, name, module)
    wrapt.notify_module_loaded(module)
    assert calls.wrapped == (name,)
    assert isinstance(module.call_mcp_tool, wrapt.FunctionWrapper)


def test_a_hook_firing_after_remove_does_nothing(
    calls: GatewayToolCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = mcp_gateway.OPERATIONS_MODULES[0]
    for module_name in mcp_gateway.OPERATIONS_MODULES:
        monkeypatch.delitem(sys.modules, module_name, raising=False)
    calls.install()
    calls.remove()
    module = operations_module(name)
    original = module.call_mcp_tool
    monkeypatch.setitem(sys.modules, name, module)
    wrapt.notify_module_loaded(module)
    assert module.call_mcp_tool is original


def test_the_proxy_integration_installs_and_removes_the_wrapper(
    loaded: types.ModuleType,
) -> None:
    original = loaded.call_mcp_tool
    fake_litellm = types.SimpleNamespace(callbacks=[])
    integration.register(fake_litellm)
    try:
        assert isinstance(loaded.call_mcp_tool, wrapt.FunctionWrapper)
    finally:
        integration.unregister(fake_litellm)
    assert loaded.call_mcp_tool is original
