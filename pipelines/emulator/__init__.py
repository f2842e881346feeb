"""The bundled FC emulator: a seeded, deterministic FC control plane (2016-08-15, 2021-04-06, 2023-03-30)."""

from __future__ import annotations

from pipelines.emulator.app import create_app
from pipelines.emulator.clock import AcceleratedClock, Clock, ManualClock
from pipelines.emulator.faults import FaultInjector, FaultSpec, parse_fault_spec
from pipelines.emulator.generate import GenerateSpec
from pipelines.emulator.scenario import (
    AccessKey,
    AccountSpec,
    AliasSpec,
    FunctionScenario,
    FunctionV3Spec,
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
from pipelines.emulator.sts import StsIssuer
from pipelines.emulator.world import InstanceState, NotFoundError, TruthRow, World, v3_name

__all__ = [
    "AcceleratedClock",
    "AccessKey",
    "AccountSpec",
    "AliasSpec",
    "Clock",
    "EmulatorServer",
    "FaultInjector",
    "FaultSpec",
    "FunctionScenario",
    "FunctionV3Spec",
    "GenerateSpec",
    "InstanceState",
    "LoadModel",
    "ManualClock",
    "NotFoundError",
    "Scenario",
    "ServiceSpec",
    "StsIssuer",
    "TruthRow",
    "World",
    "create_app",
    "default_scenario",
    "load_scenario",
    "parse_fault_spec",
    "parse_scenario",
    "scenario_to_dict",
    "v3_name",
    "with_access_key",
]
