"""The timing shim: thread CPU spent inside LiteLLM, measured *under* every instrumentation.

LiteLLM's own mock call costs milliseconds and swings by milliseconds (its logging pool, the
collector walking its large heap), which is more than any instrumentation adds. So the
benchmark never subtracts two timings of whole calls; it subtracts LiteLLM out of each call:

    own cost of a call = thread CPU of the call - thread CPU spent inside LiteLLM

The second term comes from this module. Before any instrumentation is installed, LiteLLM's
entry points (``litellm.completion`` and friends, also under their ``litellm.main`` names,
which OpenLIT wraps as well) are replaced by a shim that calls the original function with a
:class:`Clock` running, and ``CustomStreamWrapper.__next__`` / ``__anext__`` (LiteLLM's own
stream object) get the same treatment. An instrumentation installed afterwards wraps the
shim, whatever it wraps and however (wrapt, ``setattr`` of a function, a proxy around the
returned stream): its work runs outside the clock, LiteLLM's inside.

Coroutines are timed step by step (:class:`Steps`): only the CPU of the coroutine's own steps
counts, not what the event loop runs while it is suspended (other tasks, LiteLLM's logging
worker). The clock counts only the thread that installed it; calls LiteLLM runs on its
executor threads (``acompletion`` does) are invisible to the caller's thread CPU for every
instrumentation alike.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

FUNCTIONS = ("completion", "acompletion", "embedding", "aembedding")

_thread_ns = time.thread_time_ns
_ident = threading.get_ident


class Clock:
    """Thread CPU accumulated between ``enter()`` and the matching ``leave()`` (re-entrant)."""

    __slots__ = ("depth", "entries", "inside_ns", "nested", "owner", "since")

    def __init__(self) -> None:
        self.owner = _ident()  # only this thread's time counts
        self.depth = 0
        self.since = 0
        self.inside_ns = 0
        self.entries = 0  # outermost entries
        self.nested = 0  # entries while already inside (LiteLLM calling a shimmed function)

    def enter(self) -> None:
        if self.depth == 0:
            self.entries += 1
            self.since = _thread_ns()
        else:
            self.nested += 1
        self.depth += 1

    def leave(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.inside_ns += _thread_ns() - self.since


class Steps:
    """Awaits a coroutine, with ``clock`` running only while one of its steps executes."""

    __slots__ = ("_clock", "_coro")

    def __init__(self, coro: Coroutine[Any, Any, Any], clock: Clock) -> None:
        self._coro = coro
        self._clock = clock

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, clock = self._coro, self._clock
        value: Any = None
        error: BaseException | None = None
        while True:
            clock.enter()
            try:
                yielded = coro.send(value) if error is None else coro.throw(error)
            except StopIteration as stop:
                return stop.value
            finally:
                clock.leave()
            try:
                value, error = (yield yielded), None
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as thrown:  # cancellation, or an error a future delivered
                value, error = None, thrown


def _sync_shim(original: Callable[..., Any], clock: Clock) -> Callable[..., Any]:
    owner = clock.owner

    @functools.wraps(original)  # keeps the signature: instrumentations bind arguments by it
    def shim(*args: Any, **kwargs: Any) -> Any:
        if _ident() != owner:
            return original(*args, **kwargs)
        clock.enter()
        try:
            return original(*args, **kwargs)
        finally:
            clock.leave()

    return shim


def _async_shim(original: Callable[..., Awaitable[Any]], clock: Clock) -> Callable[..., Any]:
    owner = clock.owner

    @functools.wraps(original)
    async def shim(*args: Any, **kwargs: Any) -> Any:
        if _ident() != owner:
            return await original(*args, **kwargs)
        clock.enter()
        try:
            coro = original(*args, **kwargs)
        finally:
            clock.leave()
        return await Steps(coro, clock)

    return shim


class Installed:
    """What :func:`install` replaced, so checks can tell a wrapped entry point from a bare one."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.shims: dict[str, Callable[..., Any]] = {}
        self.replaced: list[tuple[Any, str, Any]] = []  # (owner, name, original)

    def wrapped_by_instrumentation(self, litellm: Any, name: str) -> bool:
        """True when ``litellm.<name>`` is something installed on top of our shim."""
        return getattr(litellm, name) is not self.shims[name]

    def remove(self) -> None:
        """Put the originals back (the tests do; benchmark processes never need to)."""
        for owner, name, original in reversed(self.replaced):
            setattr(owner, name, original)
        self.replaced.clear()


def install(litellm: Any) -> Installed:
    """Put the shims under LiteLLM's entry points and its stream object (call before any
    instrumentation). Every binding of the original function that an instrumentation may
    wrap (``litellm.X`` and ``litellm.main.X``) gets the same shim object."""
    installed = Installed(Clock())
    main = sys.modules.get("litellm.main")
    stream = litellm.CustomStreamWrapper
    targets = [(name, (litellm, main)) for name in FUNCTIONS if hasattr(litellm, name)]
    for name, owners in [*targets, ("__next__", (stream,)), ("__anext__", (stream,))]:
        original = getattr(owners[0], name)
        make = _async_shim if inspect.iscoroutinefunction(original) else _sync_shim
        shim = make(original, installed.clock)  # a plain function: a method on the class too
        installed.shims[name] = shim
        for owner in owners:
            if owner is not None and getattr(owner, name, None) is original:
                installed.replaced.append((owner, name, original))
                setattr(owner, name, shim)
    return installed
