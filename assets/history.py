"""Daily history: compaction of closed UTC days (partitioned, backfillable, idempotent) and retention."""
# No `from __future__ import annotations`: Dagster reads the context and config annotations at runtime.

import time
from datetime import date, timedelta

import dagster as dg
from pydantic import Field

from assets.snapshots import fc_instance_snapshots
from pipelines import checks
from pipelines.resources import StoreResource
from pipelines.storage.compactor import compact_day
from pipelines.storage.retention import apply_retention

# Partitions exist only for closed days (end_offset 0): today's partition appears at 00:00 UTC tomorrow.
daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")


class CompactionConfig(dg.Config):
    raw_retention_s: float = Field(
        default=3600, ge=0, description="keep superseded raw files this long after the commit (in-flight readers)"
    )
    temp_max_age_s: float = Field(default=3600, ge=0, description="temporary files older than this are leftovers")
    history_retention_days: int | None = Field(
        default=None, ge=1, description="drop days older than this many days (null = keep forever)"
    )


HISTORY_CHECKS = ["no_duplicates", "schema", "complete"]


@dg.asset(
    group_name="history",
    kinds={"parquet"},
    partitions_def=daily,
    # Every target's ticks of the day (the tick is partitioned by account and region, the history by day).
    deps=[dg.AssetDep(fc_instance_snapshots, partition_mapping=dg.AllPartitionMapping())],
    # Checks run inside the step, on the partition it wrote (C21): no duplicate keys, the declared
    # schema in every file, and the day's gaps listed (not run / polls failed).
    check_specs=[dg.AssetCheckSpec(name, asset="fc_history") for name in HISTORY_CHECKS],
)
def fc_history(
    context: dg.AssetExecutionContext, config: CompactionConfig, store: StoreResource
) -> dg.MaterializeResult:
    """One closed UTC day of polls, instances and functions compacted into one sorted zstd file per
    table (compacted-g<N>.parquet). Idempotent: a day with nothing new is left as it is; late raw
    files make a new generation. Also deletes superseded files and applies history retention."""
    started = time.perf_counter()
    day = date.fromisoformat(context.partition_key)
    root = store.store().root
    done, swept = compact_day(root, day, raw_retention_s=config.raw_retention_s, temp_max_age_s=config.temp_max_age_s)
    dropped = None
    if config.history_retention_days is not None:
        dropped = apply_retention(
            root, day - timedelta(days=config.history_retention_days), grace_s=config.raw_retention_s
        )
    metadata = {
        "day": day.isoformat(),
        **{f"{c.table}_action": c.action for c in done},
        **{f"{c.table}_rows": c.rows for c in done if c.action == "compacted"},
        **{f"{c.table}_generation": c.generation for c in done},
        "files_compacted": sum(c.files_in for c in done),
        "files_removed": len(swept.removed),
        "files_kept_for_readers": swept.kept_for_readers,
        "days_dropped": dg.MetadataValue.json(dropped.tombstoned + dropped.purged if dropped else []),
        "duration_s": round(time.perf_counter() - started, 3),
    }
    context.log.info("dt=%s: %s", day, ", ".join(f"{c.table} {c.action}" for c in done))
    results = {
        "no_duplicates": checks.duplicates(root, day),
        "schema": checks.schema_matches(root, day),
        "complete": checks.completeness(root, day),
    }
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=name,
                passed=ok,
                severity=dg.AssetCheckSeverity.WARN if name == "complete" else dg.AssetCheckSeverity.ERROR,
                metadata={k: dg.MetadataValue.json(v) if isinstance(v, dict | list) else v for k, v in meta.items()},
            )
            for name, (ok, meta) in results.items()
        ],
    )
