"""util-genai's unpublished names we use (all in ``litellm_otel._compat``), checked against the
installed release: a rename upstream fails here, by name, instead of in a user's call."""

from __future__ import annotations

import inspect
import logging

import pytest
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.types import ContentCapturingMode, InputMessage, TextPart

from litellm_otel import _compat
from tests.support.telemetry import Telemetry


def test_the_handler_fields_for_the_capture_mode_exist() -> None:
    handler = TelemetryHandler()
    assert vars(handler)["_content_capturing_mode"] is ContentCapturingMode.NO_CONTENT
    assert vars(handler)["_capture_content"] is False


@pytest.mark.parametrize(
    ("mode", "on_span"),
    [
        (ContentCapturingMode.SPAN_ONLY, True),
        (ContentCapturingMode.SPAN_AND_EVENT, True),
        (ContentCapturingMode.EVENT_ONLY, False),
        (ContentCapturingMode.NO_CONTENT, False),
    ],
)
def test_setting_the_capture_mode_reaches_invocations(
    telemetry: Telemetry, mode: ContentCapturingMode, on_span: bool
) -> None:
    handler = TelemetryHandler(
        tracer_provider=telemetry.tracer_provider, logger_provider=telemetry.logger_provider
    )
    _compat.set_content_capturing_mode(handler, mode)
    assert handler.should_capture_content() is (mode is not ContentCapturingMode.NO_CONTENT)
    invocation = handler.inference("openai", request_model="m")
    invocation.input_messages = [InputMessage(role="user", parts=[TextPart(content="hi")])]
    invocation.stop()
    (span,) = telemetry.finished()
    assert ("gen_ai.input.messages" in (span.attributes or {})) is on_span


def test_a_chunk_recorded_late_keeps_the_time_it_arrived(telemetry: Telemetry) -> None:
    handler = TelemetryHandler(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    invocation = handler.inference("openai", request_model="m")
    assert list(inspect.signature(invocation._on_stream_chunk).parameters) == ["chunk_at"]
    started = invocation._monotonic_start_s
    _compat.record_chunk_at(invocation, started + 0.25)
    _compat.record_chunk_at(invocation, started + 0.75)
    invocation.stop()
    (span,) = telemetry.finished()
    assert span.attributes["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.25)
    (first,) = telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk")
    (gap,) = telemetry.metric_points("gen_ai.client.operation.time_per_output_chunk")
    assert first.sum == pytest.approx(0.25)
    assert gap.sum == pytest.approx(0.5)


def test_chunks_recorded_in_one_pass_are_the_gaps_record_stream_chunk_records(
    telemetry: Telemetry,
) -> None:
    handler = TelemetryHandler(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    invocation = handler.inference("openai", request_model="m")
    started = invocation._monotonic_start_s
    _compat.record_output_chunks(invocation, [started + 1.0])  # no first chunk yet: nothing
    assert telemetry.metric_points("gen_ai.client.operation.time_per_output_chunk") == []
    _compat.record_chunk_at(invocation, started + 0.25)
    _compat.record_output_chunks(invocation, [started + 0.5, started + 1.25, started + 1.0])
    _compat.record_output_chunks(invocation, [started + 1.5])
    invocation.stop()
    (gap,) = telemetry.metric_points("gen_ai.client.operation.time_per_output_chunk")
    assert (gap.count, gap.sum, gap.min, gap.max) == pytest.approx((4, 1.5, 0.0, 0.75))
    (first,) = telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1


def test_a_suppressed_invocation_records_no_chunk_points(telemetry: Telemetry) -> None:
    handler = TelemetryHandler(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    outer = handler.inference("openai", request_model="m")
    inner = handler.inference("openai", request_model="m")
    assert inner._start_span is False
    inner.record_stream_chunk()
    _compat.record_output_chunks(inner, [inner._monotonic_start_s + 1.0])
    inner.stop()
    outer.stop()
    assert telemetry.metric_points("gen_ai.client.operation.time_per_output_chunk") == []


@pytest.mark.parametrize("kind", ["inference", "embedding"])
def test_an_unattached_invocation_leaves_the_current_context_alone(
    telemetry: Telemetry, kind: str
) -> None:
    from opentelemetry import context

    handler = TelemetryHandler(tracer_provider=telemetry.tracer_provider)
    before = context.get_current()
    invocation = getattr(handler, kind)("openai", request_model="m", **_compat.UNATTACHED)
    assert context.get_current() is before
    invocation.stop()
    assert context.get_current() is before
    assert len(telemetry.finished()) == 1


@pytest.mark.parametrize("kind", ["inference", "embedding"])
def test_unpublished_context_data_is_forgotten_and_published_data_kept(
    telemetry: Telemetry, kind: str
) -> None:
    from opentelemetry.context import get_value

    handler = TelemetryHandler(tracer_provider=telemetry.tracer_provider)
    quiet = getattr(handler, kind)("openai", request_model="m", **_compat.UNATTACHED)
    key = quiet._context_key
    assert get_value(key, quiet.context) is not None
    _compat.forget_unpublished_context_data(quiet)
    assert get_value(key, quiet.context) is None
    quiet.stop()

    outer = getattr(handler, kind)("openai", request_model="m", **_compat.UNATTACHED)
    inner = getattr(handler, kind)("openai", request_model="inner", context=outer.context)
    assert inner._start_span is False
    _compat.forget_unpublished_context_data(inner)  # an inner one publishes into the outer's
    inner.attributes["nested.attribute"] = "seen"
    inner.stop()
    _compat.forget_unpublished_context_data(outer)
    assert get_value(key, outer.context) is not None
    outer.stop()
    spans = telemetry.finished()
    assert [span.attributes.get("nested.attribute") for span in spans] == [None, "seen"]


def test_the_capture_mode_warning_we_silence_is_util_genais(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    with caplog.at_level(logging.WARNING):
        TelemetryHandler()
    (record,) = [r for r in caplog.records if "is not a valid option" in r.getMessage()]
    assert record.name == _compat._UTILS_LOGGER
    caplog.clear()
    with caplog.at_level(logging.WARNING), _compat.quiet_capture_mode_warning():
        TelemetryHandler()
    assert not [r for r in caplog.records if "is not a valid option" in r.getMessage()]


def test_the_api_globals_for_the_idle_check_exist() -> None:
    """The fast idle check reads the API's provider globals; on this release it is the one in
    use, and it answers as the public getters do (this test process sets no global)."""
    from opentelemetry._logs import get_logger_provider
    from opentelemetry.metrics import get_meter_provider
    from opentelemetry.trace import ProxyTracerProvider, get_tracer_provider

    assert _compat.no_global_provider_set is _compat._no_global_provider_set  # pyright: ignore[reportPrivateUsage]
    assert _compat.no_global_provider_set() is True
    assert isinstance(get_tracer_provider(), ProxyTracerProvider)
    assert type(get_meter_provider()).__name__ == "_ProxyMeterProvider"
    assert type(get_logger_provider()).__name__ == "ProxyLoggerProvider"
    assert _compat._only_placeholder_providers() is True  # pyright: ignore[reportPrivateUsage]
