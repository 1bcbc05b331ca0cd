"""The only module that touches names util-genai does not publish.

util-genai is beta and renames its internals between releases; a rename must break one
place, loudly (``tests/test_compat.py`` checks every name used here against the installed
release), never a user's call or stream. Each function says why no public substitute exists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.types import ContentCapturingMode

#: The util-genai logger that warns about capture-mode values it does not know.
_UTILS_LOGGER = "opentelemetry.util.genai.utils"


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
def quiet_capture_mode_warning() -> Iterator[None]:
    """util-genai warns that ``true`` is invalid while we accept it: the warning would mislead."""
    logger = logging.getLogger(_UTILS_LOGGER)
    quiet = _DropInvalidModeWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def record_chunk_at(invocation: Any, chunk_at: float) -> None:
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
    last = invocation._stream_last_chunk_at  # pyright: ignore[reportPrivateUsage]
    # No first chunk recorded (nothing to measure the gaps from), or an invocation util-genai
    # suppressed under another one's (it records no metrics).
    if last is None or not invocation._start_span:  # pyright: ignore[reportPrivateUsage]
        return
    record = invocation._instruments.time_per_output_chunk.record  # pyright: ignore[reportPrivateUsage]
    attributes = invocation._get_metric_attributes()  # pyright: ignore[reportPrivateUsage]
    context = invocation.context
    for arrived in arrivals:
        record(max(arrived - last, 0.0), attributes, context)
        last = arrived
    invocation._stream_last_chunk_at = last  # pyright: ignore[reportPrivateUsage]
