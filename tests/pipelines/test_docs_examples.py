"""Every Python example in README.md and docs/ runs, against the loopback server.

Each ```python block runs in its own interpreter (examples call ``instrument()``, which is
process-wide), with the OpenAI base URL and key of the environment pointing at the loopback
server, so ``litellm.completion(model="openai/...")`` exactly as written in the docs works
offline. After the block, one more LiteLLM call checks that the instrumentation the example
set up does not break calls.

The quick start's first example and its zero-code section are run once more exactly as a
newcomer runs them: nothing added, no credentials, no ``LITELLM_*`` or ``OTEL_*`` setting
the page does not ask for, and no network (every connection attempt fails at once, as it
does offline). What the page shows of the output must be what comes out.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
QUICKSTART = ROOT / "docs" / "quickstart.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)
#: A ``"key": value`` line of the span JSON the quick start shows.
SHOWN_FIELD = re.compile(r'^\s*"(?P<key>[^"]+)": (?P<value>[^{\[].*?),?$', re.MULTILINE)
MOCK_ANSWER = "Hello from a mock!"
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


# -- the quick start, exactly as written -------------------------------------------------


def fenced(path: Path, lang: str) -> list[str]:
    return [
        match["code"]
        for match in FENCE.finditer(path.read_text(encoding="utf-8"))
        if match["lang"] == lang
    ]


def only(blocks: list[str], what: str) -> str:
    assert len(blocks) == 1, f"expected one {what}, found {len(blocks)}"
    return blocks[0]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def newcomer_env() -> dict[str, str]:
    """A fresh shell on a machine without network: no key, no project settings.

    Every proxy variable points at a closed local port, so any connection attempt (LiteLLM's
    price-map download, a real provider call) fails at once, as it does offline.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("OPENAI_", "OTEL_", "LITELLM_"))
        and key.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    }
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = dead
    env["NO_PROXY"] = env["no_proxy"] = ""
    # The venv's ``python`` and ``opentelemetry-instrument`` first, as in an activated venv.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def spans_printed(stdout: str) -> list[dict[str, Any]]:
    """The JSON objects the console span exporter printed (skipping any other output)."""
    decoder = json.JSONDecoder()
    spans: list[dict[str, Any]] = []
    index = stdout.find("{")
    while index != -1:
        value, end = decoder.raw_decode(stdout, index)
        if isinstance(value, dict) and "context" in value and "kind" in value:
            spans.append(cast("dict[str, Any]", value))
        index = stdout.find("{", end)
    return spans


def flattened(span: dict[str, Any]) -> dict[str, Any]:
    return {**span, **span["status"], **span["attributes"]}


def run_as_written(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=newcomer_env(),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize("path", [README, QUICKSTART], ids=["README.md", "quickstart.md"])
def test_first_example_runs_offline_as_written(path: Path, tmp_path: Path) -> None:
    code = fenced(path, "python")[0]
    assert "mock_response=" in code, "the first example must not need a provider"
    completed = run_as_written([sys.executable, "-c", code], tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr
    assert completed.stdout.rstrip().endswith(MOCK_ANSWER), completed.stdout
    [span] = spans_printed(completed.stdout)
    assert span["name"] == "chat gpt-4o-mini"
    assert span["kind"] == "SpanKind.CLIENT"
    assert span["status"]["status_code"] == "UNSET"


def test_quickstart_shows_what_the_first_example_prints(tmp_path: Path) -> None:
    """Every field of the output excerpt on the page has the value the example printed."""
    page = QUICKSTART.read_text(encoding="utf-8")
    excerpt = fenced(QUICKSTART, "text")[0]
    assert page.index(excerpt) > page.index(fenced(QUICKSTART, "python")[0])
    completed = run_as_written([sys.executable, "-c", fenced(QUICKSTART, "python")[0]], tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    [span] = spans_printed(completed.stdout)
    actual = flattened(span)
    shown = {match["key"]: json.loads(match["value"]) for match in SHOWN_FIELD.finditer(excerpt)}
    assert len(shown) >= 10, shown
    assert {key: actual.get(key) for key in shown} == shown
    assert excerpt.rstrip().endswith(MOCK_ANSWER)


def test_quickstart_zero_code_runs_as_written(tmp_path: Path) -> None:
    """``app.py`` and the launcher command from the page; the distro is installed here."""
    app = only(
        [code for code in fenced(QUICKSTART, "python") if "LiteLLMInstrumentor" not in code],
        "application without OpenTelemetry code",
    )
    command = only(
        [code for code in fenced(QUICKSTART, "bash") if "opentelemetry-instrument" in code],
        "launcher command",
    )
    assert "python app.py" in command
    (tmp_path / "app.py").write_text(app, encoding="utf-8")
    completed = run_as_written(["bash", "-euc", command], tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    assert MOCK_ANSWER in completed.stdout.splitlines()
    [span] = [s for s in spans_printed(completed.stdout) if s["name"] == "chat gpt-4o-mini"]
    assert span["resource"]["attributes"]["service.name"] == "quickstart"
    assert span["attributes"]["gen_ai.operation.name"] == "chat"
    assert '"name": "gen_ai.client.operation.duration"' in completed.stdout
