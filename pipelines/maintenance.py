"""Dagster housekeeping: old runs and their event logs are deleted on a schedule.

One run per minute adds ~150-200 KB and several files to the default SQLite run storage
(~0.3 GB a day); without retention an unattended deployment fills its disk. The data itself
lives in Parquet, so a run record is only needed for operating, not for history.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

__all__ = ["RunRetentionConfig", "dagster_run_retention_job", "dagster_run_retention_schedule", "prune_runs"]

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


class RunRetentionConfig(dg.Config):
    keep_days: float = Field(default=14.0, ge=0, description="delete finished runs older than this")
    batch: int = Field(default=5000, ge=1, description="at most this many runs per cleanup run")


def prune_runs(instance: dg.DagsterInstance, before: datetime, batch: int, keep: set[str]) -> int:
    """Delete finished runs created before ``before`` (never the runs in ``keep``); returns the count."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED, created_before=before), limit=batch, ascending=True
    )
    deleted = 0
    for record in records:
        run_id = record.dagster_run.run_id
        if run_id in keep:
            continue
        instance.delete_run(run_id)
        deleted += 1
    return deleted


@dg.op
def dagster_run_retention(context: dg.OpExecutionContext, config: RunRetentionConfig) -> dg.Output[int]:
    """Deletes finished Dagster runs (and their event logs) older than keep_days."""
    before = datetime.now(UTC) - timedelta(days=config.keep_days)
    deleted = prune_runs(context.instance, before, config.batch, keep={context.run_id})
    context.log.info("deleted %d finished runs created before %s", deleted, before.isoformat())
    return dg.Output(deleted, metadata={"deleted_runs": deleted, "before": before.isoformat()})


@dg.job(tags={"fccap/kind": "maintenance"})
def dagster_run_retention_job() -> None:
    dagster_run_retention()


dagster_run_retention_schedule = dg.ScheduleDefinition(
    name="dagster_run_retention_schedule",
    cron_schedule="17 3 * * *",
    job=dagster_run_retention_job,
    execution_timezone="UTC",
)
