"""Video generation and OCR: ``video_generation`` (operation ``video_generation``, a name of
ours like the other media ones) and ``ocr`` (``generate_content``: text generated from a
document).

A video call starts a job: the reply is the job (its id, status, model), never the video,
so nothing binary is ever read. An OCR reply's pages are markdown: recorded as the answer's
text only with content capture on. Neither reports tokens; LiteLLM's cost is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.types import InputMessage, MessagePart, OutputMessage, TextPart

from litellm_otel import _messages
from litellm_otel._access import field
from litellm_otel._operations.facts import apply_identity, record_litellm_facts


def apply_video_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    if capture_content:
        prompt = params.get("prompt")
        if isinstance(prompt, str):
            invocation.input_messages = [
                InputMessage(role="user", parts=[TextPart(content=prompt)])
            ]


def apply_video_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    """The job LiteLLM started: its id (LiteLLM's encoding of the provider's) and model."""
    apply_identity(invocation, response)
    record_litellm_facts(invocation.attributes, response)


def apply_ocr_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    invocation.output_type = "text"
    if capture_content:
        invocation.input_messages = [
            InputMessage(role="user", parts=_document_parts(params.get("document")))
        ]


def _document_parts(document: Any) -> list[MessagePart]:
    """Mistral's document shapes: a URL (``document_url`` / ``image_url``), or inline data,
    of which only the kind is kept."""
    kind = field(document, "type")
    if kind in ("document_url", "image_url"):
        value = field(document, kind)
        modality = "image" if kind == "image_url" else "document"
        if isinstance(value, str):
            return [_messages.media_part(value, modality)]
    return []


def apply_ocr_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    model = field(response, "model")
    if isinstance(model, str):
        invocation.response_model_name = model
    record_litellm_facts(invocation.attributes, response)
    if capture_content:
        pages = [
            TextPart(content=markdown)
            for page in field(response, "pages") or ()
            if isinstance(markdown := field(page, "markdown"), str)
        ]
        invocation.output_messages = [
            OutputMessage(role="assistant", parts=list[MessagePart](pages), finish_reason=None)
        ]
