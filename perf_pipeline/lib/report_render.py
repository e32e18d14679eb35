"""Rendering the quarterly monitoring report: one self-contained HTML file and a workbook.

HTML comes from Jinja2 templates with autoescaping on, so text from returns (commentary,
file names) is shown as text, never run. The workbook is written with openpyxl; any cell text
that a spreadsheet would treat as a formula is neutralised.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.files import write_atomically
from perf_pipeline.lib.formatting import RAG_FILLS, dot_label, format_value, rag_label
from perf_pipeline.lib.publish import fit_cell, neutralise, show_bidi_controls

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Text from returns may hold right-to-left overrides: shown by code point, never applied.
        finalize=lambda value: (
            show_bidi_controls(value) if isinstance(value, str) and not hasattr(value, "__html__") else value
        ),
    )
    env.filters["rag_label"] = rag_label
    env.filters["dot_label"] = dot_label
    return env


@cache
def _reports_environment():
    """One per process, so each template is compiled once, not for every report: compiling was
    three quarters of the time to render one (Jinja still reloads a template changed on disk)."""
    return environment()


def render_html(template: str, view: dict) -> str:
    return _reports_environment().get_template(template).render(**view)


def write_html(path: Path, template: str, view: dict) -> Path:
    html = render_html(template, view)
    return write_atomically(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))


def _cell_value(value):
    # Every kind of missing value is a blank cell: a missing date (NaT) or nullable integer (<NA>)
    # was written as the text "NaT" or "<NA>".
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, bool | int | float):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return fit_cell(neutralise(str(value)))


def write_workbook(
    path: Path, sheets: list[tuple[str, pd.DataFrame]], status_columns: tuple[str, ...]
) -> Path:
    """One sheet per table: bold frozen header, filters, RAG fills on status columns.

    Written in openpyxl's write-only mode: each row goes to the file as it is made, and only the
    cells that carry a style (the header, RAG fills) or must be told they hold text are cell
    objects. Building every cell of an ordinary workbook and then saving it took about 1.4 times the
    CPU for the same file (most of what is left is et_xmlfile's pure-Python XML writing)."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    for title, frame in sheets:
        _write_sheet(workbook.create_sheet(title[:31]), frame, status_columns)
    return write_atomically(path, lambda tmp: workbook.save(tmp))


def _write_sheet(sheet, frame: pd.DataFrame, status_columns: tuple[str, ...]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    # A write-only sheet's columns, panes and filter are written before its rows: set first.
    for index, column in enumerate(frame.columns, start=1):
        width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200).tolist()])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, width + 2), 60)
    sheet.freeze_panes = "A2"
    if len(frame.columns):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{max(1, len(frame) + 1)}"
    fills = {status: PatternFill("solid", fgColor=colour) for status, colour in RAG_FILLS.items()}

    def cell(value, font=None, fill=None):
        made = WriteOnlyCell(sheet, value)
        if isinstance(value, str):
            made.data_type = "s"  # never a formula, whatever the text says
        if font is not None:
            made.font = font
        if fill is not None:
            made.fill = fill
        return made

    bold = Font(bold=True)
    sheet.append([cell(str(c), font=bold) for c in frame.columns])
    statuses = {i for i, column in enumerate(frame.columns) if column in status_columns}
    for record in frame.itertuples(index=False):
        row = [_cell_value(v) for v in record]
        for i, value in enumerate(row):
            # Only text starting "=" would be taken for a formula (neutralised text never does).
            if isinstance(value, str) and (value.startswith("=") or (i in statuses and value in fills)):
                row[i] = cell(value, fill=fills.get(value) if i in statuses else None)
        sheet.append(row)


def value_texts(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Add formatted text columns (`value_text` from `value`...) using each row's unit and precision."""
    out = frame.copy()
    for source, target in columns.items():
        out[target] = [
            format_value(v, u, d, None)
            for v, u, d in zip(out[source], out["unit"], out["decimals"].fillna(1))
        ]
    return out
