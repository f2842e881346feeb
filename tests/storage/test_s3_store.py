"""An s3:// store root against a real S3 server (moto, on 127.0.0.1): ticks, every report, the daily
report asset, compaction with re-runs, retention, the latest inventory and the CLI give the same
answers as the same history on disk; each file is one PutObject with its Content-MD5, and no
temporary object ever exists."""

import dataclasses
import hashlib
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from assets.reports import report_assets
from pipelines.cli import main
from pipelines.normalise import instances_frame, polls_frame
from pipelines.reports import daily_report_path
from pipelines.resources import StoreResource
from pipelines.sqlrun import REPORTS, connect, report_table, run_report
from pipelines.storage.compactor import compact_day
from pipelines.storage.files import as_root, fingerprint, read_table
from pipelines.storage.retention import apply_retention
from pipelines.storage.schemas import SEED_DT, SEEDS
from pipelines.storage.store import ParquetStore
from tests.reports.synthetic import FUNCTIONS, ticks, write_history
from tests.storage.test_crash import _expected, _outcomes

# Few files on purpose: every view query lists and opens each file over HTTP.
HISTORY = ticks(datetime(2026, 12, 1, 22, 0, tzinfo=UTC), 4, 60)  # 22:00 and 23:00 on Dec 1, 00:00 and 01:00 on Dec 2
DAYS = ("2026-12-01", "2026-12-02")
FAIL_AT = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def _keys(root: str) -> list[str]:
    r = as_root(root)
    prefix = r.path + "/"
    return sorted(k.removeprefix(prefix) for k in r.fs.find(r.path))


def _seen(root: Any) -> tuple[list[tuple], list[tuple]]:
    with connect(root) as con:
        polls = con.execute(
            "select tick_at, function_name, qualifier, instance_count from polls order by all"
        ).fetchall()
        inst = con.execute("select tick_at, function_name, instance_id from instances order by all").fetchall()
    return polls, inst


def _write(root: Any, at: datetime, outcomes: list | None = None) -> None:
    o = outcomes if outcomes is not None else _outcomes(at)
    ParquetStore(root).write_tick(at, polls_frame(o, at, 60), instances_frame(o, at))


def _reports(root: Any) -> dict[str, pd.DataFrame]:
    return {name: run_report(root, name, {}) for name in REPORTS}


def test_every_report_on_s3_equals_the_same_history_on_disk_before_and_after_compaction(
    s3_root: str, tmp_path: Path
) -> None:
    local = tmp_path / "store"
    write_history(local, HISTORY, fail_at=FAIL_AT)
    write_history(s3_root, HISTORY, fail_at=FAIL_AT)  # type: ignore[arg-type]  # a URI is a root too
    expected = _reports(local)
    assert sum(len(f) > 0 for f in expected.values()) == len(REPORTS)  # every report has rows to compare
    got = _reports(s3_root)
    for name in REPORTS:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    gaps = got["gaps"]
    assert list(zip(gaps["tick_at"], gaps["polls_failed"], strict=True)) == [(pd.Timestamp(FAIL_AT), 1)]

    for day in DAYS:
        done, _ = compact_day(s3_root, day, raw_retention_s=0)
        assert {c.table: c.action for c in done} == {
            "instances": "compacted",
            "polls": "compacted",
            "functions": ("compacted" if day == DAYS[0] else "empty"),
        }
    assert [k for k in _keys(s3_root) if "1970-01-01" not in k] == [
        "functions/dt=2026-12-01/compacted-g000001.parquet",
        "instances/dt=2026-12-01/compacted-g000001.parquet",
        "instances/dt=2026-12-02/compacted-g000001.parquet",
        "polls/dt=2026-12-01/compacted-g000001.parquet",
        "polls/dt=2026-12-01/hourly-g000001.parquet",
        "polls/dt=2026-12-01/service-g000001.parquet",
        "polls/dt=2026-12-02/compacted-g000001.parquet",
        "polls/dt=2026-12-02/hourly-g000001.parquet",
        "polls/dt=2026-12-02/service-g000001.parquet",
    ]
    after = _reports(s3_root)
    for name in REPORTS:
        pd.testing.assert_frame_equal(after[name], expected[name], obj=f"{name} after compaction")
    # The inventory survives compaction of its day.
    inventory = ParquetStore(s3_root).latest_inventory()
    assert inventory is not None
    assert sorted(inventory["function_name"]) == sorted(fn for _, fn, *_ in FUNCTIONS)


def test_daily_report_asset_writes_its_file_on_s3(s3_root: str) -> None:
    write_history(s3_root, HISTORY, fail_at=FAIL_AT)  # type: ignore[arg-type]
    [asset] = [a for a in report_assets if a.key.path[0] == "report_gaps_daily"]
    result = dg.materialize([asset], partition_key=DAYS[0], resources={"store": StoreResource(root=s3_root)})
    assert result.success
    path = daily_report_path(s3_root, "gaps", date(2026, 12, 1))
    assert str(path) == f"{s3_root}/reports/gaps/dt=2026-12-01/part.parquet"
    since = datetime(2026, 12, 1, tzinfo=UTC)
    expected = report_table(s3_root, "gaps", {"since": since, "until": since + timedelta(days=1)})
    assert read_table(path).equals(expected)
    assert expected.column("tick_at").to_pylist() == [FAIL_AT]


def test_a_tick_is_two_single_puts_with_content_md5_and_no_temporary_object(s3_root: str) -> None:
    store = ParquetStore(s3_root)
    store.ensure()
    fs = as_root(s3_root).fs
    calls: list[tuple[str, bool]] = []

    def record(model: Any, params: dict, **_: Any) -> None:
        calls.append((model.name, "Content-MD5" in params.get("headers", {})))

    fs.connect()  # the client the store's writes go through (fsspec caches the filesystem)
    fs.s3.meta.events.register("before-call.s3", record)
    try:
        at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
        _write(s3_root, at)
    finally:
        fs.s3.meta.events.unregister("before-call.s3", record)
    puts = [c for c in calls if c[0] != "HeadObject"]
    assert puts == [("PutObject", True), ("PutObject", True)]  # instances, then polls: no copy, no multipart
    assert [k for k in _keys(s3_root) if "1970-01-01" not in k] == [
        "instances/dt=2026-12-03/tick-20261203T120000Z.parquet",
        "polls/dt=2026-12-03/tick-20261203T120000Z.parquet",
    ]
    assert _seen(s3_root) == _expected([at])


def test_rerun_after_compaction_is_seen_and_compacted_again_by_etag(s3_root: str) -> None:
    day_ticks = [datetime(2026, 12, 3, 10, m, tzinfo=UTC) for m in range(3)]
    for at in day_ticks:
        _write(s3_root, at)
    done, swept = compact_day(s3_root, "2026-12-03", raw_retention_s=3600)
    assert [c.generation for c in done[:2]] == [1, 1]
    assert swept.kept_for_readers == 6 and not swept.removed  # in-flight readers keep their files
    assert _seen(s3_root) == _expected(day_ticks)

    # Re-run the middle tick with other readings: same name, same size class, new content.
    rerun = day_ticks[1]
    other = _outcomes(day_ticks[0] + timedelta(minutes=3))  # different counts than the original tick
    other = [dataclasses.replace(o, observed_at=rerun + timedelta(seconds=1)) for o in other]
    _write(s3_root, rerun, other)
    raw = as_root(s3_root) / "polls" / "dt=2026-12-03" / "tick-20261203T100100Z.parquet"
    name, size, etag = fingerprint(raw)
    assert (name, size) == (raw.name, len(raw.read_bytes()))
    assert etag == hashlib.md5(raw.read_bytes(), usedforsecurity=False).hexdigest()  # a single PUT's ETag

    def counts(polls: list[tuple]) -> dict:
        return {(at, fn): n for at, fn, _, n in polls}

    before = counts(_expected(day_ticks)[0])
    rerun_a = len(next(o for o in other if o.target.function_name == "a").instances)
    assert rerun_a != before[(rerun, "a")]
    # Until the next compaction the generation's copy of a tick it holds is what readers see (views.sql).
    assert counts(_seen(s3_root)[0]) == before

    # The new ETag marks the re-run file as not consumed: the next generation takes its rows.
    done, _ = compact_day(s3_root, "2026-12-03", raw_retention_s=0)
    assert {c.table: (c.action, c.generation, c.files_in) for c in done[:2]} == {
        "instances": ("compacted", 2, 1),
        "polls": ("compacted", 2, 1),
    }
    assert counts(_seen(s3_root)[0]) == {**before, (rerun, "a"): rerun_a, (rerun, "c"): 2 * rerun_a, (rerun, "b"): 0}
    assert [k for k in _keys(s3_root) if "2026-12-03" in k] == [
        "instances/dt=2026-12-03/compacted-g000002.parquet",
        "polls/dt=2026-12-03/compacted-g000002.parquet",
        "polls/dt=2026-12-03/hourly-g000002.parquet",
        "polls/dt=2026-12-03/service-g000002.parquet",
    ]
    done, _ = compact_day(s3_root, "2026-12-03", raw_retention_s=0)
    assert [c.action for c in done[:2]] == ["up-to-date", "up-to-date"]


def test_retention_drops_a_day_on_s3_and_compaction_does_not_bring_it_back(s3_root: str) -> None:
    old = [datetime(2026, 12, 3, 23, 58, tzinfo=UTC), datetime(2026, 12, 3, 23, 59, tzinfo=UTC)]
    new = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    for at in [*old, new]:
        _write(s3_root, at)
    first = apply_retention(s3_root, date(2026, 12, 4), grace_s=3600)
    assert first.tombstoned == ["instances/dt=2026-12-03", "polls/dt=2026-12-03"]
    assert _seen(s3_root) == _expected([new])  # the tombstone hides the day at once
    assert apply_retention(s3_root, date(2026, 12, 4), grace_s=3600).waiting == first.tombstoned
    assert apply_retention(s3_root, date(2026, 12, 4), grace_s=0).purged == first.tombstoned
    assert not [k for k in _keys(s3_root) if "2026-12-03" in k]
    assert [k for k in _keys(s3_root) if "dt=1970-01-01/" in k] == sorted(  # the seeds stay
        f"{table}/dt={SEED_DT}/{name}" for (table, _), (name, _) in SEEDS.items()
    )
    compact_day(s3_root, "2026-12-03", raw_retention_s=0)
    assert _seen(s3_root) == _expected([new])


def test_store_resource_settings_reach_the_store(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.storage.conftest import make_bucket

    root = f"s3://{make_bucket(s3_env)}/r"
    monkeypatch.delenv("FCCAP_STORE_ENDPOINT_URL")
    resource = StoreResource(root=root, endpoint_url=s3_env, addressing_style="path", region="us-east-1")
    _write(resource.store().root, datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    assert _seen(resource.store().root) == _expected([datetime(2026, 12, 3, 12, 0, tzinfo=UTC)])


def _fccap(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["fccap", *args])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_reads_an_s3_store_and_refuses_a_missing_one(
    s3_root: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_history(s3_root, HISTORY, fail_at=FAIL_AT)  # type: ignore[arg-type]
    code, out, _ = _fccap(monkeypatch, capsys, "sql", "select count(*) as n from polls", "--store", s3_root)
    assert code == 0 and out.split()[-1] == str(len(HISTORY) * len(FUNCTIONS))
    code, out, _ = _fccap(monkeypatch, capsys, "report", "gaps", "--store", s3_root, "--format", "csv")
    assert code == 0 and "polls failed" in out
    code, _, err = _fccap(monkeypatch, capsys, "sql", "select 1", "--store", s3_root + "-typo")
    assert code == 2
    assert "holds no objects" in err and "FCCAP_STORE_ENDPOINT_URL" in err
    code, _, err = _fccap(monkeypatch, capsys, "sql", "select 1", "--store", "gs://bucket/x")
    assert code == 2 and "only s3:// URIs" in err
