"""The Dagster definitions of the quarterly performance cycle.

Loading this module reads no data and imports neither Great Expectations nor matplotlib: those
happen inside the assets that need them.
"""

import dagster as dg

from perf_pipeline.defs import (
    app_snapshot,
    audit,
    automation,
    benchmarks,
    data_requests,
    feedback,
    framework,
    governance,
    improvement_plan,
    jobs,
    performance,
    reference,
    reminders,
    reports,
    returns,
    value_for_money,
    values,
)
from perf_pipeline.defs.resources import DataRootResource, MailResource, WarehouseIOManager, WarehouseResource
from perf_pipeline.settings import WAREHOUSE_SCHEMA, DataRoot, data_root_path, warehouse_connection_config

STAGES = [
    data_requests,
    reference,
    returns,
    governance,
    values,
    performance,
    benchmarks,
    value_for_money,
    improvement_plan,
    reports,
    audit,
    app_snapshot,
    reminders,
    feedback,
    framework,
]


def build_definitions() -> dg.Definitions:
    root = DataRoot(data_root_path())
    return dg.Definitions(
        assets=dg.load_assets_from_modules(STAGES),
        asset_checks=dg.load_asset_checks_from_modules(STAGES),
        jobs=[
            jobs.reference_job,
            jobs.returns_job,
            jobs.outputs_job,
            jobs.annual_job,
            jobs.data_requests_job,
            jobs.reminders_job,
        ],
        schedules=automation.schedules,
        sensors=automation.sensors,
        resources={
            "data_root": DataRootResource(path=str(root.root)),
            "io_manager": WarehouseIOManager(
                database=str(root.warehouse),
                schema=WAREHOUSE_SCHEMA,
                connection_config=warehouse_connection_config(),
            ),
            "warehouse": WarehouseResource(
                database=str(root.warehouse), connection_config=warehouse_connection_config()
            ),
            "mail": MailResource.from_environment(),
        },
    )


defs = build_definitions()
