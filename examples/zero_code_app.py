"""A plain LiteLLM app with no OpenTelemetry code at all, for zero-code instrumentation.

Why it has none: this is what most users have. ``opentelemetry-instrument`` finds our
``opentelemetry_instrumentor`` entry point and instruments LiteLLM before this script runs,
configured only by standard ``OTEL_*`` environment variables::

    export LOOPBACK_BASE_URL=http://127.0.0.1:8000/v1   # any OpenAI-compatible server
    export OPENAI_API_KEY=sk-...
    export LITELLM_LOCAL_MODEL_COST_MAP=True   # offline: don't download LiteLLM's price map
    export OTEL_SERVICE_NAME=zero-code-app OTEL_TRACES_EXPORTER=console
    opentelemetry-instrument python examples/zero_code_app.py

``LITELLM_LOCAL_MODEL_COST_MAP`` has to be in the environment, not set by this script:
under ``opentelemetry-instrument`` LiteLLM is imported (by the instrumentor) before the
first line of this file runs. The test suite runs this file in
``tests/pipelines/test_zero_code.py``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import litellm


def main() -> int:
    """One chat completion and one embedding, both answers printed; exit code 0 on success."""
    base_url = os.environ.get("LOOPBACK_BASE_URL")
    if not base_url:
        print("set LOOPBACK_BASE_URL to an OpenAI-compatible base URL", file=sys.stderr)
        return 2
    api_key = os.environ.get("OPENAI_API_KEY", "sk-not-needed-for-loopback")
    common: dict[str, Any] = {"api_base": base_url, "api_key": api_key, "num_retries": 0}

    response = litellm.completion(
        model=os.environ.get("CHAT_MODEL", "openai/gpt-4o-mini"),
        messages=[{"role": "user", "content": os.environ.get("PROMPT", "Say hello")}],
        **common,
    )
    print(f"answer: {response.choices[0].message.content}")

    embedding = litellm.embedding(
        model=os.environ.get("EMBEDDING_MODEL", "openai/text-embedding-3-small"),
        input=["hello"],
        **common,
    )
    print(f"embedding dimensions: {len(embedding.data[0]['embedding'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
