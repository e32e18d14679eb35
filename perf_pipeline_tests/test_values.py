"""Corrections and revisions turn validated rows into one figure per indicator and quarter."""

from __future__ import annotations

import pandas as pd
import pytest

from perf_pipeline.lib.corrections import check_corrections, read_corrections
from perf_pipeline.lib.indicator_values import build_indicator_values
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline_tests.conftest import write
from perf_pipeline_tests.test_returns import catalogue

HEADER = "correction_id,indicator_code,period,value,numerator,denominator,reason,requested_by,approved_by,approved_on\n"
Q1, Q2 = Quarter(2024, 1), Quarter(2024, 2)


def corrections(root, body: str) -> pd.DataFrame:
    write(root / "corrections" / "2024-25.csv", HEADER + body)
    return check_corrections(read_corrections(root / "corrections", root), catalogue(root))


@pytest.mark.parametrize(
    "line, problem",
    [
        ("C1,WM02,2024-25-Q1,4,,,Miscount,Pat,,2024-09-01", "no approver"),
        ("C1,WM02,2024-25-Q1,4,,,,Pat,Head,2024-09-01", "no reason"),
        ("C1,WM99,2024-25-Q1,4,,,Why,Pat,Head,2024-09-01", "'WM99' is not an indicator"),
        ("C1,WM02,2024-25 Q5,4,,,Why,Pat,Head,2024-09-01", "is not a quarter"),
        ("C1,WM02,2024-25-Q1,-4,,,Why,Pat,Head,2024-09-01", "outside the valid range"),
        ("C1,WM02,2024-25-Q1,four,,,Why,Pat,Head,2024-09-01", "'four' is not a number"),
        ("C1,WM02,2024-25-Q1,4,,,Why,Pat,Head,yesterday", "is not a date"),
        ("C1,HO02,2024-25-Q1,4,,,Why,Pat,Head,2024-09-01", "not due in 2024/25 Q1"),
        ("C1,RB02,2024-25-Q1,,60,50,Why,Pat,Head,2024-09-01", "numerator is larger"),
    ],
)
def test_a_correction_that_cannot_be_applied_is_rejected_with_its_reason(mini_root, line, problem):
    log = corrections(mini_root, line + "\n")
    assert list(log["status"]) == ["rejected"]
    assert problem in log["problem"].iloc[0]
    assert log["row"].iloc[0] == 2 and log["file"].iloc[0] == "corrections/2024-25.csv"


def test_a_repeated_correction_id_is_rejected_the_second_time(mini_root):
    log = corrections(
        mini_root,
        "C1,WM02,2024-25-Q1,4,,,Why,Pat,Head,2024-09-01\nC1,WM02,2024-25-Q1,5,,,Why,Pat,Head,2024-09-02\n",
    )
    assert list(log["status"]) == ["accepted", "rejected"]


def validated_rows(*rows) -> pd.DataFrame:
    columns = [
        "source_quarter",
        "file",
        "row",
        "indicator_code",
        "period",
        "value",
        "numerator",
        "denominator",
        "commentary",
        "data_status",
        "raw_value",
        "file_sha256",
    ]
    return pd.DataFrame([dict(zip(columns, r)) for r in rows], columns=columns)


def test_values_take_revisions_then_corrections_in_approval_order(mini_root):
    log = corrections(
        mini_root,
        "C2,WM02,2024-25-Q1,6,,,Second look,Pat,Head,2024-11-01\n"
        "C1,WM02,2024-25-Q1,5,,,First look,Pat,Head,2024-10-01\n"
        "C3,WM01,2024-25-Q1,44,,,No approver,Pat,,2024-10-01\n",
    )
    validated = validated_rows(
        (Q1.key, "q1.csv", 2, "WM01", Q1.key, 40.0, None, None, "", "final", "40", "a"),
        (Q1.key, "q1.csv", 3, "WM02", Q1.key, 3.0, None, None, "", "final", "3", "a"),
        (Q1.key, "q1.csv", 4, "RB01", Q1.key, None, None, None, "", "final", "n/a", "a"),
        (Q2.key, "q2.csv", 9, "WM01", Q1.key, 42.0, None, None, "revised", "final", "42", "b"),
    )
    values = build_indicator_values(Q1, validated, log, catalogue(mini_root)).set_index("indicator_code")
    assert values.loc[
        "WM01", ["value", "received_value", "is_revision", "source_file", "source_row"]
    ].tolist() == [42.0, 40.0, True, "q2.csv", 9]
    assert values.loc["WM01", "corrections"] == ""  # C3 has no approver
    assert values.loc["WM02", ["value", "received_value", "corrections", "correction_reason"]].tolist() == [
        6.0,
        3.0,
        "C1;C2",
        "Second look",
    ]
    assert values.loc["RB01", "reporting_status"] == "not_reported"
    assert values.loc["RB02", "reporting_status"] == "missing"
    assert "HO02" not in values.index  # annual: not due in Q1
    assert values.index.is_unique


def test_a_correction_can_supply_a_figure_that_was_never_returned(mini_root):
    log = corrections(mini_root, "C1,RB02,2024-25-Q1,,45,50,Late figure,Pat,Head,2024-09-01\n")
    values = build_indicator_values(Q1, validated_rows(), log, catalogue(mini_root)).set_index(
        "indicator_code"
    )
    assert values.loc["RB02", ["value", "reporting_status", "corrections"]].tolist() == [
        90.0,
        "reported",
        "C1",
    ]
