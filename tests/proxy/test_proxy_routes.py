"""LiteLLM Proxy routes beyond the model calls, none of which needs a database:

* ``/v1/search/{tool}`` (web search through a configured search tool, Perplexity's API on the
  loopback server) and ``/v1/vector_stores/{id}/search`` (a store of the config's
  ``vector_store_registry``, OpenAI's API on the loopback server) get one ``retrieval`` span
  with who asked, under the proxy's HTTP server span;
* ``/mcp`` ``tools/call`` (a tool of the config's ``mcp_servers``, the MCP SDK's server on
  loopback) is one ``execute_tool`` span, the MCP SDK's own, which carries who asked: we add no
  second span for it (``litellm_otel.proxy.mcp_gateway``).

A refused request (wrong key) gets the refusal span, as for ``/chat/completions``.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from litellm_otel.proxy.refusals import _operation
from tests.proxy.conftest import MCP_SERVER, SCOPE, SEARCH_TOOL, VECTOR_STORE, Proxy
from tests.proxy.test_proxy import (
    TEAM_A,
    auth,
    check_continues_client_trace,
    exported_text,
    has_server_and,
    ours,
    proxy_attributes,
    refusal,
    traceparent,
)
from tests.support.loopback_server import SEARCH_RESULTS, SEARCH_SCORES
from tests.support.otlp_receiver import SpanRecord

QUERY = "latest loopback news, proxy-secret-query-9d1e"


@pytest.mark.parametrize(
    ("route", "operation"),
    [
        ("/v1/search", "retrieval"),
        ("/search/loopback-search", "retrieval"),
        ("/v1/vector_stores/vs_1/search", "retrieval"),
        ("/v1/chat/completions", "chat"),
        # one endpoint for every MCP method (initialize, tools/list, tools/call...)
        ("/mcp", "request"),
        ("/v1/models", "request"),
    ],
)
def test_refusals_name_the_retrieval_routes(route: str, operation: str) -> None:
    assert _operation(route) == operation


@pytest.mark.proxy
def test_web_search(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            f"/v1/search/{SEARCH_TOOL}",
            # a key without a team: LiteLLM checks a team key's search tool grants in its
            # database, which these proxies do not have
            headers={**auth(proxy.keys.budget), **header},
            json={"query": QUERY, "max_results": 5},
        )
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == SEARCH_RESULTS
    spans = proxy.trace(trace_id, has_server_and("CLIENT"))
    (search,) = ours(spans)
    assert search.name == "retrieval"
    assert search.status_code == "UNSET"
    assert search.attributes["gen_ai.operation.name"] == "retrieval"
    assert search.attributes["gen_ai.provider.name"] == "perplexity"
    assert search.attributes["gen_ai.retrieval.top_k"] == 5
    assert search.attributes["server.address"] == "127.0.0.1"
    identity = proxy_attributes(search)
    assert identity["litellm.proxy.key_alias"] == "budget-key"
    assert identity["litellm.proxy.user_id"] == "user-4"
    assert identity["litellm.proxy.model_group"] == SEARCH_TOOL
    # LiteLLM's price of one Perplexity search, what the proxy bills
    assert search.attributes["litellm.response_cost"] == pytest.approx(0.005)
    # the Router has no span of its own for searches: ours is the server span's child
    check_continues_client_trace(search, spans, client_span_id, via=[])
    assert QUERY not in exported_text(proxy)


@pytest.mark.proxy
def test_vector_store_search(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            f"/v1/vector_stores/{VECTOR_STORE}/search",
            headers={**auth(proxy.keys.team), **header},
            json={"query": QUERY, "max_num_results": 2},
        )
    assert response.status_code == 200, response.text
    assert [r["score"] for r in response.json()["data"]] == list(SEARCH_SCORES)
    spans = proxy.trace(trace_id, has_server_and("CLIENT"))
    (search,) = ours(spans)
    assert search.name == f"retrieval {VECTOR_STORE}"
    assert search.status_code == "UNSET"
    assert search.attributes["gen_ai.operation.name"] == "retrieval"
    assert search.attributes["gen_ai.data_source.id"] == VECTOR_STORE
    assert search.attributes["gen_ai.provider.name"] == "openai"
    assert search.attributes["gen_ai.retrieval.top_k"] == 2
    assert search.attributes["server.address"] == "127.0.0.1"
    # no model group: the store is the registry's, not a deployment's
    assert proxy_attributes(search) == TEAM_A
    # the Router hands vector store searches straight to LiteLLM: no Router span
    check_continues_client_trace(search, spans, client_span_id, via=[])
    assert QUERY not in exported_text(proxy)


@pytest.mark.proxy
@pytest.mark.parametrize(
    "path",
    [f"/v1/search/{SEARCH_TOOL}", f"/v1/vector_stores/{VECTOR_STORE}/search"],
    ids=["web-search", "vector-store"],
)
def test_retrieval_with_a_wrong_key_is_refused(proxy: Proxy, path: str) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            path, headers={**auth(proxy.keys.wrong), **header}, json={"query": QUERY}
        )
    assert response.status_code == 401, response.text
    span, spans = refusal(proxy, trace_id)
    assert span.name == "proxy rejected retrieval"
    assert span.status_message == "auth"
    assert span.attributes["litellm.proxy.rejection_reason"] == "auth"
    assert span.attributes["http.response.status_code"] == 401
    check_continues_client_trace(span, spans, client_span_id, via=[])


# -- the MCP gateway --------------------------------------------------------------------------

#: The MCP SDK's instrumentation scope.
MCP_SDK_SCOPE = "mcp-python-sdk"


def tool_executions(spans: list[SpanRecord]) -> list[SpanRecord]:
    return [s for s in spans if s.attributes.get("gen_ai.operation.name") == "execute_tool"]


def has_tool_call(spans: list[SpanRecord]) -> bool:
    """Predicate: the tool call's span and the HTTP server span of its request have arrived."""
    calls = tool_executions(spans)
    ids = {s.span_id for s in spans}
    return bool(calls) and all(s.parent_span_id in ids for s in calls)


async def call_tool(proxy: Proxy, key: str, headers: dict[str, str], tool: str, city: str) -> Any:
    """One ``tools/call`` through the proxy's ``/mcp``, with the MCP SDK's client."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    http = create_mcp_http_client(headers={**auth(key), **headers})
    transport = streamable_http_client(f"{proxy.base_url}/mcp", http_client=http)
    async with http, Client(transport, mode="legacy") as client:
        return await client.call_tool(f"{MCP_SERVER}-{tool}", {"city": city})


def check_one_tool_execution(
    proxy: Proxy, trace_id: str, client_span_id: str, tool: str
) -> SpanRecord:
    """The trace has one ``execute_tool`` span, the MCP SDK's server span, with who asked."""
    spans = proxy.trace(trace_id, has_tool_call)
    (span,) = tool_executions(spans)
    assert span.scope_name == MCP_SDK_SCOPE
    assert span.kind == "SERVER"
    assert span.name == f"tools/call {MCP_SERVER}-{tool}"
    assert span.attributes["gen_ai.tool.name"] == f"{MCP_SERVER}-{tool}"
    assert proxy_attributes(span) == TEAM_A
    # no span of ours for the call: the SDK's is the tool execution
    assert [s for s in spans if s.scope_name == SCOPE] == []
    check_continues_client_trace(span, spans, client_span_id, via=[])
    return span


@pytest.mark.proxy
async def test_mcp_tool_call(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    city = f"Paris-{secrets.token_hex(4)}"
    result = await call_tool(proxy, proxy.keys.team, header, "get_weather", city)
    assert result.is_error is False
    assert result.content[0].text == f"sunny in {city}"
    span = check_one_tool_execution(proxy, trace_id, client_span_id, "get_weather")
    assert span.status_code == "UNSET"
    assert "error.type" not in span.attributes
    assert city not in exported_text(proxy)


@pytest.mark.proxy
async def test_mcp_tool_call_that_fails(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    result = await call_tool(proxy, proxy.keys.team, header, "broken", "Paris")
    assert result.is_error is True
    span = check_one_tool_execution(proxy, trace_id, client_span_id, "broken")
    assert span.status_code == "ERROR"
    assert span.attributes["error.type"] == "tool_error"


@pytest.mark.proxy
def test_mcp_with_a_wrong_key_is_refused(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            "/mcp",
            headers={
                **auth(proxy.keys.wrong),
                **header,
                "accept": "application/json, text/event-stream",
            },
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": f"{MCP_SERVER}-get_weather", "arguments": {"city": "x"}},
            },
        )
    assert response.status_code == 401, response.text
    span, spans = refusal(proxy, trace_id)
    assert span.name == "proxy rejected request"
    assert span.attributes["litellm.proxy.rejection_reason"] == "auth"
    assert span.attributes["http.response.status_code"] == 401
    assert tool_executions(spans) == []
    check_continues_client_trace(span, spans, client_span_id, via=[])
