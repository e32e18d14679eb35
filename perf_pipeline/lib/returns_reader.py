"""Reading service returns as received: lenient about form, exact about where each row came from.

A return is a `.csv` (UTF-8 with or without BOM, Windows-1252, or a mix line by line; UTF-16)
or an `.xlsx` workbook, possibly with title rows above the header. Every non-blank row is kept as
text with its file, the file's sha256 and the row number a spreadsheet program shows. A file that
cannot be read becomes one record naming the problem, so nothing disappears without trace.

Reading is bounded whatever a file claims about itself: bytes, cells and columns are limited
(`[limits]` in `council.toml`), a workbook's own `<dimension>` is never trusted, and its XML is
parsed with entity expansion and DTDs refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import numpy as np
import pandas as pd

from perf_pipeline.lib.files import link_problem, relative_to_root, sha256_of
from perf_pipeline.lib.validation import ReferenceDataError

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
# Past the first 15 rows a header is not used (a data row could look like one), but it is looked
# for this far down, so that the message can say where it is.
HEADER_HINT_ROWS = 500
LEGACY_ENCODINGS = ["cp1252", "latin_1", "utf_16"]
RETURN_SUFFIXES = {".csv", ".xlsx", ".xlsm"}


@dataclass(frozen=True)
class ReadLimits:
    """How much of a file is read before it is refused (`[limits]` in `council.toml`).

    The defaults read a return of a million rows of ten columns, and refuse before memory grows
    past about 1 GiB: a workbook's cell at XFD1048576 or a line of millions of cells costs
    seconds, not the machine.
    """

    max_file_bytes: int = 256 * 2**20
    max_cells: int = 12_000_000
    max_columns: int = 1_000

    @staticmethod
    def too_large(what: str, limit: int) -> UnreadableFile:
        return UnreadableFile(
            f"it has {what}, more than the {limit:,} a return may have; send only the table of "
            "figures (the limit is [limits] in council.toml)"
        )


def read_limits(council: dict) -> ReadLimits:
    """The limits in `council.toml` (`[limits]`: max_file_bytes, max_cells, max_columns)."""
    given = council.get("limits", {})
    defaults = ReadLimits()
    problems = [
        f"council.toml: [limits] {key} must be a whole number above 0"
        for key, value in given.items()
        if key not in defaults.__dataclass_fields__
        or not isinstance(value, int)
        or isinstance(value, bool)
        or value < 1
    ]
    if problems:
        raise ReferenceDataError(problems)
    return ReadLimits(**given)


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
    delimiter: str | None = None
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
    """The files in a quarter's folder, and the names passed over (hidden and lock files).

    Links are not followed into folders (a link loop cannot make the walk endless); a link is
    listed as a file, and reading it says what is wrong with it.
    """
    if not folder.is_dir():
        return [], []
    files, ignored = [], []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        links = [d for d in dirnames if (here / d).is_symlink()]
        dirnames[:] = sorted(d for d in dirnames if d not in links)
        for name in sorted(filenames + links):
            path = here / name
            if name.startswith((".", "~$")):
                ignored.append(relative_to_root(path, data_root))
                continue
            files.append(path)
    return sorted(files), ignored


def read_return(path: Path, data_root: Path, limits: ReadLimits | None = None) -> ReturnFile:
    """Read one return file, never raising for what is inside it."""
    rel = relative_to_root(path, data_root)
    file_format = path.suffix.lower().lstrip(".") or "none"
    try:
        return _read_return(path, rel, data_root, limits or ReadLimits())
    except UnreadableFile as problem:
        return _unreadable(rel, _sha_or_blank(path), file_format, str(problem))
    except Exception as exc:  # noqa: BLE001 -- the last guard: one file never stops the quarter
        return _unreadable(
            rel,
            _sha_or_blank(path),
            file_format,
            f"it could not be read ({type(exc).__name__}); send it to the performance team, who can "
            "see what is wrong with it",
        )


def _sha_or_blank(path: Path) -> str:
    try:
        return sha256_of(path) if path.is_file() else ""
    except OSError:
        return ""


def _read_return(path: Path, rel: str, data_root: Path, limits: ReadLimits) -> ReturnFile:
    suffix = path.suffix.lower()
    file_format = suffix.lstrip(".") or "none"
    problem = link_problem(path, data_root)
    if problem:
        return _unreadable(rel, "", file_format, problem)
    sha = sha256_of(path)
    if suffix not in RETURN_SUFFIXES:
        message = (
            "it is an old .xls workbook; save it as .xlsx and send it again"
            if suffix == ".xls"
            else f"'{suffix or 'no extension'}' is not a return format; send a .csv or .xlsx file"
        )
        return _unreadable(rel, sha, file_format, message)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise limits.too_large(f"{size:,} bytes", limits.max_file_bytes)
    data = path.read_bytes()
    if not data.strip():
        return ReturnFile(
            rel,
            sha,
            file_format,
            problem="empty_file",
            problem_message="The file is empty: it has no rows of figures.",
        )
    result = _read_csv(rel, sha, data, limits) if suffix == ".csv" else _read_xlsx(rel, sha, data, limits)
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
    "delimiter",
    "row_number",
    *FIELDS,
    "other_columns",
    "file_problem",
    "file_problem_message",
]


def raw_frame(files: list[ReturnFile]) -> pd.DataFrame:
    """Every row of every file as text; a file with no readable rows gives one record of its own.

    `row_number` is blank only on such file records. Built column by column from the files'
    arrays (each file's identity repeated, its rows' text concatenated), so that the frame of a
    return of a million rows is made once, not copied and converted.
    """
    tables = [f.table if len(f.table) else _FILE_RECORD for f in files]
    lengths = [len(table) for table in tables]
    identities = {
        "file": [f.file for f in files],
        "file_sha256": [f.sha256 for f in files],
        "file_format": [f.file_format for f in files],
        "encoding": [f.encoding or "" for f in files],
        "sheet": [f.sheet or "" for f in files],
        "delimiter": [f.delimiter or "" for f in files],
        "file_problem": [f.problem or "" for f in files],
        "file_problem_message": [f.problem_message or "" for f in files],
    }
    columns = {}
    for column in RAW_COLUMNS:
        if column == "row_number":
            numbers = [pd.array(table["row_number"], dtype="Int64") for table in tables]
            columns[column] = pd.array(np.concatenate(numbers) if numbers else [], dtype="Int64")
            continue
        if column in identities:
            text = np.repeat(np.array(identities[column], dtype=object), lengths)
        else:
            parts = [table[column].to_numpy(dtype=object) for table in tables]
            text = np.concatenate(parts) if parts else np.array([], dtype=object)
        columns[column] = pd.array(text, dtype="string")
    return pd.DataFrame(columns, copy=False)


# The record of a file with no readable rows: no row number, every field blank.
_FILE_RECORD = pd.DataFrame({"row_number": [None], **{c: [""] for c in ROW_COLUMNS[1:]}})


def _unreadable(rel: str, sha: str, file_format: str, message: str) -> ReturnFile:
    return ReturnFile(
        rel,
        sha,
        file_format,
        problem="unreadable_file",
        problem_message=f"The file could not be read: {message}.",
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (BOM or not) first; UTF-16 (BOM or not); else a legacy code page
    found by detection.

    A file pasted together from two sources can mix encodings: each line that is valid UTF-8 is
    read as UTF-8, the others in the detected legacy code page.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    unmarked = _utf16_without_bom(data)
    if unmarked:
        try:
            return data.decode(unmarked), f"{unmarked} (no BOM)"
        except UnicodeDecodeError:
            pass
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


def _utf16_without_bom(data: bytes) -> str | None:
    """`utf-16-le` or `utf-16-be` when every other byte is zero, as in UTF-16 text of Latin letters
    saved without its byte order mark; else None."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _looks_binary(data: bytes) -> bool:
    """Control characters other than tabs and line ends in more than 5% of the first 4 KB, or
    zero bytes in more than 10%: no text file has so many."""
    sample = data[:4096]
    controls = sum(1 for b in sample if 0 < b < 9 or 13 < b < 32)
    return controls > len(sample) * 0.05 or sample.count(0) > len(sample) * 0.1


# A zero byte ends a string for the warehouse and for most programs, and would hide what follows
# it (`28\0 8` read as 28). It is kept, visibly, as the four characters `\x00`.
NUL_SHOWN_AS = "\\x00"


class UnreadableFile(Exception):
    """Why a file cannot be read, in words for the person who sent it."""


def csv_grid(data: bytes, limits: ReadLimits | None = None) -> tuple[pd.DataFrame, str, str]:
    """A CSV file's cells as text, one row per record, the encoding it was read in and its
    delimiter.

    Raises `UnreadableFile` for what no spreadsheet program would open as a table, and for a
    file larger than `limits` allow (checked before the cells are made).
    """
    limits = limits or ReadLimits()
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise UnreadableFile("it is a spreadsheet saved with a .csv name; send it as .xlsx or save it as CSV")
    if (
        not data.startswith((b"\xff\xfe", b"\xfe\xff"))
        and not _utf16_without_bom(data)
        and _looks_binary(data)
    ):
        raise UnreadableFile("it holds binary data, not text")
    text, encoding = decode_text(data)
    text = text.replace("\x00", NUL_SHOWN_AS)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    _check_size(text, delimiter, limits)
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
    return grid, encoding, delimiter


_QUOTED = re.compile(r'"[^"]*"')


def _check_size(text: str, delimiter: str, limits: ReadLimits) -> None:
    """Refuse a table wider or larger than the limits, counted before any cell is made: the cells
    of a line are its delimiters outside quoted text, plus one, and the table read is as wide as
    its widest line. Counted with numpy over the text's bytes (the delimiter and the line end are
    single bytes in UTF-8): a tenth of a second for a million lines."""
    bare = _QUOTED.sub("", text) if '"' in text else text
    data = np.frombuffer(bare.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    if not bare.endswith("\n"):  # the last line has no line end of its own
        ends = np.append(ends, len(data))
    cells = np.diff(np.searchsorted(np.flatnonzero(data == ord(delimiter)), ends), prepend=0) + 1
    widest = int(cells.max(initial=1))
    if widest > limits.max_columns:
        raise limits.too_large(f"a row of {widest:,} cells", limits.max_columns)
    if len(ends) * widest > limits.max_cells:
        raise limits.too_large(f"{len(ends):,} rows of up to {widest:,} cells", limits.max_cells)


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


def _read_csv(rel: str, sha: str, data: bytes, limits: ReadLimits) -> ReturnFile:
    try:
        grid, encoding, delimiter = csv_grid(data, limits)
    except UnreadableFile as problem:
        return _unreadable(rel, sha, "csv", str(problem))
    result = ReturnFile(rel, sha, "csv", encoding=encoding, delimiter=delimiter)
    _take_rows(result, np.arange(1, len(grid) + 1), grid)
    return result


def _cell_text(cell) -> str:
    return _value_text(cell.value, getattr(cell, "number_format", "") or "")


def _value_text(value, number_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
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


# What a damaged or hostile workbook raises from openpyxl, zipfile or the XML parser (defusedxml's
# refusals of DTDs and entities are ValueErrors; a malformed document is a SyntaxError).
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    OSError,
    ValueError,
    EOFError,
    TypeError,
    AttributeError,
    IndexError,
    SyntaxError,
)


@dataclass
class Sheet:
    title: str
    visible: bool
    row_numbers: list[int]
    rows: list[list[str]]

    @property
    def data_rows(self) -> int:
        """Rows below a recognisable header: 0 when the sheet has no header naming the code."""
        found = _find_header(self.rows[:HEADER_SEARCH_ROWS])
        if found is None or "indicator_code" not in found[1].values():
            return 0
        return sum(any(c.strip() for c in row) for row in self.rows[found[0] + 1 :])


def _read_xlsx(rel: str, sha: str, data: bytes, limits: ReadLimits) -> ReturnFile:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return _unreadable(
            rel,
            sha,
            "xlsx",
            "it is password-protected or an old-format workbook; remove the password and save it as .xlsx",
        )
    if not data.startswith(b"PK"):
        hint = (
            "it is a text (CSV) file saved with an .xlsx name; rename it .csv, or open it in Excel "
            "and save it as an Excel workbook"
            if not _looks_binary(data) or _utf16_without_bom(data)
            else "it is not an Excel workbook"
        )
        return _unreadable(rel, sha, "xlsx", hint)
    try:
        sheets = workbook_sheets(data, limits)
    except UnreadableFile as problem:
        return _unreadable(rel, sha, "xlsx", str(problem))
    except _XLSX_ERRORS as exc:
        reason = "it is damaged or not a complete Excel workbook"
        return _unreadable(rel, sha, "xlsx", f"{reason} ({type(exc).__name__}); save it again from Excel")
    if not sheets:
        return _unreadable(rel, sha, "xlsx", "the workbook has no sheets")
    visible = [sheet for sheet in sheets if sheet.visible]
    with_data = [sheet for sheet in visible if sheet.data_rows]
    if len(with_data) > 1:
        names = ", ".join(f"'{sheet.title}'" for sheet in with_data)
        return ReturnFile(
            rel,
            sha,
            "xlsx",
            problem="several_data_sheets",
            problem_message=(
                f"The workbook has figures on more than one sheet ({names}), and which of them is "
                "the return cannot be told: put every figure on one sheet (others may hold notes) "
                "and send it again. Nothing from this file was used."
            ),
        )
    hidden_data = [sheet.title for sheet in sheets if not sheet.visible and sheet.data_rows]
    if not with_data and hidden_data:
        return _unreadable(
            rel,
            sha,
            "xlsx",
            f"its figures are only on the hidden sheet '{hidden_data[0]}', which is never read (a "
            "hidden sheet often holds old figures); unhide it, or copy the figures to a visible sheet",
        )
    # The sheet with the recognisable header: a cover or notes sheet may come first.
    chosen = (
        with_data[0] if with_data else max(visible or sheets, key=lambda sheet: _header_score(sheet.rows))
    )
    result = ReturnFile(rel, sha, "xlsx", sheet=chosen.title)
    _take_rows(
        result, np.array(chosen.row_numbers, dtype=int), pd.DataFrame.from_records(chosen.rows).fillna("")
    )
    return result


def workbook_sheets(data: bytes, limits: ReadLimits) -> list[Sheet]:
    """Every sheet's non-blank rows as text, each with the row number Excel shows.

    openpyxl reads the workbook's parts (its sheets, which are hidden, shared strings and number
    formats); the sheets' cells are read here, as a stream with Python's C XML parser, because
    openpyxl's own reading of them takes minutes for a large return and loses cells silently: a
    row or cell numbered twice, or out of order, is skipped or overwritten. The `<dimension>` a
    workbook states is never used (writers get it wrong), and the limits are counted as the cells
    are read, so nothing is built past them.
    """
    from openpyxl.reader.excel import ExcelReader  # imported here: only assets that read workbooks pay for it

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(item.file_size for item in archive.infolist())
        if unpacked > limits.max_file_bytes:
            raise limits.too_large(f"{unpacked:,} bytes when unpacked", limits.max_file_bytes)
        for name in archive.namelist():  # openpyxl's parts, before openpyxl reads them
            if name.lower().endswith((".xml", ".rels")):
                with archive.open(name) as stream:
                    _refuse_doctype(stream)
    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    try:
        counted = _Count(limits)
        _count_shared_strings(reader, counted)
        reader.read()
        sheets = []
        for sheet, part in reader.parser.find_sheets():
            if part.target not in reader.valid_files or "chartsheet" in part.Type:
                continue  # as openpyxl: a chart has no cells
            cells = _SheetCells(sheet.name, reader, counted)
            with reader.archive.open(part.target) as stream:  # whatever its name
                _refuse_doctype(stream)
            with reader.archive.open(part.target) as stream:
                row_numbers, rows = cells.read(stream)
            sheets.append(Sheet(sheet.name, (sheet.state or "visible") == "visible", row_numbers, rows))
    finally:
        reader.archive.close()
    return sheets


def _count_shared_strings(reader, counted: _Count) -> None:
    """Count the workbook's shared strings toward the cells before openpyxl reads them all: a
    string costs what a cell costs, and a small zip can hold millions of them."""
    from openpyxl.xml.constants import SHARED_STRINGS

    reader.read_manifest()
    part = reader.package.find(SHARED_STRINGS)
    if part is None:
        return
    with reader.archive.open(part.PartName[1:]) as stream:
        tail = b""
        while chunk := stream.read(1 << 20):
            text = tail + chunk
            # A tag starting in the last bytes may be cut off: it is counted with the next chunk.
            keep = max(len(text) - 64, 0)
            for tag in _STRING_TAG.finditer(text, 0, len(text)):
                if tag.start() < keep:
                    counted.one()
            tail = text[keep:]
        for _ in _STRING_TAG.finditer(tail):
            counted.one()


_STRING_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _VALUE, _FORMULA = f"{_MAIN}row", f"{_MAIN}c", f"{_MAIN}v", f"{_MAIN}f"
_INLINE, _TEXT, _RUN = f"{_MAIN}is", f"{_MAIN}t", f"{_MAIN}r"
_CELL_REFERENCE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]+)$")
EXCEL_ROWS = 1_048_576  # the last row of a sheet
# A cell is a few elements (value, formula, rich text runs); a row may hold this many a cell.
ELEMENTS_PER_CELL = 50


class _Count:
    """The cells read so far from every sheet of a workbook, refused past the limits."""

    def __init__(self, limits: ReadLimits):
        self.limits, self.cells = limits, 0

    def cell(self, column: int, where: str) -> None:
        self.one()
        if column > self.limits.max_columns:
            raise self.limits.too_large(f"a cell at {where}, column {column:,}", self.limits.max_columns)

    def one(self) -> None:
        """One more cell, or row: a row counts as a cell, as reading it costs as much, so a sheet
        of millions of empty rows is refused like one of millions of cells."""
        self.cells += 1
        if self.cells > self.limits.max_cells:
            raise self.limits.too_large(f"over {self.limits.max_cells:,} cells", self.limits.max_cells)


class _SheetCells:
    """One sheet's cells read as text, as openpyxl gives their values (`WorkSheetParser`)."""

    def __init__(self, title: str, reader, counted: _Count):
        from openpyxl.cell.read_only import ReadOnlyCell
        from openpyxl.styles.numbers import is_date_format, is_timedelta_format

        self.title, self.counted = title, counted
        self.strings, self.epoch = reader.shared_strings, reader.wb.epoch
        self.formulas: dict[str, object] = {}  # a shared formula's translator, by its index
        any_sheet = reader.wb.worksheets[0] if reader.wb.worksheets else None

        def style(style_id: int) -> tuple[str, bool, bool]:
            number_format = ReadOnlyCell(any_sheet, 1, 1, None, "n", style_id).number_format or ""
            return number_format, is_date_format(number_format), is_timedelta_format(number_format)

        self.styles = _Cache(style)

    def damaged(self, what: str) -> UnreadableFile:
        return UnreadableFile(
            f"on sheet '{self.title}', {what}, which Excel never writes: the workbook is damaged or was "
            "edited by another program; open it in Excel and save it again"
        )

    def read(self, stream) -> tuple[list[int], list[list[str]]]:
        """The sheet's non-blank rows, and their numbers.

        A row is read at its end. Every element is let go as soon as it ends, except what a row
        holds until the row ends, and a row's elements are counted as they arrive: no sheet,
        however many rows or elements it has, builds more than one row of bounded width.
        """
        from xml.etree.ElementTree import iterparse  # the C parser: `_refuse_doctype` made it safe

        limits = self.counted.limits
        row_numbers: list[int] = []
        rows: list[list[str]] = []
        number = 0
        in_row = None  # how many elements the open row holds, when a row is open
        open_elements = []
        for event, element in iterparse(stream, events=("start", "end")):
            if event == "start":
                open_elements.append(element)
                if element.tag == _ROW:
                    if in_row is not None:
                        raise self.damaged(f"a row begins inside row {number + 1:,}")
                    in_row = 0
                continue
            open_elements.pop()
            if element.tag == _ROW:
                self.counted.one()
                number = self.row_number(element, number)
                texts = self.row_texts(element, number) if len(element) else []
                if any(texts):
                    row_numbers.append(number)
                    rows.append(texts)
                in_row = None
            elif in_row is not None:
                in_row += 1
                if in_row > limits.max_columns * ELEMENTS_PER_CELL:
                    raise limits.too_large(f"a row of over {limits.max_columns:,} cells", limits.max_columns)
                continue
            if open_elements:
                open_elements[-1].clear()  # its children have all ended, and are read
        return row_numbers, rows

    def row_number(self, row, previous: int) -> int:
        stated = row.get("r")
        if stated is None:
            if previous == EXCEL_ROWS:
                raise self.damaged(f"there are more than the {EXCEL_ROWS:,} rows a sheet can have")
            return previous + 1
        try:
            number = float(stated)
        except ValueError:
            raise self.damaged(f"a row is numbered '{stated[:20]}'") from None
        if not number.is_integer() or not 1 <= number <= EXCEL_ROWS:
            raise self.damaged(f"a row is numbered '{stated[:20]}'")
        if number == previous:
            raise self.damaged(f"row {previous:,} comes twice")
        if number < previous:
            raise self.damaged(f"row {int(number):,} comes after row {previous:,}")
        return int(number)

    def row_texts(self, row, number: int) -> list[str]:
        texts: list[str] = []
        for cell in row.iterfind(_CELL):
            reference = cell.get("r")
            column = len(texts) + 1
            if reference is not None:
                match = _CELL_REFERENCE.match(reference)
                if not match:
                    raise self.damaged(f"a cell in row {number:,} is named '{reference[:20]}'")
                column = _column_number(match[1].upper())
                if int(match[2]) != number:
                    raise self.damaged(f"cell {reference} is in row {number:,}")
                if column <= len(texts):
                    raise self.damaged(f"cell {reference} comes twice, or after a cell to its right")
            self.counted.cell(column, reference or f"column {column} of row {number}")
            texts.extend([""] * (column - 1 - len(texts)))
            texts.append(self.cell_text(cell))
        return texts

    def cell_text(self, cell) -> str:
        """As `_cell_text` reads openpyxl's cell: the saved value, or, where a formula has none
        saved, the formula itself (see `formula`)."""
        kind = cell.get("t", "n")
        saved = formula = inline = None
        for part in cell:
            if part.tag == _VALUE and saved is None:
                saved = part.text or None
            elif part.tag == _FORMULA and formula is None:
                formula = part
            elif part.tag == _INLINE and inline is None:
                inline = part
        value, number_format = None, ""
        if kind == "inlineStr":
            value = _inline_text(inline)
        elif saved is not None:
            if kind == "n":
                value = float(saved) if any(c in saved for c in ".Ee") else int(saved)
                number_format, is_date, is_timedelta = self.styles(int(cell.get("s") or 0))
                if is_date:
                    value = _excel_date(value, self.epoch, is_timedelta)
            elif kind == "s":
                value = self.strings[int(saved)]
            elif kind == "b":
                value = bool(int(saved))
            elif kind == "d":
                from openpyxl.utils.datetime import from_ISO8601

                value = from_ISO8601(saved)
            else:  # "str" (a formula's text result) and "e" (an error such as #N/A)
                value = saved
        shown = _value_text(value, number_format)
        if formula is not None and not shown:
            return self.formula(formula, cell.get("r"))
        return shown

    def formula(self, formula, reference: str | None) -> str:
        """The formula's text, `=` first, a shared formula translated to this cell (as openpyxl)."""
        from openpyxl.formula.translate import Translator

        text = "=" + (formula.text or "")
        if formula.get("t") == "shared":
            index = formula.get("si")
            if index in self.formulas and reference:
                return self.formulas[index].translate_formula(reference)
            if text != "=" and reference:
                self.formulas[index] = Translator(text, reference)
        return text


def _inline_text(inline) -> str | None:
    """An inline string's text, as openpyxl's `Text.content`: its plain text, then its runs'
    (phonetic guides left out)."""
    if inline is None:
        return None
    plain = [part.text or "" for part in inline if part.tag == _TEXT]
    runs = [run.findtext(_TEXT) or "" for run in inline if run.tag == _RUN]
    return "".join(plain[:1] + runs)


class _Cache(dict):
    def __init__(self, make):
        super().__init__()
        self.make = make

    def __call__(self, key):
        if key not in self:
            self[key] = self.make(key)
        return self[key]


def _excel_date(value: float, epoch, is_timedelta: bool):
    """A date-formatted number as openpyxl reads it; `#VALUE!` where no date can be made."""
    from openpyxl.utils.datetime import from_excel

    try:
        return from_excel(value, epoch, timedelta=is_timedelta)
    except (OverflowError, ValueError):
        return "#VALUE!"


def _refuse_doctype(stream) -> None:
    """Refuse a part that declares a DOCTYPE: only a DTD can declare an entity, so without one the
    XML can neither expand entities (a billion laughs) nor fetch them (an external entity). A DTD
    can only come before the first element, so reading stops there."""
    import pyexpat

    class _Root(Exception):
        pass

    def root(*_):
        raise _Root

    def doctype(*_):
        raise UnreadableFile(
            "it is damaged or not a complete Excel workbook: its XML declares a DOCTYPE, which Excel "
            "never writes (it could expand or fetch entities); save it again from Excel"
        )

    parser = pyexpat.ParserCreate()
    parser.StartElementHandler = root
    parser.StartDoctypeDeclHandler = doctype
    try:
        while chunk := stream.read(65536):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Root:
        pass


def _column_number(letters: str) -> int:
    """The column of a cell reference's letters (`XFD` → 16384)."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


_ALIAS_RANK = {alias: rank for aliases in ALIASES.values() for rank, alias in enumerate(aliases)}


def _header_fields(cells: list[str]) -> dict[int, str]:
    """The field each heading names. Where two headings name one field, the more exact name wins
    (`Code` over `Indicator`, which is often the indicator's title), then the first."""
    best: dict[str, tuple[int, int]] = {}
    for position, cell in enumerate(cells):
        alias = normalise_header(cell)
        name = _ALIAS_TO_FIELD.get(alias)
        if name and (name not in best or _ALIAS_RANK[alias] < best[name][0]):
            best[name] = (_ALIAS_RANK[alias], position)
    return {position: name for name, (_, position) in sorted(best.items(), key=lambda item: item[1][1])}


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
    for index in range(len(rows)):
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


def _take_rows(result: ReturnFile, row_numbers: np.ndarray, grid: pd.DataFrame) -> None:
    """Find the header, then keep every non-blank row below it, numbered as a spreadsheet shows.

    `grid` holds the file's rows as text and `row_numbers` the number of each. Read column by
    column rather than row by row, so that a return of a million rows is read in seconds.
    """
    if grid.empty:
        return
    stripped = {pos: grid[pos].str.strip() for pos in grid.columns}
    filled = pd.concat([text.ne("") for text in stripped.values()], axis=1).set_axis(grid.columns, axis=1)
    nonblank = filled.any(axis=1).to_numpy()
    head = grid.head(HEADER_SEARCH_ROWS).to_numpy().tolist()
    header_index, fields, header_cells = _find_header(head) or (int(nonblank.argmax()), {}, [])
    header_cells = header_cells or grid.iloc[header_index].tolist()
    result.header_row = int(row_numbers[header_index])
    result.columns = {name: header_cells[pos] for pos, name in fields.items()}
    missing = _missing_columns(fields)
    if missing:
        result.problem = "missing_column"
        lower = _header_further_down(grid) if not fields else None
        result.problem_message = missing
        if lower is not None:
            # The rows above the header are titles, not figures: only those below it are refused.
            header_index = lower
            result.header_row = int(row_numbers[lower])
            result.problem_message = (
                f"The header row (naming the indicator code and the value) is row {result.header_row}, "
                f"but it must be within the first {HEADER_SEARCH_ROWS} rows: delete the rows above it "
                "and send the file again."
            )
    keep = nonblank.copy()
    keep[: header_index + 1] = False
    table = pd.DataFrame({"row_number": row_numbers[keep]})
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


def _header_further_down(grid: pd.DataFrame) -> int | None:
    """The position of a header below the rows searched for one, if there is one."""
    found = _find_header(grid.iloc[HEADER_SEARCH_ROWS:HEADER_HINT_ROWS].to_numpy().tolist())
    if found and "indicator_code" in found[1].values():
        return HEADER_SEARCH_ROWS + found[0]
    return None


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
