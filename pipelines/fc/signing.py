"""Request signing for the FC control plane: the legacy FC scheme and ACS3-HMAC-SHA256.

Both schemes are byte-exact with the official SDKs (see shared/fc-api.md sections 1, 2 and 7).
The pure functions build the canonical strings so that the emulator verifies requests with the
same definitions the client signs with; the official SDKs are the independent oracle in tests.
Nothing here logs: a string-to-sign or a signature must never leave memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import cast
from urllib.parse import quote, unquote

import httpx

__all__ = [
    "EMPTY_SHA256",
    "ACS3Auth",
    "Credentials",
    "CredentialsProvider",
    "FCAuth",
    "acs3_authorization",
    "acs3_canonical_query",
    "acs3_canonical_request",
    "acs3_sign",
    "acs3_signature",
    "fc_authorization",
    "fc_sign",
    "fc_string_to_sign",
    "http_date",
    "iso_date",
    "query_text",
    "wire_query",
]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
ACS3 = "ACS3-HMAC-SHA256"


@dataclass(frozen=True)
class Credentials:
    """An AccessKey pair, optionally with an STS token; the secret parts never print."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


CredentialsProvider = Callable[[], Credentials]


def query_text(value: object) -> str:
    """Render a query value as the SDKs do, once: ints as decimals, booleans as True/False."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    raise TypeError(f"unsupported query value type {type(value).__name__}")


def http_date(at: datetime) -> str:
    """RFC 1123 date in GMT, as the FC scheme's Date header wants it."""
    return format_datetime(at.astimezone(UTC), usegmt=True)


def iso_date(at: datetime) -> str:
    """UTC ISO-8601 to the second, as x-acs-date wants it."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- FC scheme -------------------------------------------------------------------------------


def fc_string_to_sign(
    method: str,
    path: str,
    headers: Mapping[str, str],
    signed_query: Iterable[tuple[str, str]] | None = None,
) -> str:
    """StringToSign of the FC scheme.

    ``path`` is the URL path; it is signed URL-decoded. Control-plane calls never sign the
    query (``signed_query=None``); HTTP-trigger style passes the decoded pairs, which become
    sorted ``k=v`` lines after a newline (an empty mapping still adds that newline).
    An empty value still signs as ``k=``: fc2 and the Go SDK do so for any received ``?k`` or
    ``?k=``; their bare ``k`` line comes only from an empty list, which puts nothing on the wire.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    fc_headers = "".join(f"{k}:{lower[k]}\n" for k in sorted(k for k in lower if k.startswith("x-fc-")))
    resource = unquote(path)
    if signed_query is not None:
        lines = sorted(f"{k}={v}" for k, v in signed_query)
        resource += "\n" + "\n".join(lines)
    return "\n".join(
        [
            method.upper(),
            lower.get("content-md5", ""),
            lower.get("content-type", ""),
            lower.get("date", ""),
            fc_headers + resource,
        ]
    )


def fc_authorization(access_key_id: str, secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).digest()
    return f"FC {access_key_id}:{base64.b64encode(digest).decode()}"


# --- ACS3-HMAC-SHA256 ------------------------------------------------------------------------


def acs3_canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Keys sorted by code point and left as they are; values RFC 3986 encoded (space is %20)."""
    ordered = sorted(pairs)
    return "&".join(f"{k}={quote(v, safe='~')}" for k, v in ordered)


def wire_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The query string as sent, in the order given: keys and values RFC 3986 encoded as the
    canonical query encodes values, so the server decodes exactly the pairs that were signed."""
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)


def acs3_canonical_request(
    method: str,
    canonical_uri: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    payload_hash: str = EMPTY_SHA256,
) -> tuple[str, str]:
    """Return (CanonicalRequest, SignedHeaders) over exactly the headers given."""
    # A Mapping is also an Iterable of its keys, so narrow it explicitly before iterating pairs.
    items = cast("Mapping[str, str]", headers).items() if isinstance(headers, Mapping) else headers
    grouped: dict[str, list[str]] = {}
    for name, value in items:
        grouped.setdefault(name.lower(), []).append(value.strip())
    names = sorted(grouped)
    canonical_headers = "".join(f"{n}:{','.join(sorted(grouped[n]))}\n" for n in names)
    signed = ";".join(names)
    request = "\n".join(
        [method.upper(), canonical_uri or "/", acs3_canonical_query(query), canonical_headers, signed, payload_hash]
    )
    return request, signed


def acs3_signature(secret: str, canonical_request: str) -> str:
    string_to_sign = f"{ACS3}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def acs3_authorization(access_key_id: str, signed_headers: str, signature: str) -> str:
    return f"{ACS3} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"


# --- signing a request's headers -----------------------------------------------------------

Headers = Iterable[tuple[str, str]]


def fc_sign(headers: Headers, method: str, path: str, creds: Credentials, at: datetime) -> dict[str, str]:
    """The headers the FC scheme adds to ``headers`` (the request's, ``path`` as sent), signature last."""
    present = {k.lower(): v for k, v in headers}
    added = {"date": http_date(at)}
    if "content-type" not in present:
        added["content-type"] = "application/json"
    if creds.security_token:
        added["x-fc-security-token"] = creds.security_token
    sts = fc_string_to_sign(method, path, {**present, **added})
    added["authorization"] = fc_authorization(creds.access_key_id, creds.access_key_secret, sts)
    return added


def acs3_sign(
    headers: Headers,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    creds: Credentials,
    *,
    action: str,
    version: str,
    at: datetime,
    nonce: str,
    payload: bytes = b"",
) -> dict[str, str]:
    """The headers ACS3 adds to ``headers``; the signature covers ``headers`` and the added ones
    (a name in both is signed, and sent, with the added value). ``query`` is decoded pairs."""
    added = {
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": iso_date(at),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": hashlib.sha256(payload).hexdigest() if payload else EMPTY_SHA256,
        "accept": "application/json",
    }
    if creds.security_token:
        added["x-acs-accesskey-id"] = creds.access_key_id
        added["x-acs-security-token"] = creds.security_token
    signed = [(k, v) for k, v in headers if k.lower() not in added]
    signed.extend(added.items())
    canonical, names = acs3_canonical_request(method, path, query, signed, added["x-acs-content-sha256"])
    signature = acs3_signature(creds.access_key_secret, canonical)
    added["authorization"] = acs3_authorization(creds.access_key_id, names, signature)
    return added


# --- httpx.Auth adapters (the same signing for any httpx request) ------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _path(request: httpx.Request) -> str:
    return request.url.raw_path.split(b"?")[0].decode()


class FCAuth(httpx.Auth):
    """Signs with ``Authorization: FC ak:sig``; a fresh Date on every attempt."""

    def __init__(self, credentials: CredentialsProvider, clock: Callable[[], datetime] = _utcnow) -> None:
        self._credentials = credentials
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        added = fc_sign(
            request.headers.multi_items(), request.method, _path(request), self._credentials(), self._clock()
        )
        request.headers.update(added)
        yield request


# httpx adds transport headers that a server cannot rely on; the adapters sign every other header.
_UNSIGNED = ("accept-encoding", "connection", "content-length", "authorization")


class ACS3Auth(httpx.Auth):
    """Signs with ACS3-HMAC-SHA256 over every header present at signing time (as the Tea SDK)."""

    def __init__(
        self,
        credentials: CredentialsProvider,
        *,
        action: Callable[[httpx.Request], str],
        version: str,
        clock: Callable[[], datetime] = _utcnow,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self._credentials = credentials
        self._action = action
        self._version = version
        self._clock = clock
        self._nonce = nonce

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        present = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _UNSIGNED]
        added = acs3_sign(
            present,
            request.method,
            _path(request),
            request.url.params.multi_items(),
            self._credentials(),
            action=self._action(request),
            version=self._version,
            at=self._clock(),
            nonce=self._nonce(),
            payload=request.content,
        )
        request.headers.update(added)
        yield request
