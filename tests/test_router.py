"""Router: a parent span for the routing decision, one child GenAI span per attempt."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import litellm
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.telemetry import API_KEY, Telemetry, user_messages

LITELLM_VERSION = importlib.metadata.version("litellm")


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


def sync_stream_fallback_runs_in_a_bare_thread() -> bool:
    """LiteLLM releases whose sync Router stream makes its fallback through
    ``run_async_function``, which uses a new thread (without the context) under a running loop."""
    import inspect

    iterator = getattr(litellm.Router, "_completion_streaming_iterator", None)
    try:
        return "run_async_function" in inspect.getsource(iterator)  # type: ignore[arg-type]
    except (TypeError, OSError):
        return False


@NO_MID_STREAM_FALLBACK
@pytest.mark.xfail(
    sync_stream_fallback_runs_in_a_bare_thread(),
    strict=True,
    reason="a sync Router stream read while an event loop runs in the thread: LiteLLM makes "
    "the fallback call in a fresh thread (litellm_core_utils.asyncify.run_async_function) "
    "without the caller's context, so its span is a root span the Router call cannot count",
)
async def test_router_sync_stream_fallback_inside_an_event_loop(
    server: Any, traced: Telemetry
) -> None:
    router = cut_router(server, "cut-stream-1")
    caller = traced.tracer_provider.get_tracer("app").start_span("caller")
    with trace.use_span(caller, end_on_exit=True):
        stream = router.completion(model="primary", messages=user_messages(), stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == "Hello from loopback"
    check_mid_stream_fallback_trace(traced, caller, "cut-stream-1")


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
