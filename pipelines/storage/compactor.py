"""Daily compaction of closed days: per table, one sorted zstd generation file replaces the raw files.

What a generation holds:
- ``polls/dt=D/compacted-g<N>.parquet``: every poll of the day, sorted by series then tick, plus
  the derived rollups of that generation, ``hourly-g<N>.parquet`` and ``service-g<N>.parquet``
  (daybuild.py; the views use them only while they match the newest polls generation);
- ``instances/dt=D/compacted-g<N>.parquet``: instance *intervals* (schemas.INTERVALS), one row
  per run of consecutive sightings; the per-tick rows stay exactly recoverable from them and polls;
- ``functions/dt=D/compacted-g<N>.parquet``: the day's inventory refreshes, sorted.

Commit point, per (table, day): the compactor writes the generation atomically (temporary name,
fsync, rename; one PutObject on an object store). The consumed raw files are listed by name, size
and mtime (the ETag on an object store: files.fingerprint) in the generation's metadata; readers
(snapshot.py) read a day's newest generation plus the raw files whose name it does not list, so at
every instant a reader sees each tick file once. Instances are committed before polls, as in a
tick write. Superseded files (consumed raw files, older generations and their rollups) stay until
the commit is ``raw_retention_s`` old, so a query that listed them before the commit can still
open them; a later run deletes them. A raw file the generation did not consume (a late tick, a
re-run after compaction) makes the next run write generation N+1. Crash at any step: the files on
disk are always a state the readers read correctly, and the next run finishes the work.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as _pc

from pipelines.storage.daybuild import DayInputs, build_day, build_rollups, builder
from pipelines.storage.files import (
    RootLike,
    StorePath,
    as_root,
    atomic_write,
    crashpoint,
    day_dirs,
    fingerprint,
    modified_at,
    read_metadata,
    read_schema,
    read_table,
    register_filesystem,
    relative,
    remove,
    stale_temp_files,
)
from pipelines.storage.schemas import ROLLUPS, SCHEMA_VERSION, SCHEMAS, SEED_DT, SEEDS

__all__ = [
    "COMPACT_ORDER",
    "RAW_PREFIX",
    "DayFiles",
    "SweepResult",
    "TableCompaction",
    "compact_day",
    "conform",
    "consumed_names",
    "day_files",
    "generation_name",
    "rollup_name",
    "seed_path",
    "sweep",
]

log = logging.getLogger(__name__)
pc: Any = _pc  # pyarrow.compute generates its functions at import; the stubs do not list them

# instances before polls: the same order as a tick write, so a poll row never precedes its instances.
COMPACT_ORDER = ("instances", "polls", "functions")
RAW_PREFIX = {"polls": "tick-", "instances": "tick-", "functions": "inventory-"}
_FUNCTIONS_SORT = ["account_id", "region", "service_name", "function_name", "refreshed_at"]
_GENERATION = re.compile(r"^compacted-g(\d{6})(-deleted)?\.parquet$")
_ROLLUP = re.compile(r"^(" + "|".join(ROLLUPS) + r")-g(\d{6})\.parquet$")
_CONSUMED_KEY = b"fccap.consumed"
# The raw polls files an intervals generation was built with (not yet in a polls generation then).
_POLLS_SEEN_KEY = b"fccap.polls_seen"
INTERVALS_ROW_GROUP = 4096
# compact_day also sweeps this many days before its own (the nightly run sweeps last night's day).
SWEEP_BACK_DAYS = 7


def generation_name(generation: int, *, deleted: bool = False) -> str:
    # Zero-padded so that the newest generation is also the greatest name.
    return f"compacted-g{generation:06d}{'-deleted' if deleted else ''}.parquet"


def rollup_name(kind: str, generation: int) -> str:
    """A rollup derived from polls generation ``generation`` (kind: a key of schemas.ROLLUPS)."""
    return f"{kind}-g{generation:06d}.parquet"


def seed_path(root: StorePath, table: str, form: str = "raw") -> StorePath:
    """The zero-row file that pins one schema (schemas.SEEDS), so every read has a file to read."""
    return root / table / f"dt={SEED_DT}" / SEEDS[(table, form)][0]


@dataclass(frozen=True)
class DayFiles:
    table: str
    day: str
    directory: StorePath
    generations: list[tuple[int, StorePath]]  # ascending
    raw: list[StorePath]
    rollups: list[tuple[str, int, StorePath]]  # polls only: (kind, generation, path)

    @property
    def current(self) -> StorePath | None:
        return self.generations[-1][1] if self.generations else None

    @property
    def generation(self) -> int:
        return self.generations[-1][0] if self.generations else 0

    @property
    def deleted(self) -> bool:
        return self.current is not None and self.current.name.endswith("-deleted.parquet")

    def rollup(self, kind: str) -> StorePath | None:
        """The ``kind`` rollup of the current generation, when it has been written."""
        for k, generation, path in self.rollups:
            if k == kind and generation == self.generation:
                return path
        return None


def day_files(root: StorePath, table: str, day: str) -> DayFiles:
    directory = root / table / f"dt={day}"
    generations: list[tuple[int, StorePath]] = []
    raw: list[StorePath] = []
    rollups: list[tuple[str, int, StorePath]] = []
    if directory.is_dir():
        for path in sorted(directory.glob("*.parquet")):
            if m := _GENERATION.match(path.name):
                generations.append((int(m.group(1)), path))
            elif r := _ROLLUP.match(path.name):
                rollups.append((r.group(1), int(r.group(2)), path))
            elif path.name.startswith(RAW_PREFIX[table]):
                raw.append(path)
    # Of two generations with one number (two writers raced), the tombstone is current, as in
    # sql/snapshot.sql: a deleted day never comes back.
    generations.sort(key=lambda g: (g[0], g[1].name.endswith("-deleted.parquet")))
    return DayFiles(table, day, directory, generations, raw, rollups)


def _fingerprint(path: StorePath) -> tuple[str, int, int | str]:
    name, size, version = fingerprint(path)
    return (str(name), int(size), version)


def _consumed(current: StorePath | None, key: bytes = b"") -> set[tuple[str, int, int | str]]:
    """The raw-file fingerprints a generation lists under ``key`` (default: those it holds)."""
    if current is None:
        return set()
    meta = read_metadata(current).metadata or {}
    raw = meta.get(key or _CONSUMED_KEY)
    # The third member: mtime_ns on disk, the ETag on an object store (files.fingerprint).
    return {(str(n), int(s), m) for n, s, m in json.loads(raw)} if raw else set()


def _holds(consumed: set[tuple[str, int, int | str]], path: StorePath) -> bool:
    """Whether this version of a raw file is one the generation consumed (False once it is gone)."""
    try:
        return _fingerprint(path) in consumed
    except FileNotFoundError:
        return False


def consumed_names(current: StorePath | None) -> set[str]:
    """Names of the raw files a generation holds: readers skip those raw files."""
    return {name for name, _, _ in _consumed(current)}


def conform(data: pa.Table, table: str) -> pa.Table:
    """Cast a file's rows to the current schema; a column older files lack reads as NULL (C10, C13)."""
    schema = SCHEMAS[table]
    columns = [
        data.column(f.name).cast(f.type) if f.name in data.column_names else pa.nulls(data.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


@dataclass(frozen=True)
class TableCompaction:
    table: str
    day: str
    action: str  # compacted | up-to-date | empty | deleted-day | rollups
    generation: int = 0
    rows: int = 0
    files_in: int = 0
    path: str | None = None


def _pending(
    files: DayFiles, committed: set[str] | None
) -> tuple[list[StorePath], list[tuple[str, int, int | str]], set[tuple[str, int, int | str]]]:
    """Raw files the current generation does not hold, their fingerprints (taken before any read:
    a file replaced after this moment differs from its fingerprint and is picked up next time),
    and the generation's own consumed set."""
    consumed = _consumed(files.current)
    pending: list[StorePath] = []
    prints: list[tuple[str, int, int | str]] = []
    for path in files.raw:
        try:
            fp = _fingerprint(path)
        except FileNotFoundError:
            continue
        if fp in consumed:
            continue
        # An instances file whose tick has no polls file yet is an unfinished tick write: not data.
        if committed is not None and path.name not in committed:
            continue
        pending.append(path)
        prints.append(fp)
    return pending, prints, consumed


def _commit(
    data: pa.Table,
    target: StorePath,
    step: str,
    consumed: list[tuple[str, int, int | str]],
    row_group_rows: int | None = None,
    polls_seen: list[tuple[str, int, int | str]] | None = None,
) -> None:
    meta = {"fccap.schema_version": SCHEMA_VERSION, _CONSUMED_KEY.decode(): json.dumps(sorted(consumed))}
    if polls_seen is not None:
        meta[_POLLS_SEEN_KEY.decode()] = json.dumps(polls_seen)
    atomic_write(data.replace_schema_metadata(meta), target, step=step, row_group_rows=row_group_rows)


def _or_seed(paths: list[StorePath], seed: StorePath) -> list[str]:
    return [str(p) for p in paths] or [str(seed)]


def _compact_history(root: StorePath, day: str) -> list[TableCompaction]:
    """Polls and instances of one day, together: intervals number the series' ok polls."""
    pf = day_files(root, "polls", day)
    inf = day_files(root, "instances", day)
    if pf.deleted or inf.deleted:
        return [TableCompaction(t, day, "deleted-day", f.generation) for t, f in (("instances", inf), ("polls", pf))]
    # As readers count them (sql/snapshot.sql): a polls file with its tick's instances file, raw or held.
    pending_p, prints_p, consumed_p = _pending(pf, {i.name for i in inf.raw} | consumed_names(inf.current))
    names_p = {n for n, _, _ in consumed_p}
    pending_i, prints_i, consumed_i = _pending(inf, {p.name for p in pf.raw} | names_p)
    # A store compacted before instances became intervals holds per-tick rows: convert it.
    legacy = inf.current is not None and "first_tick" not in read_schema(inf.current).names
    if not pending_p and not pending_i and not legacy:
        done = [
            TableCompaction(t, day, "up-to-date" if f.current else "empty", f.generation)
            for t, f in (("instances", inf), ("polls", pf))
        ]
        if pf.current is not None and any(pf.rollup(kind) is None for kind in ROLLUPS):
            done.append(_rollups_only(root, pf))  # a crash between the polls commit and its rollups
        return done
    names_i = {n for n, _, _ in consumed_i}
    polls_seed = seed_path(root, "polls")
    base_p = [pf.current] if pf.current else []
    inputs = DayInputs(
        day=day,
        base_polls=_or_seed(base_p, polls_seed),
        pending_polls=_or_seed(pending_p, polls_seed),
        # the raw polls an earlier intervals generation was built against, not yet in a polls generation
        expand_polls=_or_seed(base_p + [p for p in pf.raw if p.name in names_i and p.name not in names_p], polls_seed),
        base_intervals=_or_seed(
            [inf.current] if inf.current and not legacy else [], seed_path(root, "instances", "compacted")
        ),
        pending_instances=_or_seed(pending_i, seed_path(root, "instances")),
        replacing_polls=_or_seed([p for p in pf.raw if p.name in {i.name for i in pending_i}], polls_seed),
        legacy_instances=_or_seed([inf.current] if inf.current and legacy else [], seed_path(root, "instances")),
    )
    with builder() as con:
        register_filesystem(con, root)
        polls, intervals = build_day(con, inputs)
        done = []
        # Intervals are runs over the series' ok polls, so polls they were not built with rebuild them
        # even when no instances file changed (a re-run that turned a failed poll into an ok one with
        # the same, or no, rows); the polls a crash left uncommitted after the intervals do not.
        unseen_p = set(prints_p) - _consumed(inf.current, _POLLS_SEEN_KEY)
        if pending_i or unseen_p or legacy:
            target_i = inf.directory / generation_name(inf.generation + 1)
            # Small row groups: a one-function query reads the few whose min/max name it (issue 6: lifetimes).
            consumed = sorted(consumed_i | set(prints_i))
            _commit(
                intervals,
                target_i,
                "compact.instances",
                consumed,
                row_group_rows=INTERVALS_ROW_GROUP,
                polls_seen=sorted(set(prints_p)),
            )
            done.append(
                TableCompaction(
                    "instances", day, "compacted", inf.generation + 1, intervals.num_rows, len(pending_i), str(target_i)
                )
            )
        else:
            done.append(TableCompaction("instances", day, "up-to-date", inf.generation))
        if pending_p:
            target_p = pf.directory / generation_name(pf.generation + 1)
            _commit(polls, target_p, "compact.polls", sorted(consumed_p | set(prints_p)))
            done.append(
                TableCompaction(
                    "polls", day, "compacted", pf.generation + 1, polls.num_rows, len(pending_p), str(target_p)
                )
            )
            for kind, data in build_rollups(con).items():
                atomic_write(data, pf.directory / rollup_name(kind, pf.generation + 1), step=f"compact.{kind}")
        else:
            done.append(TableCompaction("polls", day, "up-to-date", pf.generation))
    log.info("compacted dt=%s: %d polls, %d instance intervals", day, polls.num_rows, intervals.num_rows)
    return done


def _rollups_only(root: StorePath, pf: DayFiles) -> TableCompaction:
    """Derive the current polls generation's missing rollups (nothing else changes)."""
    assert pf.current is not None
    seed = str(seed_path(root, "polls"))
    inputs = DayInputs(
        day=pf.day,
        base_polls=[str(pf.current)],
        pending_polls=[seed],
        expand_polls=[seed],
        base_intervals=[str(seed_path(root, "instances", "compacted"))],
        pending_instances=[str(seed_path(root, "instances"))],
        replacing_polls=[seed],
        legacy_instances=[str(seed_path(root, "instances"))],
    )
    with builder() as con:
        register_filesystem(con, root)
        build_day(con, inputs)
        for kind, data in build_rollups(con).items():
            atomic_write(data, pf.directory / rollup_name(kind, pf.generation), step=f"compact.{kind}")
    return TableCompaction("polls", pf.day, "rollups", pf.generation)


def _compact_functions(root: StorePath, day: str) -> TableCompaction:
    files = day_files(root, "functions", day)
    if files.deleted:
        return TableCompaction("functions", day, "deleted-day", files.generation)
    pending, prints, consumed = _pending(files, None)
    if not pending:
        return TableCompaction("functions", day, "up-to-date" if files.current else "empty", files.generation)
    parts = [conform(read_table(path), "functions") for path in pending]
    if files.current is not None:
        base = conform(read_table(files.current), "functions")
        # A raw file of a refresh the generation already holds is a re-run: its rows replace the old ones.
        replaced = pa.concat_tables(parts).column("refreshed_at").unique()
        parts.insert(0, base.filter(pc.invert(pc.is_in(base.column("refreshed_at"), value_set=replaced))))
    merged = pa.concat_tables(parts).combine_chunks()
    merged = merged.take(pc.sort_indices(merged, sort_keys=[(c, "ascending") for c in _FUNCTIONS_SORT]))
    target = files.directory / generation_name(files.generation + 1)
    _commit(merged, target, "compact.functions", sorted(consumed | set(prints)))
    return TableCompaction(
        "functions", day, "compacted", files.generation + 1, merged.num_rows, len(pending), str(target)
    )


@dataclass
class SweepResult:
    removed: list[str] = field(default_factory=list)
    kept_for_readers: int = 0


def sweep(
    root: StorePath,
    days: Sequence[str] | None = None,
    *,
    raw_retention_s: float = 3600.0,
    temp_max_age_s: float = 3600.0,
) -> SweepResult:
    """Delete what the newest generations of ``days`` (default: every day) supersede once they are
    ``raw_retention_s`` old, and stale temp files.

    Deletion order per table: consumed raw files, then older generations and their rollups. All
    are invisible to readers already; the delay only protects queries that listed them before.
    """
    result = SweepResult()
    now = time.time()
    for table in COMPACT_ORDER:
        for d in days if days is not None else sorted(day_dirs(root, table)):
            files = day_files(root, table, d)
            if files.current is None or files.deleted:
                continue
            try:
                age = now - modified_at(files.current)
            except FileNotFoundError:
                continue
            consumed = _consumed(files.current)
            raw = [p for p in files.raw if _holds(consumed, p)]
            superseded = [p for _, p in files.generations[:-1]]
            superseded += [p for _, g, p in files.rollups if g < files.generation]
            if age < raw_retention_s:
                result.kept_for_readers += len(raw) + len(superseded)
                continue
            for path in raw + superseded:
                # A raw file is checked again just before it goes: a re-run written since the listing
                # is a new version that no generation holds yet.
                if (path not in raw or _holds(consumed, path)) and remove(path):
                    result.removed.append(relative(path, root))
                    crashpoint("sweep.removed_one")
    for tmp in stale_temp_files(root, temp_max_age_s):
        if remove(tmp):
            result.removed.append(relative(tmp, root))
    return result


def compact_day(
    root: RootLike, day: date | str, *, raw_retention_s: float = 3600.0, temp_max_age_s: float = 3600.0
) -> tuple[list[TableCompaction], SweepResult]:
    """Compact one UTC day of every table (idempotent: a day with nothing new is left as it is)."""
    root = as_root(root)
    d = day.isoformat() if isinstance(day, date) else day
    done = [*_compact_history(root, d), _compact_functions(root, d)]
    # The day just compacted keeps its raw files for raw_retention_s, and no later run compacts it
    # again: each run also sweeps the days before it, so those files go one run later.
    first = date.fromisoformat(d)
    days = [(first - timedelta(days=back)).isoformat() for back in range(SWEEP_BACK_DAYS, -1, -1)]
    return done, sweep(root, days, raw_retention_s=raw_retention_s, temp_max_age_s=temp_max_age_s)


def _stamp_of(path: StorePath) -> datetime:
    # Inventory refreshes are named to the microsecond (store.py).
    return datetime.strptime(path.stem.removeprefix("inventory-"), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)


def newest_inventory(directory: StorePath) -> pa.Table | None:
    """The newest inventory refresh stored in one ``functions/dt=`` directory, raw or compacted."""
    files = day_files(directory.parent.parent, "functions", directory.name.removeprefix("dt="))
    raw = files.raw[-1] if files.raw else None  # names sort by their UTC stamp
    compacted: pa.Table | None = None
    if files.current is not None and not files.deleted:
        table = conform(read_table(files.current), "functions")
        compacted = table if table.num_rows else None
    if compacted is not None:
        newest = pc.max(compacted.column("refreshed_at")).as_py()
        if raw is None or _stamp_of(raw) <= newest:
            return compacted.filter(
                pc.equal(
                    compacted.column("refreshed_at"), pa.scalar(newest, SCHEMAS["functions"].field("refreshed_at").type)
                )
            )
    return conform(read_table(raw), "functions") if raw is not None else None
