"""Masks secrets before text leaves memory (error messages, logs, metadata)."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["redact"]

MASK = "***"
_PATTERNS = (
    re.compile(r"(Signature=)[0-9A-Fa-f]{16,}"),
    re.compile(r"(FC [^:\s]+:)[A-Za-z0-9+/=]{16,}"),
    re.compile(r"(?i)(string[- ]?to[- ]?sign\W*).*", re.DOTALL),
    re.compile(r"(?i)(security[-_ ]?token\W*)[^\s,;\"']+"),
)
MAX_LEN = 500


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove known secret values and anything shaped like a signature or string-to-sign."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text if len(text) <= MAX_LEN else text[:MAX_LEN] + "…"
