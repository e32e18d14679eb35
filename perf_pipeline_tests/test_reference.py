"""Reference data is checked before use; each mistake names the file, the row and the column."""

from __future__ import annotations

import pytest

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import (
    due_in,
    load_council,
    load_indicators,
    load_rag_rules,
    load_services,
    load_targets,
)
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline_tests.conftest import INDICATORS, TARGETS, write


def load_all(root):
    ref = root / "reference"
    services = load_services(ref / "services.csv")
    indicators = load_indicators(ref / "indicators.csv", services, load_rag_rules(ref / "rag_rules.toml"))
    return indicators, load_targets(ref / "targets.csv", indicators)


def test_the_valid_reference_data_loads_with_defaults(mini_root):
    indicators, targets = load_all(mini_root)
    wm01 = indicators.set_index("code").loc["WM01"]
    assert (wm01["min_value"], wm01["max_value"], wm01["rag_rule"], wm01["directorate"]) == (
        0,
        100,
        "standard",
        "Place",
    )
    assert indicators.set_index("code").loc["WM02", "min_value"] == 0
    assert len(targets) == 3


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "WM02,Missed bins,,count,,lower_is_better,quarterly,sum,0,,,waste,",
            "WM02,Missed bins,,count,,lower_is_better,quarterly,sum,0,,,parks,",
            "reference/indicators.csv row 3, column 'service': 'parks' is not a service in services.csv",
        ),
        (
            "WM02,Missed bins,,count,,lower_is_better,",
            "WM02,Missed bins,,count,,higher,",
            "reference/indicators.csv row 3, column 'polarity': 'higher' is not one of higher_is_better, lower_is_better, none",
        ),
        (
            "RB01,Council tax collected",
            "WM01,Council tax collected",
            "reference/indicators.csv row 4, column 'code': 'WM01' appears more than once; it must be unique",
        ),
        (
            "HO01,Households in temporary accommodation,,count",
            "HO01,Households in temporary accommodation,,pounds",
            "reference/indicators.csv row 6, column 'unit': 'pounds' is not one of percent, count, number, currency, days",
        ),
        (
            "HO02,Homelessness preventions,,count,,higher_is_better,annual,sum,0,,,housing,Homes,programme,,,,",
            "HO02,Homelessness preventions,,count,,higher_is_better,annual,sum,0,,,housing,Homes,programme,strict,,,",
            "reference/indicators.csv row 7, column 'rag_rule': 'strict' is not a rule in rag_rules.toml",
        ),
        (
            "WM01,Household waste recycled,,percent,,higher_is_better,quarterly,mean,1,,,waste,Green,strategic,,,,",
            "WM01,Household waste recycled,,percent,,higher_is_better,quarterly,mean,1,,,waste,Green,strategic,,,2025-26 Q9,",
            "reference/indicators.csv row 2, column 'active_from': '2025-26 Q9' is not a quarter (write it as 2025-26-Q1)",
        ),
    ],
)
def test_catalogue_mistakes_name_file_row_and_column(mini_root, old, new, expected):
    assert old in INDICATORS
    write(mini_root / "reference" / "indicators.csv", INDICATORS.replace(old, new))
    with pytest.raises(ReferenceDataError) as caught:
        load_all(mini_root)
    assert expected in caught.value.problems


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "XX99,2024-25,,5,,2024-03-01,Annual target",
            "reference/targets.csv row 5, column 'code': 'XX99' is not an indicator in indicators.csv",
        ),
        (
            "WM01,2024-25,,5,,2024-03-01,",
            "reference/targets.csv row 5, column 'reason': is required but blank",
        ),
        (
            "WM01,2024/25,Q5,5,,2024-03-01,Why",
            "reference/targets.csv row 5, column 'quarter': 'Q5' is not one of Q1, Q2, Q3, Q4",
        ),
        (
            "WM01,2024-25,,five,,2024-03-01,Why",
            "reference/targets.csv row 5, column 'target': 'five' is not a number",
        ),
    ],
)
def test_target_mistakes_name_file_row_and_column(mini_root, line, expected):
    write(mini_root / "reference" / "targets.csv", TARGETS + line + "\n")
    with pytest.raises(ReferenceDataError) as caught:
        load_all(mini_root)
    assert expected in caught.value.problems


def test_every_problem_is_reported_at_once(mini_root):
    broken = INDICATORS.replace("higher_is_better,quarterly,mean", "up,quarterly,median")
    write(mini_root / "reference" / "indicators.csv", broken)
    with pytest.raises(ReferenceDataError) as caught:
        load_all(mini_root)
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            "[standard]\ngreen_within = 0.1\namber_within = 0.05\n",
            "amber_within must be a number not below green_within",
        ),
        ('[standard]\ntolerance_type = "percent"\n', "tolerance_type 'percent' is not relative or absolute"),
        ("[other]\namber_within = 0.05\n", "the default rule [standard] is missing"),
    ],
)
def test_rag_rules_are_checked(mini_root, text, problem):
    path = write(mini_root / "reference" / "rag_rules.toml", text)
    with pytest.raises(ReferenceDataError) as caught:
        load_rag_rules(path)
    assert any(problem in p for p in caught.value.problems)


def test_council_needs_its_keys(mini_root):
    path = write(mini_root / "reference" / "council.toml", 'name = "X"\n')
    with pytest.raises(ReferenceDataError) as caught:
        load_council(path)
    assert "council.toml: key 'gss_code' is missing" in caught.value.problems


@pytest.mark.parametrize(
    "quarter, expected",
    [
        (Quarter(2024, 2), {"WM01", "WM02", "RB01", "RB02", "HO01"}),
        (Quarter(2024, 4), {"WM01", "WM02", "RB01", "RB02", "HO01", "HO02"}),
    ],
)
def test_annual_indicators_are_due_in_q4_only(mini_root, quarter, expected):
    indicators, _ = load_all(mini_root)
    assert set(indicators.loc[due_in(indicators, quarter), "code"]) == expected


def test_indicators_are_due_only_while_active(mini_root):
    write(
        mini_root / "reference" / "indicators.csv",
        INDICATORS.replace("Green,service,,,,", "Green,service,,,2024-25-Q2,2024-25-Q3"),
    )
    indicators, _ = load_all(mini_root)
    due = {
        q: "WM02" in set(indicators.loc[due_in(indicators, q), "code"])
        for q in (Quarter(2024, 1), Quarter(2024, 2), Quarter(2024, 3), Quarter(2024, 4))
    }
    assert due == {
        Quarter(2024, 1): False,
        Quarter(2024, 2): True,
        Quarter(2024, 3): True,
        Quarter(2024, 4): False,
    }
