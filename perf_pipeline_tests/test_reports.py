"""The quarterly monitoring report as a councillor and a spreadsheet user get it."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.formatting import RAG_FILLS, format_value
from perf_pipeline.lib.publish import neutralise
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.report import approval_text, exceptions, off_target_twice, plain_words_summary
from perf_pipeline.lib.report_render import render_html, write_workbook
from perf_pipeline.settings import DataRoot
from perf_pipeline_tests.browser import external_requests, open_page, screenshot

SECTIONS = [
    "cover",
    "review",
    "levels",
    "at-a-glance",
    "summary",
    "measures",
    "tags",
    "exceptions",
    "indicators",
    "benchmarking",
    "value-for-money",
    "programmes",
    "risks",
    "improvement-plan",
    "scrutiny",
    "customer-feedback",
    "data-quality",
    "provenance",
]
LATEST = Quarter(2025, 2)


@pytest.mark.parametrize(
    "value, unit, decimals, label, expected",
    [
        (85.25, "percent", 1, None, "85.3%"),
        (2500, "currency", 0, None, "£2,500"),
        (1234, "count", 0, None, "1,234"),
        (12.5, "days", 1, None, "12.5 days"),
        (575.1, "number", 1, "kg per household", "575.1 kg per household"),
        (None, "count", 0, None, "–"),
        (float("nan"), "percent", 1, None, "–"),
        (-1500, "currency", 0, None, "−£1,500"),
    ],
)
def test_values_are_formatted_by_unit(value, unit, decimals, label, expected):
    assert format_value(value, unit, decimals, label) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-5", "-5"),
        ("85%", "85%"),
        ("fine", "fine"),
    ],
)
def test_formula_text_is_neutralised(text, expected):
    assert neutralise(text) == expected


def test_approval_comes_from_the_approvals_file():
    approvals = pd.DataFrame(
        [{"quarter": "2025/26 Q1", "approved_by": "Cabinet", "approved_on": "2025-09-09"}]
    )
    assert approval_text(approvals, Quarter(2025, 1)) == "Approved by Cabinet on 9 September 2025"
    assert approval_text(approvals, Quarter(2025, 2)) == "Draft"


def _perf(rows):
    base = {
        "title": "T",
        "unit": "count",
        "decimals": 0,
        "polarity": "higher_is_better",
        "dot_short": "No comparison",
        "ytd_method": "sum",
    }
    out = pd.DataFrame([{**base, **r} for r in rows])
    for own, whole in (("quarter_value", "value"), ("previous_quarter_part", "previous_quarter_value")):
        if whole in out:
            out[own] = out[own].fillna(out[whole]) if own in out else out[whole]
    return out


def test_the_plain_words_summary_is_built_from_the_figures():
    now = _perf(
        [
            {"indicator_code": "A", "rag_status": "Green", "value": 12, "previous_quarter_value": 10},
            {"indicator_code": "B", "rag_status": "Red", "value": 5, "previous_quarter_value": 10},
            {"indicator_code": "C", "rag_status": "Amber", "value": 9, "previous_quarter_value": 9},
            {"indicator_code": "D", "rag_status": "Not reported", "value": None, "previous_quarter_value": 4},
            # Council tax collected, year to date: 28.4% after Q1, 56.6% after Q2. The doubling is
            # the calendar; the quarter's own part went from 28.4 to 28.2.
            {
                "indicator_code": "E",
                "rag_status": "Green",
                "ytd_method": "cumulative",
                "value": 56.6,
                "quarter_value": 28.2,
                "previous_quarter_value": 28.4,
                "previous_quarter_part": 28.4,
            },
        ]
    )
    before = _perf(
        [{"indicator_code": "B", "rag_status": "Amber"}, {"indicator_code": "C", "rag_status": "Green"}]
    )
    sentences = plain_words_summary(now, before)
    assert sentences[0] == (
        "Of 4 indicators with a target this quarter, 2 met it (50%), 1 missed it but within "
        "tolerance and 1 missed it."
    )
    assert "not reported: T (D)" in sentences[1]
    assert sentences[2] == "Improved most since last quarter: T (A), from 10 to 12."
    assert sentences[3] == (
        "Worsened most since last quarter: T (B), from 10 to 5; T (E), the quarter's own part from 28 to 28."
    )
    assert sentences[4] == "Off target two quarters running (1): T (B)."
    assert list(off_target_twice(now, before)["indicator_code"]) == ["B"]


@pytest.mark.parametrize(
    "method, short, long, exception",
    [
        ("sum", "Worsening", "Improving", True),
        ("sum", "Improving", "Worsening", False),
        # A cumulative indicator's own part of each quarter is seasonal: judged on the same quarter
        # last year.
        ("cumulative", "Worsening", "Improving", False),
        ("cumulative", "Improving", "Worsening", True),
    ],
)
def test_worsening_two_quarters_running_compares_like_with_like(method, short, long, exception):
    row = {
        "indicator_code": "X",
        "rag_status": "Green",
        "ytd_method": method,
        "dot_short": short,
        "dot_long": long,
        "directorate": "D",
        "commentary": "",
    }
    chosen = exceptions(_perf([row]), _perf([row]))
    assert (len(chosen) == 1) == exception
    if exception:
        assert chosen["why"].iloc[0] == (
            "worse than the same quarter last year, two quarters running"
            if method == "cumulative"
            else "worsening two quarters running"
        )


def _report(demo: Path, quarter: Quarter = LATEST) -> Path:
    return DataRoot(demo).reports_for(quarter) / "quarterly-monitoring-report.html"


@pytest.mark.e2e
def test_the_report_renders_in_chromium_with_every_section_and_no_requests(demo):
    path = _report(demo)
    with open_page(path) as page:
        assert page.console_errors == []
        assert external_requests(page, path) == []
        ids = page.eval_on_selector_all("main > section[id], main > h2[id]", "els => els.map(e => e.id)")
        assert ids == SECTIONS
        assert "Quarterly performance report: 2025/26 Q2" in page.inner_text("h1")
        assert page.locator("img.trend").count() > 20
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        for status in ("Green", "Amber", "Red"):  # never colour alone: the word is on the page
            assert page.locator(f".status-{status}").first.inner_text().endswith(status)
        screenshot(page, "quarterly-report-2025-26-Q2.png")


@pytest.mark.e2e
def test_commentary_with_script_shows_as_text(demo, tmp_path):
    """Render the report with hostile commentary in an exception: nothing runs, the text shows."""
    path = _report(demo)
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the report runs no script at all
    hostile = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">javascript:alert(1)'
    view = _view_with_commentary(demo, hostile)
    page_path = tmp_path / "hostile.html"
    page_path.write_text(render_html("quarterly_report.html.j2", view), encoding="utf-8")
    with open_page(page_path) as page:
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.dialogs == []
        assert hostile in page.inner_text("#exceptions ~ table")
        assert external_requests(page, page_path) == []


def _view_with_commentary(demo: Path, commentary: str) -> dict:
    from perf_pipeline.lib.check_return import load_catalogue
    from perf_pipeline.lib.report_view import quarterly_view

    root = DataRoot(demo)
    with duckdb.connect(str(root.warehouse), read_only=True) as con:

        def table(name, where="quarter = ?", params=(LATEST.key,)):
            return con.execute(f"select * from perf.{name} where {where}", list(params)).fetchdf()

        history = table("indicator_performance", "quarter >= ?", (LATEST.shift(-7).key,))
        red = history.index[(history["quarter"] == LATEST.key) & (history["rag_status"] == "Red")][0]
        history.loc[red, "commentary"] = commentary
        return quarterly_view(
            LATEST,
            {"name": "Test Council"},
            history,
            load_catalogue(root),
            table("restatements"),
            table("submission_status"),
            table("return_exceptions"),
            table("corrections_log", "true", ()),
            pd.DataFrame(columns=["quarter"]),
            pd.DataFrame(columns=["file", "sha256"]),
            {"generated_at": "now", "code_version": "test", "run_id": "test", "data_date": "today"},
        )


@pytest.mark.e2e
def test_the_workbook_has_a_sheet_per_table_with_fills_frozen_headers_and_filters(demo):
    path = _report(demo).with_suffix(".xlsx")
    workbook = openpyxl.load_workbook(path)
    assert {"Indicators", "Exceptions", "Restatements", "Return exceptions", "Submission status"} <= set(
        workbook.sheetnames
    )
    sheet = workbook["Indicators"]
    header = [c.value for c in sheet[1]]
    status = header.index("rag_status") + 1
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    fills = {
        sheet.cell(row=r, column=status).value: sheet.cell(row=r, column=status).fill.fgColor.rgb
        for r in range(2, sheet.max_row + 1)
    }
    assert fills["Green"].endswith("C6E7C6") and fills["Red"].endswith("F6C1C1")


def test_workbook_cells_never_hold_formulas(tmp_path):
    frame = pd.DataFrame(
        {"commentary": ['=HYPERLINK("http://evil","x")', "+cmd", "@SUM(1)", "plain"], "n": [1, 2, 3, 4]}
    )
    path = write_workbook(tmp_path / "t.xlsx", [("Sheet", frame)], ())
    sheet = openpyxl.load_workbook(path)["Sheet"]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 6)]
    assert [c.value for c in cells] == ['\'=HYPERLINK("http://evil","x")', "'+cmd", "'@SUM(1)", "plain"]
    assert all(c.data_type == "s" for c in cells)


def test_each_sheet_has_a_bold_frozen_header_filters_widths_and_fills_only_on_status_cells(tmp_path):
    frame = pd.DataFrame(
        {
            "indicator_code": ["A1", "Green", "A3"],
            "rag_status": ["Green", "Red", "Not due"],
            "commentary": ["short", "x" * 80, None],
        }
    )
    path = write_workbook(
        tmp_path / "t.xlsx", [("Indicators", frame), ("Empty", frame.iloc[:0])], ("rag_status",)
    )
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Indicators", "Empty"]
    sheet = book["Indicators"]
    assert [c.value for c in sheet[1]] == ["indicator_code", "rag_status", "commentary"]
    assert all(c.font.bold for c in sheet[1]) and not any(c.font.bold for c in sheet[2])
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:C4"
    assert [sheet.column_dimensions[x].width for x in "ABC"] == [
        16,
        12,
        60,
    ]  # header or text + 2, within 10..60
    fills = [
        [c.fill.fgColor.rgb if c.fill.fill_type else None for c in row] for row in sheet.iter_rows(min_row=2)
    ]
    assert fills == [[None, "00C6E7C6", None], [None, "00F6C1C1", None], [None, None, None]]
    assert sheet["C4"].value is None
    assert book["Empty"].auto_filter.ref == "A1:C1" and [c.value for c in book["Empty"][1]] == [
        "indicator_code",
        "rag_status",
        "commentary",
    ]


# A workbook cannot hold control characters (Excel and openpyxl refuse them).
SHEET_TEXT = st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=12) | st.sampled_from(
    ["=1+1", "+cmd", "-2", "@SUM(1)", "Green", "Red", "Not due", "3.5%", ""]
)


def _as_read_back(value):
    """What a cell given `value` must hold: blank for any missing value, numbers as numbers (to the
    16 significant digits openpyxl writes; Excel holds 15), dates as dates, text neutralised."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, str):
        return neutralise(value) or None  # an empty text is a blank cell
    return float(f"{value:.16g}") if isinstance(value, float) else value


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_infinity=False) | st.none(),
            st.integers(-(2**53), 2**53),
            st.booleans(),
            SHEET_TEXT | st.none(),
            st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)).map(str) | st.none(),
            st.integers(1, 400) | st.none(),
            st.sampled_from([*RAG_FILLS, "Not due"]) | SHEET_TEXT,
        ),
        max_size=8,
    )
)
def test_each_cell_of_any_table_reads_back_as_its_value_blank_or_neutralised_text(tmp_path_factory, rows):
    columns = ["figure", "count", "flag", "commentary", "received", "rank", "rag_status"]
    frame = pd.DataFrame(rows, columns=columns).astype({"figure": float, "rank": "Int64"})
    frame["received"] = pd.to_datetime(frame["received"])  # missing dates are NaT
    frame["note"] = frame["commentary"].astype("string")  # pandas' own text, missing as <NA>
    path = write_workbook(tmp_path_factory.mktemp("book") / "t.xlsx", [("Sheet", frame)], ("rag_status",))
    sheet = openpyxl.load_workbook(path)["Sheet"]
    for record, cells in zip(frame.itertuples(index=False), sheet.iter_rows(min_row=2), strict=True):
        for value, cell in zip(record, cells, strict=True):
            assert cell.value == _as_read_back(value)
            if isinstance(cell.value, str):
                assert cell.data_type == "s"  # never a formula
        status = record.rag_status
        assert cells[6].fill.fgColor.rgb == ("00" + RAG_FILLS[status] if status in RAG_FILLS else "00000000")
    assert sheet.max_row == len(frame) + 1
    # A blank is no cell at all, not an empty number that another program may read as 0.
    assert b"<v />" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")


def test_a_dot_plot_does_not_depend_on_the_order_its_neighbours_come_in():
    from perf_pipeline.lib.charts import ComparatorDotPlots
    from perf_pipeline.lib.report_view import dot_plots

    benchmarks = pd.DataFrame(
        {
            "indicator_code": ["X1"],
            "group": ["nearest_neighbours"],
            "metric": ["src:m"],
            "period": ["2023-24"],
            "value": [30.0],
            "median": [20.0],
            "rank": [1.0],
            "n": [5],
        }
    )
    members = pd.DataFrame(
        {
            "metric": "src:m",
            "period": "2023-24",
            "area_code": ["E1", "E2", "E3", "E4", "HERE"],
            "value": [20.0, 20.2, 10.0, 21.0, 30.0],  # overlapping points: blending order shows
        }
    )
    names = pd.DataFrame({"unit": ["%"], "decimals": [1], "title": ["An indicator"]}, index=["X1"])
    ComparatorDotPlots._drawn.clear()
    first = dot_plots(benchmarks, members, names, "HERE", "Here")
    again = dot_plots(benchmarks, members.iloc[::-1], names, "HERE", "Here")
    assert first == again and len(ComparatorDotPlots._drawn) == 1  # the same chart, drawn once
    assert "rank 1 of 5" in first[0]["alt"]


@pytest.mark.e2e
def test_the_annual_report_sets_the_years_outturn_beside_three_earlier_years(demo):
    path = DataRoot(demo).root / "reports" / "2024-25" / "annual-performance-report.html"
    with open_page(path) as page:
        assert page.console_errors == [] and external_requests(page, path) == []
        assert page.inner_text("h1") == "Annual performance report: 2024/25"
        header = page.locator("#outturn ~ table").first.locator("th").all_inner_texts()
        assert header[1:5] == ["2021/22", "2022/23", "2023/24", "2024/25"]
        screenshot(page, "annual-report-2024-25.png")
    with duckdb.connect(str(DataRoot(demo).warehouse), read_only=True) as con:
        recycling = con.execute(
            "select ytd_value from perf.indicator_performance "
            "where quarter = '2022-23-Q4' and indicator_code = 'WM01'"
        ).fetchone()[0]
    assert recycling == pytest.approx(31.7)  # Darlington's published 2022-23 recycling rate
    assert "31.7%" in path.read_text(encoding="utf-8")
