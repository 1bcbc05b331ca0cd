"""LiteLLM's Rust bridge (``LITELLM_RUST=1`` / ``litellm.rust(True)``): still one span per call.

How the bridge sits in LiteLLM (``litellm/rust_bridge``): ``litellm.completion``,
``acompletion``, ``embedding``, ``aembedding``, ``responses``, ``aresponses``, ``ocr``, ``aocr``
and ``anthropic_messages`` are dispatchers in front of the Python implementations. Per call a
rollout catalog (``litellm.rust_bridge.catalog.RULES``) sends the call to Python or to the
native extension (``litellm.rust_bridge._native``), which then makes the HTTP request itself;
some provider handlers deep inside the Python implementations (Bedrock transcription) call the
extension too. The switch turns on only the routes the catalog marks opt-in. We wrap the
``litellm.<name>`` functions, i.e. the dispatchers, so whichever side serves a call, it runs
inside our span.

Three kinds of test here:

* every function we wrap, with the switch on: one span, one provider request, streams intact;
* calls the extension really serves: Bedrock transcription, and Responses (and embeddings)
  with the catalog forced to Rust for them, as a later rollout would do;
* a watch on the extension's entry points: each must be entered while a span of ours is
  current, or a call went to Rust past our wrappers. A negative control shows it catches one.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import litellm
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation

from litellm_otel._operations import ENTRY_POINTS as WRAPPED
from tests.operations.test_entry_points import (
    AUDIO,
    ENTRY_POINTS,
    MODELS,
    NO_MAX_RETRIES,
    server_args,
)
from tests.support.telemetry import API_KEY, Telemetry, user_messages

if importlib.util.find_spec("litellm.rust_bridge") is None:
    pytest.skip(
        f"LiteLLM {importlib.metadata.version('litellm')} has no Rust bridge: no "
        "litellm.rust_bridge package, no LITELLM_RUST switch, no litellm.rust()",
        allow_module_level=True,
    )

# Imported only where the bridge exists: a broken extension there must fail, not skip.
from litellm.rust_bridge import _native, catalog
from litellm.rust_bridge.configuration import Rollout, rust_enabled

OUR_SCOPE = "litellm_otel"
BEDROCK_MODEL = "amazon.nova-2-sonic-v1:0"
# The extension's call entry points (``_native.pyi``); the ones a release lacks are skipped.
NATIVE_ENTRIES = (
    "completion",
    "acompletion",
    "embedding",
    "aembedding",
    "responses",
    "aresponses",
    "transcription",
    "atranscription",
    "messages",
    "amessages",
    "ocr",
    "aocr",
)


@dataclass
class NativeEntry:
    """One call LiteLLM handed to the extension, and the span current at that moment."""

    entry: str
    scope: str | None
    span_id: int | None


@dataclass
class RustWatch:
    calls: list[NativeEntry] = field(default_factory=list)

    def slipped(self) -> list[str]:
        """Entries called while no span of ours was current: traffic past our wrappers."""
        return [call.entry for call in self.calls if call.scope != OUR_SCOPE]

    def entries(self) -> list[str]:
        return [call.entry for call in self.calls]


def _recorder(entry: str, native: Callable[..., Any], watch: RustWatch) -> Callable[..., Any]:
    def record(*args: Any, **kwargs: Any) -> Any:
        span = trace.get_current_span()
        scope = getattr(span, "instrumentation_scope", None)
        watch.calls.append(
            NativeEntry(
                entry,
                getattr(scope, "name", None),
                span.get_span_context().span_id if span.is_recording() else None,
            )
        )
        return native(*args, **kwargs)

    return record


@pytest.fixture(params=["LITELLM_RUST=1", "litellm.rust(True)"])
def rust(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[RustWatch]:
    """The bridge switched on (by the environment or in process), with a watch on the
    extension's entry points."""
    if request.param == "LITELLM_RUST=1":
        monkeypatch.setenv("LITELLM_RUST", "1")
    else:
        monkeypatch.delenv("LITELLM_RUST", raising=False)
        litellm.rust(True)
    watch = RustWatch()
    for entry in NATIVE_ENTRIES:
        native = getattr(_native, entry, None)
        if callable(native):
            monkeypatch.setattr(_native, entry, _recorder(entry, native, watch))
    assert rust_enabled()
    yield watch
    litellm.rust(None)


@pytest.fixture
def bedrock_args(server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Static fake AWS credentials and the loopback server as the Bedrock endpoint. The
    metadata service is disabled so that no credential lookup leaves the machine."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIALOOPBACK")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "loopback-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return {
        "api_base": server.base_url.removesuffix("/v1"),
        "aws_region_name": "us-east-1",
        "aws_access_key_id": "AKIALOOPBACK",
        "aws_secret_access_key": "loopback-secret",
    }


@pytest.fixture
def rust_rollout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog as a later rollout would have it: Responses and embeddings opt-in to Rust
    (the rules are read per call, so patching the module's value is enough)."""
    forced = tuple(
        catalog.RouteRule(route, Rollout.RUST_OPT_IN)
        for route in (catalog.Route.RESPONSES, catalog.Route.EMBEDDINGS)
    )
    monkeypatch.setattr(catalog, "RULES", forced + tuple(catalog.RULES))


def _chat(fn: Any, **kwargs: Any) -> Any:
    return fn(model="openai/gpt-4o-mini", messages=user_messages(), **kwargs)


def _embed(fn: Any, **kwargs: Any) -> Any:
    return fn(model="openai/text-embedding-3-small", input=["hi"], **kwargs)


def _entry_point_case(name: str) -> tuple[Callable[..., Any], str, bool]:
    call, span_name, _, _ = ENTRY_POINTS[name]
    model = MODELS[name]
    return (lambda fn, **kw: call(fn, model, **kw)), span_name, name not in NO_MAX_RETRIES


def _anthropic(fn: Any, **kwargs: Any) -> Any:
    """Anthropic's API at the server's root (LiteLLM serves it asynchronously only)."""
    kwargs["api_base"] = kwargs["api_base"].removesuffix("/v1")
    return fn(max_tokens=10, messages=user_messages(), model="anthropic/claude-sonnet-4", **kwargs)


def _bridged(fn: Any, **kwargs: Any) -> Any:
    """A sync Messages call: LiteLLM bridges a non-Anthropic model through completion."""
    return fn(max_tokens=10, messages=user_messages(), model="hosted_vllm/gpt-4o-mini", **kwargs)


def _stored(fn: Any, **kwargs: Any) -> Any:
    return fn(response_id="resp_stored_1", custom_llm_provider="openai", **kwargs)


def _edit(fn: Any, **kwargs: Any) -> Any:
    return fn(image=b"\x89PNG", prompt="add a hat", model="openai/gpt-image-1", **kwargs)


def _video(fn: Any, **kwargs: Any) -> Any:
    return fn(prompt="a cat", model="openai/sora-2", **kwargs)


def _ocr(fn: Any, **kwargs: Any) -> Any:
    document = {"type": "document_url", "document_url": "https://example.invalid/a.pdf"}
    return fn(model="mistral/mistral-ocr-latest", document=document, **kwargs)


async def _drained(opening: Any) -> list[Any]:
    return [chunk async for chunk in await opening]


def _gemini(fn: Any, **kwargs: Any) -> Any:
    contents = [{"role": "user", "parts": [{"text": "hi"}]}]
    return fn(model="gemini/gemini-2.0-flash", contents=contents, **kwargs)


# Entry points of the surfaces beyond tests/operations/test_entry_points.
SURFACE_CASES: dict[str, tuple[Callable[..., Any], str, bool]] = {
    "google_genai.generate_content": (_gemini, "generate_content gemini-2.0-flash", False),
    "google_genai.agenerate_content": (_gemini, "generate_content gemini-2.0-flash", False),
    "google_genai.generate_content_stream": (
        lambda fn, **kw: list(_gemini(fn, **kw)),
        "generate_content gemini-2.0-flash",
        False,
    ),
    "google_genai.agenerate_content_stream": (
        lambda fn, **kw: _drained(_gemini(fn, **kw)),
        "generate_content gemini-2.0-flash",
        False,
    ),
    **{
        f"{prefix}{name}": case
        for name, case in (
            ("image_edit", (_edit, "image_generation gpt-image-1", False)),
            ("video_generation", (_video, "video_generation sora-2", False)),
            ("ocr", (_ocr, "generate_content mistral-ocr-latest", False)),
        )
        for prefix in ("", "a")
    },
    **{
        f"{prefix}{name}": (_stored, operation, False)
        for name, operation in (
            ("get_responses", "fetch_response"),
            ("delete_responses", "delete_response"),
            ("cancel_responses", "cancel_response"),
            ("list_input_items", "list_input_items"),
        )
        for prefix in ("", "a")
    },
    "anthropic_messages": (_anthropic, "chat claude-sonnet-4", False),
    "anthropic_interface.messages.acreate": (_anthropic, "chat claude-sonnet-4", False),
    "anthropic_messages_handler": (_bridged, "chat gpt-4o-mini", False),
    "anthropic_interface.messages.create": (_bridged, "chat gpt-4o-mini", False),
}


def _vector_search(fn: Any, **kwargs: Any) -> Any:
    return fn(vector_store_id="vs_loopback_1", query="hi", **kwargs)


def _web_search(fn: Any, **kwargs: Any) -> Any:
    return fn(query="hi", search_provider="perplexity", **kwargs)


SURFACE_CASES.update(
    {
        f"{module}.{prefix}search": (call, span_name, False)
        for module, call, span_name in (
            ("vector_stores.main", _vector_search, "retrieval vs_loopback_1"),
            ("search.main", _web_search, "retrieval"),
        )
        for prefix in ("", "a")
    }
)

#: Entry points whose one call is several spans (the RAG query's search and completion, an A2A
#: agent served by a completion) or reaches no HTTP server (an MCP tool runs in-process), which
#: this test's one-span, one-request check cannot express. Their own tests
#: (tests/operations/test_retrieval.py, test_agents.py, test_tools.py) run with the bridge on in
#: the newest-rust tier (``make test-newest-rust``, ``LITELLM_RUST=1``).
COMPOSITE_OR_IN_PROCESS = frozenset(
    {
        "rag.main.query",
        "rag.main.aquery",
        "a2a_protocol.main.send_message",
        "a2a_protocol.main.asend_message",
        "a2a_protocol.main.asend_message_streaming",
        "experimental_mcp_client.tools.call_openai_tool",
        "mcp_client.tools.call_openai_tool",
    }
)


def function_of(name: str) -> Any:
    """``litellm.<name>``, ``name`` a path below the package (its module imported)."""
    entry = WRAPPED[name]
    return getattr(importlib.import_module(entry.module), entry.attribute)


# Every function we wrap → (how to call it, its span's name, whether it takes max_retries).
CASES: dict[str, tuple[Callable[..., Any], str, bool]] = {
    "completion": (_chat, "chat gpt-4o-mini", True),
    "acompletion": (_chat, "chat gpt-4o-mini", True),
    "completion_with_retries": (_chat, "chat gpt-4o-mini", True),
    "acompletion_with_retries": (_chat, "chat gpt-4o-mini", True),
    "embedding": (_embed, "embeddings text-embedding-3-small", True),
    "aembedding": (_embed, "embeddings text-embedding-3-small", True),
    **{name: _entry_point_case(name) for name in ENTRY_POINTS},
    **{f"a{name}": _entry_point_case(name) for name in ENTRY_POINTS},
    **SURFACE_CASES,
}


async def call_entry(name: str, server: Any) -> Any:
    call, _, retries = CASES[name]
    result = call(function_of(name), **server_args(server, retries=retries))
    if WRAPPED[name].is_async:
        result = await result
    return result


def test_every_wrapped_function_has_a_rust_case() -> None:
    assert sorted(CASES) == sorted(set(WRAPPED) - COMPOSITE_OR_IN_PROCESS)
    assert set(WRAPPED) >= COMPOSITE_OR_IN_PROCESS  # no stale name hides a missing case


@pytest.mark.parametrize("name", sorted(set(WRAPPED) - COMPOSITE_OR_IN_PROCESS))
async def test_wrapped_function_with_rust_on_is_one_span(
    name: str, rust: RustWatch, traced: Telemetry, server: Any
) -> None:
    try:
        result = await call_entry(name, server)
    except Exception as error:
        # some LiteLLM releases break acompletion_with_retries themselves (see
        # test_entry_points); then the failure must be theirs, recorded on our one span
        assert name == "acompletion_with_retries", repr(error)
        assert traced.only_span().attributes["error.type"] == type(error).__qualname__
    else:
        assert result is not None
        assert traced.only_span().name == CASES[name][1]
    assert traced.only_span().instrumentation_scope.name == OUR_SCOPE
    assert len(server.requests) == 1  # LiteLLM's own count: one provider call, one span
    assert rust.slipped() == []


def _chat_view(chunk: Any) -> tuple[Any, ...]:
    choice = chunk.choices[0] if chunk.choices else None
    delta = getattr(choice, "delta", None)
    text = getattr(delta, "content", None) if delta is not None else getattr(choice, "text", None)
    return type(chunk).__name__, text, getattr(choice, "finish_reason", None)


def _event_view(event: Any) -> tuple[Any, ...]:
    return type(event).__name__, event.type, getattr(event, "delta", None)


# stream → (open it, view of a chunk that ignores per-run ids)
STREAMS: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[[Any], tuple[Any, ...]]]] = {
    "completion": (lambda kw: _chat(litellm.completion, stream=True, **kw), _chat_view),
    "acompletion": (lambda kw: _chat(litellm.acompletion, stream=True, **kw), _chat_view),
    "text_completion": (
        lambda kw: litellm.text_completion(
            prompt="Say hi", model="openai/gpt-3.5-turbo-instruct", stream=True, **kw
        ),
        _chat_view,
    ),
    "responses": (
        lambda kw: litellm.responses(input="Say hi", model="openai/gpt-4o-mini", stream=True, **kw),
        _event_view,
    ),
    "aresponses": (
        lambda kw: litellm.aresponses(
            input="Say hi", model="openai/gpt-4o-mini", stream=True, **kw
        ),
        _event_view,
    ),
}


async def read_stream(name: str, kwargs: dict[str, Any], telemetry: Telemetry | None) -> list[Any]:
    """Open and read a stream; checks the span stays open until the stream is exhausted."""
    is_async = WRAPPED[name].is_async
    opened = STREAMS[name][0](kwargs)
    stream = await opened if is_async else opened
    chunks: list[Any] = []
    if is_async:
        async for chunk in stream:
            if telemetry is not None:
                assert telemetry.finished() == []
            chunks.append(chunk)
    else:
        for chunk in stream:
            if telemetry is not None:
                assert telemetry.finished() == []
            chunks.append(chunk)
    return chunks


@pytest.mark.parametrize("name", list(STREAMS))
async def test_streams_with_rust_on_pass_chunks_and_end_once(
    name: str, rust: RustWatch, instrument: Callable[..., Telemetry], server: Any
) -> None:
    kwargs = server_args(server)
    with suppress_instrumentation():
        plain = [STREAMS[name][1](c) for c in await read_stream(name, kwargs, None)]
    telemetry = instrument()
    traced_chunks = await read_stream(name, kwargs, telemetry)
    assert [STREAMS[name][1](c) for c in traced_chunks] == plain
    assert len(plain) >= 4
    span = telemetry.only_span()
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert rust.slipped() == []


def _rust_marked(result: Any) -> bool:
    """LiteLLM marks what the extension answered with an ``x-litellm-rust`` header."""
    hidden = getattr(result, "_hidden_params", None) or {}
    return (hidden.get("additional_headers") or {}).get("x-litellm-rust") == "true"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_bedrock_transcription_served_by_rust_is_one_span(
    is_async: bool, rust: RustWatch, traced: Telemetry, server: Any, bedrock_args: dict[str, Any]
) -> None:
    fn = litellm.atranscription if is_async else litellm.transcription
    result = fn(model=f"bedrock/{BEDROCK_MODEL}", file=AUDIO, **bedrock_args)
    if is_async:
        result = await result
    assert result.text == "Hello from loopback"
    assert _rust_marked(result)
    span = traced.only_span()
    assert rust.entries() == ["atranscription" if is_async else "transcription"]
    assert rust.calls[0].span_id == span.context.span_id
    assert span.name == f"transcription {BEDROCK_MODEL}"
    assert span.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert span.attributes["server.address"] == "127.0.0.1"
    if getattr(result.usage, "input_tokens", None) is not None:
        assert span.attributes["gen_ai.usage.input_tokens"] == 12
        assert span.attributes["gen_ai.usage.output_tokens"] == 5
    else:  # older extensions drop Converse's usage; then there is none to record
        assert "gen_ai.usage.input_tokens" not in span.attributes
    ((method, path),) = [(r.method, r.path) for r in server.requests]
    assert (method, path) == ("POST", f"/model/{BEDROCK_MODEL}/converse")


def test_bedrock_transcription_error_from_rust_is_recorded(
    rust: RustWatch, traced: Telemetry, bedrock_args: dict[str, Any]
) -> None:
    with pytest.raises(litellm.APIError) as raised:
        litellm.transcription(model="bedrock/error-429", file=AUDIO, **bedrock_args)
    span = traced.only_span()
    assert API_KEY not in str(raised.value)
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.attributes["http.response.status_code"] == 429
    assert rust.entries() == ["transcription"]
    assert rust.slipped() == []


def _responses_view(response: Any) -> dict[str, Any]:
    skip = {"gen_ai.response.id", "server.port", "litellm.response_cost"}
    return {k: v for k, v in response.attributes.items() if k not in skip}


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_responses_offered_to_rust_give_the_python_path_span(
    is_async: bool,
    rust: RustWatch,
    instrument: Callable[..., Telemetry],
    server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recent extensions serve OpenAI Responses calls (LiteLLM marks the response), older ones
    decline them and LiteLLM runs Python: the span is the Python path's either way."""
    telemetry = instrument()
    fn = litellm.aresponses if is_async else litellm.responses
    kwargs = {"input": "Say hi", "model": "openai/gpt-4o-mini", **server_args(server)}

    async def call() -> Any:
        result = fn(**kwargs)
        return await result if is_async else result

    python_result = await call()  # the shipped catalog: Responses stay on Python
    assert not _rust_marked(python_result)
    (python_span,) = telemetry.finished()
    telemetry.spans.clear()
    forced = (catalog.RouteRule(catalog.Route.RESPONSES, Rollout.RUST_OPT_IN),)
    monkeypatch.setattr(catalog, "RULES", forced + tuple(catalog.RULES))
    rust_result = await call()
    (rust_span,) = telemetry.finished()
    assert rust.entries() == ["aresponses" if is_async else "responses"]
    assert rust.calls[0].span_id == rust_span.context.span_id
    assert rust_span.name == "chat gpt-4o-mini"
    assert rust_span.attributes["gen_ai.response.id"] == rust_result.id
    assert _responses_view(rust_span) == _responses_view(python_span)
    assert len(server.requests) == 2


@pytest.mark.usefixtures("rust_rollout")
@pytest.mark.parametrize("name", ["responses", "aresponses"])
async def test_responses_streams_offered_to_rust_end_once(
    name: str, rust: RustWatch, instrument: Callable[..., Telemetry], server: Any
) -> None:
    kwargs = server_args(server)
    telemetry = instrument()
    events = await read_stream(name, kwargs, telemetry)
    assert events[-1].type == "response.completed"
    span = telemetry.only_span()
    assert rust.entries() == [name]
    assert rust.calls[0].span_id == span.context.span_id
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert len(server.requests) == 1


@pytest.mark.usefixtures("rust_rollout")
@pytest.mark.parametrize("name", ["embedding", "aembedding"])
async def test_embeddings_offered_to_rust_are_one_span(
    name: str, rust: RustWatch, traced: Telemetry, server: Any
) -> None:
    """The extension may serve the call or decline it (LiteLLM then runs Python): one span
    either way, and the hand-over happened inside it."""
    result = await call_entry(name, server)
    assert len(result.data) == 1
    span = traced.only_span()
    assert span.name == "embeddings text-embedding-3-small"
    assert rust.entries() == [name]
    assert rust.calls[0].span_id == span.context.span_id
    assert len(server.requests) == 1


def test_watch_catches_a_rust_call_past_our_wrappers(
    rust: RustWatch, traced: Telemetry, server: Any, bedrock_args: dict[str, Any]
) -> None:
    """Negative control: LiteLLM's own transcription function (not the ``litellm.`` name we
    wrap) sends the call to Rust with no span of ours: the watch must report it."""
    result = litellm.main.transcription(
        model=f"bedrock/{BEDROCK_MODEL}", file=AUDIO, **bedrock_args
    )
    assert _rust_marked(result)
    assert traced.finished() == []
    assert len(server.requests) == 1
    assert rust.slipped() == ["transcription"]


def _router(server: Any, model: str, api_base: str | None = None) -> litellm.Router:
    params = {"model": model, "api_base": api_base or server.base_url, "api_key": API_KEY}
    params["max_retries"] = 0
    return litellm.Router(model_list=[{"model_name": "group", "litellm_params": params}])


def _check_router_trace(telemetry: Telemetry, operation: str, server: Any, rust: RustWatch) -> None:
    spans = telemetry.finished()
    (parent,) = [s for s in spans if s.kind is trace.SpanKind.INTERNAL]
    (child,) = [s for s in spans if s.kind is trace.SpanKind.CLIENT]
    assert parent.name == f"router {operation} group"
    assert parent.attributes["litellm.router.attempts"] == 1
    assert child.parent is not None
    assert child.parent.span_id == parent.context.span_id
    assert len(server.requests) == 1
    assert rust.slipped() == []


GEMINI_CONTENTS = [{"role": "user", "parts": [{"text": "hi"}]}]
#: Router method → (how to call it on a Router of the loopback server, its attempts' operation).
ROUTER_CASES: dict[str, tuple[Callable[[Any], Any], str]] = {
    "completion": (
        lambda server: _router(server, "openai/gpt-4o-mini").completion(
            model="group", messages=user_messages()
        ),
        "chat",
    ),
    "responses": (
        lambda server: _router(server, "openai/gpt-4o-mini").responses(
            model="group", input="Say hi"
        ),
        "chat",
    ),
    "generate_content": (
        lambda server: _router(server, "gemini/gemini-2.0-flash").generate_content(
            model="group", contents=GEMINI_CONTENTS
        ),
        "generate_content",
    ),
    "acompletion": (
        lambda server: _router(server, "openai/gpt-4o-mini").acompletion(
            model="group", messages=user_messages()
        ),
        "chat",
    ),
    "aembedding": (
        lambda server: _router(server, "openai/text-embedding-3-small").aembedding(
            model="group", input=["a"]
        ),
        "embeddings",
    ),
    "aanthropic_messages": (
        lambda server: _router(
            server, "anthropic/claude-sonnet-4", server.base_url.removesuffix("/v1")
        ).aanthropic_messages(model="group", max_tokens=10, messages=user_messages()),
        "chat",
    ),
    "agenerate_content": (
        lambda server: _router(server, "gemini/gemini-2.0-flash").agenerate_content(
            model="group", contents=GEMINI_CONTENTS
        ),
        "generate_content",
    ),
}


@pytest.mark.usefixtures("forget_routers")
@pytest.mark.parametrize("method", [name for name in ROUTER_CASES if not name.startswith("a")])
def test_sync_router_with_rust_on_is_a_parent_over_one_attempt(
    method: str, rust: RustWatch, traced: Telemetry, server: Any
) -> None:
    """LiteLLM's Router (a facade over a Rust core in recent releases) calls the ``litellm.``
    functions for each attempt: our router span is the parent of exactly one attempt span."""
    call, operation = ROUTER_CASES[method]
    assert call(server) is not None
    _check_router_trace(traced, operation, server, rust)


@pytest.mark.usefixtures("forget_routers")
@pytest.mark.parametrize("method", [name for name in ROUTER_CASES if name.startswith("a")])
async def test_async_router_with_rust_on_is_a_parent_over_one_attempt(
    method: str, rust: RustWatch, traced: Telemetry, server: Any
) -> None:
    call, operation = ROUTER_CASES[method]
    assert await call(server) is not None
    _check_router_trace(traced, operation, server, rust)
