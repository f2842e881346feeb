"""A failed discovery keeps the last known functions polling and fails the run naming the scope."""

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


class _Outage:
    """Fails every call under one path prefix with a 500 while ``down`` is set."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app, self.prefix, self.down = app, prefix, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.down and scope["type"] == "http" and scope["path"].startswith(self.prefix):
            body = b'{"ErrorCode":"InternalServerError","ErrorMessage":"down for the test"}'
            await send(
                {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def test_failed_service_listing_keeps_its_functions_polled(tmp_path: Path) -> None:
    scenario = default_scenario()
    world = World(scenario)
    outage = _Outage(create_app(world, ManualClock(AT)), "/2021-04-06/services/orders/functions")
    account = scenario.accounts[0]
    key = account.access_keys[0]
    with EmulatorServer(outage) as server:
        targets = write_targets(tmp_path / "t.yaml", account.account_id, account.regions[0], server.url)
        resources = {
            "fc": FCResource(
                targets_file=str(targets),
                access_key_id=key.access_key_id,
                access_key_secret=key.access_key_secret,
                retry_attempts=2,
            ),
            "store": StoreResource(root=str(tmp_path / "store")),
        }
        assert dg.materialize(ASSETS, selection=[fc_inventory], resources=resources).success
        outage.down = True
        second = dg.materialize(ASSETS, selection=[fc_inventory], resources=resources, raise_on_error=False)
        outage.down = False
        tick = dg.materialize(
            ASSETS,
            selection=[fc_instance_snapshots],
            resources=resources,
            run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": AT.isoformat(), "max_lag_s": None}}}},
        )

    assert not second.success
    message = next(e for e in second.all_events if e.is_step_failure).step_failure_data.error.message
    assert "1234567890/cn-hangzhou/2021-04-06/orders/*: InternalServerError (HTTP 500)" in message
    assert "previous inventory was kept" in message
    orders = next(s for s in scenario.services if s.name == "orders")
    with connect(tmp_path / "store") as con:
        refreshes = con.execute(
            "select count(distinct refreshed_at), count(*) filter (where service_name = 'orders') from functions"
        ).fetchone()
        polled = con.execute("select count(distinct function_name) from polls where service_name = 'orders'").fetchone()
    assert refreshes == (2, 2 * len(orders.functions))  # both refreshes hold the orders functions
    assert polled == (len(orders.functions),)
    assert tick.success
