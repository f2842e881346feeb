"""Scenario: the accounts, services, functions, aliases and load models the emulator serves (YAML-loadable)."""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass

from pipelines.emulator.faults import FaultSpec
from pipelines.emulator.generate import expand_generate

__all__ = [
    "AccessKey",
    "AccountSpec",
    "AliasSpec",
    "FunctionScenario",
    "FunctionV3Spec",
    "LoadModel",
    "Scenario",
    "ServiceSpec",
    "default_scenario",
    "load_scenario",
    "parse_scenario",
    "scenario_to_dict",
]

# FC's naming rule for services, functions and aliases: letters, digits, '_' and '-', not starting with a digit/'-'.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")
_STRICT = ConfigDict(extra="forbid")

NonNegInt = Annotated[int, Field(ge=0)]


def _check_name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not a valid FC name; fix: use 1-128 letters, digits, '_' or '-', "
            "starting with a letter or '_'"
        )
    return value


@dataclass(frozen=True, config=_STRICT)
class LoadModel:
    """How many on-demand instances a function needs, minute by minute (seeded; see world.py).

    demand = base + (peak - base) * daily_curve(hour) * wobble, zeroed outside active 10-minute slots
    (``duty_cycle``), plus bursts of ``burst_size`` for ``burst_minutes``. An instance lingers
    ``idle_keepalive_minutes`` after its last use and is recycled after ``max_lifetime_minutes``.
    """

    peak: NonNegInt = 0
    base: NonNegInt = 0
    peak_hour_utc: Annotated[float, Field(ge=0, lt=24)] = 14.0
    noise: Annotated[float, Field(ge=0, le=1)] = 0.2
    duty_cycle: Annotated[float, Field(ge=0, le=1)] = 1.0
    bursts_per_day: Annotated[float, Field(ge=0, le=200)] = 0.0
    burst_size: NonNegInt = 0
    burst_minutes: Annotated[int, Field(ge=1, le=720)] = 10
    # False keeps one instance warm at all times (a keep-warm ping), so the function never reaches zero.
    scale_to_zero: bool = True
    # The bounds keep every instance's birth inside the two-day window world.py looks back over.
    idle_keepalive_minutes: Annotated[int, Field(ge=0, le=120)] = 10
    max_lifetime_minutes: Annotated[int, Field(ge=10, le=720)] = 360

    @model_validator(mode="after")
    def _base_below_peak(self) -> LoadModel:
        if self.base > self.peak:
            raise ValueError(f"load.base ({self.base}) exceeds load.peak ({self.peak}); fix: make base <= peak")
        return self


@dataclass(frozen=True, config=_STRICT)
class AccessKey:
    access_key_id: Annotated[str, Field(min_length=1)]
    # Secrets never print: a scenario may be logged or shown in a test failure.
    access_key_secret: Annotated[str, Field(min_length=1)] = dataclasses.field(repr=False)
    security_token: str | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True, config=_STRICT)
class AccountSpec:
    account_id: Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
    regions: Annotated[list[str], Field(min_length=1)]
    access_keys: Annotated[list[AccessKey], Field(min_length=1)]


@dataclass(frozen=True, config=_STRICT)
class AliasSpec:
    name: str
    version_id: str
    provisioned: NonNegInt = 0

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        _check_name(v, "alias name")
        if v.upper() == "LATEST":
            raise ValueError("alias name 'LATEST' is reserved; fix: pick another alias name")
        return v


@dataclass(frozen=True, config=_STRICT)
class FunctionScenario:
    name: str
    runtime: str = "python3.10"
    memory_mb: Annotated[int, Field(ge=64, multiple_of=64)] = 512
    cpu: Annotated[float, Field(gt=0, le=16)] = 0.35
    disk_mb: Annotated[int, Field(ge=512)] = 512
    gpu_memory_mb: Annotated[int | None, Field(ge=0)] = None
    instance_type: str = "e1"
    instance_concurrency: Annotated[int, Field(ge=1, le=200)] = 1
    load: LoadModel = Field(default_factory=LoadModel)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        return _check_name(v, "function name")


def _check_versions(v: list[str]) -> list[str]:
    for version in v:
        if not version.isdigit() or version == "0":
            raise ValueError(f"version {version!r} is not a published version; fix: use '1', '2', ...")
    if len(set(v)) != len(v):
        raise ValueError("versions repeat; fix: list each version once")
    return v


def _check_aliases(owner: str, aliases: list[AliasSpec], versions: list[str]) -> None:
    names = [a.name for a in aliases]
    if len(set(names)) != len(names):
        raise ValueError(f"{owner} lists an alias twice; fix: make alias names unique")
    for a in aliases:
        if a.version_id not in versions:
            raise ValueError(
                f"alias {a.name!r} points at version {a.version_id!r}, which {owner} "
                f"does not publish; fix: add it to versions {versions} or change aliases.version_id"
            )


@dataclass(frozen=True, config=_STRICT)
class FunctionV3Spec:
    """An FC 3.0 function: no service; its aliases and versions belong to the function itself."""

    account_id: str
    region: str
    name: str
    runtime: str = "python3.10"
    memory_mb: Annotated[int, Field(ge=64, multiple_of=64)] = 512
    cpu: Annotated[float, Field(gt=0, le=16)] = 0.35
    disk_mb: Annotated[int, Field(ge=512)] = 512
    gpu_memory_mb: Annotated[int | None, Field(ge=0)] = None
    instance_type: str = "e1"
    instance_concurrency: Annotated[int, Field(ge=1, le=200)] = 1
    load: LoadModel = Field(default_factory=LoadModel)
    aliases: list[AliasSpec] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        # The FC naming rule has no '$', so no FC 3.0 name can collide with an FC 2.0 "service$function".
        return _check_name(v, "function name")

    @field_validator("versions")
    @classmethod
    def _numeric_versions(cls, v: list[str]) -> list[str]:
        return _check_versions(v)

    @model_validator(mode="after")
    def _consistent(self) -> FunctionV3Spec:
        _check_aliases(f"function {self.name!r}", self.aliases, self.versions)
        return self


@dataclass(frozen=True, config=_STRICT)
class ServiceSpec:
    account_id: str
    region: str
    name: str
    functions: list[FunctionScenario] = Field(default_factory=list)
    aliases: list[AliasSpec] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        return _check_name(v, "service name")

    @field_validator("versions")
    @classmethod
    def _numeric_versions(cls, v: list[str]) -> list[str]:
        for version in v:
            if not version.isdigit() or version == "0":
                raise ValueError(f"version {version!r} is not a published version; fix: use '1', '2', ...")
        if len(set(v)) != len(v):
            raise ValueError("versions repeat; fix: list each version once")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ServiceSpec:
        names = [f.name for f in self.functions]
        if len(set(names)) != len(names):
            raise ValueError(f"service {self.name!r} lists a function twice; fix: make function names unique")
        aliases = [a.name for a in self.aliases]
        if len(set(aliases)) != len(aliases):
            raise ValueError(f"service {self.name!r} lists an alias twice; fix: make alias names unique")
        for a in self.aliases:
            if a.version_id not in self.versions:
                raise ValueError(
                    f"alias {a.name!r} points at version {a.version_id!r}, which service {self.name!r} "
                    f"does not publish; fix: add it to versions {self.versions} or change aliases.version_id"
                )
        return self


@dataclass(frozen=True, config=_STRICT)
class Scenario:
    seed: int
    accounts: Annotated[list[AccountSpec], Field(min_length=1)]
    services: list[ServiceSpec] = Field(default_factory=list)
    # Faults the emulator injects from the start (see faults.py); the admin endpoint can replace them.
    faults: list[FaultSpec] = Field(default_factory=list)
    functions_v3: list[FunctionV3Spec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        accounts = {a.account_id: a for a in self.accounts}
        if len(accounts) != len(self.accounts):
            raise ValueError("accounts repeat an account_id; fix: list each account once")
        keys = [k.access_key_id for a in self.accounts for k in a.access_keys]
        if len(set(keys)) != len(keys):
            raise ValueError("access_key_id values repeat; fix: give every access key a unique id")
        _check_placement(accounts, "FC 3.0 function", "functions_v3", self.functions_v3)
        _check_placement(accounts, "service", "services", self.services)
        return self


def _check_placement(
    accounts: dict[str, AccountSpec], label: str, field: str, items: list[ServiceSpec] | list[FunctionV3Spec]
) -> None:
    """Each item names a listed account and one of its regions, and is unique there."""
    seen: set[tuple[str, str, str]] = set()
    for item in items:
        account = accounts.get(item.account_id)
        if account is None:
            raise ValueError(
                f"{label} {item.name!r} names account_id {item.account_id!r}, which is not in accounts; "
                f"fix: add the account or correct {field}.account_id"
            )
        if item.region not in account.regions:
            raise ValueError(
                f"{label} {item.name!r} is in region {item.region!r}, which account {item.account_id!r} does not "
                f"list; fix: add it to accounts.regions {account.regions} or correct {field}.region"
            )
        key = (item.account_id, item.region, item.name)
        if key in seen:
            raise ValueError(f"{label} {item.name!r} appears twice in {item.account_id}/{item.region}; fix: rename one")
        seen.add(key)


_ADAPTER: TypeAdapter[Scenario] = TypeAdapter(Scenario)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "<top level>"
    kind = error["type"]
    if kind == "missing":
        return f"{where}: required field is missing; fix: add {where}"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{where}: unknown field; fix: remove it or check its spelling"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if "fix:" in msg else f"{where}: {msg}; fix: correct {where}"


def parse_scenario(data: Any) -> Scenario:
    """Validate a plain mapping (e.g. parsed YAML) into a Scenario; errors name the field and the fix."""
    data = expand_generate(data)  # a `generate:` section becomes services, seeded (generate.py)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        raise ValueError("invalid scenario: " + "; ".join(_describe(err) for err in e.errors())) from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"cannot read scenario file {path}: {e.strerror}; fix: check the path") from e
    except yaml.YAMLError as e:
        raise ValueError(f"scenario file {path} is not valid YAML ({e}); fix: correct the syntax") from e
    if not isinstance(data, dict):
        raise ValueError(f"scenario file {path} must hold a mapping with seed, accounts and services")
    try:
        return parse_scenario(data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The plain mapping that ``parse_scenario`` reads back; handy for writing scenario files."""
    return _ADAPTER.dump_python(scenario)


# --- the built-in scenario -------------------------------------------------------------------

DEFAULT_ACCOUNT = "1234567890"
DEFAULT_REGION = "cn-hangzhou"
# Obvious fakes on purpose: nothing here may look like a real "LTAI..." key.
DEFAULT_ACCESS_KEY_ID = "fccap-emulator-ak"
DEFAULT_ACCESS_KEY_SECRET = "fccap-emulator-secret"  # noqa: S105 - a published fake for the emulator


def _busy(rng: random.Random) -> LoadModel:
    peak = rng.randint(8, 24)
    return LoadModel(
        peak=peak,
        base=rng.randint(1, 3),
        peak_hour_utc=rng.choice([2.0, 6.0, 13.0, 14.0]),
        noise=0.25,
        bursts_per_day=rng.choice([0.0, 2.0, 4.0]),
        burst_size=rng.randint(2, 8),
        burst_minutes=rng.randint(5, 20),
        idle_keepalive_minutes=rng.choice([5, 10, 15]),
    )


def _moderate(rng: random.Random) -> LoadModel:
    return LoadModel(
        peak=rng.randint(2, 6),
        base=0,
        peak_hour_utc=round(rng.uniform(0, 23.9), 1),
        noise=0.3,
        duty_cycle=round(rng.uniform(0.6, 1.0), 2),
        bursts_per_day=1.0,
        burst_size=2,
        idle_keepalive_minutes=10,
    )


def _rare(rng: random.Random) -> LoadModel:
    return LoadModel(
        peak=rng.randint(1, 2),
        base=rng.choice([0, 1]),
        peak_hour_utc=round(rng.uniform(0, 23.9), 1),
        noise=0.5,
        duty_cycle=round(rng.uniform(0.05, 0.25), 2),
        idle_keepalive_minutes=rng.choice([3, 5, 10]),
    )


def _warm(rng: random.Random) -> LoadModel:
    return LoadModel(peak=rng.randint(1, 3), base=0, scale_to_zero=False, idle_keepalive_minutes=10)


def _functions(
    rng: random.Random, stem: str, count: int, mix: list[tuple[str, int]], gpu: bool = False
) -> list[FunctionScenario]:
    makers = {"busy": _busy, "moderate": _moderate, "rare": _rare, "warm": _warm}
    kinds = [k for k, w in mix for _ in range(w)]
    out = []
    for i in range(count):
        kind = rng.choice(kinds)
        cpu_steps = rng.choice([1, 2, 4, 8])
        if gpu and i % 4 == 0:
            out.append(
                FunctionScenario(
                    name=f"{stem}-{i:02d}",
                    runtime="custom-container",
                    memory_mb=16384,
                    cpu=4.0,
                    disk_mb=10240,
                    gpu_memory_mb=8192,
                    instance_type="fc.gpu.tesla.1",
                    instance_concurrency=1,
                    load=makers[kind](rng),
                )
            )
            continue
        out.append(
            FunctionScenario(
                name=f"{stem}-{i:02d}",
                runtime=rng.choice(["python3.10", "nodejs16", "java11", "go1", "custom"]),
                memory_mb=512 * cpu_steps,
                cpu=0.35 * cpu_steps,
                disk_mb=rng.choice([512, 512, 10240]),
                gpu_memory_mb=None,
                instance_type=rng.choice(["e1", "e1", "c1"]),
                instance_concurrency=rng.choice([1, 1, 10, 20]),
                load=makers[kind](rng),
            )
        )
    return out


def _functions_v3(seed: int, acct: str, region: str) -> list[FunctionV3Spec]:
    """Ten FC 3.0 functions; their own generator, so the FC 2.0 services stay exactly as they were."""
    rng = random.Random(f"{seed}/fc3")  # noqa: S311 - reproducible scenario data, not secrets
    made = _functions(rng, "api", 10, [("busy", 2), ("moderate", 2), ("rare", 2), ("warm", 1)], gpu=True)
    # api-00: a provisioned prod alias; api-01: two aliases; api-02: versions but no alias; the rest: LATEST only.
    aliases = {
        0: ([AliasSpec("prod", "2", provisioned=2)], ["1", "2"]),
        1: ([AliasSpec("prod", "1", provisioned=1), AliasSpec("canary", "2")], ["1", "2"]),
        2: ([], ["1"]),
    }
    return [
        FunctionV3Spec(
            account_id=acct,
            region=region,
            aliases=aliases.get(i, ([], []))[0],
            versions=aliases.get(i, ([], []))[1],
            **{f.name: getattr(fn, f.name) for f in dataclasses.fields(FunctionScenario)},
        )
        for i, fn in enumerate(made)
    ]


def default_scenario(seed: int = 7) -> Scenario:
    """One account in cn-hangzhou: four FC 2.0 services with 140 functions, and ten FC 3.0 functions."""
    rng = random.Random(seed)  # noqa: S311 - reproducible scenario data, not secrets
    acct, region = DEFAULT_ACCOUNT, DEFAULT_REGION
    services = [
        ServiceSpec(
            account_id=acct,
            region=region,
            name="orders",
            functions=_functions(rng, "order", 50, [("busy", 4), ("moderate", 3), ("rare", 2), ("warm", 1)]),
            aliases=[AliasSpec("prod", "3", provisioned=2), AliasSpec("staging", "2")],
            versions=["1", "2", "3"],
        ),
        ServiceSpec(
            account_id=acct,
            region=region,
            name="media",
            functions=_functions(rng, "media", 40, [("busy", 2), ("moderate", 3), ("rare", 3)], gpu=True),
            aliases=[AliasSpec("prod", "1")],
            versions=["1"],
        ),
        ServiceSpec(
            account_id=acct,
            region=region,
            name="batch",
            functions=_functions(rng, "job", 35, [("moderate", 1), ("rare", 4)]),
        ),
        ServiceSpec(
            account_id=acct,
            region=region,
            name="internal-tools",
            functions=_functions(rng, "tool", 15, [("rare", 2), ("warm", 1)]),
            aliases=[AliasSpec("live", "2", provisioned=1)],
            versions=["1", "2"],
        ),
    ]
    return Scenario(
        seed=seed,
        accounts=[
            AccountSpec(
                account_id=acct,
                regions=[region],
                access_keys=[AccessKey(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)],
            )
        ],
        services=services,
        functions_v3=_functions_v3(seed, acct, region),
    )


def with_access_key(scenario: Scenario, access_key_id: str, access_key_secret: str) -> Scenario:
    """The same scenario, with every account accepting only the given AccessKey pair."""
    data = scenario_to_dict(scenario)
    for account in data["accounts"]:
        account["access_keys"] = [{"access_key_id": access_key_id, "access_key_secret": access_key_secret}]
    return parse_scenario(data)
