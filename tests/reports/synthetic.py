"""A small deterministic history for chart, CLI and report-asset tests: known counts per tick, a
function that scales to zero, a rollout from version 1 to 2 over half an hour, an inventory."""

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.collect import PollOutcome, PollTarget
from pipelines.fc.models import Instance
from pipelines.normalise import instances_frame, polls_frame
from pipelines.storage.schemas import SCHEMAS
from pipelines.storage.store import ParquetStore, table_from_frame

ACCT, REGION = "1234567890", "cn-hangzhou"
# (service, function, memory_mb, cpu, peak instances)
FUNCTIONS = [
    ("orders", "checkout", 1024, 1.0, 9),
    ("orders", "refund", 512, 0.5, 3),
    ("media", "thumbnail", 2048, 2.0, 6),
    ("media", "transcode", 4096, 4.0, 2),
    ("tools", "cron", 256, 0.25, 1),
]
ROLLOUT_START = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
ROLLOUT_MINUTES = 30


def count(fn_index: int, at: datetime) -> int:
    """Instances of a function at a tick: a daily wave, zero at night for the smaller ones."""
    peak = FUNCTIONS[fn_index][4]
    hour = at.hour + at.minute / 60
    wave = 0.5 + 0.5 * math.cos((hour - 12 - fn_index) / 24 * 2 * math.pi)
    return max(0, round(peak * wave - (1 if peak < 4 else 0)))


def version(i: int, n: int, at: datetime) -> str:
    """checkout rolls out version 2 linearly; the others stay on 1."""
    share = min(max((at - ROLLOUT_START) / timedelta(minutes=ROLLOUT_MINUTES), 0.0), 1.0)
    return "2" if i < round(n * share) else "1"


def ticks(start: datetime, hours: int, every_min: int) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(0, hours * 60, every_min)]


def write_history(
    root: Path, at_ticks: list[datetime], *, fail_at: datetime | None = None, interval_s: int | None = None
) -> ParquetStore:
    store = ParquetStore(root)
    inventory = pd.DataFrame(
        [
            {
                "refreshed_at": at_ticks[0] - timedelta(minutes=5),
                "account_id": ACCT,
                "region": REGION,
                "api_version": "2021-04-06",
                "service_name": svc,
                "function_name": fn,
                "runtime": "python3.10",
                "memory_mb": mem,
                "cpu": cpu,
                "disk_mb": 512,
                "gpu_memory_mb": None,
                "instance_type": "e1",
                "instance_concurrency": 1,
                "qualifiers": ["LATEST"],
            }
            for svc, fn, mem, cpu, _ in FUNCTIONS
        ]
    )
    store.write_inventory(
        at_ticks[0] - timedelta(minutes=5),
        table_from_frame(inventory[SCHEMAS["functions"].names], "functions").to_pandas(types_mapper=pd.ArrowDtype),
    )
    interval = interval_s or (int((at_ticks[1] - at_ticks[0]).total_seconds()) if len(at_ticks) > 1 else 60)
    for at in at_ticks:
        outcomes = []
        for k, (svc, fn, *_) in enumerate(FUNCTIONS):
            n = count(k, at)
            failed = fail_at == at and fn == "checkout"
            outcomes.append(
                PollOutcome(
                    PollTarget(ACCT, REGION, svc, fn, "LATEST"),
                    None if failed else at,
                    ()
                    if failed
                    else tuple(
                        Instance(f"c-{fn}-{i}", version(i, n, at) if fn == "checkout" else "1") for i in range(n)
                    ),
                    _error() if failed else None,
                    503 if failed else 200,
                    "r",
                    1,
                    1.0,
                )
            )
        store.write_tick(at, polls_frame(outcomes, at, interval), instances_frame(outcomes, at))
    return store


def _error():
    from pipelines.fc.errors import RetriableError

    return RetriableError("ServiceUnavailable", "down", 503, "r")
