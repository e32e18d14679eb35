"""Customer feedback: case extracts read and checked, then turned by rules into indicator values."""

import dagster as dg
import pandas as pd

from perf_pipeline.defs.checks import frame_check
from perf_pipeline.defs.common import KINDS, OWNERS, files_version, reference_failure, with_quarter
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource
from perf_pipeline.lib.feedback import derive_values, load_feedback_rules, read_cases, rows_unaccounted
from perf_pipeline.lib.publish import publish_csv
from perf_pipeline.lib.reference import due_in
from perf_pipeline.lib.returns_reader import read_limits
from perf_pipeline.lib.validation import ReferenceDataError

CASES_ACCOUNTED = "every_case_row_accounted_for"
CASES_ACCEPTED = "every_case_accepted"
RULES_FILE = "feedback_rules.toml"


@dg.asset(
    code_version="1",
    group_name="reference",
    owners=OWNERS,
    kinds=KINDS,
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(CASES_ACCOUNTED, asset="feedback_cases", blocking=True),
        dg.AssetCheckSpec(
            CASES_ACCEPTED, asset="feedback_cases", description="Refused case rows, by file and row."
        ),
    ],
)
def feedback_cases(data_root: DataRootResource):
    """Every row of every customer feedback extract, accepted or refused with the reason, by file and row."""
    paths = data_root.paths
    folder = paths.root / "feedback"
    cases, counts = read_cases(folder, paths.root, read_limits(data_root.council()))
    refused = cases[~cases["accepted"]]
    publish_csv(
        refused[["file", "row", "case_id", "reason", "message"]],
        paths.root / "reports" / "feedback-exceptions.csv",
    )
    yield dg.Output(
        cases,
        data_version=files_version(
            sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        ),
        metadata={
            "files": len(counts),
            "rows": int(cases["row"].notna().sum()),
            "accepted": int(cases["accepted"].sum()),
            "refused": dg.MetadataValue.json(refused["reason"].value_counts().to_dict()),
        },
    )
    yield frame_check(CASES_ACCOUNTED, rows_unaccounted(cases, counts))
    yield frame_check(
        CASES_ACCEPTED,
        refused[["file", "row", "case_id", "reason", "message"]],
        severity=dg.AssetCheckSeverity.WARN,
    )


@dg.asset(
    code_version="1",
    group_name="indicators",
    owners=OWNERS,
    kinds=KINDS,
    pool=WAREHOUSE_POOL,
    partitions_def=quarterly_partitions,
    metadata={"partition_expr": "quarter_start"},
)
def feedback_indicator_values(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    feedback_cases: pd.DataFrame,
    indicator_catalogue: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """The quarter's figures derived from the case extracts by feedback_rules.toml, with their source files."""
    quarter = quarter_of(context)
    path = data_root.paths.reference / RULES_FILE
    try:
        rules = load_feedback_rules(path, set(indicator_catalogue["code"]))
    except ReferenceDataError as error:
        raise reference_failure(error) from None
    due = set(indicator_catalogue.loc[due_in(indicator_catalogue, quarter), "code"])
    derived = derive_values(feedback_cases, rules, quarter, due)
    return dg.Output(
        with_quarter(derived, quarter),
        metadata={
            "derived": dg.MetadataValue.json(
                {
                    r.indicator_code: None if pd.isna(r.value) else round(r.value, 2)
                    for r in derived.itertuples()
                }
            )
        },
    )
