"""RefreshingProvider: refresh ahead of expiry by min(5 min, lifetime/4), one fetch however many callers."""

import threading
import time

import pytest

from pipelines.credentials import CredentialsConfigError, ProviderSet, RefreshingProvider, refresh_margin_s
from pipelines.fc.signing import Credentials


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _sts(lifetime_s: float, clock: Clock, fetched: list[float]):
    def fetch() -> tuple[Credentials, float | None]:
        fetched.append(clock.now)
        n = len(fetched)
        return Credentials(f"STS.{n}", f"secret-{n}", f"token-{n}"), clock.now + lifetime_s

    return fetch


@pytest.mark.parametrize(
    ("lifetime", "margin"), [(3600, 300), (1200, 300), (900, 225), (8, 2)], ids=["1h", "20min", "15min", "8s"]
)
def test_margin_is_a_quarter_of_the_lifetime_at_most_five_minutes(lifetime: float, margin: float) -> None:
    assert refresh_margin_s(lifetime) == margin


def test_refreshes_once_the_margin_before_expiry_and_not_before() -> None:
    clock, fetched = Clock(), []
    provider = RefreshingProvider(_sts(3600, clock, fetched), name="role", clock=clock)
    assert provider().access_key_id == "STS.1"
    clock.now += 3600 - 300 - 0.001
    assert [provider().access_key_id for _ in range(100)] == ["STS.1"] * 100
    clock.now += 0.002  # inside the 5 min margin, 300 s before the old keys expire
    assert provider().access_key_id == "STS.2" and provider().access_key_id == "STS.2"
    assert fetched == [1_000.0, 1_000.0 + 3300.001] and provider.refreshes == 2


def test_many_threads_at_refresh_time_cause_one_fetch() -> None:
    clock, fetched = Clock(), []
    inner = _sts(8, clock, fetched)
    gate = threading.Event()

    def slow_fetch() -> tuple[Credentials, float | None]:
        gate.wait(2)
        time.sleep(0.05)
        return inner()

    provider = RefreshingProvider(slow_fetch, name="role", clock=clock)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(provider().access_key_id)) for _ in range(16)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    assert got == ["STS.1"] * 16 and len(fetched) == 1


def test_callers_during_an_ahead_of_time_refresh_keep_the_valid_keys() -> None:
    clock, fetched = Clock(), []
    inner = _sts(8, clock, fetched)
    started, release = threading.Event(), threading.Event()

    def fetch() -> tuple[Credentials, float | None]:
        if fetched:
            started.set()
            release.wait(2)
        return inner()

    provider = RefreshingProvider(fetch, name="role", clock=clock)
    provider()
    clock.now += 7  # past refresh_at (6 s), before expiry (8 s)
    refresher = threading.Thread(target=provider)
    refresher.start()
    started.wait(2)
    assert provider().access_key_id == "STS.1"  # not blocked behind the refresh
    release.set()
    refresher.join(2)
    assert provider().access_key_id == "STS.2" and len(fetched) == 2


def test_static_keys_are_fetched_once_and_never_printed() -> None:
    providers = ProviderSet("AKID", "very-secret", "tok-123")
    keys = providers.base()
    assert keys == providers.base() and providers.base.refreshes == 1
    assert set(providers.secrets()) == {"very-secret", "tok-123"}
    text = repr(providers) + repr(providers.base) + repr(keys)
    assert "very-secret" not in text and "tok-123" not in text


def test_half_a_key_pair_is_a_config_error() -> None:
    with pytest.raises(CredentialsConfigError, match="set both access_key_id and access_key_secret, or neither"):
        ProviderSet("AKID", None)
