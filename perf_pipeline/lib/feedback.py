"""Customer feedback as data: case extracts turned by rules into indicators of the catalogue.

A council's complaints system exports its cases (one row per complaint, compliment or comment:
reference, received and responded dates, service, type, stage, outcome, channel) as CSV or a
workbook; the files go, as exported, into `<data>/feedback/`. They are read like service returns
(leniently: any encoding, title rows above the header, headers by alias) and checked strictly:
every non-blank row ends either accepted or refused with a reason and a sentence, never dropped.

`reference/feedback_rules.toml` says which indicators the cases make and how:

```toml
first_quarter = "2024-25-Q1"    # the extracts are complete from this quarter on
[[indicator]]
code = "CS03"                   # an indicator of the catalogue
measure = "percent_within_working_days"
working_days = 10
types = ["complaint"]
stages = [1]
counted_by = "responded"        # the quarter a case counts in: by its received or responded date
```

Measures: `percent_within_working_days` (cases responded to within N working days, counting
England and Wales bank holidays, as a % of those responded to), `count`, and `per_1000_residents`
(needs `residents`). Working days run from the day after the case was received to the day it was
responded to, both counted when they are working days: a complaint received on a Friday and
answered on the Monday took one working day.

From `first_quarter`, a derived figure replaces any figure a service returned for the same
indicator and quarter (the returned row is still checked and accepted, and stays on record in
`service_returns_validated`); before it, the returns stand. Approved corrections apply to a
derived figure as to a returned one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from perf_pipeline.lib.files import combined_hash, relative_to_root, sha256_of
from perf_pipeline.lib.quarters import Quarter, QuarterError
from perf_pipeline.lib.returns_reader import (
    HEADER_SEARCH_ROWS,
    ReadLimits,
    UnreadableFile,
    csv_grid,
    list_return_files,
    normalise_header,
    workbook_sheets,
)
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline.settings import WAREHOUSE_SCHEMA

FEEDBACK_FOLDER = "feedback"  # under the data root
MAX_FILE_BYTES = 50 * 1024 * 1024  # a council's whole case history is a few MB; more is not an extract
FIELDS = ["case_id", "received", "responded", "service", "type", "stage", "outcome", "channel"]
REQUIRED = ["case_id", "received", "type"]
ALIASES = {
    "case_id": ["case_id", "case_reference", "case_ref", "reference", "ref", "case_number", "case_no", "id"],
    "received": ["received", "received_date", "date_received", "date_logged", "logged", "opened"],
    "responded": ["responded", "responded_date", "date_responded", "response_date", "date_closed", "closed"],
    "service": ["service", "service_area", "department", "team"],
    "type": ["type", "case_type", "feedback_type", "category"],
    "stage": ["stage", "complaint_stage"],
    "outcome": ["outcome", "result", "decision"],
    "channel": ["channel", "received_via", "contact_method", "how_received"],
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
TYPES = ["complaint", "compliment", "comment"]
MEASURES = ["percent_within_working_days", "count", "per_1000_residents"]
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
REASONS = {
    "unreadable_file": "The file cannot be read",
    "empty_file": "The file has no cases",
    "missing_column": "A required column is missing",
    "missing_value": "A required value is blank",
    "not_a_date": "A date cannot be read",
    "responded_before_received": "Responded before it was received",
    "unknown_type": "Not a complaint, compliment or comment",
    "invalid_stage": "The stage is not 1 or 2",
    "duplicate": "The same case again (counted once)",
    "conflicting_duplicate": "The same case reference with different details",
}
CASE_COLUMNS = [
    "file",
    "file_sha256",
    "row",
    *[f"raw_{name}" for name in FIELDS],
    "case_id",
    "received_date",
    "responded_date",
    "service",
    "type",
    "stage",
    "outcome",
    "channel",
    "working_days",
    "accepted",
    "reason",
    "message",
]
DATE_COLUMNS = ("received_date", "responded_date")
DERIVED_COLUMNS = [
    "indicator_code",
    "quarter",
    "value",
    "numerator",
    "denominator",
    "cases",
    "rule",
    "source_files",
    "source_sha256",
    "description",
]


@dataclass
class CaseFile:
    file: str
    sha256: str
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["row", *FIELDS]))
    problem: str | None = None
    message: str | None = None


def _header_fields(cells: list[str]) -> dict[int, str]:
    found = {}
    for position, cell in enumerate(cells):
        name = _ALIAS_TO_FIELD.get(normalise_header(cell))
        if name and name not in found.values():
            found[position] = name
    return found


def _rows_from_grid(grid: list[list[str]], row_numbers: list[int], case: CaseFile) -> None:
    """The header is the first of the top rows naming at least three fields; rows below it are
    cases, each numbered as the file shows it (`row_numbers`)."""
    header = next(
        (i for i, cells in enumerate(grid[:HEADER_SEARCH_ROWS]) if len(_header_fields(cells)) >= 3), None
    )
    if header is None:
        case.problem, case.message = (
            "missing_column",
            (
                "No header row naming the case reference, received date and type was found in the first "
                f"{HEADER_SEARCH_ROWS} rows."
            ),
        )
        return
    fields = _header_fields(grid[header])
    missing = [name for name in REQUIRED if name not in fields.values()]
    if missing:
        case.problem = "missing_column"
        case.message = f"The file has no {', '.join(missing)} column, so no case can be counted."
        return
    records = []
    for number, cells in zip(row_numbers[header + 1 :], grid[header + 1 :], strict=True):
        if not any(str(c).strip() for c in cells):
            continue
        record = {"row": number}
        for pos, name in fields.items():
            record[name] = str(cells[pos]).strip() if pos < len(cells) else ""
        records.append(record)
    case.rows = pd.DataFrame(records, columns=["row", *FIELDS]).fillna("")
    if case.rows.empty:
        case.problem, case.message = "empty_file", "The file has a header but no cases."


_XLSX_ERRORS = (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, TypeError)


def _workbook_grid(data: bytes, limits: ReadLimits) -> tuple[list[list[str]], list[int]]:
    """The first visible sheet with a case header (a cover sheet may come first): its non-blank
    rows as text, and the row number Excel shows for each. The workbook is measured against the
    returns' limits before anything is built from it."""
    try:
        sheets = [sheet for sheet in workbook_sheets(data, limits) if sheet.visible]
    except _XLSX_ERRORS as exc:
        raise UnreadableFile(
            f"it is damaged or not a complete Excel workbook ({type(exc).__name__})"
        ) from None
    for sheet in sheets:
        if any(len(_header_fields(cells)) >= 3 for cells in sheet.rows[:HEADER_SEARCH_ROWS]):
            return sheet.rows, sheet.row_numbers
    return (sheets[0].rows, sheets[0].row_numbers) if sheets else ([], [])


def read_case_file(path: Path, data_root: Path, limits: ReadLimits | None = None) -> CaseFile:
    """One extract as read: its rows as text with spreadsheet row numbers, or why it cannot be read."""
    rel = relative_to_root(path, data_root)
    if not path.is_file() or path.is_symlink():
        return CaseFile(rel, "", problem="unreadable_file", message="It is not a regular file in the folder.")
    sha = sha256_of(path)
    case = CaseFile(rel, sha)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        case.problem, case.message = "unreadable_file", f"'{suffix or 'no extension'}' is not .csv or .xlsx."
        return case
    if path.stat().st_size > MAX_FILE_BYTES:
        case.problem = "unreadable_file"
        case.message = f"It is larger than {MAX_FILE_BYTES // 2**20} MB, too large for a case extract."
        return case
    data = path.read_bytes()
    if not data.strip():
        case.problem, case.message = "empty_file", "The file is empty."
        return case
    try:
        if suffix == ".csv":
            grid = csv_grid(data, limits)[0].to_numpy().tolist()
            numbers = list(range(1, len(grid) + 1))
        else:
            grid, numbers = _workbook_grid(data, limits or ReadLimits())
    except UnreadableFile as problem:
        case.problem, case.message = "unreadable_file", f"The file cannot be read: {problem}."
        return case
    _rows_from_grid(grid, numbers, case)
    return case


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+)?$")
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?: [\d:.]+)?$")


def parse_date(text: str) -> dt.date | None:
    """ISO (2025-07-03) or UK day-first (03/07/2025) dates, a time after them ignored; else None."""
    text = text.strip()
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _UK.match(text)
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
        year += 2000 if year < 100 else 0
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None
    return date if EARLIEST <= date <= LATEST else None


def parse_type(text: str) -> str | None:
    word = text.strip().lower()
    word = word.removesuffix("s")
    return word if word in TYPES else None


def parse_stage(text: str) -> int | None:
    match = re.fullmatch(r"(?:stage\s*)?([12])", text.strip().lower())
    return int(match.group(1)) if match else None


@lru_cache(maxsize=16)
def _holidays(first_year: int, last_year: int) -> np.ndarray:
    import holidays  # the maintained list of England and Wales bank holidays

    days = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return np.array(sorted(days), dtype="datetime64[D]")


def working_days_between(received: dt.date, responded: dt.date) -> int:
    """Working days after `received` up to and including `responded` (bank holidays excluded)."""
    bank = _holidays(received.year, responded.year)
    start = np.datetime64(received + dt.timedelta(days=1), "D")
    return int(np.busday_count(start, np.datetime64(responded + dt.timedelta(days=1), "D"), holidays=bank))


def check_cases(files: list[CaseFile]) -> pd.DataFrame:
    """Every row of every extract with its verdict: accepted, or refused with a reason and a sentence.

    A file that cannot be read is one row without a row number. A case reference seen again with
    the same details is a `duplicate` (counted once); with different details every copy is refused
    (`conflicting_duplicate`), since nothing says which is right.
    """
    records = []
    for f in files:
        if f.problem and f.rows.empty:
            records.append(
                {
                    "file": f.file,
                    "file_sha256": f.sha256,
                    "row": None,
                    "accepted": False,
                    "reason": f.problem,
                    "message": f.message,
                }
            )
            continue
        for r in f.rows.to_dict("records"):
            records.append({"file": f.file, "file_sha256": f.sha256, **_check_row(r)})
    cases = pd.DataFrame(records).reindex(columns=CASE_COLUMNS)
    text = [c for c in CASE_COLUMNS if c not in ("row", "stage", "working_days", "accepted", *DATE_COLUMNS)]
    cases[text] = cases[text].astype(object)
    for column in DATE_COLUMNS:
        cases[column] = pd.to_datetime(cases[column])
    cases["row"] = cases["row"].astype("Int64")
    cases["stage"] = cases["stage"].astype("Int64")
    cases["working_days"] = cases["working_days"].astype("Int64")
    cases["accepted"] = cases["accepted"].astype(bool)
    return _duplicates(cases).reset_index(drop=True)


def _check_row(r: dict) -> dict:
    out = {"row": r["row"], **{f"raw_{name}": r.get(name, "") or "" for name in FIELDS}}
    out.update(
        {
            "service": r.get("service") or None,
            "outcome": r.get("outcome") or None,
            "channel": r.get("channel") or None,
            "case_id": r.get("case_id") or None,
        }
    )

    def refuse(reason: str, message: str) -> dict:
        return {**out, "accepted": False, "reason": reason, "message": message}

    for name in REQUIRED:
        if not (r.get(name) or "").strip():
            return refuse("missing_value", f"The {name.replace('_', ' ')} is blank; every case needs one.")
    received = parse_date(r["received"])
    if received is None:
        return refuse(
            "not_a_date",
            f"The received date '{r['received']}' is not a date (write 2025-07-03 or 03/07/2025).",
        )
    responded = None
    if (r.get("responded") or "").strip():
        responded = parse_date(r["responded"])
        if responded is None:
            return refuse(
                "not_a_date",
                f"The responded date '{r['responded']}' is not a date (write 2025-07-03 or 03/07/2025).",
            )
        if responded < received:
            return refuse(
                "responded_before_received",
                f"It was responded to on {responded:%-d %B %Y}, before it was received on {received:%-d %B %Y}.",
            )
    kind = parse_type(r["type"])
    if kind is None:
        return refuse("unknown_type", f"The type '{r['type']}' is not a complaint, compliment or comment.")
    stage = None
    if kind == "complaint":
        stage = parse_stage(r.get("stage") or "")
        if stage is None:
            return refuse(
                "invalid_stage", f"A complaint needs its stage, 1 or 2; it says '{r.get('stage') or ''}'."
            )
    out.update(
        {
            "received_date": pd.Timestamp(received),
            "responded_date": pd.Timestamp(responded) if responded else pd.NaT,
            "type": kind,
            "stage": stage,
            "working_days": working_days_between(received, responded) if responded else None,
            "accepted": True,
            "reason": None,
            "message": None,
        }
    )
    return out


def _duplicates(cases: pd.DataFrame) -> pd.DataFrame:
    details = ["received_date", "responded_date", "type", "stage", "service", "outcome", "channel"]
    ok = cases[cases["accepted"]]
    if ok.empty:
        return cases
    key = ok["case_id"].str.strip().str.upper()
    signature = ok[details].astype(str).agg("|".join, axis=1)
    variants = signature.groupby(key).transform("nunique")
    conflicting = ok.index[variants > 1]
    repeated = ok.index[(variants == 1) & key.duplicated(keep="first")]
    cases.loc[conflicting, ["accepted", "reason"]] = [False, "conflicting_duplicate"]
    cases.loc[conflicting, "message"] = [
        f"Case {cases.at[i, 'case_id']} appears more than once with different details; none is counted "
        "until the complaints team says which is right."
        for i in conflicting
    ]
    cases.loc[repeated, ["accepted", "reason"]] = [False, "duplicate"]
    cases.loc[repeated, "message"] = [
        f"Case {cases.at[i, 'case_id']} is already in the extracts with the same details; it is counted once."
        for i in repeated
    ]
    return cases


def read_cases(
    folder: Path, data_root: Path, limits: ReadLimits | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every extract in `feedback/`, checked; and the non-blank rows each file holds (for the check).
    `limits` are the returns' (`[limits]` in council.toml): no extract is read past them."""
    paths, _ = list_return_files(folder, data_root)
    files = [read_case_file(p, data_root, limits) for p in paths]
    counts = {f.file: len(f.rows) for f in files}
    return check_cases(files), counts


def extract_versions(folder: Path, data_root: Path) -> tuple[str, dict[str, str]]:
    """The versions Dagster keeps of the extracts: one of the files as they are (names and content:
    any change, a refused row too, is read again), and one per quarter of the case rows dated in
    it, so that a quarter's figures are rebuilt only when its own cases changed.

    A quarter's rows are those received or responded to in it, with every other row of the same
    case reference (a copy of a case in a later extract changes whether it is counted). A row
    with no case reference or no date is in no quarter: it is refused, and counts nowhere.
    """
    paths, _ = list_return_files(folder, data_root)
    listing = tuple(
        (relative_to_root(p, data_root), sha256_of(p) if p.is_file() and not p.is_symlink() else "")
        for p in paths
    )
    files = combined_hash([f"{name}:{sha}" for name, sha in listing])[:16]
    return files, _quarter_versions(data_root, tuple(paths), listing)


@lru_cache(maxsize=4)
def _quarter_versions(data_root: Path, paths: tuple[Path, ...], listing: tuple) -> dict[str, str]:
    # `listing` (names and hashes) is the key: the sensor reads the extracts only when they change.
    by_case: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        read = read_case_file(path, data_root)
        for row in read.rows.to_dict("records"):
            key = str(row["case_id"]).strip().upper()
            if key:
                by_case[key].append({"file": read.file, **row})
    parts: dict[str, list[str]] = defaultdict(list)
    for rows in by_case.values():
        days = [parse_date(str(r[name])) for r in rows for name in ("received", "responded")]
        signatures = [json.dumps([str(r[c]) for c in ("file", "row", *FIELDS)]) for r in rows]
        for key in {Quarter.containing(day).key for day in days if day}:
            parts[key] += signatures
    return {key: combined_hash(found)[:16] for key, found in parts.items()}


def rows_unaccounted(cases: pd.DataFrame, counts: dict[str, int]) -> pd.DataFrame:
    """Files where the rows read differ from the rows accepted plus refused (should be none)."""
    tally = cases[cases["row"].notna()].groupby("file").size()
    return pd.DataFrame(
        [
            {"file": name, "rows_read": n, "rows_accounted": int(tally.get(name, 0))}
            for name, n in counts.items()
            if n != int(tally.get(name, 0))
        ],
        columns=["file", "rows_read", "rows_accounted"],
    )


RULE_SETTINGS = {"code", "measure", "working_days", "residents", "types", "stages", "counted_by"}
RULE_COLUMNS = ["number", "code", "measure", "working_days", "residents", "types", "stages", "counted_by"]


def _whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rule_problems(rule: object, where: str, indicator_codes: set[str]) -> list[str]:
    """What is wrong with one `[[indicator]]` table (nothing when it is right)."""
    if not isinstance(rule, dict):
        return [f"{where}: must be a table of settings (code, measure, ...), not {type(rule).__name__}"]
    problems = [
        f"{where}: '{key}' is not a setting of a rule (they are {', '.join(sorted(RULE_SETTINGS))})"
        for key in rule
        if key not in RULE_SETTINGS
    ]
    code = rule.get("code")
    if not isinstance(code, str) or code not in indicator_codes:
        problems.append(f"{where}: code '{code}' is not an indicator in indicators.csv")
    measure = rule.get("measure")
    if not isinstance(measure, str) or measure not in MEASURES:
        problems.append(f"{where}: measure '{measure}' is not one of {', '.join(MEASURES)}")
    types = rule.get("types", TYPES)
    if not isinstance(types, list) or not types or not all(isinstance(t, str) and t in TYPES for t in types):
        problems.append(f"{where}: types must list some of {', '.join(TYPES)}")
    stages = rule.get("stages", [])
    if not isinstance(stages, list) or not all(_whole_number(s) and s in (1, 2) for s in stages):
        problems.append(f"{where}: stages must list 1, 2 or both")
    counted_by = rule.get("counted_by", "received")
    if counted_by not in ("received", "responded"):
        problems.append(f"{where}: counted_by must be received or responded")
    if measure == "percent_within_working_days":
        days = rule.get("working_days")
        if not _whole_number(days) or days < 0:
            problems.append(f"{where}: working_days must be a whole number of days")
        if counted_by != "responded":
            problems.append(f"{where}: a percentage answered in time counts cases by their responded date")
    if measure == "per_1000_residents":
        residents = rule.get("residents")
        if not _whole_number(residents) or residents <= 0:
            problems.append(f"{where}: residents must be a whole number above 0")
    return problems


def load_feedback_rules(path: Path, indicator_codes: set[str]) -> dict:
    """`feedback_rules.toml`, every rule checked, every problem listed with the file and the rule;
    a council without the file derives nothing."""
    if not path.is_file():
        return {"first_quarter": None, "indicators": []}
    label = f"reference/{path.name}"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReferenceDataError([f"{label}: not valid TOML ({exc})"]) from None
    problems = [
        f"{label}: '{key}' is not a setting (the file holds first_quarter and [[indicator]] tables)"
        for key in raw
        if key not in ("first_quarter", "indicator")
    ]
    try:
        first = Quarter.parse(raw["first_quarter"]).key if isinstance(raw.get("first_quarter"), str) else None
    except QuarterError:
        first = None
    if first is None:
        problems.append(f"{label}: first_quarter must be the first quarter the extracts cover (2024-25-Q1)")
    tables = raw.get("indicator", [])
    if not isinstance(tables, list):
        problems.append(f"{label}: indicator must be [[indicator]] tables, one per indicator")
        tables = []
    rules = []
    for n, rule in enumerate(tables, start=1):
        found = _rule_problems(rule, f"{label} [[indicator]] {n}", indicator_codes)
        problems += found
        if not found:
            rules.append(
                {
                    **rule,
                    "types": rule.get("types", TYPES),
                    "stages": rule.get("stages", []),
                    "counted_by": rule.get("counted_by", "received"),
                    "number": n,
                }
            )
    codes = [r["code"] for r in rules]
    problems += [
        f"{label}: {c} has more than one rule" for c in sorted({c for c in codes if codes.count(c) > 1})
    ]
    if problems:
        raise ReferenceDataError(problems)
    return {"first_quarter": first, "indicators": rules}


def rules_table(rules: dict) -> pd.DataFrame:
    """The checked rules as a table (one row per rule), as the warehouse keeps them."""
    rows = [
        {
            **{c: rule.get(c) for c in RULE_COLUMNS},
            "types": ";".join(rule["types"]),
            "stages": ";".join(str(s) for s in rule["stages"]),
        }
        for rule in rules["indicators"]
    ]
    table = pd.DataFrame(rows, columns=RULE_COLUMNS)
    for column in ("number", "working_days", "residents"):
        table[column] = table[column].astype("Int64")
    table.insert(0, "first_quarter", rules["first_quarter"])
    return table


def rules_from_table(table: pd.DataFrame) -> dict:
    """The rules as `load_feedback_rules` gives them, from their table."""
    rules = [
        {
            "code": r["code"],
            "measure": r["measure"],
            "working_days": None if pd.isna(r["working_days"]) else int(r["working_days"]),
            "residents": None if pd.isna(r["residents"]) else int(r["residents"]),
            "types": r["types"].split(";"),
            "stages": [int(s) for s in r["stages"].split(";") if s],
            "counted_by": r["counted_by"],
            "number": int(r["number"]),
        }
        for r in table.to_dict("records")
    ]
    return {"first_quarter": table["first_quarter"].iloc[0] if len(table) else None, "indicators": rules}


def rule_text(rule: dict) -> str:
    kinds = " or ".join(f"{t}s" for t in rule["types"])
    stages = f" at stage {' or '.join(str(s) for s in rule['stages'])}" if rule["stages"] else ""
    if rule["measure"] == "percent_within_working_days":
        return (
            f"% of {kinds}{stages} responded to in the quarter that were answered within "
            f"{rule['working_days']} working days"
        )
    per = f" per 1,000 of {rule['residents']:,} residents" if rule["measure"] == "per_1000_residents" else ""
    return f"{kinds}{stages} {rule['counted_by']} in the quarter{per}"


def counted_cases(cases: pd.DataFrame, rule: dict, quarter: Quarter) -> pd.DataFrame:
    """The accepted case rows a rule counts in a quarter, each marked in or out of the numerator."""
    date = cases["responded_date" if rule["counted_by"] == "responded" else "received_date"]
    start, end = pd.Timestamp(quarter.start), pd.Timestamp(quarter.end)
    chosen = cases["accepted"] & cases["type"].isin(rule["types"]) & date.between(start, end)
    if rule["stages"]:
        chosen &= cases["stage"].isin(rule["stages"])
    out = cases[chosen.fillna(False)].copy()
    if rule["measure"] == "percent_within_working_days":
        out["in_numerator"] = out["working_days"] <= rule["working_days"]
    else:
        out["in_numerator"] = True
    return out.sort_values(["file", "row"])


def derive_values(cases: pd.DataFrame, rules: dict, quarter: Quarter, due_codes: set[str]) -> pd.DataFrame:
    """One figure per rule for a quarter, from `first_quarter` on, for indicators due in it.

    A quarter in which the extracts hold no case received at all is taken as not covered by
    them (an extract missing from the folder), and nothing is derived: no zero is guessed.
    """
    first = rules["first_quarter"]
    received = cases.loc[cases["accepted"], "received_date"]
    covered = received.between(pd.Timestamp(quarter.start), pd.Timestamp(quarter.end)).any()
    if first is None or quarter < Quarter.parse(first) or not covered:
        return pd.DataFrame(columns=DERIVED_COLUMNS)
    rows = []
    for rule in rules["indicators"]:
        if rule["code"] not in due_codes:
            continue
        counted = counted_cases(cases, rule, quarter)
        n, hits = len(counted), int(counted["in_numerator"].sum())
        numerator = denominator = None
        if rule["measure"] == "percent_within_working_days":
            numerator, denominator = float(hits), float(n)
            value = 100.0 * hits / n if n else None
            description = f"{hits} of {n} answered within {rule['working_days']} working days"
        elif rule["measure"] == "per_1000_residents":
            value = 1000.0 * n / rule["residents"]
            description = f"{n} cases per 1,000 of {rule['residents']:,} residents"
        else:
            value = float(n)
            description = f"{n} cases"
        files = sorted(set(counted["file"]))
        shas = counted.drop_duplicates("file").set_index("file")["file_sha256"]
        rows.append(
            {
                "indicator_code": rule["code"],
                "quarter": quarter.key,
                "value": value,
                "numerator": numerator,
                "denominator": denominator,
                "cases": n,
                "rule": f"feedback_rules.toml [[indicator]] {rule['number']}: {rule_text(rule)}",
                "source_files": "; ".join(files),
                "source_sha256": "; ".join(shas[f] for f in files),
                "description": f"derived from the case extract: {description}",
            }
        )
    out = pd.DataFrame(rows, columns=DERIVED_COLUMNS)
    for column in ("value", "numerator", "denominator"):
        out[column] = out[column].astype(float)
    return out


def replace_returned(validated: pd.DataFrame, derived: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """Accepted return rows with the quarter's derived figures in place of any returned for them.

    The derived figure enters as a row of its own (source file the extract, no single row), so
    revisions and corrections are applied to it exactly as to a returned figure.
    """
    if derived.empty:
        return validated
    replaced = validated["indicator_code"].isin(derived["indicator_code"]) & (
        validated["period"] == quarter.key
    )
    kept = validated[~replaced]
    commentary = (
        validated[replaced]
        .drop_duplicates("indicator_code", keep="last")
        .set_index("indicator_code")["commentary"]
        if "commentary" in validated.columns
        else pd.Series(dtype=str)
    )
    rows = pd.DataFrame(
        {
            "indicator_code": derived["indicator_code"],
            "period": quarter.key,
            "source_quarter": quarter.key,
            "file": derived["source_files"],
            "file_sha256": derived["source_sha256"],
            "row": pd.array([None] * len(derived), dtype="Int64"),
            "value": derived["value"],
            "numerator": derived["numerator"],
            "denominator": derived["denominator"],
            "reported": derived["value"].notna(),
            "raw_value": derived["description"],
            "commentary": derived["indicator_code"].map(commentary),
            "data_status": "final",
            "is_revision": False,
        }
    )
    return pd.concat([kept, rows], ignore_index=True)


def _row_ranges(rows: list[int]) -> str:
    """`[2, 3, 4, 7]` as `2-4, 7`."""
    parts, start = [], None
    for i, row in enumerate(rows):
        if start is None:
            start = row
        if i + 1 == len(rows) or rows[i + 1] != row + 1:
            parts.append(str(start) if start == row else f"{start}-{row}")
            start = None
    return ", ".join(parts)


def derivation_lines(con, data_root: Path, code: str, quarter: Quarter) -> list[str] | None:
    """How a derived figure was made, down to the case rows, for `perf-pipeline trace`; None if not derived."""

    tables = set(
        con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [WAREHOUSE_SCHEMA]
        ).fetchdf()["table_name"]
    )
    if not {"feedback_indicator_values", "feedback_cases", "feedback_rules"} <= tables:
        return None
    derived = con.execute(
        f"select * from {WAREHOUSE_SCHEMA}.feedback_indicator_values where indicator_code = ? and quarter = ?",
        [code, quarter.key],
    ).fetchdf()
    if derived.empty:
        return None
    # The rules as checked and used, not the file as it may stand now.
    rules = rules_from_table(con.execute(f"select * from {WAREHOUSE_SCHEMA}.feedback_rules").fetchdf())
    rule = next((r for r in rules["indicators"] if r["code"] == code), None)
    d = derived.iloc[0]
    lines = [
        f"Derived from customer feedback cases: {d['description'].removeprefix('derived from the case extract: ')}.",
        f"   Rule: {d['rule']}.",
    ]
    if rule is None:
        return [*lines, "   The rule is no longer in feedback_rules.toml."]
    cases = con.execute(f"select * from {WAREHOUSE_SCHEMA}.feedback_cases where accepted", []).fetchdf()
    counted = counted_cases(cases, rule, quarter)
    for name, rows in counted.groupby("file", sort=True):
        on_disk = data_root / name
        sha = rows["file_sha256"].iloc[0]
        state = (
            "the file on disk still has this hash"
            if on_disk.is_file() and sha256_of(on_disk) == sha
            else "the file on disk has CHANGED since"
            if on_disk.is_file()
            else "the file is no longer on disk"
        )
        lines.append(f"   {name} (sha256 {sha}; {state}): {len(rows)} cases.")
        lines.append(f"   Rows counted: {_row_ranges(sorted(int(r) for r in rows['row']))}.")
        if rule["measure"] == "percent_within_working_days":
            late = rows[~rows["in_numerator"].astype(bool)]
            if len(late):
                detail = ", ".join(
                    f"{int(r.row)} ({r.case_id}, {int(r.working_days)} days)" for r in late.itertuples()
                )
                lines.append(
                    f"   Answered after {rule['working_days']} working days (not in the numerator): rows {detail}."
                )
    return lines


def returned_indicators(catalogue: pd.DataFrame, reference: Path, quarter: Quarter) -> pd.DataFrame:
    """The catalogue less the indicators the case extracts make in a quarter: no service is asked
    for those, nor chased for them. Broken rules leave the catalogue whole (the reference run
    stops on them, `feedback_rules`)."""
    try:
        rules = load_feedback_rules(reference / "feedback_rules.toml", set(catalogue["code"]))
    except ReferenceDataError:
        return catalogue
    if rules["first_quarter"] is None or quarter < Quarter.parse(rules["first_quarter"]):
        return catalogue
    return catalogue[~catalogue["code"].isin({r["code"] for r in rules["indicators"]})]
