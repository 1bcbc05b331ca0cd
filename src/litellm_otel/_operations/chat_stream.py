"""Chat (and text-completion) streams: what the chunks said, kept bounded.

Without content capture only the id and model (until first seen), finish reasons and the latest
usage object are kept, whatever the stream's length; with it, each choice's fragments are kept
until the stream ends and are joined once.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.types import OutputMessage

from litellm_otel import _attributes as attrs
from litellm_otel import _messages
from litellm_otel._access import field, number
from litellm_otel._operations.facts import apply_usage, hidden_params


class _ToolCallPieces:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []


class _ChoicePieces:
    """Content of one streamed choice, kept as fragments until the stream ends."""

    __slots__ = ("reasoning", "role", "text", "tool_calls")

    def __init__(self) -> None:
        self.role: str | None = None
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.tool_calls: dict[int, _ToolCallPieces] = {}

    def add(self, delta: Any) -> None:
        role = field(delta, "role")
        if isinstance(role, str):
            self.role = role
        content = field(delta, "content")
        if content is None:
            content = field(delta, "text")  # text-completion chunks
        if isinstance(content, str) and content:
            self.text.append(content)
        reasoning = field(delta, "reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            self.reasoning.append(reasoning)
        for call in field(delta, "tool_calls") or ():
            index = field(call, "index")
            key = index if isinstance(index, int) else 0
            pieces = self.tool_calls.get(key)
            if pieces is None:
                pieces = self.tool_calls[key] = _ToolCallPieces()
            call_id = field(call, "id")
            if isinstance(call_id, str) and call_id:
                pieces.id = call_id
            function = field(call, "function")
            name = field(function, "name")
            if isinstance(name, str) and name:
                pieces.name = name
            arguments = field(function, "arguments")
            if isinstance(arguments, str) and arguments:
                pieces.arguments.append(arguments)

    def message(self, finish_reason: str | None) -> OutputMessage:
        tool_calls = [
            {
                "id": pieces.id,
                "function": {"name": pieces.name, "arguments": "".join(pieces.arguments)},
            }
            for _, pieces in sorted(self.tool_calls.items())
        ]
        assembled = {
            "role": self.role or "assistant",
            "content": "".join(self.text) if self.text else None,
            "tool_calls": tool_calls,
        }
        reasoning = "".join(self.reasoning) if self.reasoning else None
        return _messages.output_message(assembled, finish_reason, reasoning=reasoning)


class ChatStreamState:
    """What a chat (or text-completion) stream told us so far.

    Bounded unless content capture is on: per chunk only the id and model (until first
    seen), finish reasons and the latest usage object are read.
    """

    __slots__ = (
        "capture_content",
        "choices",
        "finish_reasons",
        "response_id",
        "response_model",
        "usage",
    )

    def __init__(self, capture_content: bool) -> None:
        self.capture_content = capture_content
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: dict[int, str] = {}
        self.usage: Any = None
        self.choices: dict[int, _ChoicePieces] = {}

    def process(self, chunk: Any, invocation: InferenceInvocation) -> None:
        if self.response_id is None:
            response_id = field(chunk, "id")
            if isinstance(response_id, str):
                self.response_id = response_id
        if self.response_model is None:
            # LiteLLM stamps chunks with the requested model; what the provider answered
            # with is kept in the chunk's hidden params.
            model = hidden_params(chunk).get("provider_response_model") or field(chunk, "model")
            if isinstance(model, str):
                self.response_model = model
                # Set at once: the chunk-timing metrics recorded from now on carry it.
                invocation.response_model_name = model
        usage = field(chunk, "usage")
        if usage is not None:
            self.usage = usage
        # A streamed choice keeps its fields as pydantic extras: ``field`` reads them
        # directly (plain attribute access would go through pydantic's ``__getattr__``).
        for choice in field(chunk, "choices") or ():
            reason = field(choice, "finish_reason")
            if reason is not None:
                self.finish_reasons[field(choice, "index") or 0] = reason
            if self.capture_content:
                index = field(choice, "index") or 0
                pieces = self.choices.get(index)
                if pieces is None:
                    pieces = self.choices[index] = _ChoicePieces()
                pieces.add(field(choice, "delta") or choice)

    def apply(self, invocation: InferenceInvocation) -> None:
        if self.response_id is not None:
            invocation.response_id = self.response_id
        if self.response_model is not None:
            invocation.response_model_name = self.response_model
        if self.finish_reasons:
            invocation.finish_reasons = [
                str(reason) for _, reason in sorted(self.finish_reasons.items())
            ]
        if self.usage is not None:
            apply_usage(invocation, self.usage)
            # LiteLLM puts its computed cost on the final usage chunk.
            cost = number(field(self.usage, "cost"))
            if cost is not None:
                invocation.attributes[attrs.LITELLM_RESPONSE_COST] = cost
        if self.capture_content and self.choices:
            invocation.output_messages = [
                pieces.message(self.finish_reasons.get(index))
                for index, pieces in sorted(self.choices.items())
            ]
