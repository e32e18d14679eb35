"""Reference data: the council, its services, indicators, targets, RAG rules and authorities.

Each file is read as text and checked with a pandera schema before any value is used, so a
mistake in the catalogue is reported as `reference/indicators.csv row 7, column 'polarity': ...`
instead of a wrong RAG status months later.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from perf_pipeline.lib.quarters import Quarter, QuarterError, fiscal_year_key
from perf_pipeline.lib.validation import ReferenceDataError, validate_or_raise

if TYPE_CHECKING:  # imported where a schema is built: the Dagster definitions load without pandera
    import pandera.pandas as pa

UNITS = ["percent", "count", "number", "currency", "days"]
POLARITIES = ["higher_is_better", "lower_is_better", "none"]
FREQUENCIES = ["quarterly", "annual"]
YTD_METHODS = ["sum", "mean", "last", "ratio", "cumulative"]
LEVELS = ["strategic", "service", "programme"]
TOLERANCE_TYPES = ["relative", "absolute"]
DEFAULT_RAG_RULE = "standard"
DEFAULT_DECIMALS = 1
COUNCIL_KEYS = [
    "name",
    "gss_code",
    "comparator_groups",
    "return_deadline_working_days",
    "reminder_window_days",
]

OPTIONAL_INDICATOR_COLUMNS = [
    "definition",
    "unit_label",
    "decimals",
    "min_value",
    "max_value",
    "priority",
    "rag_rule",
    "benchmark_metric",
    "active_from",
    "active_to",
]


def read_text_table(path: Path) -> tuple[pd.DataFrame, pd.Series]:
    """A reference CSV as stripped text, blanks as missing, with spreadsheet row numbers."""
    if not path.is_file():
        raise ReferenceDataError([f"{path.name}: the file is missing (expected at {path})"])
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise ReferenceDataError(
            [f"{path.name}: the file is empty (expected a header row and rows)"]
        ) from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ReferenceDataError([f"{path.name}: cannot be read as a UTF-8 CSV ({exc})"]) from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    df = df.apply(lambda col: col.str.strip()).replace("", None)
    df = df.dropna(how="all")
    return df, pd.Series(df.index + 2, index=df.index)


def _is_number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").notna()


def _is_quarter(values: pd.Series) -> pd.Series:
    def ok(text: str) -> bool:
        try:
            Quarter.parse(text)
        except QuarterError:
            return False
        return True

    return values.map(ok)


def _is_fiscal_year(values: pd.Series) -> pd.Series:
    def ok(text: str) -> bool:
        try:
            fiscal_year_key(text)
        except QuarterError:
            return False
        return True

    return values.map(ok)


def _is_date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce", format="ISO8601").notna()


def _one_of(choices: list[str]) -> pa.Check:
    import pandera.pandas as pa

    return pa.Check.isin(choices, error=f"is not one of {', '.join(choices)}")


@functools.cache
def number_check() -> pa.Check:
    import pandera.pandas as pa

    return pa.Check(_is_number, error="is not a number")


@functools.cache
def quarter_check() -> pa.Check:
    import pandera.pandas as pa

    return pa.Check(_is_quarter, error="is not a quarter (write it as 2025-26-Q1)")


@functools.cache
def email_check() -> pa.Check:
    import pandera.pandas as pa

    return pa.Check.str_matches(r"^[^@\s]+@[^@\s]+$", error="is not an e-mail address")


@functools.cache
def date_check() -> pa.Check:
    import pandera.pandas as pa

    return pa.Check(_is_date, error="is not a date (write it as 2025-03-31)")


def _text(required: bool = True, checks: list[pa.Check] | None = None, **kwargs) -> pa.Column:
    import pandera.pandas as pa

    return pa.Column(str, checks or [], nullable=not required, required=required, **kwargs)


def load_council(path: Path) -> dict:
    """`council.toml`: the council's name, GSS code, comparator groups and deadlines."""
    if not path.is_file():
        raise ReferenceDataError([f"{path.name}: the file is missing (expected at {path})"])
    try:
        council = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError([f"{path.name}: not valid TOML ({exc})"]) from None
    problems = [f"{path.name}: key '{key}' is missing" for key in COUNCIL_KEYS if key not in council]
    for key in ("return_deadline_working_days", "reminder_window_days"):
        if key in council and (not isinstance(council[key], int) or council[key] < 0):
            problems.append(f"{path.name}: '{key}' must be a whole number of days")
    if problems:
        raise ReferenceDataError(problems)
    return council


def load_rag_rules(path: Path) -> dict[str, dict]:
    """`rag_rules.toml`: named tolerance rules, each checked for sense."""
    if not path.is_file():
        raise ReferenceDataError([f"{path.name}: the file is missing (expected at {path})"])
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError([f"{path.name}: not valid TOML ({exc})"]) from None
    rules, problems = {}, []
    for name, rule in raw.items():
        where = f"{path.name} [{name}]"
        if not isinstance(rule, dict):
            problems.append(f"{where}: must be a table of settings")
            continue
        green = rule.get("green_within", 0.0)
        amber = rule.get("amber_within", green)
        tolerance = rule.get("tolerance_type", "relative")
        if not isinstance(green, int | float) or green < 0:
            problems.append(f"{where}: green_within must be a number of at least 0")
        elif not isinstance(amber, int | float) or amber < green:
            problems.append(f"{where}: amber_within must be a number not below green_within")
        if tolerance not in TOLERANCE_TYPES:
            problems.append(f"{where}: tolerance_type '{tolerance}' is not relative or absolute")
        rules[name] = {
            "green_within": float(green) if isinstance(green, int | float) else 0.0,
            "amber_within": float(amber) if isinstance(amber, int | float) else 0.0,
            "tolerance_type": tolerance,
            "amber_if_improved": bool(rule.get("amber_if_improved", False)),
            "description": str(rule.get("description", "")),
        }
    if DEFAULT_RAG_RULE not in rules:
        problems.append(f"{path.name}: the default rule [{DEFAULT_RAG_RULE}] is missing")
    if problems:
        raise ReferenceDataError(problems)
    return rules


OPTIONAL_SERVICE_COLUMNS = ["portfolio", "scrutiny_committee"]


def load_services(path: Path) -> pd.DataFrame:
    """`services.csv`: each service with its directorate, return owner, and optionally its Cabinet
    portfolio and scrutiny committee."""
    import pandera.pandas as pa

    df, rows = read_text_table(path)
    for optional in OPTIONAL_SERVICE_COLUMNS:
        if optional not in df.columns:
            df[optional] = None
    schema = pa.DataFrameSchema(
        {
            "service": _text(
                checks=[
                    pa.Check.str_matches(
                        r"^[A-Za-z0-9_-]+$", error="may hold only letters, digits, '-' and '_'"
                    )
                ],
                unique=True,
            ),
            "name": _text(),
            "directorate": _text(),
            "owner": _text(),
            "owner_email": _text(
                checks=[pa.Check.str_matches(r"^[^@\s]+@[^@\s]+$", error="is not an e-mail address")]
            ),
            "portfolio": _text(required=False),
            "scrutiny_committee": _text(required=False),
        }
    )
    return validate_or_raise(schema, df, f"reference/{path.name}", rows).reset_index(drop=True)


def load_indicators(path: Path, services: pd.DataFrame, rag_rules: dict) -> pd.DataFrame:
    """`indicators.csv` checked against the services and RAG rules, with defaults filled in."""
    import pandera.pandas as pa

    df, rows = read_text_table(path)
    for optional in OPTIONAL_INDICATOR_COLUMNS:
        if optional not in df.columns:
            df[optional] = None
    schema = pa.DataFrameSchema(
        {
            "code": _text(
                checks=[
                    pa.Check.str_matches(
                        r"^[A-Za-z0-9._-]+$", error="may hold only letters, digits, '-', '_' and '.'"
                    )
                ],
                unique=True,
            ),
            "title": _text(),
            "definition": _text(required=False),
            "unit": _text(checks=[_one_of(UNITS)]),
            "unit_label": _text(required=False),
            "polarity": _text(checks=[_one_of(POLARITIES)]),
            "frequency": _text(checks=[_one_of(FREQUENCIES)]),
            "ytd_method": _text(checks=[_one_of(YTD_METHODS)]),
            "decimals": _text(
                required=False,
                checks=[pa.Check.str_matches(r"^[0-6]$", error="must be a whole number from 0 to 6")],
            ),
            "min_value": _text(required=False, checks=[number_check()]),
            "max_value": _text(required=False, checks=[number_check()]),
            "service": _text(
                checks=[pa.Check.isin(list(services["service"]), error="is not a service in services.csv")]
            ),
            "priority": _text(required=False),
            "level": _text(checks=[_one_of(LEVELS)]),
            "rag_rule": _text(
                required=False,
                checks=[pa.Check.isin(list(rag_rules), error="is not a rule in rag_rules.toml")],
            ),
            "benchmark_metric": _text(
                required=False,
                checks=[pa.Check.str_matches(r"^[A-Za-z0-9_.-]+:.+$", error="must be written source:metric")],
            ),
            "active_from": _text(required=False, checks=[quarter_check()]),
            "active_to": _text(required=False, checks=[quarter_check()]),
        },
        checks=[
            pa.Check(
                lambda d: (
                    ~(
                        pd.to_numeric(d["min_value"], errors="coerce")
                        > pd.to_numeric(d["max_value"], errors="coerce")
                    )
                ),
                error="min_value is greater than max_value",
            )
        ],
    )
    df = validate_or_raise(schema, df, f"reference/{path.name}", rows)
    df["source_row"] = rows
    df["rag_rule"] = df["rag_rule"].fillna(DEFAULT_RAG_RULE)
    df["decimals"] = pd.to_numeric(df["decimals"]).fillna(DEFAULT_DECIMALS).astype(int)
    df["min_value"] = pd.to_numeric(df["min_value"])
    df["max_value"] = pd.to_numeric(df["max_value"])
    df.loc[df["unit"].eq("percent") & df["min_value"].isna(), "min_value"] = 0.0
    df.loc[df["unit"].eq("percent") & df["max_value"].isna(), "max_value"] = 100.0
    df.loc[df["unit"].isin(["count", "days"]) & df["min_value"].isna(), "min_value"] = 0.0
    for column in ("active_from", "active_to"):
        df[column] = df[column].map(lambda v: Quarter.parse(v).key if isinstance(v, str) else None)
    services_info = services.rename(
        columns={"name": "service_name", "owner": "service_owner", "owner_email": "service_owner_email"}
    )
    return df.merge(services_info, on="service", how="left").reset_index(drop=True)


def load_targets(path: Path, indicators: pd.DataFrame) -> pd.DataFrame:
    """`targets.csv`: every target ever set, each with the date it was set and why."""
    import pandera.pandas as pa

    df, rows = read_text_table(path)
    if "amber_threshold" not in df.columns:
        df["amber_threshold"] = None
    df["quarter"] = df["quarter"] if "quarter" in df.columns else None
    schema = pa.DataFrameSchema(
        {
            "code": _text(
                checks=[
                    pa.Check.isin(list(indicators["code"]), error="is not an indicator in indicators.csv")
                ]
            ),
            "year": _text(
                checks=[pa.Check(_is_fiscal_year, error="is not a financial year (write it as 2025-26)")]
            ),
            "quarter": _text(required=False, checks=[_one_of(["Q1", "Q2", "Q3", "Q4"])]),
            "target": _text(checks=[number_check()]),
            "amber_threshold": _text(required=False, checks=[number_check()]),
            "set_on": _text(checks=[date_check()]),
            "reason": _text(),
        },
        unique=["code", "year", "quarter", "set_on"],
        report_duplicates="exclude_first",
    )
    df = validate_or_raise(schema, df, f"reference/{path.name}", rows)
    df["source_row"] = rows
    df["year"] = df["year"].map(fiscal_year_key)
    df["target"] = pd.to_numeric(df["target"])
    df["amber_threshold"] = pd.to_numeric(df["amber_threshold"])
    df["set_on"] = pd.to_datetime(df["set_on"], format="ISO8601")
    return df.reset_index(drop=True)


def load_authorities(path: Path) -> pd.DataFrame:
    """`authorities.csv`: every English authority with its type, region and any successor."""
    import pandera.pandas as pa

    df, rows = read_text_table(path)
    for optional in (
        "official_name",
        "authority_type_name",
        "start_date",
        "end_date",
        "replaced_by",
        "ecode",
    ):
        if optional not in df.columns:
            df[optional] = None
    schema = pa.DataFrameSchema(
        {
            "gss_code": _text(
                checks=[pa.Check.str_matches(r"^E\d{8}$", error="is not an English GSS code")], unique=True
            ),
            "name": _text(),
            "authority_type": _text(),
            "region": _text(required=False),
            "start_date": _text(required=False, checks=[date_check()]),
            "end_date": _text(required=False, checks=[date_check()]),
            "replaced_by": _text(required=False),
        }
    )
    df = validate_or_raise(schema, df, f"reference/{path.name}", rows)
    for column in ("start_date", "end_date"):
        df[column] = pd.to_datetime(df[column], format="ISO8601")
    return df.reset_index(drop=True)


def due_in(indicators: pd.DataFrame, quarter: Quarter) -> pd.Series:
    """Which indicators are due in a quarter: active then, and annual ones in Q4 only."""
    active_from = indicators["active_from"].map(lambda v: Quarter.parse(v) if v else None)
    active_to = indicators["active_to"].map(lambda v: Quarter.parse(v) if v else None)
    started = active_from.map(lambda q: q is None or q <= quarter)
    not_ended = active_to.map(lambda q: q is None or q >= quarter)
    by_frequency = indicators["frequency"].eq("quarterly") | (quarter.q == 4)
    return (started & not_ended & by_frequency).astype(bool)
