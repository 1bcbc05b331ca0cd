"""Our spans, sent to a real Arize Phoenix over OTLP/HTTP and OTLP/gRPC, read back from it.

Why: ``docs/recipes/phoenix.md`` promises that an instrumented app's traces land in Phoenix
intact and that Phoenix understands our ``gen_ai.*`` attributes. The rest of the suite checks
what we emit; only a real Phoenix can check what a user will actually see there.

The application is the README's agent (``examples/demo.py``: tool call, tool run, streamed
answer, embeddings, a failing call, each under one ``agent.run`` span), run twice, content
capture off then on, against the loopback LLM server:

- ``http``: ``examples/demo.py --otlp <phoenix>`` in a subprocess, exactly as ``make demo
  OTLP=...`` runs it (spans to ``<phoenix>/v1/traces``; Phoenix refuses the demo's metrics with
  405, as it takes traces only).
- ``grpc``: the same agent in process, with the ``opentelemetry-exporter-otlp-proto-grpc``
  exporter set up in code as the recipe shows, sending to Phoenix's gRPC port.

Each transport writes to its own Phoenix project (resource attribute
``openinference.project.name``), and the spans are read back with Phoenix's REST API
(``GET /v1/projects/{name}/spans``), polling because ingestion is asynchronous.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from litellm_otel import LiteLLMInstrumentor
from tests.support.loopback_server import LoopbackLLMServer

if TYPE_CHECKING:
    from tests.phoenix.conftest import PhoenixServer

pytestmark = pytest.mark.phoenix

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo.py"
SCREENSHOT_SCRIPT = REPO / "scripts" / "phoenix_screenshot.py"
# Set to a path (e.g. docs/images/phoenix-trace.png) to keep the UI screenshot there.
SCREENSHOT_ENV = "PHOENIX_SCREENSHOT"
# Phoenix files spans under the project named by this resource attribute ("default" without).
PROJECT_ATTRIBUTE = "openinference.project.name"
DEMO_API_KEY = "sk-demo-not-a-real-key"

ROOT = "agent.run"
# agent.run's children in start order: ours, and the app's own tool span (util-genai's tool
# invocation) in the middle.
AGENT_CHILDREN = [
    "chat tool-model",
    "execute_tool get_weather",
    "chat reasoning-model",
    "embeddings text-embedding-3-small",
    "chat error-429",
]
RUNS = 2  # content capture off, then on
SPANS_PER_RUN = 1 + len(AGENT_CHILDREN)
CONTENT_ATTRIBUTES = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions")
# The loopback server's fixed usage (tests/support/loopback_server.py).
INPUT_TOKENS = 12
OUTPUT_TOKENS = 5
EMBEDDING_INPUT_TOKENS = 6  # 3 per input, two inputs
SCREENSHOT_SIZE = (1600, 1000)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- delivery


@dataclass
class Trace:
    """One agent run as Phoenix stored it."""

    root: dict[str, Any]
    children: list[dict[str, Any]]

    def child(self, name: str) -> dict[str, Any]:
        matching = [span for span in self.children if span["name"] == name]
        assert len(matching) == 1, (name, [span["name"] for span in self.children])
        return matching[0]


@dataclass
class Delivery:
    """The spans one transport delivered into its own Phoenix project."""

    transport: str
    project: str
    spans: list[dict[str, Any]]

    def traces(self) -> list[Trace]:
        """One ``Trace`` per ``agent.run``, oldest first (run 1 = capture off)."""
        roots = sorted(
            (span for span in self.spans if span["name"] == ROOT),
            key=lambda span: span["start_time"],
        )
        traces = []
        for root in roots:
            trace_id = root["context"]["trace_id"]
            children = sorted(
                (
                    span
                    for span in self.spans
                    if span["context"]["trace_id"] == trace_id and span is not root
                ),
                key=lambda span: span["start_time"],
            )
            traces.append(Trace(root, children))
        return traces

    def capture_off(self) -> Trace:
        return self.traces()[0]

    def capture_on(self) -> Trace:
        return self.traces()[1]


def all_runs_arrived(spans: list[dict[str, Any]]) -> bool:
    return len(spans) >= RUNS * SPANS_PER_RUN


def without_otel_settings(env: dict[str, str]) -> dict[str, str]:
    """An inherited OTEL_* (sampler, exporter, SDK disabled...) must not change what is sent."""
    return {key: value for key, value in env.items() if not key.startswith("OTEL_")}


def send_over_http(phoenix: PhoenixServer, project: str) -> None:
    """``examples/demo.py --otlp URL``: the README's demo, exporting to Phoenix's HTTP port."""
    env = without_otel_settings(dict(os.environ))
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "OTEL_RESOURCE_ATTRIBUTES": f"{PROJECT_ATTRIBUTE}={project}",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    completed = subprocess.run(
        [sys.executable, str(DEMO), "--otlp", phoenix.base_url],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=REPO,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"exported over OTLP to {phoenix.base_url}/v1/traces" in completed.stdout


def load_demo() -> ModuleType:
    """``examples/demo.py`` as a module, for its ``run_agent`` (it is a script, not a package)."""
    name = "litellm_otel_demo"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def send_over_grpc(phoenix: PhoenixServer, project: str, server: LoopbackLLMServer) -> None:
    """The demo's agent in process, exported with the OTLP gRPC exporter set up in code."""
    demo = load_demo()
    resource = Resource.create(
        {"service.name": "litellm-otel-phoenix-grpc", PROJECT_ATTRIBUTE: project}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=phoenix.grpc_endpoint, insecure=True))
    )
    tracer = provider.get_tracer(__name__)
    instrumentor = LiteLLMInstrumentor()
    try:
        for capture_content in (False, True):
            instrumentor.instrument(tracer_provider=provider, capture_content=capture_content)
            tools = demo.tool_handler(provider, None, capture_content)
            demo.run_agent(tracer, tools, server, say=lambda _: None)
            instrumentor.uninstrument()
    finally:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        provider.shutdown()  # flushes the batch processor


@pytest.fixture(scope="module")
def http_delivery(phoenix: PhoenixServer) -> Delivery:
    project = "litellm-otel-http"
    send_over_http(phoenix, project)
    return Delivery("http", project, phoenix.wait_for_spans(project, all_runs_arrived))


@pytest.fixture(scope="module")
def grpc_delivery(phoenix: PhoenixServer, loopback: LoopbackLLMServer) -> Delivery:
    project = "litellm-otel-grpc"
    send_over_grpc(phoenix, project, loopback)
    return Delivery("grpc", project, phoenix.wait_for_spans(project, all_runs_arrived))


@pytest.fixture(scope="module", params=["http", "grpc"])
def delivery(request: pytest.FixtureRequest) -> Iterator[Delivery]:
    yield request.getfixturevalue(f"{request.param}_delivery")


# --------------------------------------------------------------------------- the spans


def test_each_run_is_one_trace_under_agent_run(delivery: Delivery) -> None:
    assert len(delivery.spans) == RUNS * SPANS_PER_RUN, [s["name"] for s in delivery.spans]
    traces = delivery.traces()
    assert len(traces) == RUNS
    for trace in traces:
        root_id = trace.root["context"]["span_id"]
        assert trace.root["parent_id"] is None
        assert [span["name"] for span in trace.children] == AGENT_CHILDREN
        for span in trace.children:
            assert span["parent_id"] == root_id, span["name"]
            assert span["context"]["trace_id"] == trace.root["context"]["trace_id"]


def test_chat_attributes_survive_with_their_types(delivery: Delivery) -> None:
    """Strings, ints and the finish-reasons array come back as the same JSON types."""
    for trace in delivery.traces():
        span = trace.child("chat tool-model")
        attributes = span["attributes"]
        assert span["status_code"] == "UNSET"
        assert {
            key: attributes.get(key)
            for key in (
                "gen_ai.operation.name",
                "gen_ai.provider.name",
                "gen_ai.request.model",
                "gen_ai.response.model",
                "gen_ai.usage.input_tokens",
                "gen_ai.usage.output_tokens",
                "gen_ai.response.finish_reasons",
                "server.address",
                "litellm.provider",
                "litellm.request.model",
            )
        } == {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "tool-model",
            "gen_ai.response.model": "tool-model",
            "gen_ai.usage.input_tokens": INPUT_TOKENS,
            "gen_ai.usage.output_tokens": OUTPUT_TOKENS,
            "gen_ai.response.finish_reasons": ["tool_calls"],
            "server.address": "127.0.0.1",
            "litellm.provider": "openai",
            "litellm.request.model": "openai/tool-model",
        }
        assert isinstance(attributes["server.port"], int)
        assert isinstance(attributes["gen_ai.response.id"], str)


def test_streamed_chat(delivery: Delivery) -> None:
    for trace in delivery.traces():
        attributes = trace.child("chat reasoning-model")["attributes"]
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["gen_ai.request.model"] == "reasoning-model"
        assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
        # Usage arrives in the last chunk; it is on the span only if the stream ended it.
        assert attributes["gen_ai.usage.input_tokens"] == INPUT_TOKENS
        assert attributes["gen_ai.usage.output_tokens"] == OUTPUT_TOKENS
        assert attributes["gen_ai.response.time_to_first_chunk"] > 0


def test_embeddings(delivery: Delivery) -> None:
    for trace in delivery.traces():
        span = trace.child("embeddings text-embedding-3-small")
        attributes = span["attributes"]
        assert span["status_code"] == "UNSET"
        assert attributes["gen_ai.operation.name"] == "embeddings"
        assert attributes["gen_ai.provider.name"] == "openai"
        assert attributes["gen_ai.request.model"] == "text-embedding-3-small"
        assert attributes["gen_ai.usage.input_tokens"] == EMBEDDING_INPUT_TOKENS
        assert isinstance(attributes["litellm.response_cost"], float)


def test_failed_call_is_an_error_with_its_exception(delivery: Delivery) -> None:
    for trace in delivery.traces():
        span = trace.child("chat error-429")
        attributes = span["attributes"]
        assert span["status_code"] == "ERROR"
        assert "429" in span["status_message"]
        assert attributes["error.type"] == "RateLimitError"
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.provider.name"] == "openai"
        assert attributes["gen_ai.request.model"] == "error-429"
        assert attributes["http.response.status_code"] == 429
        exceptions = [event for event in span["events"] if event["name"] == "exception"]
        assert len(exceptions) == 1
        assert exceptions[0]["attributes"]["exception.type"].endswith("RateLimitError")
    # The trace's other spans did not fail.
    assert sum(span["status_code"] == "ERROR" for span in delivery.spans) == RUNS


def test_content_capture_off_then_on(delivery: Delivery) -> None:
    for span in delivery.capture_off().children:
        leaked = [key for key in CONTENT_ATTRIBUTES if key in span["attributes"]]
        assert not leaked, (span["name"], leaked)
    attributes = delivery.capture_on().child("chat tool-model")["attributes"]
    input_messages = json.loads(attributes["gen_ai.input.messages"])
    output_messages = json.loads(attributes["gen_ai.output.messages"])
    assert input_messages[0]["role"] == "user"
    assert "umbrella" in input_messages[0]["parts"][0]["content"]
    assert output_messages[0]["parts"][0] == {
        "type": "tool_call",
        "id": "call_weather_1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert "get_weather" in attributes["gen_ai.tool.definitions"]


def test_no_api_key_reaches_phoenix(delivery: Delivery) -> None:
    assert DEMO_API_KEY not in json.dumps(delivery.spans)


def test_phoenix_reads_our_genai_attributes(delivery: Delivery) -> None:
    """Phoenix maps ``gen_ai.*`` onto its OpenInference views (span kind, model, tokens).

    This is Phoenix's behaviour, not ours; it is asserted because the recipe tells users the
    LLM columns fill in, and a Phoenix upgrade that stops doing so should be noticed.
    """
    for trace in delivery.traces():
        chat = trace.child("chat tool-model")
        assert chat["span_kind"] == "LLM"
        assert chat["attributes"]["llm.model_name"] == "tool-model"
        assert chat["attributes"]["llm.token_count.prompt"] == INPUT_TOKENS
        assert chat["attributes"]["llm.token_count.completion"] == OUTPUT_TOKENS
        embeddings = trace.child("embeddings text-embedding-3-small")
        assert embeddings["span_kind"] == "EMBEDDING"
        assert trace.child("chat error-429")["span_kind"] == "LLM"


# --------------------------------------------------------------------------- the UI


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a PNG must start with."""
    assert data.startswith(PNG_SIGNATURE), data[:16]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_ui_shows_the_trace(
    http_delivery: Delivery, phoenix: PhoenixServer, tmp_path: Path
) -> None:
    """Headless Chromium opens the trace in Phoenix's UI and photographs it.

    ``scripts/phoenix_screenshot.py`` waits until the page shows every span name of the trace
    and the selected span's ``gen_ai.*`` attributes, and exits non-zero otherwise, so this
    fails on a UI that renders nothing. ``PHOENIX_SCREENSHOT=docs/images/phoenix-trace.png``
    keeps the picture for the docs.
    """
    kept = os.environ.get(SCREENSHOT_ENV)
    out = (REPO / kept) if kept else tmp_path / "phoenix-trace.png"
    completed = subprocess.run(
        [
            sys.executable,
            str(SCREENSHOT_SCRIPT),
            "--phoenix-url",
            phoenix.base_url,
            "--project",
            http_delivery.project,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    data = out.read_bytes()
    assert png_size(data) == SCREENSHOT_SIZE
    # A blank page or a lone spinner compresses to a few KB; the trace view is ~150 KB.
    assert 50_000 < len(data) < 500_000, len(data)
