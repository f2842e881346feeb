"""Seeded fault injection for the emulator: ASGI middleware that fails, slows or corrupts chosen FC calls.

A fault matches by action (detected from the path of every API version) and by service, function and
qualifier patterns. Whether a matching request is hit depends only on (seed, fault index, a counter
per fault and target), never on wall time or global randomness, so a test run replays exactly. The
one exception is ``rate_limit``: a token bucket per account, which is about real time by definition.

Faults are evaluated in list order. ``latency`` adds up and lets the request go on; the first other
fault that fires answers the request, and the faults after it are not consulted (so "500 twice, then
429 once, then success" is two entries). Admin paths under ``/_emulator/`` are never faulted.
"""

from __future__ import annotations

import asyncio
import contextvars
import fnmatch
import hashlib
import json
import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass as std_dataclass
from typing import Annotated, Any, Literal, get_args
from urllib.parse import parse_qsl

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ACTIONS",
    "KINDS",
    "FaultInjector",
    "FaultMiddleware",
    "FaultSpec",
    "RequestTarget",
    "classify",
    "parse_fault_spec",
    "parse_faults",
]

log = logging.getLogger(__name__)

FaultKind = Literal[
    "429",
    "503",
    "500",
    "502",
    "504",
    "latency",
    "stall",
    "drop",
    "malformed_json",
    "truncated_json",
    "repeat_token",
    "rate_limit",
]
KINDS: tuple[str, ...] = get_args(FaultKind)
ACTIONS = ("ListServices", "ListFunctions", "ListAliases", "GetFunction", "ListInstances")
_PAGED = ("ListServices", "ListFunctions", "ListAliases")
_STATUS_KINDS = {"429": 429, "503": 503, "500": 500, "502": 502, "504": 504}
# FC 2.0 codes (fc-api.md section 6); 502/504 have no documented FC code, these are the gateway names.
_CODES = {
    429: ("ResourceExhausted", "Resources exhausted: too many concurrent requests"),
    503: ("ResourceThrottled", "Resources throttled: the service is busy, retry later"),
    500: ("InternalServerError", "an internal error occurred"),
    502: ("BadGateway", "bad gateway"),
    504: ("GatewayTimeout", "gateway timeout"),
}
_BODY_KINDS = ("stall", "drop", "malformed_json", "truncated_json", "repeat_token")
_V2 = ("2021-04-06", "2016-08-15")
_V3 = "2023-03-30"
_HOST = re.compile(r"(?P<account>[0-9A-Za-z_-]+)\.[a-z0-9-]+?\.fc\.aliyuncs\.com(?::\d+)?")
_ADMIN = "/_emulator/"


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class FaultSpec:
    """One fault. Patterns are shell globs (``order-*``); an unset filter matches everything.

    ``probability`` and ``times`` count per (fault, action, account, service, function, qualifier):
    ``times: 2`` fails the first two matching requests of each target, then lets them through.
    """

    kind: FaultKind
    action: str | None = None
    service: str | None = None
    function: str | None = None
    qualifier: str | None = None
    probability: Annotated[float, Field(ge=0, le=1)] = 1.0
    times: Annotated[int | None, Field(ge=1)] = None
    # Retry-After is whole seconds (RFC 9110); x-acs-retry-after is milliseconds (Tea's ThrottlingException).
    retry_after: Annotated[int | None, Field(ge=0)] = None
    retry_after_ms: Annotated[int | None, Field(ge=0)] = None
    # latency: added delay; stall: how long the body stalls after the headers went out.
    seconds: Annotated[float, Field(ge=0, le=3600)] = 1.0
    # rate_limit: sustained requests per second per account, and the bucket size (default: one second's worth).
    rate: Annotated[float | None, Field(gt=0)] = None
    burst: Annotated[int | None, Field(ge=1)] = None
    code: Annotated[str | None, Field(min_length=1)] = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_text(cls, v: Any) -> Any:
        # YAML reads `kind: 429` as an int; the kinds are names, so take its text.
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("action")
    @classmethod
    def _known_action(cls, v: str | None) -> str | None:
        if v is not None and v not in ACTIONS:
            raise ValueError(f"action {v!r} is not one of {', '.join(ACTIONS)}; fix: use one of them or omit action")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> FaultSpec:
        if self.kind == "rate_limit":
            if self.rate is None:
                raise ValueError("rate is required for kind rate_limit; fix: add rate (requests per second)")
            if self.probability != 1.0 or self.times is not None:
                raise ValueError("probability and times do not apply to kind rate_limit; fix: remove them")
        elif self.rate is not None or self.burst is not None:
            raise ValueError(f"rate and burst apply only to kind rate_limit, not {self.kind}; fix: remove them")
        if (self.retry_after is not None or self.retry_after_ms is not None) and self.kind not in _STATUS_KINDS:
            raise ValueError(
                f"retry_after and retry_after_ms apply only to status kinds, not {self.kind}; fix: remove them"
            )
        if self.code is not None and self.kind not in (*_STATUS_KINDS, "rate_limit"):
            raise ValueError(f"code applies only to status kinds and rate_limit, not {self.kind}; fix: remove it")
        if self.kind == "repeat_token" and self.action is not None and self.action not in _PAGED:
            raise ValueError(f"repeat_token needs a paged action ({', '.join(_PAGED)}), not {self.action}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The non-default fields, as a scenario file or the admin endpoint would spell them."""
        data = _ADAPTER.dump_python(self)
        return {k: v for k, v in data.items() if k == "kind" or v != _DEFAULTS[k]}


_ADAPTER: TypeAdapter[FaultSpec] = TypeAdapter(FaultSpec)
_LIST: TypeAdapter[list[FaultSpec]] = TypeAdapter(list[FaultSpec])
_DEFAULTS = _ADAPTER.dump_python(FaultSpec(kind="500"))


def _describe(error: Any, prefix: str) -> str:
    where = ".".join(str(p) for p in (prefix, *error["loc"]) if p != "") or "<top level>"
    kind = error["type"]
    if kind == "missing":
        return f"{where}: required field is missing; fix: add {where}"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{where}: unknown field; fix: remove it or check its spelling"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if "fix:" in msg else f"{where}: {msg}; fix: correct {where}"


def parse_faults(items: Any, where: str = "faults") -> list[FaultSpec]:
    """A list whose items are mappings or SPEC strings; errors name the item and the field."""
    if not isinstance(items, list):
        raise ValueError(f"{where}: expected a list of faults; fix: give a list (or [] for none)")
    out: list[FaultSpec] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            try:
                out.append(parse_fault_spec(item))
            except ValueError as e:
                raise ValueError(f"{where}.{i}: {e}") from None
            continue
        try:
            out.extend(_LIST.validate_python([item]))
        except ValidationError as e:
            errors = [{**err, "loc": (i, *err["loc"][1:])} for err in e.errors()]
            raise ValueError("; ".join(_describe(err, where) for err in errors)) from None
    return out


def parse_fault_spec(text: str) -> FaultSpec:
    """``KIND[,field=value...]``, e.g. ``429,action=ListInstances,function=order-*,times=2,retry_after=1``.

    Fields are FaultSpec's (``-`` may stand for ``_``); ``p`` is short for probability.
    """
    head, *rest = [part.strip() for part in text.strip().split(",")]
    if not head:
        raise ValueError(f"fault spec {text!r} has no kind; fix: start with one of {', '.join(KINDS)}")
    data: dict[str, Any] = {"kind": head}
    for part in rest:
        key, sep, value = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"fault spec {text!r}: {part!r} is not field=value; fix: write e.g. times=2")
        key = {"p": "probability"}.get(key, key)
        if key in data:
            raise ValueError(f"fault spec {text!r} sets {key} twice; fix: set it once")
        data[key] = value.strip()
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        raise ValueError(f"fault spec {text!r}: " + "; ".join(_describe(err, "") for err in e.errors())) from None


# --- which call a request is -------------------------------------------------------------------


@std_dataclass(frozen=True)
class RequestTarget:
    action: str | None  # None: an API-versioned path that is none of ACTIONS
    v3: bool
    account: str
    service: str
    function: str
    qualifier: str
    next_token: str | None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _access_key_id(authorization: str | None) -> str:
    if not authorization:
        return ""
    if authorization.startswith("FC "):
        return authorization[3:].partition(":")[0].strip()
    match = re.search(r"Credential=([^,\s]+)", authorization)
    return match.group(1) if match else ""


def classify(scope: Scope, account_of: Callable[[str], str | None] | None = None) -> RequestTarget | None:
    """The FC call a request makes, for 2021-04-06, 2016-08-15 (``svc.qualifier``) and 2023-03-30; None if no API."""
    parts = [p for p in scope.get("path", "").split("/") if p]
    if not parts or parts[0] not in (*_V2, _V3):
        return None
    action: str | None = None
    service = function = ""
    path_qualifier: str | None = None
    if parts[0] in _V2 and len(parts) >= 2 and parts[1] == "services":
        if len(parts) >= 3:
            service, _, q = parts[2].partition(".")
            path_qualifier = q or None
        shape = tuple(parts[3:4]) + (("fn",) if len(parts) >= 5 else ()) + tuple(parts[5:])
        function = parts[4] if len(parts) >= 5 else ""
        action = {
            (): "ListServices" if len(parts) == 2 else None,
            ("functions",): "ListFunctions",
            ("aliases",): "ListAliases",
            ("functions", "fn"): "GetFunction",
            ("functions", "fn", "instances"): "ListInstances",
        }.get(shape)
    elif parts[0] == _V3 and len(parts) >= 2 and parts[1] == "functions":
        function = parts[2] if len(parts) >= 3 else ""
        action = {2: "ListFunctions", 3: "GetFunction"}.get(len(parts))
        if len(parts) == 4:
            action = {"instances": "ListInstances", "aliases": "ListAliases"}.get(parts[3])
    query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
    qualifier = path_qualifier or next((v for k, v in reversed(query) if k == "qualifier" and v), "LATEST")
    token = next((v for k, v in reversed(query) if k == "nextToken" and v), None)
    host = _HOST.fullmatch((_header(scope, b"host") or "").lower())
    account = host.group("account") if host else (_header(scope, b"x-fc-account-id") or "").strip().strip('"')
    if not account:
        ak = _access_key_id(_header(scope, b"authorization"))
        account = (account_of(ak) if account_of else None) or (f"ak:{ak}" if ak else "")
    return RequestTarget(action, parts[0] == _V3, account, service, function, qualifier, token)


# --- decisions ---------------------------------------------------------------------------------


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) from its arguments alone."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@std_dataclass(frozen=True)
class Decision:
    delay: float
    fault: FaultSpec | None
    retry_wait: float | None = None  # rate_limit only: seconds until the bucket has a token again


class _Bucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), now

    def take(self, now: float) -> float | None:
        """None if a token was taken, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate


class FaultInjector:
    """The fault list, its counters and the statistics; replaceable at run time (admin endpoint, tests)."""

    def __init__(
        self,
        faults: Sequence[FaultSpec] = (),
        *,
        seed: int = 0,
        account_of: Callable[[str], str | None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seed = seed
        self.account_of = account_of
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._faults: tuple[FaultSpec, ...] = tuple(faults)
        self._counters: Counter[tuple[object, ...]] = Counter()
        self._buckets: dict[tuple[int, str], _Bucket] = {}
        self._requests: Counter[str] = Counter()
        self._injected: Counter[str] = Counter()
        self._per_fault: Counter[int] = Counter()

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        with self._lock:
            return self._faults

    def replace(self, faults: Sequence[FaultSpec]) -> None:
        """A new list starts from scratch: counters and buckets reset, statistics kept."""
        with self._lock:
            self._faults = tuple(faults)
            self._counters.clear()
            self._buckets.clear()
            self._per_fault.clear()

    def clear(self) -> None:
        self.replace(())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "faults": dict(sorted(self._injected.items())),
                "per_fault": [
                    {"index": i, "kind": f.kind, "injected": self._per_fault[i]} for i, f in enumerate(self._faults)
                ],
            }

    def reset_stats(self) -> None:
        with self._lock:
            self._requests.clear()
            self._injected.clear()
            self._per_fault.clear()

    def decide(self, target: RequestTarget) -> Decision:
        with self._lock:
            self._requests[target.action or "other"] += 1
            delay = 0.0
            for index, fault in enumerate(self._faults):
                if not self._matches(fault, target):
                    continue
                if fault.kind == "rate_limit":
                    assert fault.rate is not None
                    key = (index, target.account)
                    bucket = self._buckets.get(key)
                    now = self._monotonic()
                    if bucket is None:
                        bucket = self._buckets[key] = _Bucket(fault.rate, fault.burst or math.ceil(fault.rate), now)
                    wait = bucket.take(now)
                    if wait is not None:
                        self._count(index, fault)
                        return Decision(delay, fault, wait)
                    continue
                key = (index, target.action, target.account, target.service, target.function, target.qualifier)
                n = self._counters[key]
                self._counters[key] = n + 1
                if fault.times is not None and n >= fault.times:
                    continue
                if fault.probability < 1.0 and _unit(self.seed, index, *key[1:], n) >= fault.probability:
                    continue
                self._count(index, fault)
                if fault.kind == "latency":
                    delay += fault.seconds
                    continue
                return Decision(delay, fault)
            return Decision(delay, None)

    def _count(self, index: int, fault: FaultSpec) -> None:
        self._injected[fault.kind] += 1
        self._per_fault[index] += 1

    @staticmethod
    def _matches(fault: FaultSpec, target: RequestTarget) -> bool:
        if fault.action is not None and fault.action != target.action:
            return False
        if fault.kind == "repeat_token" and (target.action not in _PAGED or target.next_token is None):
            return False
        for pattern, value in ((fault.service, target.service), (fault.function, target.function)):
            if pattern is not None and not fnmatch.fnmatchcase(value, pattern):
                return False
        return fault.qualifier is None or fnmatch.fnmatchcase(target.qualifier, fault.qualifier)


# --- the middleware ----------------------------------------------------------------------------

# Set while a "drop" answer is being abandoned, so uvicorn's complaint about it is not logged as an error.
_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("fault_dropping", default=False)
_DROP_MESSAGE = "ASGI callable returned without completing response."


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_dropping.get() and record.getMessage() == _DROP_MESSAGE)


_DROP_FILTER = _DropFilter()


def _json_response(status: int, body: Any, extra: Sequence[tuple[bytes, bytes]] = ()) -> tuple[Message, Message]:
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()), *extra]
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": raw, "more_body": False},
    )


def _with_length(headers: Sequence[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


class FaultMiddleware:
    """Wraps the emulator app: serves ``/_emulator/faults`` and ``/_emulator/stats``, injects faults elsewhere."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector
        logging.getLogger("uvicorn.error").addFilter(_DROP_FILTER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(_ADMIN):
            if path.rstrip("/") in ("/_emulator/faults", "/_emulator/stats"):
                await self._admin(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        target = classify(scope, self.injector.account_of)
        if target is None:
            await self.app(scope, receive, send)
            return
        decision = self.injector.decide(target)
        if decision.delay > 0:
            await asyncio.sleep(decision.delay)
        fault = decision.fault
        if fault is None:
            await self.app(scope, receive, send)
            return
        log.debug("fault %s on %s %s", fault.kind, target.action, path)
        if fault.kind in _STATUS_KINDS or fault.kind == "rate_limit":
            for message in self._status_answer(scope, target, fault, decision.retry_wait):
                await send(message)
            return
        await self._body_fault(scope, receive, send, target, fault)

    @staticmethod
    def _status_answer(
        scope: Scope, target: RequestTarget, fault: FaultSpec, wait: float | None
    ) -> tuple[Message, ...]:
        status = 429 if fault.kind == "rate_limit" else _STATUS_KINDS[fault.kind]
        code, message = _CODES[status]
        code = fault.code or code
        if fault.kind == "rate_limit":
            message = f"request rate over {fault.rate:g}/s for this account"
        extra: list[tuple[bytes, bytes]] = []
        retry_after, retry_after_ms = fault.retry_after, fault.retry_after_ms
        if wait is not None:
            retry_after, retry_after_ms = max(1, math.ceil(wait)), max(1, math.ceil(wait * 1000))
        if retry_after is not None:
            extra.append((b"retry-after", str(retry_after).encode()))
        if retry_after_ms is not None:
            extra.append((b"x-acs-retry-after", str(retry_after_ms).encode()))
        request_id = str(scope.get("state", {}).get("request_id", ""))
        # FC 3.0 answers in the POP shape; FC 2.0 puts the request id only in X-Fc-Request-Id.
        body = (
            {"Code": code, "Message": message, "RequestId": request_id}
            if target.v3
            else {"ErrorCode": code, "ErrorMessage": message}
        )
        return _json_response(status, body, extra)

    async def _body_fault(
        self, scope: Scope, receive: Receive, send: Send, target: RequestTarget, fault: FaultSpec
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        assert start is not None
        body = b"".join(chunks)
        headers = list(start.get("headers", []))
        status = start["status"]
        if fault.kind == "malformed_json":
            # Single quotes: same length, still looks like JSON to a human, rejected by every parser.
            bad = body.replace(b'"', b"'")
            body = bad if bad != body else body + b","
        elif fault.kind == "truncated_json":
            body = body[: len(body) // 2] if len(body) > 1 else b"{"
        elif fault.kind == "repeat_token":
            body = _repeat_token(body, target.next_token)
        if fault.kind in ("malformed_json", "truncated_json", "repeat_token"):
            await send({**start, "headers": _with_length(headers, len(body))})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        half = len(body) // 2
        await send(start)  # the full Content-Length: the client expects every byte
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        if fault.kind == "drop":
            # Returning mid-body makes uvicorn close the transport: the client sees fewer bytes than declared.
            _dropping.set(True)
            log.debug("dropping the connection after %d of %d bytes (status %s)", half, len(body), status)
            return
        if await _disconnected_within(receive, fault.seconds):
            return
        await send({"type": "http.response.body", "body": body[half:], "more_body": False})

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET")
        faults_path = scope["path"].rstrip("/") == "/_emulator/faults"
        injector = self.injector
        status, answer = 200, None
        if faults_path and method == "POST":
            raw = await _read_body(receive)
            try:
                payload = json.loads(raw or b"null")
                items = payload.get("faults") if isinstance(payload, dict) else payload
                injector.replace(parse_faults(items))
            except ValueError as e:
                status, answer = 400, {"ErrorCode": "InvalidArgument", "ErrorMessage": str(e)}
        elif method == "DELETE":
            injector.clear() if faults_path else injector.reset_stats()
        elif method != "GET":
            status = 405
            answer = {"ErrorCode": "MethodNotAllowed", "ErrorMessage": f"{method} is not supported on {scope['path']}"}
        if answer is None:
            answer = (
                {"seed": injector.seed, "faults": [f.to_dict() for f in injector.faults]}
                if faults_path
                else injector.stats()
            )
        for message in _json_response(status, answer):
            await send(message)


def _repeat_token(body: bytes, token: str | None) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and token is not None:
        data["nextToken"] = token
    return json.dumps(data, separators=(",", ":")).encode()


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _disconnected_within(receive: Receive, seconds: float) -> bool:
    """Wait up to ``seconds``; True as soon as the client goes away (so a stall never outlives its client)."""

    async def wait_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(wait_disconnect(), timeout=seconds)
    except TimeoutError:
        return False
    return True
