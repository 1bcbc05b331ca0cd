"""Token usage for chat streams whose caller did not ask for it, without changing their chunks.

OpenAI-compatible providers report a stream's token usage only when the request asks for it
(``stream_options={"include_usage": True}``). Asking changes the stream LiteLLM hands back: it
ends with one more chunk, without choices, that code reading ``chunk.choices[0]`` trips over;
and LiteLLM's own ``async for`` over the stream of a sync ``completion()`` fails on it
(``MidStreamFallbackError``: that read path indexes the first choice of every chunk).

So ``request_stream_usage`` asks the provider, then tells LiteLLM's stream that its caller did
not ask. LiteLLM treats the provider's usage chunk as it treats any usage it was not asked to
return: it keeps it for its own cost tracking and never hands it out. The caller gets exactly
the chunks of a call without the option, whichever way it reads them, and the span reads the
usage LiteLLM kept when the stream ends.

Only where that holds: chat calls (whose streams are LiteLLM's ``CustomStreamWrapper``), on
LiteLLM releases that keep unrequested usage chunks. Anywhere else nothing is added to the
request. These are LiteLLM internals (the stream's ``stream_options``, ``send_stream_usage``
and ``chunks``); the ``request_stream_usage`` tests in ``tests/test_streams.py`` hold the
installed release to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

#: What the provider is asked for.
STREAM_OPTIONS: Final = {"include_usage": True}


def litellm_keeps_unrequested_usage() -> bool:
    """Whether this LiteLLM keeps a usage chunk it was not asked to return (a release that
    drops it would have the request changed for nothing)."""
    try:
        from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
    except Exception:
        return False
    return callable(getattr(CustomStreamWrapper, "_record_usage_only_chunk", None))


def should_ask(params: Mapping[str, Any]) -> bool:
    """A streamed call that says nothing about ``stream_options`` itself."""
    return params.get("stream") is True and params.get("stream_options") is None


def asking(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {**kwargs, "stream_options": dict(STREAM_OPTIONS)}


def answer_as_unasked(stream: Any) -> bool:
    """Make LiteLLM's stream behave as for a caller that did not ask for usage. False when it
    is not a stream LiteLLM lets us tell that (it then keeps the usage chunk in the stream)."""
    if not (hasattr(stream, "send_stream_usage") and hasattr(stream, "stream_options")):
        return False
    stream.stream_options = None
    stream.send_stream_usage = False
    return True


def kept_usage_chunk(stream: Any) -> Any:
    """The latest chunk with usage LiteLLM kept from the provider, or ``None``."""
    chunks = getattr(stream, "chunks", None)
    if not isinstance(chunks, list):
        return None
    for chunk in reversed(cast("list[Any]", chunks)):
        if getattr(chunk, "usage", None) is not None:
            return chunk
    return None
