"""LiteLLM provider ids → ``gen_ai.provider.name``, request model and server address.

``server.address`` must name the host the request actually goes to, which LiteLLM picks per
provider from, in its order: the call's ``api_base`` (a Router passes its deployment's), the
module setting ``litellm.api_base``, the provider's environment variables
(``OPENAI_BASE_URL``, ``HOSTED_VLLM_API_BASE``, ``AZURE_API_BASE``...), a region or location
(Bedrock, Vertex AI), or the provider's public host. Two places hold that logic in LiteLLM:
``litellm.get_llm_provider``, which already resolves the base URL of the OpenAI-compatible
providers (argument, environment, default), and each provider's call handler, which fills in
the rest when it returned none. The first is asked; the second is mirrored by an
:class:`~litellm_otel._endpoints.EndpointRule` per provider (``_endpoints.py``).

``get_llm_provider`` walks long prefix tables, so its answers are cached. The environment and
``litellm.api_base`` may change between calls (tests, notebooks), so the cache is keyed on
what the rule of the call's provider reads, read again on every call; the rule is found in a
first cache keyed on the call's model, provider and ``api_base`` alone.

Only base URLs, regions and locations are read; API keys never are (the key
``get_llm_provider`` returns is dropped unread).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from litellm_otel._access import text
from litellm_otel._endpoints import EndpointRule, module_setting, rule_for

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

_CACHE_LIMIT: Final = 1024
# ``gen_ai.provider.name`` is required; when LiteLLM cannot tell, say so the semconv way.
UNKNOWN_PROVIDER: Final = "_OTHER"

_EMPTY: Final[Mapping[str, Any]] = {}


@dataclass(frozen=True)
class ResolvedTarget:
    """Who a call goes to, as far as can be known before it is sent."""

    provider_name: str
    litellm_provider: str | None
    request_model: str | None
    server_address: str | None
    server_port: int | None


# -- reading the environment and the module settings ------------------------------------------


# CPython's ``os.environ`` and the dict it keeps its encoded names and values in.
_ENVIRON: Final = os.environ
_ENVIRON_DATA: Final[dict[Any, Any] | None] = (
    _ENVIRON.__dict__.get("_data") if isinstance(_ENVIRON.__dict__.get("_data"), dict) else None
)


def environment_reader(names: tuple[str, ...]) -> Callable[[], tuple[object, ...]]:
    """A function returning the raw values of ``names``, for the address cache key.

    It runs on every call. ``os.environ.get`` raises and catches a ``KeyError`` for every
    absent name, which costs more than the rest of the resolution; CPython's ``os.environ``
    keeps its encoded names and values in a plain dict, read here directly (with the usual
    one to four names unrolled: building a tuple from an iterator costs more than the
    lookups). The raw values serve only as the key; the address itself is computed with
    ``os.environ.get``. Anything standing in for ``os.environ`` is read through ``get``.
    """
    encode = getattr(_ENVIRON, "encodekey", None)
    data = _ENVIRON_DATA
    if data is None or not callable(encode):
        return lambda: tuple(map(os.environ.get, names))
    get = data.get
    keys = tuple(encode(name) for name in names)

    def slow() -> tuple[object, ...]:
        return tuple(map(os.environ.get, names))

    if not keys:
        return tuple
    if len(keys) == 1:
        (a,) = keys
        return lambda: (get(a),) if os.environ is _ENVIRON else slow()
    if len(keys) == 2:
        a, b = keys
        return lambda: (get(a), get(b)) if os.environ is _ENVIRON else slow()
    if len(keys) == 3:
        a, b, c = keys
        return lambda: (get(a), get(b), get(c)) if os.environ is _ENVIRON else slow()
    if len(keys) == 4:
        a, b, c, d = keys
        return lambda: (get(a), get(b), get(c), get(d)) if os.environ is _ENVIRON else slow()
    return lambda: tuple(map(get, keys)) if os.environ is _ENVIRON else slow()


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value or None


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


# -- the resolver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    """What the call's model, provider and ``api_base`` alone decide."""

    provider_name: str
    litellm_provider: str | None
    request_model: str | None
    rule: EndpointRule | None
    #: Reads the environment variables whose values are part of the address cache key.
    read_env: Callable[[], tuple[object, ...]]


class ProviderResolver:
    """Resolves a call's provider and address, cached as the module docstring describes."""

    def __init__(self) -> None:
        self._identities: dict[tuple[object, ...], _Identity] = {}
        self._targets: dict[tuple[tuple[object, ...], tuple[object, ...]], ResolvedTarget] = {}
        self._lock = threading.Lock()

    def resolve(
        self,
        model: object,
        custom_llm_provider: object,
        api_base: object,
        arguments: Mapping[str, Any] = _EMPTY,
        operation: str | None = None,
    ) -> ResolvedTarget:
        """``arguments`` are the call's (for region and location); nothing else is read.
        ``operation`` (``gen_ai.operation.name``) selects the rare per-operation rule."""
        model_name = model if isinstance(model, str) else None
        provider = custom_llm_provider if isinstance(custom_llm_provider, str) else None
        base = api_base if isinstance(api_base, str) and api_base else None
        key = (model_name, provider, base, operation)
        identity = self._identities.get(key)
        if identity is None:
            identity = _identify(model_name, provider, base, operation)
            self._store(self._identities, key, identity)
        cache_key = (key, _settings_read_by(identity, arguments))
        target = self._targets.get(cache_key)
        if target is None:
            target = _locate(identity, model_name, provider, base, arguments)
            self._store(self._targets, cache_key, target)
        return target

    def _store(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            if len(cache) >= _CACHE_LIMIT:
                # Unbounded model strings (per-tenant deployments) must not grow memory.
                cache.clear()
            cache[key] = value


def _settings_read_by(identity: _Identity, arguments: Mapping[str, Any]) -> tuple[object, ...]:
    """What the address depends on besides model, provider and ``api_base``: the cache key."""
    rule = identity.rule
    if rule is None:
        return ()
    litellm = sys.modules.get("litellm")
    module_base = getattr(litellm, "api_base", None)
    env = identity.read_env()
    if not rule.arguments and not rule.host_settings:
        return (module_base, env)
    # Plain loops: a tuple built from a generator costs more than the lookups themselves.
    values: list[object] = [module_base, env]
    for name in rule.arguments:
        values.append(text(arguments.get(name)))
    for name in rule.host_settings:
        values.append(getattr(litellm, name, None))
    return tuple(values)


def _ask_litellm(
    model: str, provider: str | None, api_base: str | None
) -> tuple[str | None, str | None, str | None]:
    """Provider, request model and the base URL ``get_llm_provider`` resolves (or None)."""
    try:
        import litellm

        # The dynamic api key it returns is discarded unread.
        request_model, provider, _, base = litellm.get_llm_provider(
            model=model, custom_llm_provider=provider, api_base=api_base
        )
    except Exception:  # an unknown model still gets a span, with what is known
        if provider is None and "/" in model:
            provider, _, model = model.partition("/")
        return provider, model, None
    return provider, request_model, text(base)


def _identify(
    model: str | None, provider: str | None, api_base: str | None, operation: str | None
) -> _Identity:
    request_model = model
    if model is not None:
        provider, request_model, _ = _ask_litellm(model, provider, api_base)
    rule = rule_for(provider, operation)
    watched = (*rule.env, *rule.host_env) if rule is not None else ()
    return _Identity(
        provider_name=WELL_KNOWN_PROVIDERS.get(provider or "", provider or UNKNOWN_PROVIDER),
        litellm_provider=provider,
        request_model=request_model,
        rule=rule,
        read_env=environment_reader(watched),
    )


def _locate(
    identity: _Identity,
    model: str | None,
    provider: str | None,
    api_base: str | None,
    arguments: Mapping[str, Any],
) -> ResolvedTarget:
    base = _base_url(identity, model, provider, api_base, arguments)
    address, port = split_address(base) if base is not None else (None, None)
    return ResolvedTarget(
        provider_name=identity.provider_name,
        litellm_provider=identity.litellm_provider,
        request_model=identity.request_model,
        server_address=address,
        server_port=port,
    )


def _base_url(
    identity: _Identity,
    model: str | None,
    provider: str | None,
    api_base: str | None,
    arguments: Mapping[str, Any],
) -> str | None:
    """LiteLLM's precedence, as the module docstring describes it."""
    rule = identity.rule
    if rule is None:
        return api_base
    if rule.fixed is not None:
        return rule.fixed
    module_base = module_setting("api_base") if rule.module_setting or rule.module_first else None
    if rule.module_first and module_base:
        return module_base
    if rule.override is not None:
        overridden = rule.override(identity.request_model, arguments, _env)
        if overridden is not None:
            return overridden
    base = api_base
    if base is None and model is not None:
        _, _, base = _ask_litellm(model, provider, None)
    if base is not None:
        return base
    if rule.module_setting and module_base:
        return module_base
    for name in rule.env:
        value = _env(name)
        if value:
            return value
    if rule.host is not None:
        host = rule.host(identity.request_model, arguments, _env)
        if host is not None:
            return host
    return rule.default
