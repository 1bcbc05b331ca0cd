"""OpenTelemetry instrumentation for LiteLLM.

``LiteLLMInstrumentor().instrument()`` wraps LiteLLM's public entry points so every call
produces one GenAI-semantic-convention span plus duration and token metrics, emitted
through ``opentelemetry-util-genai``::

    from litellm_otel import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument(tracer_provider=..., meter_provider=...)

Options (keyword arguments of ``instrument()``; environment variables in brackets):

* ``tracer_provider``, ``meter_provider``, ``logger_provider``: default to the globals.
* ``capture_content`` [``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``]: ``False``
  (default), ``True`` / ``"SPAN_ONLY"``, ``"EVENT_ONLY"``, ``"SPAN_AND_EVENT"``.
* ``request_stream_usage`` [``OTEL_INSTRUMENTATION_LITELLM_REQUEST_STREAM_USAGE``]: add
  ``stream_options={"include_usage": True}`` to streamed chat calls that set no
  ``stream_options``, so streams report token usage.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.util.genai.handler import TelemetryHandler

from litellm_otel._config import Options
from litellm_otel._wrappers import ArgumentBinder, Operation, Tracer, make_wrapper
from litellm_otel.package import _instruments
from litellm_otel.version import __version__

__all__ = ["LiteLLMInstrumentor", "__version__"]

# The public names users call, and how each maps onto an invocation.
WRAPPED_FUNCTIONS: dict[str, Operation] = {
    "completion": Operation("chat", is_async=False),
    "acompletion": Operation("chat", is_async=True),
    "embedding": Operation("embeddings", is_async=False),
    "aembedding": Operation("embeddings", is_async=True),
}


class LiteLLMInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments LiteLLM's public call functions with GenAI spans and metrics."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        import litellm

        options = Options.from_kwargs(kwargs)
        handler = _make_handler(options, kwargs)
        tracer = Tracer(handler, options)
        for name, operation in WRAPPED_FUNCTIONS.items():
            original = getattr(litellm, name, None)
            if original is None:
                continue
            wrapper = make_wrapper(tracer, operation, ArgumentBinder(original))
            wrapt.wrap_function_wrapper(litellm, name, wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        import litellm

        for name in WRAPPED_FUNCTIONS:
            unwrap(litellm, name)


def _make_handler(options: Options, kwargs: dict[str, Any]) -> TelemetryHandler:
    with _quiet_capture_mode_warning():
        handler = TelemetryHandler(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            logger_provider=kwargs.get("logger_provider"),
            instrumentation_scope_name="litellm_otel",
            instrumentation_scope_version=__version__,
        )
    # util-genai reads the capture mode only from the environment and knows only the mode
    # names; ``instrument(capture_content=...)`` and the value ``true`` are ours, so the
    # parsed mode is set on the handler (private fields, covered by tests/test_config.py).
    handler._content_capturing_mode = options.capture_mode
    handler._capture_content = options.capture_content
    return handler


class _DropInvalidModeWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "is not a valid option" not in record.getMessage()


@contextmanager
def _quiet_capture_mode_warning() -> Iterator[None]:
    """util-genai warns that ``true`` is invalid; we accept it, so the warning would mislead."""
    logger = logging.getLogger("opentelemetry.util.genai.utils")
    quiet = _DropInvalidModeWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
