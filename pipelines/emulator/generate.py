"""Generated scenarios: a ``generate:`` section expands, seeded, into services whose load follows production FaaS.

Calibration (Shahrad et al., "Serverless in the Wild", USENIX ATC 2020, Azure Functions, 2019):
daily invocations per function are log-normal in log10 space, fitted to the paper's "45% invoked at
most once an hour, 81% at most once a minute" (mean 1.6, sigma 1.77) and clipped to 9 orders of
magnitude; average execution time is log-normal in seconds (mu -0.38, sigma 2.36: half run under 1 s).
Mean busy instances = invocations x duration / instance concurrency; a function busy less than one
instance on average is modelled as sporadic activity (a duty cycle) so that most functions have no
instance most of the time. Daily cycles peak around 06:00 UTC (14:00 in China) with spread; a share of
functions bursts. Idle instances stay ``keepalive_minutes`` (10, as AWS; Azure kept 20) then go.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass

__all__ = ["CURVE_MEAN", "GenerateSpec", "Popularity", "expand_generate", "expected_mean_instances"]

_STRICT = ConfigDict(extra="forbid")
# Mean of world.py's daily curve ((1 + cos)/2)^2 over a day: (1 + 1/2) / 4.
CURVE_MEAN = 0.375
_MAX_FUNCTIONS = 100_000
_RUNTIMES = ("python3.10", "nodejs16", "java11", "go1", "custom", "custom-container")
_MEMORY_MB = (128, 256, 512, 1024, 2048, 4096)
_MEMORY_WEIGHTS = (0.30, 0.25, 0.20, 0.15, 0.07, 0.03)


@dataclass(frozen=True, config=_STRICT)
class Popularity:
    """The heavy tail: log10(invocations per day) ~ Normal, clipped; execution seconds ~ LogNormal, clipped."""

    log10_daily_mean: float = 1.6
    log10_daily_sigma: Annotated[float, Field(ge=0, le=10)] = 1.77
    log10_daily_min: float = -1.0
    log10_daily_max: Annotated[float, Field(le=10)] = 8.0
    duration_ln_mean: float = -0.38
    duration_ln_sigma: Annotated[float, Field(ge=0, le=10)] = 2.36
    duration_min_s: Annotated[float, Field(gt=0)] = 0.01
    duration_max_s: Annotated[float, Field(gt=0, le=86400)] = 600.0

    @model_validator(mode="after")
    def _ordered(self) -> Popularity:
        if self.log10_daily_min > self.log10_daily_max:
            raise ValueError("log10_daily_min exceeds log10_daily_max; fix: make min <= max")
        if self.duration_min_s > self.duration_max_s:
            raise ValueError("duration_min_s exceeds duration_max_s; fix: make min <= max")
        return self


@dataclass(frozen=True, config=_STRICT)
class GenerateSpec:
    """``services`` x ``functions_per_service`` functions, named ``<prefix>-svc-NNNN`` / ``fn-NNNN``."""

    services: Annotated[int, Field(ge=1, le=10_000)]
    functions_per_service: Annotated[int, Field(ge=1, le=10_000)]
    account_id: str | None = None  # default: the first account
    region: str | None = None  # default: that account's first region
    service_prefix: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,100}$")] = "gen"
    alias_share: Annotated[float, Field(ge=0, le=1)] = 0.2  # services with a "prod" alias on version 1
    provisioned_share: Annotated[float, Field(ge=0, le=1)] = 0.25  # of those, one provisioned instance
    burst_share: Annotated[float, Field(ge=0, le=1)] = 0.1
    keepalive_minutes: Annotated[int, Field(ge=0, le=120)] = 10
    max_instances: Annotated[int, Field(ge=1, le=10_000)] = 300  # like a per-function concurrency quota
    popularity: Popularity = Field(default_factory=Popularity)

    @model_validator(mode="after")
    def _bounded(self) -> GenerateSpec:
        total = self.services * self.functions_per_service
        if total > _MAX_FUNCTIONS:
            raise ValueError(
                f"services x functions_per_service is {total}, over {_MAX_FUNCTIONS}; fix: generate fewer functions"
            )
        return self


_ADAPTER: TypeAdapter[GenerateSpec] = TypeAdapter(GenerateSpec)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in ("generate", *error["loc"]))
    kind = error["type"]
    if kind == "missing":
        return f"{where}: required field is missing; fix: add {where}"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{where}: unknown field; fix: remove it or check its spelling"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if "fix:" in msg else f"{where}: {msg}; fix: correct {where}"


def expected_mean_instances(load: dict[str, Any]) -> float:
    """The mean of the per-minute demand world.py draws for this load (a LoadModel as a mapping)."""
    peak, base = load.get("peak", 0), load.get("base", 0)
    mean = load.get("duty_cycle", 1.0) * (base + (peak - base) * CURVE_MEAN)
    mean += load.get("bursts_per_day", 0.0) * load.get("burst_size", 0) * load.get("burst_minutes", 10) / 1440
    return max(mean, 1.0) if load.get("scale_to_zero", True) is False else mean


def _sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def _load(
    mean: float, activity: float, peak_hour: float, burst: tuple[float, int, int] | None, spec: GenerateSpec
) -> dict[str, Any]:
    """A LoadModel mapping whose expected demand is max(mean busy instances, share of active minutes)."""
    target = max(mean, activity)
    if target < CURVE_MEAN:
        # Sporadic: one instance in a few 10-minute windows; the window share carries the rarity.
        load: dict[str, Any] = {"peak": 1, "base": 0, "noise": 0.5, "duty_cycle": _sig(target / CURVE_MEAN)}
    else:
        base = min(math.floor(0.25 * target), spec.max_instances)
        peak = min(max(base + 1, round(base + (target - base) / CURVE_MEAN)), spec.max_instances)
        load = {"peak": peak, "base": base, "noise": 0.3, "duty_cycle": 1.0}
    load["peak_hour_utc"] = round(peak_hour % 24.0, 2) % 24.0
    load["idle_keepalive_minutes"] = spec.keepalive_minutes
    if burst is not None:
        per_day, minutes, size_seed = burst
        load["bursts_per_day"] = per_day
        load["burst_minutes"] = minutes
        load["burst_size"] = max(1, min(spec.max_instances, round(load["peak"] * (0.5 + size_seed % 4 / 2))))
    return load


def _default_target(data: dict[str, Any], gen: GenerateSpec) -> tuple[str, str]:
    accounts = data.get("accounts")
    first = accounts[0] if isinstance(accounts, list) and accounts and isinstance(accounts[0], dict) else {}
    account_id = gen.account_id or first.get("account_id")
    if account_id is None:
        raise ValueError("invalid scenario: generate.account_id: no account to generate into; fix: add accounts")
    match = next((a for a in accounts or [] if isinstance(a, dict) and str(a.get("account_id")) == str(account_id)), {})
    regions = match.get("regions") or []
    region = gen.region
    if region is None:
        if not regions:
            raise ValueError(f"invalid scenario: generate.region: account {account_id!r} lists no region; fix: set it")
        region = regions[0]
    elif regions and region not in regions:
        raise ValueError(
            f"invalid scenario: generate.region: {region!r} is not in account {account_id!r}'s regions {regions}; "
            "fix: add it to accounts.regions or change generate.region"
        )
    return str(account_id), str(region)


def generate_services(seed: int, gen: GenerateSpec, account_id: str, region: str) -> list[dict[str, Any]]:
    """Service mappings (as a scenario file spells them), a pure function of (seed, gen)."""
    n = gen.services * gen.functions_per_service
    pop = gen.popularity
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x9E3779B9])
    log_daily = np.clip(
        rng.normal(pop.log10_daily_mean, pop.log10_daily_sigma, n), pop.log10_daily_min, pop.log10_daily_max
    )
    duration = np.clip(
        rng.lognormal(pop.duration_ln_mean, pop.duration_ln_sigma, n), pop.duration_min_s, pop.duration_max_s
    )
    concurrency = rng.choice(np.array([1, 10, 20]), size=n, p=[0.7, 0.2, 0.1])
    # Most functions follow the business day in China; a fifth peak at any hour (batch, other regions).
    peak_hour = np.where(rng.random(n) < 0.8, rng.normal(6.0, 3.0, n), rng.uniform(0.0, 24.0, n))
    bursty = rng.random(n) < gen.burst_share
    bursts_per_day = rng.integers(1, 7, n)
    burst_minutes = rng.integers(5, 31, n)
    burst_size = rng.integers(0, 1000, n)
    memory = rng.choice(np.array(_MEMORY_MB), size=n, p=_MEMORY_WEIGHTS)
    runtime = rng.integers(0, len(_RUNTIMES), n)
    aliased = rng.random(gen.services) < gen.alias_share
    provisioned = rng.random(gen.services) < gen.provisioned_share

    daily = 10.0**log_daily
    mean_instances = daily * duration / 86400.0 / concurrency
    # Share of minutes in which at least one invocation runs (each holds its instance for >= 1 minute).
    activity = np.minimum(1.0, daily / 1440.0 * (1.0 + duration / 60.0))

    width_s, width_f = len(str(gen.services - 1)), len(str(gen.functions_per_service - 1))
    width_s, width_f = max(4, width_s), max(4, width_f)
    services: list[dict[str, Any]] = []
    for s in range(gen.services):
        functions = []
        for f in range(gen.functions_per_service):
            i = s * gen.functions_per_service + f
            burst = (float(bursts_per_day[i]), int(burst_minutes[i]), int(burst_size[i])) if bool(bursty[i]) else None
            mem = int(memory[i])
            functions.append(
                {
                    "name": f"fn-{f:0{width_f}d}",
                    "runtime": _RUNTIMES[int(runtime[i])],
                    "memory_mb": mem,
                    "cpu": round(max(0.05, mem / 1024 * 0.5) / 0.05) * 0.05,
                    "instance_concurrency": int(concurrency[i]),
                    "load": _load(float(mean_instances[i]), float(activity[i]), float(peak_hour[i]), burst, gen),
                }
            )
        service: dict[str, Any] = {
            "account_id": account_id,
            "region": region,
            "name": f"{gen.service_prefix}-svc-{s:0{width_s}d}",
            "functions": functions,
        }
        if bool(aliased[s]):
            service["versions"] = ["1"]
            service["aliases"] = [{"name": "prod", "version_id": "1", "provisioned": int(bool(provisioned[s]))}]
        services.append(service)
    return services


def expand_generate(data: Any) -> Any:
    """A scenario mapping with its ``generate:`` section replaced by the services it stands for."""
    if not isinstance(data, dict) or "generate" not in data:
        return data
    try:
        gen = _ADAPTER.validate_python(data["generate"])
    except ValidationError as e:
        raise ValueError("invalid scenario: " + "; ".join(_describe(err) for err in e.errors())) from None
    seed = data.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError("invalid scenario: seed: an integer seed is required to generate; fix: add seed")
    account_id, region = _default_target(data, gen)
    explicit = data.get("services") or []
    if not isinstance(explicit, list):
        raise ValueError("invalid scenario: services: expected a list; fix: give a list of services")
    out = {k: v for k, v in data.items() if k != "generate"}
    out["services"] = [*explicit, *generate_services(seed, gen, account_id, region)]
    return out
