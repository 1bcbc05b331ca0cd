"""``rerank`` and ``moderation``: calls that score inputs instead of generating text.

The conventions name neither; they get the operation names ``rerank`` and
``moderation``. What they return (scores, flags) is summarised in ``litellm.*``
attributes, never the documents themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.types import InputMessage, TextPart

from litellm_otel import _attributes as attrs
from litellm_otel._access import field, integer, items
from litellm_otel._operations.facts import apply_identity, apply_usage, record_litellm_facts


def apply_rerank_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    top_n = integer(params.get("top_n"))
    if top_n is not None:
        invocation.attributes[attrs.LITELLM_RERANK_TOP_N] = top_n
    documents = items(params.get("documents"))
    if documents is not None:
        invocation.attributes[attrs.LITELLM_RERANK_DOCUMENT_COUNT] = len(documents)
    if capture_content:
        query = params.get("query")
        if isinstance(query, str):
            invocation.input_messages = [InputMessage(role="user", parts=[TextPart(query)])]


def apply_rerank_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    apply_identity(invocation, response)
    apply_usage(invocation, field(response, "usage"))
    record_litellm_facts(invocation.attributes, response)


def apply_moderation_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    if capture_content:
        value = params.get("input")
        texts = items(value) or [value]
        parts = [TextPart(content=text) for text in texts if isinstance(text, str)]
        if parts:
            invocation.input_messages = [InputMessage(role="user", parts=list(parts))]


def apply_moderation_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    apply_identity(invocation, response)
    results = items(field(response, "results"))
    if results is not None:
        invocation.attributes[attrs.LITELLM_MODERATION_FLAGGED] = any(
            field(result, "flagged") is True for result in results
        )
    record_litellm_facts(invocation.attributes, response)
