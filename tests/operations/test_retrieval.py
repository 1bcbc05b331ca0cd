"""``retrieval`` spans: vector store search, web search and the RAG query, against the loopback
server (OpenAI's vector store API, Perplexity's Search API, chat completions)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.loopback_server import SEARCH_RESULTS, LoopbackLLMServer
from tests.support.telemetry import API_KEY, PROMPT, Telemetry, user_messages

vector_stores = getattr(litellm, "vector_stores", None)
if getattr(vector_stores, "search", None) is None or getattr(litellm, "query", None) is None:
    pytest.skip(
        "this LiteLLM release has no litellm.vector_stores.search nor litellm.query "
        "(both arrived after the oldest release we support)",
        allow_module_level=True,
    )

STORE = "vs_loopback_1"


def endpoint(server: LoopbackLLMServer) -> dict[str, Any]:
    return {"api_base": server.base_url, "api_key": API_KEY}


def assert_no_prompt(span: ReadableSpan) -> None:
    assert PROMPT not in json.dumps(dict(span.attributes or {}))


def retrieval_attributes(server: LoopbackLLMServer, **extra: Any) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "retrieval",
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "litellm.provider": "openai",
        **extra,
    }


# -- vector store search ---------------------------------------------------------------------


def test_vector_store_search(traced: Telemetry, server: LoopbackLLMServer) -> None:
    response = vector_stores.search(
        vector_store_id=STORE, query=PROMPT, max_num_results=1, **endpoint(server)
    )

    assert [result["file_id"] for result in response["data"]] == ["file-loopback-1"]
    span = traced.only_span()
    assert span.name == f"retrieval {STORE}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == retrieval_attributes(
        server, **{"gen_ai.data_source.id": STORE, "gen_ai.retrieval.top_k": 1}
    )
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["gen_ai.operation.name"] == "retrieval"
    assert "gen_ai.data_source.id" not in point.attributes  # unbounded: kept off metrics
    assert_no_prompt(span)


def test_vector_store_search_is_the_same_in_both_modes(
    instrument: Callable[..., Telemetry], server: LoopbackLLMServer, conventions_mode: str
) -> None:
    """Retrieval is not inference: the latest mode changes neither its span nor its metric."""
    telemetry = instrument()
    vector_stores.search(vector_store_id=STORE, query=PROMPT, max_num_results=1, **endpoint(server))

    assert dict(telemetry.only_span().attributes or {}) == retrieval_attributes(
        server, **{"gen_ai.data_source.id": STORE, "gen_ai.retrieval.top_k": 1}
    )
    (point,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert point.attributes == {
        "gen_ai.operation.name": "retrieval",
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }
    assert telemetry.metric_points("gen_ai.client.inference.duration") == []
    assert telemetry.metric_points("gen_ai.client.inference.usage.input_tokens") == []


async def test_vector_store_asearch_is_one_span(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    """``asearch`` runs ``search`` in a thread: still one span, parented where it was called."""
    tracer = traced.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("caller") as caller:
        response = await vector_stores.asearch(
            vector_store_id=STORE, query=PROMPT, **endpoint(server)
        )

    assert len(response["data"]) == SEARCH_RESULTS
    spans = {span.name: span for span in traced.finished()}
    assert sorted(spans) == ["caller", f"retrieval {STORE}"]
    span = spans[f"retrieval {STORE}"]
    assert span.parent is not None
    assert span.parent.span_id == caller.get_span_context().span_id
    assert dict(span.attributes or {}) == retrieval_attributes(
        server, **{"gen_ai.data_source.id": STORE}
    )


def test_vector_store_search_with_content_capture(
    instrument: Callable[..., Telemetry], server: LoopbackLLMServer
) -> None:
    telemetry = instrument(capture_content=True)
    vector_stores.search(vector_store_id=STORE, query=PROMPT, **endpoint(server))

    attributes = dict(telemetry.only_span().attributes or {})
    assert attributes["gen_ai.retrieval.query.text"] == PROMPT
    assert json.loads(attributes["gen_ai.retrieval.documents"]) == [
        {"id": "file-loopback-1", "score": 0.9},
        {"id": "file-loopback-2", "score": 0.5},
    ]
    assert "chunk 1" not in attributes["gen_ai.retrieval.documents"]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_vector_store_search_error(
    traced: Telemetry, server: LoopbackLLMServer, asynchronous: bool
) -> None:
    with pytest.raises(litellm.InternalServerError) as raised:
        if asynchronous:
            await vector_stores.asearch(
                vector_store_id="error-500", query=PROMPT, **endpoint(server)
            )
        else:
            vector_stores.search(vector_store_id="error-500", query=PROMPT, **endpoint(server))

    span = traced.only_span()
    assert span.name == "retrieval error-500"
    assert span.status.status_code is StatusCode.ERROR
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == type(raised.value).__qualname__
    assert attributes["gen_ai.data_source.id"] == "error-500"
    assert attributes["http.response.status_code"] == 500
    assert API_KEY not in json.dumps(attributes)
    assert_no_prompt(span)


def test_vector_store_mock_response_is_one_span_without_server(traced: Telemetry) -> None:
    """LiteLLM's ``mock_response`` answers without a request: the span says where it would go."""
    response = vector_stores.search(vector_store_id=STORE, query=PROMPT, mock_response="hit")

    assert response["data"][0]["score"] == 0.95
    span = traced.only_span()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.data_source.id"] == STORE
    assert attributes["gen_ai.provider.name"] == "openai"


# -- web search ------------------------------------------------------------------------------


def web_search_attributes(server: LoopbackLLMServer, **extra: Any) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "retrieval",
        "gen_ai.provider.name": "perplexity",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "litellm.provider": "perplexity",
        **extra,
    }


def test_web_search(traced: Telemetry, server: LoopbackLLMServer) -> None:
    response = litellm.search(
        query=PROMPT, search_provider="perplexity", max_results=1, **endpoint(server)
    )

    assert [result.url for result in response.results] == ["https://loopback.invalid/1"]
    span = traced.only_span()
    assert span.name == "retrieval"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == web_search_attributes(
        server,
        **{
            "gen_ai.retrieval.top_k": 1,
            "litellm.response_cost": response._hidden_params["response_cost"],
        },
    )
    assert response._hidden_params["response_cost"] > 0
    assert_no_prompt(span)


async def test_web_asearch_is_one_span(traced: Telemetry, server: LoopbackLLMServer) -> None:
    response = await litellm.asearch(query=PROMPT, search_provider="perplexity", **endpoint(server))

    assert len(response.results) == SEARCH_RESULTS
    span = traced.only_span()
    assert dict(span.attributes or {}) == web_search_attributes(
        server, **{"litellm.response_cost": response._hidden_params["response_cost"]}
    )


def test_web_search_with_content_capture(
    instrument: Callable[..., Telemetry], server: LoopbackLLMServer
) -> None:
    telemetry = instrument(capture_content=True)
    litellm.search(query=PROMPT, search_provider="perplexity", **endpoint(server))

    attributes = dict(telemetry.only_span().attributes or {})
    assert attributes["gen_ai.retrieval.query.text"] == PROMPT
    assert [
        document["id"] for document in json.loads(attributes["gen_ai.retrieval.documents"])
    ] == [
        "https://loopback.invalid/1",
        "https://loopback.invalid/2",
    ]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_web_search_error(
    traced: Telemetry, server: LoopbackLLMServer, asynchronous: bool
) -> None:
    arguments = {
        "query": PROMPT,
        "search_provider": "perplexity",
        "extra_headers": {"x-loopback-mode": "error-429"},
        **endpoint(server),
    }
    with pytest.raises(litellm.RateLimitError) as raised:
        if asynchronous:
            await litellm.asearch(**arguments)
        else:
            litellm.search(**arguments)

    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == type(raised.value).__qualname__
    assert attributes["gen_ai.provider.name"] == "perplexity"
    assert attributes["http.response.status_code"] == 429
    assert API_KEY not in json.dumps(attributes)


# -- RAG query -------------------------------------------------------------------------------


def rag_arguments(server: LoopbackLLMServer, **extra: Any) -> dict[str, Any]:
    return {
        "model": "openai/gpt-4o-mini",
        "messages": user_messages(),
        "retrieval_config": {"vector_store_id": STORE, "top_k": 2},
        **endpoint(server),
        **extra,
    }


def rag_family(telemetry: Telemetry) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The RAG query's span and its children, checking nothing else was exported."""
    spans = telemetry.finished()
    (rag,) = [span for span in spans if span.parent is None]
    children = [span for span in spans if span is not rag]
    for child in children:
        assert child.parent is not None
        assert child.parent.span_id == rag.context.span_id
        assert child.context.trace_id == rag.context.trace_id
    return rag, children


def check_rag_span(rag: ReadableSpan, server: LoopbackLLMServer) -> None:
    assert rag.name == f"retrieval {STORE}"
    assert rag.kind is SpanKind.CLIENT
    assert rag.status.status_code is StatusCode.UNSET
    attributes = dict(rag.attributes or {})
    assert attributes["gen_ai.operation.name"] == "retrieval"
    assert attributes["gen_ai.data_source.id"] == STORE
    assert attributes["gen_ai.retrieval.top_k"] == 2
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    # the cost is the children's: counted once
    assert "litellm.response_cost" not in attributes
    assert_no_prompt(rag)


def check_rag_children(children: list[ReadableSpan], server: LoopbackLLMServer) -> None:
    names = sorted(child.name for child in children)
    assert names == ["chat gpt-4o-mini", f"retrieval {STORE}"]
    by_name = {child.name: child for child in children}
    chat = by_name["chat gpt-4o-mini"]
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 12
    assert chat.attributes["litellm.response_cost"] > 0
    search = by_name[f"retrieval {STORE}"]
    assert search.attributes["gen_ai.retrieval.top_k"] == 2
    assert search.start_time < chat.start_time  # search first, then the completion


def test_rag_query_is_a_retrieval_span_with_its_calls_as_children(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    # LiteLLM's sync query runs the pipeline on ``asyncio.get_event_loop()``: give it one
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        response = litellm.query(**rag_arguments(server))
    finally:
        asyncio.set_event_loop(None)
        loop.close()

    assert response.choices[0].message.content == "Hello from loopback"
    rag, children = rag_family(traced)
    check_rag_span(rag, server)
    check_rag_children(children, server)
    assert [request.path for request in server.requests] == [
        f"/v1/vector_stores/{STORE}/search",
        "/v1/chat/completions",
    ]


async def test_rag_aquery(traced: Telemetry, server: LoopbackLLMServer) -> None:
    response = await litellm.aquery(**rag_arguments(server))

    assert response.choices[0].message.content == "Hello from loopback"
    rag, children = rag_family(traced)
    check_rag_span(rag, server)
    check_rag_children(children, server)


async def test_rag_aquery_with_rerank_has_the_rerank_as_a_child(
    traced: Telemetry, server: LoopbackLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LiteLLM's RAG calls arerank without the call's api_base: Cohere's settings route it
    monkeypatch.setenv("COHERE_API_BASE", server.base_url.removesuffix("/v1"))
    monkeypatch.setenv("COHERE_API_KEY", API_KEY)
    rerank = {"enabled": True, "model": "cohere/rerank-english-v3.0", "top_n": 1}
    response = await litellm.aquery(**rag_arguments(server, rerank=rerank))

    assert response.choices[0].message.content == "Hello from loopback"
    rag, children = rag_family(traced)
    check_rag_span(rag, server)
    assert sorted(child.name for child in children) == [
        "chat gpt-4o-mini",
        "rerank rerank-english-v3.0",
        f"retrieval {STORE}",
    ]
    ordered = sorted(children, key=lambda child: child.start_time)
    assert [child.name.split()[0] for child in ordered] == ["retrieval", "rerank", "chat"]


async def test_rag_module_aquery_is_the_same_entry_point(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    await litellm.rag.aquery(**rag_arguments(server))

    rag, children = rag_family(traced)
    check_rag_span(rag, server)
    assert len(children) == 2


async def test_rag_aquery_stream_ends_with_the_stream(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    stream = await litellm.aquery(**rag_arguments(server, stream=True))
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])

    assert text == "Hello from loopback"
    rag, children = rag_family(traced)
    check_rag_span(rag, server)
    assert sorted(child.name for child in children) == ["chat gpt-4o-mini", f"retrieval {STORE}"]
    chat = next(child for child in children if child.name.startswith("chat"))
    # the RAG span ends once its stream did, not before the answer arrived
    assert rag.end_time >= chat.end_time


async def test_rag_aquery_error_in_the_completion(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    with pytest.raises(litellm.InternalServerError):
        await litellm.aquery(**rag_arguments(server, model="openai/error-500"))

    rag, children = rag_family(traced)
    assert rag.status.status_code is StatusCode.ERROR
    assert rag.attributes["error.type"] == "InternalServerError"
    chat = next(child for child in children if child.name.startswith("chat"))
    assert chat.status.status_code is StatusCode.ERROR
    assert API_KEY not in json.dumps(dict(rag.attributes or {}))
