"""File operations of the store in one place, for a local directory or an object store (``s3://``).

Every step that changes what readers can see goes through here: atomic writes, unlinks, listings,
reads of whole files and the fingerprints compaction keeps of the raw files it consumed.

Atomic writes. Local root: a dot-prefixed temporary file (invisible to ``*.parquet`` globs),
fsync, rename. Object store (S3, Alibaba OSS): there is no rename, and none is needed: the file is
encoded in memory and sent as one PutObject carrying its Content-MD5. The store makes an object
visible only once the whole body has arrived and matched the digest, a reader sees the old object
or the new one (each ranged read is pinned to the ETag it started with), and listings are strongly
consistent; a writer killed mid-upload leaves nothing. So the commit points stay what they are on
disk: one file each (a tick's polls file, a compacted generation, a tombstone).

``crashpoint`` marks the named steps where the crash tests kill the process; it does nothing
unless ``FCCAP_TEST_HOOKS=1`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import s3fs
from upath import UPath

from pipelines.config import StoreSettings, store_settings_from_env

__all__ = [
    "ROW_GROUP_ROWS",
    "RootLike",
    "SessionS3FileSystem",
    "StorePath",
    "as_root",
    "atomic_write",
    "crashpoint",
    "day_dirs",
    "day_file_listing",
    "filesystem",
    "fingerprint",
    "fsync_dir",
    "is_remote",
    "modified_at",
    "read_metadata",
    "read_schema",
    "read_table",
    "register_filesystem",
    "relative",
    "remove",
    "remove_dir",
    "stale_temp_files",
]

# A local directory (pathlib) or an object-store location (UPath carrying the endpoint settings).
StorePath: TypeAlias = Path | UPath
# What callers may pass as a root: a path, a directory name, an s3:// URI, or a StorePath.
RootLike: TypeAlias = str | os.PathLike[str] | UPath

# DuckDB parallelises per row group of 122,880 rows; a few of them per group keeps scans wide
# without making footers or memory per group large (case C12).
ROW_GROUP_ROWS = 4 * 122_880
# One PutObject takes up to 5 GiB on S3 and OSS; s3fs switches to multipart at 2 x chunksize.
# Multipart would also be atomic (visible on Complete only), but one PUT keeps one code path.
_SINGLE_PUT_CHUNK = 5 * 2**30 // 2


def crashpoint(step: str) -> None:
    """Test hook: SIGKILL this process at ``step`` when FCCAP_CRASH_AT names it (test mode only)."""
    if os.environ.get("FCCAP_TEST_HOOKS") == "1" and os.environ.get("FCCAP_CRASH_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def as_root(root: RootLike, settings: StoreSettings | None = None) -> StorePath:
    """The store root as a path object: a local ``Path``, or a ``UPath`` for ``s3://bucket/prefix``.

    A URI without ``settings`` takes them from the FCCAP_STORE_* environment variables (read now,
    never at import). An existing UPath keeps the settings it was made with.
    """
    if isinstance(root, UPath) and not isinstance(root, Path):
        return root
    text = os.fspath(root) if not isinstance(root, str) else root
    if "://" not in text:
        return Path(text)
    chosen = settings if settings is not None else store_settings_from_env()
    uri = chosen.check_root(text)
    return UPath(uri, **chosen.storage_options())


def relative(path: StorePath, root: StorePath) -> str:
    """``path`` below ``root`` as ``table/dt=.../name`` (for logs and metadata)."""
    if isinstance(path, Path) and isinstance(root, Path):
        return str(path.relative_to(root))
    if isinstance(path, UPath) and isinstance(root, UPath):
        return str(path.relative_to(root))
    raise ValueError(f"{path} and {root} are not on the same kind of store")


def is_remote(path: StorePath) -> bool:
    return not isinstance(path, Path)


def filesystem(root: StorePath) -> fsspec.AbstractFileSystem | None:
    """The fsspec filesystem behind an object-store root, None for a local one."""
    return None if isinstance(root, Path) else root.fs


def register_filesystem(con: duckdb.DuckDBPyConnection, root: StorePath) -> None:
    """Let a DuckDB session read the files of ``root`` by their URIs (nothing to do for a local root).

    DuckDB hands every ``s3://`` path of the session to this filesystem, so the session reads with the
    store's endpoint, addressing style and credentials chain; the httpfs extension is not needed."""
    if isinstance(root, Path):
        return
    # DuckDB's external file cache validates cached byte ranges by modification time, which an
    # object store keeps to the second; the session's ETag pins (below) are the validation instead.
    con.execute("set enable_external_file_cache = false")
    if root.protocol not in con.list_filesystems():
        con.register_filesystem(SessionS3FileSystem(**root.storage_options, skip_instance_cache=True))


class SessionS3FileSystem(s3fs.S3FileSystem):
    """s3fs for one DuckDB session: every object is read at the version (ETag) the session first saw.

    DuckDB opens a Parquet file several times per query (footer, then column chunks), and s3fs
    pins each open handle to the ETag it found at that open. An object replaced in place between
    two opens (a re-run tick, a re-materialized report) would give the footer of one version and
    the pages of another. Here the first ``info`` of a file pins its details for the session; every
    later open reads with ``If-Match`` on that ETag, so a replaced object fails the read (412,
    FileExpired) instead of mixing versions. Sessions are short (one report, one check)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pins: dict[str, dict[str, Any]] = {}

    async def _info(self, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        key = str(self._strip_protocol(path))
        pinned = self._pins.get(key)
        if pinned is not None:
            return pinned
        info = await super()._info(path, *args, **kwargs)
        if info.get("type") == "file" and "ETag" in info:
            self._pins[key] = info
        return info


def _key(path: UPath) -> str:
    # The fsspec path (bucket/key), what the filesystem's methods take.
    return path.path


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable (POSIX: the directory entry needs its own fsync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_WRITE_ID_KEY = b"fccap.write_id"


def atomic_write(data: pa.Table, path: StorePath, *, step: str, row_group_rows: int | None = None) -> None:
    """Write ``data`` at ``path``: readers see the old file or the new one, never a part."""
    rows = row_group_rows or ROW_GROUP_ROWS
    # Every write is a new version even when its rows repeat: an object store names a version by its
    # ETag (the body's MD5), and the compactor tells raw files apart by it (fingerprint).
    data = data.replace_schema_metadata({**(data.schema.metadata or {}), _WRITE_ID_KEY: uuid.uuid4().hex})
    if isinstance(path, Path):
        _write_local(data, path, step=step, rows=rows)
    else:
        _put_object(data, path, step=step, rows=rows)


def _write_local(data: pa.Table, path: Path, *, step: str, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(data, fh, compression="zstd", row_group_size=rows)
            fh.flush()
            os.fsync(fh.fileno())
        crashpoint(f"{step}.tmp_written")
        os.replace(tmp, path)
        fsync_dir(path.parent)
        crashpoint(f"{step}.committed")
    finally:
        tmp.unlink(missing_ok=True)


def _put_object(data: pa.Table, path: UPath, *, step: str, rows: int) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(data, sink, compression="zstd", row_group_size=rows)
    body = sink.getvalue().to_pybytes()
    # The store checks the digest before the object exists: a truncated or altered body is refused.
    md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode("ascii")
    crashpoint(f"{step}.encoded")
    path.fs.pipe_file(_key(path), body, chunksize=_SINGLE_PUT_CHUNK, ContentMD5=md5)
    crashpoint(f"{step}.committed")


def read_table(path: StorePath, **kwargs: Any) -> pa.Table:
    """One whole Parquet file as Arrow."""
    if isinstance(path, Path):
        return pq.read_table(path, **kwargs)
    return pq.read_table(_key(path), filesystem=path.fs, **kwargs)


def read_metadata(path: StorePath) -> pq.FileMetaData:
    if isinstance(path, Path):
        return pq.read_metadata(path)
    with path.fs.open(_key(path), "rb") as fh:
        return pq.read_metadata(fh)


def read_schema(path: StorePath) -> pa.Schema:
    """A Parquet file's Arrow schema (from its footer only)."""
    if isinstance(path, Path):
        return pq.read_schema(path)
    with path.fs.open(_key(path), "rb") as fh:
        return pq.read_schema(fh)


def fingerprint(path: StorePath) -> list[str | int]:
    """What identifies one version of a raw file: [name, size, mtime_ns] on disk, [name, size, ETag] on
    an object store (LastModified has 1 s resolution there, so a re-run within that second would match;
    the ETag changes with the content). Raises FileNotFoundError when the file is gone."""
    if isinstance(path, Path):
        st = path.stat()
        return [path.name, st.st_size, st.st_mtime_ns]
    info = path.fs.info(_key(path))
    return [path.name, int(info["size"]), str(info.get("ETag", "")).strip('"')]


def modified_at(path: StorePath) -> float:
    """Last modification, seconds since the epoch (the object's LastModified on a store)."""
    return path.stat().st_mtime


def remove(path: StorePath) -> bool:
    """Unlink one file; True when it existed."""
    if isinstance(path, Path):
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True
    # DeleteObject answers 204 whether or not the key existed: ask first, to report honestly.
    key = _key(path)
    if not path.fs.exists(key):
        return False
    path.fs.rm_file(key)
    return True


def remove_dir(path: StorePath) -> bool:
    """Remove an empty ``dt=`` directory; object stores have no directories (True: nothing left)."""
    if not isinstance(path, Path):
        return True
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def day_file_listing(root: StorePath, tables: Sequence[str], days: Sequence[str]) -> list[str]:
    """Every Parquet file of those tables' ``dt=`` directories of ``days``, named as DuckDB's glob
    names them (absolute paths; ``s3://bucket/key``): one listing per (table, day), not the store."""
    out: list[str] = []
    for table in tables:
        for day in days:
            directory = root / table / f"dt={day}"
            if isinstance(directory, Path):
                out += [str(p) for p in sorted(directory.resolve().glob("*.parquet"))]
                continue
            try:
                entries = directory.fs.ls(_key(directory), detail=True)
            except FileNotFoundError:
                continue
            out += sorted(
                f"s3://{entry['name']}"
                for entry in entries
                if entry["type"] == "file" and str(entry["name"]).endswith(".parquet")
            )
    return out


def day_dirs(root: StorePath, table: str) -> dict[str, StorePath]:
    """``{"2026-12-03": path}`` for every ``dt=`` directory of a table."""
    base = root / table
    if isinstance(base, Path):
        if not base.is_dir():
            return {}
        return {p.name.removeprefix("dt="): p for p in sorted(base.glob("dt=*")) if p.is_dir()}
    # One LIST with a delimiter: the common prefixes are the days.
    try:
        entries = base.fs.ls(_key(base), detail=True)
    except FileNotFoundError:
        return {}
    out: dict[str, StorePath] = {}
    for entry in entries:
        name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
        if entry["type"] == "directory" and name.startswith("dt="):
            out[name.removeprefix("dt=")] = base / name
    return dict(sorted(out.items()))


def stale_temp_files(root: StorePath, older_than_s: float) -> list[StorePath]:
    """Temporary files left by a killed writer; younger ones may belong to a writer still running.

    Object stores have none: an upload that never completed never became an object."""
    if not isinstance(root, Path):
        return []
    cutoff = time.time() - older_than_s
    out: list[StorePath] = []
    for tmp in root.glob("*/dt=*/.*.tmp"):
        try:
            if tmp.stat().st_mtime <= cutoff:
                out.append(tmp)
        except FileNotFoundError:
            continue
    return out
