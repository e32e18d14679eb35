"""The Dagster definitions of the quarterly performance cycle.

Loading this module reads no data and imports neither Great Expectations nor matplotlib: those
happen inside the assets that need them.
"""

import dagster as dg

from perf_pipeline.defs import jobs, reference, returns, values
from perf_pipeline.defs.resources import DataRootResource, WarehouseIOManager
from perf_pipeline.settings import WAREHOUSE_SCHEMA, DataRoot, data_root_path


def build_definitions() -> dg.Definitions:
    root = DataRoot(data_root_path())
    return dg.Definitions(
        assets=dg.load_assets_from_modules([reference, returns, values]),
        asset_checks=dg.load_asset_checks_from_modules([reference, returns, values]),
        jobs=[jobs.reference_job, jobs.returns_job, jobs.outputs_job],
        resources={
            "data_root": DataRootResource(path=str(root.root)),
            "io_manager": WarehouseIOManager(database=str(root.warehouse), schema=WAREHOUSE_SCHEMA),
        },
    )


defs = build_definitions()
