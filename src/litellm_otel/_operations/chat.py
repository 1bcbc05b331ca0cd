"""``completion`` / ``acompletion``: request arguments and responses → inference fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.genai.invocation import InferenceInvocation

from litellm_otel import _messages
from litellm_otel._operations.common import integer, number, record_litellm_facts, usage_counts

_JSON_FORMATS = frozenset({"json_object", "json_schema"})


def output_type(response_format: Any) -> str | None:
    """``json`` for JSON modes and pydantic schemas, ``text`` for an explicit text format."""
    if response_format is None:
        return None
    if isinstance(response_format, type):  # a pydantic model class: structured output
        return "json"
    kind = _messages.field(response_format, "type")
    if kind in _JSON_FORMATS:
        return "json"
    if kind == "text":
        return "text"
    return None


def stop_sequences(stop: Any) -> list[str] | None:
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, (list, tuple)):
        values = [item for item in stop if isinstance(item, str)]
        return values or None
    return None


def apply_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    """Set what the caller actually passed; a parameter left out stays out (no defaults)."""
    get = params.get
    invocation.temperature = number(get("temperature"))
    invocation.top_p = number(get("top_p"))
    invocation.top_k = integer(get("top_k"))
    invocation.frequency_penalty = number(get("frequency_penalty"))
    invocation.presence_penalty = number(get("presence_penalty"))
    invocation.seed = integer(get("seed"))
    max_tokens = integer(get("max_tokens"))
    invocation.max_tokens = (
        max_tokens if max_tokens is not None else integer(get("max_completion_tokens"))
    )
    invocation.stop_sequences = stop_sequences(get("stop"))
    choices = integer(get("n"))
    if choices is not None and choices != 1:
        invocation.request_choice_count = choices
    reasoning = get("reasoning_effort")
    if isinstance(reasoning, str):
        invocation.reasoning_level = reasoning
    invocation.output_type = output_type(get("response_format"))
    if get("stream") is True:
        invocation.request_stream = True
    if capture_content:
        invocation.input_messages = _messages.input_messages(get("messages"))
        tools = get("tools")
        if tools:
            invocation.tool_definitions = _messages.tool_definitions(tools)


def apply_usage(invocation: InferenceInvocation, usage: Any) -> None:
    counts = usage_counts(usage)
    if not counts:
        return
    invocation.input_tokens = counts.get("input")
    invocation.output_tokens = counts.get("output")
    invocation.cache_read_input_tokens = counts.get("cache_read")
    invocation.cache_write_input_tokens = counts.get("cache_write")
    invocation.thinking_tokens = counts.get("reasoning")


def apply_response(invocation: InferenceInvocation, response: Any, capture_content: bool) -> None:
    """Fields of a complete (non-streamed) ``ModelResponse``."""
    response_id = getattr(response, "id", None)
    if isinstance(response_id, str):
        invocation.response_id = response_id
    model = getattr(response, "model", None)
    if isinstance(model, str):
        invocation.response_model_name = model
    choices = getattr(response, "choices", None) or ()
    reasons: list[str] = []
    for choice in choices:
        reason = getattr(choice, "finish_reason", None)
        if isinstance(reason, str):
            reasons.append(reason)
    if reasons:
        invocation.finish_reasons = reasons
    apply_usage(invocation, getattr(response, "usage", None))
    record_litellm_facts(invocation.attributes, response)
    if capture_content:
        invocation.output_messages = [
            _messages.output_message(
                getattr(choice, "message", None), getattr(choice, "finish_reason", None)
            )
            for choice in choices
        ]
