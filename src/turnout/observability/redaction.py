"""Patterns of secrets never written in clear: not in the evidence store, not in the logs."""

from __future__ import annotations

import re

__all__ = ["DEFAULT_REDACT_PATTERNS", "REDACTED", "redact"]

_TOKEN_CHARS = r"A-Za-z0-9_\-+/="
DEFAULT_REDACT_PATTERNS: tuple[str, ...] = (
    # e-mail addresses
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    # credentials after an auth scheme: "Bearer abc...", "Basic ...", "token ..."
    r"(?i)\b(?:bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]+",
    # JSON web tokens
    r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*",
    # long tokens: 24+ token characters with both letters and digits (API keys, secrets, session ids)
    rf"(?<![{_TOKEN_CHARS}])(?=[{_TOKEN_CHARS}]*[0-9])(?=[{_TOKEN_CHARS}]*[A-Za-z])[{_TOKEN_CHARS}]{{24,}}",
)
REDACTED = "[redacted]"
_COMPILED = tuple(re.compile(p) for p in DEFAULT_REDACT_PATTERNS)


def redact(text: str) -> str:
    """`text` with every match of the default patterns replaced by `[redacted]`."""
    for pattern in _COMPILED:
        text = pattern.sub(REDACTED, text)
    return text
