"""The quarterly monitoring documents for Cabinet and scrutiny."""

import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.defs.common import OWNERS, with_quarter
from perf_pipeline.defs.conditions import ANNUAL_BUILT, OUTPUTS_REBUILT
from perf_pipeline.defs.governance import GOVERNANCE_STORE
from perf_pipeline.defs.partitions import (
    ASSESSED_WINDOW,
    quarter_of,
    quarterly_partitions,
    year_of,
    yearly_partitions,
)
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource, WarehouseResource
from perf_pipeline.lib.files import relative_to_root, sha256_of
from perf_pipeline.settings import WAREHOUSE_SCHEMA, code_version

if TYPE_CHECKING:
    import pandas as pd

REPORT_HTML = "quarterly-monitoring-report.html"
REPORT_XLSX = "quarterly-monitoring-report.xlsx"
ANNUAL_HTML = "annual-performance-report.html"
YEARS_COMPARED = 4
AUDIT_PACK = dg.AssetKey("audit_pack")
STATUS_COLUMNS = ("rag_status", "ytd_rag_status", "status")
EXCEPTION_COLUMNS = [
    "indicator_code",
    "title",
    "service_name",
    "directorate",
    "why",
    "value",
    "target",
    "rag_status",
    "dot_short",
    "commentary",
]


def input_manifest(con, data_root, quarter_key: str) -> "pd.DataFrame":
    """Every input file the quarter's figures came from, with its sha256."""
    import pandas as pd

    returns = con.execute(
        f"select distinct file, file_sha256 as sha256 from {WAREHOUSE_SCHEMA}.service_returns_raw "
        "where quarter = ? order by file",
        [quarter_key],
    ).fetchdf()
    others = [
        p
        for folder in ("reference", "corrections")
        for p in sorted((data_root.root / folder).glob("*"))
        if p.is_file()
    ]
    files = pd.DataFrame(
        [{"file": relative_to_root(p, data_root.root), "sha256": sha256_of(p)} for p in others]
    )
    return pd.concat([returns, files], ignore_index=True)


def run_provenance(context: dg.AssetExecutionContext) -> dict:
    return {
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code_version": code_version(),
        "run_id": context.run.run_id,
    }


def neighbour_values(con, benchmarks: "pd.DataFrame", council_code: str) -> "pd.DataFrame":
    """The published values of the council's nearest neighbours for the metrics and periods compared."""
    import pandas as pd

    wanted = benchmarks[benchmarks["group"] == "nearest_neighbours"][["metric", "period"]].drop_duplicates()
    if wanted.empty:
        return pd.DataFrame(columns=["metric", "period", "area_code", "value"])
    con.register("wanted", wanted)
    # The neighbours' rows of the periods compared are picked first: joining all the national
    # values (3.5 million rows for the synthetic council) on the joined-up metric name took 0.15 s.
    try:
        return con.execute(
            f"with members as (select member_code from {WAREHOUSE_SCHEMA}.comparator_groups "
            "where authority_code = ? and \"group\" = 'nearest_neighbours'), "
            "v as (select source || ':' || metric as metric, period, area_code, value "
            f"from {WAREHOUSE_SCHEMA}.benchmark_values "
            "where area_code in (select member_code from members) and period in (select period from wanted)) "
            "select v.* from v join wanted w on w.metric = v.metric and w.period = v.period "
            "join members g on g.member_code = v.area_code",
            [council_code],
        ).fetchdf()
    finally:
        con.unregister("wanted")


@dg.asset(
    code_version="1",
    group_name="reports",
    owners=OWNERS,
    kinds={"html", "excel"},
    pool=WAREHOUSE_POOL,
    partitions_def=quarterly_partitions,
    metadata={"partition_expr": "quarter_start"},
    ins={"indicator_performance": dg.AssetIn(partition_mapping=ASSESSED_WINDOW)},
    deps=[
        "service_returns_raw",
        "benchmark_values",
        "comparator_groups",
        "approvals",
        "council_settings",
        GOVERNANCE_STORE,
    ],
    automation_condition=OUTPUTS_REBUILT,
)
def quarterly_monitoring_report(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    warehouse: WarehouseResource,
    indicator_performance,
    indicator_catalogue,
    restatements,
    submission_status,
    return_exceptions,
    corrections_log,
    comparator_benchmarks,
    improvement_plan_status,
    value_for_money,
    value_for_money_points,
    indicator_measures,
    framework_tags,
    change_programmes,
    milestone_status,
    benefit_status,
    risk_status,
    feedback_indicator_values,
    feedback_cases,
):
    """The quarter's monitoring report for Cabinet and scrutiny, as one HTML file and a workbook."""
    import pandas as pd

    from perf_pipeline.lib.charts import kept_on_disk
    from perf_pipeline.lib.framework_report import framework_sections, framework_sheets
    from perf_pipeline.lib.governance.report import governance_view, workbook_sheets
    from perf_pipeline.lib.publish import publish_folder, staging_folder
    from perf_pipeline.lib.report_render import write_html, write_workbook
    from perf_pipeline.lib.report_view import dot_plots, quarterly_view
    from perf_pipeline.lib.value_for_money_view import value_for_money_section

    quarter = quarter_of(context)
    paths = data_root.paths
    council = data_root.council()
    with warehouse.get_connection() as con:
        files = input_manifest(con, paths, quarter.key)
        members = neighbour_values(con, comparator_benchmarks, council["gss_code"])
    names = indicator_catalogue.set_index("code")
    received = pd.to_datetime(submission_status["received_on"], errors="coerce").max()
    provenance = {
        **run_provenance(context),
        "data_date": f"returns received up to {received:%-d %B %Y}"
        if pd.notna(received)
        else "no returns received",
    }
    current = indicator_performance[indicator_performance["quarter"] == quarter.key]
    # Charts drawn for an earlier build of any quarter are read back, not drawn again.
    with kept_on_disk(paths.charts):
        plots = dot_plots(comparator_benchmarks, members, names, council["gss_code"], council["name"])
        view = quarterly_view(
            quarter,
            council,
            indicator_performance,
            indicator_catalogue,
            restatements,
            submission_status,
            return_exceptions,
            corrections_log,
            data_root.approvals(),
            files,
            provenance,
            benchmarks=comparator_benchmarks,
            dot_plots=plots,
            plan=improvement_plan_status,
            value_for_money=value_for_money_section(value_for_money, value_for_money_points, council["name"]),
            governance=governance_view(paths.root, quarter, current),
        )
    framework = (indicator_measures, framework_tags, change_programmes, milestone_status, benefit_status)
    view.update(
        framework_sections(
            quarter,
            indicator_performance,
            indicator_catalogue,
            *framework,
            risk_status,
            feedback_indicator_values,
            feedback_cases,
        )
    )
    # Written aside: the audit pack publishes the report with itself, as one set (lib/publish.py).
    published = paths.reports_for(quarter)
    folder = staging_folder(published, context.run.run_id)
    html = write_html(folder / REPORT_HTML, "quarterly_report.html.j2", view)
    workbook = write_workbook(
        folder / REPORT_XLSX,
        [
            ("Indicators", current.drop(columns=["quarter_start"], errors="ignore")),
            ("Exceptions", pd.DataFrame(view["exceptions"], columns=EXCEPTION_COLUMNS)),
            ("Benchmarks", comparator_benchmarks.drop(columns=["quarter_start"], errors="ignore")),
            ("Improvement plan", improvement_plan_status.drop(columns=["quarter_start"], errors="ignore")),
            ("Restatements", restatements.drop(columns=["quarter_start"], errors="ignore")),
            ("Return exceptions", return_exceptions.drop(columns=["quarter_start"], errors="ignore")),
            ("Submission status", submission_status.drop(columns=["quarter_start"], errors="ignore")),
            ("Input files", files),
            *framework_sheets(
                indicator_catalogue, view, framework_tags, milestone_status, benefit_status, risk_status
            ),
            *workbook_sheets(view["governance"]),
        ],
        STATUS_COLUMNS,
    )
    written = pd.DataFrame(
        [
            {
                "document": p.name,
                "path": relative_to_root(published / p.name, paths.root),
                "sha256": sha256_of(p),
                "bytes": p.stat().st_size,
            }
            for p in (html, workbook)
        ]
    )
    if AUDIT_PACK not in context.job_def.asset_layer.selected_asset_keys:
        publish_folder(folder, published)  # no audit pack follows in this run
    context.add_output_metadata(
        {
            "html": dg.MetadataValue.path(str(published / REPORT_HTML)),
            "workbook": dg.MetadataValue.path(str(published / REPORT_XLSX)),
        }
    )
    return with_quarter(written, quarter)


@dg.asset(
    code_version="1",
    group_name="reports",
    owners=OWNERS,
    kinds={"html"},
    pool=WAREHOUSE_POOL,
    partitions_def=yearly_partitions,
    metadata={"partition_expr": "year_start"},
    ins={"indicator_performance": dg.AssetIn()},
    deps=["council_settings"],
    automation_condition=ANNUAL_BUILT,
)
def annual_performance_report(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    warehouse: WarehouseResource,
    indicator_performance,
):
    """The financial year's outturn against annual targets, beside the three years before."""
    import pandas as pd

    from perf_pipeline.lib.report_render import write_html
    from perf_pipeline.lib.report_view import annual_view

    year_q4 = year_of(context)
    paths = data_root.paths
    council = data_root.council()
    earlier = [year_q4.shift(-4 * i).key for i in range(1, YEARS_COMPARED)]
    # Earlier years' outturns are history: read as they stand, not rebuilt with this year.
    with warehouse.get_connection() as con:
        before = con.execute(
            f"select * from {WAREHOUSE_SCHEMA}.indicator_performance where list_contains(?, quarter)",
            [earlier],
        ).fetchdf()
    outturns = pd.concat([before, indicator_performance], ignore_index=True)
    if not (outturns["quarter"] == year_q4.key).any():
        raise dg.Failure(
            f"{year_q4.label} has not been assessed yet: run that quarter before the annual report"
        )
    view = annual_view(year_q4, council, outturns, data_root.approvals(), run_provenance(context))
    html = write_html(paths.root / "reports" / year_q4.fy_key / ANNUAL_HTML, "annual_report.html.j2", view)
    context.add_output_metadata({"html": dg.MetadataValue.path(str(html))})
    return pd.DataFrame(
        [
            {
                "year_start": pd.Timestamp(year_q4.shift(-3).start),
                "year": year_q4.fy_key,
                "document": html.name,
                "path": relative_to_root(html, paths.root),
                "sha256": sha256_of(html),
                "bytes": html.stat().st_size,
            }
        ]
    )
