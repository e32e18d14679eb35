"""The council's benchmarks: its positions for every period it has a value, and a quarter's choice."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perf_pipeline.lib.benchmarks.normalise import catalogue_links, comparable_values
from perf_pipeline.lib.benchmarks.periods import parse_period
from perf_pipeline.lib.benchmarks.positions import POSITION_COLUMNS, group_positions
from perf_pipeline.lib.quarters import Quarter

OUTLIER_MADS = 3.0

# What a position holds beyond whose, which group, metric and period: n, median, rank and the rest.
STATISTICS = [c for c in POSITION_COLUMNS if c not in ("authority_code", "group", "metric", "period")]
# The council's positions, one row per benchmarked metric, period and group (see `council_positions`).
HISTORY_COLUMNS = [
    "metric",
    "metric_title",
    "unit",
    "polarity",
    "period",
    "period_start",
    "period_end",
    "group",
    *STATISTICS,
]

REPORT_COLUMNS = [
    "indicator_code",
    "metric",
    "group",
    "period",
    "n",
    "n_missing",
    "value",
    "median",
    "rank",
    "quartile",
    "diff_from_median",
    "mads_from_median",
    "lag_quarters",
    "outlier",
    "metric_title",
    "unit",
    "polarity",
    "group_size",
    "mad",
]


def linked_metrics(indicators: pd.DataFrame) -> pd.DataFrame:
    """Each benchmarked indicator with its `source:metric`."""
    return catalogue_links(indicators).assign(metric=lambda d: d["source"] + ":" + d["metric"])


def council_positions(
    values: pd.DataFrame,
    groups: pd.DataFrame,
    indicators: pd.DataFrame,
    council_code: str,
    group_names: list[str],
) -> pd.DataFrame:
    """The council's position in each of its comparator groups, for every period in which it has a
    published value of each benchmarked metric: all that a quarter's benchmarks need, none of it
    depending on the quarter.

    One row per metric an indicator names that the benchmark data holds, period in which the
    council has a value, and group; a metric for which the council has no value is one row with
    no period, and a period is one row with no group when the council has none of `group_names`
    (which periods the council has a value in is what a quarter chooses from).
    """
    comparable, polarity = comparable_values(values)
    comparable = comparable[comparable["metric"].isin(linked_metrics(indicators)["metric"])]
    described = comparable.drop_duplicates("metric")[["metric", "metric_title", "unit"]]
    described = described.assign(polarity=described["metric"].map(polarity))
    mine = comparable.loc[
        (comparable["area_code"] == council_code) & comparable["value"].notna(),
        ["metric", "period", "period_start", "period_end"],
    ]
    # Each metric and period is a computation of its own: only those the council has a value in.
    slices = comparable.merge(mine[["metric", "period"]], on=["metric", "period"])
    own_groups = groups[(groups["authority_code"] == council_code) & groups["group"].isin(group_names)]
    positions = group_positions(slices[["metric", "period", "area_code", "value"]], own_groups, polarity)
    positions = positions.drop(columns="authority_code").astype(
        {c: str for c in ("group", "metric", "period")}
    )
    history = described.merge(mine, on="metric", how="left").merge(
        positions, on=["metric", "period"], how="left"
    )
    return history[HISTORY_COLUMNS].reset_index(drop=True)


def council_benchmarks(
    quarter: Quarter, positions: pd.DataFrame, indicators: pd.DataFrame, group_names: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per benchmarked indicator and group: the council's position for the quarter, from
    its positions for every period (`council_positions`).

    The period compared is the latest one ending no later than the quarter in which the council
    has a published value; a year counts as its Q4 for the lag. Also returns the indicators and
    groups that could not be compared (`indicator_code, metric, group, note`), to be reported.
    """
    links = linked_metrics(indicators)
    mine = positions[positions["period_end"] <= pd.Timestamp(quarter.end)]
    latest = mine.sort_values(["period_end", "period_start"]).drop_duplicates("metric", keep="last")
    chosen = positions.merge(latest[["metric", "period"]], on=["metric", "period"])
    chosen = chosen.loc[chosen["group"].notna(), ["metric", "period", "group", *STATISTICS]]

    grid = links[["indicator_code", "metric"]].merge(pd.DataFrame({"group": group_names}), how="cross")
    out = grid.merge(chosen, on=["metric", "group"], how="left")
    described = positions.drop_duplicates("metric").set_index("metric")
    out["metric_title"] = out["metric"].map(described["metric_title"])
    out["unit"] = out["metric"].map(described["unit"])
    out["polarity"] = out["metric"].map(described["polarity"])
    out["group_size"] = out["n"] + out["n_missing"]
    out["lag_quarters"] = out["period"].map(
        lambda p: quarter - parse_period(p).last if isinstance(p, str) else None, na_action="ignore"
    )
    out["outlier"] = (out["mads_from_median"].abs() > OUTLIER_MADS) | (
        out["mad"].eq(0) & out["diff_from_median"].ne(0)
    )
    # Wherever the council has a value it has a position in each of its groups: a metric
    # published, with a value up to the quarter, and no position is a group the council lacks.
    out["note"] = np.select(
        [~out["metric"].isin(described.index), ~out["metric"].isin(latest["metric"]), out["n"].isna()],
        [
            "the benchmark metric is not in the benchmark data",
            f"no published value for the council up to {quarter.label}",
            "the council has no such comparator group",
        ],
        "",
    )
    gaps = out.loc[out["note"] != "", ["indicator_code", "metric", "group", "note"]].reset_index(drop=True)
    out = out[out["note"] == ""].copy()
    for column in ("n", "n_missing", "rank", "quartile", "lag_quarters", "group_size"):
        out[column] = out[column].astype("Int64")
    # A median of two values carries binary noise (43.900000000000006); no published figure has
    # more than 9 decimals, so the derived ones are shown to 9.
    for column in ("median", "mad", "diff_from_median", "mads_from_median"):
        out[column] = out[column].round(9)
    order = {name: i for i, name in enumerate(group_names)}
    out = out.sort_values(["indicator_code", "group"], key=lambda s: s.map(order) if s.name == "group" else s)
    return out[REPORT_COLUMNS].reset_index(drop=True), gaps
