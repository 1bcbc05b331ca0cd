"""``responses`` / ``aresponses`` (the OpenAI Responses API through LiteLLM).

Recorded as operation ``chat`` (the conventions name the Responses API a chat operation).
Responses report usage as ``input_tokens`` / ``output_tokens`` and say why generation
stopped through ``status`` / ``incomplete_details`` instead of per-choice finish reasons;
they are mapped onto ``gen_ai.response.finish_reasons`` as ``stop``, ``tool_calls``,
``length`` or ``content_filter``. ``instructions`` are a separate system prompt, so they
go to ``gen_ai.system_instructions``.

Input items are messages, tool calls and their outputs (``function_call_output``, and the
``*_call_output`` of built-in tools, whose output may be a list of parts with images) and
reasoning summaries; items that only refer to stored state (``item_reference``) or record a
built-in tool's run are not content and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.types import (
    BlobPart,
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
)

from litellm_otel import _messages
from litellm_otel._access import field, integer
from litellm_otel._operations.chat import apply_sampling
from litellm_otel._operations.facts import apply_identity, apply_usage, record_litellm_facts

_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def apply_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    apply_sampling(invocation, params)
    max_output = integer(params.get("max_output_tokens"))
    if max_output is not None:
        invocation.max_tokens = max_output
    effort = field(params.get("reasoning"), "effort")
    if isinstance(effort, str):
        invocation.reasoning_level = effort
    text_format = field(params.get("text"), "format")
    kind = field(text_format, "type")
    if kind in ("json_schema", "json_object"):
        invocation.output_type = "json"
    elif kind == "text":
        invocation.output_type = "text"
    previous = params.get("previous_response_id")
    if isinstance(previous, str):
        invocation.previous_response_id = previous
    if capture_content:
        invocation.input_messages = input_messages(params.get("input"))
        instructions = params.get("instructions")
        if isinstance(instructions, str) and instructions:
            invocation.system_instruction = [TextPart(content=instructions)]
        tools = _messages.sequence(params.get("tools"))
        if tools:
            invocation.tool_definitions = _messages.tool_definitions(
                [_as_chat_tool(tool) for tool in tools]
            )


def _as_chat_tool(tool: Any) -> Any:
    """Responses tools are flat (``{"type": "function", "name": ...}``); chat nests them."""
    if field(tool, "type") == "function" and field(tool, "function") is None:
        return {
            "type": "function",
            "function": {
                "name": field(tool, "name"),
                "description": field(tool, "description"),
                "parameters": field(tool, "parameters"),
            },
        }
    return tool


def input_messages(items: Any) -> list[InputMessage]:
    if isinstance(items, str):
        return [InputMessage(role="user", parts=[TextPart(content=items)])]
    sequence = _messages.sequence(items)
    if sequence is None:
        return []
    messages: list[InputMessage] = []
    for item in sequence:
        kind = field(item, "type")
        if kind is None or kind == "message":  # string content or input_text / input_image parts
            messages.extend(_messages.input_messages([item]))
        elif isinstance(kind, str) and kind.endswith("_call_output"):
            output = _messages.tool_output(field(item, "output"))
            messages.append(
                InputMessage(
                    role="tool",
                    parts=[ToolCallResponsePart(response=output, id=field(item, "call_id"))],
                )
            )
        elif kind in ("function_call", "custom_tool_call"):
            messages.append(InputMessage(role="assistant", parts=[_tool_call(item, kind)]))
        elif kind == "reasoning":
            parts = _reasoning_parts(item)
            if parts:
                messages.append(InputMessage(role="assistant", parts=parts))
    return messages


def _tool_call(item: Any, kind: Any) -> ToolCallRequestPart:
    return ToolCallRequestPart(
        arguments=_messages.parse_arguments(
            field(item, "arguments" if kind == "function_call" else "input")
        ),
        name=str(field(item, "name") or ""),
        id=field(item, "call_id"),
    )


def _reasoning_parts(item: Any) -> list[MessagePart]:
    """A reasoning item's summary (its ``encrypted_content`` is opaque and never read)."""
    summary = "".join(
        text
        for part in _messages.sequence(field(item, "summary")) or ()
        if isinstance(text := field(part, "text"), str)
    )
    return [ReasoningPart(content=summary)] if summary else []


def finish_reason(response: Any) -> str | None:
    status = field(response, "status")
    if status == "completed":
        outputs = field(response, "output") or ()
        if any(field(item, "type") == "function_call" for item in outputs):
            return "tool_calls"
        return "stop"
    if status == "incomplete":
        reason = field(field(response, "incomplete_details"), "reason")
        return _INCOMPLETE_REASONS.get(reason, reason) if isinstance(reason, str) else "length"
    if status == "failed":
        return "error"
    return None


def output_message(response: Any) -> OutputMessage:
    parts: list[MessagePart] = []
    for item in field(response, "output") or ():
        kind = field(item, "type")
        if kind == "message":
            parts.extend(_messages.content_parts(field(item, "content")))
        elif kind in ("function_call", "custom_tool_call"):
            parts.append(_tool_call(item, kind))
        elif kind == "reasoning":
            parts.extend(_reasoning_parts(item))
        elif kind == "image_generation_call" and field(item, "result") is not None:
            mime = _messages.mime_type(f"image/{field(item, 'output_format') or 'png'}")
            parts.append(BlobPart(mime_type=mime, modality="image", content=b""))
    return OutputMessage(
        role="assistant",
        parts=parts,
        finish_reason=_messages.map_finish_reason(finish_reason(response)),
    )


def apply_response(invocation: InferenceInvocation, response: Any, capture_content: bool) -> None:
    apply_identity(invocation, response)
    reason = finish_reason(response)
    if reason is not None:
        invocation.finish_reasons = [reason]
    apply_usage(invocation, field(response, "usage"))
    record_litellm_facts(invocation.attributes, response)
    if capture_content:
        invocation.output_messages = [output_message(response)]


class ResponsesStreamState:
    """Responses streams are typed events; the terminal one carries the whole response."""

    __slots__ = ("capture_content", "final", "response_id", "response_model", "text")

    def __init__(self, capture_content: bool) -> None:
        self.capture_content = capture_content
        self.final: Any = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.text: list[str] = []

    def process(self, event: Any, invocation: InferenceInvocation) -> None:
        kind = field(event, "type")
        if kind == "response.output_text.delta":
            if self.capture_content:
                delta = field(event, "delta")
                if isinstance(delta, str):
                    self.text.append(delta)
            return
        response = field(event, "response")
        if response is None:
            return
        if self.response_id is None:
            response_id = field(response, "id")
            if isinstance(response_id, str):
                self.response_id = response_id
            model = field(response, "model")
            if isinstance(model, str):
                self.response_model = model
                invocation.response_model_name = model
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = response

    def apply(self, invocation: InferenceInvocation) -> None:
        if self.final is not None:
            apply_response(invocation, self.final, self.capture_content)
            return
        if self.response_id is not None:
            invocation.response_id = self.response_id
        if self.capture_content and self.text:
            invocation.output_messages = [
                OutputMessage(
                    role="assistant",
                    parts=[TextPart(content="".join(self.text))],
                    finish_reason=None,
                )
            ]
