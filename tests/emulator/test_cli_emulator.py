"""`fccap emulator` with --fault/--start/--speed as a real process, and `fccap emulator-truth` offline."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.emulator import World, load_scenario

SMALL = Path(__file__).parents[2] / "pipelines" / "emulator" / "scenarios" / "small.yaml"
AT = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


def test_emulator_truth_at_one_minute_equals_the_world() -> None:
    result = CliRunner().invoke(cli, ["emulator-truth", "--scenario", str(SMALL), "--at", "2026-03-02T06:30:41Z"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    expected = World(load_scenario(SMALL)).ground_truth(AT)
    assert len(rows) == len(expected) > 0
    assert {r["at"] for r in rows} == {"2026-03-02T06:30:00Z"}
    assert [r["instance_id"] for r in rows] == [t.instance_id for t in expected]
    assert rows[0]["function_name"] == asdict(expected[0])["function_name"]


def test_emulator_truth_over_a_range_in_json() -> None:
    args = ["emulator-truth", "--scenario", str(SMALL), "--since", "2026-03-02T06:00", "--until", "2026-03-02T07:00"]
    result = CliRunner().invoke(cli, [*args, "--every", "20", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert sorted({r["at"] for r in records}) == [
        "2026-03-02T06:00:00Z",
        "2026-03-02T06:20:00Z",
        "2026-03-02T06:40:00Z",
    ]
    world = World(load_scenario(SMALL))
    at = datetime(2026, 3, 2, 6, 20, tzinfo=UTC)
    assert sum(r["at"] == "2026-03-02T06:20:00Z" for r in records) == len(world.ground_truth(at))


def test_emulator_truth_needs_a_time() -> None:
    result = CliRunner().invoke(cli, ["emulator-truth", "--since", "2026-03-02"])
    assert result.exit_code == 2
    assert "give --at, or both --since and --until" in result.output


def test_emulator_rejects_a_bad_fault_spec_naming_the_field() -> None:
    result = CliRunner().invoke(cli, ["emulator", "--port", "0", "--fault", "503,retry_after=soon"])
    assert result.exit_code == 2
    assert "--fault" in result.output
    assert "retry_after" in result.output


def test_emulator_process_serves_faults_from_flags_and_virtual_time_from_start() -> None:
    cmd = [str(Path(sys.executable).parent / "fccap"), "emulator", "--port", "0", "--speed", "60"]
    cmd += ["--start", "2026-03-02T06:00:00Z", "--scenario", str(SMALL), "--fault", "500,times=1,action=ListServices"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = ""
        deadline = time.monotonic() + 30
        while not url and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            if "FC emulator" in line:
                url = line.rsplit(" ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        faults = httpx.get(f"{url}/_emulator/faults").json()["faults"]
        # The scenario's two faults, then the flag's.
        assert [f["kind"] for f in faults] == ["429", "latency", "500"]
        assert faults[2] == {"kind": "500", "action": "ListServices", "times": 1}
        now = datetime.fromisoformat(httpx.get(f"{url}/_emulator/health").json()["now"])
        # 60x: at most a few virtual minutes after the start, however slow the start was.
        assert datetime(2026, 3, 2, 6, 0, tzinfo=UTC) <= now < datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
        status = httpx.get(f"{url}/2021-04-06/services", headers={"X-Fc-Account-Id": "1234567890"}).status_code
        assert status == 500  # faults answer before authentication
        assert httpx.get(f"{url}/_emulator/stats").json()["faults"] == {"500": 1}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)  # waits and closes both pipes
    assert proc.returncode == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_emulator_stops_on_a_signal_even_when_started_in_the_background(sig: signal.Signals) -> None:
    """A script's background job inherits SIGINT ignored (as `make dev` &, or CI, may start it):
    Ctrl-C / kill -INT must still stop the emulator, and SIGTERM too, cleanly (exit 0)."""
    cmd = [str(Path(sys.executable).parent / "fccap"), "emulator", "--port", "0", "--scenario", str(SMALL)]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509 - the point of the test
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "Ctrl-C to stop" not in proc.stdout.readline():
            assert proc.poll() is None
        proc.send_signal(sig)
        proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0
