"""What of an exception's text may be recorded: the scrubber every such text passes.

The texts come from the exception, and providers put into their error bodies what they were
sent: the key (OpenAI's 401 masks it but shows its prefix and last four; OpenAI-compatible
servers and gateways quote it whole or echo the auth headers) and the request body; LiteLLM
appends the request's messages to some errors itself, and a traceback shows the source line of
the call, literals included. So every text taken from an exception passes one
:class:`Redaction` before it is recorded, which replaces with :data:`REDACTED`:

1. the call's own secrets, wherever they appear and however shown (whole, URL- or
   JSON-escaped, by their prefix, masked with the tail visible): its secret arguments
   (``api_key``, tokens, headers, also inside ``litellm_params``, a Router deployment's
   parameters and the Proxy's metadata), LiteLLM's ``litellm.*_key`` settings, and environment
   variables named like credentials (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ...: the names
   LiteLLM reads its providers' keys from);
2. whatever looks like a credential (:data:`SECRET_PATTERNS`): bearer tokens, values of
   credential headers and fields, well-known key formats, masked keys, URL passwords;
3. unless content is captured unfiltered: LiteLLM's echoes of the request
   (:data:`ECHO_PATTERNS`) and the call's own content texts (messages, input, prompt, ...),
   also escaped or cut short.

A :class:`Redaction` is built only when a call failed, from references the call kept (nothing
is copied on the success path), and never raises: a text it cannot scrub is recorded as the
marker alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from typing import Any, Final, cast
from urllib.parse import quote

from litellm_otel._access import items, mapping
from litellm_otel._config import Options
from litellm_otel._hooks import SECRET_INSIDE, SECRET_PARAMETERS
from litellm_otel._secret_patterns import (
    ECHO_PATTERNS,
    KEY_CHARS,
    MASK_RUN,
    REDACTED,
    SECRET_PATTERNS,
    apply,
)

# --- where a call's own secrets and content are ---------------------------------------------

#: Call arguments whose mappings hold more arguments: LiteLLM's logging details keep the
#: key under ``litellm_params`` and the headers under ``additional_args``.
_NESTED: Final = frozenset({"litellm_params", "optional_params", "additional_args", "kwargs"})
#: Call arguments holding what the user sent (content).
_CONTENT: Final = frozenset(
    {
        *("messages", "input", "prompt", "instructions", "query", "documents", "system"),
        *("contents", "text", "tools", "functions", "config", "document"),
        # an A2A call's JSON-RPC request (its message's parts), an MCP tool call's arguments
        *("request", "openai_tool"),
    }
)
#: Keys inside content that hold names, not what the user wrote.
_NOT_CONTENT: Final = frozenset(
    {
        *("role", "type", "id", "tool_call_id", "call_id", "name", "model", "detail", "format"),
        *("mime_type", "media_type", "cache_control", "status", "index", "strict"),
        # the envelope of an A2A request
        *("jsonrpc", "method", "kind", "messageId", "message_id", "contextId", "context_id"),
        *("taskId", "task_id"),
    }
)
#: Environment variable names of credentials (LiteLLM reads its providers' keys from such
#: names: ``OPENAI_API_KEY``, ``AZURE_API_KEY``, ``ANTHROPIC_API_KEY``, ``AWS_SECRET_ACCESS_KEY``,
#: ``HF_TOKEN``, ``WATSONX_APIKEY``, ...).
_SECRET_ENV: Final = re.compile(
    r"(?:^|_)(?:API_?KEY|[A-Z]*APIKEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH|PAT)(?:_|$)"
)
#: ``litellm.api_key``, ``litellm.openai_key``, ``litellm.togetherai_api_key``, ...
_SECRET_SETTING: Final = re.compile(r"^(?:[a-z0-9_]*_)?(?:key|token|secret)$")
_SCHEMES: Final = ("bearer ", "basic ", "token ")
#: What continues a credential found by its start: more of it, a mask, an ellipsis, a tail.
_KEYISH: Final = re.compile(r"[A-Za-z0-9_\-*•]*(?:(?:\.{2,}|…)[A-Za-z0-9_\-*•]*)?")
#: Secrets matched by prefix and masked tail too (not paths or free text from the environment).
_KEY_LIKE: Final = re.compile(r"[A-Za-z0-9_\-.+=:~]+")
_MIN_SECRET: Final = 4  # a shorter "key" is no credential, and matching it would mangle text
_MIN_ENV_SECRET: Final = 8  # environment values are guessed by their names: be surer
_MIN_TEXT: Final = 3  # content shorter than this cannot be told from ordinary text
_WHOLE_TEXT: Final = 12  # content shorter than this is matched as a whole word only
_MAX_TEXTS: Final = 2048
_MAX_SEEDS: Final = 256
_MAX_DEPTH: Final = 6


class Redaction:
    """What one failed call must not leak through its error text.

    ``sources`` are mappings of the call's arguments as they were (the wrapped call's
    arguments, LiteLLM's logging details, a Router deployment's ``litellm_params``);
    they are read here, after the call failed, and never kept.
    """

    __slots__ = ("_content", "_secret_forms", "_secret_prefixes", "_short_content", "_tails")

    def __init__(self, *sources: Mapping[str, Any] | None, redact_content: bool) -> None:
        self._secret_forms: list[str] = []
        self._secret_prefixes: list[tuple[str, int]] = []
        self._tails: re.Pattern[str] | None = None
        self._content: list[str] | None = [] if redact_content else None
        self._short_content: re.Pattern[str] | None = None
        # On a failure, what was gathered still applies, and the patterns apply regardless.
        with contextlib.suppress(Exception):
            self._gather(sources, redact_content)

    def _gather(self, sources: Iterable[Mapping[str, Any] | None], redact_content: bool) -> None:
        secrets: set[str] = set()
        texts: set[str] = set()
        for source in sources:
            if isinstance(source, Mapping):
                _collect_secrets(source, secrets, 0)
                if redact_content:
                    _collect_content(source, texts)
        _collect_settings(secrets)
        _collect_environment(secrets)
        self._secret_forms = _longest_first({f for s in secrets for f in _forms(s, url=True)})
        # prefixes of key-like secrets, however they continue (masked, cut short)
        key_like = [s for s in secrets if _KEY_LIKE.fullmatch(s)]
        self._secret_prefixes = [
            (secret, min(8, len(secret) // 2))
            for secret in key_like
            if len(secret) // 2 >= _MIN_SECRET
        ]
        tails = {re.escape(s[-4:]) for s in key_like if len(s) >= 12}
        if tails:
            self._tails = re.compile(rf"{MASK_RUN}\s?(?:{'|'.join(sorted(tails))})(?![A-Za-z0-9])")
        if redact_content:
            forms = {f for text in list(texts)[:_MAX_TEXTS] for f in _forms(text)}
            self._content = _longest_first(f for f in forms if len(f) >= _WHOLE_TEXT)
            short = _longest_first(f for f in forms if len(f) < _WHOLE_TEXT)
            if short:
                alternatives = "|".join(re.escape(f) for f in short)
                self._short_content = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    def scrub(self, text: str) -> str:
        """``text`` without the call's secrets, credential-shaped strings and (unless content
        is captured unfiltered) its content. Never raises."""
        try:
            text = _redact_spans(text, self._secret_spans(text))
            text = apply(SECRET_PATTERNS, text)
            if self._content is not None:
                text = _redact_spans(text, _content_spans(text, self._content))
                if self._short_content is not None:
                    text = self._short_content.sub(REDACTED, text)
                text = apply(ECHO_PATTERNS, text)
            return text
        except Exception:
            return REDACTED

    def message(self, exception: BaseException) -> str:
        try:
            return self.scrub(str(exception))
        except Exception:
            return REDACTED

    def stacktrace(self, exception: BaseException) -> str:
        try:
            return self.scrub("".join(traceback.format_exception(exception)))
        except Exception:
            return REDACTED

    def _secret_spans(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for form in self._secret_forms:
            start = text.find(form)
            while start >= 0:
                # the same credential continued: a longer token, a masked tail
                end = _keyish_end(text, start + len(form))
                spans.append((start, end))
                start = text.find(form, end)
        if self._tails is not None:  # masked with the tail visible: "sk-proj-****6789"
            for match in self._tails.finditer(text):
                start = match.start()
                while start > 0 and text[start - 1] in KEY_CHARS:
                    start -= 1
                spans.append((start, match.end()))
        for secret, seed in self._secret_prefixes:
            start = text.find(secret[:seed])
            while start >= 0:
                common = _common_prefix(text, start, secret)
                spans.append((start, _keyish_end(text, start + common)))
                start = text.find(secret[:seed], start + common)
        return spans


def _longest_first(values: Iterable[str]) -> list[str]:
    return sorted(set(values), key=len, reverse=True)


def _forms(value: str, *, url: bool = False) -> set[str]:
    """``value`` as it may appear in an error text: as is, JSON- or repr-escaped (and, for a
    secret, URL-encoded: a key in a query string)."""
    forms = {value, repr(value)[1:-1]}
    if url:
        forms.add(quote(value, safe=""))
    escaped = json.dumps(value)[1:-1]
    forms.add(escaped)
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.add(json.dumps(escaped)[1:-1])  # JSON quoted inside a JSON string
    return forms


def _keyish_end(text: str, start: int) -> int:
    """Where the credential-like run from ``start`` ends (``_KEYISH`` matches the empty string
    too, so it always matches)."""
    match = _KEYISH.match(text, start)
    return match.end() if match is not None else start


def _common_prefix(text: str, start: int, value: str, offset: int = 0) -> int:
    """How many characters from ``text[start]`` on equal ``value`` from ``value[offset]`` on."""
    length = 0
    limit = min(len(value) - offset, len(text) - start)
    while length < limit and text[start + length] == value[offset + length]:
        length += 1
    return length


def _content_spans(text: str, forms: Iterable[str]) -> list[tuple[int, int]]:
    """Where the forms appear in ``text``, whole or in part: cut short (LiteLLM's debug
    information echoes the first characters), or interrupted (a provider or LiteLLM replaced
    a piece of it). Found by seeds, pieces of the form taken every ``_WHOLE_TEXT`` characters
    (at most ``_MAX_SEEDS`` per form, spread over it), each extended both ways while the text
    goes on matching the form."""
    spans: list[tuple[int, int]] = []
    for form in forms:
        step = max(_WHOLE_TEXT, len(form) // _MAX_SEEDS)
        for offset in range(0, len(form) - _WHOLE_TEXT + 1, step):
            seed = form[offset : offset + _WHOLE_TEXT]
            start = text.find(seed)
            while start >= 0:
                before = 0
                while (
                    before < offset
                    and before < start
                    and text[start - before - 1] == form[offset - before - 1]
                ):
                    before += 1
                end = start + _common_prefix(text, start, form, offset)
                spans.append((start - before, end))
                start = text.find(seed, end)
    return spans


def _redact_spans(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    spans.sort()
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        if end <= position:
            continue
        if start > position:
            pieces.append(text[position:start])
            pieces.append(REDACTED)
        elif not pieces or pieces[-1] != REDACTED:
            pieces.append(REDACTED)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _collect_secrets(source: Mapping[Any, Any], out: set[str], depth: int) -> None:
    if depth > 3:
        return
    for name, value in source.items():
        if name in SECRET_PARAMETERS:
            _all_strings(value, out, 0)
        elif name in SECRET_INSIDE and isinstance(value, Mapping):
            for inner in SECRET_INSIDE[name]:
                _all_strings(value.get(inner), out, 0)  # pyright: ignore[reportUnknownMemberType]
        elif name in _NESTED and isinstance(value, Mapping):
            _collect_secrets(value, out, depth + 1)  # pyright: ignore[reportUnknownArgumentType]


def _all_strings(value: Any, out: set[str], depth: int) -> None:
    if isinstance(value, str):
        if len(value) >= _MIN_SECRET:
            out.add(value)
            lowered = value.lower()
            for scheme in _SCHEMES:
                if lowered.startswith(scheme) and len(value) - len(scheme) >= _MIN_SECRET:
                    out.add(value[len(scheme) :].strip())
    elif depth < _MAX_DEPTH:
        if isinstance(value, Mapping):
            for inner in value.values():  # pyright: ignore[reportUnknownVariableType]
                _all_strings(inner, out, depth + 1)
        elif isinstance(value, (list, tuple)):
            for inner in value:  # pyright: ignore[reportUnknownVariableType]
                _all_strings(inner, out, depth + 1)


def _collect_settings(out: set[str]) -> None:
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return
    for name, value in list(vars(litellm).items()):
        if (
            name.endswith(("key", "token", "secret"))
            and isinstance(value, str)
            and len(value) >= _MIN_SECRET
            and _SECRET_SETTING.match(name)
        ):
            out.add(value)


def _collect_environment(out: set[str]) -> None:
    for name, value in list(os.environ.items()):
        if len(value) >= _MIN_ENV_SECRET and _SECRET_ENV.search(name.upper()):
            out.add(value)


def _collect_content(source: Mapping[Any, Any], out: set[str]) -> None:
    for name in _CONTENT:
        value = source.get(name)
        if value is not None:
            _content_strings(value, out, 0)


def _content_strings(value: Any, out: set[str], depth: int) -> None:
    """Every text inside content: strings, lists, mappings and pydantic models (by their
    stored fields), never iterators (reading one would consume the caller's input)."""
    if len(out) >= _MAX_TEXTS:
        return
    if isinstance(value, str):
        if len(value) >= _MIN_TEXT:
            out.add(value)
        return
    if depth >= _MAX_DEPTH:
        return
    sequence = items(value)
    if sequence is not None:
        for inner in sequence:
            _content_strings(inner, out, depth + 1)
        return
    fields = mapping(value)
    if fields is None:
        instance: object = value
        is_model = hasattr(type(instance), "model_fields")
        stored = getattr(value, "__dict__", None) if is_model else None
        if not isinstance(stored, dict):
            return
        fields = cast("dict[str, Any]", stored)
    for key, inner in fields.items():
        if key not in _NOT_CONTENT:
            _content_strings(inner, out, depth + 1)


def redacts_content(options: Options) -> bool:
    """Whether error texts lose the call's content: unless it is captured as it is (a content
    filter would not see the copy an error text holds)."""
    return not options.capture_content or options.content_filter is not None
