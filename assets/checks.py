"""Asset checks on the tick snapshots: freshness of the last tick and coverage per target.

Inside a run that materialized the tick, each check reads only what that run wrote (C21): its
tick and, when the tick is fanned out, its (account, region), found from the run's own
materialization event. Run on their own (the UI's "Execute checks"), they read the store's last tick.
"""
# No `from __future__ import annotations`: Dagster reads the context and config annotations at runtime.

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets.partitions import parse_target_key
from assets.snapshots import fc_instance_snapshots
from pipelines import checks
from pipelines.resources import StoreResource

MAX_TICK_AGE_S = 180.0
MIN_TARGET_COVERAGE = 0.9


def _produced(context: dg.AssetCheckExecutionContext) -> tuple[datetime, tuple[str, str] | None] | None:
    """The tick (and target) this check's run materialized, from the run's own event log; None when
    the check runs outside such a run (a direct call has no run id)."""
    run_id = getattr(context.op_execution_context, "run_id", None)
    if not run_id or run_id == "EPHEMERAL":
        return None
    events = context.instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    for record in reversed(events):
        materialization = record.asset_materialization
        if materialization is None or materialization.asset_key != fc_instance_snapshots.key:
            continue
        meta = materialization.metadata
        tick = meta.get("tick_at")
        if not isinstance(tick, dg.TextMetadataValue) or tick.value is None:
            continue
        target = meta.get("target")
        scope = parse_target_key(target.value) if isinstance(target, dg.TextMetadataValue) and target.value else None
        return datetime.fromisoformat(tick.value), scope
    return None


def _result(ok: bool, meta: dict[str, Any]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=ok,
        metadata={k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in meta.items()},
    )


@dg.asset_check(
    asset=fc_instance_snapshots, name="fresh", description=f"the last tick is at most {MAX_TICK_AGE_S:.0f} s old"
)
def fc_instance_snapshots__fresh(context: dg.AssetCheckExecutionContext, store: StoreResource) -> dg.AssetCheckResult:
    produced = _produced(context)
    target = produced[1] if produced else None
    ok, meta = checks.freshness(store.store().root, datetime.now(UTC), MAX_TICK_AGE_S, target)
    if target is not None:
        meta["target"] = f"{target[0]}/{target[1]}"
    return _result(ok, meta)


@dg.asset_check(
    asset=fc_instance_snapshots,
    name="coverage",
    description=f"every target has >= {MIN_TARGET_COVERAGE:.0%} polls ok in the tick the run wrote (else the last)",
)
def fc_instance_snapshots__coverage(
    context: dg.AssetCheckExecutionContext, store: StoreResource
) -> dg.AssetCheckResult:
    produced = _produced(context)
    if produced is None:
        ok, meta = checks.coverage_per_target(store.store().root, MIN_TARGET_COVERAGE)
    else:
        ok, meta = checks.tick_coverage(store.store().root, produced[0], produced[1], MIN_TARGET_COVERAGE)
    return _result(ok, meta)
