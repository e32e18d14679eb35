"""The input files, as Dagster source assets with data versions.

Each is observed (by the `input_files_changed` sensor, and by `perf-pipeline run` before it plans)
and given the content hash of what the assets read from it. When a version differs from the one
last recorded, everything that read the input is stale in the UI, and the automation conditions
rebuild what the change reaches (see `defs/automation.py`).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from dagster._core.definitions.external_asset import create_external_asset_from_source_asset

from perf_pipeline.defs.common import OWNERS
from perf_pipeline.defs.governance import GOVERNANCE_STORE
from perf_pipeline.defs.partitions import quarterly_partitions
from perf_pipeline.defs.resources import DataRootResource
from perf_pipeline.lib import automation as versions
from perf_pipeline.lib.governance.store import GovernanceStore
from perf_pipeline.lib.quarters import Quarter


def observed_input(partitions_def=None):
    """An input file observed for its data version, shown in the UI like every other asset: with
    its description, owner and code version (the source decorator keeps none of them)."""

    def wrap(fn) -> dg.AssetsDefinition:
        source = dg.observable_source_asset(group_name="inputs", partitions_def=partitions_def)(fn)
        return create_external_asset_from_source_asset(source).map_asset_specs(
            lambda spec: spec.replace_attributes(
                code_version="1", owners=OWNERS, description=inspect.getdoc(fn)
            )
        )

    return wrap


PLAN_FILES = ["actions.csv", "updates.csv"]


def _by_partition(found: dict[str, str]) -> dg.DataVersionsByPartition:
    return dg.DataVersionsByPartition(
        {Quarter.parse(k).partition_key: dg.DataVersion(v) for k, v in found.items()}
    )


# What each input's version is made of, by asset name: one version per quarter, or one in all.
def _returns(root: DataRootResource) -> dict[str, str]:
    return versions.returns_versions(root.paths)


def _corrections(root: DataRootResource) -> dict[str, str]:
    return versions.corrections_versions(root.paths)


def _approvals(root: DataRootResource) -> dict[str, str]:
    return versions.approvals_versions(root.approvals())


def _council(root: DataRootResource) -> str:
    return versions.files_version([root.paths.reference / "council.toml"])


def _plan(root: DataRootResource) -> str:
    return versions.files_version([root.paths.improvement_plan / name for name in PLAN_FILES])


def _governance(root: DataRootResource) -> dict[str, str]:
    from perf_pipeline.lib.governance.stages import GOVERNANCE_FOLDER

    return GovernanceStore(root.paths.root / GOVERNANCE_FOLDER).quarter_versions()


def _reference(root: DataRootResource) -> str:
    """The reference data's own files (council.toml, the framework's and the approvals are
    observed apart)."""
    from perf_pipeline.lib.benchmarks.groups import GROUPS_CSV, NEAREST_NEIGHBOURS_FILE
    from perf_pipeline.lib.value_for_money import PAIRS_FILE

    names = ["services.csv", "indicators.csv", "rag_rules.toml", "targets.csv", "authorities.csv"]
    names += [GROUPS_CSV, NEAREST_NEIGHBOURS_FILE, PAIRS_FILE]
    return versions.files_version([root.paths.reference / name for name in names])


def _benchmarks(root: DataRootResource) -> str:
    return versions.files_version(_files_under(root.paths.benchmarks))


def _files_under(folder: Path) -> list[Path]:
    """Every file under `folder`, in a stable order; links to folders are not followed (a loop
    cannot make the walk endless)."""
    found = []
    for parent, folders, files in os.walk(folder, followlinks=False):
        folders.sort()
        found += [Path(parent) / name for name in sorted(files)]
    return found


def _framework(root: DataRootResource) -> str:
    from perf_pipeline.lib.framework import FRAMEWORK_FILES

    return versions.files_version([root.paths.reference / name for name in FRAMEWORK_FILES])


def _feedback_files(root: DataRootResource) -> str:
    from perf_pipeline.lib.feedback import FEEDBACK_FOLDER, extract_versions

    return extract_versions(root.paths.root / FEEDBACK_FOLDER, root.paths.root)[0]


def _feedback_cases(root: DataRootResource) -> dict[str, str]:
    from perf_pipeline.lib.feedback import FEEDBACK_FOLDER, extract_versions

    return extract_versions(root.paths.root / FEEDBACK_FOLDER, root.paths.root)[1]


QUARTERLY = {
    "return_files": _returns,
    "correction_records": _corrections,
    "approvals": _approvals,
    GOVERNANCE_STORE: _governance,
    "feedback_case_rows": _feedback_cases,
}
WHOLE = {
    "council_settings": _council,
    "reference_files": _reference,
    "benchmark_files": _benchmarks,
    "improvement_plan_files": _plan,
    "framework_files": _framework,
    "feedback_extracts": _feedback_files,
}


@observed_input(quarterly_partitions)
def return_files(data_root: DataRootResource):
    """The service returns in each quarter's folder under submissions/, and their receipt dates."""
    return _by_partition(_returns(data_root))


@observed_input(quarterly_partitions)
def correction_records(data_root: DataRootResource):
    """The rows of corrections/*.csv, by the quarter each corrects."""
    return _by_partition(_corrections(data_root))


@observed_input(quarterly_partitions)
def approvals(data_root: DataRootResource):
    """Who approved each quarter's report, and when: reference/approvals.csv and Cabinet's sign-offs."""
    return _by_partition(_approvals(data_root))


@observed_input()
def council_settings(data_root: DataRootResource):
    """reference/council.toml: the council's name and code, comparator groups, deadlines."""
    return dg.DataVersion(_council(data_root))


@observed_input()
def reference_files(data_root: DataRootResource):
    """The reference data's files: services, indicators and RAG rules, targets, authorities,
    comparator groups and value-for-money pairs (reference/)."""
    return dg.DataVersion(_reference(data_root))


@observed_input()
def benchmark_files(data_root: DataRootResource):
    """The published comparator data in benchmarks/: sources.toml and the downloads it names."""
    return dg.DataVersion(_benchmarks(data_root))


@observed_input()
def improvement_plan_files(data_root: DataRootResource):
    """improvement_plan/actions.csv and updates.csv: the plan and its progress updates."""
    return dg.DataVersion(_plan(data_root))


@observed_input()
def framework_files(data_root: DataRootResource):
    """The framework's reference files: tags.toml, the change programmes, milestones and benefits,
    the risk register and its reviews, and feedback_rules.toml."""
    return dg.DataVersion(_framework(data_root))


@observed_input()
def feedback_extracts(data_root: DataRootResource):
    """The customer feedback case extracts in feedback/, as files: their names and content."""
    return dg.DataVersion(_feedback_files(data_root))


@observed_input(quarterly_partitions)
def feedback_case_rows(data_root: DataRootResource):
    """The case rows of feedback/ dated in each quarter (received or responded to in it)."""
    return _by_partition(_feedback_cases(data_root))


SOURCES = [
    return_files,
    correction_records,
    approvals,
    council_settings,
    reference_files,
    benchmark_files,
    improvement_plan_files,
    framework_files,
    feedback_extracts,
    feedback_case_rows,
]


def current_versions(root: DataRootResource, last: Quarter) -> dict[tuple[dg.AssetKey, str | None], str]:
    """Every input's version now: the quarterly ones for the quarters Dagster holds, up to `last`
    (a case received before the first quarter, or dated in the future, has no partition)."""
    found = {(dg.AssetKey(name), None): version(root) for name, version in WHOLE.items()}
    for name, by_quarter in QUARTERLY.items():
        for key, version in by_quarter(root).items():
            if root.first <= Quarter.parse(key) <= last:
                found[(dg.AssetKey(name), Quarter.parse(key).partition_key)] = version
    return found


def changed_inputs(
    instance: dg.DagsterInstance, root: DataRootResource, last: Quarter
) -> list[dg.AssetObservation]:
    """An observation for every input whose version differs from the one last recorded; a
    quarter's input that has gone (a correction removed) is recorded as empty."""
    now = current_versions(root, last)
    for name in QUARTERLY:
        key = dg.AssetKey(name)
        for partition in _observed_partitions(instance, key):
            if Quarter.from_partition_key(partition) <= last:
                now.setdefault((key, partition), versions.NOTHING)
    return [
        dg.AssetObservation(asset_key=key, partition=partition, tags={DATA_VERSION_TAG: version})
        for (key, partition), version in sorted(now.items(), key=lambda kv: (kv[0][0].path, kv[0][1] or ""))
        if recorded_version(instance, key, partition, is_source=True) != version
    ]


def recorded_version(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None, is_source: bool | None = None
) -> str | None:
    """The data version last recorded for an asset's partition, observed or materialised, if any."""
    record = instance.get_latest_data_version_record(key, is_source=is_source, partition_key=partition)
    event = record.asset_event if record else None
    return event.tags.get(DATA_VERSION_TAG) if event else None


def _observed_partitions(instance: dg.DagsterInstance, key: dg.AssetKey) -> set[str]:
    return set(instance.get_latest_storage_id_by_partition(key, dg.DagsterEventType.ASSET_OBSERVATION))
