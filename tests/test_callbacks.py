"""Early-bound references: ``from litellm import completion`` before ``instrument()``.

The names below are bound at import time of this module, long before any test calls
``instrument()``: exactly what user code that imports LiteLLM at the top of a module does.
``instrument()`` rebinds such module globals to its wrappers; references kept elsewhere
(``HELD`` below: a dict filled at import) are reached only by the opt-in LiteLLM callback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import litellm
import pytest
import wrapt
from litellm import acompletion as early_acompletion
from litellm import completion as early_completion
from litellm import embedding as early_embedding
from opentelemetry.trace import StatusCode

from litellm_otel import LiteLLMInstrumentor
from tests.support.telemetry import Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"
# A reference no module global holds: only LiteLLM's callback system can see calls through it.
HELD = {"completion": litellm.completion, "acompletion": litellm.acompletion}


def wait_for_spans(telemetry: Telemetry, count: int, timeout: float = 3.0) -> list[Any]:
    """LiteLLM reports sync successes on its logging thread, a moment after the call returns."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spans = telemetry.finished()
        if len(spans) >= count:
            time.sleep(0.05)  # and make sure no extra span follows
            return telemetry.finished()
        time.sleep(0.01)
    return telemetry.finished()


def test_early_bound_completion_is_traced_once(
    traced: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    assert early_completion is litellm.completion  # the module global was rebound...
    assert early_completion.__wrapped__ is HELD["completion"]  # ...from the original
    response = early_completion(
        model=MODEL, messages=user_messages(), temperature=0.2, max_tokens=50, **call_args
    )
    (span,) = wait_for_spans(traced, 1)
    assert span.name == "chat gpt-4o-mini"
    attributes = span.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == server.port
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["litellm.response_cost"] > 0


def test_early_bound_call_inside_a_user_span_is_its_child(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    with traced.tracer_provider.get_tracer("app").start_as_current_span("user-work") as parent:
        early_completion(model=MODEL, messages=user_messages(), **call_args)
    spans = {s.name: s for s in wait_for_spans(traced, 2)}
    assert spans["chat gpt-4o-mini"].parent.span_id == parent.get_span_context().span_id


async def test_early_bound_acompletion_is_traced_once(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    await early_acompletion(model=MODEL, messages=user_messages(), **call_args)
    await asyncio.sleep(0.1)
    (span,) = wait_for_spans(traced, 1)
    assert span.attributes["gen_ai.usage.input_tokens"] == 12


def test_early_bound_stream(traced: Telemetry, call_args: dict[str, Any]) -> None:
    chunks = list(early_completion(model=MODEL, messages=user_messages(), stream=True, **call_args))
    (span,) = wait_for_spans(traced, 1)
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.response.id"] == chunks[0].id


def test_early_bound_error(traced: Telemetry, call_args: dict[str, Any]) -> None:
    with pytest.raises(litellm.RateLimitError):
        early_completion(model="openai/error-429", messages=user_messages(), **call_args)
    (span,) = wait_for_spans(traced, 1)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RateLimitError"


def test_early_bound_embedding(traced: Telemetry, call_args: dict[str, Any]) -> None:
    early_embedding(model="openai/text-embedding-3-small", input=["a", "b"], **call_args)
    (span,) = wait_for_spans(traced, 1)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.usage.input_tokens"] == 6


def test_wrapped_calls_are_not_traced_twice(traced: Telemetry, call_args: dict[str, Any]) -> None:
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    list(litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args))
    time.sleep(0.3)  # let LiteLLM's logging thread run the callbacks
    assert len(wait_for_spans(traced, 3, timeout=0.5)) == 2


def test_nothing_after_uninstrument(instrument: Any, call_args: dict[str, Any]) -> None:
    telemetry = instrument(early_bound_callback=True)
    LiteLLMInstrumentor().uninstrument()
    assert early_completion is HELD["completion"]  # the original is back
    early_completion(model=MODEL, messages=user_messages(), **call_args)
    HELD["completion"](model=MODEL, messages=user_messages(), **call_args)
    time.sleep(0.3)
    assert telemetry.finished() == []
    for name in ("callbacks", "success_callback", "_async_success_callback", "input_callback"):
        assert not [
            c for c in getattr(litellm, name, []) if type(c).__name__ == "EarlyBoundCallTracer"
        ], name


def test_instrument_uninstrument_instrument_no_duplicates(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    telemetry = instrument()
    LiteLLMInstrumentor().uninstrument()
    instrument()
    early_completion(model=MODEL, messages=user_messages(), **call_args)
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    time.sleep(0.3)
    assert len(wait_for_spans(telemetry, 3, timeout=0.5)) == 2


def test_held_references_are_not_traced_by_default(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    """The documented limit of the default: LiteLLM's logging is not paid for on every call."""
    HELD["completion"](model=MODEL, messages=user_messages(), **call_args)
    time.sleep(0.3)
    assert traced.finished() == []
    assert not [c for c in litellm.callbacks if type(c).__name__ == "EarlyBoundCallTracer"]


def test_held_reference_traced_by_the_opt_in_callback(
    instrument: Any, call_args: dict[str, Any], server: Any
) -> None:
    telemetry = instrument(early_bound_callback=True)
    response = HELD["completion"](
        model=MODEL, messages=user_messages(), temperature=0.2, max_tokens=50, **call_args
    )
    (span,) = wait_for_spans(telemetry, 1)
    attributes = span.attributes
    assert span.name == "chat gpt-4o-mini"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == server.port
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["litellm.response_cost"] > 0


async def test_held_async_reference_and_its_errors_with_the_callback(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    telemetry = instrument(early_bound_callback=True)
    await HELD["acompletion"](model=MODEL, messages=user_messages(), **call_args)
    with pytest.raises(litellm.RateLimitError):
        await HELD["acompletion"](model="openai/error-429", messages=user_messages(), **call_args)
    await asyncio.sleep(0.1)
    failed, ok = sorted(wait_for_spans(telemetry, 2), key=lambda s: s.name)
    assert ok.attributes["gen_ai.usage.input_tokens"] == 12
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "RateLimitError"


def test_callback_never_doubles_wrapped_or_rebound_calls(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    telemetry = instrument(early_bound_callback=True)
    early_completion(model=MODEL, messages=user_messages(), **call_args)
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    list(early_completion(model=MODEL, messages=user_messages(), stream=True, **call_args))
    time.sleep(0.3)
    assert len(wait_for_spans(telemetry, 4, timeout=0.5)) == 3


def test_instrument_survives_imports_while_it_walks_the_modules(
    monkeypatch: pytest.MonkeyPatch, instrument: Any
) -> None:
    """Other threads (LiteLLM's workers, lazy imports, finalizers run by the garbage collector)
    add to ``sys.modules`` while ``instrument()`` walks it for early-bound references."""
    import sys
    import types

    class ImportingMeanwhile(dict[str, Any]):
        def items(self) -> Any:
            for index, item in enumerate(super().items()):
                if index == 1:
                    self["tests_imported_meanwhile"] = types.ModuleType("meanwhile")
                yield item

    monkeypatch.setattr(sys, "modules", ImportingMeanwhile(sys.modules))
    telemetry = instrument()
    assert isinstance(litellm.completion, wrapt.FunctionWrapper)
    assert early_completion is litellm.completion
    assert telemetry.finished() == []


def test_a_call_reported_after_uninstrument_still_has_its_span_ended_once(
    instrument: Any, call_args: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """LiteLLM reports a sync call's success on its logging thread, after the call returned.
    Held back here until uninstrument() ran: the span ends at uninstrument(), once."""
    from litellm.litellm_core_utils.litellm_logging import Logging

    release = threading.Event()
    reported = threading.Event()
    success_handler = Logging.success_handler

    def held_back(self: Any, *args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=10)
        try:
            return success_handler(self, *args, **kwargs)
        finally:
            reported.set()

    monkeypatch.setattr(Logging, "success_handler", held_back)
    telemetry = instrument(early_bound_callback=True)
    response = HELD["completion"](model=MODEL, messages=user_messages(), **call_args)
    assert telemetry.finished() == []  # LiteLLM has not reported it yet

    LiteLLMInstrumentor().uninstrument()
    (span,) = telemetry.finished()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["litellm.stream.closed_early"] is True
    assert span.status.status_code is StatusCode.UNSET

    release.set()
    assert reported.wait(timeout=10)  # LiteLLM's report, now: it reaches no callback of ours
    assert response.choices[0].message.content
    assert len(telemetry.finished()) == 1
