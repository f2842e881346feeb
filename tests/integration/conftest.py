"""A real emulator on 127.0.0.1 with a manual virtual clock, and a targets file pointing at it."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from pipelines.emulator import EmulatorServer, ManualClock, Scenario, World, create_app, default_scenario
from pipelines.resources import FCResource, StoreResource

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@dataclass
class Emulated:
    scenario: Scenario
    world: World
    clock: ManualClock
    url: str
    targets_file: Path
    store_root: Path

    def resources(self, **fc_overrides: object) -> dict[str, object]:
        key = self.scenario.accounts[0].access_keys[0]
        fc = FCResource(
            targets_file=str(self.targets_file),
            access_key_id=key.access_key_id,
            access_key_secret=key.access_key_secret,
            **fc_overrides,  # type: ignore[arg-type]
        )
        return {"fc": fc, "store": StoreResource(root=str(self.store_root))}


def write_targets(path: Path, account_id: str, region: str, url: str, **extra: object) -> Path:
    target = {"account_id": account_id, "regions": [region], "endpoint": url, **extra}
    path.write_text(yaml.safe_dump({"targets": [target]}), encoding="utf-8")
    return path


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[Emulated]:
    scenario = default_scenario()
    world = World(scenario)
    clock = ManualClock(T0)
    with EmulatorServer(create_app(world, clock)) as server:
        account = scenario.accounts[0]
        targets = write_targets(tmp_path / "targets.yaml", account.account_id, account.regions[0], server.url)
        yield Emulated(scenario, world, clock, server.url, targets, tmp_path / "store")
