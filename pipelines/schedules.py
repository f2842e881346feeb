"""Jobs and schedules: the tick (every minute), the inventory refresh (hourly), both in UTC."""

from __future__ import annotations

from datetime import UTC, timedelta

import dagster as dg

from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots

__all__ = ["TICK_CRON", "build_tick_schedule", "fc_inventory_job", "fc_inventory_schedule", "fc_tick_job"]

TICK_CRON = "* * * * *"
INVENTORY_CRON = "0 * * * *"
TIMEZONE = "UTC"  # set once (case C17)

fc_tick_job = dg.define_asset_job("fc_tick_job", selection=[fc_instance_snapshots], tags={"fccap/kind": "tick"})
fc_inventory_job = dg.define_asset_job("fc_inventory_job", selection=[fc_inventory], tags={"fccap/kind": "inventory"})


def build_tick_schedule(cron: str = TICK_CRON) -> dg.ScheduleDefinition:
    @dg.schedule(name="fc_tick_schedule", cron_schedule=cron, job=fc_tick_job, execution_timezone=TIMEZONE)
    def fc_tick_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        # The scheduled time, not "now", labels the snapshot; a late run still answers for its own tick.
        tick_at = context.scheduled_execution_time.isoformat()
        return dg.RunRequest(
            run_key=tick_at,
            run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": tick_at}}}},
            tags={"fccap/tick_at": tick_at},
        )

    return fc_tick_schedule


fc_inventory_schedule = dg.ScheduleDefinition(
    name="fc_inventory_schedule", cron_schedule=INVENTORY_CRON, job=fc_inventory_job, execution_timezone=TIMEZONE
)

# Compaction of yesterday (UTC) at 00:30 UTC: the partition of a schedule tick is the day that just
# closed, whatever the machine's time zone (C17).
HISTORY_CRON = "30 0 * * *"


def build_history_schedule() -> dg.ScheduleDefinition:
    from assets.history import fc_history  # noqa: PLC0415 - keeps the tick wiring importable on its own

    fc_history_job = dg.define_asset_job(
        "fc_history_job",
        # The closed day's compaction, then the daily report assets that read it (assets/reports.py).
        selection=dg.AssetSelection.assets(fc_history).downstream(),
        tags={"fccap/kind": "history"},
    )

    @dg.schedule(
        name="fc_history_schedule", cron_schedule=HISTORY_CRON, job=fc_history_job, execution_timezone=TIMEZONE
    )
    def fc_history_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = (context.scheduled_execution_time.astimezone(UTC) - timedelta(days=1)).date().isoformat()
        return dg.RunRequest(run_key=day, partition_key=day, tags={"fccap/day": day})

    return fc_history_schedule
