"""A loopback OTLP receiver (gRPC and HTTP/protobuf) built on the official proto messages.

Why this exists: the in-memory exporters of the SDK prove what our instrumentation hands to
the SDK, not what reaches a backend. Between the two sit the OTLP encoders, the exporters,
their transports and ``opentelemetry-instrument``'s environment-driven setup; a real pipeline
fails there (an attribute type the encoder drops, a metric that never leaves the process, a
span that loses its parent). So tests export over real sockets to this receiver, which decodes
requests with ``opentelemetry-proto``'s generated messages exactly as a Collector would, and
reads them back as plain Python records.

Everything listens on 127.0.0.1 with OS-chosen ports, so parallel runs never collide::

    with OTLPReceiver() as receiver:
        exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
        ...
        receiver.wait_for(lambda: receiver.spans())

Accessors rebuild records from everything received so far, on every call; that keeps the
receiver free of caching bugs and is cheap at test sizes.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "EventRecord",
    "LogRecord",
    "MetricRecord",
    "OTLPReceiver",
    "PointRecord",
    "Received",
    "SpanRecord",
    "decode_any_value",
    "decode_attributes",
]

T = TypeVar("T")

#: ``Span.kind`` enum values by their short name (``SPAN_KIND_CLIENT`` -> ``CLIENT``).
_SPAN_KINDS = {
    value: name.removeprefix("SPAN_KIND_") for name, value in trace_pb2.Span.SpanKind.items()
}
_STATUS_CODES = {
    value: name.removeprefix("STATUS_CODE_") for name, value in trace_pb2.Status.StatusCode.items()
}
_CUMULATIVE = metrics_pb2.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE


# -- decoded records ----------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One export request as it arrived: which transport, which signal, headers, message.

    Kept so tests can assert on the transport itself (e.g. that gzip was really used), not
    only on the decoded content.
    """

    protocol: str  # "grpc" or "http/protobuf"
    signal: str  # "traces", "metrics" or "logs"
    headers: Mapping[str, str]
    message: Message


@dataclass(frozen=True)
class EventRecord:
    """A span event: its name and attributes."""

    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class SpanRecord:
    """One span as a backend sees it, with ids as lower-case hex like every OTLP UI shows.

    ``parent_span_id`` is ``""`` for a root span; ``kind`` and ``status_code`` are the proto
    enum names without their prefix (``"CLIENT"``, ``"ERROR"``).
    """

    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    status_code: str
    status_message: str
    events: list[EventRecord]
    resource_attributes: dict[str, Any]
    scope_name: str
    scope_version: str
    start_time_unix_nano: int
    end_time_unix_nano: int


@dataclass(frozen=True)
class PointRecord:
    """One metric data point; histogram fields are ``None`` / empty for other kinds."""

    attributes: dict[str, Any]
    count: int | None
    sum: float | None
    bucket_bounds: tuple[float, ...]
    bucket_counts: tuple[int, ...]
    value: float | None
    time_unix_nano: int


@dataclass(frozen=True)
class MetricRecord:
    """One metric stream as exported: name, unit, kind (``histogram``, ``sum``, ...), points."""

    name: str
    unit: str
    description: str
    kind: str
    temporality: int | None
    scope_name: str
    resource_attributes: dict[str, Any]
    points: list[PointRecord] = field(default_factory=list)


@dataclass(frozen=True)
class LogRecord:
    """One log record (GenAI details events arrive this way), with its event name."""

    event_name: str
    body: Any
    attributes: dict[str, Any]
    trace_id: str
    span_id: str
    resource_attributes: dict[str, Any]
    scope_name: str


# -- AnyValue decoding --------------------------------------------------------------------


def decode_any_value(value: AnyValue) -> Any:
    """Turn an OTLP ``AnyValue`` into Python: arrays become tuples, kvlists dicts.

    Tuples, because that is how the SDK stores array attributes on a span, so an assertion
    written against the in-memory exporter reads the same against the wire. An unset value
    (which the SDK encodes for ``None`` inside a structured log body) decodes to ``None``.
    """
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(decode_any_value(item) for item in value.array_value.values)
    if kind == "kvlist_value":
        return decode_attributes(value.kvlist_value.values)
    return getattr(value, kind)


def decode_attributes(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """Decode a repeated ``KeyValue`` field into a dict (a later duplicate key wins)."""
    return {item.key: decode_any_value(item.value) for item in attributes}


# -- transports ---------------------------------------------------------------------------


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(  # the generated servicer's method name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self._receiver._store("grpc", "traces", _grpc_headers(context), request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(  # the generated servicer's method name
        self,
        request: metrics_service_pb2.ExportMetricsServiceRequest,
        context: grpc.ServicerContext,
    ) -> metrics_service_pb2.ExportMetricsServiceResponse:
        self._receiver._store("grpc", "metrics", _grpc_headers(context), request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(  # the generated servicer's method name
        self, request: logs_service_pb2.ExportLogsServiceRequest, context: grpc.ServicerContext
    ) -> logs_service_pb2.ExportLogsServiceResponse:
        self._receiver._store("grpc", "logs", _grpc_headers(context), request)
        return logs_service_pb2.ExportLogsServiceResponse()


def _grpc_headers(context: grpc.ServicerContext) -> dict[str, str]:
    return {
        key.lower(): value if isinstance(value, str) else value.decode("latin-1")
        for key, value in context.invocation_metadata()
    }


#: OTLP/HTTP path -> (signal, request message class, response message class).
_HTTP_ROUTES: dict[str, tuple[str, type[Message], type[Message]]] = {
    "/v1/traces": (
        "traces",
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
    ),
    "/v1/metrics": (
        "metrics",
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
    "/v1/logs": (
        "logs",
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
    ),
}


class _HTTPServer(ThreadingHTTPServer):
    """Daemon handler threads and no join on close, so ``stop()`` never waits on a client."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], receiver: OTLPReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _HTTPHandler)


class _HTTPHandler(BaseHTTPRequestHandler):
    """OTLP/HTTP with binary protobuf bodies, as the spec's ``http/protobuf`` protocol."""

    # HTTP/1.0 semantics: one request per connection, so no keep-alive connection of an
    # exporter's session can hold a handler thread when the receiver stops.
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request logging; it would only clutter test output."""

    def do_POST(self) -> None:
        """Decode an export request, store it, answer with the empty success response."""
        route = _HTTP_ROUTES.get(self.path.split("?", 1)[0])
        if route is None:
            self._reply(404, "text/plain", b"unknown OTLP path")
            return
        signal, request_type, response_type = route
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/x-protobuf":
            # OTLP/JSON uses hex ids that protobuf's json_format would misread; not needed here.
            self._reply(415, "text/plain", b"only application/x-protobuf is supported")
            return
        try:
            body = _decompress(self._read_body(), self.headers.get("Content-Encoding", ""))
            message = request_type.FromString(body)
        except (OSError, EOFError, zlib.error, DecodeError, ValueError) as exc:
            self._reply(400, "text/plain", f"bad OTLP request: {exc}".encode())
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        self.server.receiver._store("http/protobuf", signal, headers, message)
        self._reply(200, "application/x-protobuf", response_type().SerializeToString())

    def _read_body(self) -> bytes:
        """Read a Content-Length or chunked body (transports differ in which they send)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _decompress(body: bytes, encoding: str) -> bytes:
    """Honour ``Content-Encoding`` (OTLP exporters send ``gzip`` or ``deflate``)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


# -- the receiver -------------------------------------------------------------------------


class OTLPReceiver:
    """gRPC and HTTP/protobuf OTLP endpoints on 127.0.0.1, storing every export request.

    Use as a context manager or call ``start()`` / ``stop()``. Both transports feed the same
    store, so a test can switch protocols without switching accessors.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        """Remember where to listen; nothing is bound until ``start()``."""
        self._host = host
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._grpc_server: grpc.Server | None = None
        self._grpc_port = 0
        self._http_server: _HTTPServer | None = None
        self._http_thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> OTLPReceiver:
        """Bind both transports on OS-chosen ports and serve; returns ``self``."""
        if self._grpc_server is not None:
            raise RuntimeError("OTLPReceiver is already running")
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsService(self), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsService(self), server)
        self._grpc_port = server.add_insecure_port(f"{self._host}:0")
        server.start()
        self._grpc_server = server

        http_server = _HTTPServer((self._host, 0), self)
        self._http_server = http_server
        self._http_thread = threading.Thread(
            target=http_server.serve_forever,
            kwargs={"poll_interval": 0.05},  # keeps stop() fast
            name=f"otlp-http-{http_server.server_address[1]}",
            daemon=True,
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        """Stop both transports at once (no grace period); safe to call repeatedly."""
        grpc_server, self._grpc_server = self._grpc_server, None
        http_server, self._http_server = self._http_server, None
        thread, self._http_thread = self._http_thread, None
        if grpc_server is not None:
            grpc_server.stop(grace=None).wait(timeout=5)
        if http_server is not None:
            http_server.shutdown()
            http_server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> OTLPReceiver:
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving a ``with`` block, even after an exception."""
        self.stop()

    # -- addresses -----------------------------------------------------------------------

    @property
    def grpc_endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the ``http`` scheme tells gRPC exporters "insecure"."""
        if self._grpc_server is None:
            raise RuntimeError("OTLPReceiver is not running")
        return f"http://{self._host}:{self._grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL for OTLP/HTTP; exporters configured by environment append ``/v1/...``."""
        if self._http_server is None:
            raise RuntimeError("OTLPReceiver is not running")
        return f"http://{self._host}:{self._http_server.server_address[1]}"

    def endpoint(self, protocol: str) -> str:
        """The base endpoint for ``OTEL_EXPORTER_OTLP_PROTOCOL``-style protocol names."""
        if protocol == "grpc":
            return self.grpc_endpoint
        if protocol == "http/protobuf":
            return self.http_endpoint
        raise ValueError(f"unsupported OTLP protocol {protocol!r}")

    # -- storage -------------------------------------------------------------------------

    def _store(
        self, protocol: str, signal: str, headers: Mapping[str, str], message: Message
    ) -> None:
        with self._lock:
            self._received.append(Received(protocol, signal, dict(headers), message))

    def clear(self) -> None:
        """Forget everything received (between tests sharing one receiver)."""
        with self._lock:
            self._received.clear()

    def received(self, signal: str | None = None) -> list[Received]:
        """Every export request so far, in arrival order, optionally of one signal."""
        with self._lock:
            received = list(self._received)
        return [r for r in received if signal is None or r.signal == signal]

    # -- accessors -----------------------------------------------------------------------

    def spans(self) -> list[SpanRecord]:
        """Every span received, in export order."""
        records: list[SpanRecord] = []
        for received in self.received("traces"):
            request = cast(trace_service_pb2.ExportTraceServiceRequest, received.message)
            for resource_spans in request.resource_spans:
                resource = decode_attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        records.append(
                            _span_record(
                                span,
                                resource,
                                scope_spans.scope.name,
                                scope_spans.scope.version,
                            )
                        )
        return records

    def metric_records(self) -> list[MetricRecord]:
        """Every metric stream of every export request, points as exported (no merging)."""
        records: list[MetricRecord] = []
        for received in self.received("metrics"):
            request = cast(metrics_service_pb2.ExportMetricsServiceRequest, received.message)
            for resource_metrics in request.resource_metrics:
                resource = decode_attributes(resource_metrics.resource.attributes)
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        records.append(_metric_record(metric, resource, scope_metrics.scope.name))
        return records

    def metrics(self, scope: str | None = None) -> dict[str, list[PointRecord]]:
        """Current data points per metric name, optionally of one instrumentation scope.

        A periodic reader re-exports cumulative points on every interval and again on
        shutdown, each a running total; only the newest point of each series (same name,
        resource, scope and attributes) is the current value, so older ones are dropped.
        Delta points are all kept: each one is new data. ``scope`` matters because other
        instrumentations may record metrics under the same GenAI names.
        """
        latest: dict[tuple[Any, ...], tuple[str, PointRecord]] = {}
        deltas: dict[str, list[PointRecord]] = {}
        for record in self.metric_records():
            if scope is not None and record.scope_name != scope:
                continue
            for point in record.points:
                if record.temporality == _CUMULATIVE:
                    key = (
                        record.name,
                        _freeze(record.resource_attributes),
                        record.scope_name,
                        _freeze(point.attributes),
                    )
                    previous = latest.get(key)
                    if previous is None or previous[1].time_unix_nano <= point.time_unix_nano:
                        latest[key] = (record.name, point)
                else:
                    deltas.setdefault(record.name, []).append(point)
        result: dict[str, list[PointRecord]] = {}
        for name, point in latest.values():
            result.setdefault(name, []).append(point)
        for name, points in deltas.items():
            result.setdefault(name, []).extend(points)
        return result

    def metric_units(self, scope: str | None = None) -> dict[str, str]:
        """The unit each metric name was exported with, optionally of one scope."""
        return {
            record.name: record.unit
            for record in self.metric_records()
            if scope is None or record.scope_name == scope
        }

    def logs(self) -> list[LogRecord]:
        """Every log record received (e.g. the GenAI ``operation.details`` event)."""
        records: list[LogRecord] = []
        for received in self.received("logs"):
            request = cast(logs_service_pb2.ExportLogsServiceRequest, received.message)
            for resource_logs in request.resource_logs:
                resource = decode_attributes(resource_logs.resource.attributes)
                for scope_logs in resource_logs.scope_logs:
                    for log in scope_logs.log_records:
                        records.append(
                            LogRecord(
                                event_name=log.event_name,
                                body=decode_any_value(log.body),
                                attributes=decode_attributes(log.attributes),
                                trace_id=log.trace_id.hex(),
                                span_id=log.span_id.hex(),
                                resource_attributes=resource,
                                scope_name=scope_logs.scope.name,
                            )
                        )
        return records

    # -- waiting -------------------------------------------------------------------------

    def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, interval: float = 0.02
    ) -> T:
        """Poll ``predicate`` until it returns something truthy, and return that.

        Exports are asynchronous (batch processors, periodic readers); polling for the
        expected state beats sleeping for a guessed time: fast when it arrives, and a clear
        ``TimeoutError`` when it does not.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"OTLP receiver: condition not met within {timeout} s; "
                    f"received {len(self.spans())} spans, metrics {sorted(self.metrics())}"
                )
            time.sleep(interval)

    def wait_for_spans(
        self, predicate: Callable[[list[SpanRecord]], bool], timeout: float = 5.0
    ) -> list[SpanRecord]:
        """Wait until the spans received so far satisfy ``predicate``; return them."""

        def check() -> list[SpanRecord] | None:
            spans = self.spans()
            return spans if predicate(spans) else None

        return self.wait_for(check, timeout)

    def wait_for_metrics(
        self, names: Iterable[str], timeout: float = 5.0
    ) -> dict[str, list[PointRecord]]:
        """Wait until every metric in ``names`` has at least one point; return all metrics."""
        wanted = set(names)

        def check() -> dict[str, list[PointRecord]] | None:
            metrics = self.metrics()
            return metrics if wanted <= metrics.keys() else None

        return self.wait_for(check, timeout)


# -- record builders ----------------------------------------------------------------------


def _span_record(
    span: trace_pb2.Span, resource: dict[str, Any], scope_name: str, scope_version: str
) -> SpanRecord:
    return SpanRecord(
        name=span.name,
        kind=_SPAN_KINDS.get(span.kind, str(span.kind)),
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        attributes=decode_attributes(span.attributes),
        status_code=_STATUS_CODES.get(span.status.code, str(span.status.code)),
        status_message=span.status.message,
        events=[EventRecord(e.name, decode_attributes(e.attributes)) for e in span.events],
        resource_attributes=resource,
        scope_name=scope_name,
        scope_version=scope_version,
        start_time_unix_nano=span.start_time_unix_nano,
        end_time_unix_nano=span.end_time_unix_nano,
    )


def _metric_record(
    metric: metrics_pb2.Metric, resource: dict[str, Any], scope_name: str
) -> MetricRecord:
    kind = metric.WhichOneof("data") or ""
    data: Any = getattr(metric, kind) if kind else None
    points: list[PointRecord] = []
    temporality: int | None = None
    if kind in ("histogram", "exponential_histogram"):
        temporality = data.aggregation_temporality
        for point in data.data_points:
            explicit = kind == "histogram"
            points.append(
                PointRecord(
                    attributes=decode_attributes(point.attributes),
                    count=point.count,
                    sum=point.sum if point.HasField("sum") else None,
                    bucket_bounds=tuple(point.explicit_bounds) if explicit else (),
                    bucket_counts=tuple(point.bucket_counts) if explicit else (),
                    value=None,
                    time_unix_nano=point.time_unix_nano,
                )
            )
    elif kind in ("sum", "gauge"):
        if kind == "sum":
            temporality = data.aggregation_temporality
        for point in data.data_points:
            number = point.WhichOneof("value")
            points.append(
                PointRecord(
                    attributes=decode_attributes(point.attributes),
                    count=None,
                    sum=None,
                    bucket_bounds=(),
                    bucket_counts=(),
                    value=getattr(point, number) if number else None,
                    time_unix_nano=point.time_unix_nano,
                )
            )
    return MetricRecord(
        name=metric.name,
        unit=metric.unit,
        description=metric.description,
        kind=kind,
        temporality=temporality,
        scope_name=scope_name,
        resource_attributes=resource,
        points=points,
    )


def _freeze(value: Any) -> Any:
    """A hashable stand-in for decoded attribute values (dicts and tuples nest)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, tuple):
        return tuple(_freeze(v) for v in value)
    return value
