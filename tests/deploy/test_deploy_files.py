"""The production setup in deploy/: the files load, validate against Dagster's own schemas, name
things that exist, and the run queue they configure keeps the tick within its limits (C21)."""

import re
import shutil
import tomllib
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.test_utils import create_run_for_test
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster_docker import DockerRunLauncher

from assets.partitions import ACCOUNT_TAG, TARGET_TAG
from pipelines.schedules import fc_tick_job, target_tags

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PG_ENV = {"DAGSTER_PG_USERNAME": "u", "DAGSTER_PG_PASSWORD": "p", "DAGSTER_PG_HOST": "h", "DAGSTER_PG_DB": "d"}


def _instance_yaml() -> dict:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"))


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text(encoding="utf-8"))


def test_dagster_yaml_validates_against_the_instance_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["storage"]["postgres"]["postgres_db"]["db_name"] == {"env": "DAGSTER_PG_DB"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # The run launcher's own config schema (dagster-docker), and its module and class exist.
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", DockerRunLauncher.__name__)
    result = process_config(DockerRunLauncher.config_type(), launcher["config"])
    assert result.success, result.errors
    # The storage class named by `storage: postgres` is importable (dagster-postgres is installed).
    import dagster_postgres  # noqa: F401


def test_run_queue_limits_each_target_and_caps_backfills() -> None:
    runs = _instance_yaml()["concurrency"]["runs"]
    limits = {(lim["key"], str(lim.get("value"))): lim["limit"] for lim in runs["tag_concurrency_limits"]}
    assert limits[(TARGET_TAG, "{'applyLimitPerUniqueValue': True}")] == 1
    derived = limits[("dagster/backfill", "None")] + limits[("fccap/kind", "history")]
    assert derived < runs["max_concurrent_runs"] / 2  # most slots stay for ticks
    # The tick job's runs carry what the queue keys on.
    assert fc_tick_job.tags["dagster/priority"] == "10"
    assert target_tags("1234567890/cn-hangzhou") == {ACCOUNT_TAG: "1234567890", TARGET_TAG: "1234567890/cn-hangzhou"}


def _tick_tags(key: str) -> dict[str, str]:
    return {**fc_tick_job.tags, **target_tags(key)}


def _run(instance: dg.DagsterInstance, job: str, status: DagsterRunStatus, tags: dict[str, str]) -> DagsterRun:
    repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("fc-capacity"), "__repository__")
    origin = RemoteJobOrigin(repository, job)
    return create_run_for_test(instance, job, status=status, tags=tags, remote_job_origin=origin)


@pytest.mark.parametrize("busy", [pytest.param(False, id="idle-queue"), pytest.param(True, id="backfill-running")])
def test_the_daemon_dequeues_ticks_first_and_one_per_target(busy: bool) -> None:
    """Dagster's own dequeue pass (QueuedRunCoordinatorDaemon) over the deploy file's queue settings:
    a second tick of a target that is still running waits, ticks of other targets go first, and a
    large backfill queued earlier gets no more than its share."""
    settings = _instance_yaml()
    overrides = {"run_coordinator": settings["run_coordinator"], "concurrency": settings["concurrency"]}
    max_runs = settings["concurrency"]["runs"]["max_concurrent_runs"]
    with dg.instance_for_test(overrides=overrides) as instance:
        keys = [f"1234567890/{r}" for r in ("cn-hangzhou", "cn-shanghai")] + ["2222222222/cn-hangzhou"]
        _run(instance, "fc_tick_job", DagsterRunStatus.STARTED, _tick_tags(keys[0]))
        if busy:
            for _ in range(4):
                _run(instance, "__ASSET_JOB", DagsterRunStatus.STARTED, {"dagster/backfill": "old"})
        # A year of compaction and reports queued before the minute's ticks.
        backfill = [
            _run(instance, "__ASSET_JOB", DagsterRunStatus.QUEUED, {"dagster/backfill": "b1"}).run_id for _ in range(30)
        ]
        ticks = {key: _run(instance, "fc_tick_job", DagsterRunStatus.QUEUED, _tick_tags(key)) for key in keys}
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        dequeued = daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), None)
        ids = [r.run_id for r in dequeued]
        launched_ticks = [r.tags[TARGET_TAG] for r in dequeued if r.job_name == "fc_tick_job"]
        # The second tick of the busy target waits; the other targets' ticks are first in line.
        assert launched_ticks == keys[1:]
        assert ids[:2] == [ticks[k].run_id for k in keys[1:]]
        assert ticks[keys[0]].run_id not in ids
        backfill_limit = next(
            lim["limit"]
            for lim in settings["concurrency"]["runs"]["tag_concurrency_limits"]
            if lim["key"] == "dagster/backfill"
        )
        assert sum(i in backfill for i in ids) == (0 if busy else backfill_limit)
        assert len(ids) <= max_runs - 1 - (4 if busy else 0)


def test_workspace_loads_the_code_location_over_grpc() -> None:
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text(encoding="utf-8"))
    [entry] = workspace["load_from"]
    grpc = entry["grpc_server"]
    code = _compose()["services"][grpc["host"]]
    assert f"{grpc['port']}" in code["command"] and grpc["location_name"] in code["command"]


def test_dockerfile_builds_from_the_lock_and_starts_real_modules() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "uv sync --locked" in text and "--group deploy" in text
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["dependency-groups"]
    assert {"dagster-postgres", "dagster-docker"} <= {re.split(r"[<>=]", d)[0] for d in groups["deploy"]}
    uv_pin = re.search(r"uv==([0-9.]+)", text)
    assert uv_pin and f"UV_VERSION := {uv_pin.group(1)}" in (ROOT / "Makefile").read_text(encoding="utf-8")
    for src in re.findall(r"^COPY (.+) \S+$", text, flags=re.MULTILINE):
        for path in src.split():
            assert (ROOT / path).exists(), path
    modules = set(re.findall(r'"-m", "([\w.]+)"', text))
    compose = _compose()
    for service in compose["services"].values():
        modules |= set(re.findall(r"-m', '([\w.]+)'", str(service.get("command", ""))))
    assert modules == {"pipelines.definitions"}
    from pipelines.definitions import defs

    assert isinstance(defs, dg.Definitions)
    # The console scripts the image and the compose services run are installed by the lock.
    bin_dir = Path(__import__("sys").executable).parent
    for service in compose["services"].values():
        command = service.get("command") or ["dagster"]
        if service.get("image", "").startswith("fccap") and command[0] != "cp":
            assert (bin_dir / command[0]).exists(), command[0]


def test_compose_services_reference_files_volumes_and_env_that_exist() -> None:
    compose = _compose()
    assert set(compose["services"]) == {"config", "postgres", "code", "daemon", "webserver"}
    code = compose["services"]["code"]
    assert (DEPLOY / code["build"]["context"] / code["build"]["dockerfile"]).is_file()
    assert (DEPLOY / ".env.example").is_file() and (DEPLOY / "targets.example.yaml").is_file()
    launcher = _instance_yaml()["run_launcher"]["config"]
    # Run containers mount the same named volumes and join the same network as the services.
    for volume in launcher["container_kwargs"]["volumes"]:
        name = volume.split(":")[0]
        assert compose["volumes"][name]["name"] == name
    assert compose["networks"][launcher["network"]]["name"] == launcher["network"]
    # Every variable the launcher forwards is set for the daemon (compose environment or .env).
    env_example = {
        line.split("=")[0]
        for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }
    daemon_env = set(compose["services"]["daemon"]["environment"]) | env_example
    assert set(launcher["env_vars"]) <= daemon_env
    assert "/var/run/docker.sock:/var/run/docker.sock" in compose["services"]["daemon"]["volumes"]
    for name in ("daemon", "webserver"):
        assert "/opt/dagster/home/workspace.yaml" in compose["services"][name]["command"]
    # The targets example is a valid targets file.
    from pipelines.config import load_targets

    assert load_targets(DEPLOY / "targets.example.yaml").targets[0].rate_limit == 500


def test_an_oss_store_set_in_env_reaches_the_run_containers() -> None:
    """With .env naming an s3:// root, a run container gets that root and its settings: compose's
    environment defers to .env, and the launcher forwards every store variable."""
    import re

    from pipelines.resources import StoreResource

    dot_env = {
        "FCCAP_STORE": "s3://fccap-bucket/history",
        "FCCAP_STORE_ENDPOINT_URL": "https://s3.oss-cn-hangzhou.aliyuncs.com",
        "FCCAP_STORE_REGION": "cn-hangzhou",
        "AWS_ACCESS_KEY_ID": "LTAI-key-id",
        "AWS_SECRET_ACCESS_KEY": "oss-secret",
    }
    example = [ln for ln in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines() if "=" in ln]
    env_file = {k: v for k, _, v in (ln.partition("=") for ln in example if not ln.startswith("#"))} | dot_env

    def interpolate(value: str) -> str:  # compose's ${VAR:-default}, from .env
        return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env_file.get(m.group(1)) or m.group(2), value)

    daemon = _compose()["services"]["daemon"]
    env = env_file | {k: interpolate(str(v)) for k, v in daemon["environment"].items()}
    launcher = _instance_yaml()["run_launcher"]["config"]
    run_env = {name: env[name] for name in launcher["env_vars"]}
    assert {k: run_env[k] for k in dot_env} == dot_env
    assert env_file["FCCAP_STORE_ADDRESSING_STYLE"] == "" and run_env["FCCAP_STORE_ADDRESSING_STYLE"] == ""
    # ... and a local setup (FCCAP_STORE empty in .env) keeps the volume.
    env_file["FCCAP_STORE"] = ""
    assert interpolate(daemon["environment"]["FCCAP_STORE"]) == "/data/store"
    # The forwarded values make a valid store (empty settings read as unset, OSS's virtual style).
    with pytest.MonkeyPatch.context() as mp:
        for k, v in run_env.items():
            mp.setenv(k, v)
        store = StoreResource(root=run_env["FCCAP_STORE"])
        options = store.settings().storage_options()
    assert options["endpoint_url"] == dot_env["FCCAP_STORE_ENDPOINT_URL"]
    assert options["config_kwargs"]["s3"]["addressing_style"] == "virtual"
