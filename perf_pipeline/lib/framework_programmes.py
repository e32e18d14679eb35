"""Change programmes: their milestones and the benefits they promised, as at a quarter's end.

`reference/programmes.csv` names each programme, its sponsor, aim and KPIs (indicators of the
catalogue); `milestones.csv` its milestones with the date agreed (`baseline_date`), the date now
expected (`forecast_date`, blank = the baseline) and the day completed; `benefits.csv` the value
an indicator should reach by a quarter.

A milestone's status as at a date, first rule that applies:

1. **Complete**: completed on or before the date.
2. **Slipped** by N days: not complete, and either its forecast is later than its baseline (N =
   forecast − baseline) or the baseline has passed (N = the later of the forecast and the date,
   less the baseline).
3. **At risk**: not complete and not slipped, but its forecast date has gone by (the owner's own
   forecast was missed though the baseline still stands), or its baseline falls within the next
   `AT_RISK_WITHIN_DAYS` days: too close to recover if anything goes wrong, so the sponsor looks
   at it now.
4. **On track**.

A benefit's status as at a quarter: **Realised** when the indicator's latest reported value (up to
that quarter) meets the promised value, compared at the indicator's precision and by its polarity;
**Missed** when it does not and the promised quarter has come; **Not yet realised** before then;
**No data** when the indicator has no reported value yet; **Not assessed** for an indicator with
no better direction (polarity `none`).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from perf_pipeline.lib.framework import split_list
from perf_pipeline.lib.performance import at_precision
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import (
    _text,
    date_check,
    email_check,
    number_check,
    quarter_check,
    read_text_table,
)
from perf_pipeline.lib.validation import ReferenceDataError, validate_or_raise

if TYPE_CHECKING:  # imported where a schema is built: the definitions load without pandera
    import pandera.pandas as pa

COMPLETE, SLIPPED, AT_RISK, ON_TRACK = "Complete", "Slipped", "At risk", "On track"
MILESTONE_STATUSES = [COMPLETE, ON_TRACK, AT_RISK, SLIPPED]
AT_RISK_WITHIN_DAYS = 28
REALISED, MISSED, NOT_YET, NO_DATA, NOT_ASSESSED = (
    "Realised",
    "Missed",
    "Not yet realised",
    "No data",
    "Not assessed",
)
BENEFIT_STATUSES = [REALISED, NOT_YET, MISSED, NO_DATA, NOT_ASSESSED]


@functools.cache
def id_check() -> pa.Check:
    import pandera.pandas as pa

    return pa.Check.str_matches(r"^[A-Za-z0-9._-]+$", error="may hold only letters, digits, '-', '_' and '.'")


def _known(values: list[str], where: str) -> pa.Check:
    import pandera.pandas as pa

    return pa.Check.isin(values, error=f"is not {where}")


def load_programmes(reference: Path, indicator_codes: set[str]) -> pd.DataFrame:
    """`programmes.csv`; a council without one has no change programmes."""
    import pandera.pandas as pa

    path = reference / "programmes.csv"
    if not path.is_file():
        return pd.DataFrame(
            columns=["programme_id", "name", "sponsor", "sponsor_email", "aim", "indicator_codes"]
        )
    df, rows = read_text_table(path)
    if "indicator_codes" not in df.columns:
        df["indicator_codes"] = None
    schema = pa.DataFrameSchema(
        {
            "programme_id": _text(checks=[id_check()], unique=True),
            "name": _text(),
            "sponsor": _text(),
            "sponsor_email": _text(checks=[email_check()]),
            "aim": _text(),
            "indicator_codes": _text(required=False),
        }
    )
    df = validate_or_raise(schema, df, f"reference/{path.name}", rows)
    problems = [
        f"reference/{path.name} row {rows[i]}, column 'indicator_codes': '{code}' is not an indicator in "
        "indicators.csv"
        for i, text in df["indicator_codes"].items()
        for code in split_list(text)
        if code not in indicator_codes
    ]
    if problems:
        raise ReferenceDataError(problems)
    return df.reset_index(drop=True)


def load_milestones(reference: Path, programme_ids: list[str]) -> pd.DataFrame:
    """`milestones.csv`: each milestone's owner, baseline and forecast dates, and completion."""
    import pandera.pandas as pa

    path = reference / "milestones.csv"
    columns = ["programme_id", "milestone_id", "title", "owner", "owner_email", "baseline_date"]
    if not path.is_file():
        return pd.DataFrame(columns=[*columns, "forecast_date", "completed_on", "source_row"])
    df, rows = read_text_table(path)
    for optional in ("forecast_date", "completed_on"):
        if optional not in df.columns:
            df[optional] = None
    schema = pa.DataFrameSchema(
        {
            "programme_id": _text(checks=[_known(programme_ids, "a programme in programmes.csv")]),
            "milestone_id": _text(checks=[id_check()], unique=True),
            "title": _text(),
            "owner": _text(),
            "owner_email": _text(checks=[email_check()]),
            "baseline_date": _text(checks=[date_check()]),
            "forecast_date": _text(required=False, checks=[date_check()]),
            "completed_on": _text(required=False, checks=[date_check()]),
        }
    )
    df = validate_or_raise(schema, df, f"reference/{path.name}", rows)
    df["source_row"] = rows
    for column in ("baseline_date", "forecast_date", "completed_on"):
        df[column] = pd.to_datetime(df[column], format="ISO8601")
    return df.reset_index(drop=True)


def load_benefits(reference: Path, programme_ids: list[str], indicator_codes: set[str]) -> pd.DataFrame:
    """`benefits.csv`: the value each programme promised an indicator would reach, and by when."""
    import pandera.pandas as pa

    path = reference / "benefits.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["programme_id", "indicator_code", "target_value", "by_quarter"])
    df, rows = read_text_table(path)
    schema = pa.DataFrameSchema(
        {
            "programme_id": _text(checks=[_known(programme_ids, "a programme in programmes.csv")]),
            "indicator_code": _text(
                checks=[_known(sorted(indicator_codes), "an indicator in indicators.csv")]
            ),
            "target_value": _text(checks=[number_check()]),
            "by_quarter": _text(checks=[quarter_check()]),
        },
        unique=["programme_id", "indicator_code", "by_quarter"],
        report_duplicates="exclude_first",
    )
    df = validate_or_raise(schema, df, f"reference/{path.name}", rows)
    df["target_value"] = pd.to_numeric(df["target_value"])
    df["by_quarter"] = df["by_quarter"].map(lambda text: Quarter.parse(text).key)
    return df.reset_index(drop=True)


def milestone_state(
    baseline: dt.date, forecast: dt.date | None, completed_on: dt.date | None, as_at: dt.date
) -> tuple[str, int | None]:
    """The status of one milestone as at a date, and the days it has slipped (None unless slipped)."""
    if completed_on is not None and completed_on <= as_at:
        return COMPLETE, None
    expected = forecast or baseline
    slipped_to = max(expected, as_at) if as_at > baseline else expected
    if slipped_to > baseline:
        return SLIPPED, (slipped_to - baseline).days
    if expected < as_at or (baseline - as_at).days <= AT_RISK_WITHIN_DAYS:
        return AT_RISK, None
    return ON_TRACK, None


def _date(value) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def milestone_status(milestones: pd.DataFrame, programmes: pd.DataFrame, as_at: dt.date) -> pd.DataFrame:
    """Every milestone's status as at a date, with its programme and how far off it is."""
    out = milestones.copy()
    states = [
        milestone_state(_date(m.baseline_date), _date(m.forecast_date), _date(m.completed_on), as_at)
        for m in out.itertuples(index=False)
    ]
    out["status"] = [s for s, _ in states]
    # As at the day, a completion recorded for a later day had not happened: the quarter's report
    # shows none (and reads the same whenever it is rebuilt).
    out.loc[[(_date(c) or as_at) > as_at for c in out["completed_on"]], "completed_on"] = None
    out["days_slipped"] = pd.array([d for _, d in states], dtype="Int64")
    expected = out["forecast_date"].fillna(out["baseline_date"])
    out["expected_date"] = expected
    out["days_to_expected"] = pd.array(
        [None if s == COMPLETE else (_date(e) - as_at).days for s, e in zip(out["status"], expected)],
        dtype="Int64",
    )
    out["as_at"] = pd.Timestamp(as_at)
    names = programmes.set_index("programme_id")[["name", "sponsor"]].rename(
        columns={"name": "programme_name", "sponsor": "programme_sponsor"}
    )
    return out.join(names, on="programme_id").reset_index(drop=True)


def benefit_state(value: float | None, target: float, polarity: str, decimals: int, due: bool) -> str:
    """Whether a promised value has been reached by the latest reported value."""
    if polarity not in ("higher_is_better", "lower_is_better"):
        return NOT_ASSESSED
    if value is None or pd.isna(value):
        return NO_DATA
    shown, wanted = at_precision(value, decimals), at_precision(target, decimals)
    met = shown >= wanted if polarity == "higher_is_better" else shown <= wanted
    if met:
        return REALISED
    return MISSED if due else NOT_YET


def benefit_status(
    benefits: pd.DataFrame, history: pd.DataFrame, catalogue: pd.DataFrame, quarter: Quarter
) -> pd.DataFrame:
    """Each promised benefit as at a quarter, from the latest reported value of its indicator.

    `history` is `indicator_performance` for this quarter and earlier ones.
    """
    reported = history[history["value"].notna()].copy()
    reported["_order"] = reported["quarter"].map(Quarter.parse)
    reported = reported[reported["_order"] <= quarter].sort_values("_order")
    latest = reported.drop_duplicates("indicator_code", keep="last").set_index("indicator_code")
    names = catalogue.set_index("code")
    rows = []
    for b in benefits.itertuples(index=False):
        code = b.indicator_code
        value = latest.at[code, "value"] if code in latest.index else None
        due = Quarter.parse(b.by_quarter) <= quarter
        rows.append(
            {
                "programme_id": b.programme_id,
                "indicator_code": code,
                "title": names.at[code, "title"],
                "target_value": b.target_value,
                "by_quarter": b.by_quarter,
                "latest_value": value,
                "latest_quarter": latest.at[code, "quarter"] if code in latest.index else None,
                "status": benefit_state(
                    value, b.target_value, names.at[code, "polarity"], int(names.at[code, "decimals"]), due
                ),
            }
        )
    columns = [
        "programme_id",
        "indicator_code",
        "title",
        "target_value",
        "by_quarter",
        "latest_value",
        "latest_quarter",
        "status",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["latest_value"] = out["latest_value"].astype(float)
    out["quarter"] = quarter.key
    return out


def milestones_to_remind(status: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """Open milestones expected within the window (counting today) or already slipped."""
    open_ones = status[status["status"] != COMPLETE]
    near = open_ones["days_to_expected"].astype(float) <= window_days
    return open_ones[near | (open_ones["status"] == SLIPPED)].reset_index(drop=True)


def milestones_due(
    reference: Path, catalogue: pd.DataFrame, as_of: dt.date, window_days: int
) -> pd.DataFrame:
    """The milestones whose owners are reminded on a date: open and expected within the window, or slipped."""
    programmes = load_programmes(reference, set(catalogue["code"]))
    milestones = load_milestones(reference, list(programmes["programme_id"]))
    return milestones_to_remind(milestone_status(milestones, programmes, as_of), window_days)
