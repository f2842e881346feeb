"""Asset checks on the tick snapshots: freshness of the last tick and coverage per target."""
# No `from __future__ import annotations`: Dagster reads the context and config annotations at runtime.

from datetime import UTC, datetime

import dagster as dg

from assets.snapshots import fc_instance_snapshots
from pipelines import checks
from pipelines.resources import StoreResource

MAX_TICK_AGE_S = 180.0
MIN_TARGET_COVERAGE = 0.9


@dg.asset_check(
    asset=fc_instance_snapshots, name="fresh", description=f"the last tick is at most {MAX_TICK_AGE_S:.0f} s old"
)
def fc_instance_snapshots__fresh(store: StoreResource) -> dg.AssetCheckResult:
    ok, meta = checks.freshness(store.root, datetime.now(UTC), MAX_TICK_AGE_S)
    return dg.AssetCheckResult(
        passed=ok, metadata={k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in meta.items()}
    )


@dg.asset_check(
    asset=fc_instance_snapshots,
    name="coverage",
    description=f"every target has >= {MIN_TARGET_COVERAGE:.0%} polls ok at the last tick",
)
def fc_instance_snapshots__coverage(store: StoreResource) -> dg.AssetCheckResult:
    ok, meta = checks.coverage_per_target(store.root, MIN_TARGET_COVERAGE)
    return dg.AssetCheckResult(
        passed=ok, metadata={k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in meta.items()}
    )
