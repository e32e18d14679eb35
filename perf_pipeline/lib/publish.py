"""Published tables: text from returns is made harmless before a spreadsheet program opens it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.files import write_csv

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def neutralise(text: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers do not."""
    if isinstance(text, str) and text.startswith(_FORMULA_START) and not _NUMBER.match(text.strip()):
        return "'" + text
    return text


def set_cell(cell, value: object) -> None:
    """Put a value in a workbook cell (openpyxl). Text a spreadsheet would run as a formula is
    stored as text with Excel's quote prefix: shown as typed, never run, and read back unchanged."""
    cell.value = None if not isinstance(value, str) and pd.isna(value) else value
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(neutralise)
    return out


def publish_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write a report table as CSV (UTF-8, header row), atomically, with text neutralised."""
    return write_csv(neutralise_frame(df), path)
