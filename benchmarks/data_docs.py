"""The audit pack's Great Expectations call, the way before and this one, in turn in one run.

    .venv/bin/python benchmarks/data_docs.py DATA [--quarters 4] [--rounds 3] [--baseline REV]

DATA is a data root already built (e.g. a copy of the example after `perf-pipeline run --all`); its
warehouse is only read. The latest quarters' indicator values are made into the table the audit
pack validates, and `validate_and_document` runs on each of them: the baseline (this repository's
`perf_pipeline/lib/data_docs.py` at REV, by default the last commit with a file project per call)
and this checkout's, one after the other, the order swapped every round (a shared machine's other
work sways each call). The first call of each, which compiles what the process keeps, is timed
apart; Great Expectations is imported before any. It prints the median wall and CPU seconds a
call, their ratios, and checks what an auditor relies on: the same results, the same pages
(their HTML equal once the run times are set aside, and the file project's empty custom
stylesheet, which an ephemeral context has not got) and no page fetching anything online.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
BEFORE = "556b075"  # main before this change: a file-mode project in a temporary folder per call

# What differs from one call to the next whatever the code: run times and the ids of HTML elements.
_RUN_TIME = re.compile(
    r"\d{8}T\d{6}\.\d+Z|\d{4}-\d{2}-\d{2}[T ][\d:.]+(?:\+00:00)?|_run_time_sort': [\d.]+"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
_CUSTOM_STYLES = re.compile(r"<style>/\*index page\*/.*?</style>", re.DOTALL)
# A tag a browser fetches as the page opens (links followed only when clicked are not requests).
_ONLINE = re.compile(
    r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE
)


def baseline_module(revision: str, folder: Path):
    source = subprocess.run(
        ["git", "-C", str(REPOSITORY), "show", f"{revision}:perf_pipeline/lib/data_docs.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = folder / "data_docs_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("data_docs_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.SUITES = REPOSITORY / "perf_pipeline" / "expectations"  # the same suites both ways
    return module


def tables_by_quarter(data: Path, count: int) -> dict:
    import duckdb

    from perf_pipeline.defs.audit import values_for_expectations
    from perf_pipeline.settings import WAREHOUSE_SCHEMA, DataRoot

    with duckdb.connect(str(DataRoot(data).warehouse), read_only=True) as con:
        catalogue = con.execute(f"select * from {WAREHOUSE_SCHEMA}.indicator_catalogue").fetchdf()
        quarters = [
            q
            for (q,) in con.execute(
                f"select distinct quarter from {WAREHOUSE_SCHEMA}.indicator_values order by 1"
            ).fetchall()
        ][-count:]
        return {
            q: {
                "indicator_values": values_for_expectations(
                    con.execute(
                        f"select * from {WAREHOUSE_SCHEMA}.indicator_values where quarter = ?", [q]
                    ).fetchdf(),
                    catalogue,
                )
            }
            for q in quarters
        }


def timed(function, tables, docs_dir: Path, run_name: str):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(tables, docs_dir, run_name)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def pages(docs_dir: Path) -> dict[str, str]:
    return {
        _RUN_TIME.sub("T", str(p.relative_to(docs_dir))): _CUSTOM_STYLES.sub(
            "<style></style>", _RUN_TIME.sub("T", p.read_text(encoding="utf-8"))
        )
        for p in docs_dir.rglob("*.html")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--quarters", type=int, default=4, help="the latest this many quarters")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=BEFORE, help="the revision whose data_docs.py is the baseline")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="data-docs-bench-"))
    import great_expectations  # noqa: F401  (imported once, by the pipeline too, before the first call)

    from perf_pipeline.lib import data_docs

    ways = {"before": baseline_module(args.baseline, work).validate_and_document}
    ways["this"] = data_docs.validate_and_document
    tables = tables_by_quarter(args.data, args.quarters)
    first = next(iter(tables))
    for name, function in ways.items():
        _, wall, cpu = timed(function, tables[first], work / "first" / name, first)
        print(f"{name:>6}: first call {wall:.2f} s wall, {cpu:.2f} s CPU")
    seconds = {name: [] for name in ways}
    problems = []
    for round_ in range(args.rounds):
        order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
        for quarter, quarter_tables in tables.items():
            outcome = {}
            for name in order:
                docs = work / name / f"{quarter}-{round_}"
                result, wall, cpu = timed(ways[name], quarter_tables, docs, quarter)
                seconds[name].append((wall, cpu))
                outcome[name] = (result, pages(docs))
                problems += [
                    f"{name} {quarter}: {p} fetches something online"
                    for p, html in outcome[name][1].items()
                    if _ONLINE.search(html)
                ]
            if outcome["before"][0] != outcome["this"][0]:
                problems.append(f"{quarter}: results {outcome['before'][0]} against {outcome['this'][0]}")
            if outcome["before"][1] != outcome["this"][1]:
                problems.append(f"{quarter}: pages differ ({sorted(outcome['this'][1])})")
    print(f"{len(tables)} quarters x {args.rounds} rounds, baseline {args.baseline}; median a call:")
    medians = {
        name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for name, v in seconds.items()
    }
    for name, (wall, cpu) in medians.items():
        print(f"{name:>6}: {wall:.3f} s wall, {cpu:.3f} s CPU")
    print(
        f" ratio: {medians['this'][0] / medians['before'][0]:.2f} wall, "
        f"{medians['this'][1] / medians['before'][1]:.2f} CPU"
    )
    print("\n".join(problems) or "the same results and pages, none fetching anything online")
    print(f"pages kept in {work}")


if __name__ == "__main__":
    main()
