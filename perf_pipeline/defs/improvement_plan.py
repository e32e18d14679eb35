"""The Corporate Improvement Plan: where each action stands at the end of the quarter."""

import dagster as dg

from perf_pipeline.defs.checks import pandera_check
from perf_pipeline.defs.common import KINDS, OWNERS, files_version, reference_checked, with_quarter
from perf_pipeline.defs.governance import GOVERNANCE_STORE
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource
from perf_pipeline.lib.governance.records import KINDS as KINDS_OF_RECORDS

PLAN_WELL_FORMED = "one_status_per_action"
from perf_pipeline.defs.sources import PLAN_FILES


@dg.multi_asset(
    outs={
        "improvement_plan_status": dg.AssetOut(
            description="Each action agreed by the quarter's end: progress, due date (revised, with reason) and status.",
            code_version="1",
            owners=OWNERS,
            kinds=KINDS,
            metadata={"partition_expr": "quarter_start"},
        ),
        "improvement_plan_updates": dg.AssetOut(
            description="Every progress update recorded by the quarter's end: how each action progressed.",
            code_version="1",
            owners=OWNERS,
            kinds=KINDS,
            metadata={"partition_expr": "quarter_start"},
        ),
    },
    check_specs=[dg.AssetCheckSpec(PLAN_WELL_FORMED, asset="improvement_plan_status", blocking=True)],
    group_name="improvement_plan",
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
    # Corrective actions promoted in the app join the plan.
    deps=["improvement_plan_files", GOVERNANCE_STORE],
)
def improvement_plan(context: dg.AssetExecutionContext, data_root: DataRootResource, indicator_catalogue):
    """The improvement plan as at the quarter's last day, and the audit trail of updates behind it."""
    from perf_pipeline.lib.governance.report import plan_actions
    from perf_pipeline.lib.governance.stages import GOVERNANCE_FOLDER
    from perf_pipeline.lib.improvement_plan import load_plan, plan_status, updates_as_at
    from perf_pipeline.lib.publish import publish_csv

    quarter = quarter_of(context)
    paths = data_root.paths
    with reference_checked():
        actions, updates = load_plan(paths.improvement_plan, plan_actions(paths.root, indicator_catalogue))
    status = plan_status(actions, updates, quarter.end)
    trail = updates_as_at(updates[updates["action_id"].isin(status["action_id"])], quarter.end)
    publish_csv(status, paths.reports_for(quarter) / "improvement-plan.csv")
    publish_csv(trail, paths.reports_for(quarter) / "improvement-plan-updates.csv")
    version = files_version(
        [paths.improvement_plan / name for name in PLAN_FILES]
        + [paths.root / GOVERNANCE_FOLDER / KINDS_OF_RECORDS["corrective_action"][0]]
    )
    yield dg.Output(
        with_quarter(status, quarter),
        output_name="improvement_plan_status",
        data_version=version,
        metadata={
            "actions": len(status),
            "by_status": dg.MetadataValue.json(status["status"].value_counts().to_dict()),
        },
    )
    yield dg.Output(
        with_quarter(trail, quarter),
        output_name="improvement_plan_updates",
        data_version=version,
        metadata={"updates": len(trail)},
    )
    from perf_pipeline.lib import schemas  # pandera: when the check runs, not at load

    yield pandera_check(
        PLAN_WELL_FORMED,
        schemas.improvement_plan_status_schema,
        status,
        asset_key=dg.AssetKey("improvement_plan_status"),
    )
