"""The user's request and response hooks, and the integrations' request hooks.

* ``request_hook(span, params)`` runs once per call, right after the span started, with the
  call's arguments as LiteLLM received them (positional ones bound to their names) minus the
  secrets (API keys, credentials, headers), which a hook has no business recording;
* ``response_hook(span, response)`` runs once per successful call, just before the span ends,
  with what LiteLLM returned (for a stream, the stream, after it ended).

Integrations of this package (the LiteLLM Proxy's) are handed in by ``instrument()`` and run
before the user's hook, with the same arguments and the same containment. Hooks run inside
the instrumented call, so they must be quick; an exception in one is contained and logged once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.trace import Span

from litellm_otel._failsafe import report_failure

RequestHook = Callable[[Span, Mapping[str, Any]], None]
ResponseHook = Callable[[Span, Any], None]

#: Arguments that carry credentials in one LiteLLM provider or another; never shown to hooks.
SECRET_PARAMETERS: Final = frozenset(
    {
        "api_key",
        "azure_ad_token",
        "azure_ad_token_provider",
        "client_secret",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_bedrock_runtime_endpoint_token",
        "vertex_credentials",
        "vertex_ai_credentials",
        "watsonx_api_key",
        "token",
        "headers",
        "extra_headers",
    }
)
#: Arguments whose value is a mapping with secret keys inside: the LiteLLM Proxy's call metadata
#: (the caller's key, its hash, the auth object, the request headers) and the request it received.
_SECRET_METADATA: Final = frozenset(
    {"user_api_key", "user_api_key_hash", "user_api_key_auth", "headers", "authorization"}
)
SECRET_INSIDE: Final[Mapping[str, frozenset[str]]] = {
    "metadata": _SECRET_METADATA,
    "litellm_metadata": _SECRET_METADATA,
    "proxy_server_request": frozenset({"headers"}),
}


def without_secrets(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The call's arguments as a hook may see them (a copy only when something is removed)."""
    if not any(name in params for name in SECRET_PARAMETERS) and not _has_inner_secret(params):
        return params
    public = {name: value for name, value in params.items() if name not in SECRET_PARAMETERS}
    for key, secret in SECRET_INSIDE.items():
        inner = public.get(key)
        if isinstance(inner, Mapping):
            public[key] = {
                name: value
                for name, value in inner.items()  # pyright: ignore[reportUnknownVariableType]
                if name not in secret
            }
    return public


def _has_inner_secret(params: Mapping[str, Any]) -> bool:
    for key, secret in SECRET_INSIDE.items():
        inner = params.get(key)
        if isinstance(inner, Mapping) and any(name in inner for name in secret):
            return True
    return False


@dataclass(frozen=True)
class Hooks:
    request_hook: RequestHook | None = None
    response_hook: ResponseHook | None = None
    integration_request_hooks: tuple[RequestHook, ...] = ()

    def on_request(self, span: Span, params: Mapping[str, Any]) -> None:
        if not (self.integration_request_hooks or self.request_hook) or not span.is_recording():
            return
        public = without_secrets(params)
        for hook in self.integration_request_hooks:
            try:
                hook(span, public)
            except Exception:
                report_failure("running an integration request hook")
        if self.request_hook is not None:
            try:
                self.request_hook(span, public)
            except Exception:
                report_failure("running request_hook")

    def on_response(self, span: Span, response: Any) -> None:
        if self.response_hook is not None and span.is_recording():
            try:
                self.response_hook(span, response)
            except Exception:
                report_failure("running response_hook")
