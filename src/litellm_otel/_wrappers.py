"""The wrappers around LiteLLM's public functions and the one-span-per-call guard.

Data path of one call: bind the arguments by LiteLLM's signature → start the call's
invocation (:class:`~litellm_otel._recorder.CallRecorder`) → make its span current while
LiteLLM runs (so HTTP client spans nest under it and a ``traceparent`` reaches the provider)
→ call LiteLLM → map the response, or hand a stream to a proxy that ends the span later.

LiteLLM calls its own public functions internally (``acompletion`` runs ``completion`` in
an executor with the context copied; dispatchers sit in front of ``litellm.main``;
``completion_with_retries`` calls ``completion``; Anthropic messages run ``responses`` or
``completion``). A context variable holds the surface of the call we trace, so the inner
call passes straight through and the caller sees exactly one span, whatever path LiteLLM
takes. A composite surface (a RAG query: a search, then a completion) names in
``child_operations`` the inner calls that are work of their own: those get their own span,
a child of the outer one, and their own inner calls fold into them in turn.

Nested LLM SDK instrumentations (the OpenAI SDK under the contrib, Traceloop or
OpenInference instrumentation) would add a second GenAI span for the same call. The context
we make current carries the markers they honour: util-genai's own "inference in progress"
value (contrib instrumentations built on util-genai fold into our span) and Traceloop's
``suppress_language_model_instrumentation`` key. HTTP client spans are unaffected.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry.context import Context, attach, detach
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from litellm_otel._failsafe import report_failure
from litellm_otel._operations import Surface
from litellm_otel._recorder import CallRecorder, Invocation

# The surface of the call we trace that is running in this context (thread or task).
IN_TRACED_CALL: ContextVar[Surface | None] = ContextVar("litellm_otel_in_traced_call", default=None)

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


class ArgumentBinder:
    """Maps positional arguments to LiteLLM's parameter names, computed once per function."""

    __slots__ = ("names",)

    def __init__(self, function: Callable[..., Any]) -> None:
        try:
            parameters = tuple(inspect.signature(function).parameters.values())
        except (TypeError, ValueError):
            parameters = ()
        self.names = tuple(
            p.name
            for p in parameters
            if p.kind
            in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
        if not args:
            return kwargs
        params = dict(zip(self.names, args, strict=False))
        params.update(kwargs)
        return params


def make_wrapper(
    recorder: CallRecorder, surface: Surface, is_async: bool, binder: ArgumentBinder
) -> Wrapper:
    """A ``wrapt`` wrapper for one LiteLLM function (sync or async)."""

    def begin(
        args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Invocation | None, Context | None, dict[str, Any], Mapping[str, Any]]:
        """The call's invocation and context, the kwargs to call with, and the arguments."""
        params: Mapping[str, Any] = kwargs
        try:
            params = binder.bind(args, kwargs)
            kwargs = recorder.prepare_kwargs(surface, params, kwargs)
            # inside a composite call (its child): a span of its own, under the outer one
            parent = recorder.child_context() if IN_TRACED_CALL.get() is not None else None
            invocation = recorder.start(surface, params, parent)
            return invocation, recorder.call_context(invocation), kwargs, params
        except Exception:
            report_failure("starting the span")
            return None, None, kwargs, params

    def passes_through() -> bool:
        # With no SDK configured, ``idle()`` alone decides: first, so that path stops there.
        return (
            not recorder.active
            or recorder.idle()
            or folds_into_outer_call(surface)
            or not is_instrumentation_enabled()
        )

    if is_async:

        async def async_wrapper(
            wrapped: Callable[..., Any],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            if passes_through():
                return await wrapped(*args, **kwargs)
            invocation, context, kwargs, params = begin(args, kwargs)
            if invocation is None or context is None:
                return await wrapped(*args, **kwargs)
            token = attach(context)
            guard = IN_TRACED_CALL.set(surface)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exception:
                IN_TRACED_CALL.reset(guard)
                detach(token)
                recorder.fail(invocation, exception, params)
                raise
            IN_TRACED_CALL.reset(guard)
            detach(token)
            return recorder.finish(
                surface,
                invocation,
                result,
                context,
                streamed=_streamed(surface, params),
                params=params,
            )

        return async_wrapper

    def sync_wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if passes_through():
            return wrapped(*args, **kwargs)
        invocation, context, kwargs, params = begin(args, kwargs)
        if invocation is None or context is None:
            return wrapped(*args, **kwargs)
        token = attach(context)
        guard = IN_TRACED_CALL.set(surface)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exception:
            IN_TRACED_CALL.reset(guard)
            detach(token)
            recorder.fail(invocation, exception, params)
            raise
        IN_TRACED_CALL.reset(guard)
        detach(token)
        if inspect.iscoroutine(result):
            # a sync function that hands back its async twin's work when a loop runs
            # (``a2a_protocol.send_message``): the call ends when that is awaited
            return _finish_when_awaited(
                recorder, surface, invocation, result, context=context, params=params
            )
        return recorder.finish(
            surface, invocation, result, context, streamed=_streamed(surface, params), params=params
        )

    return sync_wrapper


async def _finish_when_awaited(
    recorder: CallRecorder,
    surface: Surface,
    invocation: Invocation,
    work: Any,
    *,
    context: Context,
    params: Mapping[str, Any],
) -> Any:
    """Await a traced call's coroutine in the call's context; its span ends with it."""
    token = attach(context)
    guard = IN_TRACED_CALL.set(surface)
    try:
        result = await work
    except BaseException as exception:
        IN_TRACED_CALL.reset(guard)
        detach(token)
        recorder.fail(invocation, exception, params)
        raise
    IN_TRACED_CALL.reset(guard)
    detach(token)
    return recorder.finish(
        surface, invocation, result, context, streamed=_streamed(surface, params), params=params
    )


def folds_into_outer_call(surface: Surface) -> bool:
    """Whether a call of ``surface`` made now is part of a call we already trace (LiteLLM's
    internal re-entry): it then gets no span of its own."""
    outer = IN_TRACED_CALL.get()
    return outer is not None and (
        outer is surface or surface.operation_name not in outer.child_operations
    )


def _streamed(surface: Surface, params: Mapping[str, Any]) -> bool:
    return surface.always_streams or params.get("stream") is True
