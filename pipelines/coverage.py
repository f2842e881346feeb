"""Outcome accounting per target: how many polls of a tick succeeded, and why the others failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipelines.collect import PollOutcome
from pipelines.fc.errors import fix_for
from pipelines.redaction import redact

__all__ = ["TargetCoverage", "coverage_by_target"]


@dataclass
class TargetCoverage:
    target: str  # account/region/api_version
    polls: int = 0
    ok: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    example: str | None = None  # one redacted failure message, to say why

    @property
    def failed(self) -> int:
        return self.polls - self.ok

    @property
    def coverage(self) -> float:
        return self.ok / self.polls if self.polls else 1.0

    def as_metadata(self) -> dict[str, object]:
        return {
            "polls": self.polls,
            "ok": self.ok,
            "failed": self.failed,
            "coverage": round(self.coverage, 4),
            "failures_by_code": dict(self.codes),
        }

    def describe(self) -> str:
        codes = ", ".join(f"{code} x{n}" for code, n in self.codes.most_common(5))
        why = f"; e.g. {self.example}" if self.example else ""
        top = self.codes.most_common(1)
        fix = fix_for(top[0][0]) if top else None
        return f"{self.target}: {self.ok}/{self.polls} ok ({self.coverage:.1%}); {codes}{why}" + (
            f"; fix: {fix}" if fix else ""
        )


def coverage_by_target(outcomes: Iterable[PollOutcome], secrets: Sequence[str | None] = ()) -> list[TargetCoverage]:
    by: dict[str, TargetCoverage] = {}
    for o in outcomes:
        t = o.target
        key = f"{t.account_id}/{t.region}/{t.api_version}"
        cov = by.setdefault(key, TargetCoverage(key))
        cov.polls += 1
        if o.error is None:
            cov.ok += 1
        else:
            cov.codes[o.error.code] += 1
            if cov.example is None:
                where = "/".join(x for x in (t.service_name, t.function_name) if x)
                cov.example = f"{where}@{t.qualifier}: {redact(str(o.error), secrets)}"
    return [by[k] for k in sorted(by)]
