"""The contract with LiteLLM: each name and parameter we rely on, checked against the installed one.

Why this file exists: the instrumentation wraps LiteLLM's public functions by name and reads
their arguments by name. When a LiteLLM release renames or drops one, nothing crashes:
``instrument()`` skips a missing function (``getattr(litellm, name, None)``) and a renamed
parameter is simply never found in the call's arguments, so an attribute silently vanishes
from every span. These tests turn such a release into a failure that names the function and
the parameter that changed, instead of a quieter trace nobody notices.

The parameter lists come from each ``Surface`` in ``src/litellm_otel/_operations``, which
declares what its mapping reads; ``tests/operations/test_declarations.py`` checks that the
declarations cover every argument the mappings actually read.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import litellm
import pytest
from packaging.version import Version

from litellm_otel._operations import (
    CHAT,
    EMBEDDINGS,
    ENTRY_POINTS,
    IMAGE_GENERATION,
    MODERATION,
    RERANK,
    RESPONSES,
    SPEECH,
    TEXT_COMPLETION,
    TRANSCRIPTION,
    Surface,
    module_of,
)
from litellm_otel._router import ROUTER_METHODS
from litellm_otel._wrappers import ArgumentBinder
from tests.support.telemetry import user_messages

LITELLM_VERSION = version("litellm")

# Parameters our mappings turn into documented attributes, as each Surface declares them:
# LiteLLM must keep ``reads`` as named parameters (a rename there is exactly the change that
# makes an attribute vanish), and keep ``**kwargs`` for ``reads_via_kwargs``.
SURFACES: tuple[Surface, ...] = (
    CHAT,
    TEXT_COMPLETION,
    RESPONSES,
    EMBEDDINGS,
    IMAGE_GENERATION,
    TRANSCRIPTION,
    SPEECH,
    RERANK,
    MODERATION,
)
assert set(SURFACES) <= {entry.surface for entry in ENTRY_POINTS.values()}
NAMED: dict[Surface, tuple[str, ...]] = {
    entry.surface: entry.surface.reads for entry in ENTRY_POINTS.values()
}
THROUGH_KWARGS: dict[Surface, tuple[str, ...]] = {
    entry.surface: entry.surface.reads_via_kwargs for entry in ENTRY_POINTS.values()
}
# Where a positional call's arguments land: ArgumentBinder binds them by these names, so
# a positional ``model`` must stay among the leading positional parameters.
LEADING_POSITIONAL: dict[Surface, tuple[str, ...]] = {
    entry.surface: entry.surface.positional for entry in ENTRY_POINTS.values()
}


#: Entry points the oldest tier's LiteLLM (1.72.0) does not have; every tier from the LTS one
#: on must (a submodule missing there is skipped on import instead: litellm.google_genai).
LATER_THAN_OLDEST: frozenset[str] = frozenset(
    {
        *("cancel_responses", "acancel_responses", "list_input_items", "alist_input_items"),
        *("ocr", "aocr", "video_generation", "avideo_generation"),
    }
)
BEFORE_LTS = Version(LITELLM_VERSION) < Version("1.108.14")
#: Router methods the oldest tier's LiteLLM does not have (it has ``aanthropic_messages``).
ROUTER_METHODS_LATER_THAN_OLDEST: frozenset[str] = frozenset(
    {
        "anthropic_messages",
        *("generate_content", "agenerate_content"),
        *("generate_content_stream", "agenerate_content_stream"),
    }
)


def located(name: str) -> Any:
    """The function ``ENTRY_POINTS[name]`` names (its module imported: a test may), or
    ``None``; an entry point of a module that cannot be imported here is skipped, saying why."""
    module_name = module_of(name)  # an entry point's, or a signature_of path's
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        pytest.skip(f"{module_name} cannot be imported in LiteLLM {LITELLM_VERSION}: {error}")
    function = getattr(module, name.rpartition(".")[2], None)
    if function is None and name in LATER_THAN_OLDEST and BEFORE_LTS:
        pytest.skip(
            f"litellm.{name} is not in LiteLLM {LITELLM_VERSION}: it arrived after the oldest "
            "tier's release (the LTS tier has it), so instrument() skips it here"
        )
    return function


def receiver(name: str) -> tuple[str, Callable[..., Any]]:
    """The function whose signature says what ``litellm.<name>``'s arguments mean.

    Mirrors ``_entry_points.EntryPointWrapping``: a ``(*args, **kwargs)`` entry point is read
    through the function it forwards to.
    """
    function = located(name)
    if ArgumentBinder(function).names:
        return name, function
    twin = ENTRY_POINTS[name].signature_of or name
    return twin, located(twin)


def parameters(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(function).parameters)


def has_var_keyword(function: Callable[..., Any]) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters(function).values())


def describe(name: str, twin: str) -> str:
    return f"litellm.{name}" if name == twin else f"litellm.{name} (forwarding to {twin})"


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_wrapped_function_exists(name: str) -> None:
    function = located(name)
    assert callable(function), (
        f"litellm.{name} is gone in LiteLLM {LITELLM_VERSION}: instrument() skips it "
        f"silently, so its calls get no span (find its new name and update ENTRY_POINTS)"
    )


@pytest.mark.parametrize(
    ("name", "param"),
    [
        (name, param)
        for name, entry in sorted(ENTRY_POINTS.items())
        for param in NAMED[entry.surface]
    ],
)
def test_parameters_we_map_are_still_named(name: str, param: str) -> None:
    twin, function = receiver(name)
    found = parameters(function).get(param)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    assert found is not None and found.kind in kinds, (
        f"{describe(name, twin)} no longer has a parameter named {param!r} in LiteLLM "
        f"{LITELLM_VERSION}; our mapping reads params.get({param!r}), so the attribute it "
        f"feeds would silently disappear. Was it renamed? Signature: "
        f"{inspect.signature(function)}"
    )


@pytest.mark.parametrize(
    ("name", "param"),
    [
        (name, param)
        for name, entry in sorted(ENTRY_POINTS.items())
        for param in THROUGH_KWARGS[entry.surface]
    ],
)
def test_parameters_read_through_kwargs_still_reach_litellm(name: str, param: str) -> None:
    """These are accepted only through ``**kwargs`` (said here, not hidden)."""
    twin, function = receiver(name)
    assert param in parameters(function) or has_var_keyword(function), (
        f"{describe(name, twin)} neither names {param!r} nor takes **kwargs in LiteLLM "
        f"{LITELLM_VERSION}: callers can no longer pass it, and our reading of it is dead"
    )


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_forwarding_entry_points_still_forward_everything(name: str) -> None:
    """A ``(*args, **kwargs)`` entry point is bound through its twin; both must take kwargs."""
    twin, function = receiver(name)
    if twin == name:
        return
    own = inspect.signature(located(name)).parameters.values()
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in own), (
        f"litellm.{name} no longer takes **kwargs in LiteLLM {LITELLM_VERSION}; we bind its "
        f"arguments through litellm.{twin}'s signature, which no longer describes it"
    )
    assert has_var_keyword(function) or ArgumentBinder(function).names, twin


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_positional_arguments_still_bind_to_the_same_names(name: str) -> None:
    twin, function = receiver(name)
    expected = LEADING_POSITIONAL[ENTRY_POINTS[name].surface]
    actual = ArgumentBinder(function).names[: len(expected)]
    assert actual == expected, (
        f"the leading positional parameters of {describe(name, twin)} changed from "
        f"{expected} to {actual} in LiteLLM {LITELLM_VERSION}: positional calls still bind "
        f"by the new signature, but an async entry point forwarding to {twin} must forward "
        f"in the same order, and docs/entry-points.md may describe the old one"
    )


@pytest.mark.usefixtures("forget_routers")
@pytest.mark.parametrize("name", sorted(ROUTER_METHODS))
def test_router_methods_are_still_reachable(name: str) -> None:
    """On the class (wrapped there), served by the class's metaclass (a facade over a core
    class: wrapped on the class too) or assigned per instance by ``Router.__init__`` (read
    through a descriptor on the class); ``_router.RouterInstrumentation`` handles each."""
    on_class = callable(getattr(litellm.Router, name, None))
    router = litellm.Router(
        model_list=[
            {"model_name": "g", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "x"}}
        ]
    )
    per_instance = callable(vars(router).get(name))
    if not (on_class or per_instance) and name in ROUTER_METHODS_LATER_THAN_OLDEST and BEFORE_LTS:
        pytest.skip(
            f"litellm.Router.{name} is not in LiteLLM {LITELLM_VERSION}: it arrived after the "
            "oldest tier's release (the LTS tier has it)"
        )
    assert on_class or per_instance, (
        f"litellm.Router.{name} is gone in LiteLLM {LITELLM_VERSION}, neither on the class nor "
        f"set by Router.__init__: Router.{name} calls get no router span"
    )


@pytest.mark.usefixtures("forget_routers")
@pytest.mark.parametrize("name", sorted(ROUTER_METHODS))
def test_router_methods_are_as_async_as_the_table_says(name: str) -> None:
    """Each Router method is wrapped by the table's word on whether it is async
    (``Router.anthropic_messages`` is, for one): a sync wrapper around a coroutine function
    would end the router span before the call ran, an async one would await a plain result."""
    router = litellm.Router(
        model_list=[
            {"model_name": "g", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "x"}}
        ]
    )
    method = vars(router).get(name)
    if not callable(method):
        static = inspect.getattr_static(litellm.Router, name, None)
        method = static if inspect.isfunction(static) else None
    if method is None:
        pytest.skip(
            f"LiteLLM {LITELLM_VERSION}'s Router defines no {name} function, on the class or "
            "the instance (a facade serves it from its core, or this release has none)"
        )
    assert inspect.iscoroutinefunction(method) is ROUTER_METHODS[name][1], (
        f"litellm.Router.{name} is {'no longer ' if ROUTER_METHODS[name][1] else ''}a "
        f"coroutine function in LiteLLM {LITELLM_VERSION}: its router wrapper is the wrong kind"
    )


@pytest.mark.parametrize(
    "name", sorted(name for name in ROUTER_METHODS if hasattr(litellm.Router, name))
)
def test_router_methods_take_the_model_group_first(name: str) -> None:
    """The router wrapper reads ``kwargs.get("model", args[0])``: model must stay first (a
    method taking ``*args`` forwards the caller's positionals as they came, one taking
    ``**kwargs`` only is given none)."""
    found = list(parameters(getattr(litellm.Router, name)).values())
    names = [p.name for p in found]
    forwards = len(found) > 1 and found[1].kind is inspect.Parameter.VAR_POSITIONAL
    # a method taking keywords only is given its model group by name
    by_name_only = all(
        p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD) for p in found[1:]
    )
    assert names[:2] == ["self", "model"] or forwards or by_name_only, (
        f"litellm.Router.{name}'s first parameter is no longer 'model' in LiteLLM "
        f"{LITELLM_VERSION} ({names[:3]}): the router span would name the wrong model group"
    )


@pytest.mark.usefixtures("forget_routers")
@pytest.mark.parametrize("created", ["before", "after"])
def test_router_responses_gets_a_router_span_and_an_attempt_span(
    instrument: Callable[..., Any], server: Any, created: str
) -> None:
    """``Router.responses`` is a function ``Router.__init__`` stores on the instance in some
    releases, holding the ``litellm.responses`` of that moment: a Router built before
    ``instrument()`` is traced as one built after."""
    from opentelemetry.trace import SpanKind

    def make_router() -> litellm.Router:
        deployment = {"model": "openai/gpt-4o-mini", "api_base": server.base_url}
        deployment.update(api_key="sk-contract", max_retries=0)
        return litellm.Router(model_list=[{"model_name": "group", "litellm_params": deployment}])

    router = make_router() if created == "before" else None
    telemetry = instrument()
    router = router or make_router()
    router.responses(model="group", input="hi")
    parent, child = sorted(telemetry.finished(), key=lambda span: span.kind.value)
    assert (parent.kind, parent.name) == (SpanKind.INTERNAL, "router chat group")
    assert (child.kind, child.name) == (SpanKind.CLIENT, "chat gpt-4o-mini")
    assert child.parent is not None
    assert child.parent.span_id == parent.context.span_id
    assert parent.attributes["litellm.router.attempts"] == 1


def test_custom_stream_wrapper_is_what_streams_return() -> None:
    """``isinstance(stream, litellm.CustomStreamWrapper)`` is what docs/streaming.md promises."""
    assert isinstance(getattr(litellm, "CustomStreamWrapper", None), type), (
        f"litellm.CustomStreamWrapper is gone in LiteLLM {LITELLM_VERSION}"
    )
    stream = litellm.completion(
        model="openai/gpt-4o-mini", messages=user_messages(), mock_response="hi", stream=True
    )
    assert isinstance(stream, litellm.CustomStreamWrapper), type(stream)
    # _streams._release_http_stream closes the provider stream behind it by this name
    assert hasattr(stream, "completion_stream"), (
        f"CustomStreamWrapper has no completion_stream in LiteLLM {LITELLM_VERSION}: "
        "close() can no longer release the provider's HTTP stream"
    )
    list(stream)


def test_get_llm_provider_signature_and_answer() -> None:
    """``_providers`` calls it by keyword and unpacks four values."""
    names = list(parameters(litellm.get_llm_provider))
    for name in ("model", "custom_llm_provider", "api_base"):
        assert name in names, (
            f"litellm.get_llm_provider() lost its {name!r} parameter in LiteLLM "
            f"{LITELLM_VERSION}: {names}"
        )
    answer = litellm.get_llm_provider(
        model="openai/gpt-4o-mini", custom_llm_provider=None, api_base=None
    )
    assert isinstance(answer, tuple) and len(answer) == 4, answer
    assert answer[:2] == ("gpt-4o-mini", "openai"), answer


def test_the_pricing_we_call_keeps_its_parameters() -> None:
    """``_operations.pricing`` prices Messages and ``generateContent`` usage by keyword with
    ``completion_cost`` after LiteLLM's own Anthropic usage translation (and Gemini's, where a
    release has it public): a rename would leave those spans without a cost, silently."""
    names = list(parameters(litellm.completion_cost))
    for name in ("completion_response", "model", "custom_llm_provider"):
        assert name in names, (
            f"litellm.completion_cost() lost its {name!r} parameter in LiteLLM "
            f"{LITELLM_VERSION}: {names}"
        )
    names = list(parameters(litellm.AnthropicConfig.calculate_usage))
    for name in ("usage_object", "reasoning_content"):
        assert name in names, (
            f"litellm.AnthropicConfig.calculate_usage() lost its {name!r} parameter in "
            f"LiteLLM {LITELLM_VERSION}: {names}"
        )
    usage = litellm.AnthropicConfig().calculate_usage(
        usage_object={"input_tokens": 8, "cache_read_input_tokens": 4, "output_tokens": 5},
        reasoning_content=None,
    )
    assert (usage.prompt_tokens, usage.completion_tokens) == (12, 5), usage
    calculate = getattr(litellm.VertexGeminiConfig, "calculate_usage", None)
    if calculate is not None:  # else our reading of the counts (tests/operations)
        metadata = {"promptTokenCount": 12, "candidatesTokenCount": 5, "thoughtsTokenCount": 2}
        usage = calculate({"usageMetadata": metadata})
        assert (usage.prompt_tokens, usage.completion_tokens) == (12, 7), usage


# CustomLogger hooks the early-bound callback overrides, with the parameters it declares.
CALLBACK_HOOKS: dict[str, tuple[str, ...]] = {
    "log_pre_api_call": ("model", "messages", "kwargs"),
    "log_success_event": ("kwargs", "response_obj", "start_time", "end_time"),
    "log_failure_event": ("kwargs", "response_obj", "start_time", "end_time"),
    "async_log_success_event": ("kwargs", "response_obj", "start_time", "end_time"),
    "async_log_failure_event": ("kwargs", "response_obj", "start_time", "end_time"),
}


@pytest.mark.parametrize("hook", sorted(CALLBACK_HOOKS))
def test_custom_logger_hooks_keep_their_signatures(hook: str) -> None:
    from litellm.integrations.custom_logger import CustomLogger

    method = getattr(CustomLogger, hook, None)
    assert callable(method), (
        f"CustomLogger.{hook} is gone in LiteLLM {LITELLM_VERSION}: calls through references "
        "bound before instrument() would no longer be traced"
    )
    assert tuple(parameters(method))[1:] == CALLBACK_HOOKS[hook], (
        f"CustomLogger.{hook} changed its parameters in LiteLLM {LITELLM_VERSION}: "
        f"{inspect.signature(method)}"
    )
    if hook.startswith("async_"):
        assert inspect.iscoroutinefunction(method), f"CustomLogger.{hook} is no longer async"


def test_callbacks_is_a_list() -> None:
    assert isinstance(litellm.callbacks, list), (
        f"litellm.callbacks is a {type(litellm.callbacks).__name__} in LiteLLM "
        f"{LITELLM_VERSION}; _callbacks.register appends to it"
    )


def test_callback_receives_the_fields_we_read(call_args: dict[str, Any]) -> None:
    """The early-bound path reads these keys from LiteLLM's logging kwargs at run time.

    LiteLLM runs a sync call's success callbacks later, on its logging thread pool, and reads
    ``litellm.callbacks`` only then: a success event of an earlier test's call, still queued
    there, reaches this test's recorder too. So events are told apart by the call they belong
    to: ours is the one pre-call event fired on this thread during the call, and the success
    event that carries its ``litellm_call_id``. The wait ends when that event arrives; the
    timeout only bounds a LiteLLM that never sends it.
    """
    from litellm.integrations.custom_logger import CustomLogger

    calling_thread = threading.get_ident()
    pre_calls: list[dict[str, Any]] = []
    success_ids: list[Any] = []
    ours: dict[str, dict[str, Any]] = {}
    arrived = threading.Event()

    class Recorder(CustomLogger):  # type: ignore[misc]
        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            if threading.get_ident() == calling_thread:
                pre_calls.append(dict(kwargs))

        def log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            call_id = kwargs.get("litellm_call_id")
            success_ids.append(call_id)
            if pre_calls and call_id == pre_calls[0].get("litellm_call_id"):
                ours["success"] = dict(kwargs)
                arrived.set()

    recorder = Recorder()
    litellm.callbacks.append(recorder)
    try:
        litellm.completion(
            model="openai/gpt-4o-mini", messages=user_messages(), temperature=0.5, **call_args
        )
        assert len(pre_calls) == 1, "LiteLLM no longer calls CustomLogger.log_pre_api_call once"
        arrived.wait(timeout=60)
    finally:
        from litellm_otel._callbacks import unregister

        unregister(litellm, recorder)
    pre = pre_calls[0]
    for key in ("litellm_call_id", "call_type", "optional_params", "litellm_params"):
        assert key in pre, f"log_pre_api_call kwargs lost {key!r} in LiteLLM {LITELLM_VERSION}"
    assert isinstance(pre["litellm_call_id"], str)
    assert pre["call_type"] == "completion", pre["call_type"]
    assert pre["optional_params"].get("temperature") == 0.5, pre["optional_params"]
    assert success_ids, "LiteLLM no longer calls CustomLogger.log_success_event"
    assert "success" in ours, (
        "no success event carries the litellm_call_id of the pre-call event "
        f"({pre['litellm_call_id']}; seen: {success_ids}): the early-bound path cannot pair "
        "them and its spans would never end"
    )
    success = ours["success"]
    assert "response_cost" in success, f"success kwargs lost 'response_cost': {sorted(success)}"
