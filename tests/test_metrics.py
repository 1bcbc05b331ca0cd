"""Metric points: names, units, bucket advice, and a strictly bounded attribute set."""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from opentelemetry.sdk.metrics.export import Histogram, Sum

from tests.support.litellm_release import STREAMED_RESPONSE_MODEL
from tests.support.telemetry import Telemetry, user_messages

MODEL = "openai/gpt-4o-mini"
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
ALLOWED = {
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "server.address",
    "server.port",
    "error.type",
    "gen_ai.token.type",
}


def test_duration_and_token_points(
    traced: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)

    duration = traced.metric("gen_ai.client.operation.duration")
    assert duration.unit == "s"
    (point,) = duration.data.data_points
    assert tuple(point.explicit_bounds) == DURATION_BUCKETS
    assert point.count == 1
    assert dict(point.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }

    tokens = traced.metric("gen_ai.client.token.usage")
    assert tokens.unit == "{token}"
    by_type = {p.attributes["gen_ai.token.type"]: p for p in tokens.data.data_points}
    assert set(by_type) == {"input", "output"}
    assert by_type["input"].sum == 12
    assert by_type["output"].sum == 5
    assert tuple(by_type["input"].explicit_bounds) == TOKEN_BUCKETS


@pytest.mark.parametrize("mode", ["default", "latest"])
@pytest.mark.parametrize("capture", [False, True])
def test_metric_attributes_are_bounded(
    instrument: Any,
    monkeypatch: pytest.MonkeyPatch,
    call_args: dict[str, Any],
    capture: bool,
    mode: str,
) -> None:
    if mode == "latest":
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    telemetry = instrument(capture_content=capture)
    litellm.completion(
        model=MODEL,
        messages=user_messages(),
        temperature=0.2,
        metadata={"user": "u-1"},
        user="end-user-7",
        **call_args,
    )
    list(litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args))
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/error-429", messages=user_messages(), **call_args)
    litellm.embedding(model="openai/text-embedding-3-small", input=["a"], **call_args)
    expected = LATEST_METRICS if mode == "latest" else DEFAULT_METRICS
    allowed = ALLOWED | {"gen_ai.token.modality"} if mode == "latest" else ALLOWED
    for name in expected:
        if name == "gen_ai.client.operation.duration" and mode == "latest":
            continue  # no call of another operation here
        points = telemetry.metric_points(name)
        assert points, name
        for point in points:
            assert set(point.attributes) <= allowed, (name, set(point.attributes) - allowed)


def test_failed_call_duration_has_error_type_and_no_tokens(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(model="openai/error-401", messages=user_messages(), **call_args)
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "AuthenticationError"
    assert traced.metric_points("gen_ai.client.token.usage") == []


def test_same_model_calls_share_one_series(traced: Telemetry) -> None:
    for _ in range(5):
        litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    (point,) = traced.metric_points("gen_ai.client.operation.duration")
    assert point.count == 5


# --- both modes, metric by metric (docs/conventions.md) ------------------------------------

LATEST = "gen_ai_latest_experimental"
EMBEDDING_MODEL = "openai/text-embedding-3-small"
TEXT_MODEL = "openai/gpt-3.5-turbo-instruct"
COST = "litellm.client.cost.usd"
USAGE_COUNTERS = (
    "gen_ai.client.inference.usage.input_tokens",
    "gen_ai.client.inference.usage.output_tokens",
    "gen_ai.client.inference.usage.cache_read.input_tokens",
    "gen_ai.client.inference.usage.cache_write.input_tokens",
    "gen_ai.client.inference.usage.reasoning.output_tokens",
)
#: name → (histogram or counter, unit, bucket boundaries) in each mode.
DEFAULT_METRICS: dict[str, tuple[str, str, tuple[float, ...] | None]] = {
    "gen_ai.client.operation.duration": ("histogram", "s", DURATION_BUCKETS),
    "gen_ai.client.token.usage": ("histogram", "{token}", TOKEN_BUCKETS),
    "gen_ai.client.operation.time_to_first_chunk": ("histogram", "s", DURATION_BUCKETS),
    "gen_ai.client.operation.time_per_output_chunk": ("histogram", "s", DURATION_BUCKETS),
    COST: ("counter", "{USD}", None),
}
LATEST_METRICS: dict[str, tuple[str, str, tuple[float, ...] | None]] = {
    "gen_ai.client.inference.duration": ("histogram", "s", DURATION_BUCKETS),
    "gen_ai.client.embeddings.duration": ("histogram", "s", DURATION_BUCKETS),
    "gen_ai.client.operation.duration": ("histogram", "s", DURATION_BUCKETS),
    "gen_ai.client.inference.time_to_first_chunk": ("histogram", "s", DURATION_BUCKETS),
    "gen_ai.client.inference.time_per_output_chunk": ("histogram", "s", DURATION_BUCKETS),
    **dict.fromkeys(USAGE_COUNTERS, ("counter", "{token}", None)),
    "gen_ai.client.inference.operation.input_tokens": ("histogram", "{token}", TOKEN_BUCKETS),
    "gen_ai.client.inference.operation.output_tokens": ("histogram", "{token}", TOKEN_BUCKETS),
    "gen_ai.client.embeddings.operation.input_tokens": ("histogram", "{token}", TOKEN_BUCKETS),
    COST: ("counter", "{USD}", None),
}


def base(server: Any, operation: str = "chat", model: str = "gpt-4o-mini", **extra: Any) -> dict:
    """The attributes every point of one call carries."""
    response_model = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}.get(model, model)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "gen_ai.response.model": response_model,
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }
    attributes.update(extra)
    return {k: v for k, v in attributes.items() if v is not None}


def names(telemetry: Telemetry) -> set[str]:
    data = telemetry.metrics.get_metrics_data()
    return {
        metric.name
        for resource_metrics in (data.resource_metrics if data else ())
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }


def values(telemetry: Telemetry, name: str) -> list[tuple[dict[str, Any], Any]]:
    """(attributes, value) per point: a counter's value, a histogram's (count, sum)."""
    return [
        (
            dict(point.attributes),
            point.value if hasattr(point, "value") else (point.count, point.sum),
        )
        for point in telemetry.metric_points(name)
    ]


def mixed_workload(call_args: dict[str, Any]) -> None:
    """One call of each kind: chat, streamed chat (with usage), text completion, Responses,
    embeddings, image generation, a failed call and one without usage."""
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    list(
        litellm.completion(
            model=MODEL,
            messages=user_messages(),
            stream=True,
            stream_options={"include_usage": True},
            **call_args,
        )
    )
    litellm.text_completion(model=TEXT_MODEL, prompt="Say hi", **call_args)
    litellm.responses(input="hi", model=MODEL, **call_args)
    litellm.embedding(model=EMBEDDING_MODEL, input=["a"], **call_args)
    litellm.image_generation(prompt="a cat", model="openai/gpt-image-1", **call_args)
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/error-429", messages=user_messages(), **call_args)
    litellm.completion(model="openai/no-usage-model", messages=user_messages(), **call_args)


@pytest.fixture
def latest(instrument: Any, monkeypatch: pytest.MonkeyPatch) -> Telemetry:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", f"http, {LATEST}")
    return instrument()


@pytest.mark.parametrize("mode", ["default", "latest"])
def test_each_mode_emits_its_names_only_with_their_instruments_units_and_buckets(
    instrument: Any, monkeypatch: pytest.MonkeyPatch, call_args: dict[str, Any], mode: str
) -> None:
    if mode == "latest":
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", LATEST)
    expected = LATEST_METRICS if mode == "latest" else DEFAULT_METRICS
    telemetry = instrument()
    mixed_workload(call_args)

    assert names(telemetry) == set(expected)
    for name, (kind, unit, buckets) in expected.items():
        metric = telemetry.metric(name)
        assert metric.unit == unit, name
        if kind == "counter":
            assert isinstance(metric.data, Sum), name
            assert metric.data.is_monotonic, name
        else:
            assert isinstance(metric.data, Histogram), name
            for point in metric.data.data_points:
                assert tuple(point.explicit_bounds) == buckets, name


def test_latest_chat_metric_by_metric(
    latest: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)

    assert names(latest) == {
        "gen_ai.client.inference.duration",
        "gen_ai.client.inference.operation.input_tokens",
        "gen_ai.client.inference.operation.output_tokens",
        *USAGE_COUNTERS,
        COST,
    }
    ((attributes, (count, _)),) = values(latest, "gen_ai.client.inference.duration")
    assert (attributes, count) == (base(server), 1)
    assert values(latest, "gen_ai.client.inference.operation.input_tokens") == [
        (base(server), (1, 12))
    ]
    assert values(latest, "gen_ai.client.inference.operation.output_tokens") == [
        (base(server), (1, 5))
    ]
    by_modality = base(server, **{"gen_ai.token.modality": "unknown"})
    counted = {name: values(latest, name) for name in USAGE_COUNTERS}
    assert counted == {
        "gen_ai.client.inference.usage.input_tokens": [(by_modality, 12)],
        "gen_ai.client.inference.usage.output_tokens": [(by_modality, 5)],
        "gen_ai.client.inference.usage.cache_read.input_tokens": [(by_modality, 4)],
        "gen_ai.client.inference.usage.cache_write.input_tokens": [(by_modality, 0)],
        "gen_ai.client.inference.usage.reasoning.output_tokens": [(by_modality, 2)],
    }
    ((cost_attributes, cost),) = values(latest, COST)
    assert cost_attributes == base(server)
    assert cost == pytest.approx(latest.only_span().attributes["litellm.response_cost"])


def test_latest_streamed_chat(latest: Telemetry, call_args: dict[str, Any], server: Any) -> None:
    chunks = list(
        litellm.completion(
            model=MODEL,
            messages=user_messages(),
            stream=True,
            stream_options={"include_usage": True},
            **call_args,
        )
    )

    # The cost LiteLLM put on its usage chunk; the oldest line we support computes none for
    # a stream, and then there is no cost point and no cost attribute.
    reported_cost = getattr(chunks[-1].usage, "cost", None)
    assert names(latest) == {
        "gen_ai.client.inference.duration",
        "gen_ai.client.inference.time_to_first_chunk",
        "gen_ai.client.inference.time_per_output_chunk",
        "gen_ai.client.inference.operation.input_tokens",
        "gen_ai.client.inference.operation.output_tokens",
        *USAGE_COUNTERS,
        *([COST] if reported_cost is not None else []),
    }
    streamed = base(server, **{"gen_ai.response.model": STREAMED_RESPONSE_MODEL})
    ((attributes, (count, _)),) = values(latest, "gen_ai.client.inference.time_to_first_chunk")
    assert (attributes, count) == (streamed, 1)
    ((attributes, (count, _)),) = values(latest, "gen_ai.client.inference.time_per_output_chunk")
    assert (attributes, count) == (streamed, len(chunks) - 1)
    assert values(latest, "gen_ai.client.inference.usage.input_tokens") == [
        ({**streamed, "gen_ai.token.modality": "unknown"}, 12)
    ]
    span = latest.only_span()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    if reported_cost is None:
        assert "litellm.response_cost" not in span.attributes
    else:
        ((_, cost),) = values(latest, COST)
        assert cost == pytest.approx(span.attributes["litellm.response_cost"])
        assert cost == pytest.approx(reported_cost)


def test_latest_text_completion_is_inference(
    latest: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    litellm.text_completion(model=TEXT_MODEL, prompt="Say hi", **call_args)

    text = base(server, "text_completion", "gpt-3.5-turbo-instruct")
    ((attributes, (count, _)),) = values(latest, "gen_ai.client.inference.duration")
    assert (attributes, count) == (text, 1)
    assert values(latest, "gen_ai.client.inference.usage.output_tokens") == [
        ({**text, "gen_ai.token.modality": "unknown"}, 5)
    ]
    assert "gen_ai.client.operation.duration" not in names(latest)


def test_latest_responses_is_chat(
    latest: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    litellm.responses(input="hi", model=MODEL, **call_args)

    ((attributes, (count, _)),) = values(latest, "gen_ai.client.inference.duration")
    assert (attributes, count) == (base(server), 1)
    by_modality = base(server, **{"gen_ai.token.modality": "unknown"})
    assert {name: values(latest, name) for name in USAGE_COUNTERS} == {
        "gen_ai.client.inference.usage.input_tokens": [(by_modality, 12)],
        "gen_ai.client.inference.usage.output_tokens": [(by_modality, 5)],
        "gen_ai.client.inference.usage.cache_read.input_tokens": [(by_modality, 4)],
        "gen_ai.client.inference.usage.cache_write.input_tokens": [(by_modality, 0)],
        "gen_ai.client.inference.usage.reasoning.output_tokens": [(by_modality, 2)],
    }


def test_latest_embeddings(latest: Telemetry, call_args: dict[str, Any], server: Any) -> None:
    litellm.embedding(model=EMBEDDING_MODEL, input=["a", "b"], **call_args)

    embeddings = base(server, "embeddings", "text-embedding-3-small")
    assert names(latest) == {
        "gen_ai.client.embeddings.duration",
        "gen_ai.client.embeddings.operation.input_tokens",
        COST,
    }
    ((attributes, (count, _)),) = values(latest, "gen_ai.client.embeddings.duration")
    assert (attributes, count) == (embeddings, 1)
    ((attributes, (count, tokens)),) = values(
        latest, "gen_ai.client.embeddings.operation.input_tokens"
    )
    assert (attributes, count) == (embeddings, 1)
    assert tokens == latest.only_span().attributes["gen_ai.usage.input_tokens"]


def test_latest_image_generation_is_not_inference(
    latest: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    litellm.image_generation(prompt="a cat", model="openai/gpt-image-1", **call_args)

    image = base(server, "image_generation", "gpt-image-1", **{"gen_ai.response.model": None})
    assert names(latest) == {"gen_ai.client.operation.duration", COST}
    ((attributes, (count, _)),) = values(latest, "gen_ai.client.operation.duration")
    assert (attributes, count) == (image, 1)


def test_latest_failed_call(latest: Telemetry, call_args: dict[str, Any], server: Any) -> None:
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/error-429", messages=user_messages(), **call_args)

    failed = base(server, model="error-429", **{"gen_ai.response.model": None})
    assert names(latest) == {"gen_ai.client.inference.duration", *USAGE_COUNTERS}
    ((attributes, (count, _)),) = values(latest, "gen_ai.client.inference.duration")
    assert (attributes, count) == ({**failed, "error.type": "RateLimitError"}, 1)
    for name in USAGE_COUNTERS:
        assert values(latest, name) == [({**failed, "gen_ai.token.modality": "unknown"}, 0)]


def test_latest_call_without_usage(
    latest: Telemetry, call_args: dict[str, Any], server: Any
) -> None:
    litellm.completion(model="openai/no-usage-model", messages=user_messages(), **call_args)

    no_usage = base(server, model="no-usage-model")
    assert "gen_ai.client.inference.operation.input_tokens" not in names(latest)
    for name in USAGE_COUNTERS:
        assert values(latest, name) == [({**no_usage, "gen_ai.token.modality": "unknown"}, 0)]


def test_zeros_are_added_once_per_series_and_counts_every_time(latest: Telemetry) -> None:
    for _ in range(3):
        litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    (point,) = latest.metric_points("gen_ai.client.inference.usage.input_tokens")
    assert point.value == 3 * latest.finished()[0].attributes["gen_ai.usage.input_tokens"]
    (point,) = latest.metric_points("gen_ai.client.inference.usage.cache_write.input_tokens")
    assert point.value == 0


@pytest.mark.parametrize("mode", ["default", "latest"])
def test_cost_counter_totals_the_spans_cost(
    instrument: Any,
    monkeypatch: pytest.MonkeyPatch,
    call_args: dict[str, Any],
    server: Any,
    mode: str,
) -> None:
    """Streams (cost on the final usage chunk), cache hits and failures (no cost) included."""
    from litellm.caching.caching import Cache

    if mode == "latest":
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", LATEST)
    telemetry = instrument()
    mixed_workload(call_args)
    litellm.cache = Cache(type="local")
    try:
        for _ in range(2):
            litellm.completion(
                model=MODEL, messages=user_messages("cache me"), caching=True, **call_args
            )
    finally:
        litellm.cache = None
    list(litellm.completion(model=MODEL, messages=user_messages(), stream=True, **call_args))

    spans = telemetry.finished()
    costs = [s.attributes.get("litellm.response_cost") for s in spans]
    assert sum(1 for s in spans if s.attributes.get("litellm.cache_hit") is True) == 1
    failed = [s for s in spans if s.attributes.get("error.type")]
    assert len(failed) == 1
    assert "litellm.response_cost" not in failed[0].attributes
    assert sum(c for c in costs if c is not None) > 0
    total = sum(value for _, value in values(telemetry, COST))
    assert total == pytest.approx(sum(c for c in costs if c is not None), rel=1e-9)
    counted: dict[str, float] = {}
    for attributes, value in values(telemetry, COST):
        assert set(attributes) <= ALLOWED
        operation = attributes["gen_ai.operation.name"]
        counted[operation] = counted.get(operation, 0) + value
    spent: dict[str, float] = {}
    for span in spans:
        cost = span.attributes.get("litellm.response_cost")
        if cost is not None:
            operation = str(span.attributes["gen_ai.operation.name"])
            spent[operation] = spent.get(operation, 0) + cost
    assert {"chat", "embeddings", "image_generation"} <= set(spent)
    assert counted == pytest.approx(spent, rel=1e-9)


def test_cost_counter_has_the_attributes_of_the_duration(
    traced: Telemetry, call_args: dict[str, Any]
) -> None:
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    ((duration, _),) = values(traced, "gen_ai.client.operation.duration")
    ((cost, _),) = values(traced, COST)
    assert cost == duration


def test_latest_counters_have_the_attributes_of_the_duration_plus_modality(
    latest: Telemetry, call_args: dict[str, Any]
) -> None:
    litellm.completion(model=MODEL, messages=user_messages(), **call_args)
    ((duration, _),) = values(latest, "gen_ai.client.inference.duration")
    for name in USAGE_COUNTERS:
        ((attributes, _),) = values(latest, name)
        assert attributes == {**duration, "gen_ai.token.modality": "unknown"}


def test_the_opt_in_is_read_at_instrument_time_only(
    instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from litellm_otel import LiteLLMInstrumentor

    def duration_names(telemetry: Telemetry) -> set[str]:
        return {n for n in names(telemetry) if n.endswith(".duration")}

    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", LATEST)
    telemetry = instrument()
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN")
    litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    assert duration_names(telemetry) == {"gen_ai.client.inference.duration"}

    LiteLLMInstrumentor().uninstrument()
    telemetry.metrics.collect()  # starts a new collection; cumulative points stay
    instrument()
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", LATEST)
    litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    assert values(telemetry, "gen_ai.client.operation.duration")[0][1][0] == 1
    ((_, (count, _)),) = values(telemetry, "gen_ai.client.inference.duration")
    assert count == 1


@pytest.mark.parametrize(
    ("opt_in", "latest_mode"),
    [
        (None, False),
        ("", False),
        ("gen_ai_latest_experimental", True),
        ("http,gen_ai_latest_experimental", True),
        (" database , gen_ai_latest_experimental ,http", True),
        ("GEN_AI_LATEST_EXPERIMENTAL", False),
        ("gen_ai_latest_experimental/dup", False),
        ("http", False),
    ],
)
def test_opt_in_list(
    instrument: Any, monkeypatch: pytest.MonkeyPatch, opt_in: str | None, latest_mode: bool
) -> None:
    if opt_in is None:
        monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    else:
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", opt_in)
    telemetry = instrument()
    litellm.completion(model=MODEL, messages=user_messages(), mock_response="x")
    expected = (
        "gen_ai.client.inference.duration" if latest_mode else "gen_ai.client.operation.duration"
    )
    assert {n for n in names(telemetry) if n.endswith(".duration")} == {expected}


def test_latest_names_with_a_global_meter_provider_set_after_instrument() -> None:
    """The renaming provider wraps the API's placeholder; the SDK's provider arriving later
    (zero-code set-ups) receives the v0.1.0 names."""
    from opentelemetry.metrics._internal import _ProxyMeterProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.util.genai.handler import TelemetryHandler

    from litellm_otel._metrics import LatestMeterProvider

    placeholder = _ProxyMeterProvider()
    handler = TelemetryHandler(meter_provider=LatestMeterProvider(placeholder))
    reader = InMemoryMetricReader()
    placeholder.on_set_meter_provider(MeterProvider(metric_readers=[reader]))
    invocation = handler.inference("openai", request_model="m")
    invocation.input_tokens = 3
    invocation.stop()
    data = reader.get_metrics_data()
    assert data is not None
    got = {
        metric.name
        for resource_metrics in data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }
    assert got == {
        "gen_ai.client.inference.duration",
        "gen_ai.client.inference.operation.input_tokens",
    }
