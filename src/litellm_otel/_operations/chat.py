"""``completion`` / ``acompletion`` (and ``text_completion``): arguments, responses, stream chunks.

Text completions share everything with chat but the shape of a choice (``text`` instead of
``message`` / ``delta``) and of the input (a ``prompt``), so both live here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.types import InputMessage, TextPart

from litellm_otel import _messages
from litellm_otel._access import field, integer, items, number
from litellm_otel._operations.facts import (
    apply_identity,
    apply_usage,
    record_litellm_facts,
)

_JSON_FORMATS = frozenset({"json_object", "json_schema"})


def output_type(response_format: Any) -> str | None:
    """``json`` for JSON modes and pydantic schemas, ``text`` for an explicit text format."""
    if response_format is None:
        return None
    if isinstance(response_format, type):  # a pydantic model class: structured output
        return "json"
    kind = field(response_format, "type")
    if kind in _JSON_FORMATS:
        return "json"
    if kind == "text":
        return "text"
    return None


def stop_sequences(stop: Any) -> list[str] | None:
    if isinstance(stop, str):
        return [stop]
    sequence = items(stop)
    if sequence is not None:
        values = [item for item in sequence if isinstance(item, str)]
        return values or None
    return None


# Sampling argument → (invocation property, converter). Walked over the arguments the caller
# passed (a handful) rather than probing every known name per call.
_SAMPLING: Final[dict[str, tuple[str, Callable[[Any], Any]]]] = {
    "temperature": ("temperature", number),
    "top_p": ("top_p", number),
    "top_k": ("top_k", integer),
    "frequency_penalty": ("frequency_penalty", number),
    "presence_penalty": ("presence_penalty", number),
    "seed": ("seed", integer),
    "max_tokens": ("max_tokens", integer),
    "stop": ("stop_sequences", stop_sequences),
}


#: The arguments :func:`apply_sampling` looks for among those the caller passed.
SAMPLING_PARAMETERS: Final = tuple(_SAMPLING)


def apply_sampling(invocation: InferenceInvocation, params: Mapping[str, Any]) -> None:
    """The sampling parameters shared by chat, text completion and Responses."""
    sampling = _SAMPLING
    for name, value in params.items():
        known = sampling.get(name)
        if known is not None and value is not None:
            converted = known[1](value)
            if converted is not None:
                setattr(invocation, known[0], converted)
    if invocation.max_tokens is None:
        max_tokens = integer(params.get("max_completion_tokens"))
        if max_tokens is not None:
            invocation.max_tokens = max_tokens
    choices = integer(params.get("n"))
    if choices is not None and choices != 1:
        invocation.request_choice_count = choices
    if params.get("stream") is True:
        invocation.request_stream = True


def apply_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    """Set what the caller actually passed; a parameter left out stays out (no defaults)."""
    apply_sampling(invocation, params)
    reasoning = params.get("reasoning_effort")
    if isinstance(reasoning, str):
        invocation.reasoning_level = reasoning
    invocation.output_type = output_type(params.get("response_format"))
    if capture_content:
        invocation.input_messages = _messages.input_messages(params.get("messages"))
        tools = params.get("tools")
        if tools:
            invocation.tool_definitions = _messages.tool_definitions(tools)


def apply_text_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    apply_sampling(invocation, params)
    if capture_content:
        prompt = params.get("prompt")
        prompts = items(prompt) or [prompt]
        invocation.input_messages = [
            InputMessage(role="user", parts=[TextPart(content=text)])
            for text in prompts
            if isinstance(text, str)
        ]


def _apply_common_response(invocation: InferenceInvocation, response: Any) -> list[Any]:
    apply_identity(invocation, response)
    choices = list(field(response, "choices") or ())
    reasons = [
        reason for choice in choices if isinstance(reason := field(choice, "finish_reason"), str)
    ]
    if reasons:
        invocation.finish_reasons = reasons
    apply_usage(invocation, field(response, "usage"))
    record_litellm_facts(invocation.attributes, response)
    return choices


def apply_response(invocation: InferenceInvocation, response: Any, capture_content: bool) -> None:
    """Fields of a complete (non-streamed) ``ModelResponse``."""
    choices = _apply_common_response(invocation, response)
    if capture_content:
        invocation.output_messages = [
            _messages.output_message(field(choice, "message"), field(choice, "finish_reason"))
            for choice in choices
        ]


def apply_text_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    """Fields of a ``TextCompletionResponse``: choices carry ``text``."""
    choices = _apply_common_response(invocation, response)
    if capture_content:
        invocation.output_messages = [
            _messages.output_message(
                {"role": "assistant", "content": field(choice, "text")},
                field(choice, "finish_reason"),
            )
            for choice in choices
        ]
