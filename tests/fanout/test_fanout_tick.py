"""The fanned-out tick: one run per (account, region) partition, through the real schedule.

Two regions of one account, each served by its own region-bound emulator; cn-shanghai is down
for ListInstances in one test. Each run writes only its target's files, its coverage check
reads only those files (C21), and readers see the tick once, equal to a single-run tick.
"""

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
import yaml

from assets.checks import fc_instance_snapshots__coverage, fc_instance_snapshots__fresh
from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots, fc_instance_snapshots_by_target
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
from pipelines.schedules import build_tick_schedule, fc_inventory_job, fc_tick_job, single_run_tick_job
from pipelines.sqlrun import connect

AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ACCT = "1234567890"
KEYS = [f"{ACCT}/cn-hangzhou", f"{ACCT}/cn-shanghai"]
STAMP = "20261201T140000Z"


@dataclass
class TwoRegions:
    targets: Path
    key: tuple[str, str]

    def resources(self, store: Path) -> dict[str, object]:
        fc = FCResource(
            targets_file=str(self.targets), access_key_id=self.key[0], access_key_secret=self.key[1], retry_attempts=1
        )
        return {"fc": fc, "store": StoreResource(root=str(store))}


def _servers(tmp_path: Path, shanghai_down: bool) -> Iterator[TwoRegions]:
    data = scenario_to_dict(default_scenario())
    data["accounts"][0]["regions"] = ["cn-hangzhou", "cn-shanghai"]
    for service in data["services"]:
        if service["name"] == "batch":
            service["region"] = "cn-shanghai"
    scenario = parse_scenario(data)
    world, clock = World(scenario), ManualClock(AT)
    key = scenario.accounts[0].access_keys[0]
    faults = [parse_fault_spec("500,action=ListInstances")] if shanghai_down else []
    with ExitStack() as stack:
        urls = {
            "cn-hangzhou": stack.enter_context(EmulatorServer(create_app(world, clock, region="cn-hangzhou"))).url,
            "cn-shanghai": stack.enter_context(
                EmulatorServer(create_app(world, clock, region="cn-shanghai", faults=faults))
            ).url,
        }
        targets = tmp_path / "targets.yaml"
        target = {"account_id": ACCT, "regions": list(urls), "endpoints": urls}
        targets.write_text(yaml.safe_dump({"targets": [target]}), encoding="utf-8")
        yield TwoRegions(targets, (key.access_key_id, key.access_key_secret))


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[TwoRegions]:
    yield from _servers(tmp_path, shanghai_down=False)


@pytest.fixture
def shanghai_down(tmp_path: Path) -> Iterator[TwoRegions]:
    yield from _servers(tmp_path, shanghai_down=True)


def _defs(env: TwoRegions, store: Path, *, fan_out: bool = True) -> dg.Definitions:
    snapshots = fc_instance_snapshots_by_target if fan_out else fc_instance_snapshots
    return dg.Definitions(
        assets=[fc_inventory, snapshots],
        asset_checks=[fc_instance_snapshots__fresh, fc_instance_snapshots__coverage],
        jobs=[fc_tick_job if fan_out else single_run_tick_job, fc_inventory_job],
        schedules=[build_tick_schedule(fan_out=fan_out)],
        resources=env.resources(store),
    )


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[dg.ExecuteInProcessResult]:
    """Evaluate the real schedule at AT and execute every run it asks for."""
    schedule = defs.resolve_schedule_def("fc_tick_schedule")
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=AT, repository_def=defs.get_repository_def()
    ) as context:
        requests = schedule.evaluate_tick(context).run_requests or []
    results = []
    for request in requests:
        config = request.run_config
        config["ops"]["fc_instance_snapshots"]["config"]["max_lag_s"] = None
        results.append(
            defs.resolve_job_def("fc_tick_job").execute_in_process(
                run_config=config,
                tags=request.tags,
                partition_key=request.partition_key,
                instance=instance,
                raise_on_error=False,
            )
        )
    return results


def _polls(store: Path) -> list[tuple[object, ...]]:
    with connect(store) as con:
        return con.execute(
            "select account_id, region, api_version, service_name, function_name, qualifier, status, instance_count "
            "from polls where tick_at = ? order by all",
            [AT],
        ).fetchall()


def test_a_tick_fans_out_per_target_and_reads_back_once(regions: TwoRegions, tmp_path: Path) -> None:
    store = tmp_path / "store"
    defs = _defs(regions, store)
    with dg.instance_for_test() as instance:
        # Before any inventory there is nothing to fan out to: the schedule says why.
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=AT, repository_def=defs.get_repository_def()
        ) as context:
            skipped = defs.resolve_schedule_def("fc_tick_schedule").evaluate_tick(context)
        assert not skipped.run_requests and "run fc_inventory_job" in (skipped.skip_message or "")

        inventory = defs.resolve_job_def("fc_inventory_job").execute_in_process(instance=instance)
        assert instance.get_dynamic_partitions("fc_targets") == KEYS
        assert inventory.asset_materializations_for_node("fc_inventory")[0].metadata["partitions"].value == {
            "keys": KEYS,
            "added": KEYS,
            "removed": [],
        }
        results = _tick(defs, instance)
        assert [r.success for r in results] == [True, True]
        runs = sorted(instance.get_runs(dg.RunsFilter(job_name="fc_tick_job")), key=lambda r: r.tags["fccap/target"])
        assert [(r.tags["fccap/target"], r.tags["fccap/account"], r.tags["dagster/partition"]) for r in runs] == [
            (k, ACCT, k) for k in KEYS
        ]
        assert {r.tags["dagster/priority"] for r in runs} == {"10"}

        for result, key in zip(results, KEYS, strict=True):
            region = key.split("/")[1]
            name = f"tick-{STAMP}-{ACCT}-{region}.parquet"
            meta = result.asset_materializations_for_node("fc_instance_snapshots")[0].metadata
            assert meta["target"].value == key
            written = pq.read_table(store / "polls" / "dt=2026-12-01" / name).to_pandas()
            assert set(written["region"]) == {region} and len(written) == meta["polls"].value > 0
            [coverage] = [c for c in result.get_asset_check_evaluations() if c.check_name == "coverage"]
            # The check read this run's file and nothing else.
            assert coverage.passed
            assert coverage.metadata["file"].value == name
            assert coverage.metadata["coverage"].value == {key: 1.0}

        fanned = _polls(store)

    # The same tick in one run for all targets: the same polls, read once.
    single_store = tmp_path / "single"
    single = _defs(regions, single_store, fan_out=False)
    with dg.instance_for_test() as instance:
        single.resolve_job_def("fc_inventory_job").execute_in_process(instance=instance)
        [one] = _tick(single, instance)
        assert one.success
    assert sorted(p.name for p in (single_store / "polls" / "dt=2026-12-01").glob("tick-*")) == [
        f"tick-{STAMP}.parquet"
    ]
    assert fanned == _polls(single_store)
    assert {r[1] for r in fanned} == {"cn-hangzhou", "cn-shanghai"}


def test_a_failing_target_fails_only_its_run_and_checks_stay_in_their_run(
    shanghai_down: TwoRegions, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    defs = _defs(shanghai_down, store)
    with dg.instance_for_test() as instance:
        defs.resolve_job_def("fc_inventory_job").execute_in_process(instance=instance)
        hangzhou, shanghai = _tick(defs, instance)
        assert hangzhou.success and not shanghai.success
        [failure] = shanghai.get_step_failure_events()
        message = str(failure.step_failure_data.error.message if failure.step_failure_data.error else "")
        assert f"{ACCT}/cn-shanghai" in message and "cn-hangzhou" not in message
        # The healthy run's check saw only its own target, though the other run wrote a failed tick.
        [coverage] = [c for c in hangzhou.get_asset_check_evaluations() if c.check_name == "coverage"]
        assert coverage.passed and coverage.metadata["coverage"].value == {f"{ACCT}/cn-hangzhou": 1.0}
        [fresh] = [c for c in hangzhou.get_asset_check_evaluations() if c.check_name == "fresh"]
        assert fresh.metadata["target"].value == f"{ACCT}/cn-hangzhou"
    # Every planned poll of both targets is one row: the down region's as recorded failures.
    statuses = {(r[1], r[6]) for r in _polls(store)}
    assert statuses == {("cn-hangzhou", "ok"), ("cn-shanghai", "error")}


def test_inventory_drops_partitions_of_targets_no_longer_configured(regions: TwoRegions, tmp_path: Path) -> None:
    defs = _defs(regions, tmp_path / "store")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("fc_targets", [f"{ACCT}/cn-beijing"])
        result = defs.resolve_job_def("fc_inventory_job").execute_in_process(instance=instance)
        assert result.asset_materializations_for_node("fc_inventory")[0].metadata["partitions"].value == {
            "keys": KEYS,
            "added": KEYS,
            "removed": [f"{ACCT}/cn-beijing"],
        }
        assert instance.get_dynamic_partitions("fc_targets") == KEYS


def code_location_job(name: str) -> dg.JobDefinition:
    """A job exactly as the code location serves it, reconstructed in each step process."""
    from pipelines.definitions import defs  # imported after the test has set the environment

    return defs.resolve_job_def(name)


def test_the_code_locations_executor_runs_each_step_in_a_process_of_its_own(
    regions: TwoRegions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default Definitions' executor (multiprocess, steps forked from a preloaded forkserver) runs
    the real inventory and a partition's tick outside this process, as the daemon's runs do."""
    store = tmp_path / "store"
    for name, value in {
        "FCCAP_TARGETS": str(regions.targets),
        "FCCAP_STORE": str(store),
        "ALIBABA_CLOUD_ACCESS_KEY_ID": regions.key[0],
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": regions.key[1],
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    config = {"ops": {"fc_instance_snapshots": {"config": {"tick_at": AT.isoformat(), "max_lag_s": None}}}}
    with dg.instance_for_test() as instance:
        for name, tags in (("fc_inventory_job", {}), ("fc_tick_job", {"dagster/partition": KEYS[0]})):
            job = dg.build_reconstructable_job(__name__, "code_location_job", reconstructable_args=(name,))
            with dg.execute_job(job, instance, run_config=config if tags else None, tags=tags) as result:
                assert result.success
                steps = {e.step_key: e.pid for e in result.all_events if e.event_type_value == "STEP_START"}
                checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
        # Each step ran in a process of its own, none in this one.
        assert len(set(steps.values())) == len(steps) and os.getpid() not in steps.values()
    assert sorted(steps) == [
        "fc_instance_snapshots",
        "fc_instance_snapshots_coverage",
        "fc_instance_snapshots_fresh",
    ]
    # The tick at AT is days old, so it is not fresh; its target's polls were all answered.
    assert checks == {"coverage": True, "fresh": False}
    polls = _polls(store)
    assert polls and {(r[1], r[6]) for r in polls} == {("cn-hangzhou", "ok")}
