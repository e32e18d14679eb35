"""What `benchmark_values` and `comparator_benchmarks` are held to: the checks' names and rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from perf_pipeline.lib.benchmarks.normalise import NONE
from perf_pipeline.lib.benchmarks.periods import PERIOD_LABEL
from perf_pipeline.lib.reference import POLARITIES

# The checks' names, used by the assets that run them and by the tests.
AREAS_KNOWN = "area_codes_known"
ONE_VALUE_EACH = "one_value_per_area_and_period"
VALUES_NUMERIC = "values_are_numbers"
PERIODS_RECOGNISED = "periods_recognised"
POLARITY_AGREES = "polarity_agrees_with_catalogue"
LISTS_WITHOUT_REPEATS = "group_lists_without_repeats"
MEMBERS_KNOWN = "group_members_known"
POSITIONS_CONSISTENT = "positions_consistent"
EVERY_INDICATOR_BENCHMARKED = "every_indicator_benchmarked"

# Published aggregates (England E92, regions E12) sit beside authorities in downloads such as LG
# Inform's: they are kept, but are neither unknown codes nor members of any group.
AGGREGATE_CODE = r"^E(92|12)\d{6}$"

VALUE_CHECK_RULES = {
    AREAS_KNOWN: (
        "is not an authority in authorities.csv",
        "area_code",
        "not list_contains($known, area_code) and not regexp_full_match(area_code, $aggregate)",
    ),
    ONE_VALUE_EACH: (
        "more than one row for this source, metric, period and area",
        "source || ' ' || metric || ' ' || period || ' ' || area_code",
        "count(*) over (partition by source, metric, period, area_code) > 1",
    ),
    VALUES_NUMERIC: ("is not a number", "raw_value", "value_status = 'not_a_number'"),
    PERIODS_RECOGNISED: (
        "is not a financial year (2022-23) or a quarter (2022/23 Q3)",
        "period",
        "period_type is null",
    ),
}


def benchmark_value_failures(con, table: str, known_codes: list[str], shown: int | None = None) -> dict:
    """Each check's failures: `(count, cases)`, the cases (at most `shown`) naming file and row."""
    found, parameters = {}, {"known": list(known_codes), "aggregate": AGGREGATE_CODE}
    for name, (error, case, where) in VALUE_CHECK_RULES.items():
        failing = (
            f"(select file, source_row, {case} as failure_case, {where} as failed from {table}) where failed"
        )
        used = {k: v for k, v in parameters.items() if f"${k}" in where}
        count = con.execute(f"select count(*) from {failing}", used).fetchone()[0]
        cases = con.execute(
            f"select file || ' row ' || source_row as index, $error as check, failure_case from {failing} "
            "order by file, source_row limit $shown",
            {**used, "error": error, "shown": count if shown is None else shown},
        ).fetchdf()
        found[name] = (count, cases)
    return found


def _consistent_quartiles(d: pd.DataFrame) -> pd.Series:
    expected = 1 + np.floor(4 * (d["rank"].astype(float) - 1) / d["n"].astype(float))
    return d["quartile"].isna() | (d["quartile"].astype(float) == expected)


comparator_benchmarks_schema = pa.DataFrameSchema(
    {
        "indicator_code": pa.Column(str),
        "group": pa.Column(str),
        "period": pa.Column(str, pa.Check.str_matches(PERIOD_LABEL)),
        "n": pa.Column("Int64", pa.Check.ge(1)),
        "n_missing": pa.Column("Int64", pa.Check.ge(0)),
        "value": pa.Column(float),
        "median": pa.Column(float),
        "rank": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "quartile": pa.Column("Int64", pa.Check.isin([1, 2, 3, 4]), nullable=True),
        "lag_quarters": pa.Column("Int64", pa.Check.ge(0)),
        "outlier": pa.Column(bool),
        "polarity": pa.Column(str, pa.Check.isin(POLARITIES)),
    },
    checks=[
        pa.Check(lambda d: d["rank"].isna() | (d["rank"] <= d["n"]), error="a rank is at most n"),
        pa.Check(_consistent_quartiles, error="quartile = 1 + floor(4 (rank - 1) / n)"),
        pa.Check(lambda d: d["rank"].isna() | d["polarity"].ne(NONE), error="polarity none is never ranked"),
    ],
    unique=["indicator_code", "group"],
)
