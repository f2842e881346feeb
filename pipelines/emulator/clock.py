"""Virtual clocks: the emulator's notion of "now" decides which instances exist."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["AcceleratedClock", "Clock", "ManualClock"]


def _aware(at: datetime) -> datetime:
    # Naive datetimes are read as UTC so a scenario written by hand cannot silently shift by the host's zone.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime: ...


class ManualClock:
    """Time moves only when told to; tests and the demo drive it explicitly."""

    def __init__(self, at: datetime) -> None:
        self._lock = threading.Lock()
        self._at = _aware(at)

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = _aware(at)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._at += delta


class AcceleratedClock:
    """virtual = origin + real elapsed * factor; factor 1 with no origin is plain wall-clock time."""

    def __init__(self, origin: datetime | None = None, factor: float = 1.0) -> None:
        if factor <= 0:
            raise ValueError(f"factor must be > 0, got {factor}")
        self._origin = _aware(origin) if origin is not None else datetime.now(UTC)
        self._factor = factor
        # monotonic, so a wall-clock jump (NTP) cannot move virtual time backwards.
        self._started = time.monotonic()

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._started
        return self._origin + timedelta(seconds=elapsed * self._factor)
