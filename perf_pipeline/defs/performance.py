"""Performance against targets: RAG, direction of travel, year to date, and restatements."""

from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.defs.checks import pandera_check
from perf_pipeline.defs.common import KINDS, OWNERS, column_lineage, with_quarter
from perf_pipeline.defs.conditions import OUTPUTS_REBUILT
from perf_pipeline.defs.partitions import ASSESSED_WINDOW, quarter_of, quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource, WarehouseResource
from perf_pipeline.lib.quarters import ASSESSED_QUARTERS_BEFORE
from perf_pipeline.settings import WAREHOUSE_SCHEMA

if TYPE_CHECKING:
    import pandas as pd

PERFORMANCE_WELL_FORMED = "one_assessment_per_indicator"
RULE_INPUTS = ["indicator_catalogue.polarity", "indicator_catalogue.decimals", "indicator_catalogue.rag_rule"]
PERFORMANCE_LINEAGE = column_lineage(
    {
        "value": ["indicator_values.value"],
        "target": ["indicator_targets.target"],
        "amber_threshold": ["indicator_targets.amber_threshold"],
        "target_set_on": ["indicator_targets.set_on"],
        "target_reason": ["indicator_targets.reason"],
        "rag_status": [
            "indicator_values.value",
            "indicator_targets.target",
            "indicator_targets.amber_threshold",
            *RULE_INPUTS,
        ],
        "previous_quarter_value": ["indicator_values.value"],
        "same_quarter_last_year_value": ["indicator_values.value"],
        "dot_short": [
            "indicator_values.value",
            "indicator_catalogue.polarity",
            "indicator_catalogue.decimals",
        ],
        "dot_long": [
            "indicator_values.value",
            "indicator_catalogue.polarity",
            "indicator_catalogue.decimals",
        ],
        "ytd_value": [
            "indicator_values.value",
            "indicator_values.numerator",
            "indicator_values.denominator",
            "indicator_catalogue.ytd_method",
        ],
        "ytd_target": [
            "indicator_targets.target",
            "indicator_values.denominator",
            "indicator_catalogue.ytd_method",
        ],
        "ytd_rag_status": ["indicator_values.value", "indicator_targets.target", *RULE_INPUTS],
        "commentary": ["indicator_values.commentary"],
        "data_status": ["indicator_values.data_status"],
    }
)
PUBLISHED_LOG = f"{WAREHOUSE_SCHEMA}.published_figures"
EVENTS_LOG = f"{WAREHOUSE_SCHEMA}.restatement_events"


@dg.multi_asset(
    outs={
        "indicator_performance": dg.AssetOut(
            description="Each indicator against its target: RAG, direction of travel and year to date.",
            code_version="1",
            owners=OWNERS,
            kinds=KINDS,
            metadata={"partition_expr": "quarter_start"},
            automation_condition=OUTPUTS_REBUILT,
        ),
        "restatements": dg.AssetOut(
            description="Figures of earlier quarters changed since they were last published, old and new.",
            code_version="1",
            owners=OWNERS,
            kinds=KINDS,
            metadata={"partition_expr": "quarter_start"},
            automation_condition=OUTPUTS_REBUILT,
        ),
    },
    ins={"indicator_values": dg.AssetIn(partition_mapping=ASSESSED_WINDOW)},
    check_specs=[dg.AssetCheckSpec(PERFORMANCE_WELL_FORMED, asset="indicator_performance", blocking=True)],
    group_name="performance",
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def assess_performance(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    warehouse: WarehouseResource,
    indicator_values,
    indicator_catalogue,
    indicator_targets,
):
    """Assess the quarter and record every figure it publishes, so later changes show as restatements."""
    import pandas as pd

    from perf_pipeline.lib.performance import assess_quarter, rules_from_catalogue
    from perf_pipeline.lib.publish import publish_csv

    quarter = quarter_of(context)
    window = [quarter.shift(-i).key for i in range(ASSESSED_QUARTERS_BEFORE, -1, -1)]
    values = (
        indicator_values[indicator_values["quarter"].isin(window)]
        if len(indicator_values)
        else indicator_values
    )
    performance = assess_quarter(
        quarter, values, indicator_catalogue, indicator_targets, rules_from_catalogue(indicator_catalogue)
    )
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    with warehouse.get_connection() as con:
        restatements = publish_and_restate(con, quarter.key, window, values, context.run.run_id, now)
    reports = data_root.paths.reports_for(quarter)
    publish_csv(performance, reports / "indicator-performance.csv")
    publish_csv(restatements, reports / "restatements.csv")
    due = performance[performance["rag_status"] != "Not due"]
    yield dg.Output(
        with_quarter(performance, quarter),
        output_name="indicator_performance",
        metadata={
            "rag": dg.MetadataValue.json(due["rag_status"].value_counts().to_dict()),
            "indicators_due": len(due),
            "dagster/column_lineage": PERFORMANCE_LINEAGE,
        },
    )
    yield dg.Output(
        with_quarter(restatements, quarter),
        output_name="restatements",
        metadata={"restated_figures": len(restatements)},
    )
    from perf_pipeline.lib import schemas  # pandera: when the check runs, not at load

    yield pandera_check(
        PERFORMANCE_WELL_FORMED,
        schemas.indicator_performance_schema,
        performance,
        asset_key=dg.AssetKey("indicator_performance"),
    )


def publish_and_restate(
    con, report_quarter: str, window: list[str], values: "pd.DataFrame", run_id: str, now: "pd.Timestamp"
) -> "pd.DataFrame":
    """Append this publication to the log, record any restatement, and list the report's ones."""
    from perf_pipeline.lib.restatements import detect_restatements, figures_shown, restatements_for_report

    ensure_logs(con)
    last_logged = con.execute(
        f"select figure_quarter, indicator_code, arg_max(value, published_at) as value "
        f"from {PUBLISHED_LOG} where list_contains(?, figure_quarter) group by all",
        [window],
    ).fetchdf()
    events = detect_restatements(values, last_logged, report_quarter, run_id, now)
    if len(events):
        con.register("new_events", events)
        con.execute(f"insert into {EVENTS_LOG} by name select * from new_events")
        con.unregister("new_events")
    shown = figures_shown(report_quarter, values, run_id, now)
    con.register("shown", shown)
    con.execute(f"insert into {PUBLISHED_LOG} by name select * from shown")
    con.unregister("shown")
    previous_report = con.execute(
        f"select min(published_at) from {PUBLISHED_LOG} where report_quarter = ?", [window[-2]]
    ).fetchone()[0]
    all_events = con.execute(
        f"select * from {EVENTS_LOG} where list_contains(?, figure_quarter)", [window]
    ).fetchdf()
    return restatements_for_report(all_events, report_quarter, window[:-1], previous_report)


def ensure_logs(con) -> None:
    """The append-only logs; nothing in the pipeline ever deletes or updates their rows."""
    con.execute(f"create schema if not exists {WAREHOUSE_SCHEMA}")
    con.execute(
        f"create table if not exists {PUBLISHED_LOG} (report_quarter varchar, figure_quarter varchar, "
        "indicator_code varchar, value double, corrections varchar, source_file varchar, source_row bigint, "
        "run_id varchar, published_at timestamp)"
    )
    con.execute(
        f"create table if not exists {EVENTS_LOG} (figure_quarter varchar, indicator_code varchar, "
        "old_value double, new_value double, correction_id varchar, revising_return varchar, reason varchar, "
        "approved_by varchar, detected_in varchar, run_id varchar, detected_at timestamp)"
    )
