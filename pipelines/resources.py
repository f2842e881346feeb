"""Dagster resources: FC access (targets, credentials, one client session per call) and the store.

Async work runs in ``asyncio.run`` inside the resource method, so the aiohttp session is created
in that event loop and closed with it: the one pattern that behaves the same under
``materialize()``, ``execute_in_process`` and the daemon (case C19).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

import dagster as dg
from pydantic import Field, PrivateAttr

from pipelines.collect import (
    Inventory,
    InventoryRow,
    PollOutcome,
    Session,
    discover,
    open_session,
    plan_polls,
    poll_all,
)
from pipelines.config import StoreSettings, TargetsFile, load_targets, store_settings, store_settings_from_env
from pipelines.credentials import ProviderSet
from pipelines.fc.client import RetryPolicy
from pipelines.fc.signing import Credentials
from pipelines.storage.store import ParquetStore

__all__ = ["FCResource", "StoreResource"]


class FCResource(dg.ConfigurableResource):
    """Reads FC through the targets file. Credentials: an explicit pair only via dg.EnvVar (never plain
    config), else the alibabacloud-credentials default chain; targets with role_arn assume that role."""

    targets_file: str = Field(default="targets.yaml", description="path of the targets YAML")
    access_key_id: str | None = Field(
        default=None, description="use dg.EnvVar('...'); unset: the alibabacloud-credentials default chain"
    )
    access_key_secret: str | None = Field(default=None, description="use dg.EnvVar('...'), with access_key_id")
    security_token_env: str = Field(
        default="ALIBABA_CLOUD_SECURITY_TOKEN",
        description="environment variable holding an optional STS token for the explicit pair",
    )
    sts_endpoint: str | None = Field(
        default=None,
        description="STS host[:port] for role_arn targets (the library's sts_endpoint); default sts.aliyuncs.com",
    )
    ca_bundle: str | None = Field(
        default=None, description="PEM file of extra CAs trusted for FC endpoints; verification is always on"
    )
    concurrency: int = Field(default=64, ge=1, le=1024, description="polls in flight at once (and pool size)")
    timeout_s: float = Field(default=10.0, gt=0, description="per-request timeout")
    retry_attempts: int = Field(default=4, ge=1, le=20)
    poll_deadline_s: float = Field(default=30.0, gt=0, description="give up on one call after this long")

    _providers: ProviderSet | None = PrivateAttr(default=None)

    def targets(self) -> TargetsFile:
        return load_targets(self.targets_file)

    def providers(self) -> ProviderSet:
        """The base identity and role providers, kept for the resource's life so keys are reused."""
        if self._providers is None:
            token = (dg.EnvVar(self.security_token_env).get_value(None) or None) if self.access_key_id else None
            self._providers = ProviderSet(
                self.access_key_id, self.access_key_secret, token, sts_endpoint=self.sts_endpoint
            )
        return self._providers

    def credentials(self) -> Credentials:
        """The base identity's keys (fetched from the chain if needed)."""
        return self.providers().base()

    def secrets(self) -> tuple[str | None, ...]:
        """Values that must be masked anywhere they might appear."""
        token = dg.EnvVar(self.security_token_env).get_value(None) or None
        return (self.access_key_secret, token, *self.providers().secrets())

    def _retry(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retry_attempts, deadline_s=self.poll_deadline_s)

    def _session(self, targets: TargetsFile) -> AbstractAsyncContextManager[Session]:
        return open_session(
            targets,
            provider_for=self.providers().for_target,
            concurrency=self.concurrency,
            timeout_s=self.timeout_s,
            retry=self._retry(),
            ca_bundle=self.ca_bundle,
        )

    def discover(self) -> Inventory:
        targets = self.targets()

        async def run() -> Inventory:
            async with self._session(targets) as session:
                return await discover(session)

        return asyncio.run(run())

    def poll(self, rows: Sequence[InventoryRow]) -> list[PollOutcome]:
        targets = self.targets()

        async def run() -> list[PollOutcome]:
            async with self._session(targets) as session:
                return await poll_all(session, plan_polls(rows))

        return asyncio.run(run())


class StoreResource(dg.ConfigurableResource):
    """Where the Parquet tables live: a directory, or s3://bucket/prefix on S3 or Alibaba OSS. Object-store
    settings left unset here come from FCCAP_STORE_ENDPOINT_URL / _ADDRESSING_STYLE / _REGION; credentials
    only from the botocore chain (never config)."""

    root: str = Field(default="data/store", description="store root: a directory or s3://bucket/prefix")
    endpoint_url: str | None = Field(
        default=None, description="S3 API base URL, e.g. https://s3.oss-cn-hangzhou.aliyuncs.com (s3:// roots)"
    )
    addressing_style: str | None = Field(
        default=None, description="virtual (OSS; the default) | path | auto (s3:// roots)"
    )
    region: str | None = Field(default=None, description="signing region, e.g. cn-hangzhou (s3:// roots)")

    def settings(self) -> StoreSettings:
        """Fields given here win over the FCCAP_STORE_* environment variables (read at run time)."""
        env = store_settings_from_env()
        given = {"endpoint_url": self.endpoint_url, "addressing_style": self.addressing_style, "region": self.region}
        merged = {k: v if v is not None else getattr(env, k) for k, v in given.items()}
        return store_settings("store", **merged)

    def store(self) -> ParquetStore:
        return ParquetStore(self.root, self.settings() if "://" in self.root else None)
