"""One `perf-pipeline` job at a time per Dagster instance, and recovery after one was killed.

A run killed mid-step (power cut, Ctrl+\\, `kill -9`) leaves three things behind: its status
"started" for ever, its hold on the `duckdb_warehouse` concurrency slot (so the next run waits for
that slot for ever), and the temporary file of any report it was writing. DuckDB itself recovers
from its write-ahead log, and reports are renamed into place whole, so nothing half-written is
ever where a reader looks. Before each job the command line takes a lock on the instance; holding
it, it knows that any run of its own still marked in progress was abandoned, and cleans up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from perf_pipeline.lib.files import abandoned_temporary_files
from perf_pipeline.settings import OUTPUT_FOLDERS, DataRoot

COMMAND_LINE_TAG = "perf_pipeline/command_line"  # on every run the command line launches
LOCK_FILE = "perf-pipeline.lock"
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@contextmanager
def exclusive_run(instance: dg.DagsterInstance, root: DataRoot) -> Iterator[None]:
    """Hold the instance's lock for one job; first clean up after any run that was killed."""
    import fcntl  # POSIX: the lock goes with the process, however it ends

    lock = Path(instance.root_directory) / LOCK_FILE
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Waiting for another perf-pipeline command on this data folder to finish ...", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            release_abandoned_runs(instance, root)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def release_abandoned_runs(instance: dg.DagsterInstance, root: DataRoot) -> list[str]:
    """Mark the command line's unfinished runs failed, free their concurrency slots and remove
    their temporary files. Only call while holding the lock: then none of them is really running."""
    abandoned = instance.get_runs(filters=dg.RunsFilter(tags={COMMAND_LINE_TAG: "true"}, statuses=UNFINISHED))
    for run in abandoned:
        print(
            f"An earlier run ({run.job_name}, {run.run_id}) stopped before it finished: it is marked failed "
            "and what it held is released.",
            flush=True,
        )
        instance.report_run_failed(
            run,
            message="The perf-pipeline process running this was stopped (killed or "
            "crashed) before the run finished; the next command marked it failed.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    # Temporary files can only be another run's work in progress while some run is in progress
    # (one launched from the UI, say); otherwise they are what a killed run left.
    if not instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED), limit=1):
        for folder in OUTPUT_FOLDERS:
            for leftover in abandoned_temporary_files(root.root / folder):
                leftover.unlink(missing_ok=True)
    return [run.run_id for run in abandoned]
