"""The Proxy's MCP gateway: who called a tool, on the tool call's one span.

A ``tools/call`` request to the Proxy's ``/mcp`` is served by the MCP SDK's server, whose
middleware already traces it as the conventions' tool execution: a SERVER span
``tools/call <tool>`` with ``gen_ai.operation.name`` ``execute_tool`` and ``gen_ai.tool.name``,
the parent of the SDK's client span towards the upstream MCP server. A span of ours for the same
call would be a second ``execute_tool`` span for one tool call, so none is made. Instead
LiteLLM's ``call_mcp_tool`` (the gateway's tool call, handed the request's Proxy metadata as
for a model call) is wrapped to put the caller's identity (:mod:`litellm_otel.proxy.identity`)
on that span, the one the conventions call the tool execution.

Only a span that is current, recording, and traces this very tool (its operation and tool name)
gets the attributes; with the SDK's tracing off or the request not sampled nothing is added.
The module is wrapped where it loads (now, or on its import: never imported by us), like the
entry points (:mod:`litellm_otel._entry_points`).
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Mapping
from typing import Any, Final

import wrapt
from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_TOOL_NAME,
)

from litellm_otel._access import mapping
from litellm_otel._failsafe import report_failure
from litellm_otel.proxy import identity

#: Where the Proxy's MCP gateway runs a tool call (``_execute_mcp_server_tool_call`` calls it
#: through the module's globals): newer releases moved the package out of ``_experimental``,
#: keeping the old name as an alias of it.
OPERATIONS_MODULES: Final = (
    "litellm.proxy.mcp_server.operations",
    "litellm.proxy._experimental.mcp_server.operations",
)
TOOL_CALL: Final = "call_mcp_tool"
EXECUTE_TOOL: Final = "execute_tool"


def tool_call_span(tool_name: object) -> Any:
    """The current span when it is recording and traces the execution of ``tool_name``."""
    span = trace.get_current_span()
    if not isinstance(tool_name, str) or not span.is_recording():
        return None
    # ``attributes`` is the SDK span's read view; a span without one is not ours to judge.
    attributes = mapping(getattr(span, "attributes", None))
    if attributes is None:
        return None
    if (
        attributes.get(GEN_AI_OPERATION_NAME) != EXECUTE_TOOL
        or attributes.get(GEN_AI_TOOL_NAME) != tool_name
    ):
        return None
    return span


def record_caller(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Put the caller's identity on the span tracing this tool call, if there is one."""
    tool_name = args[0] if args else kwargs.get("name")
    span = tool_call_span(tool_name)
    if span is None:
        return
    attributes = identity.request_attributes(kwargs)
    if attributes:
        span.set_attributes(attributes)


class GatewayToolCalls:
    """The wrapper of ``call_mcp_tool``: placed now or on import, removed by :meth:`remove`.

    Import hooks cannot be unregistered: one still waiting after :meth:`remove` does nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = False
        #: (module, original, wrapper) of each module holding our wrapper.
        self._placed: list[tuple[types.ModuleType, Any, Any]] = []

    def install(self) -> None:
        with self._lock:
            if self._active:
                return
            self._active = True
        for name in OPERATIONS_MODULES:
            module = sys.modules.get(name)
            if module is not None:
                self._wrap(module)
            else:
                wrapt.register_post_import_hook(self._on_import, name)

    def remove(self) -> None:
        with self._lock:
            self._active = False
            placed, self._placed = self._placed, []
        for module, original, wrapper in reversed(placed):
            if vars(module).get(TOOL_CALL) is wrapper:
                setattr(module, TOOL_CALL, original)

    @property
    def wrapped(self) -> tuple[str, ...]:
        """The modules whose ``call_mcp_tool`` is our wrapper."""
        with self._lock:
            return tuple(module.__name__ for module, _, _ in self._placed)

    def _on_import(self, module: types.ModuleType) -> None:
        # Runs inside the Proxy's import statement: nothing may escape.
        try:
            self._wrap(module)
        except Exception:
            report_failure("wrapping the LiteLLM Proxy's MCP tool calls")

    def _wrap(self, module: types.ModuleType) -> None:
        with self._lock:
            original = vars(module).get(TOOL_CALL)
            if (
                not self._active
                or not callable(original)
                # one module under its two names
                or any(original is wrapper for _, _, wrapper in self._placed)
            ):
                return
            wrapper = wrapt.FunctionWrapper(original, _tool_call_wrapper(self))
            setattr(module, TOOL_CALL, wrapper)
            self._placed.append((module, original, wrapper))

    def active(self) -> bool:
        return self._active


def _tool_call_wrapper(calls: GatewayToolCalls) -> Callable[..., Any]:
    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if calls.active():
            try:
                record_caller(args, kwargs)
            except Exception:
                report_failure("recording who called an MCP tool through the Proxy")
        return await wrapped(*args, **kwargs)

    return wrapper
