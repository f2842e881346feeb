"""Tick times: aligned to the period, always UTC."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["FUTURE_SKEW_S", "align", "parse_tick"]

# How far ahead of this machine's clock a tick may be labelled (clock skew between daemon and run):
# later is mislabelled data, refused by the tick and not fresh for its check.
FUTURE_SKEW_S = 60


def align(at: datetime, interval_s: int) -> datetime:
    """Floor to the tick period, so every reading of one tick shares one tick_at."""
    seconds = int(at.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(seconds - seconds % interval_s, UTC)


def parse_tick(text: str | None, now: datetime, interval_s: int) -> datetime:
    if text is None:
        return align(now, interval_s)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"tick_at {text!r} is not ISO-8601; use e.g. 2026-12-03T12:00:00Z") from None
    if at.tzinfo is None:
        raise ValueError(f"tick_at {text!r} has no time zone; add Z or +00:00")
    return at.astimezone(UTC)
