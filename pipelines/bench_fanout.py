"""`make bench`, fan-out part: one 10,000-function tick as 4 partition runs against one run.

large.yaml's 10,000 generated functions are split over 4 regions of its account (2,500 each,
same seed), each region served by its own ``fccap emulator`` process with 50 ms of ListInstances
latency. Both shapes run through Dagster with the multiprocess executor against the same four
emulators in the same bench run, each run in its own process as Dagster's run launcher starts
it: the baseline is ``fc_tick_job`` of the single-run Definitions (one run, one step polling all
10,000); the fan-out is ``fc_tick_job`` of the default Definitions for its 4 fc_targets
partitions at once (4 run processes, each with its step process, 2,500 polls each). Every run
pays Dagster's real costs: run and step processes, imports, the event log in the instance.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from pipelines.bench import AK, LARGE, ROOT, SK, Row

__all__ = ["bench_fanout"]

ACCT = "1234567890"
REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen")
LATENCY_S = 0.05


def _scenario(region: str, path: Path) -> Path:
    """large.yaml cut to a quarter of its services (2,500 functions), in ``region`` only."""
    data = yaml.safe_load(LARGE.read_text(encoding="utf-8"))
    data["accounts"][0]["regions"] = [region]
    data["generate"]["services"] = data["generate"]["services"] // len(REGIONS)
    data["generate"]["region"] = region
    data["services"] = []
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@contextmanager
def _emulator(scenario: Path) -> Iterator[str]:
    with tempfile.TemporaryFile() as log:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cmd = [
            str(Path(sys.executable).parent / "fccap"),
            "emulator",
            "--scenario",
            str(scenario),
            "--port",
            str(port),
            "--fault",
            f"latency,action=ListInstances,seconds={LATENCY_S}",
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log)  # noqa: S603 - our own argv
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
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


def _fan_out_job() -> Any:
    from pipelines.definitions import defs  # noqa: PLC0415 - imported after the environment is set

    return defs.resolve_job_def("fc_tick_job")


def _single_run_job() -> Any:
    from pipelines.definitions_single_run import defs  # noqa: PLC0415

    return defs.resolve_job_def("fc_tick_job")


def _run_config(tick_at: datetime) -> dict[str, Any]:
    config = {"tick_at": tick_at.isoformat(), "max_lag_s": None}
    return {
        "ops": {"fc_instance_snapshots": {"config": config}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }


def run_worker(mode: str, tick_at: str, key: str | None = None) -> tuple[int, float]:
    """One tick run in this process (as the run launcher would start it), its step in a child process."""
    import dagster as dg  # noqa: PLC0415

    job = dg.reconstructable(_single_run_job if mode == "single" else _fan_out_job)
    tags = {"dagster/partition": key} if key else {}
    with (
        dg.DagsterInstance.get() as instance,
        dg.execute_job(job, instance, run_config=_run_config(datetime.fromisoformat(tick_at)), tags=tags) as result,
    ):
        return _polls(result)


def _runs(argvs: list[list[str]]) -> list[tuple[int, float]]:
    """Start one run process per argv at once; (polls, poll seconds) of each once all have finished."""
    procs = [
        subprocess.Popen(  # noqa: S603 - our own argv
            [sys.executable, "-m", "pipelines.bench_fanout", *argv],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    polls = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"fan-out bench run failed:\n{err[-3000:]}")
        n, poll_s = out.strip().splitlines()[-1].split()
        polls.append((int(n), float(poll_s)))
    return polls


def _polls(result: Any) -> tuple[int, float]:
    [mat] = [
        e.event_specific_data.materialization
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
        and e.event_specific_data.materialization.asset_key.to_user_string() == "fc_instance_snapshots"
    ]
    failed = mat.metadata["failed"].value
    if failed:
        raise RuntimeError(f"a fan-out bench run had {failed} failed polls")
    return int(mat.metadata["polls"].value), float(mat.metadata["poll_s"].value)


def bench_fanout(work: Path) -> list[Row]:
    import dagster as dg  # noqa: PLC0415

    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        urls = {r: stack.enter_context(_emulator(_scenario(r, work / f"scenario-{r}.yaml"))) for r in REGIONS}
        targets = work / "targets.yaml"
        target = {
            "account_id": ACCT,
            "regions": list(REGIONS),
            "endpoints": urls,
            "qualifiers": "latest",
            "rate_limit": 10_000,  # measure the fan-out, not the default 500/s budget
        }
        targets.write_text(yaml.safe_dump({"targets": [target]}), encoding="utf-8")
        home = work / "dagster"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        saved = dict(os.environ)
        os.environ.update(
            {
                "DAGSTER_HOME": str(home),
                "FCCAP_TARGETS": str(targets),
                "FCCAP_STORE": str(work / "store"),
                "ALIBABA_CLOUD_ACCESS_KEY_ID": AK,
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SK,
                "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
            }
        )
        try:
            with dg.DagsterInstance.get() as instance:
                from pipelines.definitions import defs  # noqa: PLC0415

                inventory = defs.resolve_job_def("fc_inventory_job").execute_in_process(
                    instance=instance, run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
                )
                keys = sorted(instance.get_dynamic_partitions("fc_targets"))
            if not inventory.success or len(keys) != len(REGIONS):
                raise RuntimeError(f"fan-out bench inventory failed or found partitions {keys}")
            tick = datetime.now(UTC).replace(second=0, microsecond=0)

            t0 = time.perf_counter()
            [(polls_single, poll_single_s)] = _runs([["single", tick.isoformat()]])
            single_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            fanned = _runs([["fan-out", tick.isoformat(), key] for key in keys])
            polls_fanned, poll_fanned_s = sum(n for n, _ in fanned), max(s for _, s in fanned)
            fanned_s = time.perf_counter() - t0
        finally:
            os.environ.clear()
            os.environ.update(saved)
    if polls_single != polls_fanned:
        raise RuntimeError(f"fan-out polled {polls_fanned}, the single run {polls_single}")
    scope = f"{polls_single:,} polls, 50 ms latency, multiprocess executor"
    speedup = single_s / fanned_s
    return [
        Row("tick in one Dagster run (baseline)", single_s, "s", "", None, f"{scope}; one step"),
        Row(
            f"tick fanned out, {len(keys)} partition runs",
            fanned_s,
            "s",
            "",
            None,
            f"{scope}; {len(keys)} runs at once, one step process each",
        ),
        Row(
            "fan-out speed-up",
            speedup,
            "x",
            ">= 1.5",
            speedup >= 1.5,
            f"{os.cpu_count()} cores; wall time of the runs, process start-ups included",
        ),
        Row(
            "fan-out speed-up of the polling alone",
            poll_single_s / poll_fanned_s,
            "x",
            "",
            None,
            f"poll_s metadata: {poll_single_s:.1f} s in one run vs the slowest partition's {poll_fanned_s:.1f} s",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(*run_worker(*sys.argv[1:]))
        sys.exit(0)
    with tempfile.TemporaryDirectory(prefix="fccap-bench-fanout-") as tmp:
        from pipelines.bench import render

        print(render(bench_fanout(Path(tmp)), "fc-capacity bench: fan-out"))
