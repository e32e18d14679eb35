"""Data request packs: the workbook each service fills in and sends back as its return.

The return sheet is a return in the pipeline's own format, so a pack sent back as it is passes
straight through `returns_reader` and `returns_validation`. Each indicator the service owns that
is due in the quarter has a row for the quarter (blank, to fill in) and a row for each of the
previous three quarters, pre-filled with the figure held now (value, numerator, denominator,
commentary, status). Those rows carry their own period, so an edited one comes back as a revision
of that quarter; one left alone comes back with the same figure, which changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.files import write_atomically
from perf_pipeline.lib.performance import targets_in_force
from perf_pipeline.lib.publish import set_cell
from perf_pipeline.lib.quarters import REVISION_WINDOW_QUARTERS, Quarter
from perf_pipeline.lib.reference import due_in
from perf_pipeline.lib.returns_validation import STATUSES

RETURN_SHEET, INSTRUCTIONS_SHEET = "Return", "Instructions"
# (heading, width, filled in by the service). The headings are ones `returns_reader` knows, and
# none of the locked ones is an alias of a return field, so they are kept as other columns.
COLUMNS = [
    ("Code", 10, False),
    ("Period", 11, False),
    ("Title", 38, False),
    ("Definition", 60, False),
    ("Unit", 12, False),
    ("Good performance", 16, False),
    ("Target", 10, False),
    ("Value", 12, True),
    ("Numerator", 12, True),
    ("Denominator", 13, True),
    ("Commentary", 50, True),
    ("Status", 12, True),
    ("Submitted by", 18, True),
]
HEADER_ROW = 4
ROW_COLUMNS = [
    "indicator_code",
    "period",
    "is_current",
    "title",
    "definition",
    "unit",
    "polarity",
    "target",
    "value",
    "numerator",
    "denominator",
    "commentary",
    "status",
    "min_value",
    "max_value",
]
POLARITY_TEXT = {
    "higher_is_better": "Higher is better",
    "lower_is_better": "Lower is better",
    "none": "Not rated",
}


@dataclass(frozen=True)
class PackInfo:
    """What the instructions sheet tells the service."""

    council: str
    service_name: str
    owner: str
    quarter: Quarter
    deadline: dt.date
    deadline_working_days: int
    contact: str


def request_rows(
    quarter: Quarter,
    service: str,
    indicators: pd.DataFrame,
    targets: pd.DataFrame,
    values: pd.DataFrame,
    first_quarter: Quarter,
) -> pd.DataFrame:
    """The return sheet's rows for one service: per indicator due, the quarter then the three before.

    `values` holds `indicator_values` rows of the earlier quarters (empty when none is built yet).
    A previous quarter is offered when the indicator was due in it too (so annual indicators have
    no earlier rows) and never before the first quarter the pipeline holds.
    """
    own = indicators[indicators["service"] == service]
    own = own[due_in(own, quarter)]
    earlier = [
        quarter.shift(-i)
        for i in range(1, REVISION_WINDOW_QUARTERS + 1)
        if quarter.shift(-i) >= first_quarter
    ]
    held = values.set_index(["quarter", "indicator_code"]) if len(values) else None
    rows = []
    for q in [quarter, *earlier]:
        due = own[due_in(own, q)]
        in_force = (
            targets_in_force(targets, q).set_index("code")["target"]
            if len(targets)
            else pd.Series(dtype=float)
        )
        for ind in due.itertuples(index=False):
            figure = (
                held.loc[(q.key, ind.code)] if held is not None and (q.key, ind.code) in held.index else None
            )
            rows.append(
                {
                    "indicator_code": ind.code,
                    "period": q.key,
                    "is_current": q == quarter,
                    "title": ind.title,
                    "definition": ind.definition,
                    "unit": ind.unit_label if isinstance(ind.unit_label, str) else ind.unit,
                    "polarity": POLARITY_TEXT[ind.polarity],
                    "target": in_force.get(ind.code),
                    "value": None if figure is None else figure["value"],
                    "numerator": None if figure is None else figure["numerator"],
                    "denominator": None if figure is None else figure["denominator"],
                    "commentary": None if figure is None else figure["commentary"],
                    "status": None if figure is None else figure["data_status"],
                    "min_value": ind.min_value,
                    "max_value": ind.max_value,
                }
            )
    out = pd.DataFrame(rows, columns=ROW_COLUMNS)
    if out.empty:
        return out
    # Grouped by indicator, in catalogue order: the quarter to fill in first, then the previous ones.
    order = {code: i for i, code in enumerate(own["code"])}
    out["_indicator"] = out["indicator_code"].map(order)
    out["_age"] = out["period"].map(lambda k: quarter - Quarter.parse(k))
    return out.sort_values(["_indicator", "_age"]).drop(columns=["_indicator", "_age"]).reset_index(drop=True)


def instructions(info: PackInfo) -> list[str]:
    """The instructions sheet, one paragraph a row."""
    q = info.quarter
    return [
        f"{info.council}: performance data request",
        f"Service: {info.service_name} (return owner: {info.owner})",
        f"Quarter: {q.label}, {q.start:%-d %B %Y} to {q.end:%-d %B %Y}",
        f"Deadline: {info.deadline:%A %-d %B %Y} ({info.deadline_working_days} working days after the quarter ends)",
        f"Contact: {info.contact}",
        "",
        "How to fill in the Return sheet",
        (
            "1. Each indicator has a white row for this quarter. Enter the figure in Value, or give the "
            "Numerator and Denominator and leave Value blank (it is worked out for you)."
        ),
        (
            "2. The grey rows below it hold the figures we have for the previous three quarters. Change "
            "one only if it was wrong or has been updated since: your change revises that quarter's figure. "
            "Leave the others as they are."
        ),
        (
            "3. Blank, or n/a: the figure is not available. It is reported as 'Not reported', not as zero, "
            "and we will ask you for it."
        ),
        "4. 0 (zero) means the figure really is zero.",
        "5. Percentages: enter 85 (or 85%) for 85 per cent, not 0.85.",
        "6. Commentary: what the figure shows and why; it is expected whenever a figure is off target.",
        "7. Status: final (the default), provisional (it may change next quarter) or estimate.",
        (
            "8. Do not change the Code, Period, Title or Definition cells (they are locked), and keep the "
            "column headings as they are."
        ),
        (
            f"9. Save the workbook as .xlsx and send it to {info.contact} by the deadline. It is read as it "
            "is: there is no need to copy the figures anywhere else."
        ),
    ]


def write_pack(path: Path, info: PackInfo, rows: pd.DataFrame) -> Path:
    """Write the pack workbook atomically: instructions, then the return sheet."""
    from openpyxl import Workbook  # imported here: loading the definitions must stay cheap
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    guide = wb.active
    guide.title = INSTRUCTIONS_SHEET
    guide.column_dimensions["A"].width = 120
    for number, text in enumerate(instructions(info), start=1):
        cell = guide.cell(row=number, column=1)
        set_cell(cell, text or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    guide["A1"].font = Font(bold=True, size=14)
    guide["A7"].font = Font(bold=True)
    guide.protection.sheet = True

    sheet = wb.create_sheet(RETURN_SHEET)
    q = info.quarter
    set_cell(sheet["A1"], f"{info.council}: performance return for {info.service_name}, {q.label}")
    sheet["A1"].font = Font(bold=True, size=14)
    set_cell(
        sheet["A2"],
        f"Deadline {info.deadline:%A %-d %B %Y}. Fill in the white cells; the grey rows "
        "are the previous quarters' figures as we hold them. See the Instructions sheet.",
    )
    heading_fill = PatternFill("solid", fgColor="1F4E78")
    for column, (heading, width, _) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=column, value=heading)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = heading_fill
        sheet.column_dimensions[get_column_letter(column)].width = width
    status_list = DataValidation(
        type="list",
        formula1=f'"{",".join(sorted(STATUSES))}"',
        allow_blank=True,
        error="Choose final, provisional or estimate.",
        showErrorMessage=True,
    )
    counts = DataValidation(
        type="decimal",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        error="Enter a number (0 or more).",
        showErrorMessage=True,
    )
    sheet.add_data_validation(status_list)
    sheet.add_data_validation(counts)
    earlier_fill = PatternFill("solid", fgColor="E7E6E6")
    letter = {heading: get_column_letter(i) for i, (heading, _, _) in enumerate(COLUMNS, start=1)}
    for number, row in enumerate(rows.itertuples(index=False), start=HEADER_ROW + 1):
        cells = [
            row.indicator_code,
            Quarter.parse(row.period).label,
            row.title,
            row.definition,
            row.unit,
            row.polarity,
            row.target,
            row.value,
            row.numerator,
            row.denominator,
            row.commentary,
            row.status,
            None,
        ]
        for column, (value, (_, _, editable)) in enumerate(zip(cells, COLUMNS), start=1):
            cell = sheet.cell(row=number, column=column)
            set_cell(cell, value)
            cell.alignment = Alignment(wrap_text=column in (3, 4, 11), vertical="top")
            if editable:
                cell.protection = Protection(locked=False)
            if not row.is_current:
                cell.fill = earlier_fill
        sheet.add_data_validation(_value_rule(f"{letter['Value']}{number}", row.min_value, row.max_value))
        counts.add(f"{letter['Numerator']}{number}:{letter['Denominator']}{number}")
        status_list.add(f"{letter['Status']}{number}")
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=4)
    # Locked, not secret: no password, so a service can still unprotect the sheet if it must.
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    wb.active = wb.index(sheet)
    return write_atomically(path, lambda tmp: wb.save(tmp))


def _value_rule(cell: str, low: float | None, high: float | None):
    """A number within the indicator's valid range, or n/a, or blank."""
    from openpyxl.worksheet.datavalidation import DataValidation

    bounds, range_text = [f"ISNUMBER({cell})"], ""
    if pd.notna(low):
        bounds.append(f"{cell}>={low:g}")
        range_text = f" of at least {low:g}"
    if pd.notna(high):
        bounds.append(f"{cell}<={high:g}")
        range_text = f" from {low:g} to {high:g}" if pd.notna(low) else f" of at most {high:g}"
    rule = DataValidation(
        type="custom",
        formula1=f'OR(AND({",".join(bounds)}),LOWER(TRIM({cell}))="n/a")',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not a valid figure",
        error=f"Enter a number{range_text}, or n/a if the figure is not available.",
    )
    rule.add(cell)
    return rule
