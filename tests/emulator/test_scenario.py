"""Scenario files: YAML in, a validated Scenario out, or a ValueError naming the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.emulator import default_scenario, load_scenario, scenario_to_dict

GOOD = {
    "seed": 11,
    "accounts": [
        {
            "account_id": "111",
            "regions": ["cn-shanghai"],
            "access_keys": [{"access_key_id": "ak", "access_key_secret": "sk", "security_token": "tok"}],
        }
    ],
    "services": [
        {
            "account_id": "111",
            "region": "cn-shanghai",
            "name": "svc",
            "versions": ["1"],
            "aliases": [{"name": "prod", "version_id": "1", "provisioned": 2}],
            "functions": [{"name": "fn", "memory_mb": 1024, "load": {"peak": 4, "base": 1, "bursts_per_day": 2}}],
        }
    ],
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_loads_a_valid_file(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    assert s.seed == 11
    assert s.accounts[0].access_keys[0].security_token == "tok"
    fn = s.services[0].functions[0]
    assert (fn.name, fn.memory_mb, fn.load.peak, fn.load.base, fn.load.bursts_per_day) == ("fn", 1024, 4, 1, 2.0)
    assert s.services[0].aliases[0].provisioned == 2


def test_default_scenario_round_trips_through_yaml(tmp_path: Path) -> None:
    s = default_scenario()
    assert load_scenario(write(tmp_path, scenario_to_dict(s))) == s


def _with(path: list[str | int], value: object) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    node = data
    for p in path[:-1]:
        node = node[p]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "field", "fix"),
    [
        pytest.param(_with(["seed"], KeyError), "seed", "add seed", id="missing-seed"),
        pytest.param(
            _with(["services", 0, "functions", 0, "memory_mb"], 100),
            "services.0.functions.0.memory_mb",
            "multiple of 64",
            id="memory-not-multiple-of-64",
        ),
        pytest.param(
            _with(["services", 0, "functions", 0, "memroy_mb"], 512),
            "services.0.functions.0.memroy_mb",
            "remove it",
            id="misspelt-field",
        ),
        pytest.param(
            _with(["services", 0, "aliases", 0, "version_id"], "7"), "alias 'prod'", "add it to versions", id="alias"
        ),
        pytest.param(_with(["services", 0, "account_id"], "999"), "account_id '999'", "add the account", id="account"),
        pytest.param(
            _with(["services", 0, "functions", 0, "load", "base"], 9), "load.base", "make base <= peak", id="base"
        ),
        pytest.param(_with(["services", 0, "name"], "bad name!"), "service name", "fix: use", id="name"),
    ],
)
def test_invalid_files_name_field_and_fix(tmp_path: Path, data: dict, field: str, fix: str) -> None:
    with pytest.raises(ValueError, match="invalid scenario") as info:
        load_scenario(write(tmp_path, data))
    assert field in str(info.value)
    assert fix in str(info.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("seed: [1,", "not valid YAML", id="syntax"),
        pytest.param("- 1\n- 2\n", "must hold a mapping", id="not-a-mapping"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        load_scenario(path)


def test_missing_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read scenario file"):
        load_scenario(tmp_path / "absent.yaml")
