"""Customer feedback: case extracts read and checked, then turned by rules into indicator values."""

import dagster as dg

from perf_pipeline.defs.checks import frame_check
from perf_pipeline.defs.common import (
    QUARTERLY_TABLE,
    WAREHOUSE_TABLE,
    files_version,
    frame_version,
    reference_checked,
    with_quarter,
)
from perf_pipeline.defs.conditions import FIGURES_REBUILT, FILES_READ
from perf_pipeline.defs.partitions import quarter_of
from perf_pipeline.defs.resources import DataRootResource

CASES_ACCOUNTED = "every_case_row_accounted_for"
CASES_ACCEPTED = "every_case_accepted"
RULES_FILE = "feedback_rules.toml"


@dg.asset(
    group_name="reference", deps=["framework_files"], automation_condition=FILES_READ, **WAREHOUSE_TABLE
)
def feedback_rules(data_root: DataRootResource, indicator_catalogue) -> dg.Output:
    """The rules of feedback_rules.toml that make indicators of the catalogue from the case extracts, checked."""
    from perf_pipeline.lib.feedback import load_feedback_rules, rules_table

    with reference_checked():
        rules = load_feedback_rules(data_root.paths.reference / RULES_FILE, set(indicator_catalogue["code"]))
    table = rules_table(rules)
    # Its content, not its file: a comment edited in the file rebuilds no quarter's figures.
    return dg.Output(table, data_version=frame_version(table), metadata={"rules": len(table)})


@dg.asset(
    group_name="reference",
    deps=["feedback_extracts"],
    automation_condition=FILES_READ,
    check_specs=[
        dg.AssetCheckSpec(CASES_ACCOUNTED, asset="feedback_cases", blocking=True),
        dg.AssetCheckSpec(
            CASES_ACCEPTED, asset="feedback_cases", description="Refused case rows, by file and row."
        ),
    ],
    **WAREHOUSE_TABLE,
)
def feedback_cases(data_root: DataRootResource):
    """Every row of every customer feedback extract, accepted or refused with the reason, by file and row."""
    from perf_pipeline.lib.feedback import FEEDBACK_FOLDER, read_cases, rows_unaccounted
    from perf_pipeline.lib.publish import publish_csv
    from perf_pipeline.lib.returns_reader import list_return_files, read_limits

    paths = data_root.paths
    folder = paths.root / FEEDBACK_FOLDER
    cases, counts = read_cases(folder, paths.root, read_limits(data_root.council()))
    refused = cases[~cases["accepted"]]
    publish_csv(
        refused[["file", "row", "case_id", "reason", "message"]],
        paths.root / "reports" / "feedback-exceptions.csv",
    )
    yield dg.Output(
        cases,
        data_version=files_version(list_return_files(folder, paths.root)[0]),
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
    group_name="indicators",
    deps=["feedback_case_rows"],
    automation_condition=FIGURES_REBUILT,
    **QUARTERLY_TABLE,
)
def feedback_indicator_values(
    context: dg.AssetExecutionContext,
    feedback_cases,
    feedback_rules,
    indicator_catalogue,
) -> dg.Output:
    """The quarter's figures derived from the case extracts by feedback_rules.toml, with their source files."""
    import pandas as pd

    from perf_pipeline.lib.feedback import derive_values, rules_from_table
    from perf_pipeline.lib.reference import due_in

    quarter = quarter_of(context)
    due = set(indicator_catalogue.loc[due_in(indicator_catalogue, quarter), "code"])
    derived = derive_values(feedback_cases, rules_from_table(feedback_rules), quarter, due)
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
