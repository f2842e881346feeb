"""DuckDB sessions over the store: UTC, views defined, SQL loaded from sql/ and bound.

The pipeline never keeps a DuckDB file open: every session is an in-memory database that
reads the Parquet files, so any number of readers run beside ticks (case C16).

The root reaches SQL only as a bound value: ``set file_search_path = ?`` for a directory, or
``set variable fccap_root = ?`` for an object store (sql/snapshot.sql). An ``s3://`` root is read
through the store's own fsspec filesystem (s3fs, with the endpoint and addressing style of the
store settings), registered on each connection: no DuckDB extension is needed.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.storage.files import RootLike, day_file_listing, register_filesystem
from pipelines.storage.schemas import SCHEMAS, SEED_DT
from pipelines.storage.store import ParquetStore

__all__ = [
    "FILTERS",
    "PRICES",
    "REPORTS",
    "SQL_DIR",
    "bind_views",
    "connect",
    "explain_sql_error",
    "load_prices",
    "load_sql",
    "report_parameters",
    "report_table",
    "run_report",
    "uses_prices",
    "write_catalog",
]

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
REPORTS = {
    "capacity-hourly": "capacity_hourly",
    "instance-lifetimes": "instance_lifetimes",
    "churn-hourly": "churn_hourly",
    "version-spread": "version_spread",
    "idle-functions": "idle_functions",
    "peak-concurrency": "peak_concurrency",
    "coverage-daily": "coverage_daily",
    "gaps": "gaps",
    "cost-daily": "cost_daily",
}
PRICES = SQL_DIR / "prices.csv"
FILTERS = ("since", "until", "account", "region", "service", "function")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)


@cache
def load_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def connect(
    root: RootLike, database: str = ":memory:", *, days: Sequence[date] | None = None
) -> duckdb.DuckDBPyConnection:
    """A session over the store as it is now; with ``days``, over those UTC days only (the views
    hold nothing else), so what a check costs does not grow with the history behind it."""
    store = ParquetStore(root)
    store.ensure()
    con = duckdb.connect(database)
    con.execute("set timezone = 'UTC'")
    if isinstance(store.root, Path):
        con.execute("set file_search_path = ?", [str(store.root.resolve())])
        # Every view unions its files by name, so each query re-read every footer at bind: cache them
        # (make bench: bind of instance lifetimes 13.7 -> 7.1 ms). DuckDB checks each file's version
        # (modification time and identity) before using an entry, so a replaced tick file is re-read.
        con.execute("set parquet_metadata_cache = true")
    else:
        # file_search_path applies to local paths only; on an object store the snapshot's paths start
        # at fccap_root, read through the store's filesystem (files.register_filesystem).
        register_filesystem(con, store.root)
        con.execute("set variable fccap_root = ?", [str(store.root)])
    if days is not None:
        listed = sorted({d.isoformat() for d in days} | {SEED_DT})
        con.execute("set variable fccap_listing = ?", [day_file_listing(store.root, list(SCHEMAS), listed)])
        con.execute("set variable fccap_glob = ?", [_path_in(store.root, "none/dt=0000-00-00/*.parquet")])
    bind_views(con)
    return con


def _path_in(root: Path | Any, relative: str) -> str:
    """A path as sql/snapshot.sql's _fccap_path makes it (relative on disk, under the root on a store)."""
    return relative if isinstance(root, Path) else f"{root}/{relative}"


def bind_views(con: duckdb.DuckDBPyConnection) -> None:
    """Define the views over the files a reader sees now (sql/snapshot.sql; file_search_path or
    fccap_root = the root)."""
    con.execute(load_sql("snapshot"))
    con.execute(load_sql("rollups"))
    con.execute(load_sql("views"))


def load_prices(con: duckdb.DuckDBPyConnection, prices: str | Path | None = None) -> None:
    """The user's price table (default sql/prices.csv, example list prices) as the temp table `prices`."""
    path = Path(prices) if prices else PRICES
    if not path.is_file():
        raise ValueError(f"price table {path} not found; fix: pass --prices FILE (columns as in sql/prices.csv)")
    table = _checked_prices(path)
    con.register("_fccap_prices", table)
    con.execute("create or replace temp table prices as select * from _fccap_prices")
    con.unregister("_fccap_prices")
    if "*" not in table.column("region").to_pylist():
        # Without a '*' row, a region the store holds but the table lacks would cost NULL, silently.
        held = {r for (r,) in con.execute("select distinct region from functions").fetchall()}
        missing = sorted(held - set(table.column("region").to_pylist()))
        if missing:
            raise ValueError(
                f"price table {path}: no price for region(s) {', '.join(missing)}; "
                "fix: add a row for each, or a '*' row for any other region"
            )


_PRICE_COLUMNS = ("region", "currency", "vcpu_second", "memory_gb_second", "disk_gb_second", "gpu_gb_second")


def _checked_prices(path: Path) -> pa.Table:
    """The price CSV as typed columns, or a ValueError naming the file, the line or column, and the fix."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
        header = list(rows[0]) if rows else []
    missing = [c for c in _PRICE_COLUMNS if c not in header]
    if missing or not rows:
        what = f"missing column(s) {', '.join(missing)}" if missing else "no price rows"
        raise ValueError(
            f"price table {path}: {what}; fix: use the columns of sql/prices.csv ({', '.join(_PRICE_COLUMNS)})"
        )
    out: dict[str, list[Any]] = {c: [] for c in _PRICE_COLUMNS}
    for line, row in enumerate(rows, start=2):
        for c in _PRICE_COLUMNS:
            value = (row[c] or "").strip()
            if c in ("region", "currency"):
                if not value:
                    raise ValueError(f"price table {path}, line {line}: {c} is empty; fix: give one")
                out[c].append(value)
                continue
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if not 0 <= number < float("inf"):
                raise ValueError(f"price table {path}, line {line}: {c} {value!r} is not a price; fix: a number >= 0")
            out[c].append(number)
    dupes = sorted({r for r in out["region"] if out["region"].count(r) > 1})
    if dupes:
        raise ValueError(f"price table {path}: region(s) {', '.join(dupes)} listed twice; fix: one row per region")
    return pa.table(out)


def report_parameters(name: str) -> list[str]:
    """The bound parameters a report's SQL names, in the order of FILTERS."""
    sql = load_sql(REPORTS[name])
    return [k for k in FILTERS if f"${k}" in sql]


def uses_prices(name: str) -> bool:
    return "join prices" in load_sql(REPORTS[name])


def _bound(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    defaults = {"since": _EPOCH, "until": _FAR, "account": None, "region": None, "service": None, "function": None}
    # DuckDB rejects parameters a statement does not use: bind exactly the ones the report names.
    used = set(report_parameters(name))
    return {k: v for k, v in {**defaults, **params}.items() if k in used}


def run_report(
    root: RootLike, name: str, params: Mapping[str, Any], *, prices: str | Path | None = None
) -> pd.DataFrame:
    if name not in REPORTS:
        raise KeyError(name)
    with connect(root) as con:
        if uses_prices(name):
            load_prices(con, prices)
        return con.execute(load_sql(REPORTS[name]), _bound(name, params)).df()


def report_table(root: RootLike, name: str, params: Mapping[str, Any], *, prices: str | Path | None = None) -> pa.Table:
    """The report as Arrow, with DuckDB's exact types (for Parquet output: no pandas round trip)."""
    if name not in REPORTS:
        raise KeyError(name)
    with connect(root) as con:
        if uses_prices(name):
            load_prices(con, prices)
        return con.sql(load_sql(REPORTS[name]), params=_bound(name, params)).to_arrow_table()


def _views(con: duckdb.DuckDBPyConnection) -> list[str]:
    # Views named _* are plumbing of the public ones (sql/views.sql).
    rows = con.execute(
        "select view_name from duckdb_views() where not internal and not starts_with(view_name, '_') order by view_name"
    ).fetchall()
    return [r[0] for r in rows]


def explain_sql_error(con: duckdb.DuckDBPyConnection, error: duckdb.Error) -> str:
    """One line for an unknown table or column: DuckDB's message, its suggestion, and what exists."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    head = lines[0].rstrip("!") if lines else type(error).__name__
    views = _views(con)
    table = re.search(r"Table with name (\S+) does not exist", head)
    if table:
        guess = next((m.group(1) for line in lines[1:] if (m := re.match(r'Did you mean "([^"]+)"', line))), None)
        hint = f' (did you mean "{guess}"?)' if guess in views else ""
        return f"{head}{hint}; the views are: {', '.join(views)}"
    column = re.search(r'Referenced column "([^"]+)" not found', head)
    if column:
        candidates = next((line.split(":", 1)[1].strip() for line in lines[1:] if line.startswith("Candidate")), "")
        hint = f"; closest columns: {candidates}" if candidates else ""
        owners = [
            r[0]
            for r in con.execute(
                "select distinct table_name from duckdb_columns() where column_name = ? and table_name in "
                "(select view_name from duckdb_views() where not internal and not starts_with(view_name, '_')) "
                "order by 1",
                [column.group(1).split(".")[-1]],
            ).fetchall()
        ]
        where = f"; {column.group(1)} is a column of {', '.join(owners)}" if owners else ""
        return f"{head}{hint}{where}"
    return head


def write_catalog(root: RootLike, catalog: str | Path) -> Path:
    """A views-only DuckDB file for analysts; readers bind file_search_path to the store first.

    Written under a temporary name and renamed into place: a reader holding the old catalog open
    keeps reading it (and its lock), and never sees a half-written one."""
    path = Path(catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    try:
        with connect(root, str(staging)):
            pass
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
        Path(f"{staging}.wal").unlink(missing_ok=True)
    return path
