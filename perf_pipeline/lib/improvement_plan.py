"""The Corporate Improvement Plan: each action's status as at a date, and every progress update.

`improvement_plan/actions.csv` is the plan as agreed (a revised due date stands beside the
original, with its reason); `updates.csv` is the append-only record of progress. The status of an
action as at a date, first rule that applies (SPEC §7):

1. Complete: completed on or before the date (or an update on or before it reached 100%).
2. Overdue: not complete and the date is after its due date (the revised one if it was revised).
3. Behind schedule: progress more than 10 points below the straight line from the start date
   (0%) to the due date (100%).
4. Not started: the start date is still to come, or no progress has been recorded yet.
5. On track.

An action is listed from the day it was agreed (`agreed_on`, optional; else its start date), so an
as-at table for an earlier quarter never shows actions the council had not yet agreed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.reference import _text, date_check, number_check, read_text_table
from perf_pipeline.lib.validation import validate_or_raise

COMPLETE, OVERDUE, BEHIND, NOT_STARTED, ON_TRACK = (
    "Complete",
    "Overdue",
    "Behind schedule",
    "Not started",
    "On track",
)
ACTION_STATUSES = [COMPLETE, ON_TRACK, BEHIND, OVERDUE, NOT_STARTED]
BEHIND_BY_MORE_THAN = 10.0  # percentage points below the straight line (SPEC §7)
_SLACK = 1e-9

ACTION_DATES = ["start_date", "due_date", "revised_due_date", "completed_on", "agreed_on"]
STATUS_COLUMNS = [
    "action_id",
    "title",
    "source",
    "owner",
    "owner_email",
    "directorate",
    "agreed_on",
    "start_date",
    "due_date",
    "revised_due_date",
    "revision_reason",
    "effective_due_date",
    "completed_on",
    "percent_complete",
    "expected_percent",
    "last_update_date",
    "last_update_note",
    "last_updated_by",
    "updates_to_date",
    "status",
    "days_overdue",
    "days_to_due",
    "completed_late",
    "as_at",
    "indicator_codes",
]
UPDATE_COLUMNS = ["action_id", "update_date", "percent_complete", "note", "updated_by", "source_row"]


def load_actions(path: Path) -> pd.DataFrame:
    """`actions.csv` checked: unique ids, owners with e-mail addresses, real dates, reasons for revisions."""
    import pandera.pandas as pa

    df, rows = read_text_table(path)
    for optional in ("revised_due_date", "revision_reason", "completed_on", "agreed_on"):
        if optional not in df.columns:
            df[optional] = None
    date = [date_check()]
    schema = pa.DataFrameSchema(
        {
            "action_id": _text(unique=True),
            "title": _text(),
            "source": _text(),
            "owner": _text(),
            "owner_email": _text(
                checks=[pa.Check.str_matches(r"^[^@\s]+@[^@\s]+$", error="is not an e-mail address")]
            ),
            "directorate": _text(),
            "start_date": _text(checks=date),
            "due_date": _text(checks=date),
            "revised_due_date": _text(required=False, checks=date),
            "revision_reason": _text(required=False),
            "completed_on": _text(required=False, checks=date),
            "agreed_on": _text(required=False, checks=date),
        },
        checks=[
            pa.Check(
                lambda d: d["revised_due_date"].isna() | d["revision_reason"].notna(),
                error="a revised due date needs its revision_reason",
            ),
            pa.Check(
                lambda d: (
                    ~(
                        pd.to_datetime(d["due_date"], errors="coerce", format="ISO8601")
                        < pd.to_datetime(d["start_date"], errors="coerce", format="ISO8601")
                    )
                ),
                error="due_date is before start_date",
            ),
        ],
    )
    df = validate_or_raise(schema, df, f"improvement_plan/{path.name}", rows)
    for column in ACTION_DATES:
        df[column] = pd.to_datetime(df[column], format="ISO8601")
    return df.reset_index(drop=True)


def load_updates(path: Path, actions: pd.DataFrame) -> pd.DataFrame:
    """`updates.csv` checked against the plan: known actions, real dates, 0 to 100 per cent."""
    import pandera.pandas as pa

    df, rows = read_text_table(path)
    for optional in ("note", "updated_by"):
        if optional not in df.columns:
            df[optional] = None
    schema = pa.DataFrameSchema(
        {
            "action_id": _text(
                checks=[pa.Check.isin(list(actions["action_id"]), error="is not an action in actions.csv")]
            ),
            "update_date": _text(checks=[date_check()]),
            "percent_complete": _text(
                checks=[
                    number_check(),
                    pa.Check(
                        lambda s: pd.to_numeric(s, errors="coerce").between(0, 100),
                        error="must be a number from 0 to 100",
                    ),
                ]
            ),
            "note": _text(required=False),
            "updated_by": _text(required=False),
        }
    )
    df = validate_or_raise(schema, df, f"improvement_plan/{path.name}", rows)
    df["update_date"] = pd.to_datetime(df["update_date"], format="ISO8601")
    df["percent_complete"] = pd.to_numeric(df["percent_complete"]).astype(float)
    df["source_row"] = rows
    return df[UPDATE_COLUMNS].reset_index(drop=True)


def expected_percent(start: dt.date, due: dt.date, as_at: dt.date) -> float:
    """Progress on the straight line from 0% on the start date to 100% on the due date."""
    if as_at <= start:
        return 0.0
    if as_at >= due:
        return 100.0
    return 100.0 * (as_at - start).days / (due - start).days


def action_status(
    start: dt.date, due: dt.date, completed_on: dt.date | None, percent: float, as_at: dt.date
) -> str:
    """The status of one action as at a date; `due` is the effective (revised) due date."""
    if completed_on is not None and completed_on <= as_at:
        return COMPLETE
    if as_at > due:
        return OVERDUE
    if expected_percent(start, due, as_at) - percent > BEHIND_BY_MORE_THAN + _SLACK:
        return BEHIND
    if as_at < start or percent <= 0:
        return NOT_STARTED
    return ON_TRACK


def _day(value) -> dt.date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def updates_as_at(updates: pd.DataFrame, as_at: dt.date) -> pd.DataFrame:
    """Every update recorded on or before the date, oldest first: the audit trail."""
    known = updates[updates["update_date"] <= pd.Timestamp(as_at)]
    return known.sort_values(["action_id", "update_date", "source_row"], kind="stable").reset_index(drop=True)


def plan_status(actions: pd.DataFrame, updates: pd.DataFrame, as_at: dt.date) -> pd.DataFrame:
    """One row per action agreed by the date, with its progress and status as at that date."""
    agreed = actions["agreed_on"].fillna(actions["start_date"])
    listed = actions[agreed <= pd.Timestamp(as_at)]
    trail = updates_as_at(updates, as_at)
    rows = []
    for action in listed.itertuples(index=False):
        own = trail[trail["action_id"] == action.action_id]
        last = own.iloc[-1] if len(own) else None
        completed_on = _day(action.completed_on)
        if completed_on is None:
            finished = own[own["percent_complete"] >= 100]
            completed_on = _day(finished["update_date"].iloc[0]) if len(finished) else None
        if completed_on is not None and completed_on > as_at:
            completed_on = None
        start, due = _day(action.start_date), _day(action.revised_due_date) or _day(action.due_date)
        percent = 100.0 if completed_on else (float(last["percent_complete"]) if last is not None else 0.0)
        status = action_status(start, due, completed_on, percent, as_at)
        rows.append(
            {
                "action_id": action.action_id,
                "title": action.title,
                "source": action.source,
                "owner": action.owner,
                "owner_email": action.owner_email,
                "directorate": action.directorate,
                "agreed_on": action.agreed_on,
                "start_date": action.start_date,
                "due_date": action.due_date,
                "revised_due_date": action.revised_due_date,
                "revision_reason": action.revision_reason,
                "effective_due_date": pd.Timestamp(due),
                "completed_on": pd.Timestamp(completed_on) if completed_on else pd.NaT,
                "percent_complete": percent,
                "expected_percent": round(expected_percent(start, due, as_at), 1),
                "last_update_date": last["update_date"] if last is not None else pd.NaT,
                "last_update_note": last["note"] if last is not None else None,
                "last_updated_by": last["updated_by"] if last is not None else None,
                "updates_to_date": len(own),
                "status": status,
                "days_overdue": (as_at - due).days if status == OVERDUE else 0,
                "days_to_due": (due - as_at).days if status != COMPLETE else None,
                "completed_late": bool(completed_on and completed_on > due),
                "as_at": pd.Timestamp(as_at),
                # The indicators an action answers (`;`-separated): set on corrective actions promoted in the app.
                "indicator_codes": getattr(action, "indicator_codes", None),
            }
        )
    out = pd.DataFrame(rows, columns=STATUS_COLUMNS)
    for column in (
        "agreed_on",
        "start_date",
        "due_date",
        "revised_due_date",
        "effective_due_date",
        "completed_on",
        "last_update_date",
        "as_at",
    ):
        out[column] = pd.to_datetime(out[column])
    out = out.astype(
        {
            "percent_complete": float,
            "expected_percent": float,
            "updates_to_date": int,
            "days_overdue": int,
            "days_to_due": "Int64",
            "completed_late": bool,
        }
    )
    return out.sort_values("action_id", kind="stable").reset_index(drop=True)


def load_plan(folder: Path, promoted: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both files of the plan, checked. A council with no `actions.csv` has an empty plan; one with
    actions but no `updates.csv` yet has no progress recorded. `promoted`: actions added in the
    app from corrective actions (with their `indicator_codes`), which updates.csv may update too."""
    if not (folder / "actions.csv").is_file():
        actions = pd.DataFrame(
            columns=[
                "action_id",
                "title",
                "source",
                "owner",
                "owner_email",
                "directorate",
                "revision_reason",
                *ACTION_DATES,
            ]
        )
        actions[ACTION_DATES] = actions[ACTION_DATES].astype("datetime64[ns]")
    else:
        actions = load_actions(folder / "actions.csv")
    if promoted is not None and len(promoted):
        # An id already in actions.csv is the plan's own action: the file wins.
        fresh = promoted[~promoted["action_id"].isin(actions["action_id"])]
        actions = (
            pd.concat([actions, fresh], ignore_index=True) if len(actions) else fresh.reset_index(drop=True)
        )
    if not (folder / "updates.csv").is_file():
        updates = pd.DataFrame(columns=UPDATE_COLUMNS).astype(
            {"update_date": "datetime64[ns]", "percent_complete": float}
        )
        return actions, updates
    return actions, load_updates(folder / "updates.csv", actions)
