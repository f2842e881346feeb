"""Dagster resources: FC access (targets, credentials, one client session per call) and the store.

Async work runs in ``asyncio.run`` inside the resource method, so the httpx client is created
in that event loop and closed with it: the one pattern that behaves the same under
``materialize()``, ``execute_in_process`` and the daemon (case C19).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import dagster as dg
from pydantic import Field

from pipelines.collect import Inventory, InventoryRow, PollOutcome, discover, open_session, plan_polls, poll_all
from pipelines.config import TargetsFile, load_targets
from pipelines.fc.client import RetryPolicy
from pipelines.fc.signing import Credentials
from pipelines.storage.store import ParquetStore

__all__ = ["FCResource", "StoreResource"]


class FCResource(dg.ConfigurableResource):
    """Reads FC through the targets file; credentials only via dg.EnvVar (never plain config)."""

    targets_file: str = Field(default="targets.yaml", description="path of the targets YAML")
    access_key_id: str = Field(description="use dg.EnvVar('ALIBABA_CLOUD_ACCESS_KEY_ID')")
    access_key_secret: str = Field(description="use dg.EnvVar('ALIBABA_CLOUD_ACCESS_KEY_SECRET')")
    security_token_env: str = Field(
        default="ALIBABA_CLOUD_SECURITY_TOKEN", description="environment variable holding an optional STS token"
    )
    concurrency: int = Field(default=64, ge=1, le=1024, description="polls in flight at once (and pool size)")
    timeout_s: float = Field(default=10.0, gt=0, description="per-request timeout")
    retry_attempts: int = Field(default=4, ge=1, le=20)
    poll_deadline_s: float = Field(default=30.0, gt=0, description="give up on one call after this long")

    def targets(self) -> TargetsFile:
        return load_targets(self.targets_file)

    def credentials(self) -> Credentials:
        token = dg.EnvVar(self.security_token_env).get_value(None) or None
        return Credentials(self.access_key_id, self.access_key_secret, token)

    def secrets(self) -> tuple[str | None, ...]:
        """Values that must be masked anywhere they might appear."""
        creds = self.credentials()
        return (creds.access_key_secret, creds.security_token)

    def _retry(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retry_attempts, deadline_s=self.poll_deadline_s)

    def discover(self) -> Inventory:
        targets = self.targets()
        creds = self.credentials()

        async def run() -> Inventory:
            async with open_session(
                targets, lambda: creds, concurrency=self.concurrency, timeout_s=self.timeout_s, retry=self._retry()
            ) as session:
                return await discover(session)

        return asyncio.run(run())

    def poll(self, rows: Sequence[InventoryRow]) -> list[PollOutcome]:
        targets = self.targets()
        creds = self.credentials()

        async def run() -> list[PollOutcome]:
            async with open_session(
                targets, lambda: creds, concurrency=self.concurrency, timeout_s=self.timeout_s, retry=self._retry()
            ) as session:
                return await poll_all(session, plan_polls(rows))

        return asyncio.run(run())


class StoreResource(dg.ConfigurableResource):
    """Where the Parquet tables live."""

    root: str = Field(default="data/store", description="store root directory")

    def store(self) -> ParquetStore:
        return ParquetStore(self.root)
