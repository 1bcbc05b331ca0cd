"""The retrieval, tool and agent mappings on their own: call arguments and replies as LiteLLM
hands them over (plain dicts, LiteLLM's and the SDKs' objects) onto real util-genai invocations,
read back from the exported span."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.utils import ContentCapturingMode

from litellm_otel._compat import set_content_capturing_mode
from litellm_otel._operations import agents, retrieval, tools
from tests.support.telemetry import PROMPT, Telemetry, make_telemetry


@pytest.fixture
def handlers() -> Iterator[tuple[Telemetry, TelemetryHandler, TelemetryHandler]]:
    """The telemetry, a handler without content capture and one with it (span only)."""
    telemetry = make_telemetry()
    plain = TelemetryHandler(tracer_provider=telemetry.tracer_provider)
    capturing = TelemetryHandler(tracer_provider=telemetry.tracer_provider)
    set_content_capturing_mode(plain, ContentCapturingMode.NO_CONTENT)
    set_content_capturing_mode(capturing, ContentCapturingMode.SPAN_ONLY)
    yield telemetry, plain, capturing
    telemetry.tracer_provider.shutdown()


def only(telemetry: Telemetry) -> ReadableSpan:
    return telemetry.only_span()


# -- vector store search ---------------------------------------------------------------------

SEARCH_RESPONSE: dict[str, Any] = {
    "object": "vector_store.search_results.page",
    "search_query": PROMPT,
    "data": [
        {"file_id": "file-1", "filename": "a.txt", "score": 0.9, "content": [{"text": "x"}]},
        {"file_id": "file-2", "filename": "b.txt", "score": 0.5, "content": [{"text": "y"}]},
    ],
}


def test_vector_store_routing_defaults_to_litellms_provider() -> None:
    assert retrieval.vector_store_routing({"vector_store_id": "vs_1"}) == {
        "model": None,
        "custom_llm_provider": "openai",
        "api_base": None,
    }
    assert retrieval.vector_store_routing(
        {"custom_llm_provider": "vertex_ai/rag", "api_base": "http://h:1"}
    ) == {"model": None, "custom_llm_provider": "vertex_ai", "api_base": "http://h:1"}
    assert retrieval.vector_store_id({"vector_store_id": "vs_1"}) == "vs_1"
    assert retrieval.vector_store_id({"vector_store_id": ""}) is None


def test_vector_search_without_capture_records_no_query_nor_documents(
    handlers: tuple[Telemetry, TelemetryHandler, TelemetryHandler],
) -> None:
    telemetry, plain, _ = handlers
    invocation = plain.retrieval(data_source_id="vs_1", provider="openai")
    params = {"vector_store_id": "vs_1", "query": PROMPT, "max_num_results": 3}
    retrieval.apply_vector_search_request(invocation, params, False)
    retrieval.apply_vector_search_response(invocation, SEARCH_RESPONSE, False)
    invocation.stop()
    span = only(telemetry)
    assert span.name == "retrieval vs_1"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "retrieval",
        "gen_ai.data_source.id": "vs_1",
        "gen_ai.provider.name": "openai",
        "gen_ai.retrieval.top_k": 3,
    }


def test_vector_search_with_capture_records_query_and_document_ids(
    handlers: tuple[Telemetry, TelemetryHandler, TelemetryHandler],
) -> None:
    telemetry, _, capturing = handlers
    invocation = capturing.retrieval(data_source_id="vs_1", provider="openai")
    params = {"vector_store_id": "vs_1", "query": [PROMPT, "second"]}
    retrieval.apply_vector_search_request(invocation, params, True)
    retrieval.apply_vector_search_response(invocation, SEARCH_RESPONSE, True)
    invocation.stop()
    attributes = dict(only(telemetry).attributes or {})
    assert "gen_ai.retrieval.top_k" not in attributes
    assert attributes["gen_ai.retrieval.query.text"] == f"{PROMPT}\nsecond"
    assert json.loads(attributes["gen_ai.retrieval.documents"]) == [
        {"id": "file-1", "score": 0.9},
        {"id": "file-2", "score": 0.5},
    ]
    # the documents' text is never recorded
    assert '"x"' not in attributes["gen_ai.retrieval.documents"]


@pytest.mark.parametrize("value", [0, -1, True, "3", None])
def test_top_k_that_is_not_a_positive_count_is_left_out(value: Any) -> None:
    class Target:
        top_k: Any = "unset"
        query_text: Any = None

    target = Target()
    retrieval.apply_vector_search_request(target, {"max_num_results": value}, False)  # type: ignore[arg-type]
    assert target.top_k is None


# -- web search ------------------------------------------------------------------------------


def test_web_search_routing_and_documents(
    handlers: tuple[Telemetry, TelemetryHandler, TelemetryHandler],
) -> None:
    transformation = pytest.importorskip(
        "litellm.llms.base_llm.search.transformation",
        reason="this LiteLLM release has no web search (its SearchResponse is what we read)",
    )
    SearchResponse, SearchResult = transformation.SearchResponse, transformation.SearchResult

    assert retrieval.web_search_routing({"search_provider": "tavily"}) == {
        "model": None,
        "custom_llm_provider": "tavily",
        "api_base": None,
    }
    telemetry, _, capturing = handlers
    invocation = capturing.retrieval(provider="perplexity")
    retrieval.apply_web_search_request(invocation, {"query": PROMPT, "max_results": 2}, True)
    response = SearchResponse(
        results=[
            SearchResult(title="A", url="https://a.example/1", snippet="secret snippet"),
            SearchResult(title="B", url="https://b.example/2", snippet="other"),
        ]
    )
    response._hidden_params["response_cost"] = 0.005
    retrieval.apply_web_search_response(invocation, response, True)
    invocation.stop()
    span = only(telemetry)
    attributes = dict(span.attributes or {})
    assert span.name == "retrieval"
    assert attributes["gen_ai.retrieval.top_k"] == 2
    assert attributes["litellm.response_cost"] == 0.005
    assert attributes["gen_ai.retrieval.query.text"] == PROMPT
    assert json.loads(attributes["gen_ai.retrieval.documents"]) == [
        {"id": "https://a.example/1", "score": None},
        {"id": "https://b.example/2", "score": None},
    ]
    assert "secret snippet" not in json.dumps(attributes)


# -- RAG query -------------------------------------------------------------------------------


def test_rag_reads_the_store_of_the_retrieval_config() -> None:
    params = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": PROMPT}],
        "retrieval_config": {"vector_store_id": "vs_9", "custom_llm_provider": "bedrock"},
    }
    assert retrieval.rag_store_id(params) == "vs_9"
    assert retrieval.rag_store_id({"retrieval_config": "not a mapping"}) is None


@pytest.mark.parametrize(
    ("messages", "query"),
    [
        ([{"role": "user", "content": PROMPT}], PROMPT),
        (
            [{"role": "user", "content": [{"type": "image_url"}, {"type": "text", "text": "q"}]}],
            "q",
        ),
        ([{"role": "user", "content": "first"}, {"role": "assistant", "content": "a"}], "a"),
        ([], None),
        ("not messages", None),
    ],
)
def test_rag_query_text_is_what_litellm_searches_for(messages: Any, query: str | None) -> None:
    assert retrieval.rag_query_text(messages) == query


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": PROMPT}],
        [{"role": "user", "content": [{"type": "image_url"}, {"type": "text", "text": "q"}]}],
        [{"role": "user", "content": "first"}, {"role": "assistant", "content": "a"}],
        [],
    ],
)
def test_rag_query_text_matches_litellms_own_reading(messages: Any) -> None:
    rag_query = pytest.importorskip(
        "litellm.rag.rag_query", reason="this LiteLLM release has no RAG query"
    )
    assert retrieval.rag_query_text(messages) == rag_query.RAGQuery.extract_query_from_messages(
        messages
    )


def test_rag_span_has_no_cost_of_its_own(
    handlers: tuple[Telemetry, TelemetryHandler, TelemetryHandler],
) -> None:
    import litellm

    telemetry, _, capturing = handlers
    invocation = capturing.retrieval(data_source_id="vs_9", provider="openai")
    params = {"messages": [{"role": "user", "content": PROMPT}], "retrieval_config": {}}
    retrieval.apply_rag_request(invocation, params, True)
    response = litellm.ModelResponse(
        choices=[{"message": {"role": "assistant", "content": "answer"}}]
    )
    response.choices[0].message.provider_specific_fields = {"search_results": SEARCH_RESPONSE}  # type: ignore[union-attr]
    response._hidden_params["response_cost"] = 0.25
    retrieval.apply_rag_response(invocation, response, True)
    invocation.stop()
    attributes = dict(only(telemetry).attributes or {})
    assert attributes["gen_ai.retrieval.top_k"] == retrieval.DEFAULT_RAG_TOP_K
    assert attributes["gen_ai.retrieval.query.text"] == PROMPT
    assert json.loads(attributes["gen_ai.retrieval.documents"])[0] == {"id": "file-1", "score": 0.9}
    assert "litellm.response_cost" not in attributes


# -- MCP tool calls --------------------------------------------------------------------------

TOOL_CALL: dict[str, Any] = {
    "id": "call_weather_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


def mcp_types_or_skip() -> Any:
    """The MCP SDK's result types (the oldest tier's pydantic cannot import its release)."""
    return pytest.importorskip(
        "mcp.types", reason="the mcp package does not import here", exc_type=ImportError
    )


def test_tool_name_and_call_id_come_from_the_tool_call() -> None:
    params = {"session": object(), "openai_tool": TOOL_CALL}
    assert tools.tool_name(params) == "get_weather"
    assert tools.tool_call_id(params) == "call_weather_1"
    assert tools.tool_arguments(params) == {"city": "Paris"}
    broken = {"openai_tool": {"function": {"name": "f", "arguments": "{not json"}}}
    assert tools.tool_arguments(broken) == "{not json"
    assert tools.tool_name({"openai_tool": None}) == tools.UNNAMED_TOOL


@pytest.mark.parametrize("capture", [False, True])
def test_tool_arguments_and_result_only_with_capture(
    handlers: tuple[Telemetry, TelemetryHandler, TelemetryHandler], capture: bool
) -> None:
    mcp_types = mcp_types_or_skip()
    CallToolResult, TextContent = mcp_types.CallToolResult, mcp_types.TextContent

    telemetry, plain, capturing = handlers
    handler = capturing if capture else plain
    params = {"openai_tool": TOOL_CALL}
    invocation = handler.tool(tools.tool_name(params))
    tools.apply_tool_request(invocation, params, capture)
    result = CallToolResult(content=[TextContent(type="text", text="sunny")])
    tools.apply_tool_response(invocation, result, capture)
    invocation.stop()
    span = only(telemetry)
    assert span.name == "execute_tool get_weather"
    assert span.kind is SpanKind.INTERNAL
    attributes = dict(span.attributes or {})
    expected = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_weather_1",
    }
    if capture:
        expected["gen_ai.tool.call.arguments"] = '{"city":"Paris"}'
        assert json.loads(attributes.pop("gen_ai.tool.call.result"))["content"] == [
            {"type": "text", "text": "sunny"}
        ]
        assert json.loads(attributes.pop("gen_ai.tool.call.arguments")) == {"city": "Paris"}
        del expected["gen_ai.tool.call.arguments"]
    assert attributes == expected


def test_a_tool_result_marked_as_error_is_a_tool_error() -> None:
    mcp_types = mcp_types_or_skip()
    CallToolResult, TextContent = mcp_types.CallToolResult, mcp_types.TextContent

    failed = CallToolResult(content=[TextContent(type="text", text="boom")], isError=True)
    assert tools.is_tool_error(failed)
    assert tools.is_tool_error({"isError": True})
    assert not tools.is_tool_error(CallToolResult(content=[]))
    assert not tools.is_tool_error({"isError": 1})


# -- A2A agents ------------------------------------------------------------------------------


class Card:
    name = "Weather Agent"
    description = "Knows the weather"
    version = "1.2.0"
    url = "http://127.0.0.1:9999/a2a"


class Client:
    _litellm_agent_card = Card()


def request(text: str = PROMPT) -> dict[str, Any]:
    return {
        "id": "req-1",
        "params": {
            "message": {
                "role": "user",
                "messageId": "m1",
                "parts": [{"kind": "text", "text": text}, {"kind": "file", "file": {}}],
            }
        },
    }


def test_agent_identity_from_the_clients_card_else_the_completion_bridge() -> None:
    with_client = {"a2a_client": Client(), "request": request()}
    assert agents.agent_start_fields(with_client) == {"agent_name": "Weather Agent"}
    assert agents.agent_routing(with_client) == {
        "model": None,
        "custom_llm_provider": "a2a_agent",
        "api_base": "http://127.0.0.1:9999/a2a",
    }
    bridged = {
        "request": request(),
        "api_base": "http://127.0.0.1:1/v1",
        "litellm_params": {"custom_llm_provider": "openai", "model": "gpt-4o-mini"},
    }
    assert agents.agent_start_fields(bridged) == {"agent_name": None}
    assert agents.agent_routing(bridged) == {
        "model": "openai/gpt-4o-mini",
        "custom_llm_provider": "openai",
        "api_base": "http://127.0.0.1:1/v1",
    }


def test_agent_reply_context_and_messages(
    handlers: tuple[Telemetry, TelemetryHandler, TelemetryHandler],
) -> None:
    telemetry, _, capturing = handlers
    params = {"a2a_client": Client(), "request": request(), "agent_id": "agent-7"}
    invocation = capturing.invoke_remote_agent("a2a_agent", **agents.agent_start_fields(params))
    agents.apply_agent_request(invocation, params, True)
    reply = {
        "id": "req-1",
        "jsonrpc": "2.0",
        "result": {
            "kind": "task",
            "id": "task-1",
            "contextId": "ctx-1",
            "status": {"state": "completed"},
            "artifacts": [{"parts": [{"kind": "text", "text": "It is sunny"}]}],
        },
    }
    agents.apply_agent_response(invocation, reply, True)
    invocation.stop()
    span = only(telemetry)
    assert span.name == "invoke_agent Weather Agent"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.agent.name"] == "Weather Agent"
    assert attributes["gen_ai.agent.description"] == "Knows the weather"
    assert attributes["gen_ai.agent.version"] == "1.2.0"
    assert attributes["gen_ai.agent.id"] == "agent-7"
    assert attributes["gen_ai.conversation.id"] == "ctx-1"
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}], "name": None}
    ]
    assert json.loads(attributes["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "It is sunny"}
    ]
    assert "error.type" not in attributes


def test_agent_json_rpc_error_is_the_error_type(
    handlers: tuple[Telemetry, TelemetryHandler, TelemetryHandler],
) -> None:
    telemetry, plain, _ = handlers
    invocation = plain.invoke_remote_agent("a2a_agent")
    agents.apply_agent_request(invocation, {"request": request()}, False)
    reply = {"error": {"code": -32001, "message": "Task not found"}}
    agents.apply_agent_response(invocation, reply, False)
    invocation.stop()
    attributes = dict(only(telemetry).attributes or {})
    assert "gen_ai.input.messages" not in attributes
    assert agents.rpc_error_type(reply) == "-32001"
    assert agents.rpc_error_type({"error": {"message": "no code"}}) == "_OTHER"
    assert agents.rpc_error_type({"result": {"kind": "message"}}) is None


def test_agent_stream_state_reads_events() -> None:
    class Target:
        attributes: dict[str, Any]
        output_messages: Any = None

        def __init__(self) -> None:
            self.attributes = {}

    def update(text: str) -> dict[str, Any]:
        artifact = {"parts": [{"kind": "text", "text": text}]}
        return {"result": {"kind": "artifact-update", "artifact": artifact}}

    events = [
        {"result": {"kind": "task", "id": "t", "contextId": "ctx-2", "status": {"state": "new"}}},
        update("Hel"),
        update("lo"),
        {"result": {"kind": "status-update", "status": {"state": "completed"}, "final": True}},
    ]
    for capture in (False, True):
        state = agents.AgentStreamState(capture)
        target = Target()
        for event in events:
            state.process(event, target)
        state.apply(target)
        assert target.attributes == {"gen_ai.conversation.id": "ctx-2"}
        if capture:
            assert [part.content for part in target.output_messages[0].parts] == ["Hel", "lo"]
        else:
            assert target.output_messages is None


def test_agent_stream_event_with_a_json_rpc_error_is_the_reply_error_type() -> None:
    class Target:
        attributes: dict[str, Any]
        output_messages: Any = None

        def __init__(self) -> None:
            self.attributes = {}

    events = [
        {"result": {"kind": "task", "id": "t", "contextId": "ctx-3", "status": {"state": "new"}}},
        {"jsonrpc": "2.0", "id": "req-1", "error": {"code": -32603, "message": "Internal error"}},
    ]
    state = agents.AgentStreamState(False)
    target = Target()
    for event in events:
        state.process(event, target)
    state.apply(target)
    assert state.reply_error_type == "-32603"  # the stream's end fails the call with it
    assert target.attributes == {"gen_ai.conversation.id": "ctx-3"}
