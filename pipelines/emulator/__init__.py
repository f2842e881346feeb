"""The bundled FC emulator: a seeded, deterministic FC 2.0 control plane with real signing and paging."""

from __future__ import annotations

from pipelines.emulator.app import create_app
from pipelines.emulator.clock import AcceleratedClock, Clock, ManualClock
from pipelines.emulator.scenario import (
    AccessKey,
    AccountSpec,
    AliasSpec,
    FunctionScenario,
    LoadModel,
    Scenario,
    ServiceSpec,
    default_scenario,
    load_scenario,
    parse_scenario,
    scenario_to_dict,
    with_access_key,
)
from pipelines.emulator.server import EmulatorServer
from pipelines.emulator.world import InstanceState, NotFoundError, TruthRow, World

__all__ = [
    "AcceleratedClock",
    "AccessKey",
    "AccountSpec",
    "AliasSpec",
    "Clock",
    "EmulatorServer",
    "FunctionScenario",
    "InstanceState",
    "LoadModel",
    "ManualClock",
    "NotFoundError",
    "Scenario",
    "ServiceSpec",
    "TruthRow",
    "World",
    "create_app",
    "default_scenario",
    "load_scenario",
    "parse_scenario",
    "scenario_to_dict",
    "with_access_key",
]
