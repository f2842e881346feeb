"""Daily reports materialized as Parquet (``<store>/reports/<name>/dt=D/part.parquet``) so that
dashboards read them without recomputing; one daily-partitioned (UTC) asset per daily report."""
# No `from __future__ import annotations`: Dagster reads the context annotations at runtime.

import time
from datetime import date

import dagster as dg

from assets.history import daily, fc_history
from pipelines.reports import DAILY_REPORTS, materialize_daily_report, report_info
from pipelines.resources import StoreResource


def _asset_name(report: str) -> str:
    # Nouns for what they hold: coverage-daily -> report_coverage_daily, gaps -> report_gaps_daily.
    base = report.replace("-", "_")
    return f"report_{base}" if base.endswith("_daily") else f"report_{base}_daily"


def build_report_asset(report: str) -> dg.AssetsDefinition:
    info = report_info(report)

    @dg.asset(
        name=_asset_name(report),
        group_name="reports",
        kinds={"parquet", "duckdb"},
        partitions_def=daily,
        deps=[fc_history],
        description=(
            f"{info.title} ({info.file}), one UTC day per partition, at reports/{report}/dt=<day>/part.parquet. "
            f"Grain: {info.grain}. Re-materializing a day replaces its file."
        ),
    )
    def _report(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
        started = time.perf_counter()
        day = date.fromisoformat(context.partition_key)
        path, data = materialize_daily_report(store.store().root, report, day)
        context.log.info("%s dt=%s: %d rows -> %s", report, day, data.num_rows, path)
        return dg.MaterializeResult(
            metadata={
                "report": report,
                "day": day.isoformat(),
                "row_count": data.num_rows,
                "path": dg.MetadataValue.path(str(path)),
                "columns": dg.MetadataValue.json(data.column_names),
                "duration_s": round(time.perf_counter() - started, 3),
            }
        )

    return _report


report_assets = [build_report_asset(name) for name in DAILY_REPORTS]
