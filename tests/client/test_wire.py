"""What goes on the wire over aiohttp (the production session): the query bytes sent decode to the
pairs signed (case C1), for both schemes, verified by the emulator on a real socket."""

import asyncio
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.emulator import (
    AccessKey,
    AccountSpec,
    EmulatorServer,
    FunctionScenario,
    ManualClock,
    Scenario,
    ServiceSpec,
    World,
    create_app,
)
from pipelines.fc.client import FCClient, RetryPolicy
from pipelines.fc.errors import AuthError
from pipelines.fc.signing import Credentials, wire_query

ACCT, REGION = "1234567890", "cn-hangzhou"
AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
# Reserved, percent, plus, space, non-ASCII: each would change the signature if sent differently.
AWKWARD_IDS = ["a b", "x+y/z=", "100%", "é~", "k&v=w", ""]

keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", min_size=1, max_size=12)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(st.lists(st.tuples(keys, values), max_size=6))
def test_the_wire_query_decodes_to_exactly_the_pairs_given(pairs: list[tuple[str, str]]) -> None:
    assert parse_qsl(wire_query(pairs), keep_blank_values=True) == pairs


def _scenario() -> Scenario:
    return Scenario(
        seed=5,
        accounts=[AccountSpec(ACCT, [REGION], [AccessKey("ak-wire", "sk-wire")])],
        services=[ServiceSpec(ACCT, REGION, "svc", functions=[FunctionScenario("fn")])],
    )


def _list(url: str, scheme: str, secret: str) -> int:
    async def go() -> int:
        async with aiohttp.ClientSession() as http:
            client = FCClient(
                http,
                account_id=ACCT,
                region=REGION,
                credentials=lambda: Credentials("ak-wire", secret),
                endpoint=url,
                scheme=scheme,  # type: ignore[arg-type]
                retry=RetryPolicy(attempts=1),
            )
            answer = await client.list_instances("svc", "fn", qualifier="LATEST", instance_ids=AWKWARD_IDS, limit=7)
            return answer.http_status

    return asyncio.run(go())


@pytest.mark.parametrize("scheme", ["acs3", "fc"])
def test_awkward_query_values_verify_over_aiohttp_and_a_wrong_secret_does_not(scheme: str) -> None:
    with EmulatorServer(create_app(World(_scenario()), ManualClock(AT))) as server:
        assert _list(server.url, scheme, "sk-wire") == 200
        with pytest.raises(AuthError):
            _list(server.url, scheme, "not-the-secret")
