"""The targets file (which accounts, regions, services, functions and qualifiers to poll) and the
store settings (an object-store root's endpoint, addressing style and region).

Validated once, before any call (case C3); every error names the field and the fix.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.fc.client import default_endpoint
from pipelines.fc.regions import KNOWN_REGIONS, closest_region

__all__ = [
    "STORE_ENV",
    "ConfigError",
    "NameFilter",
    "StoreSettings",
    "Target",
    "TargetsFile",
    "expand_targets",
    "load_targets",
    "parse_targets",
    "store_settings",
    "store_settings_from_env",
]

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_QUALIFIER = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_ROLE_ARN = re.compile(r"^acs:ram::(?P<account>[0-9]+):role/[A-Za-z0-9._@-]{1,64}$")
_SESSION_NAME = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
# No user:password@ in a URL: credentials come from the environment, never from a URL that error
# messages and logs would repeat.
_BASE_URL = re.compile(r"^https?://[^/\s@]+/?$")
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def _shown(url: str) -> str:
    """``url`` fit for a message: any user:password@ part replaced by ***@."""
    return _USERINFO.sub("***@", url)


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
    regions: list[str] | Literal["all"] = Field(description="region ids, or `all`: every FC region that answers")
    endpoint: str | None = Field(default=None, description="used verbatim as the base URL; default is public")
    endpoints: dict[str, str] = Field(default_factory=dict, description="per-region base URL, wins over endpoint")
    network: Literal["public", "internal"] = Field(
        default="public", description="internal: the default endpoint is <uid>.<region>-internal.fc.aliyuncs.com"
    )
    role_arn: str | None = Field(default=None, description="RAM role assumed from the base identity via STS")
    role_session_name: str | None = None
    external_id: str | None = None
    duration_seconds: int | None = Field(default=None, description="STS session length, 900..43200")
    api_version: Literal["2021-04-06", "2023-03-30"] = "2021-04-06"
    # FC 3.0 ListFunctions also lists FC 2.0 functions (C5): "v3" keeps each function listed once
    # when the same account and region is also a 2021-04-06 target; "all" polls them through 3.0.
    fc_version: Literal["v3", "all"] = "v3"
    signature: Literal["acs3", "fc"] = "acs3"
    services: NameFilter = Field(default_factory=NameFilter)
    functions: NameFilter = Field(default_factory=NameFilter)
    qualifiers: QualifierPolicy | list[str] = "latest_and_aliases"
    rate_limit: float = Field(
        default=500.0, gt=0, le=10_000, description="requests per second per (account, region), retries included"
    )

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_id(cls, v: object) -> str:
        text = str(v).strip() if isinstance(v, int | str) and not isinstance(v, bool) else ""
        if not text.isdigit():
            raise ValueError("must be the numeric account id (e.g. '1234567890'); quote it in YAML")
        return text

    @field_validator("regions", mode="before")
    @classmethod
    def _regions_form(cls, v: object) -> object:
        if isinstance(v, str) and v != "all":
            raise ValueError(f"use a list like [{v}] or the word all (every FC region the account answers in)")
        return v

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: list[str] | Literal["all"]) -> list[str] | Literal["all"]:
        if v == "all":
            return v
        if not v:
            raise ValueError("list at least one region, e.g. [cn-hangzhou]")
        for r in v:
            if not _REGION.match(r):
                raise ValueError(f"{r!r} is not a region id; use ids like cn-hangzhou or ap-southeast-1")
            if r not in KNOWN_REGIONS:
                near = closest_region(r)
                hint = f"did you mean {near!r}?" if near else "see the README for the list"
                raise ValueError(f"{r!r} is not a known FC region; {hint}")
        if len(set(v)) != len(v):
            raise ValueError("a region is listed twice; list each once")
        return v

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None and not _BASE_URL.match(v):
            raise ValueError("must be a base URL like https://1234567890.cn-hangzhou.fc.aliyuncs.com (no path)")
        return v

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, v: dict[str, str]) -> dict[str, str]:
        for region, url in v.items():
            if not _BASE_URL.match(url):
                raise ValueError(f"{region}: {_shown(url)!r} must be a base URL like https://host:port (no path)")
        return v

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, v: str | None) -> str | None:
        if v is not None and not _ROLE_ARN.match(v):
            raise ValueError(f"{v!r} is not a RAM role ARN; use acs:ram::<account id>:role/<role name>")
        return v

    @field_validator("role_session_name")
    @classmethod
    def _role_session_name(cls, v: str | None) -> str | None:
        if v is not None and not _SESSION_NAME.match(v):
            raise ValueError("use 2-64 characters from letters, digits and . @ - _")
        return v

    @field_validator("duration_seconds")
    @classmethod
    def _duration(cls, v: int | None) -> int | None:
        if v is not None and not 900 <= v <= 43200:
            raise ValueError(f"{v} is outside STS's range; use 900 to 43200 seconds (the role's maximum)")
        return v

    @property
    def region_ids(self) -> tuple[str, ...]:
        """The regions to read: the list, or every known FC region for ``all``."""
        return KNOWN_REGIONS if self.regions == "all" else tuple(self.regions)

    def endpoint_for(self, region: str) -> str:
        """Per-region endpoint, else the verbatim endpoint, else the default for ``network``."""
        if region in self.endpoints:
            return self.endpoints[region]
        if self.endpoint is not None:
            return self.endpoint
        return default_endpoint(self.account_id, f"{region}-internal" if self.network == "internal" else region)

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

    @model_validator(mode="after")
    def _access_rules(self) -> Target:
        for region in self.endpoints:
            if region not in self.region_ids:
                raise ValueError(f"endpoints: {region!r} is not in this target's regions; add it there or remove it")
        if self.network == "internal" and self.endpoint is not None:
            raise ValueError("network: an explicit endpoint is used verbatim; remove `network: internal` or endpoint")
        if self.role_arn is None:
            for name in ("role_session_name", "external_id", "duration_seconds"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} applies only with role_arn; add role_arn or remove {name}")
        else:
            match = _ROLE_ARN.match(self.role_arn)
            if match is not None and match.group("account") != self.account_id:
                raise ValueError(
                    f"role_arn: the role is in account {match.group('account')} but the target reads "
                    f"{self.account_id}; name a role in {self.account_id}"
                )
        return self

    @model_validator(mode="after")
    def _version_rules(self) -> Target:
        if self.api_version == "2023-03-30":
            if self.signature == "fc":
                raise ValueError("signature: FC 3.0 accepts only acs3; remove `signature: fc` from this target")
            if self.services != NameFilter():
                raise ValueError("services: FC 3.0 functions have no service; filter with `functions` instead")
        elif self.fc_version != "v3":
            raise ValueError("fc_version applies to api_version 2023-03-30 targets only; remove it")
        return self


class TargetsFile(_Strict):
    targets: list[Target]

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[Target]) -> list[Target]:
        if not v:
            raise ValueError("list at least one target (account_id + regions)")
        seen: set[tuple[str, str, str]] = set()
        for t in v:
            for r in t.region_ids:
                key = (t.account_id, r, t.api_version)
                if key in seen:
                    raise ValueError(
                        f"account {t.account_id} region {r} api_version {t.api_version} appears twice; "
                        "merge the entries"
                    )
                seen.add(key)
        for t in v:
            if t.api_version == "2023-03-30" and t.fc_version == "all":
                for r in t.region_ids:
                    if (t.account_id, r, "2021-04-06") in seen:
                        raise ValueError(
                            f"account {t.account_id} region {r} is polled through 2021-04-06 and through 2023-03-30 "
                            "with fc_version all, so FC 2.0 functions would be counted twice; use fc_version v3"
                        )
        return v


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.replace("_", "a").isalnum():  # a key from the file may hold anything: quote it
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out


_README_TARGETS = "the targets file in the README (Running it against real FC)"


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    """The field a misspelt key most likely meant, from the model at that place in the file."""
    models: dict[tuple[str, ...], type[BaseModel]] = {
        (): TargetsFile,
        ("targets",): Target,
        ("targets", "services"): NameFilter,
        ("targets", "functions"): NameFilter,
    }
    model = models.get(tuple(p for p in loc[:-1] if isinstance(p, str)))
    key = loc[-1] if loc else None
    if model is None or not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_targets(data: object, source: str = "targets file") -> TargetsFile:
    try:
        return TargetsFile.model_validate(data)
    except ValidationError as e:
        # A misspelt key also makes its intended key "missing": name the misspelling first.
        first = sorted(e.errors(), key=lambda err: err["type"] != "extra_forbidden")[0]
        where = _location(first["loc"]) or "top level"
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = f"unknown field{_did_you_mean(first['loc'])}; check its spelling against {_README_TARGETS}"
        elif first["type"] == "missing":
            msg = "required field is missing; add it"
        elif first["type"] in ("float_parsing", "float_type", "int_parsing", "int_type"):
            msg = f"{first['input']!r} is not a number; give a number"
        elif first["type"] in ("dict_type", "model_type") and not first["loc"]:
            msg = f"the file must be a mapping with a `targets:` list (see {_README_TARGETS})"
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


def expand_targets(targets: TargetsFile) -> pd.DataFrame:
    """One row per (account, region, API version) as the poller will see it."""
    rows = []
    for t in targets.targets:
        for region in t.region_ids:
            qualifiers = t.qualifiers if isinstance(t.qualifiers, str) else ",".join(t.qualifiers)
            rows.append(
                {
                    "account_id": t.account_id,
                    "region": region,
                    "api_version": t.api_version,
                    "endpoint": t.endpoint_for(region),
                    "signature": t.signature,
                    "qualifiers": qualifiers,
                    "services": "" if t.api_version == "2023-03-30" else _describe(t.services),
                    "functions": _describe(t.functions),
                    "fc_version": t.fc_version if t.api_version == "2023-03-30" else "",
                    "rate_limit_per_s": t.rate_limit,
                    "role_arn": t.role_arn or "",
                }
            )
    return pd.DataFrame(rows)


def _describe(f: NameFilter) -> str:
    text = ",".join(f.include)
    return f"{text} except {','.join(f.exclude)}" if f.exclude else text


# Object-store settings, each also read from its environment variable (at run time) when not given.
STORE_ENV = {
    "endpoint_url": "FCCAP_STORE_ENDPOINT_URL",
    "addressing_style": "FCCAP_STORE_ADDRESSING_STYLE",
    "region": "FCCAP_STORE_REGION",
}
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_STORE_REGION = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class StoreSettings(_Strict):
    """How to reach an ``s3://bucket/prefix`` store root (S3 or an S3-compatible store such as OSS).

    Credentials are never settings: they come from the botocore chain (AWS_ACCESS_KEY_ID /
    AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN holding the OSS AccessKey, or AWS_PROFILE)."""

    endpoint_url: str | None = Field(
        default=None, description="base URL of the S3 API, e.g. https://s3.oss-cn-hangzhou.aliyuncs.com; unset: AWS"
    )
    addressing_style: Literal["virtual", "path", "auto"] = Field(
        default="virtual",
        description="virtual: https://bucket.host/key (what OSS requires); path: https://host/bucket/key",
    )
    region: str | None = Field(default=None, description="signing region, e.g. cn-hangzhou; unset: the botocore chain")

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_url(cls, v: str | None) -> str | None:
        if v is not None and not _BASE_URL.match(v):
            raise ValueError(
                f"{_shown(v)!r} must be a base URL like https://s3.oss-cn-hangzhou.aliyuncs.com"
                " (scheme, host, no path, no user:password@)"
            )
        return v.rstrip("/") if v else v

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is not None and not _STORE_REGION.match(v):
            raise ValueError(f"{v!r} is not a region id; use e.g. cn-hangzhou")
        return v

    def check_root(self, uri: str) -> str:
        """The root URI normalised (no trailing slash); a bad one is a ConfigError naming the fix."""
        scheme, _, rest = uri.partition("://")
        if scheme != "s3":
            raise ConfigError(
                f"store root {_shown(uri)!r}: only s3:// URIs (S3, OSS and other S3-compatible stores) or local "
                "directories; use s3://bucket/prefix"
            )
        bucket = rest.split("/", 1)[0]
        if "@" in bucket:
            raise ConfigError(
                f"store root {_shown(uri)!r}: no credentials in the URI; use s3://bucket/prefix and set "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment"
            )
        if not _BUCKET.match(bucket):
            raise ConfigError(f"store root {uri!r}: {bucket!r} is not a bucket name; use s3://bucket/prefix")
        return f"s3://{rest.rstrip('/')}"

    def storage_options(self) -> dict[str, Any]:
        """s3fs options. No secrets here: s3fs takes the credentials from the botocore chain."""
        config: dict[str, object] = {
            "s3": {"addressing_style": self.addressing_style},
            # botocore >= 1.36 adds CRC checksum headers that S3-compatible stores (OSS among them)
            # may reject; our writes carry Content-MD5, which S3 and OSS both verify.
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        }
        options: dict[str, object] = {
            "config_kwargs": config,
            # Other processes write the store: never answer a listing from this process's cache.
            "use_listings_cache": False,
        }
        if self.endpoint_url:
            options["endpoint_url"] = self.endpoint_url
        if self.region:
            options["client_kwargs"] = {"region_name": self.region}
        return options


def store_settings(source: str = "store", **values: str | None) -> StoreSettings:
    """Validated settings; ``source`` prefixes the one-line error (``store.addressing_style: ...``)."""
    try:
        return StoreSettings.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        where = STORE_ENV.get(field, field) if source == "env" else f"{source}.{field}"
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = f"unknown field; the store settings are {', '.join(STORE_ENV)}"
        elif first["type"] == "literal_error":
            msg = f"{first['input']!r} is not one of virtual, path, auto; OSS needs virtual"
        raise ConfigError(f"{where}: {msg}") from None


def store_settings_from_env() -> StoreSettings:
    """Settings from FCCAP_STORE_ENDPOINT_URL, FCCAP_STORE_ADDRESSING_STYLE and FCCAP_STORE_REGION."""
    return store_settings("env", **{field: os.environ.get(var) or None for field, var in STORE_ENV.items()})
