"""The mapping tests' invocations: real util-genai ones on no-op providers, stopped after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.invocations import Invocations, invocations


@pytest.fixture
def made() -> Iterator[Invocations]:
    with invocations() as factory:
        yield factory
