"""The generic long CSV (`area_code, area_name, period, metric, value`), the file's own column names mapped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perf_pipeline.lib.validation import ReferenceDataError

LONG_CSV_FIELDS = ["area_code", "area_name", "period", "metric", "value", "unit", "polarity", "metric_title"]
LONG_CSV_REQUIRED = ["area_code", "period", "metric", "value"]


def long_csv_columns(file_name: str, header: list[str], columns: dict[str, str]) -> dict[str, str]:
    """Our field name -> the file's column; `columns` maps our names to the file's (any case)."""
    by_lower = {str(c).strip().lower(): c for c in header}
    found, missing = {}, []
    for ours in LONG_CSV_FIELDS:
        theirs = columns.get(ours, ours)
        column = theirs if theirs in header else by_lower.get(str(theirs).strip().lower())
        if column is not None:
            found[ours] = column
        elif ours in LONG_CSV_REQUIRED:
            missing.append(f"'{theirs}' (for {ours})")
    if missing:
        raise ReferenceDataError([f"{file_name}: no column {', '.join(missing)}"])
    return found


def read_long_csv(path: Path, source: dict) -> pd.DataFrame:
    """A long CSV (LG Inform, Trafford Data Lab shape); `[source.columns]` maps our names to the file's."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False)
    except UnicodeDecodeError:  # saved from Excel on Windows
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252", index_col=False)
    found = {
        ours: df[theirs].str.strip()
        for ours, theirs in long_csv_columns(path.name, list(df.columns), source.get("columns", {})).items()
    }
    blank = pd.Series("", index=df.index)
    return pd.DataFrame(
        {
            "metric": found["metric"],
            "metric_title": found.get("metric_title", found["metric"]),
            "unit": found.get("unit", blank),
            "source_polarity": found.get("polarity", blank),
            "area_code": found["area_code"],
            "area_name": found.get("area_name", blank),
            "raw_period": found["period"],
            "raw_value": found["value"],
            "source_row": df.index + 2,
        }
    )


def stage_long_csv(con, path: Path, columns: dict[str, str], table: str, stamp: dict) -> int | None:
    """A long CSV read by DuckDB straight into `table` (national files run to millions of rows).

    Only a file DuckDB reads exactly as `read_long_csv` would (UTF-8, comma-separated, every row
    complete) is read here; for anything else this returns None and the file goes to
    `read_long_csv`, which reads Windows encodings and gives pandas' messages. The file's columns
    are read under names of our own (`c0`, `c1`...), so no text from the file enters the SQL.
    Returns the rows read.
    """
    import duckdb

    try:
        header = [str(c) for c in pd.read_csv(path, nrows=0, dtype=str, encoding="utf-8-sig").columns]
        if any(name.startswith("Unnamed: ") for name in header):
            return None  # a column with no name: pandas' own naming applies
        found = long_csv_columns(path.name, header, columns)
        position = {name: i for i, name in enumerate(header)}

        def field(ours: str, default: str = "''") -> str:
            return default if ours not in found else f"trim(coalesce(c{position[found[ours]]}, ''))"

        columns_sql = (
            f"{field('metric')} as metric, {field('metric_title', field('metric'))} as metric_title, "
            f"{field('unit')} as unit, {field('polarity')} as source_polarity, {field('area_code')} as area_code, "
            f"{field('area_name')} as area_name, {field('period')} as raw_period, {field('value')} as raw_value"
        )
        inserted = con.execute(
            f"insert into {table} by name select {columns_sql}, row_number() over () + 1 as source_row, "
            "$source as source, $file as file, $file_sha256 as file_sha256 from read_csv($path, header = true, "
            "delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', auto_detect = false, columns = $columns)",
            {**stamp, "path": str(path), "columns": {f"c{i}": "VARCHAR" for i in range(len(header))}},
        ).fetchone()[0]
        return inserted
    except (duckdb.Error, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
