"""The emulated world: which instances exist for every function and qualifier, as a pure function of time.

Model: each (function, qualifier) series has a seeded per-minute demand (see ``LoadModel``). Instance
"slot" k is occupied while demand reached above k within the last keep-alive minutes, or while k is
below the alias's provisioned floor. A slot's instance is born when the slot becomes occupied and is
recycled at a per-slot staggered boundary every ``max_lifetime_minutes``; its id hashes (seed, series,
slot, birth minute), so an instance keeps its id for as long as it lives and never depends on when
or in what order the world is asked. Answers are computed per day with numpy and cached.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from pipelines.emulator.scenario import (
    AccessKey,
    AccountSpec,
    FunctionScenario,
    FunctionV3Spec,
    LoadModel,
    Scenario,
    ServiceSpec,
)

__all__ = ["InstanceState", "NotFoundError", "TruthRow", "World", "minute_of", "v3_name"]

LATEST = "LATEST"
_DAY = 1440
_CACHE_DAYS = 16384  # (series, day) chunks: a day of a 10,000-function scenario; idle ones share one array


@dataclass(frozen=True)
class InstanceState:
    instance_id: str
    version_id: str  # "0" is LATEST
    qualifier: str  # the series it runs in: LATEST or an alias name
    created_time_ms: int  # epoch ms of the minute the instance was born
    resource_type: str  # "Provisioned" for an alias's provisioned floor, else "OnDemand" (FC 3.0 wording)


@dataclass(frozen=True)
class TruthRow:
    account_id: str
    region: str
    service_name: str | None  # None for an FC 3.0 function, which has no service
    function_name: str
    qualifier: str
    instance_id: str
    version_id: str
    created_time_ms: int
    resource_type: str


class NotFoundError(LookupError):
    """A service, function or qualifier the scenario does not have; ``code`` is FC's 404 error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# account, region, service (None for FC 3.0), function, qualifier (LATEST or alias)
SeriesKey = tuple[str, str, str | None, str, str]
Owner = ServiceSpec | FunctionV3Spec  # what holds aliases and versions: the service (FC 2.0) or the function (FC 3.0)
PROVISIONED, ON_DEMAND = "Provisioned", "OnDemand"


def v3_name(service: str, function: str) -> str:
    """How FC 3.0 names an FC 2.0 function: ``service$function`` ('$' is outside the FC naming rule)."""
    return f"{service}${function}"


def minute_of(at: datetime) -> int:
    """Whole minutes since the Unix epoch; the world changes at most once a minute."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return math.floor(aware.timestamp() / 60)


def _h(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@lru_cache(maxsize=200_000)
def _instance_id(seed: int, key: SeriesKey, slot: int, birth: int) -> str:
    # FC instance ids look like "c-" + a UUID-shaped hex string.
    x = hashlib.blake2b(f"{seed}\x1f{key}\x1f{slot}\x1f{birth}".encode(), digest_size=16).hexdigest()
    return f"c-{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:32]}"


@lru_cache(maxsize=4096)
def _curve(peak_hour_utc: float) -> npt.NDArray[np.float64]:
    # Raised cosine, squared: a clear daily peak and a long quiet night.
    hours = np.arange(_DAY) / 60.0
    curve = ((1.0 + np.cos(2.0 * np.pi * (hours - peak_hour_utc) / 24.0)) / 2.0) ** 2
    curve.setflags(write=False)
    return curve


_IDLE_DAY = np.zeros(_DAY, dtype=np.int64)
_IDLE_DAY.setflags(write=False)
_IDLE_LEVEL = _IDLE_DAY
_NO_BIRTHS = np.zeros((_DAY, 0), dtype=np.int32)
_NO_BIRTHS.setflags(write=False)


def _demand(seed: int, key: SeriesKey, load: LoadModel, day: int) -> npt.NDArray[np.int64]:
    """Instances needed in each minute of ``day``; a pure function of its arguments."""
    rng = np.random.default_rng(_h(seed, "demand", *key, day))
    # Draw in a fixed order (wobble, rounding, activity, bursts) so the fast path below changes no answer.
    wobble_u = rng.random(_DAY // 5)
    rounding_u = rng.random(_DAY)
    active = rng.random(_DAY // 10) < load.duty_cycle
    bursts = rng.poisson(load.bursts_per_day)
    if load.scale_to_zero and bursts == 0 and not active.any():
        # Most functions of a production-like mix are idle all day; skip the arithmetic (10k-function scenarios).
        return _IDLE_DAY
    wobble = np.repeat(1.0 + load.noise * (wobble_u * 2.0 - 1.0), 5)
    raw = np.clip(load.base + (load.peak - load.base) * _curve(load.peak_hour_utc) * wobble, 0.0, None)
    # Random rounding: a demand of 2.3 is 3 instances 30% of the time, so averages match the curve.
    demand = np.floor(raw + rounding_u).astype(np.int64)
    demand *= np.repeat(active, 10)
    for start in rng.integers(0, _DAY, size=bursts):
        demand[start : start + load.burst_minutes] += load.burst_size
    if not load.scale_to_zero:
        demand = np.maximum(demand, 1)
    return demand


class World:
    """Deterministic instances for a scenario; cheap enough to ask every minute for every function."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._seed = scenario.seed
        self._accounts: dict[str, AccountSpec] = {a.account_id: a for a in scenario.accounts}
        self._keys: dict[str, tuple[str, AccessKey]] = {
            k.access_key_id: (a.account_id, k) for a in scenario.accounts for k in a.access_keys
        }
        self._services: dict[tuple[str, str, str], ServiceSpec] = {
            (s.account_id, s.region, s.name): s for s in scenario.services
        }
        self._functions: dict[tuple[str, str, str, str], FunctionScenario] = {
            (s.account_id, s.region, s.name, f.name): f for s in scenario.services for f in s.functions
        }
        self._functions_v3: dict[tuple[str, str, str], FunctionV3Spec] = {
            (f.account_id, f.region, f.name): f for f in scenario.functions_v3
        }
        self._lock = threading.Lock()
        self._chunks: OrderedDict[tuple[SeriesKey, int], tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]]
        self._chunks = OrderedDict()
        # Pollers ask for the same minute many times (one call per function); keep the last few answers.
        self._truth: OrderedDict[int, list[TruthRow]] = OrderedDict()

    # --- lookups the app needs ---------------------------------------------------------------

    def account(self, account_id: str) -> AccountSpec | None:
        return self._accounts.get(account_id)

    def access_key(self, access_key_id: str) -> tuple[str, AccessKey] | None:
        """(account id, key) for a known access key id."""
        return self._keys.get(access_key_id)

    def services(self, account_id: str, region: str) -> list[ServiceSpec]:
        return sorted(
            (s for s in self.scenario.services if s.account_id == account_id and s.region == region),
            key=lambda s: s.name,
        )

    def service(self, account_id: str, region: str, name: str) -> ServiceSpec:
        spec = self._services.get((account_id, region, name))
        if spec is None:
            raise NotFoundError("ServiceNotFound", f"service '{name}' does not exist")
        return spec

    def function(self, account_id: str, region: str, service: str, function: str) -> FunctionScenario:
        self.service(account_id, region, service)
        spec = self._functions.get((account_id, region, service, function))
        if spec is None:
            raise NotFoundError("FunctionNotFound", f"function '{function}' does not exist in service '{service}'")
        return spec

    def functions_v3(self, account_id: str, region: str) -> list[FunctionV3Spec]:
        return sorted(
            (f for f in self.scenario.functions_v3 if f.account_id == account_id and f.region == region),
            key=lambda f: f.name,
        )

    def function_v3(self, account_id: str, region: str, name: str) -> FunctionV3Spec:
        spec = self._functions_v3.get((account_id, region, name))
        if spec is None:
            raise NotFoundError("FunctionNotFound", f"function '{name}' does not exist")
        return spec

    def resolve_v3(self, account_id: str, region: str, name: str) -> tuple[str | None, str]:
        """(service, function) behind an FC 3.0 function name; an FC 2.0 function is ``service$function``."""
        service, sep, function = name.partition("$")
        if not sep:
            self.function_v3(account_id, region, name)
            return None, name
        try:
            self.function(account_id, region, service, function)
        except NotFoundError:
            # FC 3.0 has no services: whatever part is wrong, the function is what is missing.
            raise NotFoundError("FunctionNotFound", f"function '{name}' does not exist") from None
        return service, function

    def owner(self, account_id: str, region: str, service: str | None, function: str) -> Owner:
        """Whatever holds the aliases and versions of a function: its service, or the FC 3.0 function itself."""
        if service is None:
            return self.function_v3(account_id, region, function)
        spec = self.service(account_id, region, service)
        self.function(account_id, region, service, function)
        return spec

    def series_qualifiers(self, service: Owner, qualifier: str | None) -> list[str]:
        """The series behind a qualifier: LATEST, one alias, or every alias on a version number."""
        if qualifier is None or qualifier in ("", LATEST):
            return [LATEST]
        if any(a.name == qualifier for a in service.aliases):
            return [qualifier]
        if qualifier in service.versions:
            # Only aliases route traffic to a published version here; a version with no alias is idle.
            return [a.name for a in service.aliases if a.version_id == qualifier]
        where = f"service '{service.name}'" if isinstance(service, ServiceSpec) else f"function '{service.name}'"
        raise NotFoundError("AliasNotFound", f"alias '{qualifier}' does not exist in {where}")

    @staticmethod
    def all_qualifiers(owner: Owner) -> list[str]:
        """LATEST and every alias: every series a function can have instances in."""
        return [LATEST, *(a.name for a in owner.aliases)]

    # --- instances -----------------------------------------------------------------------------

    def instances(
        self,
        account_id: str,
        region: str,
        service: str | None,
        function: str,
        qualifier: str | None,
        at: datetime,
        *,
        series: list[str] | None = None,
    ) -> list[InstanceState]:
        """Live instances; ``service=None`` is an FC 3.0 function. ``series`` overrides the qualifier's series."""
        owner = self.owner(account_id, region, service, function)
        load = self._load(account_id, region, service, function)
        minute = minute_of(at)
        out: list[InstanceState] = []
        for q in series if series is not None else self.series_qualifiers(owner, qualifier):
            out.extend(self._series(owner, service, function, load, q, minute))
        out.sort(key=lambda i: i.instance_id)
        return out

    def _load(self, account_id: str, region: str, service: str | None, function: str) -> LoadModel:
        if service is None:
            return self.function_v3(account_id, region, function).load
        return self.function(account_id, region, service, function).load

    def ground_truth(self, at: datetime) -> list[TruthRow]:
        minute = minute_of(at)
        with self._lock:
            cached = self._truth.get(minute)
        if cached is not None:
            return list(cached)
        series: list[tuple[Owner, str | None, str, LoadModel]] = [
            (spec, spec.name, fn.name, fn.load) for spec in self.scenario.services for fn in spec.functions
        ]
        series += [(f, None, f.name, f.load) for f in self.scenario.functions_v3]
        rows: list[TruthRow] = []
        for owner, service, function, load in series:
            for q in self.all_qualifiers(owner):
                for inst in sorted(
                    self._series(owner, service, function, load, q, minute), key=lambda i: i.instance_id
                ):
                    rows.append(
                        TruthRow(
                            owner.account_id,
                            owner.region,
                            service,
                            function,
                            q,
                            inst.instance_id,
                            inst.version_id,
                            inst.created_time_ms,
                            inst.resource_type,
                        )
                    )
        with self._lock:
            self._truth[minute] = rows
            while len(self._truth) > 8:
                self._truth.popitem(last=False)
        return list(rows)

    def _series(
        self, owner: Owner, service: str | None, function: str, load: LoadModel, qualifier: str, minute: int
    ) -> list[InstanceState]:
        if qualifier == LATEST:
            version, floor = "0", 0
        else:
            alias = next(a for a in owner.aliases if a.name == qualifier)
            version, floor = alias.version_id, alias.provisioned
        key: SeriesKey = (owner.account_id, owner.region, service, function, qualifier)
        day, offset = divmod(minute, _DAY)
        level, births = self._chunk(key, load, floor, day)
        # The provisioned floor fills the lowest slots, which level = max(demand, floor) never empties.
        return [
            InstanceState(
                _instance_id(self._seed, key, k, int(births[offset, k])),
                version,
                qualifier,
                int(births[offset, k]) * 60_000,
                PROVISIONED if k < floor else ON_DEMAND,
            )
            for k in range(int(level[offset]))
        ]

    def _chunk(
        self, key: SeriesKey, load: LoadModel, floor: int, day: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
        """Per minute of ``day``: how many slots are occupied, and each occupied slot's birth minute."""
        with self._lock:
            hit = self._chunks.get((key, day))
            if hit is not None:
                self._chunks.move_to_end((key, day))
                return hit
        # The previous day gives every slot its history: births are at most max_lifetime_minutes back
        # and idle instances at most idle_keepalive_minutes, both well under a day (scenario bounds).
        demand = np.concatenate([_demand(self._seed, key, load, day - 1), _demand(self._seed, key, load, day)])
        if floor == 0 and not demand.any():
            result = (_IDLE_LEVEL, _NO_BIRTHS)  # shared and read-only: an idle series costs no cache memory
            with self._lock:
                self._chunks[(key, day)] = result
                while len(self._chunks) > _CACHE_DAYS:
                    self._chunks.popitem(last=False)
            return result
        keep = load.idle_keepalive_minutes
        padded = np.concatenate([np.zeros(keep, dtype=np.int64), demand])
        needed = np.lib.stride_tricks.sliding_window_view(padded, keep + 1).max(axis=1)
        level = np.maximum(needed, floor)
        slots = np.arange(int(level.max()))
        minutes = (day - 1) * _DAY + np.arange(2 * _DAY, dtype=np.int64)
        life = load.max_lifetime_minutes
        phase = np.array([_h(self._seed, "phase", *key, k) % life for k in slots], dtype=np.int64)
        occupied = level[:, None] > slots[None, :]
        before = np.vstack([np.zeros((1, len(slots)), dtype=bool), occupied[:-1]])
        recycle = (minutes[:, None] - phase[None, :]) % life == 0
        born = occupied & (~before | recycle)
        births = np.maximum.accumulate(np.where(born, minutes[:, None], np.int64(-1)), axis=0)
        result = (level[_DAY:].copy(), births[_DAY:].astype(np.int32))
        with self._lock:
            self._chunks[(key, day)] = result
            while len(self._chunks) > _CACHE_DAYS:
                self._chunks.popitem(last=False)
        return result
