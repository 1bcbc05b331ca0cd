"""Sync and async proxies for LiteLLM streams.

Built on util-genai's ``SyncStreamWrapper`` / ``AsyncStreamWrapper`` (``wrapt`` proxies, so
``isinstance(stream, litellm.CustomStreamWrapper)`` stays true and every attribute of the
original is reachable). They add what LiteLLM streams need:

* the span ends exactly once: at exhaustion, on an error while reading, on ``close()`` /
  ``aclose()`` / leaving a ``with`` block, or when the proxy is garbage-collected;
* a stream the caller stopped reading early is marked ``litellm.stream.closed_early`` and
  keeps status UNSET (it neither failed nor provably succeeded), with what arrived so far;
* per chunk only ids, finish reasons and usage are read; text, reasoning and tool-call
  pieces are collected only when content capture is on, and joined once at the end.

Exceptions in our chunk handling are contained; the chunk always reaches the caller.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.stream import (
    AbandonedStreamError,
    AsyncStreamWrapper,
    SyncStreamWrapper,
)
from opentelemetry.util.genai.types import OutputMessage

from litellm_otel import _attributes as attrs
from litellm_otel import _messages
from litellm_otel._failsafe import report_failure
from litellm_otel._operations import chat
from litellm_otel._operations.common import (
    error_of,
    hidden_params,
    number,
    record_exception,
)

_logger = logging.getLogger(__name__)


class _ToolCallPieces:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []


class _ChoicePieces:
    """Content of one choice, kept as lists of fragments until the stream ends."""

    __slots__ = ("reasoning", "role", "text", "tool_calls")

    def __init__(self) -> None:
        self.role: str | None = None
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.tool_calls: dict[int, _ToolCallPieces] = {}

    def add(self, delta: Any) -> None:
        field = _messages.field
        role = field(delta, "role")
        if isinstance(role, str):
            self.role = role
        content = field(delta, "content")
        if isinstance(content, str) and content:
            self.text.append(content)
        reasoning = field(delta, "reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            self.reasoning.append(reasoning)
        for call in field(delta, "tool_calls") or ():
            index = field(call, "index")
            pieces = self.tool_calls.get(index if isinstance(index, int) else 0)
            if pieces is None:
                pieces = self.tool_calls[index if isinstance(index, int) else 0] = _ToolCallPieces()
            call_id = field(call, "id")
            if isinstance(call_id, str) and call_id:
                pieces.id = call_id
            function = field(call, "function")
            name = field(function, "name")
            if isinstance(name, str) and name:
                pieces.name = name
            arguments = field(function, "arguments")
            if isinstance(arguments, str) and arguments:
                pieces.arguments.append(arguments)

    def message(self, finish_reason: str | None) -> OutputMessage:
        tool_calls = [
            {
                "id": pieces.id,
                "function": {"name": pieces.name, "arguments": "".join(pieces.arguments)},
            }
            for _, pieces in sorted(self.tool_calls.items())
        ]
        assembled = {
            "role": self.role or "assistant",
            "content": "".join(self.text) if self.text else None,
            "tool_calls": tool_calls,
        }
        reasoning = "".join(self.reasoning) if self.reasoning else None
        return _messages.output_message(assembled, finish_reason, reasoning=reasoning)


class ChatStreamState:
    """What a chat stream told us so far; bounded unless content capture is on."""

    __slots__ = (
        "capture_content",
        "choices",
        "finish_reasons",
        "response_id",
        "response_model",
        "usage",
    )

    def __init__(self, capture_content: bool) -> None:
        self.capture_content = capture_content
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: dict[int, str] = {}
        self.usage: Any = None
        self.choices: dict[int, _ChoicePieces] = {}

    def process(self, chunk: Any, invocation: InferenceInvocation) -> None:
        if self.response_id is None:
            response_id = getattr(chunk, "id", None)
            if isinstance(response_id, str):
                self.response_id = response_id
        if self.response_model is None:
            # LiteLLM stamps chunks with the requested model; what the provider answered
            # with is kept in the chunk's hidden params.
            model = hidden_params(chunk).get("provider_response_model") or getattr(
                chunk, "model", None
            )
            if isinstance(model, str):
                self.response_model = model
                # Set at once: the chunk-timing metrics recorded from now on carry it.
                invocation.response_model_name = model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            reason = choice.finish_reason
            if reason is not None:
                self.finish_reasons[choice.index or 0] = reason
            if self.capture_content:
                index = choice.index or 0
                pieces = self.choices.get(index)
                if pieces is None:
                    pieces = self.choices[index] = _ChoicePieces()
                pieces.add(choice.delta)

    def apply(self, invocation: InferenceInvocation) -> None:
        if self.response_id is not None:
            invocation.response_id = self.response_id
        if self.response_model is not None:
            invocation.response_model_name = self.response_model
        if self.finish_reasons:
            invocation.finish_reasons = [
                str(reason) for _, reason in sorted(self.finish_reasons.items())
            ]
        if self.usage is not None:
            chat.apply_usage(invocation, self.usage)
            # LiteLLM puts its computed cost on the final usage chunk.
            cost = number(_messages.field(self.usage, "cost"))
            if cost is not None:
                invocation.attributes[attrs.LITELLM_RESPONSE_COST] = cost
        if self.capture_content and self.choices:
            invocation.output_messages = [
                pieces.message(self.finish_reasons.get(index))
                for index, pieces in sorted(self.choices.items())
            ]


class _StreamFinisher:
    """Shared finalization of both proxies: record what arrived, then end the span once."""

    _self_invocation: InferenceInvocation
    _self_state: ChatStreamState
    _self_closed_early: bool

    def _process_chunk(self, chunk: Any) -> None:
        try:
            self._self_state.process(chunk, self._self_invocation)
        except Exception:
            report_failure("reading a stream chunk")

    def _on_stream_end(self) -> None:
        invocation = self._self_invocation
        try:
            self._self_state.apply(invocation)
            if self._self_closed_early:
                invocation.attributes[attrs.LITELLM_STREAM_CLOSED_EARLY] = True
        except Exception:
            report_failure("finishing a stream")
        try:
            invocation.stop()
        except Exception:
            report_failure("ending a stream span")

    def _on_stream_error(self, error: BaseException) -> None:
        if isinstance(error, AbandonedStreamError):
            # Dropped unread (break + del, or garbage collection): an early close, not a failure.
            self._self_closed_early = True
            self._on_stream_end()
            return
        invocation = self._self_invocation
        try:
            self._self_state.apply(invocation)
        except Exception:
            report_failure("finishing a failed stream")
        try:
            record_exception(invocation, error)
            invocation.fail(error_of(error))
        except Exception:
            report_failure("ending a failed stream span")

    def _close_early(self) -> None:
        """The caller closed the stream; if it was not finished yet, say so."""
        if not self._self_finalized:  # type: ignore[attr-defined]
            self._self_closed_early = True
            self._finalize_success()  # type: ignore[attr-defined]


class SyncChatStream(_StreamFinisher, SyncStreamWrapper[Any]):
    """Proxy for a stream returned by ``completion(stream=True)``."""

    def __init__(self, stream: Any, invocation: InferenceInvocation, capture_content: bool):
        super().__init__(stream, invocation)
        self._self_invocation = invocation
        self._self_state = ChatStreamState(capture_content)
        self._self_closed_early = False

    def close(self) -> None:
        # LiteLLM's CustomStreamWrapper has no close(); ending the span must not depend on it.
        with self._execution_context():
            self._close_early()
        close = getattr(self.__wrapped__, "close", None)
        if callable(close):
            close()
            return
        _release_http_stream(self.__wrapped__)

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        # An exception in the caller's own ``with`` body is not a failure of the LLM call.
        self.close()
        return False


class AsyncChatStream(_StreamFinisher, AsyncStreamWrapper[Any]):
    """Proxy for a stream returned by ``acompletion(stream=True)``."""

    def __init__(self, stream: Any, invocation: InferenceInvocation, capture_content: bool):
        super().__init__(stream, invocation)
        self._self_invocation = invocation
        self._self_state = ChatStreamState(capture_content)
        self._self_closed_early = False

    async def _close(self) -> None:
        with self._execution_context():
            self._close_early()
        await self._close_stream()

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        await self._close()
        return False


def _release_http_stream(stream: Any) -> None:
    """Close the provider's HTTP stream behind a LiteLLM stream, if it can be closed."""
    try:
        inner = getattr(stream, "completion_stream", None)
        close = getattr(inner, "close", None)
        if callable(close):
            result = close()
            if hasattr(result, "close"):  # an un-awaited coroutine from an async close
                result.close()
    except Exception:
        _logger.debug("litellm-otel: could not close the underlying stream", exc_info=True)
