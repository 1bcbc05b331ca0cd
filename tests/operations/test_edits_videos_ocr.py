"""``image_edit`` (``image_generation``), ``video_generation`` and ``ocr`` (``generate_content``):
one span per call, sync and async, against the loopback server (OCR goes through LiteLLM's Rust
extension where the release has it). None of them streams."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from packaging.version import Version

from tests.support import loopback_surfaces as wire
from tests.support.telemetry import API_KEY, Telemetry

VERSION = version("litellm")
PNG = b"\x89PNG\r\n\x1a\n"


def image() -> io.BytesIO:
    """An image file to edit (read once per call)."""
    return io.BytesIO(PNG)


DOCUMENT = {"type": "document_url", "document_url": "https://example.invalid/invoice.pdf"}


def available(name: str) -> Callable[..., Any]:
    function = vars(litellm).get(name)
    if function is None:
        # only the oldest tier's release lacks these; from the LTS tier on it is a failure
        if Version(VERSION) >= Version("1.108.14"):
            pytest.fail(f"LiteLLM {VERSION} has no litellm.{name}")
        pytest.skip(f"LiteLLM {VERSION} has no litellm.{name} (it came later)")
    return function  # type: ignore[no-any-return]


async def call(name: str, *args: Any, **kwargs: Any) -> Any:
    result = available(name)(*args, **kwargs)
    return await result if name.startswith("a") else result


def common(server: Any, operation: str, model: str, provider: str, litellm_model: str) -> dict:
    return {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "litellm.provider": litellm_model.partition("/")[0],
        "litellm.request.model": litellm_model,
    }


def attributes_of(span: Any) -> dict[str, Any]:
    """The span's attributes; LiteLLM's cost, which a sync call's logging thread may set on
    the response only after the call returned, is checked apart."""
    attributes = dict(span.attributes or {})
    cost = attributes.pop("litellm.response_cost", None)
    assert cost is None or cost > 0
    return attributes


@pytest.mark.parametrize("name", ["image_edit", "aimage_edit"])
async def test_image_edit_is_an_image_generation_span(
    traced: Telemetry, server: Any, name: str
) -> None:
    response = await call(
        name,
        image=image(),
        prompt="add a hat",
        model="openai/gpt-image-1",
        n=2,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    assert len(response.data) == 2
    assert [r.path for r in server.requests] == ["/v1/images/edits"]
    span = traced.only_span()
    assert (span.name, span.kind) == ("image_generation gpt-image-1", SpanKind.CLIENT)
    assert attributes_of(span) == {
        **common(server, "image_generation", "gpt-image-1", "openai", "openai/gpt-image-1"),
        "gen_ai.output.type": "image",
        "gen_ai.request.choice.count": 2,
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 20,
    }


def test_image_edit_positional_arguments_bind_by_its_signature(
    traced: Telemetry, server: Any
) -> None:
    available("image_edit")(
        image(), "add a hat", "openai/gpt-image-1", api_base=server.base_url, api_key=API_KEY
    )
    assert traced.only_span().name == "image_generation gpt-image-1"


@pytest.mark.parametrize("name", ["video_generation", "avideo_generation"])
async def test_video_generation_span_names_the_job(
    traced: Telemetry, server: Any, name: str
) -> None:
    job = await call(
        name, prompt="a cat", model="openai/sora-2", api_base=server.base_url, api_key=API_KEY
    )
    assert job.status == "queued"
    assert [r.path for r in server.requests] == ["/v1/videos"]
    span = traced.only_span()
    assert (span.name, span.kind) == ("video_generation sora-2", SpanKind.CLIENT)
    assert attributes_of(span) == {
        **common(server, "video_generation", "sora-2", "openai", "openai/sora-2"),
        "gen_ai.response.id": job.id,  # LiteLLM's encoding of the provider's job id
        "gen_ai.response.model": "sora-2",
    }


@pytest.mark.parametrize("name", ["ocr", "aocr"])
async def test_ocr_is_a_generate_content_span(traced: Telemetry, server: Any, name: str) -> None:
    response = await call(
        name,
        model="mistral/mistral-ocr-latest",
        document=DOCUMENT,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    assert response.pages[0].markdown == wire.OCR_MARKDOWN
    assert [r.path for r in server.requests] == ["/v1/ocr"]
    span = traced.only_span()
    assert (span.name, span.kind) == ("generate_content mistral-ocr-latest", SpanKind.CLIENT)
    assert attributes_of(span) == {
        **common(
            server,
            "generate_content",
            "mistral-ocr-latest",
            "mistral_ai",
            "mistral/mistral-ocr-latest",
        ),
        "gen_ai.output.type": "text",
        "gen_ai.response.model": "mistral-ocr-latest",
    }


def test_ocr_positional_arguments_bind_by_litellms_signature(
    traced: Telemetry, server: Any
) -> None:
    """``ocr`` takes ``(*args, **kwargs)``: positionals are named by LiteLLM's own binding."""
    available("ocr")(
        "mistral/mistral-ocr-latest", DOCUMENT, api_base=server.base_url, api_key=API_KEY
    )
    span = traced.only_span()
    assert span.attributes is not None
    assert span.attributes["gen_ai.request.model"] == "mistral-ocr-latest"


ERRORS: dict[str, Callable[[Any], Any]] = {
    "aimage_edit": lambda server: call(
        "aimage_edit",
        image=image(),
        prompt="p",
        model="openai/error-429",
        api_base=server.base_url,
        api_key=API_KEY,
    ),
    "video_generation": lambda server: call(
        "video_generation",
        prompt="p",
        model="openai/error-429",
        api_base=server.base_url,
        api_key=API_KEY,
    ),
    "ocr": lambda server: call(
        "ocr",
        model="mistral/error-429",
        document=DOCUMENT,
        api_base=server.base_url,
        api_key=API_KEY,
    ),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
async def test_provider_errors_are_recorded_as_for_chat(
    traced: Telemetry, server: Any, name: str
) -> None:
    with pytest.raises(litellm.RateLimitError):
        await ERRORS[name](server)
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.attributes["http.response.status_code"] == 429
    assert API_KEY not in span.to_json()


async def test_content_only_with_capture(instrument: Callable[..., Telemetry], server: Any) -> None:
    telemetry = instrument(capture_content=True)
    await call(
        "aocr",
        model="mistral/mistral-ocr-latest",
        document=DOCUMENT,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    await call(
        "avideo_generation",
        prompt="a cat",
        model="openai/sora-2",
        api_base=server.base_url,
        api_key=API_KEY,
    )
    ocr, video = telemetry.finished()
    assert json.loads(str((ocr.attributes or {})["gen_ai.input.messages"])) == [
        {
            "role": "user",
            "parts": [
                {
                    "type": "uri",
                    "modality": "document",
                    "uri": DOCUMENT["document_url"],
                    "mime_type": None,
                }
            ],
            "name": None,
        }
    ]
    assert json.loads(str((ocr.attributes or {})["gen_ai.output.messages"]))[0]["parts"] == [
        {"type": "text", "content": wire.OCR_MARKDOWN}
    ]
    assert "a cat" in str((video.attributes or {})["gen_ai.input.messages"])


async def test_no_content_without_capture(traced: Telemetry, server: Any) -> None:
    await call(
        "aocr",
        model="mistral/mistral-ocr-latest",
        document=DOCUMENT,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    assert not [name for name in traced.only_span().attributes or {} if "messages" in name]


async def test_ocr_has_no_finish_reasons_in_either_mode(
    instrument: Callable[..., Telemetry], server: Any, conventions_mode: str
) -> None:
    """OCR is a ``generate_content`` operation, but its reply is pages, not choices: the latest
    mode's ``error`` for a choice without a finish reason does not apply, succeeded or failed.
    A chat call in the same mode still gets it (the rule is per surface, not per mode)."""
    telemetry = instrument()
    await call(
        "aocr",
        model="mistral/mistral-ocr-latest",
        document=DOCUMENT,
        api_base=server.base_url,
        api_key=API_KEY,
    )
    with pytest.raises(litellm.RateLimitError):
        await ERRORS["ocr"](server)
    with pytest.raises(litellm.RateLimitError):
        await litellm.acompletion(
            model="openai/error-429",
            messages=[{"role": "user", "content": "hi"}],
            api_base=server.base_url,
            api_key=API_KEY,
            max_retries=0,
        )
    ocr, failed_ocr, chat = telemetry.finished()
    assert [span.status.status_code for span in (ocr, failed_ocr, chat)] == [
        StatusCode.UNSET,
        StatusCode.ERROR,
        StatusCode.ERROR,
    ]
    assert "gen_ai.response.finish_reasons" not in (ocr.attributes or {})
    assert "gen_ai.response.finish_reasons" not in (failed_ocr.attributes or {})
    assert (chat.attributes or {}).get("gen_ai.response.finish_reasons") == (
        ("error",) if conventions_mode == "latest" else None
    )
