"""Corrections: figures changed after they were received, each with a reason and an approver.

Correction files are append-only records kept by the performance team. A correction without a
reason or an approver is rejected, never applied; every correction, applied or not, stays on
record with the file and row it came from.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.files import link_problem, relative_to_root, sha256_of
from perf_pipeline.lib.quarters import Quarter, QuarterError
from perf_pipeline.lib.reference import due_in
from perf_pipeline.lib.returns_reader import ReadLimits, UnreadableFile, csv_grid
from perf_pipeline.lib.returns_validation import parse_numbers, ratio_rules

CORRECTION_FIELDS = [
    "correction_id",
    "indicator_code",
    "period",
    "value",
    "numerator",
    "denominator",
    "reason",
    "requested_by",
    "approved_by",
    "approved_on",
]
LOG_COLUMNS = [
    *CORRECTION_FIELDS,
    "period_start",
    "new_value",
    "file",
    "file_sha256",
    "row",
    "status",
    "problem",
]


def correction_files(folder: Path) -> list[Path]:
    """The corrections files: every `.csv` in the folder, whatever the case of its extension
    (`*.CSV` from Windows); a link that loops is listed too, and reading it says why it is not."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix.lower() == ".csv")


def read_corrections(folder: Path, data_root: Path, limits: ReadLimits | None = None) -> pd.DataFrame:
    """Every row of every corrections file, as text, with its file, hash and row number.

    Read as leniently as a return (UTF-8 or Windows-1252, any column order, the row number a
    spreadsheet shows); a file that cannot be read is one record naming the problem, so it is
    rejected on record instead of vanishing.
    """
    frames = []
    for path in correction_files(folder):
        rel = relative_to_root(path, data_root)
        try:
            frames.append(_read_one(path, rel, data_root, limits or ReadLimits()))
        except Exception as exc:  # noqa: BLE001 -- the last guard: one file never stops the quarter
            frames.append(
                _file_problem(
                    rel, "", f"The file could not be read ({type(exc).__name__}); check it is a CSV file."
                )
            )
    if not frames:
        return pd.DataFrame(columns=[*CORRECTION_FIELDS, "file", "file_sha256", "row", "problem"])
    out = pd.concat(frames, ignore_index=True)
    out[CORRECTION_FIELDS] = out[CORRECTION_FIELDS].fillna("")
    out["problem"] = out["problem"].fillna("")
    return out


def _read_one(path: Path, rel: str, data_root: Path, limits: ReadLimits) -> pd.DataFrame:
    problem = link_problem(path, data_root)
    if problem:
        return _file_problem(rel, "", f"The file was not read: {problem}.")
    sha = sha256_of(path)
    if path.stat().st_size > limits.max_file_bytes:
        return _file_problem(
            rel,
            sha,
            f"The file could not be read: {limits.too_large('too many bytes', limits.max_file_bytes)}.",
        )
    data = path.read_bytes()
    if not data.strip():
        return _file_problem(rel, sha, "The file is empty; it holds no corrections.")
    try:
        grid, _, _ = csv_grid(data, limits)
    except UnreadableFile as problem:
        return _file_problem(rel, sha, f"The file could not be read: {problem}.")
    text = grid.apply(lambda column: column.str.strip())
    nonblank = text.ne("").any(axis=1).to_numpy()
    header = int(nonblank.argmax())
    text.columns = [str(c).lower().replace(" ", "_") for c in text.iloc[header]]
    missing = [c for c in CORRECTION_FIELDS if c not in text.columns]
    df = text.loc[:, ~text.columns.duplicated()].reindex(columns=CORRECTION_FIELDS, fill_value="")
    df["file"], df["file_sha256"], df["row"] = rel, sha, df.index + 1  # the first row is row 1
    df["problem"] = f"The file has no column {', '.join(missing)}." if missing else ""
    keep = nonblank.copy()
    keep[: header + 1] = False
    return df[keep]


def _file_problem(rel: str, sha: str, problem: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                **dict.fromkeys(CORRECTION_FIELDS, ""),
                "file": rel,
                "file_sha256": sha,
                "row": None,
                "problem": problem,
            }
        ]
    )


def _rejected(record: dict, fields: dict, row, problem: str) -> dict:
    """The log row of a correction that could not be read or checked: nothing of it is applied."""
    return {
        **fields,
        "approved_on": None,
        "period_start": None,
        "new_value": None,
        "file": record["file"],
        "file_sha256": record["file_sha256"],
        "row": row,
        "status": "rejected",
        "problem": problem,
    }


def check_corrections(
    records: pd.DataFrame, indicators: pd.DataFrame, today: dt.date | None = None
) -> pd.DataFrame:
    """Decide each correction: `accepted` (it will be applied) or `rejected`, with the reason.

    A correction approved after `today` (by default the day it is checked) is rejected: it cannot
    have been approved yet, and a typed 2052 would otherwise sort last and beat every genuine
    later correction. Written on the day it is approved, it is applied from that day.
    """
    today = today or dt.date.today()
    catalogue = indicators.set_index("code")
    seen_ids: set[str] = set()
    rows = []
    for record in records.to_dict("records"):
        problems = [record["problem"]] if record.get("problem") else []
        if pd.isna(record["row"]):  # a file that could not be read: its problem is the whole story
            rows.append(_rejected(record, dict.fromkeys(CORRECTION_FIELDS, ""), None, record["problem"]))
            continue
        try:
            period = None
            code = record.get("indicator_code", "")
            if not record.get("correction_id"):
                problems.append("It has no correction_id.")
            elif record["correction_id"] in seen_ids:
                problems.append(
                    f"The correction_id {record['correction_id']} is used twice; ids must be unique."
                )
            seen_ids.add(record.get("correction_id", ""))
            for column, label in (("reason", "reason"), ("approved_by", "approver (approved_by)")):
                if not record.get(column):
                    problems.append(f"It has no {label}, so it cannot be applied.")
            approved_on = pd.to_datetime(record.get("approved_on") or None, errors="coerce", format="ISO8601")
            if pd.isna(approved_on):
                problems.append(
                    f"approved_on '{record.get('approved_on', '')}' is not a date (write 2025-10-31)."
                )
            elif approved_on.date() > today:
                problems.append(
                    f"approved_on {approved_on.date().isoformat()} is in the future, so it cannot have been "
                    "approved yet; if the date is a typo, correct it in a new row with a new correction_id."
                )
            if code not in catalogue.index:
                problems.append(f"'{code}' is not an indicator code we collect.")
            try:
                period = Quarter.parse(record.get("period", ""))
            except QuarterError as exc:
                problems.append(str(exc))
            if (
                period is not None
                and code in catalogue.index
                and not due_in(indicators[indicators["code"] == code], period).iloc[0]
            ):
                problems.append(f"{code} is not due in {period.label}.")
            new_value = None
            if code in catalogue.index:
                new_value, value_problem = _corrected_value(record, catalogue.loc[code])
                if value_problem:
                    problems.append(value_problem)
            rows.append(
                {
                    **{c: record.get(c, "") for c in CORRECTION_FIELDS},
                    "period": period.key if period else record.get("period", ""),
                    "period_start": period.start if period else None,
                    "approved_on": approved_on.date() if not pd.isna(approved_on) else None,
                    "new_value": new_value,
                    "file": record["file"],
                    "file_sha256": record["file_sha256"],
                    "row": record["row"],
                    "status": "rejected" if problems else "accepted",
                    "problem": " ".join(problems),
                }
            )
        except Exception as exc:  # noqa: BLE001 -- the last guard: one correction never stops the quarter
            fields = {c: str(record.get(c, "")) for c in CORRECTION_FIELDS}
            problem = f"It could not be checked ({type(exc).__name__}); check every field of the row."
            rows.append(_rejected(record, fields, record["row"], problem))
    log = pd.DataFrame(rows, columns=LOG_COLUMNS)
    log["row"] = log["row"].astype("Int64")
    log["new_value"] = log["new_value"].astype(float)
    return log


def _corrected_value(record: dict, indicator: pd.Series) -> tuple[float | None, str | None]:
    """The corrected figure, held to the same rules as a figure in a return."""
    values = pd.Series([record.get(c, "") for c in ("value", "numerator", "denominator")])
    numbers, ok = parse_numbers(values)
    given = values.str.strip().ne("")
    if (given & ~ok).any():
        bad = values[given & ~ok].iloc[0]
        return None, f"'{bad}' is not a number."
    value, numerator, denominator = (numbers[i] if given[i] else None for i in range(3))
    if numerator is not None and denominator is not None:
        zero, exceeds, derived, disagree = ratio_rules(
            pd.Series([value], dtype=float),
            pd.Series([numerator]),
            pd.Series([denominator]),
            pd.DataFrame([indicator]).reset_index(drop=True),
        )
        if zero[0]:
            return None, "The denominator is zero."
        if exceeds[0]:
            return None, "The numerator is larger than the denominator."
        if disagree[0]:
            return None, (
                f"The value {record['value']} does not match {record['numerator']} / "
                f"{record['denominator']} = {derived[0]:.3f}."
            )
        if value is None:
            value = derived[0]
    if value is None:
        return None, "It gives no value (nor numerator and denominator)."
    low, high = indicator["min_value"], indicator["max_value"]
    if (pd.notna(low) and value < low) or (pd.notna(high) and value > high):
        return None, f"The value {value:g} is outside the valid range for {indicator.name}."
    return float(value), None
