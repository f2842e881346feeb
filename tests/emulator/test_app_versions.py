"""The emulator's other wire forms in-process: the legacy 2016-08-15 paths and FC 3.0 (2023-03-30)."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime

import httpx
import pytest

from pipelines.emulator import (
    AliasSpec,
    FunctionV3Spec,
    LoadModel,
    ManualClock,
    Scenario,
    World,
    create_app,
    v3_name,
)
from tests.emulator.conftest import ACCT, HOST, OTHER_ACCT, REGION, Api, acs3_auth, fc_auth, scenario

NOW = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
V3 = "/2023-03-30"
LEGACY = "/2016-08-15"
V3_HOST = f"fcv3.{REGION}.aliyuncs.com"
BUSY = LoadModel(peak=6, base=3, noise=0.0)


def v3_auth(**kw: object) -> httpx.Auth:
    return acs3_auth(**kw)


def with_v3(base: Scenario, count: int = 3, *, shanghai: bool = True) -> Scenario:
    """``base`` plus ``count`` FC 3.0 functions; fv3-000 has a provisioned alias and a second alias."""
    functions = [
        FunctionV3Spec(
            ACCT,
            REGION,
            f"fv3-{i:03d}",
            memory_mb=2048,
            cpu=2.0,
            load=BUSY,
            aliases=[AliasSpec("prod", "2", provisioned=2), AliasSpec("canary", "1")] if i == 0 else [],
            versions=["1", "2", "3"] if i == 0 else [],
        )
        for i in range(count)
    ]
    functions.append(
        FunctionV3Spec(
            ACCT,
            REGION,
            "gpu-fn",
            runtime="custom-container",
            memory_mb=16384,
            cpu=4.0,
            disk_mb=10240,
            gpu_memory_mb=8192,
            instance_type="fc.gpu.tesla.1",
            load=BUSY,
        )
    )
    if shanghai:
        functions.append(FunctionV3Spec(ACCT, "cn-shanghai", "sh-fn", load=BUSY))
    return dataclasses.replace(base, functions_v3=functions)


@pytest.fixture
def world() -> World:
    return World(with_v3(scenario(services=2, functions=3)))


@pytest.fixture
def api(world: World) -> Api:
    return Api(create_app(world, ManualClock(NOW)), base_url=f"http://{V3_HOST}")


@pytest.fixture
def legacy(world: World) -> Api:
    return Api(create_app(world, ManualClock(NOW)))


def assert_v3_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"Code", "Message", "RequestId"}
    assert body["Code"] == code
    assert body["Message"]
    assert body["RequestId"] == response.headers["x-fc-request-id"]
    return body


def names(api: Api, params: dict[str, str], limit: int = 100) -> tuple[list[str], int]:
    """Page ListFunctions to the end; (names, pages)."""
    got: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = {**params, "limit": str(limit), **({"nextToken": token} if token else {})}
        r = api.get(f"{V3}/functions", auth=v3_auth(), params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        assert len(body["functions"]) <= limit
        got += [f["functionName"] for f in body["functions"]]
        token = body.get("nextToken")
        if not token:
            return got, pages
        assert pages < 100


# --- FC 3.0 ListFunctions and C5 ----------------------------------------------------------------

V2_NAMES = [v3_name(f"svc-{s:03d}", f"fn-{f:03d}") for s in range(2) for f in range(3)]
V3_NAMES = ["fv3-000", "fv3-001", "fv3-002", "gpu-fn"]


@pytest.mark.parametrize(
    ("fc_version", "expected"),
    [
        pytest.param("v3", V3_NAMES, id="v3"),
        pytest.param("v2", V2_NAMES, id="v2"),
        pytest.param("", sorted(V3_NAMES + V2_NAMES), id="empty"),
        pytest.param(None, sorted(V3_NAMES + V2_NAMES), id="absent"),
    ],
)
@pytest.mark.parametrize("limit", [pytest.param(1, id="limit-1"), pytest.param(3, id="limit-3")])
def test_list_functions_lists_each_function_once(api: Api, fc_version: str | None, expected: list[str], limit) -> None:
    params = {} if fc_version is None else {"fcVersion": fc_version}
    got, pages = names(api, params, limit)
    assert got == expected
    assert len(set(got)) == len(got)
    assert pages == math.ceil(len(expected) / limit)


def test_v2_and_v3_listings_partition_the_full_listing(api: Api) -> None:
    v2, _ = names(api, {"fcVersion": "v2"})
    v3, _ = names(api, {"fcVersion": "v3"})
    both, _ = names(api, {})
    assert not set(v2) & set(v3)
    assert sorted(v2 + v3) == both


LIMIT = 4
SIZES = [0, 1, LIMIT - 1, LIMIT, LIMIT + 1, 3 * LIMIT]


@pytest.mark.parametrize("size", [pytest.param(n, id=str(n)) for n in SIZES])
def test_list_functions_paging_sizes(size: int) -> None:
    base = with_v3(scenario(services=0), count=0, shanghai=False)
    fns = [FunctionV3Spec(ACCT, REGION, f"f-{i:03d}") for i in range(size)]
    api = Api(create_app(World(dataclasses.replace(base, functions_v3=fns)), ManualClock(NOW)))
    got, pages = names(api, {"fcVersion": "v3"}, LIMIT)
    assert got == [f"f-{i:03d}" for i in range(size)]
    assert pages == max(1, math.ceil(size / LIMIT))


def test_list_functions_shape(api: Api, world: World) -> None:
    body = api.get(f"{V3}/functions", auth=v3_auth(), params={"fcVersion": "v3", "prefix": "fv3-00"}).json()
    assert set(body) == {"functions"}
    f = body["functions"][1]
    spec = world.function_v3(ACCT, REGION, "fv3-001")
    assert f["functionName"] == "fv3-001"
    assert f["functionArn"] == f"acs:fc:{REGION}:{ACCT}:functions/fv3-001"
    assert (f["runtime"], f["cpu"], f["memorySize"], f["diskSize"]) == (spec.runtime, 2.0, 2048, spec.disk_mb)
    assert f["instanceConcurrency"] == spec.instance_concurrency
    assert "gpuConfig" not in f
    assert "instanceType" not in f  # FC 3.0's Function model has none
    assert "state" not in f  # ListFunctions returns a subset; GetFunction has the state


def test_list_functions_filters(api: Api) -> None:
    got, _ = names(api, {"gpuType": "fc.gpu.tesla.1"})
    assert got == ["gpu-fn"]
    got, _ = names(api, {"runtime": "custom-container"})
    assert got == ["gpu-fn"]
    got, _ = names(api, {"prefix": "svc-001$"})
    assert got == [v3_name("svc-001", f"fn-{f:03d}") for f in range(3)]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        pytest.param({"fcVersion": "v4"}, "InvalidArgument", id="fcversion"),
        pytest.param({"limit": "101"}, "InvalidArgument", id="limit-101"),
        pytest.param({"limit": "0"}, "InvalidArgument", id="limit-0"),
        pytest.param({"nextToken": "garbage"}, "InvalidArgument", id="foreign-token"),
    ],
)
def test_list_functions_argument_errors(api: Api, params: dict[str, str], code: str) -> None:
    assert_v3_error(api.get(f"{V3}/functions", auth=v3_auth(), params=params), 400, code)


# --- GetFunction, aliases, versions -------------------------------------------------------------


def test_get_function_gpu_and_state(api: Api) -> None:
    r = api.get(f"{V3}/functions/gpu-fn", auth=v3_auth())
    assert r.status_code == 200
    body = r.json()
    assert body["gpuConfig"] == {"gpuMemorySize": 8192, "gpuType": "fc.gpu.tesla.1"}
    assert (body["cpu"], body["memorySize"], body["diskSize"]) == (4.0, 16384, 10240)
    assert (body["state"], body["lastUpdateStatus"]) == ("Active", "Successful")
    assert r.headers["etag"]


def test_fc2_function_through_fc3_is_the_same_function(api: Api, legacy: Api) -> None:
    fc2 = legacy.get("/2021-04-06/services/svc-001/functions/fn-002", auth=fc_auth()).json()
    fc3 = api.get(f"{V3}/functions/{v3_name('svc-001', 'fn-002')}", auth=v3_auth()).json()
    assert fc3["functionName"] == "svc-001$fn-002"
    assert fc3["functionId"] == fc2["functionId"]
    assert (fc3["memorySize"], fc3["cpu"], fc3["runtime"]) == (fc2["memorySize"], fc2["cpu"], fc2["runtime"])


def test_dollar_name_is_percent_encoded_on_the_wire(api: Api) -> None:
    # The FC 3.0 SDK percent-encodes the path segment; ACS3 signs the encoded form.
    r = api.get(f"{V3}/functions/svc-000%24fn-000/instances", auth=v3_auth())
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        pytest.param("/functions/nope", {}, "FunctionNotFound", id="get-function"),
        pytest.param("/functions/nope/instances", {}, "FunctionNotFound", id="instances"),
        pytest.param("/functions/nope/aliases", {}, "FunctionNotFound", id="aliases"),
        pytest.param("/functions/nope/versions", {}, "FunctionNotFound", id="versions"),
        pytest.param("/functions/nosvc$fn-000/instances", {}, "FunctionNotFound", id="v2-bad-service"),
        pytest.param("/functions/svc-000$nope/instances", {}, "FunctionNotFound", id="v2-bad-function"),
        pytest.param("/functions/fv3-000/instances", {"qualifier": "nope"}, "AliasNotFound", id="alias"),
        pytest.param("/functions/fv3-000", {"qualifier": "nope"}, "AliasNotFound", id="get-alias"),
        pytest.param("/no-such-api", {}, "PathNotSupported", id="path"),
    ],
)
def test_v3_not_found(api: Api, path: str, params: dict[str, str], code: str) -> None:
    assert_v3_error(api.get(V3 + path, auth=v3_auth(), params=params), 404, code)


def test_list_aliases(api: Api) -> None:
    body = api.get(f"{V3}/functions/fv3-000/aliases", auth=v3_auth(), params={"limit": "1"}).json()
    assert [(a["aliasName"], a["versionId"]) for a in body["aliases"]] == [("canary", "1")]
    body = api.get(f"{V3}/functions/fv3-000/aliases", auth=v3_auth(), params={"nextToken": body["nextToken"]}).json()
    assert [(a["aliasName"], a["versionId"]) for a in body["aliases"]] == [("prod", "2")]
    assert "nextToken" not in body
    fc2_aliases = api.get(f"{V3}/functions/{v3_name('svc-000', 'fn-001')}/aliases", auth=v3_auth()).json()
    assert [a["aliasName"] for a in fc2_aliases["aliases"]] == ["alias-000"]  # the service's aliases


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        pytest.param(None, ["3", "2", "1"], id="default-backward"),
        pytest.param("BACKWARD", ["3", "2", "1"], id="backward"),
        pytest.param("FORWARD", ["1", "2", "3"], id="forward"),
    ],
)
def test_list_versions_pages_in_direction(api: Api, direction: str | None, expected: list[str]) -> None:
    got: list[str] = []
    token = None
    while True:
        params = {
            "limit": "2",
            **({"direction": direction} if direction else {}),
            **({"nextToken": token} if token else {}),
        }
        body = api.get(f"{V3}/functions/fv3-000/versions", auth=v3_auth(), params=params).json()
        assert body["direction"] == (direction or "BACKWARD")
        got += [v["versionId"] for v in body["versions"]]
        token = body.get("nextToken")
        if not token:
            break
    assert got == expected


def test_list_versions_errors(api: Api) -> None:
    path = f"{V3}/functions/fv3-000/versions"
    assert_v3_error(api.get(path, auth=v3_auth(), params={"direction": "SIDEWAYS"}), 400, "InvalidArgument")
    assert api.get(f"{V3}/functions/fv3-001/versions", auth=v3_auth()).json()["versions"] == []


# --- FC 3.0 ListInstances -------------------------------------------------------------------------


def instances(api: Api, name: str, **params: str) -> list[dict]:
    r = api.get(f"{V3}/functions/{name}/instances", auth=v3_auth(), params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"instances", "requestId"}
    assert body["requestId"] == r.headers["x-fc-request-id"]
    return body["instances"]


def test_list_instances_shape_equals_world(api: Api, world: World) -> None:
    got = instances(api, "fv3-000", qualifier="prod")
    want = world.instances(ACCT, REGION, None, "fv3-000", "prod", NOW)
    assert len(want) >= 3
    assert got == [
        {
            "instanceId": i.instance_id,
            "versionId": "2",
            "qualifier": "prod",
            "status": "Running",
            "createdTimeMs": i.created_time_ms,
            "resourceType": i.resource_type,
        }
        for i in want
    ]
    # The provisioned floor of prod is 2 instances; the rest is on demand.
    assert sorted(i["resourceType"] for i in got).count("Provisioned") == 2
    assert all(i["createdTimeMs"] <= NOW.timestamp() * 1000 for i in got)
    assert {i["resourceType"] for i in instances(api, "fv3-000")} == {"OnDemand"}


@pytest.mark.parametrize(
    "qualifier",
    [
        pytest.param(None, id="latest"),
        pytest.param("LATEST", id="explicit-latest"),
        pytest.param("alias-000", id="alias"),
    ],
)
def test_fc2_function_through_fc3_has_the_same_instances(api: Api, legacy: Api, qualifier: str | None) -> None:
    q = {"qualifier": qualifier} if qualifier else {}
    fc2 = legacy.get("/2021-04-06/services/svc-001/functions/fn-001/instances", auth=fc_auth(), params=q).json()
    fc3 = instances(api, v3_name("svc-001", "fn-001"), **q)
    assert len(fc2["instances"]) >= 3
    assert [(i["instanceId"], i["versionId"]) for i in fc3] == [
        (i["instanceId"], i["versionId"]) for i in fc2["instances"]
    ]


ALL_ACTIVE = ["true", "True", "1", "TRUE"]
NOT_ALL_ACTIVE = ["false", "False", "0", ""]


@pytest.mark.parametrize("value", [pytest.param(v, id=f"on-{v}") for v in ALL_ACTIVE])
def test_with_all_active_lists_every_qualifier(api: Api, world: World, value: str) -> None:
    got = instances(api, "fv3-000", withAllActive=value)
    want = world.instances(ACCT, REGION, None, "fv3-000", None, NOW, series=["LATEST", "prod", "canary"])
    assert [i["instanceId"] for i in got] == [i.instance_id for i in want]
    assert {i["qualifier"] for i in got} == {"LATEST", "prod", "canary"}


@pytest.mark.parametrize("value", [pytest.param(v, id=f"off-{v or 'empty'}") for v in NOT_ALL_ACTIVE])
def test_without_all_active_lists_latest(api: Api, world: World, value: str) -> None:
    got = instances(api, "fv3-000", withAllActive=value)
    assert [i["instanceId"] for i in got] == [
        i.instance_id for i in world.instances(ACCT, REGION, None, "fv3-000", None, NOW)
    ]
    assert {i["qualifier"] for i in got} == {"LATEST"}


def test_with_all_active_and_a_qualifier_keeps_the_qualifier(api: Api) -> None:
    got = instances(api, "fv3-000", withAllActive="true", qualifier="prod")
    assert {i["qualifier"] for i in got} == {"prod"}


def test_bad_boolean(api: Api) -> None:
    body = assert_v3_error(
        api.get(f"{V3}/functions/fv3-000/instances", auth=v3_auth(), params={"withAllActive": "yes"}),
        400,
        "InvalidArgument",
    )
    assert "withAllActive" in body["Message"]


def json_ids(ids: list[str]) -> list[tuple[str, str]]:
    return [("instanceIds", json.dumps(ids))]


ENCODINGS = [
    pytest.param(lambda ids: [("instanceIds", i) for i in ids], id="repeated-keys"),
    pytest.param(lambda ids: [(f"instanceIds.{n}", i) for n, i in enumerate(ids, 1)], id="dotted-index"),
    pytest.param(json_ids, id="json-array"),
]


@pytest.mark.parametrize("encode", ENCODINGS)
def test_v3_instance_ids_in_every_encoding(api: Api, encode) -> None:
    ids = [i["instanceId"] for i in instances(api, "fv3-001")]
    assert len(ids) >= 3
    r = api.get(f"{V3}/functions/fv3-001/instances", auth=v3_auth(), params=encode([ids[2], ids[0], "c-gone"]))
    assert [i["instanceId"] for i in r.json()["instances"]] == [ids[0], ids[2]]


@pytest.mark.parametrize(
    ("statuses", "keep"),
    [
        pytest.param('["Running"]', True, id="running"),
        pytest.param('["Running","Stopped"]', True, id="running-or-stopped"),
        pytest.param('["Stopped"]', False, id="stopped"),
    ],
)
def test_instance_status_filter(api: Api, statuses: str, keep: bool) -> None:
    everything = instances(api, "fv3-001")
    assert len(everything) >= 3
    assert instances(api, "fv3-001", instanceStatus=statuses) == (everything if keep else [])


def test_time_window_filters_on_creation_time(api: Api) -> None:
    everything = instances(api, "fv3-000", withAllActive="1")
    created = sorted({i["createdTimeMs"] for i in everything})
    assert len(created) >= 2
    cut = created[1]
    after = instances(api, "fv3-000", withAllActive="1", startTimeMs=str(cut))
    before = instances(api, "fv3-000", withAllActive="1", endTimeMs=str(cut - 1))
    assert {i["instanceId"] for i in after} == {i["instanceId"] for i in everything if i["createdTimeMs"] >= cut}
    assert {i["instanceId"] for i in before} == {i["instanceId"] for i in everything if i["createdTimeMs"] < cut}
    assert len(after) + len(before) == len(everything)
    assert instances(api, "fv3-000", withAllActive="1", startTimeMs=str(cut), endTimeMs=str(cut)) == [
        i for i in everything if i["createdTimeMs"] == cut
    ]


def test_start_key_is_an_inclusive_lower_bound(api: Api) -> None:
    ids = [i["instanceId"] for i in instances(api, "fv3-001")]
    assert [i["instanceId"] for i in instances(api, "fv3-001", startKey=ids[1])] == ids[1:]


@pytest.mark.parametrize(
    ("limit", "expect"),
    [
        pytest.param("2", 2, id="plain"),
        pytest.param("02", 2, id="leading-zero"),
        pytest.param("+2", 2, id="plus-sign"),
        pytest.param(" 2", 2, id="space"),
        pytest.param("0", None, id="zero-no-cap"),
    ],
)
def test_v3_limit_as_decimal_string(api: Api, limit: str, expect: int | None) -> None:
    everything = instances(api, "fv3-001")
    assert instances(api, "fv3-001", limit=limit) == everything[:expect]


@pytest.mark.parametrize("limit", [pytest.param(v, id=v) for v in ["2.0", "1_0", "two", "1001", "-1"]])
def test_bad_limits_are_rejected_on_every_version(api: Api, legacy: Api, limit: str) -> None:
    assert_v3_error(
        api.get(f"{V3}/functions/fv3-001/instances", auth=v3_auth(), params={"limit": limit}), 400, "InvalidArgument"
    )
    r = legacy.get(
        f"{LEGACY}/services/svc-000.LATEST/functions/fn-000/instances", auth=fc_auth(), params={"limit": limit}
    )
    assert (r.status_code, r.json()["ErrorCode"]) == (400, "InvalidArgument")


# --- FC 3.0 accounts, regions, auth errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "headers", "ak", "expected"),
    [
        pytest.param(V3_HOST, {}, "ak-plain", V3_NAMES, id="fcv3-host-key-owner"),
        pytest.param("fcv3.cn-shanghai.aliyuncs.com", {}, "ak-plain", ["sh-fn"], id="fcv3-host-region"),
        pytest.param(HOST, {}, "ak-plain", V3_NAMES, id="uid-host"),
        pytest.param(f"{ACCT}.cn-shanghai.fc.aliyuncs.com", {}, "ak-plain", ["sh-fn"], id="uid-host-region"),
        pytest.param("127.0.0.1:9", {"X-Fc-Account-Id": ACCT}, "ak-plain", V3_NAMES, id="header"),
        pytest.param("127.0.0.1:9", {}, "ak-plain", V3_NAMES, id="key-owner-first-region"),
        pytest.param("127.0.0.1:9", {}, "ak-other", [], id="other-account-by-key"),
    ],
)
def test_v3_account_and_region(world: World, host: str, headers: dict, ak: str, expected: list[str]) -> None:
    api = Api(create_app(world, ManualClock(NOW)), base_url=f"http://{host}")
    sk = {"ak-plain": "sk-plain", "ak-other": "sk-other"}[ak]
    r = api.get(f"{V3}/functions", auth=acs3_auth(ak=ak, sk=sk), params={"fcVersion": "v3"}, headers=headers)
    assert r.status_code == 200, r.text
    assert [f["functionName"] for f in r.json()["functions"]] == expected


def test_v3_key_of_another_account_is_rejected(api: Api) -> None:
    r = api.get(f"{V3}/functions", auth=v3_auth(ak="ak-other", sk="sk-other"), headers={"X-Fc-Account-Id": ACCT})
    assert_v3_error(r, 403, "InvalidAccessKeyID")


def test_v3_region_not_enabled(world: World) -> None:
    api = Api(create_app(world, ManualClock(NOW)), base_url="http://fcv3.eu-central-1.aliyuncs.com")
    assert_v3_error(api.get(f"{V3}/functions", auth=v3_auth()), 400, "InvalidArgument")


@pytest.mark.parametrize(
    ("auth", "status", "code"),
    [
        pytest.param(lambda: acs3_auth(sk="wrong"), 403, "SignatureNotMatch", id="wrong-secret"),
        pytest.param(lambda: acs3_auth(ak="ak-unknown"), 403, "InvalidAccessKeyID", id="unknown-key"),
        pytest.param(lambda: None, 400, "MissingRequiredHeader", id="unsigned"),
    ],
)
def test_v3_auth_errors_have_fc3_bodies(api: Api, auth, status: int, code: str) -> None:
    assert_v3_error(api.get(f"{V3}/functions/fv3-000/instances", auth=auth()), status, code)


# --- legacy 2016-08-15 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "qualifier"),
    [
        pytest.param("/services/svc-000/functions/fn-001/instances", {}, None, id="no-qualifier-is-latest"),
        pytest.param("/services/svc-000.LATEST/functions/fn-001/instances", {}, "LATEST", id="latest"),
        pytest.param("/services/svc-000.alias-000/functions/fn-001/instances", {}, "alias-000", id="alias"),
        pytest.param("/services/svc-000.1/functions/fn-001/instances", {}, "1", id="version"),
        pytest.param(
            "/services/svc-000.alias-000/functions/fn-001/instances",
            {"qualifier": "LATEST"},
            "alias-000",
            id="path-wins",
        ),
    ],
)
@pytest.mark.parametrize("auth", [pytest.param(fc_auth, id="fc"), pytest.param(acs3_auth, id="acs3")])
def test_legacy_instances(legacy: Api, world: World, path: str, params: dict, qualifier: str | None, auth) -> None:
    r = legacy.get(LEGACY + path, auth=auth(), params=params)
    assert r.status_code == 200, r.text
    want = world.instances(ACCT, REGION, "svc-000", "fn-001", qualifier, NOW)
    assert len(want) >= 3
    assert r.json() == {"instances": [{"instanceId": i.instance_id, "versionId": i.version_id} for i in want]}


@pytest.mark.parametrize("encode", ENCODINGS)
def test_legacy_instance_ids_in_every_encoding(legacy: Api, encode) -> None:
    path = f"{LEGACY}/services/svc-000.alias-000/functions/fn-000/instances"
    ids = [i["instanceId"] for i in legacy.get(path, auth=fc_auth()).json()["instances"]]
    assert len(ids) >= 3
    r = legacy.get(path, auth=fc_auth(), params=encode([ids[2], ids[1]]))
    assert [i["instanceId"] for i in r.json()["instances"]] == [ids[1], ids[2]]


def test_legacy_lists_and_get(legacy: Api) -> None:
    services = legacy.get(f"{LEGACY}/services", auth=fc_auth(), params={"limit": "1"}).json()
    assert [s["serviceName"] for s in services["services"]] == ["svc-000"]
    assert services["nextToken"]
    fns = legacy.get(f"{LEGACY}/services/svc-001.alias-000/functions", auth=fc_auth()).json()
    assert [f["functionName"] for f in fns["functions"]] == ["fn-000", "fn-001", "fn-002"]
    fn = legacy.get(f"{LEGACY}/services/svc-001.LATEST/functions/fn-002", auth=fc_auth())
    assert (fn.json()["functionName"], fn.json()["memorySize"]) == ("fn-002", 1024)
    assert fn.headers["etag"]
    aliases = legacy.get(f"{LEGACY}/services/svc-000/aliases", auth=fc_auth()).json()
    assert [a["aliasName"] for a in aliases["aliases"]] == ["alias-000"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        pytest.param("/services/nope.LATEST/functions/fn-000/instances", "ServiceNotFound", id="service"),
        pytest.param("/services/svc-000.LATEST/functions/nope/instances", "FunctionNotFound", id="function"),
        pytest.param("/services/svc-000.nope/functions/fn-000/instances", "AliasNotFound", id="alias"),
        pytest.param("/services/svc-000.None/functions/fn-000", "AliasNotFound", id="fc2-qualifier-none"),
        pytest.param("/services/svc-000/functions/nope", "FunctionNotFound", id="get-function"),
    ],
)
def test_legacy_errors_are_fc2_bodies(legacy: Api, path: str, code: str) -> None:
    r = legacy.get(LEGACY + path, auth=fc_auth())
    assert r.status_code == 404
    assert set(r.json()) == {"ErrorCode", "ErrorMessage"}
    assert r.json()["ErrorCode"] == code
    assert len(r.headers["x-fc-request-id"]) == 36


def test_fc2_api_still_needs_the_account(world: World) -> None:
    api = Api(create_app(world, ManualClock(NOW)), base_url="http://127.0.0.1:9")
    r = api.get(f"{LEGACY}/services", auth=fc_auth())
    assert (r.status_code, r.json()["ErrorCode"]) == (400, "MissingRequiredHeader")
    r = api.get(f"{LEGACY}/services", auth=fc_auth(), headers={"X-Fc-Account-Id": OTHER_ACCT})
    assert (r.status_code, r.json()["ErrorCode"]) == (403, "InvalidAccessKeyID")
