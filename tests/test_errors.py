"""Failed calls: what of the error is recorded, and what never is.

Providers echo what they were sent in their error bodies: OpenAI's 401 quotes the key masked
with its prefix and last four visible, OpenAI-compatible servers (vLLM, gateways) quote it
whole or echo the request headers, servers failing on a request quote its body (the prompt),
and LiteLLM appends the request's messages to some errors itself. Every such body reaches
LiteLLM's exception text, its chained exceptions and the traceback. The loopback server's
``leak-<shape>`` modes answer with those shapes; each test makes a real LiteLLM call and
asserts that no form of the key, and (capture off) no form of the prompt, reaches any span,
event, status, metric or log record, while the caller gets LiteLLM's exception unchanged.

And the labels of a failure: ``http.response.status_code`` only when a response came (not for
a refused connection, missing credentials, a timeout or an error LiteLLM raised before
sending), ``error.type`` always, and the ``exception`` event marked as escaped.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import litellm
import openai
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode

from litellm_otel import LiteLLMInstrumentor
from litellm_otel._errors import response_status
from litellm_otel._redaction import REDACTED, Redaction
from tests.support.leaks import dump, key_forms, leaks, prompt_forms
from tests.support.loopback_server import LoopbackLLMServer, mask_key
from tests.support.telemetry import API_KEY, PROMPT, Telemetry, user_messages

# A reference bound before any instrument(): only the early-bound callback sees its calls.
HELD = {"completion": litellm.completion, "acompletion": litellm.acompletion}

FORBIDDEN = [*key_forms(), *prompt_forms(), f"Bearer {API_KEY[:6]}"]


def openai_args(server: LoopbackLLMServer) -> dict[str, Any]:
    return {"api_base": server.base_url, "api_key": API_KEY, "max_retries": 0}


def root_args(server: LoopbackLLMServer) -> dict[str, Any]:
    """Anthropic and Azure append their own paths to a base URL without ``/v1``."""
    return {"api_base": server.base_url.removesuffix("/v1"), "api_key": API_KEY, "max_retries": 0}


def azure_args(server: LoopbackLLMServer) -> dict[str, Any]:
    return {**root_args(server), "api_version": "2024-02-01"}


def drain(stream: Any) -> None:
    for _ in stream:
        pass


async def adrain(stream: Any) -> None:
    async for _ in stream:
        pass


Call = Callable[[LoopbackLLMServer], Any]
AsyncCall = Callable[[LoopbackLLMServer], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    call: Call | None = None
    acall: AsyncCall | None = None
    status: int | None = None  # the HTTP status of the provider's reply


def chat(model: str, **extra: Any) -> Call:
    return lambda s: litellm.completion(
        model=model, messages=user_messages(), **{**openai_args(s), **extra}
    )


def chat_stream(model: str) -> Call:
    return lambda s: drain(
        litellm.completion(model=model, messages=user_messages(), stream=True, **openai_args(s))
    )


def achat(model: str) -> AsyncCall:
    return lambda s: litellm.acompletion(model=model, messages=user_messages(), **openai_args(s))


def achat_stream(model: str) -> AsyncCall:
    async def call(s: LoopbackLLMServer) -> None:
        stream = await litellm.acompletion(
            model=model, messages=user_messages(), stream=True, **openai_args(s)
        )
        await adrain(stream)

    return call


SYNC_CASES: dict[str, Case] = {
    "completion openai 401 masked key": Case(chat("openai/leak-openai"), status=401),
    "completion vllm full key": Case(chat("openai/leak-vllm"), status=401),
    "completion gateway echoing headers": Case(chat("openai/leak-headers"), status=401),
    "completion azure-shaped body": Case(chat("openai/leak-azure"), status=401),
    "completion 500 echoing the request": Case(chat("openai/leak-echo"), status=500),
    "completion 429 masked key": Case(chat("openai/leak-openai-429"), status=429),
    "completion text body": Case(chat("openai/leak-text"), status=401),
    "stream openai 401": Case(chat_stream("openai/leak-openai"), status=401),
    "stream echo 500": Case(chat_stream("openai/leak-echo"), status=500),
    # two chunks arrive (HTTP 200), then an error event quoting the key: no status to claim
    "stream error mid-way": Case(chat_stream("openai/leak-midstream"), status=None),
    "embedding echo 500": Case(
        lambda s: litellm.embedding(
            model="openai/leak-echo", input=[PROMPT, "second"], **openai_args(s)
        ),
        status=500,
    ),
    "embedding vllm": Case(
        lambda s: litellm.embedding(model="openai/leak-vllm", input=PROMPT, **openai_args(s)),
        status=401,
    ),
    "text_completion openai 401": Case(
        lambda s: litellm.text_completion(
            model="openai/leak-openai", prompt=PROMPT, **openai_args(s)
        ),
        status=401,
    ),
    "text_completion echo": Case(
        lambda s: litellm.text_completion(
            model="openai/leak-echo", prompt=PROMPT, **openai_args(s)
        ),
        status=500,
    ),
    "responses echo": Case(
        lambda s: litellm.responses(model="openai/leak-echo", input=PROMPT, **openai_args(s)),
        status=500,
    ),
    "responses vllm": Case(
        lambda s: litellm.responses(
            model="openai/leak-vllm", input=PROMPT, instructions=PROMPT, **openai_args(s)
        ),
        status=401,
    ),
    "responses stream headers": Case(
        lambda s: drain(
            litellm.responses(
                model="openai/gpt-4o-mini",
                input=PROMPT,
                stream=True,
                extra_headers={"x-loopback-mode": "leak-headers"},
                **openai_args(s),
            )
        ),
        status=401,
    ),
    "azure chat": Case(
        lambda s: litellm.completion(
            model="azure/leak-azure", messages=user_messages(), **azure_args(s)
        ),
        status=401,
    ),
    "azure chat echo": Case(
        lambda s: litellm.completion(
            model="azure/leak-echo", messages=user_messages(), **azure_args(s)
        ),
        status=500,
    ),
    "azure embedding echo": Case(
        lambda s: litellm.embedding(model="azure/leak-echo", input=[PROMPT], **azure_args(s)),
        status=500,
    ),
    "hosted_vllm full key": Case(chat("hosted_vllm/leak-vllm"), status=401),
    "hosted_vllm headers": Case(chat("hosted_vllm/leak-headers"), status=401),
    "hosted_vllm echo": Case(chat("hosted_vllm/leak-echo"), status=500),
    "anthropic x-api-key": Case(
        lambda s: litellm.completion(
            model="anthropic/leak-anthropic", messages=user_messages(), **root_args(s)
        ),
        status=401,
    ),
    "anthropic echo": Case(
        lambda s: litellm.completion(
            model="anthropic/leak-echo", messages=user_messages(), **root_args(s)
        ),
        status=500,
    ),
    # LiteLLM rejects the image before sending and appends ``Received Messages=[…]``
    "anthropic Received Messages": Case(
        lambda s: litellm.completion(
            model="anthropic/claude-3-5-sonnet-latest",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": PROMPT},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64"}},
                    ],
                }
            ],
            **root_args(s),
        ),
        status=None,
    ),
}

ASYNC_CASES: dict[str, Case] = {
    "acompletion vllm": Case(acall=achat("openai/leak-vllm"), status=401),
    "acompletion echo": Case(acall=achat("openai/leak-echo"), status=500),
    "acompletion stream headers": Case(acall=achat_stream("openai/leak-headers"), status=401),
    "acompletion stream mid-way": Case(acall=achat_stream("openai/leak-midstream"), status=None),
    "aembedding echo": Case(
        acall=lambda s: litellm.aembedding(
            model="openai/leak-echo", input=[PROMPT], **openai_args(s)
        ),
        status=500,
    ),
    "aresponses echo": Case(
        acall=lambda s: litellm.aresponses(
            model="openai/leak-echo", input=PROMPT, **openai_args(s)
        ),
        status=500,
    ),
}


def raised_by(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("the call was expected to fail")


async def araised_by(call: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await call()
    except Exception as error:
        return error
    raise AssertionError("the call was expected to fail")


def check_failure(
    telemetry: Telemetry,
    caplog: pytest.LogCaptureFixture,
    error: BaseException,
    bare: BaseException,
    status: int | None,
) -> None:
    # the caller gets LiteLLM's exception, exactly as without us
    assert type(error) is type(bare)
    assert str(error) == str(bare)
    found = leaks(telemetry, FORBIDDEN, caplog.records)
    assert not found, "\n".join(found)
    span = telemetry.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(error).__qualname__
    assert span.attributes.get("http.response.status_code") == status
    (event,) = [event for event in span.events if event.name == "exception"]
    assert event.attributes["exception.escaped"] is True
    assert event.attributes["exception.type"].endswith(type(error).__qualname__)
    assert event.attributes["exception.stacktrace"].startswith("Traceback")
    (point,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == type(error).__qualname__


@pytest.mark.parametrize("name", list(SYNC_CASES))
def test_no_key_or_prompt_in_telemetry_of_a_failed_call(
    traced: Telemetry, server: LoopbackLLMServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    case = SYNC_CASES[name]
    assert case.call is not None
    caplog.set_level(logging.DEBUG)
    error = raised_by(lambda: case.call(server))  # type: ignore[misc]
    with suppress_instrumentation():
        bare = raised_by(lambda: case.call(server))  # type: ignore[misc]
    check_failure(traced, caplog, error, bare, case.status)


@pytest.mark.parametrize("name", list(ASYNC_CASES))
async def test_no_key_or_prompt_in_telemetry_of_a_failed_async_call(
    traced: Telemetry, server: LoopbackLLMServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    case = ASYNC_CASES[name]
    assert case.acall is not None
    caplog.set_level(logging.DEBUG)
    error = await araised_by(lambda: case.acall(server))  # type: ignore[misc]
    with suppress_instrumentation():
        bare = await araised_by(lambda: case.acall(server))  # type: ignore[misc]
    check_failure(traced, caplog, error, bare, case.status)


def test_error_text_keeps_what_is_not_secret(traced: Telemetry, server: LoopbackLLMServer) -> None:
    with pytest.raises(litellm.AuthenticationError) as raised:
        chat("openai/leak-openai")(server)
    assert mask_key(API_KEY) in str(raised.value)  # LiteLLM's own text still has it
    span = traced.only_span()
    (event,) = span.events
    message = event.attributes["exception.message"]
    assert message == span.status.description
    assert message == (
        "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key "
        f"provided: {REDACTED}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )


def test_capture_on_records_the_prompt_only_as_content_and_never_the_key(
    instrument: Callable[..., Telemetry],
    server: LoopbackLLMServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telemetry = instrument(capture_content=True)
    with pytest.raises(openai.APIError):  # LiteLLM's class for a 500 differs by release
        chat("openai/leak-echo", extra_headers={"x-loopback-mode": "leak-echo"})(server)
    with pytest.raises(litellm.AuthenticationError):
        chat("openai/leak-headers")(server)
    assert not leaks(telemetry, key_forms(), caplog.records)
    echo = telemetry.finished()[0]
    assert PROMPT in echo.attributes["gen_ai.input.messages"]
    assert PROMPT in echo.events[0].attributes["exception.message"]  # capture on: kept


def test_a_content_filter_keeps_the_prompt_out_of_error_text_with_capture_on(
    instrument: Callable[..., Telemetry], server: LoopbackLLMServer
) -> None:
    telemetry = instrument(capture_content=True, content_filter=lambda text: "[filtered]")
    with pytest.raises(openai.APIError):
        chat("openai/leak-echo")(server)
    span = telemetry.only_span()
    assert PROMPT not in span.attributes["gen_ai.input.messages"]
    assert not leaks(telemetry, prompt_forms()), dump(telemetry)


def test_env_key_and_module_key_are_scrubbed(
    traced: Telemetry,
    server: LoopbackLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env_key = "sk-from-environment-ENV-KEY-4242"
    module_key = "sk-from-module-MODULE-KEY-5353"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(
            model="openai/leak-vllm", messages=user_messages(), api_base=server.base_url
        )
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setattr(litellm, "api_key", module_key)
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(
            model="openai/leak-headers", messages=user_messages(), api_base=server.base_url
        )
    assert len(traced.finished()) == 2
    assert not leaks(traced, [*key_forms(env_key), *key_forms(module_key)]), dump(traced)


# --- the early-bound callback path -----------------------------------------------------------


def wait_for_spans(telemetry: Telemetry, count: int, timeout: float = 5.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(telemetry.finished()) < count:
        time.sleep(0.01)
    return telemetry.finished()


@pytest.mark.parametrize("mode", ["leak-vllm", "leak-headers", "leak-echo", "leak-openai"])
def test_early_bound_failure_records_no_key_or_prompt(
    instrument: Callable[..., Telemetry], server: LoopbackLLMServer, mode: str
) -> None:
    telemetry = instrument(early_bound_callback=True)
    with pytest.raises(litellm.APIError.__mro__[1]):  # openai.APIStatusError and subclasses
        HELD["completion"](model=f"openai/{mode}", messages=user_messages(), **openai_args(server))
    (span,) = wait_for_spans(telemetry, 1)
    assert span.status.status_code is StatusCode.ERROR
    found = leaks(telemetry, FORBIDDEN)
    assert not found, "\n".join(found)


async def test_early_bound_async_failure_records_no_key_or_prompt(
    instrument: Callable[..., Telemetry], server: LoopbackLLMServer
) -> None:
    telemetry = instrument(early_bound_callback=True)
    with pytest.raises(litellm.AuthenticationError):
        await HELD["acompletion"](
            model="openai/leak-vllm", messages=user_messages(), **openai_args(server)
        )
    await asyncio.sleep(0.1)
    (span,) = wait_for_spans(telemetry, 1)
    assert span.status.status_code is StatusCode.ERROR
    assert not leaks(telemetry, FORBIDDEN), dump(telemetry)


# --- the Router: retry and fallback events, the router span's own error ----------------------


def leaky_router(server: LoopbackLLMServer, **options: Any) -> litellm.Router:
    def deployment(group: str, model: str, key: str) -> dict[str, Any]:
        return {
            "model_name": group,
            "litellm_params": {
                "model": model,
                "api_base": server.base_url,
                "api_key": key,
                "max_retries": 0,
            },
        }

    return litellm.Router(
        model_list=[
            deployment("primary", "openai/leak-echo", API_KEY),
            deployment("secondary", "openai/leak-headers", ROUTER_KEY),
            deployment("backup", "openai/gpt-4o-mini", API_KEY),
        ],
        **options,
    )


ROUTER_KEY = "sk-router-deployment-SECRET-77aa"


def test_router_retry_and_fallback_events_record_no_key_or_prompt(
    traced: Telemetry, server: LoopbackLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    router = leaky_router(server, fallbacks=[{"primary": ["secondary", "backup"]}], num_retries=1)
    caplog.set_level(logging.DEBUG)
    response = router.completion(model="primary", messages=user_messages())
    assert response.choices[0].message.content == "Hello from loopback"
    parent = next(s for s in traced.finished() if s.kind is SpanKind.INTERNAL)
    names = [event.name for event in parent.events]
    assert "litellm.router.retry" in names
    assert "litellm.router.fallback" in names
    found = leaks(traced, [*FORBIDDEN, *key_forms(ROUTER_KEY)], caplog.records)
    assert not found, "\n".join(found)


def test_failed_router_call_records_no_key_or_prompt(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    router = leaky_router(server, fallbacks=[{"primary": ["secondary"]}], num_retries=0)
    with pytest.raises(openai.APIError):  # the first error; the fallback's 401 too
        router.completion(model="primary", messages=user_messages())
    parent = next(s for s in traced.finished() if s.kind is SpanKind.INTERNAL)
    assert parent.status.status_code is StatusCode.ERROR
    (event,) = [e for e in parent.events if e.name == "exception"]
    assert event.attributes["exception.escaped"] is True
    assert not leaks(traced, [*FORBIDDEN, *key_forms(ROUTER_KEY)]), dump(traced)


async def test_async_router_fallback_records_no_key_or_prompt(
    traced: Telemetry, server: LoopbackLLMServer
) -> None:
    router = leaky_router(server, fallbacks=[{"primary": ["backup"]}], num_retries=0)
    await router.acompletion(model="primary", messages=user_messages())
    assert not leaks(traced, FORBIDDEN), dump(traced)


# --- our own failures while recording a failed call -------------------------------------------


class RaisingMeterProvider:
    """A meter whose instruments raise: our containment logs it, with its traceback."""

    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("create_"):
            return lambda *a, **k: self
        if name in ("record", "add"):

            def fail(*args: Any, **kwargs: Any) -> None:
                raise RuntimeError("meter is broken")

            return fail
        raise AttributeError(name)


def test_a_contained_failure_logs_no_key_from_the_error_it_was_handling(
    telemetry: Telemetry, server: LoopbackLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=RaisingMeterProvider()
    )
    caplog.set_level(logging.WARNING)
    try:
        with pytest.raises(litellm.AuthenticationError):
            chat("openai/leak-vllm")(server)
    finally:
        instrumentor.uninstrument()
    assert any(r.name == "litellm_otel" for r in caplog.records)  # our failure was logged
    assert not leaks(telemetry, FORBIDDEN, caplog.records)


# --- http.response.status_code only when a response came ----------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_has_no_status_code(traced: Telemetry) -> None:
    # LiteLLM's class for it differs by release (InternalServerError, APIError on the oldest
    # line); every release claims a 500 although no response came.
    with pytest.raises(openai.APIError) as raised:
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=user_messages(),
            api_base=f"http://127.0.0.1:{closed_port()}/v1",
            api_key=API_KEY,
            max_retries=0,
        )
    assert getattr(raised.value, "status_code", None) == 500  # what LiteLLM claims
    span = traced.only_span()
    assert "http.response.status_code" not in span.attributes
    assert span.attributes["error.type"] == type(raised.value).__name__
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert "http.response.status_code" not in point.attributes
    assert point.attributes["error.type"] == type(raised.value).__name__


def test_missing_credentials_have_no_status_code(
    traced: Telemetry, server: LoopbackLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setattr(litellm, "api_key", None)
    # "Missing credentials", raised locally; LiteLLM's class for it differs by release.
    with pytest.raises(openai.APIError) as missing_openai_key:
        litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), max_retries=0)
    with pytest.raises(litellm.AuthenticationError):  # 401, raised locally
        litellm.completion(model="anthropic/claude-3-5-sonnet-latest", messages=user_messages())
    assert server.requests == []
    openai_span, anthropic_span = traced.finished()
    assert openai_span.attributes["error.type"] == type(missing_openai_key.value).__name__
    assert anthropic_span.attributes["error.type"] == "AuthenticationError"
    for span in (openai_span, anthropic_span):
        assert "http.response.status_code" not in span.attributes


def test_timeout_has_no_status_code(traced: Telemetry, server: LoopbackLLMServer) -> None:
    # A read timeout mid-stream: litellm.Timeout (408) on current releases, APIConnectionError
    # (500) on the oldest line; either claims a status code although no response came.
    with pytest.raises((litellm.Timeout, litellm.APIConnectionError)) as raised:
        drain(
            litellm.completion(
                model="openai/slow-stream",
                messages=user_messages(),
                stream=True,
                timeout=0.02,
                **openai_args(server),
            )
        )
    assert raised.value.status_code in (408, 500)
    span = traced.only_span()
    assert span.attributes["error.type"] == type(raised.value).__name__
    assert "http.response.status_code" not in span.attributes


@pytest.mark.parametrize("status", [401, 429, 500])
def test_a_reply_records_its_status_code(
    traced: Telemetry, server: LoopbackLLMServer, status: int
) -> None:
    with pytest.raises(litellm.APIError.__mro__[1]):
        chat(f"openai/error-{status}")(server)
    assert traced.only_span().attributes["http.response.status_code"] == status


def test_response_status_reads_a_foreign_exception_response() -> None:
    import httpx
    import openai

    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    reply = httpx.Response(418, request=request, headers={"content-type": "application/json"})
    sdk_error = openai.APIStatusError("teapot", response=reply, body=None)
    assert response_status(sdk_error) == 418
    # LiteLLM's placeholder response (no headers: nothing came back)
    placeholder = httpx.Response(500, request=request)
    assert response_status(openai.APIStatusError("local", response=placeholder, body=None)) is None
    assert response_status(ValueError("no status")) is None


# --- the scrubber itself ----------------------------------------------------------------------


def scrub(text: str, *, content: bool = True, **params: Any) -> str:
    return Redaction(params, redact_content=content).scrub(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"bad key {API_KEY}!", f"bad key {REDACTED}!"),
        (
            f"Incorrect API key provided: {mask_key(API_KEY)}.",
            f"Incorrect API key provided: {REDACTED}.",
        ),
        (f"key {API_KEY[:10]}... rejected", f"key {REDACTED} rejected"),
        (f"key ending in ****{API_KEY[-4:]}", f"key ending in {REDACTED}"),
        ('{"authorization": "Bearer abc.def-ghi"}', f'{{"authorization": "{REDACTED}"}}'),
        ("Authorization: Bearer abc.def-ghi\nnext", f"Authorization: {REDACTED}\nnext"),
        ("sent Bearer abc.def-ghi to it", f"sent Bearer {REDACTED} to it"),
        ("{'api-key': 'abcdef0123456789'}", f"{{'api-key': '{REDACTED}'}}"),
        ("x-api-key: zzzzzzzz, y", f"x-api-key: {REDACTED}, y"),
        (
            "GET /v1/models?key=AIzaSyA-0123456789abcdefghijklmnopqrstu&alt=json",
            f"GET /v1/models?key={REDACTED}&alt=json",
        ),
        ("use AIzaSyA-0123456789abcdefghijklmnopqrstu now", f"use {REDACTED} now"),
        ("anthropic sk-ant-api03-abcdefghijklmnopqrstuvwxyz", f"anthropic {REDACTED}"),
        ("openai sk-proj-abcdefghijklmnopqrstuvwxyz0123", f"openai {REDACTED}"),
        ("https://user:hunter2pass@host/v1", f"https://{REDACTED}@host/v1"),
        ("fine: model gpt-4o-mini not found", "fine: model gpt-4o-mini not found"),
    ],
)
def test_scrub_removes_secrets(text: str, expected: str) -> None:
    assert scrub(text, api_key=API_KEY) == expected


def test_scrub_removes_request_echoes_and_prompts_with_capture_off() -> None:
    messages = [{"role": "user", "content": PROMPT}]
    echo = f"Image url not in expected format.\nReceived Messages={messages}"
    assert scrub(echo, messages=messages) == (
        f"Image url not in expected format.\nReceived Messages={REDACTED}"
    )
    truncated = f"boom\nMessages: `{str(messages)[:60]}`"
    assert PROMPT[:20] not in scrub(truncated, messages=messages)
    escaped = 'upstream {"content": "line one\\nline \\"two\\" secret-prompt-7f3a"}'
    prompt = 'line one\nline "two" secret-prompt-7f3a'
    assert "secret-prompt" not in scrub(escaped, messages=[{"role": "user", "content": prompt}])
    assert scrub(f"about {PROMPT}", content=False, messages=messages) == f"about {PROMPT}"
    # short prompts only as whole words: "cat" stays in "concatenate"
    assert scrub("concatenate failed on 'cat'", messages=[{"role": "user", "content": "cat"}]) == (
        f"concatenate failed on '{REDACTED}'"
    )


def test_scrub_never_raises_and_fails_closed() -> None:
    class Weird:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    redaction = Redaction({"api_key": Weird(), "messages": [Weird()]}, redact_content=True)
    assert redaction.scrub("plain text") == "plain text"
    assert redaction.message(ValueError(Weird())) == REDACTED


def test_a_secret_that_cannot_be_encoded_still_leaves_the_patterns() -> None:
    redaction = Redaction({"api_key": "sk-\udcff-lone-surrogate-key"}, redact_content=True)
    assert redaction.scrub(f"Authorization: Bearer {API_KEY}") == f"Authorization: {REDACTED}"


def test_a_rust_bridge_upstream_error_counts_as_a_reply() -> None:
    """LiteLLM's Rust bridge raises its error for a provider's reply from a
    ``RustUpstreamError`` and copies no headers: the status is still the reply's."""

    class RustUpstreamError(Exception):
        pass

    error = litellm.APIError(
        status_code=429, message="upstream said no", llm_provider="bedrock", model="m"
    )
    assert response_status(error) is None  # no headers, no cause: nothing came back
    error.__cause__ = RustUpstreamError(429, "{}")
    assert response_status(error) == 429
    error.__cause__ = RuntimeError("connection refused")
    assert response_status(error) is None
