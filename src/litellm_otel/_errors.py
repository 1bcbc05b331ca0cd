"""How a failed call is recorded: ``error.type``, the HTTP status, the ``exception`` event."""

from __future__ import annotations

from typing import Any

from opentelemetry.util.genai.types import Error

from litellm_otel import _attributes as attrs
from litellm_otel._access import integer


def error_of(exception: BaseException) -> Error:
    """The error to record, with ``error.type`` = the exception's class name (``RateLimitError``).

    util-genai defaults to the fully qualified name; the short class name is what LiteLLM's
    docs, retry policies and users' alerts use, and it is just as low-cardinality.
    """
    return Error(message=str(exception), type=type(exception).__qualname__, exception=exception)


def record_failure(invocation: Any, exception: BaseException) -> None:
    """Status code and the ``exception`` span event; util-genai sets status and ``error.type``
    but writes no event, which is what users open a failed span for."""
    status = integer(getattr(exception, "status_code", None))
    if status is not None:
        invocation.attributes[attrs.HTTP_RESPONSE_STATUS_CODE] = status
    span = invocation.span
    if span.is_recording():
        span.record_exception(exception)
