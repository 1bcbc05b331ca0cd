"""The latest conventions on spans and events: finish reasons with ``error``, the exception
log event; and that the default mode keeps neither."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import litellm
import openai
import pytest
from opentelemetry._logs import SeverityNumber

from litellm_otel._latest import LatestConventions
from tests.support.telemetry import API_KEY, PROMPT, Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"
LATEST = "gen_ai_latest_experimental"


@pytest.fixture(params=["default", "latest"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "latest":
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", LATEST)
    return str(request.param)


def reasons(telemetry: Telemetry) -> tuple[str, ...] | None:
    return telemetry.only_span().attributes.get("gen_ai.response.finish_reasons")  # type: ignore[return-value]


def test_a_successful_call_keeps_its_reasons(
    instrument: Any, mode: str, call_args: dict[str, Any]
) -> None:
    telemetry = instrument()
    litellm.completion(model=MODEL, messages=user_messages(), n=2, **call_args)
    assert reasons(telemetry) == ("stop", "length")
    assert telemetry.logs.get_finished_logs() == ()


def test_a_failed_call_has_error_for_each_requested_choice(
    instrument: Any, mode: str, call_args: dict[str, Any]
) -> None:
    telemetry = instrument()
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/error-429", messages=user_messages(), n=2, **call_args)
    assert reasons(telemetry) == (("error", "error") if mode == "latest" else None)


def test_a_stream_the_caller_stopped_reading(
    instrument: Any, mode: str, call_args: dict[str, Any]
) -> None:
    telemetry = instrument()
    stream = litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    for _ in stream:
        break  # the caller stops reading and drops the stream (not every release has close())
    del stream
    gc.collect()
    span = telemetry.only_span()
    assert span.attributes["litellm.stream.closed_early"] is True
    assert "error.type" not in span.attributes
    assert reasons(telemetry) == (("error",) if mode == "latest" else None)


def test_a_stream_that_broke(instrument: Any, mode: str, call_args: dict[str, Any]) -> None:
    telemetry = instrument()
    stream = litellm.completion(
        model="openai/drop-stream", messages=user_messages(), stream=True, **call_args
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    assert reasons(telemetry) == (("error",) if mode == "latest" else None)


def test_exception_event_of_a_failed_inference_call(
    instrument: Any, mode: str, call_args: dict[str, Any]
) -> None:
    telemetry = instrument()
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/error-429", messages=user_messages(), **call_args)
    span = telemetry.only_span()
    assert [event.name for event in span.events] == ["exception"]  # both modes
    logs = [log.log_record for log in telemetry.logs.get_finished_logs()]
    if mode == "default":
        assert logs == []
        return
    (record,) = logs
    assert record.event_name == "gen_ai.client.inference.exception"
    assert record.severity_number is SeverityNumber.WARN
    assert record.trace_id == span.context.trace_id
    assert record.span_id == span.context.span_id
    # The span event's texts, scrubbed once for both.
    (event,) = span.events
    attributes = dict(record.attributes or {})
    assert attributes == {
        "exception.type": "litellm.exceptions.RateLimitError",
        "exception.message": event.attributes["exception.message"],
        "exception.stacktrace": event.attributes["exception.stacktrace"],
    }
    assert "loopback 429" in attributes["exception.message"]
    assert "RateLimitError" in attributes["exception.stacktrace"]


@pytest.mark.parametrize("sampled", [True, False])
@pytest.mark.parametrize("shape", ["leak-vllm", "leak-headers", "leak-echo"])
def test_exception_event_texts_are_scrubbed(
    instrument: Any,
    monkeypatch: pytest.MonkeyPatch,
    call_args: dict[str, Any],
    shape: str,
    sampled: bool,
) -> None:
    """The provider's error quotes the key, the auth headers or the request: the log event's
    texts pass the scrubber, also when the span is not sampled (the log record is emitted
    whatever the sampler said)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", LATEST)
    provider = TracerProvider(sampler=ALWAYS_ON if sampled else ALWAYS_OFF)
    telemetry = instrument(tracer_provider=provider)
    with pytest.raises(openai.APIError):
        litellm.completion(
            model=MODEL,
            messages=user_messages(),
            extra_headers={"x-loopback-mode": shape},
            **call_args,
        )
    (log,) = telemetry.logs.get_finished_logs()
    attributes = dict(log.log_record.attributes or {})
    assert set(attributes) == {"exception.type", "exception.message", "exception.stacktrace"}
    text = repr(attributes)
    assert API_KEY not in text
    assert API_KEY[-12:] not in text
    assert PROMPT not in text
    assert "[REDACTED]" in text


def test_exception_event_of_another_operation(
    instrument: Any, monkeypatch: pytest.MonkeyPatch, call_args: dict[str, Any]
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", LATEST)
    telemetry = instrument()
    with pytest.raises(litellm.AuthenticationError):
        litellm.embedding(model="openai/error-401", input=["a"], **call_args)
    (log,) = telemetry.logs.get_finished_logs()
    assert log.log_record.event_name == "gen_ai.client.operation.exception"
    assert telemetry.only_span().attributes.get("gen_ai.response.finish_reasons") is None


@dataclass
class FakeInvocation:
    operation: str = "chat"
    request_choice_count: int | None = None
    finish_reasons: list[str] | None = None
    metric_attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metric_attributes["gen_ai.operation.name"] = self.operation


@pytest.mark.parametrize(
    ("n", "set_reasons", "by_index", "expected"),
    [
        (None, None, None, ["error"]),
        (None, ["stop"], None, ["stop"]),
        (3, ["stop"], None, ["stop", "error", "error"]),
        (2, None, {1: "length"}, ["error", "length"]),
        (None, ["length", "stop"], {1: "stop", 0: "length"}, ["length", "stop"]),
        (None, None, {2: "stop"}, ["error", "error", "stop"]),
        (4, None, {0: "stop", 2: "stop"}, ["stop", "error", "stop", "error"]),
    ],
)
def test_finish_reasons_are_positional(
    n: int | None,
    set_reasons: list[str] | None,
    by_index: dict[int, str] | None,
    expected: list[str],
) -> None:
    invocation = FakeInvocation(request_choice_count=n, finish_reasons=set_reasons)
    LatestConventions(logger=None).complete_finish_reasons(invocation, by_index)  # type: ignore[arg-type]
    assert invocation.finish_reasons == expected


@pytest.mark.parametrize("operation", ["embeddings", "image_generation", "rerank"])
def test_finish_reasons_only_for_inference(operation: str) -> None:
    invocation = FakeInvocation(operation)
    LatestConventions(logger=None).complete_finish_reasons(invocation, None)  # type: ignore[arg-type]
    assert invocation.finish_reasons is None
