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

util-genai has no notion of a router, so the parent span is written with our own tracer.
The parent carries only ``litellm.router.*`` attributes (no ``gen_ai.usage.*``): the
children already count the tokens, and backends that sum GenAI spans must not count twice.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Final

import wrapt
from opentelemetry import trace
from opentelemetry.context import Context, attach, detach, set_value
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

# What every ``wrapt`` wrapper is an instance of: a base beside ``ObjectProxy``, if wrapt has one.
_WRAPPER_BASE: Final[type] = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)


def _is_stream(result: Any) -> bool:
    return hasattr(result, "__next__") or hasattr(result, "__anext__")


ROUTER_METHODS: Final[Mapping[str, tuple[str, bool]]] = {
    name: (entry.surface.operation_name, entry.is_async)
    for name, entry in ENTRY_POINTS.items()
    if entry.on_router
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


class RouterInstrumentation:
    """Wraps the Router methods and observes the attempts the call recorder reports.

    Methods are wrapped on the class where LiteLLM defines them there, and on each new instance
    for the ones ``Router.__init__`` assigns per instance (``responses`` and ``aresponses``, in
    the releases that assign them so), which no class-level wrapper can reach. Per-instance
    wrappers outlive ``uninstrument()`` on the instances that have them; they check
    :attr:`enabled` and pass calls straight through once it is false.

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
        self.per_instance: list[tuple[str, str, bool]] = []

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

    def _wrapper(self, operation: str, is_async: bool, per_instance: bool) -> Callable[..., Any]:
        if per_instance:
            return make_router_wrapper(
                self.tracer,
                operation,
                is_async,
                self._is_enabled,
                redact_content=self.redact_content,
            )
        return make_router_wrapper(
            self.tracer, operation, is_async, redact_content=self.redact_content
        )

    def install(self, router_class: type) -> None:
        for name, (operation, is_async) in ROUTER_METHODS.items():
            defined = callable(inspect.getattr_static(router_class, name, None))
            if defined or _served_by_metaclass(router_class, name):
                wrapt.wrap_function_wrapper(
                    router_class, name, self._wrapper(operation, is_async, per_instance=False)
                )
                (self.on_class if defined else self.via_metaclass).append(name)
            else:
                self.per_instance.append((name, operation, is_async))
        if self.per_instance:
            wrapt.wrap_function_wrapper(router_class, "__init__", self._after_init)

    def _is_enabled(self) -> bool:
        return self.enabled

    def _after_init(self, wrapped: Any, instance: object, args: Any, kwargs: Any) -> Any:
        result = wrapped(*args, **kwargs)
        if self.enabled:
            try:
                namespace = vars(instance)
                for name, operation, is_async in self.per_instance:
                    method = namespace.get(name)
                    if callable(method) and not isinstance(method, _WRAPPER_BASE):
                        wrapper = self._wrapper(operation, is_async, per_instance=True)
                        namespace[name] = wrapt.FunctionWrapper(method, wrapper)
            except Exception:
                report_failure("wrapping a Router's per-instance methods")
        return result

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
        if self.per_instance:
            unwrap(router_class, "__init__")
