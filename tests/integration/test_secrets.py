"""Secrets never leave memory (C20): not in logs, events, metadata, errors or Parquet."""

import logging
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from assets.inventory import fc_inventory
from assets.snapshots import fc_instance_snapshots
from pipelines.emulator import AccessKey, AccountSpec, EmulatorServer, ManualClock, Scenario, World, create_app
from pipelines.emulator import default_scenario as base_scenario
from pipelines.resources import FCResource, StoreResource
from pipelines.sqlrun import REPORTS, run_report
from tests.integration.conftest import write_targets

AK = "fccap-test-ak-7f3a"
SECRET = "SEKRET-never-print-9b1e"
TOKEN = "STS.TOKEN-never-print-c4d2"
WRONG = "WRONG-SEKRET-also-private-5a0f"
AT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ASSETS = [fc_inventory, fc_instance_snapshots]


def _everything(result: dg.ExecuteInProcessResult, store: Path, caplog: pytest.LogCaptureFixture) -> str:
    parts = [caplog.text]
    for event in result.all_events:
        parts.append(repr(event))
    for record in result.dagster_run.tags.items():
        parts.append(repr(record))
    for path in store.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode("latin-1"))
    for name in REPORTS:
        parts.append(run_report(store, name, {}).to_csv())
    return "\n".join(parts)


def _assert_clean(text: str) -> None:
    for needle in (SECRET, TOKEN, WRONG, "Signature=", "ACS3-HMAC-SHA256 Credential", f"FC {AK}:"):
        assert needle not in text, f"{needle!r} leaked"


def test_no_secret_token_or_signature_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN)
    base = base_scenario()
    account = base.accounts[0]
    scenario = Scenario(
        seed=base.seed,
        accounts=[AccountSpec(account.account_id, account.regions, [AccessKey(AK, SECRET, security_token=TOKEN)])],
        services=base.services[:1],
    )
    with EmulatorServer(create_app(World(scenario), ManualClock(AT))) as server:
        targets = write_targets(tmp_path / "t.yaml", account.account_id, account.regions[0], server.url)
        store = tmp_path / "store"

        def resources(secret: str) -> dict[str, object]:
            fc = FCResource(targets_file=str(targets), access_key_id=AK, access_key_secret=secret)
            return {"fc": fc, "store": StoreResource(root=str(store))}

        run_config = {"ops": {"fc_instance_snapshots": {"config": {"tick_at": AT.isoformat(), "max_lag_s": None}}}}
        good = dg.materialize(ASSETS, resources=resources(SECRET), run_config=run_config)
        assert good.success
        ok_meta = good.asset_materializations_for_node("fc_instance_snapshots")[0].metadata
        assert ok_meta["failed"].value == 0 and ok_meta["ok"].value > 0
        _assert_clean(_everything(good, store, caplog))

        # A wrong secret: every poll fails and is recorded; the failure text is still clean.
        bad_config = {
            "ops": {"fc_instance_snapshots": {"config": {"tick_at": "2026-12-01T14:01:00+00:00", "max_lag_s": None}}}
        }
        bad = dg.materialize(
            ASSETS,
            selection=[fc_instance_snapshots],
            resources=resources(WRONG),
            run_config=bad_config,
            raise_on_error=False,
        )
        assert not bad.success
        failure = next(e for e in bad.all_events if e.is_step_failure)
        assert "(0.0%)" in failure.step_failure_data.error.message
        assert "SignatureNotMatch" in failure.step_failure_data.error.message
        assert "fix: check the AccessKey pair" in failure.step_failure_data.error.message
        _assert_clean(_everything(bad, store, caplog))


def test_credentials_repr_hides_secret_and_token() -> None:
    from pipelines.fc.signing import Credentials

    text = repr(Credentials(AK, SECRET, TOKEN))
    assert AK in text
    assert SECRET not in text and TOKEN not in text
