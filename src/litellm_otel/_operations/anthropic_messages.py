"""Anthropic's Messages API through LiteLLM (``litellm.anthropic_messages``,
``litellm.anthropic_interface.messages.create``): arguments, responses, streamed events.

Recorded as operation ``chat``, whichever provider LiteLLM sends the call to (Anthropic
natively; OpenAI through ``responses``, the others through ``completion``: those inner calls
fold into this span). The response is Anthropic's shape whatever the provider: ``stop_reason``
goes to ``gen_ai.response.finish_reasons`` as sent (``end_turn``, ``tool_use``...), and the
usage's ``input_tokens``, which counts neither cache reads nor cache writes, is added to them
for ``gen_ai.usage.input_tokens`` (the conventions count all input tokens there). The reply
carries no cost of LiteLLM's: the usage is priced with LiteLLM's pricing (see pricing).

Streams are the provider's server-sent events as bytes, split anywhere: only complete lines
are read, and without content capture only the ``message_start`` and ``message_delta`` events
(identity, usage, stop reason) are parsed. A stream is priced once its ``message_delta``
has given the final usage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, cast

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.types import (
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
)

from litellm_otel import _messages
from litellm_otel._access import field, integer, plain
from litellm_otel._operations.chat import apply_sampling, stop_sequences
from litellm_otel._operations.facts import apply_identity, record_litellm_facts
from litellm_otel._operations.pricing import price_anthropic_usage, reports_usage
from litellm_otel._operations.sse import DataLines

#: Anthropic's stop reasons in the output message schema's terms.
_FINISH_REASONS: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def apply_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    apply_sampling(invocation, params)
    stops = stop_sequences(params.get("stop_sequences"))
    if stops is not None:
        invocation.stop_sequences = stops
    if capture_content:
        invocation.input_messages = input_messages(params.get("messages"))
        system = params.get("system")
        if system:
            invocation.system_instruction = _messages.content_parts(system)
        tools = params.get("tools")
        if tools:
            invocation.tool_definitions = _messages.tool_definitions(tools)


def input_messages(messages: Any) -> list[InputMessage]:
    result: list[InputMessage] = []
    for message in _messages.sequence(messages) or ():
        role = str(field(message, "role") or "user")
        content = field(message, "content")
        blocks = [content] if isinstance(content, str) else _messages.sequence(content) or ()
        parts = [part for block in blocks for part in _block_parts(block)]
        if parts and all(isinstance(part, ToolCallResponsePart) for part in parts):
            role = "tool"  # a user turn that only answers tool calls
        result.append(InputMessage(role=role, parts=parts))
    return result


def _block_parts(block: Any) -> list[MessagePart]:
    kind = field(block, "type")
    if kind == "tool_use":
        return [_tool_call(block)]
    if kind == "tool_result":
        return [
            ToolCallResponsePart(
                response=_messages.tool_output(field(block, "content")),
                id=field(block, "tool_use_id"),
            )
        ]
    return _messages.content_parts([block])


def _tool_call(block: Any) -> ToolCallRequestPart:
    return ToolCallRequestPart(
        arguments=field(block, "input"), name=str(field(block, "name") or ""), id=field(block, "id")
    )


#: The token counts of Anthropic's usage.
_COUNTS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


def apply_usage(invocation: InferenceInvocation, usage: Any) -> None:
    """Anthropic's usage; a count it did not report stays unset."""
    if usage is None:
        return
    uncached = integer(field(usage, "input_tokens"))
    cache_read = integer(field(usage, "cache_read_input_tokens"))
    cache_write = integer(field(usage, "cache_creation_input_tokens"))
    if uncached is not None:
        invocation.input_tokens = uncached + (cache_read or 0) + (cache_write or 0)
    output = integer(field(usage, "output_tokens"))
    if output is not None:
        invocation.output_tokens = output
    if cache_read is not None:
        invocation.cache_read_input_tokens = cache_read
    if cache_write is not None:
        invocation.cache_write_input_tokens = cache_write


def output_message(content: Any, stop_reason: Any) -> OutputMessage:
    parts: list[MessagePart] = []
    for block in _messages.sequence(content) or ():
        kind = field(block, "type")
        if kind == "tool_use":
            parts.append(_tool_call(block))
        elif kind == "thinking":
            thought = field(block, "thinking")
            if isinstance(thought, str) and thought:
                parts.append(ReasoningPart(content=thought))
        elif kind == "text":
            parts.append(TextPart(content=str(field(block, "text") or "")))
    reason = _FINISH_REASONS.get(stop_reason) if isinstance(stop_reason, str) else None
    return OutputMessage(
        role="assistant",
        parts=parts,
        finish_reason=reason or _messages.map_finish_reason(stop_reason),
    )


def apply_response(invocation: InferenceInvocation, response: Any, capture_content: bool) -> None:
    apply_identity(invocation, response)
    stop_reason = field(response, "stop_reason")
    if isinstance(stop_reason, str):
        invocation.finish_reasons = [stop_reason]
    usage = field(response, "usage")
    apply_usage(invocation, usage)
    record_litellm_facts(invocation.attributes, response)
    if reports_usage(usage, *_COUNTS):
        price_anthropic_usage(invocation, usage)
    if capture_content:
        invocation.output_messages = [output_message(field(response, "content"), stop_reason)]


class _Block:
    __slots__ = ("kind", "name", "pieces", "tool_id")

    def __init__(self, start: Any) -> None:
        self.kind = field(start, "type")
        self.tool_id = field(start, "id")
        self.name = field(start, "name")
        self.pieces: list[str] = []

    def as_block(self) -> dict[str, Any]:
        joined = "".join(self.pieces)
        if self.kind == "tool_use":
            return {
                "type": "tool_use",
                "id": self.tool_id,
                "name": self.name,
                "input": _messages.parse_arguments(joined),
            }
        if self.kind == "thinking":
            return {"type": "thinking", "thinking": joined}
        return {"type": "text", "text": joined}


class AnthropicStreamState:
    """What a Messages stream's events said so far (see the module docstring)."""

    __slots__ = (
        "blocks",
        "capture_content",
        "final_usage",
        "lines",
        "message",
        "stop_reason",
        "usage",
    )

    def __init__(self, capture_content: bool) -> None:
        self.capture_content = capture_content
        self.lines = DataLines()
        self.message: Any = None
        self.usage: dict[str, Any] = {}
        self.final_usage = False
        self.stop_reason: str | None = None
        self.blocks: dict[int, _Block] = {}

    def process(self, chunk: Any, invocation: InferenceInvocation) -> None:
        if isinstance(chunk, str):
            chunk = chunk.encode()
        if not isinstance(chunk, (bytes, bytearray)):
            self._event(chunk, invocation)  # an event LiteLLM already parsed
            return
        for payload in self.lines.feed(chunk):
            if self._wanted(payload):
                try:
                    event = json.loads(payload)
                except ValueError:
                    continue
                self._event(event, invocation)

    def _wanted(self, line: bytes) -> bool:
        return (
            self.capture_content
            or b'"message_start"' in line
            or b'"message_delta"' in line
            or b'"error"' in line
        )

    def _event(self, event: Any, invocation: InferenceInvocation) -> None:
        kind = field(event, "type")
        if kind == "message_start":
            self.message = field(event, "message")
            apply_identity(invocation, self.message)
            self._add_usage(field(self.message, "usage"))
        elif kind == "message_delta":
            reason = field(field(event, "delta"), "stop_reason")
            if isinstance(reason, str):
                self.stop_reason = reason
            usage = field(event, "usage")
            if usage is not None:
                self._add_usage(usage)
                self.final_usage = True
        elif not self.capture_content:
            return
        elif kind == "content_block_start":
            index = field(event, "index")
            self.blocks[index if isinstance(index, int) else len(self.blocks)] = _Block(
                field(event, "content_block")
            )
        elif kind == "content_block_delta":
            block = self.blocks.get(field(event, "index"))
            delta = field(event, "delta")
            piece = field(delta, "text") or field(delta, "thinking") or field(delta, "partial_json")
            if block is not None and isinstance(piece, str):
                block.pieces.append(piece)

    def _add_usage(self, usage: Any) -> None:
        """Later events repeat or complete the usage: the latest value of each field wins.
        Every field is kept (service tier, server tool use...): LiteLLM's pricing reads them."""
        usage = plain(usage)
        if type(usage) is dict:
            fields = cast("dict[str, Any]", usage)
            self.usage.update((name, value) for name, value in fields.items() if value is not None)
            return
        for name in _COUNTS:
            value = field(usage, name)
            if value is not None:
                self.usage[name] = value

    @property
    def finish_reasons(self) -> Mapping[int, str] | None:
        return {0: self.stop_reason} if self.stop_reason is not None else None

    def apply(self, invocation: InferenceInvocation) -> None:
        if self.stop_reason is not None:
            invocation.finish_reasons = [self.stop_reason]
        if self.usage:
            apply_usage(invocation, self.usage)
            if self.final_usage and reports_usage(self.usage, *_COUNTS):
                price_anthropic_usage(invocation, self.usage)
        if self.capture_content and (self.blocks or self.message is not None):
            content = [block.as_block() for _, block in sorted(self.blocks.items())]
            invocation.output_messages = [output_message(content, self.stop_reason)]
