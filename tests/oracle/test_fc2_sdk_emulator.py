"""Oracle: the official legacy SDK (aliyun-fc2, 2016-08-15 paths, FC signature) against a real EmulatorServer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import fc2
import pytest

from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, default_scenario

ACCT = "1234567890"
REGION = "cn-hangzhou"
AK, SK = "fccap-emulator-ak", "fccap-emulator-secret"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
# fc2 never sends X-Fc-Account-Id itself (the account is in the real host name); 127.0.0.1 needs it.
HEADERS = {"x-fc-account-id": ACCT}


@pytest.fixture(scope="module")
def world() -> World:
    return World(default_scenario())


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[EmulatorServer]:
    with EmulatorServer(create_app(world, ManualClock(NOW))) as s:
        yield s


def client(server: EmulatorServer, secret: str = SK) -> fc2.Client:
    return fc2.Client(endpoint=server.url, accessKeyID=AK, accessKeySecret=secret)


def busiest(world: World, service: str, qualifier: str) -> str:
    spec = next(s for s in world.scenario.services if s.name == service)
    return max(spec.functions, key=lambda f: len(world.instances(ACCT, REGION, service, f.name, qualifier, NOW))).name


def page_all(call: Callable[..., Any], key: str, name: str, limit: int) -> tuple[list[str], int]:
    got: list[str] = []
    token = None
    pages = 0
    while True:
        data = call(limit=limit, nextToken=token, headers=HEADERS).data
        pages += 1
        assert len(data[key]) <= limit
        got += [item[name] for item in data[key]]
        token = data.get("nextToken")
        if not token:
            return got, pages
        assert pages < 200


def test_list_services_pages_to_the_end(server: EmulatorServer, world: World) -> None:
    got, pages = page_all(client(server).list_services, "services", "serviceName", 1)
    assert got == sorted(s.name for s in world.scenario.services)
    assert pages == len(world.scenario.services)


@pytest.mark.parametrize("qualifier", [pytest.param(None, id="no-qualifier"), pytest.param("prod", id="alias")])
def test_list_functions_pages_to_the_end(server: EmulatorServer, world: World, qualifier: str | None) -> None:
    spec = next(s for s in world.scenario.services if s.name == "orders")
    sdk = client(server)
    got, pages = page_all(
        lambda **kw: sdk.list_functions("orders", qualifier=qualifier, **kw), "functions", "functionName", 7
    )
    assert got == sorted(f.name for f in spec.functions)
    assert pages == -(-len(spec.functions) // 7)


def test_get_function_with_qualifier(server: EmulatorServer, world: World) -> None:
    gpu = next(f for f in next(s for s in world.scenario.services if s.name == "media").functions if f.gpu_memory_mb)
    response = client(server).get_function("media", gpu.name, headers=HEADERS, qualifier="prod")
    assert response.headers["etag"]
    data = response.data
    assert (data["functionName"], data["memorySize"], data["cpu"]) == (gpu.name, gpu.memory_mb, gpu.cpu)
    assert (data["gpuMemorySize"], data["instanceType"]) == (gpu.gpu_memory_mb, gpu.instance_type)


def test_list_aliases(server: EmulatorServer, world: World) -> None:
    spec = next(s for s in world.scenario.services if s.name == "orders")
    got, pages = page_all(lambda **kw: client(server).list_aliases("orders", **kw), "aliases", "aliasName", 1)
    assert got == sorted(a.name for a in spec.aliases)
    assert pages == len(spec.aliases)


@pytest.mark.parametrize(
    ("service", "qualifier"),
    [
        pytest.param("orders", "LATEST", id="latest"),
        pytest.param("orders", "prod", id="alias-provisioned"),
        pytest.param("orders", "2", id="version"),
        pytest.param("internal-tools", "live", id="other-service"),
    ],
)
def test_list_instances_equal_world(server: EmulatorServer, world: World, service: str, qualifier: str) -> None:
    sdk = client(server)
    spec = next(s for s in world.scenario.services if s.name == service)
    seen = 0
    for fn in spec.functions[:4]:
        data = sdk.list_instances(service, qualifier, fn.name, params={"limit": 1000}, headers=HEADERS).data
        want = world.instances(ACCT, REGION, service, fn.name, qualifier, NOW)
        assert data == {"instances": [{"instanceId": i.instance_id, "versionId": i.version_id} for i in want]}
        seen += len(want)
    assert seen > 0


ENCODINGS = [
    pytest.param(lambda ids: {"instanceIds": ids}, id="repeated-keys"),
    pytest.param(lambda ids: {f"instanceIds.{n}": i for n, i in enumerate(ids, 1)}, id="dotted-index"),
    pytest.param(lambda ids: {"instanceIds": json.dumps(ids)}, id="json-array"),
]


@pytest.mark.parametrize("encode", ENCODINGS)
def test_list_instances_filters_by_ids(server: EmulatorServer, world: World, encode) -> None:
    fn = busiest(world, "orders", "prod")
    everything = world.instances(ACCT, REGION, "orders", fn, "prod", NOW)
    assert len(everything) >= 3
    wanted = [everything[2].instance_id, everything[0].instance_id, "c-not-alive"]
    data = client(server).list_instances("orders", "prod", fn, params=encode(wanted), headers=HEADERS).data
    assert [i["instanceId"] for i in data["instances"]] == [everything[0].instance_id, everything[2].instance_id]


def test_list_instances_limit(server: EmulatorServer, world: World) -> None:
    everything = world.instances(ACCT, REGION, "orders", "order-01", "prod", NOW)
    data = client(server).list_instances("orders", "prod", "order-01", params={"limit": 2}, headers=HEADERS).data
    assert [i["instanceId"] for i in data["instances"]] == [i.instance_id for i in everything[:2]]


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        pytest.param(
            lambda c: c.get_function("orders", "no-such-fn", headers=HEADERS), 404, "FunctionNotFound", id="fn"
        ),
        pytest.param(lambda c: c.list_functions("no-such-svc", headers=HEADERS), 404, "ServiceNotFound", id="svc"),
        pytest.param(
            lambda c: c.list_instances("orders", "nope", "order-00", headers=HEADERS), 404, "AliasNotFound", id="alias"
        ),
        pytest.param(lambda c: c.list_services(limit=101, headers=HEADERS), 400, "InvalidArgument", id="limit"),
    ],
)
def test_errors_raise_fc_error(server: EmulatorServer, call, status: int, code: str) -> None:
    with pytest.raises(fc2.FcError) as info:
        call(client(server))
    assert (info.value.status_code, info.value.err_code) == (status, code)
    assert len(info.value.request_id) == 36


def test_wrong_secret_raises_signature_not_match(server: EmulatorServer) -> None:
    with pytest.raises(fc2.FcError) as info:
        client(server, secret="not-the-secret").list_services(headers=HEADERS)
    assert (info.value.status_code, info.value.err_code) == (403, "SignatureNotMatch")
