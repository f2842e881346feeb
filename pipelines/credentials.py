"""Credentials for FC calls: an explicit pair or the official chain, per-target RAM roles, refreshed ahead of expiry.

The base identity is the explicit AccessKey pair when one is configured, else the default chain
of ``alibabacloud-credentials`` (environment variables, ``~/.aliyun/config.json``, ECS RAM role,
OIDC, credentials URI). A target with ``role_arn`` reads its account with keys assumed from the
base identity through ``RamRoleArnCredentialsProvider`` at the configured STS endpoint.

Every provider here is a :class:`RefreshingProvider`: it caches the keys and fetches new ones
``min(5 min, lifetime / 4)`` before they expire, one fetch at a time however many polls ask.
The fetch is synchronous (the library's STS call), so a refresh blocks the event loop for one
STS round trip (bounded by the library's 5 s connect / 10 s read timeouts); polls that ask while
another thread refreshes keep using the still-valid keys. Nothing here logs or prints a secret.

The library reads its environment variables when ``alibabacloud_credentials`` is first imported
(``utils/auth_util.py``): set them before the process starts.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from alibabacloud_credentials.provider import DefaultCredentialsProvider, RamRoleArnCredentialsProvider
from alibabacloud_credentials.provider.refreshable import Credentials as LibraryCredentials
from alibabacloud_credentials_api import ICredentialsProvider

from pipelines.config import Target
from pipelines.fc.errors import AuthError
from pipelines.fc.signing import Credentials, CredentialsProvider
from pipelines.redaction import redact

__all__ = ["CredentialsConfigError", "Fetch", "ProviderSet", "RefreshingProvider", "RoleSpec", "refresh_margin_s"]

log = logging.getLogger(__name__)

Fetch = Callable[[], tuple[Credentials, float | None]]  # keys and their expiry (epoch seconds) if known
MAX_MARGIN_S = 300.0
# Keys from the chain carry no expiry (the library drops it); it caches and refreshes them itself,
# so asking it again this often is cheap and never serves keys it has already replaced for long.
RECHECK_S = 60.0
DEFAULT_SESSION_NAME = "fc-capacity"
_QUERY = re.compile(r"\?[^\s'\"]*")


class CredentialsConfigError(ValueError):
    """Credentials configured in a way that cannot work; the message names the fix."""


def refresh_margin_s(lifetime_s: float) -> float:
    """How long before expiry to refresh: a quarter of the lifetime, at most five minutes."""
    return min(MAX_MARGIN_S, max(lifetime_s, 0.0) / 4)


class RefreshingProvider:
    """A CredentialsProvider over ``fetch``: cached, refreshed ahead of expiry, single flight."""

    def __init__(
        self, fetch: Fetch, *, name: str, recheck_s: float = RECHECK_S, clock: Callable[[], float] = time.time
    ) -> None:
        """``recheck_s``: how long keys without a known expiry are kept before asking ``fetch`` again."""
        self._fetch = fetch
        self._recheck_s = recheck_s
        self._clock = clock
        self.name = name
        self.refreshes = 0
        self._lock = threading.Lock()
        self._keys: Credentials | None = None
        self._refresh_at = 0.0
        self._expires_at: float | None = None

    def __repr__(self) -> str:
        return f"RefreshingProvider({self.name!r}, refreshes={self.refreshes})"

    @property
    def current(self) -> Credentials | None:
        """The cached keys, without fetching (for masking)."""
        return self._keys

    @property
    def expires_at(self) -> float | None:
        return self._expires_at

    def _fresh(self, now: float) -> bool:
        return self._keys is not None and now < self._refresh_at

    def _usable(self, now: float) -> bool:
        return self._keys is not None and (self._expires_at is None or now < self._expires_at)

    def __call__(self) -> Credentials:
        now = self._clock()
        keys = self._keys
        if keys is not None and self._fresh(now):
            return keys
        # Another thread is already refreshing and the old keys still work: do not wait for it.
        if not self._lock.acquire(blocking=not self._usable(now)):
            assert keys is not None
            return keys
        try:
            now = self._clock()
            if not self._fresh(now):
                self._refresh(now)
            assert self._keys is not None
            return self._keys
        finally:
            self._lock.release()

    def _refresh(self, now: float) -> None:
        keys, expires_at = self._fetch()
        self.refreshes += 1
        # Without a known expiry, ask again after recheck_s; with one, a margin before it.
        refresh_at = now + self._recheck_s if expires_at is None else expires_at - refresh_margin_s(expires_at - now)
        self._keys, self._expires_at, self._refresh_at = keys, expires_at, refresh_at
        left = "no expiry" if expires_at is None else f"expire in {expires_at - now:.0f}s"
        log.info("credentials %s: fetched keys %s (%s)", self.name, keys.access_key_id, left)


def _from_library(provider: ICredentialsProvider, what: str) -> Fetch:
    def fetch() -> tuple[Credentials, float | None]:
        try:
            got = provider.get_credentials()
        except Exception as e:
            # The library's messages can carry a request URL whose query holds a signature or a
            # token: keep the exception type and the text with every query string cut away.
            text = redact(_QUERY.sub("?<query removed>", str(e)))
            raise AuthError("CredentialsUnavailable", f"{what}: {type(e).__name__}: {text}") from None
        if got is None or not got.get_access_key_id() or not got.get_access_key_secret():
            raise AuthError("CredentialsUnavailable", f"{what}: the provider returned no AccessKey")
        # Only refreshable providers (STS, ECS role, OIDC) report an expiry; ICredentials has none.
        expiration = got.get_expiration() if isinstance(got, LibraryCredentials) else None
        keys = Credentials(got.get_access_key_id(), got.get_access_key_secret(), got.get_security_token() or None)
        return keys, float(expiration) if expiration else None

    return fetch


class _AsLibraryProvider(ICredentialsProvider):
    """One of our providers as the library's base identity for a role assumption (role chains)."""

    def __init__(self, inner: RefreshingProvider) -> None:
        self._inner = inner

    def get_credentials(self) -> LibraryCredentials:
        keys = self._inner()
        return LibraryCredentials(
            access_key_id=keys.access_key_id,
            access_key_secret=keys.access_key_secret,
            security_token=keys.security_token or "",
            expiration=int(self._inner.expires_at or 0),
            provider_name=f"fccap/{self._inner.name}",
        )

    async def get_credentials_async(self) -> LibraryCredentials:
        return self.get_credentials()

    def get_provider_name(self) -> str:
        return "fccap"


@dataclass(frozen=True)
class RoleSpec:
    role_arn: str
    role_session_name: str = DEFAULT_SESSION_NAME
    external_id: str | None = None
    duration_seconds: int = 3600

    @classmethod
    def of(cls, target: Target) -> RoleSpec | None:
        if target.role_arn is None:
            return None
        return cls(
            target.role_arn,
            target.role_session_name or DEFAULT_SESSION_NAME,
            target.external_id,
            target.duration_seconds or 3600,
        )


class ProviderSet:
    """The base identity and one provider per role; ``for_target`` is what ``open_session`` wants."""

    def __init__(
        self,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
        *,
        sts_endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if bool(access_key_id) != bool(access_key_secret):
            raise CredentialsConfigError(
                "set both access_key_id and access_key_secret, or neither to use the credentials chain"
            )
        self._clock = clock
        self._sts_endpoint = sts_endpoint or None
        if access_key_id and access_key_secret:
            static = Credentials(access_key_id, access_key_secret, security_token or None)
            self.base = RefreshingProvider(lambda: (static, None), name="static", recheck_s=float("inf"), clock=clock)
        else:
            chain = DefaultCredentialsProvider()
            self.base = RefreshingProvider(_from_library(chain, "credentials chain"), name="chain", clock=clock)
        self._roles: dict[RoleSpec, RefreshingProvider] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ProviderSet(base={self.base!r}, roles={len(self._roles)})"

    def role(self, spec: RoleSpec) -> RefreshingProvider:
        with self._lock:
            found = self._roles.get(spec)
            if found is None:
                library = RamRoleArnCredentialsProvider(
                    credentials_provider=_AsLibraryProvider(self.base),
                    role_arn=spec.role_arn,
                    role_session_name=spec.role_session_name,
                    external_id=spec.external_id or "",
                    duration_seconds=spec.duration_seconds,
                    sts_endpoint=self._sts_endpoint or "",
                )
                fetch = _from_library(library, f"AssumeRole {spec.role_arn}")
                found = self._roles[spec] = RefreshingProvider(fetch, name=spec.role_arn, clock=self._clock)
            return found

    def for_target(self, target: Target) -> CredentialsProvider:
        spec = RoleSpec.of(target)
        return self.base if spec is None else self.role(spec)

    def secrets(self) -> tuple[str | None, ...]:
        """Every secret and token currently held, for masking."""
        held = [self.base, *self._roles.values()]
        return tuple(s for p in held if (k := p.current) for s in (k.access_key_secret, k.security_token) if s)
