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
    "indicator_code": ["indicator_code", "code", "pi_code", "pi", "pi_ref", "indicator",
                       "kpi", "kpi_code", "kpi_ref", "ref", "measure_code"],
    "period": ["period", "quarter", "reporting_period"],
    "value": ["value", "actual", "result", "figure", "outturn"],
    "numerator": ["numerator", "num"],
    "denominator": ["denominator", "denom"],
    "commentary": ["commentary", "comment", "comments", "notes", "narrative"],
    "status": ["status", "data_status"],
    "submitted_by": ["submitted_by", "completed_by", "officer"],
}  # fmt: skip
_ALIAS_TO_FIELD = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
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
    rows: list[dict] = field(default_factory=list)
    problem: str | None = None  # unreadable_file or missing_column
    problem_message: str | None = None


def list_return_files(folder: Path, data_root: Path) -> tuple[list[Path], list[str]]:
    """The files in a quarter's folder, and the names passed over (hidden and lock files)."""
    if not folder.is_dir():
        return [], []
    files, ignored = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        name = path.name
        if name.startswith(".") or name.startswith("~$"):
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
        return _unreadable(rel, "", file_format, "it is a link to a file outside the data folder, which is never read")
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
        return ReturnFile(rel, sha, file_format, problem="empty_file",
                          problem_message="The file is empty: it has no rows of figures.")  # fmt: skip
    result = _read_csv(rel, sha, data) if suffix == ".csv" else _read_xlsx(rel, sha, data)
    if result.problem is None and not result.rows:
        result.problem = "empty_file"
        result.problem_message = "The file has a header but no rows of figures."
    return result


RAW_COLUMNS = [
    "file", "file_sha256", "file_format", "encoding", "sheet", "row_number", *FIELDS,
    "other_columns", "file_problem", "file_problem_message",
]  # fmt: skip


def raw_frame(files: list[ReturnFile]) -> pd.DataFrame:
    """Every row of every file as text; a file with no readable rows gives one record of its own.

    `row_number` is blank only on such file records.
    """
    records = []
    for f in files:
        identity = {"file": f.file, "file_sha256": f.sha256, "file_format": f.file_format,
                    "encoding": f.encoding or "", "sheet": f.sheet or "",
                    "file_problem": f.problem or "", "file_problem_message": f.problem_message or ""}  # fmt: skip
        if not f.rows:
            records.append({**identity, "row_number": None})
        records.extend({**identity, **row} for row in f.rows)
    df = pd.DataFrame.from_records(records, columns=RAW_COLUMNS)
    text_columns = [c for c in RAW_COLUMNS if c != "row_number"]
    df[text_columns] = df[text_columns].fillna("").astype("string")
    df["row_number"] = df["row_number"].astype("Int64")
    return df


def _unreadable(rel: str, sha: str, file_format: str, message: str) -> ReturnFile:
    return ReturnFile(rel, sha, file_format, problem="unreadable_file",
                      problem_message=f"The file could not be read: {message}.")  # fmt: skip


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


def _read_csv(rel: str, sha: str, data: bytes) -> ReturnFile:
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return _unreadable(rel, sha, "csv", "it is a spreadsheet saved with a .csv name; send it as .xlsx or save it as CSV")
    if _looks_binary(data) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _unreadable(rel, sha, "csv", "it holds binary data, not text")
    text, encoding = decode_text(data)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        return _unreadable(rel, sha, "csv", f"the CSV layout is broken ({exc})")
    result = ReturnFile(rel, sha, "csv", encoding=encoding)
    _take_rows(result, list(enumerate(records, start=1)))
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


def _read_xlsx(rel: str, sha: str, data: bytes) -> ReturnFile:
    import openpyxl  # imported here: only assets that read workbooks pay for it

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return _unreadable(rel, sha, "xlsx", "it is password-protected or an old-format workbook; remove the password and save it as .xlsx")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        reason = "it is damaged or not a complete Excel workbook"
        return _unreadable(rel, sha, "xlsx", f"{reason} ({type(exc).__name__})")
    try:
        best: tuple[int, str, list] | None = None
        for sheet in workbook.worksheets:
            rows = []
            for number, row in enumerate(sheet.iter_rows(), start=sheet.min_row or 1):
                rows.append((number, [_cell_text(cell) for cell in row]))
            score = _header_score(rows)
            if best is None or score > best[0]:
                best = (score, sheet.title, rows)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        return _unreadable(rel, sha, "xlsx", f"it is damaged ({type(exc).__name__})")
    finally:
        workbook.close()
    if best is None:
        return _unreadable(rel, sha, "xlsx", "the workbook has no sheets")
    result = ReturnFile(rel, sha, "xlsx", sheet=best[1])
    _take_rows(result, best[2])
    return result


def _header_fields(cells: list[str]) -> dict[int, str]:
    found = {}
    for position, cell in enumerate(cells):
        name = _ALIAS_TO_FIELD.get(normalise_header(cell))
        if name and name not in found.values():
            found[position] = name
    return found


def _header_score(rows: list[tuple[int, list[str]]]) -> int:
    best = 0
    for _, cells in rows[:HEADER_SEARCH_ROWS]:
        fields = _header_fields(cells)
        best = max(best, len(fields) + 10 * ("indicator_code" in fields.values()))
    return best


def _take_rows(result: ReturnFile, rows: list[tuple[int, list[str]]]) -> None:
    """Find the header (title rows above it are allowed), then keep every non-blank row below."""
    header_index, fields = None, {}
    for index, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        candidate = _header_fields(cells)
        if "indicator_code" in candidate.values() and len(candidate) >= 2:
            header_index, fields = index, candidate
            break
        if header_index is None and len(candidate) >= 2:
            header_index, fields = index, candidate
    if header_index is None:
        header_index = next((i for i, (_, cells) in enumerate(rows) if any(c.strip() for c in cells)), 0)
    header_cells = rows[header_index][1] if rows else []
    result.header_row = rows[header_index][0] if rows else None
    result.columns = {name: header_cells[pos] for pos, name in fields.items()}
    others = {pos: (cell.strip() or f"column {pos + 1}") for pos, cell in enumerate(header_cells)
              if pos not in fields}  # fmt: skip
    missing = _missing_columns(fields)
    if missing:
        result.problem = "missing_column"
        result.problem_message = missing
    for number, cells in rows[header_index + 1 :]:
        if not any(cell.strip() for cell in cells):
            continue
        record = {name: (cells[pos].strip() if pos < len(cells) else "") for pos, name in fields.items()}
        for name in FIELDS:
            record.setdefault(name, "")
        extra = {label: cells[pos] for pos, label in others.items() if pos < len(cells) and cells[pos].strip()}
        extra.update({f"column {pos + 1}": cells[pos] for pos in range(len(header_cells), len(cells))
                      if cells[pos].strip()})  # fmt: skip
        record["row_number"] = number
        record["other_columns"] = json.dumps(extra, ensure_ascii=False) if extra else ""
        result.rows.append(record)


def _missing_columns(fields: dict[int, str]) -> str | None:
    present = set(fields.values())
    if "indicator_code" not in present:
        return ("The file has no indicator code column (a header such as 'Indicator Code' or "
                "'PI Code'), so no row can be matched to an indicator.")  # fmt: skip
    if "value" not in present and not {"numerator", "denominator"} <= present:
        return ("The file has no value column (a header such as 'Value' or 'Actual'), nor "
                "numerator and denominator columns.")  # fmt: skip
    return None
