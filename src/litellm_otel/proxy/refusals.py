"""Requests the LiteLLM Proxy refused before any provider call, as one span each.

A request the Proxy refuses (wrong key, budget exceeded, rate limit, a guardrail) never reaches
a provider, so no GenAI span exists for it. LiteLLM reports every failed request to
``CustomLogger.async_post_call_failure_hook`` of its callbacks; for the refusals (the errors
LiteLLM itself classifies as proxy-only: ``HTTPException``, ``ProxyException``, guardrail and
budget errors) ours emits one INTERNAL span ``proxy rejected {operation}`` with ``error.type``,
the HTTP status and ``litellm.proxy.rejection_reason``, a child of the HTTP server span. The
exception's message is never read: LiteLLM's rate-limit message embeds the key hash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode

from litellm_otel import _attributes as attrs
from litellm_otel._access import mapping
from litellm_otel._failsafe import report_failure
from litellm_otel.proxy.identity import AUTH_FIELDS, capped
from litellm_otel.version import __version__

_SCOPE: Final = "litellm_otel"

# Route suffix → the operation named in a refusal span (low cardinality by construction).
_ROUTE_OPERATIONS: Final = (
    ("/chat/completions", "chat"),
    ("/embeddings", "embeddings"),
    ("/completions", "text_completion"),
    ("/responses", "chat"),
    ("/messages", "chat"),
    ("/images/generations", "image_generation"),
    ("/audio/transcriptions", "transcription"),
    ("/audio/speech", "speech"),
    ("/rerank", "rerank"),
    ("/moderations", "moderation"),
)

_AUTH_TYPES: Final = frozenset(
    {"auth_error", "expired_key", "token_not_found_in_db", "auth_provider_unavailable"}
)


def _status_code(exception: BaseException) -> int | None:
    for name in ("status_code", "code"):
        value = getattr(exception, name, None)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def _class_names(exception: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exception).__mro__}


def is_refusal(exception: BaseException) -> bool:
    """True for errors the proxy raises itself, before (or instead of) any provider call.

    The same classification LiteLLM uses to log "proxy-only" errors
    (``ProxyLogging._is_proxy_only_llm_api_error``: ``HTTPException``, ``ProxyException``,
    ``GuardrailRaisedException``), plus ``BudgetExceededError``, which the auth step raises
    as is. Provider errors (``litellm.RateLimitError`` from an upstream 429, …) are not
    refusals: their GenAI span already carries the error. Matched by class name so that a
    LiteLLM release moving these classes does not break the check.
    """
    names = _class_names(exception)
    return bool(
        names
        & {"HTTPException", "ProxyException", "GuardrailRaisedException", "BudgetExceededError"}
    )


def rejection_reason(exception: BaseException) -> str:
    """A small, stable vocabulary for dashboards and alerts (never the exception message)."""
    names = _class_names(exception)
    kind: Any = getattr(exception, "type", None)
    kind = getattr(kind, "value", kind)  # ProxyErrorTypes is a str enum
    status = _status_code(exception)
    if "BudgetExceededError" in names or kind == "budget_exceeded":
        return "budget"
    if "ProxyRateLimitError" in names or kind == "throttling_error" or status == 429:
        return "rate_limit"
    if isinstance(kind, str) and (kind.endswith("_access_denied") or "permission" in kind):
        return "access"
    if kind in _AUTH_TYPES or status in (401, 403):
        return "auth"
    if "GuardrailRaisedException" in names:
        return "guardrail"
    if status is not None and 400 <= status < 500:
        return "invalid_request"
    return "other"


def _operation(route: Any) -> str:
    if isinstance(route, str):
        route = route.rstrip("/")
        for suffix, operation in _ROUTE_OPERATIONS:
            if route.endswith(suffix):
                return operation
        # web search (``/v1/search``, ``/v1/search/{tool}``), vector store search
        # (``/v1/vector_stores/{id}/search``)
        if route.endswith("/search") or "/search/" in route:
            return "retrieval"
    return "request"


def _refusal_attributes(
    request_data: Mapping[str, Any], user_api_key_dict: Any, exception: BaseException
) -> dict[str, Any]:
    metadata = mapping(request_data.get("metadata")) or {}
    attributes: dict[str, Any] = {}
    for field, meta_field, name in AUTH_FIELDS:
        value = capped(getattr(user_api_key_dict, field, None)) or capped(metadata.get(meta_field))
        if value is not None:
            attributes[name] = value
    requested = capped(request_data.get("model"))
    if requested is not None:
        attributes[attrs.PROXY_REQUESTED_MODEL] = requested
    reason = rejection_reason(exception)
    attributes[attrs.PROXY_REJECTION_REASON] = reason
    attributes[error_attributes.ERROR_TYPE] = type(exception).__qualname__
    status = _status_code(exception)
    if status is not None:
        attributes[attrs.HTTP_RESPONSE_STATUS_CODE] = status
    return attributes


def _route(request_data: Mapping[str, Any], user_api_key_dict: Any) -> Any:
    route = getattr(user_api_key_dict, "request_route", None)
    if route:
        return route
    metadata = mapping(request_data.get("metadata"))
    return metadata.get("user_api_key_request_route") if metadata is not None else None


class ProxyCallback(CustomLogger):
    """The object LiteLLM Proxy calls back: one span per refused request.

    Successful calls need nothing here (the request hook annotates their GenAI spans), so
    this logger implements only ``async_post_call_failure_hook``. It never returns or raises
    an ``HTTPException``, so what the client sees is unchanged.
    """

    _SEEN_LIMIT: Final = 1024

    def __init__(self, tracer_provider: Any = None) -> None:
        # LiteLLM leaves the ``**kwargs`` of ``CustomLogger.__init__`` unannotated.
        super().__init__()  # pyright: ignore[reportUnknownMemberType]
        self.tracer_provider = tracer_provider
        # LiteLLM may list the same object twice (the launcher attached it and the config
        # names it too); each refusal is still one span.
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def _first_report(self, request_data: Mapping[str, Any]) -> bool:
        call_id = request_data.get("litellm_call_id")
        if not isinstance(call_id, str):
            return True
        with self._lock:
            if call_id in self._seen:
                return False
            self._seen[call_id] = None
            if len(self._seen) > self._SEEN_LIMIT:
                self._seen.popitem(last=False)
        return True

    async def async_post_call_failure_hook(
        self,
        request_data: dict[str, Any],
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> None:
        try:
            self.record_refusal(request_data, original_exception, user_api_key_dict)
        except Exception:
            report_failure("recording a proxy refusal")

    def record_refusal(
        self, request_data: Mapping[str, Any], exception: BaseException, user_api_key_dict: Any
    ) -> None:
        """Emit the refusal span, a child of the current (HTTP server) span."""
        if not is_instrumentation_enabled() or not is_refusal(exception):
            return
        if not self._first_report(request_data):
            return
        tracer = trace.get_tracer(_SCOPE, __version__, self.tracer_provider)
        operation = _operation(_route(request_data, user_api_key_dict))
        attributes = _refusal_attributes(request_data, user_api_key_dict, exception)
        span = tracer.start_span(
            f"proxy rejected {operation}", kind=SpanKind.INTERNAL, attributes=attributes
        )
        # The description is the reason, not str(exception): LiteLLM's rate-limit message
        # contains the key hash. No exception event for the same reason.
        span.set_status(Status(StatusCode.ERROR, attributes[attrs.PROXY_REJECTION_REASON]))
        span.end()
