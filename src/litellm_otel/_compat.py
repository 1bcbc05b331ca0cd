"""The only module that touches names util-genai does not publish.

util-genai is beta and renames its internals between releases; a rename must break one
place, loudly (``tests/test_compat.py`` checks every name used here against the installed
release), never a user's call or stream. Each function says why no public substitute exists.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.types import ContentCapturingMode

if TYPE_CHECKING:
    from opentelemetry.util.genai.invocation import GenAIInvocation

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
