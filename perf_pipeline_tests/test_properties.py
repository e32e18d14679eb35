"""Property-based tests (Hypothesis): the parsers and the row accounting, attacked with generated input.

Examples pin what a person would type; these look for what nobody thought of. Each property holds
for every input Hypothesis tries: a figure written any accepted way reads back as that figure,
anything else is refused (never half-read), no text makes a parser raise, and every non-blank row
of any file, however garbled, comes out exactly once, accepted or explained.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.quarters import EARLIEST_YEAR, LATEST_YEAR, Quarter, QuarterError
from perf_pipeline.lib.reference import load_indicators, load_rag_rules, load_services
from perf_pipeline.lib.returns_reader import raw_frame, read_return
from perf_pipeline.lib.returns_validation import REASONS, parse_numbers, validate_returns
from perf_pipeline_tests.conftest import INDICATORS, RAG_RULES, SERVICES
from perf_pipeline_tests.test_validation_rules import raw_rows

# Example counts keep the file within a few seconds per test on a shared 2-core machine.
FAST = settings(max_examples=100, deadline=None)
FILES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Q = Quarter(2024, 2)
CODES = ["WM01", "WM02", "RB01", "RB02", "HO01", "HO02"]

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


def parse_one(text: str) -> float | None:
    value, ok = parse_numbers(pd.Series([text]))
    return float(value[0]) if ok[0] else None


# --- numbers and percentages ----------------------------------------------------------------------


@FAST
@given(finite, st.integers(min_value=0, max_value=6))
def test_a_figure_written_plainly_reads_back(value, decimals):
    text = f"{value:.{decimals}f}"
    assert parse_one(text) == pytest.approx(float(text))


@FAST
@given(finite, st.integers(min_value=0, max_value=3), st.sampled_from(["", "£", "$", "€"]))
def test_a_figure_with_thousands_commas_and_a_currency_sign_reads_back(value, decimals, currency):
    magnitude = f"{abs(value):,.{decimals}f}"
    text = ("-" if value < 0 else "") + currency + magnitude
    assert parse_one(text) == pytest.approx(float(f"{value:.{decimals}f}"))


@FAST
@given(st.floats(min_value=0, max_value=100, allow_nan=False), st.sampled_from(["%", " %"]))
def test_a_percentage_reads_as_its_number(value, sign):
    text = f"{value:.1f}{sign}"
    assert parse_one(text) == pytest.approx(round(value, 1))


@FAST
@given(st.floats(min_value=0.001, max_value=1e9, allow_nan=False))
def test_accounting_brackets_mean_minus(value):
    text = f"({value:,.2f})"
    assert parse_one(text) == pytest.approx(-float(f"{value:.2f}"))


@FAST
@given(st.from_regex(r"[0-9]{1,4}", fullmatch=True), st.from_regex(r"[0-9]{1,2}|[0-9]{4,6}", fullmatch=True))
def test_a_space_or_comma_that_does_not_group_thousands_is_refused(left, right):
    for separator in (" ", ","):
        assert parse_one(f"{left}{separator}{right}") is None, f"{left}{separator}{right}"


@FAST
@given(st.from_regex(r"[0-9]{1,3}", fullmatch=True), st.from_regex(r"[0-9]{1,3}", fullmatch=True))
def test_a_percent_sign_inside_a_figure_or_a_sign_inside_brackets_is_refused(left, right):
    assert parse_one(f"{left}%{right}") is None
    assert parse_one(f"(-{left}.{right})") is None
    assert parse_one(f"(+{left})") is None


@FAST
@given(st.text(max_size=40))
def test_no_text_makes_the_number_parser_raise_or_give_a_non_finite_figure(text):
    value, ok = parse_numbers(pd.Series([text, text.strip(), text + "%"]))
    assert ok.dtype == bool and len(value) == 3
    assert np.isfinite(value[ok]).all() and value[~ok].isna().all()
    assert not np.signbit(value[ok & value.eq(0)]).any(), "no -0"


@FAST
@given(st.text(alphabet=st.characters(exclude_categories=["Nd"]), min_size=1, max_size=20))
def test_text_without_any_digit_is_never_a_figure(text):
    assert parse_one(text) is None


# --- periods --------------------------------------------------------------------------------------


@FAST
@given(st.integers(min_value=EARLIEST_YEAR, max_value=LATEST_YEAR), st.integers(min_value=1, max_value=4))
def test_every_quarter_reads_back_from_each_form_it_is_written_in(year, q):
    quarter = Quarter(year, q)
    short = f"{(year + 1) % 100:02d}"
    forms = [
        quarter.key,
        quarter.label,
        f"{year}-{year + 1} Q{q}",
        f"Q{q} {year}/{short}",
        f"{year}/{short}-q{q}",
    ]
    for form in forms:
        assert Quarter.parse(form) == quarter, form
    assert quarter.start <= quarter.end and Quarter.containing(quarter.start) == quarter
    assert Quarter.from_partition_key(quarter.partition_key) == quarter
    pd.Timestamp(quarter.start), pd.Timestamp(quarter.end)  # every parsed quarter fits the warehouse


@FAST
@given(st.text(max_size=30))
def test_no_text_makes_the_period_parser_raise_anything_but_a_quarter_error(text):
    try:
        quarter = Quarter.parse(text)
    except QuarterError as error:
        assert str(error)
    else:
        assert EARLIEST_YEAR <= quarter.year <= LATEST_YEAR and isinstance(quarter.end, dt.date)


@FAST
@given(st.integers(min_value=0, max_value=9999).filter(lambda y: not EARLIEST_YEAR <= y <= LATEST_YEAR))
def test_a_year_no_calendar_can_hold_is_refused(year):
    with pytest.raises(QuarterError, match="between"):
        Quarter.parse(f"{year:04d}/{(year + 1) % 100:02d} Q4")


# --- codes and whole files ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def indicators(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("reference")
    for name, text in (("services.csv", SERVICES), ("indicators.csv", INDICATORS), ("rag.toml", RAG_RULES)):
        (folder / name).write_text(text)
    return load_indicators(
        folder / "indicators.csv", load_services(folder / "services.csv"), load_rag_rules(folder / "rag.toml")
    )


def verdicts_of(
    data: bytes, suffix: str, indicators: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        path = root / "submissions" / Q.key / f"return{suffix}"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        raw = raw_frame([read_return(path, root)])
    validated, exceptions = validate_returns(raw, indicators, Q, Quarter(2021, 1))
    return raw, validated, exceptions


def assert_every_row_out_once(raw, validated, exceptions) -> None:
    """Each row read is accepted or explained, once; every explanation is a sentence with a code."""
    read = [None if pd.isna(r) else int(r) for r in raw["row_number"]]
    out = [int(r) for r in validated["row"]] + [None if pd.isna(r) else int(r) for r in exceptions["row"]]
    assert sorted(out, key=str) == sorted(read, key=str)
    assert len(set(read)) == len(read), "no row is read twice"
    assert exceptions["reason"].isin(list(REASONS)).all()
    assert exceptions["message"].str.len().gt(10).all()


typical = st.sampled_from(
    CODES + ["", "n/a", "tbc", "2024/25 Q1", "2024-25-Q2", "9999/00 Q4", "final", "(5)", "1,234", "=1+1"]
)
cell_text = st.one_of(typical, st.text(max_size=12), finite.map(str))
# A workbook cannot hold control characters (Excel and openpyxl refuse them).
sheet_text = st.one_of(
    typical, st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=12), finite.map(str)
)


@FILES
@given(st.lists(st.lists(cell_text, min_size=1, max_size=6), max_size=25), st.sampled_from([",", ";", "\t"]))
def test_every_non_blank_row_of_any_csv_comes_out_exactly_once(indicators, rows, delimiter):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)  # CRLF: a cell holding a line break is quoted
    writer.writerow(["Indicator Code", "Period", "Value", "Numerator", "Denominator", "Status"])
    writer.writerows(rows)
    raw, validated, exceptions = verdicts_of(buffer.getvalue().encode("utf-8"), ".csv", indicators)
    assert_every_row_out_once(raw, validated, exceptions)
    if raw["file_problem"].eq("").all():
        # The table was read: its rows are the non-blank records below the header, by number.
        nonblank = [n + 2 for n, row in enumerate(rows) if any(c.strip() for c in row)]
        assert sorted(int(r) for r in raw["row_number"]) == nonblank


@FILES
@given(st.lists(st.lists(sheet_text, min_size=1, max_size=5), min_size=1, max_size=15))
def test_every_non_blank_row_of_any_workbook_comes_out_exactly_once(indicators, rows):
    workbook = openpyxl.Workbook()
    workbook.active.append(["PI Code", "Period", "Actual", "Numerator", "Denominator"])
    for row in rows:
        workbook.active.append([cell if cell.strip() else None for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    raw, validated, exceptions = verdicts_of(buffer.getvalue(), ".xlsx", indicators)
    assert_every_row_out_once(raw, validated, exceptions)
    if raw["file_problem"].eq("").all():
        nonblank = [n + 2 for n, row in enumerate(rows) if any(c.strip() for c in row)]
        assert sorted(int(r) for r in raw["row_number"]) == nonblank


@FILES
@given(st.binary(max_size=3000), st.sampled_from([".csv", ".xlsx"]))
def test_garbage_bytes_never_raise_and_are_all_accounted_for(indicators, data, suffix):
    assume(data.strip())
    assert_every_row_out_once(*verdicts_of(data, suffix, indicators))


@FILES
@given(st.lists(st.text(max_size=10), min_size=1, max_size=20))
def test_any_code_gets_one_verdict_and_an_unknown_one_a_sentence(indicators, codes):
    raw = raw_rows(*({"file": "submissions/x.csv", "code": c.strip(), "value": "1"} for c in codes))
    validated, exceptions = validate_returns(raw, indicators, Q, Quarter(2021, 1))
    assert len(validated) + len(exceptions) == len(codes)
    unknown = exceptions[exceptions["reason"] == "unknown_indicator"]
    assert unknown["message"].str.endswith((".", "?")).all()
    assert set(validated["indicator_code"]) <= set(CODES)


# --- workbooks whose XML is written in any order ------------------------------------------------

SHEET_FIELDS = {1: ("Code", "indicator_code"), 2: ("Value", "value"), 3: ("Notes", "commentary")}
word = st.text(alphabet="ABCXYZ019", min_size=1, max_size=4)


def sheet_xml(placements: list[tuple[int, int, str]]) -> bytes:
    """A sheet's XML with a header row, then the cells in the order given, consecutive cells of
    one row number sharing a `<row>`, as a writer, a damaged copy or an attacker might leave it."""
    cells = [(1, column, heading) for column, (heading, _) in SHEET_FIELDS.items()] + placements
    rows: list[tuple[int, list[tuple[int, str]]]] = []
    for row, column, text in cells:
        if not rows or rows[-1][0] != row:
            rows.append((row, []))
        rows[-1][1].append((column, text))
    body = "".join(
        f'<row r="{row}">'
        + "".join(
            f'<c r="{"ABC"[column - 1]}{row}" t="inlineStr"><is><t>{text}</t></is></c>'
            for column, text in found
        )
        + "</row>"
        for row, found in rows
    )
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f"{body}</sheetData></worksheet>"
    ).encode()


@FILES
@given(st.lists(st.tuples(st.integers(2, 6), st.integers(1, 3), word), max_size=12))
def test_a_sheet_in_any_order_is_read_cell_for_cell_or_refused_as_damaged(tmp_path_factory, placements):
    """openpyxl skipped a row numbered twice or going back, and kept the last of two cells (or
    dropped one out of order): a figure vanished or changed without a word."""
    book = openpyxl.Workbook()
    buffer = io.BytesIO()
    book.save(buffer)
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(
                item, sheet_xml(placements) if item.filename == "xl/worksheets/sheet1.xml" else data
            )
    root = tmp_path_factory.mktemp("sheet")
    path = root / "return.xlsx"
    path.write_bytes(out.getvalue())
    result = read_return(path, root)

    row_order = [row for n, (row, _, _) in enumerate(placements) if n == 0 or placements[n - 1][0] != row]
    in_order = row_order == sorted(set(row_order)) and all(
        column < following
        for (row, column, _), (next_row, following, _) in itertools.pairwise(placements)
        if row == next_row
    )
    if not in_order:
        assert result.problem == "unreadable_file" and "damaged" in result.problem_message
        return
    expected = {}
    for row, column, text in placements:
        expected.setdefault(row, {})[SHEET_FIELDS[column][1]] = text
    got = {
        record["row_number"]: {name: record[name] for _, name in SHEET_FIELDS.values() if record[name]}
        for record in result.rows
    }
    assert got == expected
