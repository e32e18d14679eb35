"""Performance against targets: RAG status, direction of travel and year to date.

Every rule is data: the tolerance rules come from `rag_rules.toml`, the polarity, precision and
year-to-date method from the catalogue, the targets from `targets.csv`. Values and targets are
compared at the indicator's reported precision (rounded half up, as people round), and a value
exactly on a boundary takes the better status.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import due_in


def how_assessment_uses(quarter: Quarter, earlier: Quarter) -> str:
    """What the assessment of `quarter` takes from `earlier`, one of the seven quarters before it."""
    back = quarter - earlier
    if back == 1:
        return "direction of travel"
    if back == 4:
        return "direction of travel against the same quarter last year"
    if earlier.fy_key == quarter.fy_key:
        return "year to date"
    return "last year's year to date"


GREEN, AMBER, RED, GREY = "Green", "Amber", "Red", "Grey"
NOT_REPORTED, NOT_DUE = "Not reported", "Not due"
RAG_STATUSES = [GREEN, AMBER, RED, GREY, NOT_REPORTED, NOT_DUE]
IMPROVING, WORSENING, NO_CHANGE, NO_COMPARISON, UP, DOWN = (
    "Improving",
    "Worsening",
    "No change",
    "No comparison",
    "Up",
    "Down",
)
DOT_VALUES = [IMPROVING, WORSENING, NO_CHANGE, NO_COMPARISON, UP, DOWN]
# Floating-point slack when comparing with a tolerance, so 5% of 100 is exactly 5.
_SLACK = 1e-9

PERFORMANCE_COLUMNS = [
    "indicator_code",
    "quarter",
    "title",
    "service",
    "directorate",
    "priority",
    "level",
    "unit",
    "polarity",
    "decimals",
    "frequency",
    "value",
    "quarter_value",
    "target",
    "amber_threshold",
    "target_set_on",
    "target_reason",
    "rag_status",
    "rag_rule",
    "previous_quarter_value",
    "previous_quarter_part",
    "dot_short",
    "same_quarter_last_year_value",
    "dot_long",
    "ytd_method",
    "ytd_value",
    "ytd_target",
    "ytd_rag_status",
    "ytd_quarters",
    "commentary",
    "data_status",
    "reporting_status",
    "corrections",
]


@dataclass(frozen=True)
class RagRule:
    green_within: float = 0.0
    amber_within: float = 0.05
    tolerance_type: str = "relative"
    amber_if_improved: bool = False


def at_precision(value: float | None, decimals: int) -> float | None:
    """Round half up at the reported precision (Python's round() rounds 2.675 to 2.67)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    quantum = Decimal(1).scaleb(-int(decimals))
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def _better(a: float, b: float, polarity: str) -> bool:
    return a > b if polarity == "higher_is_better" else a < b


def rag_status(
    value: float | None,
    target: float | None,
    polarity: str,
    rule: RagRule,
    decimals: int,
    amber_threshold: float | None = None,
    same_quarter_last_year: float | None = None,
) -> str:
    """Green, Amber, Red or Grey for a due indicator; Not reported when it has no value.

    The shortfall is how far the value falls short of the target in the bad direction. Green when
    it is within `green_within`, Amber within `amber_within` (or, where the target sets an
    explicit amber threshold, when the value is at least as good as it), else Red, unless the
    rule says a value better than the same quarter last year is Amber. A relative tolerance on a
    zero target is zero: only the target itself is green, and nothing is divided by it.
    """
    if _missing(value):
        return NOT_REPORTED
    if polarity == "none" or _missing(target):
        return GREY
    v, t = at_precision(value, decimals), at_precision(target, decimals)
    shortfall = t - v if polarity == "higher_is_better" else v - t
    scale = abs(t) if rule.tolerance_type == "relative" else 1.0
    slack = _SLACK * max(1.0, abs(t))
    if shortfall <= rule.green_within * scale + slack:
        return GREEN
    if not _missing(amber_threshold):
        a = at_precision(amber_threshold, decimals)
        within_amber = v >= a - slack if polarity == "higher_is_better" else v <= a + slack
    else:
        within_amber = shortfall <= rule.amber_within * scale + slack
    if within_amber:
        return AMBER
    if (
        rule.amber_if_improved
        and not _missing(same_quarter_last_year)
        and _better(v, at_precision(same_quarter_last_year, decimals), polarity)
    ):
        return AMBER
    return RED


def direction_of_travel(value: float | None, earlier: float | None, polarity: str, decimals: int) -> str:
    """Improving, Worsening or No change (equal at reported precision); Up/Down for polarity none."""
    if _missing(value) or _missing(earlier):
        return NO_COMPARISON
    v, e = at_precision(value, decimals), at_precision(earlier, decimals)
    if v == e:
        return NO_CHANGE
    if polarity == "none":
        return UP if v > e else DOWN
    return IMPROVING if _better(v, e, polarity) else WORSENING


def year_to_date(
    method: str,
    unit: str,
    values: list[float | None],
    numerators: list[float | None],
    denominators: list[float | None],
    targets: list[float | None],
) -> tuple[float | None, float | None]:
    """The year-to-date value and target from the quarters of the year so far, in order.

    sum: total of the quarters (all must be reported); mean: mean of those reported; last: the
    latest quarter's; ratio: summed numerators over summed denominators (all must be reported),
    its target weighted by denominator; cumulative: the value is already year to date.
    """
    current = values[-1] if values else None
    if method in ("last", "cumulative"):
        return (None if _missing(current) else float(current)), _clean(targets[-1] if targets else None)
    if method == "sum":
        target = None if any(_missing(t) for t in targets) else float(sum(targets))
        return (None if any(_missing(v) for v in values) else float(sum(values))), target
    if method == "mean":
        reported = [v for v in values if not _missing(v)]
        known = [t for t in targets if not _missing(t)]
        return (
            (sum(reported) / len(reported)) if reported and not _missing(current) else None,
            (sum(known) / len(known)) if known else None,
        )
    if method == "ratio":
        scale = 100.0 if unit == "percent" else 1.0
        complete = not any(_missing(x) for x in (*numerators, *denominators)) and sum(denominators or [0]) > 0
        value = scale * sum(numerators) / sum(denominators) if complete else None
        if any(_missing(t) for t in targets) or not targets:
            return value, None
        weights = denominators if complete else [1.0] * len(targets)
        return value, sum(t * w for t, w in zip(targets, weights)) / sum(weights)
    raise ValueError(f"unknown ytd_method {method}")


def _clean(x) -> float | None:
    return None if _missing(x) else float(x)


def targets_in_force(targets: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """The target each indicator had for `quarter`, as set at the time.

    The quarter's profiled target wins over the year's; of several set for the same period, the
    latest set on or before the quarter's last day applies (a target set later applies from then
    on, and the earlier stays on record). A target set only after the quarter ended still applies
    to it when nothing earlier was set.
    """
    columns = ["code", "target", "amber_threshold", "target_set_on", "target_reason"]
    year = targets[targets["year"] == quarter.fy_key]
    profiled = year[year["quarter"] == f"Q{quarter.q}"]
    annual = year[year["quarter"].fillna("") == ""]
    candidates = pd.concat([profiled, annual[~annual["code"].isin(profiled["code"])]])
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    end = pd.Timestamp(quarter.end)
    candidates = candidates.assign(_known=candidates["set_on"] <= end)
    candidates = candidates.sort_values(["code", "_known", "set_on"], ascending=[True, True, True])
    known = candidates[candidates["_known"]].drop_duplicates("code", keep="last")
    first = candidates[~candidates["code"].isin(known["code"])].drop_duplicates("code", keep="first")
    chosen = pd.concat([known, first])
    return chosen.rename(columns={"set_on": "target_set_on", "reason": "target_reason"})[columns].reset_index(
        drop=True
    )


def assess_quarter(
    quarter: Quarter,
    values: pd.DataFrame,
    indicators: pd.DataFrame,
    targets: pd.DataFrame,
    rules: dict[str, RagRule],
) -> pd.DataFrame:
    """One row per indicator in the catalogue for `quarter`, from the indicator values of this
    quarter and the seven before it (previous quarter, same quarter last year, both years to date).
    """
    by_quarter = {key: frame.set_index("indicator_code") for key, frame in values.groupby("quarter")}
    due = due_in(indicators, quarter)
    fy_quarters = [quarter.shift(-i) for i in range(quarter.q - 1, -1, -1)]
    last_fy_quarters = [q.shift(-4) for q in fy_quarters]
    target_tables = {
        q: targets_in_force(targets, q).set_index("code") for q in {*fy_quarters, *last_fy_quarters}
    }

    def lookup(q: Quarter, code: str, column: str):
        frame = by_quarter.get(q.key)
        if frame is None or code not in frame.index:
            return None
        value = frame.at[code, column]
        return None if _missing(value) else value

    rows = []
    for ind, is_due in zip(indicators.itertuples(index=False), due):
        code, polarity, decimals = ind.code, ind.polarity, int(ind.decimals)
        # Every rule an indicator names is in `rules` (the catalogue is checked against
        # rag_rules.toml): no silent fallback to a default rule.
        rule = rules[ind.rag_rule]
        cumulative = ind.ytd_method == "cumulative"
        annual = ind.frequency == "annual"
        target_row = target_tables[quarter].loc[code] if code in target_tables[quarter].index else None
        target = _clean(target_row["target"]) if target_row is not None else None
        value = _clean(lookup(quarter, code, "value"))
        last_year = _clean(lookup(quarter.shift(-4), code, "value"))
        previous = None if annual else _clean(lookup(quarter.shift(-1), code, "value"))

        def quarter_only(q: Quarter, code=code, cumulative=cumulative) -> float | None:
            """For a cumulative indicator, the quarter's own part of the year-to-date figure."""
            current = _clean(lookup(q, code, "value"))
            if not cumulative or q.q == 1 or current is None:
                return current
            before = _clean(lookup(q.shift(-1), code, "value"))
            return None if before is None else current - before

        def ytd_of(quarters: list[Quarter], code=code, ind=ind):
            return year_to_date(
                ind.ytd_method,
                ind.unit,
                [_clean(lookup(q, code, "value")) for q in quarters],
                [_clean(lookup(q, code, "numerator")) for q in quarters],
                [_clean(lookup(q, code, "denominator")) for q in quarters],
                [
                    _clean(target_tables[q].at[code, "target"]) if code in target_tables[q].index else None
                    for q in quarters
                ],
            )

        if not is_due:
            rag = ytd_rag = NOT_DUE
            dot_short = dot_long = NO_COMPARISON
            ytd_value = ytd_target = short_before = None
            ytd_quarters = ""
        else:
            amber = _clean(target_row["amber_threshold"]) if target_row is not None else None
            rag = rag_status(value, target, polarity, rule, decimals, amber, last_year)
            short_now, short_before = (
                (quarter_only(quarter), quarter_only(quarter.shift(-1))) if cumulative else (value, previous)
            )
            dot_short = (
                NO_COMPARISON if annual else direction_of_travel(short_now, short_before, polarity, decimals)
            )
            dot_long = direction_of_travel(value, last_year, polarity, decimals)
            ytd_window = [quarter] if annual else fy_quarters
            ytd_value, ytd_target = ytd_of(ytd_window)
            last_ytd, _ = ytd_of([q.shift(-4) for q in ytd_window])
            ytd_rag = rag_status(ytd_value, ytd_target, polarity, rule, decimals, None, last_ytd)
            reported = sum(lookup(q, code, "value") is not None for q in ytd_window)
            ytd_quarters = f"{reported} of {len(ytd_window)}"
        rows.append(
            {
                "indicator_code": code,
                "quarter": quarter.key,
                "title": ind.title,
                "service": ind.service,
                "directorate": ind.directorate,
                "priority": ind.priority,
                "level": ind.level,
                "unit": ind.unit,
                "polarity": polarity,
                "decimals": decimals,
                "frequency": ind.frequency,
                "value": value,
                "quarter_value": quarter_only(quarter) if is_due else None,
                "target": target if is_due else None,
                "amber_threshold": (
                    _clean(target_row["amber_threshold"]) if target_row is not None and is_due else None
                ),
                "target_set_on": target_row["target_set_on"] if target_row is not None and is_due else None,
                "target_reason": target_row["target_reason"] if target_row is not None and is_due else None,
                "rag_status": rag,
                "rag_rule": ind.rag_rule,
                "previous_quarter_value": previous,
                # What the short direction of travel compared `quarter_value` with: for a
                # cumulative indicator the previous quarter's own part, not its year to date.
                "previous_quarter_part": short_before,
                "dot_short": dot_short,
                "same_quarter_last_year_value": last_year,
                "dot_long": dot_long,
                "ytd_method": ind.ytd_method,
                "ytd_value": ytd_value,
                "ytd_target": ytd_target,
                "ytd_rag_status": ytd_rag,
                "ytd_quarters": ytd_quarters,
                "commentary": lookup(quarter, code, "commentary"),
                "data_status": lookup(quarter, code, "data_status"),
                "reporting_status": lookup(quarter, code, "reporting_status")
                or ("not_due" if not is_due else "missing"),
                "corrections": lookup(quarter, code, "corrections") or "",
            }
        )
    out = pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)
    for column in (
        "value",
        "quarter_value",
        "target",
        "amber_threshold",
        "previous_quarter_value",
        "previous_quarter_part",
        "same_quarter_last_year_value",
        "ytd_value",
        "ytd_target",
    ):
        out[column] = pd.to_numeric(out[column]).astype(float)
    out["target_set_on"] = pd.to_datetime(out["target_set_on"])
    return out


def rules_from_catalogue(indicators: pd.DataFrame) -> dict[str, RagRule]:
    """The RAG rules as the catalogue carries them (columns `rule_*`)."""
    rules = {}
    for row in indicators.drop_duplicates("rag_rule").itertuples(index=False):
        rules[row.rag_rule] = RagRule(
            green_within=float(row.rule_green_within),
            amber_within=float(row.rule_amber_within),
            tolerance_type=str(row.rule_tolerance_type),
            amber_if_improved=bool(row.rule_amber_if_improved),
        )
    return rules
