"""The Dagster definitions of the quarterly performance cycle.

Loading this module reads no data and imports neither Great Expectations nor matplotlib: those
happen inside the assets that need them.
"""

import dagster as dg

from perf_pipeline.defs import jobs, performance, reference, reports, returns, values
from perf_pipeline.defs.resources import DataRootResource, WarehouseIOManager, WarehouseResource
from perf_pipeline.settings import WAREHOUSE_SCHEMA, DataRoot, data_root_path

STAGES = [reference, returns, values, performance, reports]


def build_definitions() -> dg.Definitions:
    root = DataRoot(data_root_path())
    return dg.Definitions(
        assets=dg.load_assets_from_modules(STAGES),
        asset_checks=dg.load_asset_checks_from_modules(STAGES),
        jobs=[jobs.reference_job, jobs.returns_job, jobs.outputs_job, jobs.annual_job],
        resources={
            "data_root": DataRootResource(path=str(root.root)),
            "io_manager": WarehouseIOManager(database=str(root.warehouse), schema=WAREHOUSE_SCHEMA),
            "warehouse": WarehouseResource(database=str(root.warehouse)),
        },
    )


defs = build_definitions()
