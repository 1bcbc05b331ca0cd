"""The Responses API's calls on a stored response: ``get_responses`` (``fetch_response``),
``delete_responses``, ``cancel_responses`` and ``list_input_items``.

None of them generates anything, so none records token usage or cost, even where the reply
carries the stored response's usage (a fetch, a cancel): those tokens were counted by the call
that generated them. The provider comes from ``custom_llm_provider`` or, as LiteLLM itself
finds it, from the response id LiteLLM handed out (``resp_`` + base64 of
``litellm:custom_llm_provider:<provider>;model_id:...;response_id:<the provider's id>``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.genai.invocation import FetchResponseInvocation, InferenceInvocation

from litellm_otel._access import field
from litellm_otel._operations.responses import finish_reason, output_message

_ID_PREFIX: Final = "resp_"
_PROVIDER_KEY: Final = "litellm:custom_llm_provider:"
#: Encoded ids are short; anything longer is not one of LiteLLM's and is not decoded.
_MAX_ENCODED_ID: Final = 2048


def provider_of_response_id(response_id: object) -> str | None:
    """The provider LiteLLM encoded in one of its response ids, else ``None``."""
    if (
        not isinstance(response_id, str)
        or not response_id.startswith(_ID_PREFIX)
        or len(response_id) > _MAX_ENCODED_ID
    ):
        return None
    try:
        decoded = base64.b64decode(response_id[len(_ID_PREFIX) :], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not decoded.startswith(_PROVIDER_KEY):
        return None
    provider = decoded[len(_PROVIDER_KEY) :].partition(";")[0]
    return provider or None


def routing(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """No model names the provider here: the argument, else the response id, does."""
    provider = params.get("custom_llm_provider")
    if not isinstance(provider, str):
        provider = provider_of_response_id(params.get("response_id"))
    return {
        "custom_llm_provider": provider,
        "api_base": params.get("api_base") or params.get("base_url"),
    }


def fetch_start_fields(params: Mapping[str, Any]) -> Mapping[str, Any]:
    response_id = params.get("response_id")
    fields: dict[str, Any] = {"response_id": response_id if isinstance(response_id, str) else ""}
    if params.get("stream") is True:
        fields["request_stream"] = True
    return fields


def apply_fetch_request(
    invocation: FetchResponseInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    """Everything a fetch says is in its start fields."""


def apply_fetch_response(
    invocation: FetchResponseInvocation, response: Any, capture_content: bool
) -> None:
    """The fetched response's model, status and outcome; never its usage."""
    model = field(response, "model")
    if isinstance(model, str):
        invocation.response_model_name = model
    status = field(response, "status")
    if isinstance(status, str):
        invocation.response_status = status
    reason = finish_reason(response)
    if reason is not None:
        invocation.finish_reasons = [reason]
    if capture_content:
        invocation.output_messages = [output_message(response)]


def apply_stored_request(
    invocation: InferenceInvocation, params: Mapping[str, Any], capture_content: bool
) -> None:
    """The response acted on (delete, cancel, list its input items)."""
    response_id = params.get("response_id")
    if isinstance(response_id, str):
        invocation.response_id = response_id


def apply_stored_response(
    invocation: InferenceInvocation, response: Any, capture_content: bool
) -> None:
    """A cancelled response's model; a deletion or an item list says nothing more."""
    model = field(response, "model")
    if isinstance(model, str):
        invocation.response_model_name = model
