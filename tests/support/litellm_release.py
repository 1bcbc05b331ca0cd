"""What the installed LiteLLM release does differently, for expectations that follow it.

Each name says what a release does, read from the installed LiteLLM itself, so the tiers
(oldest, LTS, newest) hold one expectation each instead of a skip.
"""

from __future__ import annotations

import inspect

import litellm.litellm_core_utils.streaming_handler as _streaming_handler

#: The model the loopback server answers a stream with, as LiteLLM lets it through. Older
#: releases stamp stream chunks with the requested model and keep no record of the
#: provider's, so that is all there is to see.
STREAMED_RESPONSE_MODEL = (
    "gpt-4o-mini-2024-07-18"
    if "provider_response_model" in inspect.getsource(_streaming_handler)
    else "gpt-4o-mini"
)
