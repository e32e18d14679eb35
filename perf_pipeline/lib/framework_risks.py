"""The strategic risk register, its reviews, and the evidence the performance data gives about each risk.

`reference/risks.csv` holds each risk as first assessed: owner, likelihood and impact (1–5) on its
`review_date`, the target likelihood and impact, controls, and the indicators and improvement plan
actions that evidence it. `reference/risk_reviews.csv` is append-only: each later review's
likelihood and impact. Score = likelihood × impact.

As at a date, a risk's current assessment is its latest on or before the date (the register's own
row counts as the first); its trend compares that score with the assessment before it. A risk
whose score is **falling while any indicator that evidences it is Red** is flagged for a person to
check: either the score or the evidence is out of date.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from perf_pipeline.lib.framework import split_list
from perf_pipeline.lib.reference import _text, date_check, email_check, read_text_table
from perf_pipeline.lib.validation import ReferenceDataError, validate_or_raise

if TYPE_CHECKING:  # imported where a schema is built: the definitions load without pandera
    import pandera.pandas as pa

RISING, FALLING, STEADY, NEW = "Rising", "Falling", "Steady", "New"


@functools.cache
def scale_check() -> pa.Check:
    import pandera.pandas as pa

    return pa.Check.isin(["1", "2", "3", "4", "5"], error="is not a whole number from 1 to 5")


RISK_COLUMNS = [
    "risk_id",
    "title",
    "owner",
    "owner_email",
    "likelihood",
    "impact",
    "target_likelihood",
    "target_impact",
    "controls",
    "review_date",
    "indicator_codes",
    "action_ids",
]
REVIEW_COLUMNS = ["risk_id", "review_date", "likelihood", "impact", "note", "reviewed_by", "source_row"]


def load_risks(reference: Path, indicator_codes: set[str], action_ids: set[str]) -> pd.DataFrame:
    """`risks.csv` checked: 1–5 scales, real dates, and links to indicators and actions that exist."""
    import pandera.pandas as pa

    path = reference / "risks.csv"
    if not path.is_file():
        return pd.DataFrame(columns=RISK_COLUMNS)
    df, rows = read_text_table(path)
    for optional in ("controls", "indicator_codes", "action_ids"):
        if optional not in df.columns:
            df[optional] = None
    schema = pa.DataFrameSchema(
        {
            "risk_id": _text(unique=True),
            "title": _text(),
            "owner": _text(),
            "owner_email": _text(checks=[email_check()]),
            "likelihood": _text(checks=[scale_check()]),
            "impact": _text(checks=[scale_check()]),
            "target_likelihood": _text(checks=[scale_check()]),
            "target_impact": _text(checks=[scale_check()]),
            "controls": _text(required=False),
            "review_date": _text(checks=[date_check()]),
        }
    )
    label = f"reference/{path.name}"
    df = validate_or_raise(schema, df, label, rows)
    problems = []
    for column, known, what in (
        ("indicator_codes", indicator_codes, "an indicator in indicators.csv"),
        ("action_ids", action_ids, "an action in improvement_plan/actions.csv"),
    ):
        problems += [
            f"{label} row {rows[i]}, column '{column}': '{item}' is not {what}"
            for i, text in df[column].items()
            for item in split_list(text)
            if item not in known
        ]
    if problems:
        raise ReferenceDataError(problems)
    for column in ("likelihood", "impact", "target_likelihood", "target_impact"):
        df[column] = df[column].astype(int)
    df["review_date"] = pd.to_datetime(df["review_date"], format="ISO8601")
    return df[RISK_COLUMNS].reset_index(drop=True)


def load_risk_reviews(reference: Path, risk_ids: list[str]) -> pd.DataFrame:
    """`risk_reviews.csv` (append-only): each later review of a risk's likelihood and impact."""
    import pandera.pandas as pa

    path = reference / "risk_reviews.csv"
    if not path.is_file():
        return pd.DataFrame(columns=REVIEW_COLUMNS)
    df, rows = read_text_table(path)
    for optional in ("note", "reviewed_by"):
        if optional not in df.columns:
            df[optional] = None
    schema = pa.DataFrameSchema(
        {
            "risk_id": _text(checks=[pa.Check.isin(risk_ids, error="is not a risk in risks.csv")]),
            "review_date": _text(checks=[date_check()]),
            "likelihood": _text(checks=[scale_check()]),
            "impact": _text(checks=[scale_check()]),
            "note": _text(required=False),
            "reviewed_by": _text(required=False),
        },
        unique=["risk_id", "review_date"],
        report_duplicates="exclude_first",
    )
    df = validate_or_raise(schema, df, f"reference/{path.name}", rows)
    df["source_row"] = rows
    df["likelihood"] = df["likelihood"].astype(int)
    df["impact"] = df["impact"].astype(int)
    df["review_date"] = pd.to_datetime(df["review_date"], format="ISO8601")
    return df[REVIEW_COLUMNS].reset_index(drop=True)


def score_trend(score: int, previous: int | None) -> str:
    if previous is None:
        return NEW
    return RISING if score > previous else FALLING if score < previous else STEADY


def risk_status(
    risks: pd.DataFrame,
    reviews: pd.DataFrame,
    performance: pd.DataFrame,
    plan: pd.DataFrame,
    as_at: dt.date,
) -> pd.DataFrame:
    """Each risk registered by `as_at`: score now, at target, trend, and the status of its evidence.

    `performance` is the quarter's `indicator_performance`; `plan` its `improvement_plan_status`.
    """
    rag = performance.set_index("indicator_code")["rag_status"] if len(performance) else pd.Series(dtype=str)
    action_status = plan.set_index("action_id")["status"] if len(plan) else pd.Series(dtype=str)
    day = pd.Timestamp(as_at)
    rows = []
    for r in risks[risks["review_date"] <= day].itertuples(index=False):
        history = [(r.review_date, r.likelihood, r.impact, "")]
        mine = reviews[(reviews["risk_id"] == r.risk_id) & (reviews["review_date"] <= day)]
        history += [
            (v.review_date, v.likelihood, v.impact, v.note or "") for v in mine.itertuples(index=False)
        ]
        history.sort(key=lambda h: h[0])
        date, likelihood, impact, note = history[-1]
        score = likelihood * impact
        previous = history[-2][1] * history[-2][2] if len(history) > 1 else None
        trend = score_trend(score, previous)
        codes = split_list(r.indicator_codes)
        actions = split_list(r.action_ids)
        indicator_states = {c: rag.get(c, "Not due") for c in codes}
        red = [c for c, s in indicator_states.items() if s == "Red"]
        flag = (
            f"Score falling while {', '.join(red)} {'is' if len(red) == 1 else 'are'} Red: check the score "
            "and the evidence"
            if trend == FALLING and red
            else ""
        )
        rows.append(
            {
                "risk_id": r.risk_id,
                "title": r.title,
                "owner": r.owner,
                "owner_email": r.owner_email,
                "likelihood": likelihood,
                "impact": impact,
                "score": score,
                "previous_score": previous,
                "trend": trend,
                "target_score": r.target_likelihood * r.target_impact,
                "last_reviewed": date,
                "last_review_note": note,
                "reviews_to_date": len(history),
                "controls": r.controls or "",
                "indicators": ";".join(f"{c}:{s}" for c, s in indicator_states.items()),
                "red_indicators": len(red),
                "actions": ";".join(f"{a}:{action_status.get(a, 'Not in plan yet')}" for a in actions),
                "flag": flag,
                "as_at": day,
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "risk_id",
            "title",
            "owner",
            "owner_email",
            "likelihood",
            "impact",
            "score",
            "previous_score",
            "trend",
            "target_score",
            "last_reviewed",
            "last_review_note",
            "reviews_to_date",
            "controls",
            "indicators",
            "red_indicators",
            "actions",
            "flag",
            "as_at",
        ],
    )
    out["previous_score"] = out["previous_score"].astype("Int64")
    return out.sort_values(["score", "risk_id"], ascending=[False, True]).reset_index(drop=True)
