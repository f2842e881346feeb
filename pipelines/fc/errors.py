"""The FC error tree: what to retry, what to record and give up on.

FCError
├── RetriableError          429, 500, 502, 503, 504, throttling codes, timeouts, dropped connections
└── FatalError              every other 4xx, bad answers, config that cannot work
    ├── AuthError           403 SignatureNotMatch / InvalidAccessKeyID / AccessDenied, clock skew
    └── MalformedAnswerError  the body is not the JSON shape the API documents
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AuthError",
    "FCError",
    "FatalError",
    "MalformedAnswerError",
    "PagingError",
    "RetriableError",
    "classify",
    "fix_for",
]

RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})
RETRIABLE_CODES = frozenset(
    {
        "ResourceExhausted",
        "ResourceThrottled",
        "Throttling",
        "ThrottlingException",
        "TooManyRequests",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
AUTH_CODES = frozenset(
    {
        "SignatureNotMatch",
        "InvalidAccessKeyID",
        "AccessDenied",
        "InvalidSecurityToken",
        "InvalidSecurityToken.Expired",
        "SecurityTokenExpired",
        "RequestTimeTooSkewed",
    }
)


@dataclass
class FCError(Exception):
    """A failed FC call; ``code`` is FC's error code or a local one (``Timeout``, ``ConnectError``)."""

    code: str
    message: str
    http_status: int | None = None
    request_id: str | None = None
    retry_after_s: float | None = None  # the server's Retry-After / x-acs-retry-after hint
    attempts: int = 1
    latency_ms: float | None = None

    def __str__(self) -> str:
        status = f" (HTTP {self.http_status})" if self.http_status else ""
        rid = f" request id {self.request_id}" if self.request_id else ""
        return f"{self.code}{status}: {self.message}{rid}"


class RetriableError(FCError):
    """Worth another attempt: throttling, server errors, transport failures."""


class FatalError(FCError):
    """Another attempt would get the same answer."""


class AuthError(FatalError):
    """Credentials, signature, permission or clock problems."""


class MalformedAnswerError(FatalError):
    """A 2xx answer whose body does not have the documented shape."""


class PagingError(FatalError):
    """A list call whose paging did not terminate (repeated token or page cap)."""


def classify(http_status: int, code: str, message: str, request_id: str | None) -> FCError:
    """Map an error answer to the tree by body code first, then by status (FC 3.0 tables list status 0)."""
    if code in AUTH_CODES:
        return AuthError(code, message, http_status, request_id)
    if code in RETRIABLE_CODES or http_status in RETRIABLE_STATUS:
        return RetriableError(code, message, http_status, request_id)
    return FatalError(code, message, http_status, request_id)


_FIXES = {
    ("SignatureNotMatch", "InvalidAccessKeyID"): "check the AccessKey pair (ALIBABA_CLOUD_ACCESS_KEY_ID / "
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET or the credentials chain)",
    ("InvalidSecurityToken", "SecurityTokenExpired", "InvalidSecurityToken.Expired"): "renew the STS token "
    "(ALIBABA_CLOUD_SECURITY_TOKEN) or configure a role so it is refreshed",
    ("AccessDenied",): "grant the read-only RAM policy from the README to this identity",
    ("RequestTimeTooSkewed",): "this machine's clock is off; enable NTP",
    ("ConnectionError", "Timeout"): "check that the endpoint is reachable from here (endpoint / network in targets)",
    ("ResourceExhausted", "ResourceThrottled", "Throttling", "ThrottlingException", "TooManyRequests"): "lower "
    "rate_limit or concurrency for this target",
    ("ServiceNotFound", "FunctionNotFound", "AliasNotFound"): "the inventory is older than the change; it refreshes "
    "hourly, or materialize fc_inventory now",
    ("MalformedAnswer",): "the API answered an unexpected body; the request id identifies it to support",
}


def fix_for(code: str) -> str | None:
    """What an operator can do about an error code, or None when there is nothing specific."""
    return next((fix for codes, fix in _FIXES.items() if code in codes), None)
