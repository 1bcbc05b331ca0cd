"""What a credential and LiteLLM's echo of a request look like in an error text.

Patterns only, whoever's the credential is; the call's own secrets and content are found by
:class:`litellm_otel._redaction.Redaction`, which applies these too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

REDACTED: Final = "[REDACTED]"

# --- what looks like a credential, whoever's it is -----------------------------------------

_CREDENTIAL_FIELD: Final = (
    r"authorization|proxy-authorization|x-api-key|api[-_]?key|x-goog-api-key"
    r"|ocp-apim-subscription-key|x-litellm-api-key|access[-_]token|refresh[-_]token|id[-_]token"
    r"|client[-_]secret|secret[-_]key|secret|password|passwd|token|cookie|set-cookie"
    r"|aws[-_]secret[-_]access[-_]key|aws[-_]session[-_]token"
)
_FIELD: Final = re.compile(
    rf"""(?P<name>["']?\b(?:{_CREDENTIAL_FIELD})\b["']?\s*[:=]\s*)
    (?:(?P<quote>["'])(?:\\.|(?!(?P=quote)).)*(?P=quote)
      |[^\s"',;&}}\])]+(?:\x20[^\s"',;&}}\])]+)?)""",
    re.IGNORECASE | re.VERBOSE,
)
MASK_RUN: Final = r"(?:\*{2,}|•{2,}|…|\.{2,}|x{3,}|X{3,})"
KEY_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

Replacement = str | Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class Rule:
    """A pattern and its replacement, tried only on a text containing one of ``hints`` (lower
    case): most error texts contain none, and a substring test is far cheaper than a scan."""

    pattern: re.Pattern[str]
    replacement: Replacement
    hints: tuple[str, ...]


def _field_value(match: re.Match[str]) -> str:
    quote_mark = match["quote"] or ""
    return f"{match['name']}{quote_mark}{REDACTED}{quote_mark}"


#: Credential shapes, whoever's they are; applied to every recorded error text.
#:
#: ======================  ==========================================================
#: URL userinfo            ``https://user:password@host`` → ``https://[REDACTED]@host``
#: credential fields       ``Authorization: …``, ``"api-key": "…"``, ``x-api-key=…``,
#:                         ``token``, ``password``, ``client_secret``, cookies: the value
#: query parameters        ``?key=…``, ``&api_key=…``, ``&sig=…``: the value
#: auth schemes            ``Bearer <token>``, ``Basic <base64>``: the token
#: key formats             OpenAI / LiteLLM ``sk-…``, Anthropic ``sk-ant-…``, Google
#:                         ``AIza…``, AWS ``AKIA…``, GitHub, Slack, Hugging Face, Groq,
#:                         xAI, Replicate, Perplexity, NVIDIA, JWTs, PEM private keys
#: masked keys             ``sk-proj-****abcd``, ``****abcd``, ``sk-…abcd``
#: ======================  ==========================================================
SECRET_PATTERNS: Final[tuple[Rule, ...]] = (
    Rule(re.compile(r"(?<=://)[^\s/@:]+:[^\s/@]+@"), f"{REDACTED}@", ("://",)),
    Rule(_FIELD, _field_value, ("auth", "key", "token", "secret", "passw", "cookie")),
    Rule(
        re.compile(
            r"([?&;]\s*(?:key|api_key|apikey|token|access_token|sig|signature|secret|password)=)"
            r"[^&\s\"'#]+",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
        ("=",),
    ),
    Rule(
        re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/\-]+=*", re.IGNORECASE),
        rf"\1 {REDACTED}",
        ("bearer",),
    ),
    Rule(re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{8,}=*"), rf"\1 {REDACTED}", ("basic",)),
    Rule(
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
            re.DOTALL,
        ),
        REDACTED,
        ("private key",),
    ),
    Rule(
        re.compile(
            r"\b(?:sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{20,}"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
            r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
            r"|(?:hf|gsk|xai|r8|pplx|nvapi|fw|csk)[_\-][A-Za-z0-9_\-]{20,}"
            r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
        ),
        REDACTED,
        (
            *("sk-", "aiza", "akia", "asia", "gh", "xox", "hf", "gsk", "xai", "r8", "pplx"),
            *("nvapi", "fw", "csk", "eyj"),
        ),
    ),
    Rule(
        re.compile(
            r"(?<![A-Za-z0-9_\-])(?:[A-Za-z0-9_\-]{0,40}(?:\*{3,}|•{3,})[A-Za-z0-9_\-]{0,12}"
            r"|(?:sk|pk|rk|key|api|AIza|hf|gsk|xai)[A-Za-z0-9_\-]*(?:\.{3}|…)[A-Za-z0-9_\-]*)"
        ),
        REDACTED,
        ("***", "•••", "...", "…"),
    ),
)

# --- LiteLLM's echoes of the request (only while content is not captured) ------------------

#: LiteLLM's own echoes of the request (``Received Messages=[…]`` from its Anthropic
#: transformation, ``Invalid Message passed in {…}`` / ``Got=`` from its prompt templates,
#: ``Messages: `…``` in its debug information) and request bodies quoted by providers
#: (``"messages": [...]``, ``'content': '...'``): the echoed structure, to the end of the line.
ECHO_PATTERNS: Final[tuple[Rule, ...]] = (
    Rule(re.compile(r"(Messages: `)[^`\n]*`?"), rf"\1{REDACTED}`", ("messages: `",)),
    Rule(
        re.compile(
            r"""(\b(?:Received\ Messages|messages|passed\ in|Got|input|prompt|contents?|documents
            |instructions|request_body|body|query|Received\ -\ message)\b["']?\s*(?:=|:|-)?\s*)
            [\[{(].*""",
            re.VERBOSE,
        ),
        rf"\1{REDACTED}",
        (
            *("messages", "passed in", "got", "input", "prompt", "content", "documents"),
            *("instructions", "body", "query", "message="),
        ),
    ),
    Rule(
        re.compile(
            r"""((["'])(?:content|text|input|prompt|instructions|query|arguments|output|document
            |system)\2\s*:\s*)(["'])(?:\\.|(?!\3).)*\3""",
            re.VERBOSE,
        ),
        rf"\1\3{REDACTED}\3",
        (
            *("content", "text", "input", "prompt", "instructions", "query", "arguments"),
            *("output", "document", "system"),
        ),
    ),
)


def apply(rules: Iterable[Rule], text: str) -> str:
    lowered = text.lower()
    for rule in rules:
        if any(hint in lowered for hint in rule.hints):
            text = rule.pattern.sub(rule.replacement, text)
            lowered = text.lower()
    return text
