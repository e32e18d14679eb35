"""Indicator values: validated figures with revisions and approved corrections applied."""

from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.defs.checks import frame_check, pandera_check
from perf_pipeline.defs.common import (
    QUARTERLY_TABLE,
    WAREHOUSE_TABLE,
    column_lineage,
    files_version,
    frame_version,
    with_quarter,
)
from perf_pipeline.defs.conditions import FIGURES_REBUILT, FILES_READ
from perf_pipeline.defs.partitions import quarter_of, returns_of_quarter_after
from perf_pipeline.defs.resources import DataRootResource
from perf_pipeline.defs.returns import REVISING, returned_for

if TYPE_CHECKING:
    import pandas as pd

CORRECTIONS_APPROVED = "every_correction_approved"
ONE_ROW_EACH = "one_row_per_indicator_and_quarter"
WITHIN_RANGE = "values_within_valid_range"

VALUES_LINEAGE = column_lineage(
    {
        "value": ["service_returns_validated.value", "corrections_log.new_value"],
        "numerator": ["service_returns_validated.numerator", "corrections_log.numerator"],
        "denominator": ["service_returns_validated.denominator", "corrections_log.denominator"],
        "received_value": ["service_returns_validated.value"],
        "raw_value": ["service_returns_validated.raw_value"],
        "source_file": ["service_returns_validated.file"],
        "source_sha256": ["service_returns_validated.file_sha256"],
        "source_row": ["service_returns_validated.row"],
        "commentary": ["service_returns_validated.commentary"],
        "data_status": ["service_returns_validated.data_status"],
        "corrections": ["corrections_log.correction_id"],
        "correction_reason": ["corrections_log.reason"],
        "approved_by": ["corrections_log.approved_by"],
        "approved_on": ["corrections_log.approved_on"],
        "reporting_status": ["service_returns_validated.reported", "indicator_catalogue.frequency"],
    }
)


@dg.asset(
    group_name="indicators",
    deps=["correction_records"],
    automation_condition=FILES_READ,
    check_specs=[
        dg.AssetCheckSpec(
            CORRECTIONS_APPROVED,
            asset="corrections_log",
            description="Corrections without a reason or approver are rejected.",
        )
    ],
    **WAREHOUSE_TABLE,
)
def corrections_log(data_root: DataRootResource, indicator_catalogue):
    """Every correction ever recorded, applied or rejected, with its reason, approver and source row."""
    import pandas as pd

    from perf_pipeline.lib.corrections import check_corrections, correction_files, read_corrections
    from perf_pipeline.lib.returns_reader import read_limits

    paths = data_root.paths
    records = read_corrections(paths.corrections, paths.root, read_limits(data_root.council()))
    log = check_corrections(records, indicator_catalogue)
    log["approved_on"] = pd.to_datetime(log["approved_on"])
    log["period_start"] = pd.to_datetime(log["period_start"])
    yield dg.Output(
        log,
        data_version=files_version(correction_files(paths.corrections)),
        metadata={
            "accepted": int((log["status"] == "accepted").sum()),
            "rejected": int((log["status"] == "rejected").sum()),
        },
    )
    rejected = log.loc[log["status"] == "rejected", ["file", "row", "correction_id", "problem"]]
    yield frame_check(CORRECTIONS_APPROVED, rejected, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(
    group_name="indicators",
    # The quarter's own returns, and the rows each of the next three quarters' returns holds for
    # it (recorded only when there are some: a later return holding none reaches no figure).
    ins={
        "service_returns_validated": dg.AssetIn(),
        **{
            returned_for(offset): dg.AssetIn(
                partition_mapping=returns_of_quarter_after(offset), input_manager_key="returned_rows"
            )
            for offset in REVISING
        },
    },
    deps=["correction_records"],
    automation_condition=FIGURES_REBUILT,
    check_specs=[
        dg.AssetCheckSpec(ONE_ROW_EACH, asset="indicator_values", blocking=True),
        dg.AssetCheckSpec(WITHIN_RANGE, asset="indicator_values", blocking=True),
    ],
    **QUARTERLY_TABLE,
)
def indicator_values(
    context: dg.AssetExecutionContext,
    service_returns_validated,
    corrections_log,
    indicator_catalogue,
    feedback_indicator_values,
    **later_returns,
):
    """The quarter's figure for every due indicator, revisions and corrections applied, with its source."""
    import pandas as pd

    from perf_pipeline.lib.feedback import replace_returned
    from perf_pipeline.lib.indicator_values import build_indicator_values

    quarter = quarter_of(context)
    returned = pd.concat([service_returns_validated, *later_returns.values()], ignore_index=True)
    validated = returned.rename(columns={"quarter": "source_quarter"})
    if validated.empty:
        validated = pd.DataFrame(columns=["period", "indicator_code", "source_quarter", "file", "row"])
    validated = replace_returned(validated, feedback_indicator_values, quarter)
    values = build_indicator_values(quarter, validated, corrections_log, indicator_catalogue)
    counts = values["reporting_status"].value_counts().to_dict()
    yield dg.Output(
        with_quarter(values, quarter),
        # The figures' content: a rebuild that changed no figure reaches nothing after it.
        data_version=frame_version(values),
        metadata={
            "reported": counts.get("reported", 0),
            "not_reported": counts.get("not_reported", 0),
            "missing": counts.get("missing", 0),
            "revised": int(values["is_revision"].sum()),
            "corrected": int(values["corrections"].ne("").sum()),
            "dagster/column_lineage": VALUES_LINEAGE,
        },
    )
    from perf_pipeline.lib import schemas  # pandera: when the check runs, not at load

    yield pandera_check(ONE_ROW_EACH, schemas.indicator_values_schema, values)
    yield frame_check(WITHIN_RANGE, out_of_range(values, indicator_catalogue))


def out_of_range(values: "pd.DataFrame", indicators: "pd.DataFrame") -> "pd.DataFrame":
    limits = indicators.set_index("code")[["min_value", "max_value"]]
    joined = values.join(limits, on="indicator_code")
    bad = joined["value"].notna() & (
        (joined["min_value"].notna() & (joined["value"] < joined["min_value"]))
        | (joined["max_value"].notna() & (joined["value"] > joined["max_value"]))
    )
    return joined.loc[bad, ["indicator_code", "quarter", "value", "min_value", "max_value"]]
