"""The SSE line splitter the raw-byte stream readers share."""

from __future__ import annotations

from litellm_otel._operations.sse import MAX_PENDING_LINE, DataLines


def test_payloads_of_data_lines_only_in_order() -> None:
    lines = DataLines()
    assert lines.feed(b'event: message_start\ndata: {"a": 1}\n\ndata: {"b": 2}\n') == [
        b' {"a": 1}',
        b' {"b": 2}',
    ]


def test_a_line_split_across_chunks_is_joined() -> None:
    lines = DataLines()
    assert lines.feed(b'data: {"te') == []
    assert lines.feed(b'xt": "hi"}') == []
    assert lines.feed(b"\ndata: 2\n") == [b' {"text": "hi"}', b" 2"]


def test_an_endless_line_is_dropped_not_kept() -> None:
    lines = DataLines()
    assert lines.feed(b"data: " + b"x" * (MAX_PENDING_LINE + 1)) == []
    assert lines.pending == b""
    assert lines.feed(b"tail\ndata: next\n") == [b" next"]
