"""Router: a parent span for the routing decision, one child GenAI span per attempt."""

from __future__ import annotations

import importlib.metadata
import threading
from typing import Any

import litellm
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from packaging.version import Version

from tests.support.telemetry import API_KEY, Telemetry, user_messages

LITELLM_VERSION = importlib.metadata.version("litellm")
pytestmark = pytest.mark.usefixtures("forget_routers")


def make_router(server: Any, **options: Any) -> litellm.Router:
    def deployment(group: str, model: str) -> dict[str, Any]:
        return {
            "model_name": group,
            "litellm_params": {
                "model": model,
                "api_base": server.base_url,
                "api_key": API_KEY,
                "max_retries": 0,
            },
        }

    return litellm.Router(
        model_list=[
            deployment("primary", "openai/error-500"),
            deployment("backup", "openai/gpt-4o-mini"),
            deployment("embedder", "openai/text-embedding-3-small"),
            deployment("broken", "openai/error-429"),
        ],
        **options,
    )


def spans_by_kind(telemetry: Telemetry) -> tuple[Any, list[Any]]:
    spans = telemetry.finished()
    (parent,) = [s for s in spans if s.kind is SpanKind.INTERNAL and s.name.startswith("router")]
    children = [s for s in spans if s.kind is SpanKind.CLIENT]
    return parent, children


@pytest.fixture
def fallback_router(server: Any) -> litellm.Router:
    # created before instrument(): the Router methods are wrapped on the class
    return make_router(server, fallbacks=[{"primary": ["backup"]}], num_retries=0)


def check_fallback_trace(telemetry: Telemetry) -> None:
    parent, children = spans_by_kind(telemetry)
    assert parent.name == "router chat primary"
    assert [c.name for c in children] == ["chat error-500", "chat gpt-4o-mini"]
    for child in children:
        assert child.parent.span_id == parent.context.span_id
    assert children[0].status.status_code is StatusCode.ERROR
    # InternalServerError; LiteLLM before ~1.74 maps a 500 from these servers to APIError
    failure = children[0].attributes["error.type"]
    assert failure in ("InternalServerError", "APIError")
    assert children[1].status.status_code is StatusCode.UNSET
    assert children[1].attributes["gen_ai.usage.input_tokens"] == 12

    attributes = parent.attributes
    assert attributes["litellm.router.operation"] == "chat"
    assert attributes["litellm.router.model_group"] == "primary"
    assert attributes["litellm.router.final_model_group"] == "backup"
    assert attributes["litellm.router.attempts"] == 2
    assert attributes["litellm.router.retries"] == 0
    assert attributes["litellm.router.fallbacks"] == 1
    assert attributes["litellm.router.deployment.model"] == "gpt-4o-mini"
    assert attributes["litellm.router.deployment.provider"] == "openai"
    assert not [k for k in attributes if k.startswith("gen_ai.usage")]  # no double counting
    (event,) = parent.events
    assert event.name == "litellm.router.fallback"
    assert event.attributes["error.type"] == failure
    assert event.attributes["litellm.router.from_model_group"] == "primary"
    assert event.attributes["litellm.router.to_model_group"] == "backup"
    assert parent.status.status_code is StatusCode.UNSET


def test_sync_router_fallback(fallback_router: litellm.Router, traced: Telemetry) -> None:
    response = fallback_router.completion(model="primary", messages=user_messages())
    assert response.choices[0].message.content == "Hello from loopback"
    check_fallback_trace(traced)


async def test_async_router_fallback(fallback_router: litellm.Router, traced: Telemetry) -> None:
    response = await fallback_router.acompletion(model="primary", messages=user_messages())
    assert response.choices[0].message.content == "Hello from loopback"
    check_fallback_trace(traced)


def test_router_inside_user_span(fallback_router: litellm.Router, traced: Telemetry) -> None:
    tracer = traced.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as user:
        fallback_router.completion(model="primary", messages=user_messages())
    parent = next(s for s in traced.finished() if s.kind is SpanKind.INTERNAL)
    assert parent.parent.span_id == user.get_span_context().span_id


async def test_router_retries_are_events(server: Any, traced: Telemetry) -> None:
    router = make_router(server, num_retries=1, retry_after=0)
    with pytest.raises(litellm.RateLimitError):
        await router.acompletion(model="broken", messages=user_messages())
    parent, children = spans_by_kind(traced)
    assert parent.status.status_code is StatusCode.ERROR
    assert parent.attributes["error.type"] == "RateLimitError"
    assert len(children) == parent.attributes["litellm.router.attempts"] >= 2
    assert parent.attributes["litellm.router.retries"] == len(children) - 1
    assert [e.name for e in parent.events if e.name.startswith("litellm.router")] == [
        "litellm.router.retry"
    ] * (len(children) - 1)
    assert all(c.attributes["error.type"] == "RateLimitError" for c in children)


async def test_router_embedding(server: Any, traced: Telemetry) -> None:
    router = make_router(server)
    await router.aembedding(model="embedder", input=["a"])
    parent, children = spans_by_kind(traced)
    assert parent.name == "router embeddings embedder"
    (child,) = children
    assert child.name == "embeddings text-embedding-3-small"
    assert child.parent.span_id == parent.context.span_id
    assert parent.attributes["litellm.router.attempts"] == 1


def test_router_stream(server: Any, traced: Telemetry) -> None:
    router = make_router(server)
    stream = router.completion(model="backup", messages=user_messages(), stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert text == "Hello from loopback"
    parent, (child,) = spans_by_kind(traced)
    assert child.parent.span_id == parent.context.span_id
    assert child.attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_nothing_after_uninstrument(server: Any, instrument: Any) -> None:
    from litellm_otel import LiteLLMInstrumentor

    router = make_router(server)
    telemetry = instrument()
    LiteLLMInstrumentor().uninstrument()
    router.completion(model="backup", messages=user_messages())
    assert telemetry.finished() == []


async def test_router_responses_per_instance_methods_get_a_parent(
    server: Any, traced: Telemetry
) -> None:
    """Router.(a)responses are assigned in Router.__init__, not on the class."""
    router = make_router(server)  # created after instrument(): its instance methods are wrapped
    await router.aresponses(model="backup", input="Say hi")
    router.responses(model="backup", input="Say hi")
    spans = traced.finished()
    parents = [s for s in spans if s.kind is SpanKind.INTERNAL]
    children = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert [p.name for p in parents] == ["router chat backup"] * 2
    assert len(children) == 2
    for parent, child in zip(parents, children, strict=True):
        assert child.parent.span_id == parent.context.span_id
        assert parent.attributes["litellm.router.attempts"] == 1


def test_router_per_instance_wrappers_pass_through_after_uninstrument(
    server: Any, instrument: Any
) -> None:
    from litellm_otel import LiteLLMInstrumentor

    telemetry = instrument()
    router = make_router(server)
    LiteLLMInstrumentor().uninstrument()
    router.responses(model="backup", input="Say hi")
    assert telemetry.finished() == []


# -- streams: the parent stays open while its stream is read --------------------------------


def check_parent_encloses(parent: Any, children: list[Any]) -> None:
    for child in children:
        assert child.parent.span_id == parent.context.span_id
        assert parent.start_time <= child.start_time
        assert child.end_time <= parent.end_time, "the router span ended before its attempt"


def test_router_stream_parent_ends_with_the_stream(server: Any, traced: Telemetry) -> None:
    router = make_router(server)
    stream = router.completion(model="backup", messages=user_messages(), stream=True)
    assert [s.kind for s in traced.finished()] == []  # nothing ends before the stream is read
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert text == "Hello from loopback"
    parent, (child,) = spans_by_kind(traced)
    check_parent_encloses(parent, [child])
    assert parent.attributes["litellm.router.attempts"] == 1
    assert parent.attributes["litellm.router.final_model_group"] == "backup"
    assert "litellm.stream.closed_early" not in parent.attributes
    assert parent.status.status_code is StatusCode.UNSET


async def test_router_async_stream_parent_ends_with_the_stream(
    server: Any, traced: Telemetry
) -> None:
    router = make_router(server)
    stream = await router.acompletion(model="backup", messages=user_messages(), stream=True)
    assert traced.finished() == []
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == "Hello from loopback"
    parent, (child,) = spans_by_kind(traced)
    check_parent_encloses(parent, [child])
    assert parent.attributes["litellm.router.attempts"] == 1


@pytest.mark.skipif(
    not callable(getattr(litellm.CustomStreamWrapper, "close", None)),
    reason=f"LiteLLM {LITELLM_VERSION}'s CustomStreamWrapper has no close()",
)
def test_router_stream_closed_early_ends_the_parent_once(server: Any, traced: Telemetry) -> None:
    router = make_router(server)
    stream = router.completion(model="backup", messages=user_messages(), stream=True)
    next(iter(stream))
    stream.close()
    stream.close()
    parents = [s for s in traced.finished() if s.kind is SpanKind.INTERNAL]
    assert len(parents) == 1
    assert parents[0].attributes["litellm.stream.closed_early"] is True
    assert parents[0].status.status_code is StatusCode.UNSET


def test_router_stream_dropped_unread_ends_the_parent(server: Any, traced: Telemetry) -> None:
    import gc

    router = make_router(server)
    stream = router.completion(model="backup", messages=user_messages(), stream=True)
    del stream
    gc.collect()
    parents = [s for s in traced.finished() if s.kind is SpanKind.INTERNAL]
    assert len(parents) == 1
    assert parents[0].attributes["litellm.stream.closed_early"] is True


def has_mid_stream_fallback() -> bool:
    import litellm.exceptions

    return getattr(litellm.exceptions, "MidStreamFallbackError", None) is not None


def has_mid_stream_continuation() -> bool:
    import inspect

    return "enable_mid_stream_fallback_continuation" in inspect.signature(litellm.Router).parameters


def cut_router(server: Any, primary: str, **options: Any) -> litellm.Router:
    def deployment(group: str, model: str, **model_info: Any) -> dict[str, Any]:
        return {
            "model_name": group,
            "litellm_params": {
                "model": model,
                "api_base": server.base_url,
                "api_key": API_KEY,
                "max_retries": 0,
            },
            "model_info": model_info,
        }

    return litellm.Router(
        model_list=[
            deployment("primary", f"openai/{primary}"),
            # a fallback that may continue a cut stream from the text already sent
            deployment("backup", "openai/gpt-4o-mini", supports_assistant_prefill=True),
        ],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=0,
        **options,
    )


def check_mid_stream_fallback_trace(telemetry: Telemetry, caller: Any, cut_model: str) -> None:
    """Router span under the caller's, both attempts under the router span, one fallback."""
    parent, children = spans_by_kind(telemetry)
    assert parent.parent.span_id == caller.get_span_context().span_id
    assert parent.name == "router chat primary"
    assert [c.name for c in children] == [f"chat {cut_model}", "chat gpt-4o-mini"]
    check_parent_encloses(parent, children)
    cut, answered = children
    assert cut.status.status_code is StatusCode.ERROR
    failure = cut.attributes["error.type"]
    assert [e.name for e in cut.events] == ["exception"]
    assert answered.status.status_code is StatusCode.UNSET
    assert answered.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert answered.events == ()

    assert parent.status.status_code is StatusCode.UNSET
    attributes = dict(parent.attributes)
    assert {k: v for k, v in attributes.items() if k.startswith("litellm.router.")} == {
        "litellm.router.operation": "chat",
        "litellm.router.model_group": "primary",
        "litellm.router.attempts": 2,
        "litellm.router.retries": 0,
        "litellm.router.fallbacks": 1,
        "litellm.router.final_model_group": "backup",
        "litellm.router.deployment.model": "gpt-4o-mini",
        "litellm.router.deployment.provider": "openai",
    }
    (event,) = parent.events
    assert event.name == "litellm.router.fallback"
    assert event.attributes["error.type"] == failure
    assert event.attributes["litellm.router.from_model_group"] == "primary"
    assert event.attributes["litellm.router.to_model_group"] == "backup"
    assert event.attributes["litellm.router.deployment.model"] == cut_model


NO_MID_STREAM_FALLBACK = pytest.mark.skipif(
    not has_mid_stream_fallback(),
    reason=f"LiteLLM {LITELLM_VERSION} has no mid-stream fallback "
    "(no litellm.exceptions.MidStreamFallbackError): a Router stream that breaks is not "
    "continued on another deployment",
)


@NO_MID_STREAM_FALLBACK
def test_router_stream_cut_before_content_falls_back_under_the_router_span(
    server: Any, traced: Telemetry
) -> None:
    """The Router reads the first chunk, returns the stream, and falls back from inside its
    iteration when the connection drops before any content."""
    router = cut_router(server, "cut-stream-1")
    caller = traced.tracer_provider.get_tracer("app").start_span("caller")
    with trace.use_span(caller, end_on_exit=True):
        stream = router.completion(model="primary", messages=user_messages(), stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == "Hello from loopback"
    assert [r.body["model"] for r in server.requests] == ["cut-stream-1", "gpt-4o-mini"]
    check_mid_stream_fallback_trace(traced, caller, "cut-stream-1")


@NO_MID_STREAM_FALLBACK
async def test_router_async_stream_cut_before_content_falls_back_under_the_router_span(
    server: Any, traced: Telemetry
) -> None:
    router = cut_router(server, "cut-stream-1")
    caller = traced.tracer_provider.get_tracer("app").start_span("caller")
    with trace.use_span(caller, end_on_exit=True):
        stream = await router.acompletion(model="primary", messages=user_messages(), stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "Hello from loopback"
    assert [r.body["model"] for r in server.requests] == ["cut-stream-1", "gpt-4o-mini"]
    check_mid_stream_fallback_trace(traced, caller, "cut-stream-1")


def runs_in_a_bare_thread_under_a_loop(method: str) -> bool:
    """LiteLLM releases whose sync Router ``method`` makes its calls through
    ``run_async_function``, which uses a new thread (without the context) under a running loop."""
    import inspect

    function = getattr(litellm.Router, method, None)
    try:
        return "run_async_function" in inspect.getsource(function)  # type: ignore[arg-type]
    except (TypeError, OSError):
        return False


class StartThreads(SpanProcessor):
    """The thread each span started in, by span name."""

    def __init__(self) -> None:
        self.threads: dict[str, int] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.threads[span.name] = threading.get_ident()


@pytest.fixture
def start_threads(traced: Telemetry) -> StartThreads:
    processor = StartThreads()
    traced.tracer_provider.add_span_processor(processor)
    return processor


@NO_MID_STREAM_FALLBACK
async def test_router_sync_stream_fallback_inside_an_event_loop(
    server: Any, traced: Telemetry, start_threads: StartThreads
) -> None:
    """A sync Router stream read while an event loop runs in the thread: LiteLLM may make the
    fallback call in a fresh thread; the caller's context goes with it."""
    router = cut_router(server, "cut-stream-1")
    caller = traced.tracer_provider.get_tracer("app").start_span("caller")
    with trace.use_span(caller, end_on_exit=True):
        stream = router.completion(model="primary", messages=user_messages(), stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == "Hello from loopback"
    check_mid_stream_fallback_trace(traced, caller, "cut-stream-1")
    bare = runs_in_a_bare_thread_under_a_loop("_completion_streaming_iterator")
    # the path this test is for, where LiteLLM takes it
    assert (start_threads.threads["chat gpt-4o-mini"] != threading.get_ident()) is bare


async def test_sync_router_fallback_inside_an_event_loop(
    fallback_router: litellm.Router, traced: Telemetry, start_threads: StartThreads
) -> None:
    """A sync Router call under a running event loop: LiteLLM may run its retries and fallbacks
    in a fresh thread; the attempts stay children of the router span, under the caller's."""
    caller = traced.tracer_provider.get_tracer("app").start_span("caller")
    with trace.use_span(caller, end_on_exit=True):
        response = fallback_router.completion(model="primary", messages=user_messages())
    assert response.choices[0].message.content == "Hello from loopback"
    check_fallback_trace(traced)
    parent, _ = spans_by_kind(traced)
    assert parent.parent.span_id == caller.get_span_context().span_id
    bare = runs_in_a_bare_thread_under_a_loop("function_with_fallbacks")
    assert (start_threads.threads["chat gpt-4o-mini"] != threading.get_ident()) is bare


@pytest.mark.skipif(
    not has_mid_stream_continuation(),
    reason=f"LiteLLM {LITELLM_VERSION} has no mid-stream continuation "
    "(litellm.Router takes no enable_mid_stream_fallback_continuation): a stream cut after "
    "content raises",
)
async def test_router_stream_cut_after_content_continues_under_the_router_span(
    server: Any, traced: Telemetry
) -> None:
    router = cut_router(server, "cut-stream-2", enable_mid_stream_fallback_continuation=True)
    caller = traced.tracer_provider.get_tracer("app").start_span("caller")
    with trace.use_span(caller, end_on_exit=True):
        stream = await router.acompletion(model="primary", messages=user_messages(), stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "Hello from loopback"
    cut_request, continuation = server.requests
    assert cut_request.body["model"] == "cut-stream-2"
    # the continuation sends the text already streamed as an assistant prefill
    assert continuation.body["messages"][-1] == {
        "role": "assistant",
        "content": "Hello",
        "prefix": True,
    }
    check_mid_stream_fallback_trace(traced, caller, "cut-stream-2")


@NO_MID_STREAM_FALLBACK
async def test_router_stream_cut_after_content_fails_the_router_span(
    server: Any, traced: Telemetry
) -> None:
    """Without continuation, content already sent means no fallback: the caller gets the
    provider's error while reading, and so does the router span, ending after its attempt."""
    router = cut_router(server, "cut-stream-2")
    stream = await router.acompletion(model="primary", messages=user_messages(), stream=True)
    with pytest.raises(litellm.APIConnectionError) as raised:
        async for _ in stream:
            pass
    assert [r.body["model"] for r in server.requests] == ["cut-stream-2"]
    parent, (child,) = spans_by_kind(traced)
    check_parent_encloses(parent, [child])
    assert child.status.status_code is StatusCode.ERROR
    assert parent.status.status_code is StatusCode.ERROR
    assert parent.attributes["error.type"] == type(raised.value).__qualname__
    assert parent.attributes["litellm.router.attempts"] == 1
    assert parent.attributes["litellm.router.fallbacks"] == 0
    assert "litellm.router.final_model_group" not in parent.attributes
    assert [e.name for e in parent.events] == ["exception"]


# -- server.address of the attempts ------------------------------------------------------------


def test_router_attempts_name_their_deployments_endpoints(
    monkeypatch: pytest.MonkeyPatch, server: Any, traced: Telemetry
) -> None:
    """One deployment pins its ``api_base``; the other takes the endpoint from the environment,
    as self-hosted set-ups do. Each attempt names the server that received it."""
    from tests.support.loopback_server import LoopbackLLMServer

    with LoopbackLLMServer() as from_env:
        monkeypatch.setenv("OPENAI_BASE_URL", from_env.base_url)
        monkeypatch.setattr(litellm, "api_base", None)
        params = {"model": "openai/gpt-4o-mini", "api_key": API_KEY, "max_retries": 0}
        router = litellm.Router(
            model_list=[
                {"model_name": "pinned", "litellm_params": {**params, "api_base": server.base_url}},
                {"model_name": "from-env", "litellm_params": params},
            ]
        )
        router.completion(model="pinned", messages=user_messages())
        router.completion(model="from-env", messages=user_messages())
        assert len(server.requests) == len(from_env.requests) == 1
        spans = [s for s in traced.finished() if s.kind is SpanKind.CLIENT]
        addresses = [(a.attributes["server.address"], a.attributes["server.port"]) for a in spans]
        assert addresses == [("127.0.0.1", server.port), ("127.0.0.1", from_env.port)]


async def test_router_responses_stream_parent_encloses_its_attempt(
    server: Any, traced: Telemetry
) -> None:
    router = make_router(server)  # after instrument(): per-instance methods are wrapped too
    stream = await router.aresponses(model="backup", input="Say hi", stream=True)
    events = [event.type async for event in stream]
    assert events[-1] == "response.completed"
    parent, (child,) = spans_by_kind(traced)
    check_parent_encloses(parent, [child])
    assert parent.attributes["litellm.router.attempts"] == 1
    assert parent.attributes["litellm.router.final_model_group"] == "backup"


# -- Anthropic Messages and Google GenAI through the Router -----------------------------------

ANTHROPIC_BACKUP = "claude-sonnet-4"
GEMINI_BACKUP = "gemini-2.0-flash"
#: Router method → (provider prefix, answering model, router span's operation, provider name).
ROUTER_SURFACES: dict[str, tuple[str, str, str, str]] = {
    **{
        name: ("anthropic", ANTHROPIC_BACKUP, "chat", "anthropic")
        for name in ("aanthropic_messages", "anthropic_messages")
    },
    **{
        name: ("gemini", GEMINI_BACKUP, "generate_content", "gcp.gemini")
        for name in (
            "agenerate_content",
            "generate_content",
            "agenerate_content_stream",
            "generate_content_stream",
        )
    },
}
#: The oldest tier's LiteLLM makes one attempt in Router.aanthropic_messages, the LTS one on
#: fall back.
GENERIC_FALLBACKS = Version(LITELLM_VERSION) >= Version("1.108.14")


def surface_router(server: Any, name: str, primary: str) -> litellm.Router:
    """Groups ``primary`` (the provider's ``primary`` model) and ``backup``, one fallback."""
    prefix, backup, _, _ = ROUTER_SURFACES[name]
    # Anthropic's API lives at the server's root, Gemini's below /v1
    base = server.base_url.removesuffix("/v1") if prefix == "anthropic" else server.base_url

    def deployment(group: str, model: str) -> dict[str, Any]:
        params = {"model": f"{prefix}/{model}", "api_base": base, "api_key": API_KEY}
        return {"model_name": group, "litellm_params": {**params, "max_retries": 0}}

    router = litellm.Router(
        model_list=[deployment("primary", primary), deployment("backup", backup)],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=0,
    )
    if not callable(getattr(router, name, None)):
        pytest.skip(f"LiteLLM {LITELLM_VERSION}'s Router has no {name} method")
    return router


async def call_surface(router: litellm.Router, name: str, group: str, stream: bool) -> Any:
    """Call ``router.<name>`` on ``group``; the result, or the stream opened and not yet read."""
    method = getattr(router, name)
    if name.endswith("anthropic_messages"):
        result = method(model=group, max_tokens=10, messages=user_messages(), stream=stream)
    else:
        result = method(model=group, contents=[{"role": "user", "parts": [{"text": "hi"}]}])
    return await result if name.startswith("a") else result


async def drain(stream: Any, name: str) -> list[Any]:
    """Read a stream ``router.<name>`` returned (a sync method's is a sync iterator)."""
    if name.startswith("a"):
        return [chunk async for chunk in stream]
    return list(stream)


def is_stream_call(name: str, stream: bool) -> bool:
    return stream or name.endswith("_stream")


def check_surface_trace(
    telemetry: Telemetry, name: str, caller: Any, attempted: list[str], *, fell_back: bool
) -> tuple[Any, list[Any]]:
    """One router span under the caller's, parent of one span per attempt, in order."""
    _, backup, operation, provider = ROUTER_SURFACES[name]
    parent, children = spans_by_kind(telemetry)
    group = "primary" if fell_back else "backup"
    assert parent.name == f"router {operation} {group}"
    assert parent.parent.span_id == caller.get_span_context().span_id
    assert [c.name for c in children] == [f"{operation} {model}" for model in attempted]
    check_parent_encloses(parent, children)
    assert parent.status.status_code is StatusCode.UNSET
    routed = {k: v for k, v in parent.attributes.items() if k.startswith("litellm.router.")}
    assert routed == {
        "litellm.router.operation": operation,
        "litellm.router.model_group": group,
        "litellm.router.attempts": len(attempted),
        "litellm.router.retries": 0,
        "litellm.router.fallbacks": 1 if fell_back else 0,
        "litellm.router.final_model_group": "backup",
        "litellm.router.deployment.model": backup,
        "litellm.router.deployment.provider": provider,
    }
    assert not [k for k in parent.attributes if k.startswith("gen_ai.usage")]
    assert children[-1].status.status_code is StatusCode.UNSET
    return parent, children


def surface_calls(names: list[str]) -> list[Any]:
    """(method, stream=True?) for each method: the Messages ones both ways, the others as
    their names say (``generate_content_stream`` streams, ``generate_content`` does not)."""
    return [
        pytest.param(name, stream, id=f"{name}-{'stream' if stream else 'whole'}")
        for name in names
        for stream in ((False, True) if name.endswith("anthropic_messages") else (False,))
    ]


@pytest.mark.parametrize(("name", "stream"), surface_calls(sorted(ROUTER_SURFACES)))
async def test_router_surface_is_a_router_span_over_its_attempt(
    server: Any, traced: Telemetry, name: str, stream: bool
) -> None:
    router = surface_router(server, name, "error-500")
    caller = traced.tracer_provider.get_tracer("app").start_span("caller")
    with trace.use_span(caller, end_on_exit=True):
        result = await call_surface(router, name, "backup", stream)
        if is_stream_call(name, stream):
            assert traced.finished() == []  # nothing ends before the stream is read
            assert await drain(result, name)
        else:
            assert result is not None
    _, backup, _, _ = ROUTER_SURFACES[name]
    check_surface_trace(traced, name, caller, [backup], fell_back=False)
    assert len(server.requests) == 1


@pytest.mark.skipif(
    not GENERIC_FALLBACKS,
    reason=f"LiteLLM {LITELLM_VERSION}'s Router.aanthropic_messages makes one attempt: "
    "no fallback to follow",
)
@pytest.mark.parametrize(
    ("name", "stream"),
    surface_calls(
        [
            *("aanthropic_messages", "anthropic_messages"),
            *("agenerate_content", "agenerate_content_stream"),
        ]
    ),
)
async def test_router_surface_fallback_is_an_event_between_two_attempts(
    server: Any, traced: Telemetry, name: str, stream: bool
) -> None:
    """The Router's async generic endpoints fall back as its chat does (its sync ones make one
    attempt: see the test below)."""
    router = surface_router(server, name, "error-500")
    caller = traced.tracer_provider.get_tracer("app").start_span("caller")
    with trace.use_span(caller, end_on_exit=True):
        result = await call_surface(router, name, "primary", stream)
        if is_stream_call(name, stream):
            assert [s.kind for s in traced.finished()] == [SpanKind.CLIENT]  # the failed attempt
            assert await drain(result, name)
    _, backup, _, _ = ROUTER_SURFACES[name]
    parent, (failed, _) = check_surface_trace(
        traced, name, caller, ["error-500", backup], fell_back=True
    )
    assert failed.status.status_code is StatusCode.ERROR
    failure = failed.attributes["error.type"]
    (event,) = parent.events
    assert event.name == "litellm.router.fallback"
    assert event.attributes["error.type"] == failure
    assert event.attributes["litellm.router.from_model_group"] == "primary"
    assert event.attributes["litellm.router.to_model_group"] == "backup"
    assert event.attributes["litellm.router.deployment.model"] == "error-500"
    assert len(server.requests) == 2


@pytest.mark.parametrize("name", ["generate_content", "generate_content_stream"])
async def test_router_sync_surface_failure_fails_the_router_span(
    server: Any, traced: Telemetry, name: str
) -> None:
    """The Router's sync generic endpoints make one attempt: its error is the caller's and the
    router span's."""
    router = surface_router(server, name, "error-500")
    with pytest.raises(Exception) as raised:
        await drain(await call_surface(router, name, "primary", stream=False), name)
    parent, (child,) = spans_by_kind(traced)
    assert child.parent.span_id == parent.context.span_id
    assert child.status.status_code is StatusCode.ERROR
    assert parent.status.status_code is StatusCode.ERROR
    assert parent.attributes["error.type"] == type(raised.value).__qualname__
    assert parent.attributes["litellm.router.attempts"] == 1
    assert "litellm.router.final_model_group" not in parent.attributes
    assert len(server.requests) == 1


@pytest.mark.parametrize("name", ["aanthropic_messages", "agenerate_content_stream"])
async def test_router_surface_stream_dropped_early_ends_its_spans_once(
    server: Any, traced: Telemetry, name: str
) -> None:
    import gc

    router = surface_router(server, name, "error-500")
    stream = await call_surface(router, name, "backup", stream=True)
    await stream.__anext__()
    del stream
    gc.collect()
    parent, (child,) = spans_by_kind(traced)
    assert child.parent.span_id == parent.context.span_id
    assert parent.attributes["litellm.stream.closed_early"] is True
    assert parent.status.status_code is StatusCode.UNSET


# -- a Router built before instrument() -------------------------------------------------------


def prebuilt_router(server: Any, name: str) -> litellm.Router:
    if name in ROUTER_SURFACES:
        return surface_router(server, name, "error-500")
    return make_router(server)


async def call_prebuilt(router: litellm.Router, name: str) -> Any:
    """One call of ``router.<name>`` on the group ``backup`` that answers."""
    result = getattr(router, name)(model="backup", **call_arguments(name))
    return await result if name.startswith("a") else result


def call_arguments(name: str) -> dict[str, Any]:
    if name.endswith("anthropic_messages"):
        return {"max_tokens": 10, "messages": user_messages()}
    if "generate_content" in name:
        return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    if name.endswith("responses"):
        return {"input": "Say hi"}
    return {"messages": user_messages()}


def trace_shape(telemetry: Telemetry) -> list[tuple[Any, str, str | None, dict[str, Any]]]:
    """(kind, name, parent's name, router attributes) of each finished span, in order."""
    spans = telemetry.finished()
    names = {s.context.span_id: s.name for s in spans}
    return [
        (
            s.kind,
            s.name,
            names.get(s.parent.span_id, "outside") if s.parent else None,
            {k: v for k, v in s.attributes.items() if k.startswith("litellm.router.")},
        )
        for s in spans
    ]


#: Router method → (router span's name, attempt span's name, provider of the attempt).
PREBUILT: dict[str, tuple[str, str, str]] = {
    "responses": ("router chat backup", "chat gpt-4o-mini", "openai"),
    "aresponses": ("router chat backup", "chat gpt-4o-mini", "openai"),
    "completion": ("router chat backup", "chat gpt-4o-mini", "openai"),
    "aanthropic_messages": ("router chat backup", f"chat {ANTHROPIC_BACKUP}", "anthropic"),
    "anthropic_messages": ("router chat backup", f"chat {ANTHROPIC_BACKUP}", "anthropic"),
    "agenerate_content": (
        "router generate_content backup",
        f"generate_content {GEMINI_BACKUP}",
        "gcp.gemini",
    ),
    "generate_content": (
        "router generate_content backup",
        f"generate_content {GEMINI_BACKUP}",
        "gcp.gemini",
    ),
}


@pytest.mark.parametrize("name", sorted(PREBUILT))
async def test_router_built_before_instrument_gets_the_spans_of_one_built_after(
    server: Any, instrument: Any, name: str
) -> None:
    """``Router.__init__`` stores some methods on the instance, each holding the LiteLLM
    function of that moment (LiteLLM's original, before ``instrument()``)."""
    before = prebuilt_router(server, name)
    telemetry = instrument()
    after = prebuilt_router(server, name)
    shapes = []
    for router in (before, after):
        await call_prebuilt(router, name)
        shapes.append(trace_shape(telemetry))
        telemetry.spans.clear()
    router_span, attempt_span, provider = PREBUILT[name]
    operation = router_span.split()[1]
    model = attempt_span.split()[1]
    expected = [
        (SpanKind.CLIENT, attempt_span, router_span, {}),
        (
            SpanKind.INTERNAL,
            router_span,
            None,
            {
                "litellm.router.operation": operation,
                "litellm.router.model_group": "backup",
                "litellm.router.attempts": 1,
                "litellm.router.retries": 0,
                "litellm.router.fallbacks": 0,
                "litellm.router.final_model_group": "backup",
                "litellm.router.deployment.model": model,
                "litellm.router.deployment.provider": provider,
            },
        ),
    ]
    assert shapes == [expected, expected]
    assert len(server.requests) == 2


@pytest.mark.parametrize("name", sorted(PREBUILT))
async def test_uninstrument_leaves_a_router_built_before_instrument_as_it_was(
    server: Any, instrument: Any, name: str
) -> None:
    import sys

    from litellm_otel import LiteLLMInstrumentor
    from litellm_otel._router import ROUTER_METHODS

    router = prebuilt_router(server, name)
    methods = {n: vars(router)[n] for n in ROUTER_METHODS if n in vars(router)}
    router_class = dict(vars(litellm.Router))
    module = vars(sys.modules[litellm.Router.__module__])
    bridge = module.get("run_async_function")

    telemetry = instrument()
    kept = getattr(router, name)  # a bound method kept across uninstrument()
    await call_prebuilt(router, name)
    assert len(telemetry.finished()) == 2
    LiteLLMInstrumentor().uninstrument()
    telemetry.spans.clear()

    assert {n: vars(router)[n] for n in ROUTER_METHODS if n in vars(router)} == methods
    for method_name, method in methods.items():
        assert getattr(router, method_name) is method
    assert vars(litellm.Router).keys() == router_class.keys()
    assert all(vars(litellm.Router)[k] is v for k, v in router_class.items())
    assert module.get("run_async_function") is bridge
    await call_prebuilt(router, name)
    result = kept(model="backup", **call_arguments(name))
    if name.startswith("a"):
        await result
    assert telemetry.finished() == []
    assert len(server.requests) == 3
