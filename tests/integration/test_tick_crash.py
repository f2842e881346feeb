"""kill -9 a real Dagster tick run at each write step: the views stay consistent, and the next run
of that tick repairs it (exactly once) and removes the dead writer's temporary files."""

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots
from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, default_scenario
from pipelines.resources import FCResource, StoreResource
from pipelines.sqlrun import connect
from tests.integration.conftest import write_targets

AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ASSETS = [fc_inventory, fc_instance_snapshots]
CHILD = """
import sys
from datetime import datetime
import dagster as dg
from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots
from pipelines.resources import FCResource, StoreResource
targets, store, at, ak, sk = sys.argv[1:6]
dg.materialize(
    [fc_inventory, fc_instance_snapshots],
    selection=[fc_instance_snapshots],
    resources={"fc": FCResource(targets_file=targets, access_key_id=ak, access_key_secret=sk),
               "store": StoreResource(root=store)},
    run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": at, "max_lag_s": None}}}},
)
"""
STEPS = ["write.instances.tmp_written", "write.instances.committed", "write.polls.tmp_written"]


@pytest.mark.parametrize("step", STEPS)
def test_killed_tick_is_invisible_then_repaired(tmp_path: Path, step: str) -> None:
    scenario = default_scenario()
    account, key = scenario.accounts[0], scenario.accounts[0].access_keys[0]
    world = World(scenario)
    store = tmp_path / "store"
    with EmulatorServer(create_app(world, ManualClock(AT))) as server:
        targets = write_targets(tmp_path / "t.yaml", account.account_id, account.regions[0], server.url)
        resources = {
            "fc": FCResource(
                targets_file=str(targets), access_key_id=key.access_key_id, access_key_secret=key.access_key_secret
            ),
            "store": StoreResource(root=str(store)),
        }
        assert dg.materialize(ASSETS, selection=[fc_inventory], resources=resources).success
        env = {**os.environ, "FCCAP_TEST_HOOKS": "1", "FCCAP_CRASH_AT": step}
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(targets),
                str(store),
                AT.isoformat(),
                key.access_key_id,
                key.access_key_secret,
            ],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

        with connect(store) as con:
            seen = (
                con.execute("select count(*) from polls").fetchone(),
                con.execute("select count(*) from instances").fetchone(),
            )
        assert seen == ((0,), (0,))  # a tick without its polls file did not happen, for every reader
        leftovers = list(store.rglob(".*.tmp"))
        if step.endswith("tmp_written"):
            assert leftovers
        for tmp in leftovers:
            os.utime(tmp, (0, 0))  # old enough that no live writer can own it

        repaired = dg.materialize(
            ASSETS,
            selection=[fc_instance_snapshots],
            resources=resources,
            run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": AT.isoformat(), "max_lag_s": None}}}},
        )
        assert repaired.success
    truth = world.ground_truth(AT)
    with connect(store) as con:
        instances = con.execute(
            "select count(*), count(distinct (function_name, qualifier, instance_id)) from instances"
        ).fetchone()
        ticks = con.execute("select count(distinct tick_at) from polls").fetchone()
    fc2_truth = [r for r in truth if r.service_name is not None]
    assert instances == (len(fc2_truth), len(fc2_truth))
    assert ticks == (1,)
    assert not list(store.rglob(".*.tmp"))
