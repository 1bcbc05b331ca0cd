"""Sync and async proxies for LiteLLM streams.

Built on util-genai's ``SyncStreamWrapper`` / ``AsyncStreamWrapper`` (``wrapt`` proxies, so
``isinstance(stream, litellm.CustomStreamWrapper)`` stays true and every attribute of the
original is reachable). They add what LiteLLM streams need:

* the span ends exactly once: at exhaustion, on an error while reading, on ``close()`` /
  ``aclose()`` / leaving a ``with`` block, or when the proxy is garbage-collected;
* a stream the caller stopped reading early is marked ``litellm.stream.closed_early`` and
  keeps status UNSET (it neither failed nor provably succeeded), with what arrived so far;
* what a chunk says is read by a per-surface :class:`StreamState` (chat, text completion,
  Responses events), which keeps fragments only when content capture is on.

Exceptions in our chunk handling are contained; the chunk always reaches the caller.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from opentelemetry.context import Context, attach, detach
from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.stream import (
    AbandonedStreamError,
    AsyncStreamWrapper,
    SyncStreamWrapper,
)

from litellm_otel import _attributes as attrs
from litellm_otel._failsafe import report_failure

_logger = logging.getLogger(__name__)


class Finisher(Protocol):
    """Ends a call's span (the wrappers' ``Tracer``: hooks, router bookkeeping, errors)."""

    def stop(self, invocation: Any, response: Any = None) -> None: ...

    def fail(self, invocation: Any, exception: BaseException) -> None: ...


class StreamState(Protocol):
    """Reads chunks of one kind of stream and records what they said on the invocation."""

    def process(self, chunk: Any, invocation: Any) -> None: ...

    def apply(self, invocation: Any) -> None: ...


class _StreamFinisher:
    """Shared finalization of both proxies: record what arrived, then end the span once."""

    _self_invocation: InferenceInvocation
    _self_state: StreamState
    _self_finisher: Finisher
    _self_context: Context
    _self_closed_early: bool
    _self_aiter: Any

    def _bind(
        self,
        invocation: InferenceInvocation,
        state: StreamState,
        context: Context,
        finisher: Finisher,
    ) -> None:
        # ``_self_`` names stay on the proxy; wrapt forwards any other attribute to the stream.
        self._self_invocation = invocation
        self._self_state = state
        self._self_context = context
        self._self_finisher = finisher
        self._self_closed_early = False

    def _execution_context(self) -> _Activation:
        return _Activation(self._self_context)

    async def __anext__(self) -> Any:
        # Attached and detached within this one coroutine step, so always in the same task.
        token = attach(self._self_context)
        try:
            chunk = await anext(self._self_aiter)
        except StopAsyncIteration:
            detach(token)
            self._finalize_success()
            raise
        except asyncio.CancelledError:
            # The reader was cancelled (a LiteLLM Proxy client disconnected, a timeout): it
            # stopped reading; the call itself did not fail.
            detach(token)
            self._close_early()
            raise
        except BaseException as error:
            detach(token)
            self._finalize_failure(error)
            raise
        detach(token)
        self._handle_chunk(chunk)
        return chunk

    def _handle_chunk(self, chunk: Any) -> None:
        """Read what the chunk says, then record its timing; failures of either are contained."""
        invocation = self._self_invocation
        try:
            self._self_state.process(chunk, invocation)
        except Exception:
            report_failure("reading a stream chunk")
        try:
            # After the chunk was read, so the timing metrics carry the response model.
            invocation.record_stream_chunk()
        except Exception:
            report_failure("recording a stream chunk")

    def _on_stream_end(self) -> None:
        invocation = self._self_invocation
        try:
            self._self_state.apply(invocation)
            if self._self_closed_early:
                invocation.attributes[attrs.LITELLM_STREAM_CLOSED_EARLY] = True
        except Exception:
            report_failure("finishing a stream")
        self._self_finisher.stop(invocation, self)

    def _on_stream_error(self, error: BaseException) -> None:
        if isinstance(error, AbandonedStreamError):
            # Dropped unread (break + del, or garbage collection): an early close, not a failure.
            self._self_closed_early = True
            self._on_stream_end()
            return
        invocation = self._self_invocation
        try:
            self._self_state.apply(invocation)
        except Exception:
            report_failure("finishing a failed stream")
        self._self_finisher.fail(invocation, error)

    def _close_early(self) -> None:
        """The caller closed the stream; if it was not finished yet, say so."""
        if not self._self_finalized:  # type: ignore[attr-defined]
            self._self_closed_early = True
            self._finalize_success()  # type: ignore[attr-defined]


class _Activation:
    """Makes a context current for one block (close, finalization); the hot read path inlines it."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: Context) -> None:
        self._context = context
        self._token: object = None

    def __enter__(self) -> None:
        self._token = attach(self._context)

    def __exit__(self, *exc_info: object) -> None:
        detach(self._token)  # type: ignore[arg-type]


class SyncStream(_StreamFinisher, SyncStreamWrapper[Any]):
    """Proxy for a stream returned by a sync call (``completion(stream=True)``)."""

    def __init__(
        self,
        stream: Any,
        invocation: InferenceInvocation,
        state: StreamState,
        context: Context,
        finisher: Finisher,
    ):
        super().__init__(stream, invocation)
        self._bind(invocation, state, context, finisher)

    def __next__(self) -> Any:
        # util-genai's reader, inlined: our span is current only while LiteLLM produces
        # the chunk, and no context manager object is allocated per chunk.
        token = attach(self._self_context)
        try:
            chunk = next(self._self_iterator)
        except StopIteration:
            detach(token)
            self._finalize_success()
            raise
        except BaseException as error:
            detach(token)
            self._finalize_failure(error)
            raise
        detach(token)
        self._handle_chunk(chunk)
        return chunk

    def __aiter__(self) -> Any:
        # LiteLLM's stream from a sync ``completion(stream=True)`` also supports ``async for``.
        self._self_aiter = aiter(self.__wrapped__)
        return self

    def close(self) -> None:
        # LiteLLM's CustomStreamWrapper has no close(); ending the span must not depend on it.
        with self._execution_context():
            self._close_early()
        close = getattr(self.__wrapped__, "close", None)
        if callable(close):
            close()
            return
        _release_http_stream(self.__wrapped__)

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        # An exception in the caller's own ``with`` body is not a failure of the LLM call.
        self.close()
        return False


class AsyncStream(_StreamFinisher, AsyncStreamWrapper[Any]):
    """Proxy for a stream returned by an async call (``acompletion(stream=True)``)."""

    def __init__(
        self,
        stream: Any,
        invocation: InferenceInvocation,
        state: StreamState,
        context: Context,
        finisher: Finisher,
    ):
        super().__init__(stream, invocation)
        self._bind(invocation, state, context, finisher)

    async def _close(self) -> None:
        with self._execution_context():
            self._close_early()
        await self._close_stream()

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        await self._close()
        return False


def _release_http_stream(stream: Any) -> None:
    """Close the provider's HTTP stream behind a LiteLLM stream, if it can be closed."""
    try:
        inner = getattr(stream, "completion_stream", None)
        close = getattr(inner, "close", None)
        if callable(close):
            result = close()
            if hasattr(result, "close"):  # an un-awaited coroutine from an async close
                result.close()
    except Exception:
        _logger.debug("litellm-otel: could not close the underlying stream", exc_info=True)
