"""How a failed call is recorded.

A failed call gets ``error.type`` (the exception's class name, also on the metrics), an ERROR
status with a description, an ``exception`` span event (``exception.type``, ``.message``,
``.stacktrace``, ``.escaped``) and, when the provider answered, ``http.response.status_code``.
Every text taken from the exception passes :class:`~litellm_otel._redaction.Redaction` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.semconv.attributes import exception_attributes
from opentelemetry.trace import Span
from opentelemetry.util.genai.types import Error

from litellm_otel import _attributes as attrs
from litellm_otel._access import integer
from litellm_otel._redaction import Redaction

EXCEPTION_ESCAPED: Final = "exception.escaped"


def response_status(exception: BaseException) -> int | None:
    """The HTTP status of the provider's reply, or ``None`` when no reply came.

    LiteLLM gives every exception a ``status_code``, also when nothing was received (500 for a
    refused connection or missing credentials, 408 for a timeout, 401 for a key it found
    missing), and a placeholder ``response``. What tells is the reply's headers: LiteLLM copies
    them onto its exception (``litellm_response_headers``); another library's exception (the
    provider SDK's) carries the real response.
    """
    status = integer(getattr(exception, "status_code", None))
    if status is None:
        return None
    if _has_items(getattr(exception, "litellm_response_headers", None)):
        return status
    if _from_rust_upstream(exception):
        return status
    response = getattr(exception, "response", None)
    if response is not None and _has_items(getattr(response, "headers", None)):
        return integer(getattr(response, "status_code", None)) or status
    return None


def _from_rust_upstream(exception: BaseException) -> bool:
    """Whether LiteLLM's Rust bridge raised it for a provider's error reply: the bridge wraps
    such a reply (and only such a reply) in its ``RustUpstreamError``, without headers.
    Matched by class name, so the bridge is never imported here."""
    cause = exception.__cause__
    for _ in range(4):  # a short chain: the bridge raises LiteLLM's error from its own
        if cause is None:
            return False
        if type(cause).__name__ == "RustUpstreamError":
            return True
        cause = cause.__cause__
    return False


def _has_items(headers: Any) -> bool:
    try:
        return headers is not None and len(headers) > 0
    except Exception:
        return False


def error_of(exception: BaseException, message: str) -> Error:
    """The error to record, with ``error.type`` = the exception's class name (``RateLimitError``).

    util-genai defaults to the fully qualified name; the short class name is what LiteLLM's
    docs, retry policies and users' alerts use, and it is just as low-cardinality. The message
    (the status description) is the scrubbed one; the exception itself is not handed over, so
    nothing downstream can record its raw text.
    """
    return Error(message=message, type=type(exception).__qualname__)


def exception_texts(exception: BaseException, redaction: Redaction | None) -> dict[str, str]:
    """``exception.type`` (fully qualified), and, scrubbed, ``exception.message`` and
    ``exception.stacktrace``: what the ``exception`` span event and the latest conventions'
    exception log event (``_latest``) both record, computed once for both. Without a
    redaction only the type, since the texts may carry what the provider echoed."""
    cls = type(exception)
    module = cls.__module__
    texts = {
        exception_attributes.EXCEPTION_TYPE: (
            f"{module}.{cls.__qualname__}" if module and module != "builtins" else cls.__qualname__
        )
    }
    if redaction is not None:
        texts[exception_attributes.EXCEPTION_MESSAGE] = redaction.message(exception)
        texts[exception_attributes.EXCEPTION_STACKTRACE] = redaction.stacktrace(exception)
    return texts


def record_exception(
    span: Span,
    exception: BaseException,
    redaction: Redaction | None,
    texts: Mapping[str, str] | None = None,
) -> str:
    """The ``exception`` event with scrubbed texts (``texts`` when already made by
    :func:`exception_texts`); returns the scrubbed message.

    Written here instead of ``span.record_exception()``, which records the raw text; the
    exception escaped to the caller, which ``exception.escaped`` says.
    """
    if redaction is None or not span.is_recording():
        return type(exception).__qualname__
    if texts is None or exception_attributes.EXCEPTION_MESSAGE not in texts:
        texts = exception_texts(exception, redaction)
    span.add_event(
        "exception",
        {
            **texts,
            # deprecated in the conventions (so spelled out here), still what backends show
            EXCEPTION_ESCAPED: True,
        },
    )
    return texts[exception_attributes.EXCEPTION_MESSAGE]


def record_failure(
    invocation: Any,
    exception: BaseException,
    redaction: Redaction | None,
    texts: Mapping[str, str] | None = None,
) -> Error:
    """Status code and the ``exception`` event; returns the error to fail the invocation with
    (util-genai sets the status and ``error.type`` but writes no event, which is what users
    open a failed span for)."""
    status = response_status(exception)
    if status is not None:
        invocation.attributes[attrs.HTTP_RESPONSE_STATUS_CODE] = status
    return error_of(exception, record_exception(invocation.span, exception, redaction, texts))
