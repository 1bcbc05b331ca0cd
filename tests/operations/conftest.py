"""The mapping tests' invocations: real util-genai ones on no-op providers, stopped after; and
the conventions mode a surface's test runs in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.invocations import Invocations, invocations


@pytest.fixture
def made() -> Iterator[Invocations]:
    with invocations() as factory:
        yield factory


@pytest.fixture(params=["default", "latest"])
def conventions_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each conventions mode in turn (docs/conventions.md); set before the test's
    ``instrument()``, which reads it."""
    if request.param == "latest":
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    return str(request.param)
