"""Zero-code instrumentation: ``opentelemetry-instrument python app.py`` with only ``OTEL_*`` vars.

Why a subprocess: this is how most users meet the instrumentation. Nothing in-process can
show that our ``opentelemetry_instrumentor`` entry point loads, that the distro's
environment-driven SDK setup picks up our spans and metrics, that
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` and the content-capture variable are honoured, or
that everything is flushed when the process exits. So ``examples/zero_code_app.py`` (no
OpenTelemetry code at all) runs under the real ``opentelemetry-instrument`` launcher against
the loopback LLM server, exporting to the console or over OTLP to
``tests/support/otlp_receiver.py``.

Each configuration runs once per module, all of them concurrently (the launcher and LiteLLM's
import cost ~4 s each), and several tests read the same run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support.loopback_server import LoopbackLLMServer
from tests.support.otlp_receiver import LogRecord, OTLPReceiver, PointRecord, SpanRecord

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "zero_code_app.py"
#: The launcher installed by ``opentelemetry-instrumentation`` next to the venv's python.
OTEL_INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")

SERVICE_NAME = "zero-code-app"
API_KEY = "sk-zero-code-SECRET-4d2c"
PROMPT = "Say hello to the pipeline"
ANSWER = "Hello from loopback"
EMBEDDING_TOKENS = 3  # the loopback server's tokens per embedding input; the app sends one
EMBEDDING_DIMENSIONS = 8
#: Our instrumentation scope. Other instrumentations installed next to ours (the httpx one,
#: an OpenAI one) export GenAI-looking spans and metrics too; assertions pick ours by scope.
SCOPE = "litellm_otel"
RESPONSE_ID = re.compile(r"^chatcmpl-loopback-\d+$")
DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
COST = "litellm.client.cost.usd"
#: A bound for a hung app, not a speed check: the apps start side by side, each importing
#: LiteLLM, and on a loaded two-core machine that alone has taken over a minute.
RUN_TIMEOUT_S = 240


@dataclass
class AppRun:
    """What one run of the app left behind: its output and what the receiver got from it."""

    returncode: int
    stdout: str
    stderr: str
    spans: list[SpanRecord] = field(default_factory=list)
    metrics: dict[str, list[PointRecord]] = field(default_factory=dict)  # ours only
    units: dict[str, str] = field(default_factory=dict)  # ours only
    all_metric_names: set[str] = field(default_factory=set)  # every scope's
    logs: list[LogRecord] = field(default_factory=list)

    def check_succeeded(self) -> None:
        """The app answered, and the launcher loaded every instrumentor without a traceback.

        ``opentelemetry-instrument`` logs a failing instrumentor and carries on, so an import
        error in our package would otherwise surface only as "no spans".
        """
        assert self.returncode == 0, self.stderr
        assert f"answer: {ANSWER}" in self.stdout, self.stdout
        assert f"embedding dimensions: {EMBEDDING_DIMENSIONS}" in self.stdout, self.stdout
        assert "Traceback" not in self.stderr, self.stderr
        assert API_KEY not in self.stdout + self.stderr

    def ours(self) -> list[SpanRecord]:
        return [s for s in self.spans if s.scope_name == SCOPE]

    def span(self, name: str) -> SpanRecord:
        (span,) = [s for s in self.ours() if s.name == name]
        return span

    def ancestors(self, span: SpanRecord) -> list[SpanRecord]:
        """The chain of parents of ``span``, nearest first, as far as they were exported."""
        by_id = {(s.trace_id, s.span_id): s for s in self.spans}
        chain: list[SpanRecord] = []
        current = span
        while current.parent_span_id:
            parent = by_id.get((current.trace_id, current.parent_span_id))
            if parent is None:
                break
            chain.append(parent)
            current = parent
        return chain

    def http_span(self, route: str) -> SpanRecord:
        """The httpx instrumentation's ``POST`` span for one loopback route."""
        (span,) = [
            s
            for s in self.spans
            if s.name == "POST"
            # old and stable HTTP semantic conventions name the URL differently
            and str(s.attributes.get("http.url", s.attributes.get("url.full"))).endswith(route)
        ]
        return span


@dataclass(frozen=True)
class Config:
    """One way to run the app: console exporters (``protocol=None``) or OTLP, plus extra vars."""

    protocol: str | None
    env: tuple[tuple[str, str], ...] = ()


CONSOLE = Config(None, (("OTEL_TRACES_EXPORTER", "console"), ("OTEL_METRICS_EXPORTER", "console")))
GRPC = Config("grpc")
HTTP = Config("http/protobuf")
BY_PROTOCOL = {"grpc": GRPC, "http/protobuf": HTTP}
# One protocol is enough for these: the transport cannot tell content from other strings,
# nor a disabled instrumentation from an enabled one.
CAPTURE = Config(
    "http/protobuf",
    (
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
    ),
)
DISABLED = Config("grpc", (("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "litellm"),))
ALL_CONFIGS = (CONSOLE, GRPC, HTTP, CAPTURE, DISABLED)


@dataclass
class _Started:
    process: subprocess.Popen[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]
    receiver: OTLPReceiver | None


class AppRunner:
    """Runs the app under ``opentelemetry-instrument``, once per configuration, concurrently.

    Each run is a fresh interpreter that imports LiteLLM (~4 s of CPU), so all runs start
    together and each test waits only for its own. Every run exports to a receiver of its
    own, which keeps concurrent runs apart. Output goes to files, not pipes, so a chatty
    console exporter can never block on a full pipe while nobody reads it.
    """

    def __init__(self, server: LoopbackLLMServer) -> None:
        self.server = server
        self._started: dict[Config, _Started] = {}
        self._done: dict[Config, AppRun] = {}

    def start(self, config: Config) -> None:
        if config in self._started or config in self._done:
            return
        # Only the variables a user would set: inherited OTEL_* settings would blur the test.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            PYTHONIOENCODING="utf-8",
            LOOPBACK_BASE_URL=self.server.base_url,
            OPENAI_API_KEY=API_KEY,
            PROMPT=PROMPT,
            OTEL_SERVICE_NAME=SERVICE_NAME,
            OTEL_LOGS_EXPORTER="none",
            OTEL_BSP_SCHEDULE_DELAY="100",
            OTEL_METRIC_EXPORT_INTERVAL="500",
        )
        receiver = None
        if config.protocol is not None:
            receiver = OTLPReceiver().start()
            env.update(
                OTEL_TRACES_EXPORTER="otlp",
                OTEL_METRICS_EXPORTER="otlp",
                OTEL_EXPORTER_OTLP_PROTOCOL=config.protocol,
                OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint(config.protocol),
            )
        env.update(config.env)
        # Closed by _read() or close(): they outlive this method, so no ``with`` here.
        stdout = tempfile.TemporaryFile()  # noqa: SIM115
        stderr = tempfile.TemporaryFile()  # noqa: SIM115
        process = subprocess.Popen(
            [str(OTEL_INSTRUMENT), sys.executable, str(APP)],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        self._started[config] = _Started(process, stdout, stderr, receiver)

    def result(self, config: Config) -> AppRun:
        """The finished run of ``config`` (started now if it was not yet)."""
        if config not in self._done:
            self.start(config)
            self._done[config] = self._finish(self._started.pop(config))
        return self._done[config]

    def otlp(self, protocol: str) -> AppRun:
        return self.result(BY_PROTOCOL[protocol])

    def _finish(self, started: _Started) -> AppRun:
        try:
            returncode = started.process.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            started.process.kill()
            started.process.wait()
            raise
        finally:
            if started.receiver is not None:
                started.receiver.stop()
        stdout, stderr = (_read(f) for f in (started.stdout, started.stderr))
        # Providers shut down (and flush) at interpreter exit, and the receiver stores a
        # request before it answers it: everything exported had arrived when the app exited.
        run = AppRun(returncode=returncode, stdout=stdout, stderr=stderr)
        receiver = started.receiver
        if receiver is not None:
            run.spans = receiver.spans()
            run.metrics = receiver.metrics(scope=SCOPE)
            run.units = receiver.metric_units(scope=SCOPE)
            run.all_metric_names = set(receiver.metrics())
            run.logs = receiver.logs()
        return run

    def close(self) -> None:
        """Stop whatever is still running (a test run with ``-k`` may not read every run)."""
        for started in self._started.values():
            if started.process.poll() is None:
                started.process.kill()
                started.process.wait()
            if started.receiver is not None:
                started.receiver.stop()
            started.stdout.close()
            started.stderr.close()
        self._started.clear()


def _read(file: IO[bytes]) -> str:
    file.seek(0)
    text = file.read().decode("utf-8", errors="replace")
    file.close()
    return text


@pytest.fixture(scope="module")
def runner(loopback: LoopbackLLMServer) -> Iterator[AppRunner]:
    if not OTEL_INSTRUMENT.exists():
        pytest.fail(f"{OTEL_INSTRUMENT} missing: install opentelemetry-distro into this venv")
    app_runner = AppRunner(loopback)
    try:
        for config in ALL_CONFIGS:
            app_runner.start(config)
        yield app_runner
    finally:
        app_runner.close()


def typed(attributes: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Pair each value with its type name, so ``1 == True == 1.0`` cannot hide a wire change."""
    return {key: (type(value).__name__, value) for key, value in attributes.items()}


#: What an OpenAI SDK instrumentation that ``opentelemetry-instrument`` also loads publishes
#: into our invocation when its own span is suppressed under ours (util-genai merges it in):
#: it does so only where LiteLLM calls the SDK method it wraps, which differs by release.
NESTED_OPENAI_ATTRIBUTES = {"openai.response.system_fingerprint": "fp_loopback"}


def without_nested(attributes: Any) -> dict[str, Any]:
    """Our attributes; whatever the nested OpenAI instrumentation merged in must be exactly
    what it reads off the loopback reply."""
    attributes = dict(attributes)
    nested = {key: attributes.pop(key) for key in list(attributes) if key.startswith("openai.")}
    assert nested in ({}, NESTED_OPENAI_ATTRIBUTES), nested
    return attributes


def expected_chat_attributes(port: int, span_attributes: dict[str, Any]) -> dict[str, Any]:
    """Every attribute of the app's chat span; id and cost are checked by shape, not value."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.response.id": span_attributes["gen_ai.response.id"],
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 4,
        "gen_ai.usage.reasoning.output_tokens": 2,
        "litellm.provider": "openai",
        "litellm.request.model": "openai/gpt-4o-mini",
        "litellm.response_cost": span_attributes["litellm.response_cost"],
    }


def expected_embedding_attributes(port: int, span_attributes: dict[str, Any]) -> dict[str, Any]:
    attributes = {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "text-embedding-3-small",
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.response.model": "text-embedding-3-small",
        "gen_ai.embeddings.dimension.count": EMBEDDING_DIMENSIONS,
        "gen_ai.usage.input_tokens": EMBEDDING_TOKENS,
        "litellm.provider": "openai",
        "litellm.request.model": "openai/text-embedding-3-small",
    }
    if "litellm.response_cost" in span_attributes:  # LiteLLM prices embeddings too
        attributes["litellm.response_cost"] = span_attributes["litellm.response_cost"]
    return attributes


def metric_attributes(port: int, operation: str, model: str, response_model: str) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "gen_ai.response.model": response_model,
        "server.address": "127.0.0.1",
        "server.port": port,
    }


# -- (a) console exporter -----------------------------------------------------------------


def parse_console_objects(stdout: str) -> list[dict[str, Any]]:
    """Every JSON object in the output, in order.

    The console exporters print pretty-printed objects back to back, interleaved with the
    app's own lines; ``raw_decode`` from each ``{`` that starts a line reads them without
    guessing where one ends.
    """
    decoder = json.JSONDecoder()
    objects: list[dict[str, Any]] = []
    position = 0
    while (start := stdout.find("{", position)) != -1:
        if start and stdout[start - 1] != "\n":
            position = start + 1
            continue
        try:
            value, end = decoder.raw_decode(stdout, start)
        except json.JSONDecodeError:
            position = start + 1
            continue
        if isinstance(value, dict):
            objects.append(value)
        position = end
    return objects


def test_console_exporter(runner: AppRunner, loopback: LoopbackLLMServer) -> None:
    run = runner.result(CONSOLE)
    run.check_succeeded()
    objects = parse_console_objects(run.stdout)
    spans = [o for o in objects if "context" in o and "kind" in o]
    chat = [s for s in spans if s["name"] == "chat gpt-4o-mini"]
    assert len(chat) == 1, [s["name"] for s in spans]
    (span,) = chat
    assert span["kind"] == "SpanKind.CLIENT"
    assert span["status"]["status_code"] == "UNSET"
    assert span["parent_id"] is None
    attributes = span["attributes"]
    expected = expected_chat_attributes(loopback.port, attributes)
    expected["gen_ai.response.finish_reasons"] = ["stop"]  # JSON has no tuples
    assert typed(without_nested(attributes)) == typed(expected)
    assert RESPONSE_ID.match(attributes["gen_ai.response.id"])
    assert isinstance(attributes["litellm.response_cost"], float)
    assert attributes["litellm.response_cost"] > 0
    assert span["resource"]["attributes"]["service.name"] == SERVICE_NAME
    # content capture is off by default
    assert PROMPT not in run.stdout

    embeddings = [s for s in spans if s["name"] == "embeddings text-embedding-3-small"]
    assert len(embeddings) == 1
    assert embeddings[0]["kind"] == "SpanKind.CLIENT"

    # the last metrics batch printed (at shutdown) holds the cumulative totals
    batches = [o for o in objects if "resource_metrics" in o]
    assert batches, run.stdout
    ours = {
        metric["name"]: metric
        for resource in batches[-1]["resource_metrics"]
        for scope in resource["scope_metrics"]
        if scope["scope"]["name"] == "litellm_otel"
        for metric in scope["metrics"]
    }
    assert set(ours) == {DURATION, TOKENS, COST}
    chat_points = [
        p
        for p in ours[DURATION]["data"]["data_points"]
        if p["attributes"]["gen_ai.operation.name"] == "chat"
    ]
    assert [without_nested(p["attributes"]) for p in chat_points] == [
        metric_attributes(loopback.port, "chat", "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    ]
    assert chat_points[0]["count"] == 1


# -- (b), (c) OTLP over gRPC and HTTP/protobuf ---------------------------------------------

PROTOCOLS = ["grpc", "http/protobuf"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_otlp_spans(runner: AppRunner, loopback: LoopbackLLMServer, protocol: str) -> None:
    run = runner.otlp(protocol)
    run.check_succeeded()
    assert sorted(s.name for s in run.ours()) == [
        "chat gpt-4o-mini",
        "embeddings text-embedding-3-small",
    ], [(s.scope_name, s.name) for s in run.spans]

    chat = run.span("chat gpt-4o-mini")
    assert chat.kind == "CLIENT"
    assert chat.status_code == "UNSET"
    assert chat.events == []
    assert chat.scope_name == "litellm_otel"
    assert chat.resource_attributes["service.name"] == SERVICE_NAME
    assert typed(without_nested(chat.attributes)) == typed(
        expected_chat_attributes(loopback.port, chat.attributes)
    )
    assert RESPONSE_ID.match(chat.attributes["gen_ai.response.id"])
    assert isinstance(chat.attributes["litellm.response_cost"], float)
    assert chat.attributes["litellm.response_cost"] > 0
    # off by default: no message content anywhere on the span
    assert PROMPT not in repr(chat.attributes)
    assert "gen_ai.input.messages" not in chat.attributes

    embeddings = run.span("embeddings text-embedding-3-small")
    assert embeddings.kind == "CLIENT"
    assert embeddings.status_code == "UNSET"
    assert typed(embeddings.attributes) == typed(
        expected_embedding_attributes(loopback.port, embeddings.attributes)
    )
    # two separate calls outside any span of the app: two traces
    assert chat.parent_span_id == ""
    assert embeddings.parent_span_id == ""
    assert chat.trace_id != embeddings.trace_id


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_otlp_metrics(runner: AppRunner, loopback: LoopbackLLMServer, protocol: str) -> None:
    run = runner.otlp(protocol)
    run.check_succeeded()
    assert set(run.metrics) == {DURATION, TOKENS, COST}  # no stream: no chunk metrics
    assert run.units[DURATION] == "s"
    assert run.units[TOKENS] == "{token}"
    assert run.units[COST] == "{USD}"

    chat = metric_attributes(loopback.port, "chat", "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    embeddings = metric_attributes(
        loopback.port, "embeddings", "text-embedding-3-small", "text-embedding-3-small"
    )
    durations = run.metrics[DURATION]
    assert sorted((without_nested(p.attributes) for p in durations), key=repr) == sorted(
        [chat, embeddings], key=repr
    )
    assert all(p.count == 1 and p.sum is not None and p.sum > 0 for p in durations)

    tokens = {
        (p.attributes["gen_ai.operation.name"], p.attributes["gen_ai.token.type"]): p
        for p in run.metrics[TOKENS]
    }
    assert set(tokens) == {("chat", "input"), ("chat", "output"), ("embeddings", "input")}
    assert typed(without_nested(tokens["chat", "input"].attributes)) == typed(
        {**chat, "gen_ai.token.type": "input"}
    )
    assert tokens["chat", "input"].sum == 12
    assert tokens["chat", "output"].sum == 5
    assert typed(tokens["embeddings", "input"].attributes) == typed(
        {**embeddings, "gen_ai.token.type": "input"}
    )
    assert tokens["embeddings", "input"].sum == EMBEDDING_TOKENS


def test_content_capture_from_the_environment(runner: AppRunner) -> None:
    """``true`` puts content on the span only; the details log event stays off.

    One protocol is enough here: the transport cannot tell content from other strings. Logs
    are exported too, so an event emitted against the documented mode would show up.
    """
    run = runner.result(CAPTURE)
    run.check_succeeded()
    chat = run.span("chat gpt-4o-mini")
    # The exact strings a backend stores: util-genai's compact JSON, keys in its dataclasses'
    # field order, "name": null included.
    assert chat.attributes["gen_ai.input.messages"] == (
        '[{"role":"user","parts":[{"content":"' + PROMPT + '","type":"text"}],"name":null}]'
    )
    assert chat.attributes["gen_ai.output.messages"] == (
        '[{"role":"assistant","parts":[{"content":"'
        + ANSWER
        + '","type":"text"}],"finish_reason":"stop","name":null}]'
    )
    assert "gen_ai.system_instructions" not in chat.attributes  # no system message was sent
    embeddings = run.span("embeddings text-embedding-3-small")
    assert "gen_ai.input.messages" not in embeddings.attributes  # inputs are never recorded
    assert run.logs == []


# -- (d) disabled by the standard variable -------------------------------------------------


def test_disabled_instrumentations_variable(runner: AppRunner) -> None:
    """``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=litellm`` removes us and only us.

    Other installed instrumentations keep working (and may emit GenAI spans of their own,
    e.g. an OpenAI one), so the assertions are on our scope and our ``litellm.*`` names.
    """
    run = runner.result(DISABLED)
    run.check_succeeded()
    # The pipeline itself works: the httpx instrumentation still exports spans and metrics ...
    assert "POST" in {s.name for s in run.spans}, [s.name for s in run.spans]
    assert run.all_metric_names
    # ... but nothing of ours reaches it.
    assert run.ours() == []
    assert not [s for s in run.spans if any(k.startswith("litellm.") for k in s.attributes)]
    assert run.metrics == {}


# -- (e) HTTP client spans nest under ours ------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_http_client_spans_are_children(runner: AppRunner, protocol: str) -> None:
    """``opentelemetry-instrument`` also loads the httpx instrumentation installed here.

    Our span is current while LiteLLM sends the request, so the HTTP span belongs to its
    trace, below it; a backend's waterfall view depends on exactly these ids. Our span is
    the root (the app has no span of its own). Another instrumentation of the OpenAI SDK,
    if installed, may put its own span in between; without one the HTTP span is our child.
    """
    run = runner.otlp(protocol)
    run.check_succeeded()
    for name, route in (
        ("chat gpt-4o-mini", "/v1/chat/completions"),
        ("embeddings text-embedding-3-small", "/v1/embeddings"),
    ):
        ours = run.span(name)
        http = run.http_span(route)
        assert http.kind == "CLIENT"
        assert http.trace_id == ours.trace_id
        chain = run.ancestors(http)
        assert chain, f"{route}: the HTTP span has no exported parent"
        assert chain[-1] == ours, [(s.scope_name, s.name) for s in chain]
        assert ours.parent_span_id == ""
        between = chain[:-1]
        assert all(s.scope_name != SCOPE for s in between)  # never a second span of ours
        if not between:
            assert http.parent_span_id == ours.span_id
        assert http.start_time_unix_nano >= ours.start_time_unix_nano
        assert http.end_time_unix_nano <= ours.end_time_unix_nano
