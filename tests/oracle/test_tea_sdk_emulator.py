"""Oracle: the official Tea SDK (alibabacloud_fc_open20210406) talks to a real EmulatorServer over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alibabacloud_fc_open20210406 import models as fc_models
from alibabacloud_fc_open20210406.client import Client as FCClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_util.models import RuntimeOptions

from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, default_scenario

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


def client(server: EmulatorServer, secret: str = SK) -> FCClient:
    # The SDK puts the endpoint (host:port) into both the Host header and the URL; protocol selects http.
    endpoint = server.url.removeprefix("http://")
    return FCClient(Config(access_key_id=AK, access_key_secret=secret, endpoint=endpoint, protocol="http"))


def test_list_services(server: EmulatorServer, world: World) -> None:
    headers = fc_models.ListServicesHeaders(x_fc_account_id=ACCT)
    response = client(server).list_services_with_options(fc_models.ListServicesRequest(limit=100), headers, _rt())
    assert response.status_code == 200
    assert response.headers["x-fc-request-id"]
    names = [s.service_name for s in response.body.services]
    assert names == sorted(s.name for s in world.scenario.services)
    assert response.body.next_token is None


def test_list_functions_pages_to_the_end(server: EmulatorServer, world: World) -> None:
    spec = next(s for s in world.scenario.services if s.name == "orders")
    sdk = client(server)
    headers = fc_models.ListFunctionsHeaders(x_fc_account_id=ACCT)
    seen = []
    token = None
    pages = 0
    while True:
        request = fc_models.ListFunctionsRequest(limit=7, next_token=token)
        body = sdk.list_functions_with_options("orders", request, headers, _rt()).body
        pages += 1
        assert len(body.functions) <= 7
        seen.extend(body.functions)
        token = body.next_token
        if not token:
            break
    assert pages == -(-len(spec.functions) // 7)
    assert [f.function_name for f in seen] == sorted(f.name for f in spec.functions)
    by_name = {f.name: f for f in spec.functions}
    for f in seen:
        want = by_name[f.function_name]
        assert (f.runtime, f.memory_size, f.cpu, f.disk_size) == (want.runtime, want.memory_mb, want.cpu, want.disk_mb)
        assert (f.instance_type, f.instance_concurrency) == (want.instance_type, want.instance_concurrency)
        assert f.gpu_memory_size == want.gpu_memory_mb


def test_list_functions_with_prefix_and_start_key(server: EmulatorServer) -> None:
    request = fc_models.ListFunctionsRequest(limit=100, prefix="media-1", start_key="media-15")
    headers = fc_models.ListFunctionsHeaders(x_fc_account_id=ACCT)
    body = client(server).list_functions_with_options("media", request, headers, _rt()).body
    assert [f.function_name for f in body.functions] == [f"media-{i}" for i in range(15, 20)]


def test_list_aliases(server: EmulatorServer, world: World) -> None:
    spec = next(s for s in world.scenario.services if s.name == "orders")
    headers = fc_models.ListAliasesHeaders(x_fc_account_id=ACCT)
    body = client(server).list_aliases_with_options("orders", fc_models.ListAliasesRequest(), headers, _rt()).body
    assert [(a.alias_name, a.version_id) for a in body.aliases] == sorted((a.name, a.version_id) for a in spec.aliases)


@pytest.mark.parametrize("qualifier", [pytest.param(None, id="latest"), pytest.param("prod", id="alias-prod")])
def test_list_instances_equal_truth(server: EmulatorServer, world: World, qualifier: str | None) -> None:
    sdk = client(server)
    headers = fc_models.ListInstancesHeaders(x_fc_account_id=ACCT)
    truth = world.ground_truth(NOW)
    checked = 0
    for fn in ("order-00", "order-01", "order-02", "order-03"):
        request = fc_models.ListInstancesRequest(qualifier=qualifier, limit=1000)
        body = sdk.list_instances_with_options("orders", fn, request, headers, _rt()).body
        got = [(i.instance_id, i.version_id) for i in body.instances]
        q = qualifier or "LATEST"
        want = [
            (r.instance_id, r.version_id)
            for r in truth
            if (r.service_name, r.function_name, r.qualifier) == ("orders", fn, q)
        ]
        assert got == want
        checked += len(got)
    assert checked > 0


def test_list_instances_filters_by_ids(server: EmulatorServer, world: World) -> None:
    sdk = client(server)
    headers = fc_models.ListInstancesHeaders(x_fc_account_id=ACCT)
    everything = world.instances(ACCT, REGION, "orders", "order-01", "prod", NOW)
    assert len(everything) >= 2
    wanted = [everything[-1].instance_id, everything[0].instance_id]
    request = fc_models.ListInstancesRequest(qualifier="prod", instance_ids=wanted)
    body = sdk.list_instances_with_options("orders", "order-01", request, headers, _rt()).body
    assert [i.instance_id for i in body.instances] == sorted(wanted)


def test_wrong_secret_raises_403(server: EmulatorServer) -> None:
    headers = fc_models.ListServicesHeaders(x_fc_account_id=ACCT)
    with pytest.raises(ClientException) as info:
        client(server, secret="not-the-secret").list_services_with_options(
            fc_models.ListServicesRequest(), headers, _rt()
        )
    assert info.value.status_code == 403
    assert "SignatureNotMatch" in str(info.value.data)


def test_unknown_function_raises_404(server: EmulatorServer) -> None:
    headers = fc_models.GetFunctionHeaders(x_fc_account_id=ACCT)
    with pytest.raises(ClientException) as info:
        client(server).get_function_with_options("orders", "no-such-fn", fc_models.GetFunctionRequest(), headers, _rt())
    assert info.value.status_code == 404
    assert "FunctionNotFound" in str(info.value.data)


def _rt() -> RuntimeOptions:
    return RuntimeOptions()


def test_list_services_and_aliases_page_to_the_end_with_limit_1(server: EmulatorServer, world: World) -> None:
    sdk = client(server)
    services: list[str] = []
    token = None
    while True:
        request = fc_models.ListServicesRequest(limit=1, next_token=token)
        body = sdk.list_services_with_options(request, fc_models.ListServicesHeaders(x_fc_account_id=ACCT), _rt()).body
        assert len(body.services) == 1
        services += [s.service_name for s in body.services]
        token = body.next_token
        if not token:
            break
    assert services == sorted(s.name for s in world.scenario.services)
    aliases: list[str] = []
    token = None
    while True:
        request = fc_models.ListAliasesRequest(limit=1, next_token=token)
        headers = fc_models.ListAliasesHeaders(x_fc_account_id=ACCT)
        body = sdk.list_aliases_with_options("orders", request, headers, _rt()).body
        aliases += [a.alias_name for a in body.aliases]
        token = body.next_token
        if not token:
            break
    assert aliases == ["prod", "staging"]


def test_get_function_with_qualifier_and_unknown_alias(server: EmulatorServer, world: World) -> None:
    spec = next(f for f in next(s for s in world.scenario.services if s.name == "orders").functions)
    headers = fc_models.GetFunctionHeaders(x_fc_account_id=ACCT)
    body = (
        client(server)
        .get_function_with_options("orders", spec.name, fc_models.GetFunctionRequest(qualifier="prod"), headers, _rt())
        .body
    )
    assert (body.function_name, body.memory_size, body.runtime) == (spec.name, spec.memory_mb, spec.runtime)
    with pytest.raises(ClientException) as info:
        client(server).get_function_with_options(
            "orders", spec.name, fc_models.GetFunctionRequest(qualifier="nope"), headers, _rt()
        )
    assert info.value.status_code == 404
    assert "AliasNotFound" in str(info.value.data)


def test_list_instances_limit(server: EmulatorServer, world: World) -> None:
    everything = world.instances(ACCT, REGION, "orders", "order-05", None, NOW)
    assert len(everything) >= 3
    headers = fc_models.ListInstancesHeaders(x_fc_account_id=ACCT)
    request = fc_models.ListInstancesRequest(limit=2)
    body = client(server).list_instances_with_options("orders", "order-05", request, headers, _rt()).body
    assert [i.instance_id for i in body.instances] == [i.instance_id for i in everything[:2]]
