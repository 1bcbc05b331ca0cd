"""One module per LiteLLM surface: pure mapping from call arguments and results to the
fields of a util-genai invocation. No span or context handling happens here, so each
mapping is unit-testable with plain dicts and LiteLLM objects.

:data:`ENTRY_POINTS` names every LiteLLM function we wrap and how it maps; the instrumentor,
the Router instrumentation, the early-bound callback path, the contract tests and the docs'
entry-point table all read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from litellm_otel._operations import (
    agents,
    anthropic_messages,
    chat,
    chat_stream,
    embeddings,
    generate_content,
    media,
    response_management,
    responses,
    retrieval,
    scoring,
    tools,
    video_ocr,
)

# The table's shapes, re-exported: its readers name them with the table.
from litellm_otel._operations.declarations import EntryPoint as EntryPoint
from litellm_otel._operations.declarations import InvocationKind as InvocationKind
from litellm_otel._operations.declarations import RequestMapper as RequestMapper
from litellm_otel._operations.declarations import ResponseMapper as ResponseMapper
from litellm_otel._operations.declarations import RoutingReader as RoutingReader
from litellm_otel._operations.declarations import StartFields as StartFields
from litellm_otel._operations.declarations import StreamState as StreamState
from litellm_otel._operations.declarations import Surface as Surface
from litellm_otel._operations.declarations import module_of as module_of

CHAT = Surface(
    "chat",
    chat.apply_request,
    chat.apply_response,
    reads=(
        *("model", "messages", "temperature", "top_p", "n", "stream", "stream_options"),
        *("stop", "max_tokens", "max_completion_tokens", "presence_penalty"),
        *("frequency_penalty", "seed", "response_format", "tools", "reasoning_effort"),
    ),
    reads_via_kwargs=("top_k", "api_base", "base_url", "custom_llm_provider", "metadata"),
    positional=("model", "messages"),
    new_stream_state=chat_stream.ChatStreamState,
)
TEXT_COMPLETION = Surface(
    "text_completion",
    chat.apply_text_request,
    chat.apply_text_response,
    reads=(
        *("model", "prompt", "temperature", "top_p", "n", "stream", "stop", "max_tokens"),
        *("presence_penalty", "frequency_penalty"),
    ),
    reads_via_kwargs=("top_k", "seed", "max_completion_tokens", "base_url", "metadata"),
    positional=("prompt", "model"),
    new_stream_state=chat_stream.ChatStreamState,
)
RESPONSES = Surface(
    "chat",
    responses.apply_request,
    responses.apply_response,
    reads=(
        *("model", "input", "instructions", "max_output_tokens", "previous_response_id"),
        *("reasoning", "stream", "temperature", "text", "tools", "top_p"),
    ),
    # The sampling reader is shared with chat; the Responses API names few of these itself.
    reads_via_kwargs=(
        *("top_k", "frequency_penalty", "presence_penalty", "seed", "max_tokens", "stop"),
        *("max_completion_tokens", "n", "api_base", "base_url"),
    ),
    positional=("input", "model"),
    new_stream_state=responses.ResponsesStreamState,
)
ANTHROPIC_MESSAGES = Surface(
    "chat",
    anthropic_messages.apply_request,
    anthropic_messages.apply_response,
    reads=(
        *("model", "messages", "max_tokens", "stop_sequences", "stream", "system"),
        *("temperature", "tools", "top_k", "top_p"),
    ),
    # The sampling reader is shared with chat; Anthropic's API names few of these itself.
    reads_via_kwargs=(
        *("frequency_penalty", "presence_penalty", "seed", "stop", "max_completion_tokens"),
        *("n", "api_base", "custom_llm_provider"),
    ),
    positional=("max_tokens", "messages"),
    new_stream_state=anthropic_messages.AnthropicStreamState,
)
GENERATE_CONTENT = Surface(
    "generate_content",
    generate_content.apply_request,
    generate_content.apply_response,
    reads=("model", "contents", "config", "custom_llm_provider"),
    reads_via_kwargs=("api_base", "base_url"),
    positional=("model", "contents"),
)
GENERATE_CONTENT_STREAM = replace(
    GENERATE_CONTENT,
    apply_request=generate_content.apply_stream_request,
    new_stream_state=generate_content.GenerateContentStreamState,
    always_streams=True,
)
FETCH_RESPONSE = Surface(
    "fetch_response",
    response_management.apply_fetch_request,
    response_management.apply_fetch_response,
    reads=("response_id", "custom_llm_provider"),
    reads_via_kwargs=("api_base", "base_url", "stream"),
    positional=("response_id",),
    kind=InvocationKind.FETCH_RESPONSE,
    start_fields=response_management.fetch_start_fields,
    routing=response_management.routing,
)


def _stored_response_surface(operation_name: str) -> Surface:
    """A call on a stored response that generates nothing (see response_management)."""
    return Surface(
        operation_name,
        response_management.apply_stored_request,
        response_management.apply_stored_response,
        reads=("response_id", "custom_llm_provider"),
        reads_via_kwargs=("api_base", "base_url"),
        positional=("response_id",),
        routing=response_management.routing,
    )


DELETE_RESPONSE = _stored_response_surface("delete_response")
CANCEL_RESPONSE = _stored_response_surface("cancel_response")
LIST_INPUT_ITEMS = _stored_response_surface("list_input_items")
EMBEDDINGS = Surface(
    "embeddings",
    embeddings.apply_request,
    embeddings.apply_response,
    reads=("model", "input", "dimensions", "encoding_format"),
    reads_via_kwargs=("base_url", "metadata"),
    positional=("model", "input"),
    kind=InvocationKind.EMBEDDING,
)
IMAGE_GENERATION = Surface(
    "image_generation",
    media.apply_image_request,
    media.apply_image_response,
    reads=("model", "prompt", "n"),
    reads_via_kwargs=("base_url", "metadata"),
    positional=("prompt", "model"),
)
IMAGE_EDIT = Surface(
    "image_generation",
    media.apply_image_request,
    media.apply_image_response,
    reads=("model", "prompt", "n"),
    reads_via_kwargs=("api_base", "base_url", "metadata"),
    # image_edit takes (image, prompt, model), aimage_edit (image, model, prompt): each call
    # is bound by its own function's signature
    positional=("image",),
)
VIDEO_GENERATION = Surface(
    "video_generation",
    video_ocr.apply_video_request,
    video_ocr.apply_video_response,
    reads=("model", "prompt", "custom_llm_provider"),
    reads_via_kwargs=("api_base", "base_url", "metadata"),
    positional=("prompt", "model"),
)
OCR = Surface(
    "generate_content",
    video_ocr.apply_ocr_request,
    video_ocr.apply_ocr_response,
    reads=("model", "document", "api_base", "custom_llm_provider"),
    reads_via_kwargs=("base_url", "metadata"),
    positional=("model", "document"),
    has_choices=False,
)
TRANSCRIPTION = Surface(
    "transcription",
    media.apply_transcription_request,
    media.apply_transcription_response,
    reads=("model", "prompt", "temperature"),
    reads_via_kwargs=("metadata",),
    positional=("model", "file"),
)
SPEECH = Surface(
    "speech",
    media.apply_speech_request,
    media.apply_speech_response,
    reads=("model", "input", "response_format"),
    reads_via_kwargs=(),
    positional=("model", "input"),
)
RERANK = Surface(
    "rerank",
    scoring.apply_rerank_request,
    scoring.apply_rerank_response,
    reads=("model", "query", "documents", "top_n"),
    reads_via_kwargs=("api_base", "base_url", "metadata"),
    positional=("model", "query"),
)
MODERATION = Surface(
    "moderation",
    scoring.apply_moderation_request,
    scoring.apply_moderation_response,
    reads=("model", "input"),
    reads_via_kwargs=("api_base", "base_url", "custom_llm_provider", "metadata"),
    positional=("input", "model"),
)


VECTOR_STORE_SEARCH = Surface(
    "retrieval",
    retrieval.apply_vector_search_request,
    retrieval.apply_vector_search_response,
    reads=("vector_store_id", "query", "max_num_results", "custom_llm_provider"),
    reads_via_kwargs=("api_base",),
    positional=("vector_store_id", "query"),
    kind=InvocationKind.RETRIEVAL,
    start_fields=lambda params: {"data_source_id": retrieval.vector_store_id(params)},
    routing=retrieval.vector_store_routing,
)
WEB_SEARCH = Surface(
    "retrieval",
    retrieval.apply_web_search_request,
    retrieval.apply_web_search_response,
    reads=("query", "search_provider", "max_results", "api_base"),
    reads_via_kwargs=(),
    positional=("query", "search_provider"),
    kind=InvocationKind.RETRIEVAL,
    routing=retrieval.web_search_routing,
)


class _NothingStreamed:
    """A composite's stream is its inner call's, read (and recorded) by that call's span."""

    def __init__(self, capture_content: bool) -> None:
        pass

    def process(self, chunk: Any, invocation: Any) -> None:
        pass

    def apply(self, invocation: Any) -> None:
        pass


RAG_QUERY = Surface(
    "retrieval",
    retrieval.apply_rag_request,
    retrieval.apply_rag_response,
    reads=("model", "messages", "retrieval_config", "stream"),
    reads_via_kwargs=("api_base", "custom_llm_provider"),
    positional=("model", "messages"),
    kind=InvocationKind.RETRIEVAL,
    new_stream_state=_NothingStreamed,
    start_fields=lambda params: {"data_source_id": retrieval.rag_store_id(params)},
    child_operations=frozenset({"retrieval", "rerank", "chat"}),
)
MCP_TOOL_CALL = Surface(
    "execute_tool",
    tools.apply_tool_request,
    tools.apply_tool_response,
    reads=("session", "openai_tool"),
    reads_via_kwargs=(),
    positional=("session", "openai_tool"),
    kind=InvocationKind.TOOL,
    start_fields=lambda params: {
        "name": tools.tool_name(params),
        "tool_call_id": tools.tool_call_id(params),
    },
    routing=lambda params: {},
    reply_error=lambda result: tools.TOOL_ERROR if tools.is_tool_error(result) else None,
)
A2A_SEND = Surface(
    "invoke_agent",
    agents.apply_agent_request,
    agents.apply_agent_response,
    reads=("a2a_client", "request", "api_base", "litellm_params", "agent_id"),
    reads_via_kwargs=(),
    positional=("a2a_client", "request"),
    kind=InvocationKind.REMOTE_AGENT,
    start_fields=agents.agent_start_fields,
    routing=agents.agent_routing,
    child_operations=frozenset({"chat"}),
    reply_error=agents.rpc_error_type,
)
#: ``send_message`` names only the client and the request; the rest reaches its async twin
#: through ``**kwargs``.
A2A_SEND_SYNC = replace(
    A2A_SEND,
    reads=("a2a_client", "request"),
    reads_via_kwargs=("api_base", "litellm_params", "agent_id"),
)
A2A_SEND_STREAMING = Surface(
    "invoke_agent",
    agents.apply_agent_request,
    agents.apply_agent_response,
    reads=A2A_SEND.reads,
    reads_via_kwargs=(),
    positional=("a2a_client", "request"),
    kind=InvocationKind.REMOTE_AGENT,
    new_stream_state=agents.AgentStreamState,
    start_fields=agents.agent_start_fields,
    routing=agents.agent_routing,
    child_operations=frozenset({"chat"}),
    always_streams=True,
)


def _pair(
    name: str,
    surface: Surface,
    *,
    on_router: bool = False,
    signature_of: str | None = None,
    aliases: tuple[str, ...] = (),
) -> tuple[EntryPoint, EntryPoint]:
    """The sync function and its ``a``-prefixed async twin (in the same module, as are the
    aliases' twins); ``on_router``: the Router has methods of the same names (the functions'
    own, below the package: ``Router.generate_content`` for ``google_genai.generate_content``)."""
    attribute = name.rpartition(".")[2]
    return (
        EntryPoint(
            name,
            surface,
            False,
            router_methods=(attribute,) if on_router else (),
            signature_of=signature_of,
            aliases=aliases,
        ),
        EntryPoint(
            _async_name(name),
            surface,
            True,
            router_methods=(_async_name(attribute),) if on_router else (),
            signature_of=signature_of or name,
            aliases=tuple(_async_name(alias) for alias in aliases),
        ),
    )


def _async_name(path: str) -> str:
    package, dot, attribute = path.rpartition(".")
    return f"{package}{dot}a{attribute}"


ENTRY_POINTS: Final[Mapping[str, EntryPoint]] = {
    entry.name: entry
    for entry in (
        *_pair("completion", CHAT, on_router=True),
        *_pair("completion_with_retries", CHAT, signature_of="completion"),
        *_pair("text_completion", TEXT_COMPLETION, on_router=True),
        *_pair("responses", RESPONSES, on_router=True),
        *_pair("get_responses", FETCH_RESPONSE),
        *_pair("delete_responses", DELETE_RESPONSE),
        *_pair("cancel_responses", CANCEL_RESPONSE),
        *_pair("list_input_items", LIST_INPUT_ITEMS),
        *_pair("anthropic_interface.messages.create", ANTHROPIC_MESSAGES),
        *_pair(
            "google_genai.generate_content",
            GENERATE_CONTENT,
            on_router=True,
            aliases=("generate_content",),
        ),
        *_pair(
            "google_genai.generate_content_stream",
            GENERATE_CONTENT_STREAM,
            on_router=True,
            aliases=("generate_content_stream",),
        ),
        EntryPoint(
            "anthropic_messages",
            ANTHROPIC_MESSAGES,
            True,
            # both Router methods are coroutine functions calling this one
            router_methods=("aanthropic_messages", "anthropic_messages"),
            aliases=("messages.anthropic_messages",),
        ),
        EntryPoint(
            "anthropic_messages_handler",
            ANTHROPIC_MESSAGES,
            False,
            aliases=("messages.anthropic_messages_handler",),
        ),
        *_pair("embedding", EMBEDDINGS, on_router=True),
        *_pair("image_generation", IMAGE_GENERATION),
        *_pair("image_edit", IMAGE_EDIT),
        *_pair("video_generation", VIDEO_GENERATION),
        # (*args, **kwargs) dispatchers in front of LiteLLM's Rust extension
        *_pair("ocr", OCR, signature_of="ocr.dispatch._bind_request"),
        *_pair("transcription", TRANSCRIPTION),
        *_pair("speech", SPEECH),
        *_pair("rerank", RERANK),
        *_pair("moderation", MODERATION),
        *_pair("vector_stores.main.search", VECTOR_STORE_SEARCH, aliases=("vector_stores.search",)),
        *_pair("search.main.search", WEB_SEARCH, aliases=("search.search", "search")),
        *_pair("rag.main.query", RAG_QUERY, aliases=("rag.query", "query")),
        # Newer releases keep the MCP client in ``litellm.mcp_client``, with the old
        # package as an alias of it: one wrapper serves both names
        EntryPoint(
            "mcp_client.tools.call_openai_tool",
            MCP_TOOL_CALL,
            True,
            aliases=("mcp_client.call_openai_tool", "experimental_mcp_client.call_openai_tool"),
        ),
        EntryPoint(
            "experimental_mcp_client.tools.call_openai_tool",
            MCP_TOOL_CALL,
            True,
            aliases=("experimental_mcp_client.call_openai_tool",),
        ),
        EntryPoint(
            "a2a_protocol.main.send_message",
            A2A_SEND_SYNC,
            False,
            aliases=("a2a_protocol.send_message",),
        ),
        EntryPoint(
            "a2a_protocol.main.asend_message",
            A2A_SEND,
            True,
            aliases=("a2a_protocol.asend_message",),
        ),
        # an async generator function: called like a sync one, its stream is the call
        EntryPoint(
            "a2a_protocol.main.asend_message_streaming",
            A2A_SEND_STREAMING,
            False,
            aliases=("a2a_protocol.asend_message_streaming",),
        ),
    )
}
