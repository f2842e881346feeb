"""The fault matrix: every emulator fault x {inventory refresh, tick}, through real Dagster runs.

Each cell asserts the recorded outcome, that every unfaulted service's data is complete, and the
run's status and metadata. Faults hit service "b" only; service "a" must come through whole.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots
from pipelines.emulator import (
    AccessKey,
    AccountSpec,
    EmulatorServer,
    FunctionScenario,
    LoadModel,
    ManualClock,
    Scenario,
    ServiceSpec,
    World,
    create_app,
    parse_fault_spec,
)
from pipelines.resources import FCResource, StoreResource
from pipelines.sqlrun import connect
from tests.integration.conftest import write_targets

ACCT, REGION = "1234567890", "cn-hangzhou"
AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ASSETS = [fc_inventory, fc_instance_snapshots]
BUSY = LoadModel(peak=2, base=2, noise=0.0, scale_to_zero=False)
SCENARIO = Scenario(
    seed=5,
    accounts=[AccountSpec(ACCT, [REGION], [AccessKey("ak", "sk")])],
    services=[
        ServiceSpec(ACCT, REGION, name, functions=[FunctionScenario(f"{name}{i}", load=BUSY) for i in range(5)])
        for name in ("a", "b")
    ],
)

# kind -> (spec suffix, error code recorded when it persists)
FAULTS = {
    "429-retry-after": ("429,retry_after=0", "ResourceExhausted"),
    "429-no-hint": ("429", "ResourceExhausted"),
    "503-x-acs-retry-after": ("503,retry_after_ms=10", "ResourceThrottled"),
    "503-no-hint": ("503", "ResourceThrottled"),
    "500": ("500", "InternalServerError"),
    "502": ("502", "BadGateway"),
    "504": ("504", "GatewayTimeout"),
    "latency-beyond-deadline": ("latency,seconds=3", "Timeout"),
    "stalled-body": ("stall,seconds=3", "Timeout"),
    "dropped-connection": ("drop", "ConnectionError"),
    "malformed-json": ("malformed_json", "MalformedAnswer"),
    "truncated-json": ("truncated_json", "MalformedAnswer"),
}


def _resources(tmp_path: Path, url: str) -> dict[str, object]:
    targets = write_targets(tmp_path / "t.yaml", ACCT, REGION, url)
    fc = FCResource(
        targets_file=str(targets),
        access_key_id="ak",
        access_key_secret="sk",
        timeout_s=0.4,
        retry_attempts=2,
        poll_deadline_s=2.0,
    )
    return {"fc": fc, "store": StoreResource(root=str(tmp_path / "store"))}


def _tick(resources: dict[str, object], at: datetime) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS,
        selection=[fc_instance_snapshots],
        resources=resources,
        run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": at.isoformat(), "max_lag_s": None}}}},
        raise_on_error=False,
    )


def _failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_tick_fault(tmp_path: Path, kind: str) -> None:
    spec, code = FAULTS[kind]
    world = World(SCENARIO)
    fault = parse_fault_spec(f"{spec},action=ListInstances,function=b*")
    with EmulatorServer(create_app(world, ManualClock(AT), faults=[fault])) as server:
        resources = _resources(tmp_path, server.url)
        assert dg.materialize(ASSETS, selection=[fc_inventory], resources=resources).success
        result = _tick(resources, AT)
    # Half the polls fail: below min_coverage, so the run is red and says which target and why.
    assert not result.success
    message = _failure(result)
    assert f"{ACCT}/{REGION}/2021-04-06: 5/10 ok (50.0%); {code} x5" in message
    with connect(tmp_path / "store") as con:
        rows = con.execute(
            "select function_name, status, error_code, instance_count from polls order by function_name"
        ).fetchall()
        a_instances = con.execute("select count(*) from instances where service_name = 'a'").fetchone()
    assert rows[:5] == [(f"a{i}", "ok", None, 2) for i in range(5)]
    assert rows[5:] == [(f"b{i}", "error", code, None) for i in range(5)]
    assert a_instances == (10,)


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_inventory_fault(tmp_path: Path, kind: str) -> None:
    spec, code = FAULTS[kind]
    world = World(SCENARIO)
    fault = parse_fault_spec(f"{spec},action=ListFunctions,service=b")
    with EmulatorServer(create_app(world, ManualClock(AT), faults=[fault])) as server:
        resources = _resources(tmp_path, server.url)
        result = dg.materialize(ASSETS, selection=[fc_inventory], resources=resources, raise_on_error=False)
        assert not result.success
        message = _failure(result)
        assert f"{ACCT}/{REGION}/2021-04-06/b/*: {code}" in message
        # Service a was inventoried in full and its tick is complete.
        tick = _tick(resources, AT)
    assert tick.success
    with connect(tmp_path / "store") as con:
        functions = con.execute("select service_name, count(*) from functions group by all").fetchall()
        polls = con.execute("select count(*) filter (where status = 'ok'), count(*) from polls").fetchone()
    assert functions == [("a", 5)]
    assert polls == (5, 5)


def test_repeated_page_token_in_inventory(tmp_path: Path) -> None:
    many = Scenario(
        seed=5,
        accounts=SCENARIO.accounts,
        services=[
            *SCENARIO.services,
            ServiceSpec(ACCT, REGION, "c", functions=[FunctionScenario(f"c{i:03d}", load=BUSY) for i in range(120)]),
        ],
    )
    fault = parse_fault_spec("repeat_token,action=ListFunctions,service=c")
    with EmulatorServer(create_app(World(many), ManualClock(AT), faults=[fault])) as server:
        result = dg.materialize(
            ASSETS, selection=[fc_inventory], resources=_resources(tmp_path, server.url), raise_on_error=False
        )
    assert not result.success
    assert f"{ACCT}/{REGION}/2021-04-06/c/*: RepeatedPageToken" in _failure(result)


@pytest.mark.parametrize("phase", ["inventory", "tick"])
def test_clock_skew_is_a_fatal_recorded_failure(tmp_path: Path, phase: str) -> None:
    world = World(SCENARIO)
    # A server whose tolerance is below zero sees every request as skewed.
    with (
        EmulatorServer(create_app(world, ManualClock(AT))) as good,
        EmulatorServer(create_app(world, ManualClock(AT), skew_limit=timedelta(seconds=-1))) as skewed,
    ):
        resources = _resources(tmp_path, good.url if phase == "tick" else skewed.url)
        if phase == "tick":
            assert dg.materialize(ASSETS, selection=[fc_inventory], resources=resources).success
            resources = _resources(tmp_path, skewed.url)
            result = _tick(resources, AT)
        else:
            result = dg.materialize(ASSETS, selection=[fc_inventory], resources=resources, raise_on_error=False)
    assert not result.success
    message = _failure(result)
    assert "RequestTimeTooSkewed" in message
    assert "fix: this machine's clock is off; enable NTP" in message


@pytest.mark.parametrize("phase", ["inventory", "tick"])
def test_connection_refused(tmp_path: Path, phase: str) -> None:
    world = World(SCENARIO)
    with EmulatorServer(create_app(world, ManualClock(AT))) as server:
        url = server.url
        resources = _resources(tmp_path, url)
        if phase == "tick":
            assert dg.materialize(ASSETS, selection=[fc_inventory], resources=resources).success
    # The server is gone: nothing listens on that port any more.
    if phase == "tick":
        result = _tick(resources, AT)
    else:
        result = dg.materialize(ASSETS, selection=[fc_inventory], resources=resources, raise_on_error=False)
    assert not result.success
    message = _failure(result)
    assert "ConnectionError" in message and url in message
    assert "fix: check that the endpoint is reachable" in message
