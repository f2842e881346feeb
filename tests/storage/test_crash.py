"""A real child process is SIGKILLed at every step of a tick write, a compaction and a retention
run; the DuckDB views must then show exactly the committed rows, and the next run must repair."""

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.collect import PollOutcome, PollTarget
from pipelines.fc.models import Instance
from pipelines.normalise import instances_frame, polls_frame
from pipelines.sqlrun import connect
from pipelines.storage.compactor import compact_day
from pipelines.storage.retention import apply_retention
from pipelines.storage.store import ParquetStore, table_from_frame

DAY = "2026-12-03"
TICKS = [datetime(2026, 12, 3, 23, 56, tzinfo=UTC) + timedelta(minutes=m) for m in range(3)]
NEXT_DAY_TICK = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
LATE = datetime(2026, 12, 3, 23, 59, tzinfo=UTC)
CHILD = Path(__file__).with_name("crash_child.py")


def _outcomes(at: datetime) -> list[PollOutcome]:
    n = at.minute % 4 + 1
    return [
        PollOutcome(
            PollTarget("1", "cn-hangzhou", "svc", fn, q),
            at + timedelta(seconds=1),
            tuple(Instance(f"c-{fn}-{q}-{at.minute}-{i}", "0") for i in range(k)),
            None,
            200,
            "r",
            1,
            1.0,
        )
        for fn, q, k in (("a", "LATEST", n), ("b", "prod", 0), ("c", "LATEST", 2 * n))
    ]


def _expected(ticks: list[datetime]) -> tuple[list[tuple], list[tuple]]:
    polls = sorted(
        (at, o.target.function_name, o.target.qualifier, len(o.instances)) for at in ticks for o in _outcomes(at)
    )
    inst = sorted(
        (at, o.target.function_name, i.instance_id) for at in ticks for o in _outcomes(at) for i in o.instances
    )
    return polls, inst


def _seen(root: Path) -> tuple[list[tuple], list[tuple]]:
    with connect(root) as con:
        polls = con.execute(
            "select tick_at, function_name, qualifier, instance_count from polls order by all"
        ).fetchall()
        inst = con.execute("select tick_at, function_name, instance_id from instances order by all").fetchall()
        # lifetimes read the intervals view, whose raw branch joins only the raw ticks' polls: it must
        # agree with the per-tick rows at every crash point
        runs = con.execute(
            "select function_name, instance_id, min(first_tick), max(last_tick), sum(ticks) "
            "from instance_intervals group by all order by all"
        ).fetchall()
    by_instance: dict[tuple, list] = {}
    for at, fn, iid in inst:
        by_instance.setdefault((fn, iid), []).append(at)
    assert runs == sorted((fn, iid, min(ats), max(ats), len(ats)) for (fn, iid), ats in by_instance.items())
    return polls, inst


def _write(root: Path, at: datetime) -> None:
    ParquetStore(root).write_tick(at, polls_frame(_outcomes(at), at, 60), instances_frame(_outcomes(at), at))


def _files(root: Path, day: str = DAY) -> list[str]:
    return sorted(str(p.relative_to(root)) for t in ("polls", "instances") for p in (root / t / f"dt={day}").glob("*"))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("base") / "store"
    for at in [*TICKS, NEXT_DAY_TICK]:
        _write(root, at)
    payload = root.parent / "payload"
    payload.mkdir()
    pq.write_table(table_from_frame(polls_frame(_outcomes(LATE), LATE, 60), "polls"), payload / "polls.parquet")
    pq.write_table(table_from_frame(instances_frame(_outcomes(LATE), LATE), "instances"), payload / "instances.parquet")
    return root


TICK_STEPS = {
    "write.instances.tmp_written": False,
    "write.instances.committed": False,  # instances without their polls file are not a committed tick
    "write.polls.tmp_written": False,
    "write.polls.committed": True,
}
COMPACT_STEPS = [
    "compact.instances.tmp_written",
    "compact.instances.committed",
    "compact.polls.tmp_written",
    "compact.polls.committed",
    "sweep.removed_one",
]
RETENTION_STEPS = [
    "retention.instances.tmp_written",
    "retention.instances.committed",
    "retention.polls.tmp_written",
    "retention.polls.committed",
    "retention.removed_one",
]
CASES = (
    [("tick", s) for s in TICK_STEPS]
    + [("compact", s) for s in COMPACT_STEPS]
    + [("retention", s) for s in RETENTION_STEPS]
)


def _run_child(base: Path, work: Path, action: str, step: str) -> tuple[Path, int]:
    root = work / f"{action}-{step}"
    shutil.copytree(base, root)
    args = {
        "tick": [str(base.parent / "payload"), LATE.isoformat()],
        "compact": [DAY],
        "retention": ["2026-12-04"],
    }[action]
    env = {**os.environ, "FCCAP_TEST_HOOKS": "1", "FCCAP_CRASH_AT": step}
    proc = subprocess.run(
        [sys.executable, str(CHILD), action, str(root), *args], env=env, capture_output=True, timeout=60, check=False
    )
    return root, proc.returncode


@pytest.fixture(scope="module")
def crashed(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Path, int]]:
    """Every child at once (each on its own copy of the store): the slow part is Python start-up."""
    work = tmp_path_factory.mktemp("crashed")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case: pool.submit(_run_child, base, work, *case) for case in CASES}
        return {case: f.result() for case, f in futures.items()}


@pytest.mark.parametrize("step", list(TICK_STEPS), ids=list(TICK_STEPS))
def test_killed_tick_write_shows_committed_ticks_only(crashed: dict, step: str) -> None:
    root, rc = crashed[("tick", step)]
    assert rc == -signal.SIGKILL  # the child really died at that step
    committed = TICK_STEPS[step]
    assert _seen(root) == _expected([*TICKS, *([LATE] if committed else []), NEXT_DAY_TICK])
    # The next run re-runs the tick (replacing, not duplicating) and a compaction cleans the leftovers.
    _write(root, LATE)
    compact_day(root, DAY, raw_retention_s=0, temp_max_age_s=0)
    assert _seen(root) == _expected([*TICKS, LATE, NEXT_DAY_TICK])
    assert _files(root) == [
        "instances/dt=2026-12-03/compacted-g000001.parquet",
        "polls/dt=2026-12-03/compacted-g000001.parquet",
        "polls/dt=2026-12-03/hourly-g000001.parquet",
        "polls/dt=2026-12-03/service-g000001.parquet",
    ]
    assert not list(root.rglob("*.tmp"))


@pytest.mark.parametrize("step", COMPACT_STEPS, ids=COMPACT_STEPS)
def test_killed_compaction_never_loses_or_doubles_a_row(crashed: dict, step: str) -> None:
    root, rc = crashed[("compact", step)]
    assert rc == -signal.SIGKILL
    assert _seen(root) == _expected([*TICKS, NEXT_DAY_TICK])
    compact_day(root, DAY, raw_retention_s=0, temp_max_age_s=0)
    assert _seen(root) == _expected([*TICKS, NEXT_DAY_TICK])
    assert _files(root) == [
        "instances/dt=2026-12-03/compacted-g000001.parquet",
        "polls/dt=2026-12-03/compacted-g000001.parquet",
        "polls/dt=2026-12-03/hourly-g000001.parquet",
        "polls/dt=2026-12-03/service-g000001.parquet",
    ]
    assert not list(root.rglob("*.tmp"))
    # A compacted day is left alone by the next run (idempotent).
    done, _ = compact_day(root, DAY, raw_retention_s=0)
    assert {(c.table, c.action) for c in done} == {
        ("instances", "up-to-date"),
        ("polls", "up-to-date"),
        ("functions", "empty"),
    }


@pytest.mark.parametrize("step", RETENTION_STEPS, ids=RETENTION_STEPS)
def test_killed_retention_drops_a_day_whole_or_not_at_all(crashed: dict, step: str) -> None:
    root, rc = crashed[("retention", step)]
    assert rc == -signal.SIGKILL
    polls, inst = _seen(root)
    full_polls, full_inst = _expected([*TICKS, NEXT_DAY_TICK])
    kept_polls, kept_inst = _expected([NEXT_DAY_TICK])
    assert polls in (full_polls, kept_polls)
    assert inst in (full_inst, kept_inst)
    for _ in range(2):  # tombstone (if not yet), then purge
        apply_retention(root, date(2026, 12, 4), grace_s=0)
    assert _seen(root) == (kept_polls, kept_inst)
    assert not (root / "polls" / f"dt={DAY}").exists()
    assert not list(root.rglob("*.tmp"))
    # Compaction never brings a dropped day back.
    compact_day(root, DAY, raw_retention_s=0)
    assert _seen(root) == (kept_polls, kept_inst)
