"""The audit pack: each published figure traced to its source, with everything needed to recheck it."""

from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.defs.common import KINDS, OWNERS, with_quarter
from perf_pipeline.defs.conditions import OUTPUTS_REBUILT
from perf_pipeline.defs.governance import GOVERNANCE_STORE
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.reports import input_manifest
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource, WarehouseResource
from perf_pipeline.lib.files import write_atomically
from perf_pipeline.settings import code_version

if TYPE_CHECKING:
    import pandas as pd

DATA_DOCS_PASSED = "great_expectations_suites_pass"


def values_for_expectations(values: "pd.DataFrame", catalogue: "pd.DataFrame") -> "pd.DataFrame":
    """The values with the two derived columns the suite checks (see expectations/indicator_values.json)."""
    units = values["indicator_code"].map(catalogue.set_index("code")["unit"])
    uncorrected = values["corrections"].fillna("").eq("")
    reported = values["reporting_status"].eq("reported")
    return values.drop(columns=["quarter_start"], errors="ignore").assign(
        traced_to_source=~(reported & uncorrected) | values["source_file"].notna(),
        percent_value=values["value"].where(units.eq("percent")),
    )


@dg.asset(
    code_version="1",
    group_name="audit",
    owners=OWNERS,
    kinds=KINDS | {"great_expectations"},
    pool=WAREHOUSE_POOL,
    partitions_def=quarterly_partitions,
    metadata={"partition_expr": "quarter_start"},
    deps=["service_returns_raw", "quarterly_monitoring_report", GOVERNANCE_STORE],
    automation_condition=OUTPUTS_REBUILT,
    check_specs=[
        dg.AssetCheckSpec(
            DATA_DOCS_PASSED,
            asset="audit_pack",
            description="The quarter's tables meet the expectation suites kept in the repository.",
        )
    ],
)
def audit_pack(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    warehouse: WarehouseResource,
    indicator_values,
    indicator_performance,
    indicator_catalogue,
    indicator_targets,
    corrections_log,
):
    """Figure provenance, input manifest, calculation notes and Data Docs for the quarter's auditors."""
    from perf_pipeline.lib.audit import calculation_notes, figure_provenance
    from perf_pipeline.lib.data_docs import validate_and_document
    from perf_pipeline.lib.governance.report import export_records
    from perf_pipeline.lib.performance import rules_from_catalogue, targets_in_force
    from perf_pipeline.lib.publish import publish_csv, publish_folder, staging_folder

    quarter = quarter_of(context)
    paths = data_root.paths
    version, run_id = code_version(), context.run.run_id
    provenance = figure_provenance(indicator_values, indicator_performance, corrections_log, version, run_id)
    with warehouse.get_connection() as con:
        manifest = input_manifest(con, paths, quarter.key)
    # Written aside, then published with the report this run wrote, as one set.
    published = paths.reports_for(quarter)
    folder = staging_folder(published, run_id)
    audit = folder / "audit"
    publish_csv(provenance, folder / "figure-provenance.csv")
    publish_csv(provenance, audit / "figure-provenance.csv")
    publish_csv(manifest, audit / "input-manifest.csv")
    export_records(paths.root, audit / "governance")
    notes = calculation_notes(
        quarter,
        rules_from_catalogue(indicator_catalogue),
        indicator_catalogue,
        targets_in_force(indicator_targets, quarter),
        version,
    )
    write_atomically(audit / "calculation-notes.md", lambda tmp: tmp.write_text(notes, encoding="utf-8"))
    results = validate_and_document(
        {"indicator_values": values_for_expectations(indicator_values, indicator_catalogue)},
        audit / "data-docs",
        quarter.key,
    )
    publish_folder(folder, published)
    yield dg.Output(
        with_quarter(provenance, quarter),
        metadata={
            "figures": len(provenance),
            "input_files": len(manifest),
            "data_docs": dg.MetadataValue.path(str(published / "audit" / "data-docs" / "index.html")),
        },
    )
    failed = sum(r["failed"] for r in results.values())
    yield dg.AssetCheckResult(
        check_name=DATA_DOCS_PASSED,
        passed=all(r["success"] for r in results.values()),
        metadata={"suites": dg.MetadataValue.json(results), "failed_expectations": failed},
    )
