"""`fccap` as a user runs it: outputs in every format, one-line errors with non-zero exits."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.collect import PollOutcome, PollTarget
from pipelines.fc.models import Instance
from pipelines.normalise import instances_frame, polls_frame
from pipelines.storage.store import ParquetStore

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "store"
    st = ParquetStore(root)
    for minute, (a, b) in enumerate([(1, 0), (3, 0), (2, 5)]):
        at = T0 + timedelta(minutes=minute)
        outcomes = [
            PollOutcome(
                PollTarget("1", "cn-hangzhou", "svc", name, "LATEST"),
                at,
                tuple(Instance(f"c-{name}-{i}", "0") for i in range(n)),
                None,
                200,
                "r",
                1,
                1.0,
            )
            for name, n in (("alpha", a), ("beta", b))
        ]
        st.write_tick(at, polls_frame(outcomes, at, 60), instances_frame(outcomes, at))
    return root


def fccap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from pipelines.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_json_has_the_right_values(store: Path) -> None:
    out = fccap("report", "capacity-hourly", "--store", str(store), "--format", "json", "--function", "alpha")
    assert out.returncode == 0, out.stderr
    [row] = json.loads(out.stdout)
    assert (row["function_name"], row["min_instances"], row["max_instances"], row["ticks_ok"]) == ("alpha", 1, 3, 3)
    assert row["avg_instances"] == pytest.approx(2.0)
    assert row["hour"].startswith("2026-12-03T10:00:00")


def test_report_window_excludes_outside_ticks(store: Path) -> None:
    out = fccap(
        "report",
        "capacity-hourly",
        "--store",
        str(store),
        "--format",
        "csv",
        "--since",
        "2026-12-03T10:01",
        "--until",
        "2026-12-03T10:02",
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("account_id,region,service_name,function_name")
    assert [line.split(",")[3] + ":" + line.split(",")[10] for line in lines[1:]] == ["alpha:3", "beta:0"]


def test_sql_table_output_counts_zero_readings(store: Path) -> None:
    out = fccap(
        "sql",
        "select function_name, count(*) filter (where instance_count = 0) as zeros from polls group by all order by 1",
        "--store",
        str(store),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["function_name", "zeros", "alpha", "0", "beta", "2"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["sql", "select nope from polls"], 'Referenced column "nope" not found', id="unknown-column"),
        pytest.param(["sql", "select * from nowhere"], "Table with name nowhere does not exist", id="unknown-table"),
        pytest.param(
            ["report", "capacity-hourly", "--since", "2026-12-03", "--until", "2026-12-01"],
            "--since must be before --until",
            id="since-after-until",
        ),
        pytest.param(
            ["report", "capacity-daily"], "'capacity-daily' is not one of 'capacity-hourly'", id="unknown-report"
        ),
        pytest.param(["report", "capacity-hourly", "--since", "yesterday"], "is not a date or time", id="bad-time"),
    ],
)
def test_errors_are_one_line_and_non_zero(store: Path, args: list[str], expected: str) -> None:
    out = fccap(*args, "--store", str(store))
    assert out.returncode == 2
    assert expected in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr  # one line
    assert out.stderr.startswith("error: ")


def test_empty_store_reports_typed_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = fccap("report", "capacity-hourly", "--store", str(tmp_path / "empty"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("(no rows) columns: account_id, region")


def test_targets_check_expands_and_rejects(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        'targets:\n  - account_id: "1234567890"\n    regions: [cn-hangzhou, cn-shanghai]\n'
        '  - account_id: "1234567890"\n    regions: [cn-hangzhou]\n    api_version: "2023-03-30"\n'
    )
    out = fccap("targets", "check", str(good), "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = [line.split(",")[:4] for line in out.stdout.strip().splitlines()[1:]]
    assert rows == [
        ["1234567890", "cn-hangzhou", "2021-04-06", "https://1234567890.cn-hangzhou.fc.aliyuncs.com"],
        ["1234567890", "cn-shanghai", "2021-04-06", "https://1234567890.cn-shanghai.fc.aliyuncs.com"],
        ["1234567890", "cn-hangzhou", "2023-03-30", "https://1234567890.cn-hangzhou.fc.aliyuncs.com"],
    ]
    assert out.stdout.splitlines()[0].endswith(",rate_limit_per_s,role_arn")
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  - account_id: 12ab\n    regions: [cn-hangzhou]\n")
    out = fccap("targets", "check", str(bad))
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"error: {bad}: targets[0].account_id: must be the numeric account id (e.g. '1234567890'); quote it in YAML"
    )


def test_missing_store_is_an_error_not_an_empty_history(tmp_path: Path) -> None:
    out = fccap("report", "capacity-hourly", "--store", str(tmp_path / "typo"))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "does not exist" in out.stderr and "--store" in out.stderr
    assert not (tmp_path / "typo").exists()


def test_a_filter_that_matches_nothing_says_so(store: Path) -> None:
    out = fccap("report", "gaps", "--store", str(store), "--function", "alpah")
    assert out.returncode == 0, out.stderr
    assert "warning: --function 'alpah' matches nothing in the store (did you mean 'alpha'?)" in out.stderr
    # A filter that names something real gives no warning, even when the report has no rows.
    ok = fccap("report", "gaps", "--store", str(store), "--function", "alpha")
    assert ok.returncode == 0 and "warning" not in ok.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(
            {},
            "no credentials for the object store; fix: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE)",
            id="no-credentials",
        ),
        pytest.param(
            {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
            "cannot reach the object store at http://127.0.0.1:9/bucket/x; fix: check FCCAP_STORE_ENDPOINT_URL",
            id="unreachable",
        ),
    ],
)
def test_object_store_failures_are_one_line(env: dict[str, str], expected: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    store = {"FCCAP_STORE_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_CONFIG_FILE": os.devnull}
    store["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    out = subprocess.run(
        [sys.executable, "-c", "from pipelines.cli import main; main()", "report", "gaps", "--store", "s3://bucket/x"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**clean, **store, **env},
    )
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {expected}"


HOLD_CATALOG = """
import sys, duckdb
from pipelines.sqlrun import load_sql
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("set file_search_path = ?", [sys.argv[2]])
con.execute(load_sql("snapshot"))
print(con.execute("select count(*) from polls").fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute("select count(*) from polls").fetchone()[0], flush=True)
"""


def test_the_catalog_is_rewritten_while_an_analyst_holds_it_open(store: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    first = fccap("catalog", "--store", str(store), "--out", str(catalog))
    assert first.returncode == 0, first.stderr
    assert f"catalog: {catalog}" in first.stdout
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_CATALOG, str(catalog), str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        try:
            assert holder.stdout.readline().strip() == "6"
            # DuckDB locks the file its reader holds: the catalog is written beside it and renamed over it.
            again = fccap("catalog", "--store", str(store), "--out", str(catalog))
            assert again.returncode == 0, again.stderr
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "6"
        finally:
            holder.kill()
    out = fccap("sql", "select count(*) as n from polls", "--store", str(store), "--format", "csv")
    assert out.stdout.split() == ["n", "6"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.duckdb"]
