"""Ground truth offline: which instances a scenario has at given minutes, without a server."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.emulator.world import World

__all__ = ["TRUTH_FORMATS", "render_truth", "truth_records", "truth_times"]

TRUTH_FORMATS = ("csv", "json")
_MAX_POINTS = 100_000


def _minute(at: datetime) -> datetime:
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return aware.replace(second=0, microsecond=0)


def truth_times(
    at: datetime | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    every: timedelta = timedelta(minutes=1),
) -> list[datetime]:
    """One minute (``at``) or [since, until) every ``every``; the world changes once a minute, so minutes it is."""
    if at is not None:
        if since is not None or until is not None:
            raise ValueError("give either at or since/until, not both")
        return [_minute(at)]
    if since is None or until is None:
        raise ValueError("give at, or both since and until")
    if every < timedelta(minutes=1) or every % timedelta(minutes=1):
        raise ValueError(f"every must be a whole number of minutes, got {every}")
    start, end = _minute(since), _minute(until)
    if start >= end:
        raise ValueError("since must be before until")
    count = -(-(end - start) // every)
    if count > _MAX_POINTS:
        raise ValueError(f"{count} time points is over {_MAX_POINTS}; fix: shorten the range or raise every")
    return [start + i * every for i in range(count)]


def truth_records(world: World, times: list[datetime]) -> list[dict[str, Any]]:
    """Every live instance at every time, as flat records led by ``at`` (ISO, UTC)."""
    out: list[dict[str, Any]] = []
    for at in times:
        stamp = at.isoformat().replace("+00:00", "Z")
        out.extend({"at": stamp, **asdict(row)} for row in world.ground_truth(at))
    return out


def render_truth(records: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(records, indent=None, separators=(",", ":"))
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(TRUTH_FORMATS)}")
    buffer = io.StringIO()
    fields = list(records[0]) if records else ["at", "account_id", "region", "service_name", "function_name"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().rstrip("\n")
