"""LiteLLM's cost of a call whose reply carries none: Anthropic's Messages API and Gemini's
``generateContent``, where LiteLLM hands back the provider's own shape (plain dicts, raw
server-sent events) instead of a response of its own with ``_hidden_params["response_cost"]``.

The reply's usage goes through LiteLLM's own translation to its usage object, and that is
priced by ``litellm.completion_cost`` for the model and provider the call resolved to: the
function LiteLLM prices every call with (its discounts and margins included), so the cost is
what LiteLLM charges for that usage. Only a reply that reports usage is priced; a model
LiteLLM has no price for, or any failure of LiteLLM's, leaves the cost unset.

LiteLLM is read from ``sys.modules`` at pricing time: a priced call is a call of LiteLLM's,
so it is loaded, and nothing is imported here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, Final

from litellm_otel import _attributes as attrs
from litellm_otel._access import field, integer, number, plain


def price_anthropic_usage(invocation: Any, usage: Any) -> None:
    """Price a Messages reply's ``usage`` (Anthropic's counts, whoever served the call)."""

    def usage_object(litellm: Any) -> Any:
        config = litellm.AnthropicConfig()
        return config.calculate_usage(usage_object=dict(plain(usage)), reasoning_content=None)

    _price(invocation, usage_object)


def price_gemini_usage(invocation: Any, usage_metadata: Any) -> None:
    """Price a ``generateContent`` reply's ``usageMetadata``."""

    def usage_object(litellm: Any) -> Any:
        metadata = _camel_case(dict(plain(usage_metadata)))
        calculate = getattr(litellm.VertexGeminiConfig, "calculate_usage", None)
        if calculate is not None:
            return calculate({"usageMetadata": metadata})
        return _gemini_usage(metadata)

    _price(invocation, usage_object)


def _camel_case(metadata: dict[str, Any]) -> dict[str, Any]:
    """Gemini's wire names, which LiteLLM's translation reads, for counts given in the
    ``google-genai`` SDK's snake case."""
    if "promptTokenCount" in metadata or "prompt_token_count" not in metadata:
        return metadata
    return {_CAMEL.sub(lambda match: match.group(1).upper(), key): v for key, v in metadata.items()}


_CAMEL: Final = re.compile(r"_([a-z])")


def _gemini_usage(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The usage LiteLLM makes of Gemini's counts, for releases that do not expose their own
    translation: thoughts are output tokens, cached tokens part of the prompt's."""
    prompt = integer(metadata.get("promptTokenCount")) or 0
    candidates = integer(metadata.get("candidatesTokenCount")) or 0
    thoughts = integer(metadata.get("thoughtsTokenCount"))
    cached = integer(metadata.get("cachedContentTokenCount"))
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": candidates + (thoughts or 0),
        "total_tokens": prompt + candidates + (thoughts or 0),
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    if thoughts is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": thoughts}
    return usage


def _price(invocation: Any, usage_object: Callable[[Any], Any]) -> None:
    """Set ``litellm.response_cost`` unless LiteLLM already said it; never raises."""
    attributes = invocation.attributes
    if attrs.LITELLM_RESPONSE_COST in attributes:
        return
    model = invocation.request_model
    litellm = sys.modules.get("litellm")
    if not isinstance(model, str) or not model or litellm is None:
        return
    provider = attributes.get(attrs.LITELLM_PROVIDER)
    try:
        cost = litellm.completion_cost(
            completion_response={"usage": usage_object(litellm)},
            model=model,
            custom_llm_provider=provider if isinstance(provider, str) else None,
        )
    except Exception:  # LiteLLM has no price for the model, or its pricing failed
        return
    value = number(cost)
    if value is not None:
        attributes[attrs.LITELLM_RESPONSE_COST] = value


def reports_usage(usage: Any, *names: str) -> bool:
    """Whether a usage object reports any of these counts (a reply's, not a placeholder)."""
    return usage is not None and any(integer(field(usage, name)) is not None for name in names)
