"""Every attribute and event name we write that the conventions (or the semconv package we
depend on) do not define, spelled once.

What LiteLLM knows and the conventions have no name for lives under ``litellm.*``. The list
is mirrored in docs/attributes.md and docs/proxy.md.
"""

from __future__ import annotations

from typing import Final

# -- on every GenAI span ------------------------------------------------------------------

#: LiteLLM's own provider id (``azure``, ``bedrock``, ``hosted_vllm``), kept next to the mapped
#: ``gen_ai.provider.name`` so users can filter by the name they configured.
LITELLM_PROVIDER: Final = "litellm.provider"
#: The model string exactly as the caller passed it (``openai/gpt-4o-mini``), recorded only
#: when it differs from ``gen_ai.request.model`` (the model as the provider sees it).
LITELLM_REQUEST_MODEL: Final = "litellm.request.model"
#: LiteLLM's computed cost of the call in USD; never a price list of ours.
LITELLM_RESPONSE_COST: Final = "litellm.response_cost"
#: True when LiteLLM's response cache answered the call.
LITELLM_CACHE_HIT: Final = "litellm.cache_hit"
#: True when the caller stopped reading a stream before its end (close, break, GC).
LITELLM_STREAM_CLOSED_EARLY: Final = "litellm.stream.closed_early"

#: Defined by the HTTP conventions; the semconv package keeps it in a module we do not load.
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"

# -- per surface --------------------------------------------------------------------------

#: rerank: how many documents were sent and how many results were asked for.
LITELLM_RERANK_DOCUMENT_COUNT: Final = "litellm.rerank.document_count"
LITELLM_RERANK_TOP_N: Final = "litellm.rerank.top_n"
#: moderation: true when any input was flagged.
LITELLM_MODERATION_FLAGGED: Final = "litellm.moderation.flagged"

# -- Router parent spans and their events -------------------------------------------------

ROUTER_MODEL_GROUP: Final = "litellm.router.model_group"
ROUTER_OPERATION: Final = "litellm.router.operation"
ROUTER_ATTEMPTS: Final = "litellm.router.attempts"
ROUTER_RETRIES: Final = "litellm.router.retries"
ROUTER_FALLBACKS: Final = "litellm.router.fallbacks"
ROUTER_FINAL_MODEL_GROUP: Final = "litellm.router.final_model_group"
ROUTER_DEPLOYMENT_MODEL: Final = "litellm.router.deployment.model"
ROUTER_DEPLOYMENT_PROVIDER: Final = "litellm.router.deployment.provider"
ROUTER_FROM_MODEL_GROUP: Final = "litellm.router.from_model_group"
ROUTER_TO_MODEL_GROUP: Final = "litellm.router.to_model_group"
ROUTER_RETRY_EVENT: Final = "litellm.router.retry"
ROUTER_FALLBACK_EVENT: Final = "litellm.router.fallback"

# -- LiteLLM Proxy ------------------------------------------------------------------------

#: The virtual key's alias (``key_alias``), the one name of a key that is meant to be shown.
PROXY_KEY_ALIAS: Final = "litellm.proxy.key_alias"
PROXY_TEAM_ID: Final = "litellm.proxy.team_id"
PROXY_TEAM_ALIAS: Final = "litellm.proxy.team_alias"
#: The internal user that owns the key.
PROXY_USER_ID: Final = "litellm.proxy.user_id"
#: The customer the request is for: the request's ``user`` field (or LiteLLM's end-user
#: header), as LiteLLM resolved it.
PROXY_END_USER_ID: Final = "litellm.proxy.end_user_id"
#: The ``model_list`` entry (``model_name``) the Router served the call from.
PROXY_MODEL_GROUP: Final = "litellm.proxy.model_group"
#: The ``model`` field of the client's request, before aliases and fallbacks.
PROXY_REQUESTED_MODEL: Final = "litellm.proxy.requested_model"
#: Why the proxy refused the request: ``auth``, ``budget``, ``rate_limit``, ``access``,
#: ``guardrail``, ``invalid_request`` or ``other``.
PROXY_REJECTION_REASON: Final = "litellm.proxy.rejection_reason"
