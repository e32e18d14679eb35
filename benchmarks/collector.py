"""Python's garbage collector in a command: the settings `perf_pipeline/definitions.py` makes
against Python's defaults, in one run.

    .venv/bin/python benchmarks/collector.py [--rounds 3]

Each round copies the example's inputs to a temporary folder twice and runs the same command on
each copy in a process of its own, `perf-pipeline run --quarter 2021-22-Q1` (its reference tables,
one quarter's run, the app's snapshot): once with Python's defaults (the definitions' settings
undone as soon as they are loaded), once as the command runs, in turn (a shared machine sways each
round: compare the medians of one run). Printed per command: the CPU seconds the collector took
while the command worked (`gc.callbacks`), the command's own CPU and wall seconds, and the seconds
from its work finished to the process ended (Python's last search of every object, skipped by
freezing them at exit).
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

# The command as `perf-pipeline` runs it, timing the collector and printing when `main` returned;
# with `DEFAULTS`, Python's own settings are put back once the definitions have made theirs.
COMMAND = """
import atexit, gc, sys, time
import perf_pipeline.definitions
if DEFAULTS:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    atexit.unregister(gc.freeze)
spent, started = [0.0], [0.0]
def timed(phase, info):
    if phase == "start":
        started[0] = time.process_time()
    else:
        spent[0] += time.process_time() - started[0]
gc.callbacks.append(timed)
from perf_pipeline.cli import main
cpu = time.process_time()
code = main(["--data", sys.argv[1], "run", "--quarter", sys.argv[2]])
gc.callbacks.remove(timed)
print(f"ended {time.time()} collector {spent[0]} cpu {time.process_time() - cpu}", file=sys.stderr, flush=True)
sys.exit(code)
"""


def once(defaults: bool, folder: Path) -> dict[str, float]:
    root = folder / "data"
    for name in INPUTS:
        if (REPOSITORY / "data" / name).is_dir():
            shutil.copytree(REPOSITORY / "data" / name, root / name)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", f"DEFAULTS = {defaults}\n" + COMMAND, str(root), QUARTER],
        capture_output=True,
        text=True,
        check=False,
    )
    finished = time.time()
    if done.returncode != 0:
        raise SystemExit(f"the command failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    line = next(line for line in done.stderr.splitlines() if line.startswith("ended "))
    _, ended, _, collector, _, cpu = line.split()
    return {
        "collector": float(collector),
        "cpu": float(cpu),
        "wall": finished - started,
        "exit": finished - float(ended),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for round_ in range(1, args.rounds + 1):
        for defaults in (True, False):
            with tempfile.TemporaryDirectory(prefix="perf-collector-") as folder:
                result = once(defaults, Path(folder))
            results[defaults].append(result)
            name = "Python's defaults" if defaults else "the definitions'"
            print(
                f"round {round_} {name:17}: collector {result['collector']:5.2f} s CPU, command "
                f"{result['cpu']:5.1f} s CPU, {result['wall']:5.1f} s wall, exit {result['exit']:5.2f} s",
                flush=True,
            )
    print("\nmedians: Python's defaults, the definitions' settings (ratio)")
    for key in ("collector", "cpu", "wall", "exit"):
        before, after = (statistics.median(r[key] for r in results[d]) for d in (True, False))
        print(f"  {key:9} {before:6.2f} s {after:6.2f} s ({after / before:.2f})")


if __name__ == "__main__":
    main()
