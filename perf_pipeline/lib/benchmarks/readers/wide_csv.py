"""A wide CSV: one row per area, one column per period (core spending power, population tables...).

The source entry names the one metric the file holds and how to read it:

    metric = "core_spending_power"          # required; metric_title and unit optional
    [source.columns]                        # our name = the file's column (area_code required)
    area_code = "ons_code"
    area_name = "ons_name"
    [source.periods]
    columns = '^(\\d{4})$'   # which headers are periods (a regular expression; its first group, if
                             # any, is the period); default: every column that is not an area column
    year = "starts"          # a bare year YYYY is the financial year starting in it (2020 = 2020-21),
                             # or "ends" (2021 = 2020-21); other headers are read as periods are
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.validation import ReferenceDataError

WIDE_CSV_COLUMNS = ["area_code", "area_name"]
YEAR_READINGS = ("starts", "ends")
# Bounds on what is read: one row per area, one column per period.
MAX_ROWS, MAX_COLUMNS = 100_000, 1_000


def wide_csv_problems(source: dict) -> list[str]:
    """What is wrong with a `wide_csv` entry of `sources.toml` (checked before any file is read)."""
    problems = []
    if not str(source.get("metric", "")).strip():
        problems.append("'metric' is missing (the one metric a wide CSV holds)")
    periods = source.get("periods", {})
    if not isinstance(periods, dict):
        return [*problems, "[source.periods] must be a table with 'columns' and 'year'"]
    unknown = set(periods) - {"columns", "year"}
    if unknown:
        problems.append(
            f"[source.periods] has unknown names {', '.join(sorted(unknown))}; ours are columns, year"
        )
    if periods.get("year", "starts") not in YEAR_READINGS:
        problems.append(f"[source.periods] year must be one of {', '.join(YEAR_READINGS)}")
    try:
        re.compile(periods.get("columns", ""))
    except (re.error, TypeError) as exc:
        problems.append(f"[source.periods] columns is not a regular expression ({exc})")
    return problems


def period_of_header(header: str, pattern: str, year: str) -> str | None:
    """The period a column header stands for, as text the period parser reads; None = not a period."""
    match = re.search(pattern, header) if pattern else None
    if pattern and not match:
        return None
    text = (match.group(1) if match and match.re.groups else header).strip()
    if re.fullmatch(r"\d{4}", text):
        first = int(text) - (1 if year == "ends" else 0)
        return f"{first}-{(first + 1) % 100:02d}"
    return text


def read_wide_csv(path: Path, source: dict) -> pd.DataFrame:
    """One raw row per area and period column; the file's row numbers (header = row 1)."""
    columns = {ours: source.get("columns", {}).get(ours, ours) for ours in WIDE_CSV_COLUMNS}
    periods = source.get("periods", {})
    try:
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False, nrows=MAX_ROWS + 1
        )
    except UnicodeDecodeError:  # saved from Excel on Windows
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="cp1252", index_col=False, nrows=MAX_ROWS + 1
        )
    if len(df) > MAX_ROWS or len(df.columns) > MAX_COLUMNS:
        raise ReferenceDataError(
            [f"{path.name}: more than {MAX_ROWS:,} rows or {MAX_COLUMNS:,} columns; not a table of areas"]
        )
    if columns["area_code"] not in df.columns:
        raise ReferenceDataError([f"{path.name}: no column '{columns['area_code']}' (for area_code)"])
    area_columns = [c for c in columns.values() if c in df.columns]
    period_of = {
        c: period_of_header(str(c), periods.get("columns", ""), periods.get("year", "starts"))
        for c in df.columns
        if c not in area_columns
    }
    period_of = {c: p for c, p in period_of.items() if p is not None}
    if not period_of:
        raise ReferenceDataError([f"{path.name}: no column is a period ([source.periods] columns)"])
    df.index = df.index + 2
    long = df[list(period_of)].stack(future_stack=True).rename("raw_value").reset_index()
    long.columns = ["source_row", "column", "raw_value"]
    area = df[columns["area_code"]].str.strip()
    name = (
        df[columns["area_name"]].str.strip()
        if columns["area_name"] in df.columns
        else pd.Series("", df.index)
    )
    metric = str(source["metric"]).strip()
    return pd.DataFrame(
        {
            "metric": metric,
            "metric_title": str(source.get("metric_title", metric)),
            "unit": str(source.get("unit", "")),
            "source_polarity": str(source.get("polarity", "")),
            "area_code": long["source_row"].map(area),
            "area_name": long["source_row"].map(name),
            "raw_period": long["column"].map(period_of),
            "raw_value": long["raw_value"].str.strip(),
            "source_row": long["source_row"],
        }
    )
