"""The rules of performance against target, pinned case by case."""

from __future__ import annotations

import pandas as pd
import pytest

from perf_pipeline.lib.performance import (
    AMBER,
    DOWN,
    GREEN,
    GREY,
    IMPROVING,
    NO_CHANGE,
    NO_COMPARISON,
    NOT_DUE,
    NOT_REPORTED,
    RED,
    UP,
    WORSENING,
    RagRule,
    assess_quarter,
    at_precision,
    direction_of_travel,
    rag_status,
    targets_in_force,
    year_to_date,
)
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline_tests.test_assessment import catalogue, figures

STANDARD = RagRule(green_within=0.0, amber_within=0.05, tolerance_type="relative")
ABSOLUTE = RagRule(green_within=0.0, amber_within=2.0, tolerance_type="absolute")
HAVERING = RagRule(green_within=0.10, amber_within=0.10, tolerance_type="relative", amber_if_improved=True)
HIGHER, LOWER, NONE = "higher_is_better", "lower_is_better", "none"


@pytest.mark.parametrize(
    "value, target, polarity, rule, expected",
    [
        # higher is better, relative 5%: on target, just inside, on the boundary, beyond
        (100, 100, HIGHER, STANDARD, GREEN),
        (101, 100, HIGHER, STANDARD, GREEN),
        (96, 100, HIGHER, STANDARD, AMBER),
        (95, 100, HIGHER, STANDARD, AMBER),
        (94.9, 100, HIGHER, STANDARD, RED),
        # lower is better: the classic bug is a "≤150 is good" measure at 119 shown red
        (119, 150, LOWER, STANDARD, GREEN),
        (150, 150, LOWER, STANDARD, GREEN),
        (157.5, 150, LOWER, STANDARD, AMBER),
        (157.6, 150, LOWER, STANDARD, RED),
        # absolute tolerance in the indicator's own units
        (88, 90, HIGHER, ABSOLUTE, AMBER),
        (87.9, 90, HIGHER, ABSOLUTE, RED),
        (92, 90, LOWER, ABSOLUTE, AMBER),
        (92.1, 90, LOWER, ABSOLUTE, RED),
        # a zero target, without dividing by it
        (0, 0, LOWER, STANDARD, GREEN),
        (1, 0, LOWER, STANDARD, RED),
        (1, 0, LOWER, ABSOLUTE, AMBER),
        (3, 0, LOWER, ABSOLUTE, RED),
        (0, 0, HIGHER, STANDARD, GREEN),
        # negative targets (days ahead/behind a timetable)
        (-5, -10, HIGHER, STANDARD, GREEN),
        (-10.5, -10, HIGHER, STANDARD, AMBER),
        # data only and no target
        (50, 10, NONE, STANDARD, GREY),
        (50, None, HIGHER, STANDARD, GREY),
        # not reported
        (None, 100, HIGHER, STANDARD, NOT_REPORTED),
        (float("nan"), 100, LOWER, STANDARD, NOT_REPORTED),
        (None, None, NONE, STANDARD, NOT_REPORTED),
    ],
)
def test_rag_status(value, target, polarity, rule, expected):
    assert rag_status(value, target, polarity, rule, decimals=1) == expected


@pytest.mark.parametrize(
    "value, target, decimals, expected",
    [
        (94.96, 100, 1, AMBER),
        (94.94, 100, 1, RED),
        (94.94, 100, 2, RED),
        (89.95, 90, 1, GREEN),
        (89.94, 90, 1, AMBER),
    ],
)
def test_rag_is_judged_at_reported_precision(value, target, decimals, expected):
    assert rag_status(value, target, HIGHER, STANDARD, decimals) == expected


@pytest.mark.parametrize(
    "value, polarity, threshold, expected",
    [
        (92, HIGHER, 92, AMBER),
        (91.9, HIGHER, 92, RED),
        (99.9, HIGHER, 99, AMBER),
        (12, LOWER, 12, AMBER),
        (12.1, LOWER, 12, RED),
    ],
)
def test_an_explicit_amber_threshold_overrides_the_rules_tolerance(value, polarity, threshold, expected):
    target = 100 if polarity == HIGHER else 10
    assert rag_status(value, target, polarity, STANDARD, 1, amber_threshold=threshold) == expected


@pytest.mark.parametrize(
    "value, last_year, polarity, expected",
    [
        (91, None, HIGHER, GREEN),  # within 10%: green whatever last year was
        (89, 85, HIGHER, AMBER),  # beyond 10% but better than a year ago
        (89, 89, HIGHER, RED),  # beyond and no better
        (89, 95, HIGHER, RED),
        (89, None, HIGHER, RED),  # no comparison: red
        (112, 115, LOWER, AMBER),
        (112, 110, LOWER, RED),
    ],
)
def test_amber_if_improved_on_the_same_quarter_last_year(value, last_year, polarity, expected):
    target = 100
    assert rag_status(value, target, polarity, HAVERING, 1, same_quarter_last_year=last_year) == expected


@pytest.mark.parametrize(
    "value, earlier, polarity, decimals, expected",
    [
        (10, 9, HIGHER, 1, IMPROVING),
        (9, 10, HIGHER, 1, WORSENING),
        (9, 10, LOWER, 1, IMPROVING),
        (10, 9, LOWER, 1, WORSENING),
        (10.04, 10.0, HIGHER, 1, NO_CHANGE),
        (10.06, 10.0, HIGHER, 1, IMPROVING),
        (10.04, 10.0, HIGHER, 2, IMPROVING),
        (5, 4, NONE, 0, UP),
        (4, 5, NONE, 0, DOWN),
        (4.4, 4, NONE, 0, NO_CHANGE),
        (None, 4, HIGHER, 1, NO_COMPARISON),
        (4, None, LOWER, 1, NO_COMPARISON),
    ],
)
def test_direction_of_travel(value, earlier, polarity, decimals, expected):
    assert direction_of_travel(value, earlier, polarity, decimals) == expected


@pytest.mark.parametrize(
    "value, decimals, expected", [(2.675, 2, 2.68), (0.5, 0, 1.0), (1.25, 1, 1.3), (-1.25, 1, -1.3)]
)
def test_rounding_is_half_up_as_people_round(value, decimals, expected):
    assert at_precision(value, decimals) == expected


@pytest.mark.parametrize(
    "method, unit, values, nums, dens, targets, expected",
    [
        ("sum", "count", [10, 20, 30], [None] * 3, [None] * 3, [15, 15, 15], (60, 45)),
        ("sum", "count", [10, None, 30], [None] * 3, [None] * 3, [15, 15, 15], (None, 45)),
        ("mean", "days", [10, 20, 30], [None] * 3, [None] * 3, [20, 20, 26], (20, 22)),
        ("mean", "days", [10, None, 30], [None] * 3, [None] * 3, [20, 20, 20], (20, 20)),
        ("last", "count", [10, 20, 30], [None] * 3, [None] * 3, [5, 6, 7], (30, 7)),
        ("cumulative", "percent", [28.6, 56.9, 85.1], [None] * 3, [None] * 3, [28, 56, 84], (85.1, 84)),
        ("ratio", "percent", [50, 100, 75], [5, 10, 30], [10, 10, 40], [80, 80, 80], (75.0, 80)),
        ("ratio", "percent", [50, 100], [5, 10], [10, 30], [60, 100], (37.5, 90.0)),
        ("ratio", "number", [0.5, 1.0], [5, 10], [10, 10], [1, 1], (0.75, 1.0)),
        ("ratio", "percent", [50, 100], [5, None], [10, 10], [80, 80], (None, 80)),
        ("sum", "count", [None], [None], [None], [None], (None, None)),
    ],
)
def test_year_to_date_by_method(method, unit, values, nums, dens, targets, expected):
    value, target = year_to_date(method, unit, values, nums, dens, targets)
    assert (value, target) == pytest.approx(expected) if None not in expected else (value, target) == expected


TARGETS = pd.DataFrame(
    [
        ("A", "2024-25", "", 80.0, None, "2024-03-01", "Annual"),
        ("A", "2024-25", "", 85.0, None, "2024-10-15", "Raised at Q2 review"),
        ("B", "2024-25", "", 50.0, None, "2024-03-01", "Annual"),
        ("B", "2024-25", "Q2", 55.0, 52.0, "2024-03-01", "Profiled"),
        ("C", "2024-25", "", 10.0, None, "2024-07-20", "Set late"),
    ],
    columns=["code", "year", "quarter", "target", "amber_threshold", "set_on", "reason"],
).assign(set_on=lambda d: pd.to_datetime(d["set_on"]))


@pytest.mark.parametrize(
    "quarter, code, expected",
    [
        (Quarter(2024, 2), "A", (80.0, "Annual")),  # the raise came after Q2 ended
        (Quarter(2024, 3), "A", (85.0, "Raised at Q2 review")),
        (Quarter(2024, 4), "A", (85.0, "Raised at Q2 review")),
        (Quarter(2024, 1), "B", (50.0, "Annual")),
        (Quarter(2024, 2), "B", (55.0, "Profiled")),  # the quarter's profile wins over the year's
        (Quarter(2024, 1), "C", (10.0, "Set late")),  # set after Q1: still the only target that year
    ],
)
def test_the_target_in_force_is_the_one_set_at_the_time(quarter, code, expected):
    table = targets_in_force(TARGETS, quarter).set_index("code")
    assert (table.at[code, "target"], table.at[code, "target_reason"]) == expected


def test_no_target_for_a_year_without_one():
    assert targets_in_force(TARGETS, Quarter(2025, 1)).empty


def _catalogue(**overrides):
    return catalogue({"code": "X1", **overrides})


def _values(rows):
    return figures(*((q, "X1", v) for q, v in rows))


def test_assess_quarter_uses_previous_and_last_years_quarters():
    q = Quarter(2024, 2)
    targets = pd.DataFrame(
        [
            ("X1", "2024-25", "", 10.0, None, "2024-03-01", "r"),
            ("X1", "2023-24", "", 10.0, None, "2023-03-01", "r"),
        ],
        columns=TARGETS.columns,
    ).assign(set_on=lambda d: pd.to_datetime(d["set_on"]))
    values = _values([(q.shift(-4), 8), (q.shift(-5), 7), (q.shift(-1), 12), (q, 9)])
    row = assess_quarter(q, values, _catalogue(), targets, {"standard": STANDARD}).iloc[0]
    assert (row["rag_status"], row["dot_short"], row["dot_long"]) == (RED, WORSENING, IMPROVING)
    assert (row["ytd_value"], row["ytd_target"], row["ytd_rag_status"], row["ytd_quarters"]) == (
        21,
        20,
        GREEN,
        "2 of 2",
    )


@pytest.mark.parametrize(
    "overrides, quarter, expected",
    [
        ({"frequency": "annual"}, Quarter(2024, 2), NOT_DUE),
        ({"frequency": "annual"}, Quarter(2024, 4), GREEN),
        ({"active_from": "2025-26-Q1"}, Quarter(2024, 4), NOT_DUE),
        ({"active_to": "2024-25-Q1"}, Quarter(2024, 2), NOT_DUE),
    ],
)
def test_indicators_not_due_are_marked_so(overrides, quarter, expected):
    targets = pd.DataFrame(
        [("X1", "2024-25", "", 10.0, None, "2024-03-01", "r")], columns=TARGETS.columns
    ).assign(set_on=lambda d: pd.to_datetime(d["set_on"]))
    row = assess_quarter(
        quarter, _values([(quarter, 12)]), _catalogue(**overrides), targets, {"standard": STANDARD}
    )
    assert row["rag_status"].iloc[0] == expected


def test_a_cumulative_indicator_compares_its_quarters_own_part():
    q3 = Quarter(2024, 3)
    values = _values([(q3.shift(-2), 28.0), (q3.shift(-1), 57.0), (q3, 84.0)])
    row = assess_quarter(
        q3,
        values,
        _catalogue(ytd_method="cumulative", unit="percent", decimals=1),
        pd.DataFrame(columns=TARGETS.columns),
        {"standard": STANDARD},
    ).iloc[0]
    assert row["quarter_value"] == pytest.approx(27.0)
    assert row["dot_short"] == WORSENING  # 27 in Q3 against 29 in Q2
    assert row["ytd_value"] == 84.0
