"""The wrappers around LiteLLM's public functions and the one-span-per-call guard.

Data path of one call: bind the arguments by LiteLLM's signature → resolve provider and
server once per model (cached) → start the util-genai invocation (its span is current
while LiteLLM runs, so HTTP client spans nest under it) → call LiteLLM → map the response,
or hand a stream to a proxy that ends the span later → util-genai emits span and metrics.

LiteLLM calls its own public functions internally (``acompletion`` runs ``completion`` in
an executor with the context copied; dispatchers sit in front of ``litellm.main``). A
context variable marks "inside a call we already trace", so the inner call passes
straight through and the caller sees exactly one span, whatever path LiteLLM takes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.invocation import EmbeddingInvocation, InferenceInvocation

from litellm_otel import _attributes as attrs
from litellm_otel._config import Options
from litellm_otel._failsafe import report_failure
from litellm_otel._operations import chat, embeddings
from litellm_otel._operations.common import error_of, record_exception
from litellm_otel._providers import ProviderResolver, ResolvedTarget
from litellm_otel._streams import AsyncChatStream, SyncChatStream

# True while a call we trace is running in this context (thread or task).
_IN_TRACED_CALL: ContextVar[bool] = ContextVar("litellm_otel_in_traced_call", default=False)

Invocation = InferenceInvocation | EmbeddingInvocation


class ArgumentBinder:
    """Maps positional arguments to LiteLLM's parameter names, computed once per function."""

    __slots__ = ("_names",)

    def __init__(self, function: Callable[..., Any]) -> None:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            parameters = ()  # type: ignore[assignment]
        self._names = tuple(
            p.name
            for p in parameters
            if p.kind
            in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
        if not args:
            return kwargs
        params = dict(zip(self._names, args, strict=False))
        params.update(kwargs)
        return params


@dataclass(frozen=True)
class Operation:
    """How one LiteLLM function maps onto an invocation."""

    kind: str  # "chat" or "embeddings"
    is_async: bool


class Tracer:
    """Everything a wrapper needs, built once per ``instrument()``."""

    def __init__(self, handler: TelemetryHandler, options: Options) -> None:
        self.handler = handler
        self.options = options
        self.providers = ProviderResolver()
        self.stream_types: tuple[type, ...] = _litellm_stream_types()

    def capture_content(self, invocation: Invocation) -> bool:
        """Content work only when it is asked for and the span will be exported."""
        return self.options.capture_content and invocation.span.is_recording()

    def target(self, params: Mapping[str, Any]) -> ResolvedTarget:
        return self.providers.resolve(
            params.get("model"),
            params.get("custom_llm_provider"),
            params.get("api_base") or params.get("base_url"),
        )

    def start(self, operation: Operation, params: Mapping[str, Any]) -> Invocation:
        target = self.target(params)
        invocation: Invocation
        if operation.kind == "embeddings":
            invocation = self.handler.embedding(
                target.provider_name,
                request_model=target.request_model,
                server_address=target.server_address,
                server_port=target.server_port,
            )
        else:
            invocation = self.handler.inference(
                target.provider_name,
                request_model=target.request_model,
                server_address=target.server_address,
                server_port=target.server_port,
            )
        try:
            extra = invocation.attributes
            if target.litellm_provider is not None:
                extra[attrs.LITELLM_PROVIDER] = target.litellm_provider
            raw_model = params.get("model")
            if isinstance(raw_model, str) and raw_model != target.request_model:
                extra[attrs.LITELLM_REQUEST_MODEL] = raw_model
            if isinstance(invocation, EmbeddingInvocation):
                embeddings.apply_request(invocation, params)
            else:
                chat.apply_request(invocation, params, self.capture_content(invocation))
        except Exception:
            report_failure("reading the request arguments")
        return invocation

    def finish(self, operation: Operation, invocation: Invocation, result: Any) -> Any:
        """Record the result and end the span, or hand a stream to a proxy. Never raises."""
        try:
            if isinstance(invocation, InferenceInvocation) and isinstance(
                result, self.stream_types
            ):
                proxy_type = AsyncChatStream if operation.is_async else SyncChatStream
                proxy = proxy_type(result, invocation, self.capture_content(invocation))
                # Give the caller its own context back; the proxy re-activates our span
                # around each read, so nothing stays attached across a yield.
                invocation.suspend()
                return proxy
            if isinstance(invocation, EmbeddingInvocation):
                embeddings.apply_response(invocation, result)
            else:
                chat.apply_response(invocation, result, self.capture_content(invocation))
        except Exception:
            report_failure("reading the response")
        try:
            invocation.stop()
        except Exception:
            report_failure("ending the span")
        return result

    def fail(self, invocation: Invocation, exception: BaseException) -> None:
        try:
            status = getattr(exception, "status_code", None)
            if isinstance(status, int) and not isinstance(status, bool):
                invocation.attributes[attrs.HTTP_RESPONSE_STATUS_CODE] = status
            record_exception(invocation, exception)
            invocation.fail(error_of(exception))
        except Exception:
            report_failure("recording an error")

    def prepare_kwargs(self, params: Mapping[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Ask for the usage chunk when the caller opted in and left ``stream_options`` alone."""
        if (
            self.options.request_stream_usage
            and params.get("stream") is True
            and params.get("stream_options") is None
        ):
            return {**kwargs, "stream_options": {"include_usage": True}}
        return kwargs


def _litellm_stream_types() -> tuple[type, ...]:
    try:
        from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
    except ImportError:  # pragma: no cover - layout of very old releases
        from litellm.utils import CustomStreamWrapper  # type: ignore[attr-defined,no-redef]
    return (CustomStreamWrapper,)


def make_wrapper(
    tracer: Tracer, operation: Operation, binder: ArgumentBinder
) -> Callable[..., Any]:
    """A ``wrapt`` wrapper for one LiteLLM function (sync or async)."""

    def begin(
        args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Invocation | None, dict[str, Any]]:
        try:
            params = binder.bind(args, kwargs)
            kwargs = tracer.prepare_kwargs(params, kwargs)
            return tracer.start(operation, params), kwargs
        except Exception:
            report_failure("starting the span")
            return None, kwargs

    if operation.is_async:

        async def async_wrapper(
            wrapped: Callable[..., Any],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            if _IN_TRACED_CALL.get() or not is_instrumentation_enabled():
                return await wrapped(*args, **kwargs)
            invocation, kwargs = begin(args, kwargs)
            if invocation is None:
                return await wrapped(*args, **kwargs)
            token = _IN_TRACED_CALL.set(True)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exception:
                _IN_TRACED_CALL.reset(token)
                tracer.fail(invocation, exception)
                raise
            _IN_TRACED_CALL.reset(token)
            return tracer.finish(operation, invocation, result)

        return async_wrapper

    def sync_wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if _IN_TRACED_CALL.get() or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        invocation, kwargs = begin(args, kwargs)
        if invocation is None:
            return wrapped(*args, **kwargs)
        token = _IN_TRACED_CALL.set(True)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exception:
            _IN_TRACED_CALL.reset(token)
            tracer.fail(invocation, exception)
            raise
        _IN_TRACED_CALL.reset(token)
        return tracer.finish(operation, invocation, result)

    return sync_wrapper
