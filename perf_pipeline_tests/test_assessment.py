"""A quarter's assessment row by row (`assess_quarter`), as the published table shows it.

Mutation testing (`make mutation`) found that which figure feeds which column of
`indicator_performance` (the rule named by the indicator, the target's amber threshold, last
year's year to date, a cumulative indicator's own part of each quarter, the window of the year to
date) could change with only the end-to-end tests noticing. Each case here is a small catalogue
and a few quarters of figures, worked out by hand from the rules in the README's *Performance
against targets*; the properties below hold for any figures. Runs in seconds.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.performance import (
    AMBER,
    GREEN,
    GREY,
    IMPROVING,
    NO_CHANGE,
    NO_COMPARISON,
    NOT_DUE,
    NOT_REPORTED,
    PERFORMANCE_COLUMNS,
    RED,
    WORSENING,
    RagRule,
    assess_quarter,
    how_assessment_uses,
    rules_from_catalogue,
    targets_in_force,
)
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import load_indicators, load_rag_rules, load_services
from perf_pipeline_tests.conftest import INDICATORS, SERVICES

# Survivors of `make mutation` in assess_quarter, targets_in_force and rules_from_catalogue that
# cannot matter, and why (those of rag_status, direction_of_travel, at_precision, _missing and
# year_to_date are in test_rules.py):
# - `itertuples(index=None)` or `index=True` (both functions): every field is read by name, and
#   an extra Index field is never read.
# - assess_quarter: a not-due row's figures as "" instead of None (`to_numeric` reads "" as
#   NaN, as it reads None); `pd.DataFrame(rows)` without `columns=PERFORMANCE_COLUMNS` (each row
#   is built in the contract's order, and an empty table is pinned below); `.astype(None)` after
#   `to_numeric` (already float64); `NO_COMPARISON if annual` dropped (an annual indicator has no
#   previous quarter's figure, so its direction against it is No comparison all the same).
# - targets_in_force: `ascending=[True, True, True]` or `keep="first"` left to pandas' default
#   (the same); the codes sorted descending (every reader looks a target up by code); the
#   known/unknown order within a code reversed (the two are taken apart before either is used).
# - rules_from_catalogue: `drop_duplicates(None)` (the rows of one rule carry the same settings).

HIGHER, LOWER = "higher_is_better", "lower_is_better"
RULES = {
    "standard": RagRule(green_within=0.0, amber_within=0.05),
    "tight": RagRule(green_within=0.0, amber_within=0.01),
    "havering": RagRule(green_within=0.10, amber_within=0.10, amber_if_improved=True),
}
TARGET_COLUMNS = ["code", "year", "quarter", "target", "amber_threshold", "set_on", "reason"]
FLOAT_COLUMNS = [
    "value",
    "quarter_value",
    "target",
    "amber_threshold",
    "previous_quarter_value",
    "previous_quarter_part",
    "same_quarter_last_year_value",
    "ytd_value",
    "ytd_target",
]


def catalogue(*indicators: dict) -> pd.DataFrame:
    base = {
        "title": "Indicator",
        "service": "waste",
        "directorate": "Place",
        "priority": "Green",
        "level": "service",
        "unit": "count",
        "polarity": HIGHER,
        "decimals": 0,
        "frequency": "quarterly",
        "ytd_method": "sum",
        "rag_rule": "standard",
        "active_from": None,
        "active_to": None,
    }
    return pd.DataFrame([{**base, **indicator} for indicator in indicators])


def figures(*rows) -> pd.DataFrame:
    """Rows (quarter, code, value) or (quarter, code, value, {other columns})."""
    out = []
    for quarter, code, value, *extra in rows:
        row = {
            "quarter": quarter.key,
            "indicator_code": code,
            "value": value,
            "numerator": None,
            "denominator": None,
            "commentary": None,
            "data_status": "final",
            "reporting_status": "reported" if value is not None else "not_reported",
            "corrections": "",
        }
        out.append({**row, **(extra[0] if extra else {})})
    return pd.DataFrame(out)


def targets(*rows) -> pd.DataFrame:
    """Rows (code, year, quarter, target, amber_threshold, set_on, reason)."""
    frame = pd.DataFrame(list(rows), columns=TARGET_COLUMNS)
    return frame.assign(set_on=pd.to_datetime(frame["set_on"]))


def assess(quarter, indicators, values, target_rows=()) -> dict[str, dict]:
    table = assess_quarter(quarter, values, indicators, targets(*target_rows), RULES)
    assert table["indicator_code"].tolist() == indicators["code"].tolist(), "one row per indicator, in order"
    return {row["indicator_code"]: row for row in table.to_dict("records")}


def blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT


Q3 = Quarter(2024, 3)


def test_a_due_indicators_row_shows_each_figure_where_a_reader_looks_for_it():
    """Missed bins (lower is better) in 2024/25 Q3, every column at once. A second indicator with
    other figures sits beside it, so no figure can be taken from the wrong row."""
    indicators = catalogue(
        {"code": "X1", "title": "Missed bins", "polarity": LOWER},
        {"code": "Y2", "title": "Other", "service": "revs", "directorate": "Resources"},
    )
    values = figures(
        (Q3.shift(-2), "X1", 80.0),
        (Q3.shift(-1), "X1", 120.0),
        (
            Q3,
            "X1",
            95.0,
            {"commentary": "Storms", "data_status": "provisional", "corrections": "C1;C2"},
        ),
        (Q3.shift(-4), "X1", 94.0),
        (Q3.shift(-2), "Y2", 1.0),
        (Q3.shift(-1), "Y2", 2.0),
        (Q3, "Y2", 3.0, {"commentary": "Fine"}),
        (Q3.shift(-4), "Y2", 4.0),
    )
    rows = assess(
        Q3,
        indicators,
        values,
        [
            ("X1", "2024-25", "", 100.0, None, "2024-03-01", "Annual"),
            # The winter quarter's own target, with an explicit amber threshold.
            ("X1", "2024-25", "Q3", 90.0, 95.0, "2024-03-02", "Winter profile"),
            ("X1", "2023-24", "", 100.0, None, "2023-03-01", "Annual"),
            ("Y2", "2024-25", "", 50.0, None, "2024-03-01", "Y target"),
        ],
    )
    x1 = rows["X1"]
    assert {k: x1[k] for k in ["title", "service", "directorate", "priority", "level", "unit"]} == {
        "title": "Missed bins",
        "service": "waste",
        "directorate": "Place",
        "priority": "Green",
        "level": "service",
        "unit": "count",
    }
    assert (x1["quarter"], x1["polarity"], x1["decimals"], x1["frequency"]) == (
        "2024-25-Q3",
        LOWER,
        0,
        "quarterly",
    )
    assert (x1["rag_rule"], x1["ytd_method"]) == ("standard", "sum")
    assert (x1["value"], x1["quarter_value"]) == (95.0, 95.0)
    # The quarter's profiled target wins over the year's; its amber threshold replaces the 5%
    # tolerance: 95 is 5.6% over 90 (Red by the tolerance) but no worse than the threshold.
    assert (x1["target"], x1["amber_threshold"], x1["target_reason"]) == (90.0, 95.0, "Winter profile")
    assert x1["target_set_on"] == pd.Timestamp("2024-03-02")
    assert x1["rag_status"] == AMBER
    # Short: 95 against Q2's 120 (fewer missed bins: improving); long: against last Q3's 94.
    assert (x1["previous_quarter_value"], x1["previous_quarter_part"], x1["dot_short"]) == (
        120.0,
        120.0,
        IMPROVING,
    )
    assert (x1["same_quarter_last_year_value"], x1["dot_long"]) == (94.0, WORSENING)
    # Year to date: 80 + 120 + 95 = 295 against the targets in force each quarter, 100 + 100 + 90.
    assert (x1["ytd_value"], x1["ytd_target"], x1["ytd_quarters"]) == (295.0, 290.0, "3 of 3")
    assert x1["ytd_rag_status"] == AMBER  # 1.7% over: within 5%
    assert (x1["commentary"], x1["data_status"], x1["reporting_status"], x1["corrections"]) == (
        "Storms",
        "provisional",
        "reported",
        "C1;C2",
    )
    y2 = rows["Y2"]
    assert (y2["title"], y2["service"], y2["directorate"], y2["value"], y2["target"]) == (
        "Other",
        "revs",
        "Resources",
        3.0,
        50.0,
    )
    assert (y2["previous_quarter_value"], y2["same_quarter_last_year_value"], y2["ytd_value"]) == (
        2.0,
        4.0,
        6.0,
    )
    assert (y2["rag_status"], y2["dot_short"], y2["dot_long"], y2["commentary"]) == (
        RED,
        IMPROVING,
        WORSENING,
        "Fine",
    )
    assert (y2["ytd_target"], y2["ytd_rag_status"], y2["corrections"]) == (150.0, RED, "")


def test_the_published_table_has_the_contracts_columns_and_types():
    """Empty figures still come out as numbers and dates, so a CSV or a chart of the table never
    reads a blank figure as text."""
    table = assess_quarter(
        Q3,
        figures((Q3.shift(-1), "X1", None)),
        catalogue({"code": "X1"}, {"code": "X2", "frequency": "annual"}),
        targets(),
        RULES,
    )
    assert table.columns.tolist() == PERFORMANCE_COLUMNS
    assert all(str(table[column].dtype) == "float64" for column in FLOAT_COLUMNS)
    assert str(table["target_set_on"].dtype).startswith("datetime64")


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        # 97 against 100 is 3% short: within the standard 5%, beyond the tight rule's 1%.
        ("standard", 97.0, AMBER),
        ("tight", 97.0, RED),
        ("tight", 99.0, AMBER),
    ],
)
def test_each_indicator_is_judged_by_the_rule_it_names(rule, value, expected):
    rows = assess(
        Q3,
        catalogue({"code": "X1", "rag_rule": rule}),
        figures((Q3, "X1", value)),
        [("X1", "2024-25", "", 100.0, None, "2024-03-01", "Annual")],
    )
    assert rows["X1"]["rag_status"] == expected


@pytest.mark.parametrize(
    ("last_year", "expected"),
    [
        # Havering's rule: 16% short of 100 is Amber only if better than the same quarter last
        # year; the year to date (82) likewise against last year's year to date.
        ((70.0, 78.0), (AMBER, AMBER)),  # 84 > 78; 82 > 74
        ((90.0, 78.0), (AMBER, RED)),  # 84 > 78; 82 < 84
        ((70.0, 86.0), (RED, AMBER)),  # 84 < 86; 82 > 78
        ((None, 78.0), (AMBER, AMBER)),  # last year's mean of the quarters reported: 78
    ],
)
def test_amber_if_improved_compares_like_with_like(last_year, expected):
    q2 = Quarter(2024, 2)
    values = figures(
        (q2.shift(-1), "H", 80.0),
        (q2, "H", 84.0),
        (q2.shift(-5), "H", last_year[0]),
        (q2.shift(-4), "H", last_year[1]),
    )
    rows = assess(
        q2,
        catalogue({"code": "H", "rag_rule": "havering", "ytd_method": "mean"}),
        values,
        [("H", "2024-25", "", 100.0, None, "2024-03-01", "Annual")],
    )
    assert (rows["H"]["rag_status"], rows["H"]["ytd_rag_status"]) == expected
    assert rows["H"]["ytd_value"] == 82.0


CUMULATIVE = {"code": "C", "unit": "percent", "decimals": 1, "ytd_method": "cumulative"}
CUMULATIVE_TARGETS = [
    ("C", "2024-25", "Q1", 28.0, None, "2024-03-01", "Profiled"),
    ("C", "2024-25", "Q2", 56.0, None, "2024-03-01", "Profiled"),
    ("C", "2024-25", "Q3", 85.0, None, "2024-03-01", "Profiled"),
]


@pytest.mark.parametrize(
    ("quarter", "history", "expected"),
    [
        # Council tax collected, reported as the year to date: Q3's own part is 84 - 57 = 27,
        # against Q2's own 57 - 28 = 29 (worsening), though the year to date rose; the long
        # direction compares like with like (year to date against last year's, 84 > 83.5).
        (
            Q3,
            {(2024, 1): 28.0, (2024, 2): 57.0, (2024, 3): 84.0, (2023, 3): 83.5},
            (27.0, 57.0, 29.0, WORSENING, IMPROVING, 84.0, 85.0),
        ),
        # Q1's own part is its whole figure; the part it is compared with is last Q4's, 97 - 70.
        (
            Quarter(2024, 1),
            {(2024, 1): 28.0, (2023, 4): 97.0, (2023, 3): 70.0, (2023, 1): 28.5},
            (28.0, 97.0, 27.0, IMPROVING, WORSENING, 28.0, 28.0),
        ),
        # Q2 not reported: neither Q3's own part nor Q2's can be worked out.
        (
            Q3,
            {(2024, 1): 28.0, (2024, 3): 84.0},
            (None, None, None, NO_COMPARISON, NO_COMPARISON, 84.0, 85.0),
        ),
        # Q1 not reported: Q3's own part is known, Q2's is not.
        (
            Q3,
            {(2024, 2): 57.0, (2024, 3): 84.0},
            (27.0, 57.0, None, NO_COMPARISON, NO_COMPARISON, 84.0, 85.0),
        ),
    ],
)
def test_a_cumulative_indicator_is_compared_on_each_quarters_own_part(quarter, history, expected):
    values = figures(*((Quarter(*key), "C", v) for key, v in history.items()))
    row = assess(quarter, catalogue(CUMULATIVE), values, CUMULATIVE_TARGETS)["C"]
    got = tuple(
        None if blank(row[k]) else row[k]
        for k in [
            "quarter_value",
            "previous_quarter_value",
            "previous_quarter_part",
            "dot_short",
            "dot_long",
            "ytd_value",
            "ytd_target",
        ]
    )
    assert got == pytest.approx(expected)


def test_an_annual_indicator_has_no_short_direction_and_its_year_is_its_q4():
    """An annual figure reported in Q4: no previous quarter to compare with (a Q3 figure, if one
    was sent, is not the same measure) and its year to date is the year's one figure."""
    q4 = Quarter(2024, 4)
    values = figures((q4.shift(-1), "A", 40.0), (q4, "A", 50.0), (q4.shift(-4), "A", 45.0))
    row = assess(
        q4,
        catalogue({"code": "A", "frequency": "annual"}),
        values,
        [("A", "2024-25", "", 60.0, None, "2024-03-01", "Annual")],
    )["A"]
    # Nothing to compare with, so no "moved since last quarter" either (previous_quarter_part).
    assert blank(row["previous_quarter_value"]) and blank(row["previous_quarter_part"])
    assert row["dot_short"] == NO_COMPARISON
    assert (row["same_quarter_last_year_value"], row["dot_long"]) == (45.0, IMPROVING)
    assert (row["ytd_value"], row["ytd_target"], row["ytd_quarters"]) == (50.0, 60.0, "1 of 1")
    assert (row["rag_status"], row["ytd_rag_status"]) == (RED, RED)


def test_an_annual_indicators_last_year_is_last_years_q4():
    """Havering's rule on an annual figure: 50 against 60 is 17% short; Amber because last year's
    outturn (Q4) was 45, though last year's Q1 (sent by mistake) was higher."""
    q4 = Quarter(2024, 4)
    values = figures((q4, "A", 50.0), (q4.shift(-4), "A", 45.0), (q4.shift(-7), "A", 55.0))
    row = assess(
        q4,
        catalogue({"code": "A", "frequency": "annual", "rag_rule": "havering"}),
        values,
        [("A", "2024-25", "", 60.0, None, "2024-03-01", "Annual")],
    )["A"]
    assert (row["rag_status"], row["ytd_rag_status"]) == (AMBER, AMBER)


@pytest.mark.parametrize(
    ("indicator", "quarter"),
    [
        ({"code": "A", "frequency": "annual"}, Q3),
        ({"code": "A", "active_from": "2025-26-Q1"}, Q3),
        ({"code": "A", "active_to": "2024-25-Q2"}, Q3),
    ],
)
def test_an_indicator_not_due_has_no_status_target_or_year_to_date(indicator, quarter):
    values = figures(*((quarter.shift(-i), "A", 10.0 + i) for i in range(8)))
    row = assess(
        quarter,
        catalogue(indicator),
        values,
        [("A", "2024-25", "", 60.0, 55.0, "2024-03-01", "Annual")],
    )["A"]
    assert (row["rag_status"], row["ytd_rag_status"], row["dot_short"], row["dot_long"]) == (
        NOT_DUE,
        NOT_DUE,
        NO_COMPARISON,
        NO_COMPARISON,
    )
    assert all(
        blank(row[k])
        for k in ["target", "amber_threshold", "target_set_on", "target_reason", "quarter_value", "ytd_value"]
    )
    assert blank(row["ytd_target"]) and blank(row["previous_quarter_part"]) and row["ytd_quarters"] == ""
    assert row["reporting_status"] == "reported"  # a figure sent anyway is shown as sent


def test_an_indicator_not_due_and_not_sent_is_not_chased():
    row = assess(Q3, catalogue({"code": "A", "frequency": "annual"}), figures((Q3.shift(-1), "A", 1.0)))["A"]
    assert (row["rag_status"], row["reporting_status"]) == (NOT_DUE, "not_due")


def test_a_catalogue_without_indicators_gives_an_empty_table_with_the_columns():
    table = assess_quarter(Q3, figures((Q3, "X1", 1.0)), catalogue({"code": "X"}).iloc[0:0], targets(), RULES)
    assert table.empty and table.columns.tolist() == PERFORMANCE_COLUMNS


def test_a_due_indicator_with_no_row_is_missing_and_one_sent_blank_is_not_reported():
    values = figures(
        (Q3.shift(-2), "M", 10.0), (Q3.shift(-1), "M", 20.0), (Q3, "N", None), (Q3.shift(-1), "N", 5.0)
    )
    rows = assess(
        Q3,
        catalogue({"code": "M"}, {"code": "N", "ytd_method": "mean"}),
        values,
        [("M", "2024-25", "", 10.0, None, "2024-03-01", "Annual")],
    )
    m, n = rows["M"], rows["N"]
    assert (m["rag_status"], m["reporting_status"], m["corrections"], m["ytd_quarters"]) == (
        NOT_REPORTED,
        "missing",
        "",
        "2 of 3",
    )
    assert blank(m["value"]) and blank(m["commentary"]) and m["dot_short"] == NO_COMPARISON
    # A sum needs every quarter: no year to date while Q3 is missing, so no status for it either.
    assert blank(m["ytd_value"]) and m["ytd_target"] == 30.0 and m["ytd_rag_status"] == NOT_REPORTED
    assert (n["rag_status"], n["reporting_status"], n["ytd_quarters"]) == (
        NOT_REPORTED,
        "not_reported",
        "1 of 3",
    )
    assert blank(n["target"]) and blank(n["ytd_target"])


def test_a_ratio_year_to_date_sums_the_numerators_and_denominators():
    """Benefit claims in time: 5 of 10 in Q1 and 30 of 30 in Q2 make 35 of 40 (87.5%), not the
    mean of 50% and 100%; the target is weighted by the denominators (80 x 10 + 90 x 30) / 40."""
    q2 = Quarter(2024, 2)
    values = figures(
        (q2.shift(-1), "R", 50.0, {"numerator": 5.0, "denominator": 10.0}),
        (q2, "R", 100.0, {"numerator": 30.0, "denominator": 30.0}),
    )
    row = assess(
        q2,
        catalogue({"code": "R", "unit": "percent", "decimals": 1, "ytd_method": "ratio"}),
        values,
        [
            ("R", "2024-25", "Q1", 80.0, None, "2024-03-01", "Profiled"),
            ("R", "2024-25", "Q2", 90.0, None, "2024-03-01", "Profiled"),
        ],
    )["R"]
    assert (row["ytd_value"], row["ytd_target"], row["ytd_rag_status"]) == (87.5, 87.5, GREEN)


def test_a_target_raised_in_year_counts_from_the_quarter_it_applies_to():
    """A sum's year-to-date target adds up the target in force in each quarter: 100 for Q1 and
    Q2, then 120 once raised in October (README: *Targets*)."""
    values = figures((Q3.shift(-2), "S", 100.0), (Q3.shift(-1), "S", 100.0), (Q3, "S", 120.0))
    row = assess(
        Q3,
        catalogue({"code": "S"}),
        values,
        [
            ("S", "2024-25", "", 100.0, None, "2024-03-01", "Annual"),
            ("S", "2024-25", "", 120.0, None, "2024-10-15", "Raised"),
        ],
    )["S"]
    assert (row["target"], row["target_reason"], row["ytd_target"]) == (120.0, "Raised", 320.0)
    assert (row["rag_status"], row["ytd_rag_status"]) == (GREEN, GREEN)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # Set on the quarter's last day: it applies to that quarter (on or before the last day).
        (
            [
                ("T", "2024-25", "", 10.0, None, "2024-03-01", "Annual"),
                ("T", "2024-25", "", 12.0, None, "2024-09-30", "Q2 review"),
            ],
            (12.0, "Q2 review"),
        ),
        (
            [
                ("T", "2024-25", "", 10.0, None, "2024-03-01", "Annual"),
                ("T", "2024-25", "", 12.0, None, "2024-10-01", "Q3 review"),
            ],
            (10.0, "Annual"),
        ),
        # Both set only after the quarter ended: the first set applies, and the table holds one.
        (
            [
                ("T", "2024-25", "", 12.0, None, "2024-11-01", "Later"),
                ("T", "2024-25", "", 11.0, None, "2024-10-05", "Late"),
            ],
            (11.0, "Late"),
        ),
    ],
)
def test_one_target_in_force_for_each_indicator(rows, expected):
    table = targets_in_force(targets(*rows), Quarter(2024, 2))
    assert table.columns.tolist() == ["code", "target", "amber_threshold", "target_set_on", "target_reason"]
    assert table[["code", "target", "target_reason"]].values.tolist() == [["T", *expected]]


def test_a_blank_commentary_or_correction_list_stays_blank_text():
    """A figure read back with missing text (NULL in the warehouse, NaN in pandas) has no
    commentary and no corrections, not the text 'nan'."""
    values = figures((Q3, "X1", 5.0, {"commentary": float("nan"), "corrections": float("nan")}))
    row = assess(Q3, catalogue({"code": "X1"}), values)["X1"]
    assert row["commentary"] is None and row["corrections"] == "" and row["reporting_status"] == "reported"


def test_each_indicator_gets_the_rule_rag_rules_toml_gives_it(tmp_path):
    """The rules reach the assessment as the council wrote them, each under its own name."""
    (tmp_path / "services.csv").write_text(SERVICES)
    (tmp_path / "rag.toml").write_text(
        "[standard]\ngreen_within = 0.0\namber_within = 0.05\n"
        "[havering_style]\ngreen_within = 0.1\namber_within = 0.2\namber_if_improved = true\n"
        "[absolute_2]\namber_within = 2\ntolerance_type = 'absolute'\n"
    )
    catalogue_text = INDICATORS.replace(
        "quarterly,sum,0,,,waste,Green,service,,", "quarterly,sum,0,,,waste,Green,service,absolute_2,"
    )
    catalogue_text = catalogue_text.replace(
        "quarterly,last,0,,,housing,Homes,service,,",
        "quarterly,last,0,,,housing,Homes,service,havering_style,",
    )
    (tmp_path / "indicators.csv").write_text(catalogue_text)
    rules = load_rag_rules(tmp_path / "rag.toml")
    indicators = load_indicators(tmp_path / "indicators.csv", load_services(tmp_path / "services.csv"), rules)
    # As the indicator_catalogue asset carries them: the rule's settings beside each indicator.
    rule_table = pd.DataFrame.from_dict(rules, orient="index").add_prefix("rule_")
    indicators = indicators.merge(rule_table, left_on="rag_rule", right_index=True, how="left")
    assert rules_from_catalogue(indicators) == {
        "standard": RagRule(green_within=0.0, amber_within=0.05, tolerance_type="relative"),
        "absolute_2": RagRule(green_within=0.0, amber_within=2.0, tolerance_type="absolute"),
        "havering_style": RagRule(green_within=0.1, amber_within=0.2, amber_if_improved=True),
    }


@pytest.mark.parametrize(
    ("earlier", "use"),
    [
        (Quarter(2024, 2), "direction of travel"),
        (Quarter(2024, 1), "year to date"),
        (Quarter(2023, 4), "last year's year to date"),
        (Quarter(2023, 3), "direction of travel against the same quarter last year"),
        (Quarter(2023, 2), "last year's year to date"),
    ],
)
def test_what_a_quarter_takes_from_an_earlier_one_is_named(earlier, use):
    """The words `perf-pipeline run` prints when a correction to an earlier quarter makes a
    later one stale (2024/25 Q3 uses Q2 for its direction of travel, Q1 for its year to date)."""
    assert how_assessment_uses(Q3, earlier) == use


# --- properties ------------------------------------------------------------------------------------

figure = st.one_of(st.none(), st.integers(0, 200).map(float))


@settings(max_examples=40, deadline=None)
@given(
    history=st.lists(figure, min_size=8, max_size=8),
    q=st.integers(1, 4),
    method=st.sampled_from(["sum", "mean", "last", "cumulative"]),
    polarity=st.sampled_from([HIGHER, LOWER, "none"]),
    target=st.one_of(st.none(), st.integers(1, 200).map(float)),
)
def test_statuses_follow_from_what_was_reported(history, q, method, polarity, target):
    """Whatever was sent: a due quarter without a figure is Not reported (never rated), data-only
    indicators and those without a target are Grey, the year to date counts the quarters
    reported, and a cumulative or `last` year to date is the quarter's own figure."""
    quarter = Quarter(2024, q)
    values = figures(*((quarter.shift(-i), "X", v) for i, v in enumerate(history)))
    rows = [("X", "2024-25", "", target, None, "2024-03-01", "Annual")] if target is not None else []
    row = assess(quarter, catalogue({"code": "X", "ytd_method": method, "polarity": polarity}), values, rows)[
        "X"
    ]
    value = history[0]
    if value is None:
        assert row["rag_status"] == NOT_REPORTED
        assert row["dot_long"] == NO_COMPARISON
    elif polarity == "none" or target is None:
        assert row["rag_status"] == GREY
    else:
        assert row["rag_status"] in (GREEN, AMBER, RED)
    reported = sum(v is not None for v in history[:q])
    assert row["ytd_quarters"] == f"{reported} of {q}"
    if method in ("last", "cumulative"):
        assert (blank(row["ytd_value"]) and value is None) or row["ytd_value"] == value
        assert row["ytd_rag_status"] == row["rag_status"]
    if method == "sum" and reported == q:
        assert row["ytd_value"] == sum(history[:q])
    if method != "cumulative" and polarity != "none":
        now, before = history[0], history[1]
        gain = None if now is None or before is None else (now - before) * (1 if polarity == HIGHER else -1)
        assert row["dot_short"] == (
            NO_COMPARISON if gain is None else IMPROVING if gain > 0 else WORSENING if gain < 0 else NO_CHANGE
        )
