"""LiteLLM-shaped messages, tools and choices → GenAI convention message parts.

Only called when content capture is on. Inputs arrive as dicts or LiteLLM/pydantic objects, in
OpenAI's shapes and in the provider shapes LiteLLM passes through (Anthropic ``source`` blocks,
Gemini ``inline_data``, Responses ``input_*`` parts); all are read through :func:`field`.

Inline payloads are never copied. A value where an image, audio, video or file goes is recorded
as a URI only when it starts with a scheme that names a place (``https:``, ``gs:``, …);
anything else (a ``data:`` URL however it is spelled, raw base64, an unknown scheme) becomes a
blob part with its MIME type and no bytes. Allowing the few reference schemes, rather than
recognising data URLs, is what makes this safe: providers accept data URLs in upper case, with
leading whitespace or as bare base64, and a recogniser misses the next spelling.

Only lists and tuples (and other sequences) are read. A one-shot iterable the caller passed (a
generator, ``iter(...)``) would be used up here, and LiteLLM would then send what is left of it
(nothing), so it is not recorded at all.

Tool-call arguments are recorded as the JSON object or array the model wrote, or as the text
when that is not JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from opentelemetry.util.genai.types import (
    BlobPart,
    FilePart,
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

#: Schemes whose URLs name a place rather than carry the content.
REFERENCE_SCHEMES: Final = frozenset({"http", "https", "gs", "s3", "ftp", "ftps", "file"})
# A URL's scheme as URL parsers read it: C0 controls and spaces before it are skipped, tabs
# and newlines inside it are ignored.
_SCHEME: Final = re.compile(r"[\x00-\x20]*([A-Za-z][A-Za-z0-9+.\-\t\n\r]{0,30}):")
_TABS_AND_NEWLINES: Final = str.maketrans("", "", "\t\n\r")
# A MIME type (RFC 6838 names, at most 127 characters in all) and nothing else.
_MIME: Final = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_TOKEN: Final = re.compile(r"[a-z0-9][a-z0-9.+-]{0,15}")
_MODALITIES: Final = ("image", "audio", "video")
_MAX_DEPTH: Final = 4  # content nested in content (Anthropic ``source: {type: content}``)
_NOT_SEQUENCES: Final = (str, bytes, bytearray, memoryview)


def sequence(value: Any) -> Sequence[Any] | None:
    """``value`` when it can be read without using it up (a list, a tuple), else ``None``."""
    if type(value) is list or type(value) is tuple:
        return value  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, Sequence) and not isinstance(value, _NOT_SEQUENCES):
        return value  # pyright: ignore[reportUnknownVariableType]
    return None


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments as an object when they are a JSON object or array, else as given."""
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments)
        except (ValueError, RecursionError):
            return arguments
        if isinstance(parsed, (dict, list)):
            return parsed  # pyright: ignore[reportUnknownVariableType]
        return arguments
    return arguments


def mime_type(value: Any) -> str | None:
    """``value`` when it is a MIME type (lower-cased), else ``None``."""
    if not isinstance(value, str) or len(value) > 127:
        return None
    lowered = value.strip().lower()
    return lowered if _MIME.fullmatch(lowered) else None


def _data_url_mime(url: str, start: int) -> str | None:
    """The media type of a ``data:`` URL whose header starts at ``start`` (before any comma)."""
    comma = url.find(",", start, start + 200)
    if comma < 0:
        return None
    return mime_type(url[start:comma].split(";", 1)[0])


def _modality_of(mime: str | None, default: str) -> str:
    if mime is not None:
        kind = mime.split("/", 1)[0]
        if kind in _MODALITIES:
            return kind
    return default


def media_part(value: str, modality: str, mime_hint: Any = None) -> MessagePart:
    """A URI part for a reference, a blob part (no bytes) for anything that may be a payload."""
    hint = mime_type(mime_hint)
    match = _SCHEME.match(value)
    scheme = match.group(1).translate(_TABS_AND_NEWLINES).lower() if match else None
    if scheme in REFERENCE_SCHEMES:
        return UriPart(mime_type=hint, modality=_modality_of(hint, modality), uri=value)
    mime = hint
    if scheme == "data" and match is not None:
        mime = _data_url_mime(value, match.end()) or hint
    # The payload itself is deliberately dropped: it can be megabytes and private.
    return BlobPart(mime_type=mime, modality=_modality_of(mime, modality), content=b"")


def _blob(modality: str, mime_hint: Any = None) -> BlobPart:
    mime = mime_type(mime_hint)
    return BlobPart(mime_type=mime, modality=_modality_of(mime, modality), content=b"")


def _file(file_id: Any, modality: str, mime_hint: Any = None) -> FilePart | None:
    if not isinstance(file_id, str):
        return None
    mime = mime_type(mime_hint)
    return FilePart(mime_type=mime, modality=_modality_of(mime, modality), file_id=file_id)


def _audio_mime(audio_format: Any) -> str | None:
    if isinstance(audio_format, str) and _TOKEN.fullmatch(audio_format.lower()):
        return f"audio/{audio_format.lower()}"
    return None


def _url_of(value: Any) -> Any:
    """``image_url`` / ``video_url`` are a URL or ``{"url": ...}``."""
    return value if isinstance(value, str) else field(value, "url")


def _one_part(item: Any, parts: list[MessagePart], depth: int) -> None:
    """Append the parts one content block of any known shape stands for."""
    if isinstance(item, str):
        parts.append(TextPart(content=item))
        return
    kind = field(item, "type")
    if kind in ("text", "input_text", "output_text"):
        text = field(item, "text")
        if text is not None:
            parts.append(TextPart(content=str(text)))
    elif kind == "refusal":
        refusal = field(item, "refusal")
        if isinstance(refusal, str):
            parts.append(TextPart(content=refusal))
    elif kind in ("thinking", "reasoning_text", "summary_text"):
        thought = field(item, "thinking" if kind == "thinking" else "text")
        if isinstance(thought, str) and thought:
            parts.append(ReasoningPart(content=thought))
    elif kind in ("image_url", "video_url"):
        value = field(item, kind)
        url = _url_of(value)
        if isinstance(url, str):
            parts.append(media_part(url, kind[:5], field(value, "format")))
    elif kind in ("input_image", "computer_screenshot"):
        url = _url_of(field(item, "image_url"))
        if isinstance(url, str):
            parts.append(media_part(url, "image"))
        elif (file := _file(field(item, "file_id"), "image")) is not None:
            parts.append(file)
    elif kind == "input_audio":
        audio = field(item, "input_audio")
        parts.append(_blob("audio", _audio_mime(field(audio, "format"))))
    elif kind in ("file", "input_file"):
        holder = field(item, "file") if kind == "file" else item
        _file_part(holder, parts)
    elif kind in ("image", "document"):
        _source_part(
            field(item, "source"), "image" if kind == "image" else "document", parts, depth
        )
    elif kind is None:
        _untyped_part(item, parts)


def _file_part(holder: Any, parts: list[MessagePart]) -> None:
    """OpenAI ``file`` / Responses ``input_file``: inline data, a URL or a file id."""
    hint = field(holder, "format")
    data = field(holder, "file_data")
    if isinstance(data, str):
        parts.append(media_part(data, "document", hint))
        return
    url = field(holder, "file_url")
    if isinstance(url, str):
        parts.append(media_part(url, "document", hint))
        return
    file = _file(field(holder, "file_id"), "document", hint)
    if file is not None:
        parts.append(file)


def _source_part(source: Any, modality: str, parts: list[MessagePart], depth: int) -> None:
    """Anthropic ``image`` / ``document`` blocks: ``source`` says what the content is."""
    kind = field(source, "type")
    media = field(source, "media_type")
    if kind == "text":
        data = field(source, "data")
        if isinstance(data, str):
            parts.append(TextPart(content=data))
    elif kind == "url":
        url = field(source, "url")
        if isinstance(url, str):
            parts.append(media_part(url, modality, media))
    elif kind == "file":
        file = _file(field(source, "file_id"), modality, media)
        if file is not None:
            parts.append(file)
    elif kind == "content":
        if depth < _MAX_DEPTH:
            parts.extend(content_parts(field(source, "content"), depth + 1))
    elif source is not None:  # base64, or a kind we do not know: never the data
        parts.append(_blob(modality, media))


def _untyped_part(item: Any, parts: list[MessagePart]) -> None:
    """Gemini-shaped parts carry no ``type``: ``inline_data``, ``file_data`` or ``text``."""
    inline = field(item, "inline_data") or field(item, "inlineData")
    if inline is not None:
        parts.append(_blob("document", field(inline, "mime_type") or field(inline, "mimeType")))
        return
    data = field(item, "file_data") or field(item, "fileData")
    if data is not None:
        uri = field(data, "file_uri") or field(data, "fileUri")
        if isinstance(uri, str):
            parts.append(
                media_part(uri, "document", field(data, "mime_type") or field(data, "mimeType"))
            )
        return
    text = field(item, "text")
    if isinstance(text, str):
        parts.append(TextPart(content=text))


def content_parts(content: Any, depth: int = 0) -> list[MessagePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content=content)]
    items: Sequence[Any] | None = sequence(content)
    if items is None:
        if isinstance(content, Mapping) or hasattr(content, "__pydantic_extra__"):
            items = (cast(Any, content),)  # one block given on its own
        elif isinstance(content, _NOT_SEQUENCES) or hasattr(content, "__iter__"):
            return []  # bytes, or an iterable that reading would use up
        else:
            return [TextPart(content=str(content))]  # a number, say
    parts: list[MessagePart] = []
    item: Any
    for item in items:
        _one_part(item, parts, depth)
    return parts


def tool_output(content: Any) -> Any:
    """A tool's result: its text, or its parts when it holds more than text (an image)."""
    if content is None or isinstance(content, str):
        return content
    parts = content_parts(content)
    if not parts:
        return None
    texts = [part.content for part in parts if type(part) is TextPart]
    if len(texts) == len(parts):
        return "".join(texts)
    return parts


def _tool_call_parts(tool_calls: Any) -> list[MessagePart]:
    parts: list[MessagePart] = []
    calls = sequence(tool_calls)
    if calls is None:
        return parts  # absent, or something LiteLLM accepted that is not a list of calls
    for call in calls:
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
    items = sequence(messages)
    if items is None:
        return result
    for message in items:
        role = field(message, "role") or "user"
        content = field(message, "content")
        if role in ("tool", "function"):
            parts: list[MessagePart] = [
                ToolCallResponsePart(
                    response=tool_output(content), id=field(message, "tool_call_id")
                )
            ]
            role = "tool"
        else:
            parts = []
            reasoning = field(message, "reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                parts.append(ReasoningPart(content=reasoning))
            parts.extend(content_parts(content))
            parts.extend(_tool_call_parts(field(message, "tool_calls")))
        result.append(InputMessage(role=str(role), parts=parts))
    return result


def output_message(message: Any, finish_reason: Any, *, reasoning: Any = None) -> OutputMessage:
    """One choice of a response as an output message."""
    parts: list[MessagePart] = []
    reasoning = reasoning if reasoning is not None else field(message, "reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        parts.append(ReasoningPart(content=reasoning))
    parts.extend(content_parts(field(message, "content")))
    audio = field(message, "audio")
    if audio is not None:  # an audio answer: its transcript, never its data
        transcript = field(audio, "transcript")
        if isinstance(transcript, str) and transcript:
            parts.append(TextPart(content=transcript))
        parts.append(_blob("audio"))
    images = sequence(field(message, "images"))
    if images:  # images a chat model generated (LiteLLM's ``message.images``)
        parts.extend(content_parts(images))
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
    items = sequence(tools)
    if items is None:
        return definitions
    for tool in items:
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
