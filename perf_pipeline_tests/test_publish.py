"""Publishing a quarter's report folder as one set, and text made safe for the published forms."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perf_pipeline.lib.formatting import format_value
from perf_pipeline.lib.publish import (
    EXCEL_CELL_LIMIT,
    fit_cell,
    neutralise,
    publish_folder,
    show_bidi_controls,
    staging_folder,
)


def files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def published(tmp_path: Path) -> Path:
    folder = tmp_path / "reports" / "2024-25-Q2"
    (folder / "audit").mkdir(parents=True)
    (folder / "report.html").write_text("old report")
    (folder / "audit" / "provenance.csv").write_text("old provenance")
    (folder / "indicator-performance.csv").write_text("table of an earlier step")
    return folder


def test_the_staged_set_replaces_its_files_and_keeps_the_others(published):
    staged = staging_folder(published, "run-2")
    (staged / "audit").mkdir(parents=True)
    (staged / "report.html").write_text("new report")
    (staged / "audit" / "provenance.csv").write_text("new provenance")
    publish_folder(staged, published)
    assert files(published) == {
        "audit/provenance.csv": "new provenance",
        "indicator-performance.csv": "table of an earlier step",
        "report.html": "new report",
    }
    assert not list(staged.parent.iterdir()), "nothing is left aside"


def test_a_run_that_failed_before_publishing_changes_nothing_and_is_cleared_later(published):
    failed = staging_folder(published, "run-failed")
    failed.mkdir(parents=True)
    (failed / "report.html").write_text("new report of a run whose audit pack failed")
    assert files(published)["report.html"] == "old report"  # the old set still stands together
    later = staging_folder(published, "run-3")
    later.mkdir(parents=True)
    (later / "report.html").write_text("report of run 3")
    publish_folder(later, published)
    assert files(published)["report.html"] == "report of run 3"
    assert not failed.exists()


def test_a_crash_between_the_two_renames_is_repaired_by_the_next_publication(published):
    crashed = staging_folder(published, "run-crashed")
    os.makedirs(crashed.parent)
    os.rename(published, crashed.with_name(crashed.name + ".old"))  # the old set moved aside, then power cut
    assert not published.exists()
    staged = staging_folder(published, "run-4")
    staged.mkdir()
    (staged / "report.html").write_text("report of run 4")
    publish_folder(staged, published)
    assert files(published) == {
        "audit/provenance.csv": "old provenance",
        "indicator-performance.csv": "table of an earlier step",
        "report.html": "report of run 4",
    }


def test_a_first_publication_needs_no_earlier_folder(tmp_path):
    folder = tmp_path / "reports" / "2024-25-Q1"
    staged = staging_folder(folder, "run-1")
    staged.mkdir(parents=True)
    (staged / "report.html").write_text("first")
    publish_folder(staged, folder)
    assert files(folder) == {"report.html": "first"}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("invoice\u202egpj.exe", "invoice[U+202E]gpj.exe"),
        ("\u2067isolate\u2069", "[U+2067]isolate[U+2069]"),
        ("mark\u200f", "mark[U+200F]"),
        ("plain عربي text", "plain عربي text"),  # right-to-left letters themselves are left alone
    ],
)
def test_direction_controls_are_shown_never_applied(text, shown):
    assert show_bidi_controls(text) == shown
    assert neutralise(text) == shown


def test_text_longer_than_a_cell_is_cut_with_a_visible_mark():
    long = "x" * 40_000
    cut = fit_cell(long)
    assert len(cut) == EXCEL_CELL_LIMIT
    assert cut.endswith("[cut: 40,000 characters in all; a cell holds 32,767]")
    assert fit_cell("x" * EXCEL_CELL_LIMIT) == "x" * EXCEL_CELL_LIMIT


@pytest.mark.parametrize(("value", "decimals", "shown"), [(-0.0, 1, "0.0"), (-0.04, 0, "0"), (-0.4, 0, "0")])
def test_minus_zero_is_never_shown(value, decimals, shown):
    assert format_value(value, "count", decimals) == shown
