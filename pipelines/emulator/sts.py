"""The emulator's STS: ``AssumeRole`` (RPC, POP signature v1) issuing short-lived keys that FC accepts.

Requests are verified exactly as ``alibabacloud_credentials`` signs them
(``utils/parameter_helper.py``): HMAC-SHA1 keyed ``<secret>&`` over
``GET&%2F&<quote_plus of the sorted, quote_plus-joined query>``, base64. The caller may be a
scenario AccessKey or a key this issuer handed out (a role chain), then with its SecurityToken.
Issued keys live ``min(DurationSeconds, max_lifetime_s)`` on the real clock (clients compare
``Expiration`` with their own clock), and FC answers 403 ``InvalidSecurityToken.Expired`` after.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pipelines.emulator.scenario import AccessKey
from pipelines.emulator.world import World

__all__ = ["AssumeRoleCall", "ExpiredTokenError", "StsIssuer", "pop_signature", "pop_string_to_sign"]

EXPIRED_CODE = "InvalidSecurityToken.Expired"
_ROLE_ARN = re.compile(r"^acs:ram::(?P<account>[0-9]+):role/(?P<name>[A-Za-z0-9._@-]{1,64})$")
_DURATION_MIN, _DURATION_MAX = 900, 43200


def pop_string_to_sign(method: str, query: Mapping[str, str]) -> str:
    """POP v1 StringToSign, with quote_plus as the credentials library uses it."""
    canonical = "&".join(f"{quote_plus(k)}={quote_plus(query[k])}" for k in sorted(query))
    return f"{method}&{quote_plus('/')}&{quote_plus(canonical)}"


def pop_signature(string_to_sign: str, secret: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class ExpiredTokenError(Exception):
    """An issued key used after its Expiration."""


@dataclass(frozen=True)
class AssumeRoleCall:
    """One accepted AssumeRole, for tests (no secrets)."""

    caller_access_key_id: str
    role_arn: str
    role_session_name: str
    external_id: str | None
    duration_s: int
    lifetime_s: int


@dataclass(frozen=True)
class _Issued:
    account_id: str
    key: AccessKey
    expires_at: datetime


@dataclass
class StsIssuer:
    """Issues ``STS.`` keys for roles in the world's accounts; ``calls`` counts every AssumeRole."""

    world: World
    max_lifetime_s: int = 3600
    skew_limit: timedelta = timedelta(minutes=15)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    calls: list[AssumeRoleCall] = field(default_factory=list)
    _issued: dict[str, _Issued] = field(default_factory=dict, repr=False)
    _nonces: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def assume_role_calls(self) -> int:
        return len(self.calls)

    def lookup(self, access_key_id: str) -> tuple[str, AccessKey] | None:
        """(account id, key) of an issued key; raises ExpiredTokenError once it has expired."""
        with self._lock:
            issued = self._issued.get(access_key_id)
        if issued is None:
            return None
        if self.now() >= issued.expires_at:
            raise ExpiredTokenError(access_key_id)
        return issued.account_id, issued.key

    async def endpoint(self, request: Request) -> Response:
        request_id = str(uuid.uuid4()).upper()
        try:
            return JSONResponse(
                self._assume_role(dict(parse_qsl(request.url.query, keep_blank_values=True)), request_id)
            )
        except _StsError as e:
            body = {"RequestId": request_id, "HostId": request.headers.get("host", ""), "Code": e.code}
            return JSONResponse({**body, "Message": e.message}, status_code=e.status)

    def _caller(self, access_key_id: str, token: str | None) -> tuple[str, AccessKey]:
        found = self.world.access_key(access_key_id)
        if found is None:
            try:
                found = self.lookup(access_key_id)
            except ExpiredTokenError:
                raise _StsError(403, EXPIRED_CODE, "The security token you provided has expired.") from None
        if found is None:
            raise _StsError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        expected = found[1].security_token
        if expected is not None and (token is None or not hmac.compare_digest(token.encode(), expected.encode())):
            raise _StsError(400, "InvalidSecurityToken.Mismatch", "The security token is missing or wrong.")
        return found

    def _assume_role(self, query: dict[str, str], request_id: str) -> dict[str, object]:
        if query.get("Action") != "AssumeRole":
            raise _StsError(400, "InvalidAction.NotFound", f"Specified api is not found: {query.get('Action')!r}")
        for name, value in (("Version", "2015-04-01"), ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0")):
            if query.get(name) != value:
                raise _StsError(400, "InvalidParameter", f"{name} must be {value}")
        for name in ("AccessKeyId", "Signature", "Timestamp", "SignatureNonce", "RoleArn", "RoleSessionName"):
            if not query.get(name):
                raise _StsError(400, "MissingParameter", f"{name} is mandatory for this action.")
        signature = query.pop("Signature")
        _, caller = self._caller(query["AccessKeyId"], query.get("SecurityToken"))
        expected = pop_signature(pop_string_to_sign("GET", query), caller.access_key_secret)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise _StsError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        try:
            sent = datetime.strptime(query["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _StsError(400, "InvalidTimeStamp.Format", "Timestamp must be yyyy-MM-ddTHH:mm:ssZ") from None
        if abs(sent - datetime.now(UTC)) > self.skew_limit:
            raise _StsError(400, "InvalidTimeStamp.Expired", "Timestamp is too far from the server time.")
        with self._lock:
            if query["SignatureNonce"] in self._nonces:
                raise _StsError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(query["SignatureNonce"])
        match = _ROLE_ARN.fullmatch(query["RoleArn"])
        if match is None:
            raise _StsError(400, "InvalidParameter.RoleArn", "RoleArn must be acs:ram::<account id>:role/<name>")
        account_id = match.group("account")
        if self.world.account(account_id) is None:
            raise _StsError(404, "EntityNotExist.Role", f"The role {query['RoleArn']} does not exist.")
        duration = query.get("DurationSeconds", "3600")
        if not duration.isdigit() or not _DURATION_MIN <= int(duration) <= _DURATION_MAX:
            raise _StsError(400, "InvalidParameter.DurationSeconds", "DurationSeconds must be in [900, 43200]")
        lifetime = min(int(duration), self.max_lifetime_s)
        # Expiration carries whole seconds; the key expires exactly at what the client was told.
        expires_at = (self.now() + timedelta(seconds=lifetime)).replace(microsecond=0)
        key = AccessKey(f"STS.{secrets.token_hex(12)}", secrets.token_urlsafe(24), f"CAIS{secrets.token_urlsafe(48)}")
        with self._lock:
            self._issued[key.access_key_id] = _Issued(account_id, key, expires_at)
            self.calls.append(
                AssumeRoleCall(
                    query["AccessKeyId"],
                    query["RoleArn"],
                    query["RoleSessionName"],
                    query.get("ExternalId"),
                    int(duration),
                    lifetime,
                )
            )
        role_name = match.group("name")
        return {
            "RequestId": request_id,
            "AssumedRoleUser": {
                "AssumedRoleId": f"{int(hashlib.sha256(query['RoleArn'].encode()).hexdigest()[:15], 16)}:"
                f"{query['RoleSessionName']}",
                "Arn": f"acs:ram::{account_id}:role/{role_name.lower()}/{query['RoleSessionName']}",
            },
            "Credentials": {
                "AccessKeyId": key.access_key_id,
                "AccessKeySecret": key.access_key_secret,
                "SecurityToken": key.security_token,
                "Expiration": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }


class _StsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
