"""The metrics util-genai does not emit: the latest conventions' names, usage counters, cost.

util-genai records every duration, chunk timing and token count under the names of the
core conventions (``gen_ai.client.operation.*``, ``gen_ai.client.token.usage``).
semantic-conventions-genai v0.1.0 renames them (docs/conventions.md). Two parts:

* :class:`LatestMeterProvider`, in the latest mode only: the meter provider util-genai's handler
  is built with. The histograms util-genai creates through it record under the v0.1.0 names,
  chosen per point by ``gen_ai.operation.name`` with one dictionary lookup; util-genai still
  measures and records every value, through its public constructor argument, and nothing of it
  is patched.
* :class:`CallMetrics`, in both modes: the instruments util-genai has no data path for, made
  once per ``instrument()`` and recorded by the call recorder after the invocation ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry.context import Context
from opentelemetry.metrics import (
    CallbackT,
    Counter,
    Histogram,
    Meter,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.util.types import Attributes, AttributeValue

from litellm_otel import _attributes as attrs
from litellm_otel._latest import INFERENCE_OPERATIONS

_OPERATION: Final = gen_ai.GEN_AI_OPERATION_NAME
_TOKEN_TYPE: Final = gen_ai.GEN_AI_TOKEN_TYPE
_ERROR_TYPE: Final = error_attributes.ERROR_TYPE
_MODALITY: Final = "gen_ai.token.modality"
_UNKNOWN_MODALITY: Final = "unknown"

# util-genai's names, which its handler creates its histograms under.
_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"

# semantic-conventions-genai v0.1.0 (the semconv package has none of these names yet).
INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
EMBEDDINGS_DURATION: Final = "gen_ai.client.embeddings.duration"
INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
INFERENCE_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.inference.time_per_output_chunk"
INFERENCE_INPUT_TOKENS: Final = "gen_ai.client.inference.operation.input_tokens"
INFERENCE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.operation.output_tokens"
EMBEDDINGS_INPUT_TOKENS: Final = "gen_ai.client.embeddings.operation.input_tokens"
USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
USAGE_CACHE_READ_TOKENS: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
USAGE_CACHE_WRITE_TOKENS: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
USAGE_REASONING_TOKENS: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"
#: Ours: LiteLLM's computed cost. The currency is in the name because exporters drop a unit in
#: braces (Prometheus: ``litellm_client_cost_usd_total``).
COST: Final = "litellm.client.cost.usd"
COST_UNIT: Final = "{USD}"
#: How many attribute sets :class:`CallMetrics` remembers having recorded zeros for.
_ZEROS_REMEMBERED: Final = 4096


class LatestMeterProvider(MeterProvider):
    """Hands util-genai a meter whose histograms record under the v0.1.0 names."""

    def __init__(self, provider: MeterProvider) -> None:
        self._provider = provider

    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> Meter:
        return _LatestMeter(
            self._provider.get_meter(name, version, schema_url, attributes),
            name,
            version,
            schema_url,
        )


class _LatestMeter(Meter):
    """Routes util-genai's four client histograms; every other instrument is the real one."""

    def __init__(
        self, meter: Meter, name: str, version: str | None, schema_url: str | None
    ) -> None:
        super().__init__(name, version, schema_url)
        self._meter = meter

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> Histogram:
        def histogram(new_name: str, new_description: str) -> Histogram:
            return self._meter.create_histogram(
                new_name,
                unit,
                new_description,
                explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory,
            )

        if name == _OPERATION_DURATION:
            inference = histogram(INFERENCE_DURATION, "GenAI client inference operation duration")
            return _ByOperation(
                name,
                {
                    **dict.fromkeys(INFERENCE_OPERATIONS, inference),
                    "embeddings": histogram(
                        EMBEDDINGS_DURATION, "GenAI client embeddings operation duration"
                    ),
                },
                default=histogram(name, description),
            )
        if name == _TOKEN_USAGE:
            input_tokens = histogram(
                INFERENCE_INPUT_TOKENS, "Number of input tokens per inference operation"
            )
            output_tokens = histogram(
                INFERENCE_OUTPUT_TOKENS, "Number of output tokens per inference operation"
            )
            return _TokensByOperation(
                name,
                {
                    **{(operation, "input"): input_tokens for operation in INFERENCE_OPERATIONS},
                    **{(operation, "output"): output_tokens for operation in INFERENCE_OPERATIONS},
                    ("embeddings", "input"): histogram(
                        EMBEDDINGS_INPUT_TOKENS,
                        "Number of input tokens per embeddings operation",
                    ),
                },
            )
        if name == _TIME_TO_FIRST_CHUNK:
            return _ByOperation(
                name,
                dict.fromkeys(
                    INFERENCE_OPERATIONS, histogram(INFERENCE_TIME_TO_FIRST_CHUNK, description)
                ),
            )
        if name == _TIME_PER_OUTPUT_CHUNK:
            return _ByOperation(
                name,
                dict.fromkeys(
                    INFERENCE_OPERATIONS, histogram(INFERENCE_TIME_PER_OUTPUT_CHUNK, description)
                ),
            )
        return histogram(name, description)

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        return self._meter.create_counter(name, unit, description)

    def create_up_down_counter(
        self, name: str, unit: str = "", description: str = ""
    ) -> UpDownCounter:
        return self._meter.create_up_down_counter(name, unit, description)

    def create_observable_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> ObservableCounter:
        return self._meter.create_observable_counter(name, callbacks, unit, description)

    def create_observable_gauge(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> ObservableGauge:
        return self._meter.create_observable_gauge(name, callbacks, unit, description)

    def create_observable_up_down_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> ObservableUpDownCounter:
        return self._meter.create_observable_up_down_counter(name, callbacks, unit, description)


class _ByOperation(Histogram):
    """Records each point on the histogram of its operation; an operation without one (a
    chunk timing of a non-inference stream) is not recorded, since v0.1.0 names no metric."""

    def __init__(
        self,
        name: str,
        routes: Mapping[str, Histogram],
        default: Histogram | None = None,
    ) -> None:
        super().__init__(name)
        self._routes = dict(routes)
        self._default = default

    def record(
        self, amount: float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        operation = attributes.get(_OPERATION) if attributes else None
        # An attribute value may be a sequence (unhashable): only a name selects a route.
        target = (
            self._routes.get(operation, self._default)
            if isinstance(operation, str)
            else self._default
        )
        if target is not None:
            target.record(amount, attributes, context)


class _TokensByOperation(Histogram):
    """util-genai's token histogram split into v0.1.0's per-operation histograms, without
    ``gen_ai.token.type`` (the instrument says it now); never for a failed call."""

    def __init__(self, name: str, routes: Mapping[tuple[Any, Any], Histogram]) -> None:
        super().__init__(name)
        self._routes = dict(routes)

    def record(
        self, amount: float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        if not attributes or _ERROR_TYPE in attributes:
            return
        target = self._routes.get((attributes.get(_OPERATION), attributes.get(_TOKEN_TYPE)))
        if target is not None:
            target.record(
                amount, {k: v for k, v in attributes.items() if k != _TOKEN_TYPE}, context
            )


class CallMetrics:
    """Our instruments, created once per ``instrument()``; one :meth:`record` per ended call.

    * the cost counter (both modes): util-genai knows nothing of cost;
    * the five usage counters (latest mode): util-genai records tokens only as a histogram,
      only the input and output counts and only when a count was set, while v0.1.0 counts
      cache-read, cache-write and reasoning tokens too, and a ``0`` for a call without usage.

    A ``0`` is added to a usage counter only the first time its attribute set is seen: adding
    zero to a series that exists changes nothing a backend can read, and each measurement costs
    several microseconds in the SDK, where most calls have no cache or reasoning tokens.
    """

    def __init__(self, meter: Meter, *, latest: bool) -> None:
        self._cost = meter.create_counter(
            COST, unit=COST_UNIT, description="Cost of GenAI calls as LiteLLM computed it, in USD"
        )
        self._usage: tuple[Counter, ...] | None = None
        if latest:
            self._usage = tuple(
                meter.create_counter(name, unit="{token}", description=description)
                for name, description in (
                    (USAGE_INPUT_TOKENS, "Number of input tokens used, cached ones included"),
                    (USAGE_OUTPUT_TOKENS, "Number of output tokens used, reasoning included"),
                    (USAGE_CACHE_READ_TOKENS, "Number of input tokens read from a cache"),
                    (USAGE_CACHE_WRITE_TOKENS, "Number of input tokens written to a cache"),
                    (USAGE_REASONING_TOKENS, "Number of output tokens used for reasoning"),
                )
            )
        # Attribute sets whose five usage series exist (their zeros were recorded).
        self._zeros_recorded: set[frozenset[tuple[str, AttributeValue]]] = set()

    def record(self, invocation: Any) -> None:
        """Record one ended call, with the attributes util-genai gave its other points."""
        cost = invocation.attributes.get(attrs.LITELLM_RESPONSE_COST)
        usage = self._usage
        operation = invocation.metric_attributes.get(_OPERATION)
        counts_usage = usage is not None and operation in INFERENCE_OPERATIONS
        if cost is None and not counts_usage:
            return
        attributes = metric_attributes(invocation)
        context = invocation.context
        if cost is not None and cost >= 0:
            self._cost.add(cost, attributes, context)
        if usage is not None and counts_usage:
            attributes.pop(_ERROR_TYPE, None)
            attributes[_MODALITY] = _UNKNOWN_MODALITY
            key = frozenset(attributes.items())
            zeros = key not in self._zeros_recorded
            if zeros:
                if len(self._zeros_recorded) >= _ZEROS_REMEMBERED:
                    self._zeros_recorded.clear()
                self._zeros_recorded.add(key)
            for counter, count in zip(
                usage,
                (
                    invocation.input_tokens,
                    invocation.output_tokens,
                    invocation.cache_read_input_tokens,
                    invocation.cache_write_input_tokens,
                    invocation.thinking_tokens,
                ),
                strict=True,
            ):
                if count or zeros:
                    counter.add(count or 0, attributes, context)


def metric_attributes(invocation: Any) -> dict[str, AttributeValue]:
    """What util-genai puts on an invocation's metric points, from its public fields: the
    ``metric_attributes`` (the operation, ``error.type`` and the Proxy's identity land there)
    and the request's and response's model and server."""
    attributes: dict[str, AttributeValue] = dict(invocation.metric_attributes)
    for key, value in (
        # not every kind of invocation has each of these (a fetched response has no
        # request model)
        (gen_ai.GEN_AI_PROVIDER_NAME, getattr(invocation, "provider", None)),
        (gen_ai.GEN_AI_REQUEST_MODEL, getattr(invocation, "request_model", None)),
        (gen_ai.GEN_AI_RESPONSE_MODEL, getattr(invocation, "response_model_name", None)),
        ("server.address", getattr(invocation, "server_address", None)),
        ("server.port", getattr(invocation, "server_port", None)),
    ):
        if value is not None:
            attributes.setdefault(key, value)
    return attributes
