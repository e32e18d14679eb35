"""Dagster's SQLite event log with a connection per event (Dagster's own) against one kept open per
database (`perf_pipeline/instance_storage.py`), in one run.

    .venv/bin/python benchmarks/event_log.py [--rounds 5]

Two stages, each on fresh instances in a temporary folder, the two storages in turn every round
(a shared machine's other work sways each round, so compare the medians of one run):
- `store`: 400 engine events stored one after another, the cost of each event;
- `run`: a job of twelve assets in a chain, each reading the one before through Dagster's IO
  manager, executed in process as the command line executes a quarter (about 140 events a run).
After the runs, each instance is opened again with Dagster's own storage and must hold the same
runs, all successful, with a materialisation for every asset: the kept connections lose nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from perf_pipeline.instance_storage import EventLogKeptOpen, open_instance

EVENTS = 400
CHAIN = 12


def store(storage_class, folder: Path) -> float:
    storage = storage_class(str(folder))
    started = time.perf_counter()
    for i in range(EVENTS):
        storage.store_event(
            EventLogEntry(
                error_info=None,
                level=20,
                user_message=f"event {i}",
                run_id="benchmark",
                timestamp=time.time(),
                dagster_event=DagsterEvent(
                    DagsterEventType.ENGINE_EVENT.value,
                    job_name="benchmark",
                    message="benchmark",
                    event_specific_data=EngineEventData(),
                ),
            )
        )
    seconds = (time.perf_counter() - started) / EVENTS
    storage.dispose()
    return seconds


def chain() -> dg.Definitions:
    @dg.asset(name="step_0")
    def first():
        return 1

    assets = [first]
    for i in range(1, CHAIN):

        @dg.asset(name=f"step_{i}", ins={"before": dg.AssetIn(f"step_{i - 1}")})
        def step(before):
            return before + 1

        assets.append(step)
    return dg.Definitions(assets=assets, jobs=[dg.define_asset_job("chain")], executor=dg.in_process_executor)


def run(instance: dg.DagsterInstance, defs: dg.Definitions) -> float:
    started = time.perf_counter()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    assert defs.resolve_job_def("chain").execute_in_process(instance=instance, run_config=quiet).success
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    defs = chain()
    with tempfile.TemporaryDirectory(prefix="perf-event-log-") as scratch:
        base = Path(scratch)
        homes = {"dagster": base / "dagster-home", "kept": base / "kept-home"}
        for home in homes.values():
            home.mkdir()
        instances = {
            "dagster": dg.DagsterInstance.from_config(str(homes["dagster"])),
            "kept": open_instance(str(homes["kept"])),
        }
        assert isinstance(instances["kept"].event_log_storage, EventLogKeptOpen)
        figures: dict[str, dict[str, list[float]]] = {"store": {}, "run": {}}
        for r in range(args.rounds):
            for name, storage_class in (("dagster", SqliteEventLogStorage), ("kept", EventLogKeptOpen)):
                figures["store"].setdefault(name, []).append(store(storage_class, base / f"store-{name}-{r}"))
                figures["run"].setdefault(name, []).append(run(instances[name], defs))
        for instance in instances.values():
            instance.dispose()
        for name, home in homes.items():
            with dg.DagsterInstance.from_config(str(home)) as plain:
                runs = plain.get_runs()
                assert len(runs) == args.rounds and all(r.is_success for r in runs), name
                for i in range(CHAIN):
                    assert plain.get_latest_materialization_event(dg.AssetKey(f"step_{i}")) is not None, name
        print(f"{'stage':<6} {'Dagster (median)':>17} {'kept open (median)':>19} {'ratio':>6}")
        for stage, unit, scale in (("store", "ms an event", 1000), ("run", "s a run", 1)):
            dagster = statistics.median(figures[stage]["dagster"]) * scale
            kept = statistics.median(figures[stage]["kept"]) * scale
            print(f"{stage:<6} {dagster:>11.2f} {unit:<5} {kept:>13.2f} {unit:<5} {kept / dagster:>6.2f}")
        print("Every run read back with Dagster's own storage: all successful, every asset materialised.")


if __name__ == "__main__":
    main()
