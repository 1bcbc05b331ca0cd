"""Embedding spans: sync, async, several inputs, dimensions and encoding formats."""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.telemetry import Telemetry

MODEL = "openai/text-embedding-3-small"


def test_embedding_span(traced: Telemetry, call_args: dict[str, Any], server: Any) -> None:
    response = litellm.embedding(model=MODEL, input=["a", "b", "c"], **call_args)

    assert len(response.data) == 3
    span = traced.only_span()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes)
    attributes.pop("litellm.response_cost", None)
    assert attributes == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "text-embedding-3-small",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "gen_ai.response.model": "text-embedding-3-small",
        "gen_ai.embeddings.dimension.count": 8,
        "gen_ai.usage.input_tokens": 9,
        "litellm.provider": "openai",
        "litellm.request.model": MODEL,
    }
    (point,) = traced.metric_points("gen_ai.client.token.usage")
    assert point.attributes["gen_ai.token.type"] == "input"
    assert point.sum == 9


async def test_async_embedding_with_dimensions_and_format(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    await litellm.aembedding(
        model=MODEL, input="hello", dimensions=4, encoding_format="float", **call_args
    )
    attributes = traced.only_span().attributes
    assert attributes["gen_ai.embeddings.dimension.count"] == 4
    assert attributes["gen_ai.request.encoding_formats"] == ("float",)


def test_embedding_vectors_and_input_are_never_recorded(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    telemetry = instrument(capture_content=True)
    litellm.embedding(model=MODEL, input=["private-embedding-text"], **call_args)
    span = telemetry.only_span()
    assert "private-embedding-text" not in repr(dict(span.attributes))
    vectors = [v for v in span.attributes.values() if isinstance(v, tuple)]
    assert vectors == []  # no vector (or any float array) was recorded


def test_embedding_error(traced: Telemetry, call_args: dict[str, Any]) -> None:
    with pytest.raises(litellm.RateLimitError):
        litellm.embedding(model="openai/error-429", input=["a"], **call_args)
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.attributes["http.response.status_code"] == 429
