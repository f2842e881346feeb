"""A bounded soak: >= 20,000 ListInstances calls through ONE client (keep-alive) against the emulator
with faults switched on, watching for leaked connections and memory growth.

The emulator runs in its own process (``fccap emulator --fault ...``); this process is the client.
Figures: requests made, ok / recorded failures, throughput, the most sockets this process held
open at once (must stay <= the pool size), and RSS growth between the first and last quarter.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from pipelines.collect import PollTarget, open_session, poll_all
from pipelines.config import parse_targets
from pipelines.fc.client import RetryPolicy
from pipelines.fc.signing import Credentials

__all__ = ["SoakResult", "run_soak"]

SMALL = Path(__file__).resolve().parent / "emulator" / "scenarios" / "small.yaml"
FAULTS = (
    "500,p=0.01",
    "503,p=0.01,retry_after_ms=5",
    "429,p=0.01,retry_after=0",
    "drop,p=0.002",
    "latency,seconds=0.002",
)


@dataclass(frozen=True)
class SoakResult:
    requests: int
    ok: int
    failed: int
    seconds: float
    max_open_sockets: int
    pool_size: int
    rss_first_quarter_mb: float
    rss_last_quarter_mb: float

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_last_quarter_mb - self.rss_first_quarter_mb


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_listening(port: int, deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"emulator did not listen on 127.0.0.1:{port}")


def _targets(scenario: Path) -> tuple[str, str, list[tuple[str, str]], str, str]:
    from pipelines.emulator import load_scenario  # noqa: PLC0415 - only the soak needs the scenario model

    sc = load_scenario(scenario)
    account = sc.accounts[0]
    key = account.access_keys[0]
    functions = [(s.name, f.name) for s in sc.services if s.account_id == account.account_id for f in s.functions]
    return account.account_id, account.regions[0], functions, key.access_key_id, key.access_key_secret


async def _soak(url: str, requests: int, concurrency: int, scenario: Path) -> SoakResult:
    account, region, functions, ak, sk = _targets(scenario)
    targets = parse_targets(
        {"targets": [{"account_id": account, "regions": [region], "endpoint": url, "rate_limit": 10_000}]}
    )
    me = psutil.Process()
    plan = [PollTarget(account, region, svc, fn, "LATEST") for svc, fn in functions]
    batch = [plan[i % len(plan)] for i in range(1000)]
    rss: list[float] = []
    max_sockets = 0
    ok = failed = 0
    started = time.perf_counter()
    retry = RetryPolicy(attempts=3, base_s=0.01, max_backoff_s=0.05, deadline_s=10)
    async with open_session(targets, lambda: Credentials(ak, sk), concurrency=concurrency, retry=retry) as session:
        for _ in range(requests // len(batch)):
            outcomes = await poll_all(session, batch)
            ok += sum(o.ok for o in outcomes)
            failed += sum(not o.ok for o in outcomes)
            rss.append(me.memory_info().rss / 2**20)
            max_sockets = max(max_sockets, sum(1 for c in me.net_connections(kind="tcp") if c.raddr))
    seconds = time.perf_counter() - started
    quarter = max(1, len(rss) // 4)
    return SoakResult(
        requests=ok + failed,
        ok=ok,
        failed=failed,
        seconds=seconds,
        max_open_sockets=max_sockets,
        pool_size=concurrency,
        rss_first_quarter_mb=sum(rss[:quarter]) / quarter,
        rss_last_quarter_mb=sum(rss[-quarter:]) / quarter,
    )


def run_soak(requests: int = 20_000, concurrency: int = 32, scenario: Path = SMALL) -> SoakResult:
    port = _free_port()
    cmd = [
        sys.executable,
        "-c",
        "from pipelines.cli import main; main()",
        "emulator",
        "--scenario",
        str(scenario),
        "--port",
        str(port),
    ]
    for fault in FAULTS:
        cmd += ["--fault", fault]
    # A fixed argv built from this interpreter and this package's own paths.
    emulator = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # noqa: S603
    try:
        _wait_until_listening(port)
        return asyncio.run(_soak(f"http://127.0.0.1:{port}", requests, concurrency, scenario))
    finally:
        os.killpg(emulator.pid, signal.SIGTERM)
        emulator.wait(timeout=30)


if __name__ == "__main__":
    result = run_soak(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
    print(result, f"rss_growth_mb={result.rss_growth_mb:.1f}")
