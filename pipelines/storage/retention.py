"""History retention: drop whole UTC days, atomically for readers.

Dropping a day takes two runs. First a zero-row tombstone generation
(``compacted-g<N+1>-deleted.parquet``) is committed for each table: from that rename on, the views
read the day as empty (its newest generation holds no rows, and hides every raw file's tick).
Once the tombstone is ``grace_s`` old (so no query still holds the old listing), a later run
unlinks the day's other files and then the tombstone. The same on an object store: the
tombstone is one PutObject, the purge is deletes (pipelines/storage/files.py). A crash anywhere leaves a state the views
read as either the whole day or nothing; compaction never resurrects a tombstoned day.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date

from pipelines.storage.compactor import COMPACT_ORDER, day_files, generation_name
from pipelines.storage.files import (
    RootLike,
    as_root,
    atomic_write,
    crashpoint,
    day_dirs,
    modified_at,
    remove,
    remove_dir,
)
from pipelines.storage.schemas import SCHEMAS

__all__ = ["RetentionResult", "apply_retention"]

log = logging.getLogger(__name__)
SEED_DT = "1970-01-01"  # the zero-row schema seed day (store.py): never dropped


@dataclass
class RetentionResult:
    tombstoned: list[str] = field(default_factory=list)  # "table/dt=..."
    purged: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def apply_retention(root: RootLike, keep_from: date, *, grace_s: float = 3600.0) -> RetentionResult:
    """Drop every day before ``keep_from`` (UTC dates) in every table; the schema seed stays."""
    root = as_root(root)
    result = RetentionResult()
    now = time.time()
    cutoff = keep_from.isoformat()
    for table in COMPACT_ORDER:
        for day in sorted(day_dirs(root, table)):
            if day == SEED_DT or day >= cutoff:
                continue
            files = day_files(root, table, day)
            where = f"{table}/dt={day}"
            if not files.deleted:
                atomic_write(
                    SCHEMAS[table].empty_table(),
                    files.directory / generation_name(files.generation + 1, deleted=True),
                    step=f"retention.{table}",
                )
                result.tombstoned.append(where)
                continue
            tombstone = files.current
            assert tombstone is not None
            if now - modified_at(tombstone) < grace_s:
                result.waiting.append(where)
                continue
            others = [p for p in files.directory.iterdir() if p != tombstone]
            for path in others:
                remove(path)
                crashpoint("retention.removed_one")
            remove(tombstone)
            if not remove_dir(files.directory):  # a file arrived meanwhile; the next run sees it
                log.warning("%s not empty after purge; left for the next run", where)
            result.purged.append(where)
    return result
