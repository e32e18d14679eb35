"""Customer feedback as data: case extracts read leniently, checked strictly, turned into indicators."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.feedback import (
    check_cases,
    counted_cases,
    derive_values,
    load_feedback_rules,
    parse_date,
    read_case_file,
    read_cases,
    replace_returned,
    returned_indicators,
    rows_unaccounted,
    working_days_between,
)
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.returns_reader import ReadLimits
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline_tests.conftest import write

D = dt.date
Q2 = Quarter.parse("2025-26-Q2")
RULES = """\
first_quarter = "2025-26-Q1"
[[indicator]]
code = "CS03"
measure = "percent_within_working_days"
working_days = 10
types = ["complaint"]
stages = [1]
counted_by = "responded"
[[indicator]]
code = "CS06"
measure = "per_1000_residents"
residents = 100000
types = ["complaint"]
stages = [1]
counted_by = "received"
[[indicator]]
code = "CS07"
measure = "count"
types = ["compliment"]
"""
HEADER = "Case Ref,Date Received,Date Responded,Service Area,Case Type,Stage,Outcome,Channel\n"


@pytest.mark.parametrize(
    ("received", "responded", "days"),
    [
        (D(2025, 7, 4), D(2025, 7, 7), 1),  # Friday to Monday: one working day
        (D(2025, 7, 7), D(2025, 7, 21), 10),  # two weeks, no holiday
        (D(2025, 7, 7), D(2025, 7, 22), 11),
        (D(2025, 8, 18), D(2025, 9, 1), 9),  # across the August bank holiday (25 August 2025)
        (D(2025, 4, 15), D(2025, 4, 29), 8),  # across Good Friday and Easter Monday 2025
        (D(2024, 12, 20), D(2025, 1, 6), 8),  # Christmas Day, Boxing Day and New Year's Day
        (D(2025, 7, 5), D(2025, 7, 7), 1),  # received on a Saturday: the clock starts on Monday
        (D(2025, 7, 7), D(2025, 7, 7), 0),  # answered the same day
    ],
)
def test_working_days_count_england_and_wales_bank_holidays(received, responded, days):
    assert working_days_between(received, responded) == days


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-07-03", D(2025, 7, 3)),
        ("03/07/2025", D(2025, 7, 3)),  # UK day-first
        ("3/7/25", D(2025, 7, 3)),
        ("2025-07-03T14:22:00", D(2025, 7, 3)),
        ("03/07/2025 14:22", D(2025, 7, 3)),
        ("07/31/2025", None),  # US month-first is not a UK date
        ("31/02/2025", None),
        ("1900-01-01", None),  # not a plausible case date
        ("yesterday", None),
        ("", None),
    ],
)
def test_dates_are_read_day_first_and_strictly(text, expected):
    assert parse_date(text) == expected


def _rules(tmp_path: Path) -> dict:
    return load_feedback_rules(write(tmp_path / "feedback_rules.toml", RULES), {"CS03", "CS06", "CS07"})


def _extract(tmp_path: Path, body: str, name: str = "cases.csv") -> Path:
    return write(tmp_path / "data" / "feedback" / name, "Customer feedback export\n\n" + HEADER + body)


def test_every_row_is_accounted_for_and_a_broken_row_is_reported_with_file_and_row(tmp_path):
    _extract(
        tmp_path,
        "C1,2025-07-07,2025-07-21,Housing,Complaint,Stage 1,Upheld,Email\n"
        "C2,2025-07-07,2025-07-22,Housing,complaint,1,Not upheld,Email\n"
        "C3,2025-07-10,2025-07-01,Planning,Complaint,1,Upheld,Letter\n"
        "\n"
        "C4,2025-08-01,,Waste,Compliments,,,Online form\n"
        "C5,31/07/2025,,Waste,Enquiry,,,Telephone\n"
        "C6,2025-08-01,2025-08-05,Waste,Complaint,,Upheld,Email\n"
        "C7,07/31/2025,,Waste,Comment,,,Email\n"
        ",2025-08-01,,Waste,Comment,,,Email\n"
        "C1,2025-07-07,2025-07-21,Housing,Complaint,Stage 1,Upheld,Email\n"
        "C8,2025-08-01,,Waste,Comment,,,Email\n"
        "C8,2025-08-02,,Waste,Comment,,,Email\n",
    )
    cases, counts = read_cases(tmp_path / "data" / "feedback", tmp_path / "data")
    assert counts == {"feedback/cases.csv": 11}  # the blank line is not a row
    assert rows_unaccounted(cases, counts).empty
    refused = cases[~cases["accepted"]].set_index("row")
    assert refused["reason"].to_dict() == {
        6: "responded_before_received",
        9: "unknown_type",
        10: "invalid_stage",
        11: "not_a_date",
        12: "missing_value",
        13: "duplicate",
        14: "conflicting_duplicate",
        15: "conflicting_duplicate",
    }
    assert set(refused["file"]) == {"feedback/cases.csv"}
    assert "before it was received on 10 July 2025" in refused.at[6, "message"]
    accepted = cases[cases["accepted"]].set_index("case_id")
    assert accepted.loc["C1", ["type", "stage", "working_days"]].tolist() == ["complaint", 1, 10]
    assert accepted.loc["C4", "type"] == "compliment"


def test_unreadable_and_headerless_files_are_one_exception_each(tmp_path):
    folder = tmp_path / "data" / "feedback"
    write(folder / "notes.txt", "not an extract")
    write(folder / "nohead.csv", "a,b,c\n1,2,3\n")
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    cases, _ = read_cases(folder, tmp_path / "data")
    by_file = cases.set_index("file")["reason"].to_dict()
    assert by_file == {
        "feedback/broken.xlsx": "unreadable_file",
        "feedback/nohead.csv": "missing_column",
        "feedback/notes.txt": "unreadable_file",
    }
    assert cases["row"].isna().all()


def test_a_workbook_extract_with_real_dates_is_read(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Feedback cases"])
    sheet.append(["Reference", "Received", "Responded", "Type", "Stage"])
    sheet.append(["W1", dt.datetime(2025, 7, 7, 9, 30), dt.date(2025, 7, 21), "Complaint", 1])
    sheet.append(["W2", dt.date(2025, 7, 8), None, "Compliment", None])
    path = tmp_path / "data" / "feedback" / "cases.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    read = read_case_file(path, tmp_path / "data")
    assert read.problem is None
    assert read.rows["row"].tolist() == [3, 4]  # the sheet's own row numbers
    cases = check_cases([read])
    assert cases["accepted"].all() and cases["working_days"].tolist()[0] == 10


def test_a_workbook_is_measured_before_it_is_read_and_keeps_excels_row_numbers(tmp_path):
    book = openpyxl.Workbook()
    cover = book.active
    cover.append(["Notes only"])
    sheet = book.create_sheet("Cases")
    sheet.append(["Reference", "Received", "Type"])
    sheet.append([])
    sheet.append(["W1", dt.date(2025, 7, 8), "Compliment"])
    path = tmp_path / "data" / "feedback" / "cases.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    read = read_case_file(path, tmp_path / "data")
    assert read.problem is None and read.rows["row"].tolist() == [3]  # the blank row 2 still counts
    # The returns' limits ([limits] in council.toml) bound an extract too: refused, not read.
    small = read_case_file(path, tmp_path / "data", ReadLimits(max_cells=4))
    assert small.problem == "unreadable_file" and "over 4 cells" in small.message


def test_rules_turn_cases_into_indicator_values(tmp_path):
    _extract(
        tmp_path,
        "A,2025-07-07,2025-07-21,Housing,Complaint,1,Upheld,Email\n"  # in time (10 days)
        "B,2025-07-07,2025-07-22,Housing,Complaint,1,Upheld,Email\n"  # late (11 days)
        "C,2025-06-20,2025-07-02,Housing,Complaint,1,Upheld,Email\n"  # received in Q1, answered in Q2
        "D,2025-09-29,,Housing,Complaint,1,,Email\n"  # open: counts as received, not as answered
        "E,2025-07-07,2025-07-09,Housing,Complaint,2,Upheld,Email\n"  # stage 2: not in CS03 or CS06
        "F,2025-08-01,,Waste,Compliment,,,Email\n"
        "G,2025-10-01,,Waste,Compliment,,,Email\n",  # next quarter
    )
    cases, _ = read_cases(tmp_path / "data" / "feedback", tmp_path / "data")
    derived = derive_values(cases, _rules(tmp_path), Q2, {"CS03", "CS06", "CS07"}).set_index("indicator_code")
    assert derived.loc["CS03", ["numerator", "denominator"]].tolist() == [2.0, 3.0]
    assert derived.loc["CS03", "value"] == pytest.approx(200 / 3)
    assert derived.loc["CS06", "value"] == pytest.approx(1000 * 3 / 100000)  # A, B and D received in Q2
    assert derived.loc["CS07", "value"] == 1.0
    assert derived.loc["CS03", "source_files"] == "feedback/cases.csv"
    counted = counted_cases(cases, _rules(tmp_path)["indicators"][0], Q2)
    assert counted["row"].tolist() == [4, 5, 6] and counted["in_numerator"].tolist() == [True, False, True]
    # before first_quarter, and in a quarter with no case at all, nothing is derived (no zero guessed)
    assert derive_values(cases, _rules(tmp_path), Quarter.parse("2024-25-Q4"), {"CS03"}).empty
    assert derive_values(cases, _rules(tmp_path), Quarter.parse("2026-27-Q1"), {"CS07"}).empty


def test_a_derived_figure_replaces_the_returned_one_and_keeps_its_commentary():
    validated = pd.DataFrame(
        {
            "indicator_code": ["CS03", "CS01", "CS03"],
            "period": [Q2.key, Q2.key, Quarter.parse("2025-26-Q1").key],
            "source_quarter": [Q2.key] * 3,
            "file": ["r.csv"] * 3,
            "row": pd.array([2, 3, 4], dtype="Int64"),
            "value": [91.0, 80.0, 88.0],
            "commentary": ["Backlog cleared", None, None],
        }
    )
    derived = pd.DataFrame(
        {
            "indicator_code": ["CS03"],
            "value": [89.3],
            "numerator": [151.0],
            "denominator": [169.0],
            "source_files": ["feedback/x.xlsx"],
            "source_sha256": ["abc"],
            "description": ["derived from the case extract: 151 of 169"],
        }
    )
    out = replace_returned(validated, derived, Q2)
    now = out[(out["indicator_code"] == "CS03") & (out["period"] == Q2.key)]
    assert len(now) == 1 and now.iloc[0]["value"] == 89.3 and now.iloc[0]["file"] == "feedback/x.xlsx"
    assert now.iloc[0]["commentary"] == "Backlog cleared"
    assert len(out[out["indicator_code"] == "CS03"]) == 2  # the revision of Q1 is untouched


def test_rules_are_checked_and_derived_indicators_are_not_asked_of_services(tmp_path):
    bad = write(
        tmp_path / "bad.toml", 'first_quarter = "soon"\n[[indicator]]\ncode = "XX"\nmeasure = "average"\n'
    )
    with pytest.raises(ReferenceDataError) as error:
        load_feedback_rules(bad, {"CS03"})
    assert (
        "reference/bad.toml [[indicator]] 1: code 'XX' is not an indicator in indicators.csv"
        in error.value.problems
    )
    assert any("measure 'average'" in p for p in error.value.problems)
    write(tmp_path / "feedback_rules.toml", RULES)
    catalogue = pd.DataFrame({"code": ["CS01", "CS03", "CS06", "CS07"]})
    assert list(returned_indicators(catalogue, tmp_path, Q2)["code"]) == ["CS01"]
    assert list(returned_indicators(catalogue, tmp_path, Quarter.parse("2024-25-Q4"))["code"]) == list(
        catalogue["code"]
    )


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
date_text = st.one_of(
    st.dates(min_value=D(1990, 1, 1), max_value=D(2110, 1, 1)).map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates(min_value=D(1990, 1, 1), max_value=D(2110, 1, 1)).map(str),
    cell,
)
row = st.tuples(
    st.one_of(st.just(""), st.from_regex(r"C[0-9]{1,3}", fullmatch=True)),
    date_text,
    st.one_of(st.just(""), date_text),
    cell,
    st.sampled_from(["Complaint", "compliments", "Comment", "Enquiry", "", "COMPLAINT"]),
    st.sampled_from(["1", "Stage 2", "", "3", "one"]),
    cell,
    cell,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=25), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_any_extract_is_read_with_every_row_accounted_for(tmp_path_factory, rows, encoding):
    """Whatever the cells hold, reading never raises and each non-blank row ends accepted or refused."""
    import csv
    import io

    root = tmp_path_factory.mktemp("hyp")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["Case reference", "Received", "Responded", "Service", "Type", "Stage", "Outcome", "Channel"]
    )
    writer.writerows(rows)
    path = root / "feedback" / "x.csv"
    path.parent.mkdir()
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    cases, counts = read_cases(root / "feedback", root)
    assert rows_unaccounted(cases, counts).empty
    assert cases["row"].notna().sum() == counts["feedback/x.csv"]
    assert len(cases) >= 1  # a file without rows is itself one exception (empty_file)
    refused = cases[~cases["accepted"]]
    assert refused["reason"].notna().all() and refused["message"].notna().all()
    accepted = cases[cases["accepted"]]
    assert accepted["received_date"].notna().all()
    assert (
        accepted["responded_date"].isna() | (accepted["responded_date"] >= accepted["received_date"])
    ).all()
    assert set(accepted["type"]) <= {"complaint", "compliment", "comment"}
    assert accepted["case_id"].str.upper().is_unique
