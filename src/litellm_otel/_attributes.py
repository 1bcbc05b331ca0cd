"""Attribute names that the GenAI conventions (or the semconv package we pin) do not define.

Everything LiteLLM knows that the conventions have no name for lives under ``litellm.*``;
keeping the names in one module keeps them documented and spelled once. The list is
mirrored in docs/attributes.md.
"""

from typing import Final

# LiteLLM's own provider id (``azure``, ``bedrock``, ``hosted_vllm``), kept next to the
# mapped ``gen_ai.provider.name`` so users can filter by the name they configured.
LITELLM_PROVIDER: Final = "litellm.provider"
# The model string exactly as the caller passed it (``openai/gpt-4o-mini``), recorded only
# when it differs from ``gen_ai.request.model`` (the model as the provider sees it).
LITELLM_REQUEST_MODEL: Final = "litellm.request.model"
# LiteLLM's computed cost of the call in USD; never our own price list.
LITELLM_RESPONSE_COST: Final = "litellm.response_cost"
# True when LiteLLM's response cache answered the call.
LITELLM_CACHE_HIT: Final = "litellm.cache_hit"
# True when the caller stopped reading a stream before its end (close, break, GC).
LITELLM_STREAM_CLOSED_EARLY: Final = "litellm.stream.closed_early"

# Defined by the conventions but not (yet) exported by opentelemetry-semantic-conventions.
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_REQUEST_REASONING_LEVEL: Final = "gen_ai.request.reasoning.level"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"

# rerank: how many documents were sent and how many results were asked for.
LITELLM_RERANK_DOCUMENT_COUNT: Final = "litellm.rerank.document_count"
LITELLM_RERANK_TOP_N: Final = "litellm.rerank.top_n"
# moderation: true when any input was flagged.
LITELLM_MODERATION_FLAGGED: Final = "litellm.moderation.flagged"
