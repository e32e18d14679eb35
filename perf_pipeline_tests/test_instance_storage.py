"""The command line's instance keeps its SQLite connections open (`instance_storage.py`): what it
writes is Dagster's event log, read the same by Dagster's own storage (the daemon's and the UI's)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import (
    ConsolidatedSqliteEventLogStorage,
)

from perf_pipeline.instance_storage import EventLogKeptOpen, open_instance

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dg.asset
def figures():
    return [1, 2, 3]


@dg.asset
def assessment(figures):
    return sum(figures)


@dg.asset_check(asset=assessment)
def assessed():
    return dg.AssetCheckResult(passed=True)


DEFS = dg.Definitions(assets=[figures, assessment], asset_checks=[assessed], executor=dg.in_process_executor)


def _run(instance: dg.DagsterInstance) -> str:
    result = dg.materialize([figures, assessment, assessed], instance=instance, run_config=QUIET)
    assert result.success
    return result.run_id


def test_what_the_kept_connections_write_is_read_back_whole_by_dagsters_own_storage(tmp_path: Path):
    with open_instance(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, EventLogKeptOpen)
        runs = [_run(instance) for _ in range(3)]
        written = {run_id: len(instance.all_logs(run_id)) for run_id in runs}
    with dg.DagsterInstance.from_config(str(tmp_path)) as plain:
        assert type(plain.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert {r.run_id for r in plain.get_runs()} == set(runs)
        assert all(r.is_success for r in plain.get_runs())
        assert {run_id: len(plain.all_logs(run_id)) for run_id in runs} == written
        latest = plain.get_latest_materialization_event(dg.AssetKey("assessment"))
        assert latest is not None and latest.run_id == runs[-1]
        assert plain.event_log_storage.get_asset_records([dg.AssetKey("figures")])[
            0
        ].asset_entry.last_materialization
        checks = plain.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("assessment"), "assessed")]
        )
        assert next(iter(checks.values())).run_id == runs[-1]


def test_runs_written_by_both_storages_in_turn_are_one_history(tmp_path: Path):
    """The daemon (Dagster's storage) and the command line (kept connections) share an instance."""
    ids = []
    for _ in range(2):
        with dg.DagsterInstance.from_config(str(tmp_path)) as plain:
            ids.append(_run(plain))
        with open_instance(str(tmp_path)) as kept:
            ids.append(_run(kept))
            assert [r.run_id for r in kept.get_runs()] == ids[::-1]


def test_a_wiped_instance_is_written_afresh(tmp_path: Path):
    with open_instance(str(tmp_path)) as instance:
        first = _run(instance)
        instance.wipe()
        assert instance.get_runs() == [] and instance.all_logs(first) == []
        second = _run(instance)
    with dg.DagsterInstance.from_config(str(tmp_path)) as plain:
        assert [r.run_id for r in plain.get_runs()] == [second]
        assert plain.all_logs(first) == []


def test_an_instance_configured_with_other_storage_is_opened_as_configured(tmp_path: Path):
    (tmp_path / "dagster.yaml").write_text(
        "event_log_storage:\n"
        "  module: dagster._core.storage.event_log\n"
        "  class: ConsolidatedSqliteEventLogStorage\n"
        "  config:\n"
        f"    base_dir: {tmp_path / 'events'}\n",
        encoding="utf-8",
    )
    with open_instance(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, ConsolidatedSqliteEventLogStorage)
        _run(instance)
