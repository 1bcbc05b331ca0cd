"""Gemini's ``generateContent`` through LiteLLM (``litellm.google_genai.generate_content``,
``agenerate_content`` and their ``_stream`` variants): operation ``generate_content``.

Gemini models go to Gemini's API; LiteLLM bridges any other model through ``completion``
(that inner call folds into this span). Either way the reply is Gemini's shape: candidates
with a ``finishReason`` (recorded as sent: ``STOP``, ``MAX_TOKENS``...) and ``usageMetadata``,
whose ``promptTokenCount`` already includes cached tokens and whose ``thoughtsTokenCount`` is
added to the candidates' count for ``gen_ai.usage.output_tokens``. Streams are
server-sent events as bytes (``data: <response chunk>``), or chunk objects.

The reply carries no cost of LiteLLM's: its usage is priced with LiteLLM's pricing (see
pricing), a stream's once a chunk has given a finish reason (the final usage comes with it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.types import InputMessage, OutputMessage, TextPart

from litellm_otel import _messages
from litellm_otel._access import field, integer, number
from litellm_otel._operations.chat import stop_sequences
from litellm_otel._operations.facts import record_litellm_facts
from litellm_otel._operations.pricing import price_gemini_usage, reports_usage
from litellm_otel._operations.sse import DataLines

_FINISH_REASONS: Final = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "BLOCKLIST": "content_filter",
    "SPII": "content_filter",
}


def _config(config: Any, snake: str, camel: str) -> Any:
    value = field(config, snake)
    return value if value is not None else field(config, camel)


def apply_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    config = params.get("config")
    if config is not None:
        invocation.temperature = number(field(config, "temperature"))
        invocation.top_p = number(_config(config, "top_p", "topP"))
        invocation.top_k = integer(_config(config, "top_k", "topK"))
        invocation.max_tokens = integer(_config(config, "max_output_tokens", "maxOutputTokens"))
        stops = stop_sequences(_config(config, "stop_sequences", "stopSequences"))
        if stops is not None:
            invocation.stop_sequences = stops
        count = integer(_config(config, "candidate_count", "candidateCount"))
        if count is not None and count != 1:
            invocation.request_choice_count = count
    if capture_content:
        invocation.input_messages = input_messages(params.get("contents"))
        system = _config(config, "system_instruction", "systemInstruction")
        if system is not None:
            parts = field(system, "parts")
            invocation.system_instruction = _messages.content_parts(
                parts if parts is not None else system
            )


def apply_stream_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    apply_request(invocation, params, capture_content)
    invocation.request_stream = True


def input_messages(contents: Any) -> list[InputMessage]:
    if isinstance(contents, str):
        return [InputMessage(role="user", parts=[TextPart(content=contents)])]
    result: list[InputMessage] = []
    for content in _messages.sequence(contents) or ():
        role = field(content, "role")
        result.append(
            InputMessage(
                role="assistant" if role == "model" else str(role or "user"),
                parts=_messages.content_parts(field(content, "parts")),
            )
        )
    return result


def apply_usage(invocation: InferenceInvocation, usage: Any) -> None:
    prompt = integer(_config(usage, "prompt_token_count", "promptTokenCount"))
    candidates = integer(_config(usage, "candidates_token_count", "candidatesTokenCount"))
    thoughts = integer(_config(usage, "thoughts_token_count", "thoughtsTokenCount"))
    cached = integer(_config(usage, "cached_content_token_count", "cachedContentTokenCount"))
    if prompt is not None:
        invocation.input_tokens = prompt
    if candidates is not None or thoughts is not None:
        invocation.output_tokens = (candidates or 0) + (thoughts or 0)
    if thoughts is not None:
        invocation.thinking_tokens = thoughts
    if cached is not None:
        invocation.cache_read_input_tokens = cached


def _output_message(candidate: Any) -> OutputMessage:
    reason = _config(candidate, "finish_reason", "finishReason")
    return OutputMessage(
        role="assistant",
        parts=_messages.content_parts(field(field(candidate, "content"), "parts")),
        finish_reason=_FINISH_REASONS.get(reason, "stop") if isinstance(reason, str) else None,
    )


#: The token counts of Gemini's usage metadata, in either spelling.
_COUNTS: Final = (
    "promptTokenCount",
    "candidatesTokenCount",
    "prompt_token_count",
    "candidates_token_count",
)


def apply_response(invocation: InferenceInvocation, response: Any, capture_content: bool) -> None:
    usage = _apply_reply(invocation, response, capture_content)
    record_litellm_facts(invocation.attributes, response)
    if reports_usage(usage, *_COUNTS):
        price_gemini_usage(invocation, usage)


def _apply_reply(invocation: InferenceInvocation, response: Any, capture_content: bool) -> Any:
    """Record a reply (or what a stream's chunks said); returns its usage metadata."""
    response_id = _config(response, "response_id", "responseId")
    if isinstance(response_id, str):
        invocation.response_id = response_id
    model = _config(response, "model_version", "modelVersion")
    if isinstance(model, str):
        invocation.response_model_name = model
    candidates = list(field(response, "candidates") or ())
    reasons = [
        str(reason)
        for candidate in candidates
        if (reason := _config(candidate, "finish_reason", "finishReason")) is not None
    ]
    if reasons:
        invocation.finish_reasons = reasons
    usage = _config(response, "usage_metadata", "usageMetadata")
    if usage is not None:
        apply_usage(invocation, usage)
    if capture_content:
        invocation.output_messages = [_output_message(candidate) for candidate in candidates]
    return usage


class GenerateContentStreamState:
    """What a stream's chunks said: the latest usage, identity, each candidate's finish
    reason; with content capture, each candidate's text."""

    __slots__ = ("capture_content", "finish_reasons", "lines", "response", "texts", "usage")

    def __init__(self, capture_content: bool) -> None:
        self.capture_content = capture_content
        self.lines = DataLines()
        self.response: dict[str, Any] = {}
        self.usage: Any = None
        self.finish_reasons: dict[int, str] = {}
        self.texts: dict[int, list[str]] = {}

    def process(self, chunk: Any, invocation: InferenceInvocation) -> None:
        if isinstance(chunk, str):
            chunk = chunk.encode()
        if not isinstance(chunk, (bytes, bytearray)):
            self._chunk(chunk)
            return
        for payload in self.lines.feed(chunk):
            try:
                self._chunk(json.loads(payload))
            except ValueError:
                continue

    def _chunk(self, chunk: Any) -> None:
        for snake, camel in (("response_id", "responseId"), ("model_version", "modelVersion")):
            if camel not in self.response:
                value = _config(chunk, snake, camel)
                if isinstance(value, str):
                    self.response[camel] = value
        usage = _config(chunk, "usage_metadata", "usageMetadata")
        if usage is not None:
            self.usage = usage
        for position, candidate in enumerate(field(chunk, "candidates") or ()):
            index = field(candidate, "index")
            index = index if isinstance(index, int) else position
            reason = _config(candidate, "finish_reason", "finishReason")
            if reason is not None:
                self.finish_reasons[index] = str(reason)
            if self.capture_content:
                for part in field(field(candidate, "content"), "parts") or ():
                    text = field(part, "text")
                    if isinstance(text, str) and text:
                        self.texts.setdefault(index, []).append(text)

    def apply(self, invocation: InferenceInvocation) -> None:
        candidates = [
            {
                "content": {"parts": [{"text": "".join(self.texts.get(index, ()))}]},
                "finishReason": self.finish_reasons.get(index),
                "index": index,
            }
            for index in sorted(set(self.finish_reasons) | set(self.texts))
        ]
        response = {**self.response, "candidates": candidates, "usageMetadata": self.usage}
        _apply_reply(invocation, response, self.capture_content)
        if self.finish_reasons and reports_usage(self.usage, *_COUNTS):
            price_gemini_usage(invocation, self.usage)
