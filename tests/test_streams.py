"""Streams: chunks untouched, the span ends exactly once however the stream ends."""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import copy
import gc
import inspect
import itertools
import json
import logging
import os
import pickle
import re
import time
import traceback
from dataclasses import dataclass
from typing import Any

import litellm
import openai
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode

from litellm_otel._config import Options
from litellm_otel._content import ContentPolicy
from litellm_otel._hooks import Hooks
from litellm_otel._stream_usage import litellm_keeps_unrequested_usage
from tests.support.litellm_release import STREAMED_RESPONSE_MODEL
from tests.support.telemetry import Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"
PROVIDER_MODEL = STREAMED_RESPONSE_MODEL


def chunk_view(chunk: Any) -> tuple[Any, ...]:
    """What a caller reads from a chunk (ids differ between runs of mock streams)."""
    return tuple(
        (choice.index, choice.delta.content, choice.finish_reason) for choice in chunk.choices
    )


def test_sync_stream_full_consumption(
    traced: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    stream = litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    assert isinstance(stream, litellm.CustomStreamWrapper)
    assert traced.finished() == []  # the span is still open while the stream is unread
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)

    assert text == "Hello from loopback"
    span = traced.only_span()
    assert span.name == "chat gpt-4o-mini"
    assert span.status.status_code is StatusCode.UNSET
    attributes = span.attributes
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.response.id"] == chunks[0].id
    assert attributes["gen_ai.response.model"] == PROVIDER_MODEL
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert "litellm.stream.closed_early" not in attributes
    # the provider sent no usage: no token attributes, no token points, never zeros
    assert not [key for key in attributes if key.startswith("gen_ai.usage.")]
    assert traced.metric_points("gen_ai.client.token.usage") == []


async def test_async_stream_full_consumption(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = await litellm.acompletion(
        model=MODEL, messages=user_messages(), stream=True, **call_args
    )
    assert isinstance(stream, litellm.CustomStreamWrapper)
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == "Hello from loopback"
    span = traced.only_span()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.request.stream"] is True


def test_chunks_identical_to_an_uninstrumented_run(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    plain = [
        chunk_view(c)
        for c in litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    ]
    telemetry = instrument(capture_content=True)
    traced_chunks = [
        chunk_view(c)
        for c in litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    ]
    assert traced_chunks == plain
    assert len(plain) >= 4
    assert len(telemetry.finished()) == 1


def without_in_this_release(name: str) -> pytest.MarkDecorator:
    """Older LiteLLM streams lack some methods; the proxy then lacks them too (the protocol
    table below checks that against LiteLLM's own object)."""
    return pytest.mark.skipif(
        not hasattr(litellm.CustomStreamWrapper, name),
        reason=f"this LiteLLM release's stream has no {name}",
    )


def test_chunk_objects_pass_through_untouched(traced: Telemetry) -> None:
    from litellm_otel._operations.chat_stream import ChatStreamState
    from litellm_otel._streams import proxy_stream

    chunks = [object(), object(), object()]

    class Source:
        def __iter__(self) -> Any:
            return iter(chunks)

        def close(self) -> None:
            pass

    invocation = _invocation(traced)
    proxy = proxy_stream(
        Source(), invocation, ChatStreamState(False), invocation.context, finisher()
    )
    assert [c for c in proxy] == chunks  # the very same objects, in order
    assert len(traced.finished()) == 1


def finisher() -> Any:
    """The wrappers' span-ender, with default options and no hooks."""
    from litellm_otel._config import Options
    from litellm_otel._content import ContentPolicy
    from litellm_otel._hooks import Hooks
    from litellm_otel._recorder import CallRecorder

    return CallRecorder(None, Options(), Hooks(), ContentPolicy())  # type: ignore[arg-type]


def _invocation(telemetry: Telemetry) -> Any:
    from opentelemetry.util.genai.handler import TelemetryHandler

    handler = TelemetryHandler(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    invocation = handler.inference("openai", request_model="gpt-4o-mini")
    invocation.suspend()
    return invocation


def test_break_then_del_exports_exactly_one_span(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    telemetry = instrument(capture_content=True)
    stream = litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    seen = []
    for index, chunk in enumerate(stream):
        seen.append(chunk)
        if index == 1:
            break
    assert telemetry.finished() == []
    del stream
    gc.collect()

    span = telemetry.only_span()
    assert span.attributes["litellm.stream.closed_early"] is True
    assert span.status.status_code is StatusCode.UNSET  # neither a failure nor a fake OK
    assert span.attributes["gen_ai.response.id"] == seen[0].id
    assert "gen_ai.response.finish_reasons" not in span.attributes
    output = json.loads(span.attributes["gen_ai.output.messages"])
    received_text = "".join(chunk.choices[0].delta.content or "" for chunk in seen)
    assert received_text in ("Hello", "Hello from")  # LiteLLM versions batch the first deltas
    assert output == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": received_text}],
            "finish_reason": None,
            "name": None,
        }
    ]
    gc.collect()
    assert len(telemetry.finished()) == 1  # ended once, not again


@without_in_this_release("close")
def test_close_ends_the_span_early(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    next(stream)
    stream.close()
    span = traced.only_span()
    assert span.attributes["litellm.stream.closed_early"] is True
    stream.close()  # idempotent
    del stream
    gc.collect()
    assert len(traced.finished()) == 1


@without_in_this_release("close")
def test_close_after_exhaustion_is_not_early(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    list(stream)
    stream.close()
    assert "litellm.stream.closed_early" not in traced.only_span().attributes


@without_in_this_release("__enter__")
def test_with_block(traced: Telemetry, call_args: dict[str, Any]) -> None:
    with litellm.completion(
        model=MODEL, messages=user_messages(), stream=True, **call_args
    ) as stream:
        first = next(iter(stream))
        assert first.choices[0].delta is not None
    span = traced.only_span()
    assert span.attributes["litellm.stream.closed_early"] is True


@without_in_this_release("__enter__")
def test_exception_in_the_with_body_propagates_and_is_not_an_llm_error(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    with (
        pytest.raises(KeyError),
        litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args) as s,
    ):
        next(iter(s))
        raise KeyError("user bug")
    span = traced.only_span()
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["litellm.stream.closed_early"] is True


@without_in_this_release("aclose")
async def test_aclose_ends_the_span_early(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = await litellm.acompletion(
        model=MODEL, messages=user_messages(), stream=True, **call_args
    )
    await stream.__anext__()
    await stream.aclose()
    span = traced.only_span()
    assert span.attributes["litellm.stream.closed_early"] is True
    assert span.status.status_code is StatusCode.UNSET


@without_in_this_release("__aenter__")
async def test_async_with_block(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = await litellm.acompletion(
        model=MODEL, messages=user_messages(), stream=True, **call_args
    )
    async with stream:
        async for _ in stream:
            pass
    assert "litellm.stream.closed_early" not in traced.only_span().attributes


async def test_async_break_then_drop(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = await litellm.acompletion(
        model=MODEL, messages=user_messages(), stream=True, **call_args
    )
    async for _ in stream:
        break
    del stream
    gc.collect()
    span = traced.only_span()
    assert span.attributes["litellm.stream.closed_early"] is True


def test_error_mid_stream(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = litellm.completion(
        model="openai/drop-stream", messages=user_messages(), stream=True, **call_args
    )
    received = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            received.append(chunk)
    # recent LiteLLM raises MidStreamFallbackError, older releases APIConnectionError
    assert type(raised.value).__name__ in ("MidStreamFallbackError", "APIConnectionError")
    assert len(received) >= 1
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.attributes["gen_ai.response.id"] == received[0].id
    assert [e.name for e in span.events] == ["exception"]
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == type(raised.value).__qualname__


async def test_async_error_mid_stream(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = await litellm.acompletion(
        model="openai/drop-stream", messages=user_messages(), stream=True, **call_args
    )
    with pytest.raises(openai.APIError) as raised:
        async for _ in stream:
            pass
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__


def test_usage_when_the_stream_carries_it(traced: Telemetry, call_args: dict[str, Any]) -> None:
    stream = litellm.completion(
        model=MODEL,
        messages=user_messages(),
        stream=True,
        stream_options={"include_usage": True},
        **call_args,
    )
    chunks = list(stream)
    attributes = traced.only_span().attributes
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 4
    (usage,) = [c.usage for c in chunks if getattr(c, "usage", None) is not None]
    if getattr(usage, "cost", None) is not None:  # LiteLLM puts its cost on the usage chunk
        assert attributes["litellm.response_cost"] == usage.cost
        assert usage.cost > 0
    else:  # releases that do not: no cost rather than a guessed one
        assert "litellm.response_cost" not in attributes
    points = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in traced.metric_points("gen_ai.client.token.usage")
    }
    assert points == {"input": 12, "output": 5}


# LiteLLM releases that drop a usage chunk they were not asked to return would hand it to the
# caller instead: there the option asks for nothing (and says so once).
ASKS_FOR_STREAM_USAGE = litellm_keeps_unrequested_usage()


def test_request_stream_usage_opt_in(
    instrument: Any, call_args: dict[str, Any], server: Any, caplog: Any
) -> None:
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        telemetry = instrument(request_stream_usage=True)
    list(litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args))
    request = [r for r in server.requests if r.path.endswith("/chat/completions")][-1]
    attributes = telemetry.only_span().attributes
    warnings = [r.getMessage() for r in caplog.records if "request_stream_usage" in r.getMessage()]
    if ASKS_FOR_STREAM_USAGE:
        assert request.body["stream_options"] == {"include_usage": True}
        assert attributes["gen_ai.usage.input_tokens"] == 12
        assert warnings == []
    else:
        assert "stream_options" not in request.body
        assert "gen_ai.usage.input_tokens" not in attributes
        assert len(warnings) == 1


def test_request_stream_usage_leaves_explicit_stream_options_alone(
    instrument: Any, call_args: dict[str, Any], server: Any
) -> None:
    instrument(request_stream_usage=True)
    list(
        litellm.completion(
            model=MODEL,
            messages=user_messages(),
            stream=True,
            stream_options={"include_usage": False},
            **call_args,
        )
    )
    request = [r for r in server.requests if r.path.endswith("/chat/completions")][-1]
    assert request.body.get("stream_options") in (None, {"include_usage": False})


def test_request_stream_usage_is_off_by_default(
    traced: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    list(litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args))
    request = [r for r in server.requests if r.path.endswith("/chat/completions")][-1]
    assert "stream_options" not in request.body


def test_tool_call_stream_is_reassembled(instrument: Any, call_args: dict[str, Any]) -> None:
    telemetry = instrument(capture_content=True)
    chunks = list(
        litellm.completion(
            model="openai/tool-model", messages=user_messages(), stream=True, **call_args
        )
    )
    assert len(chunks) >= 4
    span = telemetry.only_span()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert json.loads(span.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_weather_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_call",
            "name": None,
        }
    ]


def test_reasoning_stream(instrument: Any, call_args: dict[str, Any]) -> None:
    telemetry = instrument(capture_content=True)
    list(
        litellm.completion(
            model="openai/reasoning-model", messages=user_messages(), stream=True, **call_args
        )
    )
    (message,) = json.loads(telemetry.only_span().attributes["gen_ai.output.messages"])
    assert message["parts"] == [
        {"type": "reasoning", "content": "Thinking hard"},
        {"type": "text", "content": "Hello from loopback"},
    ]


def test_stream_metrics_and_their_absence_for_plain_calls(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert traced.metric_points("gen_ai.client.operation.time_to_first_chunk") == []
    assert traced.metric_points("gen_ai.client.operation.time_per_output_chunk") == []

    chunks = list(
        litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    )
    (first,) = traced.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1
    assert first.attributes["gen_ai.response.model"] == PROVIDER_MODEL
    (per_chunk,) = traced.metric_points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == len(chunks) - 1
    durations = traced.metric_points("gen_ai.client.operation.duration")
    assert sum(p.count for p in durations) == 2
    buckets = traced.metric("gen_ai.client.operation.time_to_first_chunk")
    assert tuple(buckets.data.data_points[0].explicit_bounds)[:3] == (0.01, 0.02, 0.04)


def test_duration_is_measured_to_the_end_of_the_stream(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    list(
        litellm.completion(
            model="openai/slow-stream", messages=user_messages(), stream=True, **call_args
        )
    )
    span = traced.only_span()
    seconds = (span.end_time - span.start_time) / 1e9
    assert seconds >= 0.2  # the slow stream sleeps 50 ms between its chunks
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert point.sum >= 0.2
    assert span.attributes["gen_ai.response.time_to_first_chunk"] < seconds


CHUNK_METRIC = {
    "default": "gen_ai.client.operation.time_per_output_chunk",
    "latest": "gen_ai.client.inference.time_per_output_chunk",
}
DURATION_METRIC = {
    "default": "gen_ai.client.operation.duration",
    "latest": "gen_ai.client.inference.duration",
}


@pytest.mark.parametrize("mode", ["default", "latest"])
def test_one_chunk_point_per_chunk_with_the_gap_the_reader_saw(
    telemetry: Telemetry, mode: str
) -> None:
    """The points are recorded when the stream ends, from times taken as the chunks arrived:
    one per chunk after the first, each the gap to the chunk before, in both modes."""
    from litellm_otel._operations.chat_stream import ChatStreamState
    from litellm_otel._streams import proxy_stream

    sleeps = [0.0, 0.05, 0.0, 0.1, 0.05, 0.0, 0.0]

    class Source:
        def __iter__(self) -> Any:
            for pause in [0.0, *sleeps]:
                time.sleep(pause)
                yield object()

        def close(self) -> None:
            pass

    invocation = _handler_in_mode(telemetry, mode).inference("openai", request_model="gpt-4o-mini")
    invocation.suspend()
    invocation.metric_attributes["gen_ai.operation.name"] = "chat"
    stream = proxy_stream(
        Source(), invocation, ChatStreamState(False), invocation.context, finisher()
    )
    arrivals = []
    for _ in stream:
        arrivals.append(time.perf_counter())
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]

    (point,) = telemetry.metric_points(CHUNK_METRIC[mode])
    assert point.count == len(sleeps)
    assert point.sum == pytest.approx(sum(gaps), abs=0.005)
    assert point.max == pytest.approx(max(gaps), abs=0.005)
    assert point.min == pytest.approx(min(gaps), abs=0.005)
    expected_buckets = [0] * (len(point.explicit_bounds) + 1)
    for gap in gaps:
        expected_buckets[bisect.bisect_left(point.explicit_bounds, gap)] += 1
    assert list(point.bucket_counts) == expected_buckets
    assert dict(point.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
    }
    assert len(telemetry.finished()) == 1


def _handler_in_mode(telemetry: Telemetry, mode: str) -> Any:
    """util-genai's handler with the meter provider ``instrument()`` gives it in ``mode``."""
    from opentelemetry.util.genai.handler import TelemetryHandler

    from litellm_otel._metrics import LatestMeterProvider

    meter_provider: Any = telemetry.meter_provider
    if mode == "latest":
        meter_provider = LatestMeterProvider(meter_provider)
    return TelemetryHandler(
        tracer_provider=telemetry.tracer_provider, meter_provider=meter_provider
    )


@pytest.mark.parametrize("mode", ["default", "latest"])
def test_a_failed_streams_chunk_points_are_recorded_without_the_error(
    telemetry: Telemetry, mode: str
) -> None:
    from litellm_otel._operations.chat_stream import ChatStreamState
    from litellm_otel._streams import proxy_stream

    class Source:
        def __iter__(self) -> Any:
            for _ in range(5):
                yield object()
            raise ConnectionError("the provider hung up")

        def close(self) -> None:
            pass

    invocation = _handler_in_mode(telemetry, mode).inference("openai", request_model="m")
    invocation.suspend()
    invocation.metric_attributes["gen_ai.operation.name"] = "chat"
    stream = proxy_stream(
        Source(), invocation, ChatStreamState(False), invocation.context, finisher()
    )
    received = []
    with pytest.raises(ConnectionError):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 5
    (span,) = telemetry.finished()
    assert span.status.status_code is StatusCode.ERROR
    (duration,) = telemetry.metric_points(DURATION_METRIC[mode])
    assert duration.attributes["error.type"] == "ConnectionError"
    (point,) = telemetry.metric_points(CHUNK_METRIC[mode])
    assert point.count == 4
    assert "error.type" not in point.attributes


def test_a_long_streams_chunk_points_are_recorded_while_it_is_read(traced: Telemetry) -> None:
    """The arrival times kept are bounded: every ``CHUNK_TIMES_KEPT`` chunks their points are
    recorded, so an export while the stream is open misses fewer than that many."""
    from litellm_otel._operations.chat_stream import ChatStreamState
    from litellm_otel._streams import CHUNK_TIMES_KEPT, proxy_stream

    total = 2 * CHUNK_TIMES_KEPT + 10

    class Source:
        def __iter__(self) -> Any:
            return (object() for _ in range(total))

        def close(self) -> None:
            pass

    def recorded() -> int:
        points = traced.metric_points("gen_ai.client.operation.time_per_output_chunk")
        return sum(p.count for p in points)

    invocation = _invocation(traced)
    stream = proxy_stream(
        Source(), invocation, ChatStreamState(False), invocation.context, finisher()
    )
    iterator = iter(stream)
    for _ in range(CHUNK_TIMES_KEPT):  # the first chunk and CHUNK_TIMES_KEPT - 1 after it
        next(iterator)
    assert recorded() == 0
    assert len(traced.metric_points("gen_ai.client.operation.time_to_first_chunk")) == 1
    next(iterator)
    assert recorded() == CHUNK_TIMES_KEPT
    for _ in range(CHUNK_TIMES_KEPT + 5):
        next(iterator)
    assert recorded() == 2 * CHUNK_TIMES_KEPT
    assert sum(1 for _ in iterator) == 4
    assert recorded() == total - 1
    assert len(traced.finished()) == 1


def test_a_stream_dropped_unread_records_the_chunk_points_it_had(traced: Telemetry) -> None:
    from litellm_otel._operations.chat_stream import ChatStreamState
    from litellm_otel._streams import proxy_stream

    class Source:
        def __iter__(self) -> Any:
            return (object() for _ in range(100))

        def close(self) -> None:
            pass

    invocation = _invocation(traced)
    stream = proxy_stream(
        Source(), invocation, ChatStreamState(False), invocation.context, finisher()
    )
    iterator = iter(stream)
    for _ in range(7):
        next(iterator)
    del stream, iterator
    gc.collect()
    (span,) = traced.finished()
    assert span.attributes["litellm.stream.closed_early"] is True
    (point,) = traced.metric_points("gen_ai.client.operation.time_per_output_chunk")
    assert point.count == 6


def test_no_context_stays_attached_between_chunks(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    tracer = traced.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("consumer") as consumer:
        stream = litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
        assert trace.get_current_span() is consumer
        for _ in stream:
            assert trace.get_current_span() is consumer
    spans = {s.name: s for s in traced.finished()}
    assert spans["chat gpt-4o-mini"].parent.span_id == consumer.get_span_context().span_id


async def test_50_concurrent_async_streams(
    traced: Telemetry, call_args: dict[str, Any], caplog: Any
) -> None:
    tracer = traced.tracer_provider.get_tracer("app")

    async def consume(index: int) -> str:
        with tracer.start_as_current_span(f"consumer-{index}"):
            stream = await litellm.acompletion(
                model="openai/slow-stream",
                messages=user_messages(f"q{index}"),
                stream=True,
                **call_args,
            )
            pieces = []
            async for chunk in stream:
                pieces.append(chunk.choices[0].delta.content or "")
                await asyncio.sleep(0)
            return "".join(pieces)

    with caplog.at_level(logging.ERROR):
        texts = await asyncio.gather(*(consume(i) for i in range(50)))
    assert texts == ["Hello from loopback"] * 50
    assert "Failed to detach context" not in caplog.text
    spans = traced.finished()
    consumers = {s.context.span_id: s for s in spans if s.name.startswith("consumer-")}
    ours = [s for s in spans if s.name == "chat slow-stream"]
    assert len(ours) == 50
    assert {s.parent.span_id for s in ours} == set(consumers)
    assert len({s.attributes["gen_ai.response.id"] for s in ours}) == 50
    for span in ours:
        assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert "litellm.stream.closed_early" not in span.attributes


def test_mock_response_stream(traced: Telemetry) -> None:
    stream = litellm.completion(
        model=MODEL, messages=user_messages(), mock_response="hello there friend", stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert text == "hello there friend"
    span = traced.only_span()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert not [key for key in span.attributes if key.startswith("gen_ai.usage.")]


def test_a_bug_in_chunk_handling_never_reaches_the_loop(
    traced: Telemetry, call_args: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from litellm_otel._operations.chat_stream import ChatStreamState

    def broken(self: Any, chunk: Any, invocation: Any) -> None:
        raise RuntimeError("chunk bug")

    monkeypatch.setattr(ChatStreamState, "process", broken)
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        text = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in litellm.completion(
                model=MODEL, messages=user_messages(), stream=True, **call_args
            )
        )
    assert text == "Hello from loopback"
    assert len(traced.finished()) == 1
    assert len([r for r in caplog.records if "stream chunk" in r.getMessage()]) == 1


@pytest.mark.slow
def test_100000_chunk_stream_holds_no_growing_buffer(traced: Telemetry) -> None:
    """With content capture off, what we keep per stream does not grow with its length."""
    import tracemalloc

    from litellm.types.utils import ModelResponseStream

    from litellm_otel._operations.chat_stream import ChatStreamState
    from litellm_otel._streams import proxy_stream

    chunks = [
        ModelResponseStream(
            id="chatcmpl-big",
            model="gpt-4o-mini",
            choices=[{"index": 0, "delta": {"content": f"piece {i}"}}],
        )
        for i in range(4)
    ]

    class Source:
        def __init__(self, count: int) -> None:
            self.count = count

        def __iter__(self) -> Any:
            return (chunks[i % 4] for i in range(self.count))

        def close(self) -> None:
            pass

    def ours(snapshot: Any) -> int:
        filters = [
            tracemalloc.Filter(True, "*/litellm_otel/*"),
            tracemalloc.Filter(True, "*/opentelemetry/util/genai/*"),
        ]
        return sum(stat.size for stat in snapshot.filter_traces(filters).statistics("filename"))

    tracemalloc.start()
    try:
        invocation = _invocation(traced)
        state = ChatStreamState(capture_content=False)
        stream = proxy_stream(Source(100_000), invocation, state, invocation.context, finisher())
        iterator = iter(stream)
        for _ in range(1_000):
            next(iterator)
        after_1k = ours(tracemalloc.take_snapshot())
        count = 1_000 + sum(1 for _ in iterator)
        after_100k = ours(tracemalloc.take_snapshot())
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert after_100k - after_1k < 4_096, (after_1k, after_100k)
    assert len(traced.finished()) == 1


# --- the stream protocol: exactly LiteLLM's, for every stream type it returns ----------------
#
# Each case is run twice: with our instrumentation suppressed (LiteLLM's own stream) and through
# it (our proxy). What the caller observes must be equal (chunks, values returned, exception
# types and messages); the span must end exactly once, the way that reading ended.


@dataclass(frozen=True)
class StreamKind:
    """One kind of stream a wrapped entry point returns with ``stream=True``."""

    name: str
    function: str
    arguments: dict[str, Any]
    #: Made by an ``a…`` function: read asynchronously when the protocol leaves the choice.
    is_async: bool
    #: The stream reports token usage (the server's 12 in / 5 out).
    has_usage: bool = False


CHAT = {"model": MODEL, "messages": user_messages()}
USAGE = {"stream_options": {"include_usage": True}}
TEXT = {"model": "openai/gpt-3.5-turbo-instruct", "prompt": "Say hello"}
RESPONSES = {"model": MODEL, "input": "Say hello"}
STREAM_KINDS = (
    StreamKind("completion", "completion", CHAT, is_async=False),
    StreamKind("acompletion", "acompletion", CHAT, is_async=True),
    StreamKind("completion+usage", "completion", {**CHAT, **USAGE}, is_async=False, has_usage=True),
    StreamKind("acompletion+usage", "acompletion", {**CHAT, **USAGE}, True, has_usage=True),
    StreamKind("completion mock", "completion", {**CHAT, "mock_response": "hi there"}, False),
    StreamKind("text_completion", "text_completion", TEXT, is_async=False),
    StreamKind("atext_completion", "atext_completion", TEXT, is_async=True),
    StreamKind("responses", "responses", RESPONSES, is_async=False, has_usage=True),
    StreamKind("aresponses", "aresponses", RESPONSES, is_async=True, has_usage=True),
    # A model missing from LiteLLM's cost map: LiteLLM fakes the stream from one response.
    StreamKind(
        "responses faked", "responses", {**RESPONSES, "model": "openai/tool-model"}, False, True
    ),
    StreamKind(
        "aresponses faked", "aresponses", {**RESPONSES, "model": "openai/tool-model"}, True, True
    ),
)
PROTOCOL_NAMES = (
    "__iter__",
    "__next__",
    "__aiter__",
    "__anext__",
    "__enter__",
    "__exit__",
    "__aenter__",
    "__aexit__",
    "close",
    "aclose",
)

_VOLATILE = (
    (re.compile(r"0x[0-9a-f]+"), "0x?"),
    (re.compile(r"(chatcmpl|resp|cmpl|msg)[-_][0-9A-Za-z_=+/-]+"), "<id>"),
    (re.compile(r"((?:created|created_at|completed_at)=)[0-9.]+"), r"\1?"),
)


def seen(chunk: Any) -> str:
    """A chunk as the caller sees it, minus what differs between two identical calls."""
    text = repr(chunk)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


async def read_all(stream: Any, asynchronously: bool) -> list[str]:
    if asynchronously:
        return [seen(chunk) async for chunk in stream]
    return [seen(chunk) for chunk in stream]


async def read_one(stream: Any, asynchronously: bool) -> str:
    return seen(await anext(stream) if asynchronously else next(stream))


async def by_next(stream: Any, kind: StreamKind) -> Any:
    chunks = []
    with contextlib.suppress(StopIteration):
        while True:
            chunks.append(seen(next(stream)))
    return ("read", chunks)


async def by_anext(stream: Any, kind: StreamKind) -> Any:
    chunks = []
    with contextlib.suppress(StopAsyncIteration):
        while True:
            chunks.append(seen(await anext(stream)))
    return ("read", chunks)


async def by_for(stream: Any, kind: StreamKind) -> Any:
    return ("read", await read_all(stream, asynchronously=False))


async def by_async_for(stream: Any, kind: StreamKind) -> Any:
    return ("read", await read_all(stream, asynchronously=True))


async def by_close(stream: Any, kind: StreamKind) -> Any:
    first = await read_one(stream, kind.is_async)
    return ("closed", first, stream.close())


async def by_aclose(stream: Any, kind: StreamKind) -> Any:
    first = await read_one(stream, kind.is_async)
    return ("closed", first, await stream.aclose())


async def by_with(stream: Any, kind: StreamKind) -> Any:
    with stream as bound:
        return ("read", bound is stream, await read_all(bound, kind.is_async))


async def by_async_with(stream: Any, kind: StreamKind) -> Any:
    async with stream as bound:
        return ("read", bound is stream, await read_all(bound, kind.is_async))


async def by_copy(stream: Any, kind: StreamKind) -> Any:
    duplicate = copy.copy(stream)
    return ("read", duplicate.__class__.__name__, await read_all(duplicate, kind.is_async))


async def by_deepcopy(stream: Any, kind: StreamKind) -> Any:
    return ("kept", copy.deepcopy(stream).__class__.__name__)


async def by_pickle(stream: Any, kind: StreamKind) -> Any:
    return ("kept", pickle.loads(pickle.dumps(stream)).__class__.__name__)


async def by_hasattr(stream: Any, kind: StreamKind) -> Any:
    return ("kept", [name for name in PROTOCOL_NAMES if hasattr(stream, name)])


async def by_isinstance(stream: Any, kind: StreamKind) -> Any:
    return ("kept", stream.__class__, isinstance(stream, stream.__class__))


PROTOCOLS = {
    "next": by_next,
    "anext": by_anext,
    "for": by_for,
    "async for": by_async_for,
    "close": by_close,
    "aclose": by_aclose,
    "with": by_with,
    "async with": by_async_with,
    "copy": by_copy,
    "deepcopy": by_deepcopy,
    "pickle": by_pickle,
    "hasattr": by_hasattr,
    "isinstance": by_isinstance,
}


@dataclass
class Observed:
    """What the caller saw; and whether an exception came out of LiteLLM's own code."""

    seen: Any
    raised_in_litellm: bool = False


async def observe(kind: StreamKind, protocol: str, call_args: dict[str, Any]) -> Observed:
    arguments = {**kind.arguments, "stream": True}
    if "mock_response" not in arguments:
        arguments.update(call_args)
    stream = getattr(litellm, kind.function)(**arguments)
    if inspect.isawaitable(stream):
        stream = await stream
    try:
        return Observed(await PROTOCOLS[protocol](stream, kind))
    except Exception as error:
        frames = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(error.__traceback__)]
        in_litellm = any(f"{os.sep}litellm{os.sep}" in name for name in frames)
        return Observed(("raised", type(error), str(error)), in_litellm)


def same_observation(plain: Any, ours: Any) -> bool:
    """Equal, except that an exception of ours may be a subclass of LiteLLM's (see _streams:
    a missing context-manager method is both an AttributeError and a TypeError)."""
    if plain[0] == ours[0] == "raised":
        return issubclass(ours[1], plain[1]) and ours[2] == plain[2]
    return plain == ours


# LiteLLM's Responses usage does not match its own pydantic model; not ours to fix.
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@pytest.mark.parametrize("protocol", list(PROTOCOLS))
@pytest.mark.parametrize("kind", STREAM_KINDS, ids=lambda kind: kind.name)
async def test_stream_protocol_is_litellms(
    traced: Telemetry, call_args: dict[str, Any], kind: StreamKind, protocol: str
) -> None:
    with suppress_instrumentation():
        plain = await observe(kind, protocol, call_args)
    traced.spans.clear()
    ends = EndCounter()
    traced.tracer_provider.add_span_processor(ends)

    ours = await observe(kind, protocol, call_args)
    # A stream left unfinished was dropped with observe()'s frame: its span ended then, or
    # ends when the collector frees a reference cycle LiteLLM's stream sits in.
    if not traced.finished():
        gc.collect()

    assert same_observation(plain.seen, ours.seen), (plain.seen, ours.seen)
    span = traced.only_span()
    assert list(ends.counts.values()) == [1]
    attributes = span.attributes
    if plain.seen[0] == "read":
        assert "litellm.stream.closed_early" not in attributes
        assert span.status.status_code is StatusCode.UNSET
        assert attributes["gen_ai.response.finish_reasons"]
        if kind.has_usage:
            assert attributes["gen_ai.usage.input_tokens"] == 12
            assert attributes["gen_ai.usage.output_tokens"] == 5
    elif plain.raised_in_litellm:  # LiteLLM's stream itself fails when read this way
        assert span.status.status_code is StatusCode.ERROR
        assert attributes["error.type"] == plain.seen[1].__qualname__
    else:  # closed, or never read to its end (a protocol the stream lacks, a copy refused)
        assert attributes["litellm.stream.closed_early"] is True
        assert span.status.status_code is StatusCode.UNSET


class EndCounter(SpanProcessor):
    """Counts how often each span ends."""

    def __init__(self) -> None:
        self.counts: collections.Counter[int] = collections.Counter()

    def on_end(self, span: ReadableSpan) -> None:
        self.counts[span.context.span_id] += 1


async def maybe_awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def anthropic_events(stream: Any) -> list[str]:
    """The SSE event names of an Anthropic-style byte stream (ids differ between calls)."""
    names = []
    async for frame in stream:
        for line in frame.decode().splitlines():
            if line.startswith("event: "):
                names.append(line.removeprefix("event: "))
    return names


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
async def test_anthropic_messages_adapter_streams_as_without_us(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    """LiteLLM's Anthropic adapter reads the Responses stream it gets asynchronously only when
    it claims ``__aiter__``: a proxy claiming more than the stream made it fail mid-stream."""
    arguments = {
        "max_tokens": 50,
        "messages": user_messages(),
        "model": MODEL,
        "stream": True,
        "api_base": call_args["api_base"],
        "api_key": call_args["api_key"],
    }
    create = litellm.anthropic.messages.create
    with suppress_instrumentation():
        try:
            plain = await anthropic_events(await maybe_awaited(create(**arguments)))
        except NotImplementedError:  # older releases: only the async ``acreate`` exists
            pytest.skip("this LiteLLM release has no sync anthropic.messages.create")
    ours = await anthropic_events(await maybe_awaited(create(**arguments)))
    assert ours == plain
    assert "error" not in plain
    assert plain[0] == "message_start"
    assert plain[-1] == "message_stop"
    span = traced.only_span()
    assert span.status.status_code is StatusCode.UNSET
    assert "litellm.stream.closed_early" not in span.attributes


# --- request_stream_usage: the provider is asked, the caller's stream stays as it was --------


USAGE_READS = [
    (function, read, mock)
    for function, read in (
        ("completion", "for"),
        ("completion", "async for"),  # LiteLLM itself fails this way once usage is asked for
        ("acompletion", "async for"),
        ("completion_with_retries", "for"),
    )
    for mock in (False, True)
]


@pytest.mark.parametrize("case", USAGE_READS, ids=lambda case: "-".join(map(str, case)))
async def test_request_stream_usage_leaves_the_chunks_as_they_are(
    instrument: Any, call_args: dict[str, Any], server: Any, case: tuple[str, str, bool]
) -> None:
    """The provider is asked for usage; the caller gets exactly the chunks of a call that did
    not ask, whichever way it reads them (no extra usage-only chunk, no mid-stream error)."""
    function, read, mock = case
    arguments = {"model": MODEL, "messages": user_messages(), "stream": True}
    arguments.update({"mock_response": "hi there"} if mock else call_args)

    async def chunks() -> list[str]:
        stream = getattr(litellm, function)(**arguments)
        if inspect.isawaitable(stream):
            stream = await stream
        return await read_all(stream, asynchronously=read == "async for")

    plain = await chunks()
    telemetry = instrument(request_stream_usage=True)
    server.clear()
    ours = await chunks()

    assert ours == plain
    assert len(plain) >= 2
    span = telemetry.only_span()
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    if not mock:
        (request,) = [r for r in server.requests if r.path.endswith("/chat/completions")]
        if ASKS_FOR_STREAM_USAGE:
            assert request.body["stream_options"] == {"include_usage": True}
            assert span.attributes["gen_ai.usage.input_tokens"] == 12
            assert span.attributes["gen_ai.usage.output_tokens"] == 5
        else:
            assert "stream_options" not in request.body


def test_request_stream_usage_asks_only_for_chat_streams(
    instrument: Any, call_args: dict[str, Any], server: Any
) -> None:
    """Text-completion streams would gain a usage-only chunk (and fail LiteLLM's async read of a
    sync call's stream); the Responses API reports usage by itself; the rest do not stream."""
    from litellm_otel._operations import CHAT, ENTRY_POINTS
    from litellm_otel._recorder import CallRecorder

    instrument(request_stream_usage=True)
    list(litellm.text_completion(**TEXT, stream=True, **call_args))
    (request,) = [r for r in server.requests if r.path.endswith("/completions")]
    assert "stream_options" not in request.body

    recorder = CallRecorder(None, Options(request_stream_usage=True), Hooks(), ContentPolicy())  # type: ignore[arg-type]
    params = {"model": MODEL, "stream": True}
    for surface in {entry.surface for entry in ENTRY_POINTS.values()}:
        kwargs = recorder.prepare_kwargs(surface, params, dict(params))
        asked = recorder.asks_stream_usage(surface, params)
        assert asked is (surface is CHAT and ASKS_FOR_STREAM_USAGE), surface.operation_name
        assert ("stream_options" in kwargs) is asked
