"""A fake, OpenAI-compatible LLM server that listens on the loopback interface.

Why this exists: the instrumentation has to be tested against the *real*
LiteLLM -> openai SDK -> httpx stack, because that is where response parsing,
streaming wrappers, retries and exception mapping happen.  Mocking LiteLLM
internals would test our assumptions instead of LiteLLM's behaviour, and the
test environment has no network besides loopback.  So we run a tiny HTTP
server in a daemon thread that speaks just enough of the OpenAI REST API and
returns fully deterministic payloads (ids, timestamps, token counts), which
makes span attributes predictable enough to assert on exactly.

The module is deliberately standard-library only so a demo script can reuse
it without pulling in test dependencies.

Behaviour is selected by the requested ``model`` (LiteLLM strips the
``openai/`` provider prefix before the request reaches us):

``gpt-4o-mini``
    Normal answer whose ``model`` is ``gpt-4o-mini-2024-07-18`` so that the
    response model differs from the request model.  Any other ordinary model
    name is echoed back unchanged.
``tool-model``
    A single ``get_weather`` tool call (streamed OpenAI-style when streaming).
``no-usage-model``
    A normal answer without any ``usage``.
``reasoning-model``
    Adds ``reasoning_content`` ("Thinking hard") before the normal content.
``error-<status>``
    An OpenAI-shaped JSON error with that HTTP status (400-599), e.g.
    ``error-500``, ``error-429`` (with ``retry-after: 0``), ``error-401``.
``leak-<shape>`` (optionally ``leak-<shape>-<status>``)
    Errors shaped like real providers' that echo what the client sent: the
    API key (full or masked), the auth headers, the request body.  See
    ``LEAK_SHAPES`` for the shapes and their default statuses; they exist so
    tests can prove no secret or prompt reaches telemetry from error text.
``leak-midstream``
    A chat stream that sends two chunks, then an error event quoting the key.
``slow-stream`` / ``drop-stream`` / ``long-stream``
    Streaming variants: 50 ms between chunks; connection dropped after two
    chunks; ``x-loopback-chunks`` (default 1000) one-character content chunks.
``cut-stream-<n>``
    A normal stream whose connection is dropped after ``n`` events, e.g.
    ``cut-stream-1`` after the role chunk (no content yet), ``cut-stream-2``
    after the first content chunk ("Hello").

Because a test may want a special behaviour while still sending an ordinary
model name (for example to assert on ``gen_ai.request.model``), the mode can
also be forced with the ``x-loopback-mode`` request header or a
``"loopback_mode"`` field in the JSON body (LiteLLM: ``extra_headers`` /
``extra_body``).  Those take precedence over the model name.  An
``x-loopback-reply`` header (URL-safe base64 of JSON ``{"status",
"content_type", "body"}``) makes any POST endpoint answer exactly that
(``encode_reply()`` builds it): the property tests send generated provider
error bodies this way.

Endpoints (all under ``base_url``, i.e. ``/v1``; every POST endpoint answers
an ``error-<status>`` mode with the error shape above).  The LiteLLM calls
below were checked against LiteLLM 1.106.2; ``B`` stands for
``api_base=srv.base_url, api_key="sk-test"``:

``POST /chat/completions``, ``POST /completions``
    ``litellm.completion`` / ``text_completion`` (``model="openai/<name>"``).
    ``text_completion`` only reaches ``/completions`` for models LiteLLM
    considers text-completion models (``openai/gpt-3.5-turbo-instruct``, or
    names it does not know, such as ``openai/error-429``); for chat models
    like ``openai/gpt-4o-mini`` it calls ``/chat/completions`` instead.
``POST /openai/deployments/<name>/chat/completions`` (and ``/embeddings``)
    Azure OpenAI's deployment paths (``model="azure/<name>"``, ``api_version``
    given, ``api_base`` the server's root without ``/v1``): answered like the
    plain ones (the deployment name selects the mode when the body names no
    model).  LiteLLM's Azure provider still calls the OpenAI SDK's resource
    methods, so SDK instrumentations see these calls.
``POST /model/<id>/converse``
    Amazon Bedrock's Converse API, as LiteLLM's Rust bridge sends it for
    ``litellm.transcription(model="bedrock/<id>", api_base=<server root>)``:
    one text block (``CONTENT``), usage 12 in / 5 out.
``POST /embeddings``
    ``litellm.embedding``; ``n`` inputs give ``n`` vectors of ``dimensions``
    (default 8) floats, or base64 when ``encoding_format="base64"``.
``POST /responses``
    ``litellm.responses(input=..., model="openai/gpt-4o-mini", max_retries=0,
    **B)``.  A ``response`` object (id ``resp_loopback_<n>``, model rewritten
    like chat, usage 12 in (4 cached) / 5 out (2 reasoning) / 17 total) whose
    ``output`` is one ``message`` (``msg_1``) with ``output_text``; ``tool-model``
    gives one ``function_call`` item (``fc_1`` / ``call_weather_1``) instead,
    ``reasoning-model`` puts a ``reasoning`` item (``rs_1``, summary "Thinking
    hard") first, ``no-usage-model`` sends ``"usage": null``.  With
    ``"stream": true`` the events are ``event: <type>`` + ``data: <json>``
    frames with a ``sequence_number`` from 0 and no ``[DONE]``:
    ``response.created``, ``response.in_progress``, then per output item
    ``response.output_item.added``, its content events
    (``content_part.added``, ``output_text.delta`` x3 "Hello" / " from" /
    " loopback", ``output_text.done``, ``content_part.done``; or
    ``function_call_arguments.delta`` x3 + ``.done``; or the
    ``reasoning_summary_part`` / ``reasoning_summary_text`` events),
    ``response.output_item.done``, and finally ``response.completed`` with
    the full response and usage.  ``slow-stream`` / ``drop-stream`` apply.
    Caveat: LiteLLM *fakes* Responses streaming (one non-streaming request,
    then synthesised events) for models missing from its cost map, e.g.
    ``openai/tool-model``.  To get the real SSE path with a special mode,
    send ``openai/gpt-4o-mini`` plus ``extra_headers={"x-loopback-mode": ...}``.
``POST /images/generations``
    ``litellm.image_generation(prompt=..., model="openai/gpt-image-1", n=2,
    max_retries=0, **B)``.  ``n`` images, each a 1x1 PNG as ``b64_json`` with
    ``revised_prompt`` "a cat", or ``{"url": "https://example.invalid/img.png"}``
    when ``response_format="url"``; ``usage`` is gpt-image-1's shape (10 in,
    20 out, 30 total, whatever ``n`` is).
``POST /rerank`` (also ``/v2/rerank``, and ``/v1/rerank`` behind ``/v1``)
    Cohere-style.  ``litellm.rerank(model="cohere/rerank-english-v3.0",
    query=..., documents=[...], top_n=2, **B)`` (no ``max_retries``) -- LiteLLM
    uses Cohere's v2 API, so the request path is ``/v1/v2/rerank``; the
    response keeps ``meta.billed_units.search_units`` (1), which LiteLLM
    prices.  ``hosted_vllm/<any name>`` (same kwargs) calls ``/v1/rerank``
    but LiteLLM rebuilds ``meta`` from ``usage.total_tokens`` (4 per
    document).  (``jina_ai/`` and ``together_ai/`` also reach ``/v1/rerank``;
    ``infinity/`` expects a different ``document`` shape and fails.)  Document
    ``i`` of ``n`` scores ``(i + 1) / (n + 1)``, so results come back in
    reverse input order; ``top_n`` truncates, ``return_documents`` adds
    ``{"document": {"text": ...}}``.  Id: ``rerank-loopback-<n>``.
``POST /audio/transcriptions`` (``multipart/form-data``)
    ``litellm.transcription(model="openai/whisper-1", file=("a.wav", b"..."),
    max_retries=0, **B)`` (or an open file / ``io.BytesIO``).  Recorded body:
    the form fields, with ``file`` as ``{"filename", "size"}``.  ``json``
    answers ``{"text": "Hello from loopback", "usage": {"type": "tokens",
    ...}}`` (7 in / 3 out / 10 total); ``verbose_json`` adds ``language``
    "english", ``duration`` 1.5, ``segments`` [] and has duration usage
    (2 seconds); ``text`` / ``srt`` / ``vtt`` answer plain text.  Note that
    LiteLLM itself sends ``response_format=verbose_json`` for ``whisper-1``.
``POST /audio/speech``
    ``litellm.speech(model="openai/tts-1", input=..., voice="alloy",
    max_retries=0, **B)``; the body is ``b"ID3"`` + 100 zero bytes,
    ``Content-Type: audio/mpeg``.
``POST /moderations``
    ``litellm.moderation(input=..., model="omni-moderation-latest", **B)``;
    ``amoderation`` accepts ``model="openai/omni-moderation-latest"``.  One
    unflagged result per input string (all categories false, small scores),
    id ``modr-loopback-<n>``, ``model`` echoed (``omni-moderation-latest``
    when none is sent).  The sync call forwards the model unstripped (so
    ``openai/...`` comes back verbatim) and neither call honours
    ``max_retries``: errors are tried 3 times unless an ``openai.OpenAI``
    ``client=`` with ``max_retries=0`` is passed.
``POST /messages`` (also ``/v1/messages``)
    Anthropic's Messages API path (``anthropic/<model>`` with ``api_base``
    without ``/v1``): only the error and ``leak-`` modes, in Anthropic's
    error shape; anything else is a 404.
``POST /vector_stores/<id>/search``
    OpenAI's vector store search, as ``litellm.vector_stores.search(vector_store_id=<id>,
    query=..., max_num_results=..., **B)`` sends it (provider ``openai``, the default).  The
    store id selects the mode (``error-<status>``, ``leak-<shape>``; or ``x-loopback-mode``).
    ``SEARCH_RESULTS`` results (``file-loopback-<i>``, scores 0.9 and 0.5, text
    ``chunk <i>``), cut to ``max_num_results``; ``search_query`` echoes the query.
``POST /search``
    Perplexity's Search API, as ``litellm.search(query=..., search_provider="perplexity",
    max_results=..., api_base=srv.base_url, api_key=...)`` sends it (it appends ``/search``);
    extra keyword arguments reach the body, so ``loopback_mode="error-500"`` selects a mode.
    ``SEARCH_RESULTS`` results (``https://loopback.invalid/<i>``, title ``Result <i>``),
    cut to ``max_results``.
``GET /models``
    The list of special model names (health checks).

Mode overrides do not reach every endpoint through LiteLLM: ``extra_headers``
works for chat, completions, embeddings, responses and images; ``rerank``
needs ``headers=`` instead; ``transcription`` needs ``extra_body`` (it turns
``extra_headers`` into a form field); ``speech`` and ``moderation`` forward
neither, so select their behaviour by model name (``openai/error-429``).

Example::

    with LoopbackLLMServer() as srv:
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            api_base=srv.base_url,
            api_key="sk-test",
        )
        assert srv.requests[0].body["model"] == "gpt-4o-mini"
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.support import loopback_surfaces as surfaces

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType

    #: What socketserver hands to the request hooks (TCP: a socket).
    _Request = socket.socket | tuple[bytes, socket.socket]
    #: ``(choice index, delta, finish_reason)`` for one streamed chat chunk.
    _Delta = tuple[int, "JSONDict", str | None]

__all__ = ["LEAK_SHAPES", "LoopbackLLMServer", "RecordedRequest", "encode_reply", "mask_key"]

JSONDict = dict[str, Any]

#: Fixed ``created`` timestamp so responses are byte-for-byte reproducible.
CREATED = 1700000000
SYSTEM_FINGERPRINT = "fp_loopback"
CONTENT = "Hello from loopback"
#: How ``CONTENT`` is split into stream deltas (joined they equal ``CONTENT``).
CONTENT_PIECES = ("Hello", " from", " loopback")
REASONING_PIECES = ("Thinking", " hard")
TOOL_CALL_ID = "call_weather_1"
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = '{"city": "Paris"}'
#: How ``TOOL_ARGUMENTS`` is split into stream deltas.
TOOL_ARGUMENT_PIECES = ('{"city"', ': "Par', 'is"}')
PROMPT_TOKENS = 12
COMPLETION_TOKENS_PER_CHOICE = 5
CACHED_TOKENS = 4
REASONING_TOKENS = 2
EMBEDDING_TOKENS_PER_INPUT = 3
DEFAULT_EMBEDDING_DIMENSIONS = 8
DEFAULT_LONG_STREAM_CHUNKS = 1000
SLOW_STREAM_DELAY_S = 0.05
#: Number of SSE events ``drop-stream`` delivers before killing the socket.
DROP_STREAM_AFTER = 2

# -- Responses API (``/responses``) --------------------------------------------
RESPONSE_MESSAGE_ID = "msg_1"
RESPONSE_FUNCTION_CALL_ID = "fc_1"
RESPONSE_REASONING_ID = "rs_1"

# -- images (``/images/generations``) ------------------------------------------
#: A valid 1x1 PNG, small enough to inline in every response.
IMAGE_PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
IMAGE_URL = "https://example.invalid/img.png"
IMAGE_REVISED_PROMPT = "a cat"
#: ``usage`` as gpt-image-1 reports it (fixed, whatever ``n`` is).
IMAGE_USAGE: JSONDict = {
    "input_tokens": 10,
    "output_tokens": 20,
    "total_tokens": 30,
    "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
}

# -- vector store search and web search ----------------------------------------
#: How many results a search answers with (fewer when the request asks for fewer).
SEARCH_RESULTS = 2
#: The score of each vector store result, in order.
SEARCH_SCORES = (0.9, 0.5)

# -- rerank (``/rerank``) ------------------------------------------------------
RERANK_TOKENS_PER_DOCUMENT = 4

# -- audio (``/audio/transcriptions``, ``/audio/speech``) ----------------------
#: Token usage for ``json`` transcriptions (the gpt-4o-transcribe shape).
TRANSCRIPTION_TOKEN_USAGE: JSONDict = {
    "type": "tokens",
    "input_tokens": 7,
    "input_token_details": {"text_tokens": 0, "audio_tokens": 7},
    "output_tokens": 3,
    "total_tokens": 10,
}
#: Duration usage for ``verbose_json`` transcriptions (the whisper-1 shape).
TRANSCRIPTION_DURATION_USAGE: JSONDict = {"type": "duration", "seconds": 2}
TRANSCRIPTION_LANGUAGE = "english"
TRANSCRIPTION_DURATION_S = 1.5
#: What ``/audio/speech`` returns: an ID3 tag header followed by silence.
SPEECH_AUDIO = b"ID3" + bytes(100)

# -- moderations (``/moderations``) --------------------------------------------
DEFAULT_MODERATION_MODEL = "omni-moderation-latest"
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

_ERROR_MODEL = re.compile(r"^error-(\d{3})$")
_CUT_STREAM_MODEL = re.compile(r"^cut-stream-(\d+)$")
#: ``type``/``code`` per status, in OpenAI's error shape.
#:
#: LiteLLM maps OpenAI errors by *substring* before it looks at the status:
#: any body mentioning ``invalid_request_error`` becomes ``BadRequestError``
#: (unless it also says "Incorrect API key provided" or ``model_not_found``).
#: So only 400 and 404 use that type; the others use types that let LiteLLM
#: fall through to its status-code mapping (401 -> AuthenticationError,
#: 403 -> PermissionDeniedError, ...).  Keep ``rate limit`` and a bare ``429``
#: out of non-429 bodies for the same reason.
_ERROR_KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_value"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    503: ("server_error", "service_unavailable"),
}


@dataclass
class RecordedRequest:
    """One request as the server saw it, so tests can assert on the wire format.

    ``headers`` keys are lower-cased because HTTP header names are
    case-insensitive and clients differ in the casing they send.  ``body`` is
    the parsed JSON object, or ``None`` when the body was empty or not a JSON
    object.  A ``multipart/form-data`` body (audio transcriptions) is recorded
    as a dict of its fields instead: text fields as strings (a list when a
    name repeats, e.g. ``timestamp_granularities[]``) and each file as
    ``{"filename": ..., "size": <bytes>}`` -- never the file content itself.
    ``query`` holds the raw query string (without ``?``), which is kept out of
    ``path`` so path assertions stay simple.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: JSONDict | None
    query: str = field(default="")


def _response_model(model: str) -> str:
    """Mimic OpenAI resolving an alias to a dated snapshot.

    Only ``gpt-4o-mini`` is rewritten, so tests can check that the
    instrumentation reports the *response* model separately from the request
    model while every other name round-trips unchanged.
    """
    return "gpt-4o-mini-2024-07-18" if model == "gpt-4o-mini" else model


def _choice_text(index: int) -> str:
    """Give every choice distinct text so ``n > 1`` results are distinguishable."""
    return CONTENT if index == 0 else f"{CONTENT} {index}"


def _choice_pieces(index: int) -> list[str]:
    """Stream deltas for choice ``index``; they concatenate to ``_choice_text``."""
    pieces = list(CONTENT_PIECES)
    if index:
        pieces.append(f" {index}")
    return pieces


def _finish_reason(index: int) -> str:
    """Alternate finish reasons so multi-choice tests see more than one value."""
    return "stop" if index % 2 == 0 else "length"


def _usage(n: int) -> JSONDict:
    """Return a fixed usage block including the *details* sub-objects.

    The details are included because cached/reasoning token counts are
    attributes the instrumentation is expected to surface.
    """
    completion_tokens = COMPLETION_TOKENS_PER_CHOICE * n
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": completion_tokens,
        "total_tokens": PROMPT_TOKENS + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS},
        "completion_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
    }


# Azure OpenAI puts the deployment in the path: /openai/deployments/<name>/chat/completions.
_AZURE_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)(?=/)")


# OpenAI's vector store search: /vector_stores/<store id>/search.
_VECTOR_STORE_SEARCH = re.compile(r"^/vector_stores/[^/]+/search$")


# Amazon Bedrock's Converse API: /model/<model id>/converse.
_BEDROCK_CONVERSE = re.compile(r"^/model/[^/]+/converse$")


def _route_of(path: str) -> str:
    """The OpenAI endpoint a request path names, with ``/v1`` or an Azure deployment stripped."""
    return _AZURE_DEPLOYMENT.sub("", path, count=1).removeprefix("/v1")


def _error_body(status: int) -> JSONDict:
    """Build an error in OpenAI's shape so the SDK maps it to its typed errors."""
    kind, code = _ERROR_KINDS.get(
        status,
        ("server_error", "server_error") if status >= 500 else ("api_error", "loopback_error"),
    )
    return {
        "error": {
            "message": f"loopback {status}",
            "type": kind,
            "param": None,
            "code": code,
        }
    }


_LEAK_MODEL = re.compile(r"^leak-([a-z]+)(?:-(\d{3}))?$")


def mask_key(key: str) -> str:
    """A key masked the way OpenAI's 401 shows it: a prefix, stars, the last four."""
    if len(key) <= 12:
        return key[:3] + "*" * max(len(key) - 5, 3) + key[-2:]
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def encode_reply(status: int, body: str, content_type: str = "application/json") -> str:
    """The ``x-loopback-reply`` header value that makes the server answer exactly this."""
    reply = {"status": status, "content_type": content_type, "body": body}
    return base64.urlsafe_b64encode(json.dumps(reply).encode()).decode("ascii")


def _presented_key(headers: dict[str, str]) -> str:
    """The credential the client sent, whichever header carried it."""
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return headers.get("api-key") or headers.get("x-api-key") or authorization


def _leak_body(shape: str, status: int, headers: dict[str, str], body: JSONDict | None) -> object:
    """An error body of ``shape`` echoing the key, the auth headers or the request.

    ``openai``: OpenAI's 401, key masked with its prefix and last four visible;
    ``vllm``: an OpenAI-compatible server quoting the whole key; ``headers``: a
    gateway echoing the request headers; ``azure``: Azure OpenAI's shape with the
    ``api-key`` header quoted; ``anthropic``: Anthropic's shape quoting ``x-api-key``;
    ``echo``: a server error quoting the request body and headers; ``text``: a
    plain-text body (``str``) with the ``Authorization`` header line.
    """
    key = _presented_key(headers)
    auth = {
        name: value
        for name, value in headers.items()
        if name in ("authorization", "api-key", "x-api-key", "x-goog-api-key")
    }
    if shape == "openai":
        return {
            "error": {
                "message": f"Incorrect API key provided: {mask_key(key)}. You can find your "
                "API key at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
    if shape == "vllm":
        return {
            "object": "error",
            "message": f"Unauthorized: API key {key!r} is not valid for this server",
            "type": "Unauthorized",
            "param": None,
            "code": status,
        }
    if shape == "headers":
        return {
            "error": {
                "message": f"request rejected by gateway; received headers {json.dumps(auth)}",
                "type": "gateway_error",
                "request_headers": auth,
            }
        }
    if shape == "azure":
        return {
            "error": {
                "code": str(status),
                "message": "Access denied due to invalid subscription key or wrong API endpoint. "
                f"Provided api-key: {headers.get('api-key', key)}",
            }
        }
    if shape == "anthropic":
        return {
            "type": "error",
            "error": {
                "type": "authentication_error",
                "message": f"invalid x-api-key {headers.get('x-api-key', key)}",
            },
        }
    if shape == "echo":
        return {
            "error": {
                "message": f"upstream failed while handling {json.dumps(body)}",
                "type": "server_error",
                "request": {"headers": auth, "body": body},
            }
        }
    # "text"
    return f"Unauthorized.\nAuthorization: {headers.get('authorization', key)}\n"


def _then_error(events: Iterator[JSONDict], error: JSONDict) -> Iterator[JSONDict]:
    """Two chunks of a stream, then an error event (what servers send when they fail mid-way)."""
    for _, event in zip(range(2), events, strict=False):
        yield event
    yield error


#: ``leak-<shape>`` → the status it answers with unless the mode names one.
LEAK_SHAPES: dict[str, int] = {
    "openai": 401,
    "vllm": 401,
    "headers": 401,
    "azure": 401,
    "anthropic": 401,
    "echo": 500,
    "text": 401,
}


def _embedding_inputs(raw: object) -> list[object]:
    """Normalise every input form the embeddings API accepts to a list.

    A string or a single token list (``list[int]``) is one input; a list of
    strings or of token lists is many.
    """
    if isinstance(raw, list):
        if raw and all(isinstance(item, int) for item in raw):
            return [raw]
        return list(raw)
    return [raw]


def _document_text(document: object) -> str:
    """Text of a rerank document: a string, or a dict's ``text`` (else its JSON)."""
    if isinstance(document, str):
        return document
    if isinstance(document, dict) and isinstance(document.get("text"), str):
        return document["text"]
    return json.dumps(document)


def _parse_multipart(raw: bytes, content_type: str) -> JSONDict | None:
    """Parse a ``multipart/form-data`` body into ``{field name: value}``.

    Text fields become strings (a list if the name repeats); files become
    ``{"filename": ..., "size": ...}`` so recorded requests never hold (or
    print) the uploaded bytes.  Returns ``None`` if there is no boundary.
    """
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        return None
    fields: JSONDict = {}
    for part in raw.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, sep, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        content = content.removesuffix(b"\r\n")
        part_headers = HeaderParser().parsestr(head.decode("utf-8", "replace") + "\r\n\r\n")
        name = part_headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part_headers.get_filename()
        value: object = (
            {"filename": filename, "size": len(content)}
            if filename is not None
            else content.decode("utf-8", "replace")
        )
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields


def _positive_int(value: object, default: int) -> int:
    """Parse a client-supplied count, falling back to ``default`` if unusable."""
    try:
        parsed = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default
    return parsed if parsed > 0 else default


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that can be stopped promptly despite keep-alive.

    ``block_on_close = False`` matters: by default ``server_close()`` joins
    every handler thread (daemon or not), and a handler parked on an idle
    keep-alive connection from an httpx pool would make that join hang.  Open
    connections are tracked so ``stop()`` can shut them down explicitly.
    """

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], owner: LoopbackLLMServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: _Request, client_address: tuple[Any, ...]) -> None:
        """Track the connection so it can be force-closed on stop."""
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: _Request) -> None:
        """Forget the connection once its handler is done with it."""
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: _Request, client_address: tuple[Any, ...]) -> None:
        """Stay quiet about clients hanging up; report real server bugs.

        Clients legitimately disconnect mid-stream (a test breaking out of an
        iteration, the ``drop-stream`` mode, ``stop()``), and those tracebacks
        would only be noise in the test output.
        """
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Per-connection request handler implementing the fake OpenAI API."""

    # HTTP/1.1 so clients keep connections alive (as they would against the
    # real API) and so streamed bodies can use chunked encoding, which lets the
    # client tell a complete stream from a dropped connection.
    protocol_version = "HTTP/1.1"
    server_version = "LoopbackLLM/1.0"
    sys_version = ""
    # Deliver each SSE event immediately instead of letting Nagle batch them.
    disable_nagle_algorithm = True
    # Idle keep-alive connections give up eventually even if never stopped.
    timeout = 30

    server: _Server
    #: The request being answered (set by ``_record``), for the modes that echo it.
    _request_headers: dict[str, str]
    _request_body: JSONDict | None

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request logging; it would flood the pytest output."""

    # -- entry points -----------------------------------------------------

    def do_POST(self) -> None:
        """Dispatch the OpenAI endpoints; everything else is a 404."""
        path, body = self._record()
        if body is None:
            self._send_json(400, _error_body(400))
            return
        route = _route_of(path)
        azure = _AZURE_DEPLOYMENT.match(path)
        if azure:
            # The deployment stands in for the model (and so selects the mode) when the body
            # names none.
            body.setdefault("model", azure.group(1))
        if route == "/chat/completions":
            self._completion(body, chat=True)
        elif route == "/completions":
            self._completion(body, chat=False)
        elif route == "/embeddings":
            self._embeddings(body)
        elif route == "/responses":
            self._responses(body)
        elif route == "/images/generations":
            self._images(body)
        # "/v1/rerank" after stripping means the client sent /v1/v1/rerank:
        # LiteLLM's cohere provider appends /v1/rerank to an api_base that
        # already ends in /v1.  "/v2/rerank" is Cohere's v2 path.
        elif route in ("/rerank", "/v1/rerank", "/v2/rerank"):
            self._rerank(body)
        elif route == "/audio/transcriptions":
            self._transcription(body)
        elif route == "/audio/speech":
            self._speech(body)
        elif route == "/moderations":
            self._moderations(body)
        elif _BEDROCK_CONVERSE.match(path):
            self._converse(body, model_id=path.split("/")[2])
        elif self._response_management(route):
            pass
        elif route == "/images/edits":
            self._images(body)
        elif route in ("/videos", "/ocr"):
            self._media_job(route, body)
        elif (gemini := surfaces.gemini_route(route)) is not None:
            self._gemini(*gemini)
        elif route in ("/messages", "/v1/messages"):
            self._anthropic_messages(body)
        elif _VECTOR_STORE_SEARCH.match(route):
            self._vector_store_search(body, store_id=route.split("/")[2])
        elif route == "/search":
            self._web_search(body)
        else:
            self._not_found(path)

    def do_GET(self) -> None:
        """Serve ``/v1/models`` (used by health checks); 404 otherwise."""
        path, _ = self._record()
        if self._response_management(_route_of(path)):
            return
        if path.removeprefix("/v1") == "/models":
            models = ["gpt-4o-mini", "tool-model", "no-usage-model", "reasoning-model"]
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": m,
                            "object": "model",
                            "created": CREATED,
                            "owned_by": "loopback",
                        }
                        for m in models
                    ],
                },
            )
        else:
            self._not_found(path)

    def do_PUT(self) -> None:
        """Record and reject: the fake API has no PUT endpoints."""
        self._not_found(self._record()[0])

    def do_PATCH(self) -> None:
        """Record and reject: the fake API has no PATCH endpoints."""
        self._not_found(self._record()[0])

    def do_DELETE(self) -> None:
        """Deleting a stored response; anything else is rejected."""
        path = self._record()[0]
        if not self._response_management(_route_of(path)):
            self._not_found(path)

    # -- request parsing --------------------------------------------------

    def _read_body(self) -> bytes:
        """Read the request body, honouring Content-Length or chunked encoding.

        The whole body must be consumed even if unused, otherwise leftover
        bytes would corrupt the next request on a keep-alive connection.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Skip optional trailers up to the terminating blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _record(self) -> tuple[str, JSONDict | None]:
        """Parse and record the request *before* any response is written.

        Recording first guarantees the request is visible to the test even if
        the response path fails or the client gives up.
        """
        path, _, query = self.path.partition("?")
        raw = self._read_body()
        body: JSONDict | None = None
        content_type = self.headers.get("Content-Type", "")
        if raw and content_type.lower().startswith("multipart/form-data"):
            body = _parse_multipart(raw, content_type)
        elif raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                body = parsed
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.server.owner._record(RecordedRequest(self.command, path, headers, body, query))
        self._request_headers = headers
        self._request_body = body
        return path, body

    def _mode(self, body: JSONDict) -> str:
        """Resolve the behaviour: explicit override first, then the model name."""
        override = body.get("loopback_mode") or self.headers.get("x-loopback-mode")
        return str(override or body.get("model") or "")

    # -- endpoints ----------------------------------------------------------

    def _completion(self, body: JSONDict, *, chat: bool) -> None:
        """Answer ``/chat/completions`` (``chat``) or legacy ``/completions``."""
        mode = self._mode(body)
        if self._maybe_error(mode):
            return
        model = _response_model(str(body.get("model") or ""))
        n = _positive_int(body.get("n"), 1)
        if mode == "tool-model":
            n = 1
        owner = self.server.owner
        response_id = f"{'chatcmpl' if chat else 'cmpl'}-loopback-{owner._next_id()}"
        with_usage = mode != "no-usage-model"
        if not body.get("stream"):
            if chat:
                payload = _chat_response(response_id, model, mode, n)
            else:
                payload = _text_response(response_id, model, n)
            if with_usage:
                payload["usage"] = _usage(n)
            self._send_json(200, payload)
            return
        stream_options = body.get("stream_options")
        include_usage = (
            with_usage
            and isinstance(stream_options, dict)
            and bool(stream_options.get("include_usage"))
        )
        if chat:
            events = _chat_stream(
                response_id,
                model,
                mode,
                n,
                include_usage=include_usage,
                long_chunks=_positive_int(
                    self.headers.get("x-loopback-chunks"), DEFAULT_LONG_STREAM_CHUNKS
                ),
            )
        else:
            events = _text_stream(response_id, model, n, include_usage=include_usage)
        if mode == "leak-midstream":
            error = _leak_body("vllm", 500, self._request_headers, body)
            events = _then_error(events, {"error": error})
        self._send_stream(events, mode)

    def _embeddings(self, body: JSONDict) -> None:
        """Answer ``/embeddings`` with deterministic vectors."""
        mode = self._mode(body)
        if self._maybe_error(mode):
            return
        inputs = _embedding_inputs(body.get("input"))
        dims = _positive_int(body.get("dimensions"), DEFAULT_EMBEDDING_DIMENSIONS)
        vector = [round(0.1 * (j + 1), 6) for j in range(dims)]
        # The openai SDK asks for base64 by default when used directly (and
        # decodes it itself); LiteLLM sends no encoding_format and gets floats.
        # Both must work, since both clients may sit in front of this server.
        as_base64 = body.get("encoding_format") == "base64"
        encoded: object = (
            base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode("ascii")
            if as_base64
            else vector
        )
        tokens = EMBEDDING_TOKENS_PER_INPUT * len(inputs)
        self._send_json(
            200,
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": encoded}
                    for i in range(len(inputs))
                ],
                "model": str(body.get("model") or ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _responses(self, body: JSONDict) -> None:
        """Answer the Responses API (``/responses``), streamed or not."""
        mode = self._mode(body)
        if self._maybe_error(mode):
            return
        model = _response_model(str(body.get("model") or ""))
        response_id = f"resp_loopback_{self.server.owner._next_id()}"
        usage = None if mode == "no-usage-model" else _responses_usage()
        if not body.get("stream"):
            self._send_json(
                200,
                _responses_object(
                    response_id,
                    model,
                    body,
                    status="completed",
                    output=_responses_output(mode),
                    usage=usage,
                ),
            )
            return
        events = _responses_stream(response_id, model, body, mode, usage)
        self._send_sse(
            (f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events),
            mode,
            done=None,  # the Responses API ends with response.completed, no [DONE]
        )

    def _images(self, body: JSONDict) -> None:
        """Answer ``/images/generations`` with ``n`` tiny images."""
        mode = self._mode(body)
        if self._maybe_error(mode):
            return
        n = _positive_int(body.get("n"), 1)
        image: JSONDict = (
            {"url": IMAGE_URL}
            if body.get("response_format") == "url"
            else {"b64_json": IMAGE_PNG_B64, "revised_prompt": IMAGE_REVISED_PROMPT}
        )
        self._send_json(
            200,
            {
                "created": CREATED,
                "data": [dict(image) for _ in range(n)],
                "usage": json.loads(json.dumps(IMAGE_USAGE)),
            },
        )

    def _rerank(self, body: JSONDict) -> None:
        """Answer Cohere-style ``/rerank``; later documents score higher.

        Document ``i`` of ``n`` scores ``(i + 1) / (n + 1)``, so results come
        back in *reverse* input order, which shows that the client keeps the
        server's ordering and uses ``index`` to map back to its documents.
        """
        mode = self._mode(body)
        if self._maybe_error(mode):
            return
        documents = body.get("documents")
        if not isinstance(documents, list):
            documents = []
        count = len(documents)
        results: list[JSONDict] = []
        for i in reversed(range(count)):
            result: JSONDict = {"index": i, "relevance_score": round((i + 1) / (count + 1), 6)}
            if body.get("return_documents"):
                result["document"] = {"text": _document_text(documents[i])}
            results.append(result)
        top_n = _positive_int(body.get("top_n"), count)
        tokens = RERANK_TOKENS_PER_DOCUMENT * count
        self._send_json(
            200,
            {
                "id": f"rerank-loopback-{self.server.owner._next_id()}",
                "model": str(body.get("model") or ""),
                "results": results[:top_n],
                "meta": {
                    "api_version": {"version": "1"},
                    "billed_units": {"search_units": 1},
                },
                # vLLM / Infinity report tokens here; Cohere ignores it.
                "usage": {"total_tokens": tokens},
            },
        )

    def _transcription(self, body: JSONDict) -> None:
        """Answer ``/audio/transcriptions`` (a multipart upload)."""
        mode = self._mode(body)
        if self._maybe_error(mode):
            return
        if not isinstance(body.get("file"), dict):
            payload = _error_body(400)
            payload["error"]["message"] = "loopback 400: no file uploaded"
            payload["error"]["param"] = "file"
            self._send_json(400, payload)
            return
        response_format = body.get("response_format") or "json"
        if response_format in ("text", "srt", "vtt"):
            text = {
                "text": f"{CONTENT}\n",
                "srt": f"1\n00:00:00,000 --> 00:00:01,500\n{CONTENT}\n\n",
                "vtt": f"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n{CONTENT}\n\n",
            }[response_format]
            self._send_bytes(200, text.encode(), "text/plain; charset=utf-8")
            return
        payload: JSONDict
        if response_format == "verbose_json":
            payload = {
                "task": "transcribe",
                "language": TRANSCRIPTION_LANGUAGE,
                "duration": TRANSCRIPTION_DURATION_S,
                "text": CONTENT,
                "segments": [],
                "usage": dict(TRANSCRIPTION_DURATION_USAGE),
            }
        else:
            payload = {"text": CONTENT, "usage": json.loads(json.dumps(TRANSCRIPTION_TOKEN_USAGE))}
        self._send_json(200, payload)

    def _speech(self, body: JSONDict) -> None:
        """Answer ``/audio/speech`` with a fixed, tiny "MP3"."""
        if self._maybe_error(self._mode(body)):
            return
        self._send_bytes(200, SPEECH_AUDIO, "audio/mpeg")

    def _converse(self, body: JSONDict, *, model_id: str) -> None:
        """Answer Bedrock's ``/model/<id>/converse`` with one text block and token usage (the
        model id is in the path, so it picks the mode: ``bedrock/error-429`` fails)."""
        if self._maybe_error(self._mode(body) or model_id):
            return
        self._send_json(
            200,
            {
                "output": {"message": {"role": "assistant", "content": [{"text": CONTENT}]}},
                "stopReason": "end_turn",
                "usage": {
                    "inputTokens": PROMPT_TOKENS,
                    "outputTokens": COMPLETION_TOKENS_PER_CHOICE,
                    "totalTokens": PROMPT_TOKENS + COMPLETION_TOKENS_PER_CHOICE,
                },
                "metrics": {"latencyMs": 1},
            },
        )

    def _vector_store_search(self, body: JSONDict, *, store_id: str) -> None:
        """Answer ``/vector_stores/<id>/search`` in OpenAI's shape."""
        override = body.get("loopback_mode") or self.headers.get("x-loopback-mode")
        if self._maybe_error(str(override or store_id)):
            return
        count = min(_positive_int(body.get("max_num_results"), SEARCH_RESULTS), SEARCH_RESULTS)
        self._send_json(
            200,
            {
                "object": "vector_store.search_results.page",
                "search_query": body.get("query"),
                "data": [
                    {
                        "file_id": f"file-loopback-{i + 1}",
                        "filename": f"doc-{i + 1}.txt",
                        "score": SEARCH_SCORES[i],
                        "attributes": {},
                        "content": [{"type": "text", "text": f"chunk {i + 1}"}],
                    }
                    for i in range(count)
                ],
                "has_more": False,
                "next_page": None,
            },
        )

    def _web_search(self, body: JSONDict) -> None:
        """Answer ``/search`` in Perplexity's Search API shape."""
        if self._maybe_error(self._mode(body)):
            return
        count = min(_positive_int(body.get("max_results"), SEARCH_RESULTS), SEARCH_RESULTS)
        self._send_json(
            200,
            {
                "id": f"search-loopback-{self.server.owner._next_id()}",
                "results": [
                    {
                        "title": f"Result {i + 1}",
                        "url": f"https://loopback.invalid/{i + 1}",
                        "snippet": f"snippet {i + 1}",
                        "date": "2024-01-01",
                    }
                    for i in range(count)
                ],
            },
        )

    def _moderations(self, body: JSONDict) -> None:
        """Answer ``/moderations``: nothing is ever flagged, one result per input."""
        # litellm.moderation() (sync) forwards the model *with* its provider
        # prefix, e.g. "openai/error-429"; still honour the error modes then.
        mode = self._mode(body).removeprefix("openai/")
        if self._maybe_error(mode):
            return
        raw = body.get("input")
        # A list of strings is many inputs; a list of content parts (omni
        # models' multimodal form) is a single input.
        count = len(raw) if isinstance(raw, list) and all(isinstance(x, str) for x in raw) else 1
        result: JSONDict = {
            "flagged": False,
            "categories": dict.fromkeys(MODERATION_CATEGORIES, False),
            "category_scores": {
                name: round(0.0001 * (k + 1), 6) for k, name in enumerate(MODERATION_CATEGORIES)
            },
            "category_applied_input_types": {name: ["text"] for name in MODERATION_CATEGORIES},
        }
        self._send_json(
            200,
            {
                "id": f"modr-loopback-{self.server.owner._next_id()}",
                "model": _response_model(str(body.get("model") or DEFAULT_MODERATION_MODEL)),
                "results": [json.loads(json.dumps(result)) for _ in range(max(count, 1))],
            },
        )

    def _send_reply(self, encoded: str) -> None:
        """Answer with the reply the client described (``x-loopback-reply``)."""
        reply = json.loads(base64.urlsafe_b64decode(encoded))
        self._send_bytes(
            int(reply["status"]), str(reply["body"]).encode(), str(reply["content_type"])
        )

    def _anthropic_messages(self, body: JSONDict) -> None:
        """Anthropic's ``/v1/messages``, errors in Anthropic's shape (see loopback_surfaces)."""
        mode = self._mode(body)
        match = _ERROR_MODEL.match(mode)
        if match:
            status = int(match.group(1))
            error = {"type": "api_error", "message": f"loopback {status}"}
            self._send_json(status, {"type": "error", "error": error})
            return
        if self._maybe_error(mode):
            return
        message_id = f"msg_loopback_{self.server.owner._next_id()}"
        model = str(body.get("model") or "")
        if body.get("stream"):
            self._send_sse(
                surfaces.anthropic_stream(message_id, model, CONTENT_PIECES), mode, done=None
            )
        else:
            self._send_json(200, surfaces.anthropic_message(message_id, model, CONTENT))

    def _gemini(self, model: str, stream: bool) -> None:
        """Gemini's ``generateContent`` / ``streamGenerateContent`` (model in the path)."""
        if self._maybe_error(model):
            return
        response_id = f"gemini-loopback-{self.server.owner._next_id()}"
        if stream:
            self._send_sse(
                surfaces.gemini_stream(response_id, model, CONTENT_PIECES), model, done=None
            )
        else:
            self._send_json(200, surfaces.gemini_response(response_id, model, CONTENT))

    def _media_job(self, route: str, body: JSONDict) -> None:
        """``/videos`` (a queued video job) and ``/ocr`` (one page), see loopback_surfaces."""
        mode = self._mode(body)
        if self._maybe_error(mode):
            return
        model = str(body.get("model") or "")
        if route == "/videos":
            job_id = f"video_loopback_{self.server.owner._next_id()}"
            self._send_json(200, surfaces.video_job(job_id, model, body))
        else:
            self._send_json(200, surfaces.ocr_pages(model))

    def _response_management(self, route: str) -> bool:
        """The Responses API's routes for a stored response; False when ``route`` is none."""
        found = surfaces.response_route(route)
        if found is None:
            return False
        response_id, rest = found
        status = surfaces.response_error(response_id)
        if status is not None:
            self._send_json(status, _error_body(status))
        elif self.command == "DELETE" and not rest:
            self._send_json(200, surfaces.deleted_response(response_id))
        elif self.command == "POST" and rest == "/cancel":
            self._send_json(200, _stored_response(response_id, status="cancelled"))
        elif self.command == "GET" and rest == "/input_items":
            self._send_json(200, surfaces.input_items(response_id))
        elif self.command == "GET" and not rest:
            self._send_json(200, _stored_response(response_id, status="completed"))
        else:
            self._not_found(self.path)
        return True

    # -- response writing ---------------------------------------------------

    def _maybe_error(self, mode: str) -> bool:
        """Send the error selected by an ``error-<status>`` or ``leak-<shape>`` mode, if any."""
        reply = self._request_headers.get("x-loopback-reply")
        if reply:
            self._send_reply(reply)
            return True
        leak = _LEAK_MODEL.match(mode)
        if leak and leak.group(1) in LEAK_SHAPES:
            shape = leak.group(1)
            status = int(leak.group(2) or LEAK_SHAPES[shape])
            payload = _leak_body(shape, status, self._request_headers, self._request_body)
            extra = {"retry-after": "0"} if status == 429 else None
            if isinstance(payload, str):
                self._send_bytes(status, payload.encode(), "text/plain; charset=utf-8", extra)
            else:
                self._send_json(status, payload, extra)
            return True
        match = _ERROR_MODEL.match(mode)
        if not match or not 400 <= int(match.group(1)) <= 599:
            return False
        status = int(match.group(1))
        # retry-after: 0 keeps SDK retries (if enabled) from sleeping.
        extra = {"retry-after": "0"} if status == 429 else None
        self._send_json(status, _error_body(status), extra)
        return True

    def _not_found(self, path: str) -> None:
        """Reply like OpenAI does for an unknown URL."""
        payload = _error_body(404)
        payload["error"]["message"] = f"loopback 404: unknown path {path}"
        payload["error"]["code"] = "unknown_url"
        self._send_json(404, payload)

    def _send_json(
        self,
        status: int,
        payload: JSONDict,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        """Write a complete JSON response with an exact Content-Length."""
        self._send_bytes(
            status, json.dumps(payload).encode("utf-8"), "application/json", extra_headers
        )

    def _send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        """Write a complete response of any media type with an exact Content-Length."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _send_stream(self, events: Iterator[JSONDict], mode: str) -> None:
        """Stream Chat/Completions-style SSE: ``data:`` lines, then ``[DONE]``."""
        self._send_sse(
            (f"data: {json.dumps(event)}\n\n".encode() for event in events),
            mode,
            done=b"data: [DONE]\n\n",
        )

    def _send_sse(self, frames: Iterator[bytes], mode: str, *, done: bytes | None) -> None:
        """Write pre-framed Server-Sent Events using chunked transfer encoding.

        ``done`` is an optional final frame (the ``[DONE]`` sentinel).  The
        ``slow-stream`` and ``drop-stream`` modes apply to every stream.

        Chunked encoding (rather than ``Connection: close``) is used because
        the terminating zero-length chunk marks a *complete* stream: httpx then
        ends iteration immediately and can reuse the connection, while a
        socket closed before that chunk (``drop-stream``) surfaces as an error
        in the client instead of looking like a normal end of stream.
        """
        delay = SLOW_STREAM_DELAY_S if mode == "slow-stream" else 0.0
        cut = _CUT_STREAM_MODEL.match(mode)
        drop_after = (
            int(cut.group(1)) if cut else DROP_STREAM_AFTER if mode == "drop-stream" else None
        )
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for sent, frame in enumerate(frames):
                if drop_after is not None and sent >= drop_after:
                    self._drop_connection()
                    return
                if sent and delay:
                    time.sleep(delay)
                self._write_chunk(frame)
            if done is not None:
                self._write_chunk(done)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            # The client went away mid-stream; nothing left to do.
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        """Frame ``data`` as one HTTP chunk, written in a single send."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _drop_connection(self) -> None:
        """Kill the socket mid-body with a TCP reset, like a network failure.

        ``SO_LINGER`` with a zero timeout makes ``close`` send RST instead of
        an orderly FIN, the closest stand-in for a dropped connection.
        """
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)


def _chat_response(response_id: str, model: str, mode: str, n: int) -> JSONDict:
    """Build a non-streaming ``chat.completion`` object (without usage)."""
    choices: list[JSONDict]
    if mode == "tool-model":
        choices = [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": TOOL_CALL_ID,
                            "type": "function",
                            "function": {
                                "name": TOOL_NAME,
                                "arguments": TOOL_ARGUMENTS,
                            },
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ]
    else:
        choices = []
        for i in range(n):
            message: JSONDict = {"role": "assistant", "content": _choice_text(i)}
            if mode == "reasoning-model":
                message["reasoning_content"] = "".join(REASONING_PIECES)
            choices.append(
                {
                    "index": i,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _finish_reason(i),
                }
            )
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
    }


def _text_response(response_id: str, model: str, n: int) -> JSONDict:
    """Build a non-streaming legacy ``text_completion`` object (without usage)."""
    return {
        "id": response_id,
        "object": "text_completion",
        "created": CREATED,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [
            {
                "text": _choice_text(i),
                "index": i,
                "logprobs": None,
                "finish_reason": _finish_reason(i) if n > 1 else "stop",
            }
            for i in range(n)
        ],
    }


def _chat_stream(
    response_id: str,
    model: str,
    mode: str,
    n: int,
    *,
    include_usage: bool,
    long_chunks: int,
) -> Iterator[JSONDict]:
    """Yield ``chat.completion.chunk`` objects in OpenAI's streaming order."""
    base: JSONDict = {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    deltas = _tool_call_deltas() if mode == "tool-model" else _content_deltas(mode, n, long_chunks)
    for index, delta, finish_reason in deltas:
        event: JSONDict = {
            **base,
            "choices": [
                {
                    "index": index,
                    "delta": delta,
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
        }
        if include_usage:
            # OpenAI sends "usage": null on every chunk once usage is requested.
            event["usage"] = None
        yield event
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(1 if mode == "tool-model" else n)}


def _tool_call_deltas() -> Iterator[_Delta]:
    """Stream one tool call the way OpenAI does: header first, then arguments."""
    yield (
        0,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": TOOL_CALL_ID,
                    "type": "function",
                    "function": {"name": TOOL_NAME, "arguments": ""},
                }
            ],
        },
        None,
    )
    for fragment in TOOL_ARGUMENT_PIECES:
        yield (
            0,
            {"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]},
            None,
        )
    yield 0, {}, "tool_calls"


def _content_deltas(mode: str, n: int, long_chunks: int) -> Iterator[_Delta]:
    """Stream text for ``n`` choices, interleaved step by step like OpenAI."""
    for i in range(n):
        yield i, {"role": "assistant", "content": ""}, None
    if mode == "reasoning-model":
        for piece in REASONING_PIECES:
            for i in range(n):
                yield i, {"reasoning_content": piece}, None
    if mode == "long-stream":
        pieces = [["x"] * long_chunks for _ in range(n)]
    else:
        pieces = [_choice_pieces(i) for i in range(n)]
    yield from _interleave(pieces, lambda text: {"content": text})
    for i in range(n):
        yield i, {}, _finish_reason(i)


def _interleave(pieces: list[list[str]], make_delta: Callable[[str], JSONDict]) -> Iterator[_Delta]:
    """Emit step 0 of every choice, then step 1, ... (choices may differ in length)."""
    for step in range(max(len(p) for p in pieces)):
        for i, choice_pieces in enumerate(pieces):
            if step < len(choice_pieces):
                yield i, make_delta(choice_pieces[step]), None


def _text_stream(
    response_id: str, model: str, n: int, *, include_usage: bool
) -> Iterator[JSONDict]:
    """Yield legacy ``text_completion`` stream events with ``text`` deltas."""

    def chunk(index: int, text: str, finish_reason: str | None = None) -> JSONDict:
        return {
            "id": response_id,
            "object": "text_completion",
            "created": CREATED,
            "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [
                {
                    "text": text,
                    "index": index,
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
        }

    pieces = [_choice_pieces(i) for i in range(n)]
    for i, delta, _ in _interleave(pieces, lambda text: {"text": text}):
        yield chunk(i, delta["text"])
    for i in range(n):
        yield chunk(i, "", _finish_reason(i) if n > 1 else "stop")
    if include_usage:
        event = chunk(0, "")
        event["choices"] = []
        event["usage"] = _usage(n)
        yield event


def _responses_usage() -> JSONDict:
    """Responses-API usage: the chat numbers under the Responses field names."""
    return {
        "input_tokens": PROMPT_TOKENS,
        "input_tokens_details": {"cached_tokens": CACHED_TOKENS},
        "output_tokens": COMPLETION_TOKENS_PER_CHOICE,
        "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS_PER_CHOICE,
    }


def _responses_output(mode: str) -> list[JSONDict]:
    """The completed ``output`` items for ``mode``."""
    items: list[JSONDict] = []
    if mode == "reasoning-model":
        items.append(
            {
                "type": "reasoning",
                "id": RESPONSE_REASONING_ID,
                "summary": [{"type": "summary_text", "text": "".join(REASONING_PIECES)}],
            }
        )
    if mode == "tool-model":
        items.append(
            {
                "type": "function_call",
                "id": RESPONSE_FUNCTION_CALL_ID,
                "call_id": TOOL_CALL_ID,
                "name": TOOL_NAME,
                "arguments": TOOL_ARGUMENTS,
                "status": "completed",
            }
        )
    else:
        items.append(
            {
                "type": "message",
                "id": RESPONSE_MESSAGE_ID,
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": CONTENT, "annotations": []}],
            }
        )
    return items


def _stored_response(response_id: str, *, status: str) -> JSONDict:
    """A stored response as the Responses API's management routes return it."""
    return _responses_object(
        response_id,
        surfaces.RESPONSE_MODEL,
        {},
        status=status,
        output=_responses_output(""),
        usage=_responses_usage(),
    )


def _responses_object(
    response_id: str,
    model: str,
    body: JSONDict,
    *,
    status: str,
    output: list[JSONDict],
    usage: JSONDict | None,
) -> JSONDict:
    """Build a ``response`` object; request parameters are echoed like OpenAI does."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_logprobs": 0,
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _responses_stream(
    response_id: str,
    model: str,
    body: JSONDict,
    mode: str,
    usage: JSONDict | None,
) -> Iterator[JSONDict]:
    """Yield Responses-API stream events, numbered by ``sequence_number``.

    Order as OpenAI sends it: ``response.created``, ``response.in_progress``,
    then per output item ``output_item.added`` ... ``output_item.done``, and
    finally ``response.completed`` carrying the full response and usage.
    """
    sequence = iter(range(1 << 62))

    def event(kind: str, **fields: object) -> JSONDict:
        return {"type": kind, "sequence_number": next(sequence), **fields}

    pending = _responses_object(
        response_id, model, body, status="in_progress", output=[], usage=None
    )
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    output = _responses_output(mode)
    for index, item in enumerate(output):
        where: JSONDict = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            yield event("response.content_part.added", **where, content_index=0, part=part)
            for piece in CONTENT_PIECES:
                yield event("response.output_text.delta", **where, content_index=0, delta=piece)
            yield event("response.output_text.done", **where, content_index=0, text=CONTENT)
            yield event(
                "response.content_part.done", **where, content_index=0, part=item["content"][0]
            )
        elif item["type"] == "function_call":
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for piece in TOOL_ARGUMENT_PIECES:
                yield event("response.function_call_arguments.delta", **where, delta=piece)
            yield event(
                "response.function_call_arguments.done",
                **where,
                name=TOOL_NAME,
                arguments=TOOL_ARGUMENTS,
            )
        else:  # reasoning
            yield event(
                "response.output_item.added", output_index=index, item={**item, "summary": []}
            )
            summary = {"type": "summary_text", "text": ""}
            yield event(
                "response.reasoning_summary_part.added", **where, summary_index=0, part=summary
            )
            for piece in REASONING_PIECES:
                yield event(
                    "response.reasoning_summary_text.delta", **where, summary_index=0, delta=piece
                )
            text = "".join(REASONING_PIECES)
            yield event("response.reasoning_summary_text.done", **where, summary_index=0, text=text)
            yield event(
                "response.reasoning_summary_part.done",
                **where,
                summary_index=0,
                part=item["summary"][0],
            )
        yield event("response.output_item.done", output_index=index, item=item)
    yield event(
        "response.completed",
        response=_responses_object(
            response_id, model, body, status="completed", output=output, usage=usage
        ),
    )


class LoopbackLLMServer:
    """Fake OpenAI-compatible server on a background thread, for tests and demos.

    ``port=0`` (the default) lets the OS choose a free port, so parallel test
    runs never collide.  Use it as a context manager or call ``start()`` /
    ``stop()`` explicitly (e.g. from a session-scoped fixture).

    ``requests`` lists every request received, in arrival order; ``clear()``
    empties it between tests.  The response-id counter is *not* reset by
    ``clear()``: ids are unique for the server's whole lifetime.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Remember where to listen; nothing is bound until ``start()``."""
        self._host = host
        self._requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._counter = 0
        self.requests: list[RecordedRequest] = []

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> LoopbackLLMServer:
        """Bind and start serving; returns ``self`` for one-line fixtures."""
        if self._server is not None:
            raise RuntimeError("LoopbackLLMServer is already running")
        server = _Server((self._host, self._requested_port), self)
        thread = threading.Thread(
            target=server.serve_forever,
            # A short poll interval keeps shutdown() (and thus stop()) fast.
            kwargs={"poll_interval": 0.05},
            name=f"loopback-llm-{server.server_address[1]}",
            daemon=True,
        )
        self._server = server
        self._thread = thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections; safe to call repeatedly."""
        server, thread = self._server, self._thread
        self._server = None
        self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> LoopbackLLMServer:
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving a ``with`` block, even after an exception."""
        self.stop()

    # -- addresses ------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (useful when the OS picked it)."""
        if self._server is None:
            raise RuntimeError("LoopbackLLMServer is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (ending in ``/v1``) to pass as ``api_base``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/v1"

    # -- recording ------------------------------------------------------------

    def clear(self) -> None:
        """Forget recorded requests (in place, so held references see it)."""
        with self._lock:
            self.requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        """Append from handler threads without racing ``clear()``."""
        with self._lock:
            self.requests.append(request)

    def _next_id(self) -> int:
        """Hand out 1, 2, 3, ... so response ids are deterministic."""
        with self._lock:
            self._counter += 1
            return self._counter
