"""Generated scenarios: deterministic from the seed, heavy-tailed like production FaaS, validated by field."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from pipelines.emulator import World, load_scenario, parse_scenario
from pipelines.emulator.generate import CURVE_MEAN, expected_mean_instances
from pipelines.emulator.world import _demand

SCENARIOS = Path(__file__).parents[2] / "pipelines" / "emulator" / "scenarios"
ACCOUNT = {
    "account_id": "1234567890",
    "regions": ["cn-hangzhou"],
    "access_keys": [{"access_key_id": "ak", "access_key_secret": "sk"}],
}


def _data(seed: int = 3, **generate: object) -> dict[str, object]:
    return {"seed": seed, "accounts": [ACCOUNT], "generate": {"services": 4, "functions_per_service": 25, **generate}}


@pytest.fixture(scope="module")
def large() -> list[float]:
    scenario = load_scenario(SCENARIOS / "large.yaml")
    generated = [s for s in scenario.services if s.name.startswith("gen-")]
    assert len(generated) == 100
    return [expected_mean_instances(dataclasses.asdict(f.load)) for s in generated for f in s.functions]


def test_large_example_has_ten_thousand_generated_functions_and_keeps_explicit_ones() -> None:
    scenario = load_scenario(SCENARIOS / "large.yaml")
    names = [(s.region, s.name, f.name) for s in scenario.services for f in s.functions]
    assert len(names) == 10_001
    assert len(set(names)) == 10_001
    assert ("cn-shanghai", "hand-written", "api") in names
    assert ("cn-hangzhou", "gen-svc-0000", "fn-0000") in names
    assert ("cn-hangzhou", "gen-svc-0099", "fn-0099") in names
    aliased = [s for s in scenario.services if s.aliases]
    assert 10 <= len(aliased) <= 30  # alias_share 0.2 of 100
    assert all(s.aliases[0].name == "prod" and s.versions == ["1"] for s in aliased)


def test_large_example_is_heavy_tailed(large: list[float]) -> None:
    means = np.array(large)
    assert means.min() > 0
    # Mean busy instances span more than six orders of magnitude (invocation rates span nine).
    assert math.log10(means.max() / means.min()) >= 6
    assert np.median(means) < 0.1  # most functions are rarely busy ...
    assert (means < 0.01).mean() > 0.25
    top = np.sort(means)[::-1]
    assert top[:100].sum() / top.sum() > 0.5  # ... and the busiest 1% carry most of the demand
    assert (means >= 1).sum() < 0.2 * len(means)


def test_same_seed_same_scenario_other_seed_another() -> None:
    first, again, other = parse_scenario(_data()), parse_scenario(_data()), parse_scenario(_data(seed=4))
    assert first == again
    loads = [f.load for s in first.services for f in s.functions]
    assert loads != [f.load for s in other.services for f in other.services[0].functions] * 4
    assert loads != [f.load for s in other.services for f in s.functions]
    assert [s.name for s in first.services] == [s.name for s in other.services]


def test_expected_mean_matches_the_world_demand() -> None:
    scenario = parse_scenario(_data(services=1, functions_per_service=40, burst_share=0.5))
    service = scenario.services[0]
    checked = 0
    for fn in service.functions:
        expected = expected_mean_instances(dataclasses.asdict(fn.load))
        if expected < 0.3:
            continue  # rare functions need years of days to average out
        key = (service.account_id, service.region, service.name, fn.name, "LATEST")
        observed = np.mean([_demand(scenario.seed, key, fn.load, day).mean() for day in range(20_000, 20_030)])
        assert observed == pytest.approx(expected, rel=0.25), fn.name
        checked += 1
    assert checked >= 3


def test_rarest_functions_are_idle_most_of_the_time_and_the_busiest_are_not() -> None:
    scenario = parse_scenario(_data(services=2, functions_per_service=50))
    world = World(scenario)
    means = {
        (s.name, f.name): expected_mean_instances(dataclasses.asdict(f.load))
        for s in scenario.services
        for f in s.functions
    }
    ranked = sorted(means, key=means.__getitem__)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    minutes = [start + timedelta(minutes=37 * i) for i in range(40)]  # spread over a day

    def busy_share(service: str, function: str) -> float:
        hits = [bool(world.instances("1234567890", "cn-hangzhou", service, function, None, at)) for at in minutes]
        return sum(hits) / len(hits)

    assert sum(busy_share(*k) for k in ranked[:10]) / 10 < 0.2
    assert sum(busy_share(*k) for k in ranked[-3:]) / 3 > 0.5


def test_sporadic_functions_use_a_duty_cycle_and_busy_ones_a_curve() -> None:
    scenario = parse_scenario(_data())
    for fn in (f for s in scenario.services for f in s.functions):
        load = fn.load
        if load.peak == 1 and load.base == 0:
            assert load.duty_cycle <= 1.0
        else:
            assert load.duty_cycle == 1.0
            assert load.peak >= load.base + 1
        assert load.idle_keepalive_minutes == 10
        assert 0 <= load.peak_hour_utc < 24
    day_mean = float(np.mean(((1 + np.cos(np.linspace(0, 2 * np.pi, 100_001))) / 2) ** 2))
    assert day_mean == pytest.approx(CURVE_MEAN, abs=1e-4)


@pytest.mark.parametrize(
    ("generate", "needle"),
    [
        ({"functions_per_service": 3}, "generate.services: required field is missing"),
        ({"services": 0, "functions_per_service": 3}, "generate.services: Input should be greater than or equal to 1"),
        ({"services": 1, "functions_per_service": 1, "servics": 2}, "generate.servics: unknown field"),
        (
            {"services": 1, "functions_per_service": 1, "popularity": {"log10_daily_sigma": -1}},
            "generate.popularity.log10_daily_sigma: Input should be greater than or equal to 0",
        ),
        ({"services": 1000, "functions_per_service": 1000}, "over 100000"),
        (
            {"services": 1, "functions_per_service": 1, "region": "cn-beijing"},
            "generate.region: 'cn-beijing' is not in account",
        ),
    ],
    ids=["missing", "zero", "unknown", "nested", "too-many", "region"],
)
def test_generate_validation_names_the_field(generate: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match="invalid scenario") as caught:
        parse_scenario({"seed": 1, "accounts": [ACCOUNT], "generate": generate})
    assert needle in str(caught.value)
