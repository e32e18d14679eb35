"""Service returns: received as they are, checked row by row, and who still owes what."""

from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.defs.checks import frame_check, pandera_check
from perf_pipeline.defs.common import KINDS, OWNERS, files_table, with_quarter
from perf_pipeline.defs.conditions import RETURNS_READ
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource
from perf_pipeline.lib.files import combined_hash

if TYPE_CHECKING:
    import pandas as pd

RETURNS = {
    "group_name": "returns",
    "owners": OWNERS,
    "kinds": KINDS,
    "pool": WAREHOUSE_POOL,
    "partitions_def": quarterly_partitions,
    "metadata": {"partition_expr": "quarter_start"},
    "automation_condition": RETURNS_READ,
}
RAW_TRACEABLE = "every_row_traceable_to_its_file"
ROWS_ACCOUNTED = "every_row_accounted_for"
VALIDATED_SCHEMA = "validated_rows_well_formed"
EXCEPTIONS_EXPLAINED = "every_exception_explained"
EXCEPTION_CSV_COLUMNS = [
    "file",
    "row",
    "indicator_code",
    "period",
    "raw_value",
    "reason",
    "message",
    "service",
]


@dg.asset(
    code_version="1",
    deps=["return_files"],
    check_specs=[dg.AssetCheckSpec(RAW_TRACEABLE, asset="service_returns_raw", blocking=True)],
    **RETURNS,
)
def service_returns_raw(context: dg.AssetExecutionContext, data_root: DataRootResource):
    """Every row of every return for the quarter exactly as received, with its file, hash and row."""
    import pandas as pd

    from perf_pipeline.lib.returns_reader import list_return_files, raw_frame, read_limits, read_return

    quarter = quarter_of(context)
    paths = data_root.paths
    files, ignored = list_return_files(paths.submissions_for(quarter), paths.root)
    limits = read_limits(data_root.council())
    read = [read_return(path, paths.root, limits) for path in files]
    df = with_quarter(raw_frame(read), quarter)
    summary = pd.DataFrame(
        [
            {
                "file": f.file,
                "sha256": f.sha256,
                "format": f.file_format,
                "encoding": f.encoding or "",
                "sheet": f.sheet or "",
                "rows": f.row_count,
                "problem": f.problem or "",
            }
            for f in read
        ]
    )
    yield dg.Output(
        df,
        data_version=dg.DataVersion(combined_hash([f"{f.file}:{f.sha256}" for f in read])[:16]),
        metadata={
            "files": len(read),
            "files_received": files_table(summary),
            "ignored_files": dg.MetadataValue.json(ignored),
            "folder": str(paths.submissions_for(quarter).relative_to(paths.root)),
        },
    )
    from perf_pipeline.lib import schemas  # pandera: when the check runs, not at load

    yield pandera_check(RAW_TRACEABLE, schemas.service_returns_raw_schema, df)


@dg.multi_asset(
    outs={
        "service_returns_validated": dg.AssetOut(
            description="The rows of the quarter's returns that passed every check, as numbers.",
            code_version="1",
            owners=OWNERS,
            kinds=KINDS,
            metadata={"partition_expr": "quarter_start"},
            automation_condition=RETURNS_READ,
        ),
        "return_exceptions": dg.AssetOut(
            description="Rows that could not be accepted, each with a reason a service officer can act on.",
            code_version="1",
            owners=OWNERS,
            kinds=KINDS,
            metadata={"partition_expr": "quarter_start"},
            automation_condition=RETURNS_READ,
        ),
    },
    check_specs=[
        dg.AssetCheckSpec(
            ROWS_ACCOUNTED,
            asset="service_returns_validated",
            blocking=True,
            description="Rows read = rows accepted + exceptions, file by file.",
        ),
        dg.AssetCheckSpec(VALIDATED_SCHEMA, asset="service_returns_validated", blocking=True),
        dg.AssetCheckSpec(EXCEPTIONS_EXPLAINED, asset="return_exceptions", blocking=True),
    ],
    group_name="returns",
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def validate_service_returns(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    service_returns_raw,
    indicator_catalogue,
):
    """Check each returned row: code, period, number, range, ratio and duplicates."""
    from perf_pipeline.lib.publish import publish_csv
    from perf_pipeline.lib.returns_validation import validate_returns

    quarter = quarter_of(context)
    raw = service_returns_raw.drop(columns=["quarter_start", "quarter"], errors="ignore")
    validated, exceptions = validate_returns(raw, indicator_catalogue, quarter, data_root.first)
    publish_csv(
        exceptions[EXCEPTION_CSV_COLUMNS], data_root.paths.reports_for(quarter) / "return-exceptions.csv"
    )
    reasons = exceptions["reason"].value_counts().to_dict()
    yield dg.Output(
        with_quarter(validated, quarter),
        output_name="service_returns_validated",
        metadata={"rows_accepted": len(validated), "revisions": int(validated["is_revision"].sum())},
    )
    yield dg.Output(
        with_quarter(exceptions, quarter),
        output_name="return_exceptions",
        metadata={"exceptions": len(exceptions), "by_reason": dg.MetadataValue.json(reasons)},
    )
    yield frame_check(
        ROWS_ACCOUNTED,
        row_accounting(raw, validated, exceptions),
        asset_key=dg.AssetKey("service_returns_validated"),
    )
    from perf_pipeline.lib import schemas  # pandera: when the check runs, not at load

    yield pandera_check(
        VALIDATED_SCHEMA,
        schemas.service_returns_validated_schema,
        validated,
        asset_key=dg.AssetKey("service_returns_validated"),
    )
    yield pandera_check(
        EXCEPTIONS_EXPLAINED,
        schemas.return_exceptions_schema,
        exceptions,
        asset_key=dg.AssetKey("return_exceptions"),
    )


def row_accounting(
    raw: "pd.DataFrame", validated: "pd.DataFrame", exceptions: "pd.DataFrame"
) -> "pd.DataFrame":
    """Files whose rows read differ from rows accepted plus exceptions (empty when all add up)."""
    import pandas as pd

    counts = (
        pd.DataFrame(
            {
                "read": raw.groupby("file").size(),
                "accepted": validated.groupby("file").size(),
                "exceptions": exceptions.groupby("file").size(),
            }
        )
        .fillna(0)
        .astype(int)
    )
    return counts[counts["read"] != counts["accepted"] + counts["exceptions"]].reset_index(names="file")


@dg.asset(code_version="1", deps=["council_settings"], **RETURNS)
def submission_status(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    services,
    indicator_catalogue,
    service_returns_raw,
    service_returns_validated,
    return_exceptions,
):
    """Who has returned what for the quarter, on time or late, and the indicators still to chase."""
    from perf_pipeline.lib.feedback import returned_indicators
    from perf_pipeline.lib.publish import publish_csv
    from perf_pipeline.lib.submissions import received_dates
    from perf_pipeline.lib.submissions import submission_status as build_submission_status

    quarter = quarter_of(context)
    paths = data_root.paths
    council = data_root.council()
    receipts = received_dates(sorted(set(service_returns_raw["file"])), paths.submissions, paths.root)
    status = build_submission_status(
        quarter,
        services,
        returned_indicators(indicator_catalogue, paths.reference, quarter),
        service_returns_raw,
        service_returns_validated,
        return_exceptions,
        receipts,
        council["return_deadline_working_days"],
    )
    publish_csv(status, paths.reports_for(quarter) / "submission-status.csv")
    context.add_output_metadata(
        {
            "services_to_chase": int(status["chase"].sum()),
            "late_returns": int((status["timeliness"] == "Late").sum()),
            "not_returned": int((status["status"] == "Not returned").sum()),
        }
    )
    return with_quarter(status, quarter)
