"""How long a command takes to end once its work is done: Python's search of every object for
cycles as it exits, with and without `gc.freeze()` first (registered at exit by
`perf_pipeline/definitions.py`).

    .venv/bin/python benchmarks/exit.py [--rounds 3]

Each round copies the example's inputs to a temporary folder twice and runs the same command on
each copy in a process of its own, `perf-pipeline run --quarter 2021-22-Q1` (its reference tables,
one quarter's run, the app's snapshot), once ending as Python does by default and once freezing
the objects first, in turn (a shared machine sways each round: compare the medians of one run).
Printed per command: seconds from the command's own work finished to the process ended, the
objects the collector tracked then, and the whole command's wall seconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
INPUTS = ("reference", "submissions", "corrections", "benchmarks", "improvement_plan", "feedback")
QUARTER = "2021-22-Q1"

# The command as `perf-pipeline` runs it, but printing when `main` returned; without `FREEZE` the
# exit handler is taken away, so the interpreter ends as Python's default does.
COMMAND = """
import atexit, gc, sys, time
from perf_pipeline.cli import main
code = main(["--data", sys.argv[1], "run", "--quarter", sys.argv[2]])
print(f"ended {time.time()} objects {len(gc.get_objects())}", file=sys.stderr, flush=True)
if not FREEZE:
    atexit.unregister(gc.freeze)
sys.exit(code)
"""


def once(freeze: bool, folder: Path) -> tuple[float, int, float]:
    root = folder / "data"
    for name in INPUTS:
        if (REPOSITORY / "data" / name).is_dir():
            shutil.copytree(REPOSITORY / "data" / name, root / name)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", f"FREEZE = {freeze}\n" + COMMAND, str(root), QUARTER],
        capture_output=True,
        text=True,
        check=False,
    )
    finished = time.time()
    if done.returncode != 0:
        raise SystemExit(f"the command failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    line = next(line for line in done.stderr.splitlines() if line.startswith("ended "))
    _, ended, _, objects = line.split()
    return finished - float(ended), int(objects), finished - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[bool, list[tuple[float, int, float]]] = {False: [], True: []}
    for round_ in range(1, args.rounds + 1):
        for freeze in (False, True):
            with tempfile.TemporaryDirectory(prefix="perf-exit-") as folder:
                seconds, objects, wall = once(freeze, Path(folder))
            results[freeze].append((seconds, objects, wall))
            name = "frozen " if freeze else "default"
            print(
                f"round {round_} {name}: exit {seconds:5.2f} s, {objects:,} objects, command {wall:5.1f} s",
                flush=True,
            )
    default, frozen = (statistics.median(r[0] for r in results[f]) for f in (False, True))
    walls = [statistics.median(r[2] for r in results[f]) for f in (False, True)]
    print(f"\nmedian exit: default {default:.2f} s, frozen {frozen:.2f} s (ratio {frozen / default:.2f})")
    print(
        f"median command: default {walls[0]:.1f} s, frozen {walls[1]:.1f} s (ratio {walls[1] / walls[0]:.2f})"
    )


if __name__ == "__main__":
    main()
