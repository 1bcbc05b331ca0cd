"""What every response says: usage counts under both spellings, cost, cache hit, identity."""

from __future__ import annotations

import types
from typing import Any

import litellm
import pytest

from litellm_otel._operations.facts import (
    apply_identity,
    apply_usage,
    hidden_params,
    record_litellm_facts,
    usage_counts,
)
from tests.support.invocations import Invocations, recorded


@pytest.mark.parametrize(
    ("usage", "counts"),
    [
        ({"prompt_tokens": 0, "completion_tokens": 1}, {"input": 0, "output": 1}),
        (
            {"prompt_tokens": 0, "input_tokens": 12, "completion_tokens": 3},
            {"input": 12, "output": 3},
        ),
        ({"input_tokens": 7, "output_tokens": 0}, {"input": 7, "output": 0}),
        ({"prompt_tokens": 0, "completion_tokens": 0}, {}),
        ({"prompt_tokens": None, "completion_tokens": None}, {}),
        (None, {}),
    ],
)
@pytest.mark.parametrize("shape", [dict, types.MappingProxyType], ids=["dict", "mapping"])
def test_a_reported_zero_is_a_count_and_a_zero_filled_twin_is_not(
    usage: Any, counts: dict[str, int], shape: Any
) -> None:
    assert usage_counts(None if usage is None else shape(usage)) == counts


@pytest.mark.parametrize(
    ("usage", "counts"),
    [
        # the common Chat Completions dict, with both details
        (
            {
                "prompt_tokens": 12,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 4, "cache_creation_tokens": 2},
                "completion_tokens_details": {"reasoning_tokens": 3},
            },
            {"input": 12, "output": 5, "cache_read": 4, "cache_write": 2, "reasoning": 3},
        ),
        # Anthropic's cache writes, at the top level, win over the details'
        (
            {
                "prompt_tokens": 30,
                "completion_tokens": 2,
                "cache_creation_input_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 0, "cache_creation_tokens": 7},
            },
            {"input": 30, "output": 2, "cache_write": 20, "cache_read": 0},
        ),
        # Responses and image usage
        (
            {
                "input_tokens": 20,
                "output_tokens": 8,
                "input_tokens_details": {"cached_tokens": 6},
                "output_tokens_details": {"reasoning_tokens": 1},
            },
            {"input": 20, "output": 8, "cache_read": 6, "reasoning": 1},
        ),
        # details given as objects rather than dicts go to the general reader, same answer
        (
            {
                "prompt_tokens": 12,
                "completion_tokens": 5,
                "prompt_tokens_details": types.SimpleNamespace(cached_tokens=4),
            },
            {"input": 12, "output": 5, "cache_read": 4},
        ),
        ({"prompt_tokens": "12", "completion_tokens": 5}, {"output": 5}),
        ({"prompt_tokens": True, "completion_tokens": 5}, {"output": 5}),
    ],
)
def test_usage_counts_by_kind(usage: Any, counts: dict[str, int]) -> None:
    assert usage_counts(usage) == counts


def test_usage_of_litellms_models() -> None:
    usage = litellm.Usage(
        prompt_tokens=12,
        completion_tokens=5,
        prompt_tokens_details={"cached_tokens": 4},
        completion_tokens_details={"reasoning_tokens": 2},
    )
    assert usage_counts(usage) == {"input": 12, "output": 5, "cache_read": 4, "reasoning": 2}


def test_apply_usage_sets_every_reported_count(made: Invocations) -> None:
    invocation = made.inference()
    apply_usage(
        invocation,
        {
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 4, "cache_creation_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 3},
        },
    )
    assert recorded(invocation) == {
        "input_tokens": 12,
        "output_tokens": 5,
        "cache_read_input_tokens": 4,
        # util-genai keeps the cache writes under both names
        "cache_write_input_tokens": 2,
        "cache_creation_input_tokens": 2,
        "thinking_tokens": 3,
    }


def test_apply_usage_of_nothing_reported_sets_nothing(made: Invocations) -> None:
    invocation = made.inference()
    apply_usage(invocation, {"prompt_tokens": 0, "completion_tokens": 0})
    assert recorded(invocation) == {}


@pytest.mark.parametrize(
    ("hidden", "attributes"),
    [
        (
            {"response_cost": 4.5e-06, "cache_hit": True},
            {"litellm.response_cost": 4.5e-06, "litellm.cache_hit": True},
        ),
        (
            {"response_cost": 0, "cache_hit": False},
            {"litellm.response_cost": 0.0, "litellm.cache_hit": False},
        ),
        ({"response_cost": None, "cache_hit": None}, {}),
        ({"response_cost": "0.1", "cache_hit": "yes"}, {}),  # LiteLLM's types only
        ({"response_cost": True}, {}),
        (None, {}),
    ],
)
def test_litellm_facts(hidden: Any, attributes: dict[str, Any]) -> None:
    response = {"id": "x"} if hidden is None else {"_hidden_params": hidden}
    recorded_attributes: dict[str, Any] = {}
    record_litellm_facts(recorded_attributes, response)
    assert recorded_attributes == attributes


def test_hidden_params_of_a_model_and_of_a_dict() -> None:
    model = litellm.ModelResponse()
    model._hidden_params = {"response_cost": 1.0}
    assert hidden_params(model) == {"response_cost": 1.0}
    assert hidden_params({"_hidden_params": {"cache_hit": True}}) == {"cache_hit": True}
    assert hidden_params({"_hidden_params": "not a mapping"}) == {}
    assert hidden_params(object()) == {}


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"id": "r-1", "model": "m-1"}, {"response_id": "r-1", "response_model_name": "m-1"}),
        ({"id": 1, "model": None}, {}),
    ],
)
def test_identity(made: Invocations, response: Any, expected: dict[str, Any]) -> None:
    invocation = made.inference()
    apply_identity(invocation, response)
    assert recorded(invocation) == expected
