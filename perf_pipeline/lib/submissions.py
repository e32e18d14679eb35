"""Who has returned what: deadlines in working days, receipts, and the chase list."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import due_in

RECEIPT_LOG = "received.csv"
STATUS_COLUMNS = [
    "service",
    "service_name",
    "directorate",
    "owner",
    "owner_email",
    "deadline",
    "files",
    "received_on",
    "received_from",
    "timeliness",
    "indicators_due",
    "indicators_returned",
    "indicators_missing",
    "missing_codes",
    "rows_accepted",
    "exceptions",
    "status",
    "chase",
]


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    import holidays  # the maintained list of England and Wales bank holidays

    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (England and Wales bank holidays excluded)."""
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        left -= is_working_day(day)
    return day


def return_deadline(quarter: Quarter, working_days: int) -> dt.date:
    return add_working_days(quarter.end, working_days)


def read_receipts(submissions: Path) -> pd.DataFrame:
    """The performance team's receipt log, `submissions/received.csv`: quarter, file, received_on."""
    path = submissions / RECEIPT_LOG
    if not path.is_file():
        return pd.DataFrame(columns=["quarter", "file", "received_on"])
    log = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    log.columns = [c.strip().lower() for c in log.columns]
    log["received_on"] = pd.to_datetime(log["received_on"], errors="coerce", format="ISO8601").dt.date
    return log


def received_dates(files: list[str], submissions: Path, data_root: Path) -> dict[str, tuple[dt.date, str]]:
    """When each file arrived: from the receipt log, else the file's own modification date."""
    log = read_receipts(submissions)
    prefix = submissions.absolute().relative_to(data_root.absolute()).as_posix() + "/"
    logged = {prefix + row.file: row.received_on for row in log.itertuples() if pd.notna(row.received_on)}
    dates = {}
    for file in files:
        if file in logged:
            dates[file] = (logged[file], "receipt log")
        elif (data_root / file).exists():
            stamp = dt.datetime.fromtimestamp((data_root / file).stat().st_mtime).date()
            dates[file] = (stamp, "file date")
    return dates


def submission_status(
    quarter: Quarter,
    services: pd.DataFrame,
    indicators: pd.DataFrame,
    raw: pd.DataFrame,
    validated: pd.DataFrame,
    exceptions: pd.DataFrame,
    receipts: dict[str, tuple[dt.date, str]],
    deadline_working_days: int,
) -> pd.DataFrame:
    """One row per service: files received, on time or late, indicators still missing."""
    deadline = return_deadline(quarter, deadline_working_days)
    service_of = indicators.set_index("code")["service"]
    due = indicators[due_in(indicators, quarter)]
    current = validated[validated["period"] == quarter.key]
    file_service = pd.concat(
        [
            current.assign(service=current["indicator_code"].map(service_of))[["file", "service"]],
            exceptions[["file", "service"]],
        ]
    ).dropna()
    rows = []
    for service in services.itertuples(index=False):
        files = sorted(set(file_service.loc[file_service["service"] == service.service, "file"]))
        dates = [receipts[f] for f in files if f in receipts]
        received_on = max((d for d, _ in dates), default=None)
        sources = sorted({source for _, source in dates})
        due_codes = set(due.loc[due["service"] == service.service, "code"])
        returned = set(current["indicator_code"]) & due_codes
        missing = sorted(due_codes - returned)
        n_exceptions = int((exceptions["service"] == service.service).sum())
        if not files:
            status, timeliness = "Not returned", "Not received"
        else:
            status = "Complete" if not missing else "Incomplete"
            timeliness = (
                "Unknown" if received_on is None else ("Late" if received_on > deadline else "On time")
            )
        rows.append(
            {
                "service": service.service,
                "service_name": service.name,
                "directorate": service.directorate,
                "owner": service.owner,
                "owner_email": service.owner_email,
                "deadline": deadline,
                "files": "; ".join(files),
                "received_on": received_on,
                "received_from": ", ".join(sources),
                "timeliness": timeliness,
                "indicators_due": len(due_codes),
                "indicators_returned": len(returned),
                "indicators_missing": len(missing),
                "missing_codes": ", ".join(missing),
                "rows_accepted": int(current["indicator_code"].map(service_of).eq(service.service).sum()),
                "exceptions": n_exceptions,
                "status": status,
                "chase": bool(missing or n_exceptions or timeliness == "Not received"),
            }
        )
    unassigned = sorted(set(raw["file"]) - set(file_service["file"]))
    if unassigned:
        rows.append(
            {
                "service": "(unknown)",
                "service_name": "Files matched to no service",
                "directorate": "",
                "owner": "",
                "owner_email": "",
                "deadline": deadline,
                "files": "; ".join(unassigned),
                "received_on": None,
                "received_from": "",
                "timeliness": "Unknown",
                "indicators_due": 0,
                "indicators_returned": 0,
                "indicators_missing": 0,
                "missing_codes": "",
                "rows_accepted": 0,
                "exceptions": int(exceptions["service"].isna().sum()),
                "status": "Unmatched",
                "chase": True,
            }
        )
    return pd.DataFrame(rows, columns=STATUS_COLUMNS)
