"""Real util-genai invocations for the mapping tests, and what a mapping set on one.

The mappings in ``litellm_otel._operations`` write an invocation's public properties; a test
hands them a real invocation (no SDK, no LiteLLM call: the providers are OpenTelemetry's
no-op ones) and reads back :func:`recorded`, everything that differs from a fresh invocation
of the same kind. A property name the invocation does not have, or a field set that should
not be, shows up as a difference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry._logs import NoOpLoggerProvider
from opentelemetry.context import Context
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.invocation import EmbeddingInvocation, InferenceInvocation

PROVIDER = "openai"


def _handler() -> TelemetryHandler:
    return TelemetryHandler(
        tracer_provider=NoOpTracerProvider(),
        meter_provider=NoOpMeterProvider(),
        logger_provider=NoOpLoggerProvider(),
    )


def _new(handler: TelemetryHandler, kind: str) -> Any:
    # An empty context each: a second invocation of a test is not nested in the first (util-genai
    # would make it a suppressed one).
    if kind == "embeddings":
        return handler.embedding(PROVIDER, context=Context())
    return handler.inference(PROVIDER, operation_name=kind, context=Context())


@dataclasses.dataclass
class Invocations:
    """Makes invocations; each is stopped (it attached itself to the context) at the end."""

    handler: TelemetryHandler = dataclasses.field(default_factory=_handler)
    made: list[Any] = dataclasses.field(default_factory=list[Any])

    def inference(self, operation: str = "chat") -> InferenceInvocation:
        invocation: InferenceInvocation = _new(self.handler, operation)
        self.made.append(invocation)
        return invocation

    def embedding(self) -> EmbeddingInvocation:
        invocation: EmbeddingInvocation = _new(self.handler, "embeddings")
        self.made.append(invocation)
        return invocation

    def stop_all(self) -> None:
        for invocation in reversed(self.made):
            invocation.stop()
        self.made.clear()


@contextmanager
def invocations() -> Iterator[Invocations]:
    made = Invocations()
    try:
        yield made
    finally:
        made.stop_all()


#: Properties that are no mapping's business: the invocation's own context.
_NOT_MAPPED = frozenset({"context"})


def _values(invocation: Any) -> dict[str, Any]:
    """The invocation's public properties (what a mapping writes), and its ``attributes``."""
    names = {
        name
        for cls in type(invocation).__mro__
        for name, value in vars(cls).items()
        if isinstance(value, property) and not name.startswith("_") and name not in _NOT_MAPPED
    }
    values = {name: getattr(invocation, name) for name in sorted(names)}
    values["attributes"] = dict(invocation.attributes)
    return values


def recorded(invocation: Any) -> dict[str, Any]:
    """What differs from a fresh invocation of the same kind: what the mappings set.

    util-genai keeps some fields under two names (``cache_write_input_tokens`` and its older
    ``cache_creation_input_tokens``): a test expects both."""
    embedding = isinstance(invocation, EmbeddingInvocation)
    baseline = _new(_handler(), "embeddings" if embedding else _operation(invocation))
    try:
        before = _values(baseline)
    finally:
        baseline.stop()
    return {name: value for name, value in _values(invocation).items() if before[name] != value}


def _operation(invocation: InferenceInvocation) -> str:
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai

    return str(invocation.metric_attributes.get(gen_ai.GEN_AI_OPERATION_NAME, "chat"))
