"""Our poller against every emulator fault over real HTTP (C7, C8, C9): the faulted poll ends ok after
retries or as a recorded failure with the right code, and every other poll of the tick is unaffected."""

import asyncio
import time
from datetime import UTC, datetime

import pytest

from pipelines.collect import PollOutcome, discover, open_session, plan_polls, poll_all
from pipelines.config import parse_targets
from pipelines.emulator import (
    AccessKey,
    AccountSpec,
    EmulatorServer,
    FaultSpec,
    FunctionScenario,
    LoadModel,
    ManualClock,
    Scenario,
    ServiceSpec,
    World,
    create_app,
    parse_fault_spec,
)
from pipelines.fc.client import RetryPolicy
from pipelines.fc.signing import Credentials

ACCT, REGION = "1234567890", "cn-hangzhou"
AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
BUSY = LoadModel(peak=3, base=3, noise=0.0, scale_to_zero=False)
FUNCTIONS = [f"f{i}" for i in range(6)]
POLICY = RetryPolicy(attempts=3, base_s=0.01, max_backoff_s=0.05, deadline_s=5.0)


def _scenario() -> Scenario:
    return Scenario(
        seed=11,
        accounts=[AccountSpec(ACCT, [REGION], [AccessKey("ak", "sk")])],
        services=[ServiceSpec(ACCT, REGION, "svc", functions=[FunctionScenario(f, load=BUSY) for f in FUNCTIONS])],
    )


def _tick(faults: list[FaultSpec], *, timeout_s: float = 2.0, rate_limit: float = 500.0):
    world = World(_scenario())
    app = create_app(world, ManualClock(AT), faults=faults)
    with EmulatorServer(app) as server:
        targets = parse_targets(
            {"targets": [{"account_id": ACCT, "regions": [REGION], "endpoint": server.url, "rate_limit": rate_limit}]}
        )

        async def go() -> tuple[list, list[PollOutcome]]:
            async with open_session(
                targets, lambda: Credentials("ak", "sk"), concurrency=8, timeout_s=timeout_s, retry=POLICY
            ) as session:
                inventory = await discover(session)
                return inventory.failures, await poll_all(session, plan_polls(inventory.rows))

        started = time.perf_counter()
        failures, outcomes = asyncio.run(go())
        elapsed = time.perf_counter() - started
    truth = {f: len(world.instances(ACCT, REGION, "svc", f, "LATEST", AT)) for f in FUNCTIONS}
    return failures, outcomes, truth, elapsed


def _others_ok(outcomes: list[PollOutcome], truth: dict[str, int], faulted: str = "f2") -> None:
    others = [o for o in outcomes if o.target.function_name != faulted]
    assert len(others) == len(FUNCTIONS) - 1
    for o in others:
        assert o.ok and len(o.instances) == truth[o.target.function_name] and o.attempts == 1


ON_F2 = "action=ListInstances,function=f2"


@pytest.mark.parametrize(
    ("spec", "ok", "code", "attempts"),
    [
        pytest.param(f"429,{ON_F2},times=2", True, None, 3, id="429-then-ok"),
        pytest.param(f"429,{ON_F2},retry_after=0", False, "ResourceExhausted", 3, id="429-always"),
        pytest.param(f"503,{ON_F2},retry_after_ms=20", False, "ResourceThrottled", 3, id="503-x-acs-retry-after"),
        pytest.param(f"503,{ON_F2},times=1", True, None, 2, id="503-then-ok"),
        pytest.param(f"500,{ON_F2},times=1", True, None, 2, id="500-then-ok"),
        pytest.param(f"502,{ON_F2}", False, "BadGateway", 3, id="502-always"),
        pytest.param(f"504,{ON_F2}", False, "GatewayTimeout", 3, id="504-always"),
        pytest.param(f"drop,{ON_F2},times=1", True, None, 2, id="drop-then-ok"),
        pytest.param(f"drop,{ON_F2}", False, "ConnectionError", 3, id="drop-always"),
        pytest.param(f"malformed_json,{ON_F2}", False, "MalformedAnswer", 1, id="malformed-not-retried"),
        pytest.param(f"truncated_json,{ON_F2}", False, "MalformedAnswer", 1, id="truncated-not-retried"),
        pytest.param(f"latency,{ON_F2},seconds=0.2", True, None, 1, id="latency-within-timeout"),
    ],
)
def test_fault_on_one_poll(spec: str, ok: bool, code: str | None, attempts: int) -> None:
    failures, outcomes, truth, _ = _tick([parse_fault_spec(spec)])
    assert failures == []
    [faulted] = [o for o in outcomes if o.target.function_name == "f2"]
    assert faulted.ok is ok
    assert faulted.attempts == attempts
    if ok:
        assert len(faulted.instances) == truth["f2"]
    else:
        assert faulted.error is not None and faulted.error.code == code
    _others_ok(outcomes, truth)


@pytest.mark.parametrize("kind", ["stall", "latency"])
def test_slower_than_the_timeout_is_a_recorded_timeout(kind: str) -> None:
    _, outcomes, truth, elapsed = _tick([parse_fault_spec(f"{kind},{ON_F2},seconds=3")], timeout_s=0.3)
    [faulted] = [o for o in outcomes if o.target.function_name == "f2"]
    assert faulted.error is not None and faulted.error.code == "Timeout"
    assert faulted.attempts == 3
    assert elapsed < 3.0  # the stalled poll did not hold the tick for the server's 3 s per attempt
    _others_ok(outcomes, truth)


def test_repeated_page_token_is_a_discovery_failure_not_a_hang() -> None:
    world_faults = [parse_fault_spec("repeat_token,action=ListFunctions")]
    # The second page of "big" (150 functions at page size 100) echoes the token it was sent.
    scenario = _scenario()
    many = [FunctionScenario(f"g{i:03d}", load=BUSY) for i in range(150)]
    scenario = Scenario(
        seed=scenario.seed,
        accounts=scenario.accounts,
        services=[*scenario.services, ServiceSpec(ACCT, REGION, "big", functions=many)],
    )
    app = create_app(World(scenario), ManualClock(AT), faults=world_faults)
    with EmulatorServer(app) as server:
        targets = parse_targets({"targets": [{"account_id": ACCT, "regions": [REGION], "endpoint": server.url}]})

        async def go():
            async with open_session(targets, lambda: Credentials("ak", "sk"), retry=POLICY) as session:
                return await discover(session)

        inventory = asyncio.run(go())
    assert [(f.service_name, f.error.code) for f in inventory.failures] == [("big", "RepeatedPageToken")]
    assert sorted({r.service_name for r in inventory.rows}) == ["svc"]


def test_our_rate_limit_keeps_the_emulator_limit_unbroken() -> None:
    # The emulator allows 20 requests/s per account (burst 20); we poll 6 functions x 5 rounds at 15/s.
    limit = [parse_fault_spec("rate_limit,rate=20,burst=20")]
    world = World(_scenario())
    app = create_app(world, ManualClock(AT), faults=limit)
    with EmulatorServer(app) as server:
        targets = parse_targets(
            {"targets": [{"account_id": ACCT, "regions": [REGION], "endpoint": server.url, "rate_limit": 15}]}
        )

        async def go() -> list[PollOutcome]:
            async with open_session(targets, lambda: Credentials("ak", "sk"), retry=POLICY) as session:
                inventory = await discover(session)
                plan = plan_polls(inventory.rows) * 5
                return await poll_all(session, plan)

        started = time.perf_counter()
        outcomes = asyncio.run(go())
        elapsed = time.perf_counter() - started
    assert all(o.ok and o.attempts == 1 for o in outcomes)  # not one 429 caused by us
    assert len(outcomes) == 30
    assert elapsed >= (32 - 15) / 15 * 0.9  # 32 calls (2 discovery + 30 polls) at 15/s after a 15-call burst
