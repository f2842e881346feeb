"""PNG charts draw exactly the report's numbers; the daily report assets write exactly the report's
rows for their day and a re-run replaces them; `fccap report` filters, formats and --list."""

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

from assets.reports import report_assets
from pipelines.charts import DPI, SIZE_IN, chart_figure, drawn_series, save_png
from pipelines.cli import main
from pipelines.reports import DAILY_REPORTS, daily_report_path, list_reports
from pipelines.resources import StoreResource
from pipelines.sqlrun import REPORTS, report_table, run_report
from tests.reports.synthetic import FUNCTIONS, ROLLOUT_START, count, ticks, write_history

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
FAIL_AT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("charts") / "store"
    write_history(root, ticks(START, 38, 15), fail_at=FAIL_AT)
    return root


def _ts(values: list) -> list[pd.Timestamp]:
    return [pd.Timestamp(v).tz_convert("UTC") if pd.Timestamp(v).tzinfo else pd.Timestamp(v, tz="UTC") for v in values]


def test_capacity_chart_draws_the_top_functions_hourly_means(store: Path) -> None:
    frame = run_report(store, "capacity-hourly", {})
    drawn = drawn_series(chart_figure("capacity-hourly", frame, top=3))
    # Top 3 by instance-minutes, independently: the synthetic peaks are 9, 6, 3.
    assert [s.label for s in drawn] == ["orders/checkout", "media/thumbnail", "orders/refund"]
    for s in drawn:
        svc, fn = s.label.split("/")
        rows = frame[(frame.service_name == svc) & (frame.function_name == fn)].sort_values("hour")
        assert _ts(s.x) == _ts(rows["hour"].tolist())
        assert s.y == pytest.approx(rows["avg_instances"].astype(float).tolist(), nan_ok=True)
    # And the report's means are the synthetic counts' means (the failed hour has 5 ok ticks).
    checkout = drawn[0]
    hour = datetime(2026, 12, 2, 3, tzinfo=UTC)
    ok = [count(0, hour + timedelta(minutes=m)) for m in range(15, 60, 15)]
    assert checkout.y[_ts(checkout.x).index(pd.Timestamp(hour))] == pytest.approx(sum(ok) / len(ok))


def test_version_chart_stacks_the_rollout(store: Path) -> None:
    since, until = ROLLOUT_START - timedelta(minutes=20), ROLLOUT_START + timedelta(minutes=50)
    frame = run_report(store, "version-spread", {"function": "checkout", "since": since, "until": until})
    drawn = drawn_series(chart_figure("version-spread", frame))
    assert [s.label for s in drawn] == ["version 1", "version 2"]
    by = frame.pivot_table(index="tick_at", columns="version_id", values="instances", aggfunc="sum", fill_value=0)
    for s, v in zip(drawn, ["1", "2"], strict=True):
        assert _ts(s.x) == _ts(by.index.tolist())
        assert s.y == pytest.approx(by[v].astype(float).tolist())
    # Before the rollout all on 1, after it all on 2, and the total is the function's count.
    assert drawn[1].y[0] == 0 and drawn[0].y[-1] == 0
    assert [a + b for a, b in zip(drawn[0].y, drawn[1].y, strict=True)] == [count(0, t) for t in _ts(s.x)]


def test_cost_chart_stacks_services_per_day(store: Path) -> None:
    frame = run_report(store, "cost-daily", {})
    drawn = {s.label: s for s in drawn_series(chart_figure("cost-daily", frame))}
    assert set(drawn) == {svc for svc, *_ in FUNCTIONS}
    for svc, s in drawn.items():
        per_day = frame[frame.service_name == svc].groupby("day")["cost"].sum()
        assert [t.date() for t in _ts(s.x)] == [pd.Timestamp(d).date() for d in per_day.index]
        assert s.y == pytest.approx(per_day.tolist())
    assert sum(drawn["orders"].y) > 0


@pytest.mark.parametrize("name", ["capacity-hourly", "version-spread", "cost-daily"], ids=str)
def test_png_file_is_a_real_image_of_the_declared_size(store: Path, tmp_path: Path, name: str) -> None:
    out = save_png(name, run_report(store, name, {}), tmp_path / f"{name}.png")
    assert out.read_bytes()[:8] == PNG_MAGIC
    with Image.open(out) as img:
        assert img.size == (int(SIZE_IN[0] * DPI), int(SIZE_IN[1] * DPI))
        assert len(img.getcolors(1 << 16) or []) > 20  # drawn, not blank


def test_report_without_chart_is_refused(store: Path) -> None:
    with pytest.raises(ValueError, match="report gaps has no chart; charts exist for: capacity-hourly"):
        chart_figure("gaps", run_report(store, "gaps", {}))


def test_list_reads_every_header() -> None:
    infos = {r.name: r for r in list_reports()}
    assert set(infos) == set(REPORTS)
    assert infos["capacity-hourly"].grain == (
        "one row per (account_id, region, service_name, function_name, qualifier, hour)"
    )
    assert infos["cost-daily"].prices and not infos["gaps"].prices
    assert all(r.parameters == ("since", "until", "account", "region", "service", "function") for r in infos.values())


@pytest.mark.parametrize("name", DAILY_REPORTS, ids=str)
def test_daily_report_asset_writes_the_days_rows_and_rerun_replaces(store: Path, tmp_path: Path, name: str) -> None:
    day = "2026-12-02"
    [asset] = [a for a in report_assets if a.key.path[0].startswith(f"report_{name.replace('-', '_')}")]
    resources = {"store": StoreResource(root=str(store))}
    path = daily_report_path(store, name, date(2026, 12, 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"stale: replaced by the run")
    result = dg.materialize([asset], partition_key=day, resources=resources)
    assert result.success
    since = datetime(2026, 12, 2, tzinfo=UTC)
    expected = report_table(store, name, {"since": since, "until": since + timedelta(days=1)})
    written = pq.read_table(path)
    assert written.equals(expected)
    meta = result.asset_materializations_for_node(asset.op.name)[0].metadata
    assert meta["row_count"].value == expected.num_rows
    if name in ("coverage-daily", "cost-daily"):
        assert expected.num_rows > 0 and {str(d) for d in written.column("day").to_pylist()} == {day}
    # Re-run: the same rows, one file, no temporaries left.
    assert dg.materialize([asset], partition_key=day, resources=resources).success
    assert pq.read_table(path).equals(expected)
    assert sorted(p.name for p in path.parent.iterdir()) == ["part.parquet"]


def test_gaps_asset_lists_the_failed_tick(store: Path) -> None:
    [asset] = [a for a in report_assets if a.key.path[0] == "report_gaps_daily"]
    assert dg.materialize([asset], partition_key="2026-12-02", resources={"store": StoreResource(root=str(store))})
    rows = pq.read_table(daily_report_path(store, "gaps", date(2026, 12, 2))).to_pylist()
    assert [(r["tick_at"], r["kind"], r["polls_failed"]) for r in rows] == [(FAIL_AT, "polls failed", 1)]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def fccap(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """`fccap ARGS` through the real entry point, in-process (tests/cli runs it as a subprocess)."""

    def run(*args: str) -> Ran:
        monkeypatch.setattr(sys, "argv", ["fccap", *args])
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as e:
            code = int(e.code or 0)
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


def test_cli_filters_formats_and_files(store: Path, tmp_path: Path, fccap: Callable[..., Ran]) -> None:
    """Filters bind, and the files written are what the report says."""
    args = ["--store", str(store), "--service", "media", "--since", "2026-12-02", "--until", "2026-12-02T02:00"]
    out = fccap("report", "capacity-hourly", *args, "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {(r["function_name"], r["hour"][11:16]) for r in rows} == {
        (fn, h) for fn in ("thumbnail", "transcode") for h in ("00:00", "01:00")
    }
    pq_out = tmp_path / "cap.parquet"
    out = fccap("report", "capacity-hourly", *args, "--format", "parquet", "--output", str(pq_out))
    assert out.returncode == 0, out.stderr
    assert (
        pq.read_table(pq_out).to_pylist()
        == report_table(
            store,
            "capacity-hourly",
            {
                "service": "media",
                "since": datetime(2026, 12, 2, tzinfo=UTC),
                "until": datetime(2026, 12, 2, 2, tzinfo=UTC),
            },
        ).to_pylist()
    )
    png = tmp_path / "cost.png"
    prices = tmp_path / "prices.csv"
    prices.write_text(
        "region,currency,vcpu_second,memory_gb_second,disk_gb_second,gpu_gb_second\n*,USD,1,0,0,0\n", encoding="utf-8"
    )
    out = fccap("report", "cost-daily", "--store", str(store), "--prices", str(prices), "--format", "csv")
    assert out.returncode == 0, out.stderr
    cost = pd.read_csv(pd.io.common.StringIO(out.stdout))
    assert set(cost["currency"]) == {"USD"} and cost["cost"].tolist() == pytest.approx(cost["vcpu_s"].tolist())
    out = fccap("report", "cost-daily", "--store", str(store), "--format", "png", "--output", str(png))
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["report", "capacity-hourly", "--format", "png"], "--format png writes a file", id="png-no-out"),
        pytest.param(["report", "gaps", "--format", "parquet"], "--format parquet writes a file", id="pq-no-out"),
        pytest.param(
            ["report", "gaps", "--format", "png", "-o", "x.png"], "report gaps has no chart", id="png-no-chart"
        ),
        pytest.param(["report", "gaps", "--prices", __file__], "does not use prices", id="prices-unused"),
        pytest.param(["report"], "give a report NAME, or --list", id="no-name"),
        pytest.param(["report", "gaps", "--top", "3"], "--top applies to --format png of capacity-hourly", id="top"),
        pytest.param(["sql", "select * from pols"], '(did you mean "polls"?); the views are: functions', id="table"),
        pytest.param(
            ["sql", "select instance_id from polls"],
            "instance_id is a column of instance_intervals, instances",
            id="column",
        ),
    ],
)
def test_cli_errors_are_one_line(store: Path, args: list[str], expected: str, fccap: Callable[..., Ran]) -> None:
    out = fccap(*args, "--store", str(store))
    assert out.returncode == 2, out.stderr
    assert expected in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr


@pytest.mark.parametrize(
    ("csv", "expected"),
    [
        pytest.param(
            "region,currency,vcpu_sec,memory_gb_second,disk_gb_second,gpu_gb_second\n*,USD,1,0,0,0\n",
            "missing column(s) vcpu_second; fix: use the columns of sql/prices.csv",
            id="column-typo",
        ),
        pytest.param(
            "region,currency,vcpu_second,memory_gb_second,disk_gb_second,gpu_gb_second\n*,USD,cheap,0,0,0\n",
            "line 2: vcpu_second 'cheap' is not a price; fix: a number >= 0",
            id="not-a-number",
        ),
        pytest.param(
            "region,currency,vcpu_second,memory_gb_second,disk_gb_second,gpu_gb_second\nus-west-1,USD,1,0,0,0\n",
            "no price for region(s) cn-hangzhou; fix: add a row for each, or a '*' row for any other region",
            id="region-missing",
        ),
    ],
)
def test_a_bad_price_table_is_one_line_naming_the_file_and_fix(
    store: Path, tmp_path: Path, csv: str, expected: str, fccap: Callable[..., Ran]
) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text(csv, encoding="utf-8")
    out = fccap("report", "cost-daily", "--store", str(store), "--prices", str(prices))
    assert out.returncode != 0
    assert f"price table {prices}" in out.stderr and expected in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1, out.stderr


def test_cli_list_needs_no_store(fccap: Callable[..., Ran]) -> None:
    out = fccap("report", "--list", "--store", "/nonexistent")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "grain"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == sorted(REPORTS)
    cost = next(line for line in lines if line.startswith("cost-daily"))
    assert "--function --prices" in cost


def test_cli_compact_compacts_each_closed_day_once(tmp_path: Path, fccap: Callable[..., Ran]) -> None:
    root = tmp_path / "store"
    write_history(root, ticks(datetime(2026, 12, 1, 22, 0, tzinfo=UTC), 4, 30))  # 4 ticks on each of two days
    before = run_report(root, "capacity-hourly", {})
    args = ["compact", "--store", str(root), "--since", "2026-12-01", "--until", "2026-12-03", "--raw-retention-s", "0"]
    out = fccap(*args)
    assert out.returncode == 0, out.stderr
    n = len(FUNCTIONS)
    # polls: 8 ticks x n; instances: one interval per run of consecutive ticks holding instance i of
    # function k (per UTC day); functions: one refresh of n; files: 8 + 8 ticks + 1 inventory.
    runs = 0
    for day in (1, 2):
        day_ticks = [t for t in ticks(datetime(2026, 12, 1, 22, 0, tzinfo=UTC), 4, 30) if t.day == day]
        for k in range(n):
            present = [[i < count(k, t) for t in day_ticks] for i in range(max(count(k, t) for t in day_ticks))]
            runs += sum(seen and (j == 0 or not row[j - 1]) for row in present for j, seen in enumerate(row))
    rows = 8 * n + runs
    assert out.stdout.strip() == f"2 days: 5 table-days compacted ({rows + n} rows), 17 superseded files removed"
    for day in ("2026-12-01", "2026-12-02"):
        assert sorted(p.name for p in (root / "polls" / f"dt={day}").iterdir()) == [
            "compacted-g000001.parquet",
            "hourly-g000001.parquet",
            "service-g000001.parquet",
        ]
    pd.testing.assert_frame_equal(run_report(root, "capacity-hourly", {}), before)
    again = fccap(*args)
    assert again.stdout.strip() == "2 days: 0 table-days compacted (0 rows), 0 superseded files removed"
