"""Shared helpers for the emulator tests: tiny scenarios and a synchronous in-process client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette

from pipelines.emulator import AccessKey, AccountSpec, AliasSpec, FunctionScenario, LoadModel, Scenario, ServiceSpec
from pipelines.fc.signing import ACS3Auth, Credentials, FCAuth

ACCT = "1234567890"
REGION = "cn-hangzhou"
OTHER_ACCT = "5550001111"
HOST = f"{ACCT}.{REGION}.fc.aliyuncs.com"


def scenario(services: int = 2, functions: int = 3, aliases: int = 1, provisioned: int = 1, seed: int = 5) -> Scenario:
    """A small, fully known world; names sort the same way they are numbered."""
    busy = LoadModel(peak=6, base=3, noise=0.0)
    return Scenario(
        seed=seed,
        accounts=[
            AccountSpec(
                ACCT,
                [REGION, "cn-shanghai"],
                [AccessKey("ak-plain", "sk-plain"), AccessKey("ak-sts", "sk-sts", security_token="STS.tok-123")],
            ),
            AccountSpec(OTHER_ACCT, [REGION], [AccessKey("ak-other", "sk-other")]),
        ],
        services=[
            ServiceSpec(
                ACCT,
                REGION,
                f"svc-{s:03d}",
                functions=[
                    FunctionScenario(f"fn-{f:03d}", memory_mb=1024, cpu=1.0, load=busy) for f in range(functions)
                ],
                aliases=[AliasSpec(f"alias-{a:03d}", "1", provisioned=provisioned) for a in range(aliases)],
                versions=["1"] if aliases else [],
            )
            for s in range(services)
        ],
    )


def creds(ak: str = "ak-plain", sk: str = "sk-plain", token: str | None = None) -> Callable[[], Credentials]:
    return lambda: Credentials(ak, sk, token)


def fc_auth(**kw: Any) -> FCAuth:
    clock = kw.pop("clock", None)
    return FCAuth(creds(**kw), clock=clock) if clock else FCAuth(creds(**kw))


def acs3_auth(**kw: Any) -> ACS3Auth:
    clock = kw.pop("clock", None)
    extra = {"clock": clock} if clock else {}
    return ACS3Auth(creds(**kw), action=lambda r: "ListThings", version="2021-04-06", **extra)


class Api:
    """Synchronous calls into the ASGI app in-process (httpx's ASGI transport is async-only)."""

    def __init__(self, app: Starlette, base_url: str = f"http://{HOST}") -> None:
        self.app = app
        self.base_url = base_url

    def send(self, request: httpx.Request) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url=self.base_url) as c:
                return await c.send(request)

        return asyncio.run(go())

    def request(self, method: str, path: str, *, auth: httpx.Auth | None = None, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url=self.base_url) as c:
                return await c.request(method, path, auth=auth, **kw)

        return asyncio.run(go())

    def get(self, path: str, *, auth: httpx.Auth | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", path, auth=auth, **kw)

    def signed(self, path: str, auth: httpx.Auth, **kw: Any) -> httpx.Request:
        """Build and sign a request without sending it, so a test can tamper with it first."""
        request = httpx.Request("GET", self.base_url + path, **kw)
        return next(auth.auth_flow(request))
