"""The versions we state are the versions we test: the locks, docs/versions.md and the venv agree.

``docs/versions.md`` is generated from ``pyproject.toml``, ``scripts/tiers.py`` and the locks;
the locks carry a digest of what they were resolved from. A dependency edited without ``make
lock``, or a page not regenerated, fails here with the command that fixes it.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.markers import Marker

from litellm_otel.package import _instruments

ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` under its own name (versions.py imports tiers.py so)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tiers = load_script("tiers")
versions = load_script("versions")


def test_every_lock_was_resolved_from_todays_inputs() -> None:
    assert tiers.stale_locks() == [], "run `make lock` and commit the locks"


def test_versions_page_is_what_make_versions_writes() -> None:
    page = ROOT / "docs" / "versions.md"
    assert page.read_text(encoding="utf-8") == versions.render(), "run `make versions`"


def test_runtime_range_is_the_instruments_extra() -> None:
    """``BaseInstrumentor`` checks ``_instruments`` at run time; pip reads the extra."""
    extra = tiers.pyproject()["project"]["optional-dependencies"]["instruments"]
    assert list(_instruments) == extra


def test_oldest_tier_installs_the_lower_bound_of_the_instruments_extra() -> None:
    oldest = versions.pins(tiers.tiers()["oldest"].lock)
    assert oldest["litellm"] == [tiers.oldest_litellm()]


def test_this_venv_holds_exactly_its_tiers_lock() -> None:
    """``make test`` (and each locked tier) installs the lock's versions, nothing else."""
    tier_file = Path(sys.prefix) / tiers.TIER_FILE
    if not tier_file.exists():
        pytest.skip("not a venv made by scripts/tiers.py sync: nothing to compare")
    tier = tiers.tiers()[tier_file.read_text(encoding="utf-8").strip()]
    if not tier.locked:
        pytest.skip(f"tier {tier.name} is resolved at every run, not locked")
    expected = {
        name: version
        for name, version, marker in tiers.read_lock(tier.lock)
        if marker is None or Marker(marker).evaluate()
    }
    installed = {tiers.canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {
        name: (version, installed.get(name))
        for name, version in expected.items()
        if installed.get(name) != version
    }
    assert wrong == {}, f"(locked, installed) differ: run `make setup` for the {tier.name} tier"
