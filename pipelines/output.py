"""Render a result frame as a table, CSV or JSON for the terminal."""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMATS", "render"]

FORMATS = ("table", "csv", "json")


def render(frame: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", date_format="iso", date_unit="s") or "[]"
    if frame.empty:
        return "(no rows) columns: " + ", ".join(map(str, frame.columns))
    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_columns", 50):
        return frame.to_string(index=False, float_format=_number, na_rep="NULL")


def _number(value: float) -> str:
    # DuckDB hands integer sums to pandas as floats; print them as the integers they are.
    return f"{value:.0f}" if value.is_integer() else f"{value:.2f}"
