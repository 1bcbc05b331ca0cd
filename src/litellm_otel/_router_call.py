"""One Router call in progress: its parent span, its attempts, and its stream.

The Router instrumentation (``_router``) starts a :class:`RouterCall` around each Router
method and puts it in the OpenTelemetry context; the call recorder reports every attempt's
start and end to it, so the parent span knows how many attempts, retries and fallbacks there
were and which deployment answered. A streamed Router call hands its stream out behind a
:class:`RouterStream`, which ends the parent when the stream ends however it ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import wrapt
from opentelemetry import trace
from opentelemetry.context import Context, create_key, get_value
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import Status, StatusCode

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
    ROUTER_RETRIES,
    ROUTER_RETRY_EVENT,
    ROUTER_TO_MODEL_GROUP,
)
from litellm_otel._errors import record_exception
from litellm_otel._failsafe import report_failure
from litellm_otel._redaction import Redaction

# What every ``wrapt`` wrapper is an instance of: a base beside ``ObjectProxy``, if wrapt has one.
_WRAPPER_BASE: Final[type] = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)

#: The Router call in progress, a value of the OpenTelemetry context (so a stream's reads,
#: which attach the call's context, see it too).
ROUTER_CALL_KEY: Final = create_key("litellm_otel.router_call")


def current_call(context: Context | None = None) -> RouterCall | None:
    value = get_value(ROUTER_CALL_KEY, context)
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


def _attempt_model_group(params: Mapping[str, Any]) -> str | None:
    """The model group the Router stamped on an attempt's metadata."""
    for key in ("metadata", "litellm_metadata"):
        group = field(params.get(key), "model_group")
        if isinstance(group, str):
            return group
    return None


#: ``Router`` method → (gen_ai operation of its attempts, is the method async).
