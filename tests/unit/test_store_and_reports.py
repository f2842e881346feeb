"""Storage contract (C10, C11, C13, C14, C15, C18) and capacity_hourly's arithmetic."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.collect import PollOutcome, PollTarget
from pipelines.fc.errors import RetriableError
from pipelines.fc.models import Instance
from pipelines.normalise import instances_frame, polls_frame
from pipelines.sqlrun import connect, run_report
from pipelines.storage.schemas import INSTANCES, POLLS
from pipelines.storage.store import ParquetStore

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
FN = PollTarget("1234567890", "cn-hangzhou", "svc", "fn", "LATEST")


def _ok(n: int, target: PollTarget = FN, at: datetime = T0) -> PollOutcome:
    instances = tuple(Instance(f"c-{i}", "0") for i in range(n))
    return PollOutcome(target, at + timedelta(seconds=1), instances, None, 200, "rid", 1, 12.5)


def _failed(target: PollTarget = FN) -> PollOutcome:
    return PollOutcome(
        target, None, (), RetriableError("ResourceThrottled", "slow down", 503, "rid-x"), 503, "rid-x", 4, 900.0
    )


def _write(store: ParquetStore, at: datetime, outcomes: list[PollOutcome]) -> None:
    store.write_tick(at, polls_frame(outcomes, at, 60), instances_frame(outcomes, at))


def test_written_files_carry_exact_types(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    _write(store, T0, [_ok(0), _failed(PollTarget("1234567890", "cn-hangzhou", "svc", "g", "prod"))])
    polls = pq.read_table(tmp_path / "polls/dt=2026-12-03/tick-20261203T100000Z.parquet")
    assert polls.schema.equals(POLLS, check_metadata=False)
    assert polls.schema.field("tick_at").type == pa.timestamp("us", tz="UTC")
    # The embedded Arrow schema says the same (C11), and all-null columns stay typed (C10).
    assert (
        pq.read_schema(tmp_path / "polls/dt=2026-12-03/tick-20261203T100000Z.parquet").field("error_code").type
        == pa.string()
    )
    instances = pq.read_table(tmp_path / "instances/dt=2026-12-03/tick-20261203T100000Z.parquet")
    assert instances.num_rows == 0 and instances.schema.equals(INSTANCES, check_metadata=False)
    rows = polls.to_pylist()
    assert [(r["function_name"], r["status"], r["instance_count"], r["error_code"], r["attempts"]) for r in rows] == [
        ("fn", "ok", 0, None, 1),
        ("g", "error", None, "ResourceThrottled", 4),
    ]
    assert "dt" not in polls.schema.names
    assert not list(tmp_path.rglob("*.tmp"))


def test_rerunning_a_tick_replaces_it(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    _write(store, T0, [_ok(3)])
    _write(store, T0, [_ok(2)])
    with connect(tmp_path) as con:
        assert con.execute("select count(*), sum(instance_count) from polls").fetchone() == (1, 2)
        assert con.execute("select count(*) from instances").fetchone() == (2,)


def test_a_tick_replaced_during_a_session_reads_as_replaced_in_it(tmp_path: Path) -> None:
    """Sessions cache Parquet metadata (sqlrun.connect): a file replaced under the same name, even by
    one of the same size within the same second, must not be read through its old footer."""
    store = ParquetStore(tmp_path)

    def ids(prefix: str, n: int = 3) -> PollOutcome:
        instances = tuple(Instance(f"{prefix}-{i}", "0") for i in range(n))
        return PollOutcome(FN, T0 + timedelta(seconds=1), instances, None, 200, "rid", 1, 12.5)

    _write(store, T0, [ids("a")])
    path = tmp_path / "instances/dt=2026-12-03/tick-20261203T100000Z.parquet"
    size = path.stat().st_size
    with connect(tmp_path) as con:
        assert con.execute("select list(instance_id order by instance_id) from instances").fetchone() == (
            ["a-0", "a-1", "a-2"],
        )
        _write(store, T0, [ids("b")])
        assert path.stat().st_size == size
        assert con.execute("select list(instance_id order by instance_id) from instances").fetchone() == (
            ["b-0", "b-1", "b-2"],
        )
        other = PollTarget("1234567890", "cn-hangzhou", "svc", "g", "LATEST")
        _write(store, T0, [_ok(40), _ok(7, other)])
        assert con.execute("select count(*), sum(instance_count) from polls").fetchone() == (2, 47)
        assert con.execute("select count(*) from instances").fetchone() == (47,)


def test_empty_store_gives_typed_empty_views_and_report(tmp_path: Path) -> None:
    with connect(tmp_path / "fresh") as con:
        types = dict(con.execute("select column_name, column_type from (describe polls)").fetchall())
        assert con.execute("select count(*) from polls").fetchone() == (0,)
    assert types["tick_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["instance_count"] == "INTEGER"
    assert types["dt"] == "DATE"
    report = run_report(tmp_path / "fresh", "capacity-hourly", {})
    assert report.empty
    assert str(report["hour"].dtype) == "datetime64[us, UTC]"
    assert list(report.columns)[-1] == "instance_minutes"


def test_old_files_without_a_newer_column_read_null(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    _write(store, T0, [_ok(1)])
    old = pq.read_table(tmp_path / "polls/dt=2026-12-03/tick-20261203T100000Z.parquet").drop_columns(["request_id"])
    for table in ("instances", "polls"):
        (tmp_path / f"{table}/dt=2026-12-02").mkdir()
    # a whole tick of an older writer: its (empty) instances file, and polls without request_id
    pq.write_table(INSTANCES.empty_table(), tmp_path / "instances/dt=2026-12-02/tick-20261202T100000Z.parquet")
    pq.write_table(old, tmp_path / "polls/dt=2026-12-02/tick-20261202T100000Z.parquet")
    with connect(tmp_path) as con:
        got = con.execute("select dt, request_id from polls order by dt").fetchall()
    assert [(str(d), r) for d, r in got] == [("2026-12-02", None), ("2026-12-03", "rid")]


def test_capacity_hourly_counts_zeros_and_skips_failures(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    for minute, outcome in [(0, _ok(0)), (1, _ok(2)), (2, _failed()), (3, _ok(3))]:
        at = T0 + timedelta(minutes=minute)
        _write(store, at, [outcome])
    _write(store, T0 + timedelta(hours=1), [_ok(5)])
    report = run_report(tmp_path, "capacity-hourly", {"until": T0 + timedelta(hours=1)})
    assert len(report) == 1
    row = report.iloc[0]
    assert row["hour"].to_pydatetime() == T0
    assert (row["ticks_ok"], row["ticks_failed"]) == (3, 1)
    assert (row["min_instances"], row["max_instances"]) == (0, 3)
    assert row["avg_instances"] == pytest.approx(5 / 3)
    assert row["p95_instances"] == pytest.approx(2.9)  # linear interpolation over [0, 2, 3]
    assert row["instance_minutes"] == pytest.approx(5.0)
    only = run_report(tmp_path, "capacity-hourly", {"function": "other"})
    assert only.empty
