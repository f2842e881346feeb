"""`make bench`: bounded scenarios on 127.0.0.1, one table of figures, targets and same-run baselines.

Every figure is the median of several runs in this process tree, and every ratio compares two
measurements of this run: absolute times on a shared 2-core machine are noisy, ratios less so.
The emulator always runs in its own process (``fccap emulator``) so that it does not share the GIL
with the client being measured; each tick runs in a fresh worker process so that its peak RSS and
CPU time are its own. ``BENCH_JSON=path`` also writes ``{"rows": [...]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow.compute as _pc

__all__ = ["Row", "main"]

pc: Any = _pc  # pyarrow.compute generates its functions at import; the stubs do not list them

ROOT = Path(__file__).resolve().parent.parent
LARGE = ROOT / "pipelines" / "emulator" / "scenarios" / "large.yaml"
ACCT, REGION = "1234567890", "cn-hangzhou"
AK, SK = "fccap-emulator-ak", "fccap-emulator-secret"
LATENCY_S = 0.05
CONCURRENCY = 64


@dataclass(frozen=True)
class Row:
    figure: str
    value: float
    unit: str
    target: str
    met: bool | None  # None: a baseline or a ratio with no target of its own
    note: str = ""


# --- the tick --------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set since its exec (VmHWM). ru_maxrss is not used: Linux carries
    it over from the forking parent, so a worker started by a large parent would report the parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def emulator(latency_s: float) -> Iterator[str]:
    """``fccap emulator`` with large.yaml and per-call ListInstances latency, in its own process."""
    port = _free_port()
    cmd = [
        str(Path(sys.executable).parent / "fccap"),
        "emulator",
        "--scenario",
        str(LARGE),
        "--port",
        str(port),
        "--fault",
        f"latency,action=ListInstances,seconds={latency_s}",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - our own argv
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/_emulator/stats", timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"emulator did not start: {' '.join(cmd)}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _worker(*args: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", "pipelines.bench", *args]
    out = subprocess.run(argv, check=False, cwd=ROOT, capture_output=True, text=True)  # noqa: S603 - our own argv
    if out.returncode != 0:
        raise RuntimeError(f"bench worker {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def tick_worker(endpoint: str, store: str, inventory: str) -> dict[str, Any]:
    """One tick in this (fresh) process: poll every function of the inventory, normalise, write."""
    from pipelines.collect import open_session, plan_polls, poll_all  # noqa: PLC0415 - counted in the worker RSS
    from pipelines.config import parse_targets  # noqa: PLC0415
    from pipelines.fc.signing import Credentials  # noqa: PLC0415
    from pipelines.normalise import instances_frame, inventory_rows, polls_frame  # noqa: PLC0415
    from pipelines.storage.store import ParquetStore  # noqa: PLC0415

    # The default 50 requests/s per (account, region) would cap the tick at 200 s: lift it to measure the client.
    target = {"account_id": ACCT, "regions": [REGION], "endpoint": endpoint, "qualifiers": "latest"}
    target["rate_limit"] = 10_000
    targets = parse_targets({"targets": [target]})
    functions = ParquetStore(inventory).latest_inventory()
    assert functions is not None
    rows = inventory_rows(functions)
    keys = Credentials(AK, SK)
    plan = plan_polls(rows)

    async def poll() -> list[Any]:
        async with open_session(targets, lambda: keys, concurrency=CONCURRENCY) as session:
            return await poll_all(session, plan)

    tick_at = datetime.now(UTC).replace(second=0, microsecond=0)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    outcomes = asyncio.run(poll())
    poll_s, poll_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    w0 = time.perf_counter()
    ParquetStore(store).write_tick(tick_at, polls_frame(outcomes, tick_at, 60), instances_frame(outcomes, tick_at))
    write_s = time.perf_counter() - w0
    return {
        "polls": len(outcomes),
        "ok": sum(o.ok for o in outcomes),
        "instances": sum(len(o.instances) for o in outcomes),
        "poll_s": poll_s,
        "poll_cpu_s": poll_cpu,
        "write_s": write_s,
        "tick_s": time.perf_counter() - wall0,
        "peak_rss_mb": peak_rss_mb(),
    }


def inventory_worker(endpoint: str, inventory: str) -> dict[str, Any]:
    """Discover large.yaml's cn-hangzhou functions once; the ticks poll this inventory."""
    from pipelines.collect import discover, open_session  # noqa: PLC0415
    from pipelines.config import parse_targets  # noqa: PLC0415
    from pipelines.fc.signing import Credentials  # noqa: PLC0415
    from pipelines.normalise import functions_frame  # noqa: PLC0415
    from pipelines.storage.store import ParquetStore  # noqa: PLC0415

    # The default 50 requests/s per (account, region) would cap the tick at 200 s: lift it to measure the client.
    target = {"account_id": ACCT, "regions": [REGION], "endpoint": endpoint, "qualifiers": "latest"}
    target["rate_limit"] = 10_000
    targets = parse_targets({"targets": [target]})
    keys = Credentials(AK, SK)

    async def run() -> Any:
        async with open_session(targets, lambda: keys, concurrency=CONCURRENCY) as session:
            return await discover(session)

    found = asyncio.run(run())
    ParquetStore(inventory).write_inventory(datetime.now(UTC), functions_frame(found.rows, datetime.now(UTC)))
    return {"functions": len(found.rows), "failures": len(found.failures)}


def sdk_worker(endpoint: str, inventory: str, calls: int) -> dict[str, Any]:
    """The official Tea SDK (2021-04-06) polling ``calls`` functions one after another."""
    from alibabacloud_fc_open20210406 import models as fc_models  # noqa: PLC0415
    from alibabacloud_fc_open20210406.client import Client  # noqa: PLC0415
    from alibabacloud_tea_openapi.models import Config  # noqa: PLC0415
    from alibabacloud_tea_util.models import RuntimeOptions  # noqa: PLC0415

    from pipelines.storage.store import ParquetStore  # noqa: PLC0415

    functions = ParquetStore(inventory).latest_inventory()
    assert functions is not None
    names = functions[["service_name", "function_name"]].head(calls).to_dict("records")
    sdk = Client(
        Config(access_key_id=AK, access_key_secret=SK, endpoint=endpoint.removeprefix("http://"), protocol="http")
    )
    headers = fc_models.ListInstancesHeaders(x_fc_account_id=ACCT)
    runtime = RuntimeOptions(autoretry=False, read_timeout=10000, connect_timeout=10000)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for n in names:
        request = fc_models.ListInstancesRequest(qualifier="LATEST", limit=1000)
        sdk.list_instances_with_options(n["service_name"], n["function_name"], request, headers, runtime)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"calls": len(names), "per_call_s": wall / len(names), "cpu_per_call_s": cpu / len(names)}


def bench_tick(runs: int, sdk_calls: int, work: Path) -> list[Row]:
    inventory = str(work / "inventory")
    with emulator(LATENCY_S) as url:
        found = _worker("inventory", url, inventory)
        if found["failures"] or found["functions"] != 10_000:
            raise RuntimeError(f"discovery of large.yaml gave {found}")
        ticks = [_worker("tick", url, str(work / f"store-{i}"), inventory) for i in range(runs)]
        sdk = [_worker("sdk", url, inventory, str(sdk_calls)) for _ in range(max(1, runs // 2))]
    for t in ticks:
        if t["ok"] != t["polls"]:
            raise RuntimeError(f"a benchmark tick had failed polls: {t}")
    polls = ticks[0]["polls"]
    tick_s = statistics.median(t["tick_s"] for t in ticks)
    sdk_tick_s = statistics.median(s["per_call_s"] for s in sdk) * polls
    cpu_ms = statistics.median(t["poll_cpu_s"] / t["polls"] * 1000 for t in ticks)
    rss = max(t["peak_rss_mb"] for t in ticks)
    share = statistics.median(t["write_s"] / t["tick_s"] * 100 for t in ticks)
    ideal = polls / CONCURRENCY * LATENCY_S
    scope = f"{polls:,} polls, 50 ms latency, c{CONCURRENCY}"
    return [
        Row("tick time", tick_s, "s", "<= 12", tick_s <= 12, f"{scope}; ideal {ideal:.1f} s; median of {runs}"),
        Row(
            "Tea SDK sequential tick (baseline)",
            sdk_tick_s,
            "s",
            "",
            None,
            f"{sdk[0]['calls']} calls x {len(sdk)} runs, extrapolated to {polls:,}",
        ),
        Row("tick speed-up vs Tea SDK", sdk_tick_s / tick_s, "x", ">= 20", sdk_tick_s / tick_s >= 20),
        Row("tick vs ideal", tick_s / ideal, "x", "", None, "1.0 = every call exactly 50 ms, always 64 in flight"),
        Row("client CPU per poll", cpu_ms, "ms", "<= 0.5", cpu_ms <= 0.5, "process CPU / polls, signing included"),
        Row(
            "Tea SDK CPU per call (baseline)",
            statistics.median(s["cpu_per_call_s"] for s in sdk) * 1000,
            "ms",
            "",
            None,
        ),
        Row("tick peak RSS", rss, "MB", "<= 500", rss <= 500, "whole tick process, max of runs"),
        Row("normalise + write share of tick", share, "%", "<= 5", share <= 5, f"{ticks[0]['instances']:,} instances"),
    ]


# --- the history -----------------------------------------------------------------------------

HISTORY_DAYS = 30
HISTORY_FUNCTIONS = 1_000
HISTORY_START = datetime(2026, 11, 1, tzinfo=UTC)
_MINUTE_US = 60_000_000
QUERY_RUNS = 15
# Per-poll provenance, kept in compacted polls but no part of what a capacity figure reads.
AUDIT_COLUMNS = ("request_id", "latency_ms", "observed_at")


def _history_world() -> Any:
    """large.yaml's load model, cut to its first 1,000 cn-hangzhou functions (10 services x 100)."""
    from pipelines.emulator import World, load_scenario  # noqa: PLC0415

    scenario = load_scenario(LARGE)
    services = [s for s in scenario.services if s.region == REGION][: HISTORY_FUNCTIONS // 100]
    return World(dataclasses.replace(scenario, services=services))


def _hex_ids(n: int, prefix: str = "") -> Any:
    """``n`` random hex request ids (unique, as real ones are: they do not compress)."""
    import pyarrow as pa  # noqa: PLC0415

    blob = os.urandom(16 * n).hex().encode()
    ids = pa.array(np.frombuffer(blob, dtype="S32"), type=pa.binary(32)).cast(pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), ids, "") if prefix else ids


def history_day(world: Any, day: int) -> tuple[Any, Any]:
    """(polls, instances) of one UTC day as Arrow tables: a tick every minute, every poll ok."""
    import pyarrow as pa  # noqa: PLC0415

    from pipelines.emulator.world import LATEST, minute_of  # noqa: PLC0415
    from pipelines.emulator.world import _instance_id as instance_id  # noqa: PLC0415 - the emulator's own ids
    from pipelines.storage.schemas import INSTANCES, POLLS  # noqa: PLC0415

    vday = minute_of(HISTORY_START) // 1440 + day
    start_us = vday * 1440 * _MINUTE_US
    ticks = start_us + np.arange(1440, dtype=np.int64) * _MINUTE_US
    p_svc, p_fn, p_count = [], [], []
    i_svc, i_fn, i_tick, i_id = [], [], [], []
    for spec in world.scenario.services:
        for fn in spec.functions:
            key = (spec.account_id, spec.region, spec.name, fn.name, LATEST)
            level, births = world._chunk(key, fn.load, 0, vday)  # the load model, per day
            p_svc.append(spec.name)
            p_fn.append(fn.name)
            p_count.append(level)
            if not level.any():
                continue
            minute, slot = np.nonzero(level[:, None] > np.arange(births.shape[1])[None, :])
            birth = births[minute, slot].astype(np.int64)
            pairs, index = np.unique(slot.astype(np.int64) << 32 | birth, return_inverse=True)
            ids = [instance_id(world.scenario.seed, key, int(p >> 32), int(p & 0xFFFFFFFF)) for p in pairs]
            i_svc.append(np.full(len(minute), spec.name, dtype=object))
            i_fn.append(np.full(len(minute), fn.name, dtype=object))
            i_tick.append(ticks[minute])
            i_id.append(pa.array(ids).take(pa.array(index)))
    n_fn = len(p_fn)
    tick_col = pa.array(np.tile(ticks, n_fn), type=POLLS.field("tick_at").type)
    latency = np.random.default_rng(day).gamma(4.0, 12.5, size=n_fn * 1440).astype(np.float32)
    observed = pa.array(
        np.tile(ticks, n_fn) + (latency * 1000).astype(np.int64) + 2_000, type=POLLS.field("tick_at").type
    )
    n = n_fn * 1440
    polls = pa.Table.from_arrays(
        [
            tick_col,
            observed,
            pa.array([ACCT] * n),
            pa.array([REGION] * n),
            pa.array(["2021-04-06"] * n),
            pa.array(np.repeat(np.array(p_svc, dtype=object), 1440)),
            pa.array(np.repeat(np.array(p_fn, dtype=object), 1440)),
            pa.array(["LATEST"] * n),
            pa.array(["ok"] * n),
            pa.array(np.concatenate(p_count).astype(np.int32)),
            pa.nulls(n, pa.string()),
            pa.nulls(n, pa.string()),
            pa.array(np.full(n, 200, dtype=np.int16)),
            _hex_ids(n),
            pa.array(np.ones(n, dtype=np.int16)),
            pa.array(latency),
            pa.array(np.full(n, 60, dtype=np.int32)),
        ],
        schema=POLLS,
    )
    m = sum(len(t) for t in i_tick)
    inst_ticks = pa.array(np.concatenate(i_tick), type=INSTANCES.field("tick_at").type)
    instances = pa.Table.from_arrays(
        [
            inst_ticks,
            pc.add(inst_ticks, pa.scalar(60_000, pa.duration("us"))),
            pa.array([ACCT] * m),
            pa.array([REGION] * m),
            pa.array(["2021-04-06"] * m),
            pa.array(np.concatenate(i_svc)),
            pa.array(np.concatenate(i_fn)),
            pa.array(["LATEST"] * m),
            pa.concat_arrays(i_id),
            pa.array(["0"] * m),
            pa.nulls(m, pa.string()),
            pa.nulls(m, INSTANCES.field("created_at").type),
            pa.nulls(m, INSTANCES.field("destroyed_at").type),
            pa.nulls(m, pa.string()),
        ],
        schema=INSTANCES,
    )
    return polls, instances


def _write_history_day(root: Path, day: int) -> tuple[int, dict[tuple[str, str], int]]:
    """One day as one raw file per table, compacted by the real compactor (runs in a pool worker)."""
    from pipelines.storage.compactor import compact_day  # noqa: PLC0415
    from pipelines.storage.files import atomic_write  # noqa: PLC0415

    polls, instances = history_day(_pool_world(), day)
    start = HISTORY_START + timedelta(days=day)
    name = f"tick-{start.strftime('%Y%m%dT%H%M%SZ')}.parquet"
    for table, data in (("instances", instances), ("polls", polls)):
        atomic_write(data, root / table / f"dt={start.date().isoformat()}" / name, step=f"write.{table}")
    counts = instances.group_by(["service_name", "function_name"]).aggregate([([], "count_all")])
    per_function = {(r["service_name"], r["function_name"]): r["count_all"] for r in counts.to_pylist()}
    observations = instances.num_rows
    del polls, instances
    compact_day(root, start.date(), raw_retention_s=0)
    return observations, per_function


@functools.cache
def _pool_world() -> Any:
    return _history_world()


def write_history(root: Path) -> dict[str, Any]:
    """30 days through the real compactor, two days at a time (one per core)."""
    from pipelines.storage.store import ParquetStore  # noqa: PLC0415

    ParquetStore(root).ensure()
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        days = list(pool.map(_write_history_day, [root] * HISTORY_DAYS, range(HISTORY_DAYS)))
    observations = sum(n for n, _ in days)
    first_day = days[0][1]
    nbytes: dict[str, int] = {}
    for path in root.glob("*/dt=*/*.parquet"):
        if path.parent.name == "dt=1970-01-01":
            continue
        kind = path.parent.parent.name if path.name.startswith("compacted-") else path.name.split("-")[0]
        nbytes[kind] = nbytes.get(kind, 0) + path.stat().st_size
    return {
        "observations": observations,
        "bytes": nbytes,
        "audit": _audit_bytes(root),
        "busiest": max(first_day, key=lambda k: first_day[k]),
    }


def _audit_bytes(root: Path) -> int:
    """Compressed bytes of the per-poll audit columns (request ids, latencies, answer times) in compacted polls."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    total = 0
    for path in root.glob("polls/dt=*/compacted-g*.parquet"):
        meta = pq.read_metadata(path)
        for g in range(meta.num_row_groups):
            rg = meta.row_group(g)
            for c in range(rg.num_columns):
                col = rg.column(c)
                if col.path_in_schema in AUDIT_COLUMNS:
                    total += col.total_compressed_size
    return total


def _timed(con: Any, sql: str, params: dict[str, Any], runs: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = con.sql(sql, params=params).to_arrow_table().num_rows
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, rows


def compact_worker(root: str, day: str) -> dict[str, Any]:
    from pipelines.storage.compactor import compact_day  # noqa: PLC0415

    t0 = time.perf_counter()
    done, _ = compact_day(root, day, raw_retention_s=0)
    return {
        "seconds": time.perf_counter() - t0,
        "peak_rss_mb": peak_rss_mb(),
        "rows": sum(d.rows for d in done),
        "files": sum(d.files_in for d in done),
    }


def bench_history(runs: int, work: Path) -> list[Row]:
    import pandas as pd  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415

    from pipelines.sqlrun import connect, load_sql  # noqa: PLC0415
    from pipelines.storage.store import ParquetStore  # noqa: PLC0415

    world = _history_world()
    root = work / "history"
    t0 = time.perf_counter()
    made = write_history(root)
    gen_s = time.perf_counter() - t0
    obs = made["observations"]
    end = HISTORY_START + timedelta(days=HISTORY_DAYS)
    service, function = made["busiest"]
    everything = {
        "since": HISTORY_START,
        "until": end,
        "account": None,
        "region": None,
        "service": None,
        "function": None,
    }
    # Queries take milliseconds: more runs per median, against the noise of a shared machine.
    qruns = max(runs, QUERY_RUNS)
    with connect(root) as con:
        hourly_ms, hourly_rows = _timed(
            con, load_sql("capacity_hourly"), {**everything, "since": end - timedelta(days=7)}, qruns
        )
        p95_ms, p95_rows = _timed(con, load_sql("service_p95_daily"), everything, qruns)
        life_ms, life_rows = _timed(
            con, load_sql("instance_lifetimes"), {**everything, "service": service, "function": function}, qruns
        )
    total = sum(made["bytes"].values())
    per_obs = (total - made["audit"]) / obs
    with_audit = total / obs
    inst_per_obs = made["bytes"]["instances"] / obs

    # One day of real per-tick files, written by the tick writer, then compacted in a fresh process.
    raw = work / "raw"
    store = ParquetStore(raw)
    polls, instances = history_day(world, HISTORY_DAYS)
    day = (HISTORY_START + timedelta(days=HISTORY_DAYS)).date().isoformat()
    by_tick_p = polls.sort_by("tick_at")
    by_tick_i = instances.sort_by("tick_at")
    p_ticks = by_tick_p.column("tick_at").to_numpy()
    i_ticks = by_tick_i.column("tick_at").to_numpy()
    for tick in np.unique(p_ticks):
        a, b = np.searchsorted(p_ticks, tick), np.searchsorted(p_ticks, tick, side="right")
        c, d = np.searchsorted(i_ticks, tick), np.searchsorted(i_ticks, tick, side="right")
        at = pd.Timestamp(tick).tz_localize(UTC).to_pydatetime()
        store.write_tick(
            at,
            by_tick_p.slice(a, b - a).to_pandas(types_mapper=pd.ArrowDtype),
            by_tick_i.slice(c, d - c).to_pandas(types_mapper=pd.ArrowDtype),
        )
    del by_tick_p, by_tick_i, polls, instances, pa
    compactions = [_worker("compact", str(raw), day)]
    compact_s = statistics.median(c["seconds"] for c in compactions)
    compact_mb = max(c["peak_rss_mb"] for c in compactions)
    scope = f"{HISTORY_DAYS} d x {HISTORY_FUNCTIONS:,} functions, {obs / 1e6:.1f} M instance obs"
    return [
        Row(
            "hourly capacity, last 7 days",
            hourly_ms,
            "ms",
            "<= 250",
            hourly_ms <= 250,
            f"{scope}; {hourly_rows:,} rows; median of {qruns}",
        ),
        Row("p95 per service per day, 30 days", p95_ms, "ms", "<= 400", p95_ms <= 400, f"{p95_rows:,} rows"),
        Row(
            "instance lifetimes, one function, 30 days",
            life_ms,
            "ms",
            "<= 100",
            life_ms <= 100,
            f"{service}/{function} (busiest), {life_rows:,} instances",
        ),
        Row(
            "storage per instance observation",
            per_obs,
            "B",
            "<= 1.0",
            per_obs <= 1.0,
            f"all compacted files but the audit columns ({', '.join(AUDIT_COLUMNS)}); with them "
            f"{with_audit:.2f} B; instance intervals alone {inst_per_obs:.2f} B",
        ),
        Row(
            "compaction of one day",
            compact_s,
            "s",
            "<= 15",
            compact_s <= 15,
            f"{compactions[0]['files']:,} per-tick files",
        ),
        Row("compaction peak RSS", compact_mb, "MB", "<= 1024", compact_mb <= 1024, "whole compactor process"),
        Row("history generation (bench set-up)", gen_s, "s", "", None, "World load model, written compacted"),
    ]


# --- the table -------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def render(rows: list[Row], header: str) -> str:
    cells = [
        (
            r.figure,
            f"{_fmt(r.value)} {r.unit}",
            r.target and f"{r.target} {r.unit}",
            "-" if r.met is None else "yes" if r.met else "NO",
            r.note,
        )
        for r in rows
    ]
    head = ("figure", "value", "target", "met", "scenario / note")
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(5)]
    lines = [header, "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(cell, widths, strict=True)) + " |" for cell in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.bench", description=__doc__)
    parser.add_argument("worker", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is reported)")
    parser.add_argument("--sdk-calls", type=int, default=200, help="sequential Tea SDK calls per baseline run")
    parser.add_argument("--only", choices=["tick", "history", "fanout"], help="one part of the bench")
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        result = {
            "inventory": inventory_worker,
            "tick": tick_worker,
            "sdk": lambda *a: sdk_worker(a[0], a[1], int(a[2])),
            "compact": compact_worker,
        }[kind](*rest)
        print(json.dumps(result))
        return
    started = time.perf_counter()
    load_before = os.getloadavg()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="fccap-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "tick"):
            rows += bench_tick(args.runs, args.sdk_calls, work)
        if args.only in (None, "history"):
            rows += bench_history(args.runs, work)
        if args.only in (None, "fanout"):
            from pipelines.bench_fanout import bench_fanout  # noqa: PLC0415 - it imports this module

            rows += bench_fanout(work / "fanout")
    load_after = os.getloadavg()
    header = (
        f"fc-capacity bench: {os.cpu_count()} cores, load average {load_before[0]:.2f} before / "
        f"{load_after[0]:.2f} after, {time.perf_counter() - started:.0f} s"
    )
    print(render(rows, header))
    out = os.environ.get("BENCH_JSON")
    if out:
        payload = {"rows": [{k: v for k, v in asdict(r).items() if k != "note"} for r in rows]}
        Path(out).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
