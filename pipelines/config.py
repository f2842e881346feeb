"""The targets file: which accounts, regions, services, functions and qualifiers to poll.

Validated once, before any call (case C3); every error names the field and the fix.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["ConfigError", "NameFilter", "Target", "TargetsFile", "load_targets", "parse_targets"]

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_QUALIFIER = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

QualifierPolicy = Literal["latest", "aliases", "latest_and_aliases"]


class ConfigError(ValueError):
    """An invalid targets file; the message is one line naming the field and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NameFilter(_Strict):
    """Shell-style patterns; a name is kept when it matches an include and no exclude."""

    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)

    def keeps(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.include) and not any(
            fnmatch.fnmatchcase(name, p) for p in self.exclude
        )


class Target(_Strict):
    account_id: Annotated[str, Field(description="numeric Alibaba Cloud account id (UID)")]
    regions: list[str]
    endpoint: str | None = Field(default=None, description="used verbatim as the base URL; default is public")
    signature: Literal["acs3", "fc"] = "acs3"
    services: NameFilter = Field(default_factory=NameFilter)
    functions: NameFilter = Field(default_factory=NameFilter)
    qualifiers: QualifierPolicy | list[str] = "latest_and_aliases"

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_id(cls, v: object) -> str:
        text = str(v).strip() if isinstance(v, int | str) and not isinstance(v, bool) else ""
        if not text.isdigit():
            raise ValueError("must be the numeric account id (e.g. '1234567890'); quote it in YAML")
        return text

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("list at least one region, e.g. [cn-hangzhou]")
        for r in v:
            if not _REGION.match(r):
                raise ValueError(f"{r!r} is not a region id; use ids like cn-hangzhou or ap-southeast-1")
        if len(set(v)) != len(v):
            raise ValueError("a region is listed twice; list each once")
        return v

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+/?$", v):
            raise ValueError("must be a base URL like https://1234567890.cn-hangzhou.fc.aliyuncs.com (no path)")
        return v

    @field_validator("qualifiers")
    @classmethod
    def _qualifiers(cls, v: QualifierPolicy | list[str]) -> QualifierPolicy | list[str]:
        if isinstance(v, list):
            if not v:
                raise ValueError("an explicit list needs at least one qualifier, e.g. [LATEST, prod]")
            for q in v:
                if not _QUALIFIER.match(q):
                    raise ValueError(f"{q!r} is not a qualifier; use LATEST, an alias name or a version number")
        return v


class TargetsFile(_Strict):
    targets: list[Target]

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[Target]) -> list[Target]:
        if not v:
            raise ValueError("list at least one target (account_id + regions)")
        seen: set[tuple[str, str]] = set()
        for t in v:
            for r in t.regions:
                if (t.account_id, r) in seen:
                    raise ValueError(f"account {t.account_id} region {r} appears twice; merge the entries")
                seen.add((t.account_id, r))
        return v


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_targets(data: object, source: str = "targets file") -> TargetsFile:
    try:
        return TargetsFile.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = _location(first["loc"]) or "top level"
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown field; check its spelling against the README's targets file reference"
        elif first["type"] == "missing":
            msg = "required field is missing; add it"
        raise ConfigError(f"{source}: {where}: {msg}") from None


def load_targets(path: str | Path) -> TargetsFile:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found; pass the path of your targets YAML") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}: not valid YAML{where}; fix the syntax") from None
    return parse_targets(data, str(p))
