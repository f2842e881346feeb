"""Daily compaction of closed days: per table, one sorted zstd file per day replaces the raw files.

Commit point, per (table, day): the compactor writes ``compacted-g<N>.parquet`` atomically
(temporary name, fsync, rename). The views read a day's newest generation plus the raw files
whose key (``tick_at`` / ``refreshed_at``) that generation does not hold, so at every instant a
reader sees each tick once: from the raw files before the rename, from the compacted file after.
Superseded files (raw files the generation consumed, older generations) stay until the commit is
``raw_retention_s`` old, so a query that listed them before the commit can still open them;
a later run deletes them. A raw file the generation did not consume (a late tick, a re-run
after compaction) stays visible and makes the next run write generation N+1. The consumed files
are listed, with size and mtime, in the compacted file's metadata. Crash at any step: the files
on disk are always a state the views read correctly, and the next run finishes the work.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.parquet as pq

from pipelines.storage.files import atomic_write, crashpoint, day_dirs, remove, stale_temp_files
from pipelines.storage.schemas import SCHEMA_VERSION, SCHEMAS

__all__ = [
    "COMPACT_ORDER",
    "KEY_COLUMN",
    "RAW_PREFIX",
    "DayFiles",
    "SweepResult",
    "TableCompaction",
    "compact_day",
    "conform",
    "day_files",
    "generation_name",
    "sweep",
]

log = logging.getLogger(__name__)
pc: Any = _pc  # pyarrow.compute generates its functions at import; the stubs do not list them

# instances before polls: the same order as a tick write, so a poll row never precedes its instances.
COMPACT_ORDER = ("instances", "polls", "functions")
RAW_PREFIX = {"polls": "tick-", "instances": "tick-", "functions": "inventory-"}
KEY_COLUMN = {"polls": "tick_at", "instances": "tick_at", "functions": "refreshed_at"}
_IDENTITY = ["account_id", "region", "service_name", "function_name"]
SORT_KEYS = {
    "polls": [*_IDENTITY, "qualifier", "tick_at"],
    "instances": [*_IDENTITY, "qualifier", "tick_at", "instance_id"],
    "functions": [*_IDENTITY, "refreshed_at"],
}
_GENERATION = re.compile(r"^compacted-g(\d{6})(-deleted)?\.parquet$")
_CONSUMED_KEY = b"fccap.consumed"


def generation_name(generation: int, *, deleted: bool = False) -> str:
    # Zero-padded so that the newest generation is also the greatest name (the views take max()).
    return f"compacted-g{generation:06d}{'-deleted' if deleted else ''}.parquet"


@dataclass(frozen=True)
class DayFiles:
    table: str
    day: str
    directory: Path
    generations: list[tuple[int, Path]]  # ascending
    raw: list[Path]

    @property
    def current(self) -> Path | None:
        return self.generations[-1][1] if self.generations else None

    @property
    def generation(self) -> int:
        return self.generations[-1][0] if self.generations else 0

    @property
    def deleted(self) -> bool:
        return self.current is not None and self.current.name.endswith("-deleted.parquet")


def day_files(root: Path, table: str, day: str) -> DayFiles:
    directory = root / table / f"dt={day}"
    generations: list[tuple[int, Path]] = []
    raw: list[Path] = []
    if directory.is_dir():
        for path in sorted(directory.glob("*.parquet")):
            m = _GENERATION.match(path.name)
            if m:
                generations.append((int(m.group(1)), path))
            elif path.name.startswith(RAW_PREFIX[table]):
                raw.append(path)
    generations.sort()
    return DayFiles(table, day, directory, generations, raw)


def _fingerprint(path: Path) -> list[str | int]:
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def _consumed(current: Path | None) -> set[tuple[str, int, int]]:
    if current is None:
        return set()
    meta = pq.read_metadata(current).metadata or {}
    raw = meta.get(_CONSUMED_KEY)
    return {(str(n), int(s), int(m)) for n, s, m in json.loads(raw)} if raw else set()


def _stamp_of(path: Path, table: str) -> datetime:
    stamp = path.stem.removeprefix(RAW_PREFIX[table])
    # Ticks are named to the second; inventory refreshes to the microsecond (store.py).
    fmt = "%Y%m%dT%H%M%S%fZ" if len(stamp) > len("20261203T120000Z") else "%Y%m%dT%H%M%SZ"
    return datetime.strptime(stamp, fmt).replace(tzinfo=UTC)


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
    action: str  # compacted | up-to-date | empty | deleted-day
    generation: int = 0
    rows: int = 0
    files_in: int = 0
    path: str | None = None


def _pending(files: DayFiles, committed_polls: set[str] | None) -> tuple[list[Path], set[tuple[str, int, int]]]:
    consumed = _consumed(files.current)
    pending = []
    for path in files.raw:
        try:
            fp = tuple(_fingerprint(path))
        except FileNotFoundError:
            continue
        if fp in consumed:
            continue
        # An instances file whose tick has no polls file yet is an unfinished tick write: not data.
        if committed_polls is not None and path.name not in committed_polls:
            continue
        pending.append(path)
    return pending, consumed


def _compact_table(root: Path, table: str, day: str) -> TableCompaction:
    files = day_files(root, table, day)
    if files.deleted:
        return TableCompaction(table, day, "deleted-day", files.generation)
    committed = {p.name for p in day_files(root, "polls", day).raw} if table == "instances" else None
    pending, consumed = _pending(files, committed)
    if not pending:
        return TableCompaction(table, day, "up-to-date" if files.current else "empty", files.generation)
    key = KEY_COLUMN[table]
    parts: list[pa.Table] = []
    fingerprints = [list(c) for c in sorted(consumed)]
    replaced: list[datetime] = []
    for path in pending:
        fingerprints.append(_fingerprint(path))
        parts.append(conform(pq.read_table(path), table))
        replaced.append(_stamp_of(path, table))
    if files.current is not None:
        base = conform(pq.read_table(files.current), table)
        # A raw file of a tick the generation already holds is a re-run: its rows replace the old ones.
        keep = pc.invert(pc.is_in(base.column(key), value_set=pa.array(replaced, type=SCHEMAS[table].field(key).type)))
        parts.insert(0, base.filter(keep))
    # One contiguous table, then one permutation: sorting thousands of small chunks in place
    # costs several times the data in temporary buffers.
    merged = pa.concat_tables(parts).combine_chunks()
    del parts
    merged = merged.take(pc.sort_indices(merged, sort_keys=[(c, "ascending") for c in SORT_KEYS[table]]))
    merged = merged.replace_schema_metadata(
        {"fccap.schema_version": SCHEMA_VERSION, _CONSUMED_KEY.decode(): json.dumps(fingerprints)}
    )
    generation = files.generation + 1
    target = files.directory / generation_name(generation)
    atomic_write(merged, target, step=f"compact.{table}")
    log.info("compacted %s dt=%s: %d files -> %s (%d rows)", table, day, len(pending), target.name, merged.num_rows)
    return TableCompaction(table, day, "compacted", generation, merged.num_rows, len(pending), str(target))


@dataclass
class SweepResult:
    removed: list[str] = field(default_factory=list)
    kept_for_readers: int = 0


def sweep(
    root: Path, day: str | None = None, *, raw_retention_s: float = 3600.0, temp_max_age_s: float = 3600.0
) -> SweepResult:
    """Delete what the newest generations supersede once they are ``raw_retention_s`` old, and stale temp files.

    Deletion order per table: consumed raw files, then older generations. Both are invisible to
    readers already; the delay only protects queries that listed them before the commit.
    """
    result = SweepResult()
    now = time.time()
    for table in COMPACT_ORDER:
        days = [day] if day else sorted(day_dirs(root, table))
        for d in days:
            files = day_files(root, table, d)
            if files.current is None or files.deleted:
                continue
            try:
                age = now - files.current.stat().st_mtime
            except FileNotFoundError:
                continue
            consumed = _consumed(files.current)
            superseded = [p for p in files.raw if p.exists() and tuple(_fingerprint(p)) in consumed]
            superseded += [p for _, p in files.generations[:-1]]
            if age < raw_retention_s:
                result.kept_for_readers += len(superseded)
                continue
            for path in superseded:
                if remove(path):
                    result.removed.append(str(path.relative_to(root)))
                    crashpoint("sweep.removed_one")
    for tmp in stale_temp_files(root, temp_max_age_s):
        if remove(tmp):
            result.removed.append(str(tmp.relative_to(root)))
    return result


def compact_day(
    root: str | Path, day: date | str, *, raw_retention_s: float = 3600.0, temp_max_age_s: float = 3600.0
) -> tuple[list[TableCompaction], SweepResult]:
    """Compact one UTC day of every table (idempotent: a day with nothing new is left as it is)."""
    root = Path(root)
    d = day.isoformat() if isinstance(day, date) else day
    done = [_compact_table(root, table, d) for table in COMPACT_ORDER]
    return done, sweep(root, d, raw_retention_s=raw_retention_s, temp_max_age_s=temp_max_age_s)


def newest_inventory(directory: Path) -> pa.Table | None:
    """The newest inventory refresh stored in one ``functions/dt=`` directory, raw or compacted."""
    files = day_files(directory.parent.parent, "functions", directory.name.removeprefix("dt="))
    raw = files.raw[-1] if files.raw else None  # names sort by their UTC stamp
    compacted: pa.Table | None = None
    if files.current is not None and not files.deleted:
        table = conform(pq.read_table(files.current), "functions")
        compacted = table if table.num_rows else None
    if compacted is not None:
        newest = pc.max(compacted.column("refreshed_at")).as_py()
        if raw is None or _stamp_of(raw, "functions") <= newest:
            return compacted.filter(
                pc.equal(
                    compacted.column("refreshed_at"), pa.scalar(newest, SCHEMAS["functions"].field("refreshed_at").type)
                )
            )
    return conform(pq.read_table(raw), "functions") if raw is not None else None
