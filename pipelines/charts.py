"""PNG charts of three reports (matplotlib, Agg backend: no display needed).

- capacity-hourly: mean instances per hour of the top N functions (by instance-minutes), one line each;
- version-spread: instances by version over time, stacked (a rollout shows as one band replacing another);
- cost-daily: estimated cost per UTC day, stacked bars by service.

Every chart is built from ``chart_series`` (the plotted numbers, one series per legend entry), so
tests compare what is drawn with the report's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # before pyplot: never look for a display

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pipelines.reports import CHARTS

__all__ = ["CHARTS", "Series", "chart_figure", "chart_series", "drawn_series", "save_png"]

SIZE_IN = (12.0, 6.0)
DPI = 100


@dataclass(frozen=True)
class Series:
    label: str
    x: list[pd.Timestamp]
    y: list[float]


def _utc(values: pd.Series) -> pd.Series:
    out = pd.to_datetime(values)
    return out.dt.tz_localize("UTC") if out.dt.tz is None else out.dt.tz_convert("UTC")


def _function_label(frame: pd.DataFrame) -> pd.Series:
    """service/function, prefixed with account/region only when the frame holds more than one."""
    base = frame["service_name"].fillna("-").astype(str) + "/" + frame["function_name"].astype(str)
    if frame[["account_id", "region"]].drop_duplicates().shape[0] > 1:
        return frame["account_id"].astype(str) + "/" + frame["region"].astype(str) + ": " + base
    return base


def _capacity(frame: pd.DataFrame, top: int) -> list[Series]:
    df = frame.assign(label=_function_label(frame), hour=_utc(frame["hour"]))
    df["avg_instances"] = pd.to_numeric(df["avg_instances"], errors="coerce")
    # A function's mean instances in an hour = the sum of its qualifiers' means (same ticks).
    per_hour = df.groupby(["label", "hour"], sort=True)["avg_instances"].sum(min_count=1)
    ranking = df.groupby("label")["instance_minutes"].sum().sort_values(ascending=False, kind="stable")
    out = []
    for label in ranking.index[:top]:
        s = per_hour.loc[label]
        out.append(Series(str(label), list(s.index), [float(v) for v in s.to_numpy(dtype=float, na_value=np.nan)]))
    return out


def _versions(frame: pd.DataFrame) -> list[Series]:
    df = frame.assign(tick_at=_utc(frame["tick_at"]), version_id=frame["version_id"].astype(str))
    table = df.pivot_table(index="tick_at", columns="version_id", values="instances", aggfunc="sum", fill_value=0)
    table = table.reindex(sorted(table.columns, key=lambda v: (len(v), v)), axis=1)
    return [
        Series("LATEST" if v == "0" else f"version {v}", list(table.index), [float(n) for n in table[v]])
        for v in table.columns
    ]


def _cost(frame: pd.DataFrame) -> list[Series]:
    df = frame.assign(service=frame["service_name"].fillna("(FC 3.0, no service)"), day=_utc(frame["day"]))
    table = df.pivot_table(index="day", columns="service", values="cost", aggfunc="sum", fill_value=0.0)
    order = table.sum().sort_values(ascending=False, kind="stable").index
    return [Series(str(s), list(table.index), [float(v) for v in table[s]]) for s in order]


def chart_series(name: str, frame: pd.DataFrame, *, top: int = 8) -> list[Series]:
    """The numbers a chart draws, one series per legend entry, in legend order."""
    if name not in CHARTS:
        raise ValueError(f"report {name} has no chart; charts exist for: {', '.join(CHARTS)}")
    if name == "capacity-hourly":
        return _capacity(frame, top)
    if name == "version-spread":
        return _versions(frame)
    return _cost(frame)


def _num(xs: list[pd.Timestamp]) -> np.ndarray:
    """Matplotlib's date numbers (days since the epoch, UTC) for the x axis."""
    return np.asarray(mdates.date2num([t.to_pydatetime() for t in xs]), dtype=float)


def _time_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(tz="UTC")
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz="UTC"))
    ax.grid(True, axis="y", alpha=0.3)


def _legend(ax: Axes, title: str) -> None:
    # Outside the axes, on the right: never on top of the data.
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")


def chart_figure(name: str, frame: pd.DataFrame, *, top: int = 8) -> Figure:
    series = chart_series(name, frame, top=top)
    fig, ax = plt.subplots(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    if not series:
        ax.text(0.5, 0.5, "no data in this window", ha="center", va="center", transform=ax.transAxes)
    if name == "capacity-hourly":
        for s in series:
            ax.plot(_num(s.x), s.y, marker="o", markersize=3, linewidth=1.5, label=s.label)
        ax.set_title(f"Capacity: mean instances per hour, top {len(series)} functions by instance-minutes")
        ax.set_ylabel("instances (hourly mean)")
        ax.set_xlabel("hour (UTC)")
        ax.set_ylim(bottom=0)
        _time_axis(ax)
        if series:
            _legend(ax, "service/function")
    elif name == "version-spread":
        lower = np.zeros(len(series[0].x)) if series else np.zeros(0)
        for s in series:
            upper = lower + np.asarray(s.y)
            ax.fill_between(_num(s.x), lower, upper, alpha=0.8, label=s.label, linewidth=0)
            lower = upper
        ax.set_title("Instances by version over time (stacked; a rollout shows as one band replacing another)")
        ax.set_ylabel("instances")
        ax.set_xlabel("tick (UTC)")
        ax.set_ylim(bottom=0)
        _time_axis(ax)
        if series:
            _legend(ax, "version")
    else:
        bottom = np.zeros(len(series[0].x)) if series else np.zeros(0)
        currency = ", ".join(sorted(set(frame["currency"].dropna().astype(str)))) or "?"
        for s in series:
            # A day's bar is centred on its noon (UTC), so it sits over the day it stands for.
            ax.bar(_num(s.x) + 0.5, s.y, bottom=bottom, width=0.8, label=s.label, align="center")
            bottom = bottom + np.asarray(s.y)
        ax.set_title("Estimated cost by service per UTC day (prices from the price table)")
        ax.set_ylabel(f"cost ({currency})")
        ax.set_xlabel("day (UTC)")
        if series:
            ax.set_xticks(_num(series[0].x) + 0.5, [t.strftime("%Y-%m-%d") for t in series[0].x])
        ax.margins(y=0.08)  # bars start at 0 (sticky edge); headroom above the tallest
        ax.grid(True, axis="y", alpha=0.3)
        if series:
            _legend(ax, "service")
    return fig


def drawn_series(fig: Figure) -> list[Series]:
    """What the figure actually draws, read back from its artists (tests compare it with the report)."""
    ax = fig.axes[0]
    out: list[Series] = []
    for line in ax.get_lines():
        xs = [pd.Timestamp(mdates.num2date(float(v))) for v in np.asarray(line.get_xdata(), dtype=float)]
        out.append(Series(str(line.get_label()), xs, [float(v) for v in np.asarray(line.get_ydata(), dtype=float)]))
    for coll in ax.collections:  # fill_between bands: the band height between its edges
        paths = coll.get_paths()
        if not paths:
            continue
        # fill_between(x, y1, y2) draws: a start vertex, y1 forwards, an end vertex, y2 backwards, a close.
        verts = np.asarray(paths[0].vertices, dtype=float)
        n = (len(verts) - 3) // 2
        lower, upper = verts[1 : n + 1], verts[n + 2 : 2 * n + 2][::-1]
        xs = [pd.Timestamp(mdates.num2date(float(v))) for v in lower[:, 0]]
        out.append(Series(str(coll.get_label()), xs, [float(v) for v in (upper[:, 1] - lower[:, 1])]))
    for container in ax.containers:
        patches = list(container)
        xs = [pd.Timestamp(mdates.num2date(p.get_x() + p.get_width() / 2 - 0.5)) for p in patches]  # type: ignore[attr-defined]
        out.append(Series(str(container.get_label()), xs, [float(p.get_height()) for p in patches]))  # type: ignore[attr-defined]
    return out


def save_png(name: str, frame: pd.DataFrame, path: str | Path, *, top: int = 8) -> Path:
    fig = chart_figure(name, frame, top=top)
    try:
        fig.savefig(path, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return Path(path)
