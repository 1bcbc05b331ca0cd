"""Options of ``instrument()`` and their environment variables, parsed once.

Every per-call decision (capture content or not, add ``include_usage`` or not) reads a
plain attribute of :class:`Options` instead of the environment, so the hot path does no
parsing and the options of one ``instrument()`` stay fixed until ``uninstrument()``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.util.genai.types import ContentCapturingMode

_logger = logging.getLogger(__name__)

CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
REQUEST_STREAM_USAGE_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_REQUEST_STREAM_USAGE"
SUPPRESS_NESTED_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_SUPPRESS_NESTED_LLM_SPANS"
EARLY_BOUND_CALLBACK_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_EARLY_BOUND_CALLBACK"
MAX_CONTENT_LENGTH_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH"

DEFAULT_MAX_CONTENT_LENGTH: Final = 32_768

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off", ""})

# ``true`` is what most users (and other instrumentations' docs) set; util-genai only
# knows the mode names, so the booleans are mapped here.
_MODES: Final[dict[str, ContentCapturingMode]] = {
    "true": ContentCapturingMode.SPAN_ONLY,
    "span_only": ContentCapturingMode.SPAN_ONLY,
    "event_only": ContentCapturingMode.EVENT_ONLY,
    "span_and_event": ContentCapturingMode.SPAN_AND_EVENT,
    "false": ContentCapturingMode.NO_CONTENT,
    "no_content": ContentCapturingMode.NO_CONTENT,
    "": ContentCapturingMode.NO_CONTENT,
}


def parse_capture_mode(value: object, *, source: str) -> ContentCapturingMode:
    """Map a bool, a mode name or a ``ContentCapturingMode`` to a mode; unknown → no content."""
    if isinstance(value, ContentCapturingMode):
        return value
    if isinstance(value, bool):
        return ContentCapturingMode.SPAN_ONLY if value else ContentCapturingMode.NO_CONTENT
    if isinstance(value, str):
        mode = _MODES.get(value.strip().lower())
        if mode is not None:
            return mode
    _logger.warning(
        "litellm-otel: %r is not a valid value for %s (use true, false, SPAN_ONLY, "
        "EVENT_ONLY, SPAN_AND_EVENT or NO_CONTENT); message content will not be captured",
        value,
        source,
    )
    return ContentCapturingMode.NO_CONTENT


def parse_flag(value: object, *, source: str, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return default if lowered == "" else False
    _logger.warning("litellm-otel: %r is not a boolean for %s; using %s", value, source, default)
    return default


@dataclass(frozen=True)
class Options:
    """What ``instrument(**kwargs)`` and the environment asked for."""

    capture_mode: ContentCapturingMode = ContentCapturingMode.NO_CONTENT
    request_stream_usage: bool = False
    suppress_nested_llm_spans: bool = True
    early_bound_callback: bool = False
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    request_hook: Callable[..., Any] | None = None
    response_hook: Callable[..., Any] | None = None
    content_filter: Callable[[str], Any] | None = None

    @property
    def capture_content(self) -> bool:
        return self.capture_mode is not ContentCapturingMode.NO_CONTENT

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, object]) -> Options:
        capture = kwargs.get("capture_content")
        if capture is None:
            capture_mode = parse_capture_mode(
                os.environ.get(CAPTURE_CONTENT_ENV, ""), source=CAPTURE_CONTENT_ENV
            )
        else:
            capture_mode = parse_capture_mode(capture, source="instrument(capture_content=...)")
        return cls(
            capture_mode=capture_mode,
            request_stream_usage=_flag(
                kwargs, "request_stream_usage", REQUEST_STREAM_USAGE_ENV, default=False
            ),
            suppress_nested_llm_spans=_flag(
                kwargs, "suppress_nested_llm_spans", SUPPRESS_NESTED_ENV, default=True
            ),
            early_bound_callback=_flag(
                kwargs, "early_bound_callback", EARLY_BOUND_CALLBACK_ENV, default=False
            ),
            max_content_length=_max_content_length(kwargs),
            request_hook=_callable(kwargs, "request_hook"),
            response_hook=_callable(kwargs, "response_hook"),
            content_filter=_callable(kwargs, "content_filter"),
        )


def _flag(kwargs: Mapping[str, object], name: str, env: str, *, default: bool) -> bool:
    value = kwargs.get(name)
    if value is None:
        return parse_flag(os.environ.get(env, ""), source=env, default=default)
    return parse_flag(value, source=f"instrument({name}=...)", default=default)


def _max_content_length(kwargs: Mapping[str, object]) -> int:
    """``instrument(max_content_length=...)``, else the environment, else the default."""
    value: object = kwargs.get("max_content_length")
    source = "instrument(max_content_length=...)"
    if value is None:
        value = os.environ.get(MAX_CONTENT_LENGTH_ENV) or DEFAULT_MAX_CONTENT_LENGTH
        source = MAX_CONTENT_LENGTH_ENV
    limit = None
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            limit = int(value)
        except ValueError:
            limit = None
    if limit is None or limit <= 0:
        _logger.warning(
            "litellm-otel: %r is not a positive integer for %s; using %d",
            value,
            source,
            DEFAULT_MAX_CONTENT_LENGTH,
        )
        return DEFAULT_MAX_CONTENT_LENGTH
    return limit


def _callable(kwargs: Mapping[str, object], name: str) -> Callable[..., Any] | None:
    value = kwargs.get(name)
    if value is not None and not callable(value):
        _logger.warning("litellm-otel: instrument(%s=...) is not callable; ignored", name)
        return None
    return value  # type: ignore[return-value]
