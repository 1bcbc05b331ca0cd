"""Options of ``instrument()`` and their environment variables, parsed once.

Every per-call decision (capture content or not, add ``include_usage`` or not) reads a
plain attribute of :class:`Options` instead of the environment, so the hot path does no
parsing and the options of one ``instrument()`` stay fixed until ``uninstrument()``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from opentelemetry.util.genai.types import ContentCapturingMode

_logger = logging.getLogger(__name__)

CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
REQUEST_STREAM_USAGE_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_REQUEST_STREAM_USAGE"
SUPPRESS_NESTED_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_SUPPRESS_NESTED_LLM_SPANS"
EARLY_BOUND_CALLBACK_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_EARLY_BOUND_CALLBACK"
MAX_CONTENT_LENGTH_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH"
#: The list every OpenTelemetry instrumentation reads to leave its default conventions.
SEMCONV_OPT_IN_ENV: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"
#: The entry of that list that selects the latest GenAI conventions (semantic-conventions-genai).
GEN_AI_LATEST: Final = "gen_ai_latest_experimental"
PROXY_METRIC_IDENTITY_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY"
PROXY_METRIC_IDENTITY_LIMIT_ENV: Final = "OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY_LIMIT"

DEFAULT_MAX_CONTENT_LENGTH: Final = 32_768
#: Proxy identity fields put on metric points unless configured otherwise (``litellm.proxy.*``).
DEFAULT_PROXY_METRIC_IDENTITY: Final = ("key_alias", "team_id", "team_alias", "user_id")
#: The identity fields that may be put on metric points.
PROXY_METRIC_IDENTITY_FIELDS: Final = frozenset(
    {"key_alias", "team_id", "team_alias", "user_id", "end_user_id", "model_group"}
)
DEFAULT_PROXY_METRIC_IDENTITY_LIMIT: Final = 100

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
    #: ``OTEL_SEMCONV_STABILITY_OPT_IN`` lists ``gen_ai_latest_experimental``: emit
    #: semantic-conventions-genai v0.1.0 instead of the default names (docs/conventions.md).
    latest_conventions: bool = False
    #: Inside the LiteLLM Proxy: the identity fields put on metric points, and how many
    #: distinct values each keeps before the rest are folded into ``_OTHER``.
    proxy_metric_identity: tuple[str, ...] = DEFAULT_PROXY_METRIC_IDENTITY
    proxy_metric_identity_limit: int = DEFAULT_PROXY_METRIC_IDENTITY_LIMIT

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
            max_content_length=_positive(
                kwargs, "max_content_length", MAX_CONTENT_LENGTH_ENV, DEFAULT_MAX_CONTENT_LENGTH
            ),
            request_hook=_callable(kwargs, "request_hook"),
            response_hook=_callable(kwargs, "response_hook"),
            content_filter=_callable(kwargs, "content_filter"),
            latest_conventions=wants_latest_conventions(os.environ.get(SEMCONV_OPT_IN_ENV)),
            proxy_metric_identity=_identity_fields(kwargs),
            proxy_metric_identity_limit=_positive(
                kwargs,
                "proxy_metric_identity_limit",
                PROXY_METRIC_IDENTITY_LIMIT_ENV,
                DEFAULT_PROXY_METRIC_IDENTITY_LIMIT,
            ),
        )


def wants_latest_conventions(opt_in: str | None) -> bool:
    """Whether the comma-separated opt-in list has the GenAI entry: entries are trimmed and
    compared exactly, as every contrib instrumentation does, so one list serves them all."""
    if not opt_in:
        return False
    return any(entry.strip() == GEN_AI_LATEST for entry in opt_in.split(","))


def _flag(kwargs: Mapping[str, object], name: str, env: str, *, default: bool) -> bool:
    value = kwargs.get(name)
    if value is None:
        return parse_flag(os.environ.get(env, ""), source=env, default=default)
    return parse_flag(value, source=f"instrument({name}=...)", default=default)


def _positive(kwargs: Mapping[str, object], name: str, env: str, default: int) -> int:
    """``instrument(name=...)``, else the environment, else the default."""
    value: object = kwargs.get(name)
    source = f"instrument({name}=...)"
    if value is None:
        value = os.environ.get(env) or default
        source = env
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
            default,
        )
        return default
    return limit


def _identity_fields(kwargs: Mapping[str, object]) -> tuple[str, ...]:
    """The Proxy identity fields for metrics: a list (or comma-separated string) of
    :data:`PROXY_METRIC_IDENTITY_FIELDS`; empty or ``none`` keeps identity off metrics."""
    value: object = kwargs.get("proxy_metric_identity")
    source = "instrument(proxy_metric_identity=...)"
    if value is None:
        value = os.environ.get(PROXY_METRIC_IDENTITY_ENV)
        source = PROXY_METRIC_IDENTITY_ENV
        if value is None:
            return DEFAULT_PROXY_METRIC_IDENTITY
    entries = _identity_entries(value)
    if entries is None or any(
        entry and entry != "none" and entry not in PROXY_METRIC_IDENTITY_FIELDS for entry in entries
    ):
        _logger.warning(
            "litellm-otel: %r is not a list of %s for %s; using %s",
            value,
            ", ".join(sorted(PROXY_METRIC_IDENTITY_FIELDS)),
            source,
            ",".join(DEFAULT_PROXY_METRIC_IDENTITY),
        )
        return DEFAULT_PROXY_METRIC_IDENTITY
    return tuple(dict.fromkeys(entry for entry in entries if entry and entry != "none"))


def _identity_entries(value: object) -> list[str] | None:
    """The entries of a comma-separated string or of a collection, lower-cased; else None."""
    if isinstance(value, str):
        return [entry.strip().lower() for entry in value.split(",")]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(entry).strip().lower() for entry in cast("Collection[object]", value)]
    return None


def _callable(kwargs: Mapping[str, object], name: str) -> Callable[..., Any] | None:
    value = kwargs.get(name)
    if value is not None and not callable(value):
        _logger.warning("litellm-otel: instrument(%s=...) is not callable; ignored", name)
        return None
    return value
