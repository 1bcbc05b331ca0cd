"""What litellm-otel records, shown on one screen, offline and without an API key.

A small "agent" asks a model for a tool call, runs the tool, streams the final answer,
embeds some text and hits a rate limit. Every LiteLLM call goes to a fake OpenAI-compatible
server on 127.0.0.1 (``tests/support/loopback_server.py``), so the demo needs no network and no key.

The agent runs twice: first with content capture off (the default: no prompt or completion
text is recorded), then with it on. After each run the spans are printed as a tree; at the
end the metrics of both runs are summarised. With ``--otlp`` the spans and metrics are also
exported, and the demo reports what the collector accepted and what it refused; it exits 1
when the spans did not all arrive (a traces-only backend refusing the metrics is reported,
not a failure).

The tool span is util-genai's tool invocation (``execute_tool get_weather``), the same
emitter litellm-otel uses for the LiteLLM calls.

    python examples/demo.py                            # print spans and metrics
    python examples/demo.py --otlp http://localhost:4318  # also send them to a collector
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before LiteLLM is imported: otherwise it downloads its model price map at import time.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
# The demo chooses the capture mode itself; an inherited setting would blur the comparison.
os.environ.pop("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", None)
# The loopback server lives in the test suite (stdlib only); make ``tests`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import litellm
from opentelemetry.metrics import MeterProvider as ApiMeterProvider
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider, StatusCode, Tracer
from opentelemetry.trace import TracerProvider as ApiTracerProvider
from opentelemetry.util.genai.handler import TelemetryHandler
from tests.support.loopback_server import LoopbackLLMServer

from litellm_otel import LiteLLMInstrumentor

SERVICE_NAME = "litellm-otel-demo"
# Not a secret: the loopback server accepts anything. The demo's test checks it never leaks.
API_KEY = "sk-demo-not-a-real-key"
EXIT_SPANS_NOT_EXPORTED = 1
EXIT_MISSING_EXPORTER = 2
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

# Shown under each span, in this order, when the span has them.
SHOWN_ATTRIBUTES: tuple[str, ...] = (
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "server.address",
    "server.port",
    "gen_ai.response.id",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.response.finish_reasons",
    "gen_ai.response.time_to_first_chunk",
    "litellm.response_cost",
    "gen_ai.tool.name",
    "gen_ai.tool.type",
    "gen_ai.tool.call.id",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "error.type",
    "http.response.status_code",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
)
MAX_VALUE_CHARS = 100

SUMMARISED_METRICS: tuple[str, ...] = (
    "gen_ai.client.operation.duration",
    "gen_ai.client.token.usage",
    "gen_ai.client.operation.time_to_first_chunk",
    "gen_ai.client.operation.time_per_output_chunk",
    "gen_ai.execute_tool.duration",
)
# The metric attributes that tell series apart, in the order they are printed.
SERIES_KEYS: tuple[str, ...] = (
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.tool.name",
    "gen_ai.token.type",
    "error.type",
)


@dataclass
class ExportLedger:
    """What one OTLP exporter did: requests accepted or refused, and in the exporter's words why.

    The OTLP exporters log a refusal and carry on (the application must not fail because its
    collector did); the demo keeps count so that it can say what reached the collector.
    """

    signal: str  # "spans" or "metrics"
    url: str
    accepted: int = 0  # export requests the collector accepted
    refused: int = 0  # export requests that failed (refused, or the collector unreachable)
    items: int = 0  # spans in accepted requests (metrics are counted by request only)
    messages: list[tuple[int, str]] = field(default_factory=list[tuple[int, str]])  # level, text

    def checkpoint(self) -> tuple[int, int, int, int]:
        """Where the ledger stands, to tell later what happened since."""
        return self.accepted, self.refused, self.items, len(self.messages)

    def record(self, ok: bool, items: int = 0) -> None:
        if ok:
            self.accepted += 1
            self.items += items
        else:
            self.refused += 1

    def reason(self, since: int = 0) -> str:
        """The exporter's verdicts (its error lines) and the causes behind its retries, once each.

        A refused request is logged as ``Failed to export ... code: 405, reason: ...``; an
        unreachable collector as a series of retries, each naming the connection error, then
        ``Failed to export ... due to timeout, max retries or shutdown.``
        """
        verdicts: dict[str, None] = {}
        causes: dict[str, None] = {}
        for level, message in self.messages[since:]:
            if level >= logging.ERROR:
                verdicts[message] = None
            elif message.startswith("Transient error"):
                errno = re.search(r"\[Errno \d+\] [^\"')]+", message)
                causes[errno[0] if errno else message[:200]] = None
        text = " ".join(verdicts) or "no error logged"
        return f"{text} (cause: {'; '.join(causes)})" if causes else text


class _LedgerLogHandler(logging.Handler):
    """Keeps an exporter's warnings for the report (instead of loose lines on stderr)."""

    def __init__(self, ledger: ExportLedger) -> None:
        super().__init__(logging.WARNING)
        self.ledger = ledger

    def emit(self, record: logging.LogRecord) -> None:
        self.ledger.messages.append((record.levelno, record.getMessage()))


@dataclass
class Telemetry:
    """The SDK pipeline the demo owns; ``spans`` is ``None`` when spans go to OTLP only."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    metrics: InMemoryMetricReader
    spans: InMemorySpanExporter | None
    otlp_url: str | None
    # With --otlp: what the span and the metric exporter did, in that order.
    exports: list[ExportLedger] = field(default_factory=list[ExportLedger])


# --------------------------------------------------------------------------- setup


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--otlp",
        metavar="URL",
        help="also export spans and metrics over OTLP/HTTP to this collector "
        "(e.g. http://localhost:4318)",
    )
    return parser.parse_args(argv)


def otlp_pipeline(url: str) -> tuple[SpanProcessor, MetricReader, list[ExportLedger]]:
    """OTLP/HTTP exporters that keep a ledger of what the collector accepted.

    Imported here because the package is optional for the demo: raises ImportError when
    ``opentelemetry-exporter-otlp-proto-http`` is missing.
    """
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics.export import (
        MetricExportResult,
        MetricsData,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

    base = url.rstrip("/")
    span_ledger = ExportLedger("spans", f"{base}/v1/traces")
    metric_ledger = ExportLedger("metrics", f"{base}/v1/metrics")

    class LedgerSpanExporter(OTLPSpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            result = super().export(spans)
            span_ledger.record(result is SpanExportResult.SUCCESS, len(spans))
            return result

    class LedgerMetricExporter(OTLPMetricExporter):
        def export(
            self, metrics_data: MetricsData, timeout_millis: float | None = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            result = super().export(metrics_data, timeout_millis, **kwargs)
            metric_ledger.record(result is MetricExportResult.SUCCESS)
            return result

    for module, ledger in (
        (OTLPSpanExporter.__module__, span_ledger),
        (OTLPMetricExporter.__module__, metric_ledger),
    ):
        logging.getLogger(module).addHandler(_LedgerLogHandler(ledger))
    processor = BatchSpanProcessor(LedgerSpanExporter(endpoint=span_ledger.url))
    reader = PeriodicExportingMetricReader(LedgerMetricExporter(endpoint=metric_ledger.url))
    return processor, reader, [span_ledger, metric_ledger]


def setup_telemetry(otlp_url: str | None) -> Telemetry:
    """In-memory spans by default, OTLP spans with ``--otlp``; in-memory metrics always."""
    resource = Resource.create({"service.name": SERVICE_NAME})
    tracer_provider = TracerProvider(resource=resource)
    metrics = InMemoryMetricReader()
    readers: list[MetricReader] = [metrics]
    spans: InMemorySpanExporter | None = None
    exports: list[ExportLedger] = []
    if otlp_url is None:
        spans = InMemorySpanExporter()
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    else:
        processor, reader, exports = otlp_pipeline(otlp_url)
        tracer_provider.add_span_processor(processor)
        readers.append(reader)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    return Telemetry(tracer_provider, meter_provider, metrics, spans, otlp_url, exports)


def tool_handler(
    tracer_provider: ApiTracerProvider | None,
    meter_provider: ApiMeterProvider | None,
    capture_content: bool,
) -> TelemetryHandler:
    """util-genai's handler for the application's own tool spans (``execute_tool ...``).

    util-genai reads its content capture mode from the environment when a handler is made,
    so the variable is set for that moment only: the tool records its arguments and result
    exactly when the LiteLLM spans of the same run record messages.
    """
    if capture_content:
        os.environ[CAPTURE_CONTENT_ENV] = "SPAN_ONLY"
    try:
        return TelemetryHandler(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            instrumentation_scope_name="litellm_otel_demo",
        )
    finally:
        os.environ.pop(CAPTURE_CONTENT_ENV, None)


def quiet_litellm() -> None:
    """LiteLLM prints help banners and logs every failed call; the 429 here is on purpose."""
    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- the agent


def get_weather(city: str) -> str:
    """The "tool" the model asks for; a real agent would call an API here."""
    return json.dumps({"city": city, "forecast": "sunny", "temperature_c": 21})


def run_agent(
    tracer: Tracer,
    tools: TelemetryHandler,
    server: LoopbackLLMServer,
    say: Callable[[str], None] = print,
) -> None:
    """One agent turn: tool call, tool run, streamed answer, an embedding, a failed call.

    The ``agent.run`` span is the application's own, and so is the tool run, recorded
    through util-genai's tool invocation (``execute_tool get_weather``, kind INTERNAL); the
    instrumentation's spans nest under ``agent.run`` because it is current while LiteLLM runs.
    """
    call_args: dict[str, Any] = {
        "api_base": server.base_url,
        "api_key": API_KEY,
        "max_retries": 0,
    }
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Should I take an umbrella in Paris today?"}
    ]
    with tracer.start_as_current_span("agent.run"):
        response = litellm.completion(
            model="openai/tool-model", messages=messages, tools=[WEATHER_TOOL], **call_args
        )
        tool_call = response.choices[0].message.tool_calls[0]
        arguments = json.loads(tool_call.function.arguments)
        say(f"  model asked for tool: {tool_call.function.name}({arguments})")

        with tools.tool(tool_call.function.name, tool_type="function") as tool:
            tool.tool_call_id = tool_call.id
            if tool.should_capture_content:
                tool.arguments = arguments
            result = get_weather(**arguments)
            if tool.should_capture_content:
                tool.tool_result = result

        messages += [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": tool_call.id,
                        "type": "function",
                        "function": {
                            "name": tool_call.function.name,
                            "arguments": tool_call.function.arguments,
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": tool_call.id, "content": result},
        ]
        stream = litellm.completion(
            model="openai/reasoning-model",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **call_args,
        )
        say(f"  streamed answer: {collect_text(stream)!r}")

        embedding = litellm.embedding(
            model="openai/text-embedding-3-small",
            input=["umbrella", "sunny in Paris"],
            **call_args,
        )
        say(f"  embedded {len(embedding.data)} texts")

        try:
            litellm.completion(model="openai/error-429", messages=messages, **call_args)
        except litellm.RateLimitError as error:
            say(f"  error-429 failed as expected: {type(error).__name__}")


def warm_up(server: LoopbackLLMServer) -> None:
    """Run the agent once, untraced and silent, to pay LiteLLM's lazy imports up front.

    LiteLLM imports provider, tool-calling and error-mapping code on first use (about a
    second); without this the first run's spans would show that one-off cost.
    """
    untraced = NoOpTracerProvider()
    run_agent(
        untraced.get_tracer("demo"),
        tool_handler(untraced, NoOpMeterProvider(), capture_content=False),
        server,
        say=lambda _: None,
    )


def collect_text(stream: Iterable[Any]) -> str:
    """Read the stream to its end: the span ends (and records usage) only then."""
    pieces: list[str] = []
    for chunk in stream:
        for choice in chunk.choices or ():
            if choice.delta.content:
                pieces.append(choice.delta.content)
    return "".join(pieces)


# --------------------------------------------------------------------------- printing


class Style:
    """ANSI colours on a terminal only (unless ``NO_COLOR`` is set); pipes get plain text."""

    def __init__(self) -> None:
        self.enabled = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def wrap(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def red(self, text: str) -> str:
        return self.wrap(text, "31;1")

    def bold(self, text: str) -> str:
        return self.wrap(text, "1")

    def dim(self, text: str) -> str:
        return self.wrap(text, "2")


STYLE = Style()


def heading(text: str) -> None:
    print()
    print(STYLE.bold(text))
    print(STYLE.bold("=" * len(text)))


def format_value(value: Any) -> str:
    """Readable and short: sequences as JSON lists, long strings cut at ~100 characters."""
    if isinstance(value, (list, tuple)):
        text = json.dumps(list(value))
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text


def status_of(span: ReadableSpan) -> str:
    code = span.status.status_code
    return STYLE.red("ERROR") if code is StatusCode.ERROR else code.name


def children_by_parent(spans: Sequence[ReadableSpan]) -> dict[int | None, list[ReadableSpan]]:
    """Group spans under their parent's id; a span whose parent is not here is a root."""
    ids = {span.context.span_id for span in spans}
    tree: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None else None
        tree.setdefault(parent if parent in ids else None, []).append(span)
    return tree


def print_span(
    span: ReadableSpan, tree: dict[int | None, list[ReadableSpan]], lead: str, indent: str
) -> None:
    """One span line (name, kind, duration, status), its key attributes, then its children.

    ``lead`` is drawn before the span's name, ``indent`` before every line below it.
    """
    duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    line = f"{lead + span.name:<44} {span.kind.name:<8} {duration_ms:8.1f} ms  {status_of(span)}"
    print(line)
    children = tree.get(span.context.span_id, [])
    rail = "│   " if children else "    "
    attributes = span.attributes or {}
    for key in SHOWN_ATTRIBUTES:
        if key in attributes:
            print(STYLE.dim(f"{indent}{rail}  {key} = {format_value(attributes[key])}"))
    for index, child in enumerate(children):
        last = index == len(children) - 1
        print_span(
            child,
            tree,
            indent + ("└── " if last else "├── "),
            indent + ("    " if last else "│   "),
        )


def print_trace_tree(spans: Sequence[ReadableSpan]) -> None:
    tree = children_by_parent(spans)
    for root in tree.get(None, []):
        print_span(root, tree, "", "")


def series_label(attributes: dict[str, Any]) -> str:
    parts = []
    for key in SERIES_KEYS:
        if key in attributes:
            value = attributes[key]
            parts.append(f"{key}={value}" if key == "error.type" else str(value))
    return " ".join(parts)


def format_number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f}ms"
    return f"{value:g}"


def print_metric_summary(reader: InMemoryMetricReader) -> None:
    """Points per metric and, per attribute set, how many values were recorded and their sum."""
    found: dict[str, Any] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                found[metric.name] = metric
    for name in SUMMARISED_METRICS:
        metric = found.get(name)
        if metric is None:
            print(f"{name}: no points")
            continue
        points = sorted(
            metric.data.data_points, key=lambda p: series_label(dict(p.attributes or {}))
        )
        print(f"{name} [{metric.unit}]: {len(points)} series")
        for point in points:
            label = series_label(dict(point.attributes or {}))
            total = format_number(point.sum, metric.unit)
            print(f"    {label:<52} count={point.count} sum={total}")


def report_run(telemetry: Telemetry, since: tuple[int, int, int, int]) -> None:
    """Tree of this run's spans (then forget them), or what the collector made of them.

    ``since`` is the span ledger's checkpoint from before the run: the batch processor may
    export part of a run on its own before the flush here.
    """
    if telemetry.spans is None:
        spans = telemetry.exports[0]
        accepted, refused, items, messages = since
        telemetry.tracer_provider.force_flush()
        telemetry.meter_provider.force_flush()
        if spans.refused > refused or spans.accepted == accepted:
            reason = spans.reason(since=messages)
            print(f"\nSpans of this run were NOT exported to {spans.url}: {reason}")
        else:
            print(f"\nSpans of this run: {spans.items - items} exported over OTLP to {spans.url}")
        return
    print("\nSpans of this run:")
    print_trace_tree(telemetry.spans.get_finished_spans())
    telemetry.spans.clear()


#: What an OTLP/HTTP endpoint's refusal usually means.
REFUSAL_HINTS: dict[str, str] = {
    "code: 404": "404: the endpoint has no such path: it does not take this signal over OTLP/HTTP",
    "code: 405": "405: the endpoint does not take this signal (Jaeger and Phoenix take traces "
    "only; a Collector takes both)",
    "Connection refused": "nothing listens at that address: is the collector running?",
}


def report_exports(exports: Sequence[ExportLedger]) -> None:
    """After shutdown (the last export): one line per signal, and why when it failed."""
    heading("OTLP export (what the collector accepted)")
    for ledger in exports:
        requests = ledger.accepted + ledger.refused
        # How many requests the batches took depends on timing, so they are counted only
        # when some failed and some did not.
        if requests and not ledger.refused:
            what = f"{ledger.items} spans" if ledger.signal == "spans" else "all metric points"
            print(f"{ledger.signal}: {what} exported to {ledger.url}")
            continue
        if not requests:
            print(f"{ledger.signal}: nothing was sent to {ledger.url}")
            continue
        if ledger.accepted:
            print(
                f"{ledger.signal}: only partly exported to {ledger.url}: {ledger.refused} of "
                f"{requests} export requests failed"
            )
        else:
            print(f"{ledger.signal}: NOT exported to {ledger.url}: every export request failed")
        reason = ledger.reason()
        print(f"    the exporter said: {reason}")
        for symptom, hint in REFUSAL_HINTS.items():
            if symptom in reason:
                print(f"    {hint}")


# --------------------------------------------------------------------------- main


def run_demo(telemetry: Telemetry) -> None:
    server = LoopbackLLMServer().start()
    instrumentor = LiteLLMInstrumentor()
    tracer = telemetry.tracer_provider.get_tracer("demo")
    providers = {
        "tracer_provider": telemetry.tracer_provider,
        "meter_provider": telemetry.meter_provider,
    }

    def tools(capture_content: bool) -> TelemetryHandler:
        return tool_handler(telemetry.tracer_provider, telemetry.meter_provider, capture_content)

    def checkpoint() -> tuple[int, int, int, int]:
        return telemetry.exports[0].checkpoint() if telemetry.exports else (0, 0, 0, 0)

    try:
        warm_up(server)
        heading("Run 1: content capture OFF (default) — no prompt or completion text is recorded")
        instrumentor.instrument(**providers, capture_content=False)
        since = checkpoint()
        run_agent(tracer, tools(capture_content=False), server)
        report_run(telemetry, since)
        instrumentor.uninstrument()

        heading("Run 2: content capture ON — prompts and completions are on the spans")
        instrumentor.instrument(**providers, capture_content=True)
        since = checkpoint()
        run_agent(tracer, tools(capture_content=True), server)
        report_run(telemetry, since)
        instrumentor.uninstrument()

        heading("Metrics of both runs (count and sum per attribute set)")
        print_metric_summary(telemetry.metrics)
    finally:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    otlp_url = args.otlp.rstrip("/") if args.otlp else None
    try:
        telemetry = setup_telemetry(otlp_url)
    except ImportError as error:
        print(
            f"--otlp needs the OTLP/HTTP exporter ({error}); install it with:\n"
            "    pip install opentelemetry-exporter-otlp-proto-http",
            file=sys.stderr,
        )
        return EXIT_MISSING_EXPORTER
    quiet_litellm()
    if isinstance(sys.stdout, io.TextIOWrapper):
        # The tree is drawn with box characters; a non-UTF-8 console gets "?" instead.
        sys.stdout.reconfigure(errors="replace")
    try:
        run_demo(telemetry)
    finally:
        telemetry.tracer_provider.shutdown()
        telemetry.meter_provider.shutdown()
    if telemetry.exports:
        report_exports(telemetry.exports)
        spans = telemetry.exports[0]
        if spans.refused or not spans.accepted:
            return EXIT_SPANS_NOT_EXPORTED  # nothing, or not all, of what the demo shows arrived
    return 0


if __name__ == "__main__":
    sys.exit(main())
