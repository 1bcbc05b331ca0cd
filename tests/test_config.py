"""Option parsing: instrument() arguments over the environment, defaults, bad values."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.util.genai.types import ContentCapturingMode

from litellm_otel._config import Options, parse_capture_mode
from litellm_otel.instrumentor import _make_handler


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("", ContentCapturingMode.NO_CONTENT),
        ("false", ContentCapturingMode.NO_CONTENT),
        ("NO_CONTENT", ContentCapturingMode.NO_CONTENT),
        ("true", ContentCapturingMode.SPAN_ONLY),
        ("True", ContentCapturingMode.SPAN_ONLY),
        ("SPAN_ONLY", ContentCapturingMode.SPAN_ONLY),
        ("event_only", ContentCapturingMode.EVENT_ONLY),
        ("SPAN_AND_EVENT", ContentCapturingMode.SPAN_AND_EVENT),
        (True, ContentCapturingMode.SPAN_ONLY),
        (False, ContentCapturingMode.NO_CONTENT),
    ],
)
def test_capture_modes(value: Any, mode: ContentCapturingMode) -> None:
    assert parse_capture_mode(value, source="test") is mode


def test_invalid_capture_mode_warns_and_captures_nothing(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING):
        assert parse_capture_mode("sometimes", source="X") is ContentCapturingMode.NO_CONTENT
    assert "sometimes" in caplog.text


def test_options_default_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    options = Options.from_kwargs({})
    assert options.capture_mode is ContentCapturingMode.NO_CONTENT
    assert options.request_stream_usage is False


def test_stream_usage_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_REQUEST_STREAM_USAGE", "true")
    assert Options.from_kwargs({}).request_stream_usage is True
    assert Options.from_kwargs({"request_stream_usage": False}).request_stream_usage is False


@pytest.mark.parametrize(
    ("mode", "captures"),
    [(ContentCapturingMode.SPAN_ONLY, True), (ContentCapturingMode.NO_CONTENT, False)],
)
def test_the_handler_captures_what_the_options_say(
    monkeypatch: pytest.MonkeyPatch, mode: ContentCapturingMode, captures: bool
) -> None:
    """instrument(capture_content=...) wins over the environment util-genai reads."""
    monkeypatch.setenv(
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "NO_CONTENT" if captures else "SPAN_ONLY",
    )
    handler = _make_handler(Options(capture_mode=mode), {})
    assert handler.should_capture_content() is captures
    invocation = handler.inference("openai")
    invocation.stop()  # it attached itself: left open, it would suppress every later span
    assert invocation.should_capture_content is captures


def test_true_in_the_environment_does_not_log_a_misleading_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    with caplog.at_level(logging.WARNING):
        _make_handler(Options.from_kwargs({}), {})
    assert "not a valid option" not in caplog.text
