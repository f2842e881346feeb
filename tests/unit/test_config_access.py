"""Targets file rules for regions, endpoints, network and roles: one test per rule, asserting the message."""

import inspect
import re

import pytest

from pipelines.config import ConfigError, parse_targets
from pipelines.fc.regions import KNOWN_REGIONS


def _one(**fields: object) -> dict[str, object]:
    return {"targets": [{"account_id": "1234567890", "regions": ["cn-hangzhou"], **fields}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            _one(regions=["cn-hangzou"]),
            "targets[0].regions: 'cn-hangzou' is not a known FC region; did you mean 'cn-hangzhou'?",
            id="unknown-region-close",
        ),
        pytest.param(
            _one(regions=["zz-nowhere-9"]),
            "targets[0].regions: 'zz-nowhere-9' is not a known FC region; see the README for the list",
            id="unknown-region-far",
        ),
        pytest.param(
            _one(regions="cn-hangzhou"),
            "targets[0].regions: use a list like [cn-hangzhou] or the word all",
            id="regions-bare-string",
        ),
        pytest.param(
            _one(endpoints={"cn-hangzhou": "https://h:1/path"}),
            "targets[0].endpoints: cn-hangzhou: 'https://h:1/path' must be a base URL like https://host:port (no path)",
            id="endpoints-url",
        ),
        pytest.param(
            _one(endpoints={"cn-beijing": "https://h:1"}),
            "targets[0]: endpoints: 'cn-beijing' is not in this target's regions; add it there or remove it",
            id="endpoints-region",
        ),
        pytest.param(
            _one(network="internal", endpoint="https://h:1"),
            "targets[0]: network: an explicit endpoint is used verbatim; remove `network: internal` or endpoint",
            id="network-with-endpoint",
        ),
        pytest.param(
            _one(network="vpc"),
            "targets[0].network: Input should be 'public' or 'internal'",
            id="network-value",
        ),
        pytest.param(
            _one(role_arn="arn:aws:iam::1:role/x"),
            "targets[0].role_arn: 'arn:aws:iam::1:role/x' is not a RAM role ARN; "
            "use acs:ram::<account id>:role/<role name>",
            id="role-arn-form",
        ),
        pytest.param(
            _one(role_arn="acs:ram::999:role/reader"),
            "targets[0]: role_arn: the role is in account 999 but the target reads 1234567890; "
            "name a role in 1234567890",
            id="role-arn-account",
        ),
        pytest.param(
            _one(role_arn="acs:ram::1234567890:role/r", role_session_name="x y"),
            "targets[0].role_session_name: use 2-64 characters from letters, digits and . @ - _",
            id="session-name",
        ),
        pytest.param(
            _one(role_arn="acs:ram::1234567890:role/r", duration_seconds=60),
            "targets[0].duration_seconds: 60 is outside STS's range; use 900 to 43200 seconds",
            id="duration",
        ),
        pytest.param(
            _one(external_id="abc"),
            "targets[0]: external_id applies only with role_arn; add role_arn or remove external_id",
            id="role-field-without-role",
        ),
    ],
)
def test_rule_names_field_and_fix(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_targets(data)
    assert str(raised.value).startswith(f"targets file: {message}")


def test_regions_all_expands_to_every_known_region_and_endpoints_win() -> None:
    [t] = parse_targets(_one(regions="all", endpoints={"eu-west-1": "http://127.0.0.1:9"})).targets
    assert t.region_ids == KNOWN_REGIONS
    assert t.endpoint_for("eu-west-1") == "http://127.0.0.1:9"
    assert t.endpoint_for("cn-beijing") == "https://1234567890.cn-beijing.fc.aliyuncs.com"


def test_network_internal_builds_the_internal_endpoint() -> None:
    [t] = parse_targets(_one(network="internal")).targets
    assert t.endpoint_for("cn-hangzhou") == "https://1234567890.cn-hangzhou-internal.fc.aliyuncs.com"


def test_a_role_target_and_an_all_regions_target_overlapping_are_duplicates() -> None:
    data = {
        "targets": [
            {"account_id": "1", "regions": "all"},
            {"account_id": "1", "regions": ["us-east-1"], "role_arn": "acs:ram::1:role/r"},
        ]
    }
    with pytest.raises(ConfigError, match="account 1 region us-east-1 api_version 2021-04-06 appears twice"):
        parse_targets(data)


def test_known_regions_are_the_union_of_the_sdk_endpoint_maps() -> None:
    import alibabacloud_fc20230330.client as fc3
    import alibabacloud_fc_open20210406.client as fc2

    found: set[str] = set()
    for module in (fc2, fc3):
        block = inspect.getsource(module).split("self._endpoint_map = {", 1)[1].split("}", 1)[0]
        found |= set(re.findall(r"'([a-z0-9-]+)':", block))
    assert set(KNOWN_REGIONS) == found and len(KNOWN_REGIONS) == len(found) == 27
