"""The fan-out of a tick: one Dagster partition per (account, region) of the targets file.

A dynamic partitions definition, because the targets file is read at run time, never at import:
each inventory run registers the (account, region) pairs it read (and drops the ones no longer
configured), and the tick schedule asks for one run per registered key every minute. A key is
``<account_id>/<region>``: a numeric account id and a validated region id, nothing else.
"""
# No `from __future__ import annotations`: Dagster reads the context and config annotations at runtime.

import dagster as dg

from pipelines.collect import Inventory
from pipelines.config import TargetsFile

__all__ = ["ACCOUNT_TAG", "TARGET_TAG", "fc_targets", "parse_target_key", "target_key", "target_keys"]

fc_targets = dg.DynamicPartitionsDefinition(name="fc_targets")

# Run tags of every tick run: the run queue limits concurrent runs per value (deploy/dagster.yaml, C21).
ACCOUNT_TAG = "fccap/account"
TARGET_TAG = "fccap/target"


def target_key(account_id: str, region: str) -> str:
    return f"{account_id}/{region}"


def parse_target_key(key: str) -> tuple[str, str]:
    account_id, sep, region = key.partition("/")
    if not (sep and account_id.isdigit() and region):
        raise ValueError(f"{key!r} is not an fc_targets partition key (<account_id>/<region>)")
    return account_id, region


def target_keys(targets: TargetsFile, inventory: Inventory | None = None) -> list[str]:
    """The (account, region) keys to poll: every configured pair, less the regions of a
    ``regions: all`` target that the inventory found not in use (skipped, not failed)."""
    keys: set[str] = set()
    skipped = {(s.account_id, s.region, s.api_version) for s in (inventory.skipped if inventory else [])}
    for t in targets.targets:
        for region in t.region_ids:
            if (t.account_id, region, t.api_version) not in skipped:
                keys.add(target_key(t.account_id, region))
    return sorted(keys)
