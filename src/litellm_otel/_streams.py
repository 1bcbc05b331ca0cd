"""Proxies for LiteLLM's streams that end the call's span exactly once.

A stream is handed back to the caller before its span can end, so the proxy ends it: at
exhaustion, on an error while reading, on ``close()`` / ``aclose()`` / leaving a ``with`` or
``async with`` block, on cancellation, or when the last reference to it goes. A stream the
caller stopped reading early is marked ``litellm.stream.closed_early`` and keeps status UNSET
(it neither failed nor provably succeeded), with what arrived so far.

The proxy mirrors the protocol of what it wraps, no more and no less: LiteLLM's
``CustomStreamWrapper`` supports ``for`` and ``async for``, ``close`` and ``aclose`` and both
kinds of ``with``, while its Responses streams support one direction each, and LiteLLM's own
code checks which one it got (``hasattr(stream, "__aiter__")``). So a proxy class is built per
wrapped type with exactly that type's iteration, context-manager and close methods. util-genai's
stream wrappers are not used for this reason: each fixes one protocol. ``isinstance`` and every
other attribute reach the wrapped stream (``wrapt``); chunks pass through as the same objects.

What one stream's chunks said, and the end-exactly-once rule, live in a :class:`StreamSession`
the proxy holds. A copy of the proxy shares it; when no proxy holds it any more, its ``__del__``
ends a span nobody ended.

Chunk timings: the first chunk's time-to-first-chunk point is recorded when it arrives; every
later chunk only has its arrival time appended to a list, and their ``time_per_output_chunk``
points (the same values, one per chunk) are recorded in one pass when the stream ends, or when
:data:`CHUNK_TIMES_KEPT` are waiting. Between LiteLLM's steps a metric point costs several
times what it costs in a loop of them (docs/performance.md), and the list stays bounded.
"""

# The protocol functions below become methods of the per-type proxy classes, and wrapt keeps a
# proxy's own state under ``_self_`` names: their reads of ``_self_session`` are a class's own.
# pyright: reportPrivateUsage=false

from __future__ import annotations

import asyncio
import copy
import threading
import timeit
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import wrapt
from opentelemetry.context import Context, attach, detach

from litellm_otel import _attributes as attrs
from litellm_otel._compat import record_output_chunks
from litellm_otel._failsafe import report_failure
from litellm_otel._stream_usage import kept_usage_chunk

if TYPE_CHECKING:
    from litellm_otel._operations import StreamState
    from litellm_otel._recorder import CallRecorder, Invocation

    _ProxyBase = wrapt.BaseObjectProxy[Any]  # LiteLLM's streams, of any type
else:  # generic in wrapt's stubs only: the class itself is used unsubscripted
    _ProxyBase = wrapt.BaseObjectProxy

#: How many chunks' arrival times a stream keeps before recording their points: bounds what a
#: long stream holds, and how many of its points an export can be missing while it is open.
CHUNK_TIMES_KEPT: Final = 256
_now: Final = timeit.default_timer  # util-genai's clock for the invocation's start and chunks


class Session(Protocol):
    """What a proxy reports a stream's reads to; its ``context`` is current around each read.

    A call's :class:`StreamSession`, or a Router call's (``_router_call.RouterStream``), whose
    stream wraps its attempts' streams."""

    context: Context

    def chunk(self, chunk: Any) -> None: ...

    def succeed(self, stream: Any) -> None: ...

    def fail(self, error: BaseException) -> None: ...

    def close_early(self, stream: Any) -> None: ...


class StreamSession:
    """One streamed call: what its chunks said, and ending its span exactly once."""

    __slots__ = (
        "chunk_times",
        "closed_early",
        "context",
        "finished",
        "invocation",
        "params",
        "recorder",
        "state",
        "usage_source",
    )

    def __init__(
        self,
        invocation: Invocation,
        state: StreamState,
        context: Context,
        recorder: CallRecorder,
        params: Mapping[str, Any] | None = None,
        *,
        usage_source: Any = None,
    ) -> None:
        self.invocation = invocation
        self.state = state
        self.context = context
        self.recorder = recorder
        self.params = params  # the call's arguments, read only if the stream fails
        #: LiteLLM's stream that keeps the usage we asked for out of its chunks (_stream_usage).
        self.usage_source = usage_source
        self.finished = False
        self.closed_early = False
        #: Arrival times of the chunks after the first whose points are not recorded yet;
        #: ``None`` until the first chunk came.
        self.chunk_times: list[float] | None = None

    def chunk(self, chunk: Any) -> None:
        """Read what the chunk says, then note its timing; failures of either are contained."""
        invocation = self.invocation
        try:
            self.state.process(chunk, invocation)
        except Exception:
            report_failure("reading a stream chunk")
        times = self.chunk_times
        if times is not None:
            times.append(_now())
            if len(times) >= CHUNK_TIMES_KEPT:
                self.record_chunk_times()
            return
        self.chunk_times = []
        try:
            # After the chunk was read, so the timing metrics carry the response model.
            invocation.record_stream_chunk()
        except Exception:
            report_failure("recording a stream chunk")

    def record_chunk_times(self) -> None:
        """Record the waiting chunks' ``time_per_output_chunk`` points; before the span ends,
        so they carry the attributes they had while the stream was read (no ``error.type``)."""
        times = self.chunk_times
        if not times:
            return
        try:
            record_output_chunks(self.invocation, times)
        except Exception:
            report_failure("recording a stream chunk")
        times.clear()

    def succeed(self, stream: Any) -> None:
        if self.finished:
            return
        self.finished = True
        self.record_chunk_times()
        invocation = self.invocation
        try:
            if self.usage_source is not None:
                kept = kept_usage_chunk(self.usage_source)
                if kept is not None:
                    self.state.process(kept, invocation)
            self.state.apply(invocation)
            if self.closed_early:
                invocation.attributes[attrs.LITELLM_STREAM_CLOSED_EARLY] = True
        except Exception:
            report_failure("finishing a stream")
        error_type = self.reply_error_type()
        if error_type is not None:
            self.recorder.fail_reply(invocation, stream, error_type)
        else:
            self.recorder.stop(invocation, stream, finish_reasons=self.finish_reasons())

    def fail(self, error: BaseException) -> None:
        if self.finished:
            return
        self.finished = True
        self.record_chunk_times()
        try:
            self.state.apply(self.invocation)
        except Exception:
            report_failure("finishing a failed stream")
        self.recorder.fail(
            self.invocation, error, self.params, finish_reasons=self.finish_reasons()
        )

    def finish_reasons(self) -> Mapping[int, str] | None:
        """The reasons the chunks gave, by choice index, when the stream's reader keeps them
        so (chat streams); only the latest conventions' mode reads them."""
        reasons = getattr(self.state, "finish_reasons", None)
        return reasons if isinstance(reasons, dict) else None  # pyright: ignore[reportUnknownVariableType]

    def reply_error_type(self) -> str | None:
        """The ``error.type`` of a stream that ended normally although an event said the call
        failed (A2A's JSON-RPC errors), when the stream's reader keeps one."""
        error_type = getattr(self.state, "reply_error_type", None)
        return error_type if isinstance(error_type, str) else None

    def close_early(self, stream: Any) -> None:
        """The caller stopped reading; if the stream had not ended yet, say so."""
        if self.finished:
            return
        self.closed_early = True
        token = attach(self.context)
        try:
            self.succeed(stream)
        finally:
            detach(token)

    def __del__(self) -> None:
        # Dropped unfinished (``break`` and the last reference gone, or garbage collection).
        # May run during interpreter shutdown: nothing here may assume module state.
        if getattr(self, "finished", True):
            return
        try:  # noqa: SIM105 (contextlib may already be gone at interpreter shutdown)
            self.close_early(None)
        except BaseException:
            pass


class _StreamProxy(_ProxyBase):
    """What every stream proxy shares; the protocol methods are added per wrapped type."""

    _self_session: Session

    def __init__(self, wrapped: Any, session: Session) -> None:
        super().__init__(wrapped)
        self._self_session = session

    # A copy reads the same provider stream, so it shares the session: whichever copy reads a
    # chunk records it, and the span still ends once. Deep copies and pickles are the wrapped
    # stream's business (and fail the way it fails).
    def __copy__(self) -> Any:
        return proxy_for(copy.copy(self.__wrapped__), self._self_session)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self.__wrapped__, memo)

    def __reduce__(self) -> Any:
        return self.__wrapped__.__reduce__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self.__wrapped__.__reduce_ex__(protocol)


def _iter(self: _StreamProxy) -> Any:
    iterator = iter(self.__wrapped__)
    return self if iterator is self.__wrapped__ else proxy_for(iterator, self._self_session)


def _next(self: _StreamProxy) -> Any:
    session = self._self_session
    token = attach(session.context)  # our span is current only while LiteLLM makes the chunk
    try:
        chunk = next(self.__wrapped__)
    except StopIteration:
        detach(token)
        session.succeed(self)
        raise
    except BaseException as error:
        detach(token)
        session.fail(error)
        raise
    detach(token)
    session.chunk(chunk)
    return chunk


def _aiter(self: _StreamProxy) -> Any:
    iterator = aiter(self.__wrapped__)
    return self if iterator is self.__wrapped__ else proxy_for(iterator, self._self_session)


async def _anext(self: _StreamProxy) -> Any:
    session = self._self_session
    # Attached and detached within this one coroutine step, so always in the same task.
    token = attach(session.context)
    try:
        chunk = await anext(self.__wrapped__)
    except StopAsyncIteration:
        detach(token)
        session.succeed(self)
        raise
    except asyncio.CancelledError:
        # The reader was cancelled (a LiteLLM Proxy client disconnected, a timeout): it
        # stopped reading; the call itself did not fail.
        detach(token)
        session.close_early(self)
        raise
    except BaseException as error:
        detach(token)
        session.fail(error)
        raise
    detach(token)
    session.chunk(chunk)
    return chunk


def _enter(self: _StreamProxy) -> Any:
    entered = self.__wrapped__.__enter__()
    return self if entered is self.__wrapped__ else entered


def _exit(self: _StreamProxy, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
    # An exception in the caller's own ``with`` body is not a failure of the LLM call.
    self._self_session.close_early(self)
    return self.__wrapped__.__exit__(exc_type, exc_value, traceback)


async def _aenter(self: _StreamProxy) -> Any:
    entered = await self.__wrapped__.__aenter__()
    return self if entered is self.__wrapped__ else entered


async def _aexit(self: _StreamProxy, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
    self._self_session.close_early(self)
    return await self.__wrapped__.__aexit__(exc_type, exc_value, traceback)


def _close(self: _StreamProxy, *args: Any, **kwargs: Any) -> Any:
    self._self_session.close_early(self)
    return self.__wrapped__.close(*args, **kwargs)


async def _aclose(self: _StreamProxy, *args: Any, **kwargs: Any) -> Any:
    self._self_session.close_early(self)
    return await self.__wrapped__.aclose(*args, **kwargs)


# Protocol method → (the names the wrapped type must have for the proxy to offer it, ours).
_PROTOCOL: Final[tuple[tuple[str, tuple[str, ...], Callable[..., Any]], ...]] = (
    ("__iter__", ("__iter__",), _iter),
    ("__next__", ("__next__",), _next),
    ("__aiter__", ("__aiter__",), _aiter),
    ("__anext__", ("__anext__",), _anext),
    ("__enter__", ("__enter__", "__exit__"), _enter),
    ("__exit__", ("__enter__", "__exit__"), _exit),
    ("__aenter__", ("__aenter__", "__aexit__"), _aenter),
    ("__aexit__", ("__aenter__", "__aexit__"), _aexit),
    ("close", ("close",), _close),
    ("aclose", ("aclose",), _aclose),
)
# ``wrapt`` proxies define these themselves (forwarding, and handing out the unwrapped object
# from ``__enter__``); where the wrapped type lacks them, a descriptor hides them again.
_ALWAYS_ON_PROXY: Final = frozenset({"__enter__", "__exit__", "__aenter__", "__aexit__"})


class _UnsupportedProtocol(TypeError, AttributeError):
    """What the proxy raises where the wrapped stream raises for lack of a protocol method.

    ``hasattr`` must say False (an ``AttributeError``) and ``with`` must fail the way it fails
    on the wrapped stream (a ``TypeError`` on newer Pythons, an ``AttributeError`` on older
    ones): both at once.
    """


class _Unsupported:
    """Hides a protocol method ``wrapt`` defines on every proxy: reading it raises."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        raise _UnsupportedProtocol(self.message)


def _with_error(type_name: str, asynchronous: bool) -> str:
    """Python's own message for ``with`` / ``async with`` on an object of ``type_name``
    lacking the protocol (asked of Python, since its wording changes between releases)."""
    plain: Any = type(type_name, (), {})()  # lacks the protocol on purpose: Any, unchecked
    if not asynchronous:
        try:
            with plain:
                pass
        except (TypeError, AttributeError) as error:
            return str(error)
        return ""

    async def enter() -> None:
        async with plain:
            pass

    step = enter()
    try:
        step.send(None)
    except (TypeError, AttributeError) as error:
        return str(error)
    finally:
        step.close()
    return ""


_CLASSES: dict[type, type[_StreamProxy]] = {}
_CLASSES_LOCK = threading.Lock()


def _proxy_class(wrapped_type: type) -> type[_StreamProxy]:
    cls = _CLASSES.get(wrapped_type)
    if cls is not None:
        return cls
    # Named like the wrapped type, so Python's messages about the protocol (``'…' object is
    # not an iterator``) read the same as without us; the module says whose class it is.
    namespace: dict[str, Any] = {"__slots__": (), "__module__": __name__}
    for name, needs, method in _PROTOCOL:
        if all(callable(getattr(wrapped_type, need, None)) for need in needs):
            namespace[name] = method
        elif name in _ALWAYS_ON_PROXY:
            message = _with_error(wrapped_type.__name__, asynchronous=name.startswith("__a"))
            namespace[name] = _Unsupported(message)
    cls = type(wrapped_type.__name__, (_StreamProxy,), namespace)
    cls.__qualname__ = wrapped_type.__qualname__
    with _CLASSES_LOCK:
        return _CLASSES.setdefault(wrapped_type, cls)


def proxy_for(stream: object, session: Session) -> Any:
    return _proxy_class(type(stream))(stream, session)


def proxy_stream(
    stream: Any,
    invocation: Invocation,
    state: StreamState,
    context: Context,
    recorder: CallRecorder,
    *,
    params: Mapping[str, Any] | None = None,
    usage_source: Any = None,
) -> Any:
    """The stream to hand the caller in place of ``stream``; its span ends with it."""
    session = StreamSession(invocation, state, context, recorder, params, usage_source=usage_source)
    return proxy_for(stream, session)
