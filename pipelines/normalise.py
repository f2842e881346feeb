"""Outcomes and inventory rows become pandas frames with the exact table schemas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.collect import InventoryRow, PollOutcome
from pipelines.fc.models import FunctionSpec
from pipelines.redaction import redact
from pipelines.storage.schemas import FUNCTIONS, INSTANCES, POLLS

__all__ = ["functions_frame", "instances_frame", "polls_frame"]


def _frame(records: list[dict[str, Any]], schema: pa.Schema) -> pd.DataFrame:
    # Arrow-backed columns keep int nulls, microsecond UTC timestamps and lists exact (C10, C11).
    return pa.Table.from_pylist(records, schema=schema).to_pandas(types_mapper=pd.ArrowDtype)


def _poll_identity(o: PollOutcome, tick_at: datetime) -> dict[str, Any]:
    """The columns every row of one poll shares, in schema order."""
    t = o.target
    return {
        "tick_at": tick_at,
        "observed_at": o.observed_at,
        "account_id": t.account_id,
        "region": t.region,
        "api_version": t.api_version,
        "service_name": t.service_name,
        "function_name": t.function_name,
        "qualifier": t.qualifier,
    }


def polls_frame(
    outcomes: Iterable[PollOutcome], tick_at: datetime, interval_s: int, secrets: Sequence[str | None] = ()
) -> pd.DataFrame:
    records = []
    for o in outcomes:
        records.append(
            {
                **_poll_identity(o, tick_at),
                "status": "ok" if o.error is None else "error",
                "instance_count": len(o.instances) if o.error is None else None,
                "error_code": o.error.code if o.error else None,
                "error_message": redact(o.error.message, secrets) if o.error else None,
                "http_status": o.http_status,
                "request_id": o.request_id,
                "attempts": o.attempts,
                "latency_ms": o.latency_ms,
                "interval_s": interval_s,
            }
        )
    return _frame(records, POLLS)


def instances_frame(outcomes: Iterable[PollOutcome], tick_at: datetime) -> pd.DataFrame:
    records = []
    for o in outcomes:
        if o.error is not None:
            continue
        identity = _poll_identity(o, tick_at)
        for i in o.instances:
            records.append(
                {
                    **identity,
                    "instance_id": i.instance_id,
                    "version_id": i.version_id,
                    "status": i.status,
                    "created_at": i.created_at,
                    "destroyed_at": i.destroyed_at,
                    "resource_type": i.resource_type,
                }
            )
    return _frame(records, INSTANCES)


def functions_frame(rows: Iterable[InventoryRow], refreshed_at: datetime) -> pd.DataFrame:
    records = [
        {
            "refreshed_at": refreshed_at,
            "account_id": r.account_id,
            "region": r.region,
            "api_version": r.api_version,
            "service_name": r.service_name,
            "function_name": r.spec.name,
            "runtime": r.spec.runtime,
            "memory_mb": r.spec.memory_mb,
            "cpu": r.spec.cpu,
            "disk_mb": r.spec.disk_mb,
            "gpu_memory_mb": r.spec.gpu_memory_mb,
            "instance_type": r.spec.instance_type,
            "instance_concurrency": r.spec.instance_concurrency,
            "qualifiers": list(r.qualifiers),
        }
        for r in rows
    ]
    return _frame(records, FUNCTIONS)


def inventory_rows(functions: pd.DataFrame) -> list[InventoryRow]:
    """The inverse of functions_frame: the inventory a tick polls."""
    rows = []
    for rec in pa.Table.from_pandas(functions, schema=FUNCTIONS, preserve_index=False).to_pylist():
        spec = FunctionSpec(
            name=rec["function_name"],
            runtime=rec["runtime"],
            memory_mb=rec["memory_mb"],
            cpu=rec["cpu"],
            disk_mb=rec["disk_mb"],
            gpu_memory_mb=rec["gpu_memory_mb"],
            instance_type=rec["instance_type"],
            instance_concurrency=rec["instance_concurrency"],
        )
        rows.append(
            InventoryRow(
                rec["account_id"],
                rec["region"],
                rec["service_name"],
                spec,
                tuple(rec["qualifiers"]),
                rec["api_version"],
            )
        )
    return rows
