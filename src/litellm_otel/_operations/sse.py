"""Server-sent events as raw bytes: the streams LiteLLM hands back untouched from providers
that answer in SSE (Anthropic's ``/v1/messages``, Gemini's ``streamGenerateContent``).

The caller gets the bytes as they came; the stream readers only look at them. A chunk may end
mid-line, so the unfinished line is kept for the next chunk, up to a bound: a line that long
without a newline is not SSE we can read, and keeping it would grow without end.
"""

from __future__ import annotations

from typing import Final

#: A line longer than this without a newline is dropped, not kept.
MAX_PENDING_LINE: Final = 1 << 20


class DataLines:
    """Splits a stream's bytes into the payloads of its ``data:`` lines."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, chunk: bytes | bytearray) -> list[bytes]:
        """The payloads of the ``data:`` lines this chunk completes, in order."""
        lines = (self.pending + chunk).split(b"\n")
        self.pending = lines.pop()
        if len(self.pending) > MAX_PENDING_LINE:
            self.pending = b""
        return [line[5:] for line in lines if line.startswith(b"data:")]
