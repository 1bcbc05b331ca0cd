"""LiteLLM provider ids → ``gen_ai.provider.name``, request model and server address.

Resolution runs once per distinct (model, provider, api_base) and is cached: it calls
``litellm.get_llm_provider``, which walks long prefix tables and would otherwise cost more
than the span it describes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

_logger = logging.getLogger(__name__)

# LiteLLM provider id → the well-known ``gen_ai.provider.name`` value. Anything not listed
# keeps LiteLLM's own id, as the conventions ask for providers they do not name.
WELL_KNOWN_PROVIDERS: Final[dict[str, str]] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "anthropic_text": "anthropic",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "mistral": "mistral_ai",
    "codestral": "mistral_ai",
    "text-completion-codestral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "watsonx_text": "ibm.watsonx.ai",
    "moonshot": "moonshot_ai",
}

# Default API hosts, used for ``server.address`` when the caller gave no ``api_base``.
_DEFAULT_HOSTS: Final[dict[str, str]] = {
    "openai": "api.openai.com",
    "text-completion-openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "anthropic_text": "api.anthropic.com",
    "gemini": "generativelanguage.googleapis.com",
    "cohere": "api.cohere.ai",
    "cohere_chat": "api.cohere.ai",
    "mistral": "api.mistral.ai",
    "codestral": "codestral.mistral.ai",
    "groq": "api.groq.com",
    "deepseek": "api.deepseek.com",
    "perplexity": "api.perplexity.ai",
    "xai": "api.x.ai",
    "moonshot": "api.moonshot.ai",
    "together_ai": "api.together.xyz",
    "fireworks_ai": "api.fireworks.ai",
    "openrouter": "openrouter.ai",
    "deepinfra": "api.deepinfra.com",
    "cerebras": "api.cerebras.ai",
}

_CACHE_LIMIT: Final = 1024
# ``gen_ai.provider.name`` is required; when LiteLLM cannot tell, say so the semconv way.
UNKNOWN_PROVIDER: Final = "_OTHER"


@dataclass(frozen=True)
class ResolvedTarget:
    """Who a call goes to, as far as can be known before it is sent."""

    provider_name: str
    litellm_provider: str | None
    request_model: str | None
    server_address: str | None
    server_port: int | None


def split_address(api_base: str) -> tuple[str | None, int | None]:
    """Host and port of an ``api_base`` URL; the scheme's default port when none is given."""
    try:
        parts = urlsplit(api_base if "://" in api_base else f"https://{api_base}")
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None, None
    if port is None and host is not None:
        port = 443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None
    return host, port


class ProviderResolver:
    """Caches ``litellm.get_llm_provider`` answers per (model, provider, api_base)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, object, object], ResolvedTarget] = {}
        self._lock = threading.Lock()

    def resolve(
        self, model: object, custom_llm_provider: object, api_base: object
    ) -> ResolvedTarget:
        key = (model, custom_llm_provider, api_base)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        target = _resolve_uncached(model, custom_llm_provider, api_base)
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                # Unbounded model strings (per-tenant deployments) must not grow memory.
                self._cache.clear()
            self._cache[key] = target
        return target


def _resolve_uncached(
    model: object, custom_llm_provider: object, api_base: object
) -> ResolvedTarget:
    raw_model = model if isinstance(model, str) else None
    provider = custom_llm_provider if isinstance(custom_llm_provider, str) else None
    base = api_base if isinstance(api_base, str) and api_base else None
    request_model = raw_model
    resolved_base: str | None = None
    if raw_model is not None:
        try:
            import litellm

            # The dynamic api key it returns is discarded unread.
            request_model, provider, _, resolved_base = litellm.get_llm_provider(
                model=raw_model, custom_llm_provider=provider, api_base=base
            )
        except Exception:  # an unknown model still gets a span, with what is known
            if provider is None and "/" in raw_model:
                provider, _, request_model = raw_model.partition("/")
    address: str | None = None
    port: int | None = None
    for candidate in (base, resolved_base):
        if isinstance(candidate, str) and candidate:
            address, port = split_address(candidate)
            break
    if address is None and provider in _DEFAULT_HOSTS:
        address, port = _DEFAULT_HOSTS[provider], 443
    provider_name = WELL_KNOWN_PROVIDERS.get(provider or "", provider or UNKNOWN_PROVIDER)
    return ResolvedTarget(
        provider_name=provider_name,
        litellm_provider=provider,
        request_model=request_model,
        server_address=address,
        server_port=port,
    )
