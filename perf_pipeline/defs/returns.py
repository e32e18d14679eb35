"""Service returns: received as they are, checked row by row, and who still owes what."""

from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from perf_pipeline.defs.checks import frame_check, pandera_check
from perf_pipeline.defs.common import KINDS, OWNERS, files_table, frame_version, with_quarter
from perf_pipeline.defs.conditions import RETURNS_READ
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource
from perf_pipeline.defs.sources import recorded_version
from perf_pipeline.lib.automation import NOTHING
from perf_pipeline.lib.files import combined_hash
from perf_pipeline.lib.quarters import REVISION_WINDOW_QUARTERS, Quarter
from perf_pipeline.settings import WAREHOUSE_SCHEMA

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


def returned_for(offset: int) -> str:
    """The rows a quarter's returns hold for the quarter `offset` quarters before it."""
    return f"returned_for_quarter_minus_{offset}"


REVISING = range(1, REVISION_WINDOW_QUARTERS + 1)
# The rows a quarter's returns hold for each of the three quarters before it (revisions, or
# confirmations), recorded by the step that validates them with a version of those rows, only
# when there are some or there were some before. They are stored with the quarter's other rows in
# `service_returns_validated` (external assets: nothing else writes them). A quarter's figures
# read them through `returns_of_quarter_after`, so they are rebuilt after a later return only
# when it holds rows for them, and are not marked stale in the UI by a return that holds none.
# Not optional outputs of the step: one left out skips every step after it in the run (the
# return's own quarter's figures too) and fails a backfill's partitions.
RETURNED_ROWS = [
    dg.AssetsDefinition(
        specs=[
            dg.AssetSpec(
                returned_for(offset),
                description=(
                    f"The accepted rows of a quarter's returns for the quarter {offset} before it, "
                    "recorded when they are validated (only when there are some, or were): what "
                    "revises that quarter's figures."
                ),
                group_name="returns",
                owners=OWNERS,
                code_version="1",
                partitions_def=quarterly_partitions,
            )
        ]
    )
    for offset in REVISING
]


def returned_rows_changed(
    instance: dg.DagsterInstance, quarter: Quarter, validated: "pd.DataFrame"
) -> list[dg.AssetMaterialization]:
    """The rows `quarter`'s returns hold for each of the quarters before it that they may revise,
    where their version differs from the one recorded. A quarter they never held rows for is not
    recorded (no figure to check); one whose rows have gone is recorded as empty (its figure
    loses the revision)."""
    events = []
    for offset in REVISING:
        key = dg.AssetKey(returned_for(offset))
        rows = validated[validated["period"] == quarter.shift(-offset).key]
        version = frame_version(rows).value if len(rows) else NOTHING
        if (recorded_version(instance, key, quarter.partition_key) or NOTHING) != version:
            events.append(
                dg.AssetMaterialization(
                    key,
                    partition=quarter.partition_key,
                    tags={DATA_VERSION_TAG: version},
                    metadata={"period": quarter.shift(-offset).key, "rows": len(rows)},
                )
            )
    return events


@dg.input_manager(required_resource_keys={"warehouse"})
def returned_rows(context: dg.InputContext) -> "pd.DataFrame":
    """The rows a later quarter's returns hold for the quarter whose figures are being built, read
    where they are stored (`service_returns_validated`); none for a quarter not held yet."""
    import duckdb
    import pandas as pd

    later = [pd.Timestamp(key) for key in context.asset_partition_keys]
    period = Quarter.from_partition_key(context.partition_key).key
    try:
        with context.resources.warehouse.get_connection() as con:
            return con.execute(
                f"select * from {WAREHOUSE_SCHEMA}.service_returns_validated "
                "where quarter_start in (select unnest(?::timestamp[])) and period = ?",
                [later, period],
            ).df()
    except duckdb.CatalogException:  # no quarter's returns read yet
        return pd.DataFrame()


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
    # Last, once the rows are stored: a step that fails before leaves the versions to its next
    # run, rather than figures rebuilt from rows it never stored.
    yield from returned_rows_changed(context.instance, quarter, validated)


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
