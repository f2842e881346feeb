"""The emulator app in-process: shapes, paging, instanceIds encodings, qualifiers and exact auth checks."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pipelines.emulator import AcceleratedClock, ManualClock, World, create_app, default_scenario
from pipelines.fc.signing import acs3_authorization, acs3_canonical_request, acs3_signature
from tests.emulator.conftest import ACCT, OTHER_ACCT, REGION, Api, acs3_auth, fc_auth, scenario

NOW = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
API = "/2021-04-06"
SCHEMES = [pytest.param(fc_auth, id="fc"), pytest.param(acs3_auth, id="acs3")]


@pytest.fixture
def world() -> World:
    return World(scenario())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def api(world: World, clock: ManualClock) -> Api:
    return Api(create_app(world, clock))


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ErrorCode"] == code
    assert isinstance(body["ErrorMessage"], str)
    assert body["ErrorMessage"]
    assert len(response.headers["x-fc-request-id"]) == 36
    return body


# --- shapes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", SCHEMES)
def test_list_services_shape(api: Api, auth) -> None:
    r = api.get(f"{API}/services", auth=auth())
    assert r.status_code == 200
    body = r.json()
    assert [s["serviceName"] for s in body["services"]] == ["svc-000", "svc-001"]
    assert "nextToken" not in body
    s = body["services"][0]
    assert isinstance(s["serviceId"], str)
    assert s["createdTime"].endswith("Z")


def test_list_functions_shape(api: Api, world: World) -> None:
    r = api.get(f"{API}/services/svc-001/functions", auth=fc_auth())
    assert r.status_code == 200
    fns = r.json()["functions"]
    assert [f["functionName"] for f in fns] == ["fn-000", "fn-001", "fn-002"]
    spec = world.function(ACCT, REGION, "svc-001", "fn-001")
    f = fns[1]
    assert (f["runtime"], f["memorySize"], f["cpu"], f["diskSize"]) == (spec.runtime, 1024, 1.0, spec.disk_mb)
    assert (f["instanceType"], f["instanceConcurrency"]) == (spec.instance_type, spec.instance_concurrency)
    assert "gpuMemorySize" not in f  # no GPU in this function


def test_gpu_function_reports_gpu_memory() -> None:
    world = World(default_scenario())
    gpu = next(
        (svc.name, fn) for svc in world.scenario.services for fn in svc.functions if fn.gpu_memory_mb is not None
    )
    api = Api(create_app(world, ManualClock(NOW)))
    r = api.get(
        f"{API}/services/{gpu[0]}/functions/{gpu[1].name}",
        auth=acs3_auth(ak="fccap-emulator-ak", sk="fccap-emulator-secret"),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["gpuMemorySize"] == gpu[1].gpu_memory_mb
    assert body["instanceType"] == gpu[1].instance_type
    assert r.headers["etag"]


def test_get_function_shape(api: Api) -> None:
    r = api.get(f"{API}/services/svc-000/functions/fn-002", auth=fc_auth())
    assert r.status_code == 200
    assert r.json()["functionName"] == "fn-002"
    assert r.json()["memorySize"] == 1024


def test_list_aliases_shape(api: Api) -> None:
    r = api.get(f"{API}/services/svc-000/aliases", auth=fc_auth())
    assert r.status_code == 200
    assert r.json()["aliases"] == [
        {
            "aliasName": "alias-000",
            "versionId": "1",
            "description": "",
            "additionalVersionWeight": {},
            "createdTime": "2024-01-15T08:00:00Z",
            "lastModifiedTime": "2024-06-01T08:00:00Z",
        }
    ]


@pytest.mark.parametrize(
    ("qualifier", "version"),
    [
        pytest.param(None, "0", id="default-latest"),
        pytest.param("LATEST", "0", id="latest"),
        pytest.param("alias-000", "1", id="alias"),
        pytest.param("1", "1", id="version"),
    ],
)
def test_list_instances_matches_world(api: Api, world: World, qualifier: str | None, version: str) -> None:
    params = {"qualifier": qualifier} if qualifier else {}
    r = api.get(f"{API}/services/svc-000/functions/fn-001/instances", auth=acs3_auth(), params=params)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"instances"}
    expected = world.instances(ACCT, REGION, "svc-000", "fn-001", qualifier, NOW)
    assert len(expected) >= 3
    assert body["instances"] == [{"instanceId": i.instance_id, "versionId": version} for i in expected]


def test_virtual_clock_decides_instances(api: Api, world: World, clock: ManualClock) -> None:
    path = f"{API}/services/svc-000/functions/fn-000/instances"
    before = api.get(path, auth=fc_auth()).json()["instances"]
    clock.advance(timedelta(days=1, hours=7))
    after = api.get(path, auth=fc_auth()).json()["instances"]
    assert before != after
    expected = world.instances(ACCT, REGION, "svc-000", "fn-000", None, NOW + timedelta(days=1, hours=7))
    assert [i["instanceId"] for i in after] == [i.instance_id for i in expected]


# --- paging ------------------------------------------------------------------------------------


def collect(api: Api, path: str, key: str, name: str, limit: int | None, **extra: str) -> tuple[list[str], int]:
    names: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params = dict(extra)
        if limit is not None:
            params["limit"] = str(limit)
        if token:
            params["nextToken"] = token
        r = api.get(path, auth=acs3_auth(), params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        assert len(body[key]) <= (limit or 20)
        names += [item[name] for item in body[key]]
        token = body.get("nextToken")
        if not token:
            return names, pages
        assert pages < 100


LIMIT = 5
SIZES = [
    pytest.param(0, id="0"),
    pytest.param(1, id="1"),
    pytest.param(LIMIT - 1, id="limit-1"),
    pytest.param(LIMIT, id="limit"),
    pytest.param(LIMIT + 1, id="limit+1"),
    pytest.param(3 * LIMIT, id="3xlimit"),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("what", "path", "key", "name"),
    [
        pytest.param("services", f"{API}/services", "services", "serviceName", id="services"),
        pytest.param("functions", f"{API}/services/svc-000/functions", "functions", "functionName", id="functions"),
        pytest.param("aliases", f"{API}/services/svc-000/aliases", "aliases", "aliasName", id="aliases"),
    ],
)
def test_paging_returns_every_item_once(size: int, what: str, path: str, key: str, name: str) -> None:
    counts = {"services": 1, "functions": 1, "aliases": 0}
    counts[what] = size
    world = World(scenario(services=counts["services"], functions=counts["functions"], aliases=counts["aliases"]))
    api = Api(create_app(world, ManualClock(NOW)))
    names, pages = collect(api, path, key, name, LIMIT)
    stem = {"services": "svc", "functions": "fn", "aliases": "alias"}[what]
    assert names == [f"{stem}-{i:03d}" for i in range(size)]
    assert pages == max(1, math.ceil(size / LIMIT))


@pytest.mark.parametrize("size", [pytest.param(19, id="19"), pytest.param(20, id="20"), pytest.param(41, id="41")])
def test_default_limit_is_20(size: int) -> None:
    api = Api(create_app(World(scenario(services=1, functions=size)), ManualClock(NOW)))
    names, pages = collect(api, f"{API}/services/svc-000/functions", "functions", "functionName", None)
    assert names == [f"fn-{i:03d}" for i in range(size)]
    assert pages == math.ceil(size / 20)


def test_prefix_and_start_key() -> None:
    api = Api(create_app(World(scenario(services=1, functions=12)), ManualClock(NOW)))
    path = f"{API}/services/svc-000/functions"
    names, _ = collect(api, path, "functions", "functionName", 3, prefix="fn-01")
    assert names == ["fn-010", "fn-011"]
    names, _ = collect(api, path, "functions", "functionName", 3, startKey="fn-007")
    assert names == ["fn-007", "fn-008", "fn-009", "fn-010", "fn-011"]
    names, _ = collect(api, path, "functions", "functionName", 3, startKey="fn-0075")
    assert names[0] == "fn-008"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        pytest.param({"limit": "101"}, "InvalidArgument", id="limit-above-100"),
        pytest.param({"limit": "0"}, "InvalidArgument", id="limit-zero"),
        pytest.param({"limit": "ten"}, "InvalidArgument", id="limit-not-int"),
        pytest.param({"nextToken": "garbage"}, "InvalidArgument", id="foreign-token"),
    ],
)
def test_list_argument_errors(api: Api, params: dict[str, str], code: str) -> None:
    assert_error(api.get(f"{API}/services", auth=fc_auth(), params=params), 400, code)


def test_limit_100_is_allowed(api: Api) -> None:
    assert api.get(f"{API}/services", auth=fc_auth(), params={"limit": "100"}).status_code == 200


# --- ListInstances arguments -----------------------------------------------------------------------


INSTANCES = f"{API}/services/svc-000/functions/fn-000/instances"


def all_ids(api: Api) -> list[str]:
    return [i["instanceId"] for i in api.get(INSTANCES, auth=fc_auth()).json()["instances"]]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda ids: [("instanceIds", i) for i in ids], id="repeated-keys"),
        pytest.param(lambda ids: [(f"instanceIds.{n}", i) for n, i in enumerate(ids, 1)], id="dotted-index"),
        pytest.param(lambda ids: [("instanceIds", "[" + ",".join(f'"{i}"' for i in ids) + "]")], id="json-array"),
    ],
)
@pytest.mark.parametrize("auth", SCHEMES)
def test_instance_ids_filter_in_every_encoding(api: Api, encode, auth) -> None:
    ids = all_ids(api)
    assert len(ids) >= 4
    wanted = [ids[3], ids[1], "c-not-a-live-instance"]
    r = api.get(INSTANCES, auth=auth(), params=encode(wanted))
    assert r.status_code == 200, r.text
    assert [i["instanceId"] for i in r.json()["instances"]] == [ids[1], ids[3]]


def test_instance_ids_bad_json(api: Api) -> None:
    assert_error(api.get(INSTANCES, auth=fc_auth(), params={"instanceIds": '["a",'}), 400, "InvalidArgument")


@pytest.mark.parametrize(
    ("limit", "expect"),
    [
        pytest.param("0", "all", id="zero-means-no-cap"),
        pytest.param("1", 1, id="one"),
        pytest.param("2", 2, id="two"),
        pytest.param("1000", "all", id="max"),
    ],
)
def test_list_instances_limit(api: Api, limit: str, expect: int | str) -> None:
    ids = all_ids(api)
    got = [i["instanceId"] for i in api.get(INSTANCES, auth=fc_auth(), params={"limit": limit}).json()["instances"]]
    assert got == (ids if expect == "all" else ids[: int(expect)])


@pytest.mark.parametrize("limit", [pytest.param("1001", id="above"), pytest.param("-1", id="negative")])
def test_list_instances_limit_out_of_range(api: Api, limit: str) -> None:
    body = assert_error(api.get(INSTANCES, auth=fc_auth(), params={"limit": limit}), 400, "InvalidArgument")
    assert "[0, 1000]" in body["ErrorMessage"]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        pytest.param(f"{API}/services/nope/functions/fn-000/instances", {}, "ServiceNotFound", id="service"),
        pytest.param(f"{API}/services/svc-000/functions/nope/instances", {}, "FunctionNotFound", id="function"),
        pytest.param(INSTANCES, {"qualifier": "nope"}, "AliasNotFound", id="alias"),
        pytest.param(f"{API}/services/nope/functions", {}, "ServiceNotFound", id="list-functions"),
        pytest.param(f"{API}/services/svc-000/functions/nope", {}, "FunctionNotFound", id="get-function"),
        pytest.param(f"{API}/services/nope/aliases", {}, "ServiceNotFound", id="list-aliases"),
    ],
)
def test_not_found(api: Api, path: str, params: dict[str, str], code: str) -> None:
    assert_error(api.get(path, auth=acs3_auth(), params=params), 404, code)


def test_unknown_path(api: Api) -> None:
    assert_error(api.get(f"{API}/layers", auth=fc_auth()), 404, "PathNotSupported")


# --- account and region ------------------------------------------------------------------------


def test_account_from_header_when_host_is_not_fc(world: World, clock: ManualClock) -> None:
    api = Api(create_app(world, clock), base_url="http://127.0.0.1:9000")
    r = api.get(f"{API}/services", auth=acs3_auth(), headers={"X-Fc-Account-Id": ACCT})
    assert r.status_code == 200
    assert len(r.json()["services"]) == 2
    assert_error(api.get(f"{API}/services", auth=acs3_auth()), 400, "MissingRequiredHeader")


def test_internal_host_and_second_region(world: World, clock: ManualClock) -> None:
    api = Api(create_app(world, clock), base_url=f"http://{ACCT}.cn-shanghai-internal.fc.aliyuncs.com")
    r = api.get(f"{API}/services", auth=fc_auth())
    assert r.status_code == 200
    assert r.json()["services"] == []  # the account's services all live in cn-hangzhou


@pytest.mark.parametrize("auth", SCHEMES)
def test_key_of_another_account_is_rejected(api: Api, auth) -> None:
    assert_error(api.get(f"{API}/services", auth=auth(ak="ak-other", sk="sk-other")), 403, "InvalidAccessKeyID")
    other = Api(api.app, base_url=f"http://{OTHER_ACCT}.{REGION}.fc.aliyuncs.com")
    assert other.get(f"{API}/services", auth=auth(ak="ak-other", sk="sk-other")).status_code == 200


# --- signatures --------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", SCHEMES)
@pytest.mark.parametrize(
    ("kw", "status", "code"),
    [
        pytest.param({"sk": "wrong-secret"}, 403, "SignatureNotMatch", id="wrong-secret"),
        pytest.param({"ak": "ak-unknown"}, 403, "InvalidAccessKeyID", id="unknown-key"),
        pytest.param({"ak": "ak-sts", "sk": "sk-sts"}, 403, "InvalidSecurityToken", id="missing-sts-token"),
        pytest.param(
            {"ak": "ak-sts", "sk": "sk-sts", "token": "STS.wrong"}, 403, "InvalidSecurityToken", id="wrong-sts"
        ),
    ],
)
def test_rejections(api: Api, auth, kw: dict[str, str], status: int, code: str) -> None:
    assert_error(api.get(f"{API}/services", auth=auth(**kw)), status, code)


@pytest.mark.parametrize("auth", SCHEMES)
def test_right_sts_token_is_accepted(api: Api, auth) -> None:
    r = api.get(f"{API}/services", auth=auth(ak="ak-sts", sk="sk-sts", token="STS.tok-123"))
    assert r.status_code == 200


@pytest.mark.parametrize("auth", SCHEMES)
@pytest.mark.parametrize("offset", [pytest.param(-20, id="behind"), pytest.param(20, id="ahead")])
def test_skewed_date(api: Api, auth, offset: int) -> None:
    skewed = auth(clock=lambda: datetime.now(UTC) + timedelta(minutes=offset))
    body = assert_error(api.get(f"{API}/services", auth=skewed), 403, "RequestTimeTooSkewed")
    assert "skew" in body["ErrorMessage"]
    # Dates carry whole seconds, so the reported skew is 1200s give or take the truncation.
    seconds = int(re.search(r"is (\d+)s (?:ahead of|behind)", body["ErrorMessage"]).group(1))
    assert 1195 <= seconds <= 1205
    assert ("ahead of" if offset > 0 else "behind") in body["ErrorMessage"]


@pytest.mark.parametrize("auth", SCHEMES)
def test_date_within_limit_is_accepted(api: Api, auth) -> None:
    near = auth(clock=lambda: datetime.now(UTC) - timedelta(minutes=14))
    assert api.get(f"{API}/services", auth=near).status_code == 200


def test_skew_limit_is_configurable(world: World, clock: ManualClock) -> None:
    api = Api(create_app(world, clock, skew_limit=timedelta(minutes=1)))
    body = assert_error(
        api.get(f"{API}/services", auth=fc_auth(clock=lambda: datetime.now(UTC) - timedelta(minutes=2))),
        403,
        "RequestTimeTooSkewed",
    )
    assert "60s" in body["ErrorMessage"]


@pytest.mark.parametrize(
    ("auth", "date_header"), [pytest.param(fc_auth, "date", id="fc"), pytest.param(acs3_auth, "x-acs-date", id="acs3")]
)
def test_missing_date(api: Api, auth, date_header: str) -> None:
    request = api.signed(f"{API}/services", auth())
    del request.headers[date_header]
    assert_error(api.send(request), 400, "MissingRequiredHeader")


@pytest.mark.parametrize("auth", SCHEMES)
def test_tampered_signature(api: Api, auth) -> None:
    request = api.signed(f"{API}/services", auth())
    value = request.headers["authorization"]
    request.headers["authorization"] = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    assert_error(api.send(request), 403, "SignatureNotMatch")


def test_missing_authorization(api: Api) -> None:
    assert_error(api.get(f"{API}/services"), 400, "MissingRequiredHeader")


def test_fc_scheme_does_not_sign_the_query(api: Api) -> None:
    """Management APIs sign only the path, so a query added after signing still verifies (fc-api.md 1)."""
    request = api.signed(f"{API}/services", fc_auth(), params={"limit": "1"})
    request.url = request.url.copy_merge_params({"prefix": "svc-001"})
    r = api.send(request)
    assert r.status_code == 200
    assert [s["serviceName"] for s in r.json()["services"]] == ["svc-001"]


def test_fc_scheme_signs_x_fc_headers(api: Api) -> None:
    request = api.signed(f"{API}/services", fc_auth(), headers={"x-fc-trace-id": "t-1"})
    request.headers["x-fc-trace-id"] = "t-2"
    assert_error(api.send(request), 403, "SignatureNotMatch")


@pytest.mark.parametrize(
    ("header", "value"),
    [
        pytest.param("x-acs-action", "DeleteEverything", id="signed-header-changed"),
        pytest.param("x-acs-content-sha256", "0" * 64, id="content-hash-mismatch"),
    ],
)
def test_acs3_detects_header_tampering(api: Api, header: str, value: str) -> None:
    request = api.signed(f"{API}/services", acs3_auth())
    request.headers[header] = value
    assert_error(api.send(request), 403, "SignatureNotMatch")


def test_acs3_signs_the_query(api: Api) -> None:
    request = api.signed(f"{API}/services", acs3_auth(), params={"limit": "1"})
    request.url = request.url.copy_set_param("limit", "2")
    assert_error(api.send(request), 403, "SignatureNotMatch")


def test_acs3_ignores_headers_added_after_signing(api: Api) -> None:
    request = api.signed(f"{API}/services", acs3_auth())
    request.headers["x-added-by-a-proxy"] = "yes"
    request.headers["user-agent"] = "changed-after-signing"
    assert "user-agent" not in request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert api.send(request).status_code == 200


@pytest.mark.parametrize(
    "raw_query",
    [
        pytest.param("prefix=a+b", id="plus-is-space"),
        pytest.param("prefix=a%20b", id="percent-20"),
        pytest.param("prefix=svc%2F%C3%BC+x&startKey=%E6%97%A5%E6%9C%AC", id="slash-and-unicode"),
        pytest.param("startKey=a~b*c&limit=7", id="tilde-and-star"),
    ],
)
def test_acs3_query_encodings_verify(api: Api, raw_query: str) -> None:
    """The wire uses urlencode ('+' for space), the canonical form RFC 3986 ('%20'); both must verify."""
    request = httpx.Request("GET", f"{api.base_url}{API}/services?{raw_query}")
    assert request.url.query.decode() == raw_query
    signed = next(acs3_auth().auth_flow(request))
    r = api.send(signed)
    assert r.status_code == 200, r.text


def test_acs3_canonical_query_is_not_the_wire_form(api: Api) -> None:
    """Signing the wire form ('+') instead of the canonical one ('%20') must fail: the server re-encodes."""
    request = httpx.Request("GET", f"{api.base_url}{API}/services?prefix=a+b")
    signed = next(acs3_auth().auth_flow(request))
    names = signed.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = [(n, signed.headers[n]) for n in names]
    canonical, signed_names = acs3_canonical_request("GET", f"{API}/services", [], headers)
    wrong = canonical.split("\n")
    wrong[2] = "prefix=a+b"
    signature = acs3_signature("sk-plain", "\n".join(wrong))
    signed.headers["authorization"] = acs3_authorization("ak-plain", signed_names, signature)
    assert_error(api.send(signed), 403, "SignatureNotMatch")


def test_request_ids_are_unique(api: Api) -> None:
    ids = {api.get(f"{API}/services", auth=fc_auth()).headers["x-fc-request-id"] for _ in range(5)}
    ids.add(api.get(f"{API}/services").headers["x-fc-request-id"])
    assert len(ids) == 6


# --- admin -------------------------------------------------------------------------------------


def test_truth_endpoint(api: Api, world: World) -> None:
    r = api.get("/_emulator/truth")
    assert r.status_code == 200
    rows = r.json()
    expected = world.ground_truth(NOW)
    assert len(rows) == len(expected) > 0
    assert rows[0] == {
        "account_id": expected[0].account_id,
        "region": expected[0].region,
        "service_name": expected[0].service_name,
        "function_name": expected[0].function_name,
        "qualifier": expected[0].qualifier,
        "instance_id": expected[0].instance_id,
        "version_id": expected[0].version_id,
        "created_time_ms": expected[0].created_time_ms,
        "resource_type": "OnDemand",
    }
    later = NOW + timedelta(hours=9)
    rows = api.get("/_emulator/truth", params={"at": later.isoformat()}).json()
    assert [r["instance_id"] for r in rows] == [t.instance_id for t in world.ground_truth(later)]
    assert_error(api.get("/_emulator/truth", params={"at": "yesterday"}), 400, "InvalidArgument")


def test_clock_endpoint_moves_a_manual_clock(api: Api, clock: ManualClock) -> None:
    r = api.request("POST", "/_emulator/clock", json={"at": "2026-05-01T10:00:00+00:00"})
    assert r.status_code == 200
    assert r.json() == {"now": "2026-05-01T10:00:00Z"}
    assert clock.now() == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert api.get("/_emulator/health").json() == {"status": "ok", "now": "2026-05-01T10:00:00Z"}
    assert_error(api.request("POST", "/_emulator/clock", json={"when": 1}), 400, "InvalidArgument")


def test_clock_endpoint_refuses_other_clocks(world: World) -> None:
    api = Api(create_app(world, AcceleratedClock(NOW, factor=60)))
    assert_error(api.request("POST", "/_emulator/clock", json={"at": NOW.isoformat()}), 409, "ClockNotSettable")
