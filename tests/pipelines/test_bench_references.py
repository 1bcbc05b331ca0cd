"""The benchmark's reference instrumentations emit what we emit (or the ratios would lie).

``bench/inline.py`` wraps LiteLLM's real calls with the floor (bare SDK) and with util-genai
alone; ``make bench`` divides our added time by theirs. These tests capture our real span
shapes the way the benchmark does, then check that each reference produces one span per call
with exactly our span's attribute names and the same metric series.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import litellm
import pytest

from tests.support.telemetry import Telemetry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import benchlib
from inline import Reference


@pytest.fixture(scope="module")
def shapes() -> dict[str, Any]:
    return benchlib.capture_shapes(None)


def _metric_series(telemetry: Telemetry) -> set[tuple[str, frozenset[Any]]]:
    series = set()
    data = telemetry.metrics.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    series.add((metric.name, frozenset(point.attributes.items())))
    return series


@pytest.mark.parametrize("kind", ["floor", "genai"])
def test_reference_emits_our_span_and_metric_series(
    kind: str, shapes: dict[str, Any], telemetry: Telemetry
) -> None:
    reference = Reference(litellm, telemetry, shapes, kind)
    reference.install()
    try:
        benchlib.chat_call(litellm)()
        asyncio.run(benchlib.achat_call(litellm)())
        benchlib.embed_call(litellm)()
    finally:
        reference.remove()
    assert not hasattr(litellm.completion, "_self_wrapper")  # removed cleanly

    spans = telemetry.finished()
    assert [span.name for span in spans] == [
        shapes["completion"]["span_name"],
        shapes["acompletion"]["span_name"],
        shapes["embedding"]["span_name"],
    ]
    for span, workload in zip(spans, ("completion", "acompletion", "embedding"), strict=True):
        shape = shapes[workload]
        expected = {**shape["start_attributes"], **shape["end_attributes"]}
        assert set(span.attributes) == set(expected), workload
        assert span.attributes["gen_ai.request.model"] == expected["gen_ai.request.model"]

    expected_series = {
        (record["name"], frozenset((k, v) for k, v in record["attributes"].items()))
        for workload in ("completion", "embedding")
        for record in shapes[workload]["records"]
    }
    assert _metric_series(telemetry) == expected_series
