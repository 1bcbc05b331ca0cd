"""LiteLLM / OpenAI-shaped messages, tools and choices → GenAI convention message parts.

Only called when content capture is on. Inputs arrive as dicts or LiteLLM/pydantic
objects; both are read through :func:`field` so one code path handles either. Inline
binary payloads (base64 images, audio) are never copied: a part records that the payload
was there and its MIME type, with empty content.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from opentelemetry.util.genai.types import (
    BlobPart,
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    ToolDefinition,
    UriPart,
)

from litellm_otel._access import field

# OpenAI finish reasons → the values the output-messages schema allows.
FINISH_REASONS: Final[dict[str, str]] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_call",
    "tool_call": "tool_call",
    "function_call": "tool_call",
    "error": "error",
}


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments as an object when they are valid JSON, else as given."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def _media_part(url: str, modality: str) -> MessagePart:
    if url.startswith("data:"):
        mime_type = url[5:].split(",", 1)[0].split(";", 1)[0] or None
        # The payload itself is deliberately dropped: it can be megabytes and private.
        return BlobPart(mime_type=mime_type, modality=modality, content=b"")
    return UriPart(mime_type=None, modality=modality, uri=url)


def _content_parts(content: Any) -> list[MessagePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content=content)]
    if not isinstance(content, Iterable) or isinstance(content, (bytes, Mapping)):
        return [TextPart(content=str(content))]
    parts: list[MessagePart] = []
    for item in content:
        kind = field(item, "type")
        if kind in ("text", "input_text", "output_text"):
            text = field(item, "text")
            if text is not None:
                parts.append(TextPart(content=str(text)))
        elif kind == "image_url":
            image = field(item, "image_url")
            url = image if isinstance(image, str) else field(image, "url")
            if isinstance(url, str):
                parts.append(_media_part(url, "image"))
        elif kind == "input_audio":
            audio = field(item, "input_audio")
            audio_format = field(audio, "format")
            mime = f"audio/{audio_format}" if isinstance(audio_format, str) else None
            parts.append(BlobPart(mime_type=mime, modality="audio", content=b""))
        elif kind == "file":
            file = field(item, "file")
            file_data = field(file, "file_data")
            if isinstance(file_data, str):
                parts.append(_media_part(file_data, "document"))
        elif isinstance(item, str):
            parts.append(TextPart(content=item))
    return parts


def _tool_call_parts(tool_calls: Any) -> list[MessagePart]:
    parts: list[MessagePart] = []
    if not isinstance(tool_calls, (list, tuple)):
        return parts  # absent, or something LiteLLM accepted that is not a list of calls
    for call in tool_calls:
        function = field(call, "function")
        parts.append(
            ToolCallRequestPart(
                arguments=parse_arguments(field(function, "arguments")),
                name=str(field(function, "name") or ""),
                id=field(call, "id"),
            )
        )
    return parts


def input_messages(messages: Any) -> list[InputMessage]:
    """The chat history the caller sent, system messages included (they are part of it)."""
    result: list[InputMessage] = []
    if not isinstance(messages, Iterable) or isinstance(messages, (str, bytes, Mapping)):
        return result
    for message in messages:
        role = field(message, "role") or "user"
        content = field(message, "content")
        if role in ("tool", "function"):
            parts: list[MessagePart] = [
                ToolCallResponsePart(
                    response=content if isinstance(content, str) else _text_of(content),
                    id=field(message, "tool_call_id"),
                )
            ]
            role = "tool"
        else:
            parts = []
            reasoning = field(message, "reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                parts.append(ReasoningPart(content=reasoning))
            parts.extend(_content_parts(content))
            parts.extend(_tool_call_parts(field(message, "tool_calls")))
        result.append(InputMessage(role=str(role), parts=parts))
    return result


def _text_of(content: Any) -> Any:
    parts = _content_parts(content)
    texts = [part.content for part in parts if isinstance(part, TextPart)]
    return "".join(texts) if texts else None


def output_message(message: Any, finish_reason: Any, *, reasoning: Any = None) -> OutputMessage:
    """One choice of a response as an output message."""
    parts: list[MessagePart] = []
    reasoning = reasoning if reasoning is not None else field(message, "reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        parts.append(ReasoningPart(content=reasoning))
    parts.extend(_content_parts(field(message, "content")))
    parts.extend(_tool_call_parts(field(message, "tool_calls")))
    return OutputMessage(
        role=str(field(message, "role") or "assistant"),
        parts=parts,
        finish_reason=map_finish_reason(finish_reason),
    )


def map_finish_reason(reason: Any) -> str | None:
    """The schema's finish reason; ``None`` when the model never said (a stream cut short)."""
    if not isinstance(reason, str):
        return None
    return FINISH_REASONS.get(reason, reason)


def tool_definitions(tools: Any) -> list[ToolDefinition]:
    definitions: list[ToolDefinition] = []
    if not isinstance(tools, Iterable) or isinstance(tools, (str, bytes, Mapping)):
        return definitions
    for tool in tools:
        kind = field(tool, "type") or "function"
        function = field(tool, "function")
        if kind == "function" and function is not None:
            definitions.append(
                FunctionToolDefinition(
                    name=str(field(function, "name") or ""),
                    description=field(function, "description"),
                    parameters=field(function, "parameters"),
                )
            )
        else:
            definitions.append(
                GenericToolDefinition(name=str(field(tool, "name") or kind), type=str(kind))
            )
    return definitions
