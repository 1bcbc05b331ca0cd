"""Early-bound references, the cheap way: point them at the wrappers.

``from litellm import completion`` executed before ``instrument()`` leaves a module global
that still holds LiteLLM's original function. ``instrument()`` walks the loaded modules once
and rebinds every such global (whatever its name) to our wrapper; ``uninstrument()`` puts
the originals back. Calls through those names then take exactly the wrapper path: same
span, same attributes, no per-call cost.

Only module globals are reached. References kept elsewhere before ``instrument()`` (an
object attribute, a dict, a ``functools.partial``) are not; the opt-in LiteLLM callback
(:mod:`litellm_otel._callbacks`) covers those at LiteLLM's logging cost. LiteLLM's own
modules are never touched: their internal references are LiteLLM's business, and our
context-variable guard already keeps their nested calls to one span.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator, Mapping
from typing import Any, Final, cast

from litellm_otel._failsafe import report_failure

Rebound = list[tuple[dict[str, Any], str, Any, Any]]  # (namespace, name, original, wrapper)

#: Packages whose modules (the package itself and its submodules, not every module whose
#: name merely starts the same, such as a user's ``litellm_client``) are never touched.
_SKIPPED_PACKAGES: Final = ("litellm", "opentelemetry", "wrapt")

# A module's namespace read through ``ModuleType``'s own slot: no attribute lookup, so no code
# of the module's runs. A module whose type overrides attribute access (``importlib``'s
# ``LazyLoader`` executes the module on its first attribute read) is passed over: it has not
# run yet, so it holds no reference of ours, and reading it must not make it run.
_MODULE_NAMESPACE: Final[types.GetSetDescriptorType] = vars(types.ModuleType)["__dict__"]
_PLAIN_ATTRIBUTE_ACCESS: Final = types.ModuleType.__getattribute__


def _skipped(module_name: str) -> bool:
    return any(
        module_name == package or module_name.startswith(f"{package}.")
        for package in _SKIPPED_PACKAGES
    )


def _namespaces() -> Iterator[dict[str, Any]]:
    """The namespaces of the loaded modules we may rebind in, read without running any code."""
    # A copy made in one step: other threads import while we walk (and a list built item by
    # item can run the garbage collector, whose finalizers may import too). Anyone may write
    # to ``sys.modules``: its keys are not always strings, nor its values modules.
    modules = cast("dict[object, object]", sys.modules.copy())
    for module_name, module in modules.items():
        module_type = type(module)
        if (
            not isinstance(module_name, str)
            or _skipped(module_name)
            or not issubclass(module_type, types.ModuleType)
            or module_type.__getattribute__ is not _PLAIN_ATTRIBUTE_ACCESS
        ):
            continue
        namespace = _MODULE_NAMESPACE.__get__(module, module_type)
        if isinstance(namespace, dict):
            yield cast("dict[str, Any]", namespace)


def rebind(replacements: Mapping[int, tuple[Any, Any]]) -> Rebound:
    """Replace module globals that are ``original`` by ``wrapper``; ``{id(original): (original,
    wrapper)}``. Returns what was changed, for :func:`restore`. Raises only on a bug of ours
    (having put back what it changed), for ``instrument()`` to undo the rest."""
    changed: Rebound = []
    try:
        for namespace in _namespaces():
            for name, value in list(namespace.items()):
                replacement = replacements.get(id(value))
                if replacement is not None and replacement[0] is value:
                    namespace[name] = replacement[1]
                    changed.append((namespace, name, value, replacement[1]))
    except BaseException:
        restore(changed)
        raise
    return changed


def restore(changed: Rebound) -> None:
    """Put back what :func:`rebind` replaced, where nobody replaced it again since."""
    for namespace, name, original, wrapper in changed:
        try:
            if namespace.get(name) is wrapper:
                namespace[name] = original
        except Exception:
            report_failure("restoring early-bound LiteLLM references")
