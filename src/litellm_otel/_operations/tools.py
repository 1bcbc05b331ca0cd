"""``execute_tool``: an MCP tool called through LiteLLM's MCP client.

``litellm.experimental_mcp_client.call_openai_tool(session, openai_tool)`` runs the tool call a
model asked for (an OpenAI ``tool_calls`` item) on an MCP session. The span is util-genai's tool
invocation (INTERNAL): ``gen_ai.tool.name`` and ``gen_ai.tool.call.id`` from the tool call, the
arguments and the result only with content capture on. A result with ``isError`` set is a
failed call to the conventions (``error.type`` ``tool_error``) although nothing is raised.

The MCP SDK traces the same call itself (an ``MCP send tools/call <name>`` CLIENT span, and the
server's ``tools/call <name>`` SERVER span) through the *global* tracer provider; those are
children of this span when that provider is the one given to ``instrument()``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.genai.invocation import ToolInvocation

from litellm_otel._access import field, text

#: The conventions' ``error.type`` for a tool call whose result says it failed.
TOOL_ERROR: Final = "tool_error"
#: The span name util-genai uses when a tool call names no tool.
UNNAMED_TOOL: Final = ""


def _function(params: Mapping[str, Any]) -> Any:
    return field(params.get("openai_tool"), "function")


def tool_name(params: Mapping[str, Any]) -> str:
    """``gen_ai.tool.name``: the function the model asked for."""
    return text(field(_function(params), "name")) or UNNAMED_TOOL


def tool_call_id(params: Mapping[str, Any]) -> str | None:
    return text(field(params.get("openai_tool"), "id"))


def tool_arguments(params: Mapping[str, Any]) -> Any:
    """The arguments as an object (what the conventions expect), as LiteLLM sends them: a JSON
    string is parsed; one that does not parse is kept as it is."""
    arguments = field(_function(params), "arguments")
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def apply_tool_request(
    invocation: ToolInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    invocation.tool_call_id = tool_call_id(params)
    if capture_content:
        invocation.arguments = tool_arguments(params)


def is_tool_error(result: Any) -> bool:
    """True when the MCP result says the tool failed (``isError``)."""
    return field(result, "is_error") is True or field(result, "isError") is True


def tool_result(result: Any) -> Any:
    """The result as JSON-ready data: the MCP result model's wire form."""
    dump = getattr(result, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_none=True)
    return result


def apply_tool_response(invocation: ToolInvocation, result: Any, capture_content: bool) -> None:
    if is_tool_error(result):
        invocation.attributes["error.type"] = TOOL_ERROR
    if capture_content:
        invocation.tool_result = tool_result(result)
