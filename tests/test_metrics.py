"""Metric points: names, units, bucket advice, and a strictly bounded attribute set."""

from __future__ import annotations

from typing import Any

import litellm
import pytest

from tests.support.telemetry import Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
ALLOWED = {
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "server.address",
    "server.port",
    "error.type",
    "gen_ai.token.type",
}


def test_duration_and_token_points(
    traced: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)

    duration = traced.metric("gen_ai.client.operation.duration")
    assert duration.unit == "s"
    (point,) = duration.data.data_points
    assert tuple(point.explicit_bounds) == DURATION_BUCKETS
    assert point.count == 1
    assert dict(point.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }

    tokens = traced.metric("gen_ai.client.token.usage")
    assert tokens.unit == "{token}"
    by_type = {p.attributes["gen_ai.token.type"]: p for p in tokens.data.data_points}
    assert set(by_type) == {"input", "output"}
    assert by_type["input"].sum == 12
    assert by_type["output"].sum == 5
    assert tuple(by_type["input"].explicit_bounds) == TOKEN_BUCKETS


@pytest.mark.parametrize("capture", [False, True])
def test_metric_attributes_are_bounded(
    instrument: Any, call_args: dict[str, Any], capture: bool
) -> None:
    telemetry = instrument(capture_content=capture)
    litellm.completion(
        model=MODEL,
        messages=user_messages(),
        temperature=0.2,
        metadata={"user": "u-1"},
        user="end-user-7",
        **call_args,
    )
    list(litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args))
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/error-429", messages=user_messages(), **call_args)
    litellm.embedding(model="openai/text-embedding-3-small", input=["a"], **call_args)
    names = [
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
        "gen_ai.client.operation.time_per_output_chunk",
    ]
    for name in names:
        points = telemetry.metric_points(name)
        assert points, name
        for point in points:
            assert set(point.attributes) <= ALLOWED, (name, set(point.attributes) - ALLOWED)


def test_failed_call_duration_has_error_type_and_no_tokens(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(model="openai/error-401", messages=user_messages(), **call_args)
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "AuthenticationError"
    assert traced.metric_points("gen_ai.client.token.usage") == []


def test_same_model_calls_share_one_series(traced: Telemetry) -> None:
    for _ in range(5):
        litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert point.count == 5
