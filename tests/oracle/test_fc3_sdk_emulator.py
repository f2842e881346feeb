"""Oracle: the official FC 3.0 SDK (alibabacloud_fc20230330, ACS3) against a real EmulatorServer over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alibabacloud_fc20230330 import models as fc3_models
from alibabacloud_fc20230330.client import Client as FC3Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_util.models import RuntimeOptions

from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, default_scenario, v3_name

ACCT = "1234567890"
REGION = "cn-hangzhou"
AK, SK = "fccap-emulator-ak", "fccap-emulator-secret"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)

# Tea's credentials code calls datetime.utcnow on Python 3.12+; that is the SDK's warning, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")


@pytest.fixture(scope="module")
def world() -> World:
    return World(default_scenario())


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[EmulatorServer]:
    with EmulatorServer(create_app(world, ManualClock(NOW))) as s:
        yield s


def client(server: EmulatorServer, secret: str = SK) -> FC3Client:
    # No account in the 127.0.0.1 host and no X-Fc-Account-Id: FC 3.0 takes the AccessKey's account.
    endpoint = server.url.removeprefix("http://")
    return FC3Client(Config(access_key_id=AK, access_key_secret=secret, endpoint=endpoint, protocol="http"))


def rt() -> RuntimeOptions:
    return RuntimeOptions()


def list_all(sdk: FC3Client, fc_version: str | None, limit: int) -> tuple[list[fc3_models.Function], int]:
    got: list[fc3_models.Function] = []
    token = None
    pages = 0
    while True:
        request = fc3_models.ListFunctionsRequest(fc_version=fc_version, limit=limit, next_token=token)
        body = sdk.list_functions_with_options(request, {}, rt()).body
        pages += 1
        assert len(body.functions) <= limit
        got += body.functions
        token = body.next_token
        if not token:
            return got, pages
        assert pages < 200


@pytest.mark.parametrize(
    "fc_version", [pytest.param("v3", id="v3"), pytest.param("v2", id="v2"), pytest.param(None, id="both")]
)
def test_list_functions_lists_each_function_once(server: EmulatorServer, world: World, fc_version: str | None) -> None:
    v3 = [f.name for f in world.scenario.functions_v3]
    v2 = [v3_name(s.name, f.name) for s in world.scenario.services for f in s.functions]
    expected = sorted({"v3": v3, "v2": v2}.get(fc_version or "", v3 + v2))
    got, pages = list_all(client(server), fc_version, 30)
    names = [f.function_name for f in got]
    assert names == expected
    assert len(set(names)) == len(names)
    assert pages == -(-len(expected) // 30)


def test_function_fields(server: EmulatorServer, world: World) -> None:
    got, _ = list_all(client(server), "v3", 100)
    by_name = {f.name: f for f in world.scenario.functions_v3}
    assert len(got) == len(by_name) == 10
    for f in got:
        want = by_name[f.function_name]
        assert (f.runtime, f.cpu, f.memory_size, f.disk_size) == (want.runtime, want.cpu, want.memory_mb, want.disk_mb)
        assert f.instance_concurrency == want.instance_concurrency
        assert f.function_arn == f"acs:fc:{REGION}:{ACCT}:functions/{want.name}"
        if want.gpu_memory_mb is None:
            assert f.gpu_config is None
        else:
            assert (f.gpu_config.gpu_memory_size, f.gpu_config.gpu_type) == (want.gpu_memory_mb, want.instance_type)
    assert any(f.gpu_config is not None for f in got)


@pytest.mark.parametrize(
    ("name", "qualifier"),
    [pytest.param("api-00", "prod", id="fc3"), pytest.param(v3_name("media", "media-00"), "prod", id="fc2-in-fc3")],
)
def test_get_function(server: EmulatorServer, name: str, qualifier: str) -> None:
    request = fc3_models.GetFunctionRequest(qualifier=qualifier)
    response = client(server).get_function_with_options(name, request, {}, rt())
    assert response.status_code == 200
    body = response.body
    assert (body.function_name, body.state, body.last_update_status) == (name, "Active", "Successful")
    assert body.gpu_config is not None
    assert body.gpu_config.gpu_type == "fc.gpu.tesla.1"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("api-01", ["canary", "prod"], id="fc3"),
        pytest.param(v3_name("orders", "order-03"), ["prod", "staging"], id="fc2-in-fc3"),
        pytest.param("api-09", [], id="none"),
    ],
)
def test_list_aliases_pages_to_the_end(server: EmulatorServer, name: str, expected: list[str]) -> None:
    sdk = client(server)
    got: list[str] = []
    token = None
    while True:
        request = fc3_models.ListAliasesRequest(limit=1, next_token=token)
        body = sdk.list_aliases_with_options(name, request, {}, rt()).body
        got += [a.alias_name for a in body.aliases]
        token = body.next_token
        if not token:
            break
    assert got == expected


@pytest.mark.parametrize(
    ("direction", "expected"),
    [pytest.param("FORWARD", ["1", "2", "3"], id="forward"), pytest.param(None, ["3", "2", "1"], id="default")],
)
def test_list_function_versions_pages_to_the_end(server: EmulatorServer, direction: str | None, expected) -> None:
    sdk = client(server)
    got: list[str] = []
    token = None
    while True:
        request = fc3_models.ListFunctionVersionsRequest(direction=direction, limit=1, next_token=token)
        body = sdk.list_function_versions_with_options(v3_name("orders", "order-00"), request, {}, rt()).body
        assert body.direction == (direction or "BACKWARD")
        got += [v.version_id for v in body.versions]
        token = body.next_token
        if not token:
            break
    assert got == expected


def instances(server: EmulatorServer, name: str, **kw: object) -> fc3_models.ListInstancesOutput:
    request = fc3_models.ListInstancesRequest(**kw)  # type: ignore[arg-type]
    return client(server).list_instances_with_options(name, request, {}, rt()).body


@pytest.mark.parametrize(
    ("name", "service", "function", "qualifier"),
    [
        pytest.param("api-00", None, "api-00", "prod", id="fc3-provisioned-alias"),
        pytest.param("api-05", None, "api-05", None, id="fc3-latest"),
        pytest.param(v3_name("orders", "order-04"), "orders", "order-04", "prod", id="fc2-in-fc3-alias"),
        pytest.param(v3_name("orders", "order-04"), "orders", "order-04", None, id="fc2-in-fc3-latest"),
    ],
)
def test_list_instances_equal_world(
    server: EmulatorServer, world: World, name: str, service: str | None, function: str, qualifier: str | None
) -> None:
    body = instances(server, name, qualifier=qualifier, limit="1000")
    want = world.instances(ACCT, REGION, service, function, qualifier, NOW)
    assert len(want) >= 2
    got = [
        (i.instance_id, i.version_id, i.qualifier, i.status, i.created_time_ms, i.destroyed_time_ms, i.resource_type)
        for i in body.instances
    ]
    assert got == [
        (i.instance_id, i.version_id, i.qualifier, "Running", i.created_time_ms, None, i.resource_type) for i in want
    ]
    assert len(body.request_id) == 36
    if qualifier == "prod":
        assert any(i.resource_type == "Provisioned" for i in body.instances)


@pytest.mark.parametrize("flag", [pytest.param(True, id="true"), pytest.param(False, id="false")])
def test_with_all_active(server: EmulatorServer, world: World, flag: bool) -> None:
    body = instances(server, "api-01", with_all_active=flag)
    series = ["LATEST", "prod", "canary"] if flag else ["LATEST"]
    want = world.instances(ACCT, REGION, None, "api-01", None, NOW, series=series)
    assert [(i.instance_id, i.qualifier) for i in body.instances] == [(i.instance_id, i.qualifier) for i in want]
    if flag:
        assert {i.qualifier for i in body.instances} >= {"LATEST", "prod"}


def test_instance_ids_status_time_and_limit(server: EmulatorServer, world: World) -> None:
    everything = world.instances(ACCT, REGION, None, "api-01", None, NOW, series=["LATEST", "prod", "canary"])
    assert len(everything) >= 3
    ids = [everything[2].instance_id, everything[0].instance_id]
    picked = instances(server, "api-01", with_all_active=True, instance_ids=ids)
    assert [i.instance_id for i in picked.instances] == [everything[0].instance_id, everything[2].instance_id]
    running = instances(server, "api-01", with_all_active=True, instance_status=["Running"])
    assert len(running.instances) == len(everything)
    assert instances(server, "api-01", with_all_active=True, instance_status=["Stopped"]).instances == []
    cut = sorted({i.created_time_ms for i in everything})[-1]
    recent = instances(server, "api-01", with_all_active=True, start_time_ms=cut, end_time_ms=cut + 59_999)
    assert [i.instance_id for i in recent.instances] == [i.instance_id for i in everything if i.created_time_ms == cut]
    assert len(instances(server, "api-01", with_all_active=True, limit="2").instances) == 2


@pytest.mark.parametrize(
    ("call", "code"),
    [
        pytest.param(
            lambda c: c.get_function_with_options("nope", fc3_models.GetFunctionRequest(), {}, rt()),
            "FunctionNotFound",
            id="get",
        ),
        pytest.param(
            lambda c: c.list_instances_with_options("orders$nope", fc3_models.ListInstancesRequest(), {}, rt()),
            "FunctionNotFound",
            id="instances-fc2-name",
        ),
        pytest.param(
            lambda c: c.list_aliases_with_options("nope", fc3_models.ListAliasesRequest(), {}, rt()),
            "FunctionNotFound",
            id="aliases",
        ),
        pytest.param(
            lambda c: c.list_instances_with_options(
                "api-00", fc3_models.ListInstancesRequest(qualifier="nope"), {}, rt()
            ),
            "AliasNotFound",
            id="alias",
        ),
    ],
)
def test_not_found_raises_client_exception(server: EmulatorServer, call, code: str) -> None:
    with pytest.raises(ClientException) as info:
        call(client(server))
    assert (info.value.status_code, info.value.code) == (404, code)
    assert len(info.value.request_id) == 36


def test_wrong_secret_raises_signature_not_match(server: EmulatorServer) -> None:
    with pytest.raises(ClientException) as info:
        client(server, secret="not-the-secret").list_functions_with_options(fc3_models.ListFunctionsRequest(), {}, rt())
    assert (info.value.status_code, info.value.code) == (403, "SignatureNotMatch")


def test_invalid_fc_version_raises_invalid_argument(server: EmulatorServer) -> None:
    with pytest.raises(ClientException) as info:
        client(server).list_functions_with_options(fc3_models.ListFunctionsRequest(fc_version="v9"), {}, rt())
    assert (info.value.status_code, info.value.code) == (400, "InvalidArgument")
