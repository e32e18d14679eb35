"""The versions of the input files, so Dagster knows when an input has changed.

Each input the pipeline reads is given a data version: the content hash of what a quarter's
assets read from it. A quarter's returns are its folder's files and its lines in the receipt log;
a quarter's corrections are the correction rows that name it, whatever file they are in; its
approval is its row of `approvals.csv`. Files every quarter reads (`council.toml`, the improvement
plan) have one version each. The same bytes always give the same version, so saving a file again
unchanged changes nothing.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import TYPE_CHECKING

from perf_pipeline.lib.files import combined_hash, relative_to_root, sha256_of
from perf_pipeline.lib.quarters import Quarter, QuarterError

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from perf_pipeline.settings import DataRoot

NOTHING = combined_hash([])[:16]  # the version of an input with nothing in it


def _version(parts: list[str]) -> str:
    return combined_hash(parts)[:16]


def returns_versions(root: DataRoot) -> dict[str, str]:
    """Per quarter folder under `submissions/`: its files' names and content, and the quarter's
    lines in the receipt log (a late receipt date changes the quarter's status)."""
    # Here, not at the top: the definitions import this module, and these readers bring pandas.
    from perf_pipeline.lib.returns_reader import list_return_files
    from perf_pipeline.lib.submissions import read_receipts

    receipts = read_receipts(root.submissions)
    found = {}
    for quarter in root.quarters_with_returns():
        files, _ = list_return_files(root.submissions_for(quarter), root.root)
        parts = [f"{relative_to_root(path, root.root)}:{sha256_of(path)}" for path in files if path.is_file()]
        logged = receipts[receipts["quarter"].astype(str).str.strip() == quarter.key]
        parts += [f"receipt:{row.file}:{row.received_on}" for row in logged.itertuples(index=False)]
        found[quarter.key] = _version(parts)
    return found


def corrections_versions(root: DataRoot) -> dict[str, str]:
    """Per quarter named by a correction row: the rows that name it (a row naming no quarter is
    rejected in the corrections log and changes no quarter's figures)."""
    from perf_pipeline.lib.corrections import CORRECTION_FIELDS, read_corrections

    rows: dict[str, list[str]] = defaultdict(list)
    for record in read_corrections(root.corrections, root.root).to_dict("records"):
        try:
            quarter = Quarter.parse(record.get("period", "") or "")
        except QuarterError:
            continue
        rows[quarter.key].append(json.dumps([str(record.get(c, "")) for c in CORRECTION_FIELDS]))
    return {key: _version(sorted(parts)) for key, parts in rows.items()}


def approvals_versions(approvals: pd.DataFrame) -> dict[str, str]:
    """Per quarter in `approvals.csv`: its rows."""
    found: dict[str, list[str]] = defaultdict(list)
    for row in approvals.astype(str).to_dict("records"):
        try:
            quarter = Quarter.parse(row.get("quarter", ""))
        except QuarterError:
            continue
        found[quarter.key].append(json.dumps(row, sort_keys=True))
    return {key: _version(sorted(parts)) for key, parts in found.items()}


def files_version(paths: list[Path]) -> str:
    """One version for a set of files: their names and content (a missing file counts as absent)."""
    return _version([f"{p.name}:{sha256_of(p)}" for p in paths if p.is_file()])


def files_stamp(root: Path, skipped: set[str]) -> str:
    """The name, size and modification time of every file under `root`, but in the `skipped`
    folders (absolute paths: those the pipeline writes): taken without reading any file, and
    different whenever a file is added, removed or saved."""
    parts = []
    for parent, folders, files in os.walk(root, followlinks=False):
        folders[:] = sorted(n for n in folders if os.path.abspath(os.path.join(parent, n)) not in skipped)
        for name in sorted(files):
            path = os.path.join(parent, name)
            try:
                stat = os.stat(path)
            except OSError:  # removed meanwhile, or a link to nothing
                parts.append(f"{path}:-")
                continue
            parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return _version(parts)
