"""States a reader or the compactor can meet between two writers, on disk and on S3 (moto on
127.0.0.1): a tick seen half (its polls listed, its instances not), a re-run that changes a poll
but not its instances, a retention run stopped between its two tables, a compaction and a
retention that picked the same generation number, and raw files left after their day's last
compaction. Each must read as the whole truth or as nothing, never as a part."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.collect import PollOutcome, PollTarget
from pipelines.fc.errors import RetriableError
from pipelines.fc.models import Instance
from pipelines.sqlrun import connect
from pipelines.storage.compactor import compact_day, day_files, generation_name
from pipelines.storage.files import StorePath, as_root, atomic_write, remove
from pipelines.storage.schemas import SCHEMAS
from tests.storage.test_crash import _expected
from tests.storage.test_s3_store import _seen, _write

DAY = "2026-12-03"
T = [datetime(2026, 12, 3, 10, m, tzinfo=UTC) for m in range(3)]
TARGET = PollTarget("1", "cn-hangzhou", "svc", "f", "LATEST")


@pytest.fixture(params=["disk", "s3"])
def root(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[StorePath]:
    if request.param == "disk":
        yield as_root(tmp_path / "store")
    else:
        yield as_root(request.getfixturevalue("s3_root"))


def _raw(root: StorePath, table: str, at: datetime) -> StorePath:
    return next(p for p in day_files(root, table, DAY).raw if p.name == f"tick-{at:%Y%m%dT%H%M%SZ}.parquet")


def test_a_tick_whose_instances_file_is_not_listed_is_not_seen(root: StorePath) -> None:
    """What a reader lists while a tick is written: an object store lists instances/ before polls/."""
    for at in T:
        _write(root, at)
    remove(_raw(root, "instances", T[2]))  # this listing missed it: only the polls file is there
    assert _seen(root) == _expected(T[:2])
    # The compactor counts ticks as readers do: the half tick stays raw and out of the generation.
    compact_day(root, DAY, raw_retention_s=3600)
    assert _seen(root) == _expected(T[:2])
    _write(root, T[2])  # the whole tick: seen at once, and compacted by the next run
    assert _seen(root) == _expected(T)
    compact_day(root, DAY, raw_retention_s=3600)
    assert _seen(root) == _expected(T)
    assert [p.name for p in day_files(root, "polls", DAY).raw] == [f"tick-{at:%Y%m%dT%H%M%SZ}.parquet" for at in T]


def _ok(at: datetime, *ids: str) -> list[PollOutcome]:
    return [
        PollOutcome(TARGET, at + timedelta(seconds=1), tuple(Instance(i, "0") for i in ids), None, 200, "r", 1, 1.0)
    ]


def _failed(at: datetime) -> list[PollOutcome]:
    return [PollOutcome(TARGET, None, (), RetriableError("ServiceUnavailable", "down", 503), 503, "r", 4, None)]


def test_a_rerun_that_only_changes_a_poll_rebuilds_the_intervals(root: StorePath) -> None:
    """A failed poll does not break a run, so A is one interval 10:00-10:02; the re-run of 10:01
    answers with no instances (its instances file is as empty as before), which ends that run."""
    _write(root, T[0], _ok(T[0], "A"))
    _write(root, T[1], _failed(T[1]))
    _write(root, T[2], _ok(T[2], "A"))
    compact_day(root, DAY, raw_retention_s=3600)
    _write(root, T[1], _ok(T[1]))
    done, _ = compact_day(root, DAY, raw_retention_s=3600)
    assert {(c.table, c.action, c.generation) for c in done if c.table != "functions"} == {
        ("instances", "compacted", 2),
        ("polls", "compacted", 2),
    }
    with connect(root) as con:
        assert con.execute("select tick_at, status, instance_count from polls order by all").fetchall() == [
            (T[0], "ok", 1),
            (T[1], "ok", 0),
            (T[2], "ok", 1),
        ]
        assert con.execute("select tick_at, instance_id from instances order by all").fetchall() == [
            (T[0], "A"),
            (T[2], "A"),
        ]
        assert con.execute("select first_tick, last_tick, ticks from instance_intervals order by all").fetchall() == [
            (T[0], T[0], 1),
            (T[2], T[2], 1),
        ]


def _tombstone(root: StorePath, table: str, generation: int) -> None:
    """What apply_retention commits for one table."""
    directory = day_files(root, table, DAY).directory
    atomic_write(
        SCHEMAS[table].empty_table(), directory / generation_name(generation, deleted=True), step=f"retention.{table}"
    )


def test_a_retention_stopped_between_its_tables_hides_the_whole_day(root: StorePath) -> None:
    for at in T:
        _write(root, at)
    compact_day(root, DAY, raw_retention_s=3600)
    _tombstone(root, "instances", 2)  # retention tombstones instances first; it stopped before polls
    assert _seen(root) == ([], [])
    with connect(root) as con:
        assert con.execute("select count(*) from polls_hourly").fetchone() == (0,)


def test_a_tombstone_wins_a_tie_with_a_compaction(root: StorePath) -> None:
    """A compaction and a retention of one day both wrote generation 2: the day stays deleted."""
    for at in T:
        _write(root, at)
    compact_day(root, DAY, raw_retention_s=3600)
    _write(root, T[2])  # a re-run, compacted into generation 2 ...
    compact_day(root, DAY, raw_retention_s=3600)
    for table in ("instances", "polls"):
        _tombstone(root, table, 2)  # ... while retention also committed its generation 2
    assert _seen(root) == ([], [])
    assert {c.action for c in compact_day(root, DAY, raw_retention_s=3600)[0] if c.table != "functions"} == {
        "deleted-day"
    }


def test_raw_files_go_one_run_after_their_day_was_compacted(root: StorePath) -> None:
    """The nightly run compacts yesterday, whose raw files readers may still hold for an hour: the
    next night's run (for the next day) deletes them."""
    for at in T:
        _write(root, at)
    _, swept = compact_day(root, DAY, raw_retention_s=3600)
    assert swept.removed == [] and swept.kept_for_readers == 6
    next_day = T[0] + timedelta(days=1)
    _write(root, next_day)
    _, swept = compact_day(root, "2026-12-04", raw_retention_s=0)
    assert sorted(swept.removed) == sorted(
        f"{table}/dt={at:%Y-%m-%d}/tick-{at:%Y%m%dT%H%M%SZ}.parquet"
        for table in ("instances", "polls")
        for at in [*T, next_day]
    )
    assert _seen(root) == _expected([*T, next_day])


def test_a_session_over_some_days_reads_those_days_whole_and_lists_nothing_else(root: StorePath) -> None:
    """What the per-minute checks open (sqlrun.connect(days=...)): their cost must not grow with
    the history, and what they see of their days must be what a full session sees."""
    days = [T[0] + timedelta(days=k) for k in range(4)]
    for at in days:
        for m in range(2):
            _write(root, at + timedelta(minutes=m))
    compact_day(root, DAY, raw_retention_s=3600)  # one compacted day, the others raw
    wanted = [days[0].date(), days[2].date()]
    with connect(root) as con:
        full = con.execute("select dt, tick_at, instance_count from polls order by all").fetchall()
        full_inst = con.execute("select dt, tick_at, instance_id from instances order by all").fetchall()
    with connect(root, days=wanted) as con:
        part = con.execute("select dt, tick_at, instance_count from polls order by all").fetchall()
        part_inst = con.execute("select dt, tick_at, instance_id from instances order by all").fetchall()
        listed = con.execute("select distinct day from _fccap_files order by day").fetchall()
    assert part == [r for r in full if r[0] in wanted] and len(part) == 2 * 2 * 3
    assert part_inst == [r for r in full_inst if r[0] in wanted] and part_inst
    assert [d for (d,) in listed] == ["1970-01-01", *(d.isoformat() for d in wanted)]


def test_a_rerun_written_while_the_sweep_runs_is_kept(root: StorePath, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep lists a day's superseded raw files, then deletes them one by one; a re-run of one of
    those ticks that lands in between is a new version, which no generation holds: it must stay."""
    import pipelines.storage.compactor as compactor

    for at in T:
        _write(root, at)
    compact_day(root, DAY, raw_retention_s=3600)
    rerun = _ok(T[2], "rerun-instance")
    real_remove, calls = compactor.remove, []

    def remove_after_a_rerun(path: StorePath) -> bool:
        if not calls:
            _write(root, T[2], rerun)  # lands after the listing, before the next deletes
        calls.append(path.name)
        return real_remove(path)

    monkeypatch.setattr(compactor, "remove", remove_after_a_rerun)
    compactor.sweep(root, [DAY], raw_retention_s=0)
    name = f"tick-{T[2]:%Y%m%dT%H%M%SZ}.parquet"
    assert {p.name for t in ("instances", "polls") for p in day_files(root, t, DAY).raw} == {name}
    compact_day(root, DAY, raw_retention_s=3600)  # the re-run replaces the tick's rows for its target
    with connect(root) as con:
        assert con.execute("select instance_id from instances where tick_at = ?", [T[2]]).fetchall() == [
            ("rerun-instance",)
        ]
