"""The bad-input corpus: hostile and broken files, each with the exact outcome it must get.

Every case is made at test time by a function that writes it into one folder of a data root
(`submissions/<quarter>/`, `corrections/`, `reference/` or `benchmarks/`), so nothing large or
binary is committed. `CASES` is the one table: what each file is, where it goes and what must
happen to it. Each case runs through the real readers and checks beside a good return, which must
still flow; the return cases also run all together through the real Dagster job. Throughout:
every message names the problem in words, the exceptions carry the file and row, every row read
is accepted or explained, and nothing under the input folders changes.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest

from perf_pipeline.lib.benchmarks.sources import load_sources, read_sources
from perf_pipeline.lib.check_return import return_verdicts
from perf_pipeline.lib.corrections import check_corrections, read_corrections
from perf_pipeline.lib.files import relative_to_root
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import (
    load_authorities,
    load_council,
    load_indicators,
    load_rag_rules,
    load_services,
    load_targets,
)
from perf_pipeline.lib.returns_reader import (
    ReadLimits,
    list_return_files,
    raw_frame,
    read_limits,
    read_return,
)
from perf_pipeline.lib.returns_validation import validate_returns
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline.settings import DataRoot
from perf_pipeline_tests.conftest import INDICATORS, INPUT_FOLDERS, TARGETS, run_cli, write

Q = Quarter(2024, 2)
FIRST = Quarter(2021, 1)
# Indicators for the corpus beside the small council's own: each case uses codes of its own, so
# that all the returns can share one quarter's folder without repeating each other's figures.
CORPUS_CODES = [f"K{n:02d}" for n in range(1, 81)]
NEXT_INDICATOR_ROW = (
    len(INDICATORS.splitlines()) + len(CORPUS_CODES) + 1
)  # a row added to the corpus catalogue
REPORTED_RED = ["K16", "K18", "K19", "K20", "K21", "K22", "K23"]  # commentary that tries to run in a report
NEXT_TARGET_ROW = len(TARGETS.splitlines()) + len(REPORTED_RED) + 1
GOOD_RETURN = ("good.csv", "Indicator Code,Value,Commentary\nWM01,41,on target\nWM02,12,\n")
CORRECTIONS_HEADER = "correction_id,indicator_code,period,value,numerator,denominator,reason,requested_by,approved_by,approved_on\n"


@dataclass(frozen=True)
class Case:
    """One hostile file (or a few that belong together) and the exact outcome it must get.

    `expect` depends on the folder:
    - submissions: {file name: {row: (verdict, words)}}; row None is the file as a whole; the
      verdict is `accepted`, `not reported`, a reason code, or `ignored` (never read);
    - corrections: {file name: {row: (status, words)}}, status `accepted` or `rejected`;
    - reference and benchmarks: the words the one error message must hold.
    """

    name: str
    folder: str
    make: Callable[[Path], None]
    expect: dict | str


def text_file(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda folder: write(folder / name, text, encoding)


def bytes_file(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def both(*makers: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        for maker in makers:
            maker(folder)

    return make


def workbook_bytes(build: Callable[[openpyxl.Workbook], None]) -> bytes:
    wb = openpyxl.Workbook()
    build(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def workbook(name: str, build: Callable[[openpyxl.Workbook], None]) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(workbook_bytes(build))


def simple_sheet(wb: openpyxl.Workbook) -> None:
    wb.active.append(["Code", "Value"])
    wb.active.append(["K01", 1])


def cover_sheet_first(wb: openpyxl.Workbook) -> None:
    cover = wb.active
    cover.title = "Cover"
    for line in (
        ["Waste and Recycling: quarterly return"],
        ["Fill in the sheet 'Return'"],
        ["Contact", "Pat Bin"],
    ):
        cover.append(line)
    data = wb.create_sheet("Return")
    data.append(["Testshire Council"])
    data.append([])
    data.append(["PI Code", "Actual", "Comments"])
    data.append(["K01", 10, "from the second sheet"])
    data.append(["K02", 20, None])


def no_header_anywhere(wb: openpyxl.Workbook) -> None:
    data = wb.active
    data.title = "Data"
    for line in (["Measure", "Figure"], ["K03", 5], ["K04", 6]):
        data.append(line)
    wb.create_sheet("Notes").append(["Nothing here either"])


def merged_header(wb: openpyxl.Workbook) -> None:
    ws = wb.active
    ws.append(["PI Code", "Figures", None, "Comments"])
    ws.append([None, "Numerator", "Denominator", None])
    for cells in ("A1:A2", "B1:C1", "D1:D2"):
        ws.merge_cells(cells)
    ws.append(["K05", 45, 50, "the heading sits in merged cells"])


def merged_title(wb: openpyxl.Workbook) -> None:
    ws = wb.active
    ws.append(["Quarter 2 return, merged across the table"])
    ws.merge_cells("A1:C1")
    ws.append(["Indicator code", "Value", "Commentary"])
    ws.append(["K06", 41, None])


def formulas(wb: openpyxl.Workbook) -> None:
    ws = wb.active
    ws.append(["Code", "Value", "Commentary"])
    ws.append(["K14", "=40+1", "formula, result never saved"])
    ws.append(["K15", "=40+2", "formula with its result saved, as Excel does"])
    ws.append(["K16", 43, '=HYPERLINK("http://evil.example/","Click")'])


def formulas_with_one_saved_result(folder: Path) -> None:
    """openpyxl saves no formula results; put one in, as Excel would have (`<v>42</v>`)."""
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes(formulas)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>40+2</f><v />", b"<f>40+2</f><v>42</v>")
                assert b"<v>42</v>" in data
            target.writestr(item, data)
    (folder / "formulas.xlsx").write_bytes(out.getvalue())


def junk(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(size))


def link_outside(name: str, target_is_folder: bool = False) -> Callable[[Path], None]:
    """A link to a return kept outside the data root (beside it, in the test's own folder)."""

    def make(folder: Path) -> None:
        outside = folder.parents[2] / "outside-the-data-root"
        write(outside / "secret.csv", "code,value\nK26,99\n")
        (folder / name).symlink_to(outside if target_is_folder else outside / "secret.csv")

    return make


def rewritten(
    name: str, build: Callable[[openpyxl.Workbook], None], part: str, change
) -> Callable[[Path], None]:
    """A workbook one of whose parts (`xl/worksheets/sheet1.xml`...) is changed as bytes after saving,
    as another writer, a damaged copy or an attacker would leave it."""

    def make(folder: Path) -> None:
        source = zipfile.ZipFile(io.BytesIO(workbook_bytes(build)))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = source.read(item)
                target.writestr(item, change(data) if item.filename == part else data)
        (folder / name).write_bytes(out.getvalue())

    return make


def sheet_of(*rows: list) -> Callable[[openpyxl.Workbook], None]:
    def build(wb: openpyxl.Workbook) -> None:
        for row in rows:
            wb.active.append(row)

    return build


def hidden_old_sheet_first(wb: openpyxl.Workbook) -> None:
    old = wb.active
    old.title = "Last quarter"
    old.append(["Code", "Value"])
    old.append(["K47", 1])
    old.sheet_state = "hidden"
    current = wb.create_sheet("Return")
    current.append(["Code", "Value"])
    current.append(["K47", 50])


def two_data_sheets(wb: openpyxl.Workbook) -> None:
    wb.active.title = "Waste"
    wb.active.append(["Code", "Value"])
    wb.active.append(["K54", 10])
    recycling = wb.create_sheet("Recycling")
    recycling.append(["Code", "Value"])
    recycling.append(["K55", 20])


def only_hidden_data(wb: openpyxl.Workbook) -> None:
    wb.active.title = "Cover"
    wb.active.append(["Recycling return"])
    data = wb.create_sheet("Data")
    data.append(["Code", "Value"])
    data.append(["K56", 5])
    data.sheet_state = "hidden"


def one_cell_far_away(wb: openpyxl.Workbook) -> None:
    wb.active.append(["Code", "Value"])
    wb.active.append(["K57", 5])
    wb.active["XFD1048576"] = "x"


def dimension(ref: str):
    return lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref.encode() + b'"', xml)


def rows_of(xml: bytes) -> list[bytes]:
    return re.findall(rb"<row .*?</row>", xml)


def second_and_third_rows_swapped(xml: bytes) -> bytes:
    rows = rows_of(xml)
    return xml.replace(rows[2] + rows[3], rows[3] + rows[2])


def third_row_numbered_as_second(xml: bytes) -> bytes:
    rows = rows_of(xml)
    return xml.replace(rows[2], re.sub(rb'r="([A-Z]*)3"', rb'r="\g<1>2"', rows[2]))


def first_row_cells_swapped(xml: bytes) -> bytes:
    cells = re.findall(rb"<c .*?</c>", rows_of(xml)[1])
    return xml.replace(cells[0] + cells[1], cells[1] + cells[0])


def first_figure_twice(xml: bytes) -> bytes:
    cell = re.findall(rb"<c .*?</c>", rows_of(xml)[1])[1]
    return xml.replace(cell, cell + cell.replace(b"<v>1</v>", b"<v>7</v>"))


def row_of_junk(xml: bytes) -> bytes:
    """A row holding 60,000 elements that are not cells: a zip of a few hundred bytes."""
    row = rows_of(xml)[1]
    return xml.replace(row, row.replace(b"</row>", b"<x/>" * 60_000 + b"</row>"))


EXTERNAL_ENTITY = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
NESTED_ENTITIES = (
    b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


def with_doctype(doctype: bytes, entity: bytes):
    """The part with a DOCTYPE declaring entities, and the first text of a cell referring to one."""

    def change(xml: bytes) -> bytes:
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
        return doctype + body.replace(b"<t>", b"<t>" + entity, 1)

    return change


def strings_sheet(wb: openpyxl.Workbook) -> None:
    wb.active.append(["Code", "Value", "Commentary"])
    wb.active.append(["K60", 5, "shared string"])


def loop(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).symlink_to(name)


def loop_of_folders(folder: Path) -> None:
    (folder / "loop a").symlink_to("loop b")
    (folder / "loop b").symlink_to("loop a")


def raw_name(name: bytes, text: str) -> Callable[[Path], None]:
    """A file whose name is not valid UTF-8 (written by another system)."""

    def make(folder: Path) -> None:
        with open(os.fsencode(folder) + b"/" + name, "wb") as handle:
            handle.write(text.encode())

    return make


def correction(*rows: str) -> str:
    return CORRECTIONS_HEADER + "".join(row + "\n" for row in rows)


def sources_toml(file: str, fmt: str = "long_csv") -> str:
    return (
        f'[[source]]\nname = "corpus"\nfile = "{file}"\nformat = "{fmt}"\npublisher = "Somebody"\n'
        'licence = "OGL-3.0"\n[source.columns]\nmetric = "indicator"\n'
    )


LONG_CSV = "area_code,area_name,period,indicator,value\nE06000005,Darlington,2022-23,recycling,41.2\n"

CASES = [
    # --- service returns, submissions/<quarter>/ -------------------------------------------------
    Case(
        "empty file",
        "submissions",
        bytes_file("empty.csv", b""),
        {"empty.csv": {None: ("empty_file", "empty")}},
    ),
    Case(
        "header only",
        "submissions",
        text_file("header only.csv", "Indicator Code,Value,Commentary\n"),
        {"header only.csv": {None: ("empty_file", "header but no rows")}},
    ),
    Case(
        "header and blank rows only",
        "submissions",
        text_file("blank rows.csv", "code,value\n,\n  ,  \n\n"),
        {"blank rows.csv": {None: ("empty_file", "header but no rows")}},
    ),
    Case(
        "binary junk named .csv",
        "submissions",
        bytes_file("junk.csv", junk(4096, seed=1)),
        {"junk.csv": {None: ("unreadable_file", "binary data")}},
    ),
    Case(
        "a workbook named .csv",
        "submissions",
        bytes_file("workbook.csv", workbook_bytes(simple_sheet)),
        {"workbook.csv": {None: ("unreadable_file", "spreadsheet saved with a .csv name")}},
    ),
    Case(
        "truncated .xlsx",
        "submissions",
        lambda folder: (folder / "truncated.xlsx").write_bytes(workbook_bytes(simple_sheet)[:2500]),
        {"truncated.xlsx": {None: ("unreadable_file", "damaged")}},
    ),
    # An encrypted .xlsx is an OLE compound file, not a zip: this header is what the reader meets.
    Case(
        "password-protected .xlsx",
        "submissions",
        bytes_file("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088)),
        {"locked.xlsx": {None: ("unreadable_file", "password-protected")}},
    ),
    Case(
        "old .xls workbook",
        "submissions",
        bytes_file("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
        {"old.xls": {None: ("unreadable_file", "old .xls workbook")}},
    ),
    Case(
        "not a return format",
        "submissions",
        bytes_file("notes.pdf", b"%PDF-1.4\n%junk\n"),
        {"notes.pdf": {None: ("unreadable_file", "not a return format")}},
    ),
    Case(
        "cover sheet first, data on the second sheet",
        "submissions",
        workbook("cover.xlsx", cover_sheet_first),
        {"cover.xlsx": {4: ("accepted", ""), 5: ("accepted", "")}},
    ),
    Case(
        "no recognisable header on any sheet",
        "submissions",
        workbook("no header.xlsx", no_header_anywhere),
        {
            "no header.xlsx": {
                2: ("missing_column", "no indicator code column"),
                3: ("missing_column", "no indicator code column"),
            }
        },
    ),
    Case(
        "merged header cells over two rows",
        "submissions",
        workbook("merged header.xlsx", merged_header),
        {"merged header.xlsx": {3: ("accepted", "")}},
    ),
    Case(
        "merged title above the header",
        "submissions",
        workbook("merged title.xlsx", merged_title),
        {"merged title.xlsx": {3: ("accepted", "")}},
    ),
    Case(
        "quoted fields with embedded newlines",
        "submissions",
        text_file(
            "newlines.csv", 'code,value,commentary\nK07,40,"Line one\nline two, with a comma"\nK08,41,plain\n'
        ),
        {"newlines.csv": {2: ("accepted", ""), 3: ("accepted", "")}},
    ),
    Case(
        "mixed encodings in one file",
        "submissions",
        bytes_file(
            "mixed.csv", "code,value,comments\nK09,41,café\n".encode() + "K10,3,£5 – ok\n".encode("cp1252")
        ),
        {"mixed.csv": {2: ("accepted", ""), 3: ("accepted", "")}},
    ),
    Case(
        "UTF-16 tab-separated ('Unicode text' from Excel)",
        "submissions",
        bytes_file("unicode text.csv", "code\tvalue\nK11\t3\n".encode("utf-16")),
        {"unicode text.csv": {2: ("accepted", "")}},
    ),
    Case(
        "semicolons and a decimal comma",
        "submissions",
        text_file("semicolons.csv", "code;value\nK12;85,5\nK13;85\n"),
        {"semicolons.csv": {2: ("not_a_number", "'85,5' is not a number"), 3: ("accepted", "")}},
    ),
    Case(
        "a 100 KB commentary",
        "submissions",
        text_file("long commentary.csv", "code,value,commentary\nK37,12," + "Very long. " * 9_091 + "end\n"),
        {"long commentary.csv": {2: ("accepted", "")}},
    ),
    Case(
        "formulas and =HYPERLINK in workbook cells",
        "submissions",
        formulas_with_one_saved_result,
        {
            "formulas.xlsx": {
                2: ("not_a_number", "'=40+1' is a formula, not a figure"),
                3: ("accepted", ""),
                4: ("accepted", ""),
            }
        },
    ),
    Case(
        "formulas and =HYPERLINK in CSV text",
        "submissions",
        text_file(
            "formulas.csv",
            'code,value,commentary\nK17,=1+2,\nK18,5,"=HYPERLINK(""http://evil.example/x"",""Click me"")"\n'
            "K19,6,@SUM(A1:A2)\nK20,7,+cmd|' /C calc'!A0\n",
        ),
        {
            "formulas.csv": {
                2: ("not_a_number", "'=1+2' is a formula"),
                3: ("accepted", ""),
                4: ("accepted", ""),
                5: ("accepted", ""),
            }
        },
    ),
    Case(
        "<script> and javascript: in commentary",
        "submissions",
        text_file(
            "script.csv",
            "code,value,commentary\nK21,8,<script>alert('corpus')</script>\n"
            'K22,9,javascript:alert(1)\nK23,10,"<img src=x onerror=""alert(1)"">"\n',
        ),
        {"script.csv": {2: ("accepted", ""), 3: ("accepted", ""), 4: ("accepted", "")}},
    ),
    Case(
        "Unicode look-alike codes",
        "submissions",
        text_file(
            "lookalikes.csv", "code,value\nWМ01,41\nＷＭ０２,3\nRB\u200b01,50\nΗΟ01,4\n\u00a0K24\u00a0,5\n"
        ),
        {
            "lookalikes.csv": {
                2: ("unknown_indicator", "(CYRILLIC CAPITAL LETTER EM), which looks like"),
                3: ("unknown_indicator", "FULLWIDTH LATIN CAPITAL LETTER W"),
                4: ("unknown_indicator", "invisible character (ZERO WIDTH SPACE)"),
                5: ("unknown_indicator", "Did you mean HO01?"),
                6: ("accepted", ""),
            }
        },
    ),
    Case(
        "file name with spaces and non-ASCII letters",
        "submissions",
        text_file("Déchets – retour T2 (révisé).csv", "code,value\nK25,30\n"),
        {"Déchets – retour T2 (révisé).csv": {2: ("accepted", "")}},
    ),
    Case(
        "symbolic link to a file outside the data root",
        "submissions",
        link_outside("linked.csv"),
        {"linked.csv": {None: ("unreadable_file", "link to a file outside the data folder")}},
    ),
    Case(
        "symbolic link to a folder outside the data root",
        "submissions",
        link_outside("linked folder", True),
        {"linked folder": {None: ("unreadable_file", "link to a file outside the data folder")}},
    ),
    Case(
        "the same file under two names",
        "submissions",
        both(
            text_file("housing.csv", "code,value\nK27,12\nK28,13\n"),
            text_file("housing_resent.csv", "code,value\nK27,12\nK28,13\n"),
        ),
        {
            "housing.csv": {2: ("accepted", ""), 3: ("accepted", "")},
            "housing_resent.csv": {
                2: ("duplicate", f"already received in submissions/{Q.key}/housing.csv row 2"),
                3: ("duplicate", f"already received in submissions/{Q.key}/housing.csv row 3"),
            },
        },
    ),
    Case(
        "a quote opened and never closed",
        "submissions",
        text_file("unclosed.csv", 'code,value,commentary\nK29,1,"never closed\nK30,2,swallowed\n'),
        {"unclosed.csv": {None: ("unreadable_file", "starts on row 2 is never closed")}},
    ),
    Case(
        "Excel lock file and hidden file",
        "submissions",
        both(bytes_file("~$waste.xlsx", b"\x06Pat Bin"), bytes_file(".DS_Store", junk(64, seed=2))),
        {"~$waste.xlsx": {None: ("ignored", "")}, ".DS_Store": {None: ("ignored", "")}},
    ),
    Case(
        "title and blank lines above the header",
        "submissions",
        text_file("titled.csv", "Waste return Q2\n\n\nCode,Actual\n\nK31,4\n"),
        {"titled.csv": {6: ("accepted", "")}},
    ),
    Case(
        "NUL bytes in a text file",
        "submissions",
        bytes_file("nul.csv", b"code,value\nK32,3\x00\n"),
        {"nul.csv": {2: ("not_a_number", "'3\\x00' is not a number")}},
    ),
    Case(
        "ragged rows",
        "submissions",
        text_file("ragged.csv", "code,value\nK33,3,extra,cells\nK34\n"),
        {"ragged.csv": {2: ("accepted", ""), 3: ("not reported", "")}},
    ),
    Case(
        "no indicator code column",
        "submissions",
        text_file("no code.csv", "Measure,Value\nK35,3\n"),
        {"no code.csv": {2: ("missing_column", "no indicator code column")}},
    ),
    Case(
        "10 KB of text where a figure goes",
        "submissions",
        text_file("essay.csv", "code,value\nK36," + "word " * 2048 + "\n"),
        {"essay.csv": {2: ("not_a_number", "word …' is not a number")}},
    ),
    Case(
        "a space, a percent sign or brackets inside a figure",
        "submissions",
        text_file("typed figures.csv", "code,value\nK38,21 3\nK39,4%7\nK40,(-3.2)\nK41,85 %\nK42,-0\n"),
        {
            "typed figures.csv": {
                2: ("not_a_number", "'21 3' is not a number"),
                3: ("not_a_number", "'4%7' is not a number"),
                4: ("not_a_number", "'(-3.2)' is not a number"),
                5: ("accepted", ""),
                6: ("accepted", ""),
            }
        },
    ),
    Case(
        "thousands or decimals? a point grouping three digits in a semicolon file",
        "submissions",
        text_file("continental.csv", "code;value;commentary\nK43;1.651;count\nK44;1,651;\nK45;21.35;\n"),
        {
            "continental.csv": {
                2: ("not_a_number", "'1.651' is ambiguous in a file separated by semicolons"),
                3: ("not_a_number", "'1,651' is ambiguous"),
                4: ("accepted", ""),
            }
        },
    ),
    Case(
        "a NUL byte inside a figure, far down a text file",
        "submissions",
        bytes_file("late nul.csv", b"code,value,commentary\nK46,4," + b"x" * 5000 + b"\nK58,28\x00 8,\n"),
        {
            "late nul.csv": {
                2: ("accepted", ""),
                3: ("not_a_number", "'28\\x00 8' is not a number"),
            }
        },
    ),
    Case(
        "UTF-16 without a byte order mark",
        "submissions",
        bytes_file("utf16 no bom.csv", "code,value\nK59,3\n".encode("utf-16-le")),
        {"utf16 no bom.csv": {2: ("accepted", "")}},
    ),
    Case(
        "a CSV file named .xlsx",
        "submissions",
        text_file("text.xlsx", "code,value\nK61,3\n"),
        {
            "text.xlsx": {
                None: ("unreadable_file", "text (CSV) file saved with an .xlsx name; rename it .csv")
            }
        },
    ),
    Case(
        "the header below row 15",
        "submissions",
        text_file("deep header.csv", "Title\n" * 17 + "Code,Value\nK62,3\n"),
        {
            "deep header.csv": {
                19: ("missing_column", "The header row (naming the indicator code and the value) is row 18")
            }
        },
    ),
    Case(
        "a title column before the code column",
        "submissions",
        text_file("titles first.csv", "Indicator,Code,Value\nRecycling rate,K63,40\n"),
        {"titles first.csv": {2: ("accepted", "")}},
    ),
    Case(
        "a hidden first sheet holding last quarter's figures",
        "submissions",
        workbook("hidden first.xlsx", hidden_old_sheet_first),
        {"hidden first.xlsx": {2: ("accepted", "")}},
    ),
    Case(
        "figures on two visible sheets",
        "submissions",
        workbook("two sheets.xlsx", two_data_sheets),
        {
            "two sheets.xlsx": {
                None: ("several_data_sheets", "figures on more than one sheet ('Waste', 'Recycling')")
            }
        },
    ),
    Case(
        "figures only on a hidden sheet",
        "submissions",
        workbook("hidden only.xlsx", only_hidden_data),
        {"hidden only.xlsx": {None: ("unreadable_file", "hidden sheet 'Data', which is never read")}},
    ),
    Case(
        "a <dimension> that claims the table starts lower",
        "submissions",
        rewritten(
            "lying low.xlsx",
            sheet_of(["Code", "Value"], ["K48", 1], ["K49", 2], ["K50", 3], ["K51", 4]),
            "xl/worksheets/sheet1.xml",
            dimension("A6:B9"),
        ),
        {
            "lying low.xlsx": {
                2: ("accepted", ""),
                3: ("accepted", ""),
                4: ("accepted", ""),
                5: ("accepted", ""),
            }
        },
    ),
    Case(
        "a <dimension> that claims the table is smaller",
        "submissions",
        rewritten(
            "lying small.xlsx",
            sheet_of(["Code", "Value"], ["K52", 1], ["K53", 2], ["K64", 3]),
            "xl/worksheets/sheet1.xml",
            dimension("A1:B2"),
        ),
        {"lying small.xlsx": {2: ("accepted", ""), 3: ("accepted", ""), 4: ("accepted", "")}},
    ),
    Case(
        "malformed sheet XML",
        "submissions",
        rewritten(
            "malformed.xlsx", simple_sheet, "xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2]
        ),
        {"malformed.xlsx": {None: ("unreadable_file", "damaged")}},
    ),
    Case(
        "rows out of order in the sheet XML (openpyxl skipped the one that went back)",
        "submissions",
        rewritten(
            "rows swapped.xlsx",
            sheet_of(["Code", "Value"], ["K52", 1], ["K53", 2], ["K64", 3]),
            "xl/worksheets/sheet1.xml",
            second_and_third_rows_swapped,
        ),
        {"rows swapped.xlsx": {None: ("unreadable_file", "row 3 comes after row 4")}},
    ),
    Case(
        "a row number given twice (openpyxl skipped the second)",
        "submissions",
        rewritten(
            "row twice.xlsx",
            sheet_of(["Code", "Value"], ["K52", 1], ["K53", 2]),
            "xl/worksheets/sheet1.xml",
            third_row_numbered_as_second,
        ),
        {"row twice.xlsx": {None: ("unreadable_file", "row 2 comes twice")}},
    ),
    Case(
        "cells out of order in a row (openpyxl dropped the figure, read as not reported)",
        "submissions",
        rewritten(
            "cells swapped.xlsx",
            sheet_of(["Code", "Value"], ["K52", 1]),
            "xl/worksheets/sheet1.xml",
            first_row_cells_swapped,
        ),
        {
            "cells swapped.xlsx": {
                None: ("unreadable_file", "cell A2 comes twice, or after a cell to its right")
            }
        },
    ),
    Case(
        "one cell given twice with two figures (openpyxl kept the last)",
        "submissions",
        rewritten(
            "cell twice.xlsx",
            sheet_of(["Code", "Value"], ["K52", 1]),
            "xl/worksheets/sheet1.xml",
            first_figure_twice,
        ),
        {"cell twice.xlsx": {None: ("unreadable_file", "cell B2 comes twice")}},
    ),
    Case(
        "a row of 60,000 elements that are not cells (memory grew with them)",
        "submissions",
        rewritten("junk row.xlsx", simple_sheet, "xl/worksheets/sheet1.xml", row_of_junk),
        {"junk row.xlsx": {None: ("unreadable_file", "a row of over 1,000 cells")}},
    ),
    Case(
        "a DOCTYPE with an external entity in the sheet",
        "submissions",
        rewritten(
            "external entity.xlsx",
            simple_sheet,
            "xl/worksheets/sheet1.xml",
            with_doctype(EXTERNAL_ENTITY, b"&xxe;"),
        ),
        {"external entity.xlsx": {None: ("unreadable_file", "damaged")}},
    ),
    Case(
        "nested entity expansion in the workbook part",
        "submissions",
        rewritten("entity bomb.xlsx", strings_sheet, "xl/workbook.xml", with_doctype(NESTED_ENTITIES, b"")),
        {"entity bomb.xlsx": {None: ("unreadable_file", "damaged")}},
    ),
    Case(
        "one cell at XFD1048576",
        "submissions",
        workbook("far cell.xlsx", one_cell_far_away),
        {"far cell.xlsx": {None: ("unreadable_file", "a cell at XFD1048576, column 16,384")}},
    ),
    Case(
        "a line of two million cells",
        "submissions",
        lambda folder: (folder / "wide.csv").write_bytes(b"code,value\nK65," + b"1," * 2_000_000 + b"\n"),
        {"wide.csv": {None: ("unreadable_file", "a row of 2,000,002 cells, more than the 1,000")}},
    ),
    Case(
        "a link that loops back on itself",
        "submissions",
        loop("loop.csv"),
        {"loop.csv": {None: ("unreadable_file", "a link that leads round in a loop")}},
    ),
    Case(
        "two folder links that point at each other",
        "submissions",
        loop_of_folders,
        {
            "loop a": {None: ("unreadable_file", "a link that leads round in a loop")},
            "loop b": {None: ("unreadable_file", "a link that leads round in a loop")},
        },
    ),
    Case(
        "a file name that is not UTF-8",
        "submissions",
        raw_name(b"recycl\xe9.csv", "code,value\nK66,3\n"),
        {"recycl\\xe9.csv": {2: ("accepted", "")}},
    ),
    Case(
        "right-to-left override in a file name and a commentary",
        "submissions",
        text_file("invoice\u202ecsv.exe.csv", "code,value,commentary\nK67,3,ok \u202eevil\n"),
        {"invoice\u202ecsv.exe.csv": {2: ("accepted", "")}},
    ),
    Case(
        "periods no calendar can hold",
        "submissions",
        text_file("far periods.csv", "code,period,value\nK68,9999/00 Q4,3\nK69,0001/02 Q1,3\n"),
        {
            "far periods.csv": {
                2: ("wrong_period", "the year must be between 1900 and 2199"),
                3: ("wrong_period", "the year must be between 1900 and 2199"),
            }
        },
    ),
    # --- corrections/ ---------------------------------------------------------------------------
    Case(
        "a correction with no approver",
        "corrections",
        text_file("no approver.csv", correction("CR1,WM02,2024-25-Q1,4,,,Miscount,Pat,,2024-09-01")),
        {"no approver.csv": {2: ("rejected", "no approver")}},
    ),
    Case(
        "an approver of spaces only",
        "corrections",
        text_file("blank approver.csv", correction("CR2,WM02,2024-25-Q1,4,,,Miscount,Pat,   ,2024-09-01")),
        {"blank approver.csv": {2: ("rejected", "no approver")}},
    ),
    Case(
        "a correction with no reason",
        "corrections",
        text_file("no reason.csv", correction("CR3,WM02,2024-25-Q1,4,,,,Pat,Head of Service,2024-09-01")),
        {"no reason.csv": {2: ("rejected", "no reason")}},
    ),
    Case(
        "a formula for a value",
        "corrections",
        text_file(
            "formula.csv", correction("CR4,WM02,2024-25-Q1,=1+1,,,Miscount,Pat,Head of Service,2024-09-01")
        ),
        {"formula.csv": {2: ("rejected", "'=1+1' is not a number")}},
    ),
    Case(
        "no approved_by column at all",
        "corrections",
        text_file(
            "no column.csv",
            "correction_id,indicator_code,period,value,reason,requested_by,approved_on\n"
            "CR5,WM02,2024-25-Q1,4,Miscount,Pat,2024-09-01\n",
        ),
        {"no column.csv": {2: ("rejected", "no column numerator, denominator, approved_by")}},
    ),
    Case(
        "binary junk named .csv",
        "corrections",
        bytes_file("junk.csv", junk(2048, seed=3)),
        {"junk.csv": {None: ("rejected", "binary data")}},
    ),
    Case(
        "an empty corrections file",
        "corrections",
        bytes_file("empty.csv", b""),
        {"empty.csv": {None: ("rejected", "The file is empty")}},
    ),
    Case(
        "Windows-1252 text",
        "corrections",
        text_file(
            "windows.csv",
            correction("CR6,WM02,2024-25-Q1,4,,,£ posted twice,Pat,Head of Service,2024-09-01"),
            encoding="cp1252",
        ),
        {"windows.csv": {2: ("accepted", "")}},
    ),
    Case(
        "a blank line between corrections",
        "corrections",
        text_file(
            "gap.csv",
            correction(
                "CR7,WM01,2024-25-Q1,40,,,Recount,Pat,Head of Service,2024-09-01",
                "",
                "CR8,RB01,2024-25-Q1,30,,,Recount,Rae,Head of Service,2024-09-01",
            ),
        ),
        {"gap.csv": {2: ("accepted", ""), 4: ("accepted", "")}},
    ),
    Case(
        "<script> in a reason",
        "corrections",
        text_file(
            "script.csv",
            correction("CR9,HO01,2024-25-Q1,5,,,<script>alert(1)</script>,Hal,Head of Service,2024-09-01"),
        ),
        {"script.csv": {2: ("accepted", "")}},
    ),
    Case(
        "a look-alike code",
        "corrections",
        text_file(
            "lookalike.csv", correction("CR10,WМ02,2024-25-Q1,4,,,Miscount,Pat,Head of Service,2024-09-01")
        ),
        {"lookalike.csv": {2: ("rejected", "'WМ02' is not an indicator code we collect")}},
    ),
    Case(
        "a link to a file outside the data root",
        "corrections",
        link_outside("linked.csv"),
        {"linked.csv": {None: ("rejected", "link to a file outside the data folder")}},
    ),
    Case(
        "a corrections file named .CSV",
        "corrections",
        text_file(
            "UPPER.CSV", correction("CR11,WM01,2024-25-Q1,40,,,Recount,Pat,Head of Service,2024-09-01")
        ),
        {"UPPER.CSV": {2: ("accepted", "")}},
    ),
    Case(
        "approved in the future (2052 for 2025)",
        "corrections",
        text_file(
            "future.csv", correction("CR12,WM02,2024-25-Q1,4,,,Miscount,Pat,Head of Service,2052-10-02")
        ),
        {"future.csv": {2: ("rejected", "approved_on 2052-10-02 is in the future")}},
    ),
    Case(
        "a value that disagrees with its own numerator and denominator",
        "corrections",
        text_file(
            "ratio.csv", correction("CR13,WM01,2024-25-Q1,50,1,4,Recount,Pat,Head of Service,2024-09-01")
        ),
        {"ratio.csv": {2: ("rejected", "The value 50 does not match 1 / 4 = 25.000")}},
    ),
    Case(
        "the same correction_id twice",
        "corrections",
        text_file(
            "twice.csv",
            correction(
                "CR14,RB01,2024-25-Q1,30,,,Recount,Rae,Head of Service,2024-09-01",
                "CR14,RB01,2024-25-Q1,31,,,Recount again,Rae,Head of Service,2024-09-02",
            ),
        ),
        {"twice.csv": {2: ("accepted", ""), 3: ("rejected", "The correction_id CR14 is used twice")}},
    ),
    Case(
        "periods no calendar can hold",
        "corrections",
        text_file(
            "far periods.csv",
            correction(
                "CR15,WM02,9999/00 Q4,4,,,Miscount,Pat,Head of Service,2024-09-01",
                "CR16,WM02,0001/02 Q1,4,,,Miscount,Pat,Head of Service,2024-09-01",
            ),
        ),
        {
            "far periods.csv": {
                2: ("rejected", "the year must be between 1900 and 2199"),
                3: ("rejected", "the year must be between 1900 and 2199"),
            }
        },
    ),
    Case(
        "a link that loops back on itself",
        "corrections",
        loop("loop.csv"),
        {"loop.csv": {None: ("rejected", "a link that leads round in a loop")}},
    ),
    # --- reference/: a mistake stops the run with a sentence naming file, row and column ----------
    Case(
        "a duplicate indicator code",
        "reference",
        lambda folder: write(
            folder / "indicators.csv",
            (folder / "indicators.csv").read_text()
            + "WM01,Again,,count,,none,quarterly,sum,0,,,waste,,service,,,,\n",
        ),
        f"reference/indicators.csv row {NEXT_INDICATOR_ROW}, column 'code': 'WM01' appears more than once",
    ),
    Case(
        "a look-alike character in an indicator code",
        "reference",
        lambda folder: write(
            folder / "indicators.csv",
            (folder / "indicators.csv").read_text()
            + "WМ09,Cyrillic,,count,,none,quarterly,sum,0,,,waste,,service,,,,\n",
        ),
        f"row {NEXT_INDICATOR_ROW}, column 'code': 'WМ09' may hold only letters, digits",
    ),
    Case(
        "a service name that climbs out of its folder",
        "reference",
        lambda folder: write(
            folder / "services.csv",
            (folder / "services.csv").read_text() + "../../etc/x,Sneaky,Place,Pat,pat@council.example\n",
        ),
        "reference/services.csv row 5, column 'service': '../../etc/x' may hold only letters, digits, '-' and '_'",
    ),
    Case(
        "an empty indicators file",
        "reference",
        bytes_file("indicators.csv", b""),
        "indicators.csv: the file is empty",
    ),
    Case(
        "binary junk for indicators",
        "reference",
        bytes_file("indicators.csv", b"\x89PNG\r\n\x1a\n" + junk(512, 4)),
        "indicators.csv: cannot be read as a UTF-8 CSV",
    ),
    Case(
        "a target for an unknown indicator",
        "reference",
        lambda folder: write(
            folder / "targets.csv", (folder / "targets.csv").read_text() + "XX99,2024-25,,5,,2024-03-01,New\n"
        ),
        f"reference/targets.csv row {NEXT_TARGET_ROW}, column 'code': 'XX99' is not an indicator in indicators.csv",
    ),
    Case(
        "a target without a reason",
        "reference",
        lambda folder: write(
            folder / "targets.csv", (folder / "targets.csv").read_text() + "WM02,2024-25,Q3,90,,2024-06-01,\n"
        ),
        f"reference/targets.csv row {NEXT_TARGET_ROW}, column 'reason': is required but blank",
    ),
    Case(
        "council.toml that is not TOML",
        "reference",
        text_file("council.toml", 'name = "Testshire\n'),
        "council.toml: not valid TOML",
    ),
    Case(
        "rag_rules.toml without the default rule",
        "reference",
        text_file("rag_rules.toml", "[lenient]\ngreen_within = 0.1\n"),
        "rag_rules.toml: the default rule [standard] is missing",
    ),
    Case(
        "indicators.csv without a unit column",
        "reference",
        lambda folder: write(
            folder / "indicators.csv",
            pd.read_csv(folder / "indicators.csv", dtype=str).drop(columns="unit").to_csv(index=False),
        ),
        "reference/indicators.csv: column 'unit' the required column is missing",
    ),
    # --- benchmarks/: an import problem stops the run with a sentence naming the file -------------
    Case(
        "a benchmark file with a changed column name",
        "benchmarks",
        both(
            text_file("sources.toml", sources_toml("lginform.csv")),
            text_file("lginform.csv", LONG_CSV.replace(",value\n", ",Value (%)\n")),
        ),
        "benchmarks/lginform.csv (corpus): lginform.csv: no column 'value' (for value)",
    ),
    Case(
        "a source file named outside benchmarks/",
        "benchmarks",
        text_file("sources.toml", sources_toml("../reference/indicators.csv")),
        "the file ../reference/indicators.csv is not in benchmarks/",
    ),
    Case(
        "a source file that links outside the data root",
        "benchmarks",
        both(text_file("sources.toml", sources_toml("linked.csv")), link_outside("linked.csv")),
        "the file linked.csv is not in benchmarks/",
    ),
    Case(
        "sources.toml that is not TOML",
        "benchmarks",
        text_file("sources.toml", "[[source]\nname = 1\n"),
        "benchmarks/sources.toml: not valid TOML",
    ),
    Case(
        "binary junk for a benchmark file",
        "benchmarks",
        both(text_file("sources.toml", sources_toml("junk.csv")), bytes_file("junk.csv", junk(4096, seed=5))),
        "benchmarks/junk.csv (corpus): the file could not be read as long_csv",
    ),
    Case(
        "an empty benchmark file",
        "benchmarks",
        both(text_file("sources.toml", sources_toml("empty.csv")), bytes_file("empty.csv", b"")),
        "benchmarks/empty.csv (corpus): the file could not be read as long_csv",
    ),
]


def cases(folder: str) -> list:
    return [pytest.param(c, id=c.name) for c in CASES if c.folder == folder]


def test_the_corpus_is_large_and_every_case_distinct():
    assert len(CASES) >= 30
    assert len({c.name + c.folder for c in CASES}) == len(CASES)
    returns = [f for c in CASES if c.folder == "submissions" for f in c.expect]
    assert len(returns) == len(set(returns)), "each return case writes files of its own"


@pytest.fixture
def corpus_root(mini_root: Path) -> Path:
    """The small council, with indicators for the corpus and its comparator group, and a good return."""
    indicators = mini_root / "reference" / "indicators.csv"
    write(
        indicators,
        indicators.read_text()
        + "".join(
            f"{code},Corpus {code},,percent,,higher_is_better,quarterly,mean,1,,,waste,,service,,,,\n"
            for code in CORPUS_CODES
        ),
    )
    targets = (
        mini_root / "reference" / "targets.csv"
    )  # missed by far, so their commentary is quoted in the report
    write(
        targets,
        targets.read_text() + "".join(f"{code},2024-25,,90,,2024-03-01,Corpus\n" for code in REPORTED_RED),
    )
    write(mini_root / "reference" / "nearest_neighbours.json", '{"E06000005": ["E06000001"]}\n')
    write(mini_root / "submissions" / Q.key / GOOD_RETURN[0], GOOD_RETURN[1])
    (mini_root / "benchmarks").mkdir()
    return mini_root


def inputs_digest(root: Path) -> str:
    """Names, contents, modification times and link targets of everything in the input folders."""
    digest = hashlib.sha256()
    for folder in INPUT_FOLDERS:
        for dirpath, dirnames, filenames in sorted(os.walk(root / folder)):
            for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                path = Path(dirpath) / name
                digest.update(os.fsencode(path.relative_to(root)))
                if path.is_symlink():
                    digest.update(b"link:" + os.fsencode(os.readlink(path)))
                else:
                    digest.update(path.read_bytes() + str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


def catalogue(root: Path) -> pd.DataFrame:
    ref = root / "reference"
    return load_indicators(
        ref / "indicators.csv", load_services(ref / "services.csv"), load_rag_rules(ref / "rag_rules.toml")
    )


def check_returns(root: Path, quarter: Quarter = Q):
    folder = DataRoot(root).submissions_for(quarter)
    files, ignored = list_return_files(folder, root)
    raw = raw_frame([read_return(path, root) for path in files])
    validated, exceptions = validate_returns(raw, catalogue(root), quarter, FIRST)
    return raw, validated, exceptions, ignored


def verdicts(
    validated: pd.DataFrame, exceptions: pd.DataFrame
) -> dict[tuple[str, int | None], tuple[str, str]]:
    """(file, row) → (verdict, message) for every row, from the two tables."""
    found = {}
    for row in validated.itertuples():
        found[(row.file, int(row.row))] = ("accepted" if row.reported else "not reported", "")
    for row in exceptions.itertuples():
        key = (row.file, None if pd.isna(row.row) else int(row.row))
        assert key not in found, f"{key} has two verdicts"
        found[key] = (row.reason, row.message)
    return found


def assert_return_outcomes(case: Case, found: dict, ignored: list[str]) -> None:
    for name, rows in case.expect.items():
        file = f"submissions/{Q.key}/{name}"
        mine = {row: v for (f, row), v in found.items() if f == file}
        if rows == {None: ("ignored", "")}:
            assert file in ignored and not mine, name
            continue
        assert set(mine) == set(rows), (
            f"{name}: rows {sorted(mine, key=str)}, expected {sorted(rows, key=str)}"
        )
        for row, (verdict, words) in rows.items():
            got, message = mine[row]
            assert got == verdict, f"{name} row {row}: {got} ({message}), expected {verdict}"
            assert words in message, f"{name} row {row}: {message!r} does not say {words!r}"
            if verdict not in ("accepted", "not reported"):
                assert len(message) > 20 and message.endswith((".", "?")), f"not a sentence: {message!r}"


@pytest.mark.parametrize("case", cases("submissions"))
def test_each_hostile_return_gets_its_outcome_and_the_good_one_still_flows(corpus_root, case):
    folder = DataRoot(corpus_root).submissions_for(Q)
    case.make(folder)
    before = inputs_digest(corpus_root)
    raw, validated, exceptions, ignored = check_returns(corpus_root)
    assert_return_outcomes(case, verdicts(validated, exceptions), ignored)
    good = validated[validated["file"] == f"submissions/{Q.key}/good.csv"]
    assert list(good["indicator_code"]) == ["WM01", "WM02"] and list(good["value"]) == [41.0, 12.0]
    explained = validated.groupby("file").size().add(exceptions.groupby("file").size(), fill_value=0)
    assert raw.groupby("file").size().to_dict() == explained.astype(int).to_dict()
    assert inputs_digest(corpus_root) == before


def test_what_the_hostile_returns_hold_is_read_faithfully(corpus_root):
    folder = DataRoot(corpus_root).submissions_for(Q)
    for case in CASES:
        if case.folder == "submissions":
            case.make(folder)
    raw, validated, _, _ = check_returns(corpus_root)
    by_code = validated.set_index("indicator_code")
    assert by_code.loc["K01", "file"].endswith("cover.xlsx")
    assert raw.loc[raw["file"].str.endswith("cover.xlsx"), "sheet"].unique().tolist() == ["Return"]
    assert by_code.loc["K05", "value"] == pytest.approx(90.0)  # 45 / 50 under a merged heading
    assert by_code.loc["K07", "commentary"] == "Line one\nline two, with a comma"
    assert (by_code.loc["K09", "commentary"], by_code.loc["K10", "commentary"]) == ("café", "£5 – ok")
    assert len(by_code.loc["K37", "commentary"]) == 100_004
    assert by_code.loc["K15", "value"] == 42.0  # the result Excel saved beside the formula
    assert by_code.loc["K16", "commentary"] == '=HYPERLINK("http://evil.example/","Click")'
    assert by_code.loc["K21", "commentary"] == "<script>alert('corpus')</script>"
    assert by_code.loc["K24", "value"] == 5.0
    assert by_code.loc["K25", "file"] == f"submissions/{Q.key}/Déchets – retour T2 (révisé).csv"
    assert not raw["value"].eq("99").any(), "nothing is read through a link out of the data root"
    assert (
        raw.loc[raw["indicator_code"] == "K33", "other_columns"].iloc[0]
        == '{"column 3": "extra", "column 4": "cells"}'
    )
    essay = raw.loc[raw["indicator_code"] == "K36", "value"].iloc[0]
    assert len(essay) > 10_000  # kept whole as received; only the message quotes it short
    assert by_code.loc["K41", "value"] == 85.0
    assert by_code.loc["K42", "value"] == 0.0 and not np.signbit(by_code.loc["K42", "value"]), "-0 is 0"
    assert raw.loc[raw["indicator_code"] == "K58", "value"].iloc[0] == "28\\x00 8", "the NUL stays visible"
    assert by_code.loc["K59", "value"] == 3.0
    assert raw.loc[raw["indicator_code"] == "K59", "encoding"].iloc[0] == "utf-16-le (no BOM)"
    assert by_code.loc["K63", "value"] == 40.0
    assert (
        raw.loc[raw["indicator_code"] == "K63", "other_columns"].iloc[0] == '{"Indicator": "Recycling rate"}'
    )
    assert by_code.loc["K47", "value"] == 50.0, "the visible sheet, not the hidden one"
    assert raw.loc[raw["indicator_code"] == "K47", "sheet"].tolist() == ["Return"]
    rows = by_code.loc[["K48", "K49", "K50", "K51", "K52", "K53", "K64"], "row"].tolist()
    assert rows == [2, 3, 4, 5, 2, 3, 4], "row numbers are the sheet's own, whatever <dimension> says"
    assert by_code.loc["K66", "file"] == f"submissions/{Q.key}/recycl\\xe9.csv"


def test_check_return_gives_the_pipelines_verdict_on_every_hostile_return(corpus_root):
    """`check-return` on each file of the corpus, beside the others, says what the pipeline says."""
    folder = DataRoot(corpus_root).submissions_for(Q)
    for case in CASES:
        if case.folder == "submissions":
            case.make(folder)
    _, validated, exceptions, _ = check_returns(corpus_root)
    found = verdicts(validated, exceptions)
    received = [read_return(path, corpus_root) for path in list_return_files(folder, corpus_root)[0]]
    indicators = catalogue(corpus_root)
    checked = 0
    for path in list_return_files(folder, corpus_root)[0]:
        if path.is_symlink():
            continue  # check-return is given a file, and reads what it is given
        mine = return_verdicts(DataRoot(corpus_root), path, Q, indicators, received)
        file = relative_to_root(path, corpus_root)
        expected = {row: v for (f, row), v in found.items() if f == file}
        got = {
            None if pd.isna(v.row) else int(v.row): (
                "not reported" if v.verdict == "accepted (not reported)" else v.verdict,
                v.message,
            )
            for v in mine.itertuples()
        }
        assert got == expected, file
        checked += 1
    assert checked >= 50


def test_check_return_shows_the_figure_it_read(corpus_root, capsys):
    typed = write(corpus_root / "typed.csv", 'code,value\nWM01,21.35\nWM02,"1,234"\nRB01,21 3\nHO01,-0\n')
    assert run_cli("--data", str(corpus_root), "check-return", str(typed), "--quarter", Q.shift(1).key) == 1
    out = capsys.readouterr().out
    assert "row 2  WM01                 accepted: 21.35%" in out
    assert "row 3  WM02                 accepted: 1,234" in out
    assert "row 4  RB01                 not_a_number: The value '21 3' is not a number." in out
    assert "row 5  HO01                 accepted: 0\n" in out


@pytest.mark.parametrize("case", cases("corrections"))
def test_each_hostile_correction_is_rejected_or_applied_as_it_must_be(corpus_root, case):
    folder = DataRoot(corpus_root).corrections
    case.make(folder)
    before = inputs_digest(corpus_root)
    log = check_corrections(read_corrections(folder, corpus_root), catalogue(corpus_root))
    for name, rows in case.expect.items():
        mine = log[log["file"] == f"corrections/{name}"]
        got = {None if pd.isna(r.row) else int(r.row): (r.status, r.problem) for r in mine.itertuples()}
        assert set(got) == set(rows), f"{name}: rows {sorted(got, key=str)}"
        for row, (status, words) in rows.items():
            assert got[row][0] == status, f"{name} row {row}: {got[row]}"
            assert words in got[row][1], f"{name} row {row}: {got[row][1]!r} does not say {words!r}"
    assert inputs_digest(corpus_root) == before


def load_reference(root: Path) -> None:
    """Every reference file, through the same loaders as the reference assets."""
    ref = root / "reference"
    services = load_services(ref / "services.csv")
    indicators = load_indicators(ref / "indicators.csv", services, load_rag_rules(ref / "rag_rules.toml"))
    load_targets(ref / "targets.csv", indicators)
    load_council(ref / "council.toml")
    load_authorities(ref / "authorities.csv")


@pytest.mark.parametrize("case", cases("reference"))
def test_each_broken_reference_file_stops_with_a_sentence_naming_it(corpus_root, case):
    load_reference(corpus_root)  # valid before the case breaks it
    case.make(corpus_root / "reference")
    before = inputs_digest(corpus_root)
    with pytest.raises(ReferenceDataError) as error:
        load_reference(corpus_root)
    assert any(case.expect in problem for problem in error.value.problems), error.value.problems
    assert inputs_digest(corpus_root) == before


@pytest.mark.parametrize("case", cases("benchmarks"))
def test_each_broken_benchmark_source_stops_with_a_sentence_naming_it(corpus_root, case):
    folder = DataRoot(corpus_root).benchmarks
    case.make(folder)
    before = inputs_digest(corpus_root)
    with pytest.raises(ReferenceDataError) as error:
        read_sources(load_sources(folder / "sources.toml"), folder, corpus_root)
    assert any(case.expect in problem for problem in error.value.problems), error.value.problems
    assert inputs_digest(corpus_root) == before


def test_the_limits_come_from_council_toml_and_are_checked(corpus_root):
    path = write(DataRoot(corpus_root).submissions_for(Q) / "twenty.csv", "code,value\n" + "K70,1\n" * 20)
    council = load_council(corpus_root / "reference" / "council.toml")
    assert read_limits(council) == ReadLimits()
    small = read_limits({**council, "limits": {"max_cells": 30}})
    refused = read_return(path, corpus_root, small)
    assert refused.problem == "unreadable_file" and "21 rows of up to 2 cells, more than the 30" in (
        refused.problem_message
    )
    assert (
        read_return(path, corpus_root, read_limits({**council, "limits": {"max_cells": 42}})).row_count == 20
    )
    narrow = read_return(path, corpus_root, read_limits({**council, "limits": {"max_columns": 1}}))
    assert "a row of 2 cells, more than the 1" in narrow.problem_message
    big = read_return(path, corpus_root, read_limits({**council, "limits": {"max_file_bytes": 100}}))
    assert "bytes, more than the 100" in big.problem_message
    for wrong in ({"max_cells": 0}, {"max_cells": "many"}, {"max_rows": 5}, {"max_columns": True}):
        with pytest.raises(ReferenceDataError, match=r"council.toml: \[limits\]"):
            read_limits({**council, "limits": wrong})


def test_a_million_row_return_is_read_checked_and_accounted_for(corpus_root):
    """A whole database exported as a return: every row accepted or explained, in seconds.

    The contract is under 10 s for reading and checking (the scale benchmark measures it); here the
    bound is loose, so a busy test machine does not fail it.
    """
    rows = 1_000_000
    n = np.arange(rows)
    codes = np.array(CORPUS_CODES[:30] + ["WM01", "WM02", "NOPE"])[n % 33]
    table = pd.DataFrame(
        {
            "Indicator Code": codes,
            "Period": np.where(n % 7 == 0, "2024/25 Q1", ""),
            "Value": (n % 97).astype(str),
            "Commentary": "row " + pd.Series(n).astype(str),
        }
    )
    path = DataRoot(corpus_root).submissions_for(Q) / "everything.csv"
    table.to_csv(path, index=False)
    start = time.perf_counter()
    raw, validated, exceptions, _ = check_returns(corpus_root)
    elapsed = time.perf_counter() - start
    mine = raw["file"] == f"submissions/{Q.key}/everything.csv"
    assert mine.sum() == rows
    accepted = validated[validated["file"] == f"submissions/{Q.key}/everything.csv"]
    refused = exceptions[exceptions["file"] == f"submissions/{Q.key}/everything.csv"]
    assert len(accepted) + len(refused) == rows
    assert set(refused["reason"]) == {"conflicting_duplicate", "unknown_indicator"}
    assert refused["message"].str.len().max() < 1_000, "a message lists a few places, not a million"
    first_k01 = ((table["Indicator Code"] == "K01") & (table["Period"] == "2024/25 Q1")).sum()
    assert f"and {first_k01 - 5} more;" in refused.loc[refused["indicator_code"] == "K01", "message"].iloc[0]
    assert elapsed < 60, f"{elapsed:.1f} s"


def query(root: Path, sql: str, params=None) -> pd.DataFrame:
    with duckdb.connect(str(DataRoot(root).warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchdf()


@pytest.mark.e2e
def test_all_hostile_returns_at_once_through_the_real_job(corpus_root):
    """Every return case in one quarter's folder, and the hostile corrections beside them, through
    `perf-pipeline run`: the same verdicts as the readers give, the good rows in the indicator
    values, row accounting per file in the warehouse, reports that neutralise what they quote."""
    root = DataRoot(corpus_root)
    for case in CASES:
        if case.folder in ("submissions", "corrections"):
            case.make(root.submissions_for(Q) if case.folder == "submissions" else root.corrections)
    before = inputs_digest(corpus_root)
    assert run_cli("--data", str(corpus_root), "run", "--quarter", Q.key) == 0
    assert inputs_digest(corpus_root) == before

    accepted = query(
        corpus_root,
        "select file, row, reported from perf.service_returns_validated where quarter = ?",
        [Q.key],
    )
    refused = query(
        corpus_root,
        "select file, row, reason, message from perf.return_exceptions where quarter = ?",
        [Q.key],
    )
    found = verdicts(accepted, refused)
    ignored = [f"submissions/{Q.key}/{name}" for name in ("~$waste.xlsx", ".DS_Store")]
    for case in CASES:
        if case.folder == "submissions":
            assert_return_outcomes(case, found, ignored)
    counts = query(
        corpus_root,
        """
        with r as (select file, count(*) n from perf.service_returns_raw where quarter = ? group by file),
             v as (select file, count(*) n from perf.service_returns_validated where quarter = ? group by file),
             e as (select file, count(*) n from perf.return_exceptions where quarter = ? group by file)
        select r.file, r.n read, coalesce(v.n, 0) accepted, coalesce(e.n, 0) exceptions
        from r left join v using (file) left join e using (file)""",
        [Q.key] * 3,
    )
    assert (counts["read"] == counts["accepted"] + counts["exceptions"]).all()
    columns = query(
        corpus_root, "select distinct column_name from information_schema.columns where table_schema = 'perf'"
    )
    assert columns["column_name"].str.fullmatch(r"[a-z_][a-z0-9_]*").all(), (
        "no column is named by what a file holds"
    )
    assert len(counts) == sum(len(c.expect) for c in CASES if c.folder == "submissions") - len(ignored) + 1

    values = query(
        corpus_root,
        "select indicator_code, value, commentary from perf.indicator_values where quarter = ?",
        [Q.key],
    ).set_index("indicator_code")
    assert (values.loc["WM01", "value"], values.loc["WM02", "value"]) == (41.0, 12.0)
    assert values.loc["K05", "value"] == pytest.approx(90.0)
    corrections = query(corpus_root, "select file, row, status, problem from perf.corrections_log")
    no_approver = corrections[corrections["file"] == "corrections/no approver.csv"].iloc[0]
    assert (no_approver["row"], no_approver["status"]) == (2, "rejected") and "no approver" in no_approver[
        "problem"
    ]

    reports = root.reports_for(Q)
    published = pd.read_csv(reports / "return-exceptions.csv", dtype=str, keep_default_na=False)
    assert (
        len(published) == len(refused)
        and published["file"].ne("").all()
        and published["message"].ne("").all()
    )
    performance = pd.read_csv(reports / "indicator-performance.csv", dtype=str, keep_default_na=False)
    commentary = performance.set_index("indicator_code")["commentary"]
    assert commentary["K16"] == '\'=HYPERLINK("http://evil.example/","Click")'  # shown as text, never run
    assert commentary["K19"] == "'@SUM(A1:A2)" and commentary["K20"].startswith("'+cmd")
    html = (reports / "quarterly-monitoring-report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;corpus&#39;)&lt;/script&gt;" in html  # quoted, as text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "javascript:alert(1)" in html and 'href="javascript:' not in html.lower()
    cells = [
        cell
        for sheet in openpyxl.load_workbook(reports / "quarterly-monitoring-report.xlsx")
        for row in sheet.iter_rows()
        for cell in row
    ]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"], (
        "no cell of the workbook is a formula"
    )
    quoted = [
        cell
        for cell in cells
        if isinstance(cell.value, str) and ("HYPERLINK" in cell.value or "@SUM" in cell.value)
    ]
    assert len(quoted) >= 3 and all(cell.value.startswith("'") or cell.quotePrefix for cell in quoted)
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert max(len(t) for t in texts) <= 32_767, "no cell longer than Excel holds"
    assert any(t.endswith("[cut: 100,004 characters in all; a cell holds 32,767]") for t in texts)
    # Right-to-left overrides are shown, never applied, in every published form.
    assert commentary["K67"] == "ok [U+202E]evil"
    assert "\u202e" not in html and "invoice[U+202E]csv.exe.csv" in html
    assert not [t for t in texts if "\u202e" in t] and "ok [U+202E]evil" in texts
    assert not (reports.parent / ".staging").exists() or not any((reports.parent / ".staging").iterdir()), (
        "nothing is left aside once the quarter is published"
    )


@pytest.mark.e2e
def test_a_broken_reference_file_stops_the_run_with_its_sentence(corpus_root, capsys):
    (case,) = [c for c in CASES if c.name == "a service name that climbs out of its folder"]
    case.make(corpus_root / "reference")
    before = inputs_digest(corpus_root)
    assert run_cli("--data", str(corpus_root), "run", "--quarter", Q.key) == 1
    assert case.expect in capsys.readouterr().out
    assert inputs_digest(corpus_root) == before
    assert not (corpus_root / "requests").exists(), "no request pack is written for a bad service name"
