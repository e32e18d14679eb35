"""Reminders: deadlines in working days, one combined message per person a day, .eml or SMTP."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import smtplib
from typing import ClassVar

import dagster as dg
import pandas as pd
import pytest

from perf_pipeline.defs.resources import SMTP_ENV, MailResource
from perf_pipeline.lib.improvement_plan import load_plan, plan_status
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import load_indicators, load_rag_rules, load_services
from perf_pipeline.lib.reminders import actions_to_remind, compose, group_by_person, returns_owed
from perf_pipeline.lib.submissions import add_working_days, return_deadline
from perf_pipeline_tests.conftest import run_cli

D = dt.date.fromisoformat


@pytest.mark.parametrize(
    "quarter, deadline",
    [
        (Quarter(2025, 2), "2025-10-21"),  # an ordinary quarter: three weeks of working days
        (Quarter(2024, 3), "2025-01-22"),  # the year end: New Year's Day is skipped
        (Quarter(2025, 3), "2026-01-22"),  # ends on a Wednesday, New Year's Day on the Thursday
        (Quarter(2023, 4), "2024-04-22"),  # ends on Easter Sunday; Easter Monday is skipped
        (Quarter(2022, 4), "2023-04-25"),  # Good Friday and Easter Monday inside the fifteen days
    ],
)
def test_return_deadlines_count_working_days_only(quarter, deadline):
    assert return_deadline(quarter, 15) == D(deadline)


@pytest.mark.parametrize(
    "start, days, expected",
    [
        ("2025-12-24", 1, "2025-12-29"),
        ("2025-12-24", 3, "2025-12-31"),
        ("2025-12-31", 1, "2026-01-02"),
        ("2025-08-22", 1, "2025-08-26"),
        ("2025-10-17", 1, "2025-10-20"),
        ("2025-10-21", 0, "2025-10-21"),
    ],
)
def test_adding_working_days_across_weekends_and_bank_holidays(start, days, expected):
    assert add_working_days(D(start), days) == D(expected)


def plan(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    """Action status rows: id, owner e-mail, status, days to due."""
    return pd.DataFrame(
        [
            {
                "action_id": a,
                "owner": e.split("@")[0].title(),
                "owner_email": e,
                "status": s,
                "days_to_due": d,
            }
            for a, e, s, d in rows
        ]
    ).astype({"days_to_due": "Int64"})


def test_actions_due_within_the_window_or_overdue_are_reminded():
    actions = plan(
        [
            ("A1", "ann@x.example", "On track", 14),
            ("A2", "ann@x.example", "On track", 15),
            ("A3", "bob@x.example", "Overdue", -40),
            ("A4", "bob@x.example", "Complete", None),
            ("A5", "cat@x.example", "Not started", 0),
        ]
    )
    assert list(actions_to_remind(actions, 14)["action_id"]) == ["A1", "A3", "A5"]


def test_one_reminder_per_person_with_everything_they_owe():
    actions = plan(
        [
            ("A1", "ann@x.example", "On track", 3),
            ("A2", "Ann@X.example", "Overdue", -2),
            ("A3", "bob@x.example", "Overdue", -1),
        ]
    )
    returns = pd.DataFrame(
        [
            {"service": "waste", "owner": "Ann", "owner_email": "ann@x.example"},
            {"service": "revs", "owner": "Dee", "owner_email": "dee@x.example"},
        ]
    )
    people = group_by_person(actions, returns).set_index("owner_email")
    assert list(people.index) == ["ann@x.example", "bob@x.example", "dee@x.example"]
    assert (people.loc["ann@x.example", "actions"], people.loc["ann@x.example", "data_returns"]) == (
        "A1;A2",
        "waste",
    )
    assert (people.loc["dee@x.example", "actions"], people.loc["dee@x.example", "data_returns"]) == (
        "",
        "revs",
    )


def catalogue(root):
    ref = root / "reference"
    services = load_services(ref / "services.csv")
    return services, load_indicators(ref / "indicators.csv", services, load_rag_rules(ref / "rag_rules.toml"))


@pytest.mark.parametrize(
    "as_of, owed",
    [
        ("2024-10-06", []),
        ("2024-10-07", ["housing", "revs", "waste"]),
        ("2024-11-30", ["housing", "revs", "waste"]),
    ],
)
def test_with_no_return_in_every_service_owes_once_the_deadline_is_near(mini_root, as_of, owed):
    services, indicators = catalogue(mini_root)
    # 2024-25 Q2's deadline is 21 October 2024: 14 days before it is 7 October.
    found = returns_owed(Quarter(2024, 2), pd.DataFrame(), services, indicators, 15, D(as_of), 14)
    assert sorted(found["service"]) == owed


def test_a_complete_return_is_not_chased(mini_root):
    services, indicators = catalogue(mini_root)
    status = pd.DataFrame(
        [
            {
                "service": s,
                "status": st,
                "deadline": dt.date(2024, 10, 21),
                "owner": "O",
                "owner_email": f"{s}@x.example",
            }
            for s, st in (("waste", "Complete"), ("revs", "Incomplete"), ("housing", "Not returned"))
        ]
    )
    found = returns_owed(Quarter(2024, 2), status, services, indicators, 15, D("2024-10-15"), 14)
    assert sorted(found["service"]) == ["housing", "revs"]


def test_the_message_is_a_standard_email(example_data):
    actions, updates = load_plan(example_data / "improvement_plan")
    due = actions_to_remind(plan_status(actions, updates, D("2025-10-15")), 14)
    mine = due[due["owner_email"] == "nadia.hussain@darlington.example"]
    returns = pd.DataFrame(
        [
            {
                "service": "education",
                "service_name": "Education & Inclusion",
                "quarter": "2025-26-Q2",
                "status": "Not returned",
                "indicators_missing": 4,
                "missing_codes": "ED02, ED03",
                "deadline": dt.date(2025, 10, 21),
            }
        ]
    )
    person = {"owner": "Nadia Hussain", "owner_email": "nadia.hussain@darlington.example"}
    message = compose(
        person,
        mine,
        returns,
        D("2025-10-15"),
        "Darlington Borough Council",
        "performance@darlington.example",
        "performance@darlington.example",
        {"education": "requests/2025-26-Q2/education.xlsx"},
        dt.datetime(2025, 10, 15, 8, tzinfo=dt.UTC),
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == "nadia.hussain@darlington.example"
    assert (
        parsed["Subject"]
        == "Reminder: 1 improvement plan action and 1 data return (Darlington Borough Council)"
    )
    body = parsed.get_body(("plain",)).get_content()
    assert max(len(line) for line in body.splitlines()) <= 76
    body = " ".join(body.split())
    for expected in (
        "CIP-22",
        "Due Friday 24 October 2025: in 9 days",
        "Education & Inclusion, 2025/26 Q2",
        "Deadline Tuesday 21 October 2025 (in 6 days)",
        "requests/2025-26-Q2/education.xlsx",
    ):
        assert expected in body


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would go over the wire."""

    sent: ClassVar[list] = []

    def __init__(self, host, port, timeout):
        self.calls = [("connect", host, port)]
        FakeSMTP.sent.append(self.calls)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context):
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.calls.append(("send", message["To"]))


@pytest.fixture
def smtp_settings(monkeypatch):
    FakeSMTP.sent = []
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    for field, value in {
        "host": "smtp.council.example",
        "port": "2525",
        "sender": "performance@council.example",
        "user": "perf",
        "password": "s3cret",
    }.items():
        monkeypatch.setenv(SMTP_ENV[field], value)
    return FakeSMTP


def test_smtp_settings_come_from_the_environment_and_use_starttls(smtp_settings):
    resource = MailResource.from_environment()
    assert "s3cret" not in repr(resource)  # a reference to the variable, not its value
    with dg.build_resources({"mail": resource}) as built:
        mail = built.mail
        assert (mail.host, mail.port, mail.sender, mail.user) == (
            "smtp.council.example",
            2525,
            "performance@council.example",
            "perf",
        )
        message = email.message.EmailMessage()
        message["To"] = "ann@council.example"
        mail.send(message)
    assert smtp_settings.sent == [
        [
            ("connect", "smtp.council.example", 2525),
            ("starttls",),
            ("login", "perf", "s3cret"),
            ("send", "ann@council.example"),
        ]
    ]


def test_without_a_host_nothing_is_configured(monkeypatch):
    for name in SMTP_ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert MailResource.from_environment().host == ""


def emails_in(folder):
    return {
        p.name: email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    }


@pytest.mark.e2e
def test_reminders_command_writes_one_message_per_person_once_a_day(recent, capsys, monkeypatch):
    for name in SMTP_ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert run_cli("--data", str(recent), "reminders", "--as-of", "2025-10-15") == 0
    folder = recent / "outbox" / "2025-10-15"
    messages = emails_in(folder)
    recipients = [m["To"].addresses[0].addr_spec for m in messages.values()]
    assert len(recipients) == len(set(recipients)) >= 8
    nadia = " ".join(
        messages["nadia.hussain_darlington.example.eml"].get_body(("plain",)).get_content().split()
    )
    assert "CIP-22" in nadia and "Education & Inclusion, 2025/26 Q2: not received yet" in nadia
    claire = messages["claire.lowther_darlington.example.eml"].get_body(("plain",)).get_content()
    assert "CIP-23" in claire and "CIP-08" not in claire  # due in December: outside the window
    log = pd.read_csv(recent / "outbox" / "sent-log.csv", dtype=str, keep_default_na=False)
    assert len(log[log["reminder_date"] == "2025-10-15"]) == len(messages)
    written = {p: p.stat().st_mtime_ns for p in folder.glob("*.eml")}

    capsys.readouterr()
    assert run_cli("--data", str(recent), "reminders", "--as-of", "2025-10-15") == 0
    assert "already reminded today" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in folder.glob("*.eml")} == written
    assert pd.read_csv(recent / "outbox" / "sent-log.csv", dtype=str, keep_default_na=False).equals(log)


@pytest.mark.e2e
def test_with_smtp_configured_reminders_are_sent_not_written(recent, smtp_settings):
    assert run_cli("--data", str(recent), "reminders", "--as-of", "2025-10-16") == 0
    assert not (recent / "outbox" / "2025-10-16").exists()
    assert len(smtp_settings.sent) >= 8 and all(calls[1] == ("starttls",) for calls in smtp_settings.sent)
    log = pd.read_csv(recent / "outbox" / "sent-log.csv", dtype=str, keep_default_na=False)
    today = log[log["reminder_date"] == "2025-10-16"]
    assert len(today) == len(smtp_settings.sent) and set(today["sent_by"]) == {"smtp smtp.council.example"}
    assert "s3cret" not in (recent / "outbox" / "sent-log.csv").read_text()
