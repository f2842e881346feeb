"""The one Definitions: wiring only."""

from __future__ import annotations

import dagster as dg

from assets.checks import fc_instance_snapshots__coverage, fc_instance_snapshots__fresh
from assets.history import fc_history
from assets.inventory import fc_inventory
from assets.reports import report_assets
from assets.snapshots import fc_instance_snapshots
from pipelines.maintenance import dagster_run_retention_job, dagster_run_retention_schedule
from pipelines.resources import FCResource, StoreResource
from pipelines.schedules import (
    build_history_schedule,
    build_tick_schedule,
    fc_inventory_job,
    fc_inventory_schedule,
    fc_tick_job,
)

defs = dg.Definitions(
    assets=[fc_inventory, fc_instance_snapshots, fc_history, *report_assets],
    asset_checks=[fc_instance_snapshots__fresh, fc_instance_snapshots__coverage],
    jobs=[fc_tick_job, fc_inventory_job, dagster_run_retention_job],
    schedules=[build_tick_schedule(), fc_inventory_schedule, dagster_run_retention_schedule, build_history_schedule()],
    resources={
        # No explicit keys: the alibabacloud-credentials default chain (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET,
        # ~/.aliyun/config.json, ECS RAM role, OIDC, credentials URI) supplies the base identity.
        "fc": FCResource(targets_file=dg.EnvVar("FCCAP_TARGETS")),
        "store": StoreResource(root=dg.EnvVar("FCCAP_STORE")),
    },
)
