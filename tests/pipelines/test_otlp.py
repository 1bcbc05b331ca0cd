"""In-process OTLP pipeline: SDK providers, the official OTLP exporters, a proto receiver.

Why beyond the in-memory tests: a backend never sees ``ReadableSpan`` objects, it sees what
the OTLP encoder made of them. Attribute types (an ``int`` port, a ``double`` cost, a ``bool``
stream flag, string arrays), span kinds, parent ids, status, the exception event, histogram
bucket bounds and units all cross that boundary, over gRPC and over HTTP/protobuf (plain and
gzip-compressed). Here they are checked value by value *and* type by type as
``tests/support/otlp_receiver.py`` decodes them, the way a Collector would.
"""

from __future__ import annotations

import gzip
import inspect
import json
import re
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import litellm
import pytest
import yaml
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Tracer

from litellm_otel import LiteLLMInstrumentor, __version__
from litellm_otel._failsafe import reset_reported
from tests.support.loopback_server import LoopbackLLMServer
from tests.support.otlp_receiver import OTLPReceiver, PointRecord, SpanRecord
from tests.support.telemetry import API_KEY, PROMPT, user_messages

SERVICE_NAME = "litellm-otel-pipeline-test"
USER_SPAN = "handle request"
CHAT = "chat gpt-4o-mini"
EMBEDDINGS = "embeddings text-embedding-3-small"
ERROR = "chat error-429"
DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk"
COST = "litellm.client.cost.usd"
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
EMBEDDING_INPUTS = ["a", "b"]
EMBEDDING_TOKENS = 3 * len(EMBEDDING_INPUTS)
# The model the loopback server answers a stream with. Older LiteLLM releases stamp stream
# chunks with the requested model and keep no record of the provider's (see test_streams.py).
STREAM_RESPONSE_MODEL = (
    "gpt-4o-mini-2024-07-18"
    if "provider_response_model" in inspect.getsource(litellm.litellm_core_utils.streaming_handler)
    else "gpt-4o-mini"
)


def typed(attributes: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Pair each value with its type name, so ``1 == True == 1.0`` cannot hide a wire change."""
    return {key: (type(value).__name__, value) for key, value in attributes.items()}


# -- the pipeline -------------------------------------------------------------------------


@dataclass(frozen=True)
class Transport:
    """One way to ship OTLP: the protocol and, for HTTP, the body compression."""

    protocol: str
    gzip: bool = False

    def exporters(
        self, receiver: OTLPReceiver
    ) -> tuple[SpanExporter, MetricExporter, LogRecordExporter]:
        """The official exporters, configured in code the way an application would."""
        if self.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
                OTLPLogExporter as GrpcLogExporter,
            )
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )

            endpoint = receiver.grpc_endpoint
            return (
                GrpcSpanExporter(endpoint=endpoint, insecure=True, timeout=5),
                GrpcMetricExporter(endpoint=endpoint, insecure=True, timeout=5),
                GrpcLogExporter(endpoint=endpoint, insecure=True, timeout=5),
            )
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (
            OTLPLogExporter as HttpLogExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        compression = Compression.Gzip if self.gzip else Compression.NoCompression
        base = receiver.http_endpoint
        return (
            HttpSpanExporter(endpoint=f"{base}/v1/traces", compression=compression, timeout=5),
            HttpMetricExporter(endpoint=f"{base}/v1/metrics", compression=compression, timeout=5),
            HttpLogExporter(endpoint=f"{base}/v1/logs", compression=compression, timeout=5),
        )


TRANSPORTS = [
    pytest.param(Transport("grpc"), id="grpc"),
    pytest.param(Transport("http/protobuf"), id="http-protobuf"),
    pytest.param(Transport("http/protobuf", gzip=True), id="http-protobuf-gzip"),
]


@dataclass
class Pipeline:
    """Providers wired to OTLP exporters; ``instrument()`` puts LiteLLM onto them."""

    transport: Transport
    receiver: OTLPReceiver
    tracer: Tracer
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    instrumentor: LiteLLMInstrumentor

    def instrument(self, **options: Any) -> None:
        reset_reported()
        self.instrumentor.instrument(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            logger_provider=self.logger_provider,
            **options,
        )
        # BaseInstrumentor is a process-wide singleton: a leaked instrumentation elsewhere
        # would make instrument() a silent no-op and every assertion below misleading.
        assert self.instrumentor.is_instrumented_by_opentelemetry

    def flush(self) -> None:
        """Export everything now: batched spans and logs, and a metrics collection."""
        assert self.tracer_provider.force_flush(timeout_millis=5000)
        assert self.meter_provider.force_flush(timeout_millis=5000)
        assert self.logger_provider.force_flush(timeout_millis=5000)


@pytest.fixture(scope="module")
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as otlp:
        yield otlp


@pytest.fixture(params=TRANSPORTS)
def pipeline(request: pytest.FixtureRequest, receiver: OTLPReceiver) -> Iterator[Pipeline]:
    transport: Transport = request.param
    receiver.clear()
    span_exporter, metric_exporter, log_exporter = transport.exporters(receiver)
    resource = Resource.create({"service.name": SERVICE_NAME})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter, schedule_delay_millis=50))
    # A long interval: the test decides when metrics are exported (force_flush).
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=60_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(log_exporter, schedule_delay_millis=50)
    )
    instrumentor = LiteLLMInstrumentor()
    try:
        yield Pipeline(
            transport,
            receiver,
            tracer_provider.get_tracer("pipeline-test"),
            tracer_provider,
            meter_provider,
            logger_provider,
            instrumentor,
        )
    finally:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()
        logger_provider.shutdown()


@dataclass
class Exported:
    """What the receiver holds after one round of calls."""

    spans: dict[str, list[SpanRecord]]
    metrics: dict[str, list[PointRecord]]
    units: dict[str, str]
    chat_response_id: str
    stream_response_id: str
    stream_chunks: int  # as LiteLLM yielded them (releases differ in merging the first ones)


def loopback_args(server: LoopbackLLMServer) -> dict[str, Any]:
    """Route a LiteLLM call to the loopback server, with no retries to blur the spans."""
    return {"api_base": server.base_url, "api_key": API_KEY, "max_retries": 0, "num_retries": 0}


def make_calls(pipeline: Pipeline, server: LoopbackLLMServer) -> Exported:
    """A chat call, a fully read stream, an embedding and a rate-limited call, in a user span."""
    pipeline.instrument()
    args = loopback_args(server)
    with pipeline.tracer.start_as_current_span(USER_SPAN):
        response = litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), **args)
        chunks = list(
            litellm.completion(
                model="openai/gpt-4o-mini", messages=user_messages(), stream=True, **args
            )
        )
        litellm.embedding(model="openai/text-embedding-3-small", input=EMBEDDING_INPUTS, **args)
        with pytest.raises(litellm.RateLimitError):
            litellm.completion(model="openai/error-429", messages=user_messages(), **args)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from loopback"
    pipeline.flush()

    receiver = pipeline.receiver
    spans = receiver.wait_for_spans(lambda spans: len(spans) >= 5)
    metrics = receiver.wait_for_metrics([DURATION, TOKENS])
    by_name: dict[str, list[SpanRecord]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    return Exported(
        by_name, metrics, receiver.metric_units(), response.id, chunks[0].id, len(chunks)
    )


# -- the tests ----------------------------------------------------------------------------


def test_spans_over_otlp(pipeline: Pipeline, server: LoopbackLLMServer) -> None:
    exported = make_calls(pipeline, server)
    assert sorted((name, len(spans)) for name, spans in exported.spans.items()) == [
        (ERROR, 1),
        (CHAT, 2),
        (EMBEDDINGS, 1),
        (USER_SPAN, 1),
    ]
    (user,) = exported.spans[USER_SPAN]
    chat, stream = sorted(exported.spans[CHAT], key=lambda s: s.start_time_unix_nano)
    (embeddings,) = exported.spans[EMBEDDINGS]
    (error,) = exported.spans[ERROR]
    ours = [chat, stream, embeddings, error]

    # identity: scope, resource, kind, and the user's span as every span's parent
    assert user.kind == "INTERNAL"
    assert user.parent_span_id == ""
    for span in ours:
        assert span.kind == "CLIENT", span.name
        assert span.scope_name == "litellm_otel"
        assert span.scope_version == __version__
        assert span.resource_attributes["service.name"] == SERVICE_NAME
        assert span.trace_id == user.trace_id, span.name
        assert span.parent_span_id == user.span_id, span.name
        assert span.start_time_unix_nano >= user.start_time_unix_nano
        assert span.end_time_unix_nano <= user.end_time_unix_nano
    assert len({span.span_id for span in ours}) == len(ours)

    port = server.port
    cost = chat.attributes["litellm.response_cost"]
    assert isinstance(cost, float)
    assert cost > 0
    assert typed(chat.attributes) == typed(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "server.address": "127.0.0.1",
            "server.port": port,
            "gen_ai.response.id": exported.chat_response_id,
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.response.finish_reasons": ("stop",),
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.usage.cache_read.input_tokens": 4,
            "gen_ai.usage.reasoning.output_tokens": 2,
            "litellm.provider": "openai",
            "litellm.request.model": "openai/gpt-4o-mini",
            "litellm.response_cost": cost,
        }
    )
    assert chat.status_code == "UNSET"
    assert chat.events == []
    assert PROMPT not in repr(chat.attributes)  # content capture is off by default

    time_to_first_chunk = stream.attributes["gen_ai.response.time_to_first_chunk"]
    assert isinstance(time_to_first_chunk, float)
    assert 0 < time_to_first_chunk < 5
    # No usage in the stream (not requested), so no tokens and no cost: never made-up zeros.
    assert typed(stream.attributes) == typed(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.request.stream": True,
            "server.address": "127.0.0.1",
            "server.port": port,
            "gen_ai.response.id": exported.stream_response_id,
            "gen_ai.response.model": STREAM_RESPONSE_MODEL,
            "gen_ai.response.finish_reasons": ("stop",),
            "gen_ai.response.time_to_first_chunk": time_to_first_chunk,
            "litellm.provider": "openai",
            "litellm.request.model": "openai/gpt-4o-mini",
        }
    )
    assert stream.status_code == "UNSET"

    embedding_attributes = dict(embeddings.attributes)
    embedding_cost = embedding_attributes.pop("litellm.response_cost", 0.0)
    assert isinstance(embedding_cost, float)
    assert typed(embedding_attributes) == typed(
        {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "text-embedding-3-small",
            "server.address": "127.0.0.1",
            "server.port": port,
            "gen_ai.response.model": "text-embedding-3-small",
            "gen_ai.embeddings.dimension.count": 8,
            "gen_ai.usage.input_tokens": EMBEDDING_TOKENS,
            "litellm.provider": "openai",
            "litellm.request.model": "openai/text-embedding-3-small",
        }
    )
    assert embeddings.status_code == "UNSET"

    # the rate-limited call: ERROR status, error.type, the HTTP status and the exception event
    assert error.status_code == "ERROR"
    assert "loopback 429" in error.status_message
    assert typed(error.attributes) == typed(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "error-429",
            "server.address": "127.0.0.1",
            "server.port": port,
            "error.type": "RateLimitError",
            "http.response.status_code": 429,
            "litellm.provider": "openai",
            "litellm.request.model": "openai/error-429",
        }
    )
    (event,) = error.events
    assert event.name == "exception"
    assert set(event.attributes) >= {"exception.type", "exception.message", "exception.stacktrace"}
    assert event.attributes["exception.type"].rsplit(".", 1)[-1] == "RateLimitError"
    assert "loopback 429" in event.attributes["exception.message"]
    assert "RateLimitError" in event.attributes["exception.stacktrace"]
    assert API_KEY not in repr([span.attributes for span in ours])
    assert API_KEY not in repr([event.attributes for span in ours for event in span.events])


def test_metrics_over_otlp(pipeline: Pipeline, server: LoopbackLLMServer) -> None:
    exported = make_calls(pipeline, server)
    metrics = exported.metrics
    assert set(metrics) == {DURATION, TOKENS, TIME_TO_FIRST_CHUNK, TIME_PER_OUTPUT_CHUNK, COST}
    assert {name: exported.units[name] for name in metrics} == {
        DURATION: "s",
        TOKENS: "{token}",
        TIME_TO_FIRST_CHUNK: "s",
        TIME_PER_OUTPUT_CHUNK: "s",
        COST: "{USD}",
    }

    def common(operation: str, model: str, response_model: str | None) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "server.address": "127.0.0.1",
            "server.port": server.port,
        }
        if response_model is not None:
            attributes["gen_ai.response.model"] = response_model
        return attributes

    chat = common("chat", "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    stream = common("chat", "gpt-4o-mini", STREAM_RESPONSE_MODEL)
    embeddings = common("embeddings", "text-embedding-3-small", "text-embedding-3-small")
    # a failed call has no response, so no response model; error.type says why
    error = {**common("chat", "error-429", None), "error.type": "RateLimitError"}

    def series(name: str) -> dict[tuple[Any, ...], PointRecord]:
        points = metrics[name]
        keyed = {tuple(sorted(typed(p.attributes).items())): p for p in points}
        assert len(keyed) == len(points), f"{name}: two points with one attribute set"
        return keyed

    def key(attributes: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(sorted(typed(attributes).items()))

    durations = series(DURATION)
    expected_counts = {key(embeddings): 1, key(error): 1}
    if stream == chat:
        expected_counts[key(chat)] = 2
    else:
        expected_counts[key(chat)] = 1
        expected_counts[key(stream)] = 1
    assert {k: p.count for k, p in durations.items()} == expected_counts
    for point in durations.values():
        assert point.bucket_bounds == DURATION_BUCKETS
        assert sum(point.bucket_counts) == point.count
        assert point.sum is not None
        assert point.sum > 0

    tokens = series(TOKENS)
    assert {k: p.sum for k, p in tokens.items()} == {
        key({**chat, "gen_ai.token.type": "input"}): 12,
        key({**chat, "gen_ai.token.type": "output"}): 5,
        key({**embeddings, "gen_ai.token.type": "input"}): EMBEDDING_TOKENS,
    }
    for point in tokens.values():
        assert point.count == 1
        assert point.bucket_bounds == TOKEN_BUCKETS

    # LiteLLM's cost of each call that has one, as on its span; none for the failed call
    costs = series(COST)
    spent: dict[tuple[Any, ...], float] = {}
    for spans in exported.spans.values():
        for span in spans:
            cost = span.attributes.get("litellm.response_cost")
            if span.scope_name != "litellm_otel" or cost is None:
                continue
            response_model = span.attributes.get("gen_ai.response.model")
            operation = span.attributes["gen_ai.operation.name"]
            model = "gpt-4o-mini" if operation == "chat" else "text-embedding-3-small"
            call = key(common(operation, model, response_model))
            spent[call] = spent.get(call, 0.0) + cost
    assert key(chat) in spent and key(embeddings) in spent
    assert {k: p.value for k, p in costs.items()} == pytest.approx(spent)

    (first_chunk,) = metrics[TIME_TO_FIRST_CHUNK]
    assert typed(first_chunk.attributes) == typed(stream)
    assert first_chunk.count == 1
    assert first_chunk.bucket_bounds == DURATION_BUCKETS
    (per_chunk,) = metrics[TIME_PER_OUTPUT_CHUNK]
    assert typed(per_chunk.attributes) == typed(stream)
    assert per_chunk.count == exported.stream_chunks - 1
    assert per_chunk.bucket_bounds == DURATION_BUCKETS


def test_transport_as_configured(pipeline: Pipeline, server: LoopbackLLMServer) -> None:
    """The receiver saw the protocol and compression the exporters were set up with."""
    make_calls(pipeline, server)
    received = pipeline.receiver.received()
    assert {r.signal for r in received} == {"traces", "metrics"}
    assert {r.protocol for r in received} == {pipeline.transport.protocol}
    if pipeline.transport.protocol == "http/protobuf":
        encodings = {r.headers.get("content-encoding") for r in received}
        assert encodings == ({"gzip"} if pipeline.transport.gzip else {None})
        assert {r.headers.get("content-type") for r in received} == {"application/x-protobuf"}


def test_content_event_over_otlp(pipeline: Pipeline, server: LoopbackLLMServer) -> None:
    """``SPAN_AND_EVENT``: content as JSON strings on the span and structured on the event.

    The details event travels as an OTLP log record, tied to the span by its ids; its
    message attributes are nested ``kvlist`` / ``array`` values, which only survive if the
    encoder handles them, so they are read back structurally here.
    """
    pipeline.instrument(capture_content="SPAN_AND_EVENT")
    litellm.completion(
        model="openai/gpt-4o-mini", messages=user_messages(), **loopback_args(server)
    )
    pipeline.flush()
    receiver = pipeline.receiver
    (span,) = receiver.wait_for_spans(lambda spans: len(spans) >= 1)
    (log,) = receiver.wait_for(receiver.logs)

    input_messages = [
        {"role": "user", "parts": [{"content": PROMPT, "type": "text"}], "name": None}
    ]
    output_messages = [
        {
            "role": "assistant",
            "parts": [{"content": "Hello from loopback", "type": "text"}],
            "finish_reason": "stop",
            "name": None,
        }
    ]
    assert json.loads(span.attributes["gen_ai.input.messages"]) == input_messages
    assert json.loads(span.attributes["gen_ai.output.messages"]) == output_messages

    assert log.event_name == "gen_ai.client.inference.operation.details"
    assert (log.trace_id, log.span_id) == (span.trace_id, span.span_id)
    assert log.scope_name == "litellm_otel"
    assert log.resource_attributes["service.name"] == SERVICE_NAME
    assert log.body is None
    # arrays decode to tuples; compare through JSON to read them as lists
    assert json.loads(json.dumps(log.attributes["gen_ai.input.messages"])) == input_messages
    assert json.loads(json.dumps(log.attributes["gen_ai.output.messages"])) == output_messages
    assert log.attributes["gen_ai.operation.name"] == "chat"
    assert log.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert API_KEY not in repr(log.attributes)


# -- the receiver itself ------------------------------------------------------------------


def test_receiver_decodes_what_exporters_may_send(receiver: OTLPReceiver) -> None:
    """gzip and deflate bodies decode; JSON, unknown paths and garbage are refused loudly.

    A receiver that silently accepted what it could not decode would turn every pipeline
    test above into a test of nothing.
    """
    receiver.clear()
    request = trace_service_pb2.ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.name = "encoded"
    span.trace_id = bytes(range(16))
    span.span_id = bytes(range(8))
    attribute = span.attributes.add()
    attribute.key = "nested"
    value = attribute.value.kvlist_value.values.add()
    value.key = "list"
    value.value.array_value.values.add().int_value = 7
    value.value.array_value.values.add().bytes_value = b"\x00"
    body = request.SerializeToString()

    def post(path: str, data: bytes, **headers: str) -> int:
        http_request = urllib.request.Request(
            receiver.http_endpoint + path,
            data=data,
            headers={"Content-Type": "application/x-protobuf", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(http_request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    assert post("/v1/traces", gzip.compress(body), **{"Content-Encoding": "gzip"}) == 200
    assert post("/v1/traces", zlib.compress(body), **{"Content-Encoding": "deflate"}) == 200
    assert post("/v1/traces", body, **{"Content-Type": "application/json"}) == 415
    assert post("/v1/traces", body, **{"Content-Encoding": "br"}) == 400
    assert post("/v1/traces", b"\xff\xff\xff", **{"Content-Encoding": "gzip"}) == 400
    assert post("/v1/profiles", body) == 404

    spans = receiver.spans()
    assert [s.name for s in spans] == ["encoded", "encoded"]
    assert spans[0].trace_id == bytes(range(16)).hex()
    assert spans[0].parent_span_id == ""
    assert spans[0].kind == "UNSPECIFIED"
    assert spans[0].attributes == {"nested": {"list": (7, b"\x00")}}
    receiver.clear()


# -- the recipes' config files ------------------------------------------------------------

RECIPES = Path(__file__).resolve().parents[2] / "docs" / "recipes"
#: The GenAI attributes that carry message content, which the collector recipe must drop.
CONTENT_ATTRIBUTES = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
}


def load_recipe(name: str) -> Any:
    return yaml.safe_load((RECIPES / name).read_text(encoding="utf-8"))


def test_recipe_configs_parse_and_agree() -> None:
    """No container engine runs in CI, so the compose files never start; this is the next best.

    Every YAML file must parse, every collector pipeline must reference components that are
    defined, both content-dropping processors must delete exactly the content attributes,
    every file a compose service mounts must exist, and the ports must line up.
    """
    names = {path.name for path in RECIPES.glob("*.yaml")}
    assert names >= {
        "jaeger-compose.yaml",
        "tempo-compose.yaml",
        "tempo.yaml",
        "grafana-datasources.yaml",
        "otel-collector.yaml",
        "collector-compose.yaml",
    }
    for name in names:
        assert isinstance(load_recipe(name), dict), name

    collector = load_recipe("otel-collector.yaml")
    pipelines = collector["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    for signal, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in collector[kind], f"{signal}: {kind} {component} undefined"
    assert collector["receivers"]["otlp"]["protocols"] == {
        "grpc": {"endpoint": "0.0.0.0:4317"},
        "http": {"endpoint": "0.0.0.0:4318"},
    }
    assert pipelines["traces"]["processors"][0] == "attributes/drop_genai_content"
    assert pipelines["logs"]["processors"][0] == "transform/drop_genai_content"
    assert "batch" in collector["processors"]
    actions = collector["processors"]["attributes/drop_genai_content"]["actions"]
    assert {a["action"] for a in actions} == {"delete"}
    assert {a["key"] for a in actions} == CONTENT_ATTRIBUTES
    (group,) = collector["processors"]["transform/drop_genai_content"]["log_statements"]
    assert group["context"] == "log"
    deleted = set()
    for statement in group["statements"]:
        match = re.fullmatch(r'delete_key\(log\.attributes, "([^"]+)"\)', statement)
        assert match, statement
        deleted.add(match.group(1))
    assert deleted == CONTENT_ATTRIBUTES
    assert {"otlp_grpc/backend", "debug"} <= set(collector["exporters"])

    for compose_name in ("jaeger-compose.yaml", "tempo-compose.yaml", "collector-compose.yaml"):
        services = load_recipe(compose_name)["services"]
        for service in services.values():
            for volume in service.get("volumes", []):
                source = volume.split(":", 1)[0]
                if source.startswith("./"):
                    assert (RECIPES / source).is_file(), f"{compose_name}: {source} missing"
    jaeger = load_recipe("jaeger-compose.yaml")["services"]["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/jaeger:2.")
    assert {"16686:16686", "4317:4317", "4318:4318"} <= set(jaeger["ports"])
    collector_services = load_recipe("collector-compose.yaml")["services"]
    assert collector_services["otel-collector"]["image"].startswith(
        "otel/opentelemetry-collector-contrib:"
    )
    assert collector["exporters"]["otlp_grpc/backend"]["endpoint"].split(":")[0] in (
        collector_services
    )

    tempo = load_recipe("tempo.yaml")
    assert tempo["distributor"]["receivers"]["otlp"]["protocols"] == {
        "grpc": {"endpoint": "0.0.0.0:4317"},
        "http": {"endpoint": "0.0.0.0:4318"},
    }
    tempo_services = load_recipe("tempo-compose.yaml")["services"]
    assert tempo_services["tempo"]["image"].startswith("grafana/tempo:2.")
    (datasource,) = load_recipe("grafana-datasources.yaml")["datasources"]
    assert datasource["type"] == "tempo"
    assert datasource["url"] == f"http://tempo:{tempo['server']['http_listen_port']}"
