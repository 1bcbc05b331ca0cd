"""instrument / uninstrument / instrument twice / entry point."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import logging
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import litellm
import pytest
import wrapt
from litellm import completion as early_completion

from litellm_otel import LiteLLMInstrumentor, _callbacks
from litellm_otel._operations import ENTRY_POINTS as WRAPPED_FUNCTIONS
from litellm_otel._operations import module_of
from tests.support.telemetry import Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"


def test_uninstrument_restores_originals_and_emits_nothing(instrument: Any) -> None:
    originals = {
        name: getattr(litellm, name) for name in WRAPPED_FUNCTIONS if hasattr(litellm, name)
    }
    telemetry = instrument()
    for name in originals:
        assert isinstance(getattr(litellm, name), wrapt.FunctionWrapper), name
    LiteLLMInstrumentor().uninstrument()
    for name, original in originals.items():
        assert getattr(litellm, name) is original, name
    litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x")
    litellm.embedding(model="openai/text-embedding-3-small", input=["a"], mock_response=[0.1])
    assert telemetry.finished() == []
    assert telemetry.metric_points("gen_ai.client.operation.duration") == []


def test_instrument_twice_emits_one_span(instrument: Any) -> None:
    telemetry = instrument()
    instrument()
    litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x")
    assert len(telemetry.finished()) == 1


def test_instrument_uninstrument_instrument_again(instrument: Any) -> None:
    telemetry = instrument()
    LiteLLMInstrumentor().uninstrument()
    instrument()
    litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x")
    assert len(telemetry.finished()) == 1


def test_entry_point_is_registered() -> None:
    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "litellm"]
    assert entry.value == "litellm_otel:LiteLLMInstrumentor"
    assert entry.load() is LiteLLMInstrumentor


def test_instrumentation_dependencies_name_litellm() -> None:
    (requirement,) = LiteLLMInstrumentor().instrumentation_dependencies()
    assert requirement.startswith("litellm >= ")


def test_global_providers_are_used_when_none_given(telemetry: Telemetry) -> None:
    from opentelemetry import metrics, trace

    trace_before = trace._TRACER_PROVIDER  # type: ignore[attr-defined]  # None when unset
    instrumentor = LiteLLMInstrumentor()
    try:
        trace._TRACER_PROVIDER = telemetry.tracer_provider  # type: ignore[attr-defined]
        metrics._internal._METER_PROVIDER = telemetry.meter_provider  # type: ignore[attr-defined]
        instrumentor.instrument()
        litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x")
    finally:
        instrumentor.uninstrument()
        trace._TRACER_PROVIDER = trace_before  # type: ignore[attr-defined]
        metrics._internal._METER_PROVIDER = None  # type: ignore[attr-defined]
    assert len(telemetry.finished()) == 1
    assert len(telemetry.metric_points("gen_ai.client.operation.duration")) == 1


def test_no_sdk_configured_means_no_work(monkeypatch: Any) -> None:
    """With only the API's placeholder providers, the wrappers do nothing but call LiteLLM."""
    from litellm_otel import _recorder

    started: list[Any] = []
    monkeypatch.setattr(_recorder.CallRecorder, "start", lambda *a, **k: started.append(a))
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument()  # no providers: the globals, unset in this test process
    try:
        response = litellm.completion(
            model="openai/gpt-4o-mini", messages=user_messages(), mock_response="x"
        )
    finally:
        instrumentor.uninstrument()
    assert response.choices[0].message.content == "x"
    assert started == []


def run_script(source: str, **environment: str) -> str:
    """``source`` in a fresh interpreter (its global providers unset): its stdout."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **environment}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


CALL = """
import litellm
def call():
    litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                       mock_response="x")
"""


@pytest.mark.parametrize("configured", ["tracer", "meter", "logger"])
def test_a_provider_set_after_instrument_ends_the_idle_state(configured: str) -> None:
    """Any one global provider set after ``instrument()`` (each can record what we emit) is
    used from the next call on; the calls before it were idle."""
    out = run_script(
        CALL
        + f"""
from opentelemetry import trace, metrics, _logs
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk._logs import LoggerProvider
from litellm_otel import LiteLLMInstrumentor
from litellm_otel._recorder import CallRecorder

started = []
original = CallRecorder.start
def start(self, *args, **kwargs):
    started.append(1)
    return original(self, *args, **kwargs)
CallRecorder.start = start
LiteLLMInstrumentor().instrument()
call()
print("idle calls started:", len(started))
spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
if {configured!r} == "tracer":
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
elif {configured!r} == "meter":
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
else:
    _logs.set_logger_provider(LoggerProvider())
call()
print("started after:", len(started))
if {configured!r} == "tracer":
    print("spans:", [span.name for span in spans.get_finished_spans()])
if {configured!r} == "meter":
    data = reader.get_metrics_data()
    names = sorted(m.name for rm in data.resource_metrics for sm in rm.scope_metrics
                   for m in sm.metrics)
    print("metrics:", names)
"""
    )
    assert "idle calls started: 0" in out
    assert "started after: 1" in out
    if configured == "tracer":
        assert "spans: ['chat gpt-4o-mini']" in out
    if configured == "meter":
        assert "'gen_ai.client.operation.duration'" in out


def test_a_tracer_provider_named_in_the_environment_is_used() -> None:
    """``OTEL_PYTHON_TRACER_PROVIDER`` (the API loads the provider it names on first use, which
    ``instrument()`` makes): traced although nothing called ``set_tracer_provider``."""
    out = run_script(
        CALL
        + """
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from litellm_otel import LiteLLMInstrumentor

LiteLLMInstrumentor().instrument()
spans = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))
call()
print("spans:", [span.name for span in spans.get_finished_spans()])
""",
        OTEL_PYTHON_TRACER_PROVIDER="sdk_tracer_provider",
    )
    assert "spans: ['chat gpt-4o-mini']" in out


# --- instrument() imports nothing of the user's, never raises, and is all or nothing ----------


def lazily_imported(tmp_path: Path, name: str, source: str) -> types.ModuleType:
    """A module registered through ``importlib.util.LazyLoader``: it runs on first attribute
    access, which is exactly what instrument() must not cause."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def test_instrument_runs_no_lazily_imported_module(
    instrument: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    ran = tmp_path / "ran"
    for name in ("lazy_user_module_a", "lazy_user_module_b"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    fine = lazily_imported(tmp_path, "lazy_user_module_a", f"open({str(ran)!r}, 'w').close()\n")
    broken = lazily_imported(tmp_path, "lazy_user_module_b", "raise RuntimeError('import bug')\n")
    try:
        with caplog.at_level(logging.WARNING, logger="litellm_otel"):
            telemetry = instrument()
        assert not ran.exists()  # instrument() did not execute the lazy module
        assert type(fine) is not types.ModuleType  # still waiting for its first use
        assert type(broken) is not types.ModuleType
        assert not [r for r in caplog.records if r.name.startswith("litellm_otel")]
        litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
        assert len(telemetry.finished()) == 1
    finally:
        del sys.modules["lazy_user_module_a"], sys.modules["lazy_user_module_b"]


class Injected(Exception):
    """A fault injected into one step of instrument()."""


def fail_after(calls: int, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, raising on its call number ``calls + 1`` (after doing that call's work)."""
    count = itertools.count()

    def faulty(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        if next(count) >= calls:
            raise Injected
        return result

    return faulty


def raising(*args: Any, **kwargs: Any) -> Any:
    raise Injected


class BrokenProxyIntegration:
    """The LiteLLM Proxy integration, as instrument() finds it inside the Proxy, failing."""

    registered = False

    @staticmethod
    def request_hook(span: Any, params: Any) -> None:
        pass

    @staticmethod
    def metric_identity(fields: Any, limit: int) -> Any:
        from litellm_otel.proxy.identity import MetricIdentity

        return MetricIdentity(fields, limit)

    def register(self, litellm_module: Any, tracer_provider: Any) -> None:
        self.registered = True
        raise Injected

    def unregister(self, litellm_module: Any) -> None:
        self.registered = False


def inject_fault(step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from litellm_otel import _callbacks, _entry_points, _rebind, instrumentor
    from litellm_otel._router import RouterInstrumentation

    if step == "options":
        monkeypatch.setattr(instrumentor.Options, "from_kwargs", raising)
    elif step == "handler":
        monkeypatch.setattr(instrumentor, "_make_handler", raising)
    elif step == "wrapping the fifth function":
        monkeypatch.setattr(_entry_points, "_place", fail_after(4, _entry_points._place))
    elif step == "rebinding":  # right after this module's globals were rebound
        namespaces = _rebind._namespaces
        mine = vars(sys.modules[__name__])

        def failing_namespaces() -> Iterator[dict[str, Any]]:
            for namespace in namespaces():
                yield namespace
                if namespace is mine:
                    REBOUND_BEFORE_THE_FAULT.append(
                        isinstance(mine["early_completion"], wrapt.FunctionWrapper)
                    )
                    raise Injected

        monkeypatch.setattr(_rebind, "_namespaces", failing_namespaces)
    elif step == "router":
        monkeypatch.setattr(
            RouterInstrumentation, "install", fail_after(0, RouterInstrumentation.install)
        )
    elif step == "callback":
        monkeypatch.setattr(_callbacks, "register", fail_after(0, _callbacks.register))
    elif step == "proxy":
        monkeypatch.setattr(instrumentor, "_proxy_integration", BrokenProxyIntegration)
    else:
        raise AssertionError(step)


REBOUND_BEFORE_THE_FAULT: list[bool] = []
INSTALL_STEPS = (
    "options",
    "handler",
    "wrapping the fifth function",
    "rebinding",
    "router",
    "callback",
    "proxy",
)


def litellm_state() -> dict[str, Any]:
    """Everything instrument() changes in LiteLLM, as identities."""
    return {
        "functions": {name: getattr(litellm, name, None) for name in WRAPPED_FUNCTIONS},
        "router": dict(vars(litellm.Router)),
        "callbacks": {
            name: list(getattr(litellm, name, None) or ()) for name in _callbacks._CALLBACK_LISTS
        },
        "early bound": early_completion,
    }


@pytest.mark.parametrize("step", INSTALL_STEPS)
def test_a_failing_step_undoes_everything(
    instrument: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any, step: str
) -> None:
    before = litellm_state()
    assert before["early bound"] is before["functions"]["completion"]
    inject_fault(step, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        telemetry = instrument(early_bound_callback=True)  # raises nothing

    assert litellm_state() == before
    if step == "rebinding":
        assert REBOUND_BEFORE_THE_FAULT == [True]
    assert LiteLLMInstrumentor().is_instrumented_by_opentelemetry is False
    warnings = [r.getMessage() for r in caplog.records if r.name == "litellm_otel"]
    assert len(warnings) == 1
    assert "nothing was instrumented" in warnings[0]
    litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    assert telemetry.finished() == []

    monkeypatch.undo()  # the fault is gone: instrument() may try again, and now succeeds
    instrument()
    litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    assert len(telemetry.finished()) == 1


# --- early-bound rebinding reaches every user module, however it is named ---------------------


@pytest.mark.parametrize("name", ["litellm_client", "opentelemetry_glue", "wrapt_helpers"])
def test_user_modules_named_like_a_skipped_package_are_rebound(
    instrument: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    (tmp_path / f"{name}.py").write_text(
        "from litellm import completion\n\n\n"
        "def ask():\n"
        f"    return completion(model={MODEL!r}, messages=[{{'role': 'user', 'content': 'hi'}}],"
        " mock_response='x')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module(name)
    try:
        telemetry = instrument()
        module.ask()
        assert len(telemetry.finished()) == 1
        assert module.completion is litellm.completion
    finally:
        del sys.modules[name]


def test_litellms_own_modules_are_not_rebound(instrument: Any) -> None:
    """Their internal references are LiteLLM's business (the call guard keeps one span)."""
    instrument()
    wrappers = {id(getattr(litellm, name)) for name in WRAPPED_FUNCTIONS if hasattr(litellm, name)}
    submodules = [m for name, m in list(sys.modules.items()) if name.startswith("litellm.")]
    assert len(submodules) > 100
    # the places ENTRY_POINTS names (an entry point of a submodule, an alias) are wrapped there
    declared = {
        (module_of(path), path.rpartition(".")[2])
        for entry in WRAPPED_FUNCTIONS.values()
        for path in (entry.name, *entry.aliases)
    }
    rebound = [
        (module.__name__, name)
        for module in submodules
        for name, value in list(vars(module).items())
        if id(value) in wrappers and (module.__name__, name) not in declared
    ]
    assert rebound == []
