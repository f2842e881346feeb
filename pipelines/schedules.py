"""Jobs and schedules: the tick (every minute), the inventory refresh (hourly), both in UTC."""

from __future__ import annotations

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
