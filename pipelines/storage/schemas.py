"""The data contract (DESIGN §4) as explicit pyarrow schemas; nothing is ever inferred.

SCHEMA_VERSION goes into every file's metadata. Adding a column later is additive: old files
read the new column as NULL through the views' union_by_name (cases C10, C13).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "FUNCTIONS",
    "HOURLY",
    "INSTANCES",
    "INTERVALS",
    "POLLS",
    "ROLLUPS",
    "SCHEMAS",
    "SCHEMA_VERSION",
    "SEEDS",
    "SEED_DT",
    "SERVICE_TICKS",
    "TS",
]

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

_SERIES = (*_IDENTITY, pa.field("qualifier", pa.string(), nullable=False))

# A compacted day of `instances`: each run of consecutive sightings of one instance (same
# attributes) at its series' ok polls is one row. The per-tick rows are exactly the ok polls of the
# series with first_tick <= tick_at <= last_tick (the `instances` view expands them back).
INTERVALS = _schema(
    *_SERIES,
    pa.field("instance_id", pa.string(), nullable=False),
    pa.field("version_id", pa.string(), nullable=False),
    pa.field("status", pa.string()),
    pa.field("created_at", TS),
    pa.field("destroyed_at", TS),
    pa.field("resource_type", pa.string()),
    pa.field("first_tick", TS, nullable=False),
    pa.field("last_tick", TS, nullable=False),
    pa.field("ticks", pa.int32(), nullable=False),  # ok polls covered = sightings
    pa.field("interval_s", pa.int32(), nullable=False),  # the longest tick period among them
)

# Daily rollups of a compacted polls generation (derived: rebuilt from polls whenever it changes).
HOURLY = _schema(
    *_SERIES,
    pa.field("hour", TS, nullable=False),
    pa.field("ticks_ok", pa.int64(), nullable=False),
    pa.field("ticks_failed", pa.int64(), nullable=False),
    pa.field("min_instances", pa.int32()),
    pa.field("max_instances", pa.int32()),
    pa.field("sum_instances", pa.int64()),
    pa.field("p95_instances", pa.float64()),
    pa.field("instance_minutes", pa.float64(), nullable=False),
)

SERVICE_TICKS = _schema(
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("region", pa.string(), nullable=False),
    pa.field("service_name", pa.string()),
    pa.field("tick_at", TS, nullable=False),
    pa.field("instances", pa.int64(), nullable=False),  # summed over the service's ok polls at the tick
    pa.field("polls_ok", pa.int64(), nullable=False),
)

# Compacted-only schemas, keyed by the file-name prefix they are stored under.
ROLLUPS: dict[str, pa.Schema] = {"hourly": HOURLY, "service": SERVICE_TICKS}

# Zero-row seed files under <table>/dt=1970-01-01/: every reader's file list holds at least one
# file of each form, so an empty store reads as typed empty tables (C15); the generation-named
# seeds also give sql/snapshot.sql's metadata glob a match. (table, form) -> (name, schema)
SEED_DT = "1970-01-01"
SEEDS: dict[tuple[str, str], tuple[str, pa.Schema]] = {
    **{(t, "raw"): (f"_schema-v{SCHEMA_VERSION}.parquet", schema) for t, schema in SCHEMAS.items()},
    ("polls", "compacted"): ("compacted-g000000.parquet", POLLS),
    ("instances", "compacted"): ("compacted-g000000.parquet", INTERVALS),
    ("functions", "compacted"): ("compacted-g000000.parquet", FUNCTIONS),
    **{("polls", kind): (f"_{kind}-v{SCHEMA_VERSION}.parquet", schema) for kind, schema in ROLLUPS.items()},
}
