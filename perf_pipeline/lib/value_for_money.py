"""Value for money: what a service costs per head or per unit beside how well it performs.

A pair (`reference/value_for_money.csv`) names a cost metric, the denominator it is divided by and
an outcome, each a published benchmark metric (`source:metric`; the outcome may instead be an
indicator of the catalogue, which stands for its `benchmark_metric`). For every authority and
period with both a cost per unit and an outcome, the cost per unit and the outcome are ranked in
each comparator group by the same vectorised `group_positions` as the benchmarks: cost cheapest
first, outcome by its polarity. Only authorities with both figures take part, so one `n` holds for
both ranks and the group's medians split the scatter into four quadrants.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from perf_pipeline.lib.benchmarks.periods import parse_period
from perf_pipeline.lib.benchmarks.positions import group_positions
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import POLARITIES, read_text_table
from perf_pipeline.lib.validation import ReferenceDataError, validate_or_raise

HIGHER, LOWER, NONE = POLARITIES
PAIRS_FILE = "value_for_money.csv"
VALUE_FOR_MONEY_CSV = "value-for-money.csv"
PAIR_COLUMNS = ["pair_id", "label", "cost_metric", "denominator_metric", "outcome", "outcome_polarity"]
SOURCE_METRIC = r"^[A-Za-z0-9_.-]+:.+$"
# Costs are published in £, £ thousand or £ million: per unit figures are in pounds.
POUNDS = {"£": 1.0, "£ thousand": 1e3, "£ million": 1e6}
OUTPUT_COLUMNS = [
    "pair_id",
    "label",
    "group",
    "period",
    "n",
    "cost",
    "cost_per_unit",
    "cost_rank",
    "cost_percentile",
    "outcome",
    "outcome_rank",
    "outcome_percentile",
    "quadrant",
    "group_median_cost",
    "group_median_outcome",
    "prices",
    "denominator_period",
    "lag_quarters",
    "cost_metric",
    "cost_unit",
    "denominator_metric",
    "denominator",
    "unit_of_cost_per_unit",
    "outcome_metric",
    "outcome_polarity",
]
PER_UNIT_COLUMNS = [
    "pair_id",
    "area_code",
    "period",
    "period_end",
    "cost",
    "cost_unit",
    "denominator",
    "denominator_period",
    "cost_per_unit",
    "unit_of_cost_per_unit",
    "outcome",
    "prices",
    "cost_metric",
    "denominator_metric",
    "outcome_metric",
]
POINT_COLUMNS = [
    "pair_id",
    "group",
    "period",
    "area_code",
    "area_name",
    "cost",
    "denominator",
    "cost_per_unit",
    "outcome",
    "is_council",
]


# ---------------------------------------------------------------------------------------------
# Configuration: the pairs and the deflator
# ---------------------------------------------------------------------------------------------


def load_pairs(path: Path, indicators: pd.DataFrame) -> pd.DataFrame:
    """`value_for_money.csv` checked, with each outcome's metric and polarity resolved.

    An outcome written `source:metric` is that benchmark metric; otherwise it must be an indicator
    of the catalogue with a `benchmark_metric` (the figures of the other authorities come from
    there), and a blank `outcome_polarity` is the indicator's. Returns `PAIR_COLUMNS` and
    `outcome_metric`; a blank polarity left is the source's own, resolved with the values.
    """
    if not path.is_file():
        return pd.DataFrame(columns=[*PAIR_COLUMNS, "outcome_metric"])
    df, rows = read_text_table(path)
    if "outcome_polarity" not in df.columns:
        df["outcome_polarity"] = None
    linked = indicators.dropna(subset=["benchmark_metric"]).set_index("code")
    is_metric = df.get("outcome", pd.Series(dtype=str)).fillna("").str.match(SOURCE_METRIC)
    import pandera.pandas as pa  # here, not with the definitions

    metric_check = pa.Check.str_matches(SOURCE_METRIC, error="must be written source:metric")
    schema = pa.DataFrameSchema(
        {
            "pair_id": pa.Column(
                str,
                pa.Check.str_matches(
                    r"^[A-Za-z0-9_.-]+$", error="may hold only letters, digits, '-', '_', '.'"
                ),
                unique=True,
            ),
            "label": pa.Column(str),
            "cost_metric": pa.Column(str, metric_check),
            "denominator_metric": pa.Column(str, metric_check),
            "outcome": pa.Column(
                str,
                pa.Check(
                    lambda s: is_metric[s.index] | s.isin(linked.index),
                    element_wise=False,
                    error="is neither source:metric nor an indicator with a benchmark_metric in indicators.csv",
                ),
            ),
            "outcome_polarity": pa.Column(
                str, pa.Check.isin(POLARITIES, error=f"is not one of {', '.join(POLARITIES)}"), nullable=True
            ),
        },
        strict=True,
    )
    df = validate_or_raise(schema, df, f"reference/{path.name}", rows)
    from_catalogue = ~is_metric[df.index]
    df["outcome_metric"] = df["outcome"].where(
        is_metric[df.index], df["outcome"].map(linked["benchmark_metric"])
    )
    df["outcome_polarity"] = df["outcome_polarity"].fillna(
        df["outcome"].map(linked["polarity"]).where(from_catalogue)
    )
    return df.reset_index(drop=True)


def load_deflator(path: Path) -> dict | None:
    """The `[deflator]` table of `benchmarks/sources.toml`: `metric` (source:metric) and `prices_at`.

    None when there is none: figures are then compared in cash.
    """
    if not path.is_file():
        return None
    try:
        deflator = tomllib.loads(path.read_text(encoding="utf-8")).get("deflator")
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError([f"benchmarks/{path.name}: not valid TOML ({exc})"]) from None
    if deflator is None:
        return None
    problems = []
    if not re.match(SOURCE_METRIC, str(deflator.get("metric", ""))):
        problems.append(f"benchmarks/{path.name} [deflator]: 'metric' must be written source:metric")
    try:
        deflator["prices_at"] = parse_period(str(deflator.get("prices_at", ""))).label
    except ValueError:
        problems.append(f"benchmarks/{path.name} [deflator]: 'prices_at' must be a financial year (2022-23)")
    if problems:
        raise ReferenceDataError(problems)
    return deflator


def pair_metrics(pairs: pd.DataFrame, deflator: dict | None) -> list[str]:
    """Every `source:metric` the pairs (and the deflator) need from `benchmark_values`."""
    metrics = set(pairs["cost_metric"]) | set(pairs["denominator_metric"]) | set(pairs["outcome_metric"])
    return sorted(metrics | ({deflator["metric"]} if deflator else set()))


# ---------------------------------------------------------------------------------------------
# Cost per unit for every authority
# ---------------------------------------------------------------------------------------------


def deflators(values: pd.DataFrame, deflator: dict) -> pd.Series:
    """Index per period from the deflator metric (one figure per period, whatever the area)."""
    series = values.loc[
        (values["metric"] == deflator["metric"]) & values["value"].notna(), ["period", "value"]
    ]
    several = series.groupby("period")["value"].nunique()
    if (several > 1).any():
        raise ReferenceDataError(
            [
                f"deflator {deflator['metric']}: more than one figure for {', '.join(several[several > 1].index)}"
            ]
        )
    index = series.drop_duplicates("period").set_index("period")["value"]
    if deflator["prices_at"] not in index.index:
        raise ReferenceDataError([f"deflator {deflator['metric']}: no figure for {deflator['prices_at']}"])
    return index


def cost_per_unit(values: pd.DataFrame, pairs: pd.DataFrame, deflator: dict | None = None) -> pd.DataFrame:
    """One row per pair, area and period with a cost per unit and an outcome, for every authority.

    `values`: `metric` (source:metric), `period, area_code, value, period_start, unit` (as from
    `comparable_values`). The denominator is the one published for the cost's period, else the
    nearest period published for that area (`denominator_period` says which). A denominator that
    is not above zero divides nothing: that area has no cost per unit. With a deflator, costs are
    at `prices_at` prices; a period the deflator does not cover has no real-terms figure.
    """
    index = deflators(values, deflator) if deflator else None
    # National tables run to millions of rows: rows are found by metric once, by position (the
    # frame is not copied), and joined on integer keys (pair, area, period), not on text.
    is_published = values["value"].notna().to_numpy()
    rows_of = values.groupby("metric", sort=False).indices
    area, _ = pd.factorize(values["area_code"])
    period, _ = pd.factorize(values["period"])
    n_areas, n_periods = area.max() + 1 if len(area) else 1, period.max() + 1 if len(period) else 1

    def of(role: str, value: str) -> pd.DataFrame:
        """Every pair's figures in one role (cost, denominator, outcome), keyed by integers."""
        found = [rows_of.get(metric, np.array([], np.int64)) for metric in pairs[f"{role}_metric"]]
        found = [rows[is_published[rows]] for rows in found]
        at = np.concatenate(found) if found else np.array([], np.int64)
        pair = np.repeat(np.arange(len(pairs)), [len(f) for f in found])
        area_key = pair.astype(np.int64) * n_areas + area[at]
        return pd.DataFrame(
            {
                "row": at,
                "area_key": area_key,
                "key": area_key * n_periods + period[at],
                value: values["value"].to_numpy()[at],
            }
        )

    cost = of("cost", "cost")
    outcome = of("outcome", "outcome")
    denominator = of("denominator", "denominator")
    denominator = denominator[denominator["denominator"] > 0]
    both = cost.merge(outcome[["key", "outcome"]], on="key")
    if both.empty or denominator.empty:
        return pd.DataFrame(columns=PER_UNIT_COLUMNS)
    both["period_start"] = values["period_start"].to_numpy()[both["row"]]
    denominator = denominator.assign(period_start=values["period_start"].to_numpy()[denominator["row"]])
    both = pd.merge_asof(
        both.sort_values("period_start"),
        denominator[["area_key", "period_start", "row", "denominator"]].sort_values("period_start"),
        on="period_start",
        by="area_key",
        direction="nearest",
        suffixes=("", "_denominator"),
    ).dropna(subset=["denominator"])
    cost_rows, denominator_rows = both["row"].to_numpy(), both["row_denominator"].to_numpy(np.int64)
    pair = both["area_key"].to_numpy() // n_areas
    both = pd.DataFrame(
        {
            "pair_id": pairs["pair_id"].to_numpy()[pair],
            "area_code": values["area_code"].to_numpy()[cost_rows],
            "period": values["period"].to_numpy()[cost_rows],
            "period_end": values["period_end"].to_numpy()[cost_rows],
            "cost": both["cost"].to_numpy(),
            "cost_unit": values["unit"].to_numpy()[cost_rows],
            "denominator": both["denominator"].to_numpy(),
            "denominator_period": values["period"].to_numpy()[denominator_rows],
            "denominator_unit": values["unit"].to_numpy()[denominator_rows],
            "outcome": both["outcome"].to_numpy(),
            "cost_metric": pairs["cost_metric"].to_numpy()[pair],
            "denominator_metric": pairs["denominator_metric"].to_numpy()[pair],
            "outcome_metric": pairs["outcome_metric"].to_numpy()[pair],
        }
    )
    pounds = both["cost_unit"].map(POUNDS)
    both["cost_per_unit"] = both["cost"] * pounds.fillna(1.0) / both["denominator"]
    both["unit_of_cost_per_unit"] = np.where(
        pounds.notna(), "£ per ", both["cost_unit"].fillna("") + " per "
    ) + both["denominator_unit"].replace("", "unit").fillna("unit")
    both["prices"] = "cash"
    if index is not None:
        factor = index[deflator["prices_at"]] / both["period"].map(index)
        both[["cost", "cost_per_unit"]] = both[["cost", "cost_per_unit"]].mul(factor, axis=0)
        both["prices"] = f"real at {deflator['prices_at']} prices"
        both = both.dropna(subset=["cost_per_unit"])
    return both[PER_UNIT_COLUMNS]


# ---------------------------------------------------------------------------------------------
# Positions in the comparator groups, for every authority at once
# ---------------------------------------------------------------------------------------------


def _percentile(rank: pd.Series, n: pd.Series) -> pd.Series:
    """0-100, higher = better: the share of the other members it does at least as well as."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(n > 1, 100 * (n - rank) / (n - 1), np.nan), index=rank.index)


def _side(value: pd.Series, median: pd.Series, below: str, above: str, what: str) -> pd.Series:
    labels = np.select([value < median, value > median], [below, above], "median")
    return pd.Series(labels, index=value.index) + " " + what


def value_for_money_positions(
    quarter: Quarter, per_unit: pd.DataFrame, groups: pd.DataFrame, pairs: pd.DataFrame, polarity: pd.Series
) -> pd.DataFrame:
    """Every authority's position per pair and group, for the latest period up to the quarter in
    which it has both a cost per unit and an outcome.

    `polarity`: outcome metric -> polarity, for pairs whose `outcome_polarity` is blank.
    """
    upto = per_unit[per_unit["period_end"] <= pd.Timestamp(quarter.end)]
    if upto.empty:
        return pd.DataFrame(columns=["authority_code", *OUTPUT_COLUMNS])
    latest = upto.sort_values("period_end").drop_duplicates(["pair_id", "area_code"], keep="last")
    wanted = latest[["pair_id", "period"]].drop_duplicates()
    slices = upto.merge(wanted, on=["pair_id", "period"])
    outcome_polarity = (
        pairs.set_index("pair_id")["outcome_polarity"]
        .fillna(pairs.set_index("pair_id")["outcome_metric"].map(polarity))
        .fillna(NONE)
    )
    # Cost and outcome are ranked by two calls on frames of the same rows (a pair is the metric),
    # so their positions come out row for row alike: checked, then set side by side, not joined.
    frame = slices[["pair_id", "period", "area_code"]].rename(columns={"pair_id": "metric"})
    cost = group_positions(
        frame.assign(value=slices["cost_per_unit"].to_numpy()), groups, dict.fromkeys(pairs["pair_id"], LOWER)
    )
    outcome = group_positions(frame.assign(value=slices["outcome"].to_numpy()), groups, outcome_polarity)
    keys = {"authority_code": "authority_code", "group": "group", "metric": "pair_id", "period": "period"}
    if len(cost) != len(outcome) or not all(cost[k].equals(outcome[k]) for k in keys):
        raise AssertionError("group_positions ordered the cost and outcome rows differently")
    out = pd.DataFrame(
        {
            **{ours: np.asarray(cost[k], dtype=object) for k, ours in keys.items()},
            "n": cost["n"].to_numpy(),
            "cost_per_unit": cost["value"].to_numpy(),
            "cost_rank": cost["rank"].to_numpy(),
            "cost_percentile": _percentile(cost["rank"], cost["n"]).to_numpy(),
            "group_median_cost": cost["median"].to_numpy(),
            "outcome": outcome["value"].to_numpy(),
            "outcome_rank": outcome["rank"].to_numpy(),
            "outcome_percentile": _percentile(outcome["rank"], outcome["n"]).to_numpy(),
            "group_median_outcome": outcome["median"].to_numpy(),
        }
    )
    # Each authority at its own latest period (the slice may be another authority's latest).
    out = out.merge(
        latest.rename(columns={"area_code": "authority_code"}).drop(columns=["cost_per_unit", "outcome"]),
        on=["authority_code", "pair_id", "period"],
    )
    out = out.merge(pairs[["pair_id", "label"]], on="pair_id")
    out["outcome_polarity"] = out["pair_id"].map(outcome_polarity)
    sign = out["outcome_polarity"].map({HIGHER: 1.0, LOWER: -1.0})
    cost_side = _side(out["cost_per_unit"], out["group_median_cost"], "lower", "higher", "cost")
    outcome_side = _side(
        out["outcome"] * sign, out["group_median_outcome"] * sign, "worse", "better", "outcome"
    )
    out["quadrant"] = cost_side + ", " + outcome_side.where(sign.notna(), "outcome not ranked")
    out["lag_quarters"] = out["period"].map(
        {p: quarter - parse_period(p).last for p in out["period"].unique()}
    )
    return out[["authority_code", *OUTPUT_COLUMNS]]


def council_value_for_money(
    quarter: Quarter,
    per_unit: pd.DataFrame,
    groups: pd.DataFrame,
    pairs: pd.DataFrame,
    polarity: pd.Series,
    council_code: str,
    group_names: list[str],
    area_names: pd.Series,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The council's value-for-money table for the quarter and the points behind its scatters.

    Returns the table (`OUTPUT_COLUMNS`, one row per pair and group, in the council's group
    order) and the points (`POINT_COLUMNS`: each member of each group with both figures in the
    period compared; `area_names`: code -> name).
    """
    own = groups[(groups["authority_code"] == council_code) & groups["group"].isin(group_names)]
    table = value_for_money_positions(quarter, per_unit, own, pairs, polarity)
    table = table[table["authority_code"] == council_code].drop(columns="authority_code")
    order = {name: i for i, name in enumerate(group_names)}
    pair_order = {p: i for i, p in enumerate(pairs["pair_id"])}
    table = table.sort_values(
        ["pair_id", "group"], key=lambda s: s.map(pair_order if s.name == "pair_id" else order)
    ).reset_index(drop=True)
    for column in ("n", "cost_rank", "outcome_rank", "lag_quarters"):
        table[column] = table[column].astype("Int64")
    for column in (
        "cost_per_unit",
        "cost_percentile",
        "outcome_percentile",
        "group_median_cost",
        "group_median_outcome",
    ):
        table[column] = table[column].astype(float).round(9)
    members = own[["group", "member_code"]].rename(columns={"member_code": "area_code"})
    compared = table[["pair_id", "group", "period"]]
    points = compared.merge(members, on="group").merge(per_unit, on=["pair_id", "period", "area_code"])
    points["is_council"] = points["area_code"] == council_code
    points["area_name"] = points["area_code"].map(area_names).fillna("")
    return table, points[POINT_COLUMNS].reset_index(drop=True)


def uncompared_pairs(
    pairs: pd.DataFrame, table: pd.DataFrame, per_unit: pd.DataFrame, quarter: Quarter
) -> pd.DataFrame:
    """The pairs with no row in the council's table, and why (`pair_id, note`)."""
    missing = pairs.loc[~pairs["pair_id"].isin(table["pair_id"]), ["pair_id"]]
    anyone = missing["pair_id"].isin(per_unit["pair_id"])
    return missing.assign(
        note=np.where(
            anyone,
            f"the council has no cost per unit and outcome of one period up to {quarter.label}",
            "no authority has a cost, a denominator and an outcome of one period: check the metrics' names",
        )
    ).reset_index(drop=True)
