"""OpenTelemetry instrumentation for LiteLLM.

``LiteLLMInstrumentor().instrument()`` wraps LiteLLM's public entry points so every call
produces one GenAI-semantic-convention span plus duration and token metrics, emitted
through ``opentelemetry-util-genai``::

    from litellm_otel import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument(tracer_provider=..., meter_provider=...)

Options (keyword arguments of ``instrument()``; environment variables in brackets):

* ``tracer_provider``, ``meter_provider``, ``logger_provider``: default to the globals.
* ``capture_content`` [``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``]: ``False``
  (default), ``True`` / ``"SPAN_ONLY"``, ``"EVENT_ONLY"``, ``"SPAN_AND_EVENT"``.
* ``request_stream_usage`` [``OTEL_INSTRUMENTATION_LITELLM_REQUEST_STREAM_USAGE``]: add
  ``stream_options={"include_usage": True}`` to streamed chat calls that set no
  ``stream_options``, so streams report token usage.
* ``suppress_nested_llm_spans`` [``OTEL_INSTRUMENTATION_LITELLM_SUPPRESS_NESTED_LLM_SPANS``]:
  ``True`` (default) keeps provider-SDK instrumentations (OpenAI SDK & co.) from adding a
  second GenAI span under ours; HTTP client spans are kept either way.
* ``early_bound_callback`` [``OTEL_INSTRUMENTATION_LITELLM_EARLY_BOUND_CALLBACK``]: ``False``
  (default). ``True`` also registers a LiteLLM callback that traces calls through references
  to LiteLLM functions kept outside module globals before ``instrument()`` (module globals
  such as ``from litellm import completion`` are always rebound to our wrappers). It costs
  LiteLLM's own logging work on every call, about 0.1 ms.
* ``request_hook(span, params)``, ``response_hook(span, response)``: called once per call
  while the span is open; ``content_filter(text) -> str | None`` redacts or drops captured
  message text before it is recorded (see :mod:`litellm_otel._hooks`).

What is wrapped: every function in :data:`litellm_otel._operations.SURFACES` (chat, text
completion, Responses, embeddings, images, audio, rerank, moderation, each sync and async),
module globals that were bound to them before ``instrument()`` (:mod:`litellm_otel._rebind`),
and the ``litellm.Router`` methods in :data:`litellm_otel._router.ROUTER_METHODS`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.util.genai.handler import TelemetryHandler

from litellm_otel import _callbacks, _rebind
from litellm_otel._config import Options
from litellm_otel._failsafe import report_failure
from litellm_otel._hooks import Hooks
from litellm_otel._operations import SURFACES
from litellm_otel._router import RouterInstrumentation
from litellm_otel._wrappers import ArgumentBinder, Tracer, make_wrapper
from litellm_otel.package import _instruments
from litellm_otel.version import __version__

__all__ = ["LiteLLMInstrumentor", "__version__"]

_SCOPE = "litellm_otel"
_FORWARDS_TO = {"completion_with_retries": "completion", "acompletion_with_retries": "completion"}


class LiteLLMInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments LiteLLM's public call functions with GenAI spans and metrics."""

    _callback: Any = None
    _wrapped: tuple[str, ...] = ()
    _rebound: _rebind.Rebound = []
    _router: RouterInstrumentation | None = None
    _tracer: Tracer | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        import litellm

        options = Options.from_kwargs(kwargs)
        tracer = Tracer(
            _make_handler(options, kwargs),
            options,
            Hooks.from_kwargs(kwargs),
            explicit_providers=any(
                kwargs.get(name) is not None
                for name in ("tracer_provider", "meter_provider", "logger_provider")
            ),
        )
        self._tracer = tracer
        wrapped: list[str] = []
        replacements: dict[int, tuple[Any, Any]] = {}
        for name, (surface, is_async) in SURFACES.items():
            original = getattr(litellm, name, None)
            if original is None:  # not in this LiteLLM release
                continue
            binder = ArgumentBinder(original)
            if not binder.names:
                # Several entry points are ``(*args, **kwargs)`` forwarding to another one,
                # whose signature says what positional arguments mean.
                twin = _FORWARDS_TO.get(name, name[1:] if is_async else name)
                binder = ArgumentBinder(getattr(litellm, twin, original))
            wrapper = make_wrapper(tracer, surface, is_async, binder)
            wrapt.wrap_function_wrapper(litellm, name, wrapper)
            wrapped.append(name)
            replacements[id(original)] = (original, getattr(litellm, name))
        self._wrapped = tuple(wrapped)
        self._rebound = _rebind.rebind(replacements)

        router = getattr(litellm, "Router", None)
        if router is not None:
            self._router = RouterInstrumentation(
                trace.get_tracer(_SCOPE, __version__, kwargs.get("tracer_provider"))
            )
            self._router.install(router)
        if options.early_bound_callback:
            try:
                self._callback = _callbacks.make_callback(tracer)
                _callbacks.register(litellm, self._callback)
            except Exception:
                report_failure("registering the LiteLLM callback for early-bound calls")
                self._callback = None
        if _running_in_proxy():
            # Only there: any entry in litellm.callbacks makes LiteLLM run its logging
            # machinery on every call (measured: hundreds of µs of CPU per call).
            try:
                from litellm_otel import proxy

                proxy.attach(litellm, kwargs.get("tracer_provider"))
            except Exception:
                report_failure("attaching the LiteLLM Proxy integration")

    def _uninstrument(self, **kwargs: Any) -> None:
        import litellm

        if self._tracer is not None:
            self._tracer.active = False
            self._tracer = None
        _rebind.restore(self._rebound)
        self._rebound = []
        for name in self._wrapped:
            unwrap(litellm, name)
        self._wrapped = ()
        router = getattr(litellm, "Router", None)
        if router is not None and self._router is not None:
            self._router.remove(router)
            self._router = None
        if self._callback is not None:
            _callbacks.unregister(litellm, self._callback)
            self._callback = None
        try:
            from litellm_otel import proxy

            proxy.detach(litellm)
        except Exception:
            report_failure("detaching the LiteLLM Proxy integration")


def _running_in_proxy() -> bool:
    """True in the LiteLLM Proxy: its server is imported, or this is its CLI starting up
    (``opentelemetry-instrument litellm -c config.yaml`` instruments before the import)."""
    if "litellm.proxy.proxy_server" in sys.modules:
        return True
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    return program in ("litellm", "litellm-proxy")


def _make_handler(options: Options, kwargs: dict[str, Any]) -> TelemetryHandler:
    def build(meter_provider: Any) -> TelemetryHandler:
        with _quiet_capture_mode_warning():
            return TelemetryHandler(
                tracer_provider=kwargs.get("tracer_provider"),
                meter_provider=meter_provider,
                logger_provider=kwargs.get("logger_provider"),
                instrumentation_scope_name=_SCOPE,
                instrumentation_scope_version=__version__,
            )

    try:
        handler = build(kwargs.get("meter_provider"))
    except Exception:
        # A meter that fails while creating its histograms must not stop the traces.
        report_failure("creating the GenAI metrics; spans are still recorded")
        handler = build(NoOpMeterProvider())
    # util-genai reads the capture mode only from the environment and knows only the mode
    # names; ``instrument(capture_content=...)`` and the value ``true`` are ours, so the
    # parsed mode is set on the handler (private fields, covered by tests/test_config.py).
    handler._content_capturing_mode = options.capture_mode
    handler._capture_content = options.capture_content
    return handler


class _DropInvalidModeWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "is not a valid option" not in record.getMessage()


@contextmanager
def _quiet_capture_mode_warning() -> Iterator[None]:
    """util-genai warns that ``true`` is invalid; we accept it, so the warning would mislead."""
    logger = logging.getLogger("opentelemetry.util.genai.utils")
    quiet = _DropInvalidModeWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
