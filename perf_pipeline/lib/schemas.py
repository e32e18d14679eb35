"""Pandera schemas for the tables the pipeline produces: what each asset check holds them to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from perf_pipeline.lib.benchmarks.normalise import NONE
from perf_pipeline.lib.benchmarks.periods import PERIOD_LABEL
from perf_pipeline.lib.improvement_plan import ACTION_STATUSES, OVERDUE
from perf_pipeline.lib.performance import DOT_VALUES, RAG_STATUSES
from perf_pipeline.lib.reference import POLARITIES
from perf_pipeline.lib.returns_validation import REASONS, STATUSES

QUARTER_KEY = r"^\d{4}-\d{2}-Q[1-4]$"

service_returns_raw_schema = pa.DataFrameSchema(
    {
        "file": pa.Column(str, pa.Check.str_length(min_value=1)),
        "file_sha256": pa.Column(str, pa.Check.str_matches(r"^([0-9a-f]{64})?$")),
        "row_number": pa.Column("Int64", pa.Check.ge(1), nullable=True),
    },
    checks=[
        pa.Check(
            lambda d: d["row_number"].notna() | d["file_problem"].ne(""),
            error="a record without a row number must name the file's problem",
        )
    ],
)

service_returns_validated_schema = pa.DataFrameSchema(
    {
        "indicator_code": pa.Column(str),
        "period": pa.Column(str, pa.Check.str_matches(QUARTER_KEY)),
        "row": pa.Column("Int64", pa.Check.ge(1)),
        "value": pa.Column(float, nullable=True),
        "reported": pa.Column(bool),
        "data_status": pa.Column(str, pa.Check.isin(sorted(STATUSES))),
    },
    checks=[pa.Check(lambda d: d["reported"] == d["value"].notna(), error="reported rows carry a value")],
    unique=["indicator_code", "period"],
)

return_exceptions_schema = pa.DataFrameSchema(
    {
        "file": pa.Column(str, pa.Check.str_length(min_value=1)),
        "reason": pa.Column(str, pa.Check.isin(sorted(REASONS))),
        "message": pa.Column(str, pa.Check.str_length(min_value=1)),
    }
)

indicator_values_schema = pa.DataFrameSchema(
    {
        "indicator_code": pa.Column(str),
        "quarter": pa.Column(str, pa.Check.str_matches(QUARTER_KEY)),
        "value": pa.Column(float, nullable=True),
        "reporting_status": pa.Column(str, pa.Check.isin(["reported", "not_reported", "missing"])),
    },
    checks=[
        pa.Check(
            lambda d: (d["reporting_status"] == "reported") == d["value"].notna(),
            error="a reported figure has a value, and only a reported one",
        ),
        pa.Check(
            lambda d: d["value"].isna() | d["source_file"].notna() | d["corrections"].ne(""),
            error="every figure traces to a source row or a correction",
        ),
    ],
    unique=["indicator_code", "quarter"],
    report_duplicates="all",
)

indicator_performance_schema = pa.DataFrameSchema(
    {
        "indicator_code": pa.Column(str, unique=True),
        "quarter": pa.Column(str, pa.Check.str_matches(QUARTER_KEY)),
        "rag_status": pa.Column(str, pa.Check.isin(RAG_STATUSES)),
        "ytd_rag_status": pa.Column(str, pa.Check.isin(RAG_STATUSES)),
        "dot_short": pa.Column(str, pa.Check.isin(DOT_VALUES)),
        "dot_long": pa.Column(str, pa.Check.isin(DOT_VALUES)),
    },
    checks=[
        pa.Check(
            lambda d: (
                ~d["rag_status"].isin(["Green", "Amber", "Red"]) | (d["value"].notna() & d["target"].notna())
            ),
            error="a Green, Amber or Red status has both a value and a target",
        ),
        pa.Check(
            lambda d: ~d["rag_status"].isin(["Green", "Amber", "Red"]) | d["polarity"].ne("none"),
            error="an indicator with polarity none is never rated",
        ),
    ],
)

improvement_plan_status_schema = pa.DataFrameSchema(
    {
        "action_id": pa.Column(str, unique=True),
        "status": pa.Column(str, pa.Check.isin(ACTION_STATUSES)),
        "percent_complete": pa.Column(float, pa.Check.in_range(0, 100)),
        "days_overdue": pa.Column(int, pa.Check.ge(0)),
    },
    checks=[
        pa.Check(
            lambda d: (d["status"] == OVERDUE) == (d["days_overdue"] > 0),
            error="an overdue action, and only an overdue one, has days overdue",
        ),
    ],
)


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


value_for_money_schema = pa.DataFrameSchema(
    {
        "pair_id": pa.Column(str),
        "group": pa.Column(str),
        "n": pa.Column("Int64", pa.Check.ge(1)),
        "cost_rank": pa.Column("Int64", pa.Check.ge(1)),
        "cost_percentile": pa.Column(float, pa.Check.in_range(0, 100), nullable=True),
        "outcome_percentile": pa.Column(float, pa.Check.in_range(0, 100), nullable=True),
        "cost_per_unit": pa.Column(float),
        "lag_quarters": pa.Column("Int64", pa.Check.ge(0)),
        "prices": pa.Column(str, pa.Check.str_matches(r"^(cash|real at \d{4}-\d{2} prices)$")),
    },
    checks=[
        pa.Check(lambda d: d["cost_rank"] <= d["n"], error="a rank is at most n"),
        pa.Check(
            lambda d: d["outcome_rank"].isna() | (d["outcome_rank"] <= d["n"]), error="a rank is at most n"
        ),
    ],
    unique=["pair_id", "group"],
)
