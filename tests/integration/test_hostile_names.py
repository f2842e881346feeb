"""Hostile names from the API or the CLI never become file paths or SQL text."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from starlette.types import ASGIApp, Receive, Scope, Send

from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots
from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, default_scenario
from pipelines.resources import FCResource, StoreResource
from pipelines.sqlrun import connect
from tests.integration.conftest import write_targets

AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ASSETS = [fc_inventory, fc_instance_snapshots]
HOSTILE = ["../../../../tmp/pwned", "x'; drop view polls; --", "ünï\x07code", "a/b?c#d"]


class _HostileListing:
    """Adds functions with hostile names to one service's ListFunctions answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/services/batch/functions"):
            await self.app(scope, receive, send)
            return

        async def patch(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message["headers"] if k.lower() != b"content-length"]
            if message["type"] == "http.response.body":
                body = json.loads(message["body"])
                body["functions"] += [{"functionName": name, "memorySize": 128} for name in HOSTILE]
                message["body"] = json.dumps(body).encode()
            await send(message)

        await self.app(scope, receive, patch)


def test_hostile_function_names_are_recorded_not_executed(tmp_path: Path) -> None:
    scenario = default_scenario()
    account = scenario.accounts[0]
    key = account.access_keys[0]
    app = _HostileListing(create_app(World(scenario), ManualClock(AT)))
    with EmulatorServer(app) as server:
        targets = write_targets(tmp_path / "t.yaml", account.account_id, account.regions[0], server.url)
        resources = {
            "fc": FCResource(
                targets_file=str(targets), access_key_id=key.access_key_id, access_key_secret=key.access_key_secret
            ),
            "store": StoreResource(root=str(tmp_path / "store")),
        }
        assert dg.materialize(ASSETS, selection=[fc_inventory], resources=resources).success
        result = dg.materialize(
            ASSETS,
            selection=[fc_instance_snapshots],
            resources=resources,
            run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": AT.isoformat(), "max_lag_s": None}}}},
        )
    assert result.success  # 4 failed polls out of ~300 stay above the coverage threshold
    assert not Path("/tmp/pwned").exists()
    names = {p.name for p in (tmp_path / "store").rglob("*")}
    assert not any(h in n for h in HOSTILE for n in names)
    with connect(tmp_path / "store") as con:
        rows = con.execute(
            "select function_name, status, error_code from polls where function_name in (select unnest(?))", [HOSTILE]
        ).fetchall()
        views = con.execute("select count(*) from duckdb_views() where view_name = 'polls'").fetchone()
    # Each hostile name went to the API URL-escaped, was refused (no such function, or an escaped "/"
    # that no route matches), and was recorded verbatim as that poll's failure.
    assert sorted(name for name, _, _ in rows) == sorted(HOSTILE)
    assert {(status, code in {"FunctionNotFound", "PathNotSupported"}) for _, status, code in rows} == {("error", True)}
    assert views == (1,)

    injection = "x' or '1'='1"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipelines.cli import main; main()",
            "report",
            "capacity-hourly",
            "--store",
            str(tmp_path / "store"),
            "--function",
            injection,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
