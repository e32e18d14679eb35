"""Rules pinned at their edges, where mutation testing (`make mutation`) found that a rule could
change without any test noticing: `numerator > denominator` turned into `>=` (refusing every
100%), a tolerance compared with `>=` instead of `>`, a window one quarter too wide.

Each test states the edge a person relies on. Fast and table-driven: `make mutation` runs these
with test_returns.py, test_quarters.py and test_performance.py against every mutant.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from perf_pipeline.lib.quarters import Quarter, QuarterError, fiscal_year_key, quarter_range
from perf_pipeline.lib.reference import load_indicators, load_rag_rules, load_services
from perf_pipeline.lib.returns_validation import (
    ambiguous_separators,
    parse_numbers,
    ratio_rules,
    validate_returns,
)
from perf_pipeline_tests.conftest import INDICATORS, RAG_RULES, SERVICES
from perf_pipeline_tests.test_validation_rules import raw_rows

Q = Quarter(2024, 2)
FIRST = Quarter(2021, 1)


@pytest.fixture(scope="module")
def indicators(tmp_path_factory) -> pd.DataFrame:
    # WM01 percent (1 decimal), WM02 count, RB02 percent with a ratio year to date, HO01 count,
    # HO02 annual; WM01 gets a valid range so its edges can be tested.
    folder = tmp_path_factory.mktemp("reference")
    catalogue = INDICATORS.replace(
        "WM01,Household waste recycled,,percent,,higher_is_better,quarterly,mean,1,,,",
        "WM01,Household waste recycled,,percent,,higher_is_better,quarterly,mean,1,10,90,",
    )
    for name, text in (("services.csv", SERVICES), ("indicators.csv", catalogue), ("rag.toml", RAG_RULES)):
        (folder / name).write_text(text)
    return load_indicators(
        folder / "indicators.csv", load_services(folder / "services.csv"), load_rag_rules(folder / "rag.toml")
    )


def verdict(indicators, code, value="", numerator="", denominator="", period="", status="", delimiter=","):
    """The reason given to one row (`accepted` if none), and the value read."""
    raw = raw_rows(
        {
            "file": "submissions/x.csv",
            "file_sha256": "",
            "code": code,
            "period": period,
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
            "status": status,
            "delimiter": delimiter,
        }
    )
    validated, exceptions = validate_returns(raw, indicators, Q, FIRST)
    if len(validated):
        return "accepted", validated["value"].iloc[0]
    return exceptions["reason"].iloc[0], exceptions["message"].iloc[0]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # A rate may be 100%: numerator equal to denominator is accepted, one more is refused.
        ({"code": "RB02", "numerator": "50", "denominator": "50"}, ("accepted", 100.0)),
        ({"code": "RB02", "numerator": "51", "denominator": "50"}, "numerator_exceeds_denominator"),
        # A count is no rate: its numerator may exceed its denominator.
        ({"code": "WM02", "numerator": "6", "denominator": "3"}, ("accepted", 2.0)),
        ({"code": "RB02", "numerator": "0", "denominator": "0"}, "zero_denominator"),
        ({"code": "RB02", "numerator": "0", "denominator": "4"}, ("accepted", 0.0)),
        # The value may differ from numerator / denominator by up to the precision (0.1), not more.
        ({"code": "RB02", "value": "90.1", "numerator": "45", "denominator": "50"}, ("accepted", 90.1)),
        (
            {"code": "RB02", "value": "90.2", "numerator": "45", "denominator": "50"},
            "value_disagrees_with_ratio",
        ),
        (
            {"code": "RB02", "value": "89.8", "numerator": "45", "denominator": "50"},
            "value_disagrees_with_ratio",
        ),
        # The valid range includes its ends.
        ({"code": "WM01", "value": "10"}, ("accepted", 10.0)),
        ({"code": "WM01", "value": "90"}, ("accepted", 90.0)),
        ({"code": "WM01", "value": "9.9"}, "out_of_range"),
        ({"code": "WM01", "value": "90.1"}, "out_of_range"),
        ({"code": "WM02", "value": "-1"}, "out_of_range"),
        ({"code": "WM02", "value": "0"}, ("accepted", 0.0)),
        # Revisions: the three quarters before the return's own; not the fourth, not a later one.
        ({"code": "WM02", "value": "1", "period": "2023-24-Q3"}, ("accepted", 1.0)),
        ({"code": "WM02", "value": "1", "period": "2023-24-Q2"}, "wrong_period"),
        ({"code": "WM02", "value": "1", "period": "2024-25-Q2"}, ("accepted", 1.0)),
        ({"code": "WM02", "value": "1", "period": "2024-25-Q3"}, "wrong_period"),
        ({"code": "HO02", "value": "1"}, "not_due"),
        ({"code": "WM02", "value": "1", "status": "Provisional"}, ("accepted", 1.0)),
        ({"code": "WM02", "value": "1", "status": "draft"}, "invalid_status"),
        ({"code": "wm02", "value": "1"}, ("accepted", 1.0)),
        ({"code": "", "value": "1"}, "unknown_indicator"),
        ({"code": "WM02", "value": "n/a"}, ("accepted", None)),
        ({"code": "WM02", "value": "1.651", "delimiter": ";"}, "not_a_number"),
        ({"code": "WM02", "value": "1.651", "delimiter": ","}, ("accepted", 1.651)),
        ({"code": "WM02", "value": "1651", "delimiter": ";"}, ("accepted", 1651.0)),
        ({"code": "WM02", "value": "", "numerator": "x", "denominator": "2"}, "not_a_number"),
        ({"code": "WM02", "value": "", "numerator": "2", "denominator": "x"}, "not_a_number"),
    ],
)
def test_each_rule_at_its_edge(indicators, row, expected):
    got = verdict(indicators, **row)
    if isinstance(expected, tuple):
        assert got[0] == "accepted", got
        assert (pd.isna(got[1]) and expected[1] is None) or got[1] == pytest.approx(expected[1])
    else:
        assert got[0] == expected, got


def test_a_period_that_is_not_a_quarter_is_quoted_in_its_message(indicators):
    assert verdict(indicators, "WM02", value="1", period="Q5") == (
        "wrong_period",
        "'Q5' is not a quarter; write it as 2025/26 Q2 or 2025-26-Q2.",
    )


# Survivors of the parsers in `make mutation` that cannot matter, and why:
# - _parse_written_numbers: `open & close` as `open | close` (an unbalanced bracket is refused by
#   the test beside it, so for every accepted figure the two agree); `errors="coerce"` dropped and
#   `astype(float)` as `astype(None)` (only matched digits reach to_numeric, as float64 either way);
#   `well_formed & isfinite` as `|` (a figure not well formed is NaN already); `\u00a0` as `\u00A0`.
# - ambiguous_separators: `fillna("XXXX")` (the raw text of a row is never missing, only blank) and
#   `to_numpy(dtype=None)` (already booleans).
# - ratio_rules: `np.errstate(divide=None)` changes a warning, not a figure.
# - parse_numbers: `use_na_sentinel=None` (pandas reads it as False); `fillna("XXXX")` (missing
#   text is no figure either way); `dtype=object` dropped
#   and `astype(float)` as `astype(None)` (`where` makes the figures floats); the distinct texts'
#   own index as None (it is 0 to n-1 already); `~ok & text.ne("")` as `|`, `ne(None)` or
#   `ne("XXXX")` (the careful reading reads every plain figure the same, and refuses blank);
#   `to_numpy(dtype=None)` (booleans already).
# - _per_distinct and _rows (used inside validate_returns only, on a frame indexed 0 to n-1 whose
#   text is never missing): the index, dtype or missing-value sentinel left to pandas; a plain column always taken through `.array` (slower, the
#   same values); the frame built with `copy=True` or None (a copy, the same values).


def test_a_blank_period_is_the_folders_quarter_and_a_revision_is_marked(indicators):
    raw_now = verdict(indicators, "WM02", value="1")
    assert raw_now == ("accepted", 1.0)
    assert verdict(indicators, "WM02", value="1", period="2021/22 Q1")[0] == "wrong_period"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 234", 1234.0),
        ("1\u00a0234\u00a0567", 1234567.0),
        ("(1,234.50)", -1234.5),
        ("-£5", -5.0),
        ("+5", 5.0),
        ("5.", 5.0),
        (".5", 0.5),
        ("12 %", 12.0),
        ("−7", -7.0),
        ("(£12)", -12.0),
    ],
)
def test_written_numbers_read_exactly(text, value):
    numbers, ok = parse_numbers(pd.Series([text]))
    assert ok[0] and numbers[0] == value


def test_missing_text_is_no_figure_and_each_figure_keeps_its_rows_label():
    """A missing cell (None or NaN, as a correction's blank reads) is not a figure, never the
    figure of another row; the figures come back under the labels they were given."""
    numbers, ok = parse_numbers(pd.Series(["5", None, np.nan, "5"], index=[10, 20, 30, 40]))
    assert ok.to_dict() == {10: True, 20: False, 30: False, 40: True}
    assert numbers[10] == 5 and numbers[40] == 5 and numbers[[20, 30]].isna().all()


def test_minus_zero_reads_as_zero_without_its_sign():
    numbers, _ = parse_numbers(pd.Series(["-0", "(0)", "-0.0%"]))
    assert [math.copysign(1, n) for n in numbers] == [1, 1, 1]


def test_row_numbers_stay_whole_numbers_in_both_outputs(indicators):
    raw = pd.DataFrame(
        {
            **{c: ["submissions/x.csv"] * 2 for c in ["file"]},
            **{c: [""] * 2 for c in ["file_sha256", "period", "numerator", "denominator", "commentary"]},
            **{c: [""] * 2 for c in ["status", "submitted_by", "file_problem", "file_problem_message"]},
            "delimiter": [",", ","],
            "row_number": pd.array([2, 3], dtype="Int64"),
            "indicator_code": ["WM02", "XX99"],
            "value": ["1", "2"],
        }
    )
    validated, exceptions = validate_returns(raw, indicators, Q, FIRST)
    assert str(validated["row"].dtype) == "Int64" and validated["row"].tolist() == [2]
    assert str(exceptions["row"].dtype) == "Int64" and exceptions["row"].tolist() == [3]


@pytest.mark.parametrize(
    "text",
    [
        "21 3",
        "4%7",
        "(-3.2)",
        "(12",
        "12)",
        "1,23,456",
        "1,234 567",
        "--5",
        "85%%",
        "%5",
        "1_000",
        "٣",
        "inf",
    ],
)
def test_figures_that_would_be_guesses_are_refused(text):
    _, ok = parse_numbers(pd.Series([text]))
    assert not ok[0]


def test_ambiguous_separators_only_in_semicolon_files():
    text = pd.Series(["1.651", "1,651", "1.651.000", "21.35", "1.6510", "1651", "1.651,5"])
    semicolon = pd.Series(True, index=text.index)
    assert ambiguous_separators(text, semicolon).tolist() == [True, True, True, False, False, False, False]
    assert not ambiguous_separators(text, ~semicolon).any()


def test_ratio_rules_for_a_percentage_and_a_count():
    catalogue = pd.DataFrame(
        {
            "unit": ["percent", "count", "percent"],
            "ytd_method": ["mean", "ratio", "mean"],
            "decimals": [1, 0, None],
        }
    )
    zero, exceeds, derived, disagree = ratio_rules(
        pd.Series([50.0, 3.0, 20.2]), pd.Series([1.0, 5.0, 1.0]), pd.Series([2.0, 4.0, 5.0]), catalogue
    )
    assert derived.tolist() == [50.0, 1.25, 20.0]
    assert exceeds.tolist() == [False, True, False], "a ratio year to date makes a rate"
    assert disagree.tolist() == [False, True, True], (
        "3 is more than 1 (0 decimals) from 1.25; 20.2 more than 0.1"
    )
    assert not zero.any()


@pytest.mark.parametrize(
    ("text", "quarter"),
    [
        ("2025-26-Q2", Quarter(2025, 2)),
        ("2025/26 Q4", Quarter(2025, 4)),
        ("Q1 2025-26", Quarter(2025, 1)),
        ("2099/00 Q1", Quarter(2099, 1)),
        ("1900/01 Q1", Quarter(1900, 1)),
        ("2199/00 Q4", Quarter(2199, 4)),
    ],
)
def test_quarters_read_to_the_ends_of_the_range(text, quarter):
    assert Quarter.parse(text) == quarter


@pytest.mark.parametrize(
    "text", ["1899/00 Q4", "2200/01 Q1", "2025/27 Q1", "2025/26 Q5", "2025/26 Q0", "2025 Q1"]
)
def test_quarters_outside_the_range_or_misnumbered_are_refused(text):
    with pytest.raises(QuarterError):
        Quarter.parse(text)


def test_quarter_arithmetic():
    assert Quarter(2024, 4).shift(1) == Quarter(2025, 1)
    assert Quarter(2025, 1).shift(-1) == Quarter(2024, 4)
    assert Quarter(2025, 1) - Quarter(2024, 2) == 3
    assert [q.key for q in quarter_range(Quarter(2024, 3), Quarter(2025, 1))] == [
        "2024-25-Q3",
        "2024-25-Q4",
        "2025-26-Q1",
    ]
    assert (
        Quarter(2024, 4).start.isoformat() == "2025-01-01"
        and Quarter(2024, 4).end.isoformat() == "2025-03-31"
    )
    assert Quarter(2024, 1).label == "2024/25 Q1" and Quarter(2099, 1).label == "2099/00 Q1"
    assert fiscal_year_key("2025/2026") == "2025-26"
    with pytest.raises(QuarterError):
        fiscal_year_key("2025/27")


# --- performance rules (lib/performance.py) -------------------------------------------------------
#
# Survivors of `make mutation` that cannot matter, and why:
# - rag_status's `_SLACK` (1e-9 of the target, there to absorb float error such as
#   0.29 * 100 == 28.999999999999996): mutants that scale it, or turn a `<=` or `>=` beside it into
#   `<` or `>`, differ only for values within 1e-9 of a boundary, and values are compared after
#   rounding to at most a few decimals, so no figure can fall there.
# - direction_of_travel's `v > e` as `v >= e`: equal values returned No change just before.
# - at_precision's `Decimal(1)` as `Decimal(2)`: quantize takes only the exponent of its argument.
# - _missing's `or` as `and` in its first terms: pd.isna alone already covers None and NaN.
# - year_to_date's ratio weights `[1.0]` as `[2.0]`: equal weights give the same mean.
# - fiscal_year_key's `10_000` as `10001`: the same for every four-digit year.
# - assess_quarter, targets_in_force and rules_from_catalogue: test_assessment.py pins which
#   figure feeds which column and says why the few survivors left cannot matter.

from perf_pipeline.lib.performance import (
    AMBER,
    RED,
    RagRule,
    at_precision,
    rag_status,
    targets_in_force,
    year_to_date,
)


@pytest.mark.parametrize(
    ("value", "last_year", "polarity", "expected"),
    [
        (112, 112, "lower_is_better", RED),  # no better than a year ago: not amber
        (112, 112.5, "lower_is_better", AMBER),
        (89, 89, "higher_is_better", RED),
    ],
)
def test_amber_if_improved_needs_a_strict_improvement(value, last_year, polarity, expected):
    rule = RagRule(green_within=0.1, amber_within=0.1, amber_if_improved=True)
    assert rag_status(value, 100, polarity, rule, 1, same_quarter_last_year=last_year) == expected


def test_no_value_has_no_precision():
    assert at_precision(float("nan"), 1) is None and at_precision(None, 1) is None


@pytest.mark.parametrize(
    ("method", "unit", "values", "nums", "dens", "targets", "expected"),
    [
        ("last", "count", [], [], [], [], (None, None)),
        ("cumulative", "count", [], [], [], [], (None, None)),
        ("mean", "days", [10, 20, None], [None] * 3, [None] * 3, [20, 20, 20], (None, 20)),
        ("mean", "days", [10], [None], [None], [None], (10, None)),
        ("ratio", "percent", [None, None], [0, 0], [0, 0], [80, 80], (None, 80)),
        ("ratio", "percent", [100], [1], [1], [90], (100.0, 90)),
        ("ratio", "percent", [], [], [], [], (None, None)),
        ("ratio", "percent", [50], [5], [10], [None], (50.0, None)),
        ("ratio", "percent", [50, None], [5, None], [10, None], [60, 100], (None, 80)),
    ],
)
def test_year_to_date_at_its_edges(method, unit, values, nums, dens, targets, expected):
    assert year_to_date(method, unit, values, nums, dens, targets) == (
        pytest.approx(expected) if None not in expected else expected
    )


def test_an_unknown_year_to_date_method_is_named():
    with pytest.raises(ValueError, match="unknown ytd_method median"):
        year_to_date("median", "count", [1], [None], [None], [1])


def test_a_blank_quarter_read_as_missing_is_the_years_target():
    targets = pd.DataFrame(
        {
            "code": ["A"],
            "year": ["2024-25"],
            "quarter": [None],
            "target": [80.0],
            "amber_threshold": [None],
            "set_on": [pd.Timestamp("2024-03-01")],
            "reason": ["Annual"],
        }
    )
    assert targets_in_force(targets, Quarter(2024, 2))["target"].tolist() == [80.0]


def test_a_financial_year_that_is_not_one_is_named():
    with pytest.raises(QuarterError, match="'2025' is not a financial year"):
        fiscal_year_key("2025")
    with pytest.raises(QuarterError, match="2025 is not followed by 2027"):
        fiscal_year_key("2025-2027")


# --- repeated figures (_fail_repeats) -------------------------------------------------------------


# Survivors of `make mutation` in _fail_repeats that cannot matter, and why (257 mutants):
# - `to_numpy(dtype=bool)` as `dtype=None`, and the mask as float zeros: booleans (or 0 and 1,
#   read back as booleans) either way.
# - the key `code * len(periods) + period` as `- period`: still one number per indicator and period.
# - `size[group] > 1` as `>= 1`: a figure sent once is the first of its group, and neither rule
#   touches a first figure that has no different one beside it.
# - `use_na_sentinel=None` (pandas reads it as False); `bincount` without `minlength` (every group
#   has at least one figure, so the count is as long).
# - the fill values of the message arrays and of `group_of_row`: only the filled places are read.
# - `pd.Series(mask, index=None)`: the frame's index is 0 to n-1 already.


def verdicts(indicators, *rows) -> list[tuple[str, str]]:
    """Each row's verdict and message, in the order given: rows are (file, row, code, value) with
    optional numerator, denominator and period."""
    raw = raw_rows(
        *(
            {
                "file": f"submissions/{file}",
                "file_sha256": "",
                "row_number": row,
                "code": code,
                "period": rest[2] if len(rest) > 2 else "",
                "value": value,
                "numerator": rest[0] if rest else "",
                "denominator": rest[1] if len(rest) > 1 else "",
            }
            for file, row, code, value, *rest in rows
        )
    )
    validated, exceptions = validate_returns(raw, indicators, Q, FIRST)
    outcome = {(f, r): ("accepted", "") for f, r in zip(validated["file"], validated["row"])}
    outcome |= {
        (f, r): (why, text) for f, r, why, text in exceptions[["file", "row", "reason", "message"]].values
    }
    assert len(outcome) == len(rows), "every row has one verdict"
    return [outcome[(f"submissions/{file}", row)] for file, row, *_ in rows]


SAME = "The same figure for WM02 2024-25-Q2 was already received in submissions/a.csv row 2; it was counted once."


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # The first of identical figures is used; a later one names where the first came from.
        ((("a.csv", 2, "WM02", "5"), ("b.csv", 7, "WM02", "5")), [("accepted", ""), ("duplicate", SAME)]),
        # The same figure written two ways, or in another case of the code, is the same figure.
        ((("a.csv", 2, "WM02", "5"), ("a.csv", 3, "wm02", "5.0")), [("accepted", ""), ("duplicate", SAME)]),
        (
            (("a.csv", 2, "WM02", "5"), ("a.csv", 3, "WM02", "5.0000000001")),
            [("accepted", ""), ("duplicate", SAME)],
        ),
        # Two blanks are one figure (not reported); a blank and a figure conflict.
        ((("a.csv", 2, "WM02", ""), ("a.csv", 3, "WM02", "n/a")), [("accepted", ""), ("duplicate", SAME)]),
        # A figure for another quarter (a revision) is no repeat.
        (
            (("a.csv", 2, "WM02", "5"), ("a.csv", 3, "WM02", "6", "", "", "2024-25-Q1")),
            [("accepted", "")] * 2,
        ),
        # A row refused for an earlier reason is no repeat: the other figure stands.
        ((("a.csv", 2, "WM02", "x"), ("a.csv", 3, "WM02", "6")), [("not_a_number", None), ("accepted", "")]),
    ],
)
def test_a_figure_sent_twice_is_counted_once(indicators, rows, expected):
    got = verdicts(indicators, *rows)
    assert [
        (why, text if want is not None else None) for (why, text), (_, want) in zip(got, expected)
    ] == expected


@pytest.mark.parametrize(
    ("figures", "listed"),
    [
        (["5", "6"], "a.csv row 2 (5), submissions/a.csv row 3 (6)"),
        (["5", "5.0001"], "a.csv row 2 (5), submissions/a.csv row 3 (5.0001)"),
        (["", "6"], "a.csv row 2 (blank), submissions/a.csv row 3 (6)"),
        (
            ["1", "2", "3", "4", "5"],
            "a.csv row 2 (1), " + ", ".join(f"submissions/a.csv row {r} ({r - 1})" for r in range(3, 7)),
        ),
        (
            ["1", "2", "3", "4", "5", "6"],
            "a.csv row 2 (1), "
            + ", ".join(f"submissions/a.csv row {r} ({r - 1})" for r in range(3, 7))
            + " and 1 more",
        ),
        (
            ["1", "2", "3", "4", "5", "6", "7"],
            "a.csv row 2 (1), "
            + ", ".join(f"submissions/a.csv row {r} ({r - 1})" for r in range(3, 7))
            + " and 2 more",
        ),
        (["1", "1", "2"], "a.csv row 2 (1), submissions/a.csv row 3 (1), submissions/a.csv row 4 (2)"),
    ],
)
def test_different_figures_are_all_refused_and_the_message_lists_five_places(indicators, figures, listed):
    rows = [("a.csv", 2 + n, "WM02", figure) for n, figure in enumerate(figures)]
    message = (
        f"Different figures for WM02 2024-25-Q2 were sent: submissions/{listed}; none is used until the "
        "service confirms which is right."
    )
    assert verdicts(indicators, *rows) == [("conflicting_duplicate", message)] * len(figures)


def test_a_ratio_sent_twice_is_listed_as_its_numerator_and_denominator(indicators):
    got = verdicts(indicators, ("a.csv", 2, "RB02", "", "45", "50"), ("b.csv", 2, "RB02", "", "46", "50"))
    assert got[0] == got[1]
    assert got[0][1].startswith(
        "Different figures for RB02 2024-25-Q2 were sent: submissions/a.csv row 2 (45/50), submissions/b.csv row 2 (46/50);"
    )


def test_repeats_of_several_indicators_are_judged_each_on_its_own(indicators):
    """The first and third indicators sent the same figure twice, the second another: each is a
    plain repeat, none a conflict (figures are told apart per indicator, never across)."""
    got = verdicts(
        indicators,
        ("a.csv", 2, "WM02", "5"),
        ("a.csv", 3, "WM02", "5"),
        ("a.csv", 4, "HO01", "6"),
        ("a.csv", 5, "HO01", "6"),
        ("a.csv", 6, "RB02", "5"),
        ("a.csv", 7, "RB02", "5"),
    )
    assert [why for why, _ in got] == ["accepted", "duplicate"] * 3
