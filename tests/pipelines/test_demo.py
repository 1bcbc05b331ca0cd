"""``make demo`` runs examples/demo.py; it is the first thing a newcomer sees, so it is tested.

The demo runs in a subprocess exactly as the Makefile runs it, and its printed trace trees
are parsed back: the nesting is read from the indentation, so a span that lost its parent
(or gained an extra one) fails the test, not just a missing name.
"""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"
API_KEY = "sk-demo-not-a-real-key"

RUN_1 = "Run 1: content capture OFF (default)"
RUN_2 = "Run 2: content capture ON"
METRICS = "Metrics of both runs"

AGENT_CHILDREN = [
    "chat tool-model",
    "execute_tool get_weather",
    "chat reasoning-model",
    "embeddings text-embedding-3-small",
    "chat error-429",
]
KINDS = {
    "agent.run": "INTERNAL",
    "chat tool-model": "CLIENT",
    "execute_tool get_weather": "INTERNAL",
    "chat reasoning-model": "CLIENT",
    "embeddings text-embedding-3-small": "CLIENT",
    "chat error-429": "CLIENT",
}
SPANS_PER_RUN = 1 + len(AGENT_CHILDREN)

# "├── chat tool-model     CLIENT    6.9 ms  UNSET": tree drawing, name, kind, duration, status.
SPAN_LINE = re.compile(
    r"^(?P<name>\S.*?)\s+(?P<kind>[A-Z]+)\s+(?P<ms>\d+\.\d) ms  (?P<status>[A-Z]+)$"
)
TREE_CHARS = " │├└─"


@dataclass
class SpanLine:
    depth: int
    column: int
    name: str
    kind: str
    status: str
    attribute_lines: list[str] = field(default_factory=list)

    def attributes(self) -> dict[str, str]:
        pairs = (line.split(" = ", 1) for line in self.attribute_lines)
        return {key: value for key, value in pairs}


@dataclass
class Demo:
    returncode: int
    stdout: str
    stderr: str


def run_demo(*args: str) -> Demo:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONIOENCODING": "utf-8"}
    env.pop("NO_COLOR", None)
    completed = subprocess.run(
        [sys.executable, str(DEMO), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=DEMO.parents[1],
        timeout=120,
        check=False,
    )
    return Demo(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture(scope="module")
def demo() -> Demo:
    result = run_demo()
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def section(output: str, start: str, end: str | None) -> str:
    """The lines from the heading ``start`` up to the heading ``end``."""
    assert output.count(start) == 1, start
    text = output.split(start, 1)[1]
    if end is not None:
        assert end in text, end
        text = text.split(end, 1)[0]
    return text


def parse_tree(text: str) -> list[SpanLine]:
    """Span lines with their depth (tree drawing is 4 columns per level) and attributes."""
    spans: list[SpanLine] = []
    for line in text.splitlines():
        column = len(line) - len(line.lstrip(TREE_CHARS))
        body = line[column:]
        match = SPAN_LINE.match(body)
        if match and " = " not in match["name"]:
            assert column % 4 == 0, line
            spans.append(
                SpanLine(column // 4, column, match["name"], match["kind"], match["status"])
            )
        elif spans and " = " in body:
            assert column > spans[-1].column, f"attribute not indented under its span: {line}"
            spans[-1].attribute_lines.append(body)
    return spans


def attribute_keys(span: SpanLine) -> set[str]:
    return {line.split(" = ", 1)[0] for line in span.attribute_lines}


def test_demo_exits_cleanly(demo: Demo) -> None:
    assert "Traceback" not in demo.stdout
    assert "Traceback" not in demo.stderr
    assert "\033[" not in demo.stdout  # no colour codes when stdout is not a terminal


@pytest.mark.parametrize(("start", "end"), [(RUN_1, RUN_2), (RUN_2, METRICS)])
def test_each_run_prints_one_agent_tree(demo: Demo, start: str, end: str) -> None:
    spans = parse_tree(section(demo.stdout, start, end))
    assert [(span.depth, span.name) for span in spans] == [
        (0, "agent.run"),
        *((1, name) for name in AGENT_CHILDREN),
    ]
    assert {span.name: span.kind for span in spans} == KINDS
    statuses = {span.name: span.status for span in spans}
    assert statuses["chat error-429"] == "ERROR"
    assert [name for name, status in statuses.items() if status == "ERROR"] == ["chat error-429"]
    by_name = {span.name: span for span in spans}
    assert {
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.response.finish_reasons",
    } <= attribute_keys(by_name["chat tool-model"])
    assert "gen_ai.response.time_to_first_chunk" in attribute_keys(by_name["chat reasoning-model"])
    assert "error.type = RateLimitError" in by_name["chat error-429"].attribute_lines


@pytest.mark.parametrize(("start", "end"), [(RUN_1, RUN_2), (RUN_2, METRICS)])
def test_listing_shows_where_the_request_went_its_response_id_and_http_status(
    demo: Demo, start: str, end: str
) -> None:
    """``server.address``, the response id and the HTTP status are recorded: they are shown."""
    spans = {span.name: span.attributes() for span in parse_tree(section(demo.stdout, start, end))}
    for name in ("chat tool-model", "chat reasoning-model", "chat error-429"):
        assert spans[name]["server.address"] == "127.0.0.1", name
        assert re.fullmatch(r"\d+", spans[name]["server.port"]), name
    # The id the caller saw: the provider's; for the streamed call, LiteLLM's oldest supported
    # releases hand out an id of their own (a UUID) instead, and that is what is recorded.
    provider_id = r"chatcmpl-loopback-\d+"
    litellm_id = r"chatcmpl-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
    ids = {"chat tool-model": provider_id, "chat reasoning-model": f"{provider_id}|{litellm_id}"}
    for name, pattern in ids.items():
        assert re.fullmatch(pattern, spans[name]["gen_ai.response.id"]), name
        assert "http.response.status_code" not in spans[name], name
    assert spans["chat error-429"]["http.response.status_code"] == "429"
    assert "gen_ai.response.id" not in spans["chat error-429"]  # no response came


def test_tool_span_is_util_genai_tool_invocation(demo: Demo) -> None:
    """``execute_tool get_weather`` (INTERNAL) with the tool's attributes; its arguments and
    result only when content capture is on, like the messages of the LiteLLM spans."""
    identity = {
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": "call_weather_1",
    }
    run_1 = {span.name: span for span in parse_tree(section(demo.stdout, RUN_1, RUN_2))}
    assert run_1["execute_tool get_weather"].attributes() == identity
    run_2 = {span.name: span for span in parse_tree(section(demo.stdout, RUN_2, METRICS))}
    assert run_2["execute_tool get_weather"].attributes() == {
        **identity,
        "gen_ai.tool.call.arguments": '{"city":"Paris"}',
        "gen_ai.tool.call.result": '{"city": "Paris", "forecast": "sunny", "temperature_c": 21}',
    }
    metrics = section(demo.stdout, METRICS, None)
    assert re.search(r"^gen_ai\.execute_tool\.duration \[s\]: 1 series$", metrics, re.MULTILINE)
    assert re.search(r"^\s+get_weather\s+count=2 sum=", metrics, re.MULTILINE)


def test_content_is_recorded_only_in_run_2(demo: Demo) -> None:
    run_1 = section(demo.stdout, RUN_1, RUN_2)
    run_2 = section(demo.stdout, RUN_2, METRICS)
    assert "gen_ai.input.messages" not in run_1
    assert "gen_ai.output.messages" not in run_1
    spans = {span.name: span for span in parse_tree(run_2)}
    assert {"gen_ai.input.messages", "gen_ai.output.messages"} <= attribute_keys(
        spans["chat tool-model"]
    )
    assert "gen_ai.input.messages" in attribute_keys(spans["chat error-429"])


def test_api_key_never_printed(demo: Demo) -> None:
    assert API_KEY not in demo.stdout
    assert API_KEY not in demo.stderr


def test_metric_summary(demo: Demo) -> None:
    metrics = section(demo.stdout, METRICS, None)
    lines = metrics.splitlines()
    assert any(line.startswith("gen_ai.client.operation.duration ") for line in lines)
    assert any(line.startswith("gen_ai.client.token.usage ") for line in lines)
    # The loopback server reports 12 input tokens per chat call; the tool call ran twice.
    assert re.search(r"^\s+chat tool-model input\s+count=2 sum=24$", metrics, re.MULTILINE)
    assert re.search(
        r"^\s+chat error-429 error\.type=RateLimitError\s+count=2 sum=", metrics, re.MULTILINE
    )


@dataclass
class Collector:
    """What an OTLP/HTTP receiver got from one demo run, and what the demo printed."""

    url: str
    demo: Demo
    received: dict[str, list[bytes]]

    def report(self) -> list[str]:
        return section(self.demo.stdout, "OTLP export (what the collector accepted)", None).split(
            "\n"
        )[2:-1]


def run_demo_against(statuses: dict[str, int]) -> Collector:
    """``make demo OTLP=...`` against a receiver answering each path with the given status."""
    received: dict[str, list[bytes]] = {"/v1/traces": [], "/v1/metrics": []}

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            status = statuses[self.path]
            if status == 200:
                received.setdefault(self.path, []).append(body)
            self.send_response(status)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = run_demo("--otlp", url)
    finally:
        server.shutdown()
        server.server_close()
    assert "Traceback" not in result.stderr, result.stderr
    return Collector(url, result, received)


def test_otlp_mode_exports_both_runs_to_a_collector() -> None:
    """``make demo OTLP=...``: the same spans and metrics reach an OTLP/HTTP receiver."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    collector = run_demo_against({"/v1/traces": 200, "/v1/metrics": 200})
    result, url, received = collector.demo, collector.url, collector.received
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.count(
            f"\nSpans of this run: {SPANS_PER_RUN} exported over OTLP to {url}/v1/traces\n"
        )
        == 2
    )
    assert collector.report() == [
        f"spans: {2 * SPANS_PER_RUN} spans exported to {url}/v1/traces",
        f"metrics: all metric points exported to {url}/v1/metrics",
    ]

    span_names = [
        span.name
        for body in received["/v1/traces"]
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    assert sorted(span_names) == sorted(["agent.run", *AGENT_CHILDREN] * 2)
    metric_names = {
        metric.name
        for body in received["/v1/metrics"]
        for resource_metrics in ExportMetricsServiceRequest.FromString(body).resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }
    assert {"gen_ai.client.operation.duration", "gen_ai.client.token.usage"} <= metric_names


def test_otlp_metrics_refused_is_reported_not_claimed() -> None:
    """A traces-only backend (Jaeger, Phoenix) answers 405 to metrics: the demo says so.

    It used to print "Metrics were also exported over OTLP" right after the exporter logged
    ``Failed to export metrics batch code: 405``.
    """
    collector = run_demo_against({"/v1/traces": 200, "/v1/metrics": 405})
    result, url = collector.demo, collector.url
    assert result.returncode == 0, result.stderr  # the spans, what the demo is about, arrived
    assert "Metrics were also exported" not in result.stdout
    assert collector.report() == [
        f"spans: {2 * SPANS_PER_RUN} spans exported to {url}/v1/traces",
        f"metrics: NOT exported to {url}/v1/metrics: every export request failed",
        "    the exporter said: Failed to export metrics batch code: 405, reason: Method Not "
        "Allowed",
        "    405: the endpoint does not take this signal (Jaeger and Phoenix take traces only; "
        "a Collector takes both)",
    ]
    # The exporter's own warnings are in the report, not loose on stderr.
    assert "Failed to export" not in result.stderr
    assert collector.received["/v1/traces"]
    assert collector.received["/v1/metrics"] == []


def test_otlp_spans_refused_fails_the_demo() -> None:
    """No span reached the collector: each run says so, and the demo exits 1."""
    collector = run_demo_against({"/v1/traces": 400, "/v1/metrics": 200})
    result, url = collector.demo, collector.url
    assert result.returncode == 1, result.stdout + result.stderr
    refusal = (
        f"\nSpans of this run were NOT exported to {url}/v1/traces: Failed to export spans "
        "batch code: 400, reason: Bad Request\n"
    )
    assert result.stdout.count(refusal) == 2, result.stdout
    assert "exported over OTLP" not in result.stdout
    assert collector.report() == [
        f"spans: NOT exported to {url}/v1/traces: every export request failed",
        "    the exporter said: Failed to export spans batch code: 400, reason: Bad Request",
        f"metrics: all metric points exported to {url}/v1/metrics",
    ]
