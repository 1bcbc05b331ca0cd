"""The ``config.yaml`` way in: ``callbacks: ["litellm_otel.proxy.proxy_handler_instance"]``.

Without ``opentelemetry-instrument``, the Proxy's config names our callback object. Resolving
that name (LiteLLM's ``get_instance_fn`` imports the module and reads the attribute, in each
worker, at startup) runs :func:`setup_from_config`: the OpenTelemetry SDK from the ``OTEL_*``
environment as the launcher would set it up, LiteLLM instrumented (which, inside the Proxy,
adds the identity hook and registers the refusal callback), HTTP server spans for the Proxy's
FastAPI app, and the callback object LiteLLM then registers itself.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from opentelemetry import trace

from litellm_otel._failsafe import report_failure
from litellm_otel.instrumentor import LiteLLMInstrumentor
from litellm_otel.proxy import integration
from litellm_otel.proxy.refusals import ProxyCallback

_logger = logging.getLogger(__name__)


def _disabled(name: str) -> bool:
    disabled = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return name in {item.strip() for item in disabled.split(",")}


def _sdk_configured() -> bool:
    """True once something (the launcher, the app, LiteLLM's own OTel logger) set a provider."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def _configure_sdk() -> None:
    """What ``opentelemetry-instrument`` does at startup: the SDK from ``OTEL_*``, instrumentors.

    ``initialize()`` is the launcher's own entry point (its ``sitecustomize`` calls it); it
    needs ``opentelemetry-distro`` for the environment-driven SDK setup, and it loads every
    installed instrumentor, ours included, honouring ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``.
    """
    from opentelemetry.instrumentation.auto_instrumentation import initialize

    initialize()


def _instrument_server(app: Any) -> None:
    """HTTP server spans for the proxy's FastAPI app, so a client's ``traceparent`` continues.

    The config is loaded in the app's lifespan, after Starlette built the middleware stack,
    so ``instrument_app`` (which hooks ``build_middleware_stack``) needs the stack rebuilt;
    the rebuilt stack has the same middleware, with the OpenTelemetry one outermost, exactly
    as under the launcher. Skipped when the app is already instrumented (launcher, LiteLLM's
    own ``LITELLM_OTEL_V2``) or the FastAPI instrumentation is absent or disabled.
    """
    if getattr(app, "_is_instrumented_by_opentelemetry", False) or _disabled("fastapi"):
        return
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError:
        _logger.info(
            "litellm-otel: opentelemetry-instrumentation-fastapi is not installed; the proxy "
            "gets no HTTP server spans and ignores incoming traceparent headers"
        )
        return
    FastAPIInstrumentor.instrument_app(app)
    if getattr(app, "middleware_stack", None) is not None:
        app.middleware_stack = app.build_middleware_stack()


def setup_from_config() -> ProxyCallback:
    """Everything the config path needs, once per process; returns the callback object."""
    try:
        if not _sdk_configured():
            _configure_sdk()
    except Exception:
        report_failure("configuring the OpenTelemetry SDK from the environment")
    instrumentor = LiteLLMInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry and not _disabled("litellm"):
        instrumentor.instrument()
    server = sys.modules.get("litellm.proxy.proxy_server")
    app = getattr(server, "app", None)
    if app is not None:
        try:
            _instrument_server(app)
        except Exception:
            report_failure("adding HTTP server spans to the proxy app")
    return integration.callback()
