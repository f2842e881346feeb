"""DuckDB sessions over the store: UTC, views defined, SQL loaded from sql/ and bound.

The pipeline never keeps a DuckDB file open: every session is an in-memory database that
reads the Parquet files, so any number of readers run beside ticks (case C16).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.storage.store import ParquetStore

__all__ = ["REPORTS", "SQL_DIR", "connect", "load_sql", "run_report", "write_catalog"]

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
REPORTS = {"capacity-hourly": "capacity_hourly"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)


@cache
def load_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def connect(root: str | Path, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    store = ParquetStore(root)
    store.ensure()
    con = duckdb.connect(database)
    con.execute("set timezone = 'UTC'")
    con.execute("set file_search_path = ?", [str(Path(root).resolve())])
    con.execute(load_sql("views"))
    return con


def run_report(root: str | Path, name: str, params: Mapping[str, Any]) -> pd.DataFrame:
    if name not in REPORTS:
        raise KeyError(name)
    bound = {"since": _EPOCH, "until": _FAR, "function": None, **params}
    with connect(root) as con:
        return con.execute(load_sql(REPORTS[name]), bound).df()


def write_catalog(root: str | Path, catalog: str | Path) -> Path:
    """A views-only DuckDB file for analysts; readers bind file_search_path to the store first."""
    path = Path(catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(root, str(path)):
        pass
    return path
