"""Published periods: financial years and quarters, in the project's labels."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from perf_pipeline.lib.quarters import Quarter, QuarterError, fiscal_year_key

PERIOD_LABEL = r"^\d{4}-\d{2}(-Q[1-4])?$"


@dataclass(frozen=True)
class Period:
    """A published period: a financial year (`2022-23`) or a quarter (`2022-23-Q3`)."""

    label: str
    first: Quarter
    last: Quarter

    @property
    def kind(self) -> str:
        return "quarter" if self.first == self.last else "year"


def parse_period(text: str) -> Period:
    """`2022-23`, `2022/23`, `2022/23 Q3`, `Q3 2022-23` ... in the project's labels."""
    try:
        quarter = Quarter.parse(text)
    except QuarterError:
        year = int(fiscal_year_key(text)[:4])  # raises QuarterError for anything else
        return Period(f"{year}-{(year + 1) % 100:02d}", Quarter(year, 1), Quarter(year, 4))
    return Period(quarter.key, quarter, quarter)


def periods_table(labels: pd.Series) -> pd.DataFrame:
    """Each distinct period text with its label, type and dates (label None when not a period)."""
    rows = {}
    for text in pd.unique(labels):
        try:
            period = parse_period(text)
        except QuarterError:
            rows[text] = (None, None, pd.NaT, pd.NaT)
            continue
        rows[text] = (
            period.label,
            period.kind,
            pd.Timestamp(period.first.start),
            pd.Timestamp(period.last.end),
        )
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["period", "period_type", "period_start", "period_end"]
    )
