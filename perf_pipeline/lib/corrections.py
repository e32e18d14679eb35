"""Corrections: figures changed after they were received, each with a reason and an approver.

Correction files are append-only records kept by the performance team. A correction without a
reason or an approver is rejected, never applied; every correction, applied or not, stays on
record with the file and row it came from.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perf_pipeline.lib.files import is_inside, relative_to_root, sha256_of
from perf_pipeline.lib.quarters import Quarter, QuarterError
from perf_pipeline.lib.reference import due_in
from perf_pipeline.lib.returns_reader import UnreadableFile, csv_grid
from perf_pipeline.lib.returns_validation import parse_numbers

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


def read_corrections(folder: Path, data_root: Path) -> pd.DataFrame:
    """Every row of every `corrections/*.csv`, as text, with its file, hash and row number.

    Read as leniently as a return (UTF-8 or Windows-1252, any column order, the row number a
    spreadsheet shows); a file that cannot be read is one record naming the problem, so it is
    rejected on record instead of vanishing.
    """
    frames = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        rel = relative_to_root(path, data_root)
        if path.is_symlink() and not is_inside(path, data_root):
            frames.append(
                _file_problem(
                    rel, "", "The file is a link to a file outside the data folder, which is never read."
                )
            )
            continue
        if not path.is_file():
            frames.append(_file_problem(rel, "", "It is not a regular file, so it was not read."))
            continue
        sha = sha256_of(path)
        data = path.read_bytes()
        if not data.strip():
            frames.append(_file_problem(rel, sha, "The file is empty; it holds no corrections."))
            continue
        try:
            grid, _ = csv_grid(data)
        except UnreadableFile as problem:
            frames.append(_file_problem(rel, sha, f"The file could not be read: {problem}."))
            continue
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
        frames.append(df[keep])
    if not frames:
        return pd.DataFrame(columns=[*CORRECTION_FIELDS, "file", "file_sha256", "row", "problem"])
    out = pd.concat(frames, ignore_index=True)
    out[CORRECTION_FIELDS] = out[CORRECTION_FIELDS].fillna("")
    out["problem"] = out["problem"].fillna("")
    return out


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


def check_corrections(records: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """Decide each correction: `accepted` (it will be applied) or `rejected`, with the reason."""
    catalogue = indicators.set_index("code")
    seen_ids: set[str] = set()
    rows = []
    for record in records.to_dict("records"):
        problems = [record["problem"]] if record.get("problem") else []
        if pd.isna(record["row"]):  # a file that could not be read: its problem is the whole story
            rows.append(
                {
                    **{c: "" for c in CORRECTION_FIELDS},
                    "approved_on": None,
                    "period_start": None,
                    "new_value": None,
                    "file": record["file"],
                    "file_sha256": record["file_sha256"],
                    "row": None,
                    "status": "rejected",
                    "problem": record["problem"],
                }
            )
            continue
        period = None
        code = record.get("indicator_code", "")
        if not record.get("correction_id"):
            problems.append("It has no correction_id.")
        elif record["correction_id"] in seen_ids:
            problems.append(f"The correction_id {record['correction_id']} is used twice; ids must be unique.")
        seen_ids.add(record.get("correction_id", ""))
        for column, label in (("reason", "reason"), ("approved_by", "approver (approved_by)")):
            if not record.get(column):
                problems.append(f"It has no {label}, so it cannot be applied.")
        approved_on = pd.to_datetime(record.get("approved_on") or None, errors="coerce", format="ISO8601")
        if pd.isna(approved_on):
            problems.append(
                f"approved_on '{record.get('approved_on', '')}' is not a date (write 2025-10-31)."
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
    log = pd.DataFrame(rows, columns=LOG_COLUMNS)
    log["row"] = log["row"].astype("Int64")
    log["new_value"] = log["new_value"].astype(float)
    return log


def _corrected_value(record: dict, indicator: pd.Series) -> tuple[float | None, str | None]:
    values = pd.Series([record.get(c, "") for c in ("value", "numerator", "denominator")])
    numbers, ok = parse_numbers(values)
    given = values.str.strip().ne("")
    if (given & ~ok).any():
        bad = values[given & ~ok].iloc[0]
        return None, f"'{bad}' is not a number."
    value, numerator, denominator = (numbers[i] if given[i] else None for i in range(3))
    if numerator is not None and denominator is not None:
        if denominator == 0:
            return None, "The denominator is zero."
        if indicator["unit"] == "percent" and numerator > denominator:
            return None, "The numerator is larger than the denominator."
        if value is None:
            value = numerator / denominator * (100 if indicator["unit"] == "percent" else 1)
    if value is None:
        return None, "It gives no value (nor numerator and denominator)."
    low, high = indicator["min_value"], indicator["max_value"]
    if (pd.notna(low) and value < low) or (pd.notna(high) and value > high):
        return None, f"The value {value:g} is outside the valid range for {indicator.name}."
    return float(value), None
