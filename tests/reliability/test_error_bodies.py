"""Property-based tests: whatever a provider's error body says, no key (and, with content
capture off, no prompt) reaches telemetry, and the caller still gets LiteLLM's exception.

Why: providers put into their errors what they were sent, each in its own shape (OpenAI,
Anthropic, Azure, vLLM and gateway JSON, nested request echoes, plain text, HTML pages), with
the key whole, masked with its prefix or last four visible, or inside echoed headers, and the
prompt whole, escaped or cut short. The example tests (tests/test_errors.py) cover the shapes
seen in the wild; these generate combinations of them:

1. :func:`test_scrubbed_error_text_holds_no_key_or_prompt`: the scrubber alone, on error texts
   built the way LiteLLM builds them (its message prefix, the body as JSON or as a Python
   repr, its ``Received Messages=`` echo), with capture off and on.
2. :func:`test_provider_error_bodies_leak_nothing`: real LiteLLM calls (completion, streamed
   completion, embedding, text completion, Responses) against the loopback server answering
   with a generated body (``x-loopback-reply``), asserting over every exported span, event,
   status, metric point and log record, capture off and on.

``PROPERTY_SCALE=20`` searches twenty times harder.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode

from litellm_otel._redaction import Redaction
from tests.support.leaks import key_forms, leaks
from tests.support.loopback_server import LoopbackLLMServer, encode_reply
from tests.support.telemetry import Telemetry

SCALE = float(os.environ.get("PROPERTY_SCALE", "1"))
#: Examples per test; docs/reliability.md quotes these corpus sizes.
SCRUBBER_EXAMPLES = 600
CALL_EXAMPLES = 40


def examples(count: int) -> int:
    return max(1, round(count * SCALE))


SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- what a provider might be sent ------------------------------------------------------------

_TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_HEX = "0123456789abcdef"


def _token(alphabet: str, low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=low, max_size=high)


#: Keys as providers issue them (all of them valid in an HTTP header).
keys = st.one_of(
    st.builds(lambda t: f"sk-proj-{t}", _token(_TOKEN + "-_", 24, 64)),
    st.builds(lambda t: f"sk-ant-api03-{t}", _token(_TOKEN + "-_", 24, 64)),
    st.builds(lambda t: f"sk-{t}", _token(_TOKEN, 20, 48)),  # LiteLLM virtual keys
    st.builds(lambda t: f"AIza{t}", _token(_TOKEN + "-_", 35, 35)),
    _token(_HEX, 32, 32),  # Azure
    st.builds(lambda t: f"gsk_{t}", _token(_TOKEN, 40, 52)),
    _token(_TOKEN + "-_.~+/=", 16, 64).filter(lambda k: k[:1].isalnum()),  # self-hosted
)

#: Prompt text around a distinctive core (what a test can look for without false alarms).
_prose = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40
) | st.sampled_from(["", "What is the weather in Paris? ", 'He said "hi"\n', "l'été — 東京 "])
prompts = st.builds(
    lambda before, core, after: f"{before}secret-{core}{after}",
    _prose,
    _token(_HEX, 10, 10),
    _prose,
)


def key_fragment(key: str, kind: str) -> str:
    """The key as a provider's error shows it."""
    return {
        "full": key,
        "openai-masked": f"{key[:8]}{'*' * max(len(key) - 12, 3)}{key[-4:]}",
        "stars-tail": f"****{key[-4:]}",
        "prefix-dots": f"{key[:10]}...",
        "prefix-ellipsis-tail": f"{key[:7]}…{key[-4:]}",
        "bearer": f"Bearer {key}",
        "header-line": f"Authorization: Bearer {key}",
        "header-json": json.dumps({"authorization": f"Bearer {key}"}),
        "api-key-json": json.dumps({"api-key": key}),
        "x-api-key-repr": repr({"x-api-key": key}),
        "query": f"GET /v1/models?key={key}&alt=json",
        "quoted": f"API key {key!r} is not valid",
    }[kind]


KEY_KINDS = [
    *("full", "openai-masked", "stars-tail", "prefix-dots", "prefix-ellipsis-tail", "bearer"),
    *("header-line", "header-json", "api-key-json", "x-api-key-repr", "query", "quoted"),
]


def prompt_fragment(prompt: str, kind: str, cut: int) -> str:
    """The prompt as an error shows it: whole, cut short after the core, as LiteLLM's
    ``Received Messages=`` echo, as a quoted request body."""
    core_end = prompt.index("secret-") + len("secret-") + 10
    messages = [{"role": "user", "content": prompt}]
    return {
        "whole": prompt,
        "cut": prompt[: max(core_end, min(cut, len(prompt)))],
        "received": f"\nReceived Messages={messages}",
        "debug": f"\nMessages: `{str(messages)[: max(cut, core_end + 40)]}`",
        "body-json": json.dumps({"model": "m", "messages": messages}),
        "body-repr": repr({"model": "m", "messages": messages}),
    }[kind]


PROMPT_KINDS = ["whole", "cut", "received", "debug", "body-json", "body-repr"]

_noise = st.sampled_from(
    [
        "Incorrect API key provided",
        "You can find your API key at https://platform.openai.com/account/api-keys.",
        "Rate limit reached for requests",
        "The server had an error while processing your request.",
        "request_id: req_0123456789abcdef",
        "⚠ überlastet",
        "",
    ]
)


@st.composite
def messages(draw: st.DrawFn, key: str, prompt: str) -> str:
    """An error message made of provider prose, key fragments and prompt fragments."""
    pieces = draw(st.lists(_noise, max_size=3))
    for kind in draw(st.lists(st.sampled_from(KEY_KINDS), min_size=1, max_size=3)):
        pieces.insert(draw(st.integers(0, len(pieces))), key_fragment(key, kind))
    for kind in draw(st.lists(st.sampled_from(PROMPT_KINDS), max_size=2)):
        cut = draw(st.integers(0, 200))
        pieces.insert(draw(st.integers(0, len(pieces))), prompt_fragment(prompt, kind, cut))
    return draw(st.sampled_from([" ", "; ", "\n", " - "])).join(pieces)


def body_of(shape: str, status: int, message: str, key: str, prompt: str) -> tuple[str, str]:
    """``(body, content type)`` of an error reply in one provider's shape."""
    request = {"messages": [{"role": "user", "content": prompt}], "model": "m"}
    shapes: dict[str, Any] = {
        "openai": {"error": {"message": message, "type": "invalid_request_error", "code": None}},
        "anthropic": {"type": "error", "error": {"type": "api_error", "message": message}},
        "azure": {"error": {"code": str(status), "message": message}},
        "vllm": {"object": "error", "message": message, "type": "BadRequestError", "code": status},
        "nested": {
            "error": {
                "message": message,
                "details": [{"request": {"headers": {"authorization": f"Bearer {key}"}}}],
                "request_body": request,
            }
        },
        "bare": {"detail": message, "status": status},
    }
    if shape == "text":
        return message, "text/plain; charset=utf-8"
    if shape == "html":
        return f"<html><body><h1>{status}</h1><p>{message}</p></body></html>", "text/html"
    return json.dumps(shapes[shape]), "application/json"


SHAPES = ["openai", "anthropic", "azure", "vllm", "nested", "bare", "text", "html"]
STATUSES = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529]


def distinct(key: str, prompt: str) -> bool:
    """Whether no piece of the key is also a piece of the prompt (a 20-zero key and a prompt
    of zeros would make kept content look like a leaked key)."""
    return not any(form in prompt for form in key_forms(key)) and key[-4:] not in prompt


def forbidden_prompt(prompt: str) -> list[str]:
    core = prompt[prompt.index("secret-") : prompt.index("secret-") + len("secret-") + 10]
    return [prompt, core]


# --- 1. the scrubber on error texts as LiteLLM builds them ----------------------------------


@st.composite
def error_texts(draw: st.DrawFn) -> tuple[str, str, str]:
    key = draw(keys)
    prompt = draw(prompts)
    message = draw(messages(key, prompt))
    shape = draw(st.sampled_from(SHAPES))
    body, content_type = body_of(shape, draw(st.sampled_from(STATUSES)), message, key, prompt)
    form = draw(st.sampled_from(["json", "repr", "message"]))
    if form == "repr" and content_type == "application/json":
        body = str(json.loads(body))  # LiteLLM prints a body it could not read as a dict
    elif form == "message":
        body = message
    text = f"litellm.AuthenticationError: AuthenticationError: OpenAIException - {body}"
    return key, prompt, text


@settings(SETTINGS, max_examples=examples(SCRUBBER_EXAMPLES))
@given(case=error_texts(), capture=st.booleans())
def test_scrubbed_error_text_holds_no_key_or_prompt(
    case: tuple[str, str, str], capture: bool
) -> None:
    key, prompt, text = case
    assume(distinct(key, prompt))
    params = {"api_key": key, "messages": [{"role": "user", "content": prompt}]}
    scrubbed = Redaction(params, redact_content=not capture).scrub(text)
    for needle in key_forms(key):
        assert needle not in scrubbed, (needle, scrubbed)
    if not capture:
        for needle in forbidden_prompt(prompt):
            assert needle not in scrubbed, (needle, scrubbed)


# --- 2. real calls against generated error replies ------------------------------------------


def _chat(server: LoopbackLLMServer, prompt: str, extra: dict[str, Any]) -> Any:
    return litellm.completion(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": prompt}], **extra
    )


def _stream(server: LoopbackLLMServer, prompt: str, extra: dict[str, Any]) -> Any:
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        **extra,
    )
    return list(stream)


def _embedding(server: LoopbackLLMServer, prompt: str, extra: dict[str, Any]) -> Any:
    return litellm.embedding(model="openai/text-embedding-3-small", input=[prompt], **extra)


def _text(server: LoopbackLLMServer, prompt: str, extra: dict[str, Any]) -> Any:
    return litellm.text_completion(model="openai/gpt-3.5-turbo-instruct", prompt=prompt, **extra)


def _responses(server: LoopbackLLMServer, prompt: str, extra: dict[str, Any]) -> Any:
    return litellm.responses(model="openai/gpt-4o-mini", input=prompt, **extra)


SURFACES: dict[str, Callable[[LoopbackLLMServer, str, dict[str, Any]], Any]] = {
    "completion": _chat,
    "stream": _stream,
    "embedding": _embedding,
    "text_completion": _text,
    "responses": _responses,
}


@st.composite
def replies(draw: st.DrawFn) -> tuple[str, str, str, int, str, str]:
    key = draw(keys)
    prompt = draw(prompts)
    status = draw(st.sampled_from(STATUSES))
    body, content_type = body_of(
        draw(st.sampled_from(SHAPES)), status, draw(messages(key, prompt)), key, prompt
    )
    return draw(st.sampled_from(list(SURFACES))), key, prompt, status, body, content_type


def _raised(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("the call was expected to fail")


@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
def test_provider_error_bodies_leak_nothing(
    instrument: Callable[..., Telemetry],
    server: LoopbackLLMServer,
    caplog: pytest.LogCaptureFixture,
    capture: bool,
) -> None:
    telemetry = instrument(capture_content=capture)
    caplog.set_level(logging.WARNING)

    @settings(SETTINGS, max_examples=examples(CALL_EXAMPLES))
    @given(reply=replies())
    def check(reply: tuple[str, str, str, int, str, str]) -> None:
        surface, key, prompt, status, body, content_type = reply
        assume(distinct(key, prompt))
        telemetry.spans.clear()
        telemetry.logs.clear()
        caplog.clear()
        extra = {
            "api_base": server.base_url,
            "api_key": key,
            "max_retries": 0,
            "extra_headers": {"x-loopback-reply": encode_reply(status, body, content_type)},
        }
        call = SURFACES[surface]
        error = _raised(lambda: call(server, prompt, extra))
        with suppress_instrumentation():
            bare = _raised(lambda: call(server, prompt, extra))
        assert type(error) is type(bare)
        assert str(error) == str(bare)
        forbidden = key_forms(key) + ([] if capture else forbidden_prompt(prompt))
        found = leaks(telemetry, forbidden, caplog.records)
        assert not found, "\n".join(found)
        span = telemetry.only_span()
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == type(error).__qualname__
        # a reply came: its status is recorded, as LiteLLM classified it
        assert span.attributes["http.response.status_code"] == error.status_code  # type: ignore[attr-defined]

    check()
