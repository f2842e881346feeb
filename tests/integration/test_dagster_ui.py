"""The Dagster UI an operator opens: the asset graph and a tick's metadata render in a real browser.

Needs Debian's `chromium` (installed by .ci/run); skipped with the reason where it is absent.
Screenshots are kept under the test's tmp path.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots
from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, default_scenario
from pipelines.resources import FCResource, StoreResource
from tests.integration.conftest import write_targets

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=20000",
    "--window-size=1400,1000",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser(tmp_path: Path, *args: str) -> str:
    out = subprocess.run(
        [str(CHROMIUM), *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'chrome'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_asset_graph_and_tick_metadata_render(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    scenario = default_scenario()
    account, key = scenario.accounts[0], scenario.accounts[0].access_keys[0]
    store = tmp_path / "store"
    with EmulatorServer(create_app(World(scenario), ManualClock(AT))) as server:
        targets = write_targets(tmp_path / "t.yaml", account.account_id, account.regions[0], server.url)
        resources = {
            "fc": FCResource(
                targets_file=str(targets), access_key_id=key.access_key_id, access_key_secret=key.access_key_secret
            ),
            "store": StoreResource(root=str(store)),
        }
        with dg.DagsterInstance.from_config(str(home)) as instance:
            result = dg.materialize(
                [fc_inventory, fc_instance_snapshots],
                resources=resources,
                instance=instance,
                run_config={
                    "ops": {"fc_instance_snapshots": {"config": {"tick_at": AT.isoformat(), "max_lag_s": None}}}
                },
            )
            assert result.success

    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "FCCAP_TARGETS": str(targets), "FCCAP_STORE": str(store)}
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-m",
            "pipelines.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        graph = _browser(tmp_path, "--dump-dom", f"{base}/locations/pipelines.definitions/asset-groups/fc/lineage")
        assert "fc_inventory" in graph and "fc_instance_snapshots" in graph
        asset = _browser(tmp_path, "--dump-dom", f"{base}/assets/fc_instance_snapshots")
        for text in ("instances_seen", "coverage_by_target", "2026-12-01T14:00:00+00:00"):
            assert text in asset, text
        assert "Join the Dagster" not in asset  # nux is off: no modal over the operator's page
        _browser(tmp_path, f"--screenshot={tmp_path / 'asset-graph.png'}", f"{base}/asset-groups/fc")
        _browser(tmp_path, f"--screenshot={tmp_path / 'tick-metadata.png'}", f"{base}/assets/fc_instance_snapshots")
        for shot in ("asset-graph.png", "tick-metadata.png"):
            assert (tmp_path / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert (tmp_path / shot).stat().st_size > 20_000
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
