"""What captured content may look like when it leaves the process.

Runs only when content capture is on. Every captured text (prompts, answers, reasoning, tool
arguments and results, system instructions, tool schemas) passes the user's
``content_filter`` (which returns the text to record, or ``None`` to drop that part), then
``max_content_length``: a longer text is cut and ends with a visible marker
(``…[truncated 1234 chars]``), so one huge prompt cannot produce a multi-megabyte attribute and
the JSON stays valid (unlike the SDK's attribute length limit, which cuts the serialised string
anywhere). A filter that fails drops all content of that call rather than risk recording what
it was meant to hide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.util.genai.types import (
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
)

from litellm_otel._config import DEFAULT_MAX_CONTENT_LENGTH
from litellm_otel._failsafe import report_failure

ContentFilter = Callable[[str], "str | None"]


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"


@dataclass(frozen=True)
class ContentPolicy:
    content_filter: ContentFilter | None = None
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH

    def filter_inputs(self, invocation: Any) -> None:
        """Filter and truncate captured input content."""
        try:
            if getattr(invocation, "input_messages", None):
                invocation.input_messages = self._messages(invocation.input_messages)
            if getattr(invocation, "system_instruction", None):
                invocation.system_instruction = self._parts(invocation.system_instruction)
            definitions = getattr(invocation, "tool_definitions", None)
            if definitions:
                invocation.tool_definitions = [self._definition(d) for d in definitions]
        except Exception:
            report_failure("running content_filter")
            _drop_content(invocation)

    def filter_outputs(self, invocation: Any) -> None:
        """Filter and truncate captured output content."""
        try:
            if getattr(invocation, "output_messages", None):
                invocation.output_messages = self._messages(invocation.output_messages)
        except Exception:
            report_failure("running content_filter")
            _drop_content(invocation)

    def _text(self, text: str) -> str | None:
        if self.content_filter is not None:
            filtered = self.content_filter(text)
            if filtered is None:
                return None
            text = str(filtered)
        return truncate(text, self.max_content_length)

    def _definition(self, definition: Any) -> Any:
        """Huge tool schemas are replaced by a marker; descriptions are truncated."""
        limit = self.max_content_length
        description = getattr(definition, "description", None)
        if isinstance(description, str) and len(description) > limit:
            definition.description = truncate(description, limit)
        parameters = getattr(definition, "parameters", None)
        if parameters is not None:
            size = len(json.dumps(parameters, default=str))
            if size > limit:
                definition.parameters = f"…[truncated {size} chars of JSON schema]"
        return definition

    def _messages(self, messages: Sequence[Any]) -> list[Any]:
        filtered: list[Any] = []
        for message in messages:
            parts = self._parts(message.parts)
            if isinstance(message, OutputMessage):
                filtered.append(
                    OutputMessage(
                        role=message.role,
                        parts=parts,
                        finish_reason=message.finish_reason,
                        name=message.name,
                    )
                )
            else:
                filtered.append(InputMessage(role=message.role, parts=parts, name=message.name))
        return filtered

    def _parts(self, parts: Sequence[MessagePart]) -> list[MessagePart]:
        kept: list[MessagePart] = []
        for part in parts:
            kept_part: MessagePart | None = part
            if isinstance(part, (TextPart, ReasoningPart)):
                text = self._text(part.content)
                kept_part = None if text is None else type(part)(content=text)
            elif isinstance(part, ToolCallResponsePart) and isinstance(part.response, str):
                text = self._text(part.response)
                kept_part = (
                    None if text is None else ToolCallResponsePart(response=text, id=part.id)
                )
            elif isinstance(part, ToolCallRequestPart) and isinstance(part.arguments, str):
                # arguments that were not valid JSON stay a string: bound their size too
                kept_part = ToolCallRequestPart(
                    arguments=truncate(part.arguments, self.max_content_length),
                    name=part.name,
                    id=part.id,
                )
            if kept_part is not None:
                kept.append(kept_part)
        return kept


def _drop_content(invocation: Any) -> None:
    """Fail closed: a filter that could not run must not let its content through."""
    for name in ("input_messages", "output_messages", "system_instruction"):
        if hasattr(invocation, name):
            setattr(invocation, name, [])
    if hasattr(invocation, "tool_definitions"):
        invocation.tool_definitions = None
