"""The wrappers around LiteLLM's public functions and the one-span-per-call guard.

Data path of one call: bind the arguments by LiteLLM's signature → resolve provider and
server once per model (cached) → start the util-genai invocation → make its span current
while LiteLLM runs (so HTTP client spans nest under it and a ``traceparent`` reaches the
provider) → call LiteLLM → map the response, or hand a stream to a proxy that ends the span
later → util-genai emits span and metrics.

LiteLLM calls its own public functions internally (``acompletion`` runs ``completion`` in
an executor with the context copied; dispatchers sit in front of ``litellm.main``;
``completion_with_retries`` calls ``completion``). A context variable marks "inside a call
we already trace", so the inner call passes straight through and the caller sees exactly
one span, whatever path LiteLLM takes.

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

from opentelemetry._logs import get_logger_provider
from opentelemetry.context import Context, attach, detach, set_value
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import get_meter_provider
from opentelemetry.trace import ProxyTracerProvider, get_tracer_provider
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.invocation import (
    CLIENT_EMBEDDING_CONTEXT_KEY,
    CLIENT_INFERENCE_CONTEXT_KEY,
    EmbeddingInvocation,
    InferenceInvocation,
)

from litellm_otel import _attributes as attrs
from litellm_otel import _router
from litellm_otel._config import Options
from litellm_otel._failsafe import report_failure
from litellm_otel._hooks import Hooks
from litellm_otel._operations import Surface
from litellm_otel._operations.common import error_of, record_exception
from litellm_otel._providers import ProviderResolver, ResolvedTarget
from litellm_otel._streams import AsyncStream, SyncStream

# True while a call we trace is running in this context (thread or task).
IN_TRACED_CALL: ContextVar[bool] = ContextVar("litellm_otel_in_traced_call", default=False)

# Traceloop's instrumentations skip their LLM spans when this context key is set.
TRACELOOP_SUPPRESS_KEY = "suppress_language_model_instrumentation"

Invocation = InferenceInvocation | EmbeddingInvocation


class ArgumentBinder:
    """Maps positional arguments to LiteLLM's parameter names, computed once per function."""

    __slots__ = ("names",)

    def __init__(self, function: Callable[..., Any]) -> None:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            parameters = ()  # type: ignore[assignment]
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


class Tracer:
    """Everything the wrappers and the callback path need, built once per ``instrument()``."""

    def __init__(
        self,
        handler: TelemetryHandler,
        options: Options,
        hooks: Hooks,
        *,
        explicit_providers: bool = True,
    ) -> None:
        self.handler = handler
        self.options = options
        self.hooks = hooks
        self.providers = ProviderResolver()
        self._capture = options.capture_content
        # False after uninstrument(): references to our wrappers that outlive it (captured by
        # a Router, a partial, a callback) pass calls straight through.
        self.active = True
        # No provider given to instrument(): while the global ones are still the API's
        # placeholders (no SDK configured yet), every span and metric would be dropped, so the
        # wrappers skip all work. Checked per call: an SDK may be configured later.
        self._globals_only = not explicit_providers

    def idle(self) -> bool:
        """True while nothing we would emit can be recorded (no SDK configured)."""
        if not self._globals_only:
            return False
        if (
            isinstance(get_tracer_provider(), ProxyTracerProvider)
            and type(get_meter_provider()).__name__ == "_ProxyMeterProvider"
            and type(get_logger_provider()).__name__ == "ProxyLoggerProvider"
        ):
            return True
        # A global provider can be set once only, so once one is real it stays real.
        self._globals_only = False
        return False

    def capture_content(self, invocation: Invocation) -> bool:
        """Content work only when it is asked for and the span will be exported."""
        return self._capture and invocation.span.is_recording()

    def target(self, params: Mapping[str, Any]) -> ResolvedTarget:
        return self.providers.resolve(
            params.get("model"),
            params.get("custom_llm_provider"),
            params.get("api_base") or params.get("base_url"),
        )

    def start(
        self, surface: Surface, params: Mapping[str, Any], context: Context | None = None
    ) -> Invocation:
        """Start the span (not made current: the caller decides) and record the request."""
        target = self.target(params)
        invocation: Invocation
        if surface.embedding:
            invocation = self.handler.embedding(
                target.provider_name,
                request_model=target.request_model,
                server_address=target.server_address,
                server_port=target.server_port,
                context=context,
                _attach_to_context=False,
            )
        else:
            invocation = self.handler.inference(
                target.provider_name,
                request_model=target.request_model,
                server_address=target.server_address,
                server_port=target.server_port,
                operation_name=surface.operation_name,
                context=context,
                _attach_to_context=False,
            )
        try:
            extra = invocation.attributes
            if target.litellm_provider is not None:
                extra[attrs.LITELLM_PROVIDER] = target.litellm_provider
            raw_model = params.get("model")
            if isinstance(raw_model, str) and raw_model != target.request_model:
                extra[attrs.LITELLM_REQUEST_MODEL] = raw_model
            capture = self.capture_content(invocation)
            surface.apply_request(invocation, params, capture)
            if capture:
                self.hooks.filter_inputs(invocation)
        except Exception:
            report_failure("reading the request arguments")
        self.hooks.on_request(invocation.span, params)
        _router.attempt_started(invocation, params, target)
        return invocation

    def call_context(self, invocation: Invocation) -> Context:
        """The context made current while LiteLLM runs (and around each stream read)."""
        context = invocation.context
        if self.options.suppress_nested_llm_spans:
            return set_value(TRACELOOP_SUPPRESS_KEY, True, context)
        # Let util-genai-based SDK instrumentations below us emit spans of their own (one
        # copy of the context for both keys: what ``set_value`` twice would build).
        return Context(
            {**context, CLIENT_INFERENCE_CONTEXT_KEY: None, CLIENT_EMBEDDING_CONTEXT_KEY: None}
        )

    def finish(
        self,
        surface: Surface,
        invocation: Invocation,
        result: Any,
        context: Context,
        *,
        is_async: bool,
        streamed: bool,
    ) -> Any:
        """Record the result and end the span, or hand a stream to a proxy. Never raises."""
        try:
            if streamed and surface.new_stream_state is not None and _is_stream(result):
                state = surface.new_stream_state(self.capture_content(invocation))
                proxy_type = AsyncStream if is_async else SyncStream
                return proxy_type(result, invocation, state, context, self)
            surface.apply_response(invocation, result, self.capture_content(invocation))
        except Exception:
            report_failure("reading the response")
        self.stop(invocation, result)
        return result

    def stop(self, invocation: Invocation, response: Any = None) -> None:
        """End a successful call: filter its output, run the response hook, end the span."""
        if self._capture and invocation.span.is_recording():
            self.hooks.filter_outputs(invocation)
        if response is not None:
            self.hooks.on_response(invocation.span, response)
        try:
            invocation.stop()
        except Exception:
            report_failure("ending the span")
        _router.attempt_finished(invocation, None)

    @staticmethod
    def fail(invocation: Invocation, exception: BaseException) -> None:
        try:
            status = getattr(exception, "status_code", None)
            if isinstance(status, int) and not isinstance(status, bool):
                invocation.attributes[attrs.HTTP_RESPONSE_STATUS_CODE] = status
            record_exception(invocation, exception)
            invocation.fail(error_of(exception))
        except Exception:
            report_failure("recording an error")
        _router.attempt_finished(invocation, exception)

    def prepare_kwargs(self, params: Mapping[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Ask for the usage chunk when the caller opted in and left ``stream_options`` alone."""
        if (
            self.options.request_stream_usage
            and params.get("stream") is True
            and params.get("stream_options") is None
        ):
            return {**kwargs, "stream_options": {"include_usage": True}}
        return kwargs


def _is_stream(result: Any) -> bool:
    """LiteLLM's stream objects are iterators; its responses (pydantic models) are not."""
    return hasattr(result, "__next__") or hasattr(result, "__anext__")


def make_wrapper(
    tracer: Tracer, surface: Surface, is_async: bool, binder: ArgumentBinder
) -> Callable[..., Any]:
    """A ``wrapt`` wrapper for one LiteLLM function (sync or async)."""

    def begin(
        args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Invocation | None, Context | None, dict[str, Any], bool]:
        try:
            params = binder.bind(args, kwargs)
            kwargs = tracer.prepare_kwargs(params, kwargs)
            invocation = tracer.start(surface, params)
            return invocation, tracer.call_context(invocation), kwargs, params.get("stream") is True
        except Exception:
            report_failure("starting the span")
            return None, None, kwargs, False

    if is_async:

        async def async_wrapper(
            wrapped: Callable[..., Any],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            if (
                not tracer.active
                or IN_TRACED_CALL.get()
                or not is_instrumentation_enabled()
                or tracer.idle()
            ):
                return await wrapped(*args, **kwargs)
            invocation, context, kwargs, streamed = begin(args, kwargs)
            if invocation is None or context is None:
                return await wrapped(*args, **kwargs)
            token = attach(context)
            guard = IN_TRACED_CALL.set(True)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exception:
                IN_TRACED_CALL.reset(guard)
                detach(token)
                tracer.fail(invocation, exception)
                raise
            IN_TRACED_CALL.reset(guard)
            detach(token)
            return tracer.finish(
                surface, invocation, result, context, is_async=True, streamed=streamed
            )

        return async_wrapper

    def sync_wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if (
            not tracer.active
            or IN_TRACED_CALL.get()
            or not is_instrumentation_enabled()
            or tracer.idle()
        ):
            return wrapped(*args, **kwargs)
        invocation, context, kwargs, streamed = begin(args, kwargs)
        if invocation is None or context is None:
            return wrapped(*args, **kwargs)
        token = attach(context)
        guard = IN_TRACED_CALL.set(True)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exception:
            IN_TRACED_CALL.reset(guard)
            detach(token)
            tracer.fail(invocation, exception)
            raise
        IN_TRACED_CALL.reset(guard)
        detach(token)
        return tracer.finish(
            surface, invocation, result, context, is_async=False, streamed=streamed
        )

    return sync_wrapper
