"""File operations of the store in one place (the object-storage version replaces this module).

Every step that changes what readers can see goes through here: atomic writes (dot-prefixed
temporary name, fsync, rename), unlinks, listings. ``crashpoint`` marks the named steps where the
crash tests kill the process; it does nothing unless ``FCCAP_TEST_HOOKS=1`` is set.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "ROW_GROUP_ROWS",
    "atomic_write",
    "crashpoint",
    "day_dirs",
    "fsync_dir",
    "remove",
    "stale_temp_files",
]

# DuckDB parallelises per row group of 122,880 rows; a few of them per group keeps scans wide
# without making footers or memory per group large (case C12).
ROW_GROUP_ROWS = 4 * 122_880


def crashpoint(step: str) -> None:
    """Test hook: SIGKILL this process at ``step`` when FCCAP_CRASH_AT names it (test mode only)."""
    if os.environ.get("FCCAP_TEST_HOOKS") == "1" and os.environ.get("FCCAP_CRASH_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable (POSIX: the directory entry needs its own fsync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(data: pa.Table, path: Path, *, step: str, row_group_rows: int | None = None) -> None:
    """Write ``data`` at ``path``: readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(data, fh, compression="zstd", row_group_size=row_group_rows or ROW_GROUP_ROWS)
            fh.flush()
            os.fsync(fh.fileno())
        crashpoint(f"{step}.tmp_written")
        os.replace(tmp, path)
        fsync_dir(path.parent)
        crashpoint(f"{step}.committed")
    finally:
        tmp.unlink(missing_ok=True)


def remove(path: Path) -> bool:
    """Unlink one file; True when it existed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def day_dirs(root: Path, table: str) -> dict[str, Path]:
    """``{"2026-12-03": path}`` for every ``dt=`` directory of a table."""
    base = root / table
    if not base.is_dir():
        return {}
    return {p.name.removeprefix("dt="): p for p in sorted(base.glob("dt=*")) if p.is_dir()}


def stale_temp_files(root: Path, older_than_s: float) -> list[Path]:
    """Temporary files left by a killed writer; younger ones may belong to a writer still running."""
    cutoff = time.time() - older_than_s
    out: list[Path] = []
    for tmp in root.glob("*/dt=*/.*.tmp"):
        try:
            if tmp.stat().st_mtime <= cutoff:
                out.append(tmp)
        except FileNotFoundError:
            continue
    return out
