"""What the latest conventions (semantic-conventions-genai v0.1.0) change on spans and events.

Only in the latest mode (docs/conventions.md); the metric names are :mod:`litellm_otel._metrics`'
business. Two changes:

* ``gen_ai.response.finish_reasons`` has one entry per choice, ``error`` where a reason was
  expected and never came (the call failed, the caller stopped reading, the stream ended
  early);
* a failed call also emits the exception log event, ``gen_ai.client.inference.exception`` for
  inference and ``gen_ai.client.operation.exception`` for the other operations, severity WARN,
  with the texts of the ``exception`` span event (scrubbed: ``_errors.exception_texts``).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry._logs import Logger, LogRecord, SeverityNumber
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai

#: The operations v0.1.0 calls inference (Responses calls are ``chat``).
INFERENCE_OPERATIONS: Final = frozenset({"chat", "text_completion", "generate_content"})
INFERENCE_EXCEPTION_EVENT: Final = "gen_ai.client.inference.exception"
OPERATION_EXCEPTION_EVENT: Final = "gen_ai.client.operation.exception"
#: The finish reason of a choice that never finished.
ERROR_REASON: Final = "error"


class LatestConventions:
    """The latest mode's span and event changes, built once per ``instrument()``."""

    def __init__(self, logger: Logger) -> None:
        self._logger = logger
        # Inference calls whose reply has no choices (OCR): no finish reasons to complete.
        self._without_choices: weakref.WeakSet[Any] = weakref.WeakSet()

    def expect_no_choices(self, invocation: Any) -> None:
        self._without_choices.add(invocation)

    def complete_finish_reasons(
        self, invocation: Any, by_index: Mapping[int, str] | None = None
    ) -> None:
        """Give every expected choice a finish reason, ``error`` for one that never came.

        ``by_index`` are the reasons a stream delivered by choice index (its choices may end
        in any order); without it, the reasons already set are taken in choice order. The
        number of choices is the larger of the requested ``n`` and those seen.
        """
        if invocation.metric_attributes.get(gen_ai.GEN_AI_OPERATION_NAME) not in (
            INFERENCE_OPERATIONS
        ) or (self._without_choices and invocation in self._without_choices):
            return
        expected: int = invocation.request_choice_count or 1
        if by_index:
            size = max(expected, max(by_index) + 1)
            reasons = [str(by_index.get(index, ERROR_REASON)) for index in range(size)]
        else:
            reasons: list[str] = list(invocation.finish_reasons or ())
            reasons.extend([ERROR_REASON] * (expected - len(reasons)))
        if reasons != invocation.finish_reasons:
            invocation.finish_reasons = reasons

    def exception_event(self, invocation: Any, texts: Mapping[str, str]) -> None:
        """Emit the v0.1.0 exception event of a failed call, in its span's context; ``texts``
        are the exception's type, message and stack trace, already scrubbed."""
        operation = invocation.metric_attributes.get(gen_ai.GEN_AI_OPERATION_NAME)
        self._logger.emit(
            LogRecord(
                timestamp=time.time_ns(),
                context=invocation.context,
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
                event_name=(
                    INFERENCE_EXCEPTION_EVENT
                    if operation in INFERENCE_OPERATIONS
                    else OPERATION_EXCEPTION_EVENT
                ),
                attributes=dict(texts),
            )
        )
