"""Embeddings: spans of real calls (sync, async, several inputs, dimensions, encoding formats);
then the mapping (``_operations/embeddings.py``) alone."""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from litellm_otel._operations import embeddings
from tests.support.invocations import Invocations, recorded
from tests.support.telemetry import Telemetry

MODEL = "openai/text-embedding-3-small"


def test_embedding_span(traced: Telemetry, call_args: dict[str, Any], server: Any) -> None:
    response = litellm.embedding(model=MODEL, input=["a", "b", "c"], **call_args)

    assert len(response.data) == 3
    span = traced.only_span()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes)
    # LiteLLM's cost: its price map applied to the 9 input tokens the loopback reports
    price = litellm.model_cost["text-embedding-3-small"]["input_cost_per_token"]
    assert attributes.pop("litellm.response_cost") == pytest.approx(9 * price, rel=1e-9)
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


# -- the mapping alone: embeddings.py given plain arguments and responses ----------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"dimensions": 256, "encoding_format": "base64"},
            {"dimension_count": 256, "encoding_formats": ["base64"]},
        ),
        ({"dimensions": True, "encoding_format": 1}, {}),
        ({"input": ["private text"], "model": MODEL}, {}),  # the input is never recorded
    ],
)
def test_request_mapping(made: Invocations, params: dict[str, Any], expected: Any) -> None:
    for capture in (False, True):
        invocation = made.embedding()
        embeddings.apply_request(invocation, params, capture)
        assert recorded(invocation) == expected, capture


RESPONSE: dict[str, Any] = {
    "model": "text-embedding-3-small",
    "data": [
        {"index": 0, "embedding": [0.1, 0.2, 0.3]},
        {"index": 1, "embedding": [0.4, 0.5, 0.6]},
    ],
    "usage": {"prompt_tokens": 9, "total_tokens": 9},
    "_hidden_params": {"response_cost": 1.8e-07},
}


def test_response_mapping(made: Invocations) -> None:
    invocation = made.embedding()
    embeddings.apply_response(invocation, RESPONSE, True)
    assert recorded(invocation) == {
        "response_model_name": "text-embedding-3-small",
        "dimension_count": 3,  # the vectors' length, when the call asked for none
        "input_tokens": 9,
        "attributes": {"litellm.response_cost": 1.8e-07},
    }


def test_requested_dimensions_are_kept(made: Invocations) -> None:
    invocation = made.embedding()
    embeddings.apply_request(invocation, {"dimensions": 2}, False)
    embeddings.apply_response(invocation, RESPONSE, False)
    assert recorded(invocation)["dimension_count"] == 2


def test_base64_vectors_have_no_countable_dimension(made: Invocations) -> None:
    invocation = made.embedding()
    response = {"model": "m", "data": [{"embedding": "AAAAAA=="}], "usage": None}
    embeddings.apply_response(invocation, response, False)
    assert recorded(invocation) == {"response_model_name": "m"}
