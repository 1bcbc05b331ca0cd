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
from opentelemetry.context import Context, attach, create_key, detach, get_value, set_value
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode

from litellm_otel._access import field
from litellm_otel._attributes import (
    LITELLM_STREAM_CLOSED_EARLY,
    ROUTER_ATTEMPTS,
    ROUTER_DEPLOYMENT_MODEL,
    ROUTER_DEPLOYMENT_PROVIDER,
    ROUTER_FALLBACK_EVENT,
    ROUTER_FALLBACKS,
    ROUTER_FINAL_MODEL_GROUP,
    ROUTER_FROM_MODEL_GROUP,
    ROUTER_MODEL_GROUP,
    ROUTER_OPERATION,
    ROUTER_RETRIES,
    ROUTER_RETRY_EVENT,
    ROUTER_TO_MODEL_GROUP,
)
from litellm_otel._errors import record_exception
from litellm_otel._failsafe import report_failure
from litellm_otel._operations import ENTRY_POINTS
from litellm_otel._redaction import Redaction
from litellm_otel._streams import proxy_for

# What every ``wrapt`` wrapper is an instance of: a base beside ``ObjectProxy``, if wrapt has one.
_WRAPPER_BASE: Final[type] = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)

#: The Router call in progress, a value of the OpenTelemetry context (so a stream's reads,
#: which attach the call's context, see it too).
_ROUTER_CALL: Final = create_key("litellm_otel.router_call")


def current_call(context: Context | None = None) -> RouterCall | None:
    value = get_value(_ROUTER_CALL, context)
    return value if isinstance(value, RouterCall) else None


class _Attempt:
    __slots__ = ("error", "invocation", "model", "model_group", "params", "provider")

    def __init__(
        self,
        invocation: Any,
        model_group: str | None,
        model: Any,
        provider: str,
        params: Mapping[str, Any],
    ):
        self.invocation = invocation
        self.model_group = model_group
        self.model = model
        self.provider = provider
        self.params = params  # read only if the attempt failed, for its error text
        self.error: BaseException | None = None


class RouterCall:
    """The score of one Router call, shared with its attempts through the context."""

    __slots__ = ("attempts", "model_group", "params", "redact_content", "router", "span")

    def __init__(
        self,
        span: trace.Span,
        model_group: str | None,
        router: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        redact_content: bool = True,
    ) -> None:
        self.span = span
        self.model_group = model_group
        self.router = router
        self.params = params
        self.redact_content = redact_content
        self.attempts: list[_Attempt] = []

    def redaction(self, *sources: Mapping[str, Any] | None) -> Redaction:
        """Scrubs an error text of the call's secrets and content, and of every deployment's
        (an error may come from, or name, any deployment of the Router)."""
        deployments: list[Mapping[str, Any] | None] = []
        model_list = getattr(self.router, "model_list", None)
        if isinstance(model_list, list):
            for deployment in model_list:  # pyright: ignore[reportUnknownVariableType]
                deployments.append(field(deployment, "litellm_params"))
        return Redaction(*sources, self.params, *deployments, redact_content=self.redact_content)

    def started(self, invocation: Any, params: Mapping[str, Any], target: Any) -> None:
        group = _attempt_model_group(params) or self.model_group
        previous = self.attempts[-1] if self.attempts else None
        if previous is not None and previous.error is not None and self.span.is_recording():
            fallback = group != previous.model_group
            message = self.redaction(previous.params).message(previous.error)
            event_attributes: dict[str, Any] = {
                error_attributes.ERROR_TYPE: type(previous.error).__qualname__,
                "exception.message": message[:500],
                ROUTER_DEPLOYMENT_MODEL: str(previous.model),
            }
            if fallback:
                event_attributes[ROUTER_FROM_MODEL_GROUP] = str(previous.model_group)
                event_attributes[ROUTER_TO_MODEL_GROUP] = str(group)
            else:
                event_attributes[ROUTER_MODEL_GROUP] = str(group)
            self.span.add_event(
                ROUTER_FALLBACK_EVENT if fallback else ROUTER_RETRY_EVENT, event_attributes
            )
        self.attempts.append(
            _Attempt(invocation, group, target.request_model, target.provider_name, params)
        )

    def finished(self, invocation: Any, error: BaseException | None) -> None:
        for attempt in reversed(self.attempts):
            if attempt.invocation is invocation:
                attempt.error = error
                return

    def end(self, error: BaseException | None, *, closed_early: bool = False) -> None:
        span = self.span
        try:
            if span.is_recording():
                if closed_early:
                    span.set_attribute(LITELLM_STREAM_CLOSED_EARLY, True)
                retries = fallbacks = 0
                for before, after in zip(self.attempts, self.attempts[1:], strict=False):
                    if after.model_group == before.model_group:
                        retries += 1
                    else:
                        fallbacks += 1
                span.set_attribute(ROUTER_ATTEMPTS, len(self.attempts))
                span.set_attribute(ROUTER_RETRIES, retries)
                span.set_attribute(ROUTER_FALLBACKS, fallbacks)
                answered = next((a for a in reversed(self.attempts) if a.error is None), None)
                if answered is not None and error is None:
                    if answered.model is not None:
                        span.set_attribute(ROUTER_DEPLOYMENT_MODEL, str(answered.model))
                    span.set_attribute(ROUTER_DEPLOYMENT_PROVIDER, answered.provider)
                    if answered.model_group is not None:
                        span.set_attribute(ROUTER_FINAL_MODEL_GROUP, answered.model_group)
                if error is not None:
                    span.set_attribute(error_attributes.ERROR_TYPE, type(error).__qualname__)
                    redaction = self.redaction(*(a.params for a in self.attempts))
                    message = record_exception(span, error, redaction)
                    span.set_status(Status(StatusCode.ERROR, message[:500]))
        except Exception:
            report_failure("finishing a router span")
        finally:
            span.end()
            # The attempts' invocations and the call's arguments are done with; contexts
            # LiteLLM copies for its background threads may keep this object alive a while
            # longer.
            self.attempts.clear()
            self.params = None
            self.router = None


class RouterStream:
    """The Router call behind a stream it returned: current around every read of the stream
    (the proxy attaches :attr:`context`), its span ended once when the stream ends."""

    __slots__ = ("call", "context", "finished")

    def __init__(self, call: RouterCall, context: Context) -> None:
        self.call = call
        self.context = context
        self.finished = False

    def chunk(self, chunk: Any) -> None:
        """The attempts' own stream proxies read the chunks."""

    def succeed(self, stream: Any) -> None:
        self._end(None)

    def fail(self, error: BaseException) -> None:
        self._end(error)

    def close_early(self, stream: Any) -> None:
        self._end(None, closed_early=True)

    def _end(self, error: BaseException | None, *, closed_early: bool = False) -> None:
        if self.finished:
            return
        self.finished = True
        self.call.end(error, closed_early=closed_early)

    def __del__(self) -> None:
        # Dropped unfinished: the caller stopped reading and let go of the stream.
        if getattr(self, "finished", True):
            return
        try:  # noqa: SIM105 (contextlib may already be gone at interpreter shutdown)
            self._end(None, closed_early=True)
        except BaseException:
            pass


def _is_stream(result: Any) -> bool:
    return hasattr(result, "__next__") or hasattr(result, "__anext__")


def _attempt_model_group(params: Mapping[str, Any]) -> str | None:
    """The model group the Router stamped on an attempt's metadata."""
    for key in ("metadata", "litellm_metadata"):
        group = field(params.get(key), "model_group")
        if isinstance(group, str):
            return group
    return None


#: ``Router`` method → (gen_ai operation of its attempts, is the method async).
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
        return call, set_value(_ROUTER_CALL, call, trace.set_span_in_context(span))

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
