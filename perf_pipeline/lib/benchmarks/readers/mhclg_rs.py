"""MHCLG's Revenue Outturn Summary (RS) workbook, as published: net current expenditure by service.

The sheet `RS LA Data 2017-18` (the year is in its name) has six rows of titles and RS line numbers,
the header on row 7 (`E-code, ONS Code, Local authority, , Class, Education services, ...`), one row
per authority, then England and class totals and notes. Every numeric column becomes a metric named
by its header; values are £ thousand. Rows of `Class` `O` (police, fire, combined and other
bodies) and the totals and notes below the authorities are set aside, counted, not read as councils.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.validation import ReferenceDataError

SHEET_PREFIX = "RS LA Data "
AREA_COLUMN, NAME_COLUMN, CLASS_COLUMN = "ONS Code", "Local authority", "Class"
NOT_COUNCILS = {"O": "Class O (police, fire, combined authorities and other bodies)"}
UNIT = "£ thousand"
# The header is on row 7 as published; it is looked for in the first rows so that a sheet saved
# with a title row more or less still reads, and anything else is refused.
HEADER_WITHIN = 20
# Bounds on what is read: the published sheet is 480 rows x 112 columns.
MAX_ROWS, MAX_COLUMNS = 5_000, 1_000


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_mhclg_rs_xlsx(path: Path, source: dict) -> pd.DataFrame:
    """One raw row per authority and service column; `attrs["set_aside"]` counts the rows not read."""
    import openpyxl  # imported here: only the assets that read workbooks pay for it

    try:
        with warnings.catch_warnings():  # the workbook's print area names a sheet of look-ups: harmless
            warnings.filterwarnings("ignore", "Print area cannot be set", UserWarning)
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, TypeError) as exc:
        raise ReferenceDataError(
            [f"{path.name}: not an Excel workbook that can be read ({type(exc).__name__})"]
        ) from None
    try:
        sheets = [name for name in workbook.sheetnames if name.startswith(SHEET_PREFIX)]
        if len(sheets) != 1:
            found = ", ".join(workbook.sheetnames) or "none"
            raise ReferenceDataError(
                [
                    f"{path.name}: expected one sheet named '{SHEET_PREFIX}YYYY-YY', found {len(sheets)} among {found}"
                ]
            )
        sheet = sheets[0]
        grid = [
            [_text(cell) for cell in row]
            for row in workbook[sheet].iter_rows(
                min_row=1, max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS, values_only=True
            )
        ]
    finally:
        workbook.close()
    if len(grid) > MAX_ROWS:
        raise ReferenceDataError([f"{path.name}: sheet '{sheet}' has more than {MAX_ROWS:,} rows; not read"])
    period = sheet.removeprefix(SHEET_PREFIX).strip()
    header_at = next(
        (i for i, row in enumerate(grid[:HEADER_WITHIN]) if AREA_COLUMN in row and CLASS_COLUMN in row), None
    )
    if header_at is None:
        wanted = f"'{AREA_COLUMN}' and '{CLASS_COLUMN}'"
        raise ReferenceDataError(
            [
                f"{path.name}: sheet '{sheet}' has no header with {wanted} in its first {HEADER_WITHIN} rows (RS: row 7)"
            ]
        )
    header = [re.sub(r"\s+", " ", h) for h in grid[header_at]]
    area, name, kind = (header.index(c) for c in (AREA_COLUMN, NAME_COLUMN, CLASS_COLUMN))
    # The service and finance columns follow `Class`; a header used twice is told apart by column.
    measures = [i for i in range(kind + 1, len(header)) if header[i]]
    seen = pd.Series([header[i] for i in measures])
    twice = seen.duplicated(keep=False).to_numpy()
    names = [
        f"{header[i]} (column {_column_letter(i)})" if repeated else header[i]
        for i, repeated in zip(measures, twice)
    ]

    rows = pd.DataFrame.from_records(grid[header_at + 1 :]).reindex(columns=range(len(header)), fill_value="")
    rows = rows.fillna("")
    rows.index = rows.index + header_at + 2  # the sheet's own row numbers
    is_council = rows[area].ne("") & ~rows[kind].isin(list(NOT_COUNCILS))
    set_aside = {
        NOT_COUNCILS[k]: int(n)
        for k, n in rows.loc[rows[kind].isin(list(NOT_COUNCILS)), kind].value_counts().items()
    }
    others = rows[rows[area].eq("") & rows.ne("").any(axis=1)]
    if len(others):
        set_aside["totals and notes (rows with no ONS Code)"] = len(others)
    councils = rows[is_council]
    long = (
        councils[measures].set_axis(names, axis=1).stack(future_stack=True).rename("raw_value").reset_index()
    )
    long.columns = ["source_row", "metric", "raw_value"]
    out = pd.DataFrame(
        {
            "metric": long["metric"],
            "metric_title": long["metric"],
            "unit": UNIT,
            "source_polarity": "",
            "area_code": long["source_row"].map(councils[area]),
            "area_name": long["source_row"].map(councils[name]),
            "raw_period": period,
            "raw_value": long["raw_value"],
            "source_row": long["source_row"],
        }
    )
    out.attrs["set_aside"] = set_aside
    return out


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
