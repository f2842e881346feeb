"""Compacted instances are intervals and polls carry rollups; every per-tick fact must stay exactly
recoverable. A seeded history per (account, region) target, FC 2.0 and FC 3.0 series, failed polls,
a skipped tick, broken runs, a version change, an FC 3.0 status change and a re-run and a late tick
after compaction: the views must give back exactly the rows that were written, and the intervals and
rollups must equal what this test computes on its own from those rows."""

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.collect import PollOutcome, PollTarget
from pipelines.fc.errors import RetriableError
from pipelines.fc.models import Instance
from pipelines.normalise import instances_frame, polls_frame
from pipelines.sqlrun import connect
from pipelines.storage.compactor import compact_day, day_files
from pipelines.storage.files import RootLike, atomic_write, fingerprint
from pipelines.storage.store import ParquetStore

START = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
TICKS = [START + timedelta(minutes=m) for m in range(120) if m != 37]  # 37: not run (a gap)
SKIPPED = START + timedelta(minutes=37)
DAY = "2026-12-01"
TARGETS = [("1001", "cn-hangzhou"), ("1002", "cn-shanghai")]
SERIES = [(None, "fn3", "LATEST"), ("svc", "api", "LATEST"), ("svc", "api", "prod")]
INSTANCE_COLUMNS = [
    "tick_at",
    "observed_at",
    "account_id",
    "region",
    "service_name",
    "function_name",
    "qualifier",
    "instance_id",
    "version_id",
    "status",
    "created_at",
    "destroyed_at",
    "resource_type",
]


def _outcomes(target: tuple[str, str], at: datetime, seed: int) -> list[PollOutcome]:
    """The same (target, tick, seed) always gives the same answer; a different seed a re-run's."""
    out = []
    for svc, fn, q in SERIES:
        rng = random.Random(f"{target}|{svc}|{fn}|{q}|{at.isoformat()}|{seed}")
        t = PollTarget(*target, svc, fn, q, api_version="2023-03-30" if svc is None else "2021-04-06")
        if rng.random() < 0.08:
            out.append(
                PollOutcome(t, None, (), RetriableError("ServiceUnavailable", "down", 503, "r"), 503, "r", 3, 9.0)
            )
            continue
        minute = int((at - START).total_seconds() // 60)
        instances = []
        for slot in range(6):
            # slot k lives in waves of 10 + 7k minutes; 4 % of sightings are missing (a broken run)
            if (minute // (10 + 7 * slot)) % 2 == 1 or rng.random() < 0.04:
                continue
            born = minute // (10 + 7 * slot)
            version = "2" if slot == 0 and minute >= 60 else "1"  # a rollout mid-life
            if svc is None:
                status = "Stopping" if slot == 1 and minute % 20 >= 15 else "Running"
                created = START + timedelta(minutes=born)
                instances.append(Instance(f"c-{fn}-{q}-{slot}-{born}", version, status, created, None, "CPU"))
            else:
                instances.append(Instance(f"c-{fn}-{q}-{slot}-{born}", version))
        observed = at + timedelta(milliseconds=rng.randint(5, 900))
        out.append(PollOutcome(t, observed, tuple(instances), None, 200, f"req-{rng.random()}", 1, 12.5))
    return out


def _write(store: ParquetStore, at: datetime, seed: int = 0) -> None:
    for target in TARGETS:
        outcomes = _outcomes(target, at, seed)
        store.write_tick(at, polls_frame(outcomes, at, 60), instances_frame(outcomes, at), target=target)


def _expected(writes: dict[tuple[datetime, tuple[str, str]], int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(polls, instances) exactly as written, the last write of each (tick, target) winning."""
    polls, instances = [], []
    for (at, target), seed in sorted(writes.items()):
        outcomes = _outcomes(target, at, seed)
        polls.append(polls_frame(outcomes, at, 60))
        instances.append(instances_frame(outcomes, at))
    return pd.concat(polls, ignore_index=True), pd.concat(instances, ignore_index=True)


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted((tuple(_plain(v) for v in r) for r in frame.itertuples(index=False)), key=str)


def _plain(v: object) -> object:
    """One representation per value, whichever side produced it (pandas, Arrow or DuckDB)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):  # type: ignore[arg-type]
        return None
    if isinstance(v, datetime | pd.Timestamp):
        return pd.Timestamp(v).tz_convert(UTC).to_pydatetime()
    if isinstance(v, float):
        return round(v, 6)
    item = getattr(v, "item", None)
    return item() if callable(item) else v


def _seen(root: RootLike, sql: str, params: list | None = None) -> list[tuple]:
    with connect(root) as con:
        return sorted((tuple(_plain(v) for v in r) for r in con.execute(sql, params or []).fetchall()), key=str)


def _runs(instances: pd.DataFrame, polls: pd.DataFrame) -> list[tuple]:
    """Intervals computed here: runs of an instance (same attributes) over its series' ok polls."""
    key = ["account_id", "region", "service_name", "function_name", "qualifier"]
    order: dict[tuple, list] = defaultdict(list)
    for r in polls[polls["status"] == "ok"].itertuples(index=False):
        at = _plain(r.tick_at)
        assert isinstance(at, datetime)
        order[(*(_plain(getattr(r, k)) for k in key), at.date())].append(at)
    for ticks in order.values():
        ticks.sort()
    runs = []
    attrs = ["instance_id", "version_id", "status", "created_at", "destroyed_at", "resource_type"]
    by: dict[tuple, list] = defaultdict(list)
    for r in instances.itertuples(index=False):
        ident = tuple(_plain(getattr(r, c)) for c in [*key, *attrs])
        at = _plain(r.tick_at)
        assert isinstance(at, datetime)
        by[(*ident, at.date())].append(at)
    for (*ident, day), seen in by.items():
        ticks = order[(*ident[:5], day)]
        index = sorted(ticks.index(t) for t in seen)
        start = prev = index[0]
        for i in [*index[1:], None]:
            if i is not None and i == prev + 1:
                prev = i
                continue
            runs.append((*ident, ticks[start], ticks[prev], prev - start + 1))
            if i is not None:
                start = prev = i
    return sorted(runs, key=str)


def _hourly(polls: pd.DataFrame) -> list[tuple]:
    groups: dict[tuple, list] = defaultdict(list)
    for r in polls.itertuples(index=False):
        at = _plain(r.tick_at)
        assert isinstance(at, datetime)
        hour = at.replace(minute=0, second=0, microsecond=0)
        key = (r.account_id, r.region, _plain(r.service_name), r.function_name, r.qualifier, hour)
        groups[key].append(_plain(r.instance_count) if r.status == "ok" else None)
    out = []
    for key, counts in groups.items():
        ok = [c for c in counts if c is not None]
        # instance_minutes: each ok reading stands for its 60 s tick period
        out.append(
            (*key, len(ok), len(counts) - len(ok), sum(ok) if ok else None, max(ok, default=None), sum(ok) * 1.0)
        )
    return sorted(out, key=str)


@pytest.fixture
def store(tmp_path: Path) -> tuple[ParquetStore, dict]:
    store = ParquetStore(tmp_path / "store")
    writes: dict[tuple[datetime, tuple[str, str]], int] = {}
    for at in TICKS:
        _write(store, at)
        writes.update({(at, t): 0 for t in TARGETS})
    return store, writes


INSTANCES_SQL = f"select {', '.join(INSTANCE_COLUMNS)} from instances"
INTERVALS_SQL = (
    "select account_id, region, service_name, function_name, qualifier, instance_id, version_id, status, "
    "created_at, destroyed_at, resource_type, first_tick, last_tick, ticks from instance_intervals where dt = ?"
)
HOURLY_SQL = (
    "select account_id, region, service_name, function_name, qualifier, hour, ticks_ok, ticks_failed, "
    "sum_instances, max_instances, round(instance_minutes, 6) from polls_hourly"
)


def test_compaction_keeps_every_per_tick_fact(store: tuple[ParquetStore, dict]) -> None:
    st, writes = store
    polls, instances = _expected(writes)
    assert len(instances) > 0 and (polls["status"] != "ok").sum() > 0  # the scenario has failures
    before = _seen(st.root, INSTANCES_SQL)
    assert before == _rows(instances[INSTANCE_COLUMNS])
    hourly_before = _seen(st.root, HOURLY_SQL)
    done, _ = compact_day(st.root, DAY, raw_retention_s=0)
    assert {c.table: c.action for c in done} == {"instances": "compacted", "polls": "compacted", "functions": "empty"}
    assert not day_files(st.root, "instances", DAY).raw  # only the intervals file is left to read from
    assert _seen(st.root, INSTANCES_SQL) == before
    # The intervals are exactly the runs, and far fewer rows than the sightings.
    got = _seen(st.root, INTERVALS_SQL, [DAY])
    day_instances = instances[[_plain(t).date().isoformat() == DAY for t in instances["tick_at"]]]  # type: ignore[union-attr]
    assert got == _runs(day_instances, polls)
    assert len(got) * 4 < len(day_instances)
    # The materialized hourly rollup equals the live one and this test's own arithmetic.
    assert _seen(st.root, HOURLY_SQL) == hourly_before == _hourly(polls)


def test_rerun_and_late_tick_after_compaction(store: tuple[ParquetStore, dict]) -> None:
    st, writes = store
    compact_day(st.root, DAY, raw_retention_s=0)
    rerun = TICKS[10]  # one target's share of a compacted tick is re-run with different answers
    st.write_tick(
        rerun,
        polls_frame(_outcomes(TARGETS[0], rerun, 7), rerun, 60),
        instances_frame(_outcomes(TARGETS[0], rerun, 7), rerun),
        target=TARGETS[0],
    )
    _write(st, SKIPPED)  # the tick that never ran arrives late
    late = dict(writes)
    late.update({(SKIPPED, t): 0 for t in TARGETS})
    _, instances_late = _expected(late)
    # Before the next compaction: the late tick is visible, the re-run waits (the generation holds that file).
    assert _seen(st.root, INSTANCES_SQL) == _rows(instances_late[INSTANCE_COLUMNS])
    done, _ = compact_day(st.root, DAY, raw_retention_s=0)
    assert {c.table: (c.action, c.generation) for c in done if c.table != "functions"} == {
        "instances": ("compacted", 2),
        "polls": ("compacted", 2),
    }
    late[(rerun, TARGETS[0])] = 7
    polls_final, instances_final = _expected(late)
    assert _seen(st.root, INSTANCES_SQL) == _rows(instances_final[INSTANCE_COLUMNS])
    assert _seen(
        st.root, "select tick_at, account_id, function_name, qualifier, status, instance_count from polls"
    ) == (_rows(polls_final[["tick_at", "account_id", "function_name", "qualifier", "status", "instance_count"]]))
    got = _seen(st.root, INTERVALS_SQL, [DAY])
    day_instances = instances_final[[_plain(t).date().isoformat() == DAY for t in instances_final["tick_at"]]]  # type: ignore[union-attr]
    assert got == _runs(day_instances, polls_final)


def test_a_day_compacted_before_intervals_is_converted(store: tuple[ParquetStore, dict]) -> None:
    """A generation of per-tick instance rows (the format before intervals) becomes intervals at the
    next compaction, with every row kept and none doubled."""
    st, writes = store
    _, instances = _expected(writes)
    raw = day_files(st.root, "instances", DAY).raw
    legacy = pa.concat_tables([pq.read_table(p) for p in raw]).sort_by("tick_at")
    consumed = json.dumps(sorted(list(fingerprint(p)) for p in raw))
    atomic_write(
        legacy.replace_schema_metadata({"fccap.consumed": consumed}),
        raw[0].parent / "compacted-g000001.parquet",
        step="test.legacy",
    )
    for path in raw:
        path.unlink()
    done, _ = compact_day(st.root, DAY, raw_retention_s=0)
    assert {c.table: (c.action, c.generation) for c in done if c.table != "functions"} == {
        "instances": ("compacted", 2),
        "polls": ("compacted", 1),
    }
    current = day_files(st.root, "instances", DAY).current
    assert current is not None and "first_tick" in pq.read_schema(current).names
    assert _seen(st.root, INSTANCES_SQL) == _rows(instances[INSTANCE_COLUMNS])
