"""Each Surface declares the call arguments its mapping reads: the declaration is the truth.

The contract tests hold LiteLLM to what a Surface declares; this holds the Surface to what its
mapping actually reads, by running the mapping on arguments that record every name looked up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from opentelemetry.util.genai.handler import TelemetryHandler

from litellm_otel._invocations import start_invocation
from litellm_otel._operations import ENTRY_POINTS, Surface
from litellm_otel._operations.chat import SAMPLING_PARAMETERS
from litellm_otel._providers import ResolvedTarget

#: Read by the call recorder and the Router for every surface, not by the mappings.
ROUTING = {"model", "custom_llm_provider", "api_base", "base_url", "stream", "stream_options"}


class RecordingParams(Mapping[str, Any]):
    """Arguments that answer every name (so each branch reads on) and remember the names."""

    def __init__(self) -> None:
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        self.read.add(name)
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return default

    def __iter__(self) -> Iterator[str]:
        # Walked by the sampling reader, which picks the names it knows among those passed.
        self.read.update(SAMPLING_PARAMETERS)
        return iter(())

    def __len__(self) -> int:
        return 0


SURFACES = {entry.surface for entry in ENTRY_POINTS.values()}
TARGET = ResolvedTarget("openai", "openai", "m", None, None)


def read_by_start(surface: Surface, params: RecordingParams) -> None:
    """What the recorder reads through the surface before the mapping runs."""
    if surface.start_fields is not None:
        surface.start_fields(params)
    if surface.routing is not None:
        surface.routing(params)


def start(surface: Surface) -> Any:
    """The invocation a call of ``surface`` gets (its start fields read from no arguments)."""
    return start_invocation(TelemetryHandler(), surface, TARGET, {})


@pytest.mark.parametrize("surface", sorted(SURFACES, key=lambda s: s.reads), ids=repr)
@pytest.mark.parametrize("capture", [False, True], ids=["content-off", "content-on"])
def test_a_mapping_reads_only_what_its_surface_declares(surface: Surface, capture: bool) -> None:
    params = RecordingParams()
    read_by_start(surface, params)
    invocation = start(surface)
    surface.apply_request(invocation, params, capture)
    invocation.stop()
    declared = set(surface.reads) | set(surface.reads_via_kwargs)
    assert params.read - declared == set(), surface.operation_name
    # binary inputs (an audio file, an image to edit) are bound but never read
    assert declared & set(surface.positional) == set(surface.positional) - {"file", "image"}


def test_every_declared_parameter_is_read_somewhere() -> None:
    """A declaration nobody reads would hold LiteLLM to a parameter for nothing."""
    read: set[str] = set()
    for surface in SURFACES:
        for capture in (False, True):
            params = RecordingParams()
            read_by_start(surface, params)
            invocation = start(surface)
            read_by_start(surface, params)
            surface.apply_request(invocation, params, capture)
            invocation.stop()
            read |= params.read
    declared = {p for s in SURFACES for p in (*s.reads, *s.reads_via_kwargs)}
    # an MCP session is bound by position only: nothing of it is read
    assert declared - read - ROUTING - {"metadata", "input", "model", "session"} == set()
