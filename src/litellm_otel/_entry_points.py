"""Putting the wrappers where users call LiteLLM's entry points, and taking them away again.

An entry point of the ``litellm`` module itself is wrapped at ``instrument()``. One of a
submodule (``litellm.anthropic_interface.messages``) is wrapped there if the module is
already loaded; otherwise an import hook wraps it the moment it loads. We never import such a
module ourselves: some import optional SDKs, and an import that fails or has side effects must
not come from us (``instrument()`` stays all or nothing and imports nothing of the user's).
Each alias of an entry point (``litellm.generate_content`` for
``litellm.google_genai.generate_content``) gets the same wrapper where it holds the same
function. Module globals of the user's that were bound before ``instrument()`` are rebound
(:mod:`litellm_otel._rebind`).

Import hooks cannot be unregistered: after ``uninstrument()`` a hook still waiting does
nothing, and a later ``instrument()`` registers its own.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import wrapt

from litellm_otel import _rebind
from litellm_otel._failsafe import report_failure
from litellm_otel._operations import EntryPoint, module_of
from litellm_otel._recorder import CallRecorder
from litellm_otel._wrappers import ArgumentBinder, make_wrapper

#: (module, attribute, original, wrapper) for each place we replaced a function.
Placed = tuple[types.ModuleType, str, Any, Any]


class EntryPointWrapping:
    """The wrappers of one ``instrument()``: placed now or on import, removed together."""

    def __init__(self, recorder: CallRecorder, entries: Mapping[str, EntryPoint]) -> None:
        self._recorder = recorder
        self._entries = entries
        self._placed: list[Placed] = []
        self._rebound: _rebind.Rebound = []
        self._lock = threading.Lock()
        self._active = True
        #: ``id(original)`` → (original, wrapper), for :meth:`wrapper_for`.
        self._wrappers: dict[int, tuple[Any, Any]] = {}
        #: Modules whose import hook is registered and has not fired yet.
        self.waiting: set[str] = set()

    def install(self) -> None:
        """Wrap what is loaded, hook what is not. Raises only on a bug of ours, having undone
        nothing: the caller's :meth:`remove` does."""
        by_module: dict[str, list[EntryPoint]] = {}
        for entry in self._entries.values():
            by_module.setdefault(entry.module, []).append(entry)
        replacements: dict[int, tuple[Any, Any]] = {}
        for module_name, entries in by_module.items():
            module = sys.modules.get(module_name)
            if module is None:
                self.waiting.add(module_name)
                wrapt.register_post_import_hook(self._hook_for(entries), module_name)
                continue
            for placed in self._wrap_module(module, entries):
                replacements[id(placed[2])] = (placed[2], placed[3])
        self._rebound = _rebind.rebind(replacements)

    def remove(self) -> None:
        """Put every original back where it is still our wrapper; hooks yet to fire stay idle."""
        with self._lock:
            self._active = False
            placed, self._placed = self._placed, []
            rebound, self._rebound = self._rebound, []
            self._wrappers = {}
        try:
            _rebind.restore(rebound)
        finally:
            for module, attribute, original, wrapper in reversed(placed):
                try:
                    if vars(module).get(attribute) is wrapper:
                        setattr(module, attribute, original)
                except Exception:
                    report_failure("restoring LiteLLM's functions")
            _restore_copies({id(wrapper): (wrapper, original) for *_, original, wrapper in placed})

    def wrapper_for(self, function: Any) -> Any:
        """Our wrapper of ``function``, one of LiteLLM's originals, or ``None`` (for references
        to the originals kept before ``instrument()`` where rebinding cannot reach)."""
        found = self._wrappers.get(id(function))
        return found[1] if found is not None and found[0] is function else None

    @property
    def wrapped(self) -> tuple[str, ...]:
        """``module.attribute`` of each place holding one of our wrappers."""
        with self._lock:
            return tuple(f"{module.__name__}.{attribute}" for module, attribute, *_ in self._placed)

    def _hook_for(self, entries: list[EntryPoint]) -> Callable[[types.ModuleType], None]:
        def on_import(module: types.ModuleType) -> None:
            # Runs inside the user's import statement: nothing may escape.
            try:
                self.waiting.discard(module.__name__)
                self._wrap_module(module, entries)
            except Exception:
                report_failure(f"instrumenting {module.__name__} as it was imported")

        return on_import

    def _wrap_module(self, module: types.ModuleType, entries: Iterable[EntryPoint]) -> list[Placed]:
        """Wrap the entry points of one loaded module and their aliases; all or none of them
        (a failure undoes this module's wrappers and raises)."""
        done: list[Placed] = []
        with self._lock:
            if not self._active:
                return done
            try:
                for entry in entries:
                    original = _function_at(module, entry.attribute)
                    if original is None:  # not in this LiteLLM release
                        continue
                    if any(original is placed[3] for placed in (*self._placed, *done)):
                        continue  # one module under two names (LiteLLM's package aliases)
                    wrapper = wrapt.FunctionWrapper(
                        original,
                        make_wrapper(
                            self._recorder,
                            entry.surface,
                            entry.is_async,
                            self._binder(original, entry),
                        ),
                    )
                    done.append(_place(module, entry.attribute, original, wrapper))
                    for alias in entry.aliases:
                        alias_module = sys.modules.get(module_of(alias))
                        attribute = alias.rpartition(".")[2]
                        if alias_module is not None and (
                            vars(alias_module).get(attribute) is original
                        ):
                            done.append(_place(alias_module, attribute, original, wrapper))
            except BaseException:
                for placed_module, attribute, original, wrapper in reversed(done):
                    if vars(placed_module).get(attribute) is wrapper:
                        setattr(placed_module, attribute, original)
                raise
            self._placed.extend(done)
            for _, _, original, wrapper in done:
                self._wrappers[id(original)] = (original, wrapper)
        return done

    def _binder(self, original: Any, entry: EntryPoint) -> ArgumentBinder:
        binder = ArgumentBinder(original)
        if binder.names or entry.signature_of is None:
            return binder
        # ``(*args, **kwargs)`` forwarding to another entry point, whose signature says what
        # positional arguments mean.
        path = entry.signature_of
        module = sys.modules.get(module_of(path))
        function = _function_at(module, path.rpartition(".")[2])
        return ArgumentBinder(function or original)


def _restore_copies(originals: Mapping[int, tuple[Any, Any]]) -> None:
    """Put the original back wherever LiteLLM copied one of our wrappers itself.

    A package that imports its submodule's function (``litellm.a2a_protocol``'s
    ``from .main import send_message``) copies our wrapper when the import hook wrapped the
    submodule first: that copy was never a place of ours, and left behind it would keep a
    later ``instrument()`` from tracing calls through it.
    """
    if not originals:
        return
    # copies (atomic): another thread may be importing, or setting module globals
    for name, module in sys.modules.copy().items():
        if not (name == "litellm" or name.startswith("litellm.")):
            continue
        # ``None`` where an import is blocked (``sys.modules[name] = None``)
        found_namespace: Any = getattr(module, "__dict__", None)
        if not isinstance(found_namespace, dict):
            continue
        namespace = cast("dict[str, Any]", found_namespace)
        try:
            for attribute, value in namespace.copy().items():
                found = originals.get(id(value))
                if found is not None and found[0] is value:
                    namespace[attribute] = found[1]
        except Exception:
            report_failure(f"restoring LiteLLM's functions in {name}")


def _function_at(module: types.ModuleType | None, attribute: str) -> Any:
    """The callable ``module.attribute``. The ``litellm`` module is asked (it loads some of
    its names on first use); a submodule is only read, so that no code of its runs."""
    if module is None:
        return None
    if module.__name__ == "litellm":
        value = getattr(module, attribute, None)
    else:
        value = vars(module).get(attribute)
    return value if callable(value) else None


def _place(module: types.ModuleType, attribute: str, original: Any, wrapper: Any) -> Placed:
    setattr(module, attribute, wrapper)
    return (module, attribute, original, wrapper)
