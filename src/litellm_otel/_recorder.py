"""The per-call recorder: what happens to one LiteLLM call's telemetry, start to end.

Built once per ``instrument()`` with everything a call needs (the util-genai handler, the
options, the hooks, the content policy, the provider resolver, whoever observes attempts), and
shared by the wrappers, the stream proxies and the early-bound callback. Only it and the
stream proxies touch invocations' lifecycles; the surfaces' mappings only fill fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from opentelemetry.context import Context, get_current, set_value
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import GEN_AI_OPERATION_NAME
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.invocation import (
    CLIENT_EMBEDDING_CONTEXT_KEY,
    CLIENT_INFERENCE_CONTEXT_KEY,
    CLIENT_RETRIEVAL_CONTEXT_KEY,
    Error,
)

from litellm_otel import _attributes as attrs
from litellm_otel import _stream_usage
from litellm_otel._compat import forget_unpublished_context_data, no_global_provider_set
from litellm_otel._config import Options
from litellm_otel._content import ContentPolicy
from litellm_otel._errors import error_of, exception_texts, record_failure
from litellm_otel._failsafe import report_failure
from litellm_otel._hooks import Hooks
from litellm_otel._invocations import Invocation, start_invocation
from litellm_otel._latest import LatestConventions
from litellm_otel._metrics import CallMetrics
from litellm_otel._operations import CHAT, RoutingReader, Surface
from litellm_otel._providers import ProviderResolver, ResolvedTarget
from litellm_otel._redaction import Redaction, redacts_content
from litellm_otel._streams import proxy_stream

__all__ = ["AttemptObserver", "CallRecorder", "Invocation", "MetricIdentity"]

# Traceloop's instrumentations skip their LLM spans when this context key is set.
TRACELOOP_SUPPRESS_KEY = "suppress_language_model_instrumentation"


class AttemptObserver(Protocol):
    """Told about every call's start and end (the Router keeps score of its attempts)."""

    def attempt_started(
        self, invocation: Invocation, params: Mapping[str, Any], target: ResolvedTarget
    ) -> None: ...

    def attempt_finished(self, invocation: Invocation, error: BaseException | None) -> None: ...


#: The Proxy's identity of a call as metric attributes (bounded), from the call's arguments.
MetricIdentity = Callable[[Mapping[str, Any]], Mapping[str, str]]


class CallRecorder:
    """Everything the wrappers, the stream proxies and the callback path need for one call."""

    def __init__(
        self,
        handler: TelemetryHandler,
        options: Options,
        hooks: Hooks,
        content: ContentPolicy,
        *,
        observer: AttemptObserver | None = None,
        explicit_providers: bool = True,
        metrics: CallMetrics | None = None,
        latest: LatestConventions | None = None,
        metric_identity: MetricIdentity | None = None,
    ) -> None:
        self.handler = handler
        self.options = options
        self.hooks = hooks
        self.content = content
        self.observer = observer
        self.providers = ProviderResolver()
        self.metrics = metrics
        # Set in the latest conventions' mode only (docs/conventions.md).
        self.latest = latest
        self.metric_identity = metric_identity
        self._capture = options.capture_content
        self._redact_error_content = redacts_content(options)
        # False after uninstrument(): references to our wrappers that outlive it (captured by
        # a Router, a partial, a callback) pass calls straight through.
        self.active = True
        # No provider given to instrument(): while the global ones are still the API's
        # placeholders (no SDK configured yet), every span and metric would be dropped, so the
        # wrappers skip all work. Checked per call: an SDK may be configured later.
        self._globals_only = not explicit_providers
        # Stream usage is asked for only where the caller cannot tell (see _stream_usage).
        self._ask_stream_usage = False
        if options.request_stream_usage:
            self._ask_stream_usage = _stream_usage.litellm_keeps_unrequested_usage()
            if not self._ask_stream_usage:
                report_failure(
                    "applying request_stream_usage: this LiteLLM release would hand the usage "
                    "chunk to the caller, so no stream usage is asked for"
                )

    def idle(self) -> bool:
        """True while nothing we would emit can be recorded (no SDK configured)."""
        if not self._globals_only:
            return False
        if no_global_provider_set():
            return True
        # A global provider can be set once only, so once one is real it stays real.
        self._globals_only = False
        return False

    def capture_content(self, invocation: Invocation) -> bool:
        """Content work only when it is asked for and the span will be exported."""
        return self._capture and invocation.span.is_recording()

    def target(
        self,
        params: Mapping[str, Any],
        operation: str | None = None,
        surface_routing: RoutingReader | None = None,
    ) -> ResolvedTarget:
        """Where the call goes: its arguments, else LiteLLM's settings and environment."""
        if surface_routing is not None:
            params = surface_routing(params)
        return self.providers.resolve(
            params.get("model"),
            params.get("custom_llm_provider"),
            params.get("api_base") or params.get("base_url"),
            params,
            operation,
        )

    def start(
        self, surface: Surface, params: Mapping[str, Any], context: Context | None = None
    ) -> Invocation:
        """Start the span (not left current: the caller decides) and record the request."""
        target = self.target(params, surface.operation_name, surface.routing)
        if answered_locally(params, surface.embedding):
            target = dataclasses.replace(target, server_address=None, server_port=None)
        invocation = start_invocation(self.handler, surface, target, params, context)
        try:
            # Where util-genai takes metric attributes from; our own counters read them back.
            metric_attributes = invocation.metric_attributes
            metric_attributes[GEN_AI_OPERATION_NAME] = surface.operation_name
            if self.metric_identity is not None:
                metric_attributes.update(self.metric_identity(params))
            extra = invocation.attributes
            if target.litellm_provider is not None:
                extra[attrs.LITELLM_PROVIDER] = target.litellm_provider
            raw_model = params.get("model")
            if isinstance(raw_model, str) and raw_model != target.request_model:
                extra[attrs.LITELLM_REQUEST_MODEL] = raw_model
            if not surface.has_choices and self.latest is not None:
                self.latest.expect_no_choices(invocation)
            capture = self.capture_content(invocation)
            surface.apply_request(invocation, params, capture)
            if capture:
                self.content.filter_inputs(invocation)
        except Exception:
            report_failure("reading the request arguments")
        self.hooks.on_request(invocation.span, params)
        if self.observer is not None:
            try:
                self.observer.attempt_started(invocation, params, target)
            except Exception:
                report_failure("recording a router attempt")
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

    def child_context(self) -> Context:
        """The current context without util-genai's "call in progress" markers: where a
        composite call's inner call starts its own span (util-genai would otherwise fold an
        inner call of the same kind into the outer one, whatever the suppression option)."""
        return Context(
            {
                **get_current(),
                CLIENT_INFERENCE_CONTEXT_KEY: None,
                CLIENT_EMBEDDING_CONTEXT_KEY: None,
                CLIENT_RETRIEVAL_CONTEXT_KEY: None,
            }
        )

    def finish(
        self,
        surface: Surface,
        invocation: Invocation,
        result: Any,
        context: Context,
        *,
        streamed: bool,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Record the result and end the span, or hand back a stream proxy that will; returns
        what the caller gets. Never raises. ``params`` (the call's arguments) are kept by a
        stream proxy, for the error text of a stream that fails."""
        if streamed and surface.new_stream_state is not None and _is_stream(result):
            try:
                usage_source = None
                if params is not None and self.asks_stream_usage(surface, params):
                    if _stream_usage.answer_as_unasked(result):
                        usage_source = result
                    else:
                        report_failure("hiding the stream usage asked for from the caller")
                state = surface.new_stream_state(self.capture_content(invocation))
                return proxy_stream(
                    result,
                    invocation,
                    state,
                    context,
                    self,
                    params=params,
                    usage_source=usage_source,
                )
            except Exception:
                report_failure("proxying a stream")
                self.stop(invocation)
                return result
        try:
            surface.apply_response(invocation, result, self.capture_content(invocation))
        except Exception:
            report_failure("reading the response")
        error_type = None
        if surface.reply_error is not None:
            try:
                error_type = surface.reply_error(result)
            except Exception:
                report_failure("reading the reply's error")
        if error_type is not None:
            self.fail_reply(invocation, result, error_type)
        else:
            self.stop(invocation, result)
        return result

    def fail_reply(self, invocation: Invocation, response: Any, error_type: str) -> None:
        """End a call whose reply says it failed (nothing was raised): status ERROR with
        ``error_type`` and no description (the reply's text may be content). Never raises."""
        if self._capture and invocation.span.is_recording():
            self.content.filter_outputs(invocation)
        self.hooks.on_response(invocation.span, response)
        try:
            invocation.fail(Error(message=None, type=error_type))
        except Exception:
            report_failure("recording an error")
        self._record_metrics(invocation)
        if self.observer is not None:
            self.observer.attempt_finished(invocation, None)

    def stop(
        self,
        invocation: Invocation,
        response: Any = None,
        *,
        finish_reasons: Mapping[int, str] | None = None,
    ) -> None:
        """End a successful call: filter its output, run the response hook, end the span.
        ``finish_reasons`` are a stream's, by choice index."""
        if self.latest is not None:
            try:
                self.latest.complete_finish_reasons(invocation, finish_reasons)
            except Exception:
                report_failure("completing the finish reasons")
        if self._capture and invocation.span.is_recording():
            self.content.filter_outputs(invocation)
        if response is not None:
            self.hooks.on_response(invocation.span, response)
        self._forget_unpublished(invocation)
        try:
            invocation.stop()
        except Exception:
            report_failure("ending the span")
        self._record_metrics(invocation)
        if self.observer is not None:
            self.observer.attempt_finished(invocation, None)

    def fail(
        self,
        invocation: Invocation,
        exception: BaseException,
        params: Mapping[str, Any] | None = None,
        *,
        finish_reasons: Mapping[int, str] | None = None,
    ) -> None:
        """End a failed call with the error recorded, its texts scrubbed of what ``params``
        (the call's arguments, read only now) and the environment say is secret. Never raises.
        ``finish_reasons`` are a stream's, by choice index.
        """
        if self._capture and invocation.span.is_recording():
            # what a stream said before it broke is an answer too: filtered and bounded
            self.content.filter_outputs(invocation)
        latest = self.latest
        texts: dict[str, str] | None = None
        if latest is not None:
            try:
                latest.complete_finish_reasons(invocation, finish_reasons)
            except Exception:
                report_failure("completing the finish reasons")
        try:
            recording = invocation.span.is_recording()
            # The latest conventions' exception event is a log record: it needs the texts
            # whether or not the span is sampled; they are scrubbed once for both.
            redaction = self.redaction(params) if recording or latest is not None else None
            if latest is not None:
                texts = exception_texts(exception, redaction)
            error = record_failure(invocation, exception, redaction if recording else None, texts)
        except Exception:
            report_failure("recording an error")
            error = error_of(exception, type(exception).__qualname__)
        self._forget_unpublished(invocation)
        try:
            invocation.fail(error)
        except Exception:
            report_failure("recording an error")
        if latest is not None and texts is not None:
            try:
                latest.exception_event(invocation, texts)
            except Exception:
                report_failure("emitting the exception event")
        self._record_metrics(invocation)
        if self.observer is not None:
            self.observer.attempt_finished(invocation, exception)

    def redaction(self, *sources: Mapping[str, Any] | None) -> Redaction:
        return Redaction(*sources, redact_content=self._redact_error_content)

    @staticmethod
    def _forget_unpublished(invocation: Invocation) -> None:
        try:
            forget_unpublished_context_data(invocation)
        except Exception:
            report_failure("ending the span")

    def _record_metrics(self, invocation: Invocation) -> None:
        if self.metrics is not None:
            try:
                self.metrics.record(invocation)
            except Exception:
                report_failure("recording the usage and cost metrics")

    def asks_stream_usage(self, surface: Surface, params: Mapping[str, Any]) -> bool:
        """Whether the call with these arguments asks the provider for its stream's usage: only
        with ``request_stream_usage``, for a chat stream whose caller left ``stream_options``
        alone, where LiteLLM lets the caller's stream stay as unasked (see _stream_usage)."""
        return self._ask_stream_usage and surface is CHAT and _stream_usage.should_ask(params)

    def prepare_kwargs(
        self, surface: Surface, params: Mapping[str, Any], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """The arguments to call LiteLLM with (:meth:`asks_stream_usage`)."""
        if self.asks_stream_usage(surface, params):
            return _stream_usage.asking(kwargs)
        return kwargs


def _is_stream(result: Any) -> bool:
    """LiteLLM's stream objects are iterators; its responses (pydantic models) are not."""
    return hasattr(result, "__next__") or hasattr(result, "__anext__")


def answered_locally(params: Mapping[str, Any], embedding: bool) -> bool:
    """Whether LiteLLM answers from a mock without sending a request: then no server is named,
    because ``server.address`` says where the request went. The same tests LiteLLM makes."""
    if embedding:
        return params.get("mock_response") is not None
    return bool(
        params.get("mock_response") or params.get("mock_tool_calls") or params.get("mock_timeout")
    )
