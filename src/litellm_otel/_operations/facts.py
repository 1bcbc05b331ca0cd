"""What every LiteLLM response says whatever its surface: id, model, token usage, LiteLLM's
cost and cache hit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

from litellm_otel import _attributes as attrs
from litellm_otel._access import field, integer, mapping, number, plain


def hidden_params(response: Any) -> Mapping[str, Any]:
    """LiteLLM's per-response bookkeeping (provider, cost, cache hit); empty when absent."""
    return mapping(field(response, "_hidden_params")) or {}


def apply_identity(invocation: Any, response: Any) -> None:
    """``gen_ai.response.id`` and ``gen_ai.response.model``, when the response carries them."""
    response_id = field(response, "id")
    if isinstance(response_id, str):
        invocation.response_id = response_id
    model = field(response, "model")
    if isinstance(model, str):
        invocation.response_model_name = model


def record_litellm_facts(attributes: dict[str, Any], response: Any) -> None:
    """Cost and cache hit as LiteLLM computed them; nothing when LiteLLM said nothing."""
    hidden = hidden_params(response)
    cost = number(hidden.get("response_cost"))
    if cost is not None:
        attributes[attrs.LITELLM_RESPONSE_COST] = cost
    cache_hit = hidden.get("cache_hit")
    if isinstance(cache_hit, bool):
        attributes[attrs.LITELLM_CACHE_HIT] = cache_hit


def usage_counts(usage: Any) -> dict[str, int]:
    """Token counts the provider reported, by kind; a kind it did not report is absent.

    Reads both usage shapes LiteLLM returns: Chat Completions (``prompt_tokens``,
    ``completion_tokens``, ``*_tokens_details``) and Responses / images (``input_tokens``,
    ``output_tokens``, ``input_tokens_details`` / ``output_tokens_details``).
    """
    if usage is None:
        return {}
    usage = plain(usage)
    if type(usage) is dict:
        common = _dict_usage_counts(cast("dict[str, Any]", usage))
        if common is not None:
            return common
    prompt = _either(field(usage, "prompt_tokens"), field(usage, "input_tokens"))
    completion = _either(field(usage, "completion_tokens"), field(usage, "output_tokens"))
    if not prompt and not completion:
        # LiteLLM fills ``Usage(0, 0, 0)`` when the provider sent none; no real call has
        # zero input and zero output tokens, so this is "not reported", not a count.
        return {}
    counts: dict[str, int] = {}
    for kind, value in (
        ("input", prompt),
        ("output", completion),
        ("cache_write", field(usage, "cache_creation_input_tokens")),
    ):
        count = integer(value)
        if count is not None:
            counts[kind] = count
    prompt_details = plain(
        field(usage, "prompt_tokens_details") or field(usage, "input_tokens_details")
    )
    if prompt_details is not None:
        cached = integer(field(prompt_details, "cached_tokens"))
        if cached is not None:
            counts["cache_read"] = cached
        if "cache_write" not in counts:
            written = integer(field(prompt_details, "cache_creation_tokens"))
            if written is not None:
                counts["cache_write"] = written
    completion_details = plain(
        field(usage, "completion_tokens_details") or field(usage, "output_tokens_details")
    )
    if completion_details is not None:
        reasoning = integer(field(completion_details, "reasoning_tokens"))
        if reasoning is not None:
            counts["reasoning"] = reasoning
    return counts


def _either(first: Any, second: Any) -> Any:
    """One count under two spellings: some usage objects carry both, one of them zero-filled,
    so a non-zero one wins; a reported 0 is still a count."""
    if first:
        return first
    if second:
        return second
    return first if first is not None else second


def _dict_usage_counts(usage: dict[str, Any]) -> dict[str, int] | None:
    """The common Chat Completions shape, read with plain ``dict`` lookups (every call pays
    this); ``None`` hands anything else to the general reader."""
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    if (
        type(prompt) is not int
        or type(completion) is not int
        or not (prompt or completion)
        or "input_tokens" in usage
        or "input_tokens_details" in usage
        or "output_tokens_details" in usage
        or usage.get("cache_creation_input_tokens") is not None
    ):
        return None
    counts = {"input": prompt, "output": completion}
    details = _plain_dict(usage.get("prompt_tokens_details"))
    if details is not None:
        if details is _NOT_A_DICT:
            return None
        cached = details.get("cached_tokens")
        if type(cached) is int:
            counts["cache_read"] = cached
        written = details.get("cache_creation_tokens")
        if type(written) is int:
            counts["cache_write"] = written
    details = _plain_dict(usage.get("completion_tokens_details"))
    if details is not None:
        if details is _NOT_A_DICT:
            return None
        reasoning = details.get("reasoning_tokens")
        if type(reasoning) is int:
            counts["reasoning"] = reasoning
    return counts


#: What :func:`_plain_dict` returns for details that are neither absent nor a plain dict.
_NOT_A_DICT: Final[dict[str, Any]] = {}


def _plain_dict(details: Any) -> dict[str, Any] | None:
    """Token details as a plain dict; ``None`` when absent, :data:`_NOT_A_DICT` otherwise."""
    details = plain(details)
    if details is None:
        return None
    return cast("dict[str, Any]", details) if type(details) is dict else _NOT_A_DICT


def apply_usage(invocation: Any, usage: Any) -> None:
    """Set the reported token counts on an inference invocation; nothing when unreported."""
    counts = usage_counts(usage)
    if not counts:
        return
    invocation.input_tokens = counts.get("input")
    invocation.output_tokens = counts.get("output")
    invocation.cache_read_input_tokens = counts.get("cache_read")
    invocation.cache_write_input_tokens = counts.get("cache_write")
    invocation.thinking_tokens = counts.get("reasoning")
