"""What LiteLLM charges for a usage, by its own per-token pricing, and models it prices.

The Messages and ``generateContent`` surfaces price their replies' usage with LiteLLM's
``completion_cost``; the tests hold that to ``litellm.cost_per_token`` for the same counts,
another of LiteLLM's public pricing functions. A model's price differs between LiteLLM
releases (some have none, some a price of 0), so the tests pick a priced model per release.
"""

from __future__ import annotations

from typing import Any

import litellm

COST = "litellm.client.cost.usd"


def litellm_cost(
    model: str,
    provider: str,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cache_read: int = 0,
    cache_write: int = 0,
) -> dict[str, float]:
    """``{"litellm.response_cost": cost}`` as LiteLLM prices these counts; empty when LiteLLM
    has no price for the model (it raises), as the span then has no cost."""
    try:
        prompt, completion = litellm.cost_per_token(
            model=model,
            custom_llm_provider=provider,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cache_read_input_tokens=cache_read,
            cache_creation_input_tokens=cache_write,
        )
    except Exception:
        return {}
    return {"litellm.response_cost": prompt + completion}


def priced_model(provider: str, *candidates: str) -> str:
    """The first of ``candidates`` this LiteLLM release prices above zero."""
    for model in candidates:
        info: Any = litellm.model_cost.get(model) or litellm.model_cost.get(f"{provider}/{model}")
        if info and info.get("input_cost_per_token"):
            return model
    raise AssertionError(f"LiteLLM prices none of {candidates}")


def cost_points(telemetry: Any) -> list[tuple[dict[str, Any], float]]:
    """(attributes, value) of every cost counter point."""
    return [(dict(point.attributes), point.value) for point in telemetry.metric_points(COST)]
