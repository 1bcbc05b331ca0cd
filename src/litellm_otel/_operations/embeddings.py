"""``embedding`` / ``aembedding``: request arguments and responses → embedding fields.

Input text and vectors are never recorded: the conventions define no content attribute
for embeddings, and vectors are large and can be inverted back to text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from opentelemetry.util.genai.invocation import EmbeddingInvocation

from litellm_otel._access import field, integer
from litellm_otel._operations.facts import record_litellm_facts, usage_counts


def apply_request(
    invocation: EmbeddingInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    encoding_format = params.get("encoding_format")
    if isinstance(encoding_format, str):
        invocation.encoding_formats = [encoding_format]
    dimensions = integer(params.get("dimensions"))
    if dimensions is not None:
        invocation.dimension_count = dimensions


def apply_response(invocation: EmbeddingInvocation, response: Any, capture_content: bool) -> None:
    model = field(response, "model")
    if isinstance(model, str):
        invocation.response_model_name = model
    if invocation.dimension_count is None:
        data = field(response, "data")
        if data:
            vector = field(data[0], "embedding")
            if isinstance(vector, list):
                invocation.dimension_count = len(cast("list[Any]", vector))
    counts = usage_counts(field(response, "usage"))
    if "input" in counts:
        invocation.input_tokens = counts["input"]
    record_litellm_facts(invocation.attributes, response)
