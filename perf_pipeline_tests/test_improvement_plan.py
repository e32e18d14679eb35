"""The Corporate Improvement Plan: every status at its boundaries, revisions, the audit trail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from perf_pipeline.lib.improvement_plan import (
    ACTION_STATUSES,
    BEHIND,
    COMPLETE,
    NOT_STARTED,
    ON_TRACK,
    OVERDUE,
    action_status,
    load_plan,
    plan_status,
)
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.schemas import improvement_plan_status_schema
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline_tests.conftest import write

D = dt.date.fromisoformat
START, DUE = D("2025-01-01"), D("2025-12-31")  # 364 days: the straight line gains 100/364 a day
ACTIONS_HEADER = (
    "action_id,title,source,owner,owner_email,directorate,start_date,due_date,revised_due_date,"
    "revision_reason,completed_on,agreed_on\n"
)


def day_where_line_is(percent: float) -> dt.date:
    return START + dt.timedelta(days=round(percent * 364 / 100))


@pytest.mark.parametrize(
    "completed_on, percent, as_at, expected",
    [
        ("2025-06-30", 80, "2025-06-30", COMPLETE),  # completed on the day itself
        ("2025-07-01", 80, "2025-06-30", ON_TRACK),  # completed the day after: not yet
        ("2026-01-15", 90, "2026-01-15", COMPLETE),  # completed late is still complete
        (None, 89, "2025-12-31", BEHIND),  # on its due date it is not overdue (the line is at 100%)
        (None, 90, "2025-12-31", ON_TRACK),
        (None, 99, "2026-01-01", OVERDUE),  # the day after its due date
        (None, 0, "2024-12-31", NOT_STARTED),  # before the start date
        (None, 0, "2025-01-01", NOT_STARTED),  # started today, nothing recorded
        (None, 0, day_where_line_is(10).isoformat(), NOT_STARTED),  # 10 points behind is not "more than 10"
        (None, 0, day_where_line_is(11).isoformat(), BEHIND),  # more than 10 behind, even with no progress
        (None, 40, day_where_line_is(50).isoformat(), ON_TRACK),  # exactly 10 points below the line
        (None, 39, day_where_line_is(50).isoformat(), BEHIND),  # 11 points below
        (None, 60, day_where_line_is(50).isoformat(), ON_TRACK),  # ahead of the line
    ],
)
def test_every_status_at_its_boundaries(completed_on, percent, as_at, expected):
    completed = D(completed_on) if completed_on else None
    assert action_status(START, DUE, completed, percent, D(as_at)) == expected


def plan_root(root: Path, actions: str, updates: str) -> Path:
    write(root / "improvement_plan" / "actions.csv", ACTIONS_HEADER + actions)
    write(
        root / "improvement_plan" / "updates.csv",
        "action_id,update_date,percent_complete,note,updated_by\n" + updates,
    )
    return root / "improvement_plan"


ACTIONS = """\
A1,Revised action,Internal audit IA-1,Ann Owner,ann@council.example,Resources,2025-01-01,2025-06-30,2025-12-31,Supplier delay,,
A2,Done by its last update,Peer review 2024,Bob Owner,bob@council.example,Place,2025-01-01,2025-12-31,,,,
A3,Agreed early,Ofsted inspection 2024,Ann Owner,ANN@council.example,Resources,2025-10-01,2026-03-31,,,,2025-07-01
A4,Not yet agreed,Ofsted inspection 2024,Ann Owner,ann@council.example,Resources,2025-10-01,2026-03-31,,,,
"""
UPDATES = """\
A1,2025-03-01,20,First step,Ann Owner
A1,2025-08-01,55,"Second step, after the delay",Ann Owner
A1,2025-10-01,70,Third step,Ann Owner
A2,2025-04-01,100,All done,Bob Owner
"""


def test_the_plan_as_at_a_date(tmp_path):
    actions, updates = load_plan(plan_root(tmp_path, ACTIONS, UPDATES))
    status = plan_status(actions, updates, D("2025-09-30")).set_index("action_id")
    assert list(status.index) == ["A1", "A2", "A3"]  # A4 is agreed only when it starts
    a1 = status.loc["A1"]
    # The revised due date is the one that counts, and the original stays beside it with its reason.
    assert (a1["due_date"], a1["revised_due_date"], a1["effective_due_date"]) == (
        pd.Timestamp("2025-06-30"),
        pd.Timestamp("2025-12-31"),
        pd.Timestamp("2025-12-31"),
    )
    assert a1["revision_reason"] == "Supplier delay" and a1["status"] == BEHIND  # 55% against 74%
    assert (a1["percent_complete"], a1["last_update_date"], a1["updates_to_date"]) == (
        55,
        pd.Timestamp("2025-08-01"),
        2,
    )
    assert a1["last_update_note"] == "Second step, after the delay" and a1["days_to_due"] == 92
    a2 = status.loc["A2"]
    assert (a2["status"], a2["completed_on"], a2["completed_late"]) == (
        COMPLETE,
        pd.Timestamp("2025-04-01"),
        False,
    )
    assert status.loc["A3", "status"] == NOT_STARTED
    assert improvement_plan_status_schema.validate(status.reset_index()) is not None


def test_overdue_counts_the_days_past_the_revised_date(tmp_path):
    actions, updates = load_plan(plan_root(tmp_path, ACTIONS, UPDATES))
    a1 = plan_status(actions, updates, D("2026-01-10")).set_index("action_id").loc["A1"]
    assert (a1["status"], a1["days_overdue"], a1["days_to_due"], a1["percent_complete"]) == (
        OVERDUE,
        10,
        -10,
        70,
    )


def test_a_plan_without_files_is_empty_and_well_formed(tmp_path):
    actions, updates = load_plan(tmp_path / "improvement_plan")
    status = plan_status(actions, updates, D("2025-09-30"))
    assert status.empty
    improvement_plan_status_schema.validate(status)


@pytest.mark.parametrize(
    "actions, updates, message",
    [
        (
            "A1,T,S,O,o@x.example,D,2025-01-01,2025-06-30,2025-12-31,,,\n",
            "",
            "a revised due date needs its revision_reason",
        ),
        ("A1,T,S,O,o@x.example,D,2025-07-01,2025-06-30,,,,\n", "", "due_date is before start_date"),
        (
            "A1,T,S,O,o@x.example,D,2025-01-01,2025-06-30,,,,\n",
            "A9,2025-03-01,20,n,O\n",
            "improvement_plan/updates.csv row 2, column 'action_id': 'A9' is not an action in actions.csv",
        ),
        (
            "A1,T,S,O,o@x.example,D,2025-01-01,2025-06-30,,,,\n",
            "A1,2025-03-01,120,n,O\n",
            "must be a number from 0 to 100",
        ),
        ("A1,T,S,O,not an address,D,2025-01-01,2025-06-30,,,,\n", "", "is not an e-mail address"),
    ],
)
def test_mistakes_in_the_plan_are_named_by_file_row_and_column(tmp_path, actions, updates, message):
    with pytest.raises(ReferenceDataError) as error:
        load_plan(plan_root(tmp_path, actions, updates))
    assert any(message in problem for problem in error.value.problems), error.value.problems


def test_the_examples_plan_shows_every_status(example_data):
    actions, updates = load_plan(example_data / "improvement_plan")
    assert len(actions) >= 25
    kinds = {
        k
        for k in ("peer review", "inspection", "internal audit")
        if actions["source"].str.lower().str.contains(k).any()
    }
    assert len(kinds) == 3
    status = plan_status(actions, updates, Quarter(2025, 2).end)
    # As data/README.md says.
    assert status["status"].value_counts().to_dict() == {
        COMPLETE: 12,
        ON_TRACK: 7,
        BEHIND: 3,
        OVERDUE: 2,
        NOT_STARTED: 3,
    }
    assert sorted(status.loc[status["status"] == OVERDUE, "action_id"]) == ["CIP-06", "CIP-24"]
    earlier = {
        s
        for q in (Quarter(2022, 3), Quarter(2022, 4))
        for s in plan_status(actions, updates, q.end)["status"]
    }
    assert set(ACTION_STATUSES) <= earlier | set(status["status"])
    assert OVERDUE in set(plan_status(actions, updates, Quarter(2022, 3).end)["status"])


@pytest.mark.e2e
def test_each_quarter_publishes_its_plan_and_audit_trail(demo):
    folder = demo / "reports" / "2025-26-Q2"
    plan = pd.read_csv(folder / "improvement-plan.csv")
    assert list(plan.columns[:4]) == ["action_id", "title", "source", "owner"]
    assert {
        "directorate",
        "start_date",
        "due_date",
        "revised_due_date",
        "revision_reason",
        "effective_due_date",
        "completed_on",
        "percent_complete",
        "last_update_date",
        "last_update_note",
        "status",
        "days_overdue",
    } <= set(plan.columns)
    assert len(plan) == 27 and set(plan["status"]) == set(ACTION_STATUSES)
    trail = pd.read_csv(folder / "improvement-plan-updates.csv")
    assert (
        len(trail)
        == pd.read_csv(demo / "improvement_plan" / "updates.csv")
        .query("update_date <= '2025-09-30'")
        .shape[0]
    )
    first = pd.read_csv(demo / "reports" / "2021-22-Q1" / "improvement-plan.csv")
    assert list(first["action_id"]) == ["CIP-13", "CIP-14"]
