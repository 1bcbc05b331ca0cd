"""Reference instrumentations wrapped around LiteLLM's real calls: the floor and util-genai alone.

Why: the floor in ``benchlib.Floor`` is measured on its own, in a tight loop with warm CPU
caches, while our cost is measured around a real LiteLLM call of ~1 ms that evicts those
caches between two telemetry calls. The same SDK work costs ~1.5-2x more in that setting,
so comparing our in-call number with the isolated floor overstates the ratio. Here the very
same reference work runs *around the real call*, paired against uninstrumented batches the
way our instrumentation is (``bench/inprocess.py`` states ``floor`` and ``genai``):

* ``floor``: one span started with the captured request attributes, the response attributes
  set, the captured metric records, one ``time_per_output_chunk`` record per stream chunk.
  No argument reading, no context made current: the least any instrumentation pays.
* ``genai``: the same telemetry through ``opentelemetry-util-genai`` with fixed values (no
  LiteLLM argument or response mapping), i.e. what the shared emitter costs by itself.

Both install ``wrapt`` wrappers on ``litellm.completion`` / ``acompletion`` / ``embedding``,
with a context-variable guard like ours so a call LiteLLM makes to itself is not counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

_INSIDE: ContextVar[bool] = ContextVar("bench_inline_inside", default=False)
WRAPPED = ("completion", "acompletion", "embedding")


class Reference:
    """Wraps LiteLLM's entry points with a reference emitter; ``remove()`` restores them."""

    def __init__(self, litellm: Any, pipeline: Any, shapes: Mapping[str, Any], kind: str) -> None:
        self._litellm = litellm
        self._shapes = shapes
        self._originals: dict[str, Any] = {}
        if kind == "floor":
            from benchlib import Floor

            self._emitter: _FloorEmitter | _GenAIEmitter = _FloorEmitter(Floor(pipeline, shapes))
        else:
            self._emitter = _GenAIEmitter(pipeline, shapes)

    def install(self) -> None:
        import wrapt

        for name in WRAPPED:
            original = getattr(self._litellm, name)
            self._originals[name] = original
            workload = name if name in self._shapes else "completion"
            wrapper = self._async(workload) if name.startswith("a") else self._sync(workload)
            setattr(self._litellm, name, wrapt.FunctionWrapper(original, wrapper))

    def remove(self) -> None:
        for name, original in self._originals.items():
            setattr(self._litellm, name, original)
        self._originals.clear()

    def _sync(self, workload: str) -> Callable[..., Any]:
        emitter = self._emitter

        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
            if _INSIDE.get():
                return wrapped(*args, **kwargs)
            stream = kwargs.get("stream") is True
            call = emitter.start("stream" if stream else workload)
            token = _INSIDE.set(True)
            try:
                result = wrapped(*args, **kwargs)
            finally:
                _INSIDE.reset(token)
            if stream:
                return call.stream(result)
            call.end()
            return result

        return wrapper

    def _async(self, workload: str) -> Callable[..., Any]:
        emitter = self._emitter

        async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
            if _INSIDE.get():
                return await wrapped(*args, **kwargs)
            call = emitter.start(workload)
            token = _INSIDE.set(True)
            try:
                result = await wrapped(*args, **kwargs)
            finally:
                _INSIDE.reset(token)
            call.end()
            return result

        return wrapper


class _FloorCall:
    __slots__ = ("_chunk", "_context", "_end", "_records", "_span")

    def __init__(self, span: Any, context: Any, end: Any, records: Any, chunk: Any) -> None:
        self._span = span
        self._context = context
        self._end = end
        self._records = records
        self._chunk = chunk

    def end(self) -> None:
        span = self._span
        span.set_attributes(self._end)
        for histogram, attributes in self._records:
            histogram.record(0.5, attributes=attributes, context=self._context)
        span.end()

    def stream(self, chunks: Any) -> Iterator[Any]:
        histogram, attributes = self._chunk
        context = self._context
        for chunk in chunks:
            histogram.record(0.001, attributes=attributes, context=context)
            yield chunk
        self.end()


class _FloorEmitter:
    def __init__(self, floor: Any) -> None:
        from opentelemetry.trace import set_span_in_context

        self._floor = floor
        self._in_context = set_span_in_context

    def start(self, workload: str) -> _FloorCall:
        name, start, end, records, chunk = self._floor._compiled[workload]
        span = self._floor._tracer.start_span(name, kind=self._floor._kind, attributes=start)
        return _FloorCall(span, self._in_context(span), end, records, chunk)


class _GenAICall:
    __slots__ = ("_end", "_invocation")

    def __init__(self, invocation: Any, end: Callable[[Any], None]) -> None:
        self._invocation = invocation
        self._end = end

    def end(self) -> None:
        self._end(self._invocation)
        self._invocation.stop()

    def stream(self, chunks: Any) -> Iterator[Any]:
        record = self._invocation.record_stream_chunk
        for chunk in chunks:
            record()
            yield chunk
        self.end()


class _GenAIEmitter:
    """util-genai with the captured values set directly (no mapping of LiteLLM's objects)."""

    def __init__(self, pipeline: Any, shapes: Mapping[str, Any]) -> None:
        from opentelemetry.util.genai.handler import TelemetryHandler

        self._handler = TelemetryHandler(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
        )
        self._shapes = shapes

    def start(self, workload: str) -> _GenAICall:
        shape = self._shapes[workload]
        start = shape["start_attributes"]
        end = shape["end_attributes"]
        common = {
            "request_model": start.get("gen_ai.request.model"),
            "server_address": start.get("server.address"),
            "server_port": start.get("server.port"),
            "_attach_to_context": False,
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
        return _GenAICall(invocation, _response_setter(workload, end))


def _response_setter(workload: str, end: Mapping[str, Any]) -> Callable[[Any], None]:
    model = end.get("gen_ai.response.model")
    input_tokens = end.get("gen_ai.usage.input_tokens")
    cost = end.get("litellm.response_cost")

    def set_response(invocation: Any) -> None:
        invocation.response_model_name = model
        invocation.input_tokens = input_tokens
        if cost is not None:
            invocation.attributes["litellm.response_cost"] = cost
        if workload == "embedding":
            invocation.dimension_count = end.get("gen_ai.embeddings.dimension.count")
            return
        invocation.response_id = end.get("gen_ai.response.id")
        invocation.finish_reasons = end.get("gen_ai.response.finish_reasons")
        invocation.output_tokens = end.get("gen_ai.usage.output_tokens")

    return set_response
