"""An auditor's questions, answered from the example's audit pack."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from perf_pipeline.lib.files import sha256_of
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.returns_reader import read_return
from perf_pipeline.settings import DataRoot
from perf_pipeline_tests.browser import external_requests, open_page, screenshot
from perf_pipeline_tests.conftest import run_cli

pytestmark = pytest.mark.e2e
Q = Quarter(2025, 1)


def provenance(demo, quarter: Quarter = Q) -> pd.DataFrame:
    return pd.read_csv(
        DataRoot(demo).reports_for(quarter) / "figure-provenance.csv",
        dtype={"raw_value": str},
        keep_default_na=False,
    )


def test_every_published_figure_leads_to_a_file_and_row_holding_its_raw_text(demo):
    table = provenance(demo)
    sourced = table[table["source_file"] != ""]
    assert len(sourced) > 30
    # A figure made from customer feedback cases counts many rows of one or more extracts: each
    # file named must still hold what was counted (`perf-pipeline trace` lists the case rows).
    derived = sourced["raw_value"].str.startswith("derived from the case extract")
    assert derived.any()
    for row in sourced[derived].itertuples():
        files, hashes = row.source_file.split("; "), row.source_sha256.split("; ")
        assert len(files) == len(hashes) and all(f.startswith("feedback/") for f in files)
        assert [sha256_of(demo / f) for f in files] == hashes, row.indicator_code
        assert row.source_row == ""
    read_cache = {}
    for row in sourced[~derived].itertuples():
        path = demo / row.source_file
        assert sha256_of(path) == row.source_sha256, row.source_file
        if row.source_file not in read_cache:
            read_cache[row.source_file] = {r["row_number"]: r for r in read_return(path, demo).rows}
        cells = read_cache[row.source_file][int(row.source_row)]
        assert cells["indicator_code"].strip().upper() == row.indicator_code.upper()
        assert cells["value"] == row.raw_value
    assert set(DataRoot(demo).reports_for(Q).joinpath("audit").iterdir()) >= {
        DataRoot(demo).reports_for(Q) / "audit" / name
        for name in ("figure-provenance.csv", "input-manifest.csv", "calculation-notes.md", "data-docs")
    }


def test_the_raw_text_is_what_a_spreadsheet_shows_at_that_row(demo):
    """Open a provenance row's workbook with openpyxl and read the cell an auditor would look at."""
    table = provenance(demo)
    xlsx = table[table["source_file"].str.endswith(".xlsx") & table["source_row"].astype(str).ne("")].iloc[0]
    sheet = openpyxl.load_workbook(demo / xlsx["source_file"], data_only=True).worksheets[0]
    row_values = [c.value for c in sheet[int(xlsx["source_row"])]]
    assert xlsx["indicator_code"] in [str(v).strip() for v in row_values]


def test_a_figure_corrected_twice_lists_both_corrections_in_order(demo):
    rb01 = provenance(demo).set_index("indicator_code").loc["RB01"]
    assert rb01["corrections"] == "CR-2025-002;CR-2025-004"
    details = rb01["correction_details"].split(" | ")
    assert details[0].startswith("CR-2025-002:") and details[1].startswith("CR-2025-004:")
    assert "approved by" in details[0] and "corrections/2025-26-corrections.csv row" in details[1]


def test_the_data_docs_open_offline_in_chromium(demo):
    index = DataRoot(demo).reports_for(Q) / "audit" / "data-docs" / "index.html"
    with open_page(index) as page:
        assert [u for u in external_requests(page, index) if not u.startswith("file://")] == []
        assert "indicator_values" in page.content()
        screenshot(page, "data-docs-2025-26-Q1.png")


def test_calculation_notes_carry_the_rules_in_force(demo):
    notes = (DataRoot(demo).reports_for(Q) / "audit" / "calculation-notes.md").read_text(encoding="utf-8")
    assert "`havering_style`: Green when the shortfall is at most 10% of the target" in notes
    assert "Amber if better than the same quarter last year" in notes
    assert "| RB01 | percent | higher_is_better | 1 | cumulative | standard | 28 |" in notes


def test_trace_names_the_file_row_corrections_and_checks(demo, capsys):
    assert run_cli("--data", str(demo), "trace", "RB01", "--quarter", Q.key) == 0
    out = capsys.readouterr().out
    row = provenance(demo).set_index("indicator_code").loc["RB01"]
    assert f"Received in {row['source_file']}, row {row['source_row']}" in out
    assert "the file on disk still has this hash" in out
    assert out.index("CR-2025-002") < out.index("CR-2025-004")
    assert "every_row_accounted_for" in out and "Assessed as" in out
    assert run_cli("--data", str(demo), "trace", "NOPE", "--quarter", Q.key) == 1
