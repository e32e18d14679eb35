"""Data requests: the pack each service fills in at the end of a quarter."""

import dagster as dg

from perf_pipeline.defs.common import OWNERS, with_quarter
from perf_pipeline.defs.partitions import PREVIOUS_QUARTERS, quarter_of, quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource
from perf_pipeline.lib.files import relative_to_root, sha256_of


@dg.asset(
    code_version="1",
    group_name="requests",
    owners=OWNERS,
    kinds={"excel", "duckdb"},
    pool=WAREHOUSE_POOL,
    partitions_def=quarterly_partitions,
    metadata={"partition_expr": "quarter_start"},
    ins={"indicator_values": dg.AssetIn(partition_mapping=PREVIOUS_QUARTERS)},
    deps=["council_settings"],
)
def data_request_packs(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    services,
    indicator_catalogue,
    indicator_targets,
    indicator_values,
):
    """One workbook per service: indicators due, targets, the last three quarters' figures, the deadline."""
    import pandas as pd

    from perf_pipeline.lib.data_requests import PackInfo, request_rows, write_pack
    from perf_pipeline.lib.feedback import returned_indicators
    from perf_pipeline.lib.submissions import return_deadline

    quarter = quarter_of(context)
    paths = data_root.paths
    council = data_root.council()
    deadline = return_deadline(quarter, council["return_deadline_working_days"])
    contact = council.get("performance_team_email", "the performance team")
    packs = []
    for service in services.itertuples(index=False):
        rows = request_rows(
            quarter,
            service.service,
            returned_indicators(indicator_catalogue, paths.reference, quarter),
            indicator_targets,
            indicator_values,
            data_root.first,
        )
        if rows.empty:
            continue
        info = PackInfo(
            council["name"],
            service.name,
            service.owner,
            quarter,
            deadline,
            council["return_deadline_working_days"],
            contact,
        )
        path = write_pack(paths.request_pack(quarter, service.service), info, rows)
        packs.append(
            {
                "service": service.service,
                "service_name": service.name,
                "owner": service.owner,
                "owner_email": service.owner_email,
                "deadline": deadline,
                "file": relative_to_root(path, paths.root),
                "indicators": int(rows["is_current"].sum()),
                "previous_figures": int((~rows["is_current"]).sum()),
                "sha256": sha256_of(path),
            }
        )
    df = pd.DataFrame(
        packs,
        columns=[
            "service",
            "service_name",
            "owner",
            "owner_email",
            "deadline",
            "file",
            "indicators",
            "previous_figures",
            "sha256",
        ],
    )
    context.add_output_metadata(
        {
            "packs": len(df),
            "deadline": deadline.isoformat(),
            "folder": dg.MetadataValue.path(str(paths.requests_for(quarter))),
        }
    )
    return with_quarter(df, quarter)
