"""What captured content may look like when it leaves the process.

Runs only when content capture is on, on the four content fields of an invocation, each time
one of them is complete: the request's messages, system instructions and tool definitions when
the call starts, the answer when it ends (also when a stream fails half-way). Every captured
string passes the user's ``content_filter`` first: texts, reasoning, URLs, tool-call arguments,
tool results (also those given as a list of parts), tool descriptions and schemas. The filter
returns the string to record, or ``None`` to drop that part. It sees each string whole, before
anything is cut: a filter that drops texts marked confidential must see the mark wherever it
is. Structured values (arguments, results, schemas) reach it as their JSON text, and are
recorded as the JSON the filter returned, or as that text if it is no longer JSON. A filter
that fails drops all content of that call rather than risk recording what it was meant to hide.

Then :mod:`litellm_otel._budget` bounds each field, as written, to ``max_content_length``.
Without a filter that is all that runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, is_dataclass
from typing import Any, Final, cast

from opentelemetry.util.genai.types import (
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    UriPart,
)

from litellm_otel._budget import Sources, bound, json_text, not_json
from litellm_otel._config import DEFAULT_MAX_CONTENT_LENGTH
from litellm_otel._failsafe import report_failure
from litellm_otel._messages import parse_arguments

ContentFilter = Callable[[str], "str | None"]

_DROP: Final = object()  # what a part becomes when the filter drops it


class _FilterFailed(Exception):
    """The user's filter raised (reported as such, not as a bug of ours)."""


def _message_marker(count: int, chars: int, first: Any) -> Any:
    text = TextPart(content=f"…[{count} messages truncated, {chars} chars]")
    role = first.role if isinstance(first.role, str) and len(first.role) <= 32 else "user"
    if isinstance(first, OutputMessage):
        return OutputMessage(role=role, parts=[text], finish_reason=None)
    return InputMessage(role=role, parts=[text])


def _part_marker(count: int, chars: int, first: Any) -> Any:
    return TextPart(content=f"…[{count} parts truncated, {chars} chars]")


def _definition_marker(count: int, chars: int, first: Any) -> Any:
    return GenericToolDefinition(
        name=f"…[{count} tool definitions truncated, {chars} chars]", type="truncated"
    )


@dataclass(frozen=True)
class ContentPolicy:
    content_filter: ContentFilter | None = None
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH

    def filter_inputs(self, invocation: Any) -> None:
        """Filter and bound the captured request content."""
        try:
            sources = Sources()
            limit = self.max_content_length
            filtering = self.content_filter is not None
            messages = getattr(invocation, "input_messages", None)
            if messages:
                if filtering:
                    messages = self._messages(messages, sources)
                invocation.input_messages = bound(messages, limit, sources, _message_marker)
            system = getattr(invocation, "system_instruction", None)
            if system:
                if filtering:
                    system = self._parts(system, sources)
                invocation.system_instruction = bound(system, limit, sources, _part_marker)
            definitions = getattr(invocation, "tool_definitions", None)
            if definitions:
                if filtering:
                    definitions = [self._definition(d, sources) for d in definitions]
                invocation.tool_definitions = bound(definitions, limit, sources, _definition_marker)
        except _FilterFailed:
            report_failure("running content_filter")
            _drop_content(invocation)
        except Exception:
            report_failure("bounding captured content")
            _drop_content(invocation)

    def filter_outputs(self, invocation: Any) -> None:
        """Filter and bound the captured answer."""
        try:
            messages = getattr(invocation, "output_messages", None)
            if messages:
                sources = Sources()
                if self.content_filter is not None:
                    messages = self._messages(messages, sources)
                invocation.output_messages = bound(
                    messages, self.max_content_length, sources, _message_marker
                )
        except _FilterFailed:
            report_failure("running content_filter")
            _drop_content(invocation)
        except Exception:
            report_failure("bounding captured content")
            _drop_content(invocation)

    # --- filtering (and parsing what the filter saw as text) ---------------------------------

    def _filter(self, text: str) -> str | None:
        content_filter = self.content_filter
        if content_filter is None:  # called only with a filter set
            return text
        try:
            filtered = content_filter(text)
        except Exception as error:
            raise _FilterFailed from error
        return None if filtered is None else str(filtered)

    def _structured(self, value: Any, sources: Sources) -> Any:
        """A structured value the filter saw as JSON text; ``_DROP`` when it dropped it."""
        text = json_text(value)
        if text is None:  # util-genai could not write it either: say what it was
            return self._filter(not_json(value)) or _DROP
        sources.add(value, text, exact=True)
        filtered = self._filter(text)
        if filtered is None:
            return _DROP
        if filtered == text:
            return value
        parsed = parse_arguments(filtered)
        if parsed is not filtered:
            sources.add(parsed, filtered, exact=False)
        return parsed

    def _messages(self, messages: Sequence[Any], sources: Sources) -> list[Any]:
        result: list[Any] = []
        for message in messages:
            if isinstance(message, (InputMessage, OutputMessage)):
                message.parts = self._parts(message.parts, sources)
            result.append(message)
        return result

    def _parts(self, parts: Sequence[MessagePart], sources: Sources) -> list[MessagePart]:
        kept: list[MessagePart] = []
        for part in parts:
            if self._part(part, sources):
                kept.append(part)
        return kept

    def _part(self, part: Any, sources: Sources) -> bool:
        """Filter one part in place; ``False`` when it is dropped."""
        kind: type[Any] = part.__class__
        if kind is TextPart or kind is ReasoningPart:
            text = self._filter(part.content)
            if text is None:
                return False
            part.content = text
        elif kind is ToolCallRequestPart:
            arguments = part.arguments
            if isinstance(arguments, str):  # not JSON: the text as the model wrote it
                text = self._filter(arguments)
                if text is None:
                    return False
                part.arguments = text
            elif arguments is not None:
                value = self._structured(arguments, sources)
                if value is _DROP:
                    return False
                part.arguments = value
        elif kind is ToolCallResponsePart:
            return self._response(part, sources)
        elif kind is UriPart:
            uri = self._filter(part.uri)
            if uri is None:
                return False
            part.uri = uri
        return True

    def _response(self, part: ToolCallResponsePart, sources: Sources) -> bool:
        response = part.response
        # A tool result given as the convention's parts (an image, say) is filtered part by part.
        parts = cast("list[MessagePart]", response) if type(response) is list else None
        if isinstance(response, str):
            text = self._filter(response)
            if text is None:
                return False
            part.response = text
        elif parts is not None and all(_is_part(item) for item in parts):
            part.response = self._parts(parts, sources)
        elif response is not None:
            value = self._structured(response, sources)
            if value is _DROP:
                return False
            part.response = value
        return True

    def _definition(self, definition: Any, sources: Sources) -> Any:
        if type(definition) is not FunctionToolDefinition:
            return definition
        description = definition.description
        if isinstance(description, str):
            definition.description = self._filter(description)
        parameters = definition.parameters
        if parameters is not None and not isinstance(parameters, str):
            value = self._structured(parameters, sources)
            definition.parameters = None if value is _DROP else value
        elif isinstance(parameters, str):
            definition.parameters = self._filter(parameters)
        return definition


def _is_part(value: Any) -> bool:
    """One of the convention's parts (a tool result given as parts holds these)."""
    return is_dataclass(value) and not isinstance(value, type)


def _drop_content(invocation: Any) -> None:
    """Fail closed: content that could not be filtered or bounded is not recorded."""
    for name in ("input_messages", "output_messages", "system_instruction"):
        if hasattr(invocation, name):
            setattr(invocation, name, [])
    if hasattr(invocation, "tool_definitions"):
        invocation.tool_definitions = None
