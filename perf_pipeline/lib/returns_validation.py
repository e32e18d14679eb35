"""Strict meaning for leniently read returns: every row accepted, or an exception with a reason.

The rules run in a fixed order and the first that fails gives the row its one reason, so every
non-blank row of every file lands in exactly one of the accepted rows or the exceptions.
Vectorised with pandas: a return of a million rows is checked in seconds.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

import numpy as np
import pandas as pd

from perf_pipeline.lib.quarters import Quarter, QuarterError
from perf_pipeline.lib.reference import due_in

REVISION_WINDOW_QUARTERS = 3
NOT_REPORTED = {"", "n/a", "na", "n.a.", "n.a", "tbc", "tba", "not available", "not reported", "-", "–", "—"}
STATUSES = {"final", "provisional", "estimate"}
RATE_UNITS = {"percent"}

# Reason codes and the sentence a service officer reads for each.
REASONS = {
    "unreadable_file": "The file could not be read.",
    "empty_file": "The file has no rows of figures.",
    "missing_column": "A required column is missing from the file.",
    "unknown_indicator": "The indicator code is not one we collect.",
    "wrong_period": "The period is not this quarter or a quarter that may still be revised.",
    "not_due": "This indicator is not due for this period.",
    "invalid_status": "The status must be final, provisional or estimate.",
    "not_a_number": "The figure is not a number.",
    "zero_denominator": "The denominator is zero, so no rate can be worked out.",
    "numerator_exceeds_denominator": "The numerator is larger than the denominator.",
    "value_disagrees_with_ratio": "The value does not match the numerator and denominator.",
    "out_of_range": "The figure is outside the valid range for this indicator.",
    "duplicate": "The same figure was sent twice; it was counted once.",
    "conflicting_duplicate": "Different figures were sent for the same indicator and period.",
}

EXCEPTION_COLUMNS = [
    "file", "row", "indicator_code", "period", "raw_value", "reason", "message", "service",
    "file_sha256",
]  # fmt: skip
VALIDATED_COLUMNS = [
    "file", "file_sha256", "row", "indicator_code", "period", "period_start", "is_revision",
    "value", "numerator", "denominator", "reported", "raw_value", "commentary", "data_status",
    "submitted_by",
]  # fmt: skip

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers as services write them (`85%`, `1,234`, `£2,500`, `(12)`): values and a parsed mask.

    A comma is read as a thousands separator only where it groups thousands, so `85,5` is not
    silently read as 855.
    """
    text = raw.fillna("").astype(str).str.strip()
    negative = text.str.match(r"^\(.*\)$")
    cleaned = (
        text.str.replace(r"^\((.*)\)$", r"\1", regex=True)
        .str.replace("\u2212", "-", regex=False)
        .str.replace(r"[£$€%\s\u00a0]", "", regex=True)
    )
    with_commas = cleaned.str.contains(",", regex=False)
    grouped = cleaned.str.match(_THOUSANDS.pattern)
    cleaned = cleaned.where(~(with_commas & grouped), cleaned.str.replace(",", "", regex=False))
    plain = cleaned.str.match(_PLAIN_NUMBER.pattern)
    numbers = pd.to_numeric(cleaned.where(plain), errors="coerce")
    numbers = numbers.where(~negative, -numbers)
    return numbers.astype(float), plain & numbers.notna()


def _parse_period(text: str, folder: Quarter) -> tuple[str | None, str | None]:
    if not text.strip():
        return folder.key, None
    try:
        return Quarter.parse(text).key, None
    except QuarterError as exc:
        return None, str(exc)


# Characters that are easily typed or pasted in place of another: digits for letters, and
# Cyrillic or Greek capitals that look Latin.
_CONFUSABLE = str.maketrans(
    {"0": "O", "1": "I", "L": "I", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H",
     "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Α": "A",
     "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
     "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X"}
)  # fmt: skip


def _skeleton(code: str) -> str:
    return unicodedata.normalize("NFKC", code).strip().upper().translate(_CONFUSABLE)


def _lookalike_note(code: str) -> str:
    odd = [c for c in code if ord(c) > 127]
    if not odd:
        return ""
    names = ", ".join(f"'{c}' ({unicodedata.name(c, 'unknown character')})" for c in dict.fromkeys(odd))
    return f" It contains {names}, which looks like an ordinary letter or digit but is not."


def validate_returns(
    raw: pd.DataFrame, indicators: pd.DataFrame, folder: Quarter, first_quarter: Quarter
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the raw rows of one quarter's folder into accepted rows and exceptions."""
    df = raw.reset_index(drop=True).copy()
    df["row_number"] = pd.to_numeric(df["row_number"]).astype("Int64")
    for column in ("indicator_code", "period", "value", "numerator", "denominator", "commentary",
                   "status", "submitted_by", "file_problem", "file_problem_message"):  # fmt: skip
        df[column] = df[column].fillna("").astype(str)
    reason = pd.Series(pd.NA, index=df.index, dtype="object")
    detail = pd.Series("", index=df.index, dtype="object")

    def fail(mask: pd.Series, code: str, message: pd.Series | str | None = None) -> None:
        new = mask & reason.isna()
        reason[new] = code
        if message is not None:
            detail[new] = message[new] if isinstance(message, pd.Series) else message

    file_problem = df["file_problem"].ne("")
    reason[file_problem] = df["file_problem"]
    detail[file_problem] = df["file_problem_message"]

    catalogue = indicators.set_index(indicators["code"].str.upper())
    code_key = df["indicator_code"].str.strip().str.upper()
    known = code_key.isin(catalogue.index)
    blank_code = code_key.eq("")
    fail(blank_code, "unknown_indicator", "The row has no indicator code.")
    unknown_codes = df.loc[~known & ~blank_code & reason.isna(), "indicator_code"].unique()
    suggestions = {}
    skeletons = {}
    for known_code in catalogue.index:
        skeletons.setdefault(_skeleton(known_code), []).append(known_code)
    for code in unknown_codes:
        alike = skeletons.get(_skeleton(code), [])
        close = alike if len(alike) == 1 else difflib.get_close_matches(
            code.strip().upper(), list(catalogue.index), n=1, cutoff=0.6)  # fmt: skip
        hint = f" Did you mean {catalogue.loc[close[0], 'code']}?" if close else ""
        suggestions[code] = f"'{code}' is not an indicator code we collect.{_lookalike_note(code)}{hint}"
    fail(~known & ~blank_code, "unknown_indicator", df["indicator_code"].map(suggestions))

    indicator = catalogue.reindex(code_key.where(known))
    indicator.index = df.index
    df["code"] = indicator["code"]
    df["service"] = indicator["service"]
    file_service = df.groupby("file")["service"].transform(_most_common)
    df["service"] = df["service"].where(df["service"].notna(), file_service).astype(object)

    periods = {p: _parse_period(p, folder) for p in df["period"].unique()}
    df["period_key"] = df["period"].map(lambda p: periods[p][0])
    bad_period = df["period_key"].isna()
    fail(bad_period, "wrong_period", df["period"].map(lambda p: periods[p][1] or ""))
    period_q = df["period_key"].map(lambda k: Quarter.parse(k) if isinstance(k, str) else None)
    later = period_q.map(lambda q: q is not None and q > folder)
    fail(later, "wrong_period",
         df["period"].map(lambda p: f"'{p}' is later than {folder.label}, the quarter of this return."))  # fmt: skip
    oldest = max(folder.shift(-REVISION_WINDOW_QUARTERS), first_quarter)
    too_old = period_q.map(lambda q: q is not None and q < oldest)
    fail(too_old, "wrong_period", df["period"].map(
        lambda p: f"'{p}' is too far back to revise in a return (the oldest is {oldest.label}); "
        "ask the performance team to record a correction."))  # fmt: skip

    due = np.zeros(len(df), dtype=bool)
    for key in df.loc[reason.isna(), "period_key"].dropna().unique():
        due_codes = set(indicators.loc[due_in(indicators, Quarter.parse(key)), "code"])
        rows = df["period_key"].eq(key).to_numpy()
        due[rows] = df.loc[rows, "code"].isin(due_codes).to_numpy()
    due = pd.Series(due, index=df.index)
    not_due_message = indicator["frequency"].map(
        lambda f: "it is reported once a year, in Q4" if f == "annual" else "it is not active in that quarter"
    )
    fail(~due, "not_due", "This indicator is not due for " + df["period_key"].fillna("") + ": " + not_due_message + ".")

    status = df["status"].str.strip().str.lower().replace("", "final")
    fail(~status.isin(STATUSES), "invalid_status",
         "'" + df["status"] + "' is not a status; write final, provisional or estimate.")  # fmt: skip

    value_text = df["value"].str.strip()
    not_reported_value = value_text.str.lower().isin(NOT_REPORTED)
    value, value_ok = parse_numbers(df["value"])
    numerator, numerator_ok = parse_numbers(df["numerator"])
    denominator, denominator_ok = parse_numbers(df["denominator"])
    has_num = df["numerator"].str.strip().ne("")
    has_den = df["denominator"].str.strip().ne("")
    fail(~not_reported_value & ~value_ok, "not_a_number",
         "The value '" + df["value"] + "' is not a number.")  # fmt: skip
    fail(has_num & ~numerator_ok, "not_a_number", "The numerator '" + df["numerator"] + "' is not a number.")
    fail(has_den & ~denominator_ok, "not_a_number", "The denominator '" + df["denominator"] + "' is not a number.")
    both = has_num & has_den
    fail(both & denominator.eq(0), "zero_denominator")
    is_rate = indicator["unit"].isin(RATE_UNITS) | indicator["ytd_method"].eq("ratio")
    fail(both & is_rate & (numerator > denominator), "numerator_exceeds_denominator",
         "The numerator (" + df["numerator"] + ") is larger than the denominator (" + df["denominator"] + ").")  # fmt: skip
    derived = np.where(indicator["unit"].eq("percent"), 100 * numerator / denominator, numerator / denominator)
    derived = pd.Series(derived, index=df.index)
    tolerance = 10.0 ** -indicator["decimals"].fillna(1)
    disagree = both & value_ok & ((value - derived).abs() > tolerance)
    fail(disagree, "value_disagrees_with_ratio",
         "The value " + df["value"] + " does not match " + df["numerator"] + " / " + df["denominator"]
         + " = " + derived.round(3).astype(str) + ".")  # fmt: skip
    value = value.where(value_ok, derived.where(both & value_text.eq("")))
    reported = value.notna()
    low, high = indicator["min_value"], indicator["max_value"]
    outside = reported & ((low.notna() & (value < low)) | (high.notna() & (value > high)))
    fail(outside, "out_of_range", "The value " + value.round(6).astype(str) + " is outside the valid range "
         + low.map(_bound) + " to " + high.map(_bound) + ".")  # fmt: skip

    candidates = reason.isna()
    dup = df[candidates].assign(_value=value[candidates].round(9).fillna(-1e300))
    sizes = dup.groupby(["code", "period_key"])["_value"].transform("size")
    distinct = dup.groupby(["code", "period_key"])["_value"].transform("nunique")
    first = ~dup.duplicated(["code", "period_key"], keep="first")
    conflicting = (sizes > 1) & (distinct > 1)
    repeated = (sizes > 1) & (distinct == 1) & ~first
    sources = dup.groupby(["code", "period_key"])["row_number"].transform(
        lambda s: ", ".join(f"row {int(r)}" for r in s)
    )
    files = dup.groupby(["code", "period_key"])["file"].transform(lambda s: "; ".join(sorted(set(s))))
    fail(conflicting.reindex(df.index, fill_value=False), "conflicting_duplicate",
         ("Different figures for " + dup["code"] + " " + dup["period_key"] + " were sent in " + files
          + " (" + sources + "); none is used until the service confirms which is right.").reindex(df.index))  # fmt: skip
    fail(repeated.reindex(df.index, fill_value=False), "duplicate",
         ("The same figure for " + dup["code"] + " " + dup["period_key"] + " appears more than once ("
          + sources + "); it was counted once.").reindex(df.index))  # fmt: skip

    accepted = reason.isna()
    detail = detail.where(detail.ne(""), reason.map(REASONS))

    validated = pd.DataFrame(
        {
            "file": df["file"], "file_sha256": df["file_sha256"], "row": df["row_number"],
            "indicator_code": df["code"], "period": df["period_key"],
            "period_start": df["period_key"].map(lambda k: Quarter.parse(k).start if isinstance(k, str) else None),
            "is_revision": df["period_key"].ne(folder.key),
            "value": value, "numerator": numerator.where(has_num), "denominator": denominator.where(has_den),
            "reported": reported, "raw_value": df["value"], "commentary": df["commentary"],
            "data_status": status, "submitted_by": df["submitted_by"],
        }
    )[accepted]  # fmt: skip
    exceptions = pd.DataFrame(
        {
            "file": df["file"], "row": df["row_number"], "indicator_code": df["indicator_code"],
            "period": df["period"], "raw_value": df["value"], "reason": reason, "message": detail,
            "service": df["service"], "file_sha256": df["file_sha256"],
        }
    )[~accepted]  # fmt: skip
    return validated.reset_index(drop=True), exceptions.reset_index(drop=True)


def _bound(value: float) -> str:
    if pd.isna(value):
        return "no limit"
    return f"{value:g}"


def _most_common(values: pd.Series):
    counts = values.dropna().value_counts()
    return counts.index[0] if len(counts) else None
