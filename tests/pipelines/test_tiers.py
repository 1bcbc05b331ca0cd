"""The tier mechanism (tests/support/tiers.py): which runs ask for which tier."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tiers import TIERS, requested

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("markexpr", "environ", "wanted"),
    [
        ("", {}, False),
        ("proxy", {}, True),
        ("not proxy", {}, True),  # named: pytest's own -m filter then leaves them out
        ("(proxy or soak) and not slow", {}, True),
        ("proxyish", {}, False),
        ("phoenix", {}, False),
        ("", {"RUN_PROXY": "1"}, True),
        ("", {"RUN_PROXY": "0"}, False),
        ("", {"RUN_PROXY": "true"}, False),
        ("", {"RUN_SOAK": "1"}, False),
    ],
)
def test_a_tier_is_requested_by_name_or_by_its_switch(
    markexpr: str, environ: dict[str, str], wanted: bool
) -> None:
    assert requested("proxy", markexpr, environ) is wanted


def test_the_tiers_are_the_markers_pyproject_declares() -> None:
    """Every declared marker is a tier, and every tier is declared (``--strict-markers``)."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers = options["tool"]["pytest"]["ini_options"]["markers"]
    assert [marker.split(":", 1)[0] for marker in markers] == list(TIERS)


PROJECT_CONFTEST = """
import pytest
from tests.support.tiers import deselect_unrequested

def pytest_configure(config):
    for tier in ("slow", "proxy"):
        config.addinivalue_line("markers", tier)

def pytest_collection_modifyitems(config, items):
    deselect_unrequested(config, items)
"""

PROJECT_TESTS = """
import pytest

def test_plain(): pass

@pytest.mark.slow
def test_slow(): pass

@pytest.mark.proxy
class TestProxy:
    def test_one(self): pass
"""


@pytest.mark.parametrize(
    ("arguments", "environ", "ran"),
    [
        ((), {}, ["test_plain"]),
        ((), {"RUN_PROXY": "1"}, ["test_plain", "TestProxy::test_one"]),
        (("-m", "slow"), {}, ["test_slow"]),
        (("-m", "not slow"), {"RUN_SLOW": "1"}, ["test_plain"]),
        (("-m", "slow or proxy"), {}, ["test_slow", "TestProxy::test_one"]),
    ],
)
def test_a_run_collects_only_the_tiers_it_asks_for(
    tmp_path: Path, arguments: tuple[str, ...], environ: dict[str, str], ran: list[str]
) -> None:
    (tmp_path / "conftest.py").write_text(PROJECT_CONFTEST, encoding="utf-8")
    (tmp_path / "test_project.py").write_text(PROJECT_TESTS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUN_")}
    env.update(environ, PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q", *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    passed = [
        line.removeprefix("PASSED test_project.py::")
        for line in result.stdout.splitlines()
        if line.startswith("PASSED ")
    ]
    assert passed == ran, result.stdout
