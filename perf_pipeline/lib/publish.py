"""Published tables and report folders.

Text from returns is made harmless before a spreadsheet program opens it, and a quarter's report
and its audit pack are published together as one set: a reader (or a failed step) never leaves
the new report beside the old provenance.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.files import write_csv

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


# Characters that reorder the text around them: `invoice\u202egpj.exe` shows as `invoiceexe.jpg`.
# In a report each is shown by its code point, so a name cannot pose as another.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Excel holds at most this many characters in a cell, and cuts longer text without a word.
EXCEL_CELL_LIMIT = 32_767


def show_bidi_controls(text: str) -> str:
    """Right-to-left and other direction controls shown as `[U+202E]`, never applied."""
    return _BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m[0]):04X}]", text)


def neutralise(text: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers do not.
    Direction controls are shown, not applied."""
    if not isinstance(text, str):
        return text
    text = show_bidi_controls(text)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text.strip()):
        return "'" + text
    return text


def fit_cell(text: str) -> str:
    """Text cut to what a workbook cell holds, with a visible mark saying so."""
    if len(text) <= EXCEL_CELL_LIMIT:
        return text
    mark = f" … [cut: {len(text):,} characters in all; a cell holds {EXCEL_CELL_LIMIT:,}]"
    return text[: EXCEL_CELL_LIMIT - len(mark)] + mark


def set_cell(cell, value: object) -> None:
    """Put a value in a workbook cell (openpyxl). Text a spreadsheet would run as a formula is
    stored as text with Excel's quote prefix: shown as typed, never run, and read back unchanged.
    Direction controls are shown, and text too long for a cell is cut with a mark."""
    if isinstance(value, str):
        value = fit_cell(show_bidi_controls(value))
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


STAGING = ".staging"


def staging_folder(folder: Path, run_id: str) -> Path:
    """Where one run writes a quarter's report and audit pack before they are published together."""
    return folder.parent / STAGING / f"{folder.name}.{run_id}"


def publish_folder(staged: Path, folder: Path) -> Path:
    """Publish `staged` as `folder`, with the files of `folder` it does not replace (the tables of
    earlier steps), by swapping the two folders: a reader sees the old set or the new one.

    The swap is two renames; a crash between them leaves the old set beside, and the next
    publication puts it back first. Other runs' abandoned staging folders are removed.
    """
    old = staged.with_name(staged.name + ".old")
    for leftover in staged.parent.glob(f"{folder.name}.*.old"):
        if not folder.exists():
            os.rename(leftover, folder)
        else:
            shutil.rmtree(leftover)
    if folder.is_dir():
        for path in folder.rglob("*"):
            target = staged / path.relative_to(folder)
            if path.is_file() and not target.exists() and not path.name.endswith(".tmp"):
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, target)  # a second name for the same bytes: no copy
                except OSError:
                    shutil.copy2(path, target)
        os.rename(folder, old)
    os.rename(staged, folder)
    shutil.rmtree(old, ignore_errors=True)
    for abandoned in staged.parent.glob(f"{folder.name}.*"):
        shutil.rmtree(abandoned, ignore_errors=True)
    return folder
