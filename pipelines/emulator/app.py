"""The emulator's HTTP face: FC 2.0 (2021-04-06) list/get APIs with real signing, paging and error bodies."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipelines.emulator.clock import Clock, ManualClock
from pipelines.emulator.faults import FaultInjector, FaultMiddleware, FaultSpec
from pipelines.emulator.scenario import AccessKey, AccountSpec, FunctionScenario, FunctionV3Spec, ServiceSpec
from pipelines.emulator.sts import EXPIRED_CODE, ExpiredTokenError, StsIssuer
from pipelines.emulator.world import InstanceState, NotFoundError, World, v3_name
from pipelines.fc.signing import (
    EMPTY_SHA256,
    acs3_canonical_request,
    acs3_signature,
    fc_authorization,
    fc_string_to_sign,
)

__all__ = ["create_app"]

log = logging.getLogger(__name__)

API = "/2021-04-06"
LEGACY = "/2016-08-15"  # what fc2, Node and Go send; qualifiers ride in the path as services/{svc}.{qualifier}
V3 = "/2023-03-30"
LIST_DEFAULT, LIST_MAX = 20, 100
INSTANCES_MAX = 1000
_ACS3 = "ACS3-HMAC-SHA256"
_HOST = re.compile(r"(?P<account>[0-9A-Za-z_-]+)\.(?P<region>[a-z0-9-]+?)(?:-internal)?\.fc\.aliyuncs\.com(?::\d+)?")
_V3_HOST = re.compile(r"fcv3\.(?P<region>[a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com(?::\d+)?")
_DECIMAL = re.compile(r"[+-]?[0-9]+")
_TRUE, _FALSE = ("true", "1"), ("false", "0")
# Fixed timestamps keep answers byte-identical across runs; FC reports these in ISO form.
_CREATED = "2024-01-15T08:00:00Z"
_MODIFIED = "2024-06-01T08:00:00Z"
_PAGE_MARK = "fcemu1."


class ApiError(Exception):
    """An FC 2.0 error answer: HTTP status plus ``{"ErrorCode", "ErrorMessage"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"ErrorCode": code, "ErrorMessage": message}, status_code=status)


def _error_v3(status: int, code: str, message: str, request_id: str) -> JSONResponse:
    """FC 3.0's error body; the request id is in the body as well as in X-Fc-Request-Id."""
    return JSONResponse({"Code": code, "Message": message, "RequestId": request_id}, status_code=status)


class _RequestIdMiddleware:
    """Every answer, errors included, carries a fresh X-Fc-Request-Id, as FC 2.0 does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-fc-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


# --- query helpers -----------------------------------------------------------------------------


def _query_pairs(request: Request) -> list[tuple[str, str]]:
    # '+' is a space and %XX are UTF-8 bytes, as urlencode on the client side produced them.
    return parse_qsl(request.scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)


def _int_param(pairs: Sequence[tuple[str, str]], name: str, default: int | None, low: int, high: int) -> int | None:
    values = [v for k, v in pairs if k == name]
    if not values:
        return default
    raw = values[-1].strip()
    if not _DECIMAL.fullmatch(raw):
        raise ApiError(400, "InvalidArgument", f"{name} must be an integer in [{low}, {high}], got '{raw}'")
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, "InvalidArgument", f"{name} must be in [{low}, {high}], got {value}")
    return value


def _str_param(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in pairs if k == name]
    return values[-1] if values else None


def _bool_param(pairs: Sequence[tuple[str, str]], name: str) -> bool | None:
    """true/True/1 and false/False/0: Python SDKs send str(True), JavaScript and Go send "true"."""
    raw = _str_param(pairs, name)
    if raw is None or raw == "":
        return None
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ApiError(400, "InvalidArgument", f"{name} must be true or false, got '{raw}'")


def encode_token(name: str) -> str:
    return _PAGE_MARK + base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def decode_token(token: str) -> str:
    if not token.startswith(_PAGE_MARK):
        raise ApiError(400, "InvalidArgument", "nextToken was not issued by this server")
    body = token[len(_PAGE_MARK) :]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "InvalidArgument", "nextToken is malformed") from None


T = TypeVar("T")


def _page(named: list[tuple[str, T]], pairs: Sequence[tuple[str, str]]) -> tuple[list[T], str | None]:
    """Alphabetical paging: prefix filter, startKey and nextToken are inclusive lower bounds on the name."""
    limit = _int_param(pairs, "limit", LIST_DEFAULT, 1, LIST_MAX)
    assert limit is not None
    prefix = _str_param(pairs, "prefix") or ""
    lower = _str_param(pairs, "startKey") or ""
    token = _str_param(pairs, "nextToken")
    if token:
        lower = max(lower, decode_token(token))
    items = sorted((n, x) for n, x in named if n.startswith(prefix) and n >= lower)
    page = items[:limit]
    # The token names the first item of the next page, so it stays valid if earlier items vanish.
    next_token = encode_token(items[limit][0]) if len(items) > limit else None
    return [x for _, x in page], next_token


def _instance_ids(pairs: Sequence[tuple[str, str]]) -> list[str] | None:
    """instanceIds in any SDK's encoding: repeated keys (fc2), instanceIds.N (Tea), a JSON array (FC 3.0 style)."""
    return _list_param(pairs, "instanceIds")


def _list_param(pairs: Sequence[tuple[str, str]], name: str) -> list[str] | None:
    """A string array in any of the three wire forms: ``k=a&k=b``, ``k.1=a&k.2=b``, ``k=["a","b"]``."""
    indexed: list[tuple[int, str]] = []
    plain: list[str] = []
    dotted = re.compile(re.escape(name) + r"\.(\d+)")
    for key, value in pairs:
        match = dotted.fullmatch(key)
        if match:
            indexed.append((int(match.group(1)), value))
        elif key == name:
            if value.lstrip().startswith("["):
                try:
                    parsed = json.loads(value)
                except ValueError:
                    raise ApiError(400, "InvalidArgument", f"{name} is not a valid JSON array") from None
                if not isinstance(parsed, list) or not all(isinstance(i, str) for i in parsed):
                    raise ApiError(400, "InvalidArgument", f"{name} must be a JSON array of strings")
                plain.extend(parsed)
            elif value:
                plain.append(value)
    values = plain + [v for _, v in sorted(indexed)]
    return values or None


# --- JSON shapes -------------------------------------------------------------------------------


def _uuidish(*parts: str) -> str:
    return str(uuid.UUID(bytes=hashlib.md5("\x1f".join(parts).encode(), usedforsecurity=False).digest()))


def _service_json(spec: ServiceSpec) -> dict[str, Any]:
    return {
        "serviceName": spec.name,
        "serviceId": _uuidish("service", spec.account_id, spec.region, spec.name),
        "description": f"emulated service {spec.name}",
        "role": "",
        "internetAccess": True,
        "useSLRAuthentication": True,
        "logConfig": {"project": "", "logstore": "", "enableRequestMetrics": False},
        "createdTime": _CREATED,
        "lastModifiedTime": _MODIFIED,
    }


def _function_json(spec: ServiceSpec, fn: FunctionScenario) -> dict[str, Any]:
    body: dict[str, Any] = {
        "functionName": fn.name,
        "functionId": _uuidish("function", spec.account_id, spec.region, spec.name, fn.name),
        "description": f"emulated function {fn.name}",
        "runtime": fn.runtime,
        "handler": "index.handler",
        "timeout": 60,
        "memorySize": fn.memory_mb,
        "cpu": fn.cpu,
        "diskSize": fn.disk_mb,
        "instanceType": fn.instance_type,
        "instanceConcurrency": fn.instance_concurrency,
        "codeChecksum": str(int(_uuidish("code", spec.name, fn.name).replace("-", "")[:16], 16)),
        "codeSize": 1024,
        "environmentVariables": {},
        "layers": [],
        "createdTime": _CREATED,
        "lastModifiedTime": _MODIFIED,
    }
    if fn.gpu_memory_mb is not None:
        body["gpuMemorySize"] = fn.gpu_memory_mb
    return body


def _alias_json(alias_name: str, version_id: str) -> dict[str, Any]:
    return {
        "aliasName": alias_name,
        "versionId": version_id,
        "description": "",
        "additionalVersionWeight": {},
        "createdTime": _CREATED,
        "lastModifiedTime": _MODIFIED,
    }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(text: str, what: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ApiError(400, "InvalidArgument", f"{what} is not an ISO 8601 time: '{text}'") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


# --- authentication ----------------------------------------------------------------------------


class _Authenticator:
    """Checks a request exactly as FC would, with the same canonical forms the client signs with."""

    def __init__(
        self, world: World, skew_limit: timedelta, sts: StsIssuer | None = None, region: str | None = None
    ) -> None:
        self._world = world
        self._skew_limit = skew_limit
        self._sts = sts
        self._region = region

    def _access_key(self, access_key_id: str) -> tuple[str, AccessKey] | None:
        """A scenario key, else a key the STS issued (403 once it has expired)."""
        found = self._world.access_key(access_key_id)
        if found is None and self._sts is not None:
            try:
                found = self._sts.lookup(access_key_id)
            except ExpiredTokenError:
                raise ApiError(403, EXPIRED_CODE, "the security token has expired; assume the role again") from None
        return found

    def __call__(self, request: Request, body: bytes, *, v3: bool = False) -> tuple[str, str]:
        """Verify the request; return the (account id, region) it addresses (``v3``: FC 3.0 rules)."""
        authorization = request.headers.get("authorization")
        if not authorization:
            raise ApiError(400, "MissingRequiredHeader", "the Authorization header is required")
        if authorization.startswith("FC "):
            access_key_id, key = self._verify_fc(request, authorization)
            sts_header = "x-fc-security-token"
        elif authorization.startswith(_ACS3 + " "):
            access_key_id, key = self._verify_acs3(request, authorization, body)
            sts_header = "x-acs-security-token"
        else:
            raise ApiError(
                400, "InvalidArgument", "unsupported Authorization scheme; use 'FC ak:sig' or ACS3-HMAC-SHA256"
            )
        if key.security_token is not None:
            received = request.headers.get(sts_header)
            if received is None or not hmac.compare_digest(received.encode(), key.security_token.encode()):
                raise ApiError(403, "InvalidSecurityToken", f"the security token in {sts_header} is missing or wrong")
        owner = self._access_key(access_key_id)
        account_id, region = self._target(request, owner[0] if v3 and owner is not None else None)
        if owner is None or owner[0] != account_id:
            raise ApiError(
                403, "InvalidAccessKeyID", f"invalid access key ID '{access_key_id}' for account '{account_id}'"
            )
        return account_id, region

    def _key(self, access_key_id: str) -> AccessKey:
        found = self._access_key(access_key_id)
        if found is None:
            raise ApiError(403, "InvalidAccessKeyID", f"invalid access key ID '{access_key_id}'")
        return found[1]

    def _check_skew(self, sent: datetime, header: str) -> None:
        # The REAL wall clock, not the virtual one: clients sign with their own real clock.
        now = datetime.now(UTC)
        skew = sent - now
        if abs(skew) > self._skew_limit:
            direction = "ahead of" if skew > timedelta(0) else "behind"
            raise ApiError(
                403,
                "RequestTimeTooSkewed",
                f"the {header} {_iso(sent)} is {abs(skew.total_seconds()):.0f}s "
                f"{direction} the server time {_iso(now.replace(microsecond=0))}; "
                f"the allowed clock skew is {self._skew_limit.total_seconds():.0f}s",
            )

    def _verify_fc(self, request: Request, authorization: str) -> tuple[str, AccessKey]:
        access_key_id, sep, signature = authorization[3:].strip().partition(":")
        if not sep or not access_key_id or not signature:
            raise ApiError(400, "InvalidArgument", "Authorization must be 'FC <AccessKeyId>:<Signature>'")
        date = request.headers.get("date")
        if date is None:
            raise ApiError(400, "MissingRequiredHeader", "the Date header is required")
        try:
            sent = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            raise ApiError(400, "InvalidArgument", f"the Date header is not an RFC 1123 date: '{date}'") from None
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        self._check_skew(sent, "Date")
        key = self._key(access_key_id)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        # Management APIs sign the decoded path only, never the query (fc-api.md section 1).
        string_to_sign = fc_string_to_sign(request.method, raw_path.split(b"?")[0].decode("utf-8"), headers)
        expected = fc_authorization(access_key_id, key.access_key_secret, string_to_sign).partition(":")[2]
        if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
            raise ApiError(403, "SignatureNotMatch", _MISMATCH)
        return access_key_id, key

    def _verify_acs3(self, request: Request, authorization: str, body: bytes) -> tuple[str, AccessKey]:
        fields: dict[str, str] = {}
        for part in authorization[len(_ACS3) :].split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        access_key_id = fields.get("Credential", "")
        signed_names = [n for n in fields.get("SignedHeaders", "").lower().split(";") if n]
        signature = fields.get("Signature", "")
        if not access_key_id or not signed_names or not signature:
            raise ApiError(
                400,
                "InvalidArgument",
                "Authorization must be 'ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..'",
            )
        date = request.headers.get("x-acs-date")
        if date is None:
            raise ApiError(400, "MissingRequiredHeader", "the x-acs-date header is required")
        self._check_skew(_parse_iso(date, "x-acs-date"), "x-acs-date")
        key = self._key(access_key_id)
        # Unsigned date or host would let a captured request be replayed elsewhere or later.
        for required in ("host", "x-acs-date"):
            if required not in signed_names:
                raise ApiError(403, "SignatureNotMatch", f"SignedHeaders must include {required}")
        if key.security_token is not None and "x-acs-security-token" not in signed_names:
            raise ApiError(403, "InvalidSecurityToken", "x-acs-security-token must be signed")
        body_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        claimed = request.headers.get("x-acs-content-sha256")
        if claimed is not None and claimed.lower() != body_hash:
            raise ApiError(403, "SignatureNotMatch", "x-acs-content-sha256 does not match the request body")
        # Only the headers the client named: transports add their own after signing.
        headers: list[tuple[str, str]] = []
        for name in signed_names:
            values = request.headers.getlist(name)
            if not values:
                raise ApiError(403, "SignatureNotMatch", f"signed header '{name}' is not in the request")
            headers.extend((name, v) for v in values)
        raw_path = (request.scope.get("raw_path") or request.url.path.encode()).split(b"?")[0]
        canonical, _ = acs3_canonical_request(
            request.method, raw_path.decode("utf-8"), _query_pairs(request), headers, claimed or body_hash
        )
        expected = acs3_signature(key.access_key_secret, canonical)
        if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
            raise ApiError(403, "SignatureNotMatch", _MISMATCH)
        return access_key_id, key

    def _target(self, request: Request, key_owner: str | None = None) -> tuple[str, str]:
        """The addressed account: from the Host, else X-Fc-Account-Id; FC 3.0 (``key_owner`` set) also
        takes the region from an ``fcv3.<region>.aliyuncs.com`` Host and the account from the AccessKey."""
        host = request.headers.get("host", "").lower()
        v3_host = _V3_HOST.fullmatch(host) if key_owner is not None else None
        if v3_host:
            header = (request.headers.get("x-fc-account-id") or "").strip().strip('"')
            account_id, region = header or key_owner or "", v3_host.group("region")
            account = self._world.account(account_id)
            if account is not None and region not in account.regions:
                raise ApiError(400, "InvalidArgument", f"region '{region}' is not enabled for account '{account_id}'")
            return account_id, region
        if key_owner is not None and not _HOST.fullmatch(host) and not request.headers.get("x-fc-account-id"):
            account = self._world.account(key_owner)
            return key_owner, self._bound_region(key_owner, account) if account is not None else ""
        match = _HOST.fullmatch(host)
        if match:
            account_id, region = match.group("account"), match.group("region")
            account = self._world.account(account_id)
            if account is not None and region not in account.regions:
                raise ApiError(400, "InvalidArgument", f"region '{region}' is not enabled for account '{account_id}'")
            return account_id, region
        header = request.headers.get("x-fc-account-id")
        if not header:
            raise ApiError(
                400, "MissingRequiredHeader", "X-Fc-Account-Id is required when the Host does not name the account"
            )
        account_id = header.strip().strip('"')
        account = self._world.account(account_id)
        if account is None:
            # Unknown account: no key can belong to it.
            return account_id, ""
        return account_id, self._bound_region(account_id, account)

    def _bound_region(self, account_id: str, account: AccountSpec) -> str:
        """A server bound to one region (``create_app(region=...)``) serves only that region."""
        if self._region is None:
            return account.regions[0]
        if self._region not in account.regions:
            raise ApiError(400, "InvalidArgument", f"region '{self._region}' is not enabled for account '{account_id}'")
        return self._region


_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)


# --- the application ---------------------------------------------------------------------------

Pairs = list[tuple[str, str]]
Handler = Callable[[Request, str, str, Pairs], Response]


class _Handlers:
    """The FC APIs over a World; each gets the authenticated account and region and the decoded query."""

    def __init__(self, world: World, clock: Clock) -> None:
        self.world = world
        self.clock = clock

    def list_services(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        named = [(s.name, _service_json(s)) for s in self.world.services(account_id, region)]
        items, token = _page(named, pairs)
        return _listing("services", items, token)

    def list_functions(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        spec = self.world.service(account_id, region, request.path_params["service"])
        self.world.series_qualifiers(spec, _str_param(pairs, "qualifier"))  # an unknown qualifier is a 404
        items, token = _page([(f.name, _function_json(spec, f)) for f in spec.functions], pairs)
        return _listing("functions", items, token)

    def get_function(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        service, function = request.path_params["service"], request.path_params["function"]
        spec = self.world.service(account_id, region, service)
        self.world.series_qualifiers(spec, _str_param(pairs, "qualifier"))
        body = _function_json(spec, self.world.function(account_id, region, service, function))
        etag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
        return JSONResponse(body, headers={"Etag": etag})

    def list_aliases(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        spec = self.world.service(account_id, region, request.path_params["service"])
        items, token = _page([(a.name, _alias_json(a.name, a.version_id)) for a in spec.aliases], pairs)
        return _listing("aliases", items, token)

    def list_instances(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        # limit=0 (or no limit) means "no cap": FC 2.0 ListInstances has no paging, so a cap only truncates.
        limit = _int_param(pairs, "limit", None, 0, INSTANCES_MAX)
        wanted = _instance_ids(pairs)
        found = self.world.instances(
            account_id,
            region,
            request.path_params["service"],
            request.path_params["function"],
            _str_param(pairs, "qualifier"),
            self.clock.now(),
        )
        if wanted is not None:
            keep = set(wanted)
            found = [i for i in found if i.instance_id in keep]
        if limit:
            found = found[:limit]
        return JSONResponse({"instances": [{"instanceId": i.instance_id, "versionId": i.version_id} for i in found]})

    # --- admin, unauthenticated ---------------------------------------------------------------

    async def truth(self, request: Request) -> Response:
        at_text = request.query_params.get("at")
        try:
            at = _parse_iso(at_text, "at") if at_text else self.clock.now()
        except ApiError as e:
            return _error(e.status, e.code, e.message)
        return JSONResponse([asdict(r) for r in self.world.ground_truth(at)], headers={"X-Emulator-At": _iso(at)})

    async def set_clock(self, request: Request) -> Response:
        clock = self.clock
        if not isinstance(clock, ManualClock):
            return _error(409, "ClockNotSettable", f"the emulator runs a {type(clock).__name__}, not a ManualClock")
        try:
            payload = json.loads(await request.body() or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("at"), str):
            return _error(400, "InvalidArgument", 'body must be JSON {"at": "<ISO 8601 time>"}')
        try:
            clock.set(_parse_iso(payload["at"], "at"))
        except ApiError as e:
            return _error(e.status, e.code, e.message)
        return JSONResponse({"now": _iso(clock.now())})

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "now": _iso(self.clock.now())})

    async def unrouted(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            status, code, message = 405, "MethodNotAllowed", f"{request.method} is not supported on {request.url.path}"
        else:
            status, code, message = 404, "PathNotSupported", f"path {request.url.path} is not supported by the emulator"
        if request.url.path.startswith(V3 + "/"):
            return _error_v3(status, code, message, request.scope["state"]["request_id"])
        return _error(status, code, message)


def _legacy(handler: Handler) -> Handler:
    """The 2016-08-15 form: ``services/{svc}.{qualifier}`` carries the qualifier, which wins over the query."""

    def legacy(request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        # FC names have no '.', so the first dot splits service from qualifier; "svc" alone is LATEST.
        if "service" not in request.path_params:  # ListServices
            return handler(request, account_id, region, pairs)
        service, _, qualifier = request.path_params["service"].partition(".")
        request.path_params["service"] = service
        return handler(request, account_id, region, [*pairs, ("qualifier", qualifier)] if qualifier else pairs)

    return legacy


# --- FC 3.0 (2023-03-30) -----------------------------------------------------------------------

STATUS_RUNNING = "Running"  # every instance the world reports is alive; destroyed ones are not listed
_DIRECTIONS = ("BACKWARD", "FORWARD")
_FC_VERSIONS = ("", "v2", "v3")


def _function_v3_json(
    account_id: str, region: str, name: str, fn: FunctionScenario | FunctionV3Spec, function_id: str
) -> dict[str, Any]:
    """The FC 3.0 Function model: no service, no instanceType; a GPU shows as gpuConfig."""
    body: dict[str, Any] = {
        "functionName": name,
        "functionId": function_id,
        "functionArn": f"acs:fc:{region}:{account_id}:functions/{name}",
        "description": f"emulated function {name}",
        "runtime": fn.runtime,
        "handler": "index.handler",
        "timeout": 60,
        "cpu": fn.cpu,
        "memorySize": fn.memory_mb,
        "diskSize": fn.disk_mb,
        "instanceConcurrency": fn.instance_concurrency,
        "codeChecksum": str(int(_uuidish("code", name).replace("-", "")[:16], 16)),
        "codeSize": 1024,
        "environmentVariables": {},
        "layers": [],
        "internetAccess": True,
        "createdTime": _CREATED,
        "lastModifiedTime": _MODIFIED,
    }
    if fn.gpu_memory_mb is not None:
        body["gpuConfig"] = {"gpuMemorySize": fn.gpu_memory_mb, "gpuType": fn.instance_type}
    return body


def _instance_v3_json(i: InstanceState) -> dict[str, Any]:
    # destroyedTimeMs is left out: a listed instance is alive.
    return {
        "instanceId": i.instance_id,
        "versionId": i.version_id,
        "qualifier": i.qualifier,
        "status": STATUS_RUNNING,
        "createdTimeMs": i.created_time_ms,
        "resourceType": i.resource_type,
    }


def _version_json(version_id: str) -> dict[str, Any]:
    return {"versionId": version_id, "description": "", "createdTime": _CREATED, "lastModifiedTime": _MODIFIED}


class _V3Handlers:
    """FC 3.0 over the same World: FC 3.0 functions by name, FC 2.0 functions as ``service$function``."""

    def __init__(self, world: World, clock: Clock) -> None:
        self.world = world
        self.clock = clock

    def _named_functions(self, account_id: str, region: str, fc_version: str) -> list[tuple[str, dict[str, Any]]]:
        named: list[tuple[str, dict[str, Any]]] = []
        if fc_version in ("", "v3"):
            for f in self.world.functions_v3(account_id, region):
                fid = _uuidish("function-v3", account_id, region, f.name)
                named.append((f.name, _function_v3_json(account_id, region, f.name, f, fid)))
        if fc_version in ("", "v2"):
            for spec in self.world.services(account_id, region):
                for fn in spec.functions:
                    name = v3_name(spec.name, fn.name)
                    # The same functionId as the FC 2.0 API reports: it is the same function.
                    fid = _uuidish("function", account_id, region, spec.name, fn.name)
                    named.append((name, _function_v3_json(account_id, region, name, fn, fid)))
        return named

    def list_functions(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        fc_version = (_str_param(pairs, "fcVersion") or "").strip()
        if fc_version not in _FC_VERSIONS:
            raise ApiError(400, "InvalidArgument", f"fcVersion must be v3, v2 or empty, got '{fc_version}'")
        named = self._named_functions(account_id, region, fc_version)
        runtime, gpu_type = _str_param(pairs, "runtime"), _str_param(pairs, "gpuType")
        if runtime:
            named = [(n, f) for n, f in named if f["runtime"] == runtime]
        if gpu_type:
            named = [(n, f) for n, f in named if f.get("gpuConfig", {}).get("gpuType") == gpu_type]
        items, token = _page(named, pairs)
        return _listing("functions", items, token)

    def _resolve(self, request: Request, account_id: str, region: str) -> tuple[str | None, str, str]:
        name = request.path_params["function"]
        service, function = self.world.resolve_v3(account_id, region, name)
        return service, function, name

    def get_function(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        service, function, name = self._resolve(request, account_id, region)
        owner = self.world.owner(account_id, region, service, function)
        self.world.series_qualifiers(owner, _str_param(pairs, "qualifier"))  # an unknown qualifier is a 404
        if service is None:
            fn: FunctionScenario | FunctionV3Spec = self.world.function_v3(account_id, region, function)
            fid = _uuidish("function-v3", account_id, region, function)
        else:
            fn = self.world.function(account_id, region, service, function)
            fid = _uuidish("function", account_id, region, service, function)
        body = _function_v3_json(account_id, region, name, fn, fid)
        # Only GetFunction reports state (fc-api.md section 5: ListFunctions returns a subset).
        body.update({"state": "Active", "lastUpdateStatus": "Successful"})
        etag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
        return JSONResponse(body, headers={"Etag": etag})

    def list_aliases(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        service, function, _ = self._resolve(request, account_id, region)
        owner = self.world.owner(account_id, region, service, function)
        items, token = _page([(a.name, _alias_json(a.name, a.version_id)) for a in owner.aliases], pairs)
        return _listing("aliases", items, token)

    def list_versions(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        service, function, _ = self._resolve(request, account_id, region)
        owner = self.world.owner(account_id, region, service, function)
        direction = (_str_param(pairs, "direction") or "BACKWARD").upper()
        if direction not in _DIRECTIONS:
            raise ApiError(400, "InvalidArgument", f"direction must be FORWARD or BACKWARD, got '{direction}'")
        limit = _int_param(pairs, "limit", LIST_DEFAULT, 1, LIST_MAX)
        assert limit is not None
        # BACKWARD (the default) is newest first; the token names the first version of the next page.
        ordered = sorted(owner.versions, key=int, reverse=direction == "BACKWARD")
        token = _str_param(pairs, "nextToken")
        if token:
            first = decode_token(token)
            if first not in ordered:
                raise ApiError(400, "InvalidArgument", "nextToken names no version of this function")
            ordered = ordered[ordered.index(first) :]
        body: dict[str, Any] = {"versions": [_version_json(v) for v in ordered[:limit]], "direction": direction}
        if len(ordered) > limit:
            body["nextToken"] = encode_token(ordered[limit])
        return JSONResponse(body)

    def list_instances(self, request: Request, account_id: str, region: str, pairs: Pairs) -> Response:
        service, function, _ = self._resolve(request, account_id, region)
        owner = self.world.owner(account_id, region, service, function)
        qualifier = _str_param(pairs, "qualifier") or None
        # withAllActive without a qualifier: every live instance of the function, LATEST and every alias.
        series = self.world.all_qualifiers(owner) if _bool_param(pairs, "withAllActive") and not qualifier else None
        limit = _int_param(pairs, "limit", None, 0, INSTANCES_MAX)
        start_ms = _int_param(pairs, "startTimeMs", None, 0, 2**63 - 1)
        end_ms = _int_param(pairs, "endTimeMs", None, 0, 2**63 - 1)
        wanted, statuses = _instance_ids(pairs), _list_param(pairs, "instanceStatus")
        start_key = _str_param(pairs, "startKey") or ""
        found = self.world.instances(account_id, region, service, function, qualifier, self.clock.now(), series=series)
        if wanted is not None:
            keep = set(wanted)
            found = [i for i in found if i.instance_id in keep]
        if statuses is not None and STATUS_RUNNING not in statuses:
            found = []
        # startTimeMs/endTimeMs bound the creation time, both inclusive; startKey is an inclusive lower id.
        found = [
            i
            for i in found
            if (start_ms is None or i.created_time_ms >= start_ms)
            and (end_ms is None or i.created_time_ms <= end_ms)
            and i.instance_id >= start_key
        ]
        if limit:
            found = found[:limit]
        return JSONResponse(
            {"instances": [_instance_v3_json(i) for i in found], "requestId": request.scope["state"]["request_id"]}
        )


def _authenticated(
    authenticate: _Authenticator, handler: Handler, *, v3: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Verify, then answer; ``v3`` selects FC 3.0 account rules and error bodies."""

    def error(status: int, code: str, message: str, request: Request) -> JSONResponse:
        if v3:
            return _error_v3(status, code, message, request.scope["state"]["request_id"])
        return _error(status, code, message)

    async def endpoint(request: Request) -> Response:
        try:
            body = await request.body()
            account_id, region = authenticate(request, body, v3=v3)
            response = handler(request, account_id, region, _query_pairs(request))
        except ApiError as e:
            response = error(e.status, e.code, e.message, request)
        except NotFoundError as e:
            response = error(404, e.code, e.message, request)
        # Method, path, status and request id only: never headers, signatures or tokens.
        log.debug(
            "%s %s -> %s request id %s",
            request.method,
            request.url.path,
            response.status_code,
            request.scope["state"]["request_id"],
        )
        return response

    return endpoint


def create_app(
    world: World,
    clock: Clock,
    *,
    skew_limit: timedelta = timedelta(minutes=15),
    faults: Sequence[FaultSpec] = (),
    sts: StsIssuer | None = None,
    region: str | None = None,
) -> Starlette:
    """The emulator as an ASGI app; ``clock`` decides which instances exist, the real clock checks dates.

    ``sts`` serves STS AssumeRole at ``GET /?Action=AssumeRole`` and lets FC accept the keys it issues;
    ``region`` binds the server to one region when the Host (e.g. 127.0.0.1) does not name it.
    """
    auth = _Authenticator(world, skew_limit, sts, region)
    h = _Handlers(world, clock)
    v3 = _V3Handlers(world, clock)
    legacy = [
        ("/services", h.list_services),
        ("/services/{service}/functions", h.list_functions),
        ("/services/{service}/functions/{function}", h.get_function),
        ("/services/{service}/aliases", h.list_aliases),
        ("/services/{service}/functions/{function}/instances", h.list_instances),
    ]
    fc3 = [
        ("/functions", v3.list_functions),
        ("/functions/{function}", v3.get_function),
        ("/functions/{function}/aliases", v3.list_aliases),
        ("/functions/{function}/versions", v3.list_versions),
        ("/functions/{function}/instances", v3.list_instances),
    ]
    routes = [
        *(Route(LEGACY + path, _authenticated(auth, _legacy(handler)), methods=["GET"]) for path, handler in legacy),
        *(Route(V3 + path, _authenticated(auth, handler, v3=True), methods=["GET"]) for path, handler in fc3),
        Route(f"{API}/services", _authenticated(auth, h.list_services), methods=["GET"]),
        Route(f"{API}/services/{{service}}/functions", _authenticated(auth, h.list_functions), methods=["GET"]),
        Route(
            f"{API}/services/{{service}}/functions/{{function}}", _authenticated(auth, h.get_function), methods=["GET"]
        ),
        Route(f"{API}/services/{{service}}/aliases", _authenticated(auth, h.list_aliases), methods=["GET"]),
        Route(
            f"{API}/services/{{service}}/functions/{{function}}/instances",
            _authenticated(auth, h.list_instances),
            methods=["GET"],
        ),
        Route("/_emulator/truth", h.truth, methods=["GET"]),
        Route("/_emulator/clock", h.set_clock, methods=["POST"]),
        Route("/_emulator/health", h.health, methods=["GET"]),
        *([Route("/", sts.endpoint, methods=["GET"])] if sts is not None else []),
    ]
    app = Starlette(routes=routes, exception_handlers={404: h.unrouted, 405: h.unrouted})
    # The scenario's faults, then ``faults``; inside the request-id middleware so injected answers carry an id.
    injector = FaultInjector(
        [*world.scenario.faults, *faults],
        seed=world.scenario.seed,
        account_of=lambda ak: found[0] if (found := world.access_key(ak) or _issued(sts, ak)) else None,
    )
    app.state.faults = injector
    app.add_middleware(FaultMiddleware, injector=injector)
    app.add_middleware(_RequestIdMiddleware)
    return app


def _issued(sts: StsIssuer | None, access_key_id: str) -> tuple[str, AccessKey] | None:
    try:
        return sts.lookup(access_key_id) if sts is not None else None
    except ExpiredTokenError:
        return None


def _listing(key: str, items: list[Any], token: str | None) -> JSONResponse:
    body: dict[str, Any] = {key: items}
    if token is not None:
        body["nextToken"] = token
    return JSONResponse(body)
