"""What ``instrument()`` adds inside the LiteLLM Proxy: identity on spans and (bounded) on
metrics, refusal spans, and the caller's identity on the MCP gateway's tool call spans.

Inside the Proxy every model call already gets our GenAI span (the Proxy calls
``Router.acompletion`` & co., which call the wrapped ``litellm.acompletion``); the request hook
adds the Proxy's view of the caller (:mod:`litellm_otel.proxy.identity`) and the refusal
callback (:mod:`litellm_otel.proxy.refusals`) covers requests that never reached a provider.
The Proxy's cost and cache hit need nothing Proxy-specific: the GenAI span already records
``litellm.response_cost`` and ``litellm.cache_hit`` and the cost counter counts the same cost
(by key, team and user through the metric identity); a second copy would make backends that
sum cost count it twice.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, Final, cast

from litellm_otel.proxy import identity
from litellm_otel.proxy.mcp_gateway import GatewayToolCalls
from litellm_otel.proxy.refusals import ProxyCallback

#: The process's one refusal callback: ``instrument()`` registers it, the config path hands
#: it to LiteLLM, and both may happen in one process (it reports each refusal once).
CALLBACK: Final = ProxyCallback()

#: The process's one wrapper of the MCP gateway's tool calls
#: (:mod:`litellm_otel.proxy.mcp_gateway`).
MCP_TOOL_CALLS: Final = GatewayToolCalls()

#: The request hook ``instrument()`` hands the call recorder inside the Proxy.
request_hook: Final = identity.request_hook


def metric_identity(fields: Iterable[str], limit: int) -> identity.MetricIdentity:
    """The identity ``instrument()`` hands the call recorder for metric points: the allow-listed
    ``fields`` (``key_alias``, ``team_id``, …), each with at most ``limit`` distinct values."""
    return identity.MetricIdentity(fields, limit)


def running_in_proxy() -> bool:
    """True in the LiteLLM Proxy: its server is imported, or this is its CLI starting up
    (``opentelemetry-instrument litellm -c config.yaml`` instruments before the import)."""
    if "litellm.proxy.proxy_server" in sys.modules:
        return True
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    return program in ("litellm", "litellm-proxy")


def callback(tracer_provider: Any = None) -> ProxyCallback:
    """The callback object; a ``tracer_provider`` given to ``instrument()`` becomes its own."""
    if tracer_provider is not None:
        CALLBACK.tracer_provider = tracer_provider
    return CALLBACK


def register(litellm: Any, tracer_provider: Any = None) -> None:
    """Add the refusal callback to ``litellm.callbacks`` (once); wrap the MCP gateway's tool
    calls."""
    MCP_TOOL_CALLS.install()
    handler = callback(tracer_provider)
    callbacks = getattr(litellm, "callbacks", None)
    if not isinstance(callbacks, list):
        litellm.callbacks = [handler]
    elif handler not in callbacks:
        cast("list[Any]", callbacks).append(handler)


def unregister(litellm: Any) -> None:
    """Remove the refusal callback from LiteLLM's lists and the MCP gateway's wrapper
    (``uninstrument()``)."""
    MCP_TOOL_CALLS.remove()
    for name in ("callbacks", "_async_failure_callback", "failure_callback"):
        entries = getattr(litellm, name, None)
        if isinstance(entries, list):
            entries[:] = [entry for entry in cast("list[Any]", entries) if entry is not CALLBACK]
