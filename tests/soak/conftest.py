"""The ``soak`` marker: select the soak (``-m soak``) or leave it out (``-m "not soak"``).

It is registered here rather than in pyproject.toml so the soak suite is self-contained; the
normal run keeps it (at the short CI size), so the marker only selects, it never deselects.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "soak: concurrency and memory soak; size from SOAK_SCALE (default 0.05, full run 1)",
    )
