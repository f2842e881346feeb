"""One capacity snapshot per tick: ListInstances for every inventoried (function, qualifier)."""
# No `from __future__ import annotations`: Dagster reads the context and config annotations at runtime.

import time
from collections import Counter
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from assets.inventory import fc_inventory
from pipelines.normalise import instances_frame, inventory_rows, polls_frame
from pipelines.resources import FCResource, StoreResource
from pipelines.ticks import parse_tick


class TickConfig(dg.Config):
    tick_at: str | None = Field(
        default=None, description="scheduled tick time (ISO-8601, UTC); the schedule sets it, default now"
    )
    interval_s: int = Field(default=60, ge=1, description="the tick period each reading stands for")
    min_coverage: float = Field(
        default=0.9, ge=0, le=1, description="fail the run when fewer polls than this share succeed"
    )


@dg.asset(group_name="fc", kinds={"parquet"}, deps=[fc_inventory])
def fc_instance_snapshots(
    context: dg.AssetExecutionContext, config: TickConfig, fc: FCResource, store: StoreResource
) -> dg.MaterializeResult:
    """Instances of every function and qualifier at one tick, written to the `polls` (one row per
    poll, 0 when none, failures recorded) and `instances` (one row per instance) tables.
    Re-running a tick replaces its files."""
    started = time.perf_counter()
    tick_at = parse_tick(config.tick_at, datetime.now(UTC), config.interval_s)
    st = store.store()
    functions = st.latest_inventory()
    if functions is None:
        raise dg.Failure(description="no inventory yet: materialize fc_inventory first (fc_inventory_job)")
    rows = inventory_rows(functions)
    outcomes = fc.poll(rows)
    polled_s = time.perf_counter() - started
    polls = polls_frame(outcomes, tick_at, config.interval_s, fc.secrets())
    instances = instances_frame(outcomes, tick_at)
    written = st.write_tick(tick_at, polls, instances)
    ok = sum(o.ok for o in outcomes)
    failed = len(outcomes) - ok
    coverage = ok / len(outcomes) if outcomes else 1.0
    codes = Counter(o.error.code for o in outcomes if o.error)
    metadata = {
        "tick_at": tick_at.isoformat(),
        "functions": len(rows),
        "polls": len(outcomes),
        "ok": ok,
        "failed": failed,
        "coverage": round(coverage, 4),
        "instances_seen": len(instances),
        "failures_by_code": dg.MetadataValue.json(dict(codes)),
        "poll_s": round(polled_s, 3),
        "duration_s": round(time.perf_counter() - started, 3),
        "files": dg.MetadataValue.json([str(w.path) for w in written]),
    }
    if coverage < config.min_coverage:
        worst = [
            f"{o.target.service_name}/{o.target.function_name}@{o.target.qualifier}: {o.error.code}"
            for o in outcomes
            if o.error
        ][:20]
        raise dg.Failure(
            description=f"coverage {coverage:.1%} is below {config.min_coverage:.0%} ({failed} of {len(outcomes)} "
            "polls failed; all outcomes were recorded):\n" + "\n".join(worst),
            metadata=metadata,
        )
    context.log.info("tick %s: %d polls, %d ok, %d instances", tick_at.isoformat(), len(outcomes), ok, len(instances))
    return dg.MaterializeResult(metadata=metadata)
