"""Coverage accounting with a mix of failing targets: two regions, one down; the run is red and
names exactly the failing target, the metadata has both, and the healthy target's data is whole."""

from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import yaml

from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots
from pipelines.emulator import (
    EmulatorServer,
    ManualClock,
    World,
    create_app,
    default_scenario,
    parse_fault_spec,
    parse_scenario,
    scenario_to_dict,
)
from pipelines.resources import FCResource, StoreResource
from pipelines.sqlrun import connect

AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ACCT = "1234567890"
ASSETS = [fc_inventory, fc_instance_snapshots]


def test_one_failing_region_is_named_and_the_other_is_complete(tmp_path: Path) -> None:
    data = scenario_to_dict(default_scenario())
    data["accounts"][0]["regions"] = ["cn-hangzhou", "cn-shanghai"]
    for service in data["services"]:
        if service["name"] == "batch":
            service["region"] = "cn-shanghai"
    data["functions_v3"] = []
    scenario = parse_scenario(data)
    world, clock = World(scenario), ManualClock(AT)
    key = scenario.accounts[0].access_keys[0]
    down = parse_fault_spec("500,action=ListInstances")
    with ExitStack() as stack:
        hangzhou = stack.enter_context(EmulatorServer(create_app(world, clock, region="cn-hangzhou"))).url
        shanghai = stack.enter_context(
            EmulatorServer(create_app(world, clock, region="cn-shanghai", faults=[down]))
        ).url
        targets = tmp_path / "t.yaml"
        targets.write_text(
            yaml.safe_dump(
                {
                    "targets": [
                        {
                            "account_id": ACCT,
                            "regions": ["cn-hangzhou", "cn-shanghai"],
                            "endpoints": {"cn-hangzhou": hangzhou, "cn-shanghai": shanghai},
                        }
                    ]
                }
            )
        )
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
        result = dg.materialize(
            ASSETS,
            selection=[fc_instance_snapshots],
            resources=resources,
            run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": AT.isoformat(), "max_lag_s": None}}}},
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    batch = next(s for s in scenario.services if s.name == "batch")
    assert f"{ACCT}/cn-shanghai/2021-04-06: 0/{len(batch.functions)} ok (0.0%); InternalServerError x" in message
    assert "cn-hangzhou" not in message
    per_target = failure.step_failure_data.user_failure_data.metadata["coverage_by_target"].value
    hangzhou_polls = sum(
        len(s.functions) * (1 + len(s.aliases)) for s in scenario.services if s.region == "cn-hangzhou"
    )
    assert per_target[f"{ACCT}/cn-hangzhou/2021-04-06"]["coverage"] == 1.0
    assert per_target[f"{ACCT}/cn-hangzhou/2021-04-06"]["polls"] == hangzhou_polls
    assert per_target[f"{ACCT}/cn-shanghai/2021-04-06"] == {
        "polls": len(batch.functions),
        "ok": 0,
        "failed": len(batch.functions),
        "coverage": 0.0,
        "failures_by_code": {"InternalServerError": len(batch.functions)},
    }
    truth = [r for r in world.ground_truth(AT) if r.region == "cn-hangzhou" and r.service_name is not None]
    with connect(tmp_path / "store") as con:
        stored = con.execute("select count(*) from instances where region = 'cn-hangzhou'").fetchone()
        regions = con.execute("select region, count(*) from polls group by all order by 1").fetchall()
    assert stored == (len(truth),)
    assert regions == [("cn-hangzhou", hangzhou_polls), ("cn-shanghai", len(batch.functions))]
