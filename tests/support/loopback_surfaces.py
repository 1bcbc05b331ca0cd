"""Payloads of the loopback server's native-API endpoints beyond OpenAI's chat family:
Anthropic's Messages API, and the Responses API's management routes.

Kept apart from :mod:`tests.support.loopback_server` (which routes to them) so that each
surface's wire format reads in one place. Standard library only, like the server.

``POST /v1/messages`` (``anthropic/<model>``, ``api_base`` the server's root)
    One text block ``CONTENT``; id ``msg_loopback_<n>``; ``model`` echoed; ``stop_reason``
    ``end_turn``; usage 8 input + 4 cache read + 0 cache write, 5 output (what the
    conventions count as 12 input tokens). With ``"stream": true``: Anthropic's SSE events
    (``message_start`` with the input usage, one text block as three ``text_delta``s,
    ``message_delta`` with ``stop_reason`` and 5 output tokens, ``message_stop``).
``GET /v1/responses/<id>``, ``DELETE /v1/responses/<id>``, ``POST /v1/responses/<id>/cancel``,
``GET /v1/responses/<id>/input_items``
    The stored response ``<id>`` (shaped like ``POST /responses``' answer: model
    ``gpt-4o-mini-2024-07-18``, status ``completed``, usage 12 / 5, which a fetch must not
    report), ``{"id", "object": "response", "deleted": true}``,
    the response with status ``cancelled``, and a one-item list. An id ``resp_error-<status>``
    answers that error.
``POST /v1/images/edits`` (multipart)
    Answered like ``/images/generations``.
``POST /v1/videos``
    A queued video job: id ``video_loopback_<n>``, ``model`` echoed, ``status`` ``queued``,
    ``seconds`` / ``size`` echoed when sent.
``POST /v1/models/<model>:generateContent`` (``:streamGenerateContent``, ``?alt=sse``)
    Gemini's API (``gemini/<model>``, ``api_base`` the server's ``/v1``): one candidate
    ``CONTENT``, ``finishReason`` ``STOP``, usage 12 prompt (4 cached) / 5 candidates / 2
    thoughts, ``responseId`` ``gemini-loopback-<n>``, ``modelVersion`` the model. Streamed:
    one ``data:`` event per piece, the last with ``finishReason`` and the usage.
``POST /v1/ocr`` (Mistral's OCR API)
    One page of markdown (``OCR_MARKDOWN``), ``model`` echoed, ``usage_info`` 1 page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

JSONDict = dict[str, Any]

ANTHROPIC_INPUT_TOKENS = 8
ANTHROPIC_CACHE_READ_TOKENS = 4
ANTHROPIC_OUTPUT_TOKENS = 5
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
_RESPONSE_PATH = re.compile(r"^/responses/(?P<id>[^/]+)(?P<rest>/cancel|/input_items)?$")
_ERROR_ID = re.compile(r"^resp_error-(\d{3})$")


def anthropic_usage(*, output: int) -> JSONDict:
    return {
        "input_tokens": ANTHROPIC_INPUT_TOKENS,
        "cache_read_input_tokens": ANTHROPIC_CACHE_READ_TOKENS,
        "cache_creation_input_tokens": 0,
        "output_tokens": output,
    }


def anthropic_message(message_id: str, model: str, content: str) -> JSONDict:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": content}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": anthropic_usage(output=ANTHROPIC_OUTPUT_TOKENS),
    }


def anthropic_stream(message_id: str, model: str, pieces: tuple[str, ...]) -> Iterator[bytes]:
    start = anthropic_message(message_id, model, "")
    start.update(content=[], stop_reason=None, usage=anthropic_usage(output=1))
    events: list[JSONDict] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
            for p in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": ANTHROPIC_OUTPUT_TOKENS},
        },
        {"type": "message_stop"},
    ]
    for event in events:
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def response_route(route: str) -> tuple[str, str] | None:
    """``(response id, "" | "/cancel" | "/input_items")`` for a management route."""
    match = _RESPONSE_PATH.match(route)
    if match is None:
        return None
    return match.group("id"), match.group("rest") or ""


def response_error(response_id: str) -> int | None:
    match = _ERROR_ID.match(response_id)
    return int(match.group(1)) if match else None


def deleted_response(response_id: str) -> JSONDict:
    return {"id": response_id, "object": "response", "deleted": True}


def input_items(response_id: str) -> JSONDict:
    item = {
        "id": "msg_in_1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hi"}],
    }
    return {
        "object": "list",
        "data": [item],
        "first_id": "msg_in_1",
        "last_id": "msg_in_1",
        "has_more": False,
    }


OCR_MARKDOWN = "# Invoice 42"


def video_job(job_id: str, model: str, body: JSONDict) -> JSONDict:
    return {
        "id": job_id,
        "object": "video",
        "model": model,
        "status": "queued",
        "progress": 0,
        "created_at": 1700000000,
        "seconds": str(body.get("seconds") or "4"),
        "size": str(body.get("size") or "720x1280"),
    }


def ocr_pages(model: str) -> JSONDict:
    return {
        "pages": [
            {
                "index": 0,
                "markdown": OCR_MARKDOWN,
                "images": [],
                "dimensions": {"dpi": 200, "height": 2200, "width": 1700},
            }
        ],
        "model": model,
        "document_annotation": None,
        "usage_info": {"pages_processed": 1, "doc_size_bytes": 1024},
    }


_GEMINI_ROUTE = re.compile(
    r"^/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$"
)
GEMINI_USAGE: JSONDict = {
    "promptTokenCount": 12,
    "cachedContentTokenCount": 4,
    "candidatesTokenCount": 5,
    "thoughtsTokenCount": 2,
    "totalTokenCount": 19,
}


def gemini_route(route: str) -> tuple[str, bool] | None:
    """``(model, streamed)`` for Gemini's routes."""
    match = _GEMINI_ROUTE.match(route)
    if match is None:
        return None
    return match.group("model"), match.group("method") == "streamGenerateContent"


def _gemini_chunk(response_id: str, model: str, text: str, *, last: bool) -> JSONDict:
    candidate: JSONDict = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    chunk: JSONDict = {"candidates": [candidate], "responseId": response_id, "modelVersion": model}
    if last:
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = dict(GEMINI_USAGE)
    return chunk


def gemini_response(response_id: str, model: str, content: str) -> JSONDict:
    return _gemini_chunk(response_id, model, content, last=True)


def gemini_stream(response_id: str, model: str, pieces: tuple[str, ...]) -> Iterator[bytes]:
    for number, piece in enumerate(pieces, start=1):
        chunk = _gemini_chunk(response_id, model, piece, last=number == len(pieces))
        yield f"data: {json.dumps(chunk)}\n\n".encode()
