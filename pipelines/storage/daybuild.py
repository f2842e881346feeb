"""Build one compacted day in DuckDB: sorted polls, instance intervals and the daily rollups.

The inputs are lists of Parquet files (the day's current generation and the raw tick files it
does not hold yet); the outputs are Arrow tables in the exact schemas of schemas.py, which the
compactor writes. DuckDB streams the raw files and spills past its memory limit, so one day of
thousands of functions compacts in bounded memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.storage.schemas import INTERVALS, POLLS, ROLLUPS

__all__ = ["SQL_DIR", "DayInputs", "build_day", "build_rollups", "builder", "load_sql"]

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "sql"
# With the Arrow results and the writer, the compactor peaks near 750 MB for a day of 1,000
# functions (make bench), under the 1 GB target; DuckDB spills what does not fit.
MEMORY_LIMIT = "256MB"


@cache
def load_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class DayInputs:
    day: str  # UTC date, 2026-12-03
    base_polls: Sequence[str]
    pending_polls: Sequence[str]
    expand_polls: Sequence[str]
    base_intervals: Sequence[str]
    pending_instances: Sequence[str]
    replacing_polls: Sequence[str]
    legacy_instances: Sequence[str]


@contextmanager
def builder() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB session for compaction: UTC, bounded memory spilling to a private temporary
    directory (never the working directory), the shared macros."""
    with tempfile.TemporaryDirectory(prefix="fccap-compact-") as spill:
        con = duckdb.connect(":memory:")
        try:
            con.execute("set timezone = 'UTC'")
            con.execute("set memory_limit = ?", [MEMORY_LIMIT])
            con.execute("set temp_directory = ?", [spill])
            con.execute("set preserve_insertion_order = false")
            con.execute(load_sql("rollups"))
            yield con
        finally:
            con.close()


def _conform(data: pa.Table, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_arrays([data.column(f.name).cast(f.type) for f in schema], schema=schema)


def build_day(con: duckdb.DuckDBPyConnection, inputs: DayInputs) -> tuple[pa.Table, pa.Table]:
    """(polls, intervals) of one day from its current generation plus its pending raw files."""
    con.execute("set variable base_polls = ?", [list(inputs.base_polls)])
    con.execute("set variable pending_polls = ?", [list(inputs.pending_polls)])
    con.execute("set variable expand_polls = ?", [list(inputs.expand_polls)])
    con.execute("set variable base_intervals = ?", [list(inputs.base_intervals)])
    con.execute("set variable pending_instances = ?", [list(inputs.pending_instances)])
    con.execute("set variable replacing_polls = ?", [list(inputs.replacing_polls)])
    con.execute("set variable legacy_instances = ?", [list(inputs.legacy_instances)])
    con.execute("set variable day = ?", [inputs.day])
    con.execute(load_sql("compact_inputs"))
    polls = con.sql(load_sql("compact_polls")).to_arrow_table()
    intervals = con.sql(load_sql("compact_intervals")).to_arrow_table()
    return _conform(polls, POLLS), _conform(intervals, INTERVALS)


def build_rollups(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    """The derived daily tables of the day last passed to build_day, by file-name prefix."""
    return {
        kind: _conform(con.sql(load_sql(f"compact_{kind}")).to_arrow_table(), schema)
        for kind, schema in ROLLUPS.items()
    }
