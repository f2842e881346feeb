"""The one Definitions loads through workspace.yaml's module, and the schedules label ticks in UTC."""

from datetime import UTC, datetime, timedelta, timezone

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.definitions_single_run import defs as single_run_defs


def test_definitions_load_with_jobs_schedules_and_resources() -> None:
    repo = defs.get_repository_def()
    jobs = {j.name for j in repo.get_all_jobs() if not j.name.startswith("__")}
    assert {"fc_tick_job", "fc_inventory_job", "dagster_run_retention_job"} <= jobs
    schedules = {s.name for s in repo.schedule_defs}
    assert {"fc_tick_schedule", "fc_inventory_schedule", "dagster_run_retention_schedule"} <= schedules
    assert all(s.execution_timezone == "UTC" for s in repo.schedule_defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"fc_inventory", "fc_instance_snapshots"} <= keys
    assert defs.resolve_job_def("fc_tick_job").asset_layer.selected_asset_keys == {dg.AssetKey("fc_instance_snapshots")}


def test_tick_schedule_labels_the_scheduled_time_in_utc() -> None:
    schedule = defs.resolve_schedule_def("fc_tick_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("* * * * *", "UTC")
    # 00:30 in Shanghai is the previous UTC day: the tick belongs to that UTC minute (C17).
    scheduled = datetime(2026, 12, 4, 0, 30, tzinfo=timezone(timedelta(hours=8)))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("fc_targets", ["1234567890/cn-hangzhou"])
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=scheduled, repository_def=defs.get_repository_def()
        ) as context:
            [request] = schedule.evaluate_tick(context).run_requests or []
    tick_at = request.run_config["ops"]["fc_instance_snapshots"]["config"]["tick_at"]
    assert datetime.fromisoformat(tick_at) == datetime(2026, 12, 3, 16, 30, tzinfo=UTC)
    # One run per tick and target: a re-evaluation cannot launch a duplicate.
    assert request.run_key == f"{tick_at}|1234567890/cn-hangzhou"
    assert request.partition_key == "1234567890/cn-hangzhou"


def test_single_run_definitions_poll_every_target_in_one_run_per_tick() -> None:
    schedule = single_run_defs.resolve_schedule_def("fc_tick_schedule")
    scheduled = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance=instance, scheduled_execution_time=scheduled) as context,
    ):
        [request] = schedule.evaluate_tick(context).run_requests or []
    assert request.run_key == scheduled.isoformat() and request.partition_key is None
    assert single_run_defs.resolve_job_def("fc_tick_job").partitions_def is None
    assert defs.resolve_job_def("fc_tick_job").partitions_def == dg.DynamicPartitionsDefinition(name="fc_targets")


def test_inventory_schedule_is_hourly_utc() -> None:
    schedule = defs.resolve_schedule_def("fc_inventory_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 * * * *", "UTC")


def test_fc_resource_reads_settings_from_env_vars_not_plain_config() -> None:
    fc = defs.resources["fc"]
    assert isinstance(fc.targets_file, dg.EnvVar)


@pytest.mark.parametrize("field", ["access_key_id", "access_key_secret"])
def test_fc_resource_keys_come_from_the_credentials_chain_not_config(field: str) -> None:
    # No key in the definitions at all: the alibabacloud-credentials chain supplies the base identity.
    assert getattr(defs.resources["fc"], field) is None
