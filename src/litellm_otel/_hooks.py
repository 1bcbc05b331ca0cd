"""User hooks and the content policy: see or change telemetry before it leaves the process.

* ``request_hook(span, params)`` runs once per call, right after the span started, with the
  call's arguments as LiteLLM received them (positional ones bound to their names);
* ``response_hook(span, response)`` runs once per successful call, just before the span ends,
  with what LiteLLM returned (for a stream, the stream object, after it ended);
* ``content_filter(text)`` sees every piece of captured message text (prompts, answers,
  reasoning, tool results, system instructions) before it is recorded, and returns the text
  to record, or ``None`` to drop that part. It only runs when content capture is on.

The same pass enforces ``max_content_length``: a captured text longer than the limit is cut
and ends with a visible marker (``…[truncated 1234 chars]``), so one huge prompt cannot
produce a multi-megabyte attribute, and the JSON stays valid (unlike the SDK's own attribute
length limit, which cuts the serialised string anywhere).

Hooks run inside the instrumented call, so they must be quick. An exception in a hook is
contained and logged once; a failing ``content_filter`` drops all content of that call
rather than risk recording what it was meant to hide.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.trace import Span
from opentelemetry.util.genai.types import (
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
)

from litellm_otel._failsafe import report_failure

RequestHook = Callable[[Span, Mapping[str, Any]], None]
ResponseHook = Callable[[Span, Any], None]
ContentFilter = Callable[[str], "str | None"]

#: Request hooks of integrations shipped in this package (``litellm_otel.proxy``), which
#: register after ``instrument()`` ran (e.g. under ``opentelemetry-instrument``, where nobody
#: can pass ``request_hook=``). They run before the user's hook, with the same arguments
#: and the same containment.
INTEGRATION_REQUEST_HOOKS: list[RequestHook] = []

DEFAULT_MAX_CONTENT_LENGTH: Final = 32_768
MAX_CONTENT_LENGTH_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH"


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"


def max_content_length(kwargs: Mapping[str, Any]) -> int:
    """``instrument(max_content_length=...)``, else the environment, else the default."""
    value: Any = kwargs.get("max_content_length")
    source = "instrument(max_content_length=...)"
    if value is None:
        value = os.environ.get(MAX_CONTENT_LENGTH_ENV) or DEFAULT_MAX_CONTENT_LENGTH
        source = MAX_CONTENT_LENGTH_ENV
    try:
        limit = int(value)
        if limit <= 0:
            raise ValueError(value)
    except (TypeError, ValueError):
        report_failure(f"reading {source}: not a positive integer, using the default")
        return DEFAULT_MAX_CONTENT_LENGTH
    return limit


@dataclass(frozen=True)
class Hooks:
    request_hook: RequestHook | None = None
    response_hook: ResponseHook | None = None
    content_filter: ContentFilter | None = None
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Hooks:
        def callable_or_none(name: str) -> Any:
            value = kwargs.get(name)
            if value is not None and not callable(value):
                report_failure(f"reading instrument({name}=...): not callable, ignored")
                return None
            return value

        return cls(
            request_hook=callable_or_none("request_hook"),
            response_hook=callable_or_none("response_hook"),
            content_filter=callable_or_none("content_filter"),
            max_content_length=max_content_length(kwargs),
        )

    def on_request(self, span: Span, params: Mapping[str, Any]) -> None:
        if not span.is_recording():
            return
        for hook in INTEGRATION_REQUEST_HOOKS:
            try:
                hook(span, params)
            except Exception:
                report_failure("running an integration request hook")
        if self.request_hook is not None:
            try:
                self.request_hook(span, params)
            except Exception:
                report_failure("running request_hook")

    def on_response(self, span: Span, response: Any) -> None:
        if self.response_hook is not None and span.is_recording():
            try:
                self.response_hook(span, response)
            except Exception:
                report_failure("running response_hook")

    def filter_inputs(self, invocation: Any) -> None:
        """Filter and truncate captured input content (called only when capture is on)."""
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
        """Filter and truncate captured output content (called only when capture is on)."""
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
