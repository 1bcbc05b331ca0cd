"""``retrieval``: vector store search, web search and LiteLLM's RAG query.

The conventions' retrieval span names the data source (``gen_ai.data_source.id``, the vector
store) and how many documents were asked for (``gen_ai.retrieval.top_k``); util-genai takes the
data source only when the invocation starts, so :func:`vector_store_id` and :func:`rag_store_id`
read it from the call's arguments beforehand. Neither search names a model: the provider comes
from ``custom_llm_provider`` (LiteLLM's default for vector stores is OpenAI's) or
``search_provider``, which the routing functions hand to the provider resolver.

With content capture on, the query is ``gen_ai.retrieval.query.text`` and each result is a
document of its id (file id, or URL for web search) and score; the documents' text never is.

A RAG query (``litellm.query``) is a composite: LiteLLM searches the vector store, may rerank,
then calls ``acompletion``; those calls are its children, with their own provider, usage and
cost. Its own span carries what the caller asked for: the store, ``top_k``, and the model that
answers with its provider and server (the call's own arguments, read as for chat). It carries no
cost, which its children already count: LiteLLM folds the search cost into the completion's
response, so reading it here would count the completion twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry.util.genai.invocation import RetrievalInvocation
from opentelemetry.util.genai.types import RetrievalDocument

from litellm_otel._access import field, integer, number, text
from litellm_otel._operations.facts import record_litellm_facts

#: The provider LiteLLM's vector store functions use when none is given.
DEFAULT_VECTOR_STORE_PROVIDER: Final = "openai"
#: How many results LiteLLM's RAG query asks the vector store for when ``top_k`` is not set.
DEFAULT_RAG_TOP_K: Final = 10


def _provider_id(value: object, default: str | None) -> str | None:
    """LiteLLM's provider id; ``vertex_ai/<api type>`` style values name it before the slash."""
    provider = text(value)
    if provider is None:
        return default
    return provider.partition("/")[0] or default


def _query_text(query: object) -> str | None:
    """The query as one string; a list of queries (which LiteLLM accepts) one per line."""
    if isinstance(query, str):
        return query
    if isinstance(query, (list, tuple)):
        parts = [part for part in query if isinstance(part, str)]  # pyright: ignore[reportUnknownVariableType]
        return "\n".join(parts) if parts else None
    return None


def _top_k(value: object) -> int | None:
    count = integer(value)
    return count if count is not None and count > 0 else None


# -- litellm.vector_stores.search / asearch ---------------------------------------------------


def vector_store_id(params: Mapping[str, Any]) -> str | None:
    """``gen_ai.data_source.id``: the store searched."""
    return text(params.get("vector_store_id"))


def vector_store_routing(params: Mapping[str, Any]) -> dict[str, Any]:
    """What the provider resolver reads for a vector store search: no model."""
    return {
        "model": None,
        "custom_llm_provider": _provider_id(
            params.get("custom_llm_provider"), DEFAULT_VECTOR_STORE_PROVIDER
        ),
        "api_base": params.get("api_base"),
    }


def apply_vector_search_request(
    invocation: RetrievalInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    invocation.top_k = _top_k(params.get("max_num_results"))
    if capture_content:
        invocation.query_text = _query_text(params.get("query"))


def apply_vector_search_response(
    invocation: RetrievalInvocation, response: Any, capture_content: bool
) -> None:
    record_litellm_facts(invocation.attributes, response)
    if capture_content:
        invocation.documents = vector_store_documents(field(response, "data"))


def vector_store_documents(results: object) -> list[RetrievalDocument] | None:
    """Each result as the conventions' document: its file id and score."""
    if not isinstance(results, Sequence) or isinstance(results, str):
        return None
    return [
        RetrievalDocument(id=text(field(result, "file_id")), score=number(field(result, "score")))
        for result in results  # pyright: ignore[reportUnknownVariableType]
    ]


# -- litellm.search / asearch (web search) ----------------------------------------------------


def web_search_routing(params: Mapping[str, Any]) -> dict[str, Any]:
    """A web search names its provider ``search_provider`` (``perplexity``, ``tavily``...)."""
    return {
        "model": None,
        "custom_llm_provider": _provider_id(params.get("search_provider"), None),
        "api_base": params.get("api_base"),
    }


def apply_web_search_request(
    invocation: RetrievalInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    invocation.top_k = _top_k(params.get("max_results"))
    if capture_content:
        invocation.query_text = _query_text(params.get("query"))


def apply_web_search_response(
    invocation: RetrievalInvocation, response: Any, capture_content: bool
) -> None:
    record_litellm_facts(invocation.attributes, response)
    if capture_content:
        results = field(response, "results")
        if isinstance(results, Sequence) and not isinstance(results, str):
            invocation.documents = [
                RetrievalDocument(id=text(field(result, "url")), score=None)
                for result in results  # pyright: ignore[reportUnknownVariableType]
            ]


# -- litellm.query / aquery (RAG) -------------------------------------------------------------


def _retrieval_config(params: Mapping[str, Any]) -> Mapping[str, Any]:
    config = params.get("retrieval_config")
    return config if isinstance(config, Mapping) else {}  # pyright: ignore[reportUnknownVariableType]


def rag_store_id(params: Mapping[str, Any]) -> str | None:
    """``gen_ai.data_source.id``: the store the RAG query searches."""
    return text(_retrieval_config(params).get("vector_store_id"))


def apply_rag_request(
    invocation: RetrievalInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    config = _retrieval_config(params)
    top_k = config.get("top_k", DEFAULT_RAG_TOP_K)
    invocation.top_k = _top_k(top_k)
    if capture_content:
        invocation.query_text = rag_query_text(params.get("messages"))


def rag_query_text(messages: object) -> str | None:
    """What LiteLLM searches for: the last message's text (its first text part)."""
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        return None
    content = field(messages[-1], "content")
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        for part in content:  # pyright: ignore[reportUnknownVariableType]
            value = field(part, "text")
            if field(part, "type") == "text" and isinstance(value, str):
                return value
    return None


def apply_rag_response(
    invocation: RetrievalInvocation, response: Any, capture_content: bool
) -> None:
    """The search results LiteLLM attaches to the answer are the documents; no cost (see the
    module docstring)."""
    if not capture_content:
        return
    for choice in field(response, "choices") or ():
        message = field(choice, "message")
        fields = field(message, "provider_specific_fields")
        search = field(fields, "search_results") if fields is not None else None
        if search is not None:
            invocation.documents = vector_store_documents(field(search, "data"))
            return
