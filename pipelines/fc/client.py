"""Async FC control-plane clients, FC 2.0 (2021-04-06) and FC 3.0 (2023-03-30), one per target.

Calls are signed per attempt (a fresh date every time), retried on the retriable branch of the
error tree with exponential backoff and full jitter inside a per-call deadline, and return
frozen models. The HTTP session (aiohttp, or any httpx client) is shared and owned by the caller (one per run).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote

import aiohttp
import httpx
import yarl
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_random_exponential

from pipelines.fc.errors import FCError, MalformedAnswerError, RetriableError, classify
from pipelines.fc.models import (
    Alias,
    FunctionSpec,
    Instance,
    Page,
    Service,
    parse_aliases,
    parse_error_body,
    parse_function,
    parse_functions,
    parse_instances,
    parse_services,
)
from pipelines.fc.paging import collect_pages
from pipelines.fc.signing import CredentialsProvider, acs3_sign, fc_sign, http_date, query_text, wire_query
from pipelines.fc.transport import sender_for

__all__ = [
    "API_VERSION",
    "API_VERSION_3",
    "FC3Client",
    "FCClient",
    "InstancesAnswer",
    "RetryPolicy",
    "default_endpoint",
]

log = logging.getLogger(__name__)

API_VERSION = "2021-04-06"
API_VERSION_3 = "2023-03-30"
LIST_PAGE_SIZE = 100  # the documented maximum for the paged list APIs
Scheme = Literal["acs3", "fc"]
T = TypeVar("T")
# aiohttp in production (collect.open_session); any httpx client, such as the tests' ASGI transport.
HTTP = aiohttp.ClientSession | httpx.AsyncClient


def default_endpoint(account_id: str, region: str) -> str:
    return f"https://{account_id}.{region}.fc.aliyuncs.com"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_s: float = 0.2
    max_backoff_s: float = 5.0
    deadline_s: float = 30.0


@dataclass(frozen=True)
class InstancesAnswer:
    instances: list[Instance]
    request_id: str | None
    http_status: int
    attempts: int
    latency_ms: float
    observed_at: datetime


@dataclass(frozen=True)
class _Answer:
    body: Any
    request_id: str | None
    http_status: int
    attempts: int
    latency_ms: float


def _retry_after_s(error: BaseException | None) -> float | None:
    return error.retry_after_s if isinstance(error, FCError) else None


@dataclass(frozen=True)
class _Attempt:
    attempt_number: int  # what tenacity's wait strategies read from a retry state


class _Wait:
    """Full-jitter exponential backoff, but never shorter than the server's Retry-After. ``skipped``
    attempts ran before tenacity took over (the first attempt runs outside it, see _Caller._call)."""

    def __init__(self, policy: RetryPolicy, skipped: int = 0) -> None:
        self._jitter = wait_random_exponential(multiplier=policy.base_s, max=policy.max_backoff_s)
        self._skipped = skipped

    def after(self, attempt_number: int, error: BaseException | None) -> float:
        backoff = self._jitter(cast("RetryCallState", _Attempt(attempt_number)))  # reads attempt_number only
        hint = _retry_after_s(error)
        return max(backoff, hint) if hint is not None else backoff

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self.after(state.attempt_number + self._skipped, error)


class _Caller:
    """Signed GET calls for one (account, region, API version): retries, errors, answers."""

    def __init__(
        self,
        http: HTTP,
        *,
        account_id: str,
        region: str,
        credentials: CredentialsProvider,
        endpoint: str | None,
        scheme: Scheme,
        retry: RetryPolicy | None,
        api_version: str,
        limiter: AsyncLimiter | None = None,
    ) -> None:
        self._send = sender_for(http)
        self._limiter = limiter
        self.account_id = account_id
        self.region = region
        self.endpoint = (endpoint or default_endpoint(account_id, region)).rstrip("/")
        # An explicit endpoint is used verbatim: its authority is the Host signed and sent (case C3).
        parsed = yarl.URL(self.endpoint, encoded=True)
        self._host = parsed.raw_authority
        self._origin = f"{parsed.scheme}://{parsed.raw_authority}"
        self._prefix = parsed.raw_path.rstrip("/")
        self._credentials = credentials
        self._scheme = scheme
        self._retry = retry or RetryPolicy()
        self.api_version = api_version

    async def _call(self, action: str, path: str, query: Sequence[tuple[str, str]]) -> _Answer:
        policy = self._retry
        started = time.perf_counter()
        # The first attempt runs outside tenacity: nearly every call succeeds at once, and tenacity's
        # per-attempt machinery was about a tenth of a poll's CPU (make bench). A retriable failure
        # goes on in tenacity with the same policy: attempts, deadline and backoff count from here.
        try:
            body, rid, status = await self._once(action, path, query)
            return _Answer(body, rid, status, 1, (time.perf_counter() - started) * 1000)
        except FCError as e:
            e.attempts = 1
            e.latency_ms = (time.perf_counter() - started) * 1000
            if not isinstance(e, RetriableError) or policy.attempts <= 1:
                raise
            if time.perf_counter() - started >= policy.deadline_s:
                raise
            first = e
        await asyncio.sleep(_Wait(policy).after(1, first))
        attempts = 1
        body: Any = None
        rid: str | None = None
        status = 0
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RetriableError),
            stop=stop_after_attempt(policy.attempts - 1)
            | stop_after_delay(max(0.0, policy.deadline_s - (time.perf_counter() - started))),
            wait=_Wait(policy, skipped=1),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                attempts += 1
                try:
                    body, rid, status = await self._once(action, path, query)
                except FCError as e:
                    e.attempts = attempts
                    e.latency_ms = (time.perf_counter() - started) * 1000
                    raise
        return _Answer(body, rid, status, attempts, (time.perf_counter() - started) * 1000)

    async def _once(self, action: str, path: str, query: Sequence[tuple[str, str]]) -> tuple[Any, str | None, int]:
        # Signed here, over exactly the headers and query bytes that go out (case C1), with a fresh
        # date and nonce on every attempt.
        path = f"{self._prefix}/{self.api_version}{path}"
        now = datetime.now(UTC)
        headers = {
            "host": self._host,
            "x-fc-account-id": self.account_id,
            "x-fc-date": http_date(now),
            "x-fc-trace-id": uuid.uuid4().hex,
        }
        creds = self._credentials()
        if self._scheme == "fc":
            headers.update(fc_sign(headers.items(), "GET", path, creds, now))
        else:
            signed = acs3_sign(
                headers.items(),
                "GET",
                path,
                query,
                creds,
                action=action,
                version=self.api_version,
                at=now,
                nonce=secrets.token_hex(16),
            )
            headers.update(signed)
        url = f"{self._origin}{path}?{wire_query(query)}" if query else f"{self._origin}{path}"
        if self._limiter is not None:
            # Every attempt, retries included, spends from the (account, region) budget.
            await self._limiter.acquire()
        # The whole exchange, body read included, is inside the retry (case C9).
        reply = await self._send.get(url, headers, f"{action} {self.endpoint}")
        headers_in = reply.headers
        rid = headers_in.get("x-fc-request-id") or headers_in.get("x-acs-request-id")
        body = _json(reply.body)
        if 200 <= reply.status < 300:
            if body is _INVALID:
                raise MalformedAnswerError("MalformedAnswer", f"{action}: body is not JSON", reply.status, rid)
            return body, rid, reply.status
        err = parse_error_body(body if body is not _INVALID else None)
        code = err.code if err else f"HTTP{reply.status}"
        message = err.message if err else f"{action}: HTTP {reply.status} with no FC error body"
        if code == "AccessDenied":
            # Name the permission to grant: the RAM action is the API action we called.
            message = f"{message} (this identity needs RAM action fc:{action})"
        error = classify(reply.status, code, message, rid or (err.request_id if err else None))
        error.retry_after_s = _retry_after(headers_in)
        raise error

    async def _list_all(
        self, action: str, path: str, parse: Callable[[Any], Page[T]], extra: Sequence[tuple[str, str]] = ()
    ) -> list[T]:
        """Every page of a nextToken-paged list call, at the documented maximum page size."""

        async def fetch(token: str | None) -> Page[T]:
            answer = await self._call(action, path, [*_paged(token), *extra])
            return parse(answer.body)

        return await collect_pages(fetch)

    async def _instances(self, path: str, query: list[tuple[str, str]]) -> InstancesAnswer:
        answer = await self._call("ListInstances", path, query)
        return InstancesAnswer(
            instances=parse_instances(answer.body),
            request_id=answer.request_id or _body_request_id(answer.body),
            http_status=answer.http_status,
            attempts=answer.attempts,
            latency_ms=answer.latency_ms,
            observed_at=datetime.now(UTC),
        )


class FCClient(_Caller):
    """FC 2.0 (2021-04-06): ListServices / ListFunctions / ListAliases / ListInstances."""

    def __init__(
        self,
        http: HTTP,
        *,
        account_id: str,
        region: str,
        credentials: CredentialsProvider,
        endpoint: str | None = None,
        scheme: Scheme = "acs3",
        retry: RetryPolicy | None = None,
        limiter: AsyncLimiter | None = None,
    ) -> None:
        super().__init__(
            http,
            account_id=account_id,
            region=region,
            credentials=credentials,
            endpoint=endpoint,
            scheme=scheme,
            retry=retry,
            api_version=API_VERSION,
            limiter=limiter,
        )

    async def list_services(self) -> list[Service]:
        return await self._list_all("ListServices", "/services", parse_services)

    async def list_functions(self, service: str) -> list[FunctionSpec]:
        return await self._list_all("ListFunctions", f"/services/{_seg(service)}/functions", parse_functions)

    async def list_aliases(self, service: str) -> list[Alias]:
        return await self._list_all("ListAliases", f"/services/{_seg(service)}/aliases", parse_aliases)

    async def get_function(self, service: str, function: str, *, qualifier: str | None = None) -> FunctionSpec:
        query = [("qualifier", qualifier)] if qualifier else []
        answer = await self._call("GetFunction", f"/services/{_seg(service)}/functions/{_seg(function)}", query)
        return parse_function(answer.body)

    async def list_instances(
        self,
        service: str,
        function: str,
        *,
        qualifier: str | None = None,
        instance_ids: Sequence[str] = (),
        limit: int | None = None,
    ) -> InstancesAnswer:
        """FC 2.0 ListInstances: one call, no paging; ``limit`` is 0..1000."""
        if limit is not None and not 0 <= limit <= 1000:
            raise ValueError("limit must be within 0..1000")
        query: list[tuple[str, str]] = []
        if qualifier:
            query.append(("qualifier", qualifier))
        if limit is not None:
            query.append(("limit", query_text(limit)))
        # The Tea SDK's `.N` form: the one the ACS3 signer and today's servers agree on.
        query.extend((f"instanceIds.{n}", iid) for n, iid in enumerate(instance_ids, start=1))
        return await self._instances(f"/services/{_seg(service)}/functions/{_seg(function)}/instances", query)


class FC3Client(_Caller):
    """FC 3.0 (2023-03-30): functions without services; ListFunctions / ListAliases / ListInstances."""

    def __init__(
        self,
        http: HTTP,
        *,
        account_id: str,
        region: str,
        credentials: CredentialsProvider,
        endpoint: str | None = None,
        retry: RetryPolicy | None = None,
        limiter: AsyncLimiter | None = None,
    ) -> None:
        # FC 3.0 is ACS3 only: the FC scheme is not accepted there (fc-api.md section 0).
        super().__init__(
            http,
            account_id=account_id,
            region=region,
            credentials=credentials,
            endpoint=endpoint,
            scheme="acs3",
            retry=retry,
            api_version=API_VERSION_3,
            limiter=limiter,
        )

    async def list_functions(self, *, fc_version: str | None = "v3") -> list[FunctionSpec]:
        """``fc_version`` v3 lists only FC 3.0 functions, so a 2.0 function is not listed twice (C5)."""
        extra = [("fcVersion", fc_version)] if fc_version else []
        return await self._list_all("ListFunctions", "/functions", parse_functions, extra)

    async def get_function(self, function: str, *, qualifier: str | None = None) -> FunctionSpec:
        query = [("qualifier", qualifier)] if qualifier else []
        answer = await self._call("GetFunction", f"/functions/{_seg(function)}", query)
        return parse_function(answer.body)

    async def list_aliases(self, function: str) -> list[Alias]:
        return await self._list_all("ListAliases", f"/functions/{_seg(function)}/aliases", parse_aliases)

    async def list_instances(
        self,
        function: str,
        *,
        qualifier: str | None = None,
        with_all_active: bool | None = None,
        instance_status: Sequence[str] = (),
        instance_ids: Sequence[str] = (),
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
        limit: int | None = None,
    ) -> InstancesAnswer:
        """FC 3.0 ListInstances; arrays go as compact JSON strings, as the FC 3.0 SDK sends them."""
        query: list[tuple[str, str]] = []
        if qualifier:
            query.append(("qualifier", qualifier))
        if with_all_active is not None:
            query.append(("withAllActive", query_text(with_all_active)))
        if instance_status:
            query.append(("instanceStatus", json.dumps(list(instance_status), separators=(",", ":"))))
        if instance_ids:
            query.append(("instanceIds", json.dumps(list(instance_ids), separators=(",", ":"))))
        if start_time_ms is not None:
            query.append(("startTimeMs", query_text(start_time_ms)))
        if end_time_ms is not None:
            query.append(("endTimeMs", query_text(end_time_ms)))
        if limit is not None:
            query.append(("limit", query_text(limit)))
        return await self._instances(f"/functions/{_seg(function)}/instances", query)


_INVALID = object()


def _json(content: bytes) -> Any:
    if not content:
        return _INVALID
    try:
        return json.loads(content)
    except ValueError:
        return _INVALID


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``x-acs-retry-after`` is milliseconds (Tea SDK), ``Retry-After`` seconds (HTTP)."""
    for name, scale in (("x-acs-retry-after", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


def _body_request_id(body: Any) -> str | None:
    """FC 3.0 also puts the request id in the body."""
    rid = body.get("requestId") if isinstance(body, dict) else None
    return rid if isinstance(rid, str) else None


def _paged(token: str | None) -> list[tuple[str, str]]:
    pairs = [("limit", query_text(LIST_PAGE_SIZE))]
    if token:
        pairs.append(("nextToken", token))
    return pairs


def _seg(name: str) -> str:
    """FC names are [A-Za-z0-9_-]; escaping keeps any other byte from changing the path."""
    return quote(name, safe="")
