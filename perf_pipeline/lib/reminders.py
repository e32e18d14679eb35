"""Reminders: at most one message a day per person, listing everything they owe.

Three things are owed: improvement plan actions due within the reminder window or overdue (SPEC
§7), change programme milestones expected within the window or slipped (SPEC §14), and the latest
quarter's data return while it is missing or incomplete and its deadline is within the window or
past. Someone who owes several gets one message. Every message sent is
appended to `outbox/sent-log.csv`; a person already in the log for the day is not sent another.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.files import safe_file_name, write_atomically, write_csv
from perf_pipeline.lib.improvement_plan import COMPLETE, OVERDUE
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.submissions import submission_status

SENT_LOG = "sent-log.csv"
SENT_LOG_COLUMNS = [
    "reminder_date",
    "owner",
    "owner_email",
    "actions",
    "milestones",
    "data_returns",
    "subject",
    "sent_by",
    "file",
    "message_id",
    "sent_at",
    "run_id",
]
OWED_STATUSES = ("Not returned", "Incomplete")
REMINDER_COLUMNS = ["owner", "owner_email", "actions", "milestones", "data_returns"]


def _long(day: dt.date) -> str:
    return f"{day:%A %-d %B %Y}"


def _when(days: int) -> str:
    if days == 0:
        return "today"
    return f"in {days} day{'s' * (days != 1)}" if days > 0 else f"{-days} day{'s' * (days != -1)} ago"


def actions_to_remind(plan: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """Open actions due within the window (counting today) or already overdue."""
    open_actions = plan[plan["status"] != COMPLETE]
    return open_actions[open_actions["days_to_due"].astype(float) <= window_days].reset_index(drop=True)


def reminder_quarter(as_of: dt.date) -> Quarter:
    """The quarter whose returns are being collected on a date: the last one that has ended."""
    return Quarter.containing(as_of).shift(-1)


def returns_owed(
    quarter: Quarter,
    status: pd.DataFrame,
    services: pd.DataFrame,
    indicators: pd.DataFrame,
    deadline_working_days: int,
    as_of: dt.date,
    window_days: int,
) -> pd.DataFrame:
    """Services whose return for the quarter is missing or incomplete, with the deadline near or past.

    `status` is the quarter's `submission_status`; when no return has arrived at all no run has
    recorded it, and every service with indicators due owes its whole return.
    """
    if status.empty:
        status = submission_status(
            quarter,
            services,
            indicators,
            pd.DataFrame(columns=["file"]),
            pd.DataFrame(columns=["file", "indicator_code", "period"]),
            pd.DataFrame(columns=["file", "service"]),
            {},
            deadline_working_days,
        )
        status = status[status["indicators_due"] > 0]
    deadline = pd.to_datetime(status["deadline"]).dt.date
    near = deadline.map(lambda d: (d - as_of).days <= window_days)
    owed = status[status["status"].isin(OWED_STATUSES) & near].copy()
    owed["deadline"] = deadline[owed.index]
    owed["quarter"] = quarter.key
    return owed.reset_index(drop=True)


def group_by_person(
    actions: pd.DataFrame, returns: pd.DataFrame, milestones: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per person (by e-mail address, case ignored) with the actions, milestones and services they owe."""
    if milestones is None:
        milestones = pd.DataFrame(columns=["owner", "owner_email", "milestone_id"])
    wanted = ["owner", "owner_email", "_action", "_milestone", "_service"]
    people = pd.concat(
        [
            actions.assign(_action=actions["action_id"], _milestone=None, _service=None)[wanted],
            milestones.assign(_action=None, _milestone=milestones["milestone_id"], _service=None)[wanted],
            returns.assign(_action=None, _milestone=None, _service=returns["service"])[wanted],
        ]
    )
    if people.empty:
        return pd.DataFrame(columns=REMINDER_COLUMNS)
    people["_key"] = people["owner_email"].str.strip().str.lower()
    grouped = people.groupby("_key", sort=True).agg(
        owner=("owner", "first"),
        owner_email=("owner_email", "first"),
        actions=("_action", lambda s: ";".join(s.dropna())),
        milestones=("_milestone", lambda s: ";".join(s.dropna())),
        data_returns=("_service", lambda s: ";".join(s.dropna())),
    )
    return grouped.reset_index(drop=True)[REMINDER_COLUMNS]


def action_lines(actions: pd.DataFrame, as_of: dt.date) -> list[str]:
    lines = []
    for a in actions.itertuples(index=False):
        due = a.effective_due_date.date()
        when = f"Due {_long(due)}"
        if pd.notna(a.revised_due_date):
            when += f" (revised from {a.due_date.date():%-d %B %Y}: {a.revision_reason})"
        state = (
            f"overdue by {a.days_overdue} day{'s' * (a.days_overdue != 1)}"
            if a.status == OVERDUE
            else f"{_when((due - as_of).days)}; {a.status.lower()}"
        )
        progress = f"{a.percent_complete:g}% complete"
        if a.status != OVERDUE and a.expected_percent > a.percent_complete:
            progress += f" against {a.expected_percent:g}% expected by now"
        last = (
            f"last update {a.last_update_date.date():%-d %B %Y}"
            if pd.notna(a.last_update_date)
            else "no update yet"
        )
        lines += [f"- {a.action_id}  {a.title}", f"  {when}: {state}. {progress}; {last}."]
    return lines


def milestone_lines(milestones: pd.DataFrame, as_at: dt.date) -> list[str]:
    lines = []
    for m in milestones.itertuples(index=False):
        expected = m.expected_date.date()
        slipped = 0 if pd.isna(m.days_slipped) else int(m.days_slipped)
        state = (
            f"slipped by {slipped} day{'s' * (slipped != 1)} from its baseline "
            f"{m.baseline_date.date():%-d %B %Y}"
            if m.status == "Slipped"
            else f"{m.status.lower()}"
        )
        lines += [
            f"- {m.milestone_id}  {m.title} ({m.programme_name})",
            f"  Expected {_long(expected)} ({_when((expected - as_at).days)}): {state}.",
        ]
    return lines


def return_lines(returns: pd.DataFrame, as_of: dt.date, packs: dict[str, str]) -> list[str]:
    lines = []
    for r in returns.itertuples(index=False):
        quarter = Quarter.parse(r.quarter)
        state = (
            "not received yet"
            if r.status == "Not returned"
            else f"received, but {r.indicators_missing} indicator(s) still missing"
        )
        lines.append(
            f"- {r.service_name}, {quarter.label}: {state}. "
            f"Deadline {_long(r.deadline)} ({_when((r.deadline - as_of).days)})."
        )
        if r.missing_codes:
            lines.append(f"  Still to come: {r.missing_codes}.")
        if r.service in packs:
            lines.append(f"  The request pack: {packs[r.service]}")
    return lines


def compose(
    person: dict,
    actions: pd.DataFrame,
    returns: pd.DataFrame,
    as_of: dt.date,
    council: str,
    sender: str,
    contact: str,
    packs: dict[str, str],
    now: dt.datetime,
    milestones: pd.DataFrame | None = None,
) -> EmailMessage:
    """The one message a person gets for the day."""
    milestones = milestones if milestones is not None else pd.DataFrame()
    parts = []
    if len(actions):
        parts.append(f"{len(actions)} improvement plan action{'s' * (len(actions) != 1)}")
    if len(milestones):
        parts.append(f"{len(milestones)} programme milestone{'s' * (len(milestones) != 1)}")
    if len(returns):
        parts.append(f"{len(returns)} data return{'s' * (len(returns) != 1)}")
    body = [
        f"Dear {person['owner']},",
        "",
        f"This is the performance team's reminder for {_long(as_of)}.",
        "",
    ]
    if len(actions):
        body += [
            "Corporate Improvement Plan actions due soon or overdue:",
            "",
            *action_lines(actions, as_of),
            "",
            "Please send a progress update for each (per cent complete and a short note).",
            "",
        ]
    if len(milestones):
        body += [
            "Change programme milestones due soon or slipped:",
            "",
            *milestone_lines(milestones, as_of),
            "",
            "Please tell the programme sponsor if a forecast date has changed.",
            "",
        ]
    if len(returns):
        body += ["Data returns still owed:", "", *return_lines(returns, as_of, packs), ""]
    body += [
        f"Replies and questions to {contact}. You get at most one reminder a day, listing everything due.",
        "",
        f"Performance team, {council}",
    ]
    message = EmailMessage()
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    message["Subject"] = f"Reminder: {listed} ({council})"
    message["From"] = sender
    message["To"] = formataddr((person["owner"], person["owner_email"]))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    message.set_content("\n".join(_wrapped(body)) + "\n")
    return message


def _wrapped(lines: list[str], width: int = 76) -> list[str]:
    """Lines short enough for any mail program, list items indented under their first line."""
    out = []
    for line in lines:
        indent = "  " if line.startswith(("- ", "  ")) else ""
        out.extend(textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [""])
    return out


def read_sent_log(outbox: Path) -> pd.DataFrame:
    path = outbox / SENT_LOG
    if not path.is_file():
        return pd.DataFrame(columns=SENT_LOG_COLUMNS)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def already_reminded(log: pd.DataFrame, as_of: dt.date) -> set[str]:
    """E-mail addresses (lower case) that have had their reminder for the day."""
    return set(log.loc[log["reminder_date"] == as_of.isoformat(), "owner_email"].str.strip().str.lower())


def append_sent_log(outbox: Path, sent: pd.DataFrame) -> None:
    """Add to the log; earlier lines are kept exactly as they were."""
    log = pd.concat([read_sent_log(outbox), sent[SENT_LOG_COLUMNS].fillna("").astype(str)], ignore_index=True)
    write_csv(log, outbox / SENT_LOG)


def write_eml(message: EmailMessage, folder: Path, email: str) -> Path:
    """The message as an .eml file (RFC 5322), which any mail program opens."""
    path = folder / f"{safe_file_name(email.lower())}.eml"
    return write_atomically(path, lambda tmp: tmp.write_bytes(message.as_bytes()))
