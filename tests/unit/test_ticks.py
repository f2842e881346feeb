"""Tick alignment is UTC and period-aligned whatever the local zone."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipelines.ticks import align, parse_tick


def test_align_floors_to_period_in_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 12, 4, 0, 7, 59, 999999, tzinfo=shanghai)  # 2026-12-03T16:07:59Z
    assert align(at, 60) == datetime(2026, 12, 3, 16, 7, tzinfo=UTC)
    assert align(at, 300) == datetime(2026, 12, 3, 16, 5, tzinfo=UTC)


def test_parse_tick_requires_zone() -> None:
    assert parse_tick("2026-12-03T12:00:00+08:00", datetime.now(UTC), 60) == datetime(2026, 12, 3, 4, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        parse_tick("2026-12-03T12:00:00", datetime.now(UTC), 60)
    with pytest.raises(ValueError, match="not ISO-8601"):
        parse_tick("yesterday", datetime.now(UTC), 60)
