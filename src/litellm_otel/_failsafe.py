"""Containment for bugs in our own telemetry code.

Instrumentation must never break the call it observes: every telemetry step runs inside
``try`` and reports here. Each kind of failure is logged once, with its traceback, so a
bug that fires on every call does not flood the user's logs.
"""

from __future__ import annotations

import logging
import sys
import threading

_logger = logging.getLogger("litellm_otel")
_reported: set[str] = set()
_lock = threading.Lock()


def report_failure(kind: str) -> None:
    """Log the exception being handled, once per ``kind`` for the life of the process."""
    if kind in _reported:
        return
    with _lock:
        if kind in _reported:
            return
        _reported.add(kind)
    error = sys.exc_info()[1]
    if error is not None:
        # A failure while recording a failed call has the call's exception as its context,
        # and a logged traceback would print that exception's text (the provider's error body,
        # keys and prompts included): only our own failure is logged.
        error.__suppress_context__ = True
    _logger.warning(
        "litellm-otel: telemetry failed while %s; the LiteLLM call is unaffected "
        "(further failures of this kind are not logged)",
        kind,
        exc_info=sys.exc_info()[0] is not None,  # a configuration problem has no traceback
    )


def reset_reported() -> None:
    """Forget what was logged (tests use it to assert the once-per-kind rule)."""
    with _lock:
        _reported.clear()
