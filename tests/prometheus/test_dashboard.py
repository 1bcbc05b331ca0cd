"""Every query of docs/dashboards/litellm-otel.json against the Prometheus of each mode it is
written for, read from the JSON (not copied), and the values the traffic makes certain."""

from __future__ import annotations

import math

import pytest

from tests.prometheus.stack import (
    CALLS,
    FAILED_CALLS,
    MODES,
    PanelQuery,
    Stack,
    as_sent,
    finite,
    panel_queries,
    why_empty,
)
from tests.support.loopback_server import CACHED_TOKENS, PROMPT_TOKENS

pytestmark = pytest.mark.prometheus

QUERIES = panel_queries()
CASES = [(query, mode) for query in QUERIES for mode in query.modes]


def test_the_dashboard_has_the_queries_the_docs_list() -> None:
    # A guard on the parametrisation below: a dashboard that lost its panels would pass it.
    assert len(QUERIES) >= 20
    assert {q.ref.split("_")[0] for q in QUERIES} >= {"default", "latest"}


@pytest.mark.parametrize(
    ("query", "mode"), CASES, ids=[f"{q.panel} [{q.ref}] {m}" for q, m in CASES]
)
def test_panel_query_returns_series(stack: Stack, query: PanelQuery, mode: str) -> None:
    prometheus = stack.prometheus(mode)
    result = prometheus.query(as_sent(query.expr))
    assert result, f"{query.panel} [{query.ref}]: no series\n{why_empty(prometheus, query.expr)}"
    assert finite(result), f"{query.panel} [{query.ref}]: only NaN/Inf: {result}"


def test_every_call_is_counted_once_in_both_modes(stack: Stack) -> None:
    """The union of the duration metrics the panels read counts each call exactly once: the
    default mode's one metric and the latest mode's three add up to the calls sent."""
    for mode in MODES:
        prometheus = stack.prometheus(mode)
        calls = prometheus.by(
            f"sum by (litellm_proxy_key_alias) ({CALLS})", "litellm_proxy_key_alias"
        )
        assert calls == stack.traffic.calls(), (mode, calls, why_empty(prometheus, CALLS))
        errors = prometheus.by(
            f"sum by (gen_ai_request_model, error_type) ({FAILED_CALLS})",
            "gen_ai_request_model",
        )
        assert errors == {"error-500": stack.traffic.ERRORS_PER_PHASE * stack.traffic.phases}, mode


def test_latest_mode_splits_calls_by_kind(stack: Stack) -> None:
    latest = stack.prometheus("latest")
    by_name = latest.by(f"count by (__name__) ({CALLS})", "__name__")
    assert set(by_name) == {
        "gen_ai_client_inference_duration_seconds_count",
        "gen_ai_client_embeddings_duration_seconds_count",
    }, why_empty(latest, CALLS)
    default = stack.prometheus("default")
    assert set(default.by(f"count by (__name__) ({CALLS})", "__name__")) == {
        "gen_ai_client_operation_duration_seconds_count"
    }


def test_no_name_is_emitted_in_both_modes(stack: Stack) -> None:
    """What lets one dashboard serve both modes without double counting."""
    default_only = ("gen_ai_client_token_usage", "gen_ai_client_operation_")
    latest_only = ("gen_ai_client_inference_", "gen_ai_client_embeddings_")
    default_names = stack.prometheus("default").names()
    latest_names = stack.prometheus("latest").names()
    assert [n for n in default_names if n.startswith(latest_only)] == []
    # The latest mode keeps gen_ai.client.operation.duration for image, audio, rerank and
    # moderation calls; this traffic has none.
    assert [n for n in latest_names if n.startswith(default_only)] == []
    assert any(n.startswith(latest_only) for n in latest_names), why_empty(
        stack.prometheus("latest"), CALLS
    )


def test_tokens_agree_between_the_modes(stack: Stack) -> None:
    """Chat input tokens: the default histogram's sum and the latest counter count the same
    tokens (each successful chat call, cache hits and the stream included, reports 12)."""
    default = stack.prometheus("default").value(
        "sum(gen_ai_client_token_usage_sum"
        '{gen_ai_token_type="input", gen_ai_operation_name="chat"})'
    )
    latest = stack.prometheus("latest").value(
        "sum(gen_ai_client_inference_usage_input_tokens_total)"
    )
    assert default == latest
    assert default > 0
    assert default % PROMPT_TOKENS == 0


def test_prompt_cache_share_is_what_the_provider_reported(stack: Stack) -> None:
    """The loopback server reports 4 of every 12 prompt tokens as cached."""
    query = next(q for q in QUERIES if q.ref == "latest_cache_read")
    shares = stack.prometheus("latest").by(as_sent(query.expr), "gen_ai_request_model")
    assert shares, why_empty(stack.prometheus("latest"), query.expr)
    for model, share in shares.items():
        assert math.isclose(share, CACHED_TOKENS / PROMPT_TOKENS, rel_tol=1e-9), (model, share)


def test_cost_agrees_between_the_modes(stack: Stack) -> None:
    """The same calls cost the same in both modes; LiteLLM's cache hits and the failed call
    add nothing, so every key's cost is positive and the failed model has none."""
    costs: dict[str, dict[str, float]] = {}
    for mode in MODES:
        prometheus = stack.prometheus(mode)
        expr = "sum by (litellm_proxy_key_alias) (litellm_client_cost_usd_total)"
        costs[mode] = prometheus.by(expr, "litellm_proxy_key_alias")
        assert set(costs[mode]) == {"alpha-key", "beta-key"}, why_empty(prometheus, expr)
        assert all(cost > 0 for cost in costs[mode].values()), costs[mode]
        failed = 'litellm_client_cost_usd_total{gen_ai_request_model="error-500"} > 0'
        assert not prometheus.query(failed)
    for alias, cost in costs["default"].items():
        assert math.isclose(cost, costs["latest"][alias], rel_tol=1e-9), costs


def test_team_and_key_panels_break_down_by_the_callers(stack: Stack) -> None:
    proxy_queries = [q for q in QUERIES if "by team" in q.panel or "by key alias" in q.panel]
    assert len(proxy_queries) >= 6
    for mode in MODES:
        prometheus = stack.prometheus(mode)
        for query in proxy_queries:
            if mode not in query.modes:
                continue
            if "by team" in query.panel:
                label, want = "litellm_proxy_team_id", {"team-a", "team-b"}
            else:
                label, want = "litellm_proxy_key_alias", {"alpha-key", "beta-key"}
            values = set(prometheus.by(as_sent(query.expr), label))
            assert values == want, (mode, query, values, why_empty(prometheus, query.expr))


def test_the_cache_hits_reached_no_provider(stack: Stack) -> None:
    """The repeated prompt reached the loopback server once per Proxy and phase: the other
    calls were LiteLLM cache hits, which the call counts above include."""
    repeated = [
        r
        for r in stack.loopback.requests
        if r.body and f"{stack.traffic.run} " in str(r.body) and "alpha one" in str(r.body)
    ]
    assert len(repeated) == len(MODES) * stack.traffic.phases
