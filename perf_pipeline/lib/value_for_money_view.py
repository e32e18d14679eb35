"""Value for money as people read it: per pair, a scatter of the group, its figures and a sentence.

Used by the quarterly report and the performance app: `value_for_money_section` takes the
`value_for_money` table and its points and returns plain dicts, with each pair's scatter drawn by
`draw` (`scatter_png` for the report; the app draws SVG with the same `draw_scatter`).
"""

from __future__ import annotations

import base64
import io
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pandas as pd

from perf_pipeline.lib.benchmarks.groups import ENGLAND, NEAREST_NEIGHBOURS, REGION, SAME_TYPE

GROUP_WORDS = {
    NEAREST_NEIGHBOURS: "nearest neighbours",
    SAME_TYPE: "councils of the same type",
    REGION: "councils in its region",
    ENGLAND: "English councils",
}
QUARTILE_WORDS = {1: "top quartile", 2: "second quartile", 3: "third quartile", 4: "bottom quartile"}
SCATTER_SIZE = (5.6, 3.6)  # inches
DPI = 110
# What `draw_scatter` shows of a pair's row and of each point: the report's and the app's scatters
# are drawn from these and known by them.
SCATTER_FIELDS = (
    "label",
    "period",
    "unit_of_cost_per_unit",
    "outcome_polarity",
    "group_median_cost",
    "group_median_outcome",
)
SCATTER_POINTS = ["cost_per_unit", "outcome", "is_council"]
_drawn: OrderedDict = OrderedDict()


def _money(value: float) -> str:
    return f"£{value:,.0f}" if abs(value) >= 100 else f"£{value:,.2f}"


def _number(value) -> str:
    return "–" if pd.isna(value) else f"{value:,.1f}" if abs(value) < 1e4 else f"{value:,.0f}"


def _label_parts(label: str) -> tuple[str, str]:
    """`Adult social care: spend per resident vs. outcome of short-term services` -> the service and
    the outcome, as the sentence names them (the label's own words, first letters lowered)."""
    service, _, rest = label.partition(":")
    _, _, outcome = rest.partition(" vs. ")
    lower = lambda text: text[:1].lower() + text[1:]
    return lower(service.strip()), lower(outcome.strip().rstrip(".")) or "outcome"


def sentence(council_name: str, row: dict, points: pd.DataFrame) -> str:
    """`Darlington spends £268 per resident on adult social care, less than 8 of its 15 nearest
    neighbours, and its outcome of short-term services is in the top quartile (4 of 16).`"""
    service, outcome = _label_parts(row["label"])
    others = points[~points["is_council"]]
    dearer = int((others["cost_per_unit"] > row["cost_per_unit"]).sum())
    group = GROUP_WORDS.get(row["group"], f"the {row['group']} group")
    per = row["unit_of_cost_per_unit"].removeprefix("£ ")
    if dearer == len(others):
        than = f"less than any of its {len(others)} {group}"
    elif dearer == 0:
        than = f"no less than any of its {len(others)} {group}"
    else:
        than = f"less than {dearer} of its {len(others)} {group}"
    spend = (
        f"{council_name} spends {_money(row['cost_per_unit'])} {per} on {service} ({row['period']}), {than}"
    )
    if pd.isna(row["outcome_rank"]):
        return f"{spend}; its {outcome} ({_number(row['outcome'])}) is not ranked as better or worse."
    quartile = 1 + int(np.floor(4 * (row["outcome_rank"] - 1) / row["n"]))
    return (
        f"{spend}, and its {outcome} ({_number(row['outcome'])}) is in the {QUARTILE_WORDS[quartile]} "
        f"({int(row['outcome_rank'])} of {int(row['n'])})."
    )


def value_for_money_section(
    table: pd.DataFrame, points: pd.DataFrame, council_name: str, draw: Callable | None = None
) -> list[dict]:
    """For each pair, in the council's first comparator group (its nearest neighbours, as a rule):
    the sentence, the scatter (`draw(points, row, council_name)`, by default a PNG), each point's
    figures, and the notes on years and prices."""
    draw = draw or scatter_png
    if table is None or table.empty:
        return []
    first = table["group"].iloc[0]
    sections = []
    for row in table[table["group"] == first].to_dict("records"):
        here = points[(points["pair_id"] == row["pair_id"]) & (points["group"] == row["group"])]
        here = here.sort_values("cost_per_unit")
        notes = [
            f"Costs and outcomes are for {row['period']}, {row['lag_quarters']} quarters before this report."
        ]
        if row["denominator_period"] != row["period"]:
            notes.append(
                f"The denominator ({row['denominator_metric']}) is of {row['denominator_period']}, "
                f"not {row['period']}: the nearest year published."
            )
        notes.append("Costs are in cash." if row["prices"] == "cash" else f"Costs are {row['prices']}.")
        sections.append(
            {
                "pair_id": row["pair_id"],
                "label": row["label"],
                "group": GROUP_WORDS.get(row["group"], row["group"]),
                "sentence": sentence(council_name, row, here),
                "quadrant": row["quadrant"],
                "image": draw(here, row, council_name),
                "alt": (
                    f"Scatter of {len(here)} councils, {row['unit_of_cost_per_unit']} across and outcome up; "
                    f"{council_name} at {_money(row['cost_per_unit'])} and {_number(row['outcome'])}: "
                    f"{row['quadrant']} than the group's medians."
                ),
                "cost_heading": row["unit_of_cost_per_unit"],
                "notes": notes,
                "medians": {
                    "cost": _money(row["group_median_cost"]),
                    "outcome": _number(row["group_median_outcome"]),
                },
                "points": [
                    {
                        "name": p["area_name"] or p["area_code"],
                        "is_council": bool(p["is_council"]),
                        "cost": f"{p['cost']:,.0f}",
                        "cost_per_unit": f"£{p['cost_per_unit']:,.2f}",
                        "outcome": _number(p["outcome"]),
                    }
                    for p in here.to_dict("records")
                ],
            }
        )
    return sections


def scatter_png(points: pd.DataFrame, row: dict, council_name: str) -> str:
    """The scatter as a PNG data URI (for the report). Published costs and outcomes change once a
    year, so each quarter's report shows the scatters of the one before: drawn once (`kept`)."""
    from perf_pipeline.lib.charts import kept

    shown = points[SCATTER_POINTS]
    key = (
        council_name,
        tuple(row[f] for f in SCATTER_FIELDS),
        tuple(shown.itertuples(index=False, name=None)),
    )
    return kept(_drawn, "scatter", key, lambda: _scatter_png(shown, row, council_name), size=256)


def _scatter_png(points: pd.DataFrame, row: dict, council_name: str) -> str:
    from perf_pipeline.lib.charts import PNG_URI, _pyplot

    plt = _pyplot()
    fig = plt.figure(figsize=SCATTER_SIZE, dpi=DPI, facecolor="white")
    try:
        draw_scatter(fig, points, row, council_name)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return PNG_URI + base64.b64encode(buffer.getvalue()).decode("ascii")


def draw_scatter(fig, points: pd.DataFrame, row: dict, council_name: str) -> None:
    """Cost per unit across, outcome up, the group's medians as dashed lines, the council marked
    (a larger diamond, labelled: not by colour alone), on the figure `fig`. `points` needs
    `cost_per_unit`, `outcome` and `is_council`; `row` the pair's label, period, units, polarity
    and the group's medians."""
    ax = fig.add_subplot()
    others, council = points[~points["is_council"]], points[points["is_council"]]
    ax.scatter(others["cost_per_unit"], others["outcome"], s=22, color="#6b6b6b", label="comparators")
    ax.scatter(
        council["cost_per_unit"],
        council["outcome"],
        s=70,
        marker="D",
        color="#1f4e79",
        label=council_name,
    )
    for p in council.itertuples(index=False):
        ax.annotate(council_name, (p.cost_per_unit, p.outcome), xytext=(6, 6), textcoords="offset points")
    ax.axvline(row["group_median_cost"], color="#444444", linestyle="--", linewidth=0.9)
    ax.axhline(row["group_median_outcome"], color="#444444", linestyle="--", linewidth=0.9)
    ax.set_xlabel(f"{row['unit_of_cost_per_unit']} ({row['period']}, lower = cheaper)")
    polarity = {"higher_is_better": "higher is better", "lower_is_better": "lower is better"}
    outcome = _label_parts(row["label"])[1]
    ax.set_ylabel(f"{outcome} ({polarity.get(row['outcome_polarity'], 'not ranked')})", wrap=True)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
