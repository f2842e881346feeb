"""`fccap`: reports and ad-hoc SQL over the history, the emulator, and the demo.

Every user-facing error is one line naming the problem and the fix, exit status 2
(tracebacks only with --debug).
"""

from __future__ import annotations

import difflib
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import duckdb

from pipelines.config import ConfigError, expand_targets, load_targets
from pipelines.output import FORMATS, render
from pipelines.reports import CHARTS, DAILY_REPORTS, list_reports
from pipelines.sqlrun import (
    REPORTS,
    connect,
    explain_sql_error,
    report_parameters,
    report_table,
    run_report,
    uses_prices,
    write_catalog,
)
from pipelines.storage.files import StorePath, as_root, atomic_write

__all__ = ["main"]

REPORT_FORMATS = (*FORMATS, "parquet", "png")


class _Time(click.ParamType):
    """ISO-8601 date or date-time; a value without a zone is taken as UTC."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date or time; use e.g. 2026-12-03 or 2026-12-03T12:00Z", param, ctx)
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class _Store(click.ParamType):
    """A store root that exists: a local directory, or s3://bucket/prefix holding objects (settings from
    the FCCAP_STORE_* variables). A mistyped root would otherwise read as an empty history (and be created)."""

    name = "store"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> StorePath:
        if not isinstance(value, str) or "://" not in value:
            path = click.Path(exists=True, file_okay=False, path_type=Path).convert(value, param, ctx)
            return as_root(path)
        try:
            root = as_root(value)
        except ConfigError as e:
            self.fail(str(e), param, ctx)
        if not root.exists():
            self.fail(
                f"{value} holds no objects (or its bucket does not exist); check the URI and FCCAP_STORE_ENDPOINT_URL "
                "(the first tick creates a new store)",
                param,
                ctx,
            )
        return root


def _data_option(fn: Any) -> Any:
    return click.option(
        "--store",
        envvar="FCCAP_STORE",
        default="data/store",
        show_default=True,
        type=_Store(),
        help="store root: a directory or s3://bucket/prefix (env FCCAP_STORE; FCCAP_STORE_ENDPOINT_URL etc.)",
    )(fn)


def _format_option(fn: Any) -> Any:
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)(fn)


@click.group()
@click.option("--debug", is_flag=True, help="show tracebacks")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """fc-capacity: capacity history of Alibaba Cloud Function Compute."""
    ctx.obj = {"debug": debug}


def _list_reports(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    rows = [("name", "grain (one row per ...)", "parameters", "png", "daily asset")]
    rows += [
        (
            r.name,
            r.grain.removeprefix("one row per "),
            " ".join(f"--{p}" for p in r.parameters) + (" --prices" if r.prices else ""),
            "yes" if r.name in CHARTS else "",
            "yes" if r.name in DAILY_REPORTS else "",
        )
        for r in list_reports()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    ctx.exit(0)


@cli.command()
@click.argument("name", required=False, type=click.Choice(sorted(REPORTS)))
@click.option(
    "--list",
    is_flag=True,
    is_eager=True,  # before --store is checked: listing needs no data
    expose_value=False,
    callback=_list_reports,
    help="list the reports: name, grain, parameters, and exit",
)
@click.option("--since", type=_Time(), help="start (inclusive), UTC")
@click.option("--until", type=_Time(), help="end (exclusive), UTC")
@click.option("--account", help="only this account id")
@click.option("--region", help="only this region")
@click.option("--service", help="only this service")
@click.option("--function", "function", help="only this function name")
@click.option(
    "--prices",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="price table CSV for cost-daily (default sql/prices.csv: example list prices)",
)
@click.option("--top", type=click.IntRange(1, 50), help="functions in the capacity-hourly PNG chart (default 8)")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="write to FILE (required for parquet and png)",
)
@_data_option
@click.option(
    "--format", "fmt", type=click.Choice(REPORT_FORMATS), default="table", show_default=True, help="output format"
)
def report(
    name: str | None,
    since: datetime | None,
    until: datetime | None,
    account: str | None,
    region: str | None,
    service: str | None,
    function: str | None,
    prices: Path | None,
    top: int | None,
    output: Path | None,
    store: StorePath,
    fmt: str,
) -> None:
    """Run a named report (see sql/), or list them with --list."""
    if name is None:
        raise click.UsageError("give a report NAME, or --list to see them")
    if since and until and since >= until:
        raise click.BadParameter("--since must be before --until", param_hint="--since/--until")
    if fmt in ("parquet", "png") and output is None:
        raise click.UsageError(f"--format {fmt} writes a file: add --output FILE")
    if fmt == "png" and name not in CHARTS:
        raise click.UsageError(f"report {name} has no chart; --format png works for: {', '.join(CHARTS)}")
    if top is not None and (fmt != "png" or name != "capacity-hourly"):
        raise click.UsageError("--top applies to --format png of capacity-hourly only")
    if prices is not None and not uses_prices(name):
        raise click.UsageError(f"report {name} does not use prices; --prices is for: cost-daily")
    given = {"since": since, "until": until, "account": account, "region": region, "service": service}
    given["function"] = function
    used = set(report_parameters(name))
    unused = [f"--{k}" for k, v in given.items() if v is not None and k not in used]
    if unused:
        raise click.UsageError(f"report {name} takes no {', '.join(unused)} (it takes: {', '.join(sorted(used))})")
    params = {k: v for k, v in given.items() if v is not None}
    if fmt == "parquet":
        assert output is not None
        data = report_table(store, name, params, prices=prices)
        atomic_write(data, output.resolve(), step="cli.report")
        click.echo(f"wrote {data.num_rows} rows to {output}", err=True)
        return
    frame = run_report(store, name, params, prices=prices)
    if frame.empty:
        _warn_unknown_filters(store, params)
    if fmt == "png":
        assert output is not None
        from pipelines.charts import save_png  # noqa: PLC0415 - matplotlib loads only for charts

        save_png(name, frame, output, top=top or 8)
        click.echo(f"wrote {CHARTS[name]} ({len(frame)} report rows) to {output}", err=True)
        return
    text = render(frame, fmt)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {len(frame)} rows to {output}", err=True)


_FILTER_COLUMNS = {"account": "account_id", "region": "region", "service": "service_name", "function": "function_name"}


def _warn_unknown_filters(store: StorePath, params: dict[str, object]) -> None:
    """An empty report with a filter the store never held is most likely a typo: say so (stderr)."""
    given = {k: str(v) for k, v in params.items() if k in _FILTER_COLUMNS}
    if not given:
        return
    with connect(store) as con:
        for key, value in given.items():
            column = _FILTER_COLUMNS[key]
            known = [r[0] for r in con.execute(SQL_KNOWN_VALUES[column]).fetchall() if r[0] is not None]
            if value not in known:
                close = difflib.get_close_matches(value, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                click.echo(f"warning: --{key} {value!r} matches nothing in the store{hint}", err=True)


SQL_KNOWN_VALUES = {
    "account_id": "select account_id from functions union select account_id from polls",
    "region": "select region from functions union select region from polls",
    "service_name": "select service_name from functions union select service_name from polls",
    "function_name": "select function_name from functions union select function_name from polls",
}


@cli.command()
@click.argument("statement")
@_data_option
@_format_option
def sql(statement: str, store: StorePath, fmt: str) -> None:
    """Run ad-hoc SQL with the views polls, instances and functions defined."""
    with connect(store) as con:
        try:
            frame = con.execute(statement).df()
        except (duckdb.CatalogException, duckdb.BinderException) as e:
            raise ValueError(explain_sql_error(con, e)) from e
    click.echo(render(frame, fmt))


@cli.command()
@click.option(
    "--out",
    default="data/catalog.duckdb",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the catalog file to write (replaced atomically: open readers keep the old one)",
)
@_data_option
def catalog(out: Path, store: StorePath) -> None:
    """Write a views-only DuckDB catalog of a store, for the DuckDB CLI, Python or a BI tool."""
    written = write_catalog(store, out)
    click.echo(f"catalog: {written}  (views only: open it read-only as README 'Querying the history' shows)")


@cli.command()
@click.option("--since", "since", required=True, type=_Time(), help="first UTC day to compact")
@click.option("--until", "until", required=True, type=_Time(), help="end (exclusive): compacts days before it")
@click.option(
    "--raw-retention-s",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="keep superseded files this long for in-flight readers",
)
@_data_option
def compact(since: datetime, until: datetime, raw_retention_s: float, store: StorePath) -> None:
    """Compact closed UTC days [--since, --until) outside Dagster (same code as the fc_history asset)."""
    from pipelines.storage.compactor import compact_day  # noqa: PLC0415 - only this command needs it

    first, end = since.date(), until.date()
    today = datetime.now(UTC).date()
    if end > today:
        raise click.BadParameter(f"only closed days can be compacted; use --until {today.isoformat()} or earlier")
    days = [first + timedelta(days=i) for i in range((end - first).days)]
    if not days:
        raise click.BadParameter("--since must be a day before --until", param_hint="--since/--until")
    totals = {"compacted": 0, "rows": 0, "removed": 0}
    with click.progressbar(
        days, label="compacting", item_show_func=lambda d: d and d.isoformat(), file=sys.stderr
    ) as bar:
        for day in bar:
            done, swept = compact_day(store, day, raw_retention_s=raw_retention_s)
            totals["compacted"] += sum(c.action == "compacted" for c in done)
            totals["rows"] += sum(c.rows for c in done if c.action == "compacted")
            totals["removed"] += len(swept.removed)
    click.echo(
        f"{len(days)} days: {totals['compacted']} table-days compacted ({totals['rows']} rows), "
        f"{totals['removed']} superseded files removed"
    )


@cli.group()
def targets() -> None:
    """Targets files."""


@targets.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_format_option
def targets_check(path: Path, fmt: str) -> None:
    """Validate a targets file and print the expanded targets (exit 1 when invalid)."""
    try:
        parsed = load_targets(path)
    except ConfigError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    click.echo(render(expand_targets(parsed), fmt))


@cli.command()
@click.option("--scenario", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="scenario YAML")
@click.option("--host", default="127.0.0.1", show_default=True, help="bind address (loopback unless told)")
@click.option("--port", default=9100, show_default=True, type=click.IntRange(0, 65535))
@click.option("--access-key-id", help="override the AccessKey id the emulator accepts")
@click.option("--access-key-secret", help="override the AccessKey secret the emulator accepts")
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="virtual time runs this many times faster than real time (60: a virtual minute per second)",
)
@click.option("--start", type=_Time(), help="virtual time at startup (default: now), UTC unless a zone is given")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    help="inject a fault, repeatable: KIND[,field=value...], e.g. 429,action=ListInstances,times=2,retry_after=1",
)
def emulator(
    scenario: Path | None,
    host: str,
    port: int,
    access_key_id: str | None,
    access_key_secret: str | None,
    speed: float,
    start: datetime | None,
    faults: tuple[str, ...],
) -> None:
    """Serve the FC emulator until interrupted.

    \b
    Fault kinds: 429 503 500 502 504 latency stall drop malformed_json truncated_json
    repeat_token rate_limit. Fields: action, service, function, qualifier (globs), p|probability,
    times, retry_after (s), retry_after_ms, seconds, rate, burst, code. Change them at run time
    with POST/GET/DELETE /_emulator/faults; counters at GET /_emulator/stats.
    """
    from pipelines.emulator import (  # noqa: PLC0415 - keeps `fccap sql` from importing the server stack
        AcceleratedClock,
        EmulatorServer,
        World,
        create_app,
        default_scenario,
        load_scenario,
        with_access_key,
    )
    from pipelines.emulator.faults import parse_fault_spec  # noqa: PLC0415 - as above

    try:
        fault_specs = [parse_fault_spec(spec) for spec in faults]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--fault") from None
    world_scenario = load_scenario(scenario) if scenario else default_scenario()
    if access_key_id or access_key_secret:
        if not (access_key_id and access_key_secret):
            raise click.UsageError("give both --access-key-id and --access-key-secret")
        world_scenario = with_access_key(world_scenario, access_key_id, access_key_secret)
    clock = AcceleratedClock(origin=start, factor=speed)
    app = create_app(World(world_scenario), clock, faults=fault_specs)
    server = EmulatorServer(app, host=host, port=port)
    server.start()
    click.echo(f"FC emulator (APIs 2021-04-06, legacy 2016-08-15, 2023-03-30) at {server.url}")
    for account in world_scenario.accounts:
        for key in account.access_keys:
            click.echo(
                f"  account {account.account_id} regions {','.join(account.regions)} "
                f"AccessKey {key.access_key_id} / {key.access_key_secret}  (fake, emulator only)"
            )
    if speed != 1.0 or start is not None:
        click.echo(f"  virtual time {clock.now().isoformat(timespec='seconds')}, {speed:g}x real time")
    for spec in app.state.faults.faults:
        click.echo(f"  fault {spec.to_dict()}")
    click.echo("Ctrl-C to stop.")
    # Handlers of our own for both: a process started in the background by a script inherits SIGINT
    # ignored, and Python then never raises KeyboardInterrupt, so Ctrl-C (or kill -INT) would not stop it.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()


@cli.command("emulator-truth")
@click.option("--scenario", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="scenario YAML")
@click.option("--at", type=_Time(), help="one minute, UTC unless a zone is given")
@click.option("--since", type=_Time(), help="range start (inclusive)")
@click.option("--until", type=_Time(), help="range end (exclusive)")
@click.option("--every", default=1, show_default=True, type=click.IntRange(1, 10_080), help="minutes between points")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
def emulator_truth(
    scenario: Path | None,
    at: datetime | None,
    since: datetime | None,
    until: datetime | None,
    every: int,
    fmt: str,
) -> None:
    """Print the emulator's ground truth (every live instance) at --at or over --since/--until, offline."""
    from pipelines.emulator import World, default_scenario, load_scenario  # noqa: PLC0415 - see emulator
    from pipelines.emulator.truth import render_truth, truth_records, truth_times  # noqa: PLC0415

    if at is None and (since is None or until is None):
        raise click.UsageError("give --at, or both --since and --until")
    if at is not None and (since is not None or until is not None):
        raise click.UsageError("give either --at or --since/--until, not both")
    try:
        times = truth_times(at, since, until, timedelta(minutes=every))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since/--until/--every") from None
    world = World(load_scenario(scenario) if scenario else default_scenario())
    click.echo(render_truth(truth_records(world, times), fmt))


@cli.command()
@click.option(
    "--data-dir",
    envvar="FCCAP_DATA",
    default="data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option("--ticks", default=36, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--every-minutes", default=10, show_default=True, type=click.IntRange(1, 1440))
def demo(data_dir: Path, ticks: int, every_minutes: int) -> None:
    """Emulator + Dagster runs of the tick schedule + a capacity report."""
    from pipelines.demo import run_demo  # noqa: PLC0415 - Dagster loads only for the demo

    run_demo(data_dir, ticks, timedelta(minutes=every_minutes), click.echo)


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as e:
        if debug:
            raise
        # One line, naming the problem; click's usage block is one `--help` away.
        hint = ""
        if isinstance(e, click.UsageError) and e.ctx is not None:
            hint = f" (see: {e.ctx.command_path} --help)"
        click.echo(f"error: {e.format_message()}{hint}", err=True)
        sys.exit(e.exit_code)
    except (ConfigError, duckdb.Error, OSError, ValueError) as e:
        if debug:
            raise
        click.echo(f"error: {_store_error(e) or (str(e).splitlines()[0] if str(e) else type(e).__name__)}", err=True)
        sys.exit(2)
    except Exception as e:
        line = _store_error(e)
        if debug or line is None:
            raise
        click.echo(f"error: {line}", err=True)
        sys.exit(2)


_STORE_FIXES = {
    "NoCredentialsError": "no credentials for the object store; fix: set AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
    "EndpointConnectionError": "cannot reach the object store at {endpoint}; fix: check FCCAP_STORE_ENDPOINT_URL",
    "NoSuchBucket": "the bucket of the store does not exist; fix: check FCCAP_STORE (s3://bucket/prefix)",
    "InvalidAccessKeyId": "the object store does not know this AccessKey; fix: check AWS_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "the object store refused the signature; fix: check AWS_SECRET_ACCESS_KEY",
    "AccessDenied": "the object store denied access; fix: grant this identity read/write/list on the bucket",
}


def _store_error(error: BaseException) -> str | None:
    """One line for an object-store failure anywhere in the exception chain (botocore has its own tree)."""
    seen: BaseException | None = error
    while seen is not None:
        if type(seen).__module__.startswith(("botocore", "aiobotocore")):
            response = getattr(seen, "response", None)
            code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
            fix = _STORE_FIXES.get(code or type(seen).__name__)
            endpoint = getattr(seen, "kwargs", {}).get("endpoint_url", "the endpoint")
            return fix.format(endpoint=endpoint) if fix else f"object store: {type(seen).__name__}: {seen}"
        seen = seen.__cause__ or seen.__context__
    return None
