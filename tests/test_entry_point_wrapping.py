"""Entry points in LiteLLM's submodules: wrapped where users call them, now or on import.

Each test adds entry points of its own to the table, in modules it makes under the ``litellm``
package name (a module in ``sys.modules``, or one served by an import finder of the test's, so
that its import goes through the real import system and the import hook).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import litellm
import pytest
import wrapt
from opentelemetry.trace import SpanKind

from litellm_otel import LiteLLMInstrumentor, _operations
from litellm_otel._operations import CHAT, EntryPoint, InvocationKind, Surface
from tests.support.telemetry import Telemetry, user_messages

MOCK = {"mock_response": "hi"}


def noop(invocation: Any, *_: Any) -> None:
    return None


RETRIEVAL = Surface(
    "retrieval",
    noop,
    noop,
    reads=(),
    reads_via_kwargs=(),
    positional=("query",),
    kind=InvocationKind.RETRIEVAL,
    start_fields=lambda params: {"data_source_id": params.get("store")},
)
COMPOSITE = dataclasses.replace(RETRIEVAL, child_operations=frozenset({"chat"}))
FETCH = Surface(
    "fetch_response",
    noop,
    noop,
    reads=(),
    reads_via_kwargs=(),
    positional=("response_id",),
    kind=InvocationKind.FETCH_RESPONSE,
    start_fields=lambda params: {"response_id": params.get("response_id")},
    routing=lambda params: {"custom_llm_provider": "anthropic"},
)
TOOL = Surface(
    "execute_tool",
    noop,
    noop,
    reads=(),
    reads_via_kwargs=(),
    positional=(),
    kind=InvocationKind.TOOL,
    start_fields=lambda params: {"name": params.get("tool"), "tool_call_id": "call-1"},
)


def chat_inside(query: str, store: str = "vs-1") -> str:
    """What a composite LiteLLM function does: a completion of its own."""
    response = litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), **MOCK)
    return str(response.choices[0].message.content)


def make_module(name: str, **functions: Callable[..., Any]) -> types.ModuleType:
    module = types.ModuleType(name)
    for attribute, function in functions.items():
        function.__module__ = name
        setattr(module, attribute, function)
    return module


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``table(entry, ...)``: these entry points join ENTRY_POINTS for the test."""

    def add(*entries: EntryPoint) -> None:
        for entry in entries:
            monkeypatch.setitem(_operations.ENTRY_POINTS, entry.name, entry)  # type: ignore[arg-type]

    return add


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> Callable[..., types.ModuleType]:
    """``loaded("x", f=...)``: a loaded module ``litellm.x``, gone after the test."""

    def load(path: str, **functions: Callable[..., Any]) -> types.ModuleType:
        module = make_module(f"litellm.{path}", **functions)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        return module

    return load


class SourceFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves modules from source strings, as if they were files of the ``litellm`` package."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources
        self.imported: list[str] = []

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname in self.sources:
            is_package = any(name.startswith(f"{fullname}.") for name in self.sources)
            return importlib.machinery.ModuleSpec(fullname, self, is_package=is_package)
        return None

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        self.imported.append(module.__name__)
        exec(self.sources[module.__name__], vars(module))


@pytest.fixture
def importable() -> Iterator[Callable[[dict[str, str]], SourceFinder]]:
    finders: list[SourceFinder] = []

    def serve(sources: dict[str, str]) -> SourceFinder:
        finder = SourceFinder(sources)
        sys.meta_path.append(finder)
        finders.append(finder)
        return finder

    yield serve
    for finder in finders:
        sys.meta_path.remove(finder)
        for name in finder.sources:
            sys.modules.pop(name, None)


LAZY_SOURCE = """
def search(query, store="vs-1"):
    return "found " + query

async def asearch(query, store="vs-1"):
    return search(query, store)
"""


def test_a_loaded_submodule_and_its_alias_are_wrapped_and_restored(
    instrument: Callable[..., Telemetry], table: Any, loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = loaded("otel_test_store", search=lambda query, store="vs-1": f"found {query}")
    original = module.search
    monkeypatch.setattr(litellm, "otel_test_search", original, raising=False)
    table(EntryPoint("otel_test_store.search", RETRIEVAL, False, aliases=("otel_test_search",)))
    telemetry = instrument()
    assert isinstance(module.search, wrapt.FunctionWrapper)
    assert litellm.otel_test_search is module.search  # type: ignore[attr-defined]
    assert module.search("q", store="vs-9") == "found q"
    assert litellm.otel_test_search("r") == "found r"  # type: ignore[attr-defined]
    spans = telemetry.finished()
    # no store given: the default is LiteLLM's business, not an argument we saw
    assert [(s.name, s.kind) for s in spans] == [
        ("retrieval vs-9", SpanKind.CLIENT),
        ("retrieval", SpanKind.CLIENT),
    ]
    assert spans[0].attributes is not None
    assert spans[0].attributes["gen_ai.operation.name"] == "retrieval"
    assert spans[0].attributes["gen_ai.data_source.id"] == "vs-9"
    LiteLLMInstrumentor().uninstrument()
    assert module.search is original
    assert litellm.otel_test_search is original  # type: ignore[attr-defined]


def test_an_alias_holding_another_function_is_left_alone(
    instrument: Callable[..., Telemetry], table: Any, loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = loaded("otel_test_store", search=lambda query: query)
    other = lambda query: query  # noqa: E731
    monkeypatch.setattr(litellm, "otel_test_search", other, raising=False)
    table(EntryPoint("otel_test_store.search", RETRIEVAL, False, aliases=("otel_test_search",)))
    instrument()
    assert isinstance(module.search, wrapt.FunctionWrapper)
    assert litellm.otel_test_search is other  # type: ignore[attr-defined]


def test_a_module_imported_after_instrument_is_wrapped_on_import(
    instrument: Callable[..., Telemetry], table: Any, importable: Any
) -> None:
    finder = importable({"litellm.otel_test_lazy": LAZY_SOURCE})
    table(*_operations._pair("otel_test_lazy.search", RETRIEVAL))
    telemetry = instrument()
    assert finder.imported == []  # instrument() imports nothing
    assert "litellm.otel_test_lazy" not in sys.modules
    module = importlib.import_module("litellm.otel_test_lazy")
    assert isinstance(module.search, wrapt.FunctionWrapper)
    assert isinstance(module.asearch, wrapt.FunctionWrapper)
    assert module.search("q", "vs-2") == "found q"
    spans = telemetry.finished()
    assert [s.name for s in spans] == ["retrieval vs-2"]
    LiteLLMInstrumentor().uninstrument()
    assert not isinstance(module.search, wrapt.FunctionWrapper)
    assert module.search("q") == "found q"
    assert len(telemetry.finished()) == 1


async def test_an_async_twin_running_its_sync_twin_is_one_span(
    instrument: Callable[..., Telemetry], table: Any, importable: Any
) -> None:
    importable({"litellm.otel_test_lazy": LAZY_SOURCE})
    table(*_operations._pair("otel_test_lazy.search", RETRIEVAL))
    telemetry = instrument()
    module = importlib.import_module("litellm.otel_test_lazy")
    assert await module.asearch("q", store="vs-3") == "found q"
    assert [s.name for s in telemetry.finished()] == ["retrieval vs-3"]


def test_a_module_imported_after_uninstrument_stays_unwrapped(
    instrument: Callable[..., Telemetry], table: Any, importable: Any
) -> None:
    importable({"litellm.otel_test_lazy": LAZY_SOURCE})
    table(EntryPoint("otel_test_lazy.search", RETRIEVAL, False))
    telemetry = instrument()
    LiteLLMInstrumentor().uninstrument()
    module = importlib.import_module("litellm.otel_test_lazy")
    assert not isinstance(module.search, wrapt.FunctionWrapper)
    module.search("q")
    assert telemetry.finished() == []


def test_a_missing_optional_dependency_fails_only_the_users_import(
    instrument: Callable[..., Telemetry], table: Any, importable: Any
) -> None:
    importable({"litellm.otel_test_optional": "import otel_test_sdk_that_is_not_installed\n"})
    table(EntryPoint("otel_test_optional.send", RETRIEVAL, False))
    telemetry = instrument()
    litellm.completion(model="openai/gpt-4o-mini", messages=user_messages(), **MOCK)
    assert [s.name for s in telemetry.finished()] == ["chat gpt-4o-mini"]
    with pytest.raises(ModuleNotFoundError, match="otel_test_sdk_that_is_not_installed"):
        importlib.import_module("litellm.otel_test_optional")


def test_an_entry_point_missing_from_a_loaded_module_is_skipped(
    instrument: Callable[..., Telemetry], table: Any, loaded: Any
) -> None:
    module = loaded("otel_test_store", search=lambda query: query)
    table(
        EntryPoint("otel_test_store.search", RETRIEVAL, False),
        EntryPoint("otel_test_store.vanished", RETRIEVAL, False),
    )
    instrument()
    assert isinstance(module.search, wrapt.FunctionWrapper)
    assert not hasattr(module, "vanished")


@pytest.mark.parametrize(
    ("surface", "expected"),
    [
        pytest.param(RETRIEVAL, ["retrieval vs-1"], id="inner-calls-fold"),
        pytest.param(COMPOSITE, ["chat gpt-4o-mini", "retrieval vs-1"], id="inner-chat-is-a-child"),
    ],
)
def test_inner_calls_fold_or_become_children(
    instrument: Callable[..., Telemetry],
    table: Any,
    loaded: Any,
    surface: Surface,
    expected: list[str],
) -> None:
    module = loaded("otel_test_rag", query=chat_inside)
    table(EntryPoint("otel_test_rag.query", surface, False))
    telemetry = instrument()
    assert module.query("q", store="vs-1") == "hi"
    spans = telemetry.finished()
    assert [s.name for s in spans] == expected
    outer = spans[-1]
    assert outer.parent is None
    for inner in spans[:-1]:
        assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
        assert inner.context.trace_id == outer.context.trace_id


def test_a_composites_own_reentry_folds(
    instrument: Callable[..., Telemetry], table: Any, loaded: Any
) -> None:
    def outer(query: str, store: str = "vs-1") -> str:
        # through the module attribute, wrapped too, as LiteLLM's async twins call theirs
        return str(sys.modules["litellm.otel_test_rag"].inner_query(query, store=store))

    module = loaded("otel_test_rag", query=outer, inner_query=chat_inside)
    table(
        EntryPoint("otel_test_rag.query", COMPOSITE, False),
        EntryPoint("otel_test_rag.inner_query", COMPOSITE, False),
    )
    telemetry = instrument()
    assert isinstance(module.inner_query, wrapt.FunctionWrapper)
    module.query("q", store="vs-1")
    assert [s.name for s in telemetry.finished()] == ["chat gpt-4o-mini", "retrieval vs-1"]


def test_inner_calls_of_a_chat_surface_still_fold(instrument: Callable[..., Telemetry]) -> None:
    """The existing guard is unchanged: completion_with_retries → completion is one span."""
    telemetry = instrument()
    litellm.completion_with_retries(model="openai/gpt-4o-mini", messages=user_messages(), **MOCK)
    assert [s.name for s in telemetry.finished()] == ["chat gpt-4o-mini"]
    assert CHAT.child_operations == frozenset()


def test_fetch_response_and_tool_kinds(
    instrument: Callable[..., Telemetry], table: Any, loaded: Any
) -> None:
    module = loaded(
        "otel_test_kinds",
        fetch=lambda response_id: {"id": response_id},
        call_tool=lambda tool=None: "ok",
    )
    table(
        EntryPoint("otel_test_kinds.fetch", FETCH, False),
        EntryPoint("otel_test_kinds.call_tool", TOOL, False),
    )
    telemetry = instrument()
    module.fetch("resp_1")
    module.call_tool(tool="lookup")
    fetched, tool = telemetry.finished()
    assert (fetched.name, fetched.kind) == ("fetch_response", SpanKind.CLIENT)
    assert fetched.attributes is not None
    assert fetched.attributes["gen_ai.operation.name"] == "fetch_response"
    assert fetched.attributes["gen_ai.response.id"] == "resp_1"
    assert fetched.attributes["gen_ai.provider.name"] == "anthropic"
    assert "gen_ai.usage.input_tokens" not in fetched.attributes
    assert (tool.name, tool.kind) == ("execute_tool lookup", SpanKind.INTERNAL)
    assert tool.attributes is not None
    assert tool.attributes["gen_ai.tool.name"] == "lookup"
    assert tool.attributes["gen_ai.tool.call.id"] == "call-1"


PACKAGE_SOURCES = {
    "litellm.otel_test_pkg": "from litellm.otel_test_pkg.main import search\n",
    "litellm.otel_test_pkg.main": LAZY_SOURCE,
}


def test_a_package_copying_a_wrapped_function_is_restored_too(
    instrument: Callable[..., Telemetry], table: Any, importable: Any
) -> None:
    """A package imported after ``instrument()`` whose ``__init__`` imports its submodule's
    entry point copies the wrapper the import hook put there: calls through the copy are
    traced, ``uninstrument()`` puts the original back in both places, and a second
    ``instrument()`` traces through both again."""
    importable(PACKAGE_SOURCES)
    table(
        EntryPoint("otel_test_pkg.main.search", RETRIEVAL, False, aliases=("otel_test_pkg.search",))
    )
    telemetry = instrument()
    package = importlib.import_module("litellm.otel_test_pkg")
    main = sys.modules["litellm.otel_test_pkg.main"]
    original = main.search.__wrapped__
    assert package.search is main.search
    assert package.search("q", "vs-1") == "found q"
    assert [s.name for s in telemetry.finished()] == ["retrieval vs-1"]

    LiteLLMInstrumentor().uninstrument()
    assert main.search is original
    assert package.search is original

    telemetry.spans.clear()
    again = instrument()
    assert isinstance(package.search, wrapt.FunctionWrapper)
    package.search("q", "vs-2")
    main.search("q", "vs-3")
    assert [s.name for s in again.finished()] == ["retrieval vs-2", "retrieval vs-3"]
