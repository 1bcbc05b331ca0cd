"""The test tiers: markers whose tests a plain ``pytest`` leaves out.

A tier's tests are slow or need something outside the venv (a LiteLLM Proxy process, Arize
Phoenix, Prometheus). They are deselected unless the run asks for the tier: a ``-m``
expression that names its marker (``-m proxy``, ``-m "soak or slow"``; pytest's own ``-m``
filter then decides per test, so ``-m "not soak"`` still leaves them out), or
``RUN_<MARKER>=1`` in the environment (``RUN_PROXY=1``). The markers are declared in
pyproject.toml; ``tests/conftest.py`` applies :func:`deselect_unrequested`. Once selected a tier
never skips: its fixtures fail with the command that sets it up.

``make test`` asks for ``slow`` and ``soak`` (the soak at its short CI size); ``make
test-proxy``, ``test-phoenix``, ``test-prometheus`` and ``soak`` ask for their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

import pytest

#: Every tier marker.
TIERS: Final = ("slow", "soak", "proxy", "phoenix", "prometheus")


def environment_switch(tier: str) -> str:
    return f"RUN_{tier.upper()}"


def requested(tier: str, markexpr: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the run asked for ``tier``: its switch is ``1`` or ``markexpr`` names it."""
    if environ.get(environment_switch(tier)) == "1":
        return True
    return tier in markexpr.replace("(", " ").replace(")", " ").split()


def selected(config: pytest.Config, tier: str) -> bool:
    return requested(tier, str(config.getoption("markexpr", "") or ""))


def deselect_unrequested(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests of every tier the run did not ask for (reported as deselected)."""
    skipped = {tier for tier in TIERS if not selected(config, tier)}
    if not skipped:
        return
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        tiers = {mark.name for mark in item.iter_markers() if mark.name in skipped}
        (deselected if tiers else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
