"""Every report against the emulator's ground truth, exactly: 16 ticks across midnight with a tick
not run, a tick whose polls failed, a function that scales to zero, an idle function, an alias with
provisioned instances, and a rollout (alias prod moves from version 1 to 2 at midnight).
The same reports must give the same answers after the closed day is compacted."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from assets.inventory import fc_inventory
from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, parse_scenario
from pipelines.normalise import instances_frame, inventory_rows, polls_frame
from pipelines.resources import FCResource, StoreResource
from pipelines.sqlrun import run_report
from pipelines.storage.compactor import compact_day
from pipelines.storage.store import ParquetStore
from tests.integration.conftest import write_targets

ACCT, REGION = "1234567890", "cn-hangzhou"
START = datetime(2026, 12, 1, 23, 52, tzinfo=UTC)
ALL_TICKS = [START + timedelta(minutes=m) for m in range(16)]
NOT_RUN = datetime(2026, 12, 1, 23, 58, tzinfo=UTC)
FAILED = datetime(2026, 12, 2, 0, 3, tzinfo=UTC)  # every poll of "api" fails at this tick
ROLLOUT = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
TICKS = [t for t in ALL_TICKS if t != NOT_RUN]
SPECS = {"api": (1024, 1.0, 10240, None), "batch": (2048, 2.0, 512, 4096), "idle": (512, 0.35, 512, None)}


def _scenario(prod_version: str) -> object:
    def fn(name: str, load: dict) -> dict:
        memory, cpu, disk, gpu = SPECS[name]
        return {"name": name, "memory_mb": memory, "cpu": cpu, "disk_mb": disk, "gpu_memory_mb": gpu, "load": load}

    return parse_scenario(
        {
            "seed": 11,
            "accounts": [
                {
                    "account_id": ACCT,
                    "regions": [REGION],
                    "access_keys": [{"access_key_id": "ak", "access_key_secret": "sk"}],
                }
            ],
            "services": [
                {
                    "account_id": ACCT,
                    "region": REGION,
                    "name": "shop",
                    "versions": ["1", "2"],
                    "aliases": [{"name": "prod", "version_id": prod_version, "provisioned": 2}],
                    "functions": [
                        # busy around midnight, with rare use: scales to zero between bursts
                        fn(
                            "api",
                            {
                                "peak": 6,
                                "base": 0,
                                "peak_hour_utc": 0.0,
                                "noise": 0.5,
                                "duty_cycle": 0.5,
                                "idle_keepalive_minutes": 2,
                                "max_lifetime_minutes": 10,
                            },
                        ),
                        fn(
                            "batch",
                            {"peak": 3, "base": 1, "peak_hour_utc": 23.0, "noise": 0.3, "idle_keepalive_minutes": 3},
                        ),
                    ],
                },
                {"account_id": ACCT, "region": REGION, "name": "tools", "functions": [fn("idle", {"peak": 0})]},
            ],
        }
    )


class _FailApi:
    """503 for every ListInstances of function "api" while ``failing`` is set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.failing = app, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.failing and scope["type"] == "http" and scope["path"].endswith("/functions/api/instances"):
            await send({"type": "http.response.start", "status": 503, "headers": [(b"x-fc-request-id", b"r-503")]})
            await send(
                {"type": "http.response.body", "body": b'{"ErrorCode":"ServiceUnavailable","ErrorMessage":"down"}'}
            )
            return
        await self.app(scope, receive, send)


@dataclass
class History:
    root: Path
    truth: dict[datetime, list]  # tick -> TruthRow list (ticks that ran)
    failed_series: set[tuple[str, str]]  # (function, qualifier) failing at FAILED


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    tmp = tmp_path_factory.mktemp("reports")
    root = tmp / "store"
    clock = ManualClock(START)
    worlds = {v: World(_scenario(v)) for v in ("1", "2")}  # type: ignore[arg-type]
    apps = {v: _FailApi(create_app(w, clock)) for v, w in worlds.items()}
    with EmulatorServer(apps["1"]) as before, EmulatorServer(apps["2"]) as after:
        fcs = {
            v: FCResource(
                targets_file=str(write_targets(tmp / f"t{v}.yaml", ACCT, REGION, s.url)),
                access_key_id="ak",
                access_key_secret="sk",
                retry_attempts=1,
            )
            for v, s in (("1", before), ("2", after))
        }
        # The inventory through the real asset; the ticks through the same resource calls the tick asset makes.
        assert dg.materialize(
            [fc_inventory], resources={"fc": fcs["1"], "store": StoreResource(root=str(root))}
        ).success
        store = ParquetStore(root)
        rows = inventory_rows(store.latest_inventory())  # type: ignore[arg-type]
        truth: dict[datetime, list] = {}
        for at in TICKS:
            v = "2" if at >= ROLLOUT else "1"
            clock.set(at)
            apps[v].failing = at == FAILED
            outcomes = fcs[v].poll(rows)
            apps[v].failing = False
            store.write_tick(at, polls_frame(outcomes, at, 60, ()), instances_frame(outcomes, at))
            truth[at] = worlds[v].ground_truth(at)
    return History(root, truth, {("api", "LATEST"), ("api", "prod")})


def _counts(h: History) -> dict[tuple[str, str, str], dict[datetime, int | None]]:
    """(service, function, qualifier) -> tick -> count (None = failed poll)."""
    series = {("shop", f, q) for f in ("api", "batch") for q in ("LATEST", "prod")} | {("tools", "idle", "LATEST")}
    out: dict = {s: {} for s in series}
    for at, rows in h.truth.items():
        c = Counter((r.service_name, r.function_name, r.qualifier) for r in rows)
        for s in series:
            out[s][at] = None if (at == FAILED and s[1:] in h.failed_series) else c.get(s, 0)
    return out


def _ok_rows(h: History) -> list:
    return [
        (at, r)
        for at, rows in h.truth.items()
        for r in rows
        if not (at == FAILED and (r.function_name, r.qualifier) in h.failed_series)
    ]


def _rounded(rows: list[tuple]) -> list[tuple]:
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


@pytest.fixture(scope="module", params=["raw", "compacted"])
def root(request: pytest.FixtureRequest, history: History) -> Path:
    if request.param == "compacted":
        compact_day(history.root, "2026-12-01", raw_retention_s=0)
    return history.root


def test_the_scenario_exercises_what_we_claim(history: History) -> None:
    counts = _counts(history)
    api = [c for c in counts[("shop", "api", "LATEST")].values() if c is not None]
    assert 0 in api and max(api) > 0  # scales to zero and back
    assert min(c for c in counts[("shop", "batch", "prod")].values() if c is not None) >= 2  # provisioned floor
    assert {r.version_id for _, r in _ok_rows(history) if r.qualifier == "prod"} == {"1", "2"}  # rollout


def test_capacity_hourly(root: Path, history: History) -> None:
    got = run_report(root, "capacity-hourly", {})
    expected = []
    for (svc, fn, q), by_tick in sorted(_counts(history).items()):
        hours: dict = defaultdict(list)
        for at, c in sorted(by_tick.items()):
            hours[at.replace(minute=0)].append(c)
        for hour, cs in sorted(hours.items()):
            ok = [c for c in cs if c is not None]
            expected.append(
                (
                    svc,
                    fn,
                    q,
                    hour,
                    len(ok),
                    len(cs) - len(ok),
                    min(ok),
                    float(np.mean(ok)),
                    max(ok),
                    float(np.percentile(ok, 95)),
                    float(sum(ok)),
                )
            )
    rows = [
        (
            r.service_name,
            r.function_name,
            r.qualifier,
            r.hour.to_pydatetime(),
            r.ticks_ok,
            r.ticks_failed,
            r.min_instances,
            r.avg_instances,
            r.max_instances,
            r.p95_instances,
            r.instance_minutes,
        )
        for r in got.itertuples()
    ]
    assert _rounded(rows) == _rounded(expected)


MIDNIGHT = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    "window",
    [
        {},
        # windows that cut runs of the compacted day, and day-aligned ones (which cut none: the
        # report skips its cut branch for them, so these prove that shortcut keeps the answer exact)
        {"since": START + timedelta(minutes=3), "until": START + timedelta(minutes=12)},
        {"since": START + timedelta(minutes=5)},
        {"until": START + timedelta(minutes=6)},
        {"since": MIDNIGHT},
        {"until": MIDNIGHT},
        {"since": MIDNIGHT - timedelta(days=1), "until": MIDNIGHT},
    ],
    ids=["all", "cut-both", "cut-since", "cut-until", "from-midnight", "to-midnight", "one-day"],
)
def test_instance_lifetimes(root: Path, history: History, window: dict) -> None:
    since, until = window.get("since", START), window.get("until", START + timedelta(days=1))
    life: dict = {}
    for at, r in _ok_rows(history):
        if not since <= at < until:
            continue
        key = (r.service_name, r.function_name, r.qualifier, r.instance_id)
        first, last, n, versions = life.get(key, (at, at, 0, set()))
        life[key] = (min(first, at), max(last, at), n + 1, versions | {r.version_id})
    assert len(life) > 3
    got = run_report(root, "instance-lifetimes", window)
    rows = {
        (r.service_name, r.function_name, r.qualifier, r.instance_id): (
            r.first_seen.to_pydatetime(),
            r.last_seen.to_pydatetime(),
            r.ticks_seen,
            set(r.version_id.split(",")),
            r.observed_s,
        )
        for r in got.itertuples()
    }
    assert rows == {k: (f, last, n, v, (last - f).total_seconds() + 60) for k, (f, last, n, v) in life.items()}
    if not window:
        assert any(v == {"1", "2"} for *_, v, _ in rows.values())  # an instance that lived through the rollout
    assert set(got["lifetime_source"]) == {"observed"}


def test_churn_hourly(root: Path, history: History) -> None:
    ok_ticks: dict = defaultdict(list)
    for key, by_tick in _counts(history).items():
        ok_ticks[key] = sorted(at for at, c in by_tick.items() if c is not None)
    seen: dict = defaultdict(list)
    for at, r in _ok_rows(history):
        seen[(r.service_name, r.function_name, r.qualifier, r.instance_id)].append(at)
    events: Counter = Counter()
    for (svc, fn, q, _), ats in seen.items():
        events[(svc, fn, q, min(ats).replace(minute=0), "born")] += 1
        later = [t for t in ok_ticks[(svc, fn, q)] if t > max(ats)]
        if later:
            events[(svc, fn, q, later[0].replace(minute=0), "gone")] += 1
    got = run_report(root, "churn-hourly", {})
    rows = Counter()
    for r in got.itertuples():
        for kind, n in (("born", r.born), ("gone", r.gone)):
            if n:
                rows[(r.service_name, r.function_name, r.qualifier, r.hour.to_pydatetime(), kind)] = n
    assert rows == events
    assert sum(n for k, n in events.items() if k[-1] == "gone") > 0


def test_version_spread(root: Path, history: History) -> None:
    expected = Counter((r.service_name, r.function_name, at, r.version_id) for at, r in _ok_rows(history))
    got = run_report(root, "version-spread", {"service": "shop"})
    assert {
        (r.service_name, r.function_name, r.tick_at.to_pydatetime(), r.version_id): r.instances
        for r in got.itertuples()
    } == expected
    per_tick = got.groupby(["function_name", "tick_at"])["share"].sum()
    assert np.allclose(per_tick.to_numpy(), 1.0)


def test_idle_functions(root: Path) -> None:
    got = run_report(root, "idle-functions", {})
    assert got[["service_name", "function_name", "ticks_ok", "ticks_failed"]].values.tolist() == [
        ["tools", "idle", 15, 0]
    ]
    assert pd.isna(got["last_active_at"].iloc[0])


def test_peak_concurrency(root: Path, history: History) -> None:
    counts = _counts(history)

    def peak(svc: str | None) -> tuple[int, datetime]:
        totals = {
            at: sum(c or 0 for (s, _, _), by in counts.items() if svc in (None, s) for t, c in by.items() if t == at)
            for at in TICKS
        }
        top = max(totals.values())
        return top, min(at for at, v in totals.items() if v == top)

    got = run_report(root, "peak-concurrency", {})
    rows = {
        (r.level, r.service_name if r.level == "service" else None): (r.peak_instances, r.peak_at.to_pydatetime())
        for r in got.itertuples()
    }
    assert rows == {
        ("account", None): peak(None),
        ("region", None): peak(None),
        ("service", "shop"): peak("shop"),
        ("service", "tools"): (0, TICKS[0]),
    }


def test_coverage_and_gaps(root: Path) -> None:
    cov = run_report(root, "coverage-daily", {"function": "api"})
    assert [
        (
            r.qualifier,
            pd.Timestamp(r.day).date().isoformat(),
            r.ticks_expected,
            r.ticks_ok,
            r.ticks_failed,
            r.ticks_missing,
        )
        for r in cov.itertuples()
    ] == [
        ("LATEST", "2026-12-01", 8, 7, 0, 1),
        ("LATEST", "2026-12-02", 8, 7, 1, 0),
        ("prod", "2026-12-01", 8, 7, 0, 1),
        ("prod", "2026-12-02", 8, 7, 1, 0),
    ]
    assert cov["coverage"].tolist() == pytest.approx([7 / 8] * 4)
    gaps = run_report(root, "gaps", {})
    assert [
        (
            r.tick_at.to_pydatetime(),
            r.kind,
            r.polls_ok,
            r.polls_failed,
            r.error_codes if isinstance(r.error_codes, str) else None,
        )
        for r in gaps.itertuples()
    ] == [
        (NOT_RUN, "not run", 0, 0, None),
        (FAILED, "polls failed", 3, 2, "ServiceUnavailable"),
    ]


def test_cost_daily(root: Path, history: History) -> None:
    seconds: Counter = Counter()
    for (svc, fn, _), by_tick in _counts(history).items():
        for at, c in by_tick.items():
            seconds[(svc, fn, at.date())] += 60 * (c or 0)
    got = run_report(root, "cost-daily", {})
    assert {
        (r.service_name, r.function_name, r.day.date() if hasattr(r.day, "date") else r.day): r.instance_s
        for r in got.itertuples()
    } == seconds
    r = got[(got.function_name == "batch")].iloc[0]
    memory, cpu, _, gpu = SPECS["batch"]
    assert (r.vcpu_s, r.memory_gb_s, r.disk_gb_s, r.gpu_gb_s) == pytest.approx(
        (r.instance_s * cpu, r.instance_s * memory / 1024, 0.0, r.instance_s * gpu / 1024)
    )
    assert r.cost == pytest.approx(r.vcpu_s * 0.00009 + r.memory_gb_s * 0.000009 + r.gpu_gb_s * 0.000009)
    assert set(got["currency"]) == {"CNY"}
