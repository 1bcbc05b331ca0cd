"""The LiteLLM range this instrumentation supports.

``BaseInstrumentor`` checks it before instrumenting, so a LiteLLM outside the range is
skipped with a log line instead of failing in an unexpected place. The lower bound is
the oldest release CI tests against; there is no upper bound because LiteLLM releases
several times a week and the instrumentation wraps only public names.
"""

_instruments = ("litellm >= 1.72.0",)
