"""The app's charts drawn ahead (`app/ahead.py`): one at a time here against worker processes, in one run.

    .venv/bin/python benchmarks/ahead.py DATA [--crossover]

DATA is a data root whose app snapshot is published (e.g. the synthetic council kept by
`benchmarks/scale.py --keep DIR --only backfill`, in DIR/data); it is only read. It prints how
many charts of each kind the latest quarters' pages ask for, then `charts_ahead` with nothing to
copy (as a first publication draws them), drawn here one at a time (the baseline) and as
`charts.drawn` chooses (workers on the cores this process may use), in turn, three times, with
the ratios and their median (a shared machine's other work sways each run), and checks that
both give the same bytes. `--crossover` also draws the first n of those charts both ways, for a
few n: where starting the workers pays (`charts.PER_WORKER`). matplotlib is imported here before
timing, as the pipeline's report has imported it by the time the snapshot is published. It
asserts nothing but the bytes: compare the figures of one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def serial(function, *args):
    """`function(*args)` with every chart drawn here, one at a time."""
    from perf_pipeline.app import charts

    per_worker, charts.PER_WORKER = charts.PER_WORKER, sys.maxsize
    try:
        return timed(function, *args)
    finally:
        charts.PER_WORKER = per_worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--crossover", action="store_true", help="also time the first n charts both ways")
    args = parser.parse_args()
    # Imported here, not with this module: a worker imports the main module again (as `perf-pipeline`,
    # whose module imports only its command line), and the workers' start is part of what is measured.
    from perf_pipeline.app import ahead, charts
    from perf_pipeline.lib.app_snapshot import snapshot_path

    snapshot = snapshot_path(args.data)
    cores = len(os.sched_getaffinity(0))
    wanted, seconds = timed(ahead.wanted, snapshot, args.data)
    kinds = Counter(kind for kind, _ in wanted.values())
    print(f"{len(wanted):,} charts asked for ({dict(kinds)}) in {seconds:.2f} s; {cores} cores")
    charts.drawn(dict(list(wanted.items())[:1]))  # matplotlib imported, as in the pipeline's process
    ratios = []
    for _attempt in range(3):
        (one, _), here = serial(ahead.charts_ahead, snapshot, args.data, None)
        (many, counts), there = timed(ahead.charts_ahead, snapshot, args.data, None)
        same = (
            one.sort_values("key")
            .reset_index(drop=True)
            .equals(many.sort_values("key").reset_index(drop=True))
        )
        print(
            f"charts_ahead, {counts['charts_drawn']:,} drawn: one at a time {here:.1f} s, "
            f"charts.drawn {there:.1f} s, ratio {there / here:.2f}; same bytes: {same}"
        )
        if not same:
            raise SystemExit("the workers' charts differ from those drawn here")
        ratios.append(there / here)
    print(f"median ratio {statistics.median(ratios):.2f}")
    distinct = len(set(one["svgz"]))
    print(f"distinct pictures among the {len(one):,} charts: {distinct:,}")
    if args.crossover:
        items = list(wanted.items())
        for n in (50, 100, 200, 400, 800):
            part = dict(items[:n])
            _, here = serial(charts.drawn, part)
            _, there = timed(charts.in_workers, part, cores)
            print(
                f"  {n:>4} charts: here {here:.2f} s, {cores} workers {there:.2f} s, ratio {there / here:.2f}"
            )


if __name__ == "__main__":
    main()
