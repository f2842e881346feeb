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

__all__ = ["PRICES", "REPORTS", "SQL_DIR", "connect", "load_prices", "load_sql", "run_report", "write_catalog"]

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


def load_prices(con: duckdb.DuckDBPyConnection, prices: str | Path | None = None) -> None:
    """The user's price table (default sql/prices.csv, example list prices) as the temp table `prices`."""
    path = Path(prices) if prices else PRICES
    if not path.is_file():
        raise ValueError(f"price table {path} not found; fix: pass --prices FILE (columns as in sql/prices.csv)")
    con.execute(
        "create or replace temp table prices as select region, currency, vcpu_second, memory_gb_second, "
        "disk_gb_second, gpu_gb_second from read_csv(?, header = true, all_varchar = false)",
        [str(path)],
    )


def run_report(
    root: str | Path, name: str, params: Mapping[str, Any], *, prices: str | Path | None = None
) -> pd.DataFrame:
    if name not in REPORTS:
        raise KeyError(name)
    sql = load_sql(REPORTS[name])
    defaults = {"since": _EPOCH, "until": _FAR, "account": None, "region": None, "service": None, "function": None}
    # DuckDB rejects parameters a statement does not use: bind exactly the ones the report names.
    bound = {k: v for k, v in {**defaults, **params}.items() if f"${k}" in sql}
    with connect(root) as con:
        if "join prices" in sql:
            load_prices(con, prices)
        return con.execute(sql, bound).df()


def write_catalog(root: str | Path, catalog: str | Path) -> Path:
    """A views-only DuckDB file for analysts; readers bind file_search_path to the store first."""
    path = Path(catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(root, str(path)):
        pass
    return path
