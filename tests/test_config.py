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


@pytest.mark.parametrize(
    ("opt_in", "latest"),
    [
        (None, False),
        ("", False),
        ("gen_ai_latest_experimental", True),
        ("http,gen_ai_latest_experimental", True),
        ("  gen_ai_latest_experimental  ,database", True),
        ("http, database", False),
        ("Gen_AI_Latest_Experimental", False),
        ("gen_ai_latest_experimental_x", False),
        ("http/dup,gen_ai", False),
    ],
)
def test_latest_conventions_opt_in(
    monkeypatch: pytest.MonkeyPatch, opt_in: str | None, latest: bool
) -> None:
    if opt_in is None:
        monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    else:
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", opt_in)
    assert Options.from_kwargs({}).latest_conventions is latest


def test_proxy_metric_identity_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY", raising=False)
    monkeypatch.delenv("OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY_LIMIT", raising=False)
    options = Options.from_kwargs({})
    assert options.proxy_metric_identity == ("key_alias", "team_id", "team_alias", "user_id")
    assert options.proxy_metric_identity_limit == 100


@pytest.mark.parametrize(
    ("env", "argument", "fields"),
    [
        ("key_alias, TEAM_ID", None, ("key_alias", "team_id")),
        ("", None, ()),
        ("none", None, ()),
        ("key_alias,end_user_id,model_group", None, ("key_alias", "end_user_id", "model_group")),
        ("key_alias", ["user_id"], ("user_id",)),
        (None, "team_alias", ("team_alias",)),
        (None, (), ()),
    ],
)
def test_proxy_metric_identity_list(
    monkeypatch: pytest.MonkeyPatch, env: str | None, argument: Any, fields: tuple[str, ...]
) -> None:
    if env is None:
        monkeypatch.delenv("OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY", raising=False)
    else:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY", env)
    kwargs = {} if argument is None else {"proxy_metric_identity": argument}
    assert Options.from_kwargs(kwargs).proxy_metric_identity == fields


@pytest.mark.parametrize("value", ["key_alias,api_key", "user_api_key_hash", 42])
def test_unknown_proxy_metric_identity_warns_and_keeps_the_default(caplog: Any, value: Any) -> None:
    with caplog.at_level(logging.WARNING):
        options = Options.from_kwargs({"proxy_metric_identity": value})
    assert options.proxy_metric_identity == ("key_alias", "team_id", "team_alias", "user_id")
    assert "proxy_metric_identity" in caplog.text


def test_proxy_metric_identity_limit(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY_LIMIT", "7")
    assert Options.from_kwargs({}).proxy_metric_identity_limit == 7
    assert Options.from_kwargs({"proxy_metric_identity_limit": 2}).proxy_metric_identity_limit == 2
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY_LIMIT", "0")
    with caplog.at_level(logging.WARNING):
        assert Options.from_kwargs({}).proxy_metric_identity_limit == 100
    assert "positive integer" in caplog.text
