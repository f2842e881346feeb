"""FC wire models: the camelCase JSON ends here, snake_case frozen dataclasses leave.

Parsing is strict about what we need and tolerant of what the versions disagree on
(``versionId`` as string or number, error bodies in FC 2.0 or FC 3.0 casing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pipelines.fc.errors import MalformedAnswerError

__all__ = [
    "Alias",
    "ErrorBody",
    "FunctionSpec",
    "Instance",
    "Page",
    "Service",
    "parse_error_body",
    "parse_instances",
]


@dataclass(frozen=True)
class Service:
    name: str


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    runtime: str | None
    memory_mb: int | None
    cpu: float | None
    disk_mb: int | None
    gpu_memory_mb: int | None
    instance_type: str | None
    instance_concurrency: int | None


@dataclass(frozen=True)
class Alias:
    name: str
    version_id: str


@dataclass(frozen=True)
class Instance:
    instance_id: str
    version_id: str
    # FC 3.0 only; None on FC 2.0.
    status: str | None = None
    created_at: datetime | None = None
    destroyed_at: datetime | None = None
    resource_type: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class ErrorBody:
    code: str
    message: str
    request_id: str | None


def _malformed(what: str) -> MalformedAnswerError:
    return MalformedAnswerError("MalformedAnswer", what)


def _opt_int(d: Mapping[str, Any], key: str) -> int | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise _malformed(f"{key} is {type(v).__name__}, expected a number")
    try:
        return int(v)
    except ValueError as e:
        raise _malformed(f"{key} is not a number") from e


def _opt_float(d: Mapping[str, Any], key: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise _malformed(f"{key} is {type(v).__name__}, expected a number")
    try:
        return float(v)
    except ValueError as e:
        raise _malformed(f"{key} is not a number") from e


def _opt_str(d: Mapping[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise _malformed(f"{key} is {type(v).__name__}, expected a string")
    return v


def _name(d: Any, key: str) -> str:
    if not isinstance(d, dict):
        raise _malformed(f"list item is {type(d).__name__}, expected an object")
    v = d.get(key)
    if not isinstance(v, str) or not v:
        raise _malformed(f"{key} missing or not a string")
    return v


def _list(body: Any, key: str) -> list[Any]:
    if not isinstance(body, dict):
        raise _malformed(f"answer is {type(body).__name__}, expected an object")
    items = body.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise _malformed(f"{key} is {type(items).__name__}, expected a list")
    return items


def _next_token(body: dict[str, Any]) -> str | None:
    token = body.get("nextToken")
    if token is not None and not isinstance(token, str):
        raise _malformed("nextToken is not a string")
    return token or None


def parse_services(body: Any) -> Page[Service]:
    items = [Service(_name(s, "serviceName")) for s in _list(body, "services")]
    return Page(items, _next_token(body))


def parse_function(f: Any) -> FunctionSpec:
    """One function, FC 2.0 or FC 3.0 shape (3.0 nests GPU fields in gpuConfig and has no instanceType)."""
    name = _name(f, "functionName")
    gpu = f.get("gpuConfig") if isinstance(f.get("gpuConfig"), dict) else {}
    return FunctionSpec(
        name=name,
        runtime=_opt_str(f, "runtime"),
        memory_mb=_opt_int(f, "memorySize"),
        cpu=_opt_float(f, "cpu"),
        disk_mb=_opt_int(f, "diskSize"),
        gpu_memory_mb=_opt_int(f, "gpuMemorySize") or _opt_int(gpu, "gpuMemorySize"),
        instance_type=_opt_str(f, "instanceType") or _opt_str(gpu, "gpuType"),
        instance_concurrency=_opt_int(f, "instanceConcurrency"),
    )


def parse_functions(body: Any) -> Page[FunctionSpec]:
    return Page([parse_function(f) for f in _list(body, "functions")], _next_token(body))


def parse_aliases(body: Any) -> Page[Alias]:
    out = []
    for a in _list(body, "aliases"):
        name = _name(a, "aliasName")
        version = a.get("versionId")
        if isinstance(version, bool) or not isinstance(version, str | int):
            raise _malformed("alias versionId missing or not a string/number")
        out.append(Alias(name, str(version)))
    return Page(out, _next_token(body))


def _opt_ms(d: Mapping[str, Any], key: str) -> datetime | None:
    ms = _opt_int(d, key)
    if ms is None or ms <= 0:  # FC 3.0 sends 0 for "not destroyed yet"
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise _malformed(f"{key} is not an epoch-millisecond time") from e


def parse_instances(body: Any) -> list[Instance]:
    """ListInstances answer, both versions; ``versionId`` is a string or a number ("0" = LATEST)."""
    if not isinstance(body, dict) or "instances" not in body:
        raise _malformed("answer has no instances list")
    out = []
    seen: set[str] = set()
    for i in _list(body, "instances"):
        instance_id = _name(i, "instanceId")
        if instance_id in seen:
            # One instance listed twice is still one instance: never count it twice.
            continue
        seen.add(instance_id)
        version = i.get("versionId", "0")
        if isinstance(version, bool) or not isinstance(version, str | int):
            raise _malformed("versionId is not a string or number")
        out.append(
            Instance(
                instance_id,
                str(version),
                status=_opt_str(i, "status"),
                created_at=_opt_ms(i, "createdTimeMs"),
                destroyed_at=_opt_ms(i, "destroyedTimeMs"),
                resource_type=_opt_str(i, "resourceType"),
            )
        )
    return out


def parse_error_body(body: Any) -> ErrorBody | None:
    """Accept FC 2.0 (ErrorCode/ErrorMessage, either casing) and FC 3.0 (Code/Message/RequestId)."""
    if not isinstance(body, dict):
        return None
    code = body.get("ErrorCode") or body.get("errorCode") or body.get("Code") or body.get("code")
    if not isinstance(code, str):
        return None
    message = body.get("ErrorMessage") or body.get("errorMessage") or body.get("Message") or body.get("message")
    rid = body.get("RequestId") or body.get("requestId")
    return ErrorBody(code, message if isinstance(message, str) else "", rid if isinstance(rid, str) else None)
