"""FC3Client and FCClient extras against the emulator in-process: listing once (C5), GetFunction,
ListInstances filters and the FC 3.0 instance fields."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pipelines.emulator import ManualClock, World, create_app, default_scenario
from pipelines.fc.client import FC3Client, FCClient, RetryPolicy
from pipelines.fc.errors import FatalError
from pipelines.fc.signing import Credentials

AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
SCENARIO = default_scenario()
ACCT = SCENARIO.accounts[0].account_id
REGION = SCENARIO.accounts[0].regions[0]
KEY = SCENARIO.accounts[0].access_keys[0]
WORLD = World(SCENARIO)
ENDPOINT = f"http://{ACCT}.{REGION}.fc.aliyuncs.com"


def _run(call: Callable[[Any], Awaitable[Any]], version: str = "3") -> Any:
    app = create_app(WORLD, ManualClock(AT))

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as http:
            common = {
                "account_id": ACCT,
                "region": REGION,
                "credentials": lambda: Credentials(KEY.access_key_id, KEY.access_key_secret),
                "endpoint": ENDPOINT,
                "retry": RetryPolicy(attempts=1),
            }
            client = FC3Client(http, **common) if version == "3" else FCClient(http, **common)  # type: ignore[arg-type]
            return await call(client)

    return asyncio.run(go())


V3_NAMES = sorted(f.name for f in SCENARIO.functions_v3)
V2_COUNT = sum(len(s.functions) for s in SCENARIO.services)


@pytest.mark.parametrize(
    ("fc_version", "expected"),
    [("v3", len(V3_NAMES)), (None, len(V3_NAMES) + V2_COUNT)],
    ids=["v3-only", "both"],
)
def test_list_functions_lists_each_function_once(fc_version: str | None, expected: int) -> None:
    specs = _run(lambda c: c.list_functions(fc_version=fc_version))
    names = [f.name for f in specs]
    assert len(names) == len(set(names)) == expected
    if fc_version == "v3":
        assert sorted(names) == V3_NAMES


def test_get_function_both_versions() -> None:
    v3 = next(f for f in SCENARIO.functions_v3 if f.gpu_memory_mb)
    spec = _run(lambda c: c.get_function(v3.name))
    assert (spec.name, spec.memory_mb, spec.cpu, spec.gpu_memory_mb) == (
        v3.name,
        v3.memory_mb,
        v3.cpu,
        v3.gpu_memory_mb,
    )
    service = SCENARIO.services[0]
    fn = service.functions[0]
    spec2 = _run(lambda c: c.get_function(service.name, fn.name), version="2")
    assert (spec2.name, spec2.memory_mb, spec2.disk_mb) == (fn.name, fn.memory_mb, fn.disk_mb)
    with pytest.raises(FatalError) as err:
        _run(lambda c: c.get_function("no-such-function"))
    assert (err.value.code, err.value.http_status) == ("FunctionNotFound", 404)


def _busiest_alias_function() -> tuple[str, str]:
    for f in SCENARIO.functions_v3:
        for a in f.aliases:
            if a.provisioned:
                return f.name, a.name
    raise AssertionError("the default scenario has a provisioned FC 3.0 alias")


def test_list_instances_fields_and_filters() -> None:
    name, alias = _busiest_alias_function()
    truth = WORLD.instances(ACCT, REGION, None, name, alias, AT)
    answer = _run(lambda c: c.list_instances(name, qualifier=alias))
    assert [(i.instance_id, i.version_id) for i in answer.instances] == [(t.instance_id, t.version_id) for t in truth]
    assert {i.status for i in answer.instances} == {"Running"}
    assert "Provisioned" in {i.resource_type for i in answer.instances}
    assert all(i.created_at is not None and i.created_at <= AT for i in answer.instances)
    assert all(i.destroyed_at is None for i in answer.instances)

    ids = [t.instance_id for t in truth][:1]
    picked = _run(lambda c: c.list_instances(name, qualifier=alias, instance_ids=ids))
    assert [i.instance_id for i in picked.instances] == ids
    running = _run(lambda c: c.list_instances(name, qualifier=alias, instance_status=["Running"]))
    assert len(running.instances) == len(truth)
    newest = max(i.created_at for i in answer.instances)
    since = _run(lambda c: c.list_instances(name, qualifier=alias, start_time_ms=int(newest.timestamp() * 1000)))
    assert {i.instance_id for i in since.instances} == {
        i.instance_id for i in answer.instances if i.created_at == newest
    }
    before = _run(
        lambda c: c.list_instances(
            name, qualifier=alias, end_time_ms=int((newest - timedelta(milliseconds=1)).timestamp() * 1000)
        )
    )
    assert all(i.created_at < newest for i in before.instances)


def test_with_all_active_spans_latest_and_aliases() -> None:
    name, _ = _busiest_alias_function()
    fn = next(f for f in SCENARIO.functions_v3 if f.name == name)
    expected = sum(
        len(WORLD.instances(ACCT, REGION, None, name, q, AT)) for q in ["LATEST", *(a.name for a in fn.aliases)]
    )
    everything = _run(lambda c: c.list_instances(name, with_all_active=True))
    assert len(everything.instances) == expected
