"""Finding secrets and prompts in everything a test's telemetry pipeline received.

Every string the SDK would export is visited: span names, status descriptions, span, event
and link attributes, metric point attributes, log record bodies and attributes; plus the log
records of our own logger and the SDK's (``caplog``). A leak is reported with where it was
found, so a failing test says which path leaked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from tests.support.loopback_server import mask_key
from tests.support.telemetry import API_KEY, PROMPT, Telemetry

#: Loggers whose records are ours or the SDK's (LiteLLM's own logs are LiteLLM's business).
OUR_LOGGERS = ("litellm_otel", "opentelemetry")


def key_forms(key: str = API_KEY) -> list[str]:
    """The key and what of it must not show: masked as OpenAI masks it, its prefix with a
    mask, its masked tail, and its secret middle."""
    forms = [key, mask_key(key), f"{key[:8]}*", f"*{key[-4:]}", f".{key[-4:]}"]
    if len(key) >= 20:
        forms.append(key[4:-4])
    return forms


def prompt_forms(prompt: str = PROMPT) -> list[str]:
    """The prompt, and enough of it to recognise when an echo truncated it."""
    return [prompt, prompt[:20], prompt[-16:]]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif isinstance(value, dict):
        for key, inner in value.items():  # pyright: ignore[reportUnknownVariableType]
            yield str(key)  # pyright: ignore[reportUnknownArgumentType]
            yield from _strings(inner)
    elif isinstance(value, (list, tuple)):
        for inner in value:  # pyright: ignore[reportUnknownVariableType]
            yield from _strings(inner)


def exported_texts(telemetry: Telemetry) -> Iterator[tuple[str, str]]:
    """``(where, text)`` for every string the telemetry pipeline received."""
    for span in telemetry.finished():
        where = f"span {span.name!r}"
        yield f"{where} name", span.name
        if span.status.description:
            yield f"{where} status description", span.status.description
        for key, value in (span.attributes or {}).items():
            for text in _strings(value):
                yield f"{where} attribute {key}", text
        for event in span.events:
            yield f"{where} event name", event.name
            for key, value in (event.attributes or {}).items():
                for text in _strings(value):
                    yield f"{where} event {event.name!r} attribute {key}", text
        for link in span.links:
            for key, value in (link.attributes or {}).items():
                for text in _strings(value):
                    yield f"{where} link attribute {key}", text
    data = telemetry.metrics.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    for key, value in (point.attributes or {}).items():
                        for text in _strings(value):
                            yield f"metric {metric.name} attribute {key}", text
    for log in telemetry.logs.get_finished_logs():
        record = log.log_record
        for text in _strings(record.body):
            yield "log record body", text
        for key, value in (record.attributes or {}).items():
            for text in _strings(value):
                yield f"log record attribute {key}", text


def logged_texts(records: Iterable[logging.LogRecord]) -> Iterator[tuple[str, str]]:
    """``(where, text)`` for our and the SDK's Python log records, tracebacks included."""
    formatter = logging.Formatter()
    for record in records:
        if record.name.startswith(OUR_LOGGERS):
            yield f"log {record.name}", formatter.format(record)


def leaks(
    telemetry: Telemetry,
    forbidden: Iterable[str],
    records: Iterable[logging.LogRecord] = (),
    *,
    allowed: Iterable[str] = (),
) -> list[str]:
    """Where any of ``forbidden`` appears; ``allowed`` names places (substrings of the
    ``where``) that may hold them (``gen_ai.input.messages`` with capture on)."""
    needles = [needle for needle in forbidden if needle]
    allowed = tuple(allowed)
    found: list[str] = []
    for where, text in (*exported_texts(telemetry), *logged_texts(records)):
        if any(place in where for place in allowed):
            continue
        for needle in needles:
            if needle in text:
                found.append(f"{needle!r} in {where}: {text[:300]!r}")
    return found


def dump(telemetry: Telemetry) -> str:
    """Everything exported, for an assertion message."""
    return json.dumps([f"{where}: {text[:200]}" for where, text in exported_texts(telemetry)])
