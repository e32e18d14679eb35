"""A quarter's outputs run, timed step by step: what the README's "A quarter's outputs" figures come from.

    .venv/bin/python benchmarks/outputs.py DATA 2025-26-Q1,2025-26-Q2,2025-26-Q2 [--code DIR]

DATA is a data root already built (e.g. a copy of the example after `perf-pipeline run --from
2024-25-Q4 --to 2025-26-Q2`); it is changed, so give it a copy. The outputs job runs for each
quarter named, in turn, in this one process (as a multi-quarter command runs them: the app's
snapshot is published after them, not in them), and each run prints its seconds, its slowest
steps and the wall and CPU seconds of the report's and the audit pack's own parts (and of
loading the report's inputs). `--code DIR` runs another checkout's
`perf_pipeline` instead of this one (`git archive main perf_pipeline | tar -x -C DIR`), so that
main's figures can be taken beside this one's, in turn, in the same conditions.
`--sqlite-synchronous off` sets that pragma on Dagster's SQLite connections (the README's lever
left). It asserts nothing: compare the figures of runs made in turn.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

# Each part timed where it is defined: the assets import them when they run (cheap definitions).
PARTS = {
    "neighbour_values": "perf_pipeline.defs.reports",
    "quarterly_view": "perf_pipeline.lib.report_view",
    "dot_plots": "perf_pipeline.lib.report_view",
    "value_for_money_section": "perf_pipeline.lib.value_for_money_view",
    "write_html": "perf_pipeline.lib.report_render",
    "write_workbook": "perf_pipeline.lib.report_render",
    "validate_and_document": "perf_pipeline.lib.data_docs",
}
REPORT_PARTS = tuple(name for name in PARTS if name != "validate_and_document")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("quarters", help="comma-separated, e.g. 2025-26-Q1,2025-26-Q2")
    parser.add_argument("--code", type=Path, help="another checkout's folder holding perf_pipeline/")
    parser.add_argument("--sqlite-synchronous", choices=["full", "normal", "off"])
    args = parser.parse_args()
    if args.code:  # the editable install's finder set aside, so the other checkout is imported
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
        sys.path.insert(0, str(args.code.absolute()))
    if args.sqlite_synchronous:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        @event.listens_for(Engine, "connect")
        def _synchronous(connection, _record) -> None:
            if type(connection).__module__.startswith("sqlite3"):
                connection.execute(f"pragma synchronous = {args.sqlite_synchronous}")

    import importlib

    import perf_pipeline.defs.reports as report_defs
    from perf_pipeline.definitions import build_definitions
    from perf_pipeline.defs import jobs
    from perf_pipeline.lib.quarters import Quarter
    from perf_pipeline.runner import _execute, instance_for
    from perf_pipeline.settings import DataRoot

    print(f"code: {Path(report_defs.__file__).parents[1]}", flush=True)
    parts: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def timed(module, name: str) -> None:
        inner = getattr(module, name)

        def wrapper(*a, **kw):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return inner(*a, **kw)
            finally:
                parts[name][0] += time.perf_counter() - wall
                parts[name][1] += time.thread_time() - cpu

        setattr(module, name, wrapper)

    for name, module in PARTS.items():
        timed(importlib.import_module(module), name)
    # The report's inputs (20 tables, 8 quarters of assessments), loaded through the warehouse's IO
    # manager before the asset's body runs: one DuckDB connection opened per input.
    from dagster._core.storage.db_io_manager import DbIOManager

    load_input = DbIOManager.load_input

    def loaded(self, context):
        if context.op_def.name != "quarterly_monitoring_report":
            return load_input(self, context)
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return load_input(self, context)
        finally:
            parts["report inputs"][0] += time.perf_counter() - wall
            parts["report inputs"][1] += time.thread_time() - cpu

    DbIOManager.load_input = loaded
    root = DataRoot(args.data.absolute())
    defs, instance = build_definitions(root), instance_for(root)
    for key in args.quarters.split(","):
        quarter = Quarter.parse(key)
        started, cpu = time.perf_counter(), time.process_time()
        result = _execute(defs, jobs.OUTPUTS_JOB, instance, root, quarter.partition_key)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        begun, steps = {}, {}
        for entry in instance.all_logs(result.run_id):
            event_ = entry.dagster_event
            if event_ is None:
                continue
            if event_.event_type_value == "STEP_START":
                begun[event_.step_key] = entry.timestamp
            elif event_.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                steps[event_.step_key] = entry.timestamp - begun[event_.step_key]
        slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:5]
        report = [sum(parts[n][i] for n in REPORT_PARTS) for i in (0, 1)]
        print(
            f"{key}: {wall:.2f} s (CPU {cpu:.2f}), ok={result.success}; "
            + ", ".join(f"{k} {v:.2f}" for k, v in slowest)
            + f"\n  the report's own parts {report[0]:.2f} s (CPU {report[1]:.2f}): "
            + ", ".join(f"{n} {parts[n][0]:.2f}/{parts[n][1]:.2f}" for n in REPORT_PARTS)
            + f"; its inputs loaded {parts['report inputs'][0]:.2f}/{parts['report inputs'][1]:.2f}"
            + f"; Great Expectations {parts['validate_and_document'][0]:.2f}/{parts['validate_and_document'][1]:.2f}",
            flush=True,
        )
        parts.clear()


if __name__ == "__main__":
    main()
