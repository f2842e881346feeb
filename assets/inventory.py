"""The inventory: which functions and qualifiers exist, refreshed on its own schedule."""
# No `from __future__ import annotations`: Dagster reads the context and config annotations at runtime.

import time
from collections import Counter
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from assets.partitions import fc_targets, target_keys
from pipelines.collect import DiscoveryFailure, InventoryRow
from pipelines.config import ConfigError
from pipelines.fc.errors import fix_for
from pipelines.normalise import functions_frame, inventory_rows
from pipelines.redaction import redact
from pipelines.resources import FCResource, StoreResource


def _carry_forward(
    fresh: list[InventoryRow], failures: list[DiscoveryFailure], previous: pd.DataFrame | None
) -> list[InventoryRow]:
    """Keep the last known functions of listings that failed, so their polls go on."""
    if previous is None or not failures:
        return fresh
    kept = [r for r in inventory_rows(previous) if any(f.covers(r) for f in failures)]
    seen = {(r.account_id, r.region, r.api_version, r.service_name, r.spec.name) for r in fresh}
    kept = [r for r in kept if (r.account_id, r.region, r.api_version, r.service_name, r.spec.name) not in seen]
    return sorted(
        [*fresh, *kept], key=lambda r: (r.account_id, r.region, r.api_version, r.service_name or "", r.spec.name)
    )


def _sync_partitions(instance: dg.DagsterInstance, keys: list[str]) -> dict[str, list[str]]:
    """Make the fc_targets partitions exactly the configured (account, region) pairs."""
    name = fc_targets.name
    assert name is not None
    have = set(instance.get_dynamic_partitions(name))
    added = [k for k in keys if k not in have]
    removed = sorted(have - set(keys))
    if added:
        instance.add_dynamic_partitions(name, added)
    for key in removed:
        instance.delete_dynamic_partition(name, key)
    return {"keys": keys, "added": added, "removed": removed}


@dg.asset(group_name="fc", kinds={"parquet"})
def fc_inventory(context: dg.AssetExecutionContext, fc: FCResource, store: StoreResource) -> dg.MaterializeResult:
    """Functions, specs and qualifiers of every configured target (ListServices, ListFunctions,
    ListAliases, paged). Targets whose discovery fails keep their previous inventory and are
    named in the failure; the refresh is written first, then the run fails. Registers one
    fc_targets partition per configured (account, region), the keys the tick fans out to."""
    started = time.perf_counter()
    refreshed_at = datetime.now(UTC)
    try:
        targets = fc.targets()
        inventory = fc.discover()
    except ConfigError as e:
        raise dg.Failure(description=str(e)) from None
    partitions = _sync_partitions(context.instance, target_keys(targets, inventory))
    st = store.store()
    rows = _carry_forward(inventory.rows, inventory.failures, st.latest_inventory())
    written = st.write_inventory(refreshed_at, functions_frame(rows, refreshed_at))
    polls_per_tick = sum(len(r.qualifiers) for r in rows)
    secrets = fc.secrets()
    failures = [
        f"{f.scope}: {redact(str(f.error), secrets)}" + (f"; fix: {fix}" if (fix := fix_for(f.error.code)) else "")
        for f in inventory.failures
    ]
    metadata = {
        "functions": len(rows),
        "services": len({(r.account_id, r.region, r.service_name) for r in rows}),
        "polls_per_tick": polls_per_tick,
        "qualifiers": dg.MetadataValue.json(dict(Counter(q for r in rows for q in r.qualifiers))),
        "discovery_failures": len(failures),
        # `regions: all`: regions that refused or were unreachable, which is not a failure.
        "skipped_regions": dg.MetadataValue.json(
            [{"account_id": k.account_id, "region": k.region, "code": k.code} for k in inventory.skipped]
        ),
        "partitions": dg.MetadataValue.json(partitions),
        "duration_s": round(time.perf_counter() - started, 3),
        "path": dg.MetadataValue.path(str(written.path)),
    }
    if failures:
        raise dg.Failure(
            description=f"discovery failed for {len(failures)} target(s); their previous inventory was kept:\n"
            + "\n".join(failures[:20])
            + (f"\n... and {len(failures) - 20} more (see the metadata)" if len(failures) > 20 else ""),
            metadata=metadata,
        )
    context.log.info("inventory: %d functions, %d polls per tick", len(rows), polls_per_tick)
    return dg.MaterializeResult(metadata=metadata)
