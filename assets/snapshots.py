"""One capacity snapshot per tick: ListInstances for every inventoried (function, qualifier).

Two shapes of the same asset (key ``fc_instance_snapshots``), built by one factory:
``fc_instance_snapshots_by_target`` is partitioned by (account, region) (assets/partitions.py), so a
tick is one run per target that Dagster queues, limits and launches (the default Definitions);
``fc_instance_snapshots`` polls every target in one run (``single_run_defs``, and the tests that
need no Dagster instance).
"""
# No `from __future__ import annotations`: Dagster reads the context and config annotations at runtime.

import time
from collections import Counter
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from assets.inventory import fc_inventory
from assets.partitions import fc_targets, parse_target_key
from pipelines.config import ConfigError
from pipelines.coverage import coverage_by_target
from pipelines.normalise import instances_frame, inventory_rows, polls_frame
from pipelines.resources import FCResource, StoreResource
from pipelines.ticks import FUTURE_SKEW_S, parse_tick


class TickConfig(dg.Config):
    tick_at: str | None = Field(
        default=None, description="scheduled tick time (ISO-8601, UTC); the schedule sets it, default now"
    )
    interval_s: int = Field(default=60, ge=1, description="the tick period each reading stands for")
    min_coverage: float = Field(
        default=0.9, ge=0, le=1, description="fail the run when a target has a smaller share of polls ok"
    )
    max_lag_s: int | None = Field(
        default=300,
        ge=0,
        description="refuse a tick older than this (a late catch-up run would label now-data with an old time); "
        "null only for simulations such as the demo",
    )


DESCRIPTION = """Instances of every function and qualifier at one tick, written to the `polls` (one row per
poll, 0 when none, failures recorded) and `instances` (one row per instance) tables.
Re-running a tick replaces its files."""


def build_snapshots_asset(partitions_def: dg.DynamicPartitionsDefinition | None) -> dg.AssetsDefinition:
    """The tick asset; with ``partitions_def`` (fc_targets) each run polls one (account, region)."""

    @dg.asset(
        name="fc_instance_snapshots",
        group_name="fc",
        kinds={"parquet"},
        deps=[fc_inventory],
        partitions_def=partitions_def,
        description=DESCRIPTION
        + (" Partitioned by (account, region): one run per target per tick." if partitions_def else ""),
    )
    def _asset(
        context: dg.AssetExecutionContext, config: TickConfig, fc: FCResource, store: StoreResource
    ) -> dg.MaterializeResult:
        target = parse_target_key(context.partition_key) if partitions_def is not None else None
        return _tick(context, config, fc, store, target)

    return _asset


def _tick(
    context: dg.AssetExecutionContext,
    config: TickConfig,
    fc: FCResource,
    store: StoreResource,
    target: tuple[str, str] | None,
) -> dg.MaterializeResult:
    started = time.perf_counter()
    now = datetime.now(UTC)
    tick_at = parse_tick(config.tick_at, now, config.interval_s)
    lag_s = (now - tick_at).total_seconds()
    if config.max_lag_s is not None and lag_s > config.max_lag_s:
        # A snapshot is now-data (C18): a missed tick stays a gap in polls, never back-filled.
        raise dg.Failure(
            description=f"tick {tick_at.isoformat()} is {lag_s:.0f} s old (max_lag_s {config.max_lag_s}): not polled; "
            "the missed tick stays a recorded gap",
            metadata={"tick_at": tick_at.isoformat(), "lag_s": round(lag_s, 1)},
        )
    if config.max_lag_s is not None and lag_s < -FUTURE_SKEW_S:
        # Labelling now-data with a later time would also pass the freshness check until then.
        raise dg.Failure(
            description=f"tick {tick_at.isoformat()} is {-lag_s:.0f} s in the future: not polled; "
            "give the scheduled time (or none, for now)",
            metadata={"tick_at": tick_at.isoformat(), "lag_s": round(lag_s, 1)},
        )
    st = store.store()
    functions = st.latest_inventory()
    if functions is None:
        raise dg.Failure(description="no inventory yet: materialize fc_inventory first (fc_inventory_job)")
    rows = inventory_rows(functions)
    if target is not None:
        # This run's share of the tick: one (account, region), both API versions there (one rate budget).
        rows = [r for r in rows if (r.account_id, r.region) == target]
    try:
        outcomes = fc.poll(rows)
    except ConfigError as e:
        raise dg.Failure(description=str(e)) from None
    polled_s = time.perf_counter() - started
    polls = polls_frame(outcomes, tick_at, config.interval_s, fc.secrets())
    instances = instances_frame(outcomes, tick_at)
    written = st.write_tick(tick_at, polls, instances, target=target)
    ok = sum(o.ok for o in outcomes)
    failed = len(outcomes) - ok
    coverage = ok / len(outcomes) if outcomes else 1.0
    codes = Counter(o.error.code for o in outcomes if o.error)
    per_target = coverage_by_target(outcomes, fc.secrets())
    metadata = {
        "tick_at": tick_at.isoformat(),
        **({"target": f"{target[0]}/{target[1]}"} if target else {}),
        "functions": len(rows),
        "polls": len(outcomes),
        "ok": ok,
        "failed": failed,
        "coverage": round(coverage, 4),
        "coverage_by_target": dg.MetadataValue.json({c.target: c.as_metadata() for c in per_target}),
        "instances_seen": len(instances),
        "failures_by_code": dg.MetadataValue.json(dict(codes)),
        "poll_s": round(polled_s, 3),
        "duration_s": round(time.perf_counter() - started, 3),
        "files": dg.MetadataValue.json([str(w.path) for w in written]),
    }
    below = [c for c in per_target if c.coverage < config.min_coverage]
    if below:
        raise dg.Failure(
            description=f"{len(below)} target(s) below {config.min_coverage:.0%} coverage "
            f"({failed} of {len(outcomes)} polls failed in all; every outcome was recorded):\n"
            + "\n".join(c.describe() for c in below),
            metadata=metadata,
        )
    scope = f" {target[0]}/{target[1]}" if target else ""
    context.log.info(
        "tick %s%s: %d polls, %d ok, %d instances", tick_at.isoformat(), scope, len(outcomes), ok, len(instances)
    )
    return dg.MaterializeResult(metadata=metadata)


fc_instance_snapshots = build_snapshots_asset(None)
fc_instance_snapshots_by_target = build_snapshots_asset(fc_targets)

__all__ = [
    "TickConfig",
    "build_snapshots_asset",
    "fc_instance_snapshots",
    "fc_instance_snapshots_by_target",
]
