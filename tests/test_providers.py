"""Provider resolution: well-known names, prefixes, the server address LiteLLM really calls,
and the cache that must follow the environment."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import litellm
import pytest

from litellm_otel._endpoints import ENDPOINT_RULES, rule_for
from litellm_otel._providers import (
    UNKNOWN_PROVIDER,
    WELL_KNOWN_PROVIDERS,
    ProviderResolver,
    ResolvedTarget,
    split_address,
)
from tests.support.loopback_server import LoopbackLLMServer
from tests.support.telemetry import API_KEY, Telemetry, user_messages

#: Every environment variable a case below sets, or LiteLLM could read for them: cleared for
#: every test so the developer's shell cannot change the outcome.
_ENDPOINT_ENV = sorted(
    {name for rule in ENDPOINT_RULES.values() for name in (*rule.env, *rule.host_env)}
    | {
        "HOSTED_VLLM_API_BASE",
        "GROQ_API_BASE",
        "DEEPSEEK_API_BASE",
        "TOGETHER_AI_API_BASE",
        "XAI_API_BASE",
        "LM_STUDIO_API_BASE",
        "PERPLEXITY_API_BASE",
        "CEREBRAS_API_BASE",
        "VERTEX_LOCATION",
        "VERTEXAI_LOCATION",
        "USE_LITELLM_PROXY",
    }
)


@pytest.fixture(autouse=True)
def clean_endpoint_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(litellm, "api_base", None)
    monkeypatch.setattr(litellm, "vertex_location", None, raising=False)


# -- provider names and models ---------------------------------------------------------------


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
    assert target.server_address == address
    assert target.server_port == (443 if address is not None else None)


def test_api_base_wins_over_the_default_host() -> None:
    target = ProviderResolver().resolve("openai/gpt-4o", None, "http://10.1.2.3:8000/v1")
    assert (target.server_address, target.server_port) == ("10.1.2.3", 8000)


def test_unknown_model_keeps_what_is_known() -> None:
    target = ProviderResolver().resolve("totally-unknown-model", None, None)
    assert target.provider_name == UNKNOWN_PROVIDER
    assert target.request_model == "totally-unknown-model"
    assert target.litellm_provider is None
    assert target.server_address is None


def test_unknown_prefix_is_kept_as_the_provider() -> None:
    """LiteLLM rejects the prefix; the span still says what the model string said."""
    target = ProviderResolver().resolve("nosuchprovider/some-model", None, None)
    assert target == ResolvedTarget(
        provider_name="nosuchprovider",
        litellm_provider="nosuchprovider",
        request_model="some-model",
        server_address=None,
        server_port=None,
    )


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


# -- where the request goes: LiteLLM's precedence, per provider --------------------------------

SELF_HOSTED = "http://10.0.0.7:8000/v1"
OTHER = "http://10.0.0.8:9000/v1"
ARGUMENT = "http://10.0.0.9:7000/v1"

# (id, model, call's api_base, environment, litellm.api_base, other call arguments, expected)
ADDRESS_CASES: list[tuple[str, str, str | None, dict[str, str], str | None, dict[str, Any],
                          tuple[str | None, int | None]]] = [
    ("openai default", "openai/gpt-4o-mini", None, {}, None, {}, ("api.openai.com", 443)),
    ("openai OPENAI_BASE_URL", "openai/gpt-4o-mini", None, {"OPENAI_BASE_URL": SELF_HOSTED},
     None, {}, ("10.0.0.7", 8000)),
    ("openai OPENAI_API_BASE", "openai/gpt-4o-mini", None, {"OPENAI_API_BASE": SELF_HOSTED},
     None, {}, ("10.0.0.7", 8000)),
    ("OPENAI_BASE_URL before OPENAI_API_BASE", "openai/gpt-4o-mini", None,
     {"OPENAI_BASE_URL": SELF_HOSTED, "OPENAI_API_BASE": OTHER}, None, {}, ("10.0.0.7", 8000)),
    ("unprefixed openai model", "gpt-4o-mini", None, {"OPENAI_BASE_URL": SELF_HOSTED}, None, {},
     ("10.0.0.7", 8000)),
    ("text-completion-openai", "text-completion-openai/gpt-3.5-turbo-instruct", None,
     {"OPENAI_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("litellm.api_base before the environment", "openai/gpt-4o-mini", None,
     {"OPENAI_BASE_URL": OTHER}, SELF_HOSTED, {}, ("10.0.0.7", 8000)),
    ("the argument before litellm.api_base", "openai/gpt-4o-mini", ARGUMENT,
     {"OPENAI_BASE_URL": OTHER}, SELF_HOSTED, {}, ("10.0.0.9", 7000)),
    ("hosted_vllm HOSTED_VLLM_API_BASE", "hosted_vllm/my-model", None,
     {"HOSTED_VLLM_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("hosted_vllm: its variable before litellm.api_base", "hosted_vllm/my-model", None,
     {"HOSTED_VLLM_API_BASE": SELF_HOSTED}, OTHER, {}, ("10.0.0.7", 8000)),
    ("hosted_vllm litellm.api_base", "hosted_vllm/my-model", None, {}, SELF_HOSTED, {},
     ("10.0.0.7", 8000)),
    ("hosted_vllm unconfigured", "hosted_vllm/my-model", None, {}, None, {}, (None, None)),
    ("azure AZURE_API_BASE", "azure/my-deployment", None,
     {"AZURE_API_BASE": "https://my-resource.openai.azure.com"}, None, {},
     ("my-resource.openai.azure.com", 443)),
    ("azure litellm.api_base", "azure/my-deployment", None, {"AZURE_API_BASE": OTHER},
     SELF_HOSTED, {}, ("10.0.0.7", 8000)),
    ("ollama default", "ollama/llama3", None, {}, None, {}, ("localhost", 11434)),
    ("ollama_chat default", "ollama_chat/llama3", None, {}, None, {}, ("localhost", 11434)),
    ("ollama OLLAMA_API_BASE", "ollama/llama3", None,
     {"OLLAMA_API_BASE": "http://gpu-box:11434"}, None, {}, ("gpu-box", 11434)),
    ("ollama: litellm.api_base before the argument", "ollama_chat/llama3", ARGUMENT, {},
     SELF_HOSTED, {}, ("10.0.0.7", 8000)),
    ("anthropic ANTHROPIC_BASE_URL", "anthropic/claude-3-haiku-20240307", None,
     {"ANTHROPIC_BASE_URL": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("ANTHROPIC_API_BASE before ANTHROPIC_BASE_URL", "anthropic/claude-3-haiku-20240307", None,
     {"ANTHROPIC_API_BASE": SELF_HOSTED, "ANTHROPIC_BASE_URL": OTHER}, None, {},
     ("10.0.0.7", 8000)),
    ("gemini default", "gemini/gemini-1.5-flash", None, {}, None, {},
     ("generativelanguage.googleapis.com", 443)),
    ("gemini GEMINI_API_BASE", "gemini/gemini-1.5-flash", None,
     {"GEMINI_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("groq GROQ_API_BASE", "groq/llama3-8b-8192", None, {"GROQ_API_BASE": SELF_HOSTED}, None,
     {}, ("10.0.0.7", 8000)),
    ("groq ignores litellm.api_base", "groq/llama3-8b-8192", None, {}, SELF_HOSTED, {},
     ("api.groq.com", 443)),
    ("mistral default", "mistral/mistral-small", None, {}, None, {}, ("api.mistral.ai", 443)),
    ("mistral MISTRAL_AZURE_API_BASE", "mistral/mistral-small", None,
     {"MISTRAL_AZURE_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("deepseek DEEPSEEK_API_BASE", "deepseek/deepseek-chat", None,
     {"DEEPSEEK_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("together_ai TOGETHER_AI_API_BASE", "together_ai/meta-llama/Llama-3-8b", None,
     {"TOGETHER_AI_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("openrouter default", "openrouter/meta-llama/llama-3-8b", None, {}, None, {},
     ("openrouter.ai", 443)),
    ("openrouter OPENROUTER_API_BASE", "openrouter/meta-llama/llama-3-8b", None,
     {"OPENROUTER_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("xai default", "xai/grok-2", None, {}, None, {}, ("api.x.ai", 443)),
    ("xai XAI_API_BASE", "xai/grok-2", None, {"XAI_API_BASE": SELF_HOSTED}, None, {},
     ("10.0.0.7", 8000)),
    ("cohere default", "cohere_chat/command-r", None, {}, None, {}, ("api.cohere.com", 443)),
    ("cohere COHERE_API_BASE", "cohere_chat/command-r", None, {"COHERE_API_BASE": SELF_HOSTED},
     None, {}, ("10.0.0.7", 8000)),
    ("fireworks FIREWORKS_API_BASE", "fireworks_ai/accounts/fireworks/models/llama", None,
     {"FIREWORKS_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("databricks DATABRICKS_API_BASE", "databricks/dbrx", None,
     {"DATABRICKS_API_BASE": "https://adb-1234.azuredatabricks.net/serving-endpoints"}, None,
     {}, ("adb-1234.azuredatabricks.net", 443)),
    ("watsonx WATSONX_URL", "watsonx/ibm/granite-13b", None,
     {"WATSONX_URL": "https://us-south.ml.cloud.ibm.com"}, None, {},
     ("us-south.ml.cloud.ibm.com", 443)),
    ("watsonx ignores litellm.api_base", "watsonx/ibm/granite-13b", None, {}, SELF_HOSTED, {},
     (None, None)),
    ("replicate always calls its host", "replicate/meta/llama-3", ARGUMENT, {}, SELF_HOSTED, {},
     ("api.replicate.com", 443)),
    ("bedrock AWS_REGION_NAME", "bedrock/anthropic.claude-3-haiku-20240307-v1:0", None,
     {"AWS_REGION_NAME": "eu-west-1", "AWS_REGION": "us-east-1"}, None, {},
     ("bedrock-runtime.eu-west-1.amazonaws.com", 443)),
    ("bedrock AWS_REGION", "bedrock/anthropic.claude-3-haiku-20240307-v1:0", None,
     {"AWS_REGION": "us-east-1"}, None, {}, ("bedrock-runtime.us-east-1.amazonaws.com", 443)),
    ("bedrock aws_region_name before the environment",
     "bedrock/anthropic.claude-3-haiku-20240307-v1:0", None, {"AWS_REGION_NAME": "eu-west-1"},
     None, {"aws_region_name": "ap-south-1"}, ("bedrock-runtime.ap-south-1.amazonaws.com", 443)),
    ("bedrock China partition", "bedrock/anthropic.claude-3-haiku-20240307-v1:0", None,
     {"AWS_REGION": "cn-north-1"}, None, {}, ("bedrock-runtime.cn-north-1.amazonaws.com.cn", 443)),
    ("bedrock region in the model ARN",
     "bedrock/arn:aws:bedrock:eu-central-1:123456789012:inference-profile/x", None,
     {"AWS_REGION": "us-east-1"}, None, {}, ("bedrock-runtime.eu-central-1.amazonaws.com", 443)),
    ("bedrock runtime endpoint before the argument",
     "bedrock/anthropic.claude-3-haiku-20240307-v1:0", ARGUMENT,
     {"AWS_BEDROCK_RUNTIME_ENDPOINT": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("bedrock ignores litellm.api_base", "bedrock/anthropic.claude-3-haiku-20240307-v1:0", None,
     {"AWS_REGION": "us-east-1"}, SELF_HOSTED, {},
     ("bedrock-runtime.us-east-1.amazonaws.com", 443)),
    ("bedrock without a region: unknown", "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
     None, {}, None, {}, (None, None)),
    ("vertex default location", "vertex_ai/gemini-1.5-pro", None, {}, None, {},
     ("us-central1-aiplatform.googleapis.com", 443)),
    ("vertex VERTEXAI_LOCATION", "vertex_ai/gemini-1.5-pro", None,
     {"VERTEXAI_LOCATION": "europe-west4"}, None, {},
     ("europe-west4-aiplatform.googleapis.com", 443)),
    ("vertex vertex_location argument", "vertex_ai/gemini-1.5-pro", None,
     {"VERTEXAI_LOCATION": "europe-west4"}, None, {"vertex_location": "asia-east1"},
     ("asia-east1-aiplatform.googleapis.com", 443)),
    ("vertex global", "vertex_ai/gemini-1.5-pro", None, {"VERTEX_LOCATION": "global"}, None, {},
     ("aiplatform.googleapis.com", 443)),
    ("vertex VERTEXAI_API_BASE", "vertex_ai/gemini-1.5-pro", None,
     {"VERTEXAI_API_BASE": SELF_HOSTED}, None, {}, ("10.0.0.7", 8000)),
    ("a Router deployment's api_base", "openai/gpt-4o-mini", "http://10.0.0.10:4000/v1",
     {"OPENAI_BASE_URL": OTHER}, None,
     {"metadata": {"model_group": "primary", "deployment": "openai/gpt-4o-mini"}},
     ("10.0.0.10", 4000)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("model", "api_base", "env", "module_setting", "arguments", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in ADDRESS_CASES],
)
def test_address_follows_litellm_precedence(
    monkeypatch: pytest.MonkeyPatch,
    *,
    model: str,
    api_base: str | None,
    env: dict[str, str],
    module_setting: str | None,
    arguments: dict[str, Any],
    expected: tuple[str | None, int | None],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(litellm, "api_base", module_setting)
    target = ProviderResolver().resolve(model, None, api_base, {"model": model, **arguments})
    assert (target.server_address, target.server_port) == expected


def test_the_cache_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = ProviderResolver()

    def address() -> tuple[str | None, int | None]:
        target = resolver.resolve("openai/gpt-4o-mini", None, None, {})
        return target.server_address, target.server_port

    assert address() == ("api.openai.com", 443)
    monkeypatch.setenv("OPENAI_BASE_URL", SELF_HOSTED)
    assert address() == ("10.0.0.7", 8000)
    monkeypatch.setenv("OPENAI_BASE_URL", OTHER)
    assert address() == ("10.0.0.8", 9000)
    monkeypatch.setattr(litellm, "api_base", ARGUMENT)
    assert address() == ("10.0.0.9", 7000)
    monkeypatch.setattr(litellm, "api_base", None)
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert address() == ("api.openai.com", 443)


def test_a_replaced_os_environ_is_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache key reads CPython's ``os.environ`` directly; a stand-in mapping is read
    through ``get``."""
    import os

    resolver = ProviderResolver()
    assert resolver.resolve("openai/gpt-4o-mini", None, None, {}).server_address == (
        "api.openai.com"
    )
    monkeypatch.setattr(os, "environ", {**os.environ, "OPENAI_BASE_URL": SELF_HOSTED})
    target = resolver.resolve("openai/gpt-4o-mini", None, None, {})
    assert (target.server_address, target.server_port) == ("10.0.0.7", 8000)


def test_the_cache_follows_region_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = ProviderResolver()
    model = "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    hosts = [
        resolver.resolve(model, None, None, arguments).server_address
        for arguments in ({}, {"aws_region_name": "eu-west-3"}, {})
    ]
    assert hosts == [
        "bedrock-runtime.us-east-1.amazonaws.com",
        "bedrock-runtime.eu-west-3.amazonaws.com",
        "bedrock-runtime.us-east-1.amazonaws.com",
    ]


def test_conventional_variable_for_unlisted_providers() -> None:
    rule = rule_for("hosted_vllm")
    assert rule is not None
    assert rule.env == ("HOSTED_VLLM_API_BASE",)
    assert rule_for(None) is None


def test_no_rule_reads_a_credential() -> None:
    """The rules name base URLs, regions and locations only: never a key or token."""
    names = {name for rule in ENDPOINT_RULES.values() for name in (*rule.env, *rule.host_env)}
    names |= {name for rule in ENDPOINT_RULES.values() for name in rule.arguments}
    assert not [n for n in names if any(w in n.upper() for w in ("KEY", "TOKEN", "SECRET"))]


def test_the_target_keeps_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTED_VLLM_API_KEY", API_KEY)
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", SELF_HOSTED)
    resolver = ProviderResolver()
    target = resolver.resolve("hosted_vllm/my-model", None, None, {"api_key": API_KEY})
    assert API_KEY not in repr(target)
    assert API_KEY not in repr(vars(resolver))


# -- against real LiteLLM: where its request went is what the span says ------------------------


@pytest.fixture(scope="module")
def three_servers() -> Iterator[tuple[LoopbackLLMServer, LoopbackLLMServer, LoopbackLLMServer]]:
    with LoopbackLLMServer() as env, LoopbackLLMServer() as module, LoopbackLLMServer() as arg:
        yield env, module, arg


def _call(model: str, **arguments: Any) -> None:
    # Most of these servers speak no protocol but OpenAI's: a 404 is fine, the request went.
    with contextlib.suppress(Exception):
        litellm.completion(
            model=model,
            messages=user_messages(),
            api_key=API_KEY,
            max_retries=0,
            num_retries=0,
            timeout=5,
            **arguments,
        )


# (model, the environment variable LiteLLM reads for its base URL)
ENV_CONFIGURED = [
    ("openai/gpt-4o-mini", "OPENAI_BASE_URL"),
    ("openai/gpt-4o-mini", "OPENAI_API_BASE"),
    ("gpt-4o-mini", "OPENAI_BASE_URL"),
    ("text-completion-openai/gpt-3.5-turbo-instruct", "OPENAI_BASE_URL"),
    ("hosted_vllm/my-model", "HOSTED_VLLM_API_BASE"),
    ("hosted_vllm/my-model", None),
    ("azure/my-deployment", "AZURE_API_BASE"),
    ("anthropic/claude-3-haiku-20240307", "ANTHROPIC_API_BASE"),
    ("anthropic/claude-3-haiku-20240307", "ANTHROPIC_BASE_URL"),
    ("ollama/llama3", "OLLAMA_API_BASE"),
    ("ollama_chat/llama3", None),
    ("groq/llama3-8b-8192", "GROQ_API_BASE"),
    ("deepseek/deepseek-chat", "DEEPSEEK_API_BASE"),
    ("together_ai/meta-llama/Llama-3-8b", "TOGETHER_AI_API_BASE"),
    ("openrouter/meta-llama/llama-3-8b", "OPENROUTER_API_BASE"),
    ("xai/grok-2", "XAI_API_BASE"),
    ("cohere_chat/command-r", "COHERE_API_BASE"),
    ("gemini/gemini-1.5-flash", "GEMINI_API_BASE"),
    ("fireworks_ai/accounts/fireworks/models/llama", "FIREWORKS_API_BASE"),
    ("databricks/dbrx", "DATABRICKS_API_BASE"),
    ("bedrock/anthropic.claude-3-haiku-20240307-v1:0", "AWS_BEDROCK_RUNTIME_ENDPOINT"),
    ("lm_studio/my-model", "LM_STUDIO_API_BASE"),
    ("perplexity/sonar", "PERPLEXITY_API_BASE"),
    ("cerebras/llama3.1-8b", "CEREBRAS_API_BASE"),
]


@pytest.mark.parametrize("with_argument", [False, True], ids=["no api_base", "api_base"])
@pytest.mark.parametrize(("model", "variable"), ENV_CONFIGURED)
def test_the_span_names_the_server_litellm_called(
    monkeypatch: pytest.MonkeyPatch,
    traced: Telemetry,
    three_servers: tuple[LoopbackLLMServer, LoopbackLLMServer, LoopbackLLMServer],
    *,
    model: str,
    variable: str | None,
    with_argument: bool,
) -> None:
    """Environment, ``litellm.api_base`` and the call's ``api_base`` each point at their own
    server; exactly one receives LiteLLM's request, and the span must name that one."""
    by_env, by_module, by_argument = three_servers
    for server in three_servers:
        server.clear()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret-for-tests")
    if variable is not None:
        monkeypatch.setenv(variable, by_env.base_url)
    monkeypatch.setattr(litellm, "api_base", by_module.base_url)
    _call(model, **({"api_base": by_argument.base_url} if with_argument else {}))

    (called,) = [server for server in three_servers if server.requests]
    span = traced.only_span()
    assert span.attributes is not None
    assert (span.attributes["server.address"], span.attributes["server.port"]) == (
        "127.0.0.1",
        called.port,
    )


def _metric_addresses(telemetry: Telemetry) -> list[tuple[Any, Any]]:
    points = telemetry.metric_points("gen_ai.client.operation.duration")
    return [(p.attributes.get("server.address"), p.attributes.get("server.port")) for p in points]


@pytest.mark.parametrize("setting", ["OPENAI_BASE_URL", "OPENAI_API_BASE", "litellm.api_base"])
def test_env_configured_openai_endpoint_on_spans_and_metrics(
    monkeypatch: pytest.MonkeyPatch, traced: Telemetry, server: LoopbackLLMServer, setting: str
) -> None:
    """The usual set-up for a self-hosted OpenAI-compatible server: no api_base per call."""
    if setting == "litellm.api_base":
        monkeypatch.setattr(litellm, "api_base", server.base_url)
    else:
        monkeypatch.setenv(setting, server.base_url)
    options: dict[str, Any] = {"api_key": API_KEY, "max_retries": 0}
    response = litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), **options)
    assert response.choices[0].message.content == "Hello from loopback"
    stream = litellm.completion(
        model="openai/gpt-4o-mini", messages=user_messages(), stream=True, **options
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == (
        "Hello from loopback"
    )
    litellm.embedding(model="openai/text-embedding-3-small", input=["a"], **options)
    assert len(server.requests) == 3

    spans = traced.finished()
    assert len(spans) == 3
    expected = ("127.0.0.1", server.port)
    for span in spans:
        assert span.attributes is not None
        assert (span.attributes["server.address"], span.attributes["server.port"]) == expected
    # one duration point per (operation, response model): chat twice folds into one point
    assert set(_metric_addresses(traced)) == {expected}
    for name in ("gen_ai.client.token.usage", "gen_ai.client.operation.time_to_first_chunk"):
        points = traced.metric_points(name)
        # tokens: chat input, chat output, embeddings input; the first chunk: the stream's
        assert len(points) == (3 if name == "gen_ai.client.token.usage" else 1), name
        assert {(p.attributes["server.address"], p.attributes["server.port"]) for p in points} == {
            expected
        }


async def test_env_configured_endpoint_async(
    monkeypatch: pytest.MonkeyPatch, traced: Telemetry, server: LoopbackLLMServer
) -> None:
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", server.base_url)
    await litellm.acompletion(
        model="hosted_vllm/gpt-4o-mini", messages=user_messages(), api_key=API_KEY, max_retries=0
    )
    span = traced.only_span()
    assert span.attributes is not None
    assert (span.attributes["server.address"], span.attributes["server.port"]) == (
        "127.0.0.1",
        server.port,
    )
    assert _metric_addresses(traced) == [("127.0.0.1", server.port)]


SURFACE_CALLS: dict[str, Any] = {
    "chat": lambda key: litellm.completion(
        model="openai/gpt-4o-mini", messages=user_messages(), api_key=key, max_retries=0
    ),
    "text_completion": lambda key: litellm.text_completion(
        model="openai/gpt-3.5-turbo-instruct", prompt="hi", api_key=key, max_retries=0
    ),
    "responses": lambda key: litellm.responses(
        model="openai/gpt-4o-mini", input="hi", api_key=key, max_retries=0
    ),
    "embeddings": lambda key: litellm.embedding(
        model="openai/text-embedding-3-small", input=["a"], api_key=key
    ),
    "image_generation": lambda key: litellm.image_generation(
        model="openai/gpt-image-1", prompt="a cat", api_key=key, max_retries=0
    ),
    "speech": lambda key: litellm.speech(
        model="openai/tts-1", input="hi", voice="alloy", api_key=key, max_retries=0
    ),
    "transcription": lambda key: litellm.transcription(
        model="openai/whisper-1", file=("a.wav", b"RIFF"), api_key=key, max_retries=0
    ),
    "moderation": lambda key: litellm.moderation(
        input="hi", model="omni-moderation-latest", api_key=key
    ),
}


@pytest.mark.parametrize(
    "settings",
    [("litellm.api_base", "OPENAI_BASE_URL"), ("OPENAI_BASE_URL", "OPENAI_API_BASE")],
    ids=["module and OPENAI_BASE_URL", "OPENAI_BASE_URL and OPENAI_API_BASE"],
)
@pytest.mark.parametrize("surface", sorted(SURFACE_CALLS))
def test_every_surface_names_the_server_litellm_called(
    monkeypatch: pytest.MonkeyPatch,
    traced: Telemetry,
    three_servers: tuple[LoopbackLLMServer, LoopbackLLMServer, LoopbackLLMServer],
    surface: str,
    settings: tuple[str, str],
) -> None:
    """Two settings point at two servers; LiteLLM's code path for the surface picks one (its
    moderation and OpenAI image paths leave the base URL to the OpenAI SDK, which reads only
    ``OPENAI_BASE_URL``), and the span must name that one.

    LiteLLM caches the SDK clients it builds without a base URL by key, not by environment:
    each case gets its own key, so a client cached for another environment cannot answer."""
    servers = three_servers[:2]
    for server in servers:
        server.clear()
    for setting, server in zip(settings, servers, strict=True):
        if setting == "litellm.api_base":
            monkeypatch.setattr(litellm, "api_base", server.base_url)
        else:
            monkeypatch.setenv(setting, server.base_url)
    SURFACE_CALLS[surface](f"{API_KEY}-{surface}-{'-'.join(settings)}")
    (called,) = [server for server in servers if server.requests]
    span = traced.only_span()
    assert span.attributes is not None
    assert (span.attributes["server.address"], span.attributes["server.port"]) == (
        "127.0.0.1",
        called.port,
    )
