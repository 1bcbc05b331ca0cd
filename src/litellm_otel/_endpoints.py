"""Where each provider's requests go when the call does not say: LiteLLM's handlers, mirrored.

``litellm.get_llm_provider`` resolves the base URL of the OpenAI-compatible providers; each
provider's call handler fills in the rest when it returned none, from the module setting
``litellm.api_base``, its environment variables, a region or location (Bedrock, Vertex AI) or
its public host. An :class:`EndpointRule` per provider says which, in LiteLLM's order;
:mod:`litellm_otel._providers` applies the rules and caches what they decide.

Only base URLs, regions and locations are read, never a key.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from litellm_otel._access import items, mapping, text

#: What an :class:`EndpointRule`'s host function gets: the call's arguments and a reader of
#: environment variables.
HostFunction = Callable[[str | None, Mapping[str, Any], Callable[[str], str | None]], str | None]


@dataclass(frozen=True)
class EndpointRule:
    """Where LiteLLM's handler for one provider finds the base URL ``get_llm_provider`` left
    unset, in LiteLLM's order: the module setting, ``env`` in order, ``host`` (computed from
    the call's region or location arguments), then ``default``."""

    env: tuple[str, ...] = ()
    #: Whether ``litellm.api_base`` is consulted (after the call's ``api_base``).
    module_setting: bool = True
    #: ``litellm.api_base`` wins even over the call's ``api_base`` (Ollama, Triton).
    module_first: bool = False
    #: The call arguments ``host`` reads: part of the cache key.
    arguments: tuple[str, ...] = ()
    #: Environment variables ``host`` reads besides ``env``: part of the cache key.
    host_env: tuple[str, ...] = ()
    #: Module settings ``host`` reads (``litellm.<name>``): part of the cache key.
    host_settings: tuple[str, ...] = ()
    host: HostFunction | None = None
    default: str | None = None
    #: A setting that wins even over the call's ``api_base`` (Bedrock's runtime endpoint).
    override: HostFunction | None = None
    #: LiteLLM sends every request to this host, whatever the arguments say (Replicate).
    fixed: str | None = None


# -- hosts computed from a region or location -------------------------------------------------

_BEDROCK_ARN_REGION: Final = re.compile(r"arn:aws[a-z0-9-]*:bedrock:([a-z0-9-]+):")
# AWS partitions with their own DNS suffix; every other region is under amazonaws.com.
_AWS_DNS_SUFFIXES: Final = (
    ("cn-", "amazonaws.com.cn"),
    ("us-isob-", "sc2s.sgov.gov"),
    ("us-isof-", "csp.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov"),
    ("eu-isoe-", "cloud.adc-e.uk"),
)


def _bedrock_host(
    model: str | None, params: Mapping[str, Any], env: Callable[[str], str | None]
) -> str | None:
    """``bedrock-runtime.<region>.<partition suffix>``. With no region in the arguments, the
    model ARN or the environment, LiteLLM asks boto3 (its config files): unknown here."""
    region = text(params.get("aws_region_name"))
    if region is None and model is not None:
        match = _BEDROCK_ARN_REGION.search(model)
        region = match.group(1) if match else None
    region = region or env("AWS_REGION_NAME") or env("AWS_REGION") or env("AWS_DEFAULT_REGION")
    if region is None:
        return None
    suffix = next((s for prefix, s in _AWS_DNS_SUFFIXES if region.startswith(prefix)), None)
    return f"https://bedrock-runtime.{region}.{suffix or 'amazonaws.com'}"


def _bedrock_endpoint(
    model: str | None, params: Mapping[str, Any], env: Callable[[str], str | None]
) -> str | None:
    """A configured runtime endpoint: LiteLLM sends there even when an ``api_base`` is given."""
    return text(params.get("aws_bedrock_runtime_endpoint")) or env("AWS_BEDROCK_RUNTIME_ENDPOINT")


def _vertex_host(
    model: str | None, params: Mapping[str, Any], env: Callable[[str], str | None]
) -> str:
    location = (
        text(params.get("vertex_location"))
        or text(params.get("vertex_ai_location"))
        or module_setting("vertex_location")
        or env("VERTEXAI_LOCATION")
        or env("VERTEX_LOCATION")
    )
    # Some partner models are served only in some regions; LiteLLM routes them there.
    regions = _model_regions(f"vertex_ai/{model}" if model else None)
    if regions and location not in regions:
        location = regions[0]
    location = location or "us-central1"
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if "-" not in location:  # multi-region geographies (``us``, ``eu``)
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def _model_regions(key: str | None) -> list[str] | None:
    litellm = litellm_module()
    cost_map = mapping(getattr(litellm, "model_cost", None)) if litellm is not None else None
    info = mapping(cost_map.get(key)) if cost_map is not None and key else None
    regions = items(info.get("supported_regions")) if info is not None else None
    if regions and all(isinstance(region, str) for region in regions):
        return list(regions)
    return None


def _cohere_default(model: str | None) -> str:
    # LiteLLM's v2 route (the default) and its v1 route (``v1/`` in the model) differ in host.
    if model is not None and "v1/" in model:
        return "https://api.cohere.ai"
    return "https://api.cohere.com"


_OPENAI: Final = EndpointRule(
    env=("OPENAI_BASE_URL", "OPENAI_API_BASE"), default="https://api.openai.com/v1"
)
_ANTHROPIC: Final = EndpointRule(
    env=("ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"), default="https://api.anthropic.com"
)
_AZURE: Final = EndpointRule(env=("AZURE_API_BASE",))
_OLLAMA: Final = EndpointRule(
    env=("OLLAMA_API_BASE",), module_first=True, default="http://localhost:11434"
)
_GEMINI: Final = EndpointRule(
    env=("GEMINI_API_BASE",), default="https://generativelanguage.googleapis.com"
)
_VERTEX: Final = EndpointRule(
    env=("VERTEXAI_API_BASE", "VERTEX_API_BASE"),
    arguments=("vertex_location", "vertex_ai_location"),
    host_env=("VERTEXAI_LOCATION", "VERTEX_LOCATION"),
    host_settings=("vertex_location",),
    host=_vertex_host,
)
_BEDROCK: Final = EndpointRule(
    module_setting=False,
    arguments=("aws_bedrock_runtime_endpoint", "aws_region_name"),
    host_env=(
        "AWS_BEDROCK_RUNTIME_ENDPOINT",
        "AWS_REGION_NAME",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ),
    host=_bedrock_host,
    override=_bedrock_endpoint,
)
_COHERE: Final = EndpointRule(
    env=("COHERE_API_BASE",), host=lambda model, params, env: _cohere_default(model)
)
_WATSONX: Final = EndpointRule(
    env=("WATSONX_API_BASE", "WATSONX_URL", "WX_URL", "WML_URL"), module_setting=False
)

#: Providers whose handler reads other names than ``<PROVIDER>_API_BASE``, or has a default
#: host ``get_llm_provider`` does not give, or reads ``litellm.api_base`` first. Every other
#: provider gets :func:`_conventional_rule`.
ENDPOINT_RULES: Final[Mapping[str, EndpointRule]] = {
    "openai": _OPENAI,
    "text-completion-openai": _OPENAI,
    "custom_openai": _OPENAI,
    "aiohttp_openai": _OPENAI,
    "azure": _AZURE,
    "azure_text": _AZURE,
    "anthropic": _ANTHROPIC,
    "anthropic_text": _ANTHROPIC,
    "ollama": _OLLAMA,
    "ollama_chat": _OLLAMA,
    "triton": EndpointRule(module_first=True),
    "gradient_ai": EndpointRule(env=("GRADIENT_AI_AGENT_ENDPOINT",), module_first=True),
    "gemini": _GEMINI,
    "vertex_ai_beta": _GEMINI,
    "vertex_ai": _VERTEX,
    "bedrock": _BEDROCK,
    "bedrock_converse": _BEDROCK,
    "cohere": _COHERE,
    "cohere_chat": _COHERE,
    "watsonx": _WATSONX,
    "watsonx_text": _WATSONX,
    "databricks": EndpointRule(env=("DATABRICKS_API_BASE",)),
    "replicate": EndpointRule(fixed="https://api.replicate.com"),
    "openrouter": EndpointRule(env=("OPENROUTER_API_BASE",), default="https://openrouter.ai/api"),
    "mistral": EndpointRule(env=("MISTRAL_AZURE_API_BASE",)),
    # The in-process vLLM engine: no server unless an ``api_base`` is given.
    "vllm": EndpointRule(module_setting=False),
    "codestral": EndpointRule(env=("CODESTRAL_API_BASE",), default="https://codestral.mistral.ai"),
    "text-completion-codestral": EndpointRule(default="https://codestral.mistral.ai"),
    "fireworks_ai": EndpointRule(env=("FIREWORKS_API_BASE",)),
    "featherless_ai": EndpointRule(env=("FEATHERLESS_AI_API_BASE", "FEATHERLESS_API_BASE")),
    "friendliai": EndpointRule(env=("FRIENDLI_API_BASE",)),
    "meta_llama": EndpointRule(env=("LLAMA_API_BASE",)),
    "datarobot": EndpointRule(env=("DATAROBOT_ENDPOINT",)),
    "tensormesh": EndpointRule(env=("TENSORMESH_SERVERLESS_BASE_URL",)),
    "scx-ai": EndpointRule(env=("SCX_API_BASE",)),
}


#: Operations whose LiteLLM code path reads other settings than the provider's chat path:
#: (LiteLLM provider, ``gen_ai.operation.name``) → rule.
_OPENAI_SDK: Final = EndpointRule(
    env=("OPENAI_BASE_URL",), module_setting=False, default="https://api.openai.com/v1"
)
OPERATION_RULES: Final[Mapping[tuple[str, str], EndpointRule]] = {
    # LiteLLM leaves the base URL of these to the OpenAI SDK, which reads OPENAI_BASE_URL only.
    ("openai", "moderation"): _OPENAI_SDK,
    ("openai", "image_generation"): _OPENAI_SDK,
}


def _conventional_rule(provider: str) -> EndpointRule:
    """LiteLLM's usual name, ``HOSTED_VLLM_API_BASE`` for ``hosted_vllm``."""
    return EndpointRule(env=(f"{provider.upper().replace('-', '_')}_API_BASE",))


def rule_for(provider: str | None, operation: str | None = None) -> EndpointRule | None:
    if provider is None:
        return None
    if operation is not None:
        rule = OPERATION_RULES.get((provider, operation))
        if rule is not None:
            return rule
    return ENDPOINT_RULES.get(provider) or _conventional_rule(provider)


def litellm_module() -> Any:
    """The loaded ``litellm`` module, or ``None``.

    Only ever called from inside a LiteLLM call: the module is loaded, never imported here."""
    return sys.modules.get("litellm")


def module_setting(name: str) -> str | None:
    """A non-empty string setting of the ``litellm`` module (``litellm.api_base``)."""
    litellm = litellm_module()
    return text(getattr(litellm, name, None)) if litellm is not None else None
