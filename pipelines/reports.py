"""The report library as the CLI and the daily assets see it: names, grains and parameters read
from each ``sql/`` file's header comment, and results written as Parquet atomically."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from pipelines.sqlrun import REPORTS, SQL_DIR, load_sql, report_parameters, report_table, uses_prices
from pipelines.storage.files import RootLike, StorePath, as_root, atomic_write

__all__ = [
    "CHARTS",
    "DAILY_REPORTS",
    "ReportInfo",
    "daily_report_path",
    "list_reports",
    "materialize_daily_report",
    "report_info",
]

# Reports whose rows for one UTC day depend only on that day's ticks: materialized per day.
DAILY_REPORTS = ("coverage-daily", "cost-daily", "gaps", "idle-functions", "peak-concurrency")
# Reports with a PNG chart (pipelines/charts.py), and what the chart shows.
CHARTS = {
    "capacity-hourly": "capacity over time, top functions",
    "version-spread": "instances by version over time",
    "cost-daily": "estimated cost by service",
}
_GRAIN = re.compile(r"^--\s*grain:\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class ReportInfo:
    name: str
    file: str
    title: str  # the header's first line
    grain: str
    parameters: tuple[str, ...]
    prices: bool


def report_info(name: str) -> ReportInfo:
    lines = load_sql(REPORTS[name]).splitlines()
    title = lines[0].removeprefix("--").strip().rstrip(".")
    grain = ""
    for i, line in enumerate(lines):
        m = _GRAIN.match(line)
        if m:
            grain = m.group(1).strip()
            # A grain may wrap onto following comment lines until the next labelled line.
            for more in lines[i + 1 :]:
                text = more.removeprefix("--").strip()
                if not more.startswith("--") or text.startswith(("parameters:", "(")) or ":" in text.split(" ")[0]:
                    break
                grain += " " + text
            break
    return ReportInfo(
        name=name,
        file=str((SQL_DIR / f"{REPORTS[name]}.sql").relative_to(SQL_DIR.parent)),
        title=title,
        grain=grain.rstrip("."),
        parameters=tuple(report_parameters(name)),
        prices=uses_prices(name),
    )


def list_reports() -> list[ReportInfo]:
    return [report_info(name) for name in sorted(REPORTS)]


def daily_report_path(root: RootLike, name: str, day: date) -> StorePath:
    return as_root(root) / "reports" / name / f"dt={day.isoformat()}" / "part.parquet"


def materialize_daily_report(
    root: RootLike, name: str, day: date, *, prices: str | Path | None = None
) -> tuple[StorePath, pa.Table]:
    """Run ``name`` over one UTC day and replace that day's Parquet file (atomic: rename, or one PUT)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    data = report_table(root, name, {"since": start, "until": start + timedelta(days=1)}, prices=prices)
    path = daily_report_path(root, name, day)
    atomic_write(data, path, step=f"report.{name}")
    return path, data
