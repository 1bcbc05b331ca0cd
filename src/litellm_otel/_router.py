"""Router calls: one parent span for the routing decision, one child GenAI span per attempt.

``litellm.Router`` picks a deployment of a model group, retries it, cools deployments down
and falls back to other model groups, and calls ``litellm.completion`` & co. for every real
attempt. Our wrappers around those calls make the child spans; this module adds the parent
(kind INTERNAL, ``router {operation} {model group}``) and keeps score: the wrappers report
each attempt's start and end here through the OpenTelemetry context (the Router call is a
value in it, next to its span), so the parent knows how many attempts, retries and fallbacks
there were, which deployment answered, and adds a span event for every retry and fallback
with the error that caused it. The call recorder reports every call's start and end to
:class:`RouterInstrumentation` (its attempt observer, wired by ``instrument()``).

A streamed Router call is not over when the Router returns its stream: LiteLLM falls back
from inside the stream's iteration when a deployment's stream breaks (before any content, or
with mid-stream continuation after it), calling the fallback deployment while the caller
reads. So the stream is handed out behind a proxy (the one the attempts' streams use) that
makes the Router call's context current around each read and ends the parent span when the
stream ends, however it ends: a fallback made while reading is one more attempt, a child of
the parent, and the parent never ends before its attempts.

A Router's sync methods run LiteLLM's async machinery through ``run_async_function``, which,
when an event loop is already running in the caller's thread, runs it in a fresh thread that
has none of the caller's context: the Router module's reference to it is wrapped to carry the
OpenTelemetry context (and our nested-call guard) into that thread, so attempts made there
(a sync stream's fallback) are children of the router span like any other.

util-genai has no notion of a router, so the parent span is written with our own tracer.
The parent carries only ``litellm.router.*`` attributes (no ``gen_ai.usage.*``): the
children already count the tokens, and backends that sum GenAI spans must not count twice.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any, Final

import wrapt
from opentelemetry import trace
from opentelemetry.context import Context, attach, detach, get_current, set_value
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.trace import SpanKind

from litellm_otel._attributes import (
    ROUTER_MODEL_GROUP,
    ROUTER_OPERATION,
)
from litellm_otel._failsafe import report_failure
from litellm_otel._operations import ENTRY_POINTS
from litellm_otel._router_call import ROUTER_CALL_KEY, RouterCall, RouterStream, current_call
from litellm_otel._streams import proxy_for
from litellm_otel._wrappers import IN_TRACED_CALL

#: The Router's own methods every attempt of a generic Router endpoint goes through, each
#: given the LiteLLM function to call as ``original_function``.
_GENERIC_CALLS: Final = ("_generic_api_call_with_fallbacks", "_ageneric_api_call_with_fallbacks")
#: What a Router module calls to run a coroutine from sync code.
_SYNC_BRIDGE: Final = "run_async_function"


def _is_stream(result: Any) -> bool:
    return hasattr(result, "__next__") or hasattr(result, "__anext__")


#: ``Router`` method → (gen_ai operation of its attempts, is the method async).
ROUTER_METHODS: Final[Mapping[str, tuple[str, bool]]] = {
    method: (entry.surface.operation_name, entry.is_async)
    for entry in ENTRY_POINTS.values()
    for method in entry.router_methods
}


def make_router_wrapper(
    tracer: trace.Tracer,
    operation: str,
    is_async: bool,
    is_enabled: Callable[[], bool] = lambda: True,
    *,
    redact_content: bool = True,
) -> Callable[..., Any]:
    """A ``wrapt`` wrapper for one ``Router`` method, bound or not, created before or after."""

    def begin(
        router: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[RouterCall, Context]:
        model_group = kwargs.get("model", args[0] if args else None)
        group = model_group if isinstance(model_group, str) else None
        span = tracer.start_span(
            f"router {operation} {group}" if group else f"router {operation}",
            kind=SpanKind.INTERNAL,
            attributes={
                ROUTER_OPERATION: operation,
                **({ROUTER_MODEL_GROUP: group} if group else {}),
            },
        )
        call = RouterCall(span, group, router, kwargs, redact_content=redact_content)
        return call, set_value(ROUTER_CALL_KEY, call, trace.set_span_in_context(span))

    def start_or_none(router: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        if current_call() is not None or not is_instrumentation_enabled() or not is_enabled():
            return None
        try:
            return begin(router, args, kwargs)
        except Exception:
            report_failure("starting a router span")
            return None

    def finish(call: RouterCall, context: Context, result: Any) -> Any:
        """End the Router call, or hand out its stream behind a proxy that will."""
        if _is_stream(result):
            try:
                return proxy_for(result, RouterStream(call, context))
            except Exception:
                report_failure("proxying a router stream")
        call.end(None)
        return result

    if is_async:

        async def async_wrapper(
            wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
        ) -> Any:
            started = start_or_none(instance, args, kwargs)
            if started is None:
                return await wrapped(*args, **kwargs)
            call, context = started
            token = attach(context)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                detach(token)
                call.end(error)
                raise
            detach(token)
            return finish(call, context, result)

        return async_wrapper

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        started = start_or_none(instance, args, kwargs)
        if started is None:
            return wrapped(*args, **kwargs)
        call, context = started
        token = attach(context)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            detach(token)
            call.end(error)
            raise
        detach(token)
        return finish(call, context, result)

    return sync_wrapper


def _served_by_metaclass(router_class: type, name: str) -> bool:
    """True when the class answers ``name`` only through its metaclass's ``__getattr__``."""
    if not hasattr(type(router_class), "__getattr__"):
        return False
    try:
        return callable(getattr(router_class, name, None))
    except Exception:
        return False


class _OnRouter:
    """A router wrapper for a function kept on one Router instance (no method binding tells
    the wrapper which Router it was read from)."""

    __slots__ = ("router", "wrapper")

    def __init__(self, wrapper: Callable[..., Any], router: object) -> None:
        self.wrapper = wrapper
        self.router = router

    def __call__(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return self.wrapper(wrapped, self.router, args, kwargs)


class _PerInstanceMethod:
    """A Router method ``Router.__init__`` stores on each instance, read through a wrapper.

    A data descriptor on the class comes before the instance's ``__dict__``: every read of
    ``router.<name>`` returns the function LiteLLM stored there behind a router wrapper, on a
    Router built before ``instrument()`` as on one built after. Writes and deletes go to the
    instance's ``__dict__`` as without it, and the class still has no such attribute. Taken off
    the class, it leaves every Router exactly as LiteLLM built it.
    """

    __slots__ = ("name", "wrapper")

    def __init__(self, name: str, wrapper: Callable[..., Any]) -> None:
        self.name = name
        self.wrapper = wrapper

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            raise AttributeError(self.name)
        try:
            method = vars(instance)[self.name]
        except KeyError:
            message = f"'{type(instance).__name__}' object has no attribute '{self.name}'"
            raise AttributeError(message, name=self.name, obj=instance) from None
        if not callable(method):
            return method
        try:
            return wrapt.FunctionWrapper(method, _OnRouter(self.wrapper, instance))
        except Exception:
            report_failure("wrapping a Router's per-instance method")
            return method

    def __set__(self, instance: object, value: Any) -> None:
        vars(instance)[self.name] = value

    def __delete__(self, instance: object) -> None:
        try:
            del vars(instance)[self.name]
        except KeyError:
            raise AttributeError(self.name) from None


def _calling_wrappers(wrapper_for: Callable[[Any], Any]) -> Callable[..., Any]:
    """A wrapper for the Router's generic call: the LiteLLM function it is given to call is
    swapped for our wrapper of it. A Router built before ``instrument()`` captured LiteLLM's
    original functions in its per-instance methods; this way its attempts are traced just as
    a newer Router's, which captured the wrappers."""

    def swap(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        function = kwargs.get("original_function")
        if function is not None:
            try:
                ours = wrapper_for(function)
            except Exception:
                report_failure("finding the wrapper of a Router's function")
                ours = None
            if ours is not None:
                kwargs = {**kwargs, "original_function": ours}
        return wrapped(*args, **kwargs)

    return swap


def _in_callers_context(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``run_async_function(async_function, *args, **kwargs)``, the coroutine run in the
    caller's OpenTelemetry context (and under its nested-call guard) wherever it runs."""
    if not args or not callable(args[0]):
        return wrapped(*args, **kwargs)
    try:
        carried = _carrying(args[0], get_current(), IN_TRACED_CALL.get())
    except Exception:
        report_failure("carrying the context into a Router's sync bridge")
        return wrapped(*args, **kwargs)
    return wrapped(carried, *args[1:], **kwargs)


def _carrying(
    async_function: Callable[..., Any], context: Context, in_traced_call: Any
) -> Callable[..., Any]:
    async def in_callers_context(*args: Any, **kwargs: Any) -> Any:
        # The coroutine runs as its own task: what is set here ends with it.
        IN_TRACED_CALL.set(in_traced_call)
        token = attach(context)
        try:
            return await async_function(*args, **kwargs)
        finally:
            detach(token)

    return in_callers_context


class RouterInstrumentation:
    """Wraps the Router methods and observes the attempts the call recorder reports.

    Methods are wrapped on the class where LiteLLM defines them there. The ones
    ``Router.__init__`` assigns per instance (``responses``, ``aanthropic_messages``,
    ``generate_content``, ... in the releases that assign them so), which no class-level
    wrapper of a method can reach, are read through a descriptor on the class
    (:class:`_PerInstanceMethod`), and the Router's generic call is made to call our wrappers
    of the functions such a method captured: a Router built before ``instrument()`` gets the
    spans of one built after. A wrapper read while instrumented and called afterwards checks
    :attr:`enabled` and passes the call straight through.

    A Router class that defines no method itself but serves them through its metaclass (a
    facade over a core class, as LiteLLM's Rust-core Router is) is wrapped on the class too:
    the facade stores the wrapper on its core and puts the original back on ``delattr``.
    """

    def __init__(self, tracer: trace.Tracer, *, redact_content: bool = True) -> None:
        self.tracer = tracer
        self.redact_content = redact_content  # content removed from error texts
        self.enabled = True
        self.on_class: list[str] = []
        self.via_metaclass: list[str] = []
        self.per_instance: list[str] = []
        self.generic_calls: list[str] = []
        self.bridge_module: Any = None

    # -- the attempt observer (called by the call recorder for every call) ------------------

    def attempt_started(self, invocation: Any, params: Mapping[str, Any], target: Any) -> None:
        call = current_call()
        if call is not None:
            call.started(invocation, params, target)

    def attempt_finished(self, invocation: Any, error: BaseException | None) -> None:
        call = current_call()
        if call is not None:
            call.finished(invocation, error)

    # -- wrapping ----------------------------------------------------------------------------

    def _wrapper(self, operation: str, is_async: bool) -> Callable[..., Any]:
        return make_router_wrapper(
            self.tracer, operation, is_async, self._is_enabled, redact_content=self.redact_content
        )

    def install(
        self, router_class: type, wrapper_for: Callable[[Any], Any] = lambda function: None
    ) -> None:
        """Wrap ``router_class``; ``wrapper_for(function)`` is our wrapper of a LiteLLM
        function, or ``None``. Raises only on a bug of ours, for :meth:`remove` to undo."""
        for name, (operation, is_async) in ROUTER_METHODS.items():
            static = inspect.getattr_static(router_class, name, None)
            defined = callable(static)
            if defined or (static is None and _served_by_metaclass(router_class, name)):
                wrapt.wrap_function_wrapper(router_class, name, self._wrapper(operation, is_async))
                (self.on_class if defined else self.via_metaclass).append(name)
            elif static is None:
                wrapper = self._wrapper(operation, is_async)
                setattr(router_class, name, _PerInstanceMethod(name, wrapper))
                self.per_instance.append(name)
        if self.per_instance:
            for name in _GENERIC_CALLS:
                if inspect.isfunction(inspect.getattr_static(router_class, name, None)):
                    wrapt.wrap_function_wrapper(router_class, name, _calling_wrappers(wrapper_for))
                    self.generic_calls.append(name)
        module = sys.modules.get(router_class.__module__)
        if module is not None and inspect.isfunction(vars(module).get(_SYNC_BRIDGE)):
            wrapt.wrap_function_wrapper(module, _SYNC_BRIDGE, _in_callers_context)
            self.bridge_module = module

    def _is_enabled(self) -> bool:
        return self.enabled

    def remove(self, router_class: type) -> None:
        self.enabled = False
        for name in self.on_class:
            unwrap(router_class, name)
        for name in self.via_metaclass:
            try:
                current = getattr(router_class, name, None)
                if isinstance(current, (wrapt.FunctionWrapper, wrapt.BoundFunctionWrapper)):
                    delattr(router_class, name)
            except Exception:
                report_failure("unwrapping a Router method")
        for name in self.per_instance:
            try:
                if isinstance(vars(router_class).get(name), _PerInstanceMethod):
                    delattr(router_class, name)
            except Exception:
                report_failure("unwrapping a Router's per-instance method")
        for name in self.generic_calls:
            unwrap(router_class, name)
        if self.bridge_module is not None:
            unwrap(self.bridge_module, _SYNC_BRIDGE)
        self.on_class, self.via_metaclass, self.per_instance, self.generic_calls = [], [], [], []
        self.bridge_module = None
