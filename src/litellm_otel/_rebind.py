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
from collections.abc import Mapping
from typing import Any

from litellm_otel._failsafe import report_failure

Rebound = list[tuple[Any, str, Any]]  # (module, global name, original function)

_SKIPPED_PREFIXES = ("litellm", "opentelemetry", "wrapt")


def rebind(replacements: Mapping[int, tuple[Any, Any]]) -> Rebound:
    """Replace module globals that are ``original`` by ``wrapper``; ``{id(original): (original,
    wrapper)}``. Returns what was changed, for :func:`restore`."""
    changed: Rebound = []
    # A copy made in one step: other threads import while we walk (and a list built item by
    # item can run the garbage collector, whose finalizers may import too).
    for module_name, module in sys.modules.copy().items():
        if module is None or module_name.startswith(_SKIPPED_PREFIXES):
            continue
        try:
            namespace = vars(module)
        except TypeError:
            continue
        try:
            for name, value in list(namespace.items()):
                replacement = replacements.get(id(value))
                if replacement is not None and replacement[0] is value:
                    setattr(module, name, replacement[1])
                    changed.append((module, name, value))
        except Exception:
            report_failure("rebinding early-bound LiteLLM references")
    return changed


def restore(changed: Rebound) -> None:
    """Put back what :func:`rebind` replaced, where nobody replaced it again since."""
    for module, name, original in changed:
        try:
            current = vars(module).get(name)
            if getattr(current, "__wrapped__", None) is original:
                setattr(module, name, original)
        except Exception:
            report_failure("restoring early-bound LiteLLM references")
