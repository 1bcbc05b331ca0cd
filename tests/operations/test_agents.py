"""``invoke_agent`` spans for ``litellm.a2a_protocol``: agents LiteLLM serves through a
completion (its completion bridge, against the loopback server) and agents reached over A2A
(the caller's a2a-sdk client, here a stand-in that answers as the SDK's client does)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.content import everything_exported
from tests.support.loopback_server import CONTENT, LoopbackLLMServer
from tests.support.telemetry import API_KEY, PROMPT, Telemetry

try:
    from a2a.compat.v0_3.types import (
        MessageSendParams,
        SendMessageRequest,
        SendStreamingMessageRequest,
    )
    from a2a.types import a2a_pb2
    from litellm import a2a_protocol
except Exception as missing:  # without a2a-sdk, LiteLLM's module fails to import
    pytest.skip(
        f"litellm.a2a_protocol or a2a-sdk is not importable here: {missing!r}",
        allow_module_level=True,
    )


def message_params() -> MessageSendParams:
    return MessageSendParams(
        message={"role": "user", "parts": [{"kind": "text", "text": PROMPT}], "messageId": "m1"}
    )


def bridge(server: LoopbackLLMServer, model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {
        "api_base": server.base_url,
        "litellm_params": {"custom_llm_provider": "openai", "model": model, "api_key": API_KEY},
    }


def family(telemetry: Telemetry) -> tuple[ReadableSpan, list[ReadableSpan]]:
    spans = telemetry.finished()
    (agent,) = [span for span in spans if span.parent is None]
    children = [span for span in spans if span is not agent]
    for child in children:
        assert child.parent is not None
        assert child.parent.span_id == agent.context.span_id
    return agent, children


def check_bridge_agent(agent: ReadableSpan, server: LoopbackLLMServer) -> None:
    assert agent.name == "invoke_agent"
    assert agent.kind is SpanKind.CLIENT
    attributes = dict(agent.attributes or {})
    assert attributes["gen_ai.operation.name"] == "invoke_agent"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == server.port
    assert PROMPT not in json.dumps(attributes)
    assert API_KEY not in json.dumps(attributes)


async def test_asend_message_through_the_completion_bridge(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    request = SendMessageRequest(id="req-1", params=message_params())
    response = await a2a_protocol.asend_message(request=request, **bridge(server))

    assert response.result["parts"] == [{"kind": "text", "text": CONTENT}]
    agent, children = family(traced)
    check_bridge_agent(agent, server)
    assert agent.status.status_code is StatusCode.UNSET
    (chat,) = children
    assert chat.name == "chat gpt-4o-mini"
    assert chat.attributes["gen_ai.usage.output_tokens"] == 5


def test_send_message_sync(traced: Telemetry, server: LoopbackLLMServer) -> None:
    request = SendMessageRequest(id="req-1", params=message_params())
    response = a2a_protocol.send_message(a2a_client=None, request=request, **bridge(server))

    assert response.result["parts"] == [{"kind": "text", "text": CONTENT}]
    agent, children = family(traced)
    check_bridge_agent(agent, server)
    assert [child.name for child in children] == ["chat gpt-4o-mini"]


async def test_send_message_in_a_running_loop_ends_when_awaited(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    """With a loop running, LiteLLM's sync ``send_message`` hands back ``asend_message``'s
    coroutine: still one span, ending when it is awaited."""
    request = SendMessageRequest(id="req-1", params=message_params())
    pending = a2a_protocol.send_message(a2a_client=None, request=request, **bridge(server))
    assert traced.finished() == []
    response = await pending

    assert response.result["parts"] == [{"kind": "text", "text": CONTENT}]
    agent, children = family(traced)
    check_bridge_agent(agent, server)
    assert [child.name for child in children] == ["chat gpt-4o-mini"]


async def test_asend_message_streaming_ends_with_the_stream(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    request = SendStreamingMessageRequest(id="req-1", params=message_params())
    events = [
        event
        async for event in a2a_protocol.asend_message_streaming(request=request, **bridge(server))
    ]

    assert events[-1]["result"]["status"]["state"] == "completed"
    agent, children = family(traced)
    check_bridge_agent(agent, server)
    context_id = events[0]["result"]["contextId"]
    assert agent.attributes["gen_ai.conversation.id"] == context_id
    (chat,) = children
    assert chat.name == "chat gpt-4o-mini"
    assert agent.end_time >= chat.end_time


async def test_asend_message_streaming_closed_early(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    request = SendStreamingMessageRequest(id="req-1", params=message_params())
    stream = a2a_protocol.asend_message_streaming(request=request, **bridge(server))
    async for _ in stream:
        break
    await stream.aclose()

    agents = [span for span in traced.finished() if span.name == "invoke_agent"]
    assert len(agents) == 1
    assert agents[0].attributes["litellm.stream.closed_early"] is True
    assert agents[0].status.status_code is StatusCode.UNSET


async def test_asend_message_error(traced: Telemetry, server: LoopbackLLMServer) -> None:
    import litellm

    request = SendMessageRequest(id="req-1", params=message_params())
    with pytest.raises(litellm.InternalServerError):
        await a2a_protocol.asend_message(request=request, **bridge(server, "error-500"))

    agent, children = family(traced)
    assert agent.status.status_code is StatusCode.ERROR
    assert agent.attributes["error.type"] == "InternalServerError"
    assert [child.status.status_code for child in children] == [StatusCode.ERROR]


# -- an agent reached over A2A ----------------------------------------------------------------


class AgentClient:
    """Answers as a2a-sdk's ``Client`` does once LiteLLM's ``create_a2a_client`` built it: the
    card it resolved, ``send_message`` streaming the SDK's protobuf events."""

    def __init__(self, events: list[Any]) -> None:
        self._litellm_agent_card = a2a_pb2.AgentCard(
            name="Weather Agent",
            description="Knows the weather",
            version="1.2.0",
            supported_interfaces=[
                a2a_pb2.AgentInterface(url="http://127.0.0.1:9/a2a", protocol_binding="JSONRPC")
            ],
        )
        self.events = events

    async def send_message(self, request: Any, context: Any = None) -> AsyncIterator[Any]:
        for event in self.events:
            yield event


def agent_reply(text: str = "It is sunny") -> Any:
    return a2a_pb2.StreamResponse(
        message=a2a_pb2.Message(
            message_id="r1",
            context_id="ctx-1",
            role=a2a_pb2.ROLE_AGENT,
            parts=[a2a_pb2.Part(text=text)],
        )
    )


async def test_remote_agent_named_by_its_card(
    instrument: Callable[..., Telemetry],
) -> None:
    telemetry = instrument(capture_content=True)
    request = SendMessageRequest(id="req-1", params=message_params())
    response = await a2a_protocol.asend_message(
        a2a_client=AgentClient([agent_reply()]), request=request, agent_id="agent-7"
    )

    assert response.result["parts"] == [{"kind": "text", "text": "It is sunny"}]
    span = telemetry.only_span()
    assert span.name == "invoke_agent Weather Agent"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.provider.name"] == "a2a_agent"
    assert attributes["gen_ai.agent.name"] == "Weather Agent"
    assert attributes["gen_ai.agent.description"] == "Knows the weather"
    assert attributes["gen_ai.agent.version"] == "1.2.0"
    assert attributes["gen_ai.agent.id"] == "agent-7"
    assert attributes["gen_ai.conversation.id"] == "ctx-1"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == 9
    assert json.loads(attributes["gen_ai.input.messages"])[0]["parts"][0]["content"] == PROMPT
    assert json.loads(attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == (
        "It is sunny"
    )


def test_instrument_without_the_a2a_sdk() -> None:
    """Without a2a-sdk LiteLLM's module fails to import (on some releases with a TypeError, not
    an ImportError): instrument() still succeeds and traces the rest."""
    script = textwrap.dedent(
        """
        import os, sys
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        sys.modules["a2a"] = None  # as if a2a-sdk were not installed
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import litellm
        from litellm_otel import LiteLLMInstrumentor

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        instrumentor = LiteLLMInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        assert instrumentor.is_instrumented_by_opentelemetry
        try:
            import litellm.a2a_protocol
        except Exception as error:
            print("import failed:", type(error).__name__)
        litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                           mock_response="ok")
        print("spans:", [span.name for span in exporter.get_finished_spans()])
        instrumentor.uninstrument()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "spans: ['chat gpt-4o-mini']" in result.stdout
    assert "litellm_otel" not in result.stderr


def status_event(state: str) -> Any:
    return a2a_pb2.StreamResponse(
        status_update=a2a_pb2.TaskStatusUpdateEvent(
            task_id="t1", context_id="ctx-1", status=a2a_pb2.TaskStatus(state=state)
        )
    )


class BrokenAgentClient(AgentClient):
    """The SDK's client when the agent's connection breaks after its first event."""

    async def send_message(self, request: Any, context: Any = None) -> AsyncIterator[Any]:
        yield self.events[0]
        raise ConnectionResetError(f"agent went away after {PROMPT}")


async def test_remote_agent_stream_broken_midway(
    instrument: Callable[..., Telemetry],
) -> None:
    """The caller gets the SDK's own exception after the first event; the span fails with its
    type and no text of it (it can quote the request)."""
    telemetry = instrument()
    request = SendStreamingMessageRequest(id="req-1", params=message_params())
    client = BrokenAgentClient([status_event("TASK_STATE_WORKING")])
    received: list[Any] = []
    with pytest.raises(ConnectionResetError):
        async for event in a2a_protocol.asend_message_streaming(a2a_client=client, request=request):
            received.append(event)

    assert len(received) == 1
    span = telemetry.only_span()
    assert span.name == "invoke_agent Weather Agent"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ConnectionResetError"
    assert span.attributes["gen_ai.conversation.id"] == "ctx-1"
    assert PROMPT not in everything_exported(telemetry)


async def test_remote_agent_stream_with_a_json_rpc_error_fails(
    instrument: Callable[..., Telemetry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON-RPC client of the v0.3 protocol yields the agent's error as an event instead of
    raising: the stream ends normally for the caller, and the span fails as a non-streamed
    error reply does, ``error.type`` the JSON-RPC code, no description (the agent's message can
    echo the request and the key)."""
    from a2a.compat.v0_3.types import (
        InternalError,
        JSONRPCErrorResponse,
        SendStreamingMessageResponse,
    )
    from litellm.a2a_protocol import main as a2a_main

    error = SendStreamingMessageResponse(
        root=JSONRPCErrorResponse(
            id="req-1", error=InternalError(message=f"failed on {PROMPT} with {API_KEY}")
        )
    )

    async def error_stream(**_: Any) -> AsyncIterator[Any]:
        yield error

    monkeypatch.setattr(a2a_main, "_execute_a2a_stream_with_retry", error_stream)
    telemetry = instrument()
    request = SendStreamingMessageRequest(id="req-1", params=message_params())
    received = [
        event
        async for event in a2a_protocol.asend_message_streaming(
            a2a_client=AgentClient([]), request=request
        )
    ]

    assert received == [error]
    span = telemetry.only_span()
    assert span.name == "invoke_agent Weather Agent"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is None
    assert span.attributes["error.type"] == "-32603"
    exported = everything_exported(telemetry)
    assert PROMPT not in exported
    assert API_KEY not in exported
    assert [
        point.attributes["error.type"]
        for point in telemetry.metric_points("gen_ai.client.operation.duration")
    ] == ["-32603"]


async def test_the_agent_call_is_timed_as_a_client_operation_in_both_modes(
    instrument: Callable[..., Telemetry], server: LoopbackLLMServer, conventions_mode: str
) -> None:
    """A remote agent's duration is ``gen_ai.client.operation.duration`` (util-genai keeps
    ``gen_ai.invoke_agent.duration`` for in-process agents), in either mode."""
    telemetry = instrument()
    request = SendMessageRequest(id="req-1", params=message_params())
    await a2a_protocol.asend_message(request=request, **bridge(server))

    agent_points = [
        point.attributes
        for point in telemetry.metric_points("gen_ai.client.operation.duration")
        if point.attributes["gen_ai.operation.name"] == "invoke_agent"
    ]
    assert agent_points == [
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "server.address": "127.0.0.1",
            "server.port": server.port,
        }
    ]
    assert telemetry.metric_points("gen_ai.invoke_agent.duration") == []
    # the child completion is timed as inference: on its own metric in the latest mode
    chat_duration = (
        "gen_ai.client.inference.duration"
        if conventions_mode == "latest"
        else "gen_ai.client.operation.duration"
    )
    assert [
        point.attributes["gen_ai.operation.name"]
        for point in telemetry.metric_points(chat_duration)
        if point.attributes["gen_ai.operation.name"] == "chat"
    ] == ["chat"]
