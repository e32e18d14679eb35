"""The audit pack's Data Docs, made for two quarters in one process as a multi-quarter run makes them."""

from __future__ import annotations

import re

import pandas as pd

SHA = "ab" * 32
FETCHED = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)


def values(quarter: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator_code": ["RB01", "HS02"],
            "quarter": [quarter, quarter],
            "reporting_status": ["reported", "reported"],
            "data_status": ["final", "provisional"],
            "traced_to_source": [True, True],
            "source_sha256": [SHA, SHA],
            "source_row": [2, 3],
            "percent_value": [97.5, None],
        }
    )


def test_each_quarter_gets_its_own_pages_and_results(tmp_path):
    from perf_pipeline.lib.data_docs import (
        validate_and_document,
    )  # imports Great Expectations: not at collection

    bad = validate_and_document({"indicator_values": values("2025-26-Q9")}, tmp_path / "q1", "2025-26-Q1")
    good = validate_and_document({"indicator_values": values("2025-26-Q2")}, tmp_path / "q2", "2025-26-Q2")

    assert bad == {"indicator_values": {"success": False, "expectations": 9, "failed": 1}}
    assert good == {"indicator_values": {"success": True, "expectations": 9, "failed": 0}}
    for folder, outcome in ((tmp_path / "q1", "Failed"), (tmp_path / "q2", "Success")):
        runs = list((folder / "validations").rglob("*.html"))
        assert len(runs) == 1  # the other quarter's result is not in this quarter's site
        index = (folder / "index.html").read_text(encoding="utf-8")
        assert re.findall(r"'_validation_success_text': '(\w+)'", index) == [outcome]
        assert (folder / "expectations" / "indicator_values.html").is_file()
        assert (folder / "static" / "styles" / "data_docs_default_styles.css").is_file()
        for page in folder.rglob("*.html"):
            assert not FETCHED.search(page.read_text(encoding="utf-8")), page
    assert "2025-26-Q9" in next((tmp_path / "q1" / "validations").rglob("*.html")).read_text(encoding="utf-8")
    assert "2025-26-Q9" not in next((tmp_path / "q2" / "validations").rglob("*.html")).read_text(
        encoding="utf-8"
    )
