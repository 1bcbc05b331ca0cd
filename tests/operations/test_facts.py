"""What every response says: usage counts under both spellings, cost, cache hit, identity."""

from __future__ import annotations

import types
from typing import Any

import pytest

from litellm_otel._operations.facts import usage_counts


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
