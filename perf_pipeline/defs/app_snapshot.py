"""The performance app's read-only snapshot: every quarter in one file, published again after
whatever it shows has been rebuilt (`SNAPSHOT_REPUBLISHED`): once after a plan of runs, not once
per quarter the plan rebuilt."""

import datetime as dt
import time
import uuid
from pathlib import Path

import dagster as dg

from perf_pipeline.defs.benchmarks import council_inputs
from perf_pipeline.defs.common import OWNERS
from perf_pipeline.defs.conditions import SNAPSHOT_REPUBLISHED
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource, WarehouseResource
from perf_pipeline.lib.files import relative_to_root, sha256_of
from perf_pipeline.settings import WAREHOUSE_SCHEMA, code_version

# The app snapshot's framework tables, and the assets each is copied from.
SNAPSHOT_TABLES = {
    "programmes": "change_programmes",
    "milestones": "milestone_status",
    "benefits": "benefit_status",
    "risks": "risk_status",
    "tags": "framework_tags",
}
# What the app shows, as the warehouse holds it after the quarter's outputs: every quarter so far.
COPIED = {
    "performance": f"select * from {WAREHOUSE_SCHEMA}.indicator_performance",
    "benchmarks": f"select * from {WAREHOUSE_SCHEMA}.comparator_benchmarks",
    "provenance": f"select * from {WAREHOUSE_SCHEMA}.audit_pack",
    "plan": f"select * from {WAREHOUSE_SCHEMA}.improvement_plan_status",
    "plan_updates": f"select * from {WAREHOUSE_SCHEMA}.improvement_plan_updates",
    "restatements": f"select * from {WAREHOUSE_SCHEMA}.restatement_events",
    "value_for_money": f"select * from {WAREHOUSE_SCHEMA}.value_for_money",
    "value_for_money_points": f"select * from {WAREHOUSE_SCHEMA}.value_for_money_points",
    **{name: f"select * from {WAREHOUSE_SCHEMA}.{asset}" for name, asset in SNAPSHOT_TABLES.items()},
}


@dg.asset(
    code_version="3",
    group_name="app",
    owners=OWNERS,
    kinds={"sqlite"},
    pool=WAREHOUSE_POOL,
    deps=[
        "indicator_performance",
        "restatements",
        "comparator_benchmarks",
        "improvement_plan_status",
        "improvement_plan_updates",
        "audit_pack",
        "quarterly_monitoring_report",
        "benchmark_values",
        "comparator_groups",
        "comparator_positions",
        "value_for_money",
        "value_for_money_points",
        *SNAPSHOT_TABLES.values(),
    ],
    automation_condition=SNAPSHOT_REPUBLISHED,
)
def app_snapshot(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    warehouse: WarehouseResource,
    indicator_catalogue,
):
    """What the performance app shows, copied from the warehouse into a read-only file it may open
    while runs write the warehouse: replaced whole (written aside, then renamed), with its pages'
    latest quarters' charts drawn ahead (`app/ahead.py`) so that no page of theirs draws one when asked."""
    import pandas as pd

    from perf_pipeline.lib.app_snapshot import (
        INDICATOR_COLUMNS,
        benchmark_history,
        snapshot_path,
        write_snapshot,
    )

    started = time.perf_counter()
    council = data_root.council()
    metrics = sorted(indicator_catalogue["benchmark_metric"].dropna().unique())
    with warehouse.get_connection() as con:
        tables = {name: con.execute(sql).fetchdf() for name, sql in COPIED.items()}
        values, groups = council_inputs(con, metrics, council["gss_code"])
        positions = con.execute(f"select * from {WAREHOUSE_SCHEMA}.comparator_positions").fetchdf()
    catalogue = indicator_catalogue.reindex(columns=INDICATOR_COLUMNS)
    tables["indicators"] = catalogue
    # The groups in the order the comparator groups table lists them.
    tables["benchmark_history"] = benchmark_history(
        positions, indicator_catalogue, list(pd.unique(groups["group"]))
    )
    neighbours = groups.loc[groups["group"] == "nearest_neighbours", "member_code"]
    tables["neighbours"] = values.loc[
        values["area_code"].isin(set(neighbours) | {council["gss_code"]}) & values["value"].notna(),
        ["metric", "period", "area_code", "area_name", "value"],
    ].assign(metric=lambda d: values["source"] + ":" + d["metric"])
    latest = tables["performance"]["quarter"].max() if len(tables["performance"]) else None
    meta = {
        "snapshot_id": uuid.uuid4().hex,
        "council": council["name"],
        "gss_code": council["gss_code"],
        "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "latest_quarter": latest,
        "run_id": context.run.run_id,
        "code_version": code_version(),
    }
    from perf_pipeline.app.ahead import (
        charts_ahead,
    )  # the app: imported when the asset runs, not with the definitions

    counts = {}

    def charts(new: Path, previous: Path) -> pd.DataFrame:
        drawn, numbers = charts_ahead(new, data_root.paths.root, previous)
        counts.update(numbers)
        return drawn

    path = write_snapshot(snapshot_path(data_root.paths.root), tables, meta, charts)
    seconds = round(time.perf_counter() - started, 2)
    context.add_output_metadata(
        {
            "path": dg.MetadataValue.path(str(path)),
            "bytes": path.stat().st_size,
            "seconds": seconds,
            "quarters": int(tables["performance"]["quarter"].nunique()),
            **counts,
        }
    )
    return pd.DataFrame(
        [
            {
                "path": relative_to_root(path, data_root.paths.root),
                "sha256": sha256_of(path),
                "bytes": path.stat().st_size,
                "seconds": seconds,
                "published_at": meta["published_at"],
                "latest_quarter": latest,
            }
        ]
    )
