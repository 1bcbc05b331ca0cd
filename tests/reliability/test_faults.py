"""Fault injection: whatever breaks on the telemetry side, the LiteLLM call is unaffected.

The promise (docs/reliability.md): the instrumentation never breaks the call it observes,
the span still ends, and a failure of ours is logged once per kind, not once per call, so a
bug that fires on every request cannot flood the user's logs. Each case below injects one
fault where telemetry leaves our hands (the span exporter, the meter, a span processor) or
inside our own code (an attribute extractor, a stream-chunk reader, an unknown result type),
then makes three calls per mode (sync, async, sync stream, async stream) and checks:

* every call returns what LiteLLM returned (or raises LiteLLM's own exception);
* every span that was started ended, exactly once;
* each kind of ``litellm_otel`` warning appears at most once over all those calls.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import Any

import litellm
import pytest
from opentelemetry.context import Context
from opentelemetry.metrics import NoOpHistogram, NoOpMeter, NoOpMeterProvider
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.util.genai.handler import TelemetryHandler

from litellm_otel import _operations
from litellm_otel._config import Options
from litellm_otel._content import ContentPolicy
from litellm_otel._failsafe import reset_reported
from litellm_otel._hooks import Hooks
from litellm_otel._recorder import CallRecorder
from litellm_otel._wrappers import ArgumentBinder, make_wrapper
from tests.support.telemetry import Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"
CALLS = 3
ANSWER = "fault-free answer"


# --- the faults --------------------------------------------------------------------------


class RaisingExporter(SpanExporter):
    """An exporter whose backend is down in the worst way: ``export`` raises."""

    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        raise ConnectionError("collector unreachable")

    def shutdown(self) -> None:
        pass


class RaisingHistogram(NoOpHistogram):
    def __init__(self, name: str, recorded: list[str]) -> None:
        super().__init__(name)
        self._metric = name
        self._recorded = recorded

    def record(self, amount: Any, attributes: Any = None, context: Any = None) -> None:
        self._recorded.append(self._metric)
        raise RuntimeError(f"metrics backend broke while recording {self._metric}")


class RaisingMeter(NoOpMeter):
    """The metrics API as a buggy SDK or vendor distro might implement it."""

    def __init__(self, name: str, recorded: list[str], *, fail_at_creation: bool) -> None:
        super().__init__(name)
        self._recorded = recorded
        self._fail_at_creation = fail_at_creation

    def create_histogram(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._fail_at_creation:
            raise RuntimeError("metrics backend broke while creating a histogram")
        return RaisingHistogram(name, self._recorded)


class RaisingMeterProvider(NoOpMeterProvider):
    def __init__(self, *, fail_at_creation: bool = False) -> None:
        self.recorded: list[str] = []
        self._fail_at_creation = fail_at_creation

    def get_meter(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return RaisingMeter(name, self.recorded, fail_at_creation=self._fail_at_creation)


class RaisingProcessor(SpanProcessor):
    """A span processor (a vendor's, say) that raises from ``on_start`` or ``on_end``."""

    def __init__(self, *, on: str) -> None:
        self.on = on

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.on == "start":
            raise RuntimeError("processor bug in on_start")

    def on_end(self, span: ReadableSpan) -> None:
        if self.on == "end":
            raise RuntimeError("processor bug in on_end")


class SpanTracker(SpanProcessor):
    """Counts starts and ends per span: proves every started span ended exactly once."""

    def __init__(self) -> None:
        self.started: set[int] = set()
        self.ends: collections.Counter[int] = collections.Counter()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started.add(span.context.span_id)

    def on_end(self, span: ReadableSpan) -> None:
        self.ends[span.context.span_id] += 1

    def assert_each_started_span_ended_once(self) -> None:
        if set(self.ends) != self.started:
            gc.collect()  # a proxy caught in a reference cycle ends its span when collected
        assert set(self.ends) == self.started, "a started span never ended"
        assert all(count == 1 for count in self.ends.values()), self.ends


class BrokenStreamState:
    """A stream-chunk reader with a bug on every chunk and at the end of the stream."""

    def __init__(self, capture_content: bool) -> None:
        pass

    def process(self, chunk: Any, invocation: Any) -> None:
        raise RuntimeError("chunk reader bug")

    def apply(self, invocation: Any) -> None:
        raise RuntimeError("stream finisher bug")


def broken(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("attribute extractor bug")


# --- the calls ---------------------------------------------------------------------------


def our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("litellm_otel")]


def assert_logged_once_per_kind(caplog: pytest.LogCaptureFixture) -> collections.Counter[str]:
    counts = collections.Counter(our_warnings(caplog))
    repeated = {message: count for message, count in counts.items() if count > 1}
    assert not repeated, f"logged per call instead of once per kind: {repeated}"
    return counts


def text_of(response: Any) -> str:
    return str(response.choices[0].message.content)


def call_sync() -> str:
    return text_of(litellm.completion(model=MODEL, messages=user_messages(), mock_response=ANSWER))


LOOP: list[asyncio.AbstractEventLoop] = []


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on the test's one event loop (LiteLLM's logging worker warns when loops change)."""
    return LOOP[-1].run_until_complete(coroutine)


@pytest.fixture(autouse=True)
def event_loop_for_async_calls() -> Iterator[None]:
    loop = asyncio.new_event_loop()
    LOOP.append(loop)
    yield
    LOOP.remove(loop)
    loop.run_until_complete(cancel_leftover_tasks())  # LiteLLM's logging worker
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


async def cancel_leftover_tasks() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def call_async() -> str:
    async def run() -> str:
        response = await litellm.acompletion(
            model=MODEL, messages=user_messages(), mock_response=ANSWER
        )
        return text_of(response)

    return run_async(run())


def call_stream() -> str:
    stream = litellm.completion(
        model=MODEL, messages=user_messages(), mock_response=ANSWER, stream=True
    )
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream)


def call_async_stream() -> str:
    async def run() -> str:
        stream = await litellm.acompletion(
            model=MODEL, messages=user_messages(), mock_response=ANSWER, stream=True
        )
        return "".join([chunk.choices[0].delta.content or "" async for chunk in stream])

    return run_async(run())


def call_abandoned_stream() -> str:
    stream = litellm.completion(
        model=MODEL, messages=user_messages(), mock_response=ANSWER, stream=True
    )
    first = next(iter(stream)).choices[0].delta.content or ""
    del stream  # dropped unread: the proxy ends its span as its last reference goes
    return first


MODES: dict[str, Callable[[], str]] = {
    "sync": call_sync,
    "async": call_async,
    "stream": call_stream,
    "async-stream": call_async_stream,
}


def run_every_mode(telemetry: Telemetry, tracker: SpanTracker) -> None:
    """Three calls per mode; each returns LiteLLM's answer and leaves one ended span."""
    for mode, call in MODES.items():
        for _ in range(CALLS):
            assert call() == ANSWER, mode
    first = call_abandoned_stream()
    assert first and ANSWER.startswith(first)
    tracker.assert_each_started_span_ended_once()
    assert len(telemetry.finished()) == CALLS * len(MODES) + 1


@pytest.fixture
def tracker(telemetry: Telemetry) -> SpanTracker:
    tracker = SpanTracker()
    telemetry.tracer_provider.add_span_processor(tracker)
    return tracker


# --- (a) the span exporter raises ---------------------------------------------------------


def test_span_exporter_raising_on_export(
    instrument: Callable[..., Telemetry],
    telemetry: Telemetry,
    tracker: SpanTracker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = RaisingExporter()
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(capture_content=True)
    with caplog.at_level(logging.WARNING):
        run_every_mode(telemetry, tracker)
    assert exporter.calls == CALLS * len(MODES) + 1  # the fault really fired, every time
    # the SDK's processor contains exporter failures before they reach us
    assert our_warnings(caplog) == []


# --- (b) the meter raises -----------------------------------------------------------------


def test_meter_raising_on_record(
    instrument: Callable[..., Telemetry],
    telemetry: Telemetry,
    tracker: SpanTracker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    meters = RaisingMeterProvider()
    instrument(meter_provider=meters)
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        run_every_mode(telemetry, tracker)
    assert "gen_ai.client.operation.duration" in meters.recorded  # the fault really fired
    assert "gen_ai.client.operation.time_to_first_chunk" in meters.recorded
    counts = assert_logged_once_per_kind(caplog)
    assert any("ending the span" in message for message in counts), counts
    assert any("stream chunk" in message for message in counts), counts
    # metrics are recorded after the span attributes are set, so the span keeps them
    for span in telemetry.finished():
        assert span.attributes["gen_ai.response.model"] == "gpt-4o-mini"


def test_meter_raising_on_a_failed_call_keeps_litellms_exception(
    instrument: Callable[..., Telemetry],
    telemetry: Telemetry,
    tracker: SpanTracker,
    call_args: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    instrument(meter_provider=RaisingMeterProvider())
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        for _ in range(CALLS):
            with pytest.raises(litellm.RateLimitError):
                litellm.completion(model="openai/error-429", messages=user_messages(), **call_args)
    tracker.assert_each_started_span_ended_once()
    assert [s.attributes["error.type"] for s in telemetry.finished()] == ["RateLimitError"] * 3
    counts = assert_logged_once_per_kind(caplog)
    assert any("recording an error" in message for message in counts), counts


def test_meter_raising_at_creation(
    instrument: Callable[..., Telemetry],
    telemetry: Telemetry,
    tracker: SpanTracker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``instrument()`` itself survives a meter that cannot create its histograms."""
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        instrument(meter_provider=RaisingMeterProvider(fail_at_creation=True))
        run_every_mode(telemetry, tracker)  # spans are still recorded
    counts = assert_logged_once_per_kind(caplog)
    assert len(counts) == 1, counts
    assert "creating the GenAI metrics" in next(iter(counts)), counts


# --- a span processor raises --------------------------------------------------------------


@pytest.mark.parametrize("on", ["start", "end"])
def test_span_processor_raising(
    instrument: Callable[..., Telemetry],
    telemetry: Telemetry,
    on: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telemetry.tracer_provider.add_span_processor(RaisingProcessor(on=on))
    instrument()
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        for mode, call in MODES.items():
            for _ in range(CALLS):
                assert call() == ANSWER, mode
    counts = assert_logged_once_per_kind(caplog)
    expected = "starting the span" if on == "start" else "ending the span"
    assert any(expected in message for message in counts), counts
    if on == "end":  # the processors before the broken one still saw every span end
        assert len(telemetry.finished()) == CALLS * len(MODES)


# --- (c) our own attribute extractors raise -------------------------------------------------


# What breaks → the kinds of failure it must be logged as (once each).
EXTRACTOR_FAULTS: dict[str, set[str]] = {
    "apply_request": {"reading the request arguments"},
    "apply_response": {"reading the response"},
    "stream_state": {"reading a stream chunk", "finishing a stream"},
    "stream_state_constructor": {"proxying a stream"},
    "everything": {
        "reading the request arguments",
        "reading the response",
        "reading a stream chunk",
        "finishing a stream",
    },
}


@pytest.mark.parametrize("fault", sorted(EXTRACTOR_FAULTS))
def test_attribute_extractor_raising(
    instrument: Callable[..., Telemetry],
    tracker: SpanTracker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    expected_kinds = EXTRACTOR_FAULTS[fault]
    changes: dict[str, Any] = {
        "apply_request": {"apply_request": broken},
        "apply_response": {"apply_response": broken},
        "stream_state": {"new_stream_state": BrokenStreamState},
        "stream_state_constructor": {"new_stream_state": broken},
        "everything": {
            "apply_request": broken,
            "apply_response": broken,
            "new_stream_state": BrokenStreamState,
        },
    }[fault]
    for name in ("completion", "acompletion"):
        entry = _operations.ENTRY_POINTS[name]
        replaced = dataclasses.replace(entry.surface, **changes)
        monkeypatch.setitem(
            _operations.ENTRY_POINTS,  # type: ignore[arg-type]
            name,
            dataclasses.replace(entry, surface=replaced),
        )
    telemetry = instrument(capture_content=True)  # wrappers read ENTRY_POINTS when instrumenting
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        run_every_mode(telemetry, tracker)
    counts = assert_logged_once_per_kind(caplog)
    logged = {kind for kind in expected_kinds if any(kind in m for m in counts)}
    assert logged == expected_kinds, counts
    assert len(counts) == len(expected_kinds), counts


# --- (d) LiteLLM returns something we do not know ----------------------------------------


def fake_recorder(telemetry: Telemetry) -> CallRecorder:
    handler = TelemetryHandler(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    return CallRecorder(handler, Options(), Hooks(), ContentPolicy())


def chunks() -> Iterator[Any]:
    yield from (object(), "text", 3, None)


async def async_chunks() -> AsyncIterator[Any]:
    for chunk in (object(), "text", 3, None):
        yield chunk


UNKNOWN_RESULTS: dict[str, Callable[[], Any]] = {
    "object": object,
    "str": lambda: "just a string",
    "list": lambda: [1, "two", None],
    "dict": lambda: {"choices": "not a list", "usage": {"prompt_tokens": "many"}},
    "none": lambda: None,
    "int": lambda: 42,
    "generator-without-stream": chunks,
    "bytes": lambda: b"\x00\xff",
}


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("kind", sorted(UNKNOWN_RESULTS))
def test_unknown_result_is_returned_as_is(
    telemetry: Telemetry, tracker: SpanTracker, kind: str, is_async: bool, caplog: Any
) -> None:
    reset_reported()
    make = UNKNOWN_RESULTS[kind]
    surface = _operations.ENTRY_POINTS["completion"].surface
    wrapper = make_wrapper(
        fake_recorder(telemetry), surface, is_async, ArgumentBinder(litellm.completion)
    )
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        for _ in range(CALLS):
            result = make()
            if is_async:

                async def wrapped(*args: Any, result: Any = result, **kwargs: Any) -> Any:
                    return result

                got = run_async(wrapper(wrapped, None, (MODEL,), {"messages": []}))
            else:
                got = wrapper(lambda *a, result=result, **k: result, None, (MODEL,), {})
            assert got is result, (kind, type(got))
    tracker.assert_each_started_span_ended_once()
    assert len(telemetry.finished()) == CALLS
    assert_logged_once_per_kind(caplog)


@pytest.mark.parametrize(
    ("is_async", "make"),
    [(False, chunks), (True, async_chunks), (False, async_chunks), (True, chunks)],
    ids=["sync-generator", "async-generator", "sync-call-async-generator", "async-call-generator"],
)
def test_unknown_stream_type(
    telemetry: Telemetry,
    tracker: SpanTracker,
    is_async: bool,
    make: Callable[[], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stream of a type we do not know, from either kind of call: proxied with its own
    protocol (a sync call may hand back an async generator, and the reverse)."""
    reset_reported()
    surface = _operations.ENTRY_POINTS["completion"].surface
    wrapper = make_wrapper(
        fake_recorder(telemetry), surface, is_async, ArgumentBinder(litellm.completion)
    )
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        for _ in range(CALLS):
            source = make()
            if is_async:

                async def wrapped(*args: Any, source: Any = source, **kwargs: Any) -> Any:
                    return source

                got = run_async(wrapper(wrapped, None, (MODEL, []), {"stream": True}))
            else:
                got = wrapper(
                    lambda *a, source=source, **k: source, None, (MODEL, []), {"stream": True}
                )
            assert got.__wrapped__ is source
            assert hasattr(got, "__anext__") == hasattr(source, "__anext__")
            assert hasattr(got, "__next__") == hasattr(source, "__next__")
            if make is async_chunks:

                async def drain(stream: Any) -> list[Any]:
                    return [chunk async for chunk in stream]

                received = run_async(drain(got))
            else:
                received = list(got)
            assert [type(chunk) for chunk in received] == [object, str, int, type(None)]
    tracker.assert_each_started_span_ended_once()
    assert_logged_once_per_kind(caplog)
    assert len(telemetry.finished()) == CALLS
