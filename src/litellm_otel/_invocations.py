"""Starting the util-genai invocation that matches a surface's kind.

Each kind has its own factory on util-genai's handler, with its own required fields: a
fetched response's id, a retrieval's data source, a tool's name. The surface says its kind
and, through ``start_fields``, where those fields come from in the call's arguments; this
module is the one place that knows which factory takes what.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.invocation import GenAIInvocation

from litellm_otel._operations import InvocationKind, Surface
from litellm_otel._providers import ResolvedTarget

#: Every invocation a call may get; the fields beyond ``GenAIInvocation``'s are set by the
#: surfaces' mappings, which know their kind.
Invocation = GenAIInvocation


def start_invocation(
    handler: TelemetryHandler,
    surface: Surface,
    target: ResolvedTarget,
    params: Mapping[str, Any],
    context: Context | None = None,
) -> Invocation:
    """Start the span of one call of ``surface`` (util-genai leaves it current: the caller
    suspends it)."""
    fields: dict[str, Any] = dict(surface.start_fields(params)) if surface.start_fields else {}
    provider = target.provider_name
    server = {"server_address": target.server_address, "server_port": target.server_port}
    kind = surface.kind
    if kind is InvocationKind.INFERENCE:
        return handler.inference(
            provider,
            request_model=target.request_model,
            operation_name=surface.operation_name,
            context=context,
            **server,
            **fields,
        )
    if kind is InvocationKind.EMBEDDING:
        return handler.embedding(
            provider, request_model=target.request_model, context=context, **server, **fields
        )
    if kind is InvocationKind.FETCH_RESPONSE:
        response_id = fields.pop("response_id", None)
        return handler.fetch_response(
            provider,
            response_id=response_id if isinstance(response_id, str) else "",
            context=context,
            **server,
            **fields,
        )
    if kind is InvocationKind.RETRIEVAL:
        return handler.retrieval(
            provider=provider,
            request_model=target.request_model,
            context=context,
            **server,
            **fields,
        )
    if kind is InvocationKind.TOOL:
        name = fields.pop("name", None)
        call_id = fields.pop("tool_call_id", None)
        tool = handler.tool(
            name if isinstance(name, str) else surface.operation_name, context=context, **fields
        )
        if isinstance(call_id, str):
            tool.tool_call_id = call_id
        return tool
    if kind is InvocationKind.REMOTE_AGENT:
        return handler.invoke_remote_agent(
            provider, request_model=target.request_model, context=context, **server, **fields
        )
    return handler.invoke_local_agent(request_model=target.request_model, context=context, **fields)
