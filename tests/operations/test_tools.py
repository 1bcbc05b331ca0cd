"""``execute_tool`` spans for MCP tool calls made through LiteLLM's MCP client, against an MCP
server running in-process (the MCP SDK's in-memory transport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.telemetry import PROMPT, Telemetry

try:
    from litellm.experimental_mcp_client import call_openai_tool
    from mcp import Client
    from mcp.server.mcpserver import MCPServer
except ImportError as missing:  # the oldest LiteLLM's MCP client needs an older pydantic
    pytest.skip(
        f"LiteLLM's MCP client does not import in this environment: {missing}",
        allow_module_level=True,
    )


def weather_server() -> MCPServer:
    server = MCPServer("weather")

    @server.tool()
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    @server.tool()
    def broken(city: str) -> str:
        """A tool that fails."""
        raise ValueError(f"no weather for {city}")

    return server


def connected() -> Any:
    """An MCP client connected to the weather server in-process (entered in the test's own
    task: the SDK's cancel scopes must be left where they were entered)."""
    return Client(weather_server())


def tool_call(name: str = "get_weather", call_id: str = "call_weather_1") -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps({"city": PROMPT})},
    }


async def test_tool_call_is_one_internal_span(traced: Telemetry) -> None:
    tracer = traced.tracer_provider.get_tracer("test")
    async with connected() as client:
        with tracer.start_as_current_span("agent step") as step:
            result = await call_openai_tool(client.session, tool_call())

    assert result.content[0].text == f"sunny in {PROMPT}"
    spans = {span.name: span for span in traced.finished()}
    assert sorted(spans) == ["agent step", "execute_tool get_weather"]
    span = spans["execute_tool get_weather"]
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is not None
    assert span.parent.span_id == step.get_span_context().span_id
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_weather_1",
    }
    (point,) = traced.metric_points("gen_ai.execute_tool.duration")
    assert point.attributes["gen_ai.tool.name"] == "get_weather"


async def test_tool_arguments_and_result_with_content_capture(
    instrument: Callable[..., Telemetry],
) -> None:
    telemetry = instrument(capture_content=True)
    async with connected() as client:
        await call_openai_tool(client.session, tool_call())

    attributes = dict(telemetry.only_span().attributes or {})
    assert json.loads(attributes["gen_ai.tool.call.arguments"]) == {"city": PROMPT}
    result = json.loads(attributes["gen_ai.tool.call.result"])
    assert result["content"] == [{"type": "text", "text": f"sunny in {PROMPT}"}]
    assert "isError" not in result or result["isError"] is False


async def test_no_arguments_nor_result_without_capture(traced: Telemetry) -> None:
    async with connected() as client:
        await call_openai_tool(client.session, tool_call())

    assert PROMPT not in json.dumps(dict(traced.only_span().attributes or {}))


async def test_a_failed_tool_is_a_tool_error(traced: Telemetry) -> None:
    """The MCP server reports the failure in the result (``isError``); nothing is raised."""
    async with connected() as client:
        result = await call_openai_tool(client.session, tool_call("broken", "call_2"))

    assert result.is_error is True
    span = traced.only_span()
    assert span.name == "execute_tool broken"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "tool_error"
    assert span.attributes["gen_ai.tool.call.id"] == "call_2"
    assert PROMPT not in json.dumps(dict(span.attributes or {}))


async def test_a_call_that_raises_keeps_its_exception(traced: Telemetry) -> None:
    async with connected() as client:
        closed = client.session
    with pytest.raises(Exception) as raised:
        await call_openai_tool(closed, tool_call())

    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.attributes["gen_ai.tool.name"] == "get_weather"


async def test_tool_call_is_the_same_in_both_modes(
    instrument: Callable[..., Telemetry], conventions_mode: str
) -> None:
    telemetry = instrument()
    async with connected() as client:
        await call_openai_tool(client.session, tool_call())

    assert dict(telemetry.only_span().attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_weather_1",
    }
    (point,) = telemetry.metric_points("gen_ai.execute_tool.duration")
    assert point.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
    }
    assert telemetry.metric_points("gen_ai.client.operation.duration") == []


async def test_event_only_capture_records_no_tool_content(
    instrument: Callable[..., Telemetry],
) -> None:
    """util-genai's tool invocation puts arguments and result on the span only, and emits no
    content event: with ``EVENT_ONLY`` they are recorded nowhere."""
    telemetry = instrument(capture_content="EVENT_ONLY")
    async with connected() as client:
        await call_openai_tool(client.session, tool_call())

    assert PROMPT not in json.dumps(dict(telemetry.only_span().attributes or {}))
    assert telemetry.logs.get_finished_logs() == ()
