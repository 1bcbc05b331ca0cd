"""LiteLLM Proxy retrieval routes: ``/v1/search/{tool}`` (web search through a configured
search tool, Perplexity's API on the loopback server) gets one ``retrieval`` span with who
asked and LiteLLM's cost, under the proxy's HTTP server span; a refused request gets the
refusal span, as for ``/chat/completions``.

The vector store route (``/v1/vector_stores/{id}/search``) reaches the wrapped
``litellm.vector_stores.asearch`` through the Router too; this tier does not exercise it
(its refusal span name is checked below).
"""

from __future__ import annotations

import pytest

from litellm_otel.proxy.refusals import _operation
from tests.proxy.conftest import SEARCH_TOOL, Proxy
from tests.proxy.test_proxy import (
    auth,
    check_continues_client_trace,
    exported_text,
    has_server_and,
    ours,
    proxy_attributes,
    refusal,
    traceparent,
)
from tests.support.loopback_server import SEARCH_RESULTS

QUERY = "latest loopback news, proxy-secret-query-9d1e"


@pytest.mark.parametrize(
    ("route", "operation"),
    [
        ("/v1/search", "retrieval"),
        ("/search/loopback-search", "retrieval"),
        ("/v1/vector_stores/vs_1/search", "retrieval"),
        ("/v1/chat/completions", "chat"),
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
def test_web_search_with_a_wrong_key_is_refused(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            f"/v1/search/{SEARCH_TOOL}",
            headers={**auth(proxy.keys.wrong), **header},
            json={"query": QUERY},
        )
    assert response.status_code == 401, response.text
    span, spans = refusal(proxy, trace_id)
    assert span.name == "proxy rejected retrieval"
    assert span.status_message == "auth"
    assert span.attributes["litellm.proxy.rejection_reason"] == "auth"
    assert span.attributes["http.response.status_code"] == 401
    check_continues_client_trace(span, spans, client_span_id, via=[])
