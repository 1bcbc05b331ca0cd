"""One span per call, correctly parented: user spans, HTTP client spans, threads, tasks."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import litellm
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation

from tests.support.telemetry import Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"


def test_call_inside_user_span_is_its_child(traced: Telemetry, call_args: dict[str, Any]) -> None:
    tracer = traced.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handle-request") as parent:
        litellm.completion(model=MODEL, messages=user_messages(), **call_args)
        # our span is not left current after the call
        assert trace.get_current_span() is parent
    spans = {span.name: span for span in traced.finished()}
    child = spans["chat gpt-4o-mini"]
    assert child.parent is not None
    assert child.parent.span_id == spans["handle-request"].context.span_id
    assert child.context.trace_id == spans["handle-request"].context.trace_id


def test_http_client_span_nests_under_ours(
    traced: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=traced.tracer_provider)
    try:
        litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    finally:
        HTTPXClientInstrumentor().uninstrument()
    spans = traced.finished()
    ours = [s for s in spans if s.name == "chat gpt-4o-mini"]
    http = [s for s in spans if s.kind is trace.SpanKind.CLIENT and s.name.startswith("POST")]
    assert len(ours) == 1
    assert len(http) == 1
    assert http[0].parent.span_id == ours[0].context.span_id
    # the traceparent reached the provider: it carries our trace and the HTTP span's id
    request = [r for r in server.requests if r.path.endswith("/chat/completions")][-1]
    traceparent = request.headers["traceparent"]
    assert traceparent.split("-")[1] == format(ours[0].context.trace_id, "032x")


async def test_acompletion_gives_exactly_one_span(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    # acompletion runs completion in an executor; the inner call must not add a span
    await litellm.acompletion(model=MODEL, messages=user_messages(), **call_args)
    await litellm.acompletion(model=MODEL, messages=user_messages(), mock_response="x")
    assert [s.name for s in traced.finished()] == ["chat gpt-4o-mini", "chat gpt-4o-mini"]


async def test_200_concurrent_acompletions_each_under_its_own_parent(
    traced: Telemetry,
) -> None:
    tracer = traced.tracer_provider.get_tracer("app")

    async def one(index: int) -> None:
        with tracer.start_as_current_span(f"task-{index}"):
            await litellm.acompletion(
                model=MODEL, messages=user_messages(f"q{index}"), mock_response=f"a{index}"
            )

    await asyncio.gather(*(one(i) for i in range(200)))
    spans = traced.finished()
    parents = {s.context.span_id: s for s in spans if s.name.startswith("task-")}
    ours = [s for s in spans if s.name == "chat gpt-4o-mini"]
    assert len(parents) == 200
    assert len(ours) == 200
    assert {s.parent.span_id for s in ours} == set(parents)  # every task has exactly one child
    for span in ours:
        assert span.context.trace_id == parents[span.parent.span_id].context.trace_id


def test_calls_from_8_threads(traced: Telemetry, call_args: dict[str, Any]) -> None:
    tracer = traced.tracer_provider.get_tracer("app")
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for call in range(5):
                with tracer.start_as_current_span(f"thread-{index}-{call}"):
                    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    spans = traced.finished()
    parents = {s.context.span_id for s in spans if s.name.startswith("thread-")}
    ours = [s for s in spans if s.name == "chat gpt-4o-mini"]
    assert len(ours) == 40
    assert {s.parent.span_id for s in ours} == parents


def test_suppress_instrumentation_gives_no_span(traced: Telemetry) -> None:
    with suppress_instrumentation():
        litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    assert traced.finished() == []
    assert traced.metric_points("gen_ai.client.operation.duration") == []


def test_a_failing_attribute_extractor_does_not_break_the_call(
    instrument: Any, call_args: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:

    from litellm_otel import _operations

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("extractor bug")

    entry = _operations.ENTRY_POINTS["completion"]
    broken_surface = dataclasses.replace(entry.surface, apply_request=broken, apply_response=broken)
    monkeypatch.setitem(
        _operations.ENTRY_POINTS,  # type: ignore[arg-type]
        "completion",
        dataclasses.replace(entry, surface=broken_surface),
    )
    traced = instrument()
    with caplog.at_level("WARNING", logger="litellm_otel"):
        first = litellm.completion(model=MODEL, messages=user_messages(), **call_args)
        second = litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert first.choices[0].message.content == "Hello from loopback"
    assert second.choices[0].message.content == "Hello from loopback"
    # spans still end, with what could be recorded
    assert [s.name for s in traced.finished()] == ["chat gpt-4o-mini"] * 2
    # logged once per kind of failure, not once per call
    messages = [r.getMessage() for r in caplog.records if r.name == "litellm_otel"]
    assert len(messages) == 2
    assert any("request arguments" in m for m in messages)
    assert any("response" in m for m in messages)


def test_a_failing_provider_lookup_does_not_break_the_call(
    traced: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from litellm_otel import _providers

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("resolver bug")

    monkeypatch.setattr(_providers, "_identify", broken)
    response = litellm.completion(model=MODEL, messages=user_messages(), mock_response="fine")
    assert response.choices[0].message.content == "fine"
    assert traced.finished() == []  # no span rather than a broken call


def test_unknown_model_still_gets_a_span_and_the_original_exception(traced: Telemetry) -> None:
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(model="no-such-model-xyz", messages=user_messages())
    span = traced.only_span()
    assert span.name == "chat no-such-model-xyz"
    assert span.attributes["gen_ai.provider.name"] == "_OTHER"
    assert span.attributes["error.type"] == "BadRequestError"
