"""`make demo`: the bundled emulator, real Dagster runs of the tick schedule, a capacity report.

The emulator runs on a manual virtual clock that the demo sets to each tick's scheduled time,
so a simulated morning of ticks takes seconds while every snapshot is labelled with the time
its answer describes. Re-running the demo replaces the same ticks instead of adding rows.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import yaml

from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, default_scenario
from pipelines.output import render
from pipelines.sqlrun import SQL_DIR, connect, load_sql, run_report, write_catalog

__all__ = ["run_demo"]

Say = Callable[[str], None]

# The demo prints one line per run; the full event log stays in DAGSTER_HOME for the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _start(now: datetime) -> datetime:
    # Yesterday from 06:00 UTC: a morning ramp of the daily load curve, always in the past.
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=1) + timedelta(hours=6)


def _definitions() -> dg.Definitions:
    # Imported only after the demo's environment is set: alibabacloud-credentials reads
    # ALIBABA_CLOUD_* when it is first imported, and the definitions import it.
    from pipelines.definitions import defs  # noqa: PLC0415

    return defs


def _prepare_home(dagster_home: Path) -> None:
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_yaml = dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n", encoding="utf-8")


def _run_ticks(
    instance: dg.DagsterInstance, clock: ManualClock, start: datetime, ticks: int, every: timedelta, say: Say
) -> None:
    """Evaluate the real tick schedule at each simulated time and execute the runs it asks for
    (one per (account, region) partition; the demo's one account and region make one)."""
    defs = _definitions()
    schedule = defs.resolve_schedule_def("fc_tick_schedule")
    tick_job = defs.resolve_job_def("fc_tick_job")
    repository = defs.get_repository_def()
    for n in range(ticks):
        at = start + n * every
        clock.set(at)
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=at, repository_def=repository
        ) as context:
            requests = schedule.evaluate_tick(context).run_requests or []
        for request in requests:
            config = {**request.run_config, **QUIET}
            tick_config = config["ops"]["fc_instance_snapshots"]["config"]
            tick_config["interval_s"] = int(every.total_seconds())
            tick_config["max_lag_s"] = None  # a simulated morning: the emulator's clock is set to each tick
            result = tick_job.execute_in_process(
                run_config=config, tags=request.tags, instance=instance, partition_key=request.partition_key
            )
            meta = result.asset_materializations_for_node("fc_instance_snapshots")[0].metadata
            say(
                f"tick {at:%Y-%m-%d %H:%M}Z {request.partition_key} run {result.run_id[:8]}: {meta['polls'].value} "
                f"polls, {meta['ok'].value} ok, {meta['failed'].value} failed, {meta['instances_seen'].value} instances"
            )


SNAPSHOT_SQL = SQL_DIR / "snapshot.sql"  # each analyst session runs it once: which files to read


def _report(store_root: Path, catalog: Path, start: datetime, until: datetime, say: Say) -> None:
    report = run_report(store_root, "capacity-hourly", {"since": start, "until": until})
    with connect(store_root) as con:
        summary = con.execute(load_sql("demo_summary"), {"since": start, "until": until}).df()
    say("")
    say(
        f"capacity per service and hour ({len(report)} function-hour rows in capacity-hourly; "
        "sum_instances = instances summed over the hour's polls, max_per_poll = the largest single reading):"
    )
    say(render(summary, "table"))
    say("")
    say(f"data:    {store_root}  (polls/, instances/, functions/ as Parquet, dt= partitions)")
    say(f"catalog: {catalog}  (views only)")
    say("query it:")
    say(f"  .venv/bin/fccap report capacity-hourly --since {start:%Y-%m-%dT%H:%M}Z --function <name>")
    say('  .venv/bin/fccap sql "select function_name, max(instance_count) from polls group by all order by 2 desc"')
    say("  # with a DuckDB CLI of the lock file's duckdb version (make does not install one):")
    say(
        f"  duckdb -readonly -cmd \"set file_search_path='{store_root}'; set timezone='UTC'\" "
        f"-cmd '.read {SNAPSHOT_SQL}' {catalog}"
    )
    say("")
    say("tick_at is each tick's simulated time (the emulator's clock was set to it); observed_at is the real")
    say("time the answer arrived. Re-running the demo replaces these same ticks.")


def run_demo(data_dir: Path, ticks: int, every: timedelta, say: Say) -> None:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Two demos on one data directory would share its targets file and poll each other's emulator
    # (a newcomer trial recorded readings one tick stale): the second one is refused.
    with open(data_dir / ".demo.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(
                f"another fccap demo is running on {data_dir}; wait for it, or give this one its own --data-dir"
            ) from None
        _run_demo(data_dir, ticks, every, say)


def _run_demo(data_dir: Path, ticks: int, every: timedelta, say: Say) -> None:
    store_root = data_dir / "store"
    dagster_home = data_dir / "dagster"
    _prepare_home(dagster_home)
    targets_path = data_dir / "demo-targets.yaml"
    scenario = default_scenario()
    account = scenario.accounts[0]
    key = account.access_keys[0]
    start = _start(datetime.now(UTC))
    clock = ManualClock(start)
    began = time.perf_counter()

    with EmulatorServer(create_app(World(scenario), clock)) as server:
        say(
            f"emulator: {server.url} (account {account.account_id}, {len(scenario.services)} FC 2.0 services, "
            f"{len(scenario.functions_v3)} FC 3.0 functions)"
        )
        # A mixed deployment: the FC 2.0 services and the FC 3.0 functions of one account, side by side.
        base = {"account_id": account.account_id, "regions": account.regions[:1], "endpoint": server.url}
        targets = {"targets": [base, {**base, "api_version": "2023-03-30"}]}
        targets_path.write_text(yaml.safe_dump(targets, sort_keys=False), encoding="utf-8")
        os.environ.update(
            {
                "DAGSTER_HOME": str(dagster_home),
                "FCCAP_TARGETS": str(targets_path),
                "FCCAP_STORE": str(store_root),
                "ALIBABA_CLOUD_ACCESS_KEY_ID": key.access_key_id,
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": key.access_key_secret,
                # Never let the credentials chain reach for an ECS metadata service from a demo.
                "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
            }
        )
        instance = dg.DagsterInstance.get()
        inventory = (
            _definitions().resolve_job_def("fc_inventory_job").execute_in_process(instance=instance, run_config=QUIET)
        )
        say(f"inventory run {inventory.run_id[:8]}: {'ok' if inventory.success else 'FAILED'}")
        _run_ticks(instance, clock, start, ticks, every, say)

    catalog = write_catalog(store_root, data_dir / "catalog.duckdb")
    say(f"done in {time.perf_counter() - began:.1f} s: 1 inventory + {ticks} tick runs in {dagster_home}")
    _report(store_root, catalog, start, start + ticks * every, say)
