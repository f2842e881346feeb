"""The machine's zone changes nothing: files, partitions and outputs are identical under UTC and Shanghai."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

WRITE_TICK = """
import sys
from datetime import UTC, datetime
from pipelines.collect import PollOutcome, PollTarget
from pipelines.fc.models import Instance
from pipelines.normalise import instances_frame, polls_frame
from pipelines.storage.store import ParquetStore
at = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)  # 00:30 on 12-04 in Shanghai
o = PollOutcome(PollTarget("1", "cn-hangzhou", "s", "f", "LATEST"), at, (Instance("c-1", "0"),), None, 200, "r", 1, 2.0)
ParquetStore(sys.argv[1]).write_tick(at, polls_frame([o], at, 60), instances_frame([o], at))
"""


def _run(tz: str, *args: str) -> str:
    env = {**os.environ, "TZ": tz}
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    roots = {}
    for tz in ("UTC", "Asia/Shanghai"):
        root = tmp_path_factory.mktemp(tz.replace("/", "-")) / "store"
        _run(tz, "-c", WRITE_TICK, str(root))
        roots[tz] = root
    return roots


def test_same_files_and_utc_partition(stores: dict[str, Path]) -> None:
    listings = {
        tz: sorted(str(p.relative_to(root)) for p in root.rglob("tick-*.parquet")) for tz, root in stores.items()
    }
    assert (
        listings["UTC"]
        == listings["Asia/Shanghai"]
        == [
            "instances/dt=2026-12-03/tick-20261203T163000Z.parquet",
            "polls/dt=2026-12-03/tick-20261203T163000Z.parquet",
        ]
    )


@pytest.mark.parametrize(
    "args",
    [
        ["report", "capacity-hourly", "--format", "csv"],
        ["sql", "select tick_at, dt, hour(tick_at) h, instance_count from polls", "--format", "json"],
    ],
    ids=["report", "sql"],
)
def test_outputs_identical_in_both_zones(stores: dict[str, Path], args: list[str]) -> None:
    cli = ["-c", "from pipelines.cli import main; main()"]
    outputs = {tz: _run(tz, *cli, *args, "--store", str(stores["UTC"])) for tz in ("UTC", "Asia/Shanghai")}
    assert outputs["UTC"] == outputs["Asia/Shanghai"]
    assert "2026-12-03" in outputs["UTC"] and "16" in outputs["UTC"]
