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

from perf_pipeline.lib.quarters import REVISION_WINDOW_QUARTERS, Quarter, QuarterError
from perf_pipeline.lib.reference import due_in
from perf_pipeline.lib.returns_reader import FIELDS

NOT_REPORTED = {"", "n/a", "na", "n.a.", "n.a", "tbc", "tba", "not available", "not reported", "-", "–", "—"}
STATUSES = {"final", "provisional", "estimate"}
RATE_UNITS = {"percent"}

# Reason codes and the sentence a service officer reads for each.
REASONS = {
    "unreadable_file": "The file could not be read.",
    "empty_file": "The file has no rows of figures.",
    "several_data_sheets": "The workbook has figures on more than one sheet.",
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
    "file",
    "row",
    "indicator_code",
    "period",
    "raw_value",
    "reason",
    "message",
    "service",
    "file_sha256",
]
VALIDATED_COLUMNS = [
    "file",
    "file_sha256",
    "row",
    "indicator_code",
    "period",
    "period_start",
    "is_revision",
    "value",
    "numerator",
    "denominator",
    "reported",
    "raw_value",
    "commentary",
    "data_status",
    "submitted_by",
]

# A figure as services write it: an optional sign, currency sign, thousands grouped by commas or
# spaces, a percent sign at the end, or accounting brackets for a negative (`(12)`). Anything else
# (`21 3`, `4%7`, `(-3.2)`, `85,5`) is refused rather than guessed at.
_WRITTEN_NUMBER = re.compile(
    r"^(?P<open>\()?\s*(?P<sign>[+\-\u2212])?\s*[£$€]?\s*"
    r"(?P<digits>[0-9]{1,3}(?P<sep>[, \u00a0\u202f])[0-9]{3}(?:(?P=sep)[0-9]{3})*(?:\.[0-9]+)?"
    r"|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"\s*%?\s*(?P<close>\))?$"
)
# In a file separated by semicolons (saved with continental settings) `1.651` and `1,651` may
# each mean one thousand six hundred and fifty-one or a figure below two: never guessed.
_GROUPED_THREE = re.compile(r"^[+\-\u2212]?[£$€]?[0-9]{1,3}([.,])[0-9]{3}(?:\1[0-9]{3})*%?$")
NEGATIVE_ZERO_FREE = 0.0  # adding it turns -0.0 into 0.0, so a typed `-0` is never shown as -0


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers as services write them (`85%`, `1,234`, `£2,500`, `(12)`): values and a parsed mask.

    A comma or a space is read as a thousands separator only where it groups thousands, so `85,5`
    is not silently read as 855, nor `21 3` as 213.
    """
    # Each distinct text is read once (a million rows hold few distinct figures, and pandas'
    # to_numeric costs about a second a million), then spread over the rows.
    positions, distinct = pd.factorize(raw.to_numpy(), use_na_sentinel=False)
    text = pd.Series(distinct, dtype=object).fillna("").astype(str)
    # Most figures are plain numbers: read those at C speed, and only the rest the careful way.
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    ok = pd.Series(np.isfinite(numbers.to_numpy()), index=text.index)
    rest = ~ok & text.ne("")
    if rest.any():
        written, written_ok = _parse_written_numbers(text[rest])
        numbers[rest] = written.to_numpy()
        ok[rest] = written_ok.to_numpy(dtype=bool)
    values = numbers.where(ok).to_numpy()[positions] + NEGATIVE_ZERO_FREE
    return pd.Series(values, index=raw.index), pd.Series(ok.to_numpy()[positions], index=raw.index)


def _parse_written_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    parts = raw.str.strip().str.extract(_WRITTEN_NUMBER)
    matched = parts["digits"].notna()
    brackets = parts["open"].notna() & parts["close"].notna()
    # Brackets come in pairs and already mean minus: `(-3.2)` is refused, not read as +3.2.
    well_formed = (
        matched & (parts["open"].notna() == parts["close"].notna()) & ~(brackets & parts["sign"].notna())
    )
    digits = parts["digits"].where(well_formed).str.replace(r"[, \u00a0\u202f]", "", regex=True)
    numbers = pd.to_numeric(digits, errors="coerce").astype(float)
    negative = brackets | parts["sign"].isin(["-", "\u2212"])
    numbers = numbers.where(~negative, -numbers)
    return numbers, well_formed & np.isfinite(numbers)


def ambiguous_separators(raw: pd.Series, semicolon_file: pd.Series) -> pd.Series:
    """Figures whose one kind of separator groups three digits, in a file separated by semicolons
    (only those rows are looked at: most files have none)."""
    found = pd.Series(False, index=raw.index)
    if semicolon_file.any():
        text = raw[semicolon_file].fillna("").astype(str).str.strip()
        found[semicolon_file] = text.str.match(_GROUPED_THREE.pattern).to_numpy(dtype=bool)
    return found


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
    {
        "0": "O",
        "1": "I",
        "L": "I",
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "Ѕ": "S",
        "І": "I",
        "Ј": "J",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
    }
)


def _skeleton(code: str) -> str:
    return unicodedata.normalize("NFKC", code).strip().upper().translate(_CONFUSABLE)


_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp"}
# Messages quote what was written, up to this many characters.
QUOTED_LENGTH = 80
# Unknown codes get a nearest-code suggestion by similarity for this many distinct codes; past
# that (a file of junk) only the look-alike mapping, which costs nothing, suggests one.
SIMILARITY_SUGGESTIONS = 1000
# A message about repeated figures names this many places, then says how many more.
PLACES_NAMED = 5


def _lookalike_note(code: str) -> str:
    # Anything but printable ASCII: a look-alike letter, or a control character (tab, DEL) that
    # shows as nothing at all.
    odd = list(dict.fromkeys(c for c in code if not " " <= c <= "~"))
    hidden = [c for c in odd if unicodedata.category(c) in _INVISIBLE]
    shown = [c for c in odd if c not in hidden]
    note = ""
    if shown:
        names = ", ".join(f"'{c}' ({unicodedata.name(c, 'unknown character')})" for c in shown)
        note += (
            f" It contains {names}, which looks like an ordinary letter or digit but is not."
            if len(shown) == 1
            else f" It contains {names}, which look like ordinary letters or digits but are not."
        )
    if hidden:
        names = ", ".join(unicodedata.name(c, f"U+{ord(c):04X}") for c in hidden)
        note += f" It contains an invisible character ({names}); retype the code."
    return note


def quoted(text: pd.Series) -> pd.Series:
    """What was written, cut short where it is long, for quoting in a message."""
    long = text.str.len() > QUOTED_LENGTH
    return text.where(~long, text.str.slice(0, QUOTED_LENGTH) + "…")


def _not_a_number(label: str, text: pd.Series) -> pd.Series:
    formula = text.str.strip().str.startswith("=")
    return pd.Series(
        np.where(
            formula,
            f"The {label} '"
            + quoted(text)
            + "' is a formula, not a figure: the file holds no result for it. "
            "Type the figure itself.",
            f"The {label} '"
            + quoted(text)
            + "' is not a number. Write digits with a decimal point (21.3); a comma or space may "
            "only group thousands (1,234), a % only end the figure.",
        ),
        index=text.index,
    )


def ratio_rules(
    value: pd.Series, numerator: pd.Series, denominator: pd.Series, indicator: pd.DataFrame
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """The rules for a figure given with its numerator and denominator, for returns and
    corrections alike: a zero denominator; a numerator larger than the denominator of a rate
    (a percentage, or an indicator whose year to date is a ratio); the value the two give; and a
    value that differs from it by more than the indicator's precision (`decimals`, default 1).

    `indicator` holds each row's unit, ytd_method and decimals; a missing number is NaN.
    """
    zero = denominator.eq(0)
    is_rate = indicator["unit"].isin(RATE_UNITS) | indicator["ytd_method"].eq("ratio")
    exceeds = is_rate & (numerator > denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = np.where(
            indicator["unit"].eq("percent"), 100 * numerator / denominator, numerator / denominator
        )
    derived = pd.Series(derived, index=value.index)
    tolerance = 10.0 ** -indicator["decimals"].fillna(1)
    disagree = value.notna() & ((value - derived).abs() > tolerance)
    return zero, exceeds, derived, disagree


def _ambiguous(label: str, text: pd.Series) -> pd.Series:
    return (
        f"The {label} '"
        + quoted(text)
        + "' is ambiguous in a file separated by semicolons: its separator may group thousands or "
        "mark decimals. Write a whole number without a separator (1651), or save the file with "
        "UK settings (separated by commas) so that a point marks decimals."
    )


# The raw rows' columns that validation reads.
_CHECKED = ("file", "file_sha256", "delimiter", *FIELDS, "file_problem", "file_problem_message")
# What validation needs to know of each row's indicator; its text as categories (a byte a row,
# compared by number).
_INDICATOR_FIELDS = [
    "code",
    "service",
    "frequency",
    "unit",
    "ytd_method",
    "decimals",
    "min_value",
    "max_value",
]
_INDICATOR_TEXT = dict.fromkeys(["code", "service", "frequency", "unit", "ytd_method"], "category")


def _per_distinct(text: pd.Series, change) -> pd.Series:
    """`change` (from a Series of text to one of the same length) applied to each distinct text
    once, then spread over the rows: a million rows hold few distinct codes or statuses, and no
    new string is made for each row."""
    positions, distinct = pd.factorize(text.to_numpy(), use_na_sentinel=False)
    return pd.Series(change(pd.Series(distinct, dtype=object)).to_numpy()[positions], index=text.index)


def validate_returns(
    raw: pd.DataFrame, indicators: pd.DataFrame, folder: Quarter, first_quarter: Quarter
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the raw rows of one quarter's folder into accepted rows and exceptions.

    `raw` is as `raw_frame` gives it: the fields' text already stripped of surrounding spaces.
    Column at a time, never row by row, and each message is worded only for the rows it is
    given to, so that a return of a million rows is checked in seconds.
    """
    # Only the columns checked, as Python strings with blank for missing: no copy of the rest.
    df = pd.DataFrame(
        {column: raw[column].to_numpy(dtype=object, na_value="") for column in _CHECKED},
        copy=False,
    )
    df["row_number"] = pd.to_numeric(raw["row_number"]).astype("Int64").array
    reason = np.full(len(df), None, dtype=object)
    detail = np.full(len(df), "", dtype=object)
    standing = np.ones(len(df), dtype=bool)  # no reason yet

    def fail(mask: pd.Series, code: str, message=None) -> None:
        """Give `code` to the rows in `mask` that have no reason yet; `message` is a sentence, or
        a function from those rows' index to their sentences."""
        new = mask.to_numpy(dtype=bool) & standing
        if not new.any():
            return
        reason[new] = code
        standing[new] = False
        if message is not None:
            detail[new] = np.asarray(message(df.index[new]), dtype=object) if callable(message) else message

    def still_standing() -> pd.Series:
        return pd.Series(standing, index=df.index)

    file_problem = df["file_problem"].ne("").to_numpy()
    reason[file_problem] = df["file_problem"].to_numpy()[file_problem]
    detail[file_problem] = df["file_problem_message"].to_numpy()[file_problem]
    standing[file_problem] = False

    catalogue = indicators.set_index(indicators["code"].str.upper())
    # Codes are few: each distinct one is looked up once, then spread over the rows.
    code_at, codes = pd.factorize(df["indicator_code"].to_numpy())
    codes = pd.Series(codes, dtype=object).str.upper()
    code_key = pd.Series(codes.to_numpy()[code_at], index=df.index)
    known = code_key.isin(catalogue.index)
    blank_code = code_key.eq("")
    fail(blank_code, "unknown_indicator", "The row has no indicator code.")
    unknown_codes = df.loc[~known & ~blank_code & still_standing(), "indicator_code"].unique()
    skeletons: dict[str, list[str]] = {}
    for known_code in catalogue.index:
        skeletons.setdefault(_skeleton(known_code), []).append(known_code)
    suggestions = {}
    for number, code in enumerate(unknown_codes):
        alike = skeletons.get(_skeleton(code), [])
        close = (
            alike
            if len(alike) == 1
            else []
            if number >= SIMILARITY_SUGGESTIONS
            else difflib.get_close_matches(code.strip().upper(), list(catalogue.index), n=1, cutoff=0.6)
        )
        hint = f" Did you mean {catalogue.loc[close[0], 'code']}?" if close else ""
        shown = code if len(code) <= QUOTED_LENGTH else code[:QUOTED_LENGTH] + "…"
        suggestions[code] = f"'{shown}' is not an indicator code we collect.{_lookalike_note(code)}{hint}"
    fail(
        ~known & ~blank_code,
        "unknown_indicator",
        lambda rows: df.loc[rows, "indicator_code"].map(suggestions),
    )

    indicator = (
        catalogue[_INDICATOR_FIELDS]
        .astype(_INDICATOR_TEXT)
        .reindex(codes.where(codes.isin(catalogue.index)))
        .take(code_at)
    )
    indicator.index = df.index
    df["code"] = indicator["code"].astype(object)
    df["service"] = indicator["service"].astype(object)
    # A row of an unknown indicator is put down to the service most of its file's rows are for.
    unknown = df["service"].isna()
    if unknown.any():
        file_service = df.groupby("file")["service"].agg(_most_common)
        df.loc[unknown, "service"] = df.loc[unknown, "file"].map(file_service)

    # Periods are few: each distinct one is parsed once, then spread over the rows.
    period_at, periods = pd.factorize(df["period"].to_numpy())
    parsed = [_parse_period(text, folder) for text in periods]
    period_keys = np.array([key for key, _ in parsed], dtype=object)
    period_errors = np.array([f"{error}." if error else "" for _, error in parsed], dtype=object)
    df["period_key"] = period_keys[period_at]
    quarters = {key: Quarter.parse(key) for key in set(period_keys) - {None}}

    def periods_where(test) -> pd.Series:
        """The rows whose period passes `test`, a function of the distinct period's quarter."""
        passed = np.array([key is not None and test(quarters[key]) for key in period_keys], dtype=bool)
        return pd.Series(passed[period_at], index=df.index)

    fail(df["period_key"].isna(), "wrong_period", lambda rows: period_errors[period_at[rows]])
    fail(
        periods_where(lambda quarter: quarter > folder),
        "wrong_period",
        lambda rows: (
            "'" + df.loc[rows, "period"] + f"' is later than {folder.label}, the quarter of this return."
        ),
    )
    oldest = max(folder.shift(-REVISION_WINDOW_QUARTERS), first_quarter)
    fail(
        periods_where(lambda quarter: quarter < oldest),
        "wrong_period",
        lambda rows: (
            "'" + df.loc[rows, "period"] + f"' is too far back to revise in a return (the oldest is "
            f"{oldest.label}); ask the performance team to record a correction."
        ),
    )

    due = np.zeros(len(df), dtype=bool)
    for key in set(period_keys[np.unique(period_at[standing])]) - {None}:
        due_codes = set(indicators.loc[due_in(indicators, quarters[key]), "code"])
        rows = (period_keys == key)[period_at]
        due[rows] = df.loc[rows, "code"].isin(due_codes).to_numpy()
    fail(
        pd.Series(~due, index=df.index),
        "not_due",
        lambda rows: (
            "This indicator is not due for "
            + df.loc[rows, "period_key"]
            + ": "
            + np.where(
                indicator.loc[rows, "frequency"].eq("annual"),
                "it is reported once a year, in Q4",
                "it is not active in that quarter",
            )
            + "."
        ),
    )

    status = _per_distinct(df["status"], lambda statuses: statuses.str.lower().replace("", "final"))
    fail(
        ~status.isin(STATUSES),
        "invalid_status",
        lambda rows: (
            "'" + quoted(df.loc[rows, "status"]) + "' is not a status; write final, provisional or estimate."
        ),
    )

    semicolon_file = df["delimiter"].eq(";")
    for column in ("value", "numerator", "denominator"):
        fail(
            ambiguous_separators(df[column], semicolon_file),
            "not_a_number",
            lambda rows, column=column: _ambiguous(column, df.loc[rows, column]),
        )
    value_text = df["value"]

    def not_reported(column: str) -> pd.Series:
        return _per_distinct(df[column], lambda texts: texts.str.lower().isin(NOT_REPORTED))

    # `n/a`, `tbc` or blank mean no figure in any of the three columns (the request pack has all
    # three, pre-filled): a numerator written `n/a` is not reported, not a number refused.
    not_reported_value = not_reported("value")
    value, value_ok = parse_numbers(df["value"])
    numerator, numerator_ok = parse_numbers(df["numerator"])
    denominator, denominator_ok = parse_numbers(df["denominator"])
    has_num = ~not_reported("numerator")
    has_den = ~not_reported("denominator")
    fail(
        ~not_reported_value & ~value_ok,
        "not_a_number",
        lambda rows: _not_a_number("value", df.loc[rows, "value"]),
    )
    fail(
        has_num & ~numerator_ok,
        "not_a_number",
        lambda rows: _not_a_number("numerator", df.loc[rows, "numerator"]),
    )
    fail(
        has_den & ~denominator_ok,
        "not_a_number",
        lambda rows: _not_a_number("denominator", df.loc[rows, "denominator"]),
    )
    both = has_num & has_den
    zero, exceeds, derived, disagree = ratio_rules(value.where(value_ok), numerator, denominator, indicator)
    fail(both & zero, "zero_denominator")
    fail(
        both & exceeds,
        "numerator_exceeds_denominator",
        lambda rows: (
            "The numerator ("
            + df.loc[rows, "numerator"]
            + ") is larger than the denominator ("
            + df.loc[rows, "denominator"]
            + ")."
        ),
    )

    def parts(rows: pd.Index) -> pd.Series:
        return df.loc[rows, "numerator"] + " / " + df.loc[rows, "denominator"]

    fail(
        both & disagree,
        "value_disagrees_with_ratio",
        lambda rows: (
            "The value "
            + df.loc[rows, "value"]
            + " does not match "
            + parts(rows)
            + " = "
            + derived[rows].round(3).astype(str)
            + "."
        ),
    )
    # A value written as not reported (`n/a`, `tbc`) beside a numerator and a denominator says two
    # things: the figure is neither taken as missing (the parts would still count in a ratio year to
    # date) nor worked out (the service said there was none). Refused, for the service to say which.
    fail(
        both & not_reported_value & value_text.ne(""),
        "value_disagrees_with_ratio",
        lambda rows: (
            "The value says '"
            + df.loc[rows, "value"]
            + "' (not reported), but the numerator and denominator give "
            + parts(rows)
            + ": send the figure, or leave all three blank."
        ),
    )
    value = value.where(value_ok, derived.where(both & value_text.eq("")))
    reported = value.notna()
    low, high = indicator["min_value"], indicator["max_value"]
    outside = reported & ((low.notna() & (value < low)) | (high.notna() & (value > high)))
    fail(
        outside,
        "out_of_range",
        lambda rows: (
            "The value "
            + value[rows].round(6).astype(str)
            + " is outside the valid range "
            + low[rows].map(_bound)
            + " to "
            + high[rows].map(_bound)
            + "."
        ),
    )

    _fail_repeats(df, value, still_standing(), fail)

    accepted = standing
    unworded = ~accepted & (detail == "")
    detail[unworded] = [REASONS[r] for r in reason[unworded]]
    period_starts = {key: q.start for key, q in quarters.items()}
    period = df["period_key"]
    validated = _rows(
        np.flatnonzero(accepted),
        {
            "file": df["file"],
            "file_sha256": df["file_sha256"],
            "row": df["row_number"],
            "indicator_code": df["code"],
            "period": period,
            "period_start": lambda rows: period.iloc[rows].map(period_starts),
            "is_revision": lambda rows: period.iloc[rows].ne(folder.key),
            "value": value,
            "numerator": numerator.where(has_num),
            "denominator": denominator.where(has_den),
            "reported": reported,
            "raw_value": df["value"],
            "commentary": df["commentary"],
            "data_status": status,
            "submitted_by": df["submitted_by"],
        },
    )
    exceptions = _rows(
        np.flatnonzero(~accepted),
        {
            "file": df["file"],
            "row": df["row_number"],
            "indicator_code": df["indicator_code"],
            "period": df["period"],
            "raw_value": df["value"],
            "reason": pd.Series(reason, index=df.index),
            "message": pd.Series(detail, index=df.index),
            "service": df["service"],
            "file_sha256": df["file_sha256"],
        },
    )
    return validated, exceptions


def _rows(positions: np.ndarray, columns: dict) -> pd.DataFrame:
    """A frame of the rows at `positions` of each column (a Series, or a function from positions
    to a Series), taken column by column: no frame of every row is made to be filtered."""
    taken = {}
    for name, column in columns.items():
        at = slice(None) if callable(column) else positions
        column = column(positions) if callable(column) else column
        # A plain numpy column is taken from its array (taking from pandas' wrapper of it is slow).
        taken[name] = column.to_numpy()[at] if isinstance(column.dtype, np.dtype) else column.array[at]
    return pd.DataFrame(taken, copy=False)


def _fail_repeats(df: pd.DataFrame, value: pd.Series, candidates: pd.Series, fail) -> None:
    """Figures for the same indicator and period sent more than once among the rows still standing.

    An identical repeat is counted once, and its message names where the figure was first
    received (another file, often: the same return sent twice under two names). Different figures
    are all refused, and the message lists where they came from. Messages are worded once per
    indicator and period, however many rows repeat it.

    Worked on integer labels (`pd.factorize`) rather than on copies of the rows, so that a file of
    a million repeats costs little more memory than its labels.
    """
    at = np.flatnonzero(candidates.to_numpy(dtype=bool))
    code = pd.factorize(df["code"].to_numpy()[at])[0]
    period, periods = pd.factorize(df["period_key"].to_numpy()[at])
    group = pd.factorize(code * len(periods) + period)[0]  # numbered in order of first appearance
    size = np.bincount(group)
    repeated = size[group] > 1
    if not repeated.any():
        return
    # A missing figure counts as one figure of its own ("blank" in the message).
    figure = pd.factorize(value.to_numpy()[at].round(9), use_na_sentinel=False)[0]
    pairs = np.unique(group * (figure.max() + 1) + figure)
    conflicting_group = np.bincount(pairs // (figure.max() + 1), minlength=len(size)) > 1
    first_in_group = ~pd.Series(group).duplicated().to_numpy()

    order = pd.Series(group).groupby(group).cumcount().to_numpy()
    named_at = at[repeated & (order < PLACES_NAMED)]
    named = df.loc[named_at, ["file", "row_number", "value", "numerator", "denominator"]]
    named_group = pd.Series(group[repeated & (order < PLACES_NAMED)], index=named.index)
    place = named["file"] + " row " + named["row_number"].astype(str)
    ratio = named["numerator"] + "/" + named["denominator"]
    written = named["value"].where(named["value"].ne(""), ratio.where(ratio.ne("/"), "blank"))
    per_group = (
        pd.DataFrame({"group": named_group, "place": place, "listed": place + " (" + quoted(written) + ")"})
        .groupby("group")
        .agg(first_place=("place", "first"), listed=("listed", ", ".join))
    )
    label = pd.Series(
        df["code"].to_numpy()[at[first_in_group]] + " " + df["period_key"].to_numpy()[at[first_in_group]]
    )[per_group.index]
    more = size[per_group.index] - PLACES_NAMED
    conflict_message = np.full(len(size), "", dtype=object)
    conflict_message[per_group.index] = (
        "Different figures for "
        + label.to_numpy()
        + " were sent: "
        + per_group["listed"].to_numpy()
        + np.where(more > 0, " and " + more.astype(str) + " more", "")
        + "; none is used until the service confirms which is right."
    )
    repeat_message = np.full(len(size), "", dtype=object)
    repeat_message[per_group.index] = (
        "The same figure for "
        + label.to_numpy()
        + " was already received in "
        + per_group["first_place"].to_numpy()
        + "; it was counted once."
    )
    group_of_row = np.full(len(df), -1)
    group_of_row[at] = group

    def rows_where(selected: np.ndarray) -> pd.Series:
        mask = np.zeros(len(df), dtype=bool)
        mask[at[selected]] = True
        return pd.Series(mask, index=df.index)

    conflicting = repeated & conflicting_group[group]
    fail(rows_where(conflicting), "conflicting_duplicate", lambda rows: conflict_message[group_of_row[rows]])
    fail(
        rows_where(repeated & ~conflicting & ~first_in_group),
        "duplicate",
        lambda rows: repeat_message[group_of_row[rows]],
    )


def _bound(value: float) -> str:
    if pd.isna(value):
        return "no limit"
    return f"{value:g}"


def _most_common(values: pd.Series):
    counts = values.dropna().value_counts()
    return counts.index[0] if len(counts) else None
