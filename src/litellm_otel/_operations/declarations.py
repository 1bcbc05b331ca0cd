"""The shapes of the entry-point table: what a surface and an entry point declare.

The table itself (every surface, every wrapped function) is the package's ``__init__``; the
mappings are its sibling modules. Kept apart so that every reader of the table (the
instrumentor, the Router instrumentation, the callbacks, the contract tests, the docs) and
every mapping can name these types without importing the whole table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

RequestMapper = Callable[[Any, Mapping[str, Any], bool], None]
ResponseMapper = Callable[[Any, Any, bool], None]
#: Keyword arguments of the util-genai factory that only the call's arguments can give
#: (``response_id``, ``data_source_id``, a tool's ``name`` and ``tool_call_id``, ``agent_name``).
StartFields = Callable[[Mapping[str, Any]], Mapping[str, Any]]
#: The call's arguments as the provider resolver should read them (``model``,
#: ``custom_llm_provider``, ``api_base``), for surfaces whose calls name the provider otherwise.
RoutingReader = Callable[[Mapping[str, Any]], Mapping[str, Any]]


class InvocationKind(Enum):
    """Which util-genai invocation a surface's calls are: each has its own span shape (kind,
    name, required attributes) and its own factory on the handler."""

    INFERENCE = "inference"  # CLIENT span, operation name of the surface's choosing
    EMBEDDING = "embedding"
    FETCH_RESPONSE = "fetch_response"  # no token usage, by the conventions
    RETRIEVAL = "retrieval"
    TOOL = "tool"  # execute_tool, INTERNAL
    REMOTE_AGENT = "remote_agent"  # invoke_agent, CLIENT
    LOCAL_AGENT = "local_agent"  # invoke_agent, INTERNAL


class StreamState(Protocol):
    """Reads the chunks of one kind of stream and records what they said on the invocation.

    Called positionally only, so a reader may name its parameters for what it reads (the
    Responses API streams events, not chunks)."""

    def process(self, chunk: Any, invocation: Any, /) -> None: ...

    def apply(self, invocation: Any, /) -> None: ...


@dataclass(frozen=True)
class Surface:
    """How one family of LiteLLM calls maps onto a util-genai invocation."""

    operation_name: str  # gen_ai.operation.name
    apply_request: RequestMapper
    apply_response: ResponseMapper
    #: The call arguments we read (the mapping, provider routing, the Router's metadata) that
    #: LiteLLM names in its signature: a rename there would silently drop an attribute, so
    #: tests/test_litellm_contract.py holds LiteLLM to them.
    reads: tuple[str, ...]
    #: The ones LiteLLM takes only through ``**kwargs``.
    reads_via_kwargs: tuple[str, ...]
    #: How LiteLLM names its leading positional parameters (``completion(model, messages)``).
    positional: tuple[str, ...]
    kind: InvocationKind = InvocationKind.INFERENCE
    new_stream_state: Callable[[bool], StreamState] | None = None  # reader of streamed chunks
    start_fields: StartFields | None = None
    routing: RoutingReader | None = None
    #: Operations whose calls made by LiteLLM inside this surface's call get spans of their
    #: own, as children (a RAG query's completion); every other inner call, this surface's
    #: own re-entry included (an async twin running its sync twin), folds into this span.
    child_operations: frozenset[str] = frozenset()
    #: The function returns a stream whatever its arguments say (no ``stream=True``).
    always_streams: bool = False
    #: The ``error.type`` of a reply that says the call failed although nothing was raised
    #: (an MCP tool result with ``isError``, an A2A JSON-RPC error); ``None`` for success.
    reply_error: Callable[[Any], str | None] | None = None
    #: The reply is generated choices, each ending with a finish reason (the latest
    #: conventions give a missing one ``error``); OCR's pages are not.
    has_choices: bool = True

    @property
    def embedding(self) -> bool:
        return self.kind is InvocationKind.EMBEDDING


@dataclass(frozen=True)
class EntryPoint:
    """One public LiteLLM function we wrap.

    ``name`` is its path below the ``litellm`` package: ``"completion"`` is
    ``litellm.completion``, ``"anthropic_interface.messages.create"`` is ``create`` in the
    module ``litellm.anthropic_interface.messages``. A function of a submodule is wrapped in
    that module when it is loaded (now, or on its import: never imported by us), and under
    each of its ``aliases`` (paths of the same form) that holds the same function.
    """

    name: str
    surface: Surface
    is_async: bool
    #: The ``litellm.Router`` methods whose attempts are calls of this function (each gets a
    #: router span over them); ``Router.anthropic_messages`` is async, as its attempts are.
    router_methods: tuple[str, ...] = ()
    #: For ``(*args, **kwargs)`` functions, the function whose signature names their
    #: arguments: a name of this table, or a path of the same form to another function.
    signature_of: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        """The dotted name of the module that holds the function."""
        return module_of(self.name)

    @property
    def attribute(self) -> str:
        return self.name.rpartition(".")[2]


def module_of(path: str) -> str:
    """``"a.b.f"`` → ``"litellm.a.b"``; ``"f"`` → ``"litellm"``."""
    package = path.rpartition(".")[0]
    return f"litellm.{package}" if package else "litellm"
