"""Our FCClient and poller against the emulator in-process: paging, both schemes, recorded failures."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from pipelines.collect import PollTarget, Session, discover, plan_polls, poll_all
from pipelines.config import parse_targets
from pipelines.emulator import (
    AccessKey,
    AccountSpec,
    AliasSpec,
    FunctionScenario,
    LoadModel,
    ManualClock,
    Scenario,
    ServiceSpec,
    World,
    create_app,
)
from pipelines.fc.client import LIST_PAGE_SIZE, FCClient, RetryPolicy
from pipelines.fc.errors import AuthError, FatalError
from pipelines.fc.signing import Credentials

ACCT, REGION = "1234567890", "cn-hangzhou"
ENDPOINT = f"http://{ACCT}.{REGION}.fc.aliyuncs.com"
AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
KEY = AccessKey("ak-test", "sk-test")
BUSY = LoadModel(peak=4, base=4, noise=0.0, scale_to_zero=False)


def _scenario(services: int = 1, functions: int = 1, aliases: int = 0) -> Scenario:
    return Scenario(
        seed=3,
        accounts=[AccountSpec(ACCT, [REGION], [KEY])],
        services=[
            ServiceSpec(
                ACCT,
                REGION,
                f"s{s:04d}",
                functions=[FunctionScenario(f"f{f:04d}", load=BUSY) for f in range(functions)],
                aliases=[AliasSpec(f"a{a:04d}", "1") for a in range(aliases)],
                versions=["1"] if aliases else [],
            )
            for s in range(services)
        ],
    )


def _run(app: ASGIApp, call: Callable[[FCClient], Awaitable[Any]], *, scheme: str = "acs3", secret: str = "sk-test"):
    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as http:
            client = FCClient(
                http,
                account_id=ACCT,
                region=REGION,
                credentials=lambda: Credentials("ak-test", secret),
                endpoint=ENDPOINT,
                scheme=scheme,  # type: ignore[arg-type]
                retry=RetryPolicy(attempts=2, base_s=0.01, max_backoff_s=0.02),
            )
            return await call(client)

    return asyncio.run(go())


SIZES = [0, 1, LIST_PAGE_SIZE - 1, LIST_PAGE_SIZE, LIST_PAGE_SIZE + 1, 3 * LIST_PAGE_SIZE]


@pytest.mark.parametrize("n", SIZES, ids=[f"services-{n}" for n in SIZES])
def test_list_services_pages_every_size(n: int) -> None:
    app = create_app(World(_scenario(services=n)), ManualClock(AT))
    names = [s.name for s in _run(app, lambda c: c.list_services())]
    assert names == [f"s{i:04d}" for i in range(n)]


@pytest.mark.parametrize("n", SIZES, ids=[f"functions-{n}" for n in SIZES])
def test_list_functions_pages_every_size(n: int) -> None:
    app = create_app(World(_scenario(functions=n)), ManualClock(AT))
    specs = _run(app, lambda c: c.list_functions("s0000"))
    assert [f.name for f in specs] == [f"f{i:04d}" for i in range(n)]
    assert all((f.memory_mb, f.cpu, f.runtime) == (512, 0.35, "python3.10") for f in specs)


@pytest.mark.parametrize("n", [0, 1, LIST_PAGE_SIZE + 1], ids=lambda n: f"aliases-{n}")
def test_list_aliases_pages(n: int) -> None:
    app = create_app(World(_scenario(aliases=n)), ManualClock(AT))
    aliases = _run(app, lambda c: c.list_aliases("s0000"))
    assert [(a.name, a.version_id) for a in aliases] == [(f"a{i:04d}", "1") for i in range(n)]


@pytest.mark.parametrize("scheme", ["acs3", "fc"])
def test_list_instances_equals_truth_with_both_schemes(scheme: str) -> None:
    world = World(_scenario(functions=2, aliases=1))
    app = create_app(world, ManualClock(AT))
    answer = _run(app, lambda c: c.list_instances("s0000", "f0001", qualifier="a0000"), scheme=scheme)
    truth = world.instances(ACCT, REGION, "s0000", "f0001", "a0000", AT)
    assert [(i.instance_id, i.version_id) for i in answer.instances] == [(t.instance_id, t.version_id) for t in truth]
    assert len(truth) == 4 and {i.version_id for i in answer.instances} == {"1"}
    assert answer.request_id and answer.http_status == 200 and answer.attempts == 1


def test_instance_ids_filter_and_limit() -> None:
    world = World(_scenario())
    app = create_app(world, ManualClock(AT))
    truth = [t.instance_id for t in world.instances(ACCT, REGION, "s0000", "f0000", None, AT)]
    picked = _run(app, lambda c: c.list_instances("s0000", "f0000", instance_ids=truth[1:3]))
    assert [i.instance_id for i in picked.instances] == truth[1:3]
    limited = _run(app, lambda c: c.list_instances("s0000", "f0000", limit=1))
    assert [i.instance_id for i in limited.instances] == truth[:1]
    with pytest.raises(ValueError, match=r"0\.\.1000"):
        _run(app, lambda c: c.list_instances("s0000", "f0000", limit=1001))


def test_wrong_secret_is_a_fatal_auth_error_not_retried() -> None:
    app = create_app(World(_scenario()), ManualClock(AT))
    with pytest.raises(AuthError) as err:
        _run(app, lambda c: c.list_services(), secret="wrong")
    assert (err.value.code, err.value.http_status, err.value.attempts) == ("SignatureNotMatch", 403, 1)
    assert err.value.request_id


class _CorruptOne:
    """Answers one function's ListInstances with a broken body; everything else passes through."""

    def __init__(self, app: ASGIApp, function: str, body: bytes, status: int = 200) -> None:
        self.app, self.function, self.body, self.status = app, function, body, status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(f"/functions/{self.function}/instances"):
            await send(
                {"type": "http.response.start", "status": self.status, "headers": [(b"x-fc-request-id", b"r-bad")]}
            )
            await send({"type": "http.response.body", "body": self.body})
            return
        await self.app(scope, receive, send)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(b'{"instances": [', 200, "MalformedAnswer", id="truncated-json"),
        pytest.param(b"<html>oops</html>", 200, "MalformedAnswer", id="not-json"),
        pytest.param(json.dumps({"instances": [{"versionId": "0"}]}).encode(), 200, "MalformedAnswer", id="no-id"),
        pytest.param(json.dumps({"instances": "many"}).encode(), 200, "MalformedAnswer", id="wrong-type"),
        pytest.param(b'{"ErrorCode":"ResourceThrottled","ErrorMessage":"busy"}', 503, "ResourceThrottled", id="503"),
        pytest.param(b'{"Code":"AccessDenied","Message":"no","RequestId":"r"}', 403, "AccessDenied", id="fc3-body"),
    ],
)
def test_one_bad_answer_is_that_polls_failure_only(body: bytes, status: int, code: str) -> None:
    world = World(_scenario(functions=4))
    app = _CorruptOne(create_app(world, ManualClock(AT)), "f0002", body, status)
    targets = parse_targets({"targets": [{"account_id": ACCT, "regions": [REGION], "endpoint": ENDPOINT}]})

    async def go() -> list:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as http:
            client = FCClient(
                http,
                account_id=ACCT,
                region=REGION,
                credentials=lambda: Credentials("ak-test", "sk-test"),
                endpoint=ENDPOINT,
                retry=RetryPolicy(attempts=2, base_s=0.001, max_backoff_s=0.002),
            )
            key = (ACCT, REGION, "2021-04-06")
            session = Session({key: client}, {key: targets.targets[0]}, asyncio.Semaphore(4))
            inventory = await discover(session)
            return await poll_all(session, plan_polls(inventory.rows))

    outcomes = asyncio.run(go())
    assert [o.target.function_name for o in outcomes] == ["f0000", "f0001", "f0002", "f0003"]
    bad = outcomes[2]
    assert not bad.ok and bad.error is not None and bad.error.code == code
    if code == "AccessDenied":
        assert bad.error.message.endswith("(this identity needs RAM action fc:ListInstances)")
    assert bad.attempts == (2 if status == 503 else 1)  # only the retriable branch is retried
    for good in outcomes[:2] + outcomes[3:]:
        assert good.ok and len(good.instances) == 4


def test_unconfigured_target_is_recorded_not_raised() -> None:
    session = Session({}, {}, asyncio.Semaphore(1))
    [outcome] = asyncio.run(poll_all(session, [PollTarget("999", "cn-beijing", "s", "f", "LATEST")]))
    assert isinstance(outcome.error, FatalError) and outcome.error.code == "TargetNotConfigured"
