"""The council's benchmarks for a quarter: its positions, the period compared and its lag."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perf_pipeline.lib.benchmarks.normalise import catalogue_links, comparable_values
from perf_pipeline.lib.benchmarks.periods import parse_period
from perf_pipeline.lib.benchmarks.positions import group_positions
from perf_pipeline.lib.quarters import Quarter

OUTLIER_MADS = 3.0

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


def council_benchmarks(
    quarter: Quarter,
    values: pd.DataFrame,
    groups: pd.DataFrame,
    indicators: pd.DataFrame,
    council_code: str,
    group_names: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per benchmarked indicator and group: the council's position for the quarter.

    The period compared is the latest one ending no later than the quarter in which the council
    has a published value; a year counts as its Q4 for the lag. Also returns the indicators and
    groups that could not be compared (`indicator_code, metric, group, note`), to be reported.
    """
    comparable, polarity = comparable_values(values)
    links = catalogue_links(indicators).assign(metric=lambda d: d["source"] + ":" + d["metric"])
    comparable = comparable[comparable["metric"].isin(links["metric"])]
    mine = comparable[
        (comparable["area_code"] == council_code)
        & comparable["value"].notna()
        & (comparable["period_end"] <= pd.Timestamp(quarter.end))
    ]
    latest = mine.sort_values(["period_end", "period_start"]).drop_duplicates("metric", keep="last")
    chosen = comparable.merge(latest[["metric", "period"]], on=["metric", "period"])
    own_groups = groups[(groups["authority_code"] == council_code) & groups["group"].isin(group_names)]
    positions = group_positions(chosen[["metric", "period", "area_code", "value"]], own_groups, polarity)
    positions = positions.astype({c: str for c in ("authority_code", "group", "metric", "period")})

    grid = links[["indicator_code", "metric"]].merge(pd.DataFrame({"group": group_names}), how="cross")
    out = grid.merge(positions.drop(columns="authority_code"), on=["metric", "group"], how="left")
    described = comparable.drop_duplicates("metric").set_index("metric")
    out["metric_title"] = out["metric"].map(described["metric_title"])
    out["unit"] = out["metric"].map(described["unit"])
    out["polarity"] = out["metric"].map(polarity)
    out["group_size"] = out["n"] + out["n_missing"]
    out["lag_quarters"] = out["period"].map(
        lambda p: quarter - parse_period(p).last if isinstance(p, str) else None, na_action="ignore"
    )
    out["outlier"] = (out["mads_from_median"].abs() > OUTLIER_MADS) | (
        out["mad"].eq(0) & out["diff_from_median"].ne(0)
    )
    out["note"] = np.select(
        [
            ~out["metric"].isin(described.index),
            ~out["metric"].isin(latest["metric"]),
            ~out["group"].isin(set(own_groups["group"])),
        ],
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
