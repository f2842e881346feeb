"""The compaction asset, its in-step checks, the snapshot checks (each failing and passing), and
which UTC day the compaction schedule targets (C17)."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from assets.checks import fc_instance_snapshots__coverage, fc_instance_snapshots__fresh
from assets.history import fc_history
from pipelines import checks
from pipelines.collect import PollOutcome, PollTarget
from pipelines.definitions import defs
from pipelines.fc.errors import RetriableError
from pipelines.fc.models import Instance
from pipelines.normalise import instances_frame, polls_frame
from pipelines.resources import StoreResource
from pipelines.schedules import build_history_schedule
from pipelines.sqlrun import connect
from pipelines.storage.store import ParquetStore

DAY = datetime(2026, 12, 1, tzinfo=UTC)


def _write(root: Path, at: datetime, fail: bool = False, n: int = 2) -> None:
    outcomes = [
        PollOutcome(
            PollTarget("1", "cn-hangzhou", "svc", "f", "LATEST"),
            at,
            tuple(Instance(f"c-{at.minute}-{i}", "0") for i in range(n)),
            None,
            200,
            "r",
            1,
            1.0,
        ),
        PollOutcome(
            PollTarget("1", "cn-hangzhou", "svc", "g", "LATEST"),
            None,
            (),
            RetriableError("Throttled", "x", 503, "r"),
            503,
            "r",
            4,
            9.0,
        )
        if fail
        else PollOutcome(PollTarget("1", "cn-hangzhou", "svc", "g", "LATEST"), at, (), None, 200, "r", 1, 1.0),
    ]
    ParquetStore(root).write_tick(at, polls_frame(outcomes, at, 60, ()), instances_frame(outcomes, at))


def _materialize(root: Path, day: str = "2026-12-01") -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [fc_history],
        partition_key=day,
        resources={"store": StoreResource(root=str(root))},
        run_config={"ops": {"fc_history": {"config": {"raw_retention_s": 0}}}},
    )


@pytest.mark.parametrize(
    ("gap", "complete"), [pytest.param(False, True, id="complete-day"), pytest.param(True, False, id="day-with-gaps")]
)
def test_compaction_asset_compacts_checks_and_is_idempotent(tmp_path: Path, gap: bool, complete: bool) -> None:
    ticks = [DAY + timedelta(hours=23, minutes=m) for m in (56, 57, 58, 59)]
    for at in ticks:
        if gap and at.minute == 57:
            continue  # a tick that never ran
        _write(tmp_path, at, fail=gap and at.minute == 58)
    first = _materialize(tmp_path)
    meta = first.asset_materializations_for_node("fc_history")[0].metadata
    assert (meta["polls_action"].value, meta["polls_generation"].value) == ("compacted", 1)
    assert meta["polls_rows"].value == (6 if gap else 8)
    checks_by_name = {c.check_name: c for c in first.get_asset_check_evaluations()}
    assert checks_by_name["no_duplicates"].passed and checks_by_name["schema"].passed
    assert checks_by_name["complete"].passed is complete
    gap_list = checks_by_name["complete"].metadata["gap_list"].value
    assert gap_list == (
        []
        if complete
        else [
            "2026-12-01T23:57:00+00:00 1/cn-hangzhou: not run (0 failed)",
            "2026-12-01T23:58:00+00:00 1/cn-hangzhou: polls failed (1 failed)",
        ]
    )
    assert sorted(p.name for p in (tmp_path / "polls" / "dt=2026-12-01").iterdir()) == [
        "compacted-g000001.parquet",
        "hourly-g000001.parquet",
        "service-g000001.parquet",
    ]
    again = _materialize(tmp_path).asset_materializations_for_node("fc_history")[0].metadata
    assert again["polls_action"].value == "up-to-date" and again["polls_generation"].value == 1


def test_late_tick_after_compaction_is_visible_and_recompacted(tmp_path: Path) -> None:
    _write(tmp_path, DAY + timedelta(hours=23, minutes=58))
    _materialize(tmp_path)
    _write(tmp_path, DAY + timedelta(hours=23, minutes=59), n=3)  # arrives after its day was compacted
    with connect(tmp_path) as con:
        assert con.execute("select count(*), sum(instance_count) from polls").fetchone() == (4, 5)
    meta = _materialize(tmp_path).asset_materializations_for_node("fc_history")[0].metadata
    assert (meta["polls_action"].value, meta["polls_generation"].value, meta["polls_rows"].value) == ("compacted", 2, 4)
    with connect(tmp_path) as con:
        assert con.execute("select count(*), sum(instance_count) from polls").fetchone() == (4, 5)
        assert con.execute("select count(*) from instances").fetchone() == (5,)


def test_duplicate_and_schema_checks_fail_on_bad_files(tmp_path: Path) -> None:
    _write(tmp_path, DAY)
    for table in ("instances", "polls"):  # a stray copy of a whole tick: the same rows twice
        day_dir = tmp_path / table / "dt=2026-12-01"
        src = next(day_dir.glob("tick-*.parquet"))
        (day_dir / "tick-20261201T000000Z-copy.parquet").write_bytes(src.read_bytes())
    ok, meta = checks.duplicates(tmp_path, DAY.date())
    assert not ok and meta["duplicate_poll_keys"] == 2
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"tick_at": pa.array([DAY]), "oops": [1]}), day_dir / "tick-20261201T000100Z.parquet")
    ok, meta = checks.schema_matches(tmp_path, DAY.date())
    assert not ok and list(meta["mismatched"]) == ["polls/dt=2026-12-01/tick-20261201T000100Z.parquet"]


@pytest.mark.parametrize(
    ("age_s", "fail", "fresh", "covered"),
    [
        pytest.param(0, False, True, True, id="fresh-and-covered"),
        pytest.param(3600, True, False, False, id="stale-and-half-failed"),
        # a tick labelled hours ahead (a mistyped tick_at) is not a fresh store
        pytest.param(-3 * 3600, False, False, True, id="last-tick-in-the-future"),
    ],
)
def test_snapshot_checks(tmp_path: Path, age_s: int, fail: bool, fresh: bool, covered: bool) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    _write(tmp_path, now - timedelta(seconds=age_s), fail=fail)
    ctx = dg.build_asset_check_context(resources={"store": StoreResource(root=str(tmp_path))})
    fresh_result = fc_instance_snapshots__fresh(ctx)
    cov_result = fc_instance_snapshots__coverage(ctx)
    assert fresh_result.passed is fresh
    assert cov_result.passed is covered
    assert cov_result.metadata["coverage"].value == {"1/cn-hangzhou": 0.5 if fail else 1.0}


def test_empty_store_is_not_fresh(tmp_path: Path) -> None:
    assert checks.freshness(tmp_path, datetime.now(UTC), 180) == (False, {"last_tick": None, "max_age_s": 180})


def test_compaction_schedule_targets_the_utc_day_that_just_closed() -> None:
    assert "fc_history_schedule" in {s.name for s in defs.schedules or []}
    schedule = build_history_schedule()
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 0 * * *", "UTC")
    # 00:30 UTC on Dec 2 = 08:30 in Shanghai; the target is Dec 1 whatever the local zone.
    ctx = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 12, 2, 8, 30, tzinfo=timezone(timedelta(hours=8)))
    )
    request = schedule(ctx)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-12-01"
