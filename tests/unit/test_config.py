"""The targets file: valid forms expand as documented, invalid ones name the field and the fix (C3)."""

from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_targets, parse_targets


def _one(**fields: object) -> dict[str, object]:
    return {"targets": [{"account_id": "1234567890", "regions": ["cn-hangzhou"], **fields}]}


def test_defaults_poll_latest_and_every_alias() -> None:
    t = parse_targets(_one()).targets[0]
    assert t.qualifiers == "latest_and_aliases"
    assert t.signature == "acs3"
    assert t.endpoint is None
    assert t.services.keeps("anything") and t.functions.keeps("x")


def test_numeric_account_id_in_yaml_is_accepted_as_text() -> None:
    assert (
        parse_targets({"targets": [{"account_id": 1234567890, "regions": ["cn-hangzhou"]}]}).targets[0].account_id
        == "1234567890"
    )


def test_filters_include_and_exclude() -> None:
    t = parse_targets(_one(functions={"include": ["api-*"], "exclude": ["api-test*"]})).targets[0]
    assert [n for n in ["api-a", "api-test1", "batch"] if t.functions.keeps(n)] == ["api-a"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(_one(account_id="abc"), "targets[0].account_id: must be the numeric account id", id="non-numeric"),
        pytest.param(
            {"targets": [{"regions": ["cn-hangzhou"]}]}, "targets[0].account_id: required field", id="missing"
        ),
        pytest.param(_one(regions=["Hangzhou"]), "targets[0].regions: 'Hangzhou' is not a region id", id="bad-region"),
        pytest.param(_one(regions=[]), "targets[0].regions: list at least one region", id="no-region"),
        pytest.param(
            _one(qualifer="LATEST"), "targets[0].qualifer: unknown field (did you mean 'qualifiers'?); check", id="typo"
        ),
        pytest.param(
            {"target": [{"account_id": "1", "regions": ["cn-hangzhou"]}]},
            "target: unknown field (did you mean 'targets'?); check its spelling",
            id="top-level-typo",
        ),
        pytest.param(_one(rate_limit="fast"), "targets[0].rate_limit: 'fast' is not a number; give a number", id="nan"),
        pytest.param(None, "top level: the file must be a mapping with a `targets:` list", id="empty-file"),
        pytest.param(_one(endpoint="127.0.0.1:9100"), "targets[0].endpoint: must be a base URL", id="endpoint"),
        pytest.param(
            _one(qualifiers=["prod;drop"]), "targets[0].qualifiers: 'prod;drop' is not a qualifier", id="qual"
        ),
        pytest.param({"targets": []}, "targets: list at least one target", id="empty"),
        pytest.param(
            _one(api_version="2023-03-30", services={"include": ["a*"]}),
            "targets[0]: services: FC 3.0 functions have no service",
            id="fc3-services",
        ),
        pytest.param(_one(api_version="2023-03-30", signature="fc"), "FC 3.0 accepts only acs3", id="fc3-fc-signature"),
        pytest.param(_one(fc_version="all"), "fc_version applies to api_version 2023-03-30", id="fc-version-on-2"),
        pytest.param(_one(rate_limit=0), "targets[0].rate_limit: Input should be greater than 0", id="rate"),
        pytest.param(_one(api_version="2022-01-01"), "targets[0].api_version: Input should be", id="version"),
        pytest.param(
            {
                "targets": [
                    _one()["targets"][0],
                    {**_one()["targets"][0], "api_version": "2023-03-30", "fc_version": "all"},
                ]
            },  # type: ignore[index]
            "would be counted twice; use fc_version v3",
            id="c5-double-listing",
        ),
        pytest.param(
            {"targets": [_one()["targets"][0], _one()["targets"][0]]},  # type: ignore[index]
            "account 1234567890 region cn-hangzhou api_version 2021-04-06 appears twice",
            id="duplicate",
        ),
    ],
)
def test_invalid_files_name_field_and_fix(data: object, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_targets(data, "t.yaml")
    assert str(err.value).startswith("t.yaml: ")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_load_reports_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_targets(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: [\n  - account_id: 1\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_targets(bad)


def test_same_account_region_may_run_both_versions() -> None:
    both = parse_targets({"targets": [_one()["targets"][0], {**_one()["targets"][0], "api_version": "2023-03-30"}]})  # type: ignore[index]
    assert [(t.api_version, t.fc_version) for t in both.targets] == [("2021-04-06", "v3"), ("2023-03-30", "v3")]
