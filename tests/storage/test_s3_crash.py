"""Crash safety and reader atomicity on an object store (moto's S3 server on 127.0.0.1).

A child process writing to an s3:// root is SIGKILLed at every step of a tick write, a
compaction and a retention run, and once in the middle of the upload of a tick's polls file (a
proxy passes half the body on, then holds it): the views then show exactly the committed rows,
and the next run repairs. Readers racing a writer that replaces an object read the old or the
new bytes, never a mix, and a key never lists before its whole object can be read.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.normalise import instances_frame, polls_frame
from pipelines.storage.compactor import compact_day
from pipelines.storage.files import as_root, atomic_write, read_table, register_filesystem
from pipelines.storage.retention import apply_retention
from pipelines.storage.store import table_from_frame
from tests.storage.conftest import make_bucket
from tests.storage.test_crash import CHILD, DAY, LATE, NEXT_DAY_TICK, TICKS, _expected, _outcomes
from tests.storage.test_s3_store import _keys, _seen, _write

TICK_STEPS = {
    "write.instances.encoded": False,
    "write.instances.committed": False,  # instances without their polls file are not a committed tick
    "write.polls.encoded": False,
    "write.polls.committed": True,
}
# The commit points and deletes; tests/storage/test_crash.py walks every step on disk.
COMPACT_STEPS = ["compact.instances.committed", "compact.polls.encoded", "compact.polls.committed", "sweep.removed_one"]
RETENTION_STEPS = ["retention.instances.committed", "retention.removed_one"]
CASES = (
    [("tick", s) for s in TICK_STEPS]
    + [("compact", s) for s in COMPACT_STEPS]
    + [("retention", s) for s in RETENTION_STEPS]
)
COMPACTED = [
    "instances/dt=2026-12-03/compacted-g000001.parquet",
    "polls/dt=2026-12-03/compacted-g000001.parquet",
    "polls/dt=2026-12-03/hourly-g000001.parquet",
    "polls/dt=2026-12-03/service-g000001.parquet",
]


def _day_keys(root: str) -> list[str]:
    return [k for k in _keys(root) if f"dt={DAY}/" in k]


@pytest.fixture(scope="module")
def base(s3_env: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A bucket whose ``base`` prefix holds three ticks of DAY and one of the next day; the LATE
    tick's frames as local Parquet for the child to write."""
    bucket = make_bucket(s3_env)
    root = f"s3://{bucket}/base"
    for at in [*TICKS, NEXT_DAY_TICK]:
        _write(root, at)
    payload = tmp_path_factory.mktemp("payload")
    pq.write_table(table_from_frame(polls_frame(_outcomes(LATE), LATE, 60), "polls"), payload / "polls.parquet")
    pq.write_table(table_from_frame(instances_frame(_outcomes(LATE), LATE), "instances"), payload / "instances.parquet")
    return root, payload


def _copy(root: str, name: str) -> str:
    src = as_root(root)
    dst = src.parent / name
    src.fs.copy(src.path, dst.path, recursive=True)
    return str(dst)


def _child(
    action: str, root: str, payload: Path, env: dict[str, str], *, stderr: int = subprocess.PIPE
) -> subprocess.Popen:
    args = {"tick": [str(payload), LATE.isoformat()], "compact": [DAY], "retention": ["2026-12-04"]}[action]
    return subprocess.Popen(
        [sys.executable, str(CHILD), action, root, *args], env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )


def _run_child(base: tuple[str, Path], action: str, step: str) -> tuple[str, int]:
    root = _copy(base[0], f"{action}-{step}")
    proc = _child(action, root, base[1], {**os.environ, "FCCAP_TEST_HOOKS": "1", "FCCAP_CRASH_AT": step})
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]  # it really died at that step
    return root, proc.returncode


@pytest.fixture(scope="module")
def crashed(base: tuple[str, Path]) -> dict[tuple[str, str], str]:
    """Every child at once, each on its own copy of the store (the slow part is Python start-up)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case: pool.submit(_run_child, base, *case) for case in CASES}
        return {case: f.result()[0] for case, f in futures.items()}


@pytest.mark.parametrize("step", list(TICK_STEPS), ids=list(TICK_STEPS))
def test_killed_tick_write_on_s3_shows_committed_ticks_only(crashed: dict, step: str) -> None:
    root = crashed[("tick", step)]
    committed = TICK_STEPS[step]
    assert _seen(root) == _expected([*TICKS, *([LATE] if committed else []), NEXT_DAY_TICK])
    _write(root, LATE)  # the next run re-runs the tick: replacing, not duplicating
    compact_day(root, DAY, raw_retention_s=0, temp_max_age_s=0)
    assert _seen(root) == _expected([*TICKS, LATE, NEXT_DAY_TICK])
    assert _day_keys(root) == COMPACTED


@pytest.mark.parametrize("step", COMPACT_STEPS, ids=COMPACT_STEPS)
def test_killed_compaction_on_s3_never_loses_or_doubles_a_row(crashed: dict, step: str) -> None:
    root = crashed[("compact", step)]
    assert _seen(root) == _expected([*TICKS, NEXT_DAY_TICK])
    compact_day(root, DAY, raw_retention_s=0, temp_max_age_s=0)
    assert _seen(root) == _expected([*TICKS, NEXT_DAY_TICK])
    assert _day_keys(root) == COMPACTED


@pytest.mark.parametrize("step", RETENTION_STEPS, ids=RETENTION_STEPS)
def test_killed_retention_on_s3_drops_a_day_whole_or_not_at_all(crashed: dict, step: str) -> None:
    root = crashed[("retention", step)]
    polls, inst = _seen(root)
    full = _expected([*TICKS, NEXT_DAY_TICK])
    kept = _expected([NEXT_DAY_TICK])
    assert polls in (full[0], kept[0])
    assert inst in (full[1], kept[1])
    for _ in range(2):  # tombstone (if not yet), then purge
        apply_retention(root, date(2026, 12, 4), grace_s=0)
    assert _seen(root) == kept
    assert _day_keys(root) == []


class _StallingProxy:
    """TCP proxy to the S3 server that passes on only the first half of the body of one PUT
    (the first whose request line contains ``marker``), then holds the rest until closed."""

    def __init__(self, upstream: str, marker: bytes) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.marker = marker
        self.stalled = threading.Event()
        self.closing = threading.Event()
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                return
            self.sockets += [client, server]
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        # Headers go on at once (a client may wait for "100 Continue" before it sends the body).
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = client.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    key, _, value = line.partition(b":")
                    if key.strip().lower() == b"content-length":
                        length = int(value.strip())
                request_line = head.split(b"\r\n", 1)[0]
                stall = request_line.startswith(b"PUT ") and self.marker in request_line and not self.stalled.is_set()
                limit = length // 2 if stall else length
                server.sendall(head + b"\r\n\r\n")
                sent = 0
                while sent < length:
                    if not buf:
                        buf = client.recv(65536)
                        if not buf:
                            return
                    chunk, buf = buf[: length - sent], buf[length - sent :]
                    if stall and sent + len(chunk) >= limit:
                        server.sendall(chunk[: limit - sent])
                        self.stalled.set()
                        self.closing.wait()
                        return
                    server.sendall(chunk)
                    sent += len(chunk)
        except OSError:
            return

    def close(self) -> None:
        self.closing.set()
        self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def test_writer_killed_mid_upload_leaves_no_object(base: tuple[str, Path], s3_env: str) -> None:
    root = _copy(base[0], "mid-upload")
    name = "tick-20261203T235900Z.parquet"
    proxy = _StallingProxy(s3_env, f"/polls/dt%3D{DAY}/{name}".encode())  # the key as sent, '=' encoded
    try:
        env = {**os.environ, "FCCAP_STORE_ENDPOINT_URL": proxy.url}
        proc = _child("tick", root, base[1], env, stderr=subprocess.DEVNULL)
        assert proxy.stalled.wait(60), "the polls upload never started"
        time.sleep(0.2)  # the half body is on the server's socket
        proc.kill()
        proc.wait(30)
    finally:
        proxy.close()
    # The instances file was committed before the polls upload began; the polls object never was.
    keys = _day_keys(root)
    assert f"instances/dt={DAY}/{name}" in keys
    assert f"polls/dt={DAY}/{name}" not in keys
    assert _seen(root) == _expected([*TICKS, NEXT_DAY_TICK])
    _write(root, LATE)
    assert _seen(root) == _expected([*TICKS, LATE, NEXT_DAY_TICK])


def _big(rows: int, seed: int) -> pa.Table:
    # Random values compress poorly: megabytes, so an upload and a read each take many packets.
    values = np.random.default_rng(seed).integers(0, 2**40, rows)  # sums fit in int64
    return pa.table({"v": values})


def _version(t: pa.Table) -> tuple[int, int]:
    return t.num_rows, int(pc.sum(t.column("v")).as_py())


def test_readers_racing_a_replacing_writer_see_one_whole_version(s3_root: str) -> None:
    tables = {1: _big(400_000, 1), 2: _big(50_000, 2)}
    versions = {_version(t) for t in tables.values()}
    path = as_root(s3_root) / "polls" / "dt=2026-12-03" / "tick-20261203T120000Z.parquet"
    atomic_write(tables[1], path, step="test")
    done = threading.Event()
    seen: dict[str, list[tuple[int, int]]] = {"arrow": [], "duckdb": []}
    refused: list[str] = []

    def writer() -> None:
        try:
            for i in range(8):
                atomic_write(tables[2 if i % 2 == 0 else 1], path, step="test")
                time.sleep(0.3)  # windows in which a read can finish
        finally:
            done.set()

    def arrow_reader() -> None:
        while not done.is_set():
            try:
                seen["arrow"].append(_version(read_table(path)))
            except OSError as e:  # the object changed between two ranged reads: refused, never mixed
                refused.append(type(e).__name__)

    def duckdb_reader() -> None:
        con = duckdb.connect()
        register_filesystem(con, path)
        while not done.is_set():
            try:
                row = con.execute("select count(*), sum(v)::hugeint from read_parquet(?)", [str(path)]).fetchone()
            except duckdb.Error as e:
                refused.append(type(e).__name__)
                continue
            seen["duckdb"].append((int(row[0]), int(row[1])) if row else (-1, -1))
        con.close()

    threads = [threading.Thread(target=f) for f in (writer, arrow_reader, duckdb_reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert done.is_set()
    assert all(seen.values()), refused  # both readers finished reads while the object was replaced
    for reader, got in seen.items():
        assert set(got) <= versions, reader  # every read is one whole version, bit for bit


def test_a_new_key_lists_only_once_its_whole_object_is_readable(s3_root: str) -> None:
    table = _big(400_000, 3)
    directory = as_root(s3_root) / "polls" / "dt=2026-12-04"
    fs = directory.fs
    done = threading.Event()
    read: dict[str, tuple[int, int]] = {}

    def writer() -> None:
        try:
            for i in range(6):
                atomic_write(table, directory / f"tick-20261204T00{i:02d}00Z.parquet", step="test")
        finally:
            done.set()

    def lister() -> None:
        deadline = time.monotonic() + 120
        while (not done.is_set() or len(read) < 6) and time.monotonic() < deadline:
            for key in fs.ls(directory.path, refresh=True) if fs.exists(directory.path) else []:
                if key not in read:
                    with fs.open(key, "rb") as fh:  # listed: so it must read whole, at once
                        read[key] = _version(pq.read_table(fh))

    threads = [threading.Thread(target=f) for f in (writer, lister)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert len(read) == 6
    assert set(read.values()) == {_version(table)}
