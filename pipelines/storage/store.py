"""The Parquet store: hive ``dt=`` layout, atomic per-tick files and the latest inventory.

The root is a local directory or an object-store URI (``s3://bucket/prefix``; pipelines/storage/files.py).
Layout under the root (one directory, or key prefix, per table)::

    polls/dt=2026-12-03/tick-20261203T120000Z.parquet
    instances/dt=2026-12-03/tick-20261203T120000Z.parquet
    polls/dt=2026-12-03/tick-20261203T120000Z-1234567890-cn-hangzhou.parquet   one (account, region)
    instances/dt=2026-12-03/tick-20261203T120000Z-1234567890-cn-hangzhou.parquet   of a fanned-out tick
    functions/dt=2026-12-03/inventory-20261203T115500123456Z.parquet
    <table>/dt=1970-01-01/_schema-v1.parquet      zero rows, pins the schema so an empty
                                                  store reads as typed empty tables (C15)

Every file is written atomically (files.atomic_write: a temporary name and a rename on disk, one
PutObject on an object store): a reader sees the old file or the new one, never a part.
Re-running a tick replaces its files instead of adding rows (C18). Names come only from
timestamps and, for one target's share of a tick, its numeric account id and its validated
region id, never from service or function names.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.config import StoreSettings
from pipelines.storage.compactor import newest_inventory
from pipelines.storage.files import RootLike, StorePath, as_root, atomic_write, day_dirs, modified_at, remove
from pipelines.storage.schemas import SCHEMAS, SEED_DT, SEEDS

__all__ = ["ParquetStore", "WrittenFile", "table_from_frame", "tick_file_name"]

# A temporary file this old has no live writer (a tick writes in well under a second).
LEFTOVER_AGE_S = 600.0


@dataclass(frozen=True)
class WrittenFile:
    table: str
    path: StorePath
    rows: int


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


_ACCOUNT = re.compile(r"^[0-9]{1,32}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+$")


def tick_file_name(tick_at: datetime, target: tuple[str, str] | None = None) -> str:
    """``tick-<stamp>.parquet``, or ``tick-<stamp>-<account>-<region>.parquet`` for one (account, region)
    of a fanned-out tick: the 16-character stamp always follows the prefix, so it parses alone."""
    if target is None:
        return f"tick-{_stamp(tick_at)}.parquet"
    account_id, region = target
    if not (_ACCOUNT.match(account_id) and _REGION.match(region)):
        raise ValueError(f"not a safe file name part: account {account_id!r}, region {region!r}")
    return f"tick-{_stamp(tick_at)}-{account_id}-{region}.parquet"


def table_from_frame(frame: pd.DataFrame, table: str) -> pa.Table:
    """Cast a frame to its table's exact schema; a missing or extra column is a bug, not data."""
    schema = SCHEMAS[table]
    if list(frame.columns) != schema.names:
        raise ValueError(f"{table} frame columns {list(frame.columns)} differ from the schema {schema.names}")
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


class ParquetStore:
    def __init__(self, root: RootLike, settings: StoreSettings | None = None) -> None:
        self.root: StorePath = as_root(root, settings)

    def ensure(self) -> None:
        """Create the table directories and their zero-row schema files (idempotent)."""
        for (table, _), (name, schema) in SEEDS.items():
            seed = self.root / table / f"dt={SEED_DT}" / name
            if not seed.exists():
                atomic_write(schema.empty_table(), seed, step=f"write.{table}")

    def write_tick(
        self,
        tick_at: datetime,
        polls: pd.DataFrame,
        instances: pd.DataFrame,
        *,
        target: tuple[str, str] | None = None,
    ) -> list[WrittenFile]:
        """Write one tick, or one (account, region) ``target`` of it; instances first, so a poll row
        never points at instances still missing."""
        self.ensure()
        self._clean_leftovers(tick_at)
        name = tick_file_name(tick_at, target)
        return [
            self._write("instances", tick_at, name, instances),
            self._write("polls", tick_at, name, polls),
        ]

    def _clean_leftovers(self, at: datetime) -> None:
        """Remove temporary files a killed writer left in this tick's day (older days: the compactor).

        Local roots only: on an object store an upload that never completed never became an object."""
        if not isinstance(self.root, Path):
            return
        dt = at.astimezone(UTC).date().isoformat()
        cutoff = time.time() - LEFTOVER_AGE_S
        for table in ("instances", "polls"):
            for tmp in (self.root / table / f"dt={dt}").glob(".*.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    if modified_at(tmp) <= cutoff:
                        remove(tmp)

    def write_inventory(self, refreshed_at: datetime, functions: pd.DataFrame) -> WrittenFile:
        self.ensure()
        # Microseconds in the name: two refreshes within one second must not replace each other.
        stamp = refreshed_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return self._write("functions", refreshed_at, f"inventory-{stamp}.parquet", functions)

    def latest_inventory(self) -> pd.DataFrame | None:
        """The newest inventory refresh, or None before the first one."""
        days = day_dirs(self.root, "functions")
        for _, day in sorted(((d, p) for d, p in days.items() if d != SEED_DT), reverse=True):
            # A compacted day holds its refreshes in compacted-g<N>.parquet (pipelines/storage/compactor.py).
            newest = newest_inventory(day)
            if newest is not None:
                return newest.to_pandas(types_mapper=pd.ArrowDtype)
        return None

    def _write(self, table: str, at: datetime, name: str, frame: pd.DataFrame) -> WrittenFile:
        dt = at.astimezone(UTC).date().isoformat()
        path = self.root / table / f"dt={dt}" / name
        data = table_from_frame(frame, table)
        atomic_write(data, path, step=f"write.{table}")
        return WrittenFile(table, path, data.num_rows)
