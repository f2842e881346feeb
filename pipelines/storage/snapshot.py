"""What a reader sees right now: the exact file lists the views read (sql/views.sql).

Per day and table: the newest generation (none when it is a retention tombstone) plus the raw
files whose name that generation does not list as consumed, so every tick file is read exactly
once before, during and after a compaction (compactor.py). A raw instances file counts only once
its tick's polls file exists or has been consumed (the tick write's commit point). A day's
rollups are read only while they belong to its newest polls generation and no raw polls file of
the day is visible; otherwise the day is "dirty" and the views derive its rollups from polls.

The lists are resolved once per session: a session sees the store as it was when it opened.
Superseded files stay on disk for ``raw_retention_s`` (an hour by default) after the commit
that superseded them, so a session younger than that never finds a listed file gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.storage.compactor import consumed_names, day_files, seed_path
from pipelines.storage.files import day_dirs
from pipelines.storage.schemas import ROLLUPS, SEED_DT

__all__ = ["ReadSet", "read_set"]


@dataclass
class ReadSet:
    polls: list[Path] = field(default_factory=list)
    instances_raw: list[Path] = field(default_factory=list)
    intervals: list[Path] = field(default_factory=list)
    expand_polls: list[Path] = field(default_factory=list)  # the polls the intervals were built against
    functions: list[Path] = field(default_factory=list)
    rollups: dict[str, list[Path]] = field(default_factory=lambda: {kind: [] for kind in ROLLUPS})
    dirty_days: list[date] = field(default_factory=list)  # days whose rollups are derived from polls

    def variables(self, root: Path) -> list[tuple[str, object]]:
        """(statement, bound value) pairs that set the session variables the views read; every file
        list holds at least its zero-row seed."""

        def files(paths: list[Path], table: str, form: str = "raw") -> list[str]:
            return [str(p) for p in paths] or [str(seed_path(root, table, form))]

        return [
            ("set variable fccap_polls = ?", files(self.polls, "polls")),
            ("set variable fccap_instances_raw = ?", files(self.instances_raw, "instances")),
            ("set variable fccap_intervals = ?", files(self.intervals, "instances", "intervals")),
            ("set variable fccap_expand_polls = ?", files(self.expand_polls, "polls")),
            ("set variable fccap_functions = ?", files(self.functions, "functions")),
            ("set variable fccap_hourly = ?", files(self.rollups["hourly"], "polls", "hourly")),
            ("set variable fccap_service = ?", files(self.rollups["service"], "polls", "service")),
            ("set variable fccap_dirty_days = cast(? as date[])", self.dirty_days),
        ]


def read_set(root: Path) -> ReadSet:
    out = ReadSet()
    days = sorted(set(day_dirs(root, "polls")) | set(day_dirs(root, "instances")) | set(day_dirs(root, "functions")))
    for day in days:
        if day == SEED_DT:
            continue
        polls = day_files(root, "polls", day)
        names_p: set[str] = set()
        if not polls.deleted:
            names_p = consumed_names(polls.current)
            raw_p = [p for p in polls.raw if p.name not in names_p]
            out.polls += ([polls.current] if polls.current else []) + raw_p
            rollups = {kind: polls.rollup(kind) for kind in ROLLUPS}
            if polls.current is not None and not raw_p and all(rollups.values()):
                for kind, path in rollups.items():
                    assert path is not None
                    out.rollups[kind].append(path)
            elif polls.current is not None or raw_p:
                out.dirty_days.append(date.fromisoformat(day))
        instances = day_files(root, "instances", day)
        if not instances.deleted:
            names_i = consumed_names(instances.current)
            committed = {p.name for p in polls.raw} | names_p
            out.instances_raw += [p for p in instances.raw if p.name not in names_i and p.name in committed]
            if instances.current is not None:
                out.intervals.append(instances.current)
                out.expand_polls += ([polls.current] if polls.current else []) + [
                    p for p in polls.raw if p.name in names_i and p.name not in names_p
                ]
        functions = day_files(root, "functions", day)
        if not functions.deleted:
            names_f = consumed_names(functions.current)
            out.functions += ([functions.current] if functions.current else []) + [
                p for p in functions.raw if p.name not in names_f
            ]
    return out
