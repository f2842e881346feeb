"""One HTTP GET, already signed, over aiohttp (production) or httpx (the in-process ASGI emulator).

A transport failure leaves here as a member of the error tree: a timeout or a dropped connection is
retriable, an untrusted certificate is fatal (another attempt meets the same certificate). The
URL goes out exactly as given, so the bytes signed are the bytes sent.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx
import yarl

from pipelines.fc.errors import FatalError, RetriableError

__all__ = ["AiohttpSender", "HttpxSender", "Reply", "Sender", "sender_for"]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive, as both libraries give them
    body: bytes


class Sender(Protocol):
    async def get(self, url: str, headers: Mapping[str, str], where: str) -> Reply: ...


def _untrusted(where: str, cert: ssl.SSLCertVerificationError | None) -> FatalError:
    reason = getattr(cert, "verify_message", None) or "certificate verify failed"
    return FatalError(
        "TLSVerificationFailed", f"{where}: the server certificate is not trusted ({reason}); add its CA with ca_bundle"
    )


class AiohttpSender:
    """aiohttp's pool: httpx's model (URL parsing, header normalisation, response streams) was about
    half of a poll's client CPU at concurrency 64 (make bench: client CPU per poll)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def get(self, url: str, headers: Mapping[str, str], where: str) -> Reply:
        try:
            async with self._session.get(yarl.URL(url, encoded=True), headers=headers, allow_redirects=False) as r:
                return Reply(r.status, r.headers, await r.read())
        except aiohttp.ClientConnectorCertificateError as e:
            cert = e.certificate_error
            raise _untrusted(where, cert if isinstance(cert, ssl.SSLCertVerificationError) else None) from None
        except TimeoutError as e:
            raise RetriableError("Timeout", f"{where}: {type(e).__name__}") from None
        except (aiohttp.ClientError, OSError) as e:
            # Refused, reset or dropped mid-body: the whole exchange is retried (case C9).
            raise RetriableError("ConnectionError", f"{where}: {type(e).__name__}") from None


def _cert_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate failure under an httpx error, through httpcore's exception chain."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None or isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class HttpxSender:
    """Any httpx client; the tests drive the emulator in process through httpx's ASGI transport."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def get(self, url: str, headers: Mapping[str, str], where: str) -> Reply:
        try:
            response = await self._client.get(url, headers=headers)
            return Reply(response.status_code, response.headers, response.content)
        except httpx.TimeoutException as e:
            raise RetriableError("Timeout", f"{where}: {type(e).__name__}") from None
        except httpx.ConnectError as e:
            if (cert := _cert_error(e)) is not None:
                raise _untrusted(where, cert) from None
            raise RetriableError("ConnectionError", f"{where}: {type(e).__name__}") from None
        except httpx.TransportError as e:
            raise RetriableError("ConnectionError", f"{where}: {type(e).__name__}") from None


def sender_for(http: aiohttp.ClientSession | httpx.AsyncClient) -> Sender:
    return AiohttpSender(http) if isinstance(http, aiohttp.ClientSession) else HttpxSender(http)
