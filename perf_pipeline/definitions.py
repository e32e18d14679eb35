"""The Dagster definitions of the quarterly performance cycle.

Loading this module reads no data and imports none of pandas, numpy, DuckDB, pandera, openpyxl,
Great Expectations or matplotlib: those happen inside the assets that need them.
"""

import atexit
import gc

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
    sources,
    value_for_money,
    values,
)
from perf_pipeline.defs.conditions import with_outputs_rebuilt
from perf_pipeline.defs.resources import DataRootResource, MailResource, WarehouseIOManager, WarehouseResource
from perf_pipeline.settings import (
    WAREHOUSE_SCHEMA,
    DataRoot,
    data_root_path,
    first_quarter,
    warehouse_connection_config,
)

# How a process that loads these definitions (the command line, the code server, each run the daemon
# launches, a test worker) collects its garbage. It holds half a million objects or more, most of
# them Dagster's, pandas' and these definitions', alive until it ends, and Python's collector
# searched them all for cycles again and again: 15% of a quarter's run and 18% of the automation
# tests' CPU. So: what is loaded by now is set aside for good (`freeze`), the youngest objects are
# searched every 10,000 allocations rather than 700, and at exit the search Python makes of every
# object, 2-6 s a process on these machines, is skipped the same way, once the work is done and
# written (the memory goes back to the system anyway). `benchmarks/collector.py` measures both.
gc.set_threshold(10_000, 10, 10)
gc.freeze()
atexit.register(gc.freeze)

STAGES = [
    sources,
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


def build_definitions(root: DataRoot) -> dg.Definitions:
    """The definitions for one data root."""
    return dg.Definitions(
        assets=with_outputs_rebuilt(dg.load_assets_from_modules(STAGES)),
        asset_checks=dg.load_asset_checks_from_modules(STAGES),
        jobs=[
            jobs.reference_job,
            jobs.returns_job,
            jobs.outputs_job,
            jobs.quarter_job,
            jobs.annual_job,
            jobs.app_job,
            jobs.data_requests_job,
            jobs.reminders_job,
        ],
        schedules=automation.schedules,
        sensors=automation.sensors,
        resources={
            "data_root": DataRootResource(path=str(root.root), first_quarter=first_quarter().key),
            "io_manager": WarehouseIOManager(
                database=str(root.warehouse),
                schema=WAREHOUSE_SCHEMA,
                connection_config=warehouse_connection_config(),
            ),
            "warehouse": WarehouseResource(
                database=str(root.warehouse), connection_config=warehouse_connection_config()
            ),
            "mail": MailResource.from_environment(),
            "returned_rows": returns.returned_rows,
        },
        # Each run's steps in one process: a step in a process of its own would start Python and
        # Dagster again, and import pandas, DuckDB or Great Expectations for its work, for seconds
        # each. The pool `duckdb_warehouse` keeps one writer across runs.
        executor=dg.in_process_executor,
    )


# What `workspace.yaml`, the UI and the daemon load: the data root named by the environment.
defs = build_definitions(DataRoot(data_root_path()))
