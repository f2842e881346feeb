"""Jobs and schedules: the tick (every minute), the inventory refresh (hourly), both in UTC.

The tick fans out: one run per fc_targets partition (account, region) per minute, each tagged
``fccap/account`` and ``fccap/target`` however it is launched (the job's partitioned config adds
the tags), and ``dagster/priority`` 10, so the run queue limits runs per target (C21) and takes
ticks before backfill runs (deploy/dagster.yaml).
"""

from __future__ import annotations

from datetime import UTC, timedelta

import dagster as dg

from assets.inventory import fc_inventory
from assets.partitions import ACCOUNT_TAG, TARGET_TAG, fc_targets, parse_target_key
from assets.snapshots import fc_instance_snapshots, fc_instance_snapshots_by_target

__all__ = [
    "TICK_AT_TAG",
    "TICK_CRON",
    "TICK_PRIORITY",
    "build_tick_job",
    "build_tick_schedule",
    "fc_inventory_job",
    "fc_inventory_schedule",
    "fc_tick_job",
    "single_run_tick_job",
    "target_tags",
]

TICK_CRON = "* * * * *"
INVENTORY_CRON = "0 * * * *"
TIMEZONE = "UTC"  # set once (case C17)

TICK_AT_TAG = "fccap/tick_at"
# The run queue dequeues higher priorities first: a tick waits behind no backfill run (C21).
TICK_PRIORITY = "10"
_TICK_TAGS = {"fccap/kind": "tick", "dagster/priority": TICK_PRIORITY}


def target_tags(partition_key: str) -> dict[str, str]:
    """The concurrency tags of one target's tick run (deploy/dagster.yaml limits runs per value)."""
    account_id, _ = parse_target_key(partition_key)
    return {ACCOUNT_TAG: account_id, TARGET_TAG: partition_key}


def build_tick_job(asset: dg.AssetsDefinition) -> dg.UnresolvedAssetJobDefinition:
    if asset.partitions_def is None:
        return dg.define_asset_job("fc_tick_job", selection=[asset], tags=_TICK_TAGS)
    # A partitioned config: whoever launches a target's run (schedule, UI, CLI), it carries the tags.
    config = dg.PartitionedConfig(
        partitions_def=fc_targets, run_config_for_partition_key_fn=lambda _: {}, tags_for_partition_key_fn=target_tags
    )
    return dg.define_asset_job("fc_tick_job", selection=[asset], tags=_TICK_TAGS, config=config)


fc_tick_job = build_tick_job(fc_instance_snapshots_by_target)
single_run_tick_job = build_tick_job(fc_instance_snapshots)
fc_inventory_job = dg.define_asset_job("fc_inventory_job", selection=[fc_inventory], tags={"fccap/kind": "inventory"})


def build_tick_schedule(cron: str = TICK_CRON, *, fan_out: bool = True) -> dg.ScheduleDefinition:
    """Every minute: one run per fc_targets partition (fan-out, the default), or one run for all targets."""
    job = fc_tick_job if fan_out else single_run_tick_job

    @dg.schedule(name="fc_tick_schedule", cron_schedule=cron, job=job, execution_timezone=TIMEZONE)
    def fc_tick_schedule(context: dg.ScheduleEvaluationContext) -> dg.SkipReason | list[dg.RunRequest]:
        # The scheduled time, not "now", labels the snapshot; a late run still answers for its own tick.
        tick_at = context.scheduled_execution_time.isoformat()
        run_config = {"ops": {"fc_instance_snapshots": {"config": {"tick_at": tick_at}}}}
        if not fan_out:
            return [dg.RunRequest(run_key=tick_at, run_config=run_config, tags={TICK_AT_TAG: tick_at})]
        assert fc_targets.name is not None
        keys = sorted(context.instance.get_dynamic_partitions(fc_targets.name))
        if not keys:
            return dg.SkipReason(
                "no fc_targets partitions yet: run fc_inventory_job once (it registers one per account and region)"
            )
        return [
            dg.RunRequest(
                run_key=f"{tick_at}|{key}",
                partition_key=key,
                run_config=run_config,
                tags={TICK_AT_TAG: tick_at, **target_tags(key)},
            )
            for key in keys
        ]

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
