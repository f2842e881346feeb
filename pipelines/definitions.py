"""The one Definitions: wiring only.

``defs`` fans the tick out: one run per (account, region) partition. ``build_defs(fan_out=False)``
polls every target in one run per tick (``pipelines.definitions_single_run``, for a small setup).
"""

from __future__ import annotations

import dagster as dg

from assets.checks import fc_instance_snapshots__coverage, fc_instance_snapshots__fresh
from assets.history import fc_history
from assets.inventory import fc_inventory
from assets.reports import report_assets
from assets.snapshots import fc_instance_snapshots, fc_instance_snapshots_by_target
from pipelines.maintenance import dagster_run_retention_job, dagster_run_retention_schedule
from pipelines.resources import FCResource, StoreResource
from pipelines.schedules import (
    build_history_schedule,
    build_tick_schedule,
    fc_inventory_job,
    fc_inventory_schedule,
    fc_tick_job,
    single_run_tick_job,
)

__all__ = ["STEP_EXECUTOR", "build_defs", "defs"]

# Each step process forks from a server that has imported the code location once, instead of
# spawning a fresh interpreter that imports Dagster, pandas and pyarrow again (make bench: fan-out).
STEP_EXECUTOR = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["pipelines.definitions"]}}}
)


def build_defs(*, fan_out: bool = True) -> dg.Definitions:
    snapshots, tick_job = (
        (fc_instance_snapshots_by_target, fc_tick_job)
        if fan_out
        else (
            fc_instance_snapshots,
            single_run_tick_job,
        )
    )
    return dg.Definitions(
        executor=STEP_EXECUTOR,
        assets=[fc_inventory, snapshots, fc_history, *report_assets],
        asset_checks=[fc_instance_snapshots__fresh, fc_instance_snapshots__coverage],
        jobs=[tick_job, fc_inventory_job, dagster_run_retention_job],
        schedules=[
            build_tick_schedule(fan_out=fan_out),
            fc_inventory_schedule,
            dagster_run_retention_schedule,
            build_history_schedule(),
        ],
        resources={
            # No explicit keys: the alibabacloud-credentials default chain (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET,
            # ~/.aliyun/config.json, ECS RAM role, OIDC, credentials URI) supplies the base identity.
            "fc": FCResource(targets_file=dg.EnvVar("FCCAP_TARGETS")),
            "store": StoreResource(root=dg.EnvVar("FCCAP_STORE")),
        },
    )


defs = build_defs()
