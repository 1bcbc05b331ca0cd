"""LiteLLM Proxy: who asked, for which model, and why a request was refused — never the key.

Inside LiteLLM Proxy every model call already gets our GenAI span (the proxy calls
``Router.acompletion`` & co., which call the wrapped ``litellm.acompletion``). What the span
lacks is the proxy's view of the request: which virtual key (by alias), team, user and end
user asked, which model group they asked for. The proxy hands exactly that to every call in
its ``metadata`` argument, so a request hook reads it there and adds ``litellm.proxy.*``
attributes to the span. The proxy's cost and cache hit need nothing of ours: the GenAI span
already records them as ``litellm.response_cost`` and ``litellm.cache_hit``, and recording
them twice would make backends that sum cost count it twice.

A request the proxy refuses (wrong key, budget exceeded, rate limit, a guardrail) never
reaches a provider, so no GenAI span exists for it. LiteLLM reports every failed request to
``CustomLogger.async_post_call_failure_hook`` of its callbacks; for the refusals (the errors
LiteLLM itself classifies as proxy-only: ``HTTPException``, ``ProxyException``, guardrail and
budget errors) ours emits one INTERNAL span ``proxy rejected {operation}`` with ``error.type``,
the HTTP status and ``litellm.proxy.rejection_reason``, a child of the HTTP server span.

What is never read, let alone recorded: the virtual key, the master key, LiteLLM's
``user_api_key`` / ``user_api_key_hash`` (a SHA-256 of the key; it identifies the key and
LiteLLM prints it in rate-limit messages, so it is treated as the key itself), the
``UserAPIKeyAuth`` object, request headers, upstream API keys, and the exception message of a
refusal (LiteLLM's rate-limit message embeds the key hash). Only the allow-listed metadata
fields below are read; everything else in the proxy's metadata is left untouched.

Two ways in (docs/proxy.md):

* ``opentelemetry-instrument litellm -c config.yaml``: the launcher loads our instrumentor,
  whose ``instrument()`` calls :func:`attach` — nothing to add to the config;
* ``litellm_settings: callbacks: ["litellm_otel.proxy.proxy_handler_instance"]`` in the
  proxy's config, without the launcher: resolving that name (LiteLLM's ``get_instance_fn``
  imports the module and reads the attribute, in each worker, at startup) runs
  :func:`setup_from_config`, which sets up the OpenTelemetry SDK from the ``OTEL_*``
  environment as the launcher would, instruments LiteLLM, adds HTTP server spans to the
  proxy's FastAPI app, and returns the callback object LiteLLM registers.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode

from litellm_otel._failsafe import report_failure
from litellm_otel.version import __version__

__all__ = [
    "END_USER_ID",
    "KEY_ALIAS",
    "MODEL_GROUP",
    "REJECTION_REASON",
    "REQUESTED_MODEL",
    "TEAM_ALIAS",
    "TEAM_ID",
    "USER_ID",
    "ProxyCallback",
    "attach",
    "detach",
    "rejection_reason",
    "request_attributes",
    "setup_from_config",
]

_logger = logging.getLogger(__name__)

# -- attribute names (mirrored in docs/proxy.md) ------------------------------------------

#: The virtual key's alias (``key_alias``), the one name of a key that is meant to be shown.
KEY_ALIAS: Final = "litellm.proxy.key_alias"
TEAM_ID: Final = "litellm.proxy.team_id"
TEAM_ALIAS: Final = "litellm.proxy.team_alias"
#: The internal user that owns the key.
USER_ID: Final = "litellm.proxy.user_id"
#: The customer the request is for: the request's ``user`` field (or LiteLLM's end-user
#: header), as LiteLLM resolved it.
END_USER_ID: Final = "litellm.proxy.end_user_id"
#: The ``model_list`` entry (``model_name``) the Router served the call from.
MODEL_GROUP: Final = "litellm.proxy.model_group"
#: The ``model`` field of the client's request, before aliases and fallbacks.
REQUESTED_MODEL: Final = "litellm.proxy.requested_model"
#: Why the proxy refused the request: ``auth``, ``budget``, ``rate_limit``, ``access``,
#: ``guardrail``, ``invalid_request`` or ``other``.
REJECTION_REASON: Final = "litellm.proxy.rejection_reason"

_HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
_SCOPE: Final = "litellm_otel"

#: Proxy metadata field → our attribute. An allow-list: the same metadata carries the key
#: hash (``user_api_key``, ``user_api_key_hash``), the ``UserAPIKeyAuth`` object and the
#: request headers, none of which may be read.
_METADATA_FIELDS: Final = (
    ("user_api_key_alias", KEY_ALIAS),
    ("user_api_key_team_id", TEAM_ID),
    ("user_api_key_team_alias", TEAM_ALIAS),
    ("user_api_key_user_id", USER_ID),
    ("user_api_key_end_user_id", END_USER_ID),
    ("model_group", MODEL_GROUP),
)
#: For refusals (no routing yet): ``UserAPIKeyAuth`` field, the same fact's metadata field,
#: our attribute.
_IDENTITY_FIELDS: Final = (
    ("key_alias", "user_api_key_alias", KEY_ALIAS),
    ("team_id", "user_api_key_team_id", TEAM_ID),
    ("team_alias", "user_api_key_team_alias", TEAM_ALIAS),
    ("user_id", "user_api_key_user_id", USER_ID),
    ("end_user_id", "user_api_key_end_user_id", END_USER_ID),
)
#: Client-controlled strings (``user``, ``model``) are capped so one request cannot put
#: megabytes on a span.
_MAX_VALUE_LENGTH: Final = 256

# Route suffix → the operation named in a refusal span (low cardinality by construction).
_ROUTE_OPERATIONS: Final = (
    ("/chat/completions", "chat"),
    ("/embeddings", "embeddings"),
    ("/completions", "text_completion"),
    ("/responses", "chat"),
    ("/messages", "chat"),
    ("/images/generations", "image_generation"),
    ("/audio/transcriptions", "transcription"),
    ("/audio/speech", "speech"),
    ("/rerank", "rerank"),
    ("/moderations", "moderation"),
)

# -- reading the proxy's request ------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value[:_MAX_VALUE_LENGTH]
    return None


def _metadata(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The proxy's metadata of a call (``litellm_metadata`` on some routes)."""
    for key in ("metadata", "litellm_metadata"):
        metadata = params.get(key)
        if isinstance(metadata, Mapping) and "user_api_key_request_route" in metadata:
            return metadata
    return None


def _requested_model(params: Mapping[str, Any]) -> str | None:
    """The ``model`` of the client's body; the request's headers are never looked at."""
    request = params.get("proxy_server_request")
    body = request.get("body") if isinstance(request, Mapping) else None
    return _text(body.get("model")) if isinstance(body, Mapping) else None


def request_attributes(params: Mapping[str, Any]) -> dict[str, str]:
    """``litellm.proxy.*`` attributes of one proxied LiteLLM call; empty for any other call.

    ``params`` are the call's keyword arguments as our wrappers bound them. A call is a
    proxied one when it carries the proxy's metadata (``user_api_key_request_route`` is set
    for every request the proxy authenticated); absent values are not recorded.
    """
    metadata = _metadata(params)
    if metadata is None:
        return {}
    attributes: dict[str, str] = {}
    for field, name in _METADATA_FIELDS:
        value = _text(metadata.get(field))
        if value is not None:
            attributes[name] = value
    requested = _requested_model(params)
    if requested is not None:
        attributes[REQUESTED_MODEL] = requested
    return attributes


def _request_hook(span: Any, params: Mapping[str, Any]) -> None:
    """Runs as a request hook of the core: span attributes only, never metric attributes.

    Identities (keys, users, end users) are high-cardinality, so they belong on spans; the
    GenAI metrics keep their conventional low-cardinality attributes.
    """
    attributes = request_attributes(params)
    if attributes:
        span.set_attributes(attributes)


# -- refusals ------------------------------------------------------------------------------

_AUTH_TYPES: Final = frozenset(
    {"auth_error", "expired_key", "token_not_found_in_db", "auth_provider_unavailable"}
)


def _status_code(exception: BaseException) -> int | None:
    for name in ("status_code", "code"):
        value = getattr(exception, name, None)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def _class_names(exception: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exception).__mro__}


def is_refusal(exception: BaseException) -> bool:
    """True for errors the proxy raises itself, before (or instead of) any provider call.

    The same classification LiteLLM uses to log "proxy-only" errors
    (``ProxyLogging._is_proxy_only_llm_api_error``: ``HTTPException``, ``ProxyException``,
    ``GuardrailRaisedException``), plus ``BudgetExceededError``, which the auth step raises
    as is. Provider errors (``litellm.RateLimitError`` from an upstream 429, …) are not
    refusals: their GenAI span already carries the error. Matched by class name so that a
    LiteLLM release moving these classes does not break the check.
    """
    names = _class_names(exception)
    return bool(
        names
        & {"HTTPException", "ProxyException", "GuardrailRaisedException", "BudgetExceededError"}
    )


def rejection_reason(exception: BaseException) -> str:
    """A small, stable vocabulary for dashboards and alerts (never the exception message)."""
    names = _class_names(exception)
    kind: Any = getattr(exception, "type", None)
    kind = getattr(kind, "value", kind)  # ProxyErrorTypes is a str enum
    status = _status_code(exception)
    if "BudgetExceededError" in names or kind == "budget_exceeded":
        return "budget"
    if "ProxyRateLimitError" in names or kind == "throttling_error" or status == 429:
        return "rate_limit"
    if isinstance(kind, str) and (kind.endswith("_access_denied") or "permission" in kind):
        return "access"
    if kind in _AUTH_TYPES or status in (401, 403):
        return "auth"
    if "GuardrailRaisedException" in names:
        return "guardrail"
    if status is not None and 400 <= status < 500:
        return "invalid_request"
    return "other"


def _operation(route: Any) -> str:
    if isinstance(route, str):
        for suffix, operation in _ROUTE_OPERATIONS:
            if route.rstrip("/").endswith(suffix):
                return operation
    return "request"


def _refusal_attributes(
    request_data: Mapping[str, Any], user_api_key_dict: Any, exception: BaseException
) -> dict[str, Any]:
    metadata = request_data.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    attributes: dict[str, Any] = {}
    for field, meta_field, name in _IDENTITY_FIELDS:
        value = _text(getattr(user_api_key_dict, field, None)) or _text(metadata.get(meta_field))
        if value is not None:
            attributes[name] = value
    requested = _text(request_data.get("model"))
    if requested is not None:
        attributes[REQUESTED_MODEL] = requested
    reason = rejection_reason(exception)
    attributes[REJECTION_REASON] = reason
    attributes[error_attributes.ERROR_TYPE] = type(exception).__qualname__
    status = _status_code(exception)
    if status is not None:
        attributes[_HTTP_RESPONSE_STATUS_CODE] = status
    return attributes


def _route(request_data: Mapping[str, Any], user_api_key_dict: Any) -> Any:
    route = getattr(user_api_key_dict, "request_route", None)
    if route:
        return route
    metadata = request_data.get("metadata")
    return metadata.get("user_api_key_request_route") if isinstance(metadata, Mapping) else None


class ProxyCallback(CustomLogger):  # type: ignore[misc]
    """The object LiteLLM Proxy calls back: one span per refused request.

    Successful calls need nothing here (the request hook annotates their GenAI spans), so
    this logger implements only ``async_post_call_failure_hook``. It never returns or raises
    an ``HTTPException``, so what the client sees is unchanged.
    """

    _SEEN_LIMIT: Final = 1024

    def __init__(self, tracer_provider: Any = None) -> None:
        super().__init__()
        self._tracer_provider = tracer_provider
        # LiteLLM may list the same object twice (the launcher attached it and the config
        # names it too); each refusal is still one span.
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def _first_report(self, request_data: Mapping[str, Any]) -> bool:
        call_id = request_data.get("litellm_call_id")
        if not isinstance(call_id, str):
            return True
        with self._lock:
            if call_id in self._seen:
                return False
            self._seen[call_id] = None
            if len(self._seen) > self._SEEN_LIMIT:
                self._seen.popitem(last=False)
        return True

    async def async_post_call_failure_hook(
        self,
        request_data: dict[str, Any],
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> None:
        try:
            self.record_refusal(request_data, original_exception, user_api_key_dict)
        except Exception:
            report_failure("recording a proxy refusal")

    def record_refusal(
        self, request_data: Mapping[str, Any], exception: BaseException, user_api_key_dict: Any
    ) -> None:
        """Emit the refusal span, a child of the current (HTTP server) span."""
        if not is_instrumentation_enabled() or not is_refusal(exception):
            return
        if not self._first_report(request_data):
            return
        tracer = trace.get_tracer(_SCOPE, __version__, self._tracer_provider)
        operation = _operation(_route(request_data, user_api_key_dict))
        attributes = _refusal_attributes(request_data, user_api_key_dict, exception)
        span = tracer.start_span(
            f"proxy rejected {operation}", kind=SpanKind.INTERNAL, attributes=attributes
        )
        # The description is the reason, not str(exception): LiteLLM's rate-limit message
        # contains the key hash. No exception event for the same reason.
        span.set_status(Status(StatusCode.ERROR, attributes[REJECTION_REASON]))
        span.end()


# -- wiring --------------------------------------------------------------------------------

#: The process's one callback object: the launcher path registers it, the config path hands
#: it to LiteLLM, and both may happen in one process.
_CALLBACK: Final = ProxyCallback()


def _hooks() -> list[Callable[[Any, Mapping[str, Any]], None]] | None:
    """The core's registry of integration request hooks (``None`` in a core without one)."""
    from litellm_otel import _hooks as core_hooks

    hooks = getattr(core_hooks, "INTEGRATION_REQUEST_HOOKS", None)
    return hooks if isinstance(hooks, list) else None


def callback(tracer_provider: Any = None) -> ProxyCallback:
    """The callback object; a ``tracer_provider`` given to ``instrument()`` becomes its own."""
    if tracer_provider is not None:
        _CALLBACK._tracer_provider = tracer_provider
    return _CALLBACK


def attach(litellm: Any = None, tracer_provider: Any = None, *, register: bool = True) -> None:
    """Add the proxy attributes to our spans and the refusal callback to LiteLLM.

    Idempotent and cheap outside the proxy (the hook returns at once for calls without the
    proxy's metadata, and LiteLLM only calls the failure hook from the proxy), so
    ``LiteLLMInstrumentor.instrument()`` calls it unconditionally. ``register=False`` leaves
    the callback list alone, for the config path, where LiteLLM appends the object itself.
    """
    hooks = _hooks()
    if hooks is None:
        _logger.warning(
            "litellm-otel: this version of litellm_otel has no request hook; LiteLLM Proxy "
            "spans will lack the litellm.proxy.* attributes"
        )
    elif _request_hook not in hooks:
        hooks.append(_request_hook)
    handler = callback(tracer_provider)
    if not register:
        return
    if litellm is None:
        import litellm
    callbacks = getattr(litellm, "callbacks", None)
    if not isinstance(callbacks, list):
        litellm.callbacks = [handler]
    elif handler not in callbacks:
        callbacks.append(handler)


def detach(litellm: Any = None) -> None:
    """Undo :func:`attach` (``uninstrument()``)."""
    hooks = _hooks()
    if hooks is not None and _request_hook in hooks:
        hooks.remove(_request_hook)
    if litellm is None:
        import litellm
    for name in ("callbacks", "_async_failure_callback", "failure_callback"):
        entries = getattr(litellm, name, None)
        if isinstance(entries, list):
            entries[:] = [entry for entry in entries if entry is not _CALLBACK]


# -- the config.yaml path ------------------------------------------------------------------


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
    from litellm_otel import LiteLLMInstrumentor

    try:
        if not _sdk_configured():
            _configure_sdk()
    except Exception:
        report_failure("configuring the OpenTelemetry SDK from the environment")
    instrumentor = LiteLLMInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry and not _disabled("litellm"):
        instrumentor.instrument()
    attach(register=False)
    server = sys.modules.get("litellm.proxy.proxy_server")
    app = getattr(server, "app", None)
    if app is not None:
        try:
            _instrument_server(app)
        except Exception:
            report_failure("adding HTTP server spans to the proxy app")
    return callback()


def __getattr__(name: str) -> Any:
    """``proxy_handler_instance``: the name to put in the proxy's ``litellm_settings.callbacks``.

    Resolved lazily (PEP 562) so that importing this module — which ``instrument()`` does —
    configures nothing; only naming the object, as the proxy's config loader does, runs
    :func:`setup_from_config`.
    """
    if name == "proxy_handler_instance":
        return setup_from_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
