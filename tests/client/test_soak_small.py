"""A short soak through one client with faults on: every call ends ok or recorded, the client never
holds more sockets than its pool, and memory does not grow. `make bench` runs the 20,000-call soak."""

from pipelines.soak import run_soak


def test_short_soak_holds_its_pool_and_memory() -> None:
    result = run_soak(requests=3000, concurrency=16)
    assert result.requests == 3000
    assert result.ok + result.failed == 3000
    assert result.failed <= 3  # 1 % faults of each kind are retried away; a persistent one is recorded
    assert 0 < result.max_open_sockets <= result.pool_size
    assert result.rss_growth_mb < 25
