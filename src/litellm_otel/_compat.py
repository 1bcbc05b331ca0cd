"""The only module that touches names util-genai (and the OpenTelemetry API) do not publish.

util-genai is beta and renames its internals between releases; a rename must break one
place, loudly (``tests/test_compat.py`` checks every name used here against the installed
release), never a user's call or stream. Each function says why no public substitute exists.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import opentelemetry.trace as _trace_api
from opentelemetry._logs import _internal as _logs_api
from opentelemetry._logs import get_logger_provider
from opentelemetry.context import get_value, set_value
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.metrics import get_meter_provider
from opentelemetry.trace import ProxyTracerProvider, get_tracer_provider
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.types import ContentCapturingMode

if TYPE_CHECKING:
    from opentelemetry.util.genai.invocation import GenAIInvocation

#: The util-genai logger that warns about capture-mode values it does not know.
_UTILS_LOGGER = "opentelemetry.util.genai.utils"

#: ``handler.inference()`` / ``handler.embedding()`` keyword arguments for an invocation that
#: leaves the current context alone. The wrappers make the span current themselves while
#: LiteLLM runs (with the suppression markers), and a stream outlives the call's frame: an
#: invocation attached at start would only be detached again at once (``suspend()``).
UNATTACHED: Final[dict[str, Any]] = {"_attach_to_context": False}


def _no_global_provider_set() -> bool:
    return (
        _trace_api._TRACER_PROVIDER is None  # pyright: ignore[reportPrivateUsage]
        and _metrics_api._METER_PROVIDER is None  # pyright: ignore[reportPrivateUsage]
        and _logs_api._LOGGER_PROVIDER is None  # pyright: ignore[reportPrivateUsage]
    )


def _only_placeholder_providers() -> bool:
    return (
        isinstance(get_tracer_provider(), ProxyTracerProvider)
        and type(get_meter_provider()).__name__ == "_ProxyMeterProvider"
        and type(get_logger_provider()).__name__ == "ProxyLoggerProvider"
    )


#: Whether no global tracer, meter or logger provider has been set: what the API's placeholder
#: tracers, meters and loggers (which util-genai emits through when ``instrument()`` got no
#: providers) consult on every use. The public getters answer the same but read
#: ``os.environ`` three times per call, which is most of a call's cost with no SDK; a
#: provider named by ``OTEL_PYTHON_*_PROVIDER`` is set when ``instrument()`` builds its
#: handler (its getters load it). An API release without these globals gets the getters.
no_global_provider_set: Final = (
    _no_global_provider_set
    if all(
        hasattr(module, name)
        for module, name in (
            (_trace_api, "_TRACER_PROVIDER"),
            (_metrics_api, "_METER_PROVIDER"),
            (_logs_api, "_LOGGER_PROVIDER"),
        )
    )
    else _only_placeholder_providers
)


def set_content_capturing_mode(handler: TelemetryHandler, mode: ContentCapturingMode) -> None:
    """Give a handler the capture mode ``instrument()`` parsed.

    util-genai reads the mode only from the environment, when the handler is built, and knows
    only the mode names; ``instrument(capture_content=...)`` and the value ``true`` are ours.
    """
    handler._content_capturing_mode = mode  # pyright: ignore[reportPrivateUsage]
    handler._capture_content = mode is not ContentCapturingMode.NO_CONTENT  # pyright: ignore[reportPrivateUsage]


class _DropInvalidModeWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "is not a valid option" not in record.getMessage()


@contextmanager
def quiet_capture_mode_warning() -> Generator[None, None, None]:
    """util-genai warns that ``true`` is invalid while we accept it: the warning would mislead."""
    logger = logging.getLogger(_UTILS_LOGGER)
    quiet = _DropInvalidModeWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def record_chunk_at(invocation: GenAIInvocation, chunk_at: float) -> None:
    """Record one stream chunk that arrived at ``chunk_at`` (a ``timeit.default_timer()``).

    The public ``record_stream_chunk()`` stamps the chunk with the time of the call; recording
    a chunk later with the time it arrived needs the stamped variant the stream wrappers use.
    """
    invocation._on_stream_chunk(chunk_at)  # pyright: ignore[reportPrivateUsage]


def record_output_chunks(invocation: Any, arrivals: Sequence[float]) -> None:
    """Record the ``time_per_output_chunk`` points of chunks that arrived at ``arrivals``
    (``timeit.default_timer()`` values, in order, after the first chunk was recorded), in one
    pass: each point is the gap to the chunk before, as ``record_stream_chunk()`` records it.

    The public method records one point at the time of the call; recording the points of
    chunks noted earlier needs the histogram, the metric attributes and the last chunk's time,
    which util-genai keeps to itself.
    """
    last = invocation._stream_last_chunk_at
    # No first chunk recorded (nothing to measure the gaps from), or an invocation util-genai
    # suppressed under another one's (it records no metrics).
    if last is None or not invocation._start_span:
        return
    record = invocation._instruments.time_per_output_chunk.record
    attributes = invocation._get_metric_attributes()
    context = invocation.context
    for arrived in arrivals:
        record(max(arrived - last, 0.0), attributes, context)
        last = arrived
    invocation._stream_last_chunk_at = last


def forget_unpublished_context_data(invocation: Any) -> None:
    """Drop the context data util-genai placed in an invocation's context for nested
    invocations to publish into, when none did: util-genai would otherwise merge it into the
    invocation field by field when it ends, changing nothing.

    Whether anything was published is told by comparing the data with a fresh instance of its
    class; which key holds it and the context the merge reads it from have no public names.
    """
    key = invocation._context_key
    # A suppressed invocation's context holds the outer invocation's data, to publish into.
    if key is None or not invocation._start_span:
        return
    context = invocation.context
    data = get_value(key, context)
    if data is None:
        return
    pristine = _PRISTINE.get(type(data))
    if pristine is None:
        pristine = _PRISTINE[type(data)] = type(data)()
    if data == pristine:
        invocation._span_context = set_value(key, None, context)


#: A fresh instance of each context-data class, to compare with.
_PRISTINE: dict[type, Any] = {}
