"""Images and audio: ``image_generation``, ``transcription``, ``speech``.

The conventions name none of these operations, so they get documented names of our own
(``image_generation``, ``transcription``, ``speech``). Binary payloads are never recorded:
with content capture on, an image or audio part carries its MIME type and URL (when the
provider returned a URL) but never base64 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.types import (
    BlobPart,
    InputMessage,
    MessagePart,
    OutputMessage,
    TextPart,
)

from litellm_otel import _messages
from litellm_otel._access import field, integer, number
from litellm_otel._operations.facts import apply_usage, record_litellm_facts

_AUDIO_MIME = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def _user_text(text: Any) -> list[InputMessage]:
    if not isinstance(text, str):
        return []
    return [InputMessage(role="user", parts=[TextPart(content=text)])]


def apply_image_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    invocation.output_type = "image"
    count = integer(params.get("n"))
    if count is not None and count != 1:
        invocation.request_choice_count = count
    if capture_content:
        invocation.input_messages = _user_text(params.get("prompt"))


def apply_image_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    apply_usage(invocation, field(response, "usage"))
    record_litellm_facts(invocation.attributes, response)
    if not capture_content:
        return
    parts: list[MessagePart] = []
    for image in field(response, "data") or ():
        url = field(image, "url")
        if isinstance(url, str):  # some providers answer with a data URL here
            parts.append(_messages.media_part(url, "image"))
        elif field(image, "b64_json") is not None:
            parts.append(BlobPart(mime_type="image/png", modality="image", content=b""))
        revised = field(image, "revised_prompt")
        if isinstance(revised, str):
            parts.append(TextPart(content=revised))
    invocation.output_messages = [OutputMessage(role="assistant", parts=parts, finish_reason=None)]


def apply_transcription_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    invocation.temperature = number(params.get("temperature"))
    invocation.output_type = "text"
    if capture_content:
        parts: list[MessagePart] = [BlobPart(mime_type=None, modality="audio", content=b"")]
        prompt = params.get("prompt")
        if isinstance(prompt, str):
            parts.append(TextPart(content=prompt))
        invocation.input_messages = [InputMessage(role="user", parts=parts)]


def apply_transcription_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    apply_usage(invocation, field(response, "usage"))
    record_litellm_facts(invocation.attributes, response)
    if capture_content:
        text = field(response, "text")
        if isinstance(text, str):
            invocation.output_messages = [
                OutputMessage(role="assistant", parts=[TextPart(content=text)], finish_reason=None)
            ]


def apply_speech_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    invocation.output_type = "speech"
    if capture_content:
        invocation.input_messages = _user_text(params.get("input"))
        audio_format = params.get("response_format")
        mime = _AUDIO_MIME.get(audio_format if isinstance(audio_format, str) else "mp3")
        invocation.output_messages = [
            OutputMessage(
                role="assistant",
                parts=[BlobPart(mime_type=mime, modality="audio", content=b"")],
                finish_reason=None,
            )
        ]


def apply_speech_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    record_litellm_facts(invocation.attributes, response)
