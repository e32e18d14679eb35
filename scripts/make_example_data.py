"""Build the bundled example data root for perf_pipeline: Darlington Borough Council (E06000005).

Darlington is a unitary council in the North East that appears in all three published Oflog
sources we ship (adult social care, waste, nearest neighbours), so the example can benchmark
real figures against real comparators. The script (re)writes these parts of the data root:

    reference/         council.toml, services.csv, indicators.csv, targets.csv, rag_rules.toml,
                       authorities.csv (from mySociety's register), nearest_neighbours.json,
                       comparator_groups.csv (the Tees Valley councils), approvals.csv
    benchmarks/        the Oflog files as published; DLUHC's quarterly council tax receipts
                       reshaped into a long CSV (values as published); sources.toml
    submissions/       service returns for 2021-22-Q1 ... 2025-26-Q2, and received.csv
    corrections/       approved (and some invalid) correction records
    improvement_plan/  actions.csv, updates.csv
    README.md          what is real, what is illustrative, and every deliberate problem

Folders the pipeline writes (warehouse/, reports/, requests/, outbox/, .dagster/) are left alone.

The Q4 returns for 2021-22 and 2022-23 carry Darlington's published values for the indicators
that have an Oflog counterpart, read from the real files. Everything else is illustrative,
generated from a fixed seed: running the script twice gives byte-identical files (workbooks are
written with fixed document properties and zip timestamps).

Usage:
    python scripts/make_example_data.py [--shared DIR] [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import random
import re
import shutil
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import example_framework
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "real-data"
SEED = "perf_pipeline example data v1"
WORKBOOK_TIMESTAMP = dt.datetime(2025, 10, 1, 9, 0, 0)
ZIP_TIMESTAMP = (2025, 10, 1, 9, 0, 0)

COUNCIL_NAME = "Darlington Borough Council"
COUNCIL_GSS = "E06000005"
YEARS = ("2021-22", "2022-23", "2023-24", "2024-25", "2025-26")
LAST_QUARTER = "2025-26-Q2"
REAL_YEARS = ("2021-22", "2022-23")  # years with a published Oflog figure for Darlington
OWNED_PARTS = ("reference", "benchmarks", "submissions", "corrections", "improvement_plan")

HIGHER, LOWER, NONE = "higher_is_better", "lower_is_better", "none"
QUARTERLY, ANNUAL = "quarterly", "annual"

# ---------------------------------------------------------------------------------------------
# Quarters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Quarter:
    """A financial quarter, e.g. 2025-26-Q2 (July to September 2025)."""

    start_year: int
    number: int

    @classmethod
    def parse(cls, key: str) -> Quarter:
        year, q = key.rsplit("-Q", 1)
        return cls(int(year[:4]), int(q))

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def year(self) -> str:
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    @property
    def slash(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d} Q{self.number}"

    @property
    def end(self) -> dt.date:
        month = 3 * self.number + 3
        if month > 12:
            return dt.date(self.start_year + 1, month - 12, 31)
        return dt.date(self.start_year, month, 30 if month in (6, 9) else 31)

    def shifted(self, quarters: int) -> Quarter:
        total = self.start_year * 4 + self.number - 1 + quarters
        return Quarter(total // 4, total % 4 + 1)

    def names(self) -> dict[str, str]:
        """Fields for file-name and title templates."""
        short = f"{self.start_year % 100:02d}{(self.start_year + 1) % 100:02d}"
        return {
            "n": str(self.number),
            "fy": self.year,
            "fy_slash": self.year.replace("-", "/"),
            "fy_short": short,
            "yy": f"{short[:2]}-{short[2:]}",
        }


QUARTERS = tuple(Quarter.parse("2021-22-Q1").shifted(i) for i in range(18))
assert QUARTERS[-1].key == LAST_QUARTER


def add_working_days(day: dt.date, count: int) -> dt.date:
    """Weekdays after `day` (bank holidays ignored: on-time returns stay well inside 15)."""
    while count:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


# ---------------------------------------------------------------------------------------------
# Services and indicators
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    slug: str
    name: str
    directorate: str
    owner: str
    portfolio: str = ""
    scrutiny_committee: str = ""

    @property
    def email(self) -> str:
        return self.owner.lower().replace(" ", ".") + "@darlington.example"


RESOURCES = "Resources & Governance"
ADULTS = "Adults & Housing"
CHILDREN = "Children's Services"
PLACE = "Economy & Environment"

# Darlington's Cabinet portfolios and scrutiny committees (from the council's website, 2025).
RES_PF, RES_SC = "Resources", "Economy and Resources Scrutiny Committee"
CYP_PF, CYP_SC = "Children and Young People", "Children and Young People Scrutiny Committee"
ECO_SC = "Economy and Resources Scrutiny Committee"

SERVICES = (
    Service("revenues_benefits", "Revenues & Benefits", RESOURCES, "Karen Whitfield", RES_PF, RES_SC),
    Service("customer_services", "Customer Services & Digital", RESOURCES, "Imran Malik", RES_PF, RES_SC),
    Service("hr", "HR, Health & Safety", RESOURCES, "Louise Bainbridge", RES_PF, RES_SC),
    Service(
        "adult_social_care",
        "Adult Social Care",
        ADULTS,
        "Helen Murray",
        "Adults",
        "Adults Scrutiny Committee",
    ),
    Service(
        "housing",
        "Housing & Homelessness",
        ADULTS,
        "Gary Pearson",
        "Health and Housing",
        "Health and Housing Scrutiny Committee",
    ),
    Service("childrens_social_care", "Children's Social Care", CHILDREN, "Claire Lowther", CYP_PF, CYP_SC),
    Service("education", "Education & Inclusion", CHILDREN, "Nadia Hussain", CYP_PF, CYP_SC),
    Service(
        "waste",
        "Waste & Street Scene",
        PLACE,
        "Paul Atkinson",
        "Local Services",
        "Communities and Local Services Scrutiny Committee",
    ),
    Service("planning", "Planning & Building Control", PLACE, "Joanne Reed", "Economy", ECO_SC),
    Service("economic_growth", "Economic Growth & Regeneration", PLACE, "Mark Dobson", "Economy", ECO_SC),
)
SERVICE_BY_SLUG = {s.slug: s for s in SERVICES}

ECONOMY = "Economy"
HOMES = "Homes"
LIVING_WELL = "Living well"
CHILDREN_YP = "Children and young people"
ENVIRONMENT = "Environment"
WELL_RUN = "A well-run council"


@dataclass(frozen=True)
class Indicator:
    """A row of indicators.csv, plus how its illustrative figures are generated."""

    code: str
    title: str
    definition: str
    unit: str
    polarity: str
    frequency: str
    ytd_method: str
    service: str
    priority: str
    level: str
    unit_label: str = ""
    decimals: int = 1
    min_value: float | None = None
    max_value: float | None = None
    rag_rule: str = ""
    benchmark_metric: str = ""
    active_from: str = ""
    active_to: str = ""
    amber_thresholds: tuple[float | None, ...] = ()  # explicit amber threshold per year
    # One annual target per year in YEARS (None while the indicator is inactive).
    targets: tuple[float | None, ...] = ()
    # Cumulative indicators: fixed targets for Q1-Q3; Q4 is the annual target.
    profile: tuple[float, float, float] | None = None
    # Data-only indicators: typical value per year in YEARS.
    baseline: tuple[float, ...] = ()
    spread: float = 0.05  # relative standard deviation of performance around target
    season: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # ratio: scales volume
    denominator: int = 0  # ratio indicators: typical quarterly denominator
    poisson_mean: float = 0.0  # rare-event counts are drawn as Poisson(mean) instead
    slump: tuple[str, ...] = ()  # quarters of clearly poor performance
    off_target: tuple[str, ...] = ()  # what services say when a figure misses target

    def active_in(self, quarter: Quarter) -> bool:
        if self.active_from and quarter < Quarter.parse(self.active_from):
            return False
        return not (self.active_to and quarter > Quarter.parse(self.active_to))

    def due_in(self, quarter: Quarter) -> bool:
        return self.active_in(quarter) and (self.frequency == QUARTERLY or quarter.number == 4)


INDICATORS: tuple[Indicator, ...] = (
    # --- Revenues & Benefits -----------------------------------------------------------------
    Indicator(
        "RB01",
        "% of council tax collected",
        "Council tax received in the financial year to date as a % of the net collectable debit "
        "for the year. Reported cumulatively.",
        "percent",
        HIGHER,
        QUARTERLY,
        "cumulative",
        "revenues_benefits",
        WELL_RUN,
        "strategic",
        targets=(96.5, 96.5, 96.3, 96.5, 96.5),
        profile=(28, 56, 84),
        spread=0.006,
        off_target=(
            (
                "Collection is behind profile as more residents have moved to 12 monthly "
                "instalments – recovery action is on schedule."
            ),
            (
                "Cost of living pressures are slowing payments; we’re signposting residents "
                "to the hardship fund before enforcement."
            ),
        ),
    ),
    Indicator(
        "RB02",
        "% of business rates collected",
        "Non-domestic rates received in the financial year to date as a % of the net collectable "
        "debit for the year. Reported cumulatively.",
        "percent",
        HIGHER,
        QUARTERLY,
        "cumulative",
        "revenues_benefits",
        ECONOMY,
        "strategic",
        targets=(97.5, 98.0, 98.0, 98.0, 98.2),
        profile=(29, 57, 85),
        spread=0.006,
        off_target=(
            "Two large ratepayers in administration owe over £300k between them.",
            "Appeals against the 2023 revaluation are holding back payments.",
        ),
    ),
    Indicator(
        "RB03",
        "Average days to process new benefit claims",
        "Mean calendar days from receipt of a new Housing Benefit or Council Tax Support claim to decision.",
        "days",
        LOWER,
        QUARTERLY,
        "mean",
        "revenues_benefits",
        LIVING_WELL,
        "service",
        rag_rule="standard",
        targets=(20, 20, 20, 19, 19),
        spread=0.10,
        season=(1.0, 1.0, 1.0, 1.1),
        slump=("2023-24-Q1",),
        off_target=(
            "Backlog after the migration to the new benefits system – overtime is in place to clear it.",
            "Staff vacancies in the assessment team; two new assessors start next month.",
        ),
    ),
    Indicator(
        "RB04",
        "Average days to process changes of circumstances",
        "Mean calendar days from notification of a change in circumstances to decision.",
        "days",
        LOWER,
        QUARTERLY,
        "mean",
        "revenues_benefits",
        LIVING_WELL,
        "service",
        rag_rule="standard",
        targets=(8, 8, 8, 7.5, 7.5),
        spread=0.10,
        season=(1.06, 0.97, 0.97, 1.0),
        off_target=(
            "Annual uprating work in April delayed change processing.",
            "Increase in Universal Credit notifications from DWP.",
        ),
    ),
    Indicator(
        "RB05",
        "Council tax accounts referred to enforcement agents",
        "Number of council tax accounts passed to enforcement agents in the quarter. Context only.",
        "count",
        NONE,
        QUARTERLY,
        "sum",
        "revenues_benefits",
        WELL_RUN,
        "service",
        decimals=0,
        baseline=(1850, 1900, 2100, 2200, 2150),
        spread=0.06,
        season=(0.8, 1.1, 1.2, 0.9),
    ),
    Indicator(
        "RB06",
        "Housing Benefit overpayments recovered",
        "Value in pounds of Housing Benefit overpayments recovered in the quarter.",
        "currency",
        HIGHER,
        QUARTERLY,
        "sum",
        "revenues_benefits",
        WELL_RUN,
        "service",
        unit_label="£",
        decimals=0,
        rag_rule="maidstone_10",
        targets=(150000, 150000, 145000, 140000, 140000),
        spread=0.10,
        off_target=(
            (
                "Fewer overpayments are being created as claimants move to Universal Credit, "
                "so recoveries are falling – £12,000 is due from one large case next quarter."
            ),
            "Recovery from ongoing benefit was paused for vulnerable claimants.",
        ),
    ),
    # --- Customer Services & Digital -----------------------------------------------------------
    Indicator(
        "CS01",
        "% of calls answered within 60 seconds",
        "Calls to the contact centre answered within 60 seconds (numerator) as a % of all calls "
        "offered, including abandoned calls (denominator).",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "customer_services",
        WELL_RUN,
        "strategic",
        rag_rule="maidstone_10",
        targets=(80, 80, 80, 80, 85),
        amber_thresholds=(75, 75, 75, 75, 80),
        spread=0.07,
        denominator=42000,
        season=(1.0, 0.95, 0.9, 1.2),
        slump=("2022-23-Q4", "2023-24-Q4"),
        off_target=(
            "Annual billing generated a peak in calls in March.",
            (
                "High sickness in the contact centre; staff from the digital team are "
                "covering the lines at peak times."
            ),
        ),
    ),
    Indicator(
        "CS02",
        "Online self-service transactions",
        "Number of transactions completed through the council's online forms and customer account "
        "in the quarter. Context only.",
        "count",
        NONE,
        QUARTERLY,
        "sum",
        "customer_services",
        WELL_RUN,
        "service",
        decimals=0,
        baseline=(38000, 44000, 51000, 56000, 61000),
        spread=0.05,
        season=(1.0, 1.05, 0.9, 1.15),
    ),
    Indicator(
        "CS03",
        "% of complaints responded to within 10 working days",
        "Stage 1 complaints responded to within 10 working days (numerator) as a % of Stage 1 "
        "complaints closed in the quarter (denominator).",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "customer_services",
        WELL_RUN,
        "service",
        rag_rule="standard",
        targets=(90, 90, 90, 92, 92),
        spread=0.06,
        denominator=165,
        off_target=(
            "A backlog built up in Environmental Services complaints after the round changes.",
            "Complex complaints needing input from several services took longer.",
        ),
    ),
    Indicator(
        "CS04",
        "Complaints upheld by the Local Government and Social Care Ombudsman",
        "Number of complaints about the council upheld by the Ombudsman in the financial year.",
        "count",
        LOWER,
        ANNUAL,
        "sum",
        "customer_services",
        WELL_RUN,
        "service",
        decimals=0,
        rag_rule="absolute_2",
        targets=(3, 3, 3, 3, 3),
        poisson_mean=3.0,
        off_target=(
            (
                "Most upheld cases concerned delays in adult social care financial "
                "assessments; the service has changed its process."
            ),
        ),
    ),
    Indicator(
        "CS05",
        "Customer satisfaction with the contact centre",
        "% of callers surveyed after their call who were satisfied or very satisfied.",
        "percent",
        HIGHER,
        QUARTERLY,
        "mean",
        "customer_services",
        WELL_RUN,
        "service",
        rag_rule="standard",
        targets=(85, 85, 86, 86, 87),
        spread=0.04,
        off_target=(
            "Satisfaction fell with longer waiting times.",
            "Survey sample was small this quarter (112 responses).",
        ),
    ),
    # --- HR, Health & Safety ------------------------------------------------------------------
    Indicator(
        "HR01",
        "Average working days lost to sickness per FTE",
        "Working days lost to sickness absence in the quarter divided by the average full-time "
        "equivalent headcount. The year to date is the sum of the quarters.",
        "days",
        LOWER,
        QUARTERLY,
        "sum",
        "hr",
        WELL_RUN,
        "strategic",
        decimals=2,
        rag_rule="havering_style",
        targets=(2.4, 2.4, 2.35, 2.3, 2.3),
        spread=0.08,
        season=(0.92, 0.9, 1.1, 1.12),
        slump=("2022-23-Q3",),
        off_target=(
            "Seasonal respiratory illness and a rise in stress-related absence.",
            (
                "Long-term absence cases account for over half of days lost; each has an "
                "occupational health plan."
            ),
        ),
    ),
    Indicator(
        "HR02",
        "Number of RIDDOR reportable incidents",
        "Incidents involving council employees reported to the Health and Safety Executive under "
        "RIDDOR in the quarter.",
        "count",
        LOWER,
        QUARTERLY,
        "sum",
        "hr",
        WELL_RUN,
        "service",
        decimals=0,
        rag_rule="absolute_2",
        targets=(0, 0, 0, 0, 0),
        poisson_mean=0.9,
        off_target=(
            "Slips and trips during icy weather at the depot; gritting routine reviewed.",
            "Manual handling injuries in the refuse service; refresher training booked.",
        ),
    ),
    Indicator(
        "HR03",
        "Voluntary staff turnover (rolling 12 months)",
        "Voluntary leavers in the last 12 months as a % of average headcount.",
        "percent",
        LOWER,
        QUARTERLY,
        "last",
        "hr",
        WELL_RUN,
        "service",
        rag_rule="standard",
        targets=(10, 10, 10, 10, 10),
        spread=0.10,
        off_target=(
            "Turnover is highest in social work and planning, where private sector and agency pay is higher.",
        ),
    ),
    Indicator(
        "HR04",
        "Number of apprentices in post",
        "Apprentices employed by the council at quarter end (Apprenticeship Programme).",
        "count",
        HIGHER,
        QUARTERLY,
        "last",
        "hr",
        ECONOMY,
        "programme",
        decimals=0,
        rag_rule="maidstone_10",
        targets=(40, 42, 45, 48, 50),
        spread=0.06,
        season=(0.95, 1.0, 1.05, 1.0),
        off_target=(
            (
                "Several apprentices completed and moved into permanent posts; the next intake "
                "starts in September."
            ),
        ),
    ),
    Indicator(
        "HR05",
        "% of employees with a completed annual appraisal",
        "Employees with an appraisal recorded in the financial year as a % of employees in post "
        "for the whole year.",
        "percent",
        HIGHER,
        ANNUAL,
        "last",
        "hr",
        WELL_RUN,
        "service",
        rag_rule="standard",
        targets=(95, 95, 95, 95, 95),
        spread=0.03,
        off_target=("Completion was lowest in frontline services without easy access to the HR system.",),
    ),
    Indicator(
        "HR06",
        "Mean gender pay gap",
        "Mean hourly pay of men minus that of women, as a % of men's mean hourly pay, at the "
        "31 March snapshot. A negative value means women are paid more on average.",
        "percent",
        LOWER,
        ANNUAL,
        "last",
        "hr",
        WELL_RUN,
        "service",
        min_value=-50,
        max_value=50,
        rag_rule="standard",
        targets=(6.0, 5.5, 5.0, 4.5, 4.0),
        spread=0.12,
        off_target=(
            (
                "The gap reflects more men in senior and craft roles; the pay gap action plan "
                "is being refreshed."
            ),
        ),
    ),
    # --- Adult Social Care ----------------------------------------------------------------
    Indicator(
        "ASC02",
        "Social care-related quality of life impact of services",
        "Adjusted social care-related quality of life impact score from the Adult Social Care "
        "Survey (ASCOF 1J), 0 to 1.",
        "number",
        HIGHER,
        ANNUAL,
        "last",
        "adult_social_care",
        LIVING_WELL,
        "strategic",
        decimals=3,
        min_value=0,
        max_value=1,
        rag_rule="standard",
        benchmark_metric="oflog_asc:ASC2",
        targets=(0.420, 0.430, 0.430, 0.430, 0.435),
        spread=0.02,
        off_target=("Survey responses fell slightly on control over daily life.",),
    ),
    Indicator(
        "ASC03",
        "% of service users who find it easy to find information about services",
        "Adult Social Care Survey respondents who found it easy to find information and advice "
        "about support, services or benefits (ASCOF 3D part 1).",
        "percent",
        HIGHER,
        ANNUAL,
        "last",
        "adult_social_care",
        LIVING_WELL,
        "strategic",
        rag_rule="standard",
        benchmark_metric="oflog_asc:ASC3",
        targets=(70, 70, 72, 73, 74),
        spread=0.03,
        off_target=(
            (
                "Respondents reported difficulty finding information online; the Living Well "
                "Directory has been redesigned."
            ),
        ),
    ),
    Indicator(
        "ASC05",
        "% of new short-term support episodes with no further long-term support",
        "New clients who received short-term support (e.g. reablement) in the year where the "
        "sequel was no ongoing support or support of a lower level (ASCOF 2D).",
        "percent",
        HIGHER,
        ANNUAL,
        "last",
        "adult_social_care",
        LIVING_WELL,
        "strategic",
        rag_rule="standard",
        benchmark_metric="oflog_asc:ASC5",
        targets=(85, 88, 89, 90, 90),
        spread=0.02,
        off_target=("More people leaving hospital with complex needs went on to need long-term care.",),
    ),
    Indicator(
        "ASC07",
        "Adult social care workforce turnover rate",
        "Leavers in the year as a % of staff in post in the independent and council adult social "
        "care sector in Darlington (Skills for Care estimates).",
        "percent",
        LOWER,
        ANNUAL,
        "last",
        "adult_social_care",
        LIVING_WELL,
        "strategic",
        rag_rule="standard",
        benchmark_metric="oflog_asc:ASC7",
        targets=(28, 28, 27, 26, 25),
        spread=0.03,
        off_target=("Care providers report losing staff to retail and hospitality, which pay more.",),
    ),
    Indicator(
        "ASC08",
        "Permanent admissions of older people to residential and nursing care",
        "Council-supported permanent admissions of people aged 65 and over to residential and "
        "nursing care in the quarter, per 100,000 population aged 65+. Year to date is the sum.",
        "number",
        LOWER,
        QUARTERLY,
        "sum",
        "adult_social_care",
        LIVING_WELL,
        "service",
        unit_label="per 100,000 aged 65+",
        rag_rule="havering_style",
        targets=(160, 160, 155, 155, 150),
        spread=0.12,
        season=(0.95, 0.95, 1.05, 1.1),
        slump=("2023-24-Q3", "2023-24-Q4"),
        off_target=(
            "Winter pressures and hospital discharge increased admissions.",
            (
                "More people are being admitted with advanced dementia; a review panel now "
                "checks every placement."
            ),
        ),
    ),
    Indicator(
        "ASC09",
        "% of safeguarding enquiries where risk was reduced or removed",
        "Concluded section 42 enquiries where a risk was identified and the risk was reduced or "
        "removed (numerator), as a % of concluded enquiries where a risk was identified.",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "adult_social_care",
        LIVING_WELL,
        "service",
        rag_rule="standard",
        targets=(90, 90, 90, 91, 91),
        spread=0.04,
        denominator=95,
        off_target=("A small number of cases where the person declined support affects the percentage.",),
    ),
    Indicator(
        "ASC10",
        "People receiving long-term support",
        "Number of people receiving long-term adult social care support at quarter end. Context only.",
        "count",
        NONE,
        QUARTERLY,
        "last",
        "adult_social_care",
        LIVING_WELL,
        "service",
        decimals=0,
        baseline=(1920, 1950, 1985, 2010, 2040),
        spread=0.01,
    ),
    Indicator(
        "ASC11",
        "% of long-term service users reviewed in the year",
        "People receiving long-term support for 12 months or more who had a review in the "
        "financial year to date. Reported cumulatively.",
        "percent",
        HIGHER,
        QUARTERLY,
        "cumulative",
        "adult_social_care",
        LIVING_WELL,
        "service",
        rag_rule="standard",
        targets=(85, 85, 85, 88, 88),
        profile=(20, 40, 60),
        spread=0.05,
        off_target=("Reviewing officers were redeployed to hospital discharge work.",),
    ),
    # --- Housing & Homelessness ----------------------------------------------------------
    Indicator(
        "HS01",
        "Households where homelessness was prevented",
        "Households owed a prevention duty whose duty ended with accommodation secured for "
        "6 months or more, in the quarter.",
        "count",
        HIGHER,
        QUARTERLY,
        "sum",
        "housing",
        HOMES,
        "strategic",
        decimals=0,
        rag_rule="standard",
        targets=(85, 85, 90, 90, 95),
        spread=0.10,
        off_target=(
            "More cases came to us too late to prevent, mainly from the private rented sector.",
            "Fewer affordable private lets are available for prevention.",
        ),
    ),
    Indicator(
        "HS02",
        "Households in temporary accommodation",
        "Households in temporary accommodation arranged by the council on the last night of the quarter.",
        "count",
        LOWER,
        QUARTERLY,
        "last",
        "housing",
        HOMES,
        "strategic",
        decimals=0,
        rag_rule="standard",
        targets=(40, 40, 40, 42, 42),
        amber_thresholds=(46, 46, 46, 48, 48),
        spread=0.10,
        season=(0.95, 0.95, 1.05, 1.1),
        slump=("2023-24-Q3", "2023-24-Q4"),
        off_target=(
            "Demand rose over winter and move-on into settled homes has slowed.",
            (
                "Two large families needed self-contained units; no B&B has been used for "
                "families with children."
            ),
        ),
    ),
    Indicator(
        "HS03",
        "Average days to re-let council homes",
        "Mean calendar days from tenancy end to new tenancy start for standard voids.",
        "days",
        LOWER,
        QUARTERLY,
        "mean",
        "housing",
        HOMES,
        "service",
        rag_rule="standard",
        targets=(28, 28, 28, 27, 27),
        spread=0.10,
        season=(1.0, 1.0, 1.05, 1.05),
        off_target=(
            "Contractor capacity for void repairs was short this quarter.",
            "Several hard-to-let sheltered flats took longer to let.",
        ),
    ),
    Indicator(
        "HS04",
        "% of rent collected from council tenants",
        "Rent collected in the quarter (numerator, £) as a % of rent due in the quarter (denominator, £).",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "housing",
        HOMES,
        "service",
        rag_rule="absolute_2",
        targets=(98.5, 98.5, 98.5, 98.5, 98.5),
        spread=0.005,
        denominator=6_400_000,
        off_target=("Arrears increased as tenants moved to Universal Credit.",),
    ),
    Indicator(
        "HS05",
        "New affordable homes delivered",
        "Affordable homes completed in the quarter (Affordable Homes Programme).",
        "count",
        HIGHER,
        QUARTERLY,
        "sum",
        "housing",
        HOMES,
        "programme",
        decimals=0,
        rag_rule="maidstone_10",
        targets=(30, 30, 30, 35, 35),
        spread=0.20,
        off_target=(
            "Handover of the Neasham Road scheme slipped into next quarter.",
            "Build cost inflation delayed two housing association schemes.",
        ),
    ),
    Indicator(
        "HS06",
        "Long-term empty homes brought back into use",
        "Homes empty for more than six months brought back into use through council action in the quarter.",
        "count",
        HIGHER,
        QUARTERLY,
        "sum",
        "housing",
        HOMES,
        "service",
        decimals=0,
        targets=(25, 25, 25, 25, 25),
        spread=0.15,
        off_target=("Two owners withdrew from the empty homes loan scheme.",),
    ),
    # --- Children's Social Care ----------------------------------------------------------
    Indicator(
        "CSC01",
        "Children looked after per 10,000 children",
        "Children looked after at quarter end per 10,000 children aged 0 to 17. Context only.",
        "number",
        NONE,
        QUARTERLY,
        "last",
        "childrens_social_care",
        CHILDREN_YP,
        "service",
        unit_label="per 10,000 aged 0-17",
        baseline=(108, 112, 115, 113, 110),
        spread=0.02,
    ),
    Indicator(
        "CSC02",
        "% of child and family assessments completed within 45 working days",
        "Assessments completed within 45 working days of referral (numerator) as a % of "
        "assessments completed in the quarter (denominator).",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "childrens_social_care",
        CHILDREN_YP,
        "strategic",
        rag_rule="standard",
        targets=(90, 90, 90, 90, 90),
        spread=0.05,
        denominator=420,
        slump=("2024-25-Q1", "2024-25-Q2"),
        off_target=(
            "Social worker vacancies in the assessment teams; agency staff are covering.",
            "A rise in referrals after the summer holidays stretched capacity.",
        ),
    ),
    Indicator(
        "CSC03",
        "% of referrals that were re-referrals within 12 months",
        "Referrals in the quarter for children referred in the previous 12 months (numerator) as a "
        "% of all referrals (denominator).",
        "percent",
        LOWER,
        QUARTERLY,
        "ratio",
        "childrens_social_care",
        CHILDREN_YP,
        "service",
        rag_rule="standard",
        targets=(20, 20, 20, 19, 19),
        spread=0.12,
        denominator=380,
        off_target=(
            "Audit found some cases were closed too early; step-down to early help is being strengthened.",
        ),
    ),
    Indicator(
        "CSC04",
        "% of children looked after with 3 or more placements in the year",
        "Children looked after at quarter end who had three or more placements in the previous 12 months.",
        "percent",
        LOWER,
        QUARTERLY,
        "last",
        "childrens_social_care",
        CHILDREN_YP,
        "service",
        rag_rule="havering_style",
        targets=(10, 10, 10, 9, 9),
        spread=0.14,
        off_target=("A shortage of local foster placements for teenagers led to moves.",),
    ),
    Indicator(
        "CSC05",
        "Children subject to a child protection plan",
        "Number of children subject to a child protection plan at quarter end. Context only.",
        "count",
        NONE,
        QUARTERLY,
        "last",
        "childrens_social_care",
        CHILDREN_YP,
        "service",
        decimals=0,
        baseline=(150, 165, 140, 130, 135),
        spread=0.05,
    ),
    Indicator(
        "CSC06",
        "% of care leavers aged 19-21 in education, employment or training",
        "Care leavers aged 19 to 21 in education, employment or training at quarter end.",
        "percent",
        HIGHER,
        QUARTERLY,
        "last",
        "childrens_social_care",
        CHILDREN_YP,
        "strategic",
        rag_rule="standard",
        targets=(55, 55, 58, 60, 60),
        spread=0.08,
        off_target=(
            (
                "Several young people finished college courses in the summer and are looking "
                "for work with support from their personal advisers."
            ),
        ),
    ),
    Indicator(
        "CSC07",
        "In-house foster carer households",
        "Approved in-house foster carer households at quarter end (Fostering Recruitment Programme).",
        "count",
        HIGHER,
        QUARTERLY,
        "last",
        "childrens_social_care",
        CHILDREN_YP,
        "programme",
        decimals=0,
        rag_rule="standard",
        targets=(95, 98, 100, 105, 110),
        spread=0.04,
        off_target=("Five households retired this year; 12 assessments are under way.",),
    ),
    Indicator(
        "CSC08",
        "Families supported through Family Hubs",
        "Families receiving a service through a Family Hub in the quarter (Family Hubs "
        "Programme). New indicator from 2023-24.",
        "count",
        HIGHER,
        QUARTERLY,
        "sum",
        "childrens_social_care",
        CHILDREN_YP,
        "programme",
        decimals=0,
        rag_rule="standard",
        active_from="2023-24-Q1",
        targets=(None, None, 300, 350, 400),
        spread=0.10,
        season=(0.85, 1.1, 1.0, 1.05),
        off_target=("The new hub in the north of the borough opened later than planned.",),
    ),
    # --- Education & Inclusion -----------------------------------------------------------
    Indicator(
        "ED01",
        "% of families offered their first-preference secondary school",
        "Applicants on national offer day offered a place at their first-preference secondary school.",
        "percent",
        HIGHER,
        ANNUAL,
        "last",
        "education",
        CHILDREN_YP,
        "service",
        rag_rule="standard",
        targets=(92, 92, 92, 92, 92),
        spread=0.03,
        off_target=("A bulge year group increased demand for the two most popular schools.",),
    ),
    Indicator(
        "ED02",
        "% of new EHC plans issued within 20 weeks",
        "New education, health and care plans issued within 20 weeks, excluding exceptions "
        "(numerator), as a % of new plans issued in the quarter (denominator).",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "education",
        CHILDREN_YP,
        "strategic",
        rag_rule="standard",
        targets=(60, 60, 60, 60, 60),
        amber_thresholds=(50, 50, 50, 50, 50),
        spread=0.15,
        denominator=45,
        slump=("2022-23-Q1", "2022-23-Q2", "2022-23-Q3"),
        off_target=(
            (
                "Educational psychology capacity is the main cause of delay; locum "
                "psychologists have been commissioned."
            ),
            "Requests for assessment rose by a third on last year.",
        ),
    ),
    Indicator(
        "ED03",
        "% of 16-17 year olds NEET or whose activity is not known",
        "Young people aged 16 and 17 not in education, employment or training, or whose activity "
        "is not known, as a % of the cohort.",
        "percent",
        LOWER,
        QUARTERLY,
        "mean",
        "education",
        CHILDREN_YP,
        "service",
        rag_rule="standard",
        targets=(5.5, 5.5, 5.2, 5.0, 5.0),
        spread=0.10,
        season=(0.95, 1.0, 1.3, 0.95),
        off_target=(
            "Activity is not known for many young people each autumn until college enrolments are confirmed.",
        ),
    ),
    Indicator(
        "ED04",
        "Number of permanent exclusions",
        "Permanent exclusions from Darlington schools in the quarter.",
        "count",
        LOWER,
        QUARTERLY,
        "sum",
        "education",
        CHILDREN_YP,
        "service",
        decimals=0,
        rag_rule="maidstone_10",
        targets=(4, 4, 4, 4, 4),
        poisson_mean=4.0,
        off_target=(
            (
                "Exclusions were concentrated in two secondary schools; the inclusion panel is "
                "working with both."
            ),
        ),
    ),
    Indicator(
        "ED05",
        "% of schools judged Good or Outstanding",
        "Schools whose latest Ofsted judgement is Good or Outstanding at quarter end.",
        "percent",
        HIGHER,
        QUARTERLY,
        "last",
        "education",
        CHILDREN_YP,
        "service",
        rag_rule="standard",
        targets=(88, 88, 89, 90, 90),
        spread=0.025,
        off_target=("Two primary schools were judged Requires Improvement this term.",),
    ),
    # --- Waste & Street Scene ------------------------------------------------------------
    Indicator(
        "WM01",
        "Household waste recycling rate",
        "Household waste sent for reuse, recycling or composting as a % of household waste "
        "collected (DEFRA ENV18 / WasteDataFlow).",
        "percent",
        HIGHER,
        ANNUAL,
        "last",
        "waste",
        ENVIRONMENT,
        "strategic",
        rag_rule="standard",
        benchmark_metric="oflog_waste:Household waste recycling rate",
        targets=(35, 35, 34, 35, 36),
        spread=0.04,
        off_target=(
            "Garden waste tonnage fell in the dry summer and the new charge reduced take-up.",
            "Contaminated loads rejected at the materials recovery facility reduced the rate.",
        ),
    ),
    Indicator(
        "WM02",
        "Residual household waste per household",
        "Household waste not sent for reuse, recycling or composting, in kg per household per "
        "year (DEFRA ENV18 / WasteDataFlow).",
        "number",
        LOWER,
        ANNUAL,
        "last",
        "waste",
        ENVIRONMENT,
        "strategic",
        unit_label="kg per household",
        rag_rule="standard",
        benchmark_metric="oflog_waste:Residual household waste",
        targets=(580, 580, 570, 565, 560),
        spread=0.02,
        off_target=("More waste was produced at home while people worked from home.",),
    ),
    Indicator(
        "WM03",
        "Recycling contamination rate",
        "Collected dry recycling rejected as contaminated, as a % of dry recycling collected.",
        "percent",
        LOWER,
        ANNUAL,
        "last",
        "waste",
        ENVIRONMENT,
        "strategic",
        rag_rule="standard",
        benchmark_metric="oflog_waste:Recycling contamination rate",
        targets=(9.0, 8.0, 7.0, 6.5, 6.5),
        spread=0.08,
        off_target=(
            "Food and textiles in recycling bins remain the main contaminants; crews are tagging bins.",
        ),
    ),
    Indicator(
        "WM04",
        "Missed bin collections per 100,000 collections",
        "Missed collections reported and confirmed, per 100,000 scheduled collections.",
        "number",
        LOWER,
        QUARTERLY,
        "mean",
        "waste",
        ENVIRONMENT,
        "service",
        rag_rule="standard",
        targets=(60, 60, 55, 55, 50),
        spread=0.12,
        season=(1.0, 1.0, 1.2, 1.05),
        slump=("2022-23-Q3",),
        off_target=(
            "Snow in December and crew sickness disrupted rounds.",
            "Route changes in the first weeks of the new rounds caused missed streets.",
        ),
    ),
    Indicator(
        "WM05",
        "% of fly-tipping incidents removed within 5 working days",
        "Reported fly-tipping incidents on public land cleared within 5 working days (numerator) "
        "as a % of incidents reported (denominator).",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "waste",
        ENVIRONMENT,
        "service",
        rag_rule="absolute_2",
        targets=(95, 95, 95, 96, 96),
        spread=0.03,
        denominator=620,
        season=(1.1, 1.15, 0.9, 0.85),
        off_target=("Large incidents needing specialist removal took longer.",),
    ),
    Indicator(
        "WM06",
        "Household waste collected",
        "Tonnes of household waste collected at the kerbside and household waste recycling "
        "centres in the quarter. Context only.",
        "number",
        NONE,
        QUARTERLY,
        "sum",
        "waste",
        ENVIRONMENT,
        "service",
        unit_label="tonnes",
        decimals=0,
        baseline=(12400, 12100, 11900, 11800, 11700),
        spread=0.03,
        season=(1.05, 1.1, 0.95, 0.9),
    ),
    Indicator(
        "WM07",
        "% of streets meeting the litter standard",
        "Streets surveyed meeting grade B or better for litter in the local environmental quality "
        "survey. Retired after 2023-24 when the survey ended.",
        "percent",
        HIGHER,
        QUARTERLY,
        "mean",
        "waste",
        ENVIRONMENT,
        "service",
        rag_rule="standard",
        active_to="2023-24-Q4",
        targets=(92, 92, 92, None, None),
        spread=0.03,
        off_target=("Litter levels were worse around the town centre late-night economy.",),
    ),
    # --- Planning & Building Control -----------------------------------------------------
    Indicator(
        "PL01",
        "% of major planning applications decided in time",
        "Major applications decided within 13 weeks or an agreed extension (numerator) as a % "
        "of major applications decided in the quarter (denominator).",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "planning",
        ECONOMY,
        "strategic",
        targets=(85, 85, 85, 85, 85),
        spread=0.10,
        denominator=7,
        slump=("2023-24-Q4",),
        off_target=(
            (
                "One complex application needed a section 106 agreement that took longer than "
                "the agreed extension."
            ),
        ),
    ),
    Indicator(
        "PL02",
        "% of non-major planning applications decided in time",
        "Minor and other applications decided within 8 weeks or an agreed extension (numerator) "
        "as a % of those decided in the quarter (denominator).",
        "percent",
        HIGHER,
        QUARTERLY,
        "ratio",
        "planning",
        ECONOMY,
        "service",
        rag_rule="standard",
        targets=(85, 85, 85, 88, 88),
        spread=0.05,
        denominator=180,
        off_target=("Two planning officer vacancies; agency cover started mid-quarter.",),
    ),
    Indicator(
        "PL03",
        "Planning applications received",
        "Number of planning applications received in the quarter. Context only.",
        "count",
        NONE,
        QUARTERLY,
        "sum",
        "planning",
        ECONOMY,
        "service",
        decimals=0,
        baseline=(310, 290, 270, 265, 260),
        spread=0.06,
        season=(1.05, 1.05, 0.9, 1.0),
    ),
    Indicator(
        "PL04",
        "% of planning appeals allowed",
        "Appeals against the council's planning decisions allowed by the Planning Inspectorate "
        "(numerator) as a % of appeal decisions in the quarter (denominator).",
        "percent",
        LOWER,
        QUARTERLY,
        "ratio",
        "planning",
        ECONOMY,
        "service",
        rag_rule="havering_style",
        targets=(35, 35, 35, 35, 35),
        spread=0.25,
        denominator=8,
        off_target=("Inspectors gave more weight to housing supply than to design concerns.",),
    ),
    # --- Economic Growth & Regeneration --------------------------------------------------
    Indicator(
        "EG01",
        "Jobs created or safeguarded with council support",
        "Jobs created or safeguarded by businesses receiving council grants or business support "
        "in the quarter (Towns Fund programme).",
        "count",
        HIGHER,
        QUARTERLY,
        "sum",
        "economic_growth",
        ECONOMY,
        "programme",
        decimals=0,
        rag_rule="maidstone_10",
        targets=(60, 60, 65, 65, 70),
        spread=0.15,
        slump=("2024-25-Q2", "2024-25-Q3"),
        off_target=("Two inward investment projects were delayed by the investors.",),
    ),
    Indicator(
        "EG02",
        "Town centre vacancy rate",
        "Vacant ground-floor commercial units in the town centre as a % of all units, at quarter end.",
        "percent",
        LOWER,
        QUARTERLY,
        "last",
        "economic_growth",
        ECONOMY,
        "strategic",
        rag_rule="standard",
        targets=(16, 16, 15, 15, 14),
        spread=0.05,
        off_target=("Closure of two national chains on High Row.",),
    ),
    Indicator(
        "EG03",
        "Town centre footfall",
        "Pedestrian counts from the town centre footfall cameras in the quarter. Context only.",
        "count",
        NONE,
        QUARTERLY,
        "sum",
        "economic_growth",
        ECONOMY,
        "service",
        decimals=0,
        baseline=(1_350_000, 1_450_000, 1_480_000, 1_500_000, 1_520_000),
        spread=0.03,
        season=(0.98, 1.05, 1.15, 0.85),
    ),
    Indicator(
        "EG04",
        "External funding secured for regeneration",
        "Value in pounds of external grant funding awarded for regeneration schemes in the financial year.",
        "currency",
        HIGHER,
        ANNUAL,
        "sum",
        "economic_growth",
        ECONOMY,
        "programme",
        unit_label="£",
        decimals=0,
        rag_rule="maidstone_10",
        targets=(4_000_000, 5_000_000, 6_000_000, 5_000_000, 5_000_000),
        spread=0.20,
        off_target=("The Levelling Up Fund round was delayed nationally.",),
    ),
)

INDICATOR_BY_CODE = {i.code: i for i in INDICATORS}

# Target set-on dates: the Council meeting that approved the Council Plan targets each year.
TARGET_SET_ON = {
    "2021-22": "2021-03-10",
    "2022-23": "2022-03-09",
    "2023-24": "2023-03-08",
    "2024-25": "2024-03-13",
    "2025-26": "2025-03-12",
}
# In-year target changes: (code, year, quarter, target, amber_threshold, set_on, reason).
TARGET_REVISIONS = (
    (
        "CS01",
        "2024-25",
        "",
        85,
        80,
        "2024-10-15",
        "Revised at Q2 review after Cabinet agreed new service standard",
    ),
    (
        "ED02",
        "2025-26",
        "",
        50,
        40,
        "2025-07-22",
        (
            "Revised at Q1 review: Cabinet agreed an interim target while the educational psychology "
            "recovery plan is delivered"
        ),
    ),
)

RAG_RULES = """\
# RAG tolerance rules. indicators.csv names one per indicator (column rag_rule); blank = standard.
# Tolerances are fractions of the target ("relative") or amounts in the indicator's own units
# ("absolute"); "within" means missed by no more than that.

[standard]
description = "Green when on or better than target; amber when missed by no more than 5% of the target; red otherwise."
green_within = 0.0
amber_within = 0.05
tolerance_type = "relative"

[havering_style]
description = "Green when within 10% of target; further off than that, amber if better than the same quarter last year, otherwise red."
green_within = 0.10
amber_within = 0.10
amber_if_improved = true
tolerance_type = "relative"

[maidstone_10]
description = "Green when on or better than target; amber when missed by no more than 10% of the target; red otherwise."
green_within = 0.0
amber_within = 0.10
tolerance_type = "relative"

[absolute_2]
description = "Green when on or better than target; amber when missed by no more than 2 in the indicator's own units (2 incidents, 2 percentage points); red otherwise."
green_within = 0.0
amber_within = 2.0
tolerance_type = "absolute"
"""

# ---------------------------------------------------------------------------------------------
# Real published figures
# ---------------------------------------------------------------------------------------------


def load_real_figures(shared: Path) -> dict[tuple[str, str], str]:
    """Darlington's published value per (benchmark_metric, financial year), as written."""
    figures: dict[tuple[str, str], str] = {}
    waste = json.loads((shared / "oflog-waste" / "testData.json").read_text(encoding="utf-8"))
    for record in waste["flatMetricData"]:
        if record["areaCode"] == COUNCIL_GSS:
            figures[(f"oflog_waste:{record['metric']}", record["xLabel"])] = record["y"]
    with open(shared / "oflog-asc" / "ASC_data.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Local authority code"] == COUNCIL_GSS and row["Value"]:
                figures[(f"oflog_asc:{row['Code']}", row["Financial year"])] = row["Value"]
    return figures


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------


def fmt_number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def target_rows() -> list[dict[str, str]]:
    """targets.csv: the Council Plan targets each year, profiled where cumulative, plus revisions."""
    rows = []
    for ind in INDICATORS:
        if ind.polarity == NONE:
            continue
        ambers = ind.amber_thresholds or (None,) * len(YEARS)
        for year, annual, amber_value in zip(YEARS, ind.targets, ambers, strict=True):
            if annual is None:
                continue
            amber = "" if amber_value is None else str(amber_value)
            base = {"code": ind.code, "year": year, "amber_threshold": amber, "set_on": TARGET_SET_ON[year]}
            if ind.profile:
                for n, value in enumerate((*ind.profile, annual), start=1):
                    rows.append(
                        {
                            **base,
                            "quarter": f"Q{n}",
                            "target": str(value),
                            "reason": f"Council Plan {year} target, profiled by quarter",
                        }
                    )
            else:
                rows.append(
                    {
                        **base,
                        "quarter": "",
                        "target": str(annual),
                        "reason": f"Council Plan {year} annual target",
                    }
                )
    for code, year, quarter, target, amber, set_on, reason in TARGET_REVISIONS:
        rows.append(
            {
                "code": code,
                "year": year,
                "quarter": quarter,
                "target": str(target),
                "amber_threshold": str(amber),
                "set_on": set_on,
                "reason": reason,
            }
        )
    return rows


def target_lookup(rows: list[dict[str, str]]) -> dict[tuple[str, str], float]:
    """The target in force for (code, quarter key): latest set_on wins, a quarter beats blank."""
    found: dict[tuple[str, str], tuple[tuple[int, str], float]] = {}
    for row in rows:
        quarters = [row["quarter"]] if row["quarter"] else ["Q1", "Q2", "Q3", "Q4"]
        rank = (1 if row["quarter"] else 0, row["set_on"])
        for q in quarters:
            key = (row["code"], f"{row['year']}-{q}")
            if key not in found or rank >= found[key][0]:
                found[key] = (rank, float(row["target"]))
    return {key: value for key, (_, value) in found.items()}


# ---------------------------------------------------------------------------------------------
# Figures: what each service "really" achieved each quarter
# ---------------------------------------------------------------------------------------------


@dataclass
class Figure:
    value: float | None
    numerator: int | None = None
    denominator: int | None = None
    text: str = ""  # the value exactly as published, for real figures

    def value_text(self, decimals: int) -> str:
        if self.text:
            return self.text
        return "" if self.value is None else fmt_number(self.value, decimals)


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def clamp(ind: Indicator, value: float) -> float:
    low = ind.min_value if ind.min_value is not None else 0.0
    high = ind.max_value if ind.max_value is not None else (100.0 if ind.unit == "percent" else None)
    value = max(low, value)
    return min(high, value) if high is not None else value


def generate_figures(
    ind: Indicator, targets: dict[tuple[str, str], float], real: dict[tuple[str, str], str]
) -> dict[str, Figure]:
    """One figure per quarter the indicator is due, near target with persistent swings."""
    rng = random.Random(f"{SEED}:{ind.code}")
    sign = -1.0 if ind.polarity == LOWER else 1.0
    figures: dict[str, Figure] = {}
    state = 0.0
    year_dev = 0.0
    for quarter in QUARTERS:
        # Performance drifts (AR(1)) so good and bad spells last a few quarters.
        state = 0.55 * state + rng.gauss(0, ind.spread * 0.85)
        if quarter.number == 1:
            year_dev = rng.gauss(ind.spread * 0.2, ind.spread)
        if not ind.due_in(quarter):
            continue
        season = ind.season[quarter.number - 1]
        performance = state + ind.spread * 0.3
        if quarter.key in ind.slump:
            performance -= max(3 * ind.spread, 0.12)
        year_index = YEARS.index(quarter.year)

        if ind.polarity == NONE:
            value = ind.baseline[year_index] * season * (1 + rng.gauss(0, ind.spread))
            figures[quarter.key] = Figure(round(clamp(ind, value), ind.decimals))
            continue

        target = targets[(ind.code, quarter.key)]
        if ind.poisson_mean:
            figures[quarter.key] = Figure(float(poisson(rng, ind.poisson_mean * season)))
        elif ind.ytd_method == "cumulative":
            dev = year_dev + rng.gauss(0, ind.spread / 3)
            figures[quarter.key] = Figure(round(clamp(ind, target * (1 + dev)), ind.decimals))
        elif ind.ytd_method == "ratio":
            rate = clamp(ind, target * (1 + sign * performance))
            den = max(1, round(ind.denominator * season * (1 + rng.gauss(0, 0.08))))
            num = min(den, max(0, round(rate / 100 * den)))
            figures[quarter.key] = Figure(round(100 * num / den, ind.decimals), num, den)
        else:
            value = clamp(ind, target * season * (1 + sign * performance))
            figures[quarter.key] = Figure(round(value, ind.decimals))

        if ind.benchmark_metric and quarter.number == 4 and quarter.year in REAL_YEARS:
            published = real.get((ind.benchmark_metric, quarter.year))
            if published is None:
                raise SystemExit(f"No published {ind.benchmark_metric} for {quarter.year}")
            figures[quarter.key] = Figure(float(published), text=published)
    return figures


def is_off_target(ind: Indicator, figure: Figure, target: float) -> bool:
    if figure.value is None or ind.polarity == NONE:
        return False
    return figure.value < target if ind.polarity == HIGHER else figure.value > target


ACTIONS = (
    "A recovery plan has been agreed with the Head of Service.",
    "We expect to be back on target next quarter.",
    "Progress is monitored weekly at the service performance clinic.",
    "",
)
ON_TARGET_NOTES = ("On track.", "Performance remains ahead of target.", "Good quarter.")


def commentary_for(ind: Indicator, figure: Figure, target: float | None, rng: random.Random) -> str:
    """What the service writes: usually an explanation when off target, sometimes nothing."""
    if ind.polarity == NONE:
        return ""
    if target is not None and is_off_target(ind, figure, target):
        if not ind.off_target or rng.random() < 0.12:
            return ""  # services do forget
        return " ".join(filter(None, (rng.choice(ind.off_target), rng.choice(ACTIONS))))
    return rng.choice(ON_TARGET_NOTES) if rng.random() < 0.12 else ""


# ---------------------------------------------------------------------------------------------
# Returns: rows and files as each service sends them
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    code: str = ""
    period: str = ""
    value: str = ""
    numerator: str = ""
    denominator: str = ""
    commentary: str = ""
    status: str = ""
    submitted_by: str = ""
    problem: str = ""  # deliberate problem, for the README table
    outcome: str = ""  # expected reason code or result
    blank: bool = False


@dataclass(frozen=True)
class Style:
    """How one service writes its return in a given period."""

    fmt: str  # csv-utf8, csv-utf8-bom, csv-cp1252, xlsx
    filename: str  # template over Quarter.names()
    headers: tuple[tuple[str, str], ...]  # (canonical column, the service's header)
    period: str = "blank"  # blank, slash (2025/26 Q2) or dash (2025-26-Q2)
    titles: tuple[str, ...] = ()  # xlsx title rows above the header
    gap_after_titles: bool = True
    sheet: str = "Return"
    status_case: str = "lower"  # lower or title


def cols(*pairs: str) -> tuple[tuple[str, str], ...]:
    """cols('indicator_code=PI Code', ...) -> (('indicator_code', 'PI Code'), ...)."""
    return tuple(tuple(p.split("=", 1)) for p in pairs)  # type: ignore[misc]


FULL_CANONICAL = cols(
    "indicator_code=indicator_code",
    "period=period",
    "value=value",
    "commentary=commentary",
    "status=status",
    "submitted_by=submitted_by",
)

# Each service's style over time: (first quarter it applies from, style).
STYLES: dict[str, tuple[tuple[str, Style], ...]] = {
    "revenues_benefits": (
        ("2021-22-Q1", Style("csv-cp1252", "revs_bens_q{n}_{fy_short}.csv", FULL_CANONICAL)),
    ),
    "customer_services": (
        (
            "2021-22-Q1",
            Style(
                "csv-utf8",
                "Customer Services PIs {fy} Q{n}.csv",
                cols(
                    "indicator_code=Code",
                    "period=Quarter",
                    "value=Actual",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Comments",
                    "status=Status",
                    "submitted_by=submitted-by",
                ),
                period="slash",
            ),
        ),
    ),
    "hr": (
        (
            "2021-22-Q1",
            Style(
                "xlsx",
                "HR and H&S KPIs Q{n} {yy}.xlsx",
                cols(
                    "indicator_code=PI Code",
                    "period=Period",
                    "value=Value",
                    "commentary=Comments",
                    "status=Status",
                    "submitted_by=Submitted By",
                ),
                titles=("HR & Health and Safety KPIs – {fy_slash} Q{n}",),
                gap_after_titles=False,
                sheet="KPIs",
                status_case="title",
            ),
        ),
    ),
    "adult_social_care": (
        (
            "2021-22-Q1",
            Style(
                "csv-utf8-bom",
                "ASC KPIs - Q{n}.csv",
                cols(
                    "indicator_code=Indicator Code",
                    "period=Period",
                    "value=Value",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Commentary",
                    "status=Status",
                    "submitted_by=Submitted By",
                ),
                period="dash",
            ),
        ),
        (
            "2024-25-Q1",
            Style(
                "xlsx",
                "ASC KPIs - Q{n} {fy}.xlsx",
                cols(
                    "indicator_code=Indicator Code",
                    "period=Period",
                    "value=Value",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Commentary",
                    "status=Status",
                    "submitted_by=Submitted By",
                ),
                period="dash",
                titles=("Darlington BC – Adult Social Care quarterly return", "Quarter {n} {fy_slash}"),
                status_case="title",
            ),
        ),
    ),
    "housing": (
        (
            "2021-22-Q1",
            Style(
                "csv-cp1252",
                "Housing_Q{n}_{fy}.csv",
                cols(
                    "indicator_code=PI_Code",
                    "period=Period",
                    "value=Actual",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Commentary",
                    "status=Status",
                    "submitted_by=Submitted_By",
                ),
                period="slash",
            ),
        ),
        (
            "2023-24-Q1",
            Style(
                "csv-utf8",
                "Housing_Q{n}_{fy}.csv",
                cols(
                    "indicator_code=PI_Code",
                    "period=Period",
                    "value=Actual",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Commentary",
                    "status=Status",
                    "submitted_by=Submitted_By",
                ),
                period="slash",
            ),
        ),
    ),
    "childrens_social_care": (
        (
            "2021-22-Q1",
            Style(
                "xlsx",
                "Childrens Social Care performance Q{n} {fy}.xlsx",
                cols(
                    "indicator_code=Indicator code",
                    "period=Period",
                    "value=Value",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Commentary",
                    "status=Status",
                    "submitted_by=Submitted by",
                ),
                titles=(
                    "Darlington Borough Council – Children's Services",
                    "Children's Social Care performance return, Quarter {n} {fy_slash}",
                ),
            ),
        ),
    ),
    "education": (
        (
            "2021-22-Q1",
            Style(
                "csv-utf8",
                "education_kpis_{fy}_q{n}.csv",
                cols(
                    "indicator_code=indicator code",
                    "period=quarter",
                    "value=value",
                    "numerator=numerator",
                    "denominator=denominator",
                    "commentary=comments",
                    "submitted_by=submitted by",
                ),
                period="dash",
            ),
        ),
    ),
    "waste": (
        (
            "2021-22-Q1",
            Style(
                "xlsx",
                "Waste return Q{n} {fy}.xlsx",
                cols(
                    "indicator_code=PI Code",
                    "period=Period",
                    "value=Actual",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Comments",
                    "status=Status",
                    "submitted_by=Submitted By",
                ),
                period="slash",
                titles=(
                    "Darlington Borough Council",
                    "Waste & Street Scene performance return – Quarter {n} {fy_slash}",
                ),
                status_case="title",
            ),
        ),
    ),
    "planning": (
        (
            "2021-22-Q1",
            Style(
                "csv-utf8-bom",
                "Planning PIs Q{n} {fy}.csv",
                cols(
                    "indicator_code=Code",
                    "period=Period",
                    "value=Value",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Commentary",
                    "submitted_by=Submitted By",
                ),
            ),
        ),
        (
            "2024-25-Q1",
            Style(
                "xlsx",
                "Planning PIs Q{n} {fy}.xlsx",
                cols(
                    "indicator_code=Code",
                    "period=Period",
                    "value=Value",
                    "numerator=Numerator",
                    "denominator=Denominator",
                    "commentary=Commentary",
                    "submitted_by=Submitted By",
                ),
                titles=("Planning & Building Control – quarterly PIs {fy_slash} Q{n}",),
                sheet="Q{n} return",
            ),
        ),
    ),
    "economic_growth": (
        (
            "2021-22-Q1",
            Style(
                "xlsx",
                "Economy return {fy} Q{n}.xlsx",
                cols(
                    "indicator_code=INDICATOR CODE",
                    "period=PERIOD",
                    "value=ACTUAL",
                    "commentary=COMMENTS",
                    "status=STATUS",
                    "submitted_by=SUBMITTED BY",
                ),
                period="dash",
                sheet="Sheet1",
                status_case="title",
            ),
        ),
    ),
}

# Waste sends its tonnage-based figures separately from 2022-23; ASC sends ASCOF outturns
# separately at year end.
WASTE_TONNAGE = Style(
    "csv-utf8-bom",
    "Waste tonnages Q{n} {fy}.csv",
    cols(
        "indicator_code=Code",
        "period=Period",
        "value=Value",
        "commentary=Commentary",
        "status=Status",
        "submitted_by=Submitted By",
    ),
)
ASCOF_OUTTURN = Style(
    "xlsx",
    "ASCOF outturn {fy}.xlsx",
    cols(
        "indicator_code=Indicator Code",
        "period=Period",
        "value=Value",
        "commentary=Commentary",
        "status=Status",
        "submitted_by=Submitted By",
    ),
    titles=("Darlington BC – Adult Social Care Outcomes Framework", "Outturn {fy_slash}"),
    sheet="ASCOF",
    status_case="title",
)


@dataclass
class ReturnFile:
    quarter: Quarter
    service: str
    style: Style
    rows: list[Row] = field(default_factory=list)
    name_override: str = ""
    # "valid", "text_as_xlsx" (not a workbook at all) or "truncated"
    damage: str = "valid"
    problem: str = ""  # file-level deliberate problem
    outcome: str = ""

    @property
    def name(self) -> str:
        return self.name_override or self.style.filename.format(**self.quarter.names())

    @property
    def path(self) -> str:
        return f"{self.quarter.key}/{self.name}"


def style_for(service: str, quarter: Quarter) -> Style:
    chosen = None
    for first, style in STYLES[service]:
        if quarter >= Quarter.parse(first):
            chosen = style
    assert chosen is not None
    return chosen


def period_text(style: Style, quarter: Quarter) -> str:
    return {"blank": "", "slash": quarter.slash, "dash": quarter.key}[style.period]


def status_text(style: Style, status: str) -> str:
    return status.title() if style.status_case == "title" else status


def build_returns(
    figures: dict[str, dict[str, Figure]], targets: dict[tuple[str, str], float]
) -> list[ReturnFile]:
    """Clean returns: every due indicator, in each service's own file layout."""
    files = []
    for quarter in QUARTERS:
        for service in SERVICES:
            rng = random.Random(f"{SEED}:{quarter.key}:{service.slug}")
            main = ReturnFile(quarter, service.slug, style_for(service.slug, quarter))
            extra: ReturnFile | None = None
            if service.slug == "waste" and quarter.start_year >= 2022:
                extra = ReturnFile(quarter, service.slug, WASTE_TONNAGE)
            if service.slug == "adult_social_care" and quarter.number == 4:
                extra = ReturnFile(quarter, service.slug, ASCOF_OUTTURN)
            for ind in INDICATORS:
                if ind.service != service.slug or not ind.due_in(quarter):
                    continue
                target = targets.get((ind.code, quarter.key))
                figure = figures[ind.code][quarter.key]
                goes_extra = extra is not None and (
                    ind.code in ("WM01", "WM02", "WM06")
                    if service.slug == "waste"
                    else ind.frequency == ANNUAL
                )
                into = extra if goes_extra else main
                assert into is not None
                value = figure.value_text(ind.decimals)
                row = Row(
                    code=ind.code,
                    period=period_text(into.style, quarter),
                    value=value,
                    commentary=commentary_for(ind, figure, target, rng),
                    status=status_text(into.style, "final") if _has(into.style, "status") else "",
                    submitted_by=service.owner,
                )
                if ind.ytd_method == "ratio":
                    row.numerator = str(figure.numerator)
                    row.denominator = str(figure.denominator)
                    if rng.random() < 0.4:
                        row.value = ""  # derived by the pipeline from numerator/denominator
                into.rows.append(row)
            files.append(main)
            if extra is not None:
                files.append(extra)
    return files


def _has(style: Style, column: str) -> bool:
    return any(canonical == column for canonical, _ in style.headers)


# ---------------------------------------------------------------------------------------------
# Deliberate problems
# ---------------------------------------------------------------------------------------------


class Returns:
    """The quarter's files, with helpers to find the rows the problems are planted in."""

    def __init__(self, files: list[ReturnFile]):
        self.files = files

    def file(self, quarter: str, service: str, name_part: str = "") -> ReturnFile:
        matches = [
            f for f in self.files if f.quarter.key == quarter and f.service == service and name_part in f.name
        ]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} files for {quarter} {service} {name_part!r}")
        return matches[0]

    def row(self, quarter: str, service: str, code: str, name_part: str = "") -> Row:
        rows = [
            r
            for f in self.files
            if f.quarter.key == quarter and f.service == service and name_part in f.name
            for r in f.rows
            if r.code == code
        ]
        if len(rows) != 1:
            raise LookupError(f"{len(rows)} rows for {code} in {quarter} {service}")
        return rows[0]

    def drop(self, quarter: str, service: str) -> None:
        self.files = [f for f in self.files if not (f.quarter.key == quarter and f.service == service)]


def mark(row: Row, problem: str, outcome: str) -> Row:
    row.problem, row.outcome = problem, outcome
    return row


def revised(figures: dict[str, dict[str, Figure]], code: str, quarter: str, delta: float) -> str:
    ind = INDICATOR_BY_CODE[code]
    return fmt_number(figures[code][quarter].value + delta, ind.decimals)


def plant_problems(returns: Returns, figures: dict[str, dict[str, Figure]]) -> None:
    """The real-world mess the pipeline must handle, each at a known file and row."""
    r = returns

    # Mistyped indicator codes.
    mark(
        r.row("2022-23-Q3", "waste", "WM04"),
        "Mistyped code (letter l for digit 1 in WM04)",
        "unknown_indicator",
    ).code = "WM0l"
    mark(
        r.row("2024-25-Q2", "adult_social_care", "ASC09"),
        "Mistyped code (ASC-09 for ASC09)",
        "unknown_indicator",
    ).code = "ASC-09"
    mark(
        r.row("2025-26-Q2", "revenues_benefits", "RB04"), "Mistyped code (RB4 for RB04)", "unknown_indicator"
    ).code = "RB4"

    # Numbers written the way people type them: accepted, read as numbers.
    row = r.row("2023-24-Q2", "customer_services", "CS05")
    mark(row, f"Value written with a % sign ({row.value}%)", "accepted").value += "%"
    row = r.row("2025-26-Q2", "customer_services", "CS01")
    row.value = fmt_number(figures["CS01"]["2025-26-Q2"].value, 1) + "%"
    mark(row, f"Value written with a % sign ({row.value})", "accepted")
    row = r.row("2024-25-Q3", "customer_services", "CS02")
    row.value = f"{int(float(row.value)):,}"
    mark(row, f"Value with thousands separators ({row.value})", "accepted")
    row = r.row("2025-26-Q1", "economic_growth", "EG03")
    row.value = f"{int(float(row.value)):,}"
    mark(row, f"Value with thousands separators, typed as text ({row.value})", "accepted")
    row = r.row("2025-26-Q2", "revenues_benefits", "RB06")
    row.value = f"£{int(float(row.value)):,}"
    mark(row, f"Currency value with £ and separators ({row.value})", "accepted")
    row = r.row("2024-25-Q4", "economic_growth", "EG04")
    row.value = f"£{int(float(row.value)):,}"
    mark(row, f"Currency value with £ and separators, typed as text ({row.value})", "accepted")

    # Not reported: n/a, tbc, blank.
    row = mark(r.row("2021-22-Q1", "education", "ED05"), "Value 'n/a'", "not_reported")
    row.value = "n/a"
    row.commentary = (
        "Ofsted routine inspections were suspended during the pandemic and restart in September 2021."
    )
    row = mark(
        r.row("2025-26-Q2", "housing", "HS04"), "Value 'tbc', numerator and denominator blank", "not_reported"
    )
    row.value, row.numerator, row.denominator = "tbc", "", ""
    row.commentary = "Rent figures to follow once the housing system upgrade is reconciled."
    row = mark(r.row("2024-25-Q3", "childrens_social_care", "CSC04"), "Blank value", "not_reported")
    row.value = ""
    row.commentary = "Placement data is being revalidated after the case management upgrade."

    # Not a number.
    row = mark(r.row("2023-24-Q3", "waste", "WM04"), "Value 'see note'", "not_a_number")
    row.value = "see note"
    row.commentary = (
        "Figure affected by the Christmas collection changes – contractor report awaited, see note."
    )
    row = mark(r.row("2021-22-Q3", "housing", "HS03"), "Value 'awaiting report'", "not_a_number")
    row.value = "awaiting report"
    row.commentary = "Void figures awaiting the repairs contractor’s report."

    # Out of range.
    mark(r.row("2023-24-Q1", "education", "ED05"), "Percent over 100 (112)", "out_of_range").value = "112"
    mark(
        r.row("2025-26-Q1", "customer_services", "CS05"),
        "Percent over 100 (865: decimal point lost from 86.5)",
        "out_of_range",
    ).value = "865"

    # Numerator greater than denominator.
    row = mark(
        r.row("2024-25-Q1", "planning", "PL01"),
        "Numerator 9 > denominator 8",
        "numerator_exceeds_denominator",
    )
    row.value, row.numerator, row.denominator = "", "9", "8"
    row = mark(
        r.row("2022-23-Q2", "childrens_social_care", "CSC02"),
        "Numerator and denominator swapped",
        "numerator_exceeds_denominator",
    )
    row.value, row.numerator, row.denominator = "", row.denominator, row.numerator

    # Conflicting duplicates: within one file, and across a split service's two files.
    housing = r.file("2023-24-Q2", "housing")
    first = mark(
        r.row("2023-24-Q2", "housing", "HS02"),
        "Same code and period twice in the file with different values",
        "conflicting_duplicate",
    )
    second = replace(
        first, value=str(int(first.value) + 3), commentary="Updated count from the Housing Options system."
    )
    housing.rows.append(second)
    tonnage = mark(
        r.row("2024-25-Q3", "waste", "WM06", "tonnages"),
        "WM06 also in Waste return Q3 2024-25.xlsx with a different value",
        "conflicting_duplicate",
    )
    waste_main = r.file("2024-25-Q3", "waste", "Waste return")
    waste_main.rows.append(
        Row(
            code="WM06",
            period=period_text(waste_main.style, waste_main.quarter),
            value=str(int(tonnage.value) - 240),
            commentary="Provisional tonnage from weighbridge.",
            status="Provisional",
            submitted_by="Paul Atkinson",
            problem="WM06 also in Waste tonnages Q3 2024-25.csv with a different value",
            outcome="conflicting_duplicate",
        )
    )

    # Identical duplicates: the repeat is flagged, the first accepted.
    for quarter, service, code in (
        ("2022-23-Q1", "revenues_benefits", "RB03"),
        ("2025-26-Q1", "adult_social_care", "ASC09"),
    ):
        ret = r.file(quarter, service)
        original = r.row(quarter, service, code)
        ret.rows.insert(
            ret.rows.index(original) + 1,
            mark(replace(original), "Identical repeat of the row above", "duplicate"),
        )

    # Wrong period: a later quarter than the folder's.
    mark(
        r.row("2025-26-Q2", "planning", "PL02"), "Period 2026/27 Q1 in the 2025-26-Q2 folder", "wrong_period"
    ).period = "2026/27 Q1"
    mark(
        r.row("2023-24-Q2", "childrens_social_care", "CSC06"),
        "Period 2023/24 Q3 in the 2023-24-Q2 folder",
        "wrong_period",
    ).period = "2023/24 Q3"

    # Revisions of earlier quarters, with an explanation.
    for folder, service, code, period, delta, why in (
        (
            "2025-26-Q2",
            "housing",
            "HS02",
            "2025-26-Q1",
            3,
            "Revised Q1 figure: three households placed on 30 June were recorded after the return was sent.",
        ),
        (
            "2024-25-Q3",
            "adult_social_care",
            "ASC08",
            "2024-25-Q1",
            6.2,
            "Revised Q1 figure after late-notified admissions were added to the system.",
        ),
        (
            "2023-24-Q2",
            "revenues_benefits",
            "RB03",
            "2023-24-Q1",
            -1.4,
            (
                "Revised Q1 figure: claims suspended awaiting evidence are now excluded, as the "
                "definition requires."
            ),
        ),
    ):
        ret = r.file(folder, service)
        shown = Quarter.parse(period).slash if ret.style.period == "slash" else period
        ret.rows.append(
            Row(
                code=code,
                period=shown,
                value=revised(figures, code, period, delta),
                commentary=why,
                status=status_text(ret.style, "final") if _has(ret.style, "status") else "",
                submitted_by=SERVICE_BY_SLUG[service].owner,
                problem=f"Revision of {period} in a later folder",
                outcome="revision",
            )
        )

    # Provisional and estimated figures (accepted, flagged by status).
    for quarter, service, code, status, name_part in (
        ("2025-26-Q2", "waste", "WM06", "Provisional", "tonnages"),
        ("2025-26-Q2", "adult_social_care", "ASC10", "Provisional", ""),
        ("2024-25-Q4", "housing", "HS05", "estimate", ""),
        ("2025-26-Q1", "economic_growth", "EG01", "Estimate", ""),
    ):
        mark(
            r.row(quarter, service, code, name_part), f"Status '{status}'", f"accepted ({status.lower()})"
        ).status = status

    # Commentary that must be escaped or neutralised in reports.
    row = mark(
        r.row("2024-25-Q4", "customer_services", "CS03"),
        "Commentary contains <script>",
        "accepted (commentary escaped)",
    )
    row.commentary = (
        "Backlog cleared in February. <script>alert(1)</script> Pasted from the complaints web form."
    )
    row = mark(
        r.row("2025-26-Q1", "housing", "HS01"),
        "Commentary starts with =HYPERLINK(",
        "accepted (formula neutralised)",
    )
    row.commentary = (
        '=HYPERLINK("https://intranet.darlington.example/housing/q1","See the housing options dashboard")'
    )

    # Blank rows between records and a trailing notes row.
    for quarter, service, note in (
        ("2023-24-Q4", "childrens_social_care", "Notes: figures provisional pending validation"),
        ("2022-23-Q1", "education", "Notes: EHCP figures taken from the draft SEN2 return"),
    ):
        ret = r.file(quarter, service)
        ret.rows.insert(3, Row(blank=True, problem="Blank row between records", outcome="ignored (blank)"))
        ret.rows.append(Row(blank=True, problem="Blank row before notes", outcome="ignored (blank)"))
        ret.rows.append(
            Row(code=note, problem="Notes row (text only in the code column)", outcome="unknown_indicator")
        )

    # A file with no indicator code column.
    eco = r.file("2023-24-Q1", "economic_growth")
    eco.style = Style(
        "csv-utf8",
        "Economy return {fy} Q{n}.csv",
        cols(
            "title=Description",
            "period=Period",
            "value=Actual",
            "commentary=Comments",
            "status=Status",
            "submitted_by=Submitted By",
        ),
        period="dash",
    )
    eco.problem, eco.outcome = "No indicator code column (titles given instead)", "missing_column"

    # Unreadable files.
    hr = r.file("2022-23-Q3", "hr")
    hr.damage = "text_as_xlsx"
    hr.problem = "Not a workbook: a mail gateway notice saved as .xlsx"
    hr.outcome = "unreadable_file"
    csc = r.file("2021-22-Q2", "childrens_social_care")
    resent = ReturnFile(
        csc.quarter,
        csc.service,
        csc.style,
        rows=csc.rows,
        name_override="Childrens Social Care performance Q2 2021-22 (resent).xlsx",
    )
    csc.rows = [replace(row) for row in csc.rows]
    csc.damage = "truncated"
    csc.problem = "Truncated workbook (corrupted email attachment); resent the next day"
    csc.outcome = "unreadable_file"
    r.files.insert(r.files.index(csc) + 1, resent)

    # Services that did not return at all.
    r.drop("2023-24-Q3", "planning")
    r.drop("2025-26-Q2", "education")


# Late returns: (quarter, service) -> working days after quarter end. Deadline is 15.
LATE = {
    ("2021-22-Q4", "planning"): 19,
    ("2022-23-Q2", "childrens_social_care"): 22,
    ("2023-24-Q4", "education"): 20,
    ("2024-25-Q1", "hr"): 25,
    ("2025-26-Q2", "economic_growth"): 18,
}
NOT_RETURNED = (("2023-24-Q3", "planning"), ("2025-26-Q2", "education"))
RECEIVERS = ("Rachel Hall", "Sam Okafor")


def receipts(files: list[ReturnFile]) -> list[dict[str, str]]:
    """received.csv: when the performance team logged each file."""
    rows = []
    for ret in files:
        original = ret.path.replace(" (resent)", "")
        rng = random.Random(f"{SEED}:received:{original}")
        days = LATE.get((ret.quarter.key, ret.service)) or rng.randint(3, 12)
        if original != ret.path:
            days += 1
        rows.append(
            {
                "quarter": ret.quarter.key,
                "file": ret.path,
                "received_on": add_working_days(ret.quarter.end, days).isoformat(),
                "received_by": rng.choice(RECEIVERS),
            }
        )
    return sorted(rows, key=lambda r: (r["quarter"], r["received_on"], r["file"]))


# ---------------------------------------------------------------------------------------------
# Writing files
# ---------------------------------------------------------------------------------------------


@dataclass
class PlantedProblem:
    quarter: str
    file: str
    row: str
    code: str
    problem: str
    outcome: str


def deterministic_zip(raw: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so a workbook's bytes depend only on its content."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIMESTAMP)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def workbook_bytes(wb: Workbook) -> bytes:
    wb.properties.creator = "Darlington Borough Council"
    wb.properties.lastModifiedBy = None
    wb.properties.created = WORKBOOK_TIMESTAMP
    wb.properties.modified = WORKBOOK_TIMESTAMP
    buffer = io.BytesIO()
    # ExcelWriter directly: openpyxl's save() would stamp `modified` with the current time.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    return deterministic_zip(buffer.getvalue())


def cell_value(text: str, is_value_column: bool) -> str | int | float | None:
    """Numbers go into workbooks as numbers; anything a person typed as text stays text."""
    if text == "":
        return None
    if is_value_column:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "." not in text else number
    return text


def row_cells(row: Row, style: Style) -> list[str]:
    if row.blank:
        return [""] * len(style.headers)
    values = {
        "indicator_code": row.code,
        "title": _title_for(row.code),
        "period": row.period,
        "value": row.value,
        "numerator": row.numerator,
        "denominator": row.denominator,
        "commentary": row.commentary,
        "status": row.status,
        "submitted_by": row.submitted_by,
    }
    return [values[canonical] for canonical, _ in style.headers]


def _title_for(code: str) -> str:
    return INDICATOR_BY_CODE[code].title if code in INDICATOR_BY_CODE else code


def write_return(ret: ReturnFile, root: Path) -> list[PlantedProblem]:
    """Write one return; give back its planted problems with the row numbers people see."""
    path = root / "submissions" / ret.path
    path.parent.mkdir(parents=True, exist_ok=True)
    style = ret.style
    header = [label for _, label in style.headers]
    first_record_row = 2
    if ret.damage == "text_as_xlsx":
        path.write_bytes(
            b"This attachment was removed by the Darlington mail gateway because it contained "
            b"macros.\r\nOriginal attachment: HR and H&S KPIs Q3 22-23.xlsm\r\n"
            b"Ask the sender to save the workbook as .xlsx and send it again.\r\n"
        )
    elif style.fmt == "xlsx":
        first_record_row = len(style.titles) + (1 if style.titles and style.gap_after_titles else 0) + 2
        wb = Workbook()
        ws = wb.active
        ws.title = style.sheet.format(**ret.quarter.names())
        bold = Font(bold=True)
        for title in style.titles:
            ws.append([title.format(**ret.quarter.names())])
            ws.cell(ws.max_row, 1).font = bold
        if style.titles and style.gap_after_titles:
            ws.append([])
        ws.append(header)
        for cell in ws[first_record_row - 1]:
            cell.font = bold
        numeric = {
            i
            for i, (canonical, _) in enumerate(style.headers)
            if canonical in ("value", "numerator", "denominator")
        }
        for n, row in enumerate(ret.rows):
            cells = [cell_value(text, i in numeric) for i, text in enumerate(row_cells(row, style))]
            # Written cell by cell, so a blank row keeps its place in the sheet.
            for col, value in enumerate(cells, start=1):
                if value is not None:
                    ws.cell(first_record_row + n, col, value)
        for col, (canonical, _) in enumerate(style.headers, start=1):
            wide = canonical in ("commentary", "title")
            ws.column_dimensions[get_column_letter(col)].width = 60 if wide else 16
        data = workbook_bytes(wb)
        if ret.damage == "truncated":
            data = data[: len(data) // 3]
        path.write_bytes(data)
    else:
        encoding, newline = {
            "csv-utf8": ("utf-8", "\n"),
            "csv-utf8-bom": ("utf-8-sig", "\r\n"),
            "csv-cp1252": ("cp1252", "\r\n"),
        }[style.fmt]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=newline)
        writer.writerow(header)
        for row in ret.rows:
            writer.writerow(row_cells(row, style))
        path.write_bytes(buffer.getvalue().encode(encoding))

    planted = []
    if ret.problem:
        planted.append(PlantedProblem(ret.quarter.key, ret.name, "", "", ret.problem, ret.outcome))
    if ret.damage == "valid":
        for n, row in enumerate(ret.rows):
            if row.problem:
                planted.append(
                    PlantedProblem(
                        ret.quarter.key,
                        ret.name,
                        str(first_record_row + n),
                        row.code,
                        row.problem,
                        row.outcome,
                    )
                )
    return planted


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]] | list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)


# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------

INDICATOR_COLUMNS = [
    "code",
    "title",
    "definition",
    "unit",
    "unit_label",
    "polarity",
    "frequency",
    "ytd_method",
    "decimals",
    "min_value",
    "max_value",
    "service",
    "priority",
    "level",
    "rag_rule",
    "benchmark_metric",
    "active_from",
    "active_to",
    *example_framework.FRAMEWORK_COLUMNS,
]


def indicator_rows() -> list[dict[str, str]]:
    def text(value: object) -> str:
        return "" if value is None else str(value)

    rows = [
        {column: text(getattr(ind, column, "")) for column in INDICATOR_COLUMNS}
        | example_framework.framework_columns(ind.code)
        for ind in INDICATORS
    ]
    extra = [
        {c: "" for c in INDICATOR_COLUMNS} | r | example_framework.framework_columns(r["code"])
        for r in example_framework.FEEDBACK_INDICATORS
    ]
    return rows + extra


def authority_rows(shared: Path) -> list[dict[str, str]]:
    """English authorities from mySociety's register, successors as GSS codes."""
    with open(
        shared / "la-register" / "uk_local_authorities_current.csv", encoding="utf-8", newline=""
    ) as handle:
        register = list(csv.DictReader(handle))
    by_register_code = {r["local-authority-code"]: r for r in register}
    rows = []
    for r in register:
        if r["nation"] != "England":
            continue
        successors = [by_register_code[c] for c in r["replaced-by"].split(",") if c]
        # Some abolished authorities have no region in the register: take their successor's.
        region = r["region"] or next((s["region"] for s in successors if s["region"]), "")
        rows.append(
            {
                "gss_code": r["gss-code"],
                "name": r["nice-name"],
                "official_name": r["official-name"],
                "authority_type": r["local-authority-type"],
                "authority_type_name": r["local-authority-type-name"],
                "region": region,
                "start_date": r["start-date"],
                "end_date": r["end-date"],
                "replaced_by": ";".join(s["gss-code"] for s in successors),
                "ecode": r["ecode"],
            }
        )
    return sorted(rows, key=lambda row: row["gss_code"])


COUNCIL_TOML = f"""\
name = "{COUNCIL_NAME}"
gss_code = "{COUNCIL_GSS}"
comparator_groups = ["nearest_neighbours", "same_type", "region", "england", "Tees Valley"]
return_deadline_working_days = 15     # after quarter end
reminder_window_days = 14
performance_team_email = "performance@darlington.example"
first_quarter = "2021-22-Q1"

[app]
public = false      # true: anyone not logged in may see approved quarters in the performance app
"""

SOURCES_TOML = """\
# Published comparator data, as downloaded: the Oflog files are byte-for-byte copies; the DLUHC
# file is reshaped from the published workbook with its values unchanged. See ../README.md.

[[source]]
name = "oflog_asc"
file = "oflog/ASC_data.csv"
format = "oflog_asc_csv"
publisher = "Office for Local Government (Oflog), DLUHC/MHCLG"
licence = "OGL-3.0"
attribution = "Contains public sector information licensed under the Open Government Licence v3.0."
url = "https://github.com/communitiesuk/oflog-automated-text/blob/8036fa87bff7902004956b0561765af21af665da/src/lib/ASC_data.csv"
origin = "communitiesuk/oflog-automated-text, src/lib/ASC_data.csv at 8036fa87bff7902004956b0561765af21af665da (file last changed in 16628da1e26909e5d88de993585959d7633f7df1)"
sha256 = "7faa2acd7337d21ed9fe82c57f66878d349e98dbac1e1c8357d1d4cc920d87e9"
retrieved = "Copied with git show from the repository HEAD of 2024-11-04; values derive from ASCOF surveys, SALT and Skills for Care workforce data."

[[source]]
name = "oflog_waste"
file = "oflog/testData.json"
format = "oflog_waste_json"
publisher = "Office for Local Government (Oflog) / MHCLG Data Tools team; underlying data DEFRA ENV18 (WasteDataFlow)"
licence = "OGL-3.0"
attribution = "Contains public sector information licensed under the Open Government Licence v3.0."
url = "https://github.com/communitiesuk/mhclg_svelte_component_library/blob/551faa456f326cf4056aea15d7aa8e0ffee118c1/src/lib/data/testData.json"
origin = "communitiesuk/mhclg_svelte_component_library, src/lib/data/testData.json at 551faa456f326cf4056aea15d7aa8e0ffee118c1 (file last changed in a9187479a122aa16729574db8591a7685faf3b05)"
sha256 = "e4874ec7584a5092ffcf226f15fad13a8a30b63240daa3212c20b201ad7b6646"
retrieved = "Copied with git show from the repository HEAD of 2025-08-27; recycling rates cross-checked against DEFRA ENV18 values published by Trafford Data Lab."

[[source]]
name = "dluhc_ct_receipts"
file = "dluhc/council_tax_receipts.csv"
format = "long_csv"
publisher = "Department for Levelling Up, Housing and Communities (DLUHC)"
licence = "OGL-3.0"
attribution = "Contains public sector information licensed under the Open Government Licence v3.0."
url = "https://github.com/FemShow/ct-receipts/blob/df557babc5fb1d6bbe7d4cda8b94ade56c0a3180/CT_Receipts_Live_Table_Q4_2022-23.xlsx"
origin = "Receipts of Council Taxes: England, live table Q4 2022-23, Table_5 (FemShow/ct-receipts, branch master, df557babc5fb1d6bbe7d4cda8b94ade56c0a3180; workbook sha256 dc563e21cfe9380dd0aa2b0a8277dd67d5e3ff78b64c466a38a0d36d05374195)"
derived = "Reshaped by scripts/make_example_data.py into the long shape of LG Inform and Trafford Data Lab downloads: the quarters of 2021-22 and 2022-23, one row per area and quarter, values and [z] (not applicable: abolished authority) exactly as in the workbook, in thousands of pounds."

[source.columns]                # our name = the file's column name
metric = "indicator"

[[source]]
name = "mhclg_rs"
file = "mhclg/RS_2017-18_data_by_LA.xlsx"
format = "mhclg_rs_xlsx"
publisher = "Ministry of Housing, Communities and Local Government (MHCLG)"
licence = "OGL-3.0"
attribution = "Contains public sector information licensed under the Open Government Licence v3.0."
url = "https://github.com/BBC-Data-Unit/council-cuts-charts/blob/5b54d08f1af88ee6ba30719b8a2541bfa01e5e6d/RS_2017-18_data_by_LA.xlsx"
origin = "Revenue Outturn (RO) 2017-18: Revenue Outturn Summary (RS) data, the workbook as published, from BBC-Data-Unit/council-cuts-charts at 5b54d08f1af88ee6ba30719b8a2541bfa01e5e6d (file last changed in 9ffe7d33dbe76082fa2cd2fa695b7b91c7d6eada)"
sha256 = "24225a1e7ecd03ea6e2efd6124722ff7f2fb93f9242ed9d0acbe30e18ddc8f00"

[[source]]
name = "mhclg_csp"
file = "mhclg/SpendingMillions.csv"
format = "wide_csv"
metric = "core_spending_power"
metric_title = "Core spending power"
unit = "£ million"
publisher = "Compiled by CaitHRobinson/councillorsatthecasino from MHCLG's Local Government Finance Settlement (core spending power)"
licence = "OGL-3.0"
attribution = "Contains public sector information licensed under the Open Government Licence v3.0."
url = "https://github.com/CaitHRobinson/councillorsatthecasino/blob/3b079018e4dfe62bbe036977a1c21f08ff6d3f50/spendingpower/SpendingMillions.csv"
origin = "CaitHRobinson/councillorsatthecasino, spendingpower/SpendingMillions.csv at 3b079018e4dfe62bbe036977a1c21f08ff6d3f50"
sha256 = "52c5022de895199ef90cf68808658576f76956876fa3f9eabff8c638ef085a5b"

[source.columns]
area_code = "ons_code"
area_name = "ons_name"

[source.periods]
columns = '^(\\d{4})$'
year = "starts"                 # assumed: the file does not say; the header 2021 is read as 2021-22

[[source]]
name = "population"
file = "mysociety/uk_local_authorities_current.csv"
format = "wide_csv"
metric = "population"
metric_title = "Population (the register's pop-2020)"
unit = "resident"
publisher = "mySociety, UK local authority names and codes (uk_la_past_current v1.6.1), compiled from ONS and GOV.UK registers"
licence = "CC-BY-4.0"
attribution = "Contains data from mySociety's UK local authority names and codes, licensed under CC BY 4.0."
url = "https://github.com/mysociety/uk_local_authority_names_and_codes/blob/67ef8b118938678401a452f4f19f669a7221cc73/data/packages/uk_la_past_current/uk_local_authorities_current.csv"
origin = "mysociety/uk_local_authority_names_and_codes, data/packages/uk_la_past_current/uk_local_authorities_current.csv at 67ef8b118938678401a452f4f19f669a7221cc73"
sha256 = "1ef7c9caf57e4a8d8caabf2927c29fdda248a41ff1af76c639d11a62fcd9f2c5"

[source.columns]
area_code = "gss-code"
area_name = "nice-name"

[source.periods]
columns = '^pop-(\\d{4})$'
year = "starts"                 # a 2020 population is 2020-21's
"""


def write_reference(root: Path, shared: Path, targets: list[dict[str, str]]) -> None:
    ref = root / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "council.toml").write_text(COUNCIL_TOML, encoding="utf-8")
    (ref / "rag_rules.toml").write_text(RAG_RULES, encoding="utf-8")
    write_csv(
        ref / "services.csv",
        ["service", "name", "directorate", "owner", "owner_email", "portfolio", "scrutiny_committee"],
        [
            [s.slug, s.name, s.directorate, s.owner, s.email, s.portfolio, s.scrutiny_committee]
            for s in SERVICES
        ],
    )
    write_csv(ref / "indicators.csv", INDICATOR_COLUMNS, indicator_rows())
    write_csv(
        ref / "targets.csv",
        ["code", "year", "quarter", "target", "amber_threshold", "set_on", "reason"],
        targets,
    )
    write_csv(
        ref / "authorities.csv",
        [
            "gss_code",
            "name",
            "official_name",
            "authority_type",
            "authority_type_name",
            "region",
            "start_date",
            "end_date",
            "replaced_by",
            "ecode",
        ],
        authority_rows(shared),
    )
    shutil.copyfile(shared / "oflog-nearest-neighbours" / "NN.json", ref / "nearest_neighbours.json")
    write_csv(ref / "approvals.csv", ["quarter", "approved_by", "approved_on", "meeting"], approval_rows())
    names = {row["gss_code"]: row["name"] for row in authority_rows(shared)}
    write_csv(
        ref / "comparator_groups.csv",
        ["group", "authority_code", "authority_name"],
        [["Tees Valley", code, names[code]] for code in TEES_VALLEY],
    )
    write_csv(ref / "value_for_money.csv", VALUE_FOR_MONEY_COLUMNS, VALUE_FOR_MONEY_PAIRS)


# Cost beside outcome, all for 2017-18 (the year of the revenue outturn workbook). The RS summary
# does not split waste from the rest of environmental and regulatory services; the label says so.
VALUE_FOR_MONEY_COLUMNS = [
    "pair_id",
    "label",
    "cost_metric",
    "denominator_metric",
    "outcome",
    "outcome_polarity",
]
VALUE_FOR_MONEY_PAIRS = [
    [
        "asc_short_term",
        "Adult social care: net spend per resident vs. outcome of short-term services",
        "mhclg_rs:Adult Social Care",
        "population:population",
        "ASC05",
        "",
    ],
    [
        "waste_recycling",
        "Environmental and regulatory services (waste included): net spend per resident vs. household recycling rate",
        "mhclg_rs:Environmental and regulatory services",
        "population:population",
        "WM01",
        "",
    ],
    [
        "waste_residual",
        "Environmental and regulatory services (waste included): net spend per resident vs. residual household waste",
        "mhclg_rs:Environmental and regulatory services",
        "population:population",
        "oflog_waste:Residual household waste",
        "",
    ],
]


def approval_rows() -> list[list[str]]:
    """Cabinet approved each quarter's report on the second Tuesday of the third month after the
    quarter ended; the latest quarter's report is still a draft."""
    rows = []
    for quarter in QUARTERS[:-1]:
        first = quarter.end + dt.timedelta(days=1)
        month_start = dt.date(first.year + (first.month + 1) // 12, (first.month + 1) % 12 + 1, 1)
        tuesday = month_start + dt.timedelta(days=(1 - month_start.weekday()) % 7 + 7)
        rows.append([quarter.key, "Cabinet", tuesday.isoformat(), f"Cabinet, {tuesday:%-d %B %Y}"])
    return rows


# The five councils of the Tees Valley Combined Authority: a group given as a CSV.
TEES_VALLEY = ("E06000001", "E06000002", "E06000003", "E06000004", "E06000005")
CT_RECEIPTS_YEARS = REAL_YEARS
CT_QUARTER_HEADER = re.compile(r"^(?:April|July|October|January) to \w+ (\d{4}) \(Q([1-4])\)$")


def council_tax_receipts(shared: Path) -> list[list[str]]:
    """DLUHC's Table_5 (council tax receipts per billing authority per quarter, £000s) in long form.

    Values are written as the workbook holds them (a number, or `[z]` where the authority did not
    exist); nothing is recomputed. Rows keep England and the regions, as LG Inform downloads do.
    """
    workbook = load_workbook(
        shared / "dluhc-ct-receipts" / "CT_Receipts_Live_Table_Q4_2022-23.xlsx",
        read_only=True,
        data_only=True,
    )
    rows = list(workbook["Table_5"].iter_rows(min_row=6, values_only=True))
    workbook.close()
    header = [str(cell or "").strip() for cell in rows[0]]
    periods = {}
    for index, title in enumerate(header):
        match = CT_QUARTER_HEADER.match(title)
        if match:
            year, quarter = int(match[1]), int(match[2])
            start = year - 1 if quarter == 4 else year
            label = f"{start}/{(start + 1) % 100:02d} Q{quarter}"
            if f"{start}-{(start + 1) % 100:02d}" in CT_RECEIPTS_YEARS:
                periods[index] = label
    code, name = header.index("ONS Code"), header.index("Local authority")
    out = []
    for row in rows[1:]:
        if not row[code]:
            continue
        for index, label in periods.items():
            value = row[index]
            text = (
                (str(int(value)) if float(value).is_integer() else repr(value))
                if isinstance(value, (int, float))
                else str(value or "").strip()
            )
            out.append(
                [
                    str(row[code]).strip(),
                    str(row[name]).strip(),
                    label,
                    "Council tax receipts",
                    "Cash receipts in the quarter",
                    "£ thousand",
                    text,
                ]
            )
    return out


def write_benchmarks(root: Path, shared: Path) -> None:
    oflog = root / "benchmarks" / "oflog"
    oflog.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared / "oflog-asc" / "ASC_data.csv", oflog / "ASC_data.csv")
    shutil.copyfile(shared / "oflog-waste" / "testData.json", oflog / "testData.json")
    write_csv(
        root / "benchmarks" / "dluhc" / "council_tax_receipts.csv",
        ["area_code", "area_name", "period", "indicator", "measure", "unit", "value"],
        council_tax_receipts(shared),
    )
    (root / "benchmarks" / "sources.toml").write_text(SOURCES_TOML, encoding="utf-8")
    for folder, name, copied in (
        ("mhclg-revenue-outturn", "RS_2017-18_data_by_LA.xlsx", "mhclg"),
        ("mhclg-core-spending-power", "SpendingMillions.csv", "mhclg"),
        ("la-register", "uk_local_authorities_current.csv", "mysociety"),
    ):
        (root / "benchmarks" / copied).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / folder / name, root / "benchmarks" / copied / name)


# ---------------------------------------------------------------------------------------------
# Corrections
# ---------------------------------------------------------------------------------------------

CORRECTION_COLUMNS = [
    "correction_id",
    "indicator_code",
    "period",
    "value",
    "numerator",
    "denominator",
    "reason",
    "requested_by",
    "approved_by",
    "approved_on",
]
APPROVER = "Rachel Hall"


def correction_files(figures: dict[str, dict[str, Figure]]) -> dict[str, list[dict[str, str]]]:
    """Correction logs by the year they were made, values worked out from the returns."""

    def value(code: str, quarter: str, delta: float) -> str:
        return revised(figures, code, quarter, delta)

    csc02 = figures["CSC02"]["2023-24-Q1"]
    wm04 = figures["WM04"]["2023-24-Q3"]
    return {
        "2023-24-corrections.csv": [
            {
                "correction_id": "CR-2023-001",
                "indicator_code": "CSC02",
                "period": "2023-24-Q1",
                "numerator": str(csc02.numerator + 12),
                "denominator": str(csc02.denominator),
                "reason": "Twelve assessments completed in time were recorded late on the case "
                "management system.",
                "requested_by": "Claire Lowther",
                "approved_by": APPROVER,
                "approved_on": "2023-10-03",
            },
            {
                "correction_id": "CR-2023-002",
                "indicator_code": "HS03",
                "period": "2023-24-Q2",
                "value": value("HS03", "2023-24-Q2", -2.3),
                "reason": "Recalculated to exclude two major-works voids, as the definition requires.",
                "requested_by": "Gary Pearson",
                "approved_by": APPROVER,
                "approved_on": "2023-11-14",
            },
            {
                "correction_id": "CR-2023-003",
                "indicator_code": "ED04",
                "period": "2023-24-Q2",
                "value": value("ED04", "2023-24-Q2", -1),
                "reason": "One exclusion was overturned on appeal by the governing board.",
                "requested_by": "Nadia Hussain",
                "approved_by": "",
                "approved_on": "",
            },
            {
                "correction_id": "CR-2023-004",
                "indicator_code": "WM04",
                "period": "2023-24-Q3",
                "value": fmt_number(wm04.value, 1),
                "reason": "The Q3 return said 'see note'; figure confirmed from the collection "
                "contractor's report.",
                "requested_by": "Paul Atkinson",
                "approved_by": APPROVER,
                "approved_on": "2024-02-12",
            },
        ],
        "2025-26-corrections.csv": [
            {
                "correction_id": "CR-2025-001",
                "indicator_code": "ASC08",
                "period": "2024-25-Q4",
                "value": value("ASC08", "2024-25-Q4", 6.4),
                "reason": "Two late-notified admissions added after validation of the annual "
                "short and long term support return.",
                "requested_by": "Helen Murray",
                "approved_by": APPROVER,
                "approved_on": "2025-05-20",
            },
            {
                "correction_id": "CR-2025-002",
                "indicator_code": "RB01",
                "period": "2025-26-Q1",
                "value": value("RB01", "2025-26-Q1", 0.3),
                "reason": "Q1 collection recalculated: the Direct Debit run of 30 June posted "
                "after the return was sent.",
                "requested_by": "Karen Whitfield",
                "approved_by": APPROVER,
                "approved_on": "2025-08-05",
            },
            {
                "correction_id": "CR-2025-003",
                "indicator_code": "PL02",
                "period": "2025-26-Q1",
                "value": value("PL02", "2025-26-Q1", 1.5),
                "reason": "",
                "requested_by": "Joanne Reed",
                "approved_by": APPROVER,
                "approved_on": "2025-08-12",
            },
            {
                "correction_id": "CR-2025-004",
                "indicator_code": "RB01",
                "period": "2025-26-Q1",
                "value": value("RB01", "2025-26-Q1", 0.2),
                "reason": "Further adjustment after reconciliation with the council tax ledger; "
                "supersedes CR-2025-002.",
                "requested_by": "Karen Whitfield",
                "approved_by": APPROVER,
                "approved_on": "2025-09-02",
            },
        ],
    }


# ---------------------------------------------------------------------------------------------
# Corporate Improvement Plan
# ---------------------------------------------------------------------------------------------

ACTION_COLUMNS = [
    "action_id",
    "title",
    "source",
    "owner",
    "owner_email",
    "directorate",
    "start_date",
    "due_date",
    "revised_due_date",
    "revision_reason",
    "completed_on",
    "agreed_on",
    "tags",
    "indicator_codes",
]
UPDATE_COLUMNS = ["action_id", "update_date", "percent_complete", "note", "updated_by"]
PERFORMANCE_LEAD = Service("performance", "Performance & Intelligence", RESOURCES, "Rachel Hall")

# (id, title, source, owner service, start, due, revised due, revision reason, completed on)
ACTIONS_PLAN = (
    (
        "CIP-01",
        "Strengthen management oversight of child and family assessments",
        "Ofsted ILACS inspection 2022",
        "childrens_social_care",
        "2022-09-01",
        "2023-09-30",
        "",
        "",
        "2023-08-15",
    ),
    (
        "CIP-02",
        "Procure and implement a replacement revenues and benefits system",
        "Corporate Peer Challenge 2023",
        "revenues_benefits",
        "2023-04-01",
        "2024-03-31",
        "",
        "",
        "2024-05-10",
    ),
    (
        "CIP-03",
        "Reduce the use of bed and breakfast accommodation for homeless households",
        "Internal audit report IA-2023-07 (Homelessness)",
        "housing",
        "2023-10-01",
        "2024-09-30",
        "2025-03-31",
        "Extended after demand for temporary accommodation rose over winter",
        "2025-03-20",
    ),
    (
        "CIP-04",
        "Refresh the data quality policy and train every return owner",
        "External auditor's annual report 2022-23",
        "performance",
        "2024-04-01",
        "2025-03-31",
        "",
        "",
        "2025-02-14",
    ),
    (
        "CIP-05",
        "Introduce a second check of EHC plan timeliness data",
        "SEND Local Area Partnership inspection 2024",
        "education",
        "2024-06-01",
        "2025-06-30",
        "2025-12-31",
        "Extended to align with the new case management system go-live",
        "",
    ),
    (
        "CIP-06",
        "Roll out the recycling contamination campaign to all rounds",
        "Internal audit report IA-2023-11 (Waste contract)",
        "waste",
        "2024-01-08",
        "2025-06-30",
        "",
        "",
        "",
    ),
    (
        "CIP-07",
        "Open Family Hubs in all four localities",
        "Corporate Peer Challenge 2023",
        "childrens_social_care",
        "2023-04-01",
        "2026-03-31",
        "",
        "",
        "",
    ),
    (
        "CIP-08",
        "Reduce agency social worker posts to below 15%",
        "Ofsted ILACS inspection 2022",
        "childrens_social_care",
        "2025-01-06",
        "2025-12-19",
        "",
        "",
        "",
    ),
    (
        "CIP-09",
        "Review the health and safety incident reporting process",
        "Internal audit report IA-2024-03 (Health and safety)",
        "hr",
        "2024-11-01",
        "2025-10-31",
        "",
        "",
        "",
    ),
    (
        "CIP-10",
        "Publish an accessible quarterly performance dashboard for members",
        "Overview and Scrutiny Committee recommendation, March 2025",
        "performance",
        "2025-04-01",
        "2025-10-10",
        "",
        "",
        "",
    ),
    (
        "CIP-11",
        "Improve information and advice for people who fund their own care",
        "CQC local authority assessment 2024",
        "adult_social_care",
        "2025-02-01",
        "2026-01-31",
        "",
        "",
        "",
    ),
    (
        "CIP-12",
        "Adopt a monitoring framework for the new Local Plan",
        "Planning Advisory Service review 2025",
        "planning",
        "2025-10-01",
        "2026-06-30",
        "",
        "",
        "",
    ),
    (
        "CIP-13",
        "Reconcile the council tax base with the valuation list every month",
        "Internal audit report IA-2021-02 (Council tax)",
        "revenues_benefits",
        "2021-06-01",
        "2021-12-31",
        "",
        "",
        "2021-11-30",
    ),
    (
        "CIP-14",
        "Clear the backlog of disabled facilities grant assessments",
        "Internal audit report IA-2021-05 (Disabled facilities grants)",
        "adult_social_care",
        "2021-07-01",
        "2022-03-31",
        "2022-09-30",
        "Occupational therapist vacancies; extension agreed by the Audit Committee",
        "2023-01-20",
    ),
    (
        "CIP-15",
        "Publish a workforce strategy with a recruitment and retention plan",
        "LGA workforce peer review 2021",
        "hr",
        "2021-10-01",
        "2022-09-30",
        "",
        "",
        "2022-09-12",
    ),
    (
        "CIP-16",
        "Introduce multi-agency audits of children in need plans",
        "Ofsted focused visit 2021 (children in need)",
        "childrens_social_care",
        "2021-09-01",
        "2022-08-31",
        "",
        "",
        "2022-08-05",
    ),
    (
        "CIP-17",
        "Replace the housing repairs scheduling system",
        "Internal audit report IA-2022-04 (Housing repairs)",
        "housing",
        "2022-06-01",
        "2023-06-30",
        "2023-12-31",
        "The supplier's delivery slipped; Cabinet agreed the later date in May 2023",
        "2023-12-15",
    ),
    (
        "CIP-18",
        "Add planning appeal decisions to the members' training programme",
        "Planning Advisory Service peer review 2022",
        "planning",
        "2022-10-03",
        "2023-03-15",
        "",
        "",
        "2023-04-21",
    ),
    (
        "CIP-19",
        "Bring annual reviews of care and support plans up to date",
        "CQC local authority assessment 2024",
        "adult_social_care",
        "2024-04-01",
        "2025-03-31",
        "2025-09-30",
        "Extended after the reviewing team was restructured; agreed by the Adults Scrutiny Committee",
        "",
    ),
    (
        "CIP-20",
        "Complete fire risk assessments of every council housing block",
        "Internal audit report IA-2024-06 (Fire safety in council housing)",
        "housing",
        "2024-09-02",
        "2025-08-29",
        "",
        "",
        "2025-08-20",
    ),
    (
        "CIP-21",
        "Strengthen the monitoring of regeneration grant schemes",
        "Internal audit report IA-2025-01 (Towns Fund grants)",
        "economic_growth",
        "2025-09-15",
        "2026-09-30",
        "",
        "",
        "",
    ),
    (
        "CIP-22",
        "Quality-assure every new EHC plan before it is issued",
        "SEND Local Area Partnership inspection 2024",
        "education",
        "2024-09-01",
        "2025-10-24",
        "",
        "",
        "",
    ),
    (
        "CIP-23",
        "Improve the quality of return home interviews for missing children",
        "Ofsted ILACS inspection 2022",
        "childrens_social_care",
        "2023-01-09",
        "2024-01-31",
        "2025-10-20",
        "Re-scoped after the 2024 focused visit; new date agreed by Cabinet",
        "",
    ),
    (
        "CIP-24",
        "Agree a digital inclusion plan with the voluntary sector",
        "Corporate Peer Challenge 2023",
        "customer_services",
        "2023-06-01",
        "2024-12-31",
        "",
        "",
        "",
    ),
    (
        "CIP-25",
        "Introduce a single front door for customer contact",
        "Corporate Peer Challenge 2023",
        "customer_services",
        "2024-01-08",
        "2025-12-31",
        "",
        "",
        "",
    ),
    (
        "CIP-26",
        "Bring sickness absence management into line with the attendance policy",
        "Internal audit report IA-2025-04 (Sickness absence)",
        "hr",
        "2026-01-05",
        "2026-07-31",
        "",
        "",
        "",
    ),
    (
        "CIP-27",
        "Re-plan collection rounds to serve the new housing developments",
        "Internal audit report IA-2022-09 (Waste round optimisation)",
        "waste",
        "2022-11-01",
        "2023-10-31",
        "",
        "",
        "2023-10-27",
    ),
)

# When the plan took in an action that starts later (blank: from its start date). Until then an
# as-at table does not list it; from then until it starts it is "Not started".
AGREED_ON = {
    "CIP-12": "2025-07-15",
    "CIP-13": "2021-05-10",
    "CIP-14": "2021-06-15",
    "CIP-21": "2025-07-22",
    "CIP-26": "2025-09-16",
}

# (id, date, percent complete, note)
ACTION_UPDATES = (
    ("CIP-01", "2022-12-15", 30, "Weekly oversight meetings in place in all assessment teams."),
    ("CIP-01", "2023-03-20", 60, "Audit tool revised; first monthly audit completed."),
    ("CIP-01", "2023-08-15", 100, "Re-audit shows management oversight recorded on 94% of assessments."),
    ("CIP-02", "2023-07-10", 25, "Contract awarded after competitive tender."),
    ("CIP-02", "2023-12-04", 60, "Data migration trials complete."),
    ("CIP-02", "2024-03-28", 85, "Go-live moved to April to avoid annual billing."),
    ("CIP-02", "2024-05-10", 100, "System live; old system read-only."),
    ("CIP-03", "2024-01-15", 20, "Two additional self-contained units leased."),
    ("CIP-03", "2024-06-20", 45, "Move-on panel meets fortnightly."),
    ("CIP-03", "2024-10-01", 60, "Due date extended by Cabinet; winter plan agreed."),
    ("CIP-03", "2025-03-20", 100, "No families in B&B since January."),
    ("CIP-04", "2024-07-01", 30, "Draft policy consulted on with directorates."),
    ("CIP-04", "2024-11-18", 70, "Training delivered to 38 of 52 return owners."),
    ("CIP-04", "2025-02-14", 100, "Policy approved; all return owners trained."),
    ("CIP-05", "2024-09-02", 20, "Process mapped with the SEND team."),
    ("CIP-05", "2025-02-03", 35, "Waiting for reporting from the new case management system."),
    ("CIP-05", "2025-08-29", 45, "Second check piloted on new plans only."),
    ("CIP-06", "2024-04-22", 25, "Campaign launched on the first four rounds."),
    ("CIP-06", "2024-11-11", 55, "Bin tagging extended to eight rounds."),
    ("CIP-06", "2025-05-30", 75, "Crew capacity limited roll-out over spring."),
    ("CIP-06", "2025-09-10", 80, "Final four rounds planned for October."),
    ("CIP-07", "2023-09-29", 25, "First hub opened in the town centre."),
    ("CIP-07", "2024-06-28", 50, "Second hub opened in Firthmoor."),
    ("CIP-07", "2025-03-31", 70, "Third hub building works under way."),
    ("CIP-07", "2025-09-19", 82, "Third hub opened; fourth site agreed."),
    ("CIP-08", "2025-03-31", 25, "Recruitment campaign launched with a market supplement."),
    ("CIP-08", "2025-07-01", 55, "Eleven permanent social workers appointed."),
    ("CIP-08", "2025-09-22", 72, "Agency share down to 18% of posts."),
    ("CIP-09", "2025-02-14", 30, "Reporting form redesigned with the trade unions."),
    ("CIP-09", "2025-06-16", 65, "New form live on the intranet."),
    ("CIP-09", "2025-09-15", 90, "Managers' guidance published; audit follow-up booked."),
    ("CIP-10", "2025-06-02", 15, "Requirements agreed with scrutiny members."),
    ("CIP-10", "2025-09-08", 40, "Prototype built; accessibility testing delayed."),
    ("CIP-11", "2025-04-14", 20, "Self-funder pages drafted with Healthwatch."),
    ("CIP-11", "2025-07-21", 45, "Pages published; advice line pilot started."),
    ("CIP-11", "2025-09-26", 60, "Pilot extended to the hospital discharge team."),
    ("CIP-13", "2021-06-28", 15, "Reconciliation procedure drafted with the valuation office."),
    ("CIP-13", "2021-09-27", 60, "Monthly reconciliation running; two months' backlog cleared."),
    ("CIP-13", "2021-11-30", 100, "Reconciliation embedded; internal audit follow-up closed."),
    ("CIP-14", "2021-09-30", 20, "Waiting list triaged; urgent cases assessed first."),
    ("CIP-14", "2021-12-20", 35, "Agency occupational therapist started in December."),
    ("CIP-14", "2022-03-25", 50, "Backlog down from 140 to 70 cases."),
    ("CIP-14", "2022-06-30", 70, "Extension agreed; trusted assessor scheme launched."),
    ("CIP-14", "2022-10-14", 85, "22 cases left, all assessed within the quarter."),
    ("CIP-14", "2023-01-20", 100, "Backlog cleared; new cases assessed within 28 days."),
    ("CIP-15", "2022-01-14", 25, "Workforce data pack reviewed with directorates."),
    ("CIP-15", "2022-04-29", 45, "Staff survey delayed the consultation draft."),
    ("CIP-15", "2022-07-22", 80, "Draft strategy consulted on with the trade unions."),
    ("CIP-15", "2022-09-12", 100, "Strategy approved by Cabinet."),
    ("CIP-16", "2021-11-30", 30, "Audit tool agreed with health and police partners."),
    ("CIP-16", "2022-02-28", 55, "First two multi-agency audits completed."),
    ("CIP-16", "2022-05-31", 80, "Audits monthly; findings reported to the partnership."),
    ("CIP-16", "2022-08-05", 100, "Audit programme embedded in the quality framework."),
    ("CIP-17", "2022-09-26", 20, "Supplier appointed after a mini-competition."),
    ("CIP-17", "2023-01-16", 45, "Data cleansing of the property records complete."),
    ("CIP-17", "2023-05-22", 60, "Supplier's delivery slipped; Cabinet agreed a new date."),
    ("CIP-17", "2023-09-18", 85, "Pilot with the voids team went live."),
    ("CIP-17", "2023-12-15", 100, "All repairs now scheduled through the new system."),
    ("CIP-18", "2022-12-12", 50, "Training module drafted with legal services."),
    ("CIP-18", "2023-03-10", 80, "Session booked for April after the committee cycle."),
    ("CIP-18", "2023-04-21", 100, "Training delivered to 11 of 12 committee members."),
    ("CIP-19", "2024-07-15", 20, "Overdue reviews listed and prioritised by risk."),
    ("CIP-19", "2024-11-04", 40, "Two reviewing officers recruited."),
    ("CIP-19", "2025-02-17", 55, "Reviewing team restructure agreed; date extended."),
    ("CIP-19", "2025-06-09", 70, "Reviews within 12 months up to 81%."),
    ("CIP-19", "2025-09-22", 85, "Reviews within 12 months up to 90%."),
    ("CIP-20", "2024-12-09", 35, "High-rise blocks assessed first."),
    ("CIP-20", "2025-03-24", 60, "Remedial works ordered for four blocks."),
    ("CIP-20", "2025-06-23", 85, "Low-rise blocks assessed."),
    ("CIP-20", "2025-08-20", 100, "Every block has a current fire risk assessment."),
    ("CIP-22", "2024-12-09", 30, "Quality checklist agreed with the parent carer forum."),
    ("CIP-22", "2025-04-07", 60, "Every new plan checked since March."),
    ("CIP-22", "2025-07-14", 80, "Moderation panel meets monthly."),
    ("CIP-22", "2025-09-29", 90, "Audit of the first six months under way."),
    ("CIP-23", "2023-04-17", 20, "Interviews now offered within 72 hours."),
    ("CIP-23", "2023-10-09", 45, "New recording template in the case management system."),
    ("CIP-23", "2024-01-22", 60, "Focused visit asked for a wider scope; action re-scoped."),
    ("CIP-23", "2024-07-15", 70, "Commissioned service retendered."),
    ("CIP-23", "2025-01-20", 78, "New provider started in January."),
    ("CIP-23", "2025-06-30", 92, "Quality audit shows 85% of interviews good or better."),
    ("CIP-23", "2025-09-29", 96, "Final audit booked for October."),
    ("CIP-24", "2023-10-02", 25, "Partners' workshop held; digital champions recruited."),
    ("CIP-24", "2024-03-25", 50, "Device lending scheme launched in libraries."),
    ("CIP-24", "2024-09-30", 65, "Funding bid for the plan's second phase unsuccessful."),
    ("CIP-24", "2025-04-28", 80, "Plan drafted; waiting for the voluntary sector forum."),
    ("CIP-25", "2024-04-15", 15, "Contact centre and reception teams merged."),
    ("CIP-25", "2024-10-07", 40, "One telephone number for all council services."),
    ("CIP-25", "2025-03-17", 60, "Online forms moved to one platform."),
    ("CIP-25", "2025-08-26", 85, "Customer service standards published."),
    ("CIP-27", "2023-02-06", 30, "Route modelling completed."),
    ("CIP-27", "2023-06-12", 60, "New rounds trialled in the north of the borough."),
    ("CIP-27", "2023-10-27", 100, "New rounds live borough-wide."),
)


def improvement_plan() -> tuple[list[list[str]], list[list[str]]]:
    owners = {**SERVICE_BY_SLUG, "performance": PERFORMANCE_LEAD}
    actions = []
    for action_id, title, source, slug, start, due, revised_due, why, completed in ACTIONS_PLAN:
        owner = owners[slug]
        actions.append(
            [
                action_id,
                title,
                source,
                owner.owner,
                owner.email,
                owner.directorate,
                start,
                due,
                revised_due,
                why,
                completed,
                AGREED_ON.get(action_id, ""),
                *example_framework.action_columns(action_id).values(),
            ]
        )
    by_action = {a[0]: a[3] for a in actions}
    updates = [
        [action_id, day, str(pct), note, by_action[action_id]] for action_id, day, pct, note in ACTION_UPDATES
    ]
    return actions, updates


# ---------------------------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------------------------


def outcome_text(outcome: str) -> str:
    """Reason codes in code style; descriptions of what happens to accepted rows as words."""
    return outcome if outcome.startswith(("accepted", "ignored")) else f"`{outcome}`"


def readme(real_rows: list[tuple[str, str, str, str, str]], problems: list[PlantedProblem]) -> str:
    real_table = "\n".join(
        f"| {code} | {title} | {year} | {value} | {source} |"
        for code, title, year, value, source in real_rows
    )
    problem_table = "\n".join(
        f"| {p.quarter} | `{p.file}` | {p.row or '–'} | {p.code or '–'} | {p.problem} | "
        f"{outcome_text(p.outcome)} |"
        for p in problems
    )
    return README_TEMPLATE.format(
        real_table=real_table, problem_table=problem_table, n_indicators=len(INDICATORS)
    )


README_TEMPLATE = """\
# Example data: Darlington Borough Council

This folder is a complete, worked example of a perf_pipeline data root. It
follows **Darlington Borough Council** (GSS `E06000005`) through the quarterly performance cycle
from 2021-22 Q1 to 2025-26 Q2: {n_indicators} indicators owned by ten services, their targets, the
returns the services sent each quarter, corrections, comparator data and the Corporate
Improvement Plan.

Darlington was chosen because it is a unitary council that appears in all three published sources
shipped here: the Oflog adult social care data, the Oflog waste data and the Oflog (CIPFA)
nearest-neighbour groups. So its real figures can be benchmarked against real comparators.

**This is not Darlington's performance data.** Apart from the figures listed under "Real
figures" below, every value, target, commentary, officer name and e-mail address is illustrative,
invented by `scripts/make_example_data.py`. Officer names are fictional; `darlington.example` is
not a real domain.

## Regenerating

```
python scripts/make_example_data.py            # reads ../shared/real-data, writes data/
python scripts/make_example_data.py --shared /path/to/real-data --data /tmp/example
```

The generator is deterministic (fixed seed, fixed workbook timestamps): running it twice gives
byte-identical files. It rewrites `reference/`, `benchmarks/`, `submissions/`, `corrections/`,
`improvement_plan/` and this README, and never touches what the pipeline writes (`warehouse/`,
`requests/`, `reports/`, `outbox/`, `.dagster/`).

## Layout

```
reference/
  council.toml            the council, its comparator groups, return deadline, reminder window
  services.csv            10 services in 4 directorates, with their return owners; each
                          service's Cabinet portfolio and scrutiny committee by the names of
                          Darlington's (2024-25), which service sits under which our reading
  indicators.csv          the indicator catalogue (SPEC §3)
  targets.csv             annual targets 2021-22 to 2025-26, quarterly profiles, in-year changes
  rag_rules.toml          standard, havering_style, maidstone_10, absolute_2
  authorities.csv         English authorities, current and abolished (mySociety register)
  nearest_neighbours.json CIPFA nearest neighbours as used by Oflog (copy of NN.json)
  comparator_groups.csv   a comparator group given as a CSV: the five Tees Valley councils
  approvals.csv           when Cabinet approved each quarter's report (the latest is a draft)
  value_for_money.csv     cost beside outcome: three pairs for 2017-18 (written for this example)
benchmarks/
  sources.toml            what each benchmark file is, its format, publisher and licence
  oflog/ASC_data.csv      Oflog adult social care metrics, as published
  oflog/testData.json     Oflog waste metrics, as published
  dluhc/council_tax_receipts.csv  DLUHC quarterly council tax receipts in long form (derived)
  mhclg/RS_2017-18_data_by_LA.xlsx  MHCLG revenue outturn summary 2017-18, as published
  mhclg/SpendingMillions.csv       core spending power 2012 to 2021, as published (wide CSV)
  mysociety/uk_local_authorities_current.csv  the authority register, read for its pop-2020
submissions/
  2021-22-Q1/ ... 2025-26-Q2/   service returns exactly as received (.csv, .xlsx)
  received.csv            the performance team's receipt log: quarter, file, received_on, received_by
corrections/
  2023-24-corrections.csv, 2025-26-corrections.csv
improvement_plan/
  actions.csv, updates.csv      the Corporate Improvement Plan and its progress updates
```

### How the services send their returns

Each service has its own habits, kept from quarter to quarter as real services do:

| service | format | header variants |
|---|---|---|
| revenues_benefits | CSV, Windows-1252 (`£`, `–`, `’` in commentary) | canonical lower-case names |
| customer_services | CSV, UTF-8 | `Code, Quarter, Actual, Numerator, Denominator, Comments, Status, submitted-by` |
| hr | XLSX, one title row, sheet `KPIs` | `PI Code, Period, Value, Comments, Status, Submitted By` |
| adult_social_care | CSV UTF-8 with BOM to 2023-24, then XLSX with two title rows; a separate `ASCOF outturn` workbook in Q4 | `Indicator Code, Period, Value, Numerator, Denominator, Commentary, Status, Submitted By` |
| housing | CSV, Windows-1252 to 2022-23, then UTF-8 | `PI_Code, Period, Actual, Numerator, Denominator, Commentary, Status, Submitted_By` |
| childrens_social_care | XLSX, two title rows and a blank row | `Indicator code, Period, Value, Numerator, Denominator, Commentary, Status, Submitted by` |
| education | CSV, UTF-8, no status column | `indicator code, quarter, value, numerator, denominator, comments, submitted by` |
| waste | XLSX with two title rows; from 2022-23 tonnages (WM01, WM02, WM06) come separately as CSV UTF-8 with BOM | `PI Code, Period, Actual, ...` / `Code, Period, Value, ...` |
| planning | CSV UTF-8 with BOM to 2023-24, then XLSX with one title row; no status column | `Code, Period, Value, Numerator, Denominator, Commentary, Submitted By` |
| economic_growth | XLSX, header on row 1, sheet `Sheet1` | `INDICATOR CODE, PERIOD, ACTUAL, COMMENTS, STATUS, SUBMITTED BY` |

Periods are blank (= the folder's quarter) or the folder's quarter as `2025/26 Q2` or
`2025-26-Q2`. Status is blank, `final`, `provisional` or `estimate`, in lower or title case. For
ratio indicators about 60% of rows give the value as well as numerator and denominator; the rest
leave the value blank to be derived. In workbooks, numbers are numeric cells unless a person
typed them as text (`£4,250,000`). Blank rows in CSV files are written as rows of empty fields
(`,,,,`), which count in the row numbers below exactly as a spreadsheet program shows them.

## Real figures

The Q4 returns for 2021-22 and 2022-23 carry Darlington's published values for the indicators
with an Oflog counterpart (`benchmark_metric` in `indicators.csv`), written exactly as published
(the ASC7 workforce turnover keeps the file's full precision). Values for 2023-24 onwards, and for
every other indicator, are illustrative.

| indicator | title | year | value | source |
|---|---|---|---|---|
{real_table}

### Sources and licences

- `benchmarks/oflog/ASC_data.csv`: Office for Local Government (Oflog), adult social care
  metrics, from `communitiesuk/oflog-automated-text` (`src/lib/ASC_data.csv`, commit
  `8036fa87bff7902004956b0561765af21af665da`). Crown copyright, Open Government Licence v3.0:
  "Contains public sector information licensed under the Open Government Licence v3.0."
- `benchmarks/oflog/testData.json`: Oflog / MHCLG waste metrics (underlying source DEFRA ENV18,
  WasteDataFlow), from `communitiesuk/mhclg_svelte_component_library`
  (`src/lib/data/testData.json`, commit `551faa456f326cf4056aea15d7aa8e0ffee118c1`). Open
  Government Licence v3.0: "Contains public sector information licensed under the Open
  Government Licence v3.0."
- `benchmarks/dluhc/council_tax_receipts.csv`: **derived** by `scripts/make_example_data.py` from
  DLUHC's "Receipts of Council Taxes: England" live table for Q4 2022-23 (`Table_5`, from
  `FemShow/ct-receipts`, branch `master`, commit `df557babc5fb1d6bbe7d4cda8b94ade56c0a3180`).
  The quarters of 2021-22 and 2022-23 are reshaped into the long shape of LG Inform and Trafford
  Data Lab downloads (`area_code, area_name, period, indicator, measure, unit, value`, periods
  written `2022/23 Q3`), one row per area and quarter, England and the regions included; values
  and `[z]` (not applicable: the authority did not exist) are exactly as in the workbook, in
  thousands of pounds. No indicator links to it: it shows a generic long CSV read through
  `sources.toml` with no code. Open Government Licence v3.0: "Contains public sector
  information licensed under the Open Government Licence v3.0."
- `benchmarks/mhclg/RS_2017-18_data_by_LA.xlsx`: MHCLG, "Revenue Outturn (RO) 2017-18: Revenue
  Outturn Summary (RS) data", the workbook as published (net current expenditure by service, £
  thousand), from `BBC-Data-Unit/council-cuts-charts` (commit
  `5b54d08f1af88ee6ba30719b8a2541bfa01e5e6d`). Crown copyright, Open Government Licence v3.0:
  "Contains public sector information licensed under the Open Government Licence v3.0."
- `benchmarks/mhclg/SpendingMillions.csv`: core spending power per council, £ million, 2012 to
  2021, compiled from MHCLG's Local Government Finance Settlement by
  `CaitHRobinson/councillorsatthecasino` (`spendingpower/SpendingMillions.csv`, commit
  `3b079018e4dfe62bbe036977a1c21f08ff6d3f50`), as published. The file does not say which
  financial year a year column is: `sources.toml` reads `2021` as 2021-22 (an assumption).
  Underlying data Open Government Licence v3.0.
- `benchmarks/mysociety/uk_local_authorities_current.csv`: mySociety's register of UK local
  authorities (`mysociety/uk_local_authority_names_and_codes`, commit
  `67ef8b118938678401a452f4f19f669a7221cc73`), as published; its `pop-2020` column is the
  population that divides costs into costs per resident. It is the only population in the
  shared real data, so 2017-18 costs are divided by 2020 populations, and every output says so.
  CC BY 4.0: "Contains data from mySociety's UK local authority names and codes."
- `reference/value_for_money.csv`: three pairs of a cost and an outcome, all 2017-18, written for
  this example from the published files above (adult social care; two of waste, whose cost is
  the RS line "Environmental and regulatory services", which includes waste collection and
  disposal and other services: the summary does not split it).
- `reference/comparator_groups.csv`: a comparator group given as a CSV (`group, authority_code`,
  with the name for readers): the five councils of the Tees Valley Combined Authority, GSS codes
  from `authorities.csv`. Written for this example.
- `reference/nearest_neighbours.json`: nearest-neighbour groups from
  `communitiesuk/oflog-automated-text` (`src/lib/NN.json`, same commit), using the CIPFA Nearest
  Neighbours model. CIPFA owns the model; LG Inform and Oflog publish the neighbour lists. It is
  included for testing; check CIPFA's terms before redistributing it in a product.
- `reference/authorities.csv`: derived from mySociety's UK local authority register
  (`mysociety/uk_local_authority_names_and_codes`, `uk_local_authorities_current.csv`, data
  package v1.6.1, commit `67ef8b118938678401a452f4f19f669a7221cc73`), licensed CC BY 4.0:
  "Contains data from mySociety's UK local authority names and codes, licensed under CC BY 4.0."
  Rows are the English authorities (current and abolished); `replaced_by` translates the
  register's three-letter successor codes into GSS codes, separated by `;`. Where the register
  gives an abolished authority no region, the region of its successor is used.

## Deliberate problems in the returns

The returns contain the mistakes real services make, so the pipeline's validation can be seen
working. Row numbers are those a spreadsheet program shows (CSV header = row 1; in a workbook the
sheet's own row number, counting title rows). "–" means the problem concerns the whole file.
Expected outcomes are reason codes in `return-exceptions.csv`, or what should happen to an
accepted row.

| quarter | file | row | indicator | problem | expected outcome |
|---|---|---|---|---|---|
{problem_table}

Late returns (received more than 15 working days after quarter end, see `submissions/received.csv`)
and services that sent nothing appear above with row "–". Every other figure a service did not
send (for example a whole file rejected as `missing_column` or `unreadable_file`, or a row whose
code was mistyped) is simply *not reported* for that quarter.

## Corrections

`corrections/2023-24-corrections.csv` and `corrections/2025-26-corrections.csv` hold:

- valid corrections of CSC02 2023-24-Q1 (numerator and denominator), HS03 2023-24-Q2, WM04
  2023-24-Q3 (supplying the figure the return gave as "see note") and ASC08 2024-25-Q4;
- RB01 2025-26-Q1 corrected twice: CR-2025-002 (approved 2025-08-05) and CR-2025-004 (approved
  2025-09-02), the later of which wins;
- CR-2023-003 (ED04 2023-24-Q2) with no approver, and CR-2025-003 (PL02 2025-26-Q1) with no
  reason: both must be rejected, never applied.

## Corporate Improvement Plan

`improvement_plan/actions.csv` holds 27 actions from 2021 to 2026, from peer reviews (the
Corporate Peer Challenge 2023, an LGA workforce peer review, a Planning Advisory Service peer
review), inspections (Ofsted, the SEND Local Area Partnership inspection, CQC), internal audit
reports (`IA-...`), the external auditor and the Overview and Scrutiny Committee.
`updates.csv` holds every progress update (per cent complete and a note). Six actions have a
revised due date with its reason (CIP-03, CIP-05, CIP-14, CIP-17, CIP-19, CIP-23); `agreed_on`
says when the plan took in an action that starts later (before that it is not listed).

As at the end of 2025-26 Q2 (30 September 2025): 12 Complete, 7 On track, 3 Behind schedule
(CIP-05, CIP-10, CIP-19), 2 Overdue (CIP-06 by 92 days, CIP-24 by 273 days) and 3 Not started
(CIP-12 and CIP-26 start later; CIP-21 started on 15 September with no progress yet). Earlier
quarters show the other turns: CIP-14 overdue at the end of 2022-23 Q3, CIP-18 overdue at the end
of 2022-23 Q4, both completed late.

Reminders as at 15 October 2025 (`perf-pipeline reminders --as-of 2025-10-15`, 14-day window):
the owners of CIP-06, CIP-10, CIP-19 and CIP-24 (overdue), CIP-22 and CIP-23 (due within the
window), and of the 2025-26 Q2 returns still missing or incomplete six days before the deadline;
Nadia Hussain owns both an action (CIP-22) and the education return, and gets one message.

## Targets worth knowing

- RB01, RB02 (council tax and business rates collection) and ASC11 (reviews) are cumulative with
  quarterly profiled targets, e.g. RB01 Q1 28, Q2 56, Q3 84, Q4 96.5.
- CS01, ED02 and HS02 have explicit amber thresholds.
- CS01 2024-25 was raised from 80 to 85 on 2024-10-15 ("Revised at Q2 review after Cabinet agreed
  new service standard"); ED02 2025-26 was lowered from 60 to 50 on 2025-07-22. The earlier targets
  stay on record.
- HR02 (RIDDOR reportable incidents) has a target of 0 and the `absolute_2` rule.
- CSC08 starts in 2023-24-Q1; WM07 ends after 2023-24-Q4.
"""


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def real_figure_rows(figures: dict[str, dict[str, Figure]]) -> list[tuple[str, str, str, str, str]]:
    source_file = {
        "oflog_asc": "benchmarks/oflog/ASC_data.csv (OGL-3.0)",
        "oflog_waste": "benchmarks/oflog/testData.json (OGL-3.0)",
    }
    rows = []
    for ind in INDICATORS:
        if not ind.benchmark_metric:
            continue
        source, metric = ind.benchmark_metric.split(":", 1)
        for year in REAL_YEARS:
            rows.append(
                (
                    ind.code,
                    ind.title,
                    year,
                    figures[ind.code][f"{year}-Q4"].text,
                    f"{source_file[source]}, metric `{metric}`",
                )
            )
    return rows


def build(root: Path, shared: Path) -> None:
    real = load_real_figures(shared)
    targets = target_rows()
    in_force = target_lookup(targets)
    figures = {ind.code: generate_figures(ind, in_force, real) for ind in INDICATORS}

    returns = Returns(build_returns(figures, in_force))
    plant_problems(returns, figures)

    for part in OWNED_PARTS:
        shutil.rmtree(root / part, ignore_errors=True)
    write_reference(root, shared, targets)
    write_benchmarks(root, shared)

    problems: list[PlantedProblem] = []
    for ret in returns.files:
        problems.extend(write_return(ret, root))
    received = receipts(returns.files)
    write_csv(
        root / "submissions" / "received.csv", ["quarter", "file", "received_on", "received_by"], received
    )
    for row in received:
        quarter, service = row["quarter"], _service_of(returns, row["file"])
        if (quarter, service) in LATE:
            problems.append(
                PlantedProblem(
                    quarter,
                    row["file"].split("/", 1)[1],
                    "",
                    "",
                    f"Received {row['received_on']}, after the 15-working-day deadline",
                    "late",
                )
            )
    for quarter, service in NOT_RETURNED:
        problems.append(
            PlantedProblem(
                quarter,
                f"(nothing from {service})",
                "",
                "",
                "Service sent no return: on the chase list",
                "not_reported",
            )
        )
    problems.sort(key=lambda p: (p.quarter, p.file, int(p.row or 0)))

    for name, rows in correction_files(figures).items():
        write_csv(root / "corrections" / name, CORRECTION_COLUMNS, rows)
    actions, updates = improvement_plan()
    write_csv(root / "improvement_plan" / "actions.csv", ACTION_COLUMNS, actions)
    write_csv(root / "improvement_plan" / "updates.csv", UPDATE_COLUMNS, updates)
    example_framework.write_reference(root)
    cs03 = {q: (f.numerator, f.denominator) for q, f in figures["CS03"].items() if f.denominator}
    example_framework.write_feedback(root, cs03, workbook_bytes)
    (root / "README.md").write_text(
        readme(real_figure_rows(figures), problems) + example_framework.README, encoding="utf-8"
    )


def _service_of(returns: Returns, path: str) -> str:
    return next(f.service for f in returns.files if f.path == path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help="folder holding the real published data (default: %(default)s)",
    )
    parser.add_argument(
        "--data", type=Path, default=REPO / "data", help="data root to write (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    build(args.data, args.shared)
    print(f"Example data written to {args.data}")


if __name__ == "__main__":
    main()
