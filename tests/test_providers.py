"""Provider resolution: well-known names, prefixes, server address, and the cache."""

from __future__ import annotations

import pytest

from litellm_otel._providers import (
    UNKNOWN_PROVIDER,
    WELL_KNOWN_PROVIDERS,
    ProviderResolver,
    split_address,
)


@pytest.mark.parametrize(
    ("model", "provider", "expected_name", "request_model", "address"),
    [
        ("openai/gpt-4o-mini", None, "openai", "gpt-4o-mini", "api.openai.com"),
        ("gpt-4o-mini", None, "openai", "gpt-4o-mini", "api.openai.com"),
        ("anthropic/claude-3-haiku-20240307", None, "anthropic", "claude-3-haiku-20240307",
         "api.anthropic.com"),
        ("groq/llama3-8b-8192", None, "groq", "llama3-8b-8192", "api.groq.com"),
        ("my-model", "hosted_vllm", "hosted_vllm", "my-model", None),
        ("watsonx/ibm/granite-13b", None, "ibm.watsonx.ai", "ibm/granite-13b", None),
        ("deepseek/deepseek-chat", None, "deepseek", "deepseek-chat", "api.deepseek.com"),
    ],
)  # fmt: skip
def test_resolution(
    model: str, provider: str | None, expected_name: str, request_model: str, address: str | None
) -> None:
    target = ProviderResolver().resolve(model, provider, None)
    assert target.provider_name == expected_name
    assert target.request_model == request_model
    if address is not None:
        assert target.server_address == address
        assert target.server_port == 443


def test_api_base_wins_over_the_default_host() -> None:
    target = ProviderResolver().resolve("openai/gpt-4o", None, "http://10.1.2.3:8000/v1")
    assert (target.server_address, target.server_port) == ("10.1.2.3", 8000)


def test_unknown_model_keeps_what_is_known() -> None:
    target = ProviderResolver().resolve("totally-unknown-model", None, None)
    assert target.provider_name == UNKNOWN_PROVIDER
    assert target.request_model == "totally-unknown-model"
    assert target.litellm_provider is None


def test_unknown_prefix_is_kept_as_the_provider() -> None:
    target = ProviderResolver().resolve("nosuchprovider/some-model", None, None)
    assert target.request_model in ("some-model", "nosuchprovider/some-model")


def test_results_are_cached() -> None:
    resolver = ProviderResolver()
    first = resolver.resolve("openai/gpt-4o", None, None)
    assert resolver.resolve("openai/gpt-4o", None, None) is first


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.example.com/v1", ("api.example.com", 443)),
        ("http://127.0.0.1:4000", ("127.0.0.1", 4000)),
        ("http://localhost/v1", ("localhost", 80)),
        ("api.example.com", ("api.example.com", 443)),
        ("http://[::1]:8080/v1", ("::1", 8080)),
    ],
)
def test_split_address(base: str, expected: tuple[str, int]) -> None:
    assert split_address(base) == expected


def test_well_known_values_follow_the_conventions() -> None:
    from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
        GenAiProviderNameValues,
    )

    known = {value.value for value in GenAiProviderNameValues} | {"moonshot_ai"}
    assert set(WELL_KNOWN_PROVIDERS.values()) <= known
