"""The data contract (DESIGN §4) as explicit pyarrow schemas; nothing is ever inferred.

SCHEMA_VERSION goes into every file's metadata. Adding a column later is additive: old files
read the new column as NULL through the views' union_by_name (cases C10, C13).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["FUNCTIONS", "INSTANCES", "POLLS", "SCHEMAS", "SCHEMA_VERSION", "TS"]

SCHEMA_VERSION = "1"
TS = pa.timestamp("us", tz="UTC")


def _schema(*fields: pa.Field) -> pa.Schema:
    return pa.schema(list(fields), metadata={"fccap.schema_version": SCHEMA_VERSION})


_IDENTITY = (
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("region", pa.string(), nullable=False),
    pa.field("api_version", pa.string(), nullable=False),
    pa.field("service_name", pa.string()),  # null on FC 3.0, where functions have no service
    pa.field("function_name", pa.string(), nullable=False),
)

POLLS = _schema(
    pa.field("tick_at", TS, nullable=False),
    pa.field("observed_at", TS),  # null when no answer arrived
    *_IDENTITY,
    pa.field("qualifier", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),  # ok | error
    pa.field("instance_count", pa.int32()),  # 0 is a reading; null only when status = error
    pa.field("error_code", pa.string()),
    pa.field("error_message", pa.string()),
    pa.field("http_status", pa.int16()),
    pa.field("request_id", pa.string()),
    pa.field("attempts", pa.int16(), nullable=False),
    pa.field("latency_ms", pa.float32()),
    pa.field("interval_s", pa.int32(), nullable=False),  # the tick period this reading stands for
)

INSTANCES = _schema(
    pa.field("tick_at", TS, nullable=False),
    pa.field("observed_at", TS, nullable=False),
    *_IDENTITY,
    pa.field("qualifier", pa.string(), nullable=False),
    pa.field("instance_id", pa.string(), nullable=False),
    pa.field("version_id", pa.string(), nullable=False),  # "0" = LATEST
    pa.field("status", pa.string()),  # FC 3.0 extras, null on FC 2.0
    pa.field("created_at", TS),
    pa.field("destroyed_at", TS),
    pa.field("resource_type", pa.string()),
)

FUNCTIONS = _schema(
    pa.field("refreshed_at", TS, nullable=False),
    *_IDENTITY,
    pa.field("runtime", pa.string()),
    pa.field("memory_mb", pa.int32()),
    pa.field("cpu", pa.float64()),
    pa.field("disk_mb", pa.int32()),
    pa.field("gpu_memory_mb", pa.int32()),
    pa.field("instance_type", pa.string()),
    pa.field("instance_concurrency", pa.int32()),
    pa.field("qualifiers", pa.list_(pa.string()), nullable=False),
)

SCHEMAS: dict[str, pa.Schema] = {"polls": POLLS, "instances": INSTANCES, "functions": FUNCTIONS}
