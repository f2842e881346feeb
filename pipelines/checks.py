"""Data checks behind the Dagster asset checks; each returns (passed, metadata) and reads only the
part of the store it is asked about (a day, the last tick), never the whole history (C21)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from pipelines.sqlrun import connect, run_report
from pipelines.storage.compactor import day_files
from pipelines.storage.files import RootLike, as_root, read_schema, read_table
from pipelines.storage.schemas import INTERVALS, ROLLUPS, SCHEMAS
from pipelines.storage.store import tick_file_name
from pipelines.ticks import FUTURE_SKEW_S

__all__ = ["completeness", "coverage_per_target", "duplicates", "freshness", "schema_matches", "tick_coverage"]

Result = tuple[bool, dict[str, Any]]


def freshness(root: RootLike, now: datetime, max_age_s: float, target: tuple[str, str] | None = None) -> Result:
    """Age of the last tick, of one (account, region) ``target`` if given."""
    where, params = "dt >= ?", [(now - timedelta(days=2)).date()]
    if target is not None:
        where, params = f"{where} and account_id = ? and region = ?", [*params, *target]
    with connect(root, days=_recent_days(now)) as con:
        row = con.execute(f"select max(tick_at) from polls where {where}", params).fetchone()  # noqa: S608 - constant
    last = row[0] if row else None
    if last is None:
        return False, {"last_tick": None, "max_age_s": max_age_s}
    age = (now - last).total_seconds()
    return -FUTURE_SKEW_S <= age <= max_age_s, {
        "last_tick": last.isoformat(),
        "age_s": round(age, 1),
        "max_age_s": max_age_s,
    }


def _recent_days(now: datetime) -> list[date]:
    """The UTC days a check of the last tick reads (runs every minute: never the whole history)."""
    return [(now + timedelta(days=k)).date() for k in range(-2, 2)]


def coverage_per_target(root: RootLike, threshold: float, now: datetime | None = None) -> Result:
    """Share of ok polls per (account, region) at the last tick of the last two days."""
    with connect(root, days=_recent_days(now or datetime.now(UTC))) as con:
        rows = con.execute(
            "select account_id, region, avg(case when status = 'ok' then 1.0 else 0.0 end) as coverage "
            "from polls where tick_at = (select max(tick_at) from polls) group by all order by all"
        ).fetchall()
    shares = {f"{a}/{r}": round(c, 4) for a, r, c in rows}
    low = {k: v for k, v in shares.items() if v < threshold}
    return bool(shares) and not low, {"coverage": shares, "below_threshold": low, "threshold": threshold}


def tick_coverage(root: RootLike, tick_at: datetime, target: tuple[str, str] | None, threshold: float) -> Result:
    """Share of ok polls per (account, region) in one tick's polls file (one target's, if given):
    the rows a run wrote, and nothing another run wrote (C21)."""
    name = tick_file_name(tick_at, target)
    path = as_root(root) / "polls" / f"dt={tick_at.astimezone(UTC).date().isoformat()}" / name
    if not path.exists():
        return False, {"file": name, "missing": True, "threshold": threshold}
    polls = read_table(path, columns=["account_id", "region", "status"]).to_pandas()
    shares = {
        f"{a}/{r}": round(float((g["status"] == "ok").mean()), 4)
        for (a, r), g in polls.groupby(["account_id", "region"], sort=True)
    }
    low = {k: v for k, v in shares.items() if v < threshold}
    return bool(shares) and not low, {"file": name, "coverage": shares, "below_threshold": low, "threshold": threshold}


def duplicates(root: RootLike, day: date) -> Result:
    with connect(root, days=[day]) as con:
        polls = con.execute(
            "select count(*) from (select 1 from polls where dt = ? group by tick_at, account_id, region, "
            "service_name, function_name, qualifier having count(*) > 1)",
            [day],
        ).fetchone()
        inst = con.execute(
            "select count(*) from (select 1 from instances where dt = ? group by tick_at, account_id, region, "
            "service_name, function_name, qualifier, instance_id having count(*) > 1)",
            [day],
        ).fetchone()
    n_polls, n_inst = (polls or (0,))[0], (inst or (0,))[0]
    return n_polls == 0 and n_inst == 0, {"duplicate_poll_keys": n_polls, "duplicate_instance_keys": n_inst}


def schema_matches(root: RootLike, day: date) -> Result:
    """Every file of the day carries the declared schema (names, types, in order)."""
    wrong: dict[str, str] = {}
    checked = 0
    for table, schema in SCHEMAS.items():
        files = day_files(as_root(root), table, day.isoformat())
        # A compacted instances generation holds intervals; a polls generation has its rollups.
        expected = [(p, INTERVALS if table == "instances" else schema) for _, p in files.generations[-1:]]
        expected += [(p, ROLLUPS[kind]) for kind in ROLLUPS if (p := files.rollup(kind)) is not None]
        expected += [(p, schema) for p in files.raw]
        for path, declared in expected:
            checked += 1
            got = read_schema(path)
            if not got.equals(declared, check_metadata=False):
                wrong[f"{table}/dt={day.isoformat()}/{path.name}"] = str(got)[:300]
    return not wrong, {"files_checked": checked, "mismatched": wrong}


def completeness(root: RootLike, day: date) -> Result:
    """Ticks of the day that did not run or whose polls failed, listed."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    gaps = run_report(root, "gaps", {"since": start, "until": start + timedelta(days=1)})
    listed = [
        f"{pd.Timestamp(str(r.tick_at)).isoformat()} {r.account_id}/{r.region}: {r.kind} ({r.polls_failed} failed)"
        for r in gaps.itertuples()
    ]
    return not listed, {"gaps": len(listed), "gap_list": listed[:200]}
