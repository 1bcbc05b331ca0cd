"""``_operations/scoring.py`` alone: rerank and moderation."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.util.genai.types import InputMessage, TextPart

from litellm_otel._operations import scoring
from tests.support.invocations import Invocations, recorded


def test_rerank(made: Invocations) -> None:
    params = {
        "model": "rerank-v3.5",
        "query": "capital?",
        "documents": ["Paris", "Lyon"],
        "top_n": 1,
    }
    response = {
        "id": "rr-1",
        "results": [{"index": 0, "relevance_score": 0.9}],
        "meta": {"billed_units": {"search_units": 1}},
        "usage": {"prompt_tokens": 0, "completion_tokens": 0},  # zero-filled: not reported
        "_hidden_params": {"response_cost": 0.002},
    }
    fields = {
        "response_id": "rr-1",
        "attributes": {
            "litellm.rerank.top_n": 1,
            "litellm.rerank.document_count": 2,
            "litellm.response_cost": 0.002,
        },
    }
    uncaptured = made.inference("rerank")
    scoring.apply_rerank_request(uncaptured, params, False)
    scoring.apply_rerank_response(uncaptured, response, False)
    assert recorded(uncaptured) == fields
    captured = made.inference("rerank")
    scoring.apply_rerank_request(captured, params, True)
    scoring.apply_rerank_response(captured, response, True)
    assert recorded(captured) == {
        **fields,
        "input_messages": [InputMessage(role="user", parts=[TextPart(content="capital?")])],
    }


def test_rerank_documents_that_cannot_be_counted(made: Invocations) -> None:
    invocation = made.inference("rerank")
    scoring.apply_rerank_request(invocation, {"documents": iter(["a"]), "top_n": True}, False)
    assert recorded(invocation) == {}


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("hello", [TextPart(content="hello")]),
        (["one", {"type": "image_url"}, "two"], [TextPart(content="one"), TextPart(content="two")]),
    ],
)
def test_moderation_request(made: Invocations, value: Any, parts: list[Any]) -> None:
    captured = made.inference("moderation")
    scoring.apply_moderation_request(captured, {"input": value}, True)
    assert recorded(captured) == {"input_messages": [InputMessage(role="user", parts=parts)]}
    uncaptured = made.inference("moderation")
    scoring.apply_moderation_request(uncaptured, {"input": value}, False)
    assert recorded(uncaptured) == {}


@pytest.mark.parametrize(
    ("results", "flagged"),
    [
        ([{"flagged": False}, {"flagged": True}], True),
        ([{"flagged": False}], False),
        ([{"flagged": "yes"}], False),  # only a real True flags
        ([], False),
    ],
)
def test_moderation_response(made: Invocations, results: list[Any], flagged: bool) -> None:
    invocation = made.inference("moderation")
    response = {"id": "modr-1", "model": "omni-moderation-2024-09-26", "results": results}
    scoring.apply_moderation_response(invocation, response, False)
    assert recorded(invocation) == {
        "response_id": "modr-1",
        "response_model_name": "omni-moderation-2024-09-26",
        "attributes": {"litellm.moderation.flagged": flagged},
    }


def test_moderation_response_without_results(made: Invocations) -> None:
    invocation = made.inference("moderation")
    scoring.apply_moderation_response(invocation, {"results": None}, False)
    assert recorded(invocation) == {}
