"""Which indicators the quarterly report puts in front of Cabinet as exceptions, and which it
says were off target two quarters running (`lib/report.py`), from the README's rule: every Red
indicator and every one worsening two quarters running, with the service's commentary or "No
commentary provided". Fast: small tables as `indicator_performance` gives them.
"""

from __future__ import annotations

import pandas as pd
import pytest

from perf_pipeline.lib.report import exceptions, off_target_twice

COLUMNS = ["indicator_code", "directorate", "rag_status", "dot_short", "dot_long", "ytd_method", "commentary"]


def table(*rows) -> pd.DataFrame:
    """Rows (code, rag, dot_short) with optional dot_long, ytd_method, directorate, commentary."""
    out = []
    for code, rag, short, *rest in rows:
        long, method, directorate, commentary = [*rest, *[None] * (4 - len(rest))]
        out.append(
            {
                "indicator_code": code,
                "directorate": directorate or "Place",
                "rag_status": rag,
                "dot_short": short,
                "dot_long": long or "No comparison",
                "ytd_method": method or "sum",
                "commentary": commentary,
            }
        )
    return pd.DataFrame(out, columns=COLUMNS)


def chosen(now, before) -> dict[str, str]:
    return dict(zip(exceptions(now, before)["indicator_code"], exceptions(now, before)["why"]))


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        # Red is always an exception, even in the first quarter with nothing before it.
        (table(("A", "Red", "Improving")), table(), {"A": "Red"}),
        (table(("A", "Amber", "Worsening")), table(), {}),
        # Worsening this quarter and the last: an exception whatever its status.
        (
            table(("A", "Green", "Worsening")),
            table(("A", "Green", "Worsening")),
            {"A": "worsening two quarters running"},
        ),
        (
            table(("A", "Red", "Worsening")),
            table(("A", "Amber", "Worsening")),
            {"A": "Red and worsening two quarters running"},
        ),
        # Once is not twice; nor is another indicator's worsening last quarter.
        (table(("A", "Amber", "Worsening")), table(("A", "Amber", "Improving")), {}),
        (table(("A", "Amber", "Improving")), table(("A", "Amber", "Worsening")), {}),
        (table(("A", "Amber", "Worsening")), table(("B", "Amber", "Worsening")), {}),
        (table(("A", "Green", "No change")), table(("A", "Green", "No change")), {}),
        # A cumulative indicator is judged against the same quarter last year (its own part of
        # each quarter is seasonal), both this quarter and last.
        (
            table(("C", "Green", "Improving", "Worsening", "cumulative")),
            table(("C", "Green", "Improving", "Worsening", "cumulative")),
            {"C": "worse than the same quarter last year, two quarters running"},
        ),
        (
            table(("C", "Green", "Worsening", "Improving", "cumulative")),
            table(("C", "Green", "Worsening", "Improving", "cumulative")),
            {},
        ),
        (
            table(("C", "Green", "Improving", "Worsening", "cumulative")),
            table(("C", "Green", "Worsening", "Improving", "cumulative")),
            {},
        ),
    ],
)
def test_exceptions_are_red_or_worsening_two_quarters_running(now, before, expected):
    assert chosen(now, before) == expected


def test_exceptions_say_when_the_service_gave_no_commentary_and_come_by_directorate():
    now = table(
        ("B2", "Red", "Improving", None, None, "Place", "Fly-tipping up after the depot closed"),
        ("A1", "Red", "Improving", None, None, "Place", "   "),
        ("Z9", "Red", "Improving", None, None, "People", None),
        ("M5", "Green", "Improving", None, None, "People", None),
    )
    got = exceptions(now, table())
    assert got["indicator_code"].tolist() == ["Z9", "A1", "B2"]
    assert got["commentary_missing"].tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        (
            ["Red", "Amber", "Green", "Red", "Not reported"],
            ["Amber", "Red", "Red", "Green", "Red"],
            ["A", "B"],
        ),
        (["Red", "Amber"], None, []),  # the first quarter: nothing to repeat
        (["Amber", "Grey", "Red"], ["Amber", "Grey", "Not reported"], ["A"]),
    ],
)
def test_off_target_two_quarters_running_means_amber_or_red_both_times(now, before, expected):
    codes = "ABCDE"
    this = table(*((codes[i], rag, "No comparison") for i, rag in enumerate(now)))
    last = table(*((codes[i], rag, "No comparison") for i, rag in enumerate(before))) if before else table()
    assert off_target_twice(this, last)["indicator_code"].tolist() == expected
