"""Who asked, for which model: the LiteLLM Proxy's view of a request, read from an allow-list.

The Proxy hands every model call its ``metadata`` (``litellm_metadata`` on some routes), which
carries the virtual key's alias, team, user and end user — and also the key's hash
(``user_api_key``, ``user_api_key_hash``; LiteLLM prints it in rate-limit messages, so it is
treated as the key itself), the ``UserAPIKeyAuth`` object and the request headers. Only the
allow-listed fields below are read; nothing else in the metadata is looked at.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final

from litellm_otel import _attributes as attrs
from litellm_otel._access import mapping

#: Proxy metadata field → our attribute.
METADATA_FIELDS: Final = (
    ("user_api_key_alias", attrs.PROXY_KEY_ALIAS),
    ("user_api_key_team_id", attrs.PROXY_TEAM_ID),
    ("user_api_key_team_alias", attrs.PROXY_TEAM_ALIAS),
    ("user_api_key_user_id", attrs.PROXY_USER_ID),
    ("user_api_key_end_user_id", attrs.PROXY_END_USER_ID),
    ("model_group", attrs.PROXY_MODEL_GROUP),
)
#: For refusals (no routing yet): ``UserAPIKeyAuth`` field, the same fact's metadata field,
#: our attribute.
AUTH_FIELDS: Final = (
    ("key_alias", "user_api_key_alias", attrs.PROXY_KEY_ALIAS),
    ("team_id", "user_api_key_team_id", attrs.PROXY_TEAM_ID),
    ("team_alias", "user_api_key_team_alias", attrs.PROXY_TEAM_ALIAS),
    ("user_id", "user_api_key_user_id", attrs.PROXY_USER_ID),
    ("end_user_id", "user_api_key_end_user_id", attrs.PROXY_END_USER_ID),
)
#: Client-controlled strings (``user``, ``model``) are capped so one request cannot put
#: megabytes on a span.
MAX_VALUE_LENGTH: Final = 256


def capped(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value[:MAX_VALUE_LENGTH]
    return None


def proxy_metadata(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Proxy's metadata of a call; ``None`` for a call the Proxy did not make.

    ``user_api_key_request_route`` is set for every request the Proxy authenticated.
    """
    for key in ("metadata", "litellm_metadata"):
        metadata = mapping(params.get(key))
        if metadata is not None and "user_api_key_request_route" in metadata:
            return metadata
    return None


def _requested_model(params: Mapping[str, Any]) -> str | None:
    """The ``model`` of the client's body; the request's headers are never looked at."""
    request = mapping(params.get("proxy_server_request"))
    body = mapping(request.get("body")) if request is not None else None
    return capped(body.get("model")) if body is not None else None


def request_attributes(params: Mapping[str, Any]) -> dict[str, str]:
    """``litellm.proxy.*`` attributes of one proxied LiteLLM call; empty for any other call.

    ``params`` are the call's arguments as our wrappers bound them; absent values are not
    recorded.
    """
    metadata = proxy_metadata(params)
    if metadata is None:
        return {}
    attributes: dict[str, str] = {}
    for name, attribute in METADATA_FIELDS:
        value = capped(metadata.get(name))
        if value is not None:
            attributes[attribute] = value
    requested = _requested_model(params)
    if requested is not None:
        attributes[attrs.PROXY_REQUESTED_MODEL] = requested
    return attributes


def request_hook(span: Any, params: Mapping[str, Any]) -> None:
    """Span attributes, unbounded; metrics get them only through :class:`MetricIdentity`."""
    attributes = request_attributes(params)
    if attributes:
        span.set_attributes(attributes)


#: The value an identity attribute gets on metrics once its ceiling of distinct values is hit.
OTHER: Final = "_OTHER"


class MetricIdentity:
    """The allow-listed identity of a proxied call, as metric attributes with a ceiling.

    Each attribute keeps at most ``limit`` distinct values for the life of the process (the
    first ones seen); any later value is recorded as :data:`OTHER`, so a deployment with
    thousands of keys adds a bounded number of series to every metric. Spans keep the real
    values (:func:`request_attributes`).
    """

    __slots__ = ("_fields", "_limit", "_lock", "_seen")

    def __init__(self, fields: Iterable[str], limit: int) -> None:
        wanted = set(fields)
        self._fields = tuple(
            (name, attribute)
            for name, attribute in METADATA_FIELDS
            if attribute.removeprefix("litellm.proxy.") in wanted
        )
        self._limit = limit
        self._seen: dict[str, set[str]] = {attribute: set() for _, attribute in self._fields}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._fields)

    def attributes(self, params: Mapping[str, Any]) -> dict[str, str]:
        """The metric attributes of one call; empty for a call the Proxy did not make."""
        metadata = proxy_metadata(params)
        if metadata is None:
            return {}
        attributes: dict[str, str] = {}
        for name, attribute in self._fields:
            value = capped(metadata.get(name))
            if value is not None:
                attributes[attribute] = self._bounded(attribute, value)
        return attributes

    def _bounded(self, attribute: str, value: str) -> str:
        seen = self._seen[attribute]
        if value in seen:
            return value
        with self._lock:
            if value in seen:
                return value
            if len(seen) < self._limit:
                seen.add(value)
                return value
        return OTHER
