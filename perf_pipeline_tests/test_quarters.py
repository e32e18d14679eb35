import datetime as dt

import pytest

from perf_pipeline.lib.quarters import Quarter, QuarterError, fiscal_year_key


@pytest.mark.parametrize(
    "text",
    ["2025-26-Q2", "2025/26 Q2", "2025/26-Q2", "2025-2026 Q2", "q2 2025/26", " 2025/26  Q2 ", "Q2 2025-26"],
)
def test_every_accepted_form_reads_as_the_same_quarter(text):
    assert Quarter.parse(text) == Quarter(2025, 2)


@pytest.mark.parametrize("text", ["2025-27-Q2", "2025/26 Q5", "Q2", "July 2025", "", "2025-26"])
def test_text_that_is_not_a_quarter_is_refused(text):
    with pytest.raises(QuarterError):
        Quarter.parse(text)


@pytest.mark.parametrize(
    "quarter, start, end",
    [
        (Quarter(2025, 1), dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
        (Quarter(2025, 3), dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
        (Quarter(2025, 4), dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
    ],
)
def test_financial_year_quarters_run_april_to_march(quarter, start, end):
    assert (quarter.start, quarter.end) == (start, end)
    assert Quarter.containing(start) == quarter == Quarter.containing(end)
    assert Quarter.from_partition_key(quarter.partition_key) == quarter


def test_labels_and_keys():
    q = Quarter(2025, 4)
    assert (q.key, q.label, q.fy_key, q.partition_key) == (
        "2025-26-Q4",
        "2025/26 Q4",
        "2025-26",
        "2026-01-01",
    )


@pytest.mark.parametrize(
    "shift, expected", [(1, Quarter(2026, 1)), (-4, Quarter(2024, 4)), (-3, Quarter(2025, 1))]
)
def test_shifting_crosses_year_ends(shift, expected):
    assert Quarter(2025, 4).shift(shift) == expected
    assert expected - Quarter(2025, 4) == shift


@pytest.mark.parametrize(
    "text, key", [("2025-26", "2025-26"), ("2025/26", "2025-26"), ("1999-2000", "1999-00")]
)
def test_financial_years(text, key):
    assert fiscal_year_key(text) == key
