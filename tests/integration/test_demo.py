"""`fccap demo` (what `make demo` runs): real Dagster runs recorded, data written, report printed."""

import fcntl
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.sqlrun import SQL_DIR


def test_demo_runs_ticks_as_recorded_dagster_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipelines.cli import main; main()",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--ticks",
            "2",
            "--every-minutes",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    ticks = [line for line in out.stdout.splitlines() if line.startswith("tick ")]
    assert len(ticks) == 2
    assert all(", 0 failed," in line for line in ticks)
    assert "capacity per service and hour" in out.stdout
    assert f"data:    {tmp_path / 'store'}" in out.stdout

    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        runs = instance.get_runs()
        assert sorted(r.job_name for r in runs) == ["fc_inventory_job", "fc_tick_job", "fc_tick_job"]
        assert all(r.is_success for r in runs)

    con = duckdb.connect(str(tmp_path / "catalog.duckdb"), read_only=True)
    con.execute("set file_search_path = ?", [str(tmp_path / "store")])
    con.execute((SQL_DIR / "snapshot.sql").read_text())  # what the README tells analysts to run
    ticks_stored = con.execute("select count(distinct tick_at), count(*) filter (where status <> 'ok') from polls")
    assert ticks_stored.fetchone() == (2, 0)


def test_a_second_demo_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    with open(tmp_path / ".demo.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a demo that is still running
        out = subprocess.run(
            [sys.executable, "-c", "from pipelines.cli import main; main()", "demo", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"error: another fccap demo is running on {tmp_path.resolve()}; "
        "wait for it, or give this one its own --data-dir"
    )
    assert not (tmp_path / "store").exists()
