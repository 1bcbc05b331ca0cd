"""User hooks: see or change telemetry before it leaves the process.

* ``request_hook(span, params)`` runs once per call, right after the span started, with the
  call's arguments as LiteLLM received them (positional ones bound to their names);
* ``response_hook(span, response)`` runs once per successful call, just before the span ends,
  with what LiteLLM returned (for a stream, the stream object, after it ended);
* ``content_filter(text)`` sees every piece of captured message text (prompts, answers,
  reasoning, tool results, system instructions) before it is recorded, and returns the text
  to record, or ``None`` to drop that part. It only runs when content capture is on.

Hooks run inside the instrumented call, so they must be quick. An exception in a hook is
contained and logged once; a failing ``content_filter`` drops all content of that call
rather than risk recording what it was meant to hide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Span
from opentelemetry.util.genai.types import (
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallResponsePart,
)

from litellm_otel._failsafe import report_failure

RequestHook = Callable[[Span, Mapping[str, Any]], None]
ResponseHook = Callable[[Span, Any], None]
ContentFilter = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Hooks:
    request_hook: RequestHook | None = None
    response_hook: ResponseHook | None = None
    content_filter: ContentFilter | None = None

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
        )

    def on_request(self, span: Span, params: Mapping[str, Any]) -> None:
        if self.request_hook is not None and span.is_recording():
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
        if self.content_filter is None:
            return
        try:
            if getattr(invocation, "input_messages", None):
                invocation.input_messages = self._messages(invocation.input_messages)
            if getattr(invocation, "system_instruction", None):
                invocation.system_instruction = self._parts(invocation.system_instruction)
        except Exception:
            report_failure("running content_filter")
            _drop_content(invocation)

    def filter_outputs(self, invocation: Any) -> None:
        if self.content_filter is None:
            return
        try:
            if getattr(invocation, "output_messages", None):
                invocation.output_messages = self._messages(invocation.output_messages)
        except Exception:
            report_failure("running content_filter")
            _drop_content(invocation)

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
        content_filter = self.content_filter
        assert content_filter is not None
        kept: list[MessagePart] = []
        for part in parts:
            kept_part: MessagePart | None = part
            if isinstance(part, (TextPart, ReasoningPart)):
                text = content_filter(part.content)
                kept_part = None if text is None else type(part)(content=text)
            elif isinstance(part, ToolCallResponsePart) and isinstance(part.response, str):
                text = content_filter(part.response)
                kept_part = (
                    None if text is None else ToolCallResponsePart(response=text, id=part.id)
                )
            if kept_part is not None:
                kept.append(kept_part)
        return kept


def _drop_content(invocation: Any) -> None:
    """Fail closed: a filter that could not run must not let its content through."""
    for name in ("input_messages", "output_messages", "system_instruction"):
        if hasattr(invocation, name):
            setattr(invocation, name, [])
