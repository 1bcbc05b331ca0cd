"""The early-bound path: LiteLLM's own callback system, for calls our wrappers cannot see.

``from litellm import completion`` executed before ``instrument()`` keeps a reference to the
original function, so no wrapper of ours runs for that call. LiteLLM's callback system sees
every call however it was bound, so a ``CustomLogger`` registered in ``litellm.callbacks``
traces exactly those calls:

* ``log_pre_api_call`` runs in the caller's thread and context, just before the request is
  sent. If our wrapper already traces the call (its context variable is set), the callback
  does nothing; otherwise it starts the span, parented on the caller's current span.
* the success / failure events (sync ones on LiteLLM's logging thread, async ones on the
  event loop) end it, with the complete response (for streams, LiteLLM's assembled one).

So a call is traced by the wrapper or by the callback, never both. ``uninstrument()`` removes
the callback from LiteLLM's lists at once and ends the calls it still has open, marked
``litellm.stream.closed_early``: LiteLLM reports a sync call's success on its logging thread a
moment after the call returned, and that report can no longer reach a callback that is gone.
Keeping the callback registered until its calls drain would keep LiteLLM's logging running on
every later call (for as long as a stream dropped unread stays open: for ever), and removing
itself from inside a report is unsafe where LiteLLM iterates its own list while calling it.

Limits, documented in
docs/entry-points.md: the span starts when LiteLLM is about to send the request (after its
argument processing) and ends when LiteLLM runs its success logging (after the call returned),
it is not current while the request is sent (so HTTP client spans are not its children), and
streams get no time-to-first-chunk metric.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from litellm_otel import _attributes as attrs
from litellm_otel._access import number
from litellm_otel._failsafe import report_failure
from litellm_otel._operations import (
    CHAT,
    EMBEDDINGS,
    ENTRY_POINTS,
    IMAGE_GENERATION,
    MODERATION,
    RERANK,
    RESPONSES,
    SPEECH,
    TEXT_COMPLETION,
    TRANSCRIPTION,
    Surface,
)
from litellm_otel._recorder import CallRecorder, Invocation
from litellm_otel._wrappers import IN_TRACED_CALL

# Calls whose success or failure LiteLLM never reports (a stream dropped unread) must not
# pin memory: past this many open calls the oldest is ended as closed early.
_OPEN_CALLS_LIMIT: Final = 4096

# Set by the LiteLLM Proxy on the logging details of requests it refused before any provider
# call (wrong key, budget, rate limit); those are traced by litellm_otel.proxy instead.
_NO_UPSTREAM_CALL: Final = "litellm_no_upstream_llm_call"

_REQUEST_KEYS: Final = (
    "model",
    "messages",
    "input",
    "prompt",
    "query",
    "documents",
    "stream",
    "tools",
    "instructions",
)


#: The surfaces whose mappings read LiteLLM's logging details as they read call arguments
#: (the others' calls reach LiteLLM through our wrappers only).
_LOGGED: Final = frozenset(
    {CHAT, TEXT_COMPLETION, RESPONSES, EMBEDDINGS, IMAGE_GENERATION, TRANSCRIPTION, SPEECH}
    | {RERANK, MODERATION}
)


def make_callback(recorder: CallRecorder) -> Any:
    """A ``litellm.integrations.custom_logger.CustomLogger`` bound to ``recorder``."""
    from litellm.integrations.custom_logger import CustomLogger

    class EarlyBoundCallTracer(CustomLogger):  # type: ignore[misc]
        """Traces the calls that reached LiteLLM without passing through our wrappers."""

        def __init__(self) -> None:
            super().__init__()
            self._open: OrderedDict[str, tuple[Surface, Invocation]] = OrderedDict()
            self._lock = threading.Lock()
            self._retired = False

        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            if IN_TRACED_CALL.get() is not None or not is_instrumentation_enabled():
                return
            if isinstance(kwargs, Mapping) and kwargs.get(_NO_UPSTREAM_CALL):
                return  # the LiteLLM Proxy logging a request it refused: no provider call
            try:
                self._start(kwargs)
            except Exception:
                report_failure("starting an early-bound call's span")

        def _start(self, kwargs: Mapping[str, Any]) -> None:
            call_id = kwargs.get("litellm_call_id")
            call_type = str(kwargs.get("call_type") or "completion")
            entry = ENTRY_POINTS.get(call_type)
            if not isinstance(call_id, str) or entry is None or entry.surface not in _LOGGED:
                return
            with self._lock:
                if self._retired or call_id in self._open:  # gone, or LiteLLM retrying
                    return
            surface = entry.surface
            invocation = recorder.start(surface, _request_params(kwargs))
            evicted = None
            with self._lock:
                if self._retired:  # uninstrument() ran meanwhile: nobody would end it later
                    evicted = invocation
                else:
                    self._open[call_id] = (surface, invocation)
                    if len(self._open) > _OPEN_CALLS_LIMIT:
                        evicted = self._open.popitem(last=False)[1][1]
            if evicted is not None:
                _end_unreported(evicted)

        def retire(self) -> None:
            """No new calls; the open ones end now (see the module docstring)."""
            with self._lock:
                self._retired = True
                unreported = [invocation for _, invocation in self._open.values()]
                self._open.clear()
            for invocation in unreported:
                _end_unreported(invocation)

        def _take(self, kwargs: Any) -> tuple[Surface, Invocation] | None:
            call_id = kwargs.get("litellm_call_id") if isinstance(kwargs, Mapping) else None
            with self._lock:
                return self._open.pop(call_id, None) if isinstance(call_id, str) else None

        def _success(self, kwargs: Any, response: Any) -> None:
            entry = self._take(kwargs)
            if entry is None:
                return
            surface, invocation = entry
            try:
                surface.apply_response(invocation, response, recorder.capture_content(invocation))
                cost = number(kwargs.get("response_cost"))
                if cost is not None:
                    invocation.attributes[attrs.LITELLM_RESPONSE_COST] = cost
            except Exception:
                report_failure("reading an early-bound call's response")
            recorder.stop(invocation)

        def _failure(self, kwargs: Any) -> None:
            entry = self._take(kwargs)
            if entry is None:
                return
            exception = kwargs.get("exception")
            if not isinstance(exception, BaseException):
                exception = RuntimeError(str(kwargs.get("error_str") or "LiteLLM call failed"))
            # LiteLLM's logging details hold the call's arguments (its key under
            # ``litellm_params``): the error text is scrubbed of them like a wrapped call's.
            recorder.fail(entry[1], exception, kwargs if isinstance(kwargs, Mapping) else None)

        def log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self._success(kwargs, response_obj)

        async def async_log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self._success(kwargs, response_obj)

        def log_failure_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self._failure(kwargs)

        async def async_log_failure_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self._failure(kwargs)

    def _end_unreported(invocation: Invocation) -> None:
        """End a call LiteLLM will not (or no longer can) report to us."""
        try:
            invocation.attributes[attrs.LITELLM_STREAM_CLOSED_EARLY] = True
        except Exception:
            report_failure("ending an early-bound call LiteLLM did not report")
        recorder.stop(invocation)

    return EarlyBoundCallTracer()


def _request_params(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The call's arguments as our wrappers would have seen them.

    LiteLLM's logging details keep the sampling parameters under ``optional_params`` and the
    routing ones under ``litellm_params``; secrets there are never read.
    """
    params: dict[str, Any] = {}
    optional = kwargs.get("optional_params")
    if isinstance(optional, Mapping):
        params.update(optional)
    for key in _REQUEST_KEYS:
        value = kwargs.get(key)
        if value is not None:
            params[key] = value
    litellm_params = kwargs.get("litellm_params")
    if isinstance(litellm_params, Mapping):
        for key in ("api_base", "custom_llm_provider"):
            value = litellm_params.get(key)
            if value is not None:
                params[key] = value
    provider = kwargs.get("custom_llm_provider")
    if isinstance(provider, str):
        params["custom_llm_provider"] = provider
    return params


_CALLBACK_LISTS: Final = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_input_callback",
    "_async_success_callback",
    "_async_failure_callback",
    "service_callback",
)


def register(litellm: Any, callback: Any) -> None:
    callbacks = getattr(litellm, "callbacks", None)
    if isinstance(callbacks, list):
        callbacks.append(callback)
    else:
        litellm.callbacks = [callback]


def unregister(litellm: Any, callback: Any) -> None:
    """Remove ``callback`` from ``litellm.callbacks`` and the lists LiteLLM copied it into,
    then end the calls it has open (no report of LiteLLM's can reach it any more)."""
    try:
        for name in _CALLBACK_LISTS:
            entries = getattr(litellm, name, None)
            if isinstance(entries, list):
                entries[:] = [entry for entry in entries if entry is not callback]
    finally:
        retire = getattr(callback, "retire", None)
        if callable(retire):
            retire()
