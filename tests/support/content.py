"""Recording one call's content straight through the recorder, and reading it back.

The content tests and properties check what reaches telemetry for arguments and responses
LiteLLM would pass or return, on every surface, without going through a provider: a
:class:`CallRecorder` with a real util-genai handler starts the span from the arguments and
ends it with the response, exactly as the wrappers do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.types import ContentCapturingMode
from opentelemetry.util.genai.utils import gen_ai_json_dumps

from litellm_otel._compat import set_content_capturing_mode
from litellm_otel._config import Options
from litellm_otel._content import ContentPolicy
from litellm_otel._hooks import Hooks
from litellm_otel._operations import ENTRY_POINTS, Surface
from litellm_otel._recorder import CallRecorder
from tests.support.telemetry import Telemetry

CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
)

#: What a content attribute may exceed ``max_content_length`` by: one marker item standing for
#: everything, when the limit is smaller than that item.
MARKER_ALLOWANCE = 160


def surface(name: str) -> Surface:
    return ENTRY_POINTS[name].surface


def content_recorder(
    telemetry: Telemetry,
    *,
    mode: ContentCapturingMode = ContentCapturingMode.SPAN_ONLY,
    limit: int | None = None,
    content_filter: Callable[[str], Any] | None = None,
) -> CallRecorder:
    handler = TelemetryHandler(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        logger_provider=telemetry.logger_provider,
    )
    set_content_capturing_mode(handler, mode)
    policy = (
        ContentPolicy(content_filter)
        if limit is None
        else ContentPolicy(content_filter, max_content_length=limit)
    )
    return CallRecorder(handler, Options(capture_mode=mode), Hooks(), policy)


def record(
    recorder: CallRecorder,
    surface_name: str,
    params: Mapping[str, Any],
    response: Any = None,
    *,
    chunks: list[Any] | None = None,
    error: BaseException | None = None,
) -> None:
    """One call: the request, then the response, a stream of ``chunks`` or ``error``."""
    entry = surface(surface_name)
    invocation = recorder.start(entry, params)
    if chunks is not None:

        def source() -> Iterator[Any]:
            yield from chunks
            if error is not None:
                raise error

        stream = recorder.finish(entry, invocation, source(), invocation.context, streamed=True)
        try:
            for _ in stream:
                pass
        except Exception as raised:
            assert raised is error
        return
    if error is not None:
        recorder.fail(invocation, error)
        return
    recorder.finish(entry, invocation, response, invocation.context, streamed=False)


def content_values(telemetry: Telemetry) -> dict[str, list[str]]:
    """Every content attribute of every span and event, serialised as util-genai writes it."""
    values: dict[str, list[str]] = {key: [] for key in CONTENT_KEYS}
    for span in telemetry.finished():
        for key in CONTENT_KEYS:
            value = (span.attributes or {}).get(key)
            if value is not None:
                assert isinstance(value, str)
                values[key].append(value)
    for record_ in telemetry.logs.get_finished_logs():
        attributes = record_.log_record.attributes or {}
        for key in CONTENT_KEYS:
            value = attributes.get(key)
            if value is not None:
                # the event carries the structure itself: measure it as the span would
                values[key].append(gen_ai_json_dumps(_plain(value)))
    return values


def _plain(value: Any) -> Any:
    """An event attribute (read-only sequences and mappings) as lists and dicts."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def everything_exported(telemetry: Telemetry) -> str:
    """Every attribute, event and log record as one string, to search for leaks."""
    parts: list[str] = []
    for span in telemetry.finished():
        parts.append(span.name)
        parts.append(repr(dict(span.attributes or {})))
        for event in span.events:
            parts.append(event.name + repr(dict(event.attributes or {})))
    for record_ in telemetry.logs.get_finished_logs():
        log = record_.log_record
        parts.append(repr(log.body) + repr(dict(log.attributes or {})))
    return "\n".join(parts)


def parsed(telemetry: Telemetry, key: str) -> Any:
    """The one span's attribute ``key``, parsed."""
    (span,) = telemetry.finished()
    return json.loads(span.attributes[key])  # type: ignore[index,arg-type]
