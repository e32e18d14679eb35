"""The quarterly monitoring documents for Cabinet and scrutiny."""

import datetime as dt

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from perf_pipeline.defs.common import KINDS, OWNERS, reference_failure, with_quarter
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.performance import ASSESSED_WINDOW
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource
from perf_pipeline.lib.files import relative_to_root, sha256_of
from perf_pipeline.lib.reference import load_council
from perf_pipeline.lib.report_render import write_html, write_workbook
from perf_pipeline.lib.report_view import quarterly_view
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline.settings import WAREHOUSE_SCHEMA, code_version

REPORT_HTML = "quarterly-monitoring-report.html"
REPORT_XLSX = "quarterly-monitoring-report.xlsx"
APPROVALS = "approvals.csv"
STATUS_COLUMNS = ("rag_status", "ytd_rag_status")
EXCEPTION_COLUMNS = ["indicator_code", "title", "service_name", "directorate", "why", "value", "target",
                     "rag_status", "dot_short", "commentary"]  # fmt: skip


def read_approvals(path) -> pd.DataFrame:
    """`reference/approvals.csv`: quarter, approved_by, approved_on, meeting (missing file: all drafts)."""
    if not path.is_file():
        return pd.DataFrame(columns=["quarter", "approved_by", "approved_on", "meeting"])
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def input_manifest(con, data_root, quarter_key: str) -> pd.DataFrame:
    """Every input file the quarter's figures came from, with its sha256."""
    returns = con.execute(
        f"select distinct file, file_sha256 as sha256 from {WAREHOUSE_SCHEMA}.service_returns_raw "
        "where quarter = ? order by file",
        [quarter_key],
    ).fetchdf()
    others = [p for folder in ("reference", "corrections") for p in sorted((data_root.root / folder).glob("*"))
              if p.is_file()]  # fmt: skip
    files = pd.DataFrame([{"file": relative_to_root(p, data_root.root), "sha256": sha256_of(p)} for p in others])
    return pd.concat([returns, files], ignore_index=True)


@dg.asset(
    code_version="1",
    group_name="reports",
    owners=OWNERS,
    kinds={"html", "excel"},
    pool=WAREHOUSE_POOL,
    partitions_def=quarterly_partitions,
    metadata={"partition_expr": "quarter_start"},
    ins={"indicator_performance": dg.AssetIn(partition_mapping=ASSESSED_WINDOW)},
    deps=["service_returns_raw"],
)
def quarterly_monitoring_report(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    warehouse: DuckDBResource,
    indicator_performance: pd.DataFrame,
    indicator_catalogue: pd.DataFrame,
    restatements: pd.DataFrame,
    submission_status: pd.DataFrame,
    return_exceptions: pd.DataFrame,
    corrections_log: pd.DataFrame,
) -> pd.DataFrame:
    """The quarter's monitoring report for Cabinet and scrutiny, as one HTML file and a workbook."""
    quarter = quarter_of(context)
    paths = data_root.paths
    try:
        council = load_council(paths.reference / "council.toml")
    except ReferenceDataError as error:
        raise reference_failure(error) from None
    with warehouse.get_connection() as con:
        files = input_manifest(con, paths, quarter.key)
    received = pd.to_datetime(submission_status["received_on"], errors="coerce").max()
    provenance = {
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code_version": code_version(),
        "run_id": context.run.run_id,
        "data_date": f"returns received up to {received:%-d %B %Y}" if pd.notna(received) else "no returns received",
    }
    view = quarterly_view(
        quarter, council, indicator_performance, indicator_catalogue, restatements, submission_status,
        return_exceptions, corrections_log, read_approvals(paths.reference / APPROVALS), files, provenance,
    )  # fmt: skip
    folder = paths.reports_for(quarter)
    html = write_html(folder / REPORT_HTML, "quarterly_report.html.j2", view)
    current = indicator_performance[indicator_performance["quarter"] == quarter.key]
    workbook = write_workbook(
        folder / REPORT_XLSX,
        [
            ("Indicators", current.drop(columns=["quarter_start"], errors="ignore")),
            ("Exceptions", pd.DataFrame(view["exceptions"], columns=EXCEPTION_COLUMNS)),
            ("Restatements", restatements.drop(columns=["quarter_start"], errors="ignore")),
            ("Return exceptions", return_exceptions.drop(columns=["quarter_start"], errors="ignore")),
            ("Submission status", submission_status.drop(columns=["quarter_start"], errors="ignore")),
            ("Input files", files),
        ],
        STATUS_COLUMNS,
    )
    written = pd.DataFrame(
        [{"document": p.name, "path": relative_to_root(p, paths.root), "sha256": sha256_of(p), "bytes": p.stat().st_size}
         for p in (html, workbook)]  # fmt: skip
    )
    context.add_output_metadata({"html": dg.MetadataValue.path(str(html)), "workbook": dg.MetadataValue.path(str(workbook))})
    return with_quarter(written, quarter)
