"""OpenTelemetry instrumentation for LiteLLM.

``LiteLLMInstrumentor().instrument()`` wraps LiteLLM's public entry points so every call
produces one GenAI-semantic-convention span plus duration and token metrics, emitted
through ``opentelemetry-util-genai``::

    from litellm_otel import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument(tracer_provider=..., meter_provider=...)
"""

from litellm_otel.instrumentor import LiteLLMInstrumentor
from litellm_otel.version import __version__

__all__ = ["LiteLLMInstrumentor", "__version__"]
