"""LiteLLM Proxy: one GenAI span per proxied call, with who asked — never the key.

The first tests check in-process how ``litellm_otel.proxy`` reads the proxy's data (fast,
part of every run). The ``proxy``-marked ones run end to end, each against both ways of
loading the instrumentation (the ``proxy`` fixture in ``conftest.py``): the
``opentelemetry-instrument`` launcher, and the ``litellm_settings`` callback. Every request
carries a client ``traceparent`` with a fresh trace id, so a test finds exactly its own spans
among everything the receiver got, and can check that the trace continues from the client
through the proxy's HTTP server span into our spans.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import litellm
import pytest
from fastapi import HTTPException
from litellm.proxy._types import ProxyException

from litellm_otel.proxy import integration
from litellm_otel.proxy.identity import OTHER, MetricIdentity, request_attributes
from litellm_otel.proxy.refusals import ProxyCallback, is_refusal, rejection_reason
from tests.proxy.conftest import CLAUDE, METRIC_IDENTITY_LIMIT, SCOPE, Proxy
from tests.support.leaks import key_forms
from tests.support.otlp_receiver import SpanRecord
from tests.support.telemetry import Telemetry

MESSAGES = [{"role": "user", "content": "Say hello through the proxy"}]
#: LiteLLM's cost of one loopback chat call (12 in / 5 out tokens of gpt-4o-mini).
CHAT_COST = 4.5e-06


# -- in-process: what is read, what is refused --------------------------------------------

SECRET_KEY = "sk-virtual-SECRET-91ab"
KEY_HASH = hashlib.sha256(SECRET_KEY.encode()).hexdigest()


def proxied_call_params() -> dict[str, Any]:
    """Keyword arguments as the proxy passes them to ``litellm.acompletion`` (1.106.2)."""
    return {
        "model": "openai/gpt-4o-mini",
        "api_key": "sk-upstream-SECRET",
        "user": "end-user-42",
        "metadata": {
            "user_api_key_request_route": "/v1/chat/completions",
            "user_api_key": KEY_HASH,
            "user_api_key_hash": KEY_HASH,
            "user_api_key_auth": SimpleNamespace(api_key=KEY_HASH, token=KEY_HASH),
            "headers": {"authorization": f"Bearer {SECRET_KEY}"},
            "user_api_key_alias": "team-a-key",
            "user_api_key_team_id": "team-a",
            "user_api_key_team_alias": None,
            "user_api_key_user_id": "user-1",
            "user_api_key_end_user_id": "end-user-42",
            "user_api_key_spend": 1.5,
            "model_group": "gpt-4o-mini",
        },
        "proxy_server_request": {
            "headers": {"authorization": f"Bearer {SECRET_KEY}"},
            "body": {"model": "gpt-4o", "messages": MESSAGES},
        },
    }


def test_request_attributes_read_only_the_allow_list() -> None:
    params = proxied_call_params()
    attributes = request_attributes(params)
    assert attributes == {
        "litellm.proxy.key_alias": "team-a-key",
        "litellm.proxy.team_id": "team-a",
        "litellm.proxy.user_id": "user-1",
        "litellm.proxy.end_user_id": "end-user-42",
        "litellm.proxy.model_group": "gpt-4o-mini",
        "litellm.proxy.requested_model": "gpt-4o",
    }
    assert not [s for s in (SECRET_KEY, KEY_HASH, "sk-upstream") if s in repr(attributes)]


def test_calls_outside_the_proxy_get_nothing() -> None:
    assert request_attributes({"model": "gpt-4o-mini"}) == {}
    # ``metadata`` of a plain SDK call, even with look-alike keys: not the proxy's
    assert request_attributes({"metadata": {"user_api_key_alias": "x"}}) == {}


def test_client_controlled_values_are_capped() -> None:
    params = proxied_call_params()
    params["metadata"]["user_api_key_end_user_id"] = "u" * 10_000
    attributes = request_attributes(params)
    assert len(attributes["litellm.proxy.end_user_id"]) == 256


def with_identity(params: dict[str, Any], i: int) -> dict[str, Any]:
    metadata = params["metadata"]
    metadata.update(
        user_api_key_alias=f"key-{i}",
        user_api_key_team_id=f"team-{i % 3}",
        user_api_key_user_id=f"user-{i}",
    )
    return params


def test_metric_identity_reads_the_allow_list() -> None:
    identity = MetricIdentity(("key_alias", "team_id", "team_alias", "user_id"), 100)
    attributes = identity.attributes(proxied_call_params())
    assert attributes == {
        "litellm.proxy.key_alias": "team-a-key",
        "litellm.proxy.team_id": "team-a",
        "litellm.proxy.user_id": "user-1",
    }
    assert identity.attributes({"model": "gpt-4o-mini"}) == {}
    assert not MetricIdentity((), 100)


def test_metric_identity_folds_values_past_the_ceiling() -> None:
    identity = MetricIdentity(("key_alias", "team_id", "user_id"), 5)
    seen = [identity.attributes(with_identity(proxied_call_params(), i)) for i in range(12)]
    assert [a["litellm.proxy.key_alias"] for a in seen] == [
        *(f"key-{i}" for i in range(5)),
        *[OTHER] * 7,
    ]
    # three teams: all under the ceiling, each kept
    assert {a["litellm.proxy.team_id"] for a in seen} == {"team-0", "team-1", "team-2"}
    # a value kept once stays kept
    again = identity.attributes(with_identity(proxied_call_params(), 2))
    assert again["litellm.proxy.key_alias"] == "key-2"


def test_metric_identity_ceiling_holds_across_threads() -> None:
    identity = MetricIdentity(("key_alias",), 10)

    def call(i: int) -> str:
        return identity.attributes(with_identity(proxied_call_params(), i))[
            "litellm.proxy.key_alias"
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        values = list(pool.map(call, range(2000)))
    kept = set(values) - {OTHER}
    assert len(kept) == 10
    assert values.count(OTHER) == 1990


def test_proxied_calls_carry_bounded_identity_on_every_metric(
    instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the Proxy, cost and tokens by key alias, team and user, with at most the limit
    of distinct values per attribute; the spans keep every value."""
    monkeypatch.setattr(integration, "running_in_proxy", lambda: True)
    telemetry = instrument(proxy_metric_identity_limit=4)
    for i in range(10):
        params = with_identity(proxied_call_params(), i)
        params["metadata"] = {
            k: v for k, v in params["metadata"].items() if isinstance(v, (str, type(None)))
        }
        params.pop("proxy_server_request")
        litellm.completion(messages=MESSAGES, mock_response="hi", **params)
    spans = telemetry.finished()
    assert {s.attributes["litellm.proxy.key_alias"] for s in spans} == {
        f"key-{i}" for i in range(10)
    }
    names = (
        "litellm.client.cost.usd",
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
    )
    for name in names:
        points = telemetry.metric_points(name)
        aliases = {p.attributes["litellm.proxy.key_alias"] for p in points}
        assert aliases == {"key-0", "key-1", "key-2", "key-3", OTHER}, name
        users = {p.attributes["litellm.proxy.user_id"] for p in points}
        assert users == {"user-0", "user-1", "user-2", "user-3", OTHER}, name
        assert {p.attributes["litellm.proxy.team_id"] for p in points} == {
            "team-0",
            "team-1",
            "team-2",
        }
        for point in points:
            assert "litellm.proxy.end_user_id" not in point.attributes
    cost = sum(p.value for p in telemetry.metric_points("litellm.client.cost.usd"))
    assert cost == pytest.approx(sum(s.attributes["litellm.response_cost"] for s in spans))
    other = [
        p
        for p in telemetry.metric_points("gen_ai.client.operation.duration")
        if p.attributes["litellm.proxy.key_alias"] == OTHER
    ]
    assert sum(p.count for p in other) == 6


def test_identity_stays_off_metrics_when_the_list_is_empty(
    instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(integration, "running_in_proxy", lambda: True)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_PROXY_METRIC_IDENTITY", "")
    telemetry = instrument()
    params = proxied_call_params()
    params.pop("proxy_server_request")
    params["metadata"] = {"user_api_key_request_route": "/chat", "user_api_key_alias": "k"}
    litellm.completion(messages=MESSAGES, mock_response="hi", **params)
    assert telemetry.only_span().attributes["litellm.proxy.key_alias"] == "k"
    (point,) = telemetry.metric_points("litellm.client.cost.usd")
    assert not [k for k in point.attributes if k.startswith("litellm.proxy.")]


@pytest.mark.parametrize(
    ("exception", "reason"),
    [
        (ProxyException("Invalid key", "auth_error", "api_key", 401), "auth"),
        (ProxyException("Expired", "expired_key", None, 401), "auth"),
        (ProxyException("over", "budget_exceeded", None, 400), "budget"),
        (litellm.BudgetExceededError(current_cost=2.0, max_budget=1.0), "budget"),
        (HTTPException(status_code=429, detail=f"limit for api_key: {KEY_HASH}"), "rate_limit"),
        (ProxyException("no", "key_model_access_denied", "model", 401), "access"),
        (HTTPException(status_code=400, detail="Invalid model name"), "invalid_request"),
        (ProxyException("boom", "internal_server_error", None, 500), "other"),
    ],
)
def test_refusals_and_their_reason(exception: Exception, reason: str) -> None:
    assert is_refusal(exception)
    assert rejection_reason(exception) == reason


def test_provider_errors_are_not_refusals() -> None:
    """An upstream 429 is the provider's: its GenAI span already carries the error."""
    upstream = litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o-mini")
    assert not is_refusal(upstream)
    assert not is_refusal(ValueError("bug"))


def test_refusal_span(telemetry: Telemetry) -> None:
    callback = ProxyCallback(telemetry.tracer_provider)
    request_data = {
        "model": "text-embedding-3-small",
        "litellm_call_id": "call-1",
        "metadata": {"user_api_key_hash": KEY_HASH, "user_api_key_team_id": "team-a"},
    }
    identity = SimpleNamespace(
        api_key=KEY_HASH, token=KEY_HASH, key_alias="limited-key", request_route="/v1/embeddings"
    )
    exception = HTTPException(
        status_code=429, detail=f"Rate limit exceeded for api_key: {KEY_HASH}"
    )
    callback.record_refusal(request_data, exception, identity)
    callback.record_refusal(request_data, exception, identity)  # listed twice: still one span
    span = telemetry.only_span()
    assert span.name == "proxy rejected embeddings"
    assert span.status.description == "rate_limit"  # not the message: it has the key hash
    assert span.events == ()
    assert dict(span.attributes or {}) == {
        "litellm.proxy.key_alias": "limited-key",
        "litellm.proxy.team_id": "team-a",
        "litellm.proxy.requested_model": "text-embedding-3-small",
        "litellm.proxy.rejection_reason": "rate_limit",
        "error.type": "HTTPException",
        "http.response.status_code": 429,
    }


def test_registering_the_refusal_callback_is_idempotent() -> None:
    fake_litellm = SimpleNamespace(callbacks=[])
    integration.register(fake_litellm)
    integration.register(fake_litellm)
    assert fake_litellm.callbacks == [integration.callback()]
    integration.unregister(fake_litellm)
    assert fake_litellm.callbacks == []


# -- end to end: a real proxy process ------------------------------------------------------


def traceparent() -> tuple[str, str, dict[str, str]]:
    """A client span context: trace id, span id, and the header that carries them."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, {"traceparent": f"00-{trace_id}-{span_id}-01"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ours(spans: list[SpanRecord], kind: str = "CLIENT") -> list[SpanRecord]:
    return [s for s in spans if s.scope_name == SCOPE and s.kind == kind]


def has_server_and(kind: str) -> Any:
    """Predicate: the trace has its (last-ending) HTTP server span and a span of ours."""
    return lambda spans: bool(ours(spans, kind)) and any(s.kind == "SERVER" for s in spans)


def proxy_attributes(span: SpanRecord) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith("litellm.proxy.")}


def ancestors(span: SpanRecord, spans: list[SpanRecord]) -> list[SpanRecord]:
    by_id = {s.span_id: s for s in spans}
    chain: list[SpanRecord] = []
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span)
    return chain


def check_continues_client_trace(
    span: SpanRecord, spans: list[SpanRecord], client_span_id: str, *, via: list[str]
) -> None:
    """``span`` descends, through ``via`` (span names), from the server span of the request,
    whose parent is the client's span: the client's ``traceparent`` reached our span."""
    chain = ancestors(span, spans)
    assert [s.name for s in chain[:-1]] == via, [(s.scope_name, s.name) for s in chain]
    server = chain[-1]
    assert server.kind == "SERVER", server
    assert server.scope_name == "opentelemetry.instrumentation.fastapi"
    assert server.parent_span_id == client_span_id
    assert span.start_time_unix_nano >= server.start_time_unix_nano
    assert span.end_time_unix_nano <= server.end_time_unix_nano


TEAM_A = {
    "litellm.proxy.key_alias": "team-a-key",
    "litellm.proxy.team_id": "team-a",
    "litellm.proxy.team_alias": "Team A",
    "litellm.proxy.user_id": "user-1",
}


@pytest.mark.proxy
def test_chat(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            "/v1/chat/completions",
            headers={**auth(proxy.keys.team), **header},
            json={"model": "gpt-4o-mini", "messages": MESSAGES, "user": "end-user-42"},
        )
    assert response.status_code == 200, response.text
    spans = proxy.trace(trace_id, has_server_and("CLIENT"))
    (chat,) = ours(spans)
    assert chat.name == "chat gpt-4o-mini"
    assert chat.status_code == "UNSET"
    assert proxy_attributes(chat) == {
        **TEAM_A,
        "litellm.proxy.end_user_id": "end-user-42",
        "litellm.proxy.model_group": "gpt-4o-mini",
        "litellm.proxy.requested_model": "gpt-4o-mini",
    }
    # The proxy's spend for this request is LiteLLM's cost, already on the GenAI span.
    assert chat.attributes["litellm.response_cost"] == pytest.approx(CHAT_COST)
    assert float(response.headers["x-litellm-response-cost"]) == pytest.approx(CHAT_COST)
    assert chat.attributes["gen_ai.usage.input_tokens"] == 12
    assert chat.attributes["server.address"] == "127.0.0.1"
    check_continues_client_trace(chat, spans, client_span_id, via=["router chat gpt-4o-mini"])


@pytest.mark.proxy
def test_fallback_keeps_the_requested_model(proxy: Proxy) -> None:
    """``flaky`` fails (500) and the Router falls back to the ``gpt-4o-mini`` group: each
    attempt's span names the group it was served from and the model the client asked for."""
    trace_id, _, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            "/v1/chat/completions",
            headers={**auth(proxy.keys.team), **header},
            json={"model": "flaky", "messages": MESSAGES},
        )
    assert response.status_code == 200, response.text
    spans = proxy.trace(trace_id, lambda s: len(ours(s)) == 2 and has_server_and("CLIENT")(s))
    failed, answered = sorted(ours(spans), key=lambda s: s.start_time_unix_nano)
    assert failed.name == "chat error-500"
    assert failed.attributes["error.type"] == "InternalServerError"
    assert proxy_attributes(failed) == {
        **TEAM_A,
        "litellm.proxy.model_group": "flaky",
        "litellm.proxy.requested_model": "flaky",
    }
    assert answered.name == "chat gpt-4o-mini"
    assert answered.status_code == "UNSET"
    assert proxy_attributes(answered) == {
        **TEAM_A,
        "litellm.proxy.model_group": "gpt-4o-mini",
        "litellm.proxy.requested_model": "flaky",
    }
    # Only the attempt that answered has a cost: the proxy's spend for the request.
    assert answered.attributes["litellm.response_cost"] == pytest.approx(CHAT_COST)
    assert "litellm.response_cost" not in failed.attributes


@pytest.mark.proxy
def test_streaming_chat(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with (
        proxy.client() as client,
        client.stream(
            "POST",
            "/v1/chat/completions",
            headers={**auth(proxy.keys.team), **header},
            json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True, "user": "u-7"},
        ) as response,
    ):
        assert response.status_code == 200
        events = [line for line in response.iter_lines() if line.startswith("data:")]
    assert events[-1] == "data: [DONE]"
    spans = proxy.trace(trace_id, has_server_and("CLIENT"))
    (chat,) = ours(spans)  # one span for the whole stream
    assert chat.status_code == "UNSET"
    assert chat.attributes["gen_ai.request.stream"] is True
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert chat.attributes["gen_ai.usage.output_tokens"] == 5
    assert chat.attributes["litellm.response_cost"] == pytest.approx(CHAT_COST)
    assert "litellm.stream.closed_early" not in chat.attributes
    assert proxy_attributes(chat) == {
        **TEAM_A,
        "litellm.proxy.end_user_id": "u-7",
        "litellm.proxy.model_group": "gpt-4o-mini",
        "litellm.proxy.requested_model": "gpt-4o-mini",
    }
    # Ended with the stream, inside the server span (which ends after the last byte).
    check_continues_client_trace(chat, spans, client_span_id, via=["router chat gpt-4o-mini"])


@pytest.mark.proxy
def test_streaming_client_disconnects(proxy: Proxy) -> None:
    """The client hangs up after the first event: the span ends then, as closed early."""
    trace_id, _, header = traceparent()
    with (
        proxy.client() as client,
        client.stream(
            "POST",
            "/v1/chat/completions",
            headers={**auth(proxy.keys.team), **header},
            json={"model": "slow", "messages": MESSAGES, "stream": True},
        ) as response,
    ):
        assert response.status_code == 200
        first = next(response.iter_lines())
        assert first.startswith("data:")
    spans = proxy.trace(trace_id, has_server_and("CLIENT"))
    (chat,) = ours(spans)
    assert chat.name == "chat slow-stream"
    assert chat.attributes["litellm.stream.closed_early"] is True
    assert chat.status_code == "UNSET"  # the client left; the call did not fail
    assert "gen_ai.response.finish_reasons" not in chat.attributes
    assert proxy_attributes(chat)["litellm.proxy.model_group"] == "slow"


@pytest.mark.proxy
def test_anthropic_messages(proxy: Proxy) -> None:
    """``/v1/messages``: one chat span, the caller's identity on it, in the client's trace."""
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            "/v1/messages",
            headers={**auth(proxy.keys.team), **header},
            json={"model": "claude", "max_tokens": 10, "messages": MESSAGES},
        )
    assert response.status_code == 200, response.text
    assert response.json()["content"] == [{"type": "text", "text": "Hello from loopback"}]
    spans = proxy.trace(trace_id, has_server_and("CLIENT"))
    (chat,) = ours(spans)
    assert chat.name == f"chat {CLAUDE}"
    assert chat.status_code == "UNSET"
    attributes = {k: v for k, v in chat.attributes.items() if not k.startswith("litellm.proxy.")}
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": CLAUDE,
        "gen_ai.request.max_tokens": 10,
        "server.address": "127.0.0.1",
        "server.port": attributes["server.port"],
        "gen_ai.response.id": response.json()["id"],
        "gen_ai.response.model": CLAUDE,
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 4,
        "litellm.provider": "anthropic",
        "litellm.request.model": f"anthropic/{CLAUDE}",
        # the reply's usage priced with LiteLLM's pricing: the Proxy's own charge for it
        "litellm.response_cost": float(response.headers["x-litellm-response-cost"]),
    }
    assert attributes["litellm.response_cost"] > 0

    def claude_cost() -> float | None:
        # the counter's latest total for this Proxy's only Messages call that was answered
        totals = [
            point.value
            for record in proxy.receiver.metric_records()
            if record.name == "litellm.client.cost.usd"
            and record.scope_name == SCOPE
            and record.resource_attributes.get("service.name") == proxy.service_name
            for point in record.points
            if point.attributes.get("gen_ai.request.model") == CLAUDE
        ]
        return max(totals) if totals else None

    assert proxy.receiver.wait_for(claude_cost, timeout=20) == attributes["litellm.response_cost"]
    assert proxy_attributes(chat) == {
        **TEAM_A,
        "litellm.proxy.model_group": "claude",
        "litellm.proxy.requested_model": "claude",
    }
    check_continues_client_trace(chat, spans, client_span_id, via=["router chat claude"])


@pytest.mark.proxy
def test_anthropic_messages_wrong_key_is_refused(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            "/v1/messages",
            headers={**auth(proxy.keys.wrong), **header},
            json={"model": "claude", "max_tokens": 10, "messages": MESSAGES},
        )
    assert response.status_code == 401, response.text
    span, spans = refusal(proxy, trace_id)
    assert span.name == "proxy rejected chat"
    assert span.status_message == "auth"
    assert span.attributes == {
        "litellm.proxy.requested_model": "claude",
        "litellm.proxy.rejection_reason": "auth",
        "error.type": "ProxyException",
        "http.response.status_code": 401,
    }
    check_continues_client_trace(span, spans, client_span_id, via=[])


@pytest.mark.proxy
def test_embeddings(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            "/v1/embeddings",
            headers={**auth(proxy.keys.master), **header},
            json={"model": "text-embedding-3-small", "input": "hello"},
        )
    assert response.status_code == 200, response.text
    spans = proxy.trace(trace_id, has_server_and("CLIENT"))
    (embeddings,) = ours(spans)
    assert embeddings.name == "embeddings text-embedding-3-small"
    assert embeddings.attributes["gen_ai.usage.input_tokens"] == 3
    # The master key has no alias, team or user: nothing is made up for it.
    assert proxy_attributes(embeddings) == {
        "litellm.proxy.model_group": "text-embedding-3-small",
        "litellm.proxy.requested_model": "text-embedding-3-small",
    }
    check_continues_client_trace(
        embeddings, spans, client_span_id, via=["router embeddings text-embedding-3-small"]
    )


def refusal(proxy: Proxy, trace_id: str) -> tuple[SpanRecord, list[SpanRecord]]:
    spans = proxy.trace(trace_id, has_server_and("INTERNAL"))
    (span,) = [s for s in ours(spans, "INTERNAL") if s.name.startswith("proxy rejected")]
    # No provider call happened: no GenAI span, no Router span.
    assert ours(spans) == [], [s.name for s in ours(spans)]
    assert not [s for s in ours(spans, "INTERNAL") if s.name.startswith("router")]
    assert span.status_code == "ERROR"
    assert span.events == []  # no exception event: LiteLLM's messages can embed the key hash
    return span, spans


@pytest.mark.proxy
def test_wrong_key_is_refused(proxy: Proxy) -> None:
    trace_id, client_span_id, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            "/v1/chat/completions",
            headers={**auth(proxy.keys.wrong), **header},
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
        )
    assert response.status_code == 401, response.text
    span, spans = refusal(proxy, trace_id)
    assert span.name == "proxy rejected chat"
    assert span.status_message == "auth"
    assert span.attributes == {
        "litellm.proxy.requested_model": "gpt-4o-mini",
        "litellm.proxy.rejection_reason": "auth",
        "error.type": "ProxyException",
        "http.response.status_code": 401,
    }
    check_continues_client_trace(span, spans, client_span_id, via=[])


@pytest.mark.proxy
def test_rate_limit_refusal(proxy: Proxy) -> None:
    """The key allows 1 request per minute: the second one is refused with 429."""
    with proxy.client() as client:
        first = client.post(
            "/v1/chat/completions",
            headers=auth(proxy.keys.limited),
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
        )
        assert first.status_code == 200, first.text
        trace_id, _, header = traceparent()
        second = client.post(
            "/v1/chat/completions",
            headers={**auth(proxy.keys.limited), **header},
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
        )
    assert second.status_code == 429, second.text
    span, _ = refusal(proxy, trace_id)
    assert span.attributes == {
        "litellm.proxy.key_alias": "limited-key",
        "litellm.proxy.user_id": "user-3",
        "litellm.proxy.requested_model": "gpt-4o-mini",
        "litellm.proxy.rejection_reason": "rate_limit",
        "error.type": "ProxyRateLimitError",
        "http.response.status_code": 429,
    }


@pytest.mark.proxy
def test_budget_refusal(proxy: Proxy) -> None:
    """The key's budget for gpt-4o-mini is below one call's cost: once LiteLLM has counted
    the first call's spend (asynchronously, after the response), the key is refused."""
    with proxy.client() as client:
        first = client.post(
            "/v1/chat/completions",
            headers=auth(proxy.keys.budget),
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
        )
        assert first.status_code == 200, first.text
        for _ in range(40):
            trace_id, _, header = traceparent()
            refused = client.post(
                "/v1/chat/completions",
                headers={**auth(proxy.keys.budget), **header},
                json={"model": "gpt-4o-mini", "messages": MESSAGES},
            )
            if refused.status_code != 200:
                break
            time.sleep(0.25)
    assert refused.status_code == 422, refused.text
    span, _ = refusal(proxy, trace_id)
    assert span.attributes["litellm.proxy.rejection_reason"] == "budget"
    assert span.attributes["error.type"] == "BudgetExceededError"
    assert span.attributes["http.response.status_code"] == 422


def exported_text(proxy: Proxy) -> str:
    """Everything the receiver got from this proxy, as one searchable string."""
    parts: list[Any] = []
    for span in proxy.spans():
        parts += [span.name, span.attributes, span.status_message, span.resource_attributes]
        parts += [(event.name, event.attributes) for event in span.events]
    for record in proxy.receiver.metric_records():
        if record.resource_attributes.get("service.name") == proxy.service_name:
            parts += [record.resource_attributes, [p.attributes for p in record.points]]
    for log in proxy.receiver.logs():
        if log.resource_attributes.get("service.name") == proxy.service_name:
            parts += [log.body, log.attributes, log.resource_attributes]
    return repr(parts)


LEAKY_PROMPT = "Summarise the quarterly numbers, proxy-secret-prompt-51c2"


@pytest.mark.proxy
@pytest.mark.parametrize(
    ("model", "status"), [("leaky", 401), ("leaky-masked", 401), ("leaky-echo", 500)]
)
def test_upstream_error_echoing_the_key_or_prompt_is_not_exported(
    proxy: Proxy, model: str, status: int
) -> None:
    """The upstream's error quotes the upstream key (whole, or masked as OpenAI masks it) or
    the request: the Proxy redacts it in its own reply, and our spans must not keep it."""
    trace_id, _, header = traceparent()
    with proxy.client() as client:
        response = client.post(
            "/v1/chat/completions",
            headers={**auth(proxy.keys.team), **header},
            json={"model": model, "messages": [{"role": "user", "content": LEAKY_PROMPT}]},
        )
    assert response.status_code == status, response.text
    spans = proxy.trace(trace_id, has_server_and("CLIENT"))
    forbidden = [*key_forms(proxy.keys.upstream), LEAKY_PROMPT, LEAKY_PROMPT[-24:]]
    text = repr(
        [
            (s.name, s.status_message, s.attributes, [(e.name, e.attributes) for e in s.events])
            for s in spans
        ]
    )
    assert [needle for needle in forbidden if needle in text] == []
    (chat,) = ours(spans)
    assert chat.status_code == "ERROR"
    assert chat.attributes["http.response.status_code"] == status
    (event,) = [e for e in chat.events if e.name == "exception"]
    assert event.attributes["exception.escaped"] is True


def identity_values(proxy: Proxy, metric: str, attribute: str) -> set[Any]:
    """Every value of ``attribute`` on this proxy's points of ``metric`` (any export)."""
    return {
        point.attributes.get(attribute)
        for record in proxy.receiver.metric_records()
        if record.name == metric
        and record.scope_name == SCOPE
        and record.resource_attributes.get("service.name") == proxy.service_name
        for point in record.points
    }


@pytest.mark.proxy
def test_metric_identity_has_a_ceiling(proxy: Proxy) -> None:
    """More keys (aliases, teams, users) than the proxy's limit: on metrics, at most the limit
    of values per attribute and ``_OTHER`` for the rest; on spans, every key's own values."""
    trace_ids = []
    with proxy.client() as client:
        for key in proxy.keys.many:
            trace_id, _, header = traceparent()
            trace_ids.append(trace_id)
            response = client.post(
                "/v1/chat/completions",
                headers={**auth(key), **header},
                json={"model": "gpt-4o-mini", "messages": MESSAGES},
            )
            assert response.status_code == 200, response.text
    aliases = {
        chat.attributes["litellm.proxy.key_alias"]
        for trace_id in trace_ids
        for chat in ours(proxy.trace(trace_id, has_server_and("CLIENT")))
    }
    assert aliases == {f"many-key-{i}" for i in range(len(proxy.keys.many))}

    pairs = [
        (metric, attribute)
        for metric in ("litellm.client.cost.usd", "gen_ai.client.operation.duration")
        for attribute in ("litellm.proxy.key_alias", "litellm.proxy.team_id")
    ]

    def folded() -> dict[tuple[str, str], set[Any]] | None:
        # Which key's call folds an attribute depends on the identities earlier tests used
        # (the ceiling lasts the process), and the Proxy records cost after its reply: wait
        # until every metric's points of every attribute have reached the receiver.
        values = {pair: identity_values(proxy, *pair) - {None} for pair in pairs}
        return values if all(OTHER in seen for seen in values.values()) else None

    values = proxy.receiver.wait_for(folded, timeout=20)
    for pair in pairs:
        assert OTHER in values[pair], (pair, values[pair])
        assert len(values[pair] - {OTHER}) <= METRIC_IDENTITY_LIMIT, (pair, values[pair])


@pytest.mark.proxy
def test_no_key_is_exported(proxy: Proxy) -> None:
    """Runs last: after every request above, no key nor LiteLLM's hash of one left the proxy.

    Covers the client keys (good, rate-limited, over budget, wrong), the master key, the
    upstream API key, and the SHA-256 LiteLLM derives from each (its ``user_api_key``,
    which its rate-limit and budget messages print).
    """
    time.sleep(1.0)  # a last metrics interval
    text = exported_text(proxy)
    assert "team-a-key" in text  # the search covers the spans above
    leaked = [secret for secret in proxy.keys.forbidden() if secret in text]
    assert leaked == []
    ours_logged = [
        line
        for line in proxy.output().splitlines()
        if "litellm-otel" in line or "litellm_otel" in line
    ]
    assert not [s for s in proxy.keys.forbidden() if any(s in line for line in ours_logged)]
