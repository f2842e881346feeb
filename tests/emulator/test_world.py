"""World: a pure, deterministic function of (scenario, seed, time) with FC's qualifier semantics."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.emulator import (
    AccessKey,
    AccountSpec,
    AliasSpec,
    FunctionScenario,
    LoadModel,
    NotFoundError,
    Scenario,
    ServiceSpec,
    World,
    default_scenario,
)

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
ACCT, REGION = "1234567890", "cn-hangzhou"


@pytest.fixture(scope="module")
def world() -> World:
    return World(default_scenario())


def tiny(load: LoadModel, aliases: list[AliasSpec] | None = None, versions: list[str] | None = None) -> World:
    return World(
        Scenario(
            seed=3,
            accounts=[AccountSpec(ACCT, [REGION], [AccessKey("ak", "sk")])],
            services=[
                ServiceSpec(
                    ACCT,
                    REGION,
                    "svc",
                    functions=[FunctionScenario("fn", load=load)],
                    aliases=aliases or [],
                    versions=versions or [],
                )
            ],
        )
    )


def test_default_scenario_shape() -> None:
    s = default_scenario()
    assert len(s.services) >= 3
    assert sum(len(svc.functions) for svc in s.services) >= 120
    assert [a.account_id for a in s.accounts] == [ACCT]
    assert s.accounts[0].regions == [REGION]
    key = s.accounts[0].access_keys[0]
    assert (key.access_key_id, key.access_key_secret) == ("fccap-emulator-ak", "fccap-emulator-secret")
    assert any(a.provisioned > 0 for svc in s.services for a in svc.aliases)
    assert any(not svc.aliases for svc in s.services)
    assert "fccap-emulator-secret" not in repr(s)


def test_same_time_same_answer_across_worlds(world: World) -> None:
    other = World(default_scenario())
    for at in (T0 + timedelta(hours=14, minutes=7), T0 + timedelta(days=3, hours=2, seconds=59)):
        assert world.ground_truth(at) == other.ground_truth(at)
        # Asking for a later time first must not change an earlier answer.
        later_first = World(default_scenario())
        later_first.ground_truth(at + timedelta(days=2))
        assert later_first.ground_truth(at) == world.ground_truth(at)


def test_seconds_within_a_minute_do_not_matter(world: World) -> None:
    at = T0 + timedelta(hours=9, minutes=30)
    assert world.ground_truth(at) == world.ground_truth(at + timedelta(seconds=59))


def test_different_seed_gives_different_ids(world: World) -> None:
    at = T0 + timedelta(hours=14)
    ids = {r.instance_id for r in world.ground_truth(at)}
    other = {r.instance_id for r in World(default_scenario(seed=8)).ground_truth(at)}
    assert ids
    assert other
    assert not ids & other


def test_ids_look_like_fc(world: World) -> None:
    rows = world.ground_truth(T0 + timedelta(hours=14))
    assert rows
    for r in rows[:50]:
        assert r.instance_id.startswith("c-")
        assert len(r.instance_id) == 38
        int(r.instance_id[2:].replace("-", ""), 16)


def test_ids_continue_across_adjacent_minutes(world: World) -> None:
    """Over three hours minute by minute: an id lives one unbroken run, and most ids survive each minute."""
    last_seen: dict[str, int] = {}
    ended: set[str] = set()
    kept = total = 0
    previous: set[str] = set()
    for minute in range(12 * 60, 15 * 60):
        now = {r.instance_id for r in world.ground_truth(T0 + timedelta(minutes=minute))}
        assert not now & ended, "an instance id came back after it had gone"
        ended |= previous - now
        kept += len(previous & now)
        total += len(previous)
        for i in now:
            last_seen[i] = minute
        previous = now
    assert total > 1000
    assert kept / total > 0.95


def test_steady_demand_keeps_the_same_ids() -> None:
    w = tiny(LoadModel(peak=5, base=5, noise=0.0, max_lifetime_minutes=720))
    seen: set[str] = set()
    for minute in range(60):
        found = w.instances(ACCT, REGION, "svc", "fn", None, T0 + timedelta(hours=3, minutes=minute))
        assert len(found) == 5
        seen |= {i.instance_id for i in found}
    # Only lifetime recycling renews an id: at most once per slot in an hour when lifetimes are 12 hours.
    assert 5 <= len(seen) <= 10


def test_births_and_deaths_over_a_day(world: World) -> None:
    seen_births = seen_deaths = 0
    previous = {r.instance_id for r in world.ground_truth(T0)}
    lifetimes: dict[str, int] = {}
    for minute in range(5, 24 * 60, 5):
        now = {r.instance_id for r in world.ground_truth(T0 + timedelta(minutes=minute))}
        seen_births += len(now - previous)
        seen_deaths += len(previous - now)
        for i in now:
            lifetimes[i] = lifetimes.get(i, 0) + 5
        previous = now
    assert seen_births > 100
    assert seen_deaths > 100
    # Instances are recycled at max_lifetime_minutes (360 in the default scenario), never older.
    assert max(lifetimes.values()) <= 360


def test_daily_curve_peaks_near_peak_hour() -> None:
    w = tiny(LoadModel(peak=20, base=0, peak_hour_utc=14.0, noise=0.0))
    at_peak = len(w.instances(ACCT, REGION, "svc", "fn", None, T0 + timedelta(hours=14)))
    at_night = len(w.instances(ACCT, REGION, "svc", "fn", None, T0 + timedelta(hours=2)))
    assert 18 <= at_peak <= 21
    assert at_night == 0


def test_scale_to_zero_functions_reach_zero_and_come_back(world: World) -> None:
    rare = [
        (svc.name, fn.name)
        for svc in world.scenario.services
        for fn in svc.functions
        if fn.load.scale_to_zero and fn.load.base == 0 and fn.load.duty_cycle < 0.3
    ][:5]
    assert rare
    for svc, fn in rare:
        counts = [
            len(world.instances(ACCT, REGION, svc, fn, "LATEST", T0 + timedelta(minutes=m))) for m in range(0, 1440, 3)
        ]
        assert min(counts) == 0, (svc, fn)
        assert max(counts) > 0, (svc, fn)


def test_kept_warm_function_never_reaches_zero() -> None:
    w = tiny(LoadModel(peak=1, base=0, duty_cycle=0.0, scale_to_zero=False))
    counts = [len(w.instances(ACCT, REGION, "svc", "fn", None, T0 + timedelta(minutes=m))) for m in range(0, 1440, 11)]
    assert min(counts) == 1


def test_idle_instances_linger_for_keepalive() -> None:
    """A single burst: instances stay keep-alive minutes after demand ends, then all go."""
    w = tiny(LoadModel(peak=0, base=0, bursts_per_day=3, burst_size=4, burst_minutes=5, idle_keepalive_minutes=12))
    counts = [len(w.instances(ACCT, REGION, "svc", "fn", None, T0 + timedelta(minutes=m))) for m in range(1440)]
    assert max(counts) in (4, 8)  # overlapping bursts stack
    runs, length = [], 0
    for c in counts:
        if c:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    assert runs
    # Each burst keeps instances for its 5 minutes plus the 12-minute keep-alive (bursts may merge).
    assert min(runs) >= 5 + 12


PROVISIONED = [AliasSpec("prod", "2", provisioned=3), AliasSpec("canary", "1")]


@pytest.mark.parametrize(
    ("qualifier", "expected_versions", "floor"),
    [
        pytest.param(None, {"0"}, 0, id="none-is-latest"),
        pytest.param("LATEST", {"0"}, 0, id="latest"),
        pytest.param("prod", {"2"}, 3, id="alias-with-provisioned-floor"),
        pytest.param("canary", {"1"}, 0, id="alias-without-floor"),
        pytest.param("2", {"2"}, 3, id="version-number-via-its-alias"),
    ],
)
def test_qualifier_semantics(qualifier: str | None, expected_versions: set[str], floor: int) -> None:
    w = tiny(LoadModel(peak=0, base=0), aliases=PROVISIONED, versions=["1", "2", "3"])
    for minute in range(0, 1440, 97):
        found = w.instances(ACCT, REGION, "svc", "fn", qualifier, T0 + timedelta(minutes=minute))
        assert len(found) == floor
        assert {i.version_id for i in found} <= expected_versions
        assert [i.instance_id for i in found] == sorted(i.instance_id for i in found)


def test_provisioned_floor_only_via_alias() -> None:
    w = tiny(LoadModel(peak=0, base=0), aliases=PROVISIONED, versions=["1", "2", "3"])
    at = T0 + timedelta(hours=5)
    assert w.instances(ACCT, REGION, "svc", "fn", "LATEST", at) == []
    prod = w.instances(ACCT, REGION, "svc", "fn", "prod", at)
    assert len(prod) == 3
    assert {i.version_id for i in prod} == {"2"}
    assert w.instances(ACCT, REGION, "svc", "fn", "3", at) == []  # published but no alias routes to it


def test_qualifiers_have_distinct_instances() -> None:
    w = tiny(LoadModel(peak=6, base=3, noise=0.0), aliases=PROVISIONED, versions=["1", "2"])
    at = T0 + timedelta(hours=14)
    latest = {i.instance_id for i in w.instances(ACCT, REGION, "svc", "fn", None, at)}
    prod = {i.instance_id for i in w.instances(ACCT, REGION, "svc", "fn", "prod", at)}
    assert latest
    assert prod
    assert not latest & prod


@pytest.mark.parametrize(
    ("service", "function", "qualifier", "code"),
    [
        pytest.param("nope", "fn", None, "ServiceNotFound", id="service"),
        pytest.param("svc", "nope", None, "FunctionNotFound", id="function"),
        pytest.param("svc", "fn", "nope", "AliasNotFound", id="alias"),
        pytest.param("svc", "fn", "9", "AliasNotFound", id="unpublished-version"),
    ],
)
def test_unknown_names_raise_not_found(service: str, function: str, qualifier: str | None, code: str) -> None:
    w = tiny(LoadModel(), aliases=PROVISIONED, versions=["1", "2"])
    with pytest.raises(NotFoundError) as info:
        w.instances(ACCT, REGION, service, function, qualifier, T0)
    assert info.value.code == code


def test_truth_matches_instances(world: World) -> None:
    at = T0 + timedelta(hours=13, minutes=21)
    rows = world.ground_truth(at)
    by_key: dict[tuple[str | None, str, str], list[tuple]] = {}
    for r in rows:
        assert (r.account_id, r.region) == (ACCT, REGION)
        by_key.setdefault((r.service_name, r.function_name, r.qualifier), []).append(
            (r.instance_id, r.version_id, r.created_time_ms, r.resource_type)
        )
    # FC 2.0 functions under their service, FC 3.0 functions with no service (None).
    series: list[tuple[str | None, str, str]] = [
        (svc.name, fn.name, q)
        for svc in world.scenario.services
        for fn in svc.functions
        for q in ["LATEST", *(a.name for a in svc.aliases)]
    ]
    series += [(None, f.name, q) for f in world.scenario.functions_v3 for q in ["LATEST", *(a.name for a in f.aliases)]]
    assert set(by_key) <= set(series)
    assert any(service is None for service, _, _ in by_key)
    for service, function, q in series:
        got = [
            (i.instance_id, i.version_id, i.created_time_ms, i.resource_type)
            for i in world.instances(ACCT, REGION, service, function, q, at)
        ]
        assert by_key.get((service, function, q), []) == got
    assert len({r.instance_id for r in rows}) == len(rows)


def test_a_tick_is_cheap(world: World) -> None:
    at = T0 + timedelta(days=10, hours=14)
    world.ground_truth(at)  # warms the day's cache
    started = time.perf_counter()
    for m in range(1, 11):
        world.ground_truth(at + timedelta(minutes=m))
    per_tick = (time.perf_counter() - started) / 10
    assert per_tick < 0.05
