"""Reading service returns as received: lenient about form, exact about where each row came from.

A return is a `.csv` (UTF-8 with or without BOM, Windows-1252, or a mix line by line) or an
`.xlsx` workbook, possibly with title rows above the header. Every non-blank row is kept as text
with its file, the file's sha256 and the row number a spreadsheet program shows. A file that
cannot be read becomes one record naming the problem, so nothing disappears without trace.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import numpy as np
import pandas as pd

from perf_pipeline.lib.files import is_inside, relative_to_root, sha256_of

FIELDS = [
    "indicator_code",
    "period",
    "value",
    "numerator",
    "denominator",
    "commentary",
    "status",
    "submitted_by",
]

# Header names as services write them, after normalising case, spaces, hyphens and underscores.
ALIASES = {
    "indicator_code": [
        "indicator_code",
        "code",
        "pi_code",
        "pi",
        "pi_ref",
        "indicator",
        "kpi",
        "kpi_code",
        "kpi_ref",
        "ref",
        "measure_code",
    ],
    "period": ["period", "quarter", "reporting_period"],
    "value": ["value", "actual", "result", "figure", "outturn"],
    "numerator": ["numerator", "num"],
    "denominator": ["denominator", "denom"],
    "commentary": ["commentary", "comment", "comments", "notes", "narrative"],
    "status": ["status", "data_status"],
    "submitted_by": ["submitted_by", "completed_by", "officer"],
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
ROW_COLUMNS = ["row_number", *FIELDS, "other_columns"]
HEADER_SEARCH_ROWS = 15
LEGACY_ENCODINGS = ["cp1252", "latin_1", "utf_16"]
RETURN_SUFFIXES = {".csv", ".xlsx", ".xlsm"}


def normalise_header(text: object) -> str:
    cleaned = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return re.sub(r"[\s\-_]+", "_", cleaned).strip("_:.")


@dataclass
class ReturnFile:
    """One file as read: its identity, how it was read, and its rows (or why it could not be)."""

    file: str
    sha256: str
    file_format: str
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # our field -> the file's header
    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROW_COLUMNS))
    problem: str | None = None  # unreadable_file, empty_file or missing_column
    problem_message: str | None = None

    @property
    def row_count(self) -> int:
        return len(self.table)

    @property
    def rows(self) -> list[dict]:
        """The rows as records, for reading a small file row by row."""
        return self.table.to_dict("records")


def list_return_files(folder: Path, data_root: Path) -> tuple[list[Path], list[str]]:
    """The files in a quarter's folder, and the names passed over (hidden and lock files)."""
    if not folder.is_dir():
        return [], []
    files, ignored = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        name = path.name
        if name.startswith((".", "~$")):
            ignored.append(relative_to_root(path, data_root))
            continue
        files.append(path)
    return files, ignored


def read_return(path: Path, data_root: Path) -> ReturnFile:
    """Read one return file, never raising for what is inside it."""
    rel = relative_to_root(path, data_root)
    suffix = path.suffix.lower()
    file_format = suffix.lstrip(".") or "none"
    if path.is_symlink() and not is_inside(path, data_root):
        return _unreadable(
            rel, "", file_format, "it is a link to a file outside the data folder, which is never read"
        )
    if not path.is_file():
        return _unreadable(rel, "", file_format, "it is not a regular file")
    sha = sha256_of(path)
    if suffix not in RETURN_SUFFIXES:
        message = (
            "it is an old .xls workbook; save it as .xlsx and send it again"
            if suffix == ".xls"
            else f"'{suffix or 'no extension'}' is not a return format; send a .csv or .xlsx file"
        )
        return _unreadable(rel, sha, file_format, message)
    data = path.read_bytes()
    if not data.strip():
        return ReturnFile(
            rel,
            sha,
            file_format,
            problem="empty_file",
            problem_message="The file is empty: it has no rows of figures.",
        )
    result = _read_csv(rel, sha, data) if suffix == ".csv" else _read_xlsx(rel, sha, data)
    if result.problem is None and result.table.empty:
        result.problem = "empty_file"
        result.problem_message = "The file has a header but no rows of figures."
    return result


RAW_COLUMNS = [
    "file",
    "file_sha256",
    "file_format",
    "encoding",
    "sheet",
    "row_number",
    *FIELDS,
    "other_columns",
    "file_problem",
    "file_problem_message",
]


def raw_frame(files: list[ReturnFile]) -> pd.DataFrame:
    """Every row of every file as text; a file with no readable rows gives one record of its own.

    `row_number` is blank only on such file records.
    """
    frames = []
    for f in files:
        identity = {
            "file": f.file,
            "file_sha256": f.sha256,
            "file_format": f.file_format,
            "encoding": f.encoding or "",
            "sheet": f.sheet or "",
            "file_problem": f.problem or "",
            "file_problem_message": f.problem_message or "",
        }
        rows = (
            f.table
            if len(f.table)
            else pd.DataFrame({"row_number": [None], **{c: [""] for c in ROW_COLUMNS[1:]}})
        )
        frames.append(rows.assign(**identity))
    if not frames:
        return pd.DataFrame(
            {c: pd.Series(dtype="Int64" if c == "row_number" else "string") for c in RAW_COLUMNS}
        )
    df = pd.concat(frames, ignore_index=True)[RAW_COLUMNS]
    return df.astype({c: "Int64" if c == "row_number" else "string" for c in RAW_COLUMNS})


def _unreadable(rel: str, sha: str, file_format: str, message: str) -> ReturnFile:
    return ReturnFile(
        rel,
        sha,
        file_format,
        problem="unreadable_file",
        problem_message=f"The file could not be read: {message}.",
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (BOM or not) first; else a legacy code page found by detection.

    A file pasted together from two sources can mix encodings: each line that is valid UTF-8 is
    read as UTF-8, the others in the detected legacy code page.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines = data.splitlines(keepends=True)
    legacy_bytes, decoded_utf8 = [], 0
    for line in lines:
        try:
            line.decode("utf-8")
            decoded_utf8 += any(b > 127 for b in line)
        except UnicodeDecodeError:
            legacy_bytes.append(line)
    match = charset_normalizer.from_bytes(b"".join(legacy_bytes), cp_isolation=LEGACY_ENCODINGS).best()
    legacy = match.encoding if match else "cp1252"
    out = []
    for line in lines:
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode(legacy, errors="replace"))
    return "".join(out), (f"utf-8+{legacy}" if decoded_utf8 else legacy)


def _looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > len(sample) * 0.05


class UnreadableFile(Exception):
    """Why a file cannot be read, in words for the person who sent it."""


def csv_grid(data: bytes) -> tuple[pd.DataFrame, str]:
    """A CSV file's cells as text, one row per record, and the encoding it was read in.

    Raises `UnreadableFile` for what no spreadsheet program would open as a table.
    """
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise UnreadableFile("it is a spreadsheet saved with a .csv name; send it as .xlsx or save it as CSV")
    if _looks_binary(data) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("it holds binary data, not text")
    text, encoding = decode_text(data)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    # pandas' C parser reads a regular file (as a big one is) fast; Python's csv takes rows of any
    # length. Both number a blank line as a row, as a spreadsheet program does.
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        grid = pd.DataFrame.from_records(_csv_records(text, delimiter)).fillna("")
    return grid, encoding


def _csv_records(text: str, delimiter: str) -> list[list[str]]:
    """Read strictly first, so that a quote opened and never closed is reported instead of
    silently swallowing every row after it; other strict complaints (`"a"b`) are read leniently,
    as a spreadsheet program would."""
    records: list[list[str]] = []
    try:
        try:
            records.extend(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise UnreadableFile(
                    f"the quoted text that starts on row {len(records) + 1} is never closed "
                    '(a " is missing), so the rows after it cannot be told apart'
                ) from None
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise UnreadableFile(f"a cell holds more than {csv.field_size_limit():,} characters") from None
        raise UnreadableFile(f"the CSV layout is broken ({exc})") from None
    return records


def _read_csv(rel: str, sha: str, data: bytes) -> ReturnFile:
    try:
        grid, encoding = csv_grid(data)
    except UnreadableFile as problem:
        return _unreadable(rel, sha, "csv", str(problem))
    result = ReturnFile(rel, sha, "csv", encoding=encoding)
    _take_rows(result, 1, grid)
    return result


def _cell_text(cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        number_format = getattr(cell, "number_format", "") or ""
        if "%" in number_format:
            return f"{_number_text(value * 100)}%"
        return _number_text(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _number_text(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 10))


_XLSX_ERRORS = (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, TypeError, AttributeError)


def _read_xlsx(rel: str, sha: str, data: bytes) -> ReturnFile:
    import openpyxl  # imported here: only assets that read workbooks pay for it

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return _unreadable(
            rel,
            sha,
            "xlsx",
            "it is password-protected or an old-format workbook; remove the password and save it as .xlsx",
        )
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        reason = "it is damaged or not a complete Excel workbook"
        return _unreadable(rel, sha, "xlsx", f"{reason} ({type(exc).__name__})")
    try:
        # The sheet with the recognisable header: a cover or notes sheet may come first.
        best: tuple[int, str, int, list] | None = None
        for sheet in workbook.worksheets:
            grid = [[_cell_text(cell) for cell in row] for row in sheet.iter_rows()]
            score = _header_score(grid)
            if best is None or score > best[0]:
                best = (score, sheet.title, sheet.min_row or 1, grid)
        if best is not None and _has_formulas(data):
            _show_unsaved_formulas(data, best[1], best[3])
    except _XLSX_ERRORS as exc:
        return _unreadable(rel, sha, "xlsx", f"it is damaged ({type(exc).__name__})")
    finally:
        workbook.close()
    if best is None:
        return _unreadable(rel, sha, "xlsx", "the workbook has no sheets")
    result = ReturnFile(rel, sha, "xlsx", sheet=best[1])
    _take_rows(result, best[2], pd.DataFrame.from_records(best[3]).fillna(""))
    return result


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        return any(_FORMULA_TAG.search(archive.read(name)) for name in sheets)


def _show_unsaved_formulas(data: bytes, title: str, grid: list[list[str]]) -> None:
    """Put the formula itself where a formula cell has no saved result.

    Excel saves each formula's result beside it, and that result is what is read. A workbook
    written by a program that does not calculate (a script, some exports) saves none; such a cell
    would read as blank, that is "not reported". Showing the formula instead lets validation say
    what is wrong: the figure itself was never in the file.
    """
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        for cells, row in zip(grid, workbook[title].iter_rows()):
            for position, cell in enumerate(row):
                if cell.data_type == "f" and position < len(cells) and not cells[position]:
                    cells[position] = str(cell.value)
    finally:
        workbook.close()


def _header_fields(cells: list[str]) -> dict[int, str]:
    found = {}
    for position, cell in enumerate(cells):
        name = _ALIAS_TO_FIELD.get(normalise_header(cell))
        if name and name not in found.values():
            found[position] = name
    return found


def _header_at(rows: list[list[str]], index: int) -> tuple[dict[int, str], list[str]]:
    """The fields a row names, reading a blank heading from the row above it.

    A heading merged down over two rows (`PI Code` over A1:A2, beside `Figures` over B1:C1 with
    `Numerator` and `Denominator` below) leaves the lower row blank in that column, in a workbook
    and in a CSV saved from one; the heading above stands for it.
    """
    cells = rows[index]
    fields = _header_fields(cells)
    if index == 0 or ("indicator_code" in fields.values() and len(fields) >= 2):
        return fields, cells
    above = rows[index - 1]
    merged = [cell if cell.strip() or pos >= len(above) else above[pos] for pos, cell in enumerate(cells)]
    merged_fields = _header_fields(merged)
    if "indicator_code" in merged_fields.values() and len(merged_fields) >= 2:
        return merged_fields, merged
    return fields, cells


def _header_score(rows: list[list[str]]) -> int:
    best = 0
    for index in range(min(len(rows), HEADER_SEARCH_ROWS)):
        fields, _ = _header_at(rows, index)
        best = max(best, len(fields) + 10 * ("indicator_code" in fields.values()))
    return best


def _find_header(rows: list[list[str]]) -> tuple[int, dict[int, str], list[str]] | None:
    """The header row (title rows above it are allowed): the first naming the indicator code and
    another field (or the row below it, when that row completes a heading merged over both);
    else the first naming two fields."""
    found = None
    for index in range(min(len(rows), HEADER_SEARCH_ROWS)):
        fields, cells = _header_at(rows, index)
        if "indicator_code" in fields.values() and len(fields) >= 2:
            if index + 1 < len(rows):
                below, below_cells = _header_at(rows, index + 1)
                if "indicator_code" in below.values() and len(below) > len(fields):
                    return index + 1, below, below_cells
            return index, fields, cells
        if found is None and len(fields) >= 2:
            found = (index, fields, cells)
    return found


def _take_rows(result: ReturnFile, first_row: int, grid: pd.DataFrame) -> None:
    """Find the header, then keep every non-blank row below it, numbered as a spreadsheet shows.

    `grid` holds the file's rows as text, the first being row `first_row`. Read column by column
    rather than row by row, so that a return of a million rows is read in seconds.
    """
    if grid.empty:
        return
    stripped = {pos: grid[pos].str.strip() for pos in grid.columns}
    filled = pd.concat([text.ne("") for text in stripped.values()], axis=1).set_axis(grid.columns, axis=1)
    nonblank = filled.any(axis=1).to_numpy()
    head = grid.head(HEADER_SEARCH_ROWS).to_numpy().tolist()
    header_index, fields, header_cells = _find_header(head) or (int(nonblank.argmax()), {}, [])
    header_cells = header_cells or grid.iloc[header_index].tolist()
    result.header_row = first_row + header_index
    result.columns = {name: header_cells[pos] for pos, name in fields.items()}
    missing = _missing_columns(fields)
    if missing:
        result.problem = "missing_column"
        result.problem_message = missing
    keep = nonblank.copy()
    keep[: header_index + 1] = False
    table = pd.DataFrame({"row_number": first_row + np.flatnonzero(keep)})
    by_field = {name: pos for pos, name in fields.items()}
    for name in FIELDS:
        table[name] = stripped[by_field[name]].to_numpy()[keep] if name in by_field else ""
    labels = {
        pos: (header_cells[pos].strip() if pos < len(header_cells) else "") or f"column {pos + 1}"
        for pos in grid.columns
        if pos not in fields
    }
    table["other_columns"] = ""
    if labels:
        extra = filled[list(labels)].any(axis=1).to_numpy() & keep
        texts = [
            json.dumps(
                {labels[pos]: cell for pos, cell in zip(labels, cells) if cell.strip()}, ensure_ascii=False
            )
            for cells in grid.loc[extra, list(labels)].itertuples(index=False)
        ]
        table.loc[extra[keep], "other_columns"] = texts
    result.table = table


def _missing_columns(fields: dict[int, str]) -> str | None:
    present = set(fields.values())
    if "indicator_code" not in present:
        return (
            "The file has no indicator code column (a header such as 'Indicator Code' or "
            "'PI Code'), so no row can be matched to an indicator."
        )
    if "value" not in present and not {"numerator", "denominator"} <= present:
        return (
            "The file has no value column (a header such as 'Value' or 'Actual'), nor "
            "numerator and denominator columns."
        )
    return None
