"""Reference instrumentations wrapped around LiteLLM's real calls: the floors and util-genai alone.

Why around the real calls and not in a tight loop: LiteLLM's milliseconds of work between two
telemetry calls evict the CPU caches a tight loop keeps warm, so the same SDK work costs 2-4
times more there. Every instrumentation pays that, so the ratios divide by a floor measured
in the same place, under the same timing shim, in the same rounds.

* ``floor``, per call: one CLIENT span, current around the call, started with our span's
  request attributes, the response attributes set with one call, our metric points (duration
  and token usage: the captured series) recorded in its context. Per chunk: a ``wrapt`` proxy
  (``isinstance`` stays true) recording one ``time_per_output_chunk`` point per chunk.
  Nothing read from LiteLLM's arguments or responses: the least that emits our telemetry.
* ``genai``: the same telemetry through util-genai's ``TelemetryHandler`` with every value
  preset (no mapping of LiteLLM's objects): what the shared emitter costs by itself.

The shapes (names, attributes, metric series) come from a real instrumented call
(``common.capture_shapes``); ``tests/pipelines/test_bench_references.py`` checks both
references emit exactly them. A context-variable guard keeps a call LiteLLM makes to itself
to one span.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

import wrapt
from opentelemetry.context import attach, detach
from opentelemetry.trace import SpanKind, set_span_in_context

_INSIDE: ContextVar[bool] = ContextVar("bench_reference_inside", default=False)
WRAPPED = ("completion", "acompletion", "embedding")
_clock = time.perf_counter


class Reference:
    """Wraps LiteLLM's entry points with a reference emitter; ``remove()`` restores them."""

    def __init__(self, litellm: Any, pipeline: Any, shapes: Mapping[str, Any], kind: str) -> None:
        self._litellm = litellm
        self._originals: dict[str, Any] = {}
        emitter = _Floor if kind == "floor" else _GenAI
        self._emitter: _Floor | _GenAI = emitter(pipeline, shapes)

    def install(self) -> None:
        for name in WRAPPED:
            original = getattr(self._litellm, name)
            self._originals[name] = original
            workload = "embedding" if name == "embedding" else "completion"
            wrapper = self._async(workload) if name.startswith("a") else self._sync(workload)
            setattr(self._litellm, name, wrapt.FunctionWrapper(original, wrapper))

    def remove(self) -> None:
        for name, original in self._originals.items():
            setattr(self._litellm, name, original)
        self._originals.clear()

    def _sync(self, workload: str) -> Callable[..., Any]:
        start = self._emitter.start

        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
            if _INSIDE.get():
                return wrapped(*args, **kwargs)
            stream = kwargs.get("stream") is True
            call = start("stream" if stream else workload)
            token = _INSIDE.set(True)
            current = attach(call.context)
            try:
                result = wrapped(*args, **kwargs)
            finally:
                detach(current)
                _INSIDE.reset(token)
            if stream:
                return _Stream(result, call)
            call.end()
            return result

        return wrapper

    def _async(self, workload: str) -> Callable[..., Any]:
        start = self._emitter.start

        async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
            if _INSIDE.get():
                return await wrapped(*args, **kwargs)
            stream = kwargs.get("stream") is True
            call = start("stream" if stream else workload)
            token = _INSIDE.set(True)
            current = attach(call.context)
            try:
                result = await wrapped(*args, **kwargs)
            finally:
                detach(current)
                _INSIDE.reset(token)
            if stream:
                return _Stream(result, call)
            call.end()
            return result

        return wrapper


class _Stream(wrapt.ObjectProxy):  # type: ignore[misc]
    """LiteLLM's stream behind a proxy: one ``chunk()`` per chunk, ``end()`` at its end."""

    def __init__(self, stream: Any, call: Any) -> None:
        super().__init__(stream)
        self._self_call = call

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self.__wrapped__)
        except StopIteration:
            self._self_call.end()
            raise
        self._self_call.chunk()
        return chunk

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_call.end()
            raise
        self._self_call.chunk()
        return chunk


class _FloorCall:
    __slots__ = ("_chunk", "_end", "_last", "_records", "_span", "_started", "context")

    def __init__(self, tracer: Any, compiled: tuple[Any, ...]) -> None:
        name, start, self._end, self._records, self._chunk = compiled
        self._span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=start)
        self.context = set_span_in_context(self._span)
        self._started = self._last = _clock()

    def chunk(self) -> None:
        now = _clock()
        histogram, attributes = self._chunk
        histogram(now - self._last, attributes=attributes, context=self.context)
        self._last = now

    def end(self) -> None:
        duration = _clock() - self._started
        span = self._span
        span.set_attributes(self._end)
        for histogram, attributes in self._records:
            histogram(duration, attributes=attributes, context=self.context)
        span.end()


class _Floor:
    def __init__(self, pipeline: Any, shapes: Mapping[str, Any]) -> None:
        self._tracer = pipeline.tracer_provider.get_tracer("bench.floor")
        meter = pipeline.meter_provider.get_meter("bench.floor")
        histograms: dict[str, Any] = {}

        def histogram(record: Mapping[str, Any]) -> Any:
            """The instrument's recording method: ``record`` of a histogram, ``add`` of a
            counter (the cost), each called with the call's duration as its value."""
            name = record["name"]
            if name not in histograms:
                if record.get("counter"):
                    histograms[name] = meter.create_counter(name, unit=record["unit"]).add
                else:
                    histograms[name] = meter.create_histogram(
                        name,
                        unit=record["unit"],
                        explicit_bucket_boundaries_advisory=record["bounds"],
                    ).record
            return histograms[name]

        self._compiled: dict[str, tuple[Any, ...]] = {}
        for workload, shape in shapes.items():
            records = tuple(
                (histogram(record), record["attributes"])
                for record in shape["records"]
                for _ in range(record["count"])
            )
            chunk = shape.get("per_chunk")
            self._compiled[workload] = (
                shape["span_name"],
                shape["start_attributes"],
                shape["end_attributes"],
                records,
                (histogram(chunk), chunk["attributes"]) if chunk else None,
            )

    def start(self, workload: str) -> _FloorCall:
        return _FloorCall(self._tracer, self._compiled[workload])


class _GenAICall:
    __slots__ = ("_cost", "_invocation", "_set_response", "context")

    def __init__(
        self,
        invocation: Any,
        set_response: Callable[[Any], None],
        cost: tuple[Any, Mapping[str, Any], float] | None,
    ) -> None:
        self._invocation = invocation
        self._set_response = set_response
        self._cost = cost
        self.context = set_span_in_context(invocation.span)

    def chunk(self) -> None:
        self._invocation.record_stream_chunk()

    def end(self) -> None:
        self._set_response(self._invocation)
        self._invocation.stop()
        if self._cost is not None:  # ours, not util-genai's: the cost counter
            counter, attributes, value = self._cost
            counter.add(value, attributes=attributes, context=self.context)


class _GenAI:
    """util-genai with the captured values set directly (no mapping of LiteLLM's objects)."""

    def __init__(self, pipeline: Any, shapes: Mapping[str, Any]) -> None:
        from opentelemetry.util.genai.handler import TelemetryHandler

        self._handler = TelemetryHandler(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
        )
        self._shapes = shapes
        meter = pipeline.meter_provider.get_meter("bench.genai")
        self._counters = {
            record["name"]: meter.create_counter(record["name"], unit=record["unit"])
            for shape in shapes.values()
            for record in shape["records"]
            if record.get("counter")
        }

    def start(self, workload: str) -> _GenAICall:
        shape = self._shapes[workload]
        start, end = shape["start_attributes"], shape["end_attributes"]
        common = {
            "request_model": start.get("gen_ai.request.model"),
            "server_address": start.get("server.address"),
            "server_port": start.get("server.port"),
            "_attach_to_context": False,  # made current around the call, as the floor is
        }
        provider = start["gen_ai.provider.name"]
        if workload == "embedding":
            invocation = self._handler.embedding(provider, **common)
        else:
            invocation = self._handler.inference(provider, **common)
            invocation.temperature = start.get("gen_ai.request.temperature")
            invocation.max_tokens = start.get("gen_ai.request.max_tokens")
        for key in ("litellm.provider", "litellm.request.model"):
            if key in start:
                invocation.attributes[key] = start[key]
        # Known from the first chunk on, as ours reads it: the chunk metrics carry it.
        invocation.response_model_name = end.get("gen_ai.response.model")
        cost = next(
            (
                (self._counters[r["name"]], r["attributes"], end.get("litellm.response_cost", 0.0))
                for r in shape["records"]
                if r.get("counter")
            ),
            None,
        )
        return _GenAICall(invocation, _response_setter(workload, end), cost)


def _response_setter(workload: str, end: Mapping[str, Any]) -> Callable[[Any], None]:
    def set_response(invocation: Any) -> None:
        invocation.input_tokens = end.get("gen_ai.usage.input_tokens")
        for key in ("litellm.response_cost", "litellm.stream.chunks"):
            if key in end:
                invocation.attributes[key] = end[key]
        if workload == "embedding":
            invocation.dimension_count = end.get("gen_ai.embeddings.dimension.count")
            return
        invocation.response_id = end.get("gen_ai.response.id")
        invocation.finish_reasons = end.get("gen_ai.response.finish_reasons")
        invocation.output_tokens = end.get("gen_ai.usage.output_tokens")

    return set_response
