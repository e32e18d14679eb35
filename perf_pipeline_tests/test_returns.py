"""Reading and validating service returns: formats, encodings and every reason code."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import load_indicators, load_rag_rules, load_services
from perf_pipeline.lib.returns_reader import ReadLimits, list_return_files, raw_frame, read_return
from perf_pipeline.lib.returns_validation import REASONS, parse_numbers, validate_returns
from perf_pipeline_tests.conftest import write

Q = Quarter(2024, 2)
FIRST = Quarter(2021, 1)


def catalogue(root: Path) -> pd.DataFrame:
    ref = root / "reference"
    return load_indicators(
        ref / "indicators.csv", load_services(ref / "services.csv"), load_rag_rules(ref / "rag_rules.toml")
    )


def check(root: Path, quarter: Quarter = Q):
    folder = root / "submissions" / quarter.key
    files, _ = list_return_files(folder, root)
    raw = raw_frame([read_return(f, root) for f in files])
    validated, exceptions = validate_returns(raw, catalogue(root), quarter, FIRST)
    return raw, validated, exceptions


def a_return(root: Path, body: str, name: str = "return.csv", encoding: str = "utf-8") -> Path:
    return write(root / "submissions" / Q.key / name, body, encoding)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("85%", 85.0),
        ("1,234", 1234.0),
        ("£2,500", 2500.0),
        (" 12.5 ", 12.5),
        ("(12)", -12.0),
        ("−3", -3.0),
        ("1,234,567.5", 1234567.5),
        ("0", 0.0),
        ("1e3", 1000.0),
    ],
)
def test_numbers_as_services_write_them(raw, expected):
    values, ok = parse_numbers(pd.Series([raw]))
    assert ok[0] and values[0] == expected


@pytest.mark.parametrize("raw", ["85,5", "see note", "12 or 13", "1.2.3", "£", "N/A", "twelve"])
def test_text_that_is_not_a_number(raw):
    _, ok = parse_numbers(pd.Series([raw]))
    assert not ok[0]


@pytest.mark.parametrize(
    "encoding, label", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252")]
)
def test_each_csv_encoding_reads_the_same_text(mini_root, encoding, label):
    path = a_return(
        mini_root, "Indicator Code,Value,Comments\nWM01,41.5,Up 3% – café waste £5\n", encoding=encoding
    )
    result = read_return(path, mini_root)
    assert result.encoding == label
    assert result.rows[0]["commentary"] == "Up 3% – café waste £5"
    assert result.rows[0]["row_number"] == 2


def test_a_file_mixing_utf8_and_windows_1252_lines_reads_each_line_right(mini_root):
    path = mini_root / "submissions" / Q.key / "mixed.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("code,value,comments\nWM01,41,café\n".encode() + "WM02,3,£5 – ok\n".encode("cp1252"))
    result = read_return(path, mini_root)
    assert [r["commentary"] for r in result.rows] == ["café", "£5 – ok"]
    assert result.encoding == "utf-8+cp1252"


def test_xlsx_with_title_rows_keeps_the_sheets_own_row_numbers(mini_root):
    path = mini_root / "submissions" / Q.key / "Waste return.xlsx"
    path.parent.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Return"
    ws.append(["Testshire Council – waste return"])
    ws.append(["Quarter 2 2024/25"])
    ws.append([])
    ws.append(["PI Code", "Actual", "Commentary"])
    ws.append(["WM01", 0.415, "as a percentage cell"])
    ws["B5"].number_format = "0.0%"
    ws.append([])
    ws.append(["WM02", 1234, None])
    wb.save(path)
    result = read_return(path, mini_root)
    assert result.sheet == "Return" and result.header_row == 4
    assert [(r["row_number"], r["indicator_code"], r["value"]) for r in result.rows] == [
        (5, "WM01", "41.5%"),
        (7, "WM02", "1234"),
    ]


def test_quoted_fields_with_embedded_newlines_are_one_row(mini_root):
    path = a_return(mini_root, 'code,value,commentary\nWM01,40,"line one\nline two"\nWM02,5,x\n')
    rows = read_return(path, mini_root).rows
    assert [r["row_number"] for r in rows] == [2, 3]
    assert rows[0]["commentary"] == "line one\nline two"


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("junk.csv", bytes(range(256)) * 20, "unreadable_file"),
        ("truncated.xlsx", b"PK\x03\x04" + b"\x00" * 100, "unreadable_file"),
        ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "unreadable_file"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "unreadable_file"),
        ("notes.docx", b"PK\x03\x04", "unreadable_file"),
        ("empty.csv", b"", "empty_file"),
        ("header-only.csv", b"code,value\n", "empty_file"),
    ],
)
def test_files_that_cannot_be_read_are_one_exception_each_and_others_still_flow(
    mini_root, name, content, problem
):
    folder = mini_root / "submissions" / Q.key
    folder.mkdir(parents=True)
    (folder / name).write_bytes(content)
    a_return(mini_root, "code,value\nWM01,41\n", name="good.csv")
    _, validated, exceptions = check(mini_root)
    assert list(validated["indicator_code"]) == ["WM01"]
    bad = exceptions[exceptions["file"].str.endswith(name)]
    assert list(bad["reason"]) == [problem] and bad["row"].isna().all()
    assert bad["message"].iloc[0]


def with_shared_strings(count: int) -> bytes:
    """A small workbook whose shared-string table holds `count` strings no cell uses."""
    book = openpyxl.Workbook()
    book.active.append(["Code", "Value"])
    book.active.append(["WM01", 1])
    buffer = io.BytesIO()
    book.save(buffer)
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            target.writestr(item, data)
        strings = b"<si><t>a</t></si>" * count
        target.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + strings + b"</sst>",
        )
    return out.getvalue()


@pytest.mark.parametrize(("strings", "problem"), [(90, None), (200, "unreadable_file")])
def test_shared_strings_count_toward_the_cell_limit(mini_root, strings, problem):
    """A zip of a few kilobytes can hold millions of shared strings, each costing what a cell costs
    (13 million once took minutes and a gigabyte): they are counted before they are read."""
    path = mini_root / "submissions" / Q.key / "strings.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(with_shared_strings(strings))
    result = read_return(path, mini_root, ReadLimits(max_cells=100))
    assert result.problem == problem
    if problem:
        assert "over 100 cells" in result.problem_message
    else:
        assert result.rows[0]["value"] == "1"


def test_a_link_to_a_file_outside_the_data_root_is_not_read(mini_root, tmp_path):
    secret = write(tmp_path / "outside.csv", "code,value\nWM01,99\n")
    folder = mini_root / "submissions" / Q.key
    folder.mkdir(parents=True)
    (folder / "link.csv").symlink_to(secret)
    _, validated, exceptions = check(mini_root)
    assert validated.empty
    assert list(exceptions["reason"]) == ["unreadable_file"]
    assert "outside the data folder" in exceptions["message"].iloc[0]


RETURN_WITH_EVERY_PROBLEM = """\
Indicator Code,Period,Value,Numerator,Denominator,Commentary,Status
WM01,,85%,,,fine,
WM0l,,40,,,typo in code,
WM02,2024/25 Q2,"1,234",,,missed bins,provisional
RB01,,n/a,,,not yet,
RB02,,,45,50,derived from ratio,
HO01,,see note,,,,
WM01,2025/26 Q1,40,,,from the future,
HO02,,12,,,annual indicator in Q2,
RB02,2024/25 Q1,,60,50,more than all,
WM02,,-5,,,negative count,estimate
HO01,,30,,,dup a,
HO01,,31,,,dup b,
RB01,2023/24 Q1,95,,,too old to revise,
WM01,2024/25 Q1,42,,,revision of Q1,
WM02,2024/25 Q1,7,,,identical,draft
RB02,2024/25 Q3,,1,0,zero,
"""
EXPECTED = {
    2: "accepted",
    3: "unknown_indicator",
    4: "accepted",
    5: "accepted",
    6: "accepted",
    7: "not_a_number",
    8: "wrong_period",
    9: "not_due",
    10: "numerator_exceeds_denominator",
    11: "out_of_range",
    12: "conflicting_duplicate",
    13: "conflicting_duplicate",
    14: "wrong_period",
    15: "accepted",
    16: "invalid_status",
    17: "wrong_period",
}


def test_every_row_gets_exactly_one_verdict(mini_root):
    a_return(mini_root, RETURN_WITH_EVERY_PROBLEM)
    raw, validated, exceptions = check(mini_root)
    verdicts = {int(r): "accepted" for r in validated["row"]}
    for row in exceptions.itertuples():
        assert int(row.row) not in verdicts, f"row {row.row} both accepted and rejected"
        verdicts[int(row.row)] = row.reason
    assert verdicts == EXPECTED
    assert len(raw) == len(validated) + len(exceptions)
    assert exceptions["message"].str.len().gt(10).all()


def test_accepted_rows_are_read_strictly(mini_root):
    a_return(mini_root, RETURN_WITH_EVERY_PROBLEM)
    _, validated, _ = check(mini_root)
    by_row = validated.set_index("row")
    assert by_row.loc[2, "value"] == 85.0
    assert by_row.loc[4, "value"] == 1234.0 and by_row.loc[4, "data_status"] == "provisional"
    assert not by_row.loc[5, "reported"] and pd.isna(by_row.loc[5, "value"])
    assert by_row.loc[6, "value"] == pytest.approx(90.0)
    assert by_row.loc[15, "is_revision"] and by_row.loc[15, "period"] == "2024-25-Q1"


def test_unknown_codes_suggest_the_nearest_and_name_lookalike_characters(mini_root):
    a_return(mini_root, "code,value\nWM0l,40\nWМ01,41\n")  # the second has a Cyrillic М
    _, _, exceptions = check(mini_root)
    messages = list(exceptions["message"])
    assert "Did you mean WM01?" in messages[0]
    assert "CYRILLIC CAPITAL LETTER EM" in messages[1]


def test_identical_duplicates_count_once_and_conflicts_name_both_places(mini_root):
    a_return(mini_root, "code,value\nWM01,40\n", name="a.csv")
    a_return(mini_root, "code,value\nWM01,40\nWM02,5\n", name="b.csv")
    a_return(mini_root, "code,value\nWM02,6\n", name="c.csv")
    _, validated, exceptions = check(mini_root)
    assert list(validated["indicator_code"]) == ["WM01"]
    reasons = exceptions.set_index(["file", "indicator_code"])["reason"].to_dict()
    assert reasons[(f"submissions/{Q.key}/b.csv", "WM01")] == "duplicate"
    assert reasons[(f"submissions/{Q.key}/b.csv", "WM02")] == "conflicting_duplicate"
    conflict = exceptions[exceptions["reason"] == "conflicting_duplicate"]["message"].iloc[0]
    assert "b.csv" in conflict and "c.csv" in conflict


def test_a_file_without_a_code_column_rejects_each_row_as_missing_column(mini_root):
    a_return(mini_root, "Measure,Value\nWM01,40\nWM02,3\n", name="nocode.csv")
    raw, validated, exceptions = check(mini_root)
    assert validated.empty and len(raw) == 2
    assert list(exceptions["reason"]) == ["missing_column", "missing_column"]
    assert list(exceptions["row"]) == [2, 3]


def test_value_that_disagrees_with_its_ratio_is_refused(mini_root):
    a_return(mini_root, "code,value,numerator,denominator\nRB02,80,45,50\n")
    _, _, exceptions = check(mini_root)
    assert list(exceptions["reason"]) == ["value_disagrees_with_ratio"]


def test_every_reason_code_has_a_plain_sentence():
    assert all(message.endswith(".") and len(message) > 15 for message in REASONS.values())


def test_reading_never_changes_the_input_folder(mini_root):
    path = a_return(mini_root, RETURN_WITH_EVERY_PROBLEM)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    check(mini_root)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_quarter_dates_are_real_dates():
    assert Q.end == dt.date(2024, 9, 30)
