"""Governance records from the app (sign-offs, narrative, corrective actions, scrutiny, feedback)
as an input of the graph: each quarter's records have a data version, so a new record makes that
quarter's report stale."""

import dagster as dg
from dagster._core.definitions.external_asset import create_external_asset_from_source_asset

from perf_pipeline.defs.common import OWNERS
from perf_pipeline.defs.partitions import quarterly_partitions
from perf_pipeline.defs.resources import DataRootResource
from perf_pipeline.lib.governance.store import GovernanceStore
from perf_pipeline.lib.quarters import Quarter

GOVERNANCE_STORE = "governance_store"
DESCRIPTION = (
    "Each quarter's governance records under governance/ (sign-offs, narrative, corrective actions, "
    "scrutiny, feedback), versioned by the hash of their content."
)


def observe(data_root: DataRootResource) -> dg.DataVersionsByPartition:
    from perf_pipeline.lib.governance.stages import GOVERNANCE_FOLDER

    versions = GovernanceStore(data_root.paths.root / GOVERNANCE_FOLDER).quarter_versions()
    keys = set(quarterly_partitions.get_partition_keys())
    by_partition = {Quarter.parse(q).partition_key: dg.DataVersion(v) for q, v in versions.items()}
    return dg.DataVersionsByPartition({k: v for k, v in by_partition.items() if k in keys})


# The decorator takes neither owners nor a code version; the asset it stands for takes both.
governance_store = create_external_asset_from_source_asset(
    dg.observable_source_asset(
        name=GOVERNANCE_STORE, group_name="inputs", partitions_def=quarterly_partitions
    )(observe)
).map_asset_specs(
    lambda spec: spec.replace_attributes(code_version="1", owners=OWNERS, description=DESCRIPTION)
)
