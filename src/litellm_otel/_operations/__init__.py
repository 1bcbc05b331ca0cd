"""One module per LiteLLM surface: pure mapping from call arguments and results to the
fields of a util-genai invocation. No span or context handling happens here, so each
mapping is unit-testable with plain dicts and LiteLLM objects.

:data:`SURFACES` names every LiteLLM function we wrap and how it maps; the wrappers,
the early-bound callback path and the docs' entry-point table all read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litellm_otel._operations import chat, embeddings, media, responses, retrieval

RequestMapper = Callable[[Any, Mapping[str, Any], bool], None]
ResponseMapper = Callable[[Any, Any, bool], None]


@dataclass(frozen=True)
class Surface:
    """How one family of LiteLLM calls maps onto a util-genai invocation."""

    operation_name: str  # gen_ai.operation.name
    apply_request: RequestMapper
    apply_response: ResponseMapper
    embedding: bool = False  # an embedding invocation instead of an inference one
    new_stream_state: Callable[[bool], Any] | None = None  # reader of streamed chunks


CHAT = Surface(
    "chat", chat.apply_request, chat.apply_response, new_stream_state=chat.ChatStreamState
)
TEXT_COMPLETION = Surface(
    "text_completion",
    chat.apply_text_request,
    chat.apply_text_response,
    new_stream_state=chat.ChatStreamState,
)
RESPONSES = Surface(
    "chat",
    responses.apply_request,
    responses.apply_response,
    new_stream_state=responses.ResponsesStreamState,
)
EMBEDDINGS = Surface(
    "embeddings", embeddings.apply_request, embeddings.apply_response, embedding=True
)
IMAGE_GENERATION = Surface(
    "image_generation", media.apply_image_request, media.apply_image_response
)
TRANSCRIPTION = Surface(
    "transcription", media.apply_transcription_request, media.apply_transcription_response
)
SPEECH = Surface("speech", media.apply_speech_request, media.apply_speech_response)
RERANK = Surface("rerank", retrieval.apply_rerank_request, retrieval.apply_rerank_response)
MODERATION = Surface(
    "moderation", retrieval.apply_moderation_request, retrieval.apply_moderation_response
)

# LiteLLM's public function name → (surface, is the function async).
SURFACES: dict[str, tuple[Surface, bool]] = {
    "completion": (CHAT, False),
    "acompletion": (CHAT, True),
    "completion_with_retries": (CHAT, False),
    "acompletion_with_retries": (CHAT, True),
    "text_completion": (TEXT_COMPLETION, False),
    "atext_completion": (TEXT_COMPLETION, True),
    "responses": (RESPONSES, False),
    "aresponses": (RESPONSES, True),
    "embedding": (EMBEDDINGS, False),
    "aembedding": (EMBEDDINGS, True),
    "image_generation": (IMAGE_GENERATION, False),
    "aimage_generation": (IMAGE_GENERATION, True),
    "transcription": (TRANSCRIPTION, False),
    "atranscription": (TRANSCRIPTION, True),
    "speech": (SPEECH, False),
    "aspeech": (SPEECH, True),
    "rerank": (RERANK, False),
    "arerank": (RERANK, True),
    "moderation": (MODERATION, False),
    "amoderation": (MODERATION, True),
}
