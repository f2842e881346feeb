"""The real assets against the real emulator over HTTP: DuckDB reports equal the ground truth."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import dagster as dg
import httpx
import numpy as np
import pytest
import yaml

from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots
from pipelines.sqlrun import connect, run_report
from tests.integration.conftest import T0, Emulated

ASSETS = [fc_inventory, fc_instance_snapshots]
# Ticks spread over two hours and across an hour boundary, one minute apart in each run of ticks.
TICKS = [T0 + timedelta(minutes=m) for m in (0, 1, 2, 3, 59, 60, 61, 125)]


def _tick(emulated: Emulated, at, **config: object) -> dg.ExecuteInProcessResult:
    emulated.clock.set(at)
    return dg.materialize(
        ASSETS,
        selection=[fc_instance_snapshots],
        resources=emulated.resources(),
        run_config={
            "ops": {"fc_instance_snapshots": {"config": {"tick_at": at.isoformat(), "max_lag_s": None, **config}}}
        },
    )


DEPLOYMENTS = {
    # name: (targets entries beyond account/region/endpoint, which truth rows they cover, ticks)
    "fc2": ([{}], lambda r: r.service_name is not None, TICKS),
    "fc3": ([{"api_version": "2023-03-30"}], lambda r: r.service_name is None, TICKS[::2]),
    "mixed": ([{}, {"api_version": "2023-03-30"}], lambda r: True, TICKS[::2]),
}


def _expected_keys(emulated: Emulated, deployment: str) -> set[tuple[str | None, str, str]]:
    fc2 = {
        (s.name, f.name, q)
        for s in emulated.scenario.services
        for f in s.functions
        for q in ["LATEST", *(a.name for a in s.aliases)]
    }
    fc3 = {(None, f.name, q) for f in emulated.scenario.functions_v3 for q in ["LATEST", *(a.name for a in f.aliases)]}
    return {"fc2": fc2, "fc3": fc3, "mixed": fc2 | fc3}[deployment]


@pytest.mark.parametrize("deployment", sorted(DEPLOYMENTS))
def test_reports_equal_ground_truth(emulated: Emulated, deployment: str) -> None:
    extras, covered, ticks = DEPLOYMENTS[deployment]
    account = emulated.scenario.accounts[0]
    entries = [
        {"account_id": account.account_id, "regions": [account.regions[0]], "endpoint": emulated.url, **extra}
        for extra in extras
    ]
    emulated.targets_file.write_text(yaml.safe_dump({"targets": entries}), encoding="utf-8")
    keys = _expected_keys(emulated, deployment)
    inventory = dg.materialize(ASSETS, selection=[fc_inventory], resources=emulated.resources())
    assert inventory.success
    inv_meta = inventory.asset_materializations_for_node("fc_inventory")[0].metadata
    assert inv_meta["functions"].value == len({(s, f) for s, f, _ in keys})  # each function listed once (C5)

    truth_counts: dict[tuple, list[int]] = defaultdict(list)
    truth_instances = set()
    for at in ticks:
        result = _tick(emulated, at)
        assert result.success
        truth = [r for r in emulated.world.ground_truth(at) if covered(r)]
        counts = Counter((r.service_name, r.function_name, r.qualifier) for r in truth)
        meta = result.asset_materializations_for_node("fc_instance_snapshots")[0].metadata
        assert (meta["polls"].value, meta["ok"].value, meta["failed"].value) == (len(keys), len(keys), 0)
        assert meta["instances_seen"].value == len(truth)
        hour = at.replace(minute=0)
        for key in keys:
            truth_counts[(*key, hour)].append(counts.get(key, 0))
        truth_instances |= {
            (at, r.service_name, r.function_name, r.qualifier, r.instance_id, r.version_id) for r in truth
        }
        if deployment != "fc2":
            with connect(emulated.store_root) as con:
                extras_stored = con.execute(
                    "select instance_id, status, epoch_ms(created_at), resource_type from instances "
                    "where tick_at = ? and service_name is null",
                    [at],
                ).fetchall()
            assert sorted(extras_stored) == sorted(
                (r.instance_id, "Running", r.created_time_ms, r.resource_type) for r in truth if r.service_name is None
            )

    # The scenario must exercise what we claim: zeros, non-zeros and change between ticks.
    all_counts = [c for cs in truth_counts.values() for c in cs]
    assert 0 in all_counts and max(all_counts) >= 3

    with connect(emulated.store_root) as con:
        stored = set(
            con.execute(
                "select tick_at, service_name, function_name, qualifier, instance_id, version_id from instances"
            ).fetchall()
        )
        dupes = con.execute(
            "select count(*) from (select tick_at, function_name, qualifier, instance_id, count(*) n "
            "from instances group by all having n > 1)"
        ).fetchone()
    assert {(t, *rest) for t, *rest in stored} == truth_instances
    assert dupes == (0,)

    report = run_report(emulated.store_root, "capacity-hourly", {})
    got = {
        (
            r.service_name if isinstance(r.service_name, str) else None,
            r.function_name,
            r.qualifier,
            r.hour.to_pydatetime(),
        ): r
        for r in report.itertuples()
    }
    assert set(got) == set(truth_counts)
    for key, counts in truth_counts.items():
        row = got[key]
        assert row.ticks_ok == len(counts) and row.ticks_failed == 0
        assert (row.min_instances, row.max_instances) == (min(counts), max(counts))
        assert row.avg_instances == pytest.approx(np.mean(counts))
        assert row.p95_instances == pytest.approx(np.percentile(counts, 95))
        assert row.instance_minutes == pytest.approx(sum(counts))


def test_rerun_of_a_tick_replaces_not_duplicates(emulated: Emulated) -> None:
    dg.materialize(ASSETS, selection=[fc_inventory], resources=emulated.resources())
    first = _tick(emulated, T0)
    second = _tick(emulated, T0)
    assert first.success and second.success
    with connect(emulated.store_root) as con:
        polls, distinct = con.execute(
            "select count(*), count(distinct (function_name, qualifier)) from polls"
        ).fetchone()
        instances = con.execute("select count(*) from instances").fetchone()[0]
    assert polls == distinct
    assert instances == len([r for r in emulated.world.ground_truth(T0) if r.service_name is not None])


def test_tick_without_inventory_fails_with_the_fix(emulated: Emulated) -> None:
    result = dg.materialize(
        ASSETS, selection=[fc_instance_snapshots], resources=emulated.resources(), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "materialize fc_inventory first" in str(failure.step_failure_data.error.message)


def test_late_tick_is_refused_and_stays_a_gap(emulated: Emulated) -> None:
    dg.materialize(ASSETS, selection=[fc_inventory], resources=emulated.resources())
    result = dg.materialize(
        ASSETS,
        selection=[fc_instance_snapshots],
        resources=emulated.resources(),
        run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": T0.isoformat(), "max_lag_s": 300}}}},
        raise_on_error=False,
    )
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "max_lag_s 300): not polled" in message
    assert not list(emulated.store_root.rglob("tick-*.parquet"))


def test_future_tick_is_refused(emulated: Emulated) -> None:
    dg.materialize(ASSETS, selection=[fc_inventory], resources=emulated.resources())
    ahead = (datetime.now(UTC) + timedelta(hours=23)).replace(second=0, microsecond=0)
    result = dg.materialize(
        ASSETS,
        selection=[fc_instance_snapshots],
        resources=emulated.resources(),
        run_config={"ops": {"fc_instance_snapshots": {"config": {"tick_at": ahead.isoformat()}}}},
        raise_on_error=False,
    )
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert f"tick {ahead.isoformat()} is" in message and "s in the future: not polled" in message
    assert not list(emulated.store_root.rglob("tick-*.parquet"))


def test_coverage_is_reported_per_target(emulated: Emulated) -> None:
    dg.materialize(ASSETS, selection=[fc_inventory], resources=emulated.resources())
    result = _tick(emulated, T0)
    meta = result.asset_materializations_for_node("fc_instance_snapshots")[0].metadata
    per_target = meta["coverage_by_target"].value
    polls = meta["polls"].value
    assert per_target == {
        "1234567890/cn-hangzhou/2021-04-06": {
            "polls": polls,
            "ok": polls,
            "failed": 0,
            "coverage": 1.0,
            "failures_by_code": {},
        }
    }


def test_invalid_targets_file_fails_the_run_with_one_clear_message(emulated: Emulated) -> None:
    emulated.targets_file.write_text("targets:\n  - account_id: 12ab\n    regions: [cn-hangzhou]\n")
    result = dg.materialize(ASSETS, selection=[fc_inventory], resources=emulated.resources(), raise_on_error=False)
    assert not result.success
    error = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    assert error.message.strip().endswith(
        "targets[0].account_id: must be the numeric account id (e.g. '1234567890'); quote it in YAML"
    )
    assert error.cause is None  # a config error is a message, not a traceback chain


def test_a_tick_makes_one_list_instances_call_per_poll_and_nothing_else(emulated: Emulated) -> None:
    dg.materialize(ASSETS, selection=[fc_inventory], resources=emulated.resources())
    httpx.delete(f"{emulated.url}/_emulator/stats").raise_for_status()
    result = _tick(emulated, T0)
    polls = result.asset_materializations_for_node("fc_instance_snapshots")[0].metadata["polls"].value
    stats = httpx.get(f"{emulated.url}/_emulator/stats").json()
    assert stats["requests"] == {"ListInstances": polls}
