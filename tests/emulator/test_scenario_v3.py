"""Scenario: the functions_v3 section (FC 3.0 functions, no service) validates with field-level fixes."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from pipelines.emulator import default_scenario, parse_scenario, scenario_to_dict

BASE = scenario_to_dict(default_scenario())
FC2_SERVICES_SHA256 = "1dedf2c0665e5d71eb7d871124fb4ea8f1812fc94554a76fbeb62f1eafd8ae68"


def _v3(**changes: Any) -> dict:
    data = copy.deepcopy(BASE)
    data["functions_v3"][0].update(changes)
    return data


def test_default_scenario_has_fc3_functions_and_unchanged_fc2_services() -> None:
    s = default_scenario()
    assert [f.name for f in s.functions_v3] == [f"api-{i:02d}" for i in range(10)]
    assert {(f.account_id, f.region) for f in s.functions_v3} == {("1234567890", "cn-hangzhou")}
    assert any(a.provisioned > 0 for f in s.functions_v3 for a in f.aliases)
    assert any(f.gpu_memory_mb for f in s.functions_v3)
    # The FC 2.0 part is byte for byte what it was before FC 3.0 functions were added (digest taken then).
    services = json.dumps(scenario_to_dict(s)["services"], sort_keys=True).encode()
    assert hashlib.sha256(services).hexdigest() == FC2_SERVICES_SHA256
    assert parse_scenario(scenario_to_dict(s)) == s


def test_functions_v3_defaults_to_empty() -> None:
    data = copy.deepcopy(BASE)
    del data["functions_v3"]
    assert parse_scenario(data).functions_v3 == []


@pytest.mark.parametrize(
    ("data", "field", "fix"),
    [
        pytest.param(_v3(account_id="999"), "account_id '999'", "add the account", id="account"),
        pytest.param(_v3(region="eu-central-1"), "region 'eu-central-1'", "add it to accounts.regions", id="region"),
        pytest.param(_v3(name="api-01"), "appears twice", "rename one", id="duplicate"),
        pytest.param(_v3(name="svc$fn"), "function name", "fix: use", id="dollar-name"),
        pytest.param(_v3(versions=["1", "1"]), "versions repeat", "list each version once", id="versions-repeat"),
        pytest.param(
            _v3(aliases=[{"name": "prod", "version_id": "9"}]), "alias 'prod'", "add it to versions", id="alias-version"
        ),
        pytest.param(_v3(memroy_mb=512), "functions_v3.0.memroy_mb", "remove it", id="misspelt-field"),
    ],
)
def test_invalid_functions_v3(data: dict, field: str, fix: str) -> None:
    with pytest.raises(ValueError, match="invalid scenario") as info:
        parse_scenario(data)
    assert field in str(info.value)
    assert fix in str(info.value)
