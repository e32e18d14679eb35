"""Reminders: one message a day to each person with improvement plan actions or data returns due."""

import datetime as dt
import zoneinfo

import dagster as dg
from pydantic import Field

from perf_pipeline.defs.common import KINDS, OWNERS, reference_checked
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource, MailResource
from perf_pipeline.lib.files import relative_to_root

LONDON = zoneinfo.ZoneInfo("Europe/London")
DEFAULT_SENDER = "performance-team@localhost"
REMINDER_COLUMNS = [
    "reminder_date",
    "owner",
    "owner_email",
    "actions",
    "milestones",
    "data_returns",
    "outcome",
    "file",
    "message_id",
]


class ReminderConfig(dg.Config):
    as_of: str = Field(default="", description="The reminder date (YYYY-MM-DD); blank for today in London.")


def reminder_date(config: ReminderConfig) -> dt.date:
    return dt.date.fromisoformat(config.as_of) if config.as_of else dt.datetime.now(LONDON).date()


@dg.asset(
    code_version="1", group_name="reminders", owners=OWNERS, kinds=KINDS | {"email"}, pool=WAREHOUSE_POOL
)
def action_reminders(
    context: dg.AssetExecutionContext,
    config: ReminderConfig,
    data_root: DataRootResource,
    mail: MailResource,
    services,
    indicator_catalogue,
    submission_status,
):
    """The day's reminders: each person's actions due or overdue and data returns owed, in one message."""
    import pandas as pd

    from perf_pipeline.lib.feedback import returned_indicators
    from perf_pipeline.lib.framework_programmes import milestones_due
    from perf_pipeline.lib.improvement_plan import load_plan, plan_status
    from perf_pipeline.lib.reminders import (
        SENT_LOG_COLUMNS,
        actions_to_remind,
        already_reminded,
        append_sent_log,
        compose,
        group_by_person,
        read_sent_log,
        reminder_quarter,
        returns_owed,
        write_eml,
    )

    as_of = reminder_date(config)
    paths = data_root.paths
    council = data_root.council()
    with reference_checked():
        actions, updates = load_plan(paths.improvement_plan)
        due_milestones = milestones_due(
            paths.reference, indicator_catalogue, as_of, council["reminder_window_days"]
        )
    window = council["reminder_window_days"]
    due_actions = actions_to_remind(plan_status(actions, updates, as_of), window)
    quarter = reminder_quarter(as_of)
    owed = pd.DataFrame(columns=["service", "owner", "owner_email"])
    if quarter >= data_root.first:
        status = (
            submission_status[submission_status["quarter"] == quarter.key]
            if len(submission_status)
            else submission_status
        )
        owed = returns_owed(
            quarter,
            status,
            services,
            returned_indicators(indicator_catalogue, paths.reference, quarter),
            council["return_deadline_working_days"],
            as_of,
            window,
        )
    people = group_by_person(due_actions, owed, due_milestones)
    packs = {
        s: relative_to_root(paths.request_pack(quarter, s), paths.root)
        for s in owed["service"]
        if paths.request_pack(quarter, s).is_file()
    }
    contact = council.get("performance_team_email", "the performance team")
    sender = mail.sender or council.get("performance_team_email", DEFAULT_SENDER)
    done = already_reminded(read_sent_log(paths.outbox), as_of)
    folder = paths.outbox / as_of.isoformat()
    outcomes, sent, failures = [], [], []
    for person in people.to_dict("records"):
        record = {"reminder_date": as_of.isoformat(), **person, "file": "", "message_id": ""}
        if person["owner_email"].strip().lower() in done:
            outcomes.append({**record, "outcome": "already reminded today"})
            continue
        mine = due_actions[due_actions["owner_email"].str.lower() == person["owner_email"].lower()]
        theirs = owed[owed["owner_email"].str.lower() == person["owner_email"].lower()]
        stones = due_milestones[due_milestones["owner_email"].str.lower() == person["owner_email"].lower()]
        message = compose(
            person,
            mine,
            theirs,
            as_of,
            council["name"],
            sender,
            contact,
            packs,
            dt.datetime.now(LONDON),
            stones,
        )
        record["message_id"] = message["Message-ID"]
        try:
            if mail.host:
                mail.send(message)
                outcome, channel = "sent", f"smtp {mail.host}"
            else:
                record["file"] = relative_to_root(
                    write_eml(message, folder, person["owner_email"]), paths.root
                )
                outcome, channel = "written", "file"
        except OSError as error:  # smtplib's errors are OSErrors; the message goes on the next run
            failures.append(f"{person['owner_email']}: {error}")
            outcomes.append({**record, "outcome": f"failed: {error}"})
            continue
        outcomes.append({**record, "outcome": outcome})
        sent.append(
            {
                **record,
                "subject": message["Subject"],
                "sent_by": channel,
                "sent_at": dt.datetime.now(LONDON).isoformat(timespec="seconds"),
                "run_id": context.run.run_id,
            }
        )
    if sent:
        append_sent_log(paths.outbox, pd.DataFrame(sent, columns=SENT_LOG_COLUMNS))
    if failures:
        raise dg.Failure(description="Some reminders could not be sent:\n" + "\n".join(failures))
    df = pd.DataFrame(outcomes, columns=REMINDER_COLUMNS)
    context.add_output_metadata(
        {
            "reminder_date": as_of.isoformat(),
            "people": len(df),
            "sent": len(sent),
            "actions_due": len(due_actions),
            "milestones_due": len(due_milestones),
            "returns_owed": len(owed),
            "outbox": dg.MetadataValue.path(str(folder)) if not mail.host else "SMTP",
        }
    )
    return df
