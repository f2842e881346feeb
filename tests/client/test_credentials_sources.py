"""Every credential source against the emulator: static pair, env chain, profile file, RAM role via STS
over HTTPS (trustme CA), a role chain into a second account, refresh ahead of a short lifetime (C2),
an expired token, and TLS verification of our own client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
import yaml
from Tea.core import TeaCore

from pipelines.collect import Inventory, PollOutcome, discover, open_session, plan_polls, poll_all
from pipelines.config import TargetsFile, parse_targets
from pipelines.credentials import ProviderSet, RoleSpec
from pipelines.emulator import (
    EmulatorServer,
    ManualClock,
    StsIssuer,
    World,
    create_app,
    default_scenario,
    parse_scenario,
    scenario_to_dict,
)
from pipelines.fc.client import RetryPolicy
from pipelines.fc.errors import AuthError
from pipelines.fc.signing import Credentials, CredentialsProvider
from pipelines.resources import FCResource

T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
A, B = "1234567890", "2222222222"
AK_A, SK_A = "fccap-emulator-ak", "fccap-emulator-secret"
AK_B, SK_B = "account-b-ak", "account-b-secret-never-print"
ROOT = Path(__file__).resolve().parents[2]
POLICY = RetryPolicy(attempts=1, deadline_s=10)


def _two_accounts() -> World:
    """The default scenario for account A, and a copy of its services under account B."""
    data = scenario_to_dict(default_scenario())
    data["accounts"].append(
        {
            "account_id": B,
            "regions": ["cn-hangzhou"],
            "access_keys": [{"access_key_id": AK_B, "access_key_secret": SK_B}],
        }
    )
    data["services"] += [{**s, "account_id": B} for s in data["services"][:1]]
    data["functions_v3"] = []
    return World(parse_scenario(data))


@dataclass
class Tls:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    root = tmp_path_factory.mktemp("tls")
    tls = Tls(root / "ca.pem", root / "cert.pem", root / "key.pem")
    ca.cert_pem.write_to_path(str(tls.ca_pem))
    cert.cert_chain_pems[0].write_to_path(str(tls.cert_pem))
    cert.private_key_pem.write_to_path(str(tls.key_pem))
    return tls


@dataclass
class Https:
    url: str
    host: str  # host:port, the STS endpoint as the credentials library wants it
    world: World
    sts: StsIssuer


@contextmanager
def _https(tls: Tls, max_lifetime_s: int) -> Iterator[Https]:
    world = _two_accounts()
    sts = StsIssuer(world, max_lifetime_s=max_lifetime_s)
    app = create_app(world, ManualClock(T0), sts=sts)
    with EmulatorServer(app, ssl_certfile=str(tls.cert_pem), ssl_keyfile=str(tls.key_pem)) as server:
        try:
            yield Https(server.url, server.url.removeprefix("https://"), world, sts)
        finally:
            # The library keeps one requests.Session per STS host with a keep-alive connection that
            # uvicorn would wait on at shutdown; this server is gone after the test, so close them.
            for session in TeaCore._sessions.values():  # pyright: ignore[reportPrivateUsage]
                session.close()
            TeaCore._sessions.clear()  # pyright: ignore[reportPrivateUsage]


@pytest.fixture
def https(tls: Tls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Https]:
    # The credentials library trusts the system store (+ certifi); SSL_CERT_FILE is how a private CA gets in.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_pem))
    with _https(tls, max_lifetime_s=3600) as server:
        yield server


def _targets(*targets: dict[str, object]) -> TargetsFile:
    # The default 50 requests/s would make these tests about the rate limit; it has its own tests.
    return parse_targets({"targets": [{"rate_limit": 5000, **t} for t in targets]})


async def _collect(targets: TargetsFile, provider_for: object, ca_bundle: str | None) -> list[PollOutcome]:
    async with open_session(targets, provider_for=provider_for, retry=POLICY, ca_bundle=ca_bundle) as session:  # type: ignore[arg-type]
        inventory = await discover(session)
        assert inventory.failures == []
        return await poll_all(session, plan_polls(inventory.rows))


def test_static_pair_over_https_with_ca_bundle(https: Https, tls: Tls, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")  # only ca_bundle may make our client trust the test CA
    providers = ProviderSet(AK_A, SK_A)
    targets = _targets({"account_id": A, "regions": ["cn-hangzhou"], "endpoint": https.url})
    outcomes = asyncio.run(_collect(targets, providers.for_target, str(tls.ca_pem)))
    services = https.world.services(A, "cn-hangzhou")
    expected = sum(len(s.functions) * (1 + len(s.aliases)) for s in services)
    assert len(outcomes) == expected > 0
    assert all(o.ok for o in outcomes)
    assert https.sts.assume_role_calls == 0 and providers.base.refreshes == 1


def test_without_the_ca_our_client_records_tls_verification_failed(
    https: Https, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    targets = _targets({"account_id": A, "regions": ["cn-hangzhou"], "endpoint": https.url})

    async def run() -> Inventory:
        async with open_session(targets, lambda: Credentials(AK_A, SK_A), retry=RetryPolicy(attempts=3)) as session:
            return await discover(session)

    [failure] = asyncio.run(run()).failures
    assert failure.error.code == "TLSVerificationFailed"
    assert failure.error.attempts == 1  # not retried: the certificate will not change
    assert "not trusted" in failure.error.message and "ca_bundle" in failure.error.message
    assert https.url in failure.error.message


def test_role_arn_assumed_through_sts_over_https_via_the_resource(https: Https, tls: Tls, tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    role = f"acs:ram::{A}:role/fccap-reader"
    target = {
        "account_id": A,
        "regions": ["cn-hangzhou"],
        "endpoint": https.url,
        "rate_limit": 5000,
        "role_arn": role,
        "role_session_name": "fccap-test",
        "external_id": "ext-42",
        "duration_seconds": 1800,
    }
    targets.write_text(yaml.safe_dump({"targets": [target]}), encoding="utf-8")
    fc = FCResource(
        targets_file=str(targets),
        access_key_id=AK_A,
        access_key_secret=SK_A,
        sts_endpoint=https.host,
        ca_bundle=str(tls.ca_pem),
    )
    inventory = fc.discover()
    outcomes = fc.poll(inventory.rows)
    assert inventory.failures == [] and len(outcomes) > 0 and all(o.ok for o in outcomes)
    [call] = https.sts.calls  # discover and poll share the resource's cached role keys
    assert (call.caller_access_key_id, call.role_arn, call.role_session_name) == (AK_A, role, "fccap-test")
    assert (call.external_id, call.duration_s, call.lifetime_s) == ("ext-42", 1800, 1800)
    held = fc.providers().role(RoleSpec(role, "fccap-test", "ext-42", 1800)).current
    assert held is not None and held.access_key_id.startswith("STS.") and held.security_token
    assert held.access_key_secret in fc.secrets() and held.security_token in fc.secrets()
    assert held.access_key_secret not in repr(fc.providers()) + repr(held)


def test_role_chain_into_a_second_account(https: Https, tls: Tls) -> None:
    # Base identity: a role session in account A (an STS key with a token); from it, a role in account B.
    start = ProviderSet(AK_A, SK_A, sts_endpoint=https.host)
    base = start.role(RoleSpec(f"acs:ram::{A}:role/hub"))()
    providers = ProviderSet(base.access_key_id, base.access_key_secret, base.security_token, sts_endpoint=https.host)
    targets = _targets(
        {"account_id": A, "regions": ["cn-hangzhou"], "endpoint": https.url},
        {"account_id": B, "regions": ["cn-hangzhou"], "endpoint": https.url, "role_arn": f"acs:ram::{B}:role/reader"},
    )
    outcomes = asyncio.run(_collect(targets, providers.for_target, str(tls.ca_pem)))
    by_account = {acc: [o for o in outcomes if o.target.account_id == acc] for acc in (A, B)}
    assert by_account[A] and by_account[B] and all(o.ok for o in outcomes)
    assert [c.role_arn for c in https.sts.calls] == [f"acs:ram::{A}:role/hub", f"acs:ram::{B}:role/reader"]
    assert https.sts.calls[1].caller_access_key_id == base.access_key_id  # signed with the session key + token
    # Account B's keys only read B: the emulator maps the issued key to the role's account.
    b_keys = providers.for_target(targets.targets[1])()
    issued = https.sts.lookup(b_keys.access_key_id)
    assert https.world.access_key(b_keys.access_key_id) is None and issued is not None and issued[0] == B


def test_short_lifetime_refreshed_ahead_once_per_refresh_not_per_poll(
    tls: Tls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C2: a 3 s token, a run of 5 s with many polls in flight: every poll ok, one AssumeRole per refresh."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_pem))
    with _https(tls, max_lifetime_s=3) as server:
        providers = ProviderSet(AK_A, SK_A, sts_endpoint=server.host)
        targets = _targets(
            {"account_id": A, "regions": ["cn-hangzhou"], "endpoint": server.url, "role_arn": f"acs:ram::{A}:role/r"}
        )

        async def run() -> list[PollOutcome]:
            async with open_session(
                targets, provider_for=providers.for_target, retry=POLICY, ca_bundle=str(tls.ca_pem)
            ) as session:
                plan = plan_polls((await discover(session)).rows)
                outcomes: list[PollOutcome] = []
                started = time.monotonic()
                while time.monotonic() - started < 5.0:
                    outcomes += await poll_all(session, plan * 4)
                    await asyncio.sleep(0.05)
                return outcomes

        outcomes = asyncio.run(run())
        role = providers.for_target(targets.targets[0])
        assert all(o.ok for o in outcomes), {o.error.code for o in outcomes if o.error}
        refreshes = role.refreshes  # type: ignore[attr-defined]
        # Expiration has whole seconds, so the lifetime seen is in (2, 3] s and a refresh comes every
        # 3/4 of it, (1.5, 2.25] s: in 5 s that is 3 or 4 fetches, each exactly one AssumeRole.
        assert server.sts.assume_role_calls == refreshes
        assert 3 <= refreshes <= 4
        assert len(outcomes) >= 20 * refreshes


def test_expired_token_gets_403_and_is_recorded(tls: Tls, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_pem))
    with _https(tls, max_lifetime_s=1) as server:
        role = ProviderSet(AK_A, SK_A, sts_endpoint=server.host).role(RoleSpec(f"acs:ram::{A}:role/r"))
        stale = role()
        assert role.expires_at is not None
        time.sleep(max(0.0, role.expires_at - time.time()) + 0.05)
        targets = _targets({"account_id": A, "regions": ["cn-hangzhou"], "endpoint": server.url})
        frozen: CredentialsProvider = lambda: stale  # noqa: E731  (a provider that never refreshes)

        async def run() -> Inventory:
            async with open_session(
                targets, frozen, retry=RetryPolicy(attempts=3), ca_bundle=str(tls.ca_pem)
            ) as session:
                return await discover(session)

        [failure] = asyncio.run(run()).failures
        assert isinstance(failure.error, AuthError)
        assert (failure.error.code, failure.error.http_status, failure.error.attempts) == (
            "InvalidSecurityToken.Expired",
            403,
            1,
        )


def test_sts_without_the_ca_fails_clearly_and_leaks_nothing(tls: Tls, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with _https(tls, max_lifetime_s=3600) as server:
        role = ProviderSet(AK_A, SK_A, sts_endpoint=server.host).role(RoleSpec(f"acs:ram::{A}:role/r"))
        with pytest.raises(AuthError) as raised:
            role()
        assert raised.value.code == "CredentialsUnavailable"
        assert "CERTIFICATE_VERIFY_FAILED" in raised.value.message
        assert "Signature=" not in raised.value.message and SK_A not in raised.value.message
        assert server.sts.assume_role_calls == 0


# --- the default chain, in a subprocess: the library reads its environment at import time -------


def _child(tmp_path: Path, url: str, extra_env: dict[str, str]) -> dict[str, object]:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        yaml.safe_dump(
            {"targets": [{"account_id": A, "regions": ["cn-hangzhou"], "endpoint": url, "rate_limit": 5000}]}
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD_")}
    env.update(
        {
            "HOME": str(tmp_path),  # no real ~/.aliyun/config.json
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",  # no 100.100.100.200 probe
            "PYTHONPATH": str(ROOT),
            **extra_env,
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.client.chain_child", str(targets)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def plain_url() -> Iterator[str]:
    with EmulatorServer(create_app(_two_accounts(), ManualClock(T0))) as server:
        yield server.url


def test_chain_reads_environment_variables(tmp_path: Path, plain_url: str) -> None:
    got = _child(tmp_path, plain_url, {"ALIBABA_CLOUD_ACCESS_KEY_ID": AK_A, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SK_A})
    assert got["access_key_id"] == AK_A and got["failed"] == 0 and int(got["ok"]) > 0  # type: ignore[arg-type]


def test_chain_reads_the_aliyun_cli_profile_file(tmp_path: Path, plain_url: str) -> None:
    profile = {
        "current": "reader",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "wrong", "access_key_secret": "wrong"},
            {"name": "reader", "mode": "AK", "access_key_id": AK_A, "access_key_secret": SK_A},
        ],
    }
    (tmp_path / ".aliyun").mkdir()
    (tmp_path / ".aliyun" / "config.json").write_text(json.dumps(profile), encoding="utf-8")
    got = _child(tmp_path, plain_url, {})
    assert got["access_key_id"] == AK_A and got["failed"] == 0 and int(got["ok"]) > 0  # type: ignore[arg-type]


def test_chain_with_nothing_configured_is_a_recorded_failure(tmp_path: Path, plain_url: str) -> None:
    got = _child(tmp_path, plain_url, {})
    assert got["ok"] == 0 and got["codes"] == ["CredentialsUnavailable"]
