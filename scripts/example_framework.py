"""The example council's framework: tags, measure types, change programmes, risks and feedback cases.

Called by `make_example_data.py`. The vocabularies follow the Corporate Performance Framework in
`shared/seeds/` (its six Operating Principles; economy, efficiency and effectiveness; outcomes
shared with partners); which indicator carries which tag, the five change programmes, their
milestones and benefits, the risk register and every customer feedback case are INVENTED for the
example (the documents name none of them). The stage 1 complaint cases are generated so that, in
each quarter, they give exactly the CS03 figure the Customer Services return gives: the derived
figure and the returned one agree, and the planted bad rows are extra cases.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

from perf_pipeline.lib.feedback import working_days_between
from perf_pipeline.lib.framework_risks import RISK_COLUMNS
from perf_pipeline.lib.quarters import Quarter, quarter_range

README = """
## The framework's shape (invented for the example)

`reference/tags.toml` follows the Corporate Performance Framework in `shared/seeds/`: its six
Operating Principles (Governance and Assurance, Financial Sustainability, People first,
Partnerships, Digital self-service, Evidence-informed), economy, efficiency and effectiveness, and
outcomes shared with partners. Everything else here is INVENTED for the example, because the
documents name none of it: which indicator carries which tag and its `measure_type` and
`measure_source` (`indicators.csv`), the tags and `indicator_codes` of the improvement actions, the
five change programmes with their sponsors, milestones and benefits (`programmes.csv`,
`milestones.csv`, `benefits.csv`), the strategic risk register and its reviews (`risks.csv`,
`risk_reviews.csv`; SR05's score falls in July 2025 while ASC08 is Red, so the report flags it),
and every customer feedback case.

`feedback/` holds two invented case extracts as a complaints system exports them: a CSV for cases
received in 2024/25 (with a title row and a blank row above the header) and a workbook for
2025/26. The stage 1 complaints are generated so that, quarter by quarter, the CS03 figure made
from them by `reference/feedback_rules.toml` equals the one in the Customer Services return;
CS06 (stage 1 complaints per 1,000 residents, Census 2021: 107,800) and CS07 (compliments) come
from the cases alone, from 2024-25 Q1. The workbook has five planted problems, each refused with
its reason: a case responded to before it was received, an `Enquiry` (not a complaint,
compliment or comment), a complaint without its stage, a US-style date (`07/31/2025`), and a case
exported twice (counted once).
"""

FRAMEWORK_COLUMNS = ["tags", "measure_type", "measure_source"]
OP, VFM, WITH = "operating_principle", "value_for_money", "partnership"
FEEDBACK_FROM = "2024-25-Q1"
RESIDENTS = 107_800  # Darlington, Census 2021 (ONS)

TAGS_TOML = """\
# The council's vocabularies for tagging indicators and improvement actions (SPEC §14).
# Each indicator or action may carry several tags, written vocabulary:value and separated by ';'.

[operating_principle]
title = "Operating principle"
[operating_principle.values]
governance = "Governance and Assurance"
financial_sustainability = "Financial Sustainability"
people_first = "People first"
partnerships = "Partnerships"
digital = "Digital self-service"
evidence = "Evidence-informed"

[value_for_money]
title = "Economy, efficiency and effectiveness"
[value_for_money.values]
economy = "Economy"
efficiency = "Efficiency"
effectiveness = "Effectiveness"

[partnership]
title = "Outcome shared with a partner"
[partnership.values]
nhs = "NHS (Integrated Care Board and hospital trust)"
police = "Durham Constabulary and the Community Safety Partnership"
tees_valley = "Tees Valley Combined Authority"
"""

FEEDBACK_RULES = f"""\
# How the customer feedback extracts in feedback/ become indicators (SPEC §14).
# From first_quarter on, a derived figure replaces any figure returned for the same indicator.
first_quarter = "{FEEDBACK_FROM}"

[[indicator]]
code = "CS03"
measure = "percent_within_working_days"
working_days = 10
types = ["complaint"]
stages = [1]
counted_by = "responded"

[[indicator]]
code = "CS06"
measure = "per_1000_residents"
residents = {RESIDENTS}      # Census 2021 (ONS)
types = ["complaint"]
stages = [1]
counted_by = "received"

[[indicator]]
code = "CS07"
measure = "count"
types = ["compliment"]
counted_by = "received"
"""

# code: (tags, measure_type, measure_source)
FRAMEWORK: dict[str, tuple[str, str, str]] = {
    "RB01": (f"{OP}:financial_sustainability;{VFM}:economy", "process", "internal"),
    "RB02": (f"{OP}:financial_sustainability;{VFM}:economy", "process", "internal"),
    "RB03": (f"{OP}:people_first;{VFM}:efficiency", "process", "internal"),
    "RB04": (f"{OP}:people_first;{VFM}:efficiency", "process", "internal"),
    "RB05": (f"{OP}:financial_sustainability", "output", "internal"),
    "RB06": (f"{OP}:financial_sustainability;{VFM}:economy", "output", "internal"),
    "CS01": (f"{OP}:people_first;{VFM}:efficiency", "process", "internal"),
    "CS02": (f"{OP}:digital;{VFM}:efficiency", "output", "internal"),
    "CS03": (f"{OP}:people_first;{OP}:governance;{VFM}:effectiveness", "process", "internal"),
    "CS04": (f"{OP}:governance;{VFM}:effectiveness", "outcome", "external"),
    "CS05": (f"{OP}:people_first;{VFM}:effectiveness", "outcome", "external"),
    "CS06": (f"{OP}:people_first;{OP}:evidence", "outcome", "external"),
    "CS07": (f"{OP}:people_first", "outcome", "external"),
    "HR01": (f"{OP}:people_first;{VFM}:efficiency", "process", "internal"),
    "HR02": (f"{OP}:governance", "outcome", "internal"),
    "HR03": (f"{OP}:people_first", "outcome", "internal"),
    "HR04": (f"{OP}:people_first", "output", "internal"),
    "HR05": (f"{OP}:people_first;{OP}:governance", "process", "internal"),
    "HR06": (f"{OP}:people_first", "outcome", "internal"),
    "ASC02": (f"{OP}:people_first;{WITH}:nhs;{VFM}:effectiveness", "outcome", "external"),
    "ASC03": (f"{OP}:people_first;{OP}:digital;{VFM}:effectiveness", "outcome", "external"),
    "ASC05": (f"{OP}:partnerships;{WITH}:nhs;{VFM}:effectiveness", "outcome", "external"),
    "ASC07": (f"{OP}:partnerships;{VFM}:economy", "outcome", "external"),
    "ASC08": (f"{OP}:partnerships;{WITH}:nhs;{VFM}:effectiveness", "outcome", "external"),
    "ASC09": (f"{OP}:partnerships;{WITH}:nhs;{WITH}:police;{VFM}:effectiveness", "outcome", "external"),
    "ASC10": (f"{OP}:evidence", "output", "external"),
    "ASC11": (f"{OP}:governance;{VFM}:efficiency", "process", "internal"),
    "HS01": (f"{OP}:people_first;{VFM}:effectiveness", "outcome", "external"),
    "HS02": (f"{OP}:financial_sustainability;{VFM}:economy", "outcome", "external"),
    "HS03": (f"{OP}:financial_sustainability;{VFM}:efficiency", "process", "internal"),
    "HS04": (f"{OP}:financial_sustainability;{VFM}:economy", "process", "internal"),
    "HS05": (f"{OP}:partnerships;{WITH}:tees_valley;{VFM}:effectiveness", "output", "external"),
    "HS06": (f"{VFM}:effectiveness", "output", "external"),
    "CSC01": (f"{OP}:people_first;{OP}:evidence", "outcome", "external"),
    "CSC02": (f"{OP}:governance;{VFM}:efficiency", "process", "internal"),
    "CSC03": (f"{OP}:partnerships;{WITH}:police;{WITH}:nhs;{VFM}:effectiveness", "outcome", "external"),
    "CSC04": (f"{OP}:people_first;{VFM}:effectiveness", "outcome", "external"),
    "CSC05": (f"{OP}:partnerships;{WITH}:police;{WITH}:nhs", "outcome", "external"),
    "CSC06": (f"{OP}:people_first;{VFM}:effectiveness", "outcome", "external"),
    "CSC07": (f"{OP}:financial_sustainability;{VFM}:economy", "output", "internal"),
    "CSC08": (f"{OP}:partnerships;{WITH}:nhs", "output", "external"),
    "ED01": (f"{OP}:people_first", "outcome", "external"),
    "ED02": (f"{OP}:partnerships;{WITH}:nhs;{VFM}:efficiency", "process", "internal"),
    "ED03": (f"{OP}:partnerships;{WITH}:tees_valley;{VFM}:effectiveness", "outcome", "external"),
    "ED04": (f"{OP}:people_first", "outcome", "external"),
    "ED05": (f"{OP}:evidence", "outcome", "external"),
    "WM01": (f"{VFM}:effectiveness", "outcome", "external"),
    "WM02": (f"{VFM}:economy", "outcome", "external"),
    "WM03": (f"{VFM}:efficiency", "outcome", "external"),
    "WM04": (f"{OP}:people_first;{VFM}:efficiency", "process", "internal"),
    "WM05": (f"{VFM}:efficiency", "process", "internal"),
    "WM06": (f"{OP}:evidence", "output", "external"),
    "WM07": (f"{VFM}:effectiveness", "outcome", "external"),
    "PL01": (f"{OP}:governance;{VFM}:efficiency", "process", "internal"),
    "PL02": (f"{OP}:governance;{VFM}:efficiency", "process", "internal"),
    "PL03": (f"{OP}:evidence", "output", "external"),
    "PL04": (f"{OP}:governance;{VFM}:effectiveness", "outcome", "external"),
    "EG01": (f"{OP}:partnerships;{WITH}:tees_valley;{VFM}:effectiveness", "outcome", "external"),
    "EG02": (f"{OP}:partnerships;{WITH}:tees_valley", "outcome", "external"),
    "EG03": (f"{OP}:evidence", "outcome", "external"),
    "EG04": (f"{OP}:financial_sustainability;{WITH}:tees_valley;{VFM}:economy", "output", "internal"),
}

# Indicators the case extracts make; no return carries them.
FEEDBACK_INDICATORS = [
    {
        "code": "CS06",
        "title": "Stage 1 complaints received per 1,000 residents",
        "definition": "Stage 1 complaints received in the quarter (from the case extract) per 1,000 residents "
        "(Census 2021).",
        "unit": "number",
        "unit_label": "per 1,000 residents",
        "polarity": "lower_is_better",
        "frequency": "quarterly",
        "ytd_method": "sum",
        "decimals": "2",
        "service": "customer_services",
        "priority": "A well-run council",
        "level": "service",
        "active_from": FEEDBACK_FROM,
    },
    {
        "code": "CS07",
        "title": "Compliments received",
        "definition": "Compliments about council services received in the quarter (from the case extract).",
        "unit": "count",
        "polarity": "higher_is_better",
        "frequency": "quarterly",
        "ytd_method": "sum",
        "decimals": "0",
        "service": "customer_services",
        "priority": "A well-run council",
        "level": "service",
        "active_from": FEEDBACK_FROM,
    },
]

# action_id: (tags, indicator_codes)
ACTION_LINKS = {
    "CIP-03": (f"{OP}:people_first;{VFM}:economy", "HS01;HS02"),
    "CIP-04": (f"{OP}:governance;{OP}:evidence", ""),
    "CIP-08": (f"{OP}:financial_sustainability;{VFM}:economy", "CSC07"),
    "CIP-10": (f"{OP}:digital;{OP}:evidence", ""),
    "CIP-11": (f"{OP}:people_first;{OP}:digital", "ASC03"),
    "CIP-13": (f"{OP}:financial_sustainability", "RB01"),
    "CIP-15": (f"{OP}:people_first", "HR03;HR01"),
    "CIP-16": (f"{OP}:partnerships;{WITH}:police;{WITH}:nhs", "CSC03"),
    "CIP-19": (f"{OP}:governance", "ASC11"),
    "CIP-22": (f"{OP}:governance;{WITH}:nhs", "ED02"),
    "CIP-24": (f"{OP}:digital;{OP}:partnerships", "CS02"),
    "CIP-25": (f"{OP}:digital;{OP}:people_first;{VFM}:efficiency", "CS01;CS02;CS05"),
    "CIP-26": (f"{OP}:people_first;{VFM}:efficiency", "HR01"),
    "CIP-27": (f"{VFM}:efficiency", "WM04"),
}

PROGRAMMES = [
    # programme_id, name, sponsor, aim, indicator_codes
    (
        "CP1",
        "Customer access and digital",
        "Elizabeth Davison",
        "One front door for every customer contact, with routine transactions online and answered first time.",
        "CS01;CS02;CS03;CS05",
    ),
    (
        "CP2",
        "Children's services improvement",
        "Joanne Hunt",
        "Safe, stable homes for children in care, with more of them placed with the council's own foster carers.",
        "CSC02;CSC04;CSC07",
    ),
    (
        "CP3",
        "Independence in adult social care",
        "James Stroyan",
        "More people regain independence after short-term support and fewer enter residential care.",
        "ASC05;ASC08;ASC11",
    ),
    (
        "CP4",
        "Homes and homelessness prevention",
        "Anthony Sandys",
        "Prevent homelessness earlier and end the use of bed and breakfast for families.",
        "HS01;HS02;HS05",
    ),
    (
        "CP5",
        "Waste collection redesign",
        "Dave Winstanley",
        "New collection rounds serving every new home, with less contamination and fewer missed bins.",
        "WM01;WM03;WM04",
    ),
]

# programme_id, milestone_id, title, owner, baseline, forecast, completed
MILESTONES = [
    (
        "CP1",
        "CP1-M1",
        "Customer contact strategy approved by Cabinet",
        "Imran Malik",
        "2024-07-09",
        "",
        "2024-07-09",
    ),
    (
        "CP1",
        "CP1-M2",
        "Customer account launched for council tax and bins",
        "Imran Malik",
        "2024-11-30",
        "2025-02-28",
        "2025-03-04",
    ),
    (
        "CP1",
        "CP1-M3",
        "Telephony moved to the new contact platform",
        "Sam Okafor",
        "2025-06-30",
        "2025-11-28",
        "",
    ),
    ("CP1", "CP1-M4", "Complaints case system replaces the spreadsheets", "Sam Okafor", "2025-10-24", "", ""),
    (
        "CP2",
        "CP2-M1",
        "Foster carer recruitment campaign launched",
        "Claire Lowther",
        "2024-09-02",
        "",
        "2024-08-28",
    ),
    (
        "CP2",
        "CP2-M2",
        "Two new in-house children's homes registered with Ofsted",
        "Claire Lowther",
        "2025-09-30",
        "2026-01-31",
        "",
    ),
    ("CP2", "CP2-M3", "Placement sufficiency strategy refreshed", "Nadia Hussain", "2026-03-31", "", ""),
    (
        "CP3",
        "CP3-M1",
        "Reablement service extended to seven days a week",
        "Helen Murray",
        "2024-10-01",
        "",
        "2024-09-30",
    ),
    ("CP3", "CP3-M2", "Technology-enabled care offer live", "Helen Murray", "2025-07-31", "", "2025-07-21"),
    ("CP3", "CP3-M3", "Every long-term care plan reviewed in the year", "Helen Murray", "2026-03-31", "", ""),
    ("CP4", "CP4-M1", "Homelessness prevention hub opened", "Gary Pearson", "2024-12-02", "", "2024-12-02"),
    (
        "CP4",
        "CP4-M2",
        "Forty temporary homes bought to replace bed and breakfast",
        "Gary Pearson",
        "2025-10-31",
        "",
        "",
    ),
    ("CP4", "CP4-M3", "Housing allocations policy revised", "Gary Pearson", "2025-08-29", "", ""),
    ("CP5", "CP5-M1", "Round re-design modelled and agreed", "Paul Atkinson", "2024-06-28", "", "2024-07-12"),
    (
        "CP5",
        "CP5-M2",
        "New rounds live across the borough",
        "Paul Atkinson",
        "2024-11-04",
        "2025-01-06",
        "2025-01-06",
    ),
    ("CP5", "CP5-M3", "In-cab technology on every collection vehicle", "Paul Atkinson", "2025-12-19", "", ""),
]

# programme_id, indicator_code, target_value, by_quarter
BENEFITS = [
    ("CP1", "CS01", "80", "2025-26-Q2"),
    ("CP1", "CS05", "90", "2025-26-Q4"),
    ("CP1", "CS03", "90", "2025-26-Q1"),
    ("CP2", "CSC07", "120", "2026-27-Q2"),
    ("CP3", "ASC05", "82", "2025-26-Q2"),
    ("CP3", "ASC08", "150", "2025-26-Q2"),
    ("CP4", "HS02", "35", "2025-26-Q4"),
    ("CP4", "HS05", "40", "2025-26-Q2"),
    ("CP5", "WM03", "8", "2025-26-Q1"),
    ("CP5", "WM04", "60", "2025-26-Q2"),
]

RISKS = [
    (
        "SR01",
        "The medium-term financial plan's budget gap is not closed",
        "Elizabeth Davison",
        "4",
        "5",
        "2",
        "4",
        "Savings programme tracked monthly; reserves policy; quarterly budget monitoring to Cabinet",
        "2024-04-15",
        "RB01;RB02;EG04",
        "CIP-13",
    ),
    (
        "SR02",
        "Demand for children's placements outstrips sufficient, affordable homes",
        "Joanne Hunt",
        "4",
        "4",
        "3",
        "3",
        "Sufficiency strategy; in-house foster carer recruitment; placement panel",
        "2024-04-15",
        "CSC01;CSC04;CSC07",
        "CIP-08;CIP-16",
    ),
    (
        "SR03",
        "Temporary accommodation costs rise with homelessness",
        "Anthony Sandys",
        "4",
        "4",
        "2",
        "3",
        "Prevention hub; purchase of temporary homes; weekly bed and breakfast review",
        "2024-04-15",
        "HS01;HS02",
        "CIP-03",
    ),
    (
        "SR04",
        "The council cannot recruit and keep the staff it needs",
        "Louise Bainbridge",
        "3",
        "4",
        "2",
        "3",
        "Workforce strategy; market supplements; apprenticeship scheme",
        "2024-04-15",
        "HR01;HR03;HR04",
        "CIP-15;CIP-26",
    ),
    (
        "SR05",
        "The adult social care market cannot meet demand",
        "James Stroyan",
        "3",
        "5",
        "2",
        "4",
        "Market position statement; fee uplifts; provider forum",
        "2024-04-15",
        "ASC07;ASC08;ASC05",
        "CIP-11;CIP-19",
    ),
    (
        "SR06",
        "A cyber attack or data loss disrupts services",
        "Rachel Hall",
        "3",
        "5",
        "2",
        "5",
        "Cyber essentials plus; backups tested quarterly; staff training",
        "2024-04-15",
        "",
        "CIP-04",
    ),
    (
        "SR07",
        "Education, health and care plans are issued late as needs rise",
        "Joanne Hunt",
        "4",
        "3",
        "2",
        "3",
        "Quality assurance panel; additional case officers",
        "2024-04-15",
        "ED02",
        "CIP-22;CIP-05",
    ),
]
# risk_id, review_date, likelihood, impact, note, reviewed_by
RISK_REVIEWS = [
    ("SR01", "2024-10-14", "4", "5", "Savings on track but pay award unfunded", "Corporate Management Team"),
    (
        "SR01",
        "2025-04-14",
        "3",
        "5",
        "Budget 2025/26 balanced with one-off reserves",
        "Corporate Management Team",
    ),
    ("SR02", "2024-10-14", "4", "4", "No change", "Corporate Management Team"),
    ("SR02", "2025-07-14", "3", "4", "Foster carer campaign is recruiting", "Corporate Management Team"),
    ("SR03", "2024-10-14", "5", "4", "Bed and breakfast use at its highest", "Corporate Management Team"),
    ("SR03", "2025-04-14", "4", "4", "Prevention hub open", "Corporate Management Team"),
    ("SR03", "2025-07-14", "3", "4", "Temporary homes purchase approved", "Corporate Management Team"),
    ("SR04", "2025-04-14", "3", "4", "No change", "Corporate Management Team"),
    ("SR05", "2024-10-14", "4", "5", "Two home care providers exited", "Corporate Management Team"),
    ("SR05", "2025-07-14", "3", "5", "Fee uplift agreed", "Corporate Management Team"),
    ("SR06", "2025-07-14", "3", "5", "No change", "Corporate Management Team"),
    ("SR07", "2025-04-14", "4", "4", "Requests up 30% on last year", "Corporate Management Team"),
]

SERVICES = [
    "Environmental Services",
    "Council Tax",
    "Housing",
    "Planning",
    "Highways",
    "Adult Social Care",
    "Children's Services",
    "Customer Services",
    "Leisure and Culture",
]
CHANNELS = ["Online form", "Email", "Telephone", "Letter", "In person"]
EXTRACT_HEADER = [
    "Case Reference",
    "Date Received",
    "Date Responded",
    "Service Area",
    "Case Type",
    "Stage",
    "Outcome",
    "Channel",
]


def email(name: str) -> str:
    return name.lower().replace(" ", ".").replace("'", "") + "@darlington.example"


def framework_columns(code: str) -> dict[str, str]:
    tags, kind, source = FRAMEWORK[code]
    return {"tags": tags, "measure_type": kind, "measure_source": source}


def action_columns(action_id: str) -> dict[str, str]:
    tags, codes = ACTION_LINKS.get(action_id, ("", ""))
    return {"tags": tags, "indicator_codes": codes}


def _write_csv(path: Path, header: list[str], rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_reference(root: Path) -> None:
    ref = root / "reference"
    (ref / "tags.toml").write_text(TAGS_TOML, encoding="utf-8")
    (ref / "feedback_rules.toml").write_text(FEEDBACK_RULES, encoding="utf-8")
    _write_csv(
        ref / "programmes.csv",
        ["programme_id", "name", "sponsor", "sponsor_email", "aim", "indicator_codes"],
        [(p, n, s, email(s), a, c) for p, n, s, a, c in PROGRAMMES],
    )
    _write_csv(
        ref / "milestones.csv",
        [
            "programme_id",
            "milestone_id",
            "title",
            "owner",
            "owner_email",
            "baseline_date",
            "forecast_date",
            "completed_on",
        ],
        [(p, m, t, o, email(o), b, f, c) for p, m, t, o, b, f, c in MILESTONES],
    )
    _write_csv(
        ref / "benefits.csv", ["programme_id", "indicator_code", "target_value", "by_quarter"], BENEFITS
    )
    _write_csv(
        ref / "risks.csv",
        RISK_COLUMNS,
        [(r[0], r[1], r[2], email(r[2]), *r[3:]) for r in RISKS],
    )
    _write_csv(
        ref / "risk_reviews.csv",
        ["risk_id", "review_date", "likelihood", "impact", "note", "reviewed_by"],
        RISK_REVIEWS,
    )


def _working_days(quarter: Quarter) -> list[dt.date]:
    days = []
    day = quarter.start
    while day <= quarter.end:
        if working_days_between(day - dt.timedelta(days=1), day) == 1:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _back(day: dt.date, working_days: int) -> dt.date:
    """The day from which `day` is `working_days` working days on."""
    start = day
    while working_days_between(start, day) < working_days:
        start -= dt.timedelta(days=1)
    return start


def feedback_cases(cs03: dict[str, tuple[int, int]]) -> list[list[str]]:
    """Every case from the first feedback quarter to the last returned, stage 1 complaints matching CS03.

    `cs03` maps a quarter key to the returned (numerator, denominator).
    """
    rng = random.Random("darlington-feedback")
    rows = []
    serial = 0

    def case(received: dt.date, responded: dt.date | None, kind: str, stage: str, outcome: str) -> list[str]:
        nonlocal serial
        serial += 1
        return [
            f"CF-{received:%y}-{serial:05d}",
            received.isoformat(),
            responded.isoformat() if responded else "",
            rng.choice(SERVICES),
            kind,
            stage,
            outcome,
            rng.choice(CHANNELS),
        ]

    for quarter in quarter_range(Quarter.parse(FEEDBACK_FROM), Quarter.parse(max(cs03))):
        days = _working_days(quarter)
        numerator, denominator = cs03[quarter.key]
        for i in range(denominator):
            responded = rng.choice(days)
            took = rng.randint(2, 10) if i < numerator else rng.randint(11, 28)
            outcome = rng.choice(["Upheld", "Partly upheld", "Not upheld", "Not upheld"])
            rows.append(case(_back(responded, took), responded, "Complaint", "1", outcome))
        for _ in range(max(1, denominator // 9)):
            received = rng.choice(days)
            responded = received + dt.timedelta(days=rng.randint(15, 40))
            rows.append(
                case(
                    received,
                    min(responded, quarter.end),
                    "Complaint",
                    "2",
                    rng.choice(["Upheld", "Not upheld"]),
                )
            )
        for _ in range(rng.randint(55, 95)):
            rows.append(case(rng.choice(days), None, "Compliment", "", ""))
        for _ in range(rng.randint(15, 35)):
            received = rng.choice(days)
            rows.append(
                case(
                    received,
                    received + dt.timedelta(days=rng.randint(1, 9)),
                    "Comment",
                    "",
                    "Passed to service",
                )
            )
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows


def planted_cases() -> list[list[str]]:
    """Mistakes a real extract has, each refused with its reason (listed in data/README.md)."""
    return [
        ["CF-25-90001", "2025-05-12", "2025-05-02", "Housing", "Complaint", "1", "Not upheld", "Email"],
        ["CF-25-90002", "2025-06-03", "2025-06-10", "Council Tax", "Enquiry", "", "", "Telephone"],
        ["CF-25-90003", "2025-07-08", "2025-07-15", "Highways", "Complaint", "", "Upheld", "Online form"],
        ["CF-25-90004", "07/31/2025", "2025-08-04", "Planning", "Comment", "", "", "Email"],
    ]


def write_feedback(root: Path, cs03: dict[str, tuple[int, int]], save: Callable[[Workbook], bytes]) -> None:
    """Two extracts as a case system exports them: a CSV for 2024/25 and a workbook for 2025/26."""
    folder = root / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    cases = feedback_cases(cs03)
    first_year = [c for c in cases if c[1] < "2025-04-01"]
    second_year = [c for c in cases if c[1] >= "2025-04-01"] + planted_cases()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Customer feedback cases: all cases received 1 April 2024 to 31 March 2025"])
    writer.writerow([])
    writer.writerow(EXTRACT_HEADER)
    writer.writerows(first_year)
    (folder / "feedback-cases-2024-25.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    book = Workbook()
    sheet = book.active
    sheet.title = "Cases"
    sheet.append(["Customer feedback cases received from 1 April 2025"])
    sheet.append(EXTRACT_HEADER)
    for row in second_year:
        cells = [dt.date.fromisoformat(c) if i in (1, 2) and c and "-" in c else c for i, c in enumerate(row)]
        sheet.append(cells)
    sheet.append(second_year[10])  # the same case exported twice: counted once
    for column in ("B", "C"):
        for cell in sheet[column][2:]:
            cell.number_format = "dd/mm/yyyy"
    (folder / "feedback-cases-2025-26.xlsx").write_bytes(save(book))
