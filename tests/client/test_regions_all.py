"""`regions: all` against one emulator server per region sharing one World: enabled regions are read,
a region that refuses (not enabled) or cannot be reached is skipped and listed, never a failure."""

import asyncio
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest

from pipelines.collect import Inventory, discover, open_session
from pipelines.config import parse_targets
from pipelines.emulator import (
    EmulatorServer,
    ManualClock,
    World,
    create_app,
    default_scenario,
    parse_scenario,
    scenario_to_dict,
)
from pipelines.fc.client import RetryPolicy
from pipelines.fc.regions import KNOWN_REGIONS
from pipelines.fc.signing import Credentials

A = "1234567890"
ENABLED = ("cn-hangzhou", "cn-shanghai")  # cn-shanghai is enabled and empty
REFUSING = "cn-beijing"  # a server answers, but the account is not enabled there


def _closed_port(stack: ExitStack) -> int:
    # Bound but never listening, and held for the whole test: connections are refused, and no
    # emulator started afterwards can be given the same port (a freed port can be reused at once).
    s = stack.enter_context(socket.socket())
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.fixture
def endpoints() -> Iterator[dict[str, str]]:
    data = scenario_to_dict(default_scenario())
    data["accounts"][0]["regions"] = list(ENABLED)
    world = World(parse_scenario(data))
    clock = ManualClock(datetime(2026, 12, 1, 14, tzinfo=UTC))
    with ExitStack() as stack:
        nowhere = f"http://127.0.0.1:{_closed_port(stack)}"
        urls = {r: nowhere for r in KNOWN_REGIONS}
        for region in (*ENABLED, REFUSING):
            urls[region] = stack.enter_context(EmulatorServer(create_app(world, clock, region=region))).url
        yield urls


def _discover(endpoints: dict[str, str], key: str = "fccap-emulator-secret") -> Inventory:
    targets = parse_targets(
        {"targets": [{"account_id": A, "regions": "all", "endpoints": endpoints, "rate_limit": 5000}]}
    )

    async def run() -> Inventory:
        creds = Credentials("fccap-emulator-ak", key)
        async with open_session(targets, lambda: creds, retry=RetryPolicy(attempts=1)) as session:
            return await discover(session)

    return asyncio.run(run())


def test_all_regions_reads_enabled_ones_and_lists_the_rest_as_skipped(endpoints: dict[str, str]) -> None:
    inventory = _discover(endpoints)
    assert inventory.failures == []
    assert {r.region for r in inventory.rows} == {"cn-hangzhou"} and len(inventory.rows) > 0
    skipped = {s.region: s.code for s in inventory.skipped}
    assert set(skipped) == set(KNOWN_REGIONS) - set(ENABLED)
    assert skipped[REFUSING] == "InvalidArgument"
    assert {code for region, code in skipped.items() if region != REFUSING} == {"ConnectionError"}


def test_a_wrong_key_is_a_failure_in_every_answering_region_not_a_skip(endpoints: dict[str, str]) -> None:
    inventory = _discover(endpoints, key="wrong")
    failed = {(f.region, f.error.code) for f in inventory.failures}
    assert failed == {(r, "SignatureNotMatch") for r in (*ENABLED, REFUSING)}
