"""``_operations/media.py`` alone: images, transcription and speech; never a payload's bytes."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.util.genai.types import (
    BlobPart,
    InputMessage,
    OutputMessage,
    TextPart,
    UriPart,
)

from litellm_otel._operations import media
from tests.support.invocations import Invocations, recorded

DRAW = "A lighthouse at dusk"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"prompt": DRAW, "n": 2}, {"output_type": "image", "request_choice_count": 2}),
        ({"prompt": DRAW, "n": 1}, {"output_type": "image"}),
        ({"prompt": DRAW, "n": "2"}, {"output_type": "image"}),
    ],
)
def test_image_request(made: Invocations, params: dict[str, Any], expected: Any) -> None:
    invocation = made.inference("image_generation")
    media.apply_image_request(invocation, params, False)
    assert recorded(invocation) == expected


def test_image_request_content(made: Invocations) -> None:
    invocation = made.inference("image_generation")
    media.apply_image_request(invocation, {"prompt": DRAW}, True)
    assert recorded(invocation) == {
        "output_type": "image",
        "input_messages": [InputMessage(role="user", parts=[TextPart(content=DRAW)])],
    }


IMAGES: dict[str, Any] = {
    "data": [
        {"url": "https://images.example.com/1.png", "revised_prompt": "A red lighthouse"},
        {"b64_json": "iVBORw0KGgo="},
        {"url": "data:image/jpeg;base64,/9j/4AAQ"},  # a data URL where a URL goes
    ],
    "usage": {"input_tokens": 10, "output_tokens": 4160},
    "_hidden_params": {"response_cost": 0.04},
}

IMAGES_FIELDS: dict[str, Any] = {
    "input_tokens": 10,
    "output_tokens": 4160,
    "attributes": {"litellm.response_cost": 0.04},
}


def test_image_response(made: Invocations) -> None:
    uncaptured = made.inference("image_generation")
    media.apply_image_response(uncaptured, IMAGES, False)
    assert recorded(uncaptured) == IMAGES_FIELDS
    captured = made.inference("image_generation")
    media.apply_image_response(captured, IMAGES, True)
    assert recorded(captured) == {
        **IMAGES_FIELDS,
        "output_messages": [
            OutputMessage(
                role="assistant",
                parts=[
                    UriPart(
                        mime_type=None, modality="image", uri="https://images.example.com/1.png"
                    ),
                    TextPart(content="A red lighthouse"),
                    BlobPart(mime_type="image/png", modality="image", content=b""),
                    BlobPart(mime_type="image/jpeg", modality="image", content=b""),
                ],
                finish_reason=None,
            )
        ],
    }


def test_transcription(made: Invocations) -> None:
    params = {"model": "whisper-1", "file": b"RIFF....", "prompt": "Names: Ada", "temperature": 0}
    response = {"text": "Ada said hi", "usage": {"input_tokens": 30, "output_tokens": 4}}
    uncaptured = made.inference("transcription")
    media.apply_transcription_request(uncaptured, params, False)
    media.apply_transcription_response(uncaptured, response, False)
    fields = {"temperature": 0.0, "output_type": "text", "input_tokens": 30, "output_tokens": 4}
    assert recorded(uncaptured) == fields
    captured = made.inference("transcription")
    media.apply_transcription_request(captured, params, True)
    media.apply_transcription_response(captured, response, True)
    assert recorded(captured) == {
        **fields,
        "input_messages": [
            InputMessage(
                role="user",
                parts=[
                    BlobPart(mime_type=None, modality="audio", content=b""),  # not the file
                    TextPart(content="Names: Ada"),
                ],
            )
        ],
        "output_messages": [
            OutputMessage(
                role="assistant", parts=[TextPart(content="Ada said hi")], finish_reason=None
            )
        ],
    }


@pytest.mark.parametrize(
    ("response_format", "mime"),
    [(None, "audio/mpeg"), ("wav", "audio/wav"), ("opus", "audio/opus"), ("xyz", None)],
)
def test_speech(made: Invocations, response_format: str | None, mime: str | None) -> None:
    params = {"model": "tts-1", "input": "Read me", "voice": "alloy"}
    if response_format is not None:
        params["response_format"] = response_format
    invocation = made.inference("speech")
    media.apply_speech_request(invocation, params, True)
    media.apply_speech_response(invocation, {"_hidden_params": {"response_cost": 1e-04}}, True)
    assert recorded(invocation) == {
        "output_type": "speech",
        "attributes": {"litellm.response_cost": 1e-04},
        "input_messages": [InputMessage(role="user", parts=[TextPart(content="Read me")])],
        "output_messages": [
            OutputMessage(
                role="assistant",
                parts=[BlobPart(mime_type=mime, modality="audio", content=b"")],
                finish_reason=None,
            )
        ],
    }


def test_speech_without_content(made: Invocations) -> None:
    invocation = made.inference("speech")
    media.apply_speech_request(invocation, {"input": "Read me"}, False)
    assert recorded(invocation) == {"output_type": "speech"}
