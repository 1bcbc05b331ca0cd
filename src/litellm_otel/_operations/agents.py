"""``invoke_agent``: a message sent to an A2A agent through ``litellm.a2a_protocol``.

The span is util-genai's remote agent invocation (CLIENT). What the agent is comes from its
Agent Card, as the conventions' A2A client span asks: ``gen_ai.agent.name`` when the caller's
client already holds the card (util-genai takes the name only when the span starts), the card's
description and version. ``server.address`` is the agent's URL. LiteLLM serves some agents
through a completion (its "completion bridge", ``litellm_params`` naming a
``custom_llm_provider``): that provider and model are the span's, and the completion is the
span's child ``chat`` span. Any other agent is LiteLLM's provider ``a2a_agent``.

An A2A reply may carry a JSON-RPC ``error`` instead of a result, without anything being raised:
its code is ``error.type``. The A2A ``contextId`` is ``gen_ai.conversation.id``. With content
capture on, the text parts of the message sent and of the agent's reply are the input and output
messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import GEN_AI_CONVERSATION_ID
from opentelemetry.util.genai.invocation import RemoteAgentInvocation
from opentelemetry.util.genai.types import InputMessage, OutputMessage, TextPart

from litellm_otel._access import field, items, text
from litellm_otel._operations.facts import apply_usage

#: LiteLLM's provider id for an agent it reaches over A2A itself (no completion bridge).
A2A_PROVIDER: Final = "a2a_agent"
#: Where LiteLLM's A2A client keeps the agent's card, in the order LiteLLM reads them.
_CARD_ATTRIBUTES: Final = ("_litellm_agent_card", "agent_card", "_card")


def _litellm_params(params: Mapping[str, Any]) -> Mapping[str, Any]:
    value = params.get("litellm_params")
    return value if isinstance(value, Mapping) else {}  # pyright: ignore[reportUnknownVariableType]


def _bridge_provider(params: Mapping[str, Any]) -> str | None:
    return text(_litellm_params(params).get("custom_llm_provider"))


def agent_card(params: Mapping[str, Any]) -> Any:
    """The card of the agent the caller's client talks to, if the client holds one."""
    client = params.get("a2a_client")
    if client is None:
        return None
    for name in _CARD_ATTRIBUTES:
        card = getattr(client, name, None)
        if card is not None:
            return card
    return None


def agent_name(params: Mapping[str, Any]) -> str | None:
    return text(field(agent_card(params), "name"))


def agent_start_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"agent_name": agent_name(params)}


def agent_routing(params: Mapping[str, Any]) -> dict[str, Any]:
    """The completion bridge's provider and model; else the agent, at its URL."""
    provider = _bridge_provider(params)
    api_base = text(params.get("api_base"))
    if provider is not None:
        model = text(_litellm_params(params).get("model"))
        return {
            "model": f"{provider}/{model}"
            if model and not model.startswith(f"{provider}/")
            else model,
            "custom_llm_provider": provider,
            "api_base": api_base or text(_litellm_params(params).get("api_base")),
        }
    return {
        "model": None,
        "custom_llm_provider": A2A_PROVIDER,
        "api_base": api_base or agent_url(agent_card(params)),
    }


def agent_url(card: Any) -> str | None:
    """The card's URL: ``url`` in A2A 0.3 cards, the first interface's in 1.0 ones."""
    url = text(field(card, "url"))
    if url is not None:
        return url
    for interface in field(card, "supported_interfaces") or ():
        url = text(field(interface, "url"))
        if url is not None:
            return url
    return None


def _message(request: Any) -> Any:
    return field(field(request, "params"), "message")


def text_parts(parts: object) -> list[TextPart]:
    """The text parts of an A2A message or artifact (``{"kind": "text", "text": ...}``)."""
    found: list[TextPart] = []
    for part in items(parts) or ():
        # a2a-sdk's pydantic parts wrap the concrete part in ``root``
        root = field(part, "root")
        concrete = part if root is None else root
        value = field(concrete, "text")
        if isinstance(value, str) and field(concrete, "kind") in ("text", None):
            found.append(TextPart(content=value))
    return found


def apply_agent_request(
    invocation: RemoteAgentInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    agent_id = text(params.get("agent_id"))
    if agent_id is not None:
        invocation.agent_id = agent_id
    card = agent_card(params)
    if card is not None:
        description = text(field(card, "description"))
        if description is not None:
            invocation.agent_description = description
        version = text(field(card, "version"))
        if version is not None:
            invocation.agent_version = version
    if capture_content:
        parts = text_parts(field(_message(params.get("request")), "parts"))
        if parts:
            invocation.input_messages = [InputMessage(role="user", parts=list(parts))]


def apply_agent_response(
    invocation: RemoteAgentInvocation, response: Any, capture_content: bool
) -> None:
    apply_usage(invocation, field(response, "usage"))
    result = field(response, "result")
    if result is None:
        return
    record_context_id(invocation, result)
    if capture_content:
        parts = result_text(result)
        if parts:
            invocation.output_messages = [
                OutputMessage(role="assistant", parts=list(parts), finish_reason="stop")
            ]


def _error_type(error: Any) -> str | None:
    if error is None:
        return None
    code = field(error, "code")
    return str(code) if code is not None else "_OTHER"


def rpc_error_type(response: Any) -> str | None:
    """The ``error.type`` of a reply carrying a JSON-RPC error instead of a result."""
    return _error_type(field(response, "error"))


def record_context_id(invocation: RemoteAgentInvocation, result: Any) -> None:
    context_id = text(field(result, "contextId")) or text(field(result, "context_id"))
    if context_id is not None:
        invocation.attributes[GEN_AI_CONVERSATION_ID] = context_id


def result_text(result: Any) -> list[TextPart]:
    """The agent's reply: a message's parts, or a task's artifacts and final status message."""
    if field(result, "kind") == "message" or field(result, "parts") is not None:
        return text_parts(field(result, "parts"))
    parts: list[TextPart] = []
    for artifact in field(result, "artifacts") or ():
        parts.extend(text_parts(field(artifact, "parts")))
    if not parts:
        parts = text_parts(field(field(field(result, "status"), "message"), "parts"))
    return parts


class AgentStreamState:
    """Reads the events of ``asend_message_streaming``: JSON-RPC responses whose ``result`` is a
    task, a message, a status update or an artifact update."""

    __slots__ = ("_capture", "_context_id", "_error", "_parts")

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._context_id: str | None = None
        self._error: Any = None
        self._parts: list[TextPart] = []

    def process(self, chunk: Any, invocation: Any) -> None:
        event = field(chunk, "root") if field(chunk, "root") is not None else chunk
        error = field(event, "error")
        if error is not None:
            self._error = error
        result = field(event, "result")
        if result is None:
            return
        context_id = text(field(result, "contextId")) or text(field(result, "context_id"))
        if context_id is not None:
            self._context_id = context_id
        if not self._capture:
            return
        kind = field(result, "kind")
        if kind == "artifact-update":
            self._parts.extend(text_parts(field(field(result, "artifact"), "parts")))
        elif kind == "message":
            self._parts.extend(text_parts(field(result, "parts")))

    @property
    def reply_error_type(self) -> str | None:
        """A JSON-RPC error among the events fails the call as a non-streamed one does: its
        code is ``error.type`` (the conventions' A2A rule) and the status is ERROR."""
        return _error_type(self._error)

    def apply(self, invocation: Any) -> None:
        if self._context_id is not None:
            invocation.attributes[GEN_AI_CONVERSATION_ID] = self._context_id
        if self._parts:
            invocation.output_messages = [
                OutputMessage(role="assistant", parts=list(self._parts), finish_reason="stop")
            ]
