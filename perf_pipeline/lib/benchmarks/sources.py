"""`benchmarks/sources.toml` and the staging of every source's raw rows, stamped with file and hash."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.benchmarks.readers import IMPORTERS
from perf_pipeline.lib.benchmarks.readers.long_csv import LONG_CSV_FIELDS, stage_long_csv
from perf_pipeline.lib.benchmarks.readers.wide_csv import WIDE_CSV_COLUMNS, wide_csv_problems
from perf_pipeline.lib.files import is_inside, relative_to_root, sha256_of
from perf_pipeline.lib.validation import ReferenceDataError

SOURCES_FILE = "sources.toml"

RAW_COLUMNS = [
    "metric",
    "metric_title",
    "unit",
    "source_polarity",
    "area_code",
    "area_name",
    "raw_period",
    "raw_value",
    "source_row",
]


def load_sources(path: Path) -> list[dict]:
    """`benchmarks/sources.toml`: each source's name, file, format, publisher and licence."""
    if not path.is_file():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("source", [])
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError([f"benchmarks/{path.name}: not valid TOML ({exc})"]) from None
    problems, names = [], set()
    for number, entry in enumerate(entries, start=1):
        where = f"benchmarks/{path.name} source {number} ({entry.get('name', 'no name')})"
        for key in ("name", "file", "format", "publisher", "licence"):
            if not entry.get(key):
                problems.append(f"{where}: '{key}' is missing")
        name = entry.get("name", "")
        if name and not re.match(r"^[A-Za-z0-9_.-]+$", name):
            problems.append(f"{where}: the name may hold only letters, digits, '-', '_' and '.'")
        if name in names:
            problems.append(f"{where}: the name '{name}' is used twice")
        names.add(name)
        if entry.get("format") and entry["format"] not in IMPORTERS:
            problems.append(f"{where}: format '{entry['format']}' is not one of {', '.join(IMPORTERS)}")
        file = path.parent / entry.get("file", "")
        if entry.get("file") and not (file.is_file() and is_inside(file, path.parent)):
            problems.append(f"{where}: the file {entry['file']} is not in benchmarks/")
        ours = WIDE_CSV_COLUMNS if entry.get("format") == "wide_csv" else LONG_CSV_FIELDS
        unknown = set(entry.get("columns", {})) - set(ours)
        if unknown:
            problems.append(
                f"{where}: [source.columns] has unknown names {', '.join(sorted(unknown))}; "
                f"ours are {', '.join(ours)}"
            )
        if entry.get("format") == "wide_csv":
            problems.extend(f"{where}: {problem}" for problem in wide_csv_problems(entry))
    if problems:
        raise ReferenceDataError(problems)
    return entries


def create_raw_table(con, table: str = "raw_rows") -> None:
    """The temporary table the importers write raw rows to (all text, but the row number)."""
    types = {c: "VARCHAR" for c in [*RAW_COLUMNS, "source", "file", "file_sha256"]} | {"source_row": "BIGINT"}
    columns_sql = ", ".join(f"{column} {type_name}" for column, type_name in types.items())
    con.execute(f"create or replace temporary table {table} ({columns_sql})")


def stage_sources(
    con, sources: list[dict], benchmarks: Path, data_root: Path, table: str = "raw_rows"
) -> pd.DataFrame:
    """Every source read by its importer into the temporary table `table`, rows stamped with
    source, file and hash; returns a table of the files. Every unreadable source is reported."""
    create_raw_table(con, table)
    files, problems = [], []
    for source in sources:
        path = benchmarks / source["file"]
        stamp = {
            "source": source["name"],
            "file": relative_to_root(path, data_root),
            "file_sha256": sha256_of(path),
        }
        try:
            rows, set_aside = None, {}
            if source["format"] == "long_csv":
                rows = stage_long_csv(con, path, source.get("columns", {}), table, stamp)
            if rows is None:
                raw = IMPORTERS[source["format"]](path, source)
                set_aside = raw.attrs.get("set_aside", {})
                raw = raw.assign(**stamp)
                con.register("imported", raw)
                con.execute(f"insert into {table} by name select * from imported")
                con.unregister("imported")
                rows = len(raw)
        except ReferenceDataError as error:
            problems.extend(f"benchmarks/{source['file']} ({source['name']}): {p}" for p in error.problems)
            continue
        except (
            UnicodeDecodeError,
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
            json.JSONDecodeError,
        ) as error:
            problems.append(
                f"benchmarks/{source['file']} ({source['name']}): the file could not be read as "
                f"{source['format']}: {type(error).__name__}: {str(error)[:200]}"
            )
            continue
        files.append(
            {
                "source": source["name"],
                "file": stamp["file"],
                "format": source["format"],
                "rows": rows,
                # Rows an importer reads but does not take (rows of other bodies, totals, notes).
                "rows_set_aside": "; ".join(f"{reason}: {n}" for reason, n in set_aside.items()),
                "sha256": stamp["file_sha256"],
                "as_declared": source.get("sha256") in (None, stamp["file_sha256"]),
                "publisher": source["publisher"],
                "licence": source["licence"],
            }
        )
    if problems:
        raise ReferenceDataError(problems)
    return pd.DataFrame(files)


def read_sources(sources: list[dict], benchmarks: Path, data_root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`stage_sources` in an in-memory database: the raw rows as a frame, and the files table."""
    import duckdb

    with duckdb.connect() as con:
        files = stage_sources(con, sources, benchmarks, data_root)
        raw = con.execute("select * from raw_rows").fetchdf()
    raw["source_row"] = raw["source_row"].astype("Int64")
    return raw, files
