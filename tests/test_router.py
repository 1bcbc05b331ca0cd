"""Router: a parent span for the routing decision, one child GenAI span per attempt."""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.telemetry import API_KEY, Telemetry, user_messages


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
    (parent,) = [s for s in spans if s.kind is SpanKind.INTERNAL]
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
