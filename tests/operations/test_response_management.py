"""Calls on a stored Responses API response: fetch, delete, cancel, list its input items.

One span each, never token usage (the stored response's usage was counted when it was made),
the provider from ``custom_llm_provider`` or from the id LiteLLM handed out.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from packaging.version import Version

from litellm_otel._operations.response_management import provider_of_response_id
from tests.support import loopback_surfaces as wire
from tests.support.telemetry import API_KEY, Telemetry

RAW_ID = "resp_stored_1"
#: An id as LiteLLM hands them out for OpenAI: the provider and the provider's id inside.
ENCODED_ID = (
    "resp_"
    + base64.b64encode(
        f"litellm:custom_llm_provider:openai;model_id:None;response_id:{RAW_ID}".encode()
    ).decode()
)

# entry point → (operation name, request path after /v1 for RAW_ID)
CALLS: dict[str, tuple[str, str, str]] = {
    "get_responses": ("fetch_response", "GET", f"/v1/responses/{RAW_ID}"),
    "delete_responses": ("delete_response", "DELETE", f"/v1/responses/{RAW_ID}"),
    "cancel_responses": ("cancel_response", "POST", f"/v1/responses/{RAW_ID}/cancel"),
    "list_input_items": ("list_input_items", "GET", f"/v1/responses/{RAW_ID}/input_items"),
}
ALL = sorted([*CALLS, *(f"a{name}" for name in CALLS)])


def available(name: str) -> Any:
    function = vars(litellm).get(name)
    if function is None:
        # only the oldest tier's release lacks these; from the LTS tier on it is a failure
        if not BEFORE_LTS:
            pytest.fail(f"LiteLLM {litellm_version()} has no litellm.{name}")
        pytest.skip(f"LiteLLM {litellm_version()} has no litellm.{name} (it came later)")
    return function


def litellm_version() -> str:
    return version("litellm")


BEFORE_LTS = Version(litellm_version()) < Version("1.108.14")


async def call(name: str, **kwargs: Any) -> Any:
    result = available(name)(**kwargs)
    return await result if name.startswith("a") and name[1:] in CALLS else result


def expected_span(name: str, server: Any, response_id: str) -> dict[str, Any]:
    operation = CALLS[name.removeprefix("a") if name[1:] in CALLS else name][0]
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "openai",
        "gen_ai.response.id": response_id,
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "litellm.provider": "openai",
    }
    if operation in ("fetch_response", "cancel_response"):
        attributes["gen_ai.response.model"] = wire.RESPONSE_MODEL
    if operation == "fetch_response":
        attributes["gen_ai.response.status"] = "completed"
        attributes["gen_ai.response.finish_reasons"] = ("stop",)
    return attributes


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("id_kind", ["encoded-id", "provider-argument"])
async def test_one_span_without_usage(
    traced: Telemetry, server: Any, name: str, id_kind: str
) -> None:
    arguments: dict[str, Any] = {"api_base": server.base_url, "api_key": API_KEY}
    if id_kind == "encoded-id":
        response_id = ENCODED_ID
    else:
        response_id = RAW_ID
        arguments["custom_llm_provider"] = "openai"
    await call(name, response_id=response_id, **arguments)
    base = name.removeprefix("a") if name[1:] in CALLS else name
    assert [(r.method, r.path) for r in server.requests] == [CALLS[base][1:]]
    span = traced.only_span()
    assert span.kind is SpanKind.CLIENT
    assert span.name == CALLS[base][0]
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == expected_span(name, server, response_id)
    # the stored response's usage (12 / 5) reaches no metric either
    assert traced.metric_points("gen_ai.client.token.usage") == []
    (duration,) = traced.metric_points("gen_ai.client.operation.duration")
    assert duration.attributes["gen_ai.operation.name"] == CALLS[base][0]


@pytest.mark.parametrize("name", ["aget_responses", "acancel_responses"])
async def test_the_latest_mode_changes_nothing_here(
    instrument: Callable[..., Telemetry], server: Any, conventions_mode: str, name: str
) -> None:
    """These operations are not inference: the same span and the same duration metric in
    both modes, and no token metric of either mode."""
    telemetry = instrument()
    await call(name, response_id=ENCODED_ID, api_base=server.base_url, api_key=API_KEY)
    assert dict(telemetry.only_span().attributes or {}) == expected_span(name, server, ENCODED_ID)
    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration.attributes == {
        "gen_ai.operation.name": CALLS[name[1:]][0],
        "gen_ai.provider.name": "openai",
        "gen_ai.response.model": wire.RESPONSE_MODEL,
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }
    for metric in (
        "gen_ai.client.inference.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.inference.usage.input_tokens",
    ):
        assert telemetry.metric_points(metric) == []


@pytest.mark.parametrize("name", ["get_responses", "adelete_responses"])
async def test_provider_error_is_recorded_as_for_chat(
    traced: Telemetry, server: Any, name: str
) -> None:
    # LiteLLM maps the provider's 404 since the LTS tier; before, it fails parsing the error body
    error = litellm.APIConnectionError if BEFORE_LTS else litellm.NotFoundError
    with pytest.raises(error):
        await call(
            name,
            response_id="resp_error-404",
            custom_llm_provider="openai",
            api_base=server.base_url,
            api_key=API_KEY,
        )
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == error.__qualname__
    if not BEFORE_LTS:
        assert span.attributes["http.response.status_code"] == 404
    assert API_KEY not in str(span.to_json())


async def test_a_fetched_response_content_only_with_capture(
    instrument: Callable[..., Telemetry], server: Any
) -> None:
    telemetry = instrument(capture_content=True)
    await call("aget_responses", response_id=ENCODED_ID, api_base=server.base_url, api_key=API_KEY)
    attributes = telemetry.only_span().attributes or {}
    assert "Hello from loopback" in str(attributes["gen_ai.output.messages"])
    assert "gen_ai.input.messages" not in attributes


@pytest.mark.parametrize(
    ("response_id", "provider"),
    [
        (ENCODED_ID, "openai"),
        (RAW_ID, None),
        ("resp_" + base64.b64encode(b"not litellm").decode(), None),
        ("resp_%%%", None),
        (None, None),
    ],
)
def test_provider_of_response_id(response_id: Any, provider: str | None) -> None:
    assert provider_of_response_id(response_id) == provider
