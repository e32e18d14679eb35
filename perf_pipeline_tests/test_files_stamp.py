"""The file sensor's cheap look (`lib/automation.files_stamp`): any file added, removed or saved
under the data root changes the stamp, and nothing the pipeline writes does."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.automation import files_stamp

INPUTS = ["submissions/2024-25-Q1", "corrections", "reference", "feedback", "governance/2024-25-Q1"]
WRITTEN = ["reports", "warehouse", "app", ".dagster"]
names = st.sampled_from(["a.csv", "b.xlsx", "c.toml", "d"])
contents = st.binary(max_size=40)
trees = st.dictionaries(st.tuples(st.sampled_from(INPUTS + WRITTEN), names), contents, min_size=1, max_size=8)


def _build(root: Path, tree: dict) -> None:
    for (folder, name), content in tree.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_bytes(content)
        os.utime(root / folder / name, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))


def _stamp(root: Path) -> str:
    return files_stamp(root, {os.path.abspath(root / folder) for folder in WRITTEN})


def _inputs(tree: dict) -> list[tuple[str, str]]:
    return sorted(key for key in tree if key[0] in INPUTS)


@settings(max_examples=60, deadline=None)
@given(tree=trees, change=st.sampled_from(["grow", "touch", "remove", "add"]), pick=st.integers(0, 7))
def test_any_input_file_added_removed_or_saved_changes_the_stamp(tree, change, pick):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        _build(root, tree)
        before = _stamp(root)
        assert _stamp(root) == before  # taken twice, the same
        inputs = _inputs(tree)
        if change == "add" or not inputs:
            (root / "corrections" / "new.csv").parent.mkdir(parents=True, exist_ok=True)
            (root / "corrections" / "new.csv").write_bytes(b"")
        else:
            folder, name = inputs[pick % len(inputs)]
            path = root / folder / name
            if change == "grow":
                path.write_bytes(path.read_bytes() + b"x")
                os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))  # same time
            elif change == "touch":
                os.utime(path, ns=(1_700_000_000_000_000_001, 1_700_000_000_000_000_001))  # same size
            else:
                path.unlink()
        assert _stamp(root) != before


@settings(max_examples=40, deadline=None)
@given(tree=trees, written=st.dictionaries(st.tuples(st.sampled_from(WRITTEN), names), contents, min_size=1))
def test_what_the_pipeline_writes_leaves_the_stamp_as_it_was(tree, written):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        _build(root, tree)
        before = _stamp(root)
        for (folder, name), content in written.items():
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / name).write_bytes(content + b"changed")
        assert _stamp(root) == before
