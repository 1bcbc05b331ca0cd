"""request_hook, response_hook and content_filter: once per call, contained, visible in spans."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import litellm
import pytest

from tests.support.telemetry import user_messages

MODEL = "openai/gpt-4o-mini"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def test_hooks_are_called_once_per_call_with_the_span_open(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    seen: list[tuple[str, Any]] = []

    def request_hook(span: Any, params: Any) -> None:
        assert span.is_recording()
        seen.append(("request", params["model"]))
        span.set_attribute("app.tenant", "acme")

    def response_hook(span: Any, response: Any) -> None:
        assert span.is_recording()
        seen.append(("response", type(response).__name__))
        span.set_attribute("app.answer_length", len(response.choices[0].message.content))

    telemetry = instrument(request_hook=request_hook, response_hook=response_hook)
    # positional arguments reach the hook bound to their names
    litellm.completion(MODEL, user_messages(), **call_args)
    assert seen == [("request", MODEL), ("response", "ModelResponse")]
    span = telemetry.only_span()
    assert span.attributes["app.tenant"] == "acme"
    assert span.attributes["app.answer_length"] == len("Hello from loopback")


def test_response_hook_sees_the_stream_after_it_ended(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    calls: list[Any] = []
    telemetry = instrument(response_hook=lambda span, response: calls.append(response))
    stream = litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args)
    assert calls == []
    list(stream)
    assert calls == [stream]
    assert len(telemetry.finished()) == 1


def test_hook_exceptions_are_contained_and_logged_once(
    instrument: Any, call_args: dict[str, Any], caplog: Any
) -> None:
    def broken(span: Any, value: Any) -> None:
        raise ValueError("hook bug")

    telemetry = instrument(request_hook=broken, response_hook=broken)
    with caplog.at_level(logging.WARNING, logger="litellm_otel"):
        for _ in range(3):
            response = litellm.completion(model=MODEL, messages=user_messages(), **call_args)
            assert response.choices[0].message.content == "Hello from loopback"
    assert len(telemetry.finished()) == 3
    messages = [r.getMessage() for r in caplog.records if r.name == "litellm_otel"]
    assert len(messages) == 2  # one per hook, not one per call
    assert any("request_hook" in m for m in messages)
    assert any("response_hook" in m for m in messages)


def test_content_filter_redacts_what_is_exported(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    telemetry = instrument(
        capture_content=True, content_filter=lambda text: EMAIL.sub("<email>", text)
    )
    litellm.completion(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Reply to jane.doe@example.com"},
            {"role": "user", "content": "My address is bob@example.org, hi"},
        ],
        **call_args,
    )
    attributes = telemetry.only_span().attributes
    assert "example.com" not in attributes["gen_ai.input.messages"]
    assert "example.org" not in attributes["gen_ai.input.messages"]
    inputs = json.loads(attributes["gen_ai.input.messages"])
    assert inputs[1]["parts"] == [{"type": "text", "content": "My address is <email>, hi"}]
    outputs = json.loads(attributes["gen_ai.output.messages"])
    assert outputs[0]["parts"] == [{"type": "text", "content": "Hello from loopback"}]


def test_content_filter_applies_to_streamed_output_and_events(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    telemetry = instrument(
        capture_content="SPAN_AND_EVENT",
        content_filter=lambda text: text.replace("loopback", "***"),
    )
    list(litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args))
    span = telemetry.only_span()
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert message["parts"] == [{"type": "text", "content": "Hello from ***"}]
    (record,) = telemetry.logs.get_finished_logs()
    event_output = record.log_record.attributes["gen_ai.output.messages"]
    assert event_output[0]["parts"][0]["content"] == "Hello from ***"


def test_content_filter_can_drop_parts(instrument: Any, call_args: dict[str, Any]) -> None:
    telemetry = instrument(
        capture_content=True, content_filter=lambda text: None if "secret" in text else text
    )
    litellm.completion(
        model=MODEL,
        messages=[
            {"role": "user", "content": "top secret plan"},
            {"role": "user", "content": "public question"},
        ],
        **call_args,
    )
    inputs = json.loads(telemetry.only_span().attributes["gen_ai.input.messages"])
    assert [m["parts"] for m in inputs] == [[], [{"type": "text", "content": "public question"}]]


def test_a_failing_content_filter_drops_content_rather_than_leak_it(
    instrument: Any, call_args: dict[str, Any]
) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("filter bug")

    telemetry = instrument(capture_content=True, content_filter=broken)
    response = litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert response.choices[0].message.content == "Hello from loopback"
    attributes = telemetry.only_span().attributes
    assert "gen_ai.input.messages" not in attributes
    assert "gen_ai.output.messages" not in attributes
    assert attributes["gen_ai.usage.input_tokens"] == 12  # the rest is still recorded


def test_a_hook_that_is_not_callable_is_ignored(instrument: Any, call_args: dict[str, Any]) -> None:
    telemetry = instrument(request_hook="not a function")
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert len(telemetry.finished()) == 1


@pytest.mark.parametrize("capture", [False, True])
def test_content_filter_is_not_called_without_content_capture(
    instrument: Any, call_args: dict[str, Any], capture: bool
) -> None:
    calls: list[str] = []
    instrument(capture_content=capture, content_filter=lambda text: calls.append(text) or text)
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    assert bool(calls) is capture
