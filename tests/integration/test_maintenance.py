"""Run retention deletes old finished runs and their event logs, never the cleanup run itself."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from pipelines.maintenance import dagster_run_retention_job, prune_runs


@dg.op
def _noop() -> int:
    return 1


@dg.job
def _tiny_job() -> None:
    _noop()


def test_retention_deletes_finished_runs_and_keeps_its_own() -> None:
    with dg.instance_for_test() as instance:
        old = [_tiny_job.execute_in_process(instance=instance).run_id for _ in range(3)]
        assert len(instance.get_runs()) == 3
        result = dagster_run_retention_job.execute_in_process(
            instance=instance, run_config={"ops": {"dagster_run_retention": {"config": {"keep_days": 0}}}}
        )
        assert result.success
        assert result.output_for_node("dagster_run_retention") == 3
        remaining = {r.run_id for r in instance.get_runs()}
        assert remaining == {result.run_id}
        assert all(not instance.all_logs(run_id) for run_id in old)


def test_recent_runs_are_kept() -> None:
    with dg.instance_for_test() as instance:
        kept = _tiny_job.execute_in_process(instance=instance).run_id
        assert prune_runs(instance, datetime.now(UTC) - timedelta(days=1), batch=100, keep=set()) == 0
        assert [r.run_id for r in instance.get_runs()] == [kept]
