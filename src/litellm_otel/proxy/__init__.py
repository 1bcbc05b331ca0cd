"""LiteLLM Proxy: who asked, for which model, and why a request was refused — never the key.

Two ways in (docs/proxy.md):

* ``opentelemetry-instrument litellm -c config.yaml``: the launcher loads our instrumentor,
  whose ``instrument()`` sees it runs in the Proxy and adds the Proxy integration
  (:mod:`litellm_otel.proxy.integration`) — nothing to add to the config;
* ``litellm_settings: callbacks: ["litellm_otel.proxy.proxy_handler_instance"]`` in the Proxy's
  config, without the launcher (:mod:`litellm_otel.proxy.config_path`).

What is never read, let alone recorded: the virtual key, the master key, LiteLLM's
``user_api_key`` / ``user_api_key_hash``, the ``UserAPIKeyAuth`` object, request headers,
upstream API keys, and the exception message of a refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["proxy_handler_instance"]

if TYPE_CHECKING:  # what __getattr__ resolves, declared for type checkers only
    from litellm_otel.proxy.refusals import ProxyCallback

    proxy_handler_instance: ProxyCallback


def __getattr__(name: str) -> Any:
    """``proxy_handler_instance``: the name to put in the Proxy's ``litellm_settings.callbacks``.

    Resolved lazily (PEP 562): importing this package configures nothing; only naming the
    object, as the Proxy's config loader does, sets up telemetry.
    """
    if name == "proxy_handler_instance":
        from litellm_otel.proxy.config_path import setup_from_config

        return setup_from_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
