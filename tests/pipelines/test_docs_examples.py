"""Every Python example in README.md and docs/ runs, against the loopback server.

Each ```python block runs in its own interpreter (examples call ``instrument()``, which is
process-wide), with the OpenAI base URL and key of the environment pointing at the loopback
server, so ``litellm.completion(model="openai/...")`` exactly as written in the docs works
offline. After the block, one more LiteLLM call checks that the instrumentation the example
set up does not break calls.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
EPILOGUE = """
import litellm as _litellm
_messages = [{"role": "user", "content": "hi"}]
_answer = _litellm.completion(model="openai/gpt-4o-mini", messages=_messages)
assert _answer.choices[0].message.content == "Hello from loopback", _answer
print("EXAMPLE-OK")
"""


def examples() -> list[Any]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for index, match in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8"))):
            relative = path.relative_to(ROOT)
            found.append(pytest.param(match.group(1), id=f"{relative}#{index + 1}"))
    return found


def test_there_are_examples() -> None:
    assert len(examples()) >= 5


@pytest.mark.parametrize("code", examples())
def test_example_runs(code: str, loopback: Any) -> None:
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "OPENAI_API_BASE": loopback.base_url,
        "OPENAI_BASE_URL": loopback.base_url,
        "OPENAI_API_KEY": "sk-docs-example",
        # backend recipes export to collectors that do not run here: fail fast at exit
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-c", code + "\n" + EPILOGUE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "EXAMPLE-OK" in completed.stdout
    assert "Traceback" not in completed.stderr
