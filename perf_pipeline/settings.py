"""Where the pipeline reads and writes: one data root (SPEC §1).

`PERF_PIPELINE_DATA` (or `--data DIR` on the command line) names it; the default is the worked
example in the repository's `data/`. Resolving a path reads nothing, so this is safe at import.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from perf_pipeline.lib.files import safe_file_name
from perf_pipeline.lib.quarters import Quarter

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA_ROOT = REPOSITORY / "data"
DATA_ENV = "PERF_PIPELINE_DATA"
FIRST_QUARTER_ENV = "PERF_PIPELINE_FIRST_QUARTER"
DEFAULT_FIRST_QUARTER = "2021-22-Q1"
WAREHOUSE_FILE = "warehouse.duckdb"
CHARTS_FILE = "charts.sqlite"  # the reports' charts drawn before (lib/charts.py), beside the warehouse
APP_FOLDER = "app"  # the app's published snapshot and its accounts
# Where the pipeline publishes files (reports, request packs, reminders), each written aside and
# renamed into place.
OUTPUT_FOLDERS = ("reports", "requests", "outbox")
WAREHOUSE_SCHEMA = "perf"
# DuckDB takes 80% of the machine's memory by default; the warehouse's steps are held to this and
# spill to disk beyond it (sorting the national benchmark files is the largest). Raise it on a
# server with memory to spare.
WAREHOUSE_MEMORY_ENV = "PERF_PIPELINE_DUCKDB_MEMORY_LIMIT"


def warehouse_connection_config() -> dict:
    return {"memory_limit": os.environ.get(WAREHOUSE_MEMORY_ENV) or "1GB"}


def data_root_path() -> Path:
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA_ROOT).absolute()


def first_quarter() -> Quarter:
    """The first quarter the pipeline holds partitions for (env `PERF_PIPELINE_FIRST_QUARTER`)."""
    return Quarter.parse(os.environ.get(FIRST_QUARTER_ENV) or DEFAULT_FIRST_QUARTER)


@dataclass(frozen=True)
class DataRoot:
    """The folders of one data root."""

    root: Path

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def submissions(self) -> Path:
        return self.root / "submissions"

    def submissions_for(self, quarter: Quarter) -> Path:
        return self.submissions / quarter.key

    @property
    def corrections(self) -> Path:
        return self.root / "corrections"

    @property
    def benchmarks(self) -> Path:
        return self.root / "benchmarks"

    @property
    def improvement_plan(self) -> Path:
        return self.root / "improvement_plan"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / WAREHOUSE_FILE

    @property
    def charts(self) -> Path:
        return self.warehouse.parent / CHARTS_FILE

    def reports_for(self, quarter: Quarter) -> Path:
        return self.root / "reports" / quarter.key

    def requests_for(self, quarter: Quarter) -> Path:
        return self.root / "requests" / quarter.key

    def request_pack(self, quarter: Quarter, service: str) -> Path:
        return self.requests_for(quarter) / f"{safe_file_name(service)}.xlsx"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.root / ".dagster").absolute()

    @property
    def written(self) -> set[Path]:
        """The folders the pipeline and Dagster write, which hold no input."""
        folders = {self.root / name for name in (*OUTPUT_FOLDERS, APP_FOLDER)}
        return folders | {self.warehouse.parent, self.dagster_home}

    def quarters_with_returns(self) -> list[Quarter]:
        """Quarters that have a folder under `submissions/`, in order."""
        found = []
        for folder in self.submissions.iterdir() if self.submissions.is_dir() else []:
            try:
                found.append(Quarter.parse(folder.name))
            except ValueError:
                continue
        return sorted(q for q in found if (self.submissions / q.key).is_dir())


@cache
def code_version() -> str:
    """The git commit of the code that computed a figure, with `+dirty` for uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "perf_pipeline"],
            cwd=REPOSITORY,
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import version

        return f"perf-pipeline {version('perf-pipeline')}"
    return commit + ("+dirty" if dirty else "")
