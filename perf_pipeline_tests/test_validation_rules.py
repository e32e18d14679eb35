"""validate_returns as a whole, rule by rule: what a service officer reads for each refused row,
and what the accepted rows carry for the auditor.

Mutation testing (`make mutation`) showed that the parsers were pinned (test_rules.py) but the
rest of `validate_returns` (the order of the rules, the messages, the service a row of an unknown
indicator is put down to, the columns the accepted rows carry) could change with only the
end-to-end tests noticing. Each case is a few raw rows, as the reader gives them, checked
against a small catalogue; the sentences are the README's table of reasons worded for the row.
Runs in seconds.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import load_indicators, load_rag_rules, load_services
from perf_pipeline.lib.returns_validation import (
    EXCEPTION_COLUMNS,
    REASONS,
    VALIDATED_COLUMNS,
    validate_returns,
)
from perf_pipeline_tests.conftest import INDICATORS, RAG_RULES, SERVICES

# Survivors of `make mutation` in validate_returns and its message helpers that cannot matter, and
# why (those of the parsers, _per_distinct, _rows and _fail_repeats are in test_rules.py):
# - the working frame built with `copy=None`, `copy=True` or pandas' default (a copy: the same
#   values); the reason and message arrays, and the masks and messages given to `fail`, with
#   their dtype left to numpy (they hold None, strings or booleans, which numpy keeps as such in
#   an object or boolean array); `standing[...] = None` for `= False` (None is False in a boolean
#   array); the distinct codes' Series with its dtype left to pandas (strings either way).
# - a Series built with `index=None` or no index where the index is the working frame's (0 to
#   n-1 already), and `_not_a_number`'s (its messages are placed by position).
# - the nearest-code search's `n=1` and `cutoff=0.6` as difflib's defaults, or `n=2` (only the
#   best match is used; 0.6 is the default); the period arrays' dtype left to numpy (strings, or
#   objects with None) and the wording for a period with no error ("" or anything: it is only
#   read for rows whose period failed).
# - the booleans of `periods_where` with their dtype left to numpy (booleans either way).
# - `_lookalike_note`'s first `note +=` as `note =` (the note is still empty there); `quoted`'s
#   `slice(0, n)` as `slice(None, n)` (the same slice).
# A value written `n/a` beside a numerator and a denominator was the one survivor left undecided
# (`where(both & value blank)` as `where(both | value blank)` turned it into their ratio): such a
# row is now refused, since it says both "no figure" and "this figure"
# (test_a_value_written_not_reported_beside_its_parts_is_refused).

Q = Quarter(2024, 2)
FIRST = Quarter(2021, 1)
# The conftest catalogue (WM01 percent with a range of 10 to 90, WM02 count, RB02 percent with a
# ratio year to date, HO02 annual), and two indicators active only for part of the time.
CATALOGUE = (
    INDICATORS.replace(
        "WM01,Household waste recycled,,percent,,higher_is_better,quarterly,mean,1,,,",
        "WM01,Household waste recycled,,percent,,higher_is_better,quarterly,mean,1,10,90,",
    )
    + "OLD1,Retired measure,,count,,higher_is_better,quarterly,sum,0,,,housing,Homes,service,,,,2024-25-Q1\n"
    + "NEW1,New measure,,count,,higher_is_better,quarterly,sum,0,,,housing,Homes,service,,,2025-26-Q1,\n"
)


@pytest.fixture(scope="module")
def indicators(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("reference")
    for name, text in (("services.csv", SERVICES), ("indicators.csv", CATALOGUE), ("rag.toml", RAG_RULES)):
        (folder / name).write_text(text, encoding="utf-8")
    return load_indicators(
        folder / "indicators.csv", load_services(folder / "services.csv"), load_rag_rules(folder / "rag.toml")
    )


def raw_rows(*rows: dict) -> pd.DataFrame:
    """Raw rows as `raw_frame` gives them; each dict sets some fields (`code` for the indicator
    code), the rest blank, numbered from row 2 of submissions/a.csv unless said otherwise."""
    base = {
        "file": "submissions/a.csv",
        "file_sha256": "abc123",
        "file_format": "csv",
        "encoding": "utf-8",
        "sheet": "",
        "delimiter": ",",
        "indicator_code": "",
        "period": "",
        "value": "",
        "numerator": "",
        "denominator": "",
        "commentary": "",
        "status": "",
        "submitted_by": "",
        "other_columns": "",
        "file_problem": "",
        "file_problem_message": "",
    }
    out = []
    for number, row in enumerate(rows, start=2):
        fields = {("indicator_code" if k == "code" else k): v for k, v in row.items()}
        out.append({**base, "row_number": number, **fields})
    return pd.DataFrame(out)


def check(indicators, *rows: dict, folder: Quarter = Q, first: Quarter = FIRST):
    """Each row's verdict, in the order given: ("accepted", the accepted row) or (reason, message)."""
    validated, exceptions = validate_returns(raw_rows(*rows), indicators, folder, first)
    outcome = {(r["file"], r["row"]): ("accepted", r) for r in validated.to_dict("records")}
    outcome |= {(r["file"], r["row"]): (r["reason"], r["message"]) for r in exceptions.to_dict("records")}
    keys = [(row.get("file", "submissions/a.csv"), n) for n, row in enumerate(rows, start=2)]
    assert len(outcome) == len(rows) == len(validated) + len(exceptions), "every row has one verdict"
    return [outcome[key] for key in keys]


def one(indicators, folder: Quarter = Q, first: Quarter = FIRST, **row):
    return check(indicators, row, folder=folder, first=first)[0]


NOT_A_NUMBER = (
    "is not a number. Write digits with a decimal point (21.3); a comma or space may only group "
    "thousands (1,234), a % only end the figure."
)
AMBIGUOUS = (
    "is ambiguous in a file separated by semicolons: its separator may group thousands or mark "
    "decimals. Write a whole number without a separator (1651), or save the file with UK settings "
    "(separated by commas) so that a point marks decimals."
)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # Indicator codes: the nearest code, look-alike characters named, invisible ones too.
        ({"code": ""}, ("unknown_indicator", "The row has no indicator code.")),
        (
            {"code": "WMO1"},
            ("unknown_indicator", "'WMO1' is not an indicator code we collect. Did you mean WM01?"),
        ),
        (
            {"code": "W\u041c01"},
            (
                "unknown_indicator",
                (
                    "'W\u041c01' is not an indicator code we collect. It contains '\u041c' (CYRILLIC CAPITAL "
                    "LETTER EM), which looks like an ordinary letter or digit but is not. Did you mean WM01?"
                ),
            ),
        ),
        (
            {"code": "\u0412\u041c01"},
            (
                "unknown_indicator",
                (
                    "'\u0412\u041c01' is not an indicator code we collect. It contains '\u0412' (CYRILLIC "
                    "CAPITAL LETTER VE), '\u041c' (CYRILLIC CAPITAL LETTER EM), which look like ordinary "
                    "letters or digits but are not."
                ),
            ),
        ),
        (
            {"code": "WM01\u200b"},
            (
                "unknown_indicator",
                (
                    "'WM01\u200b' is not an indicator code we collect. It contains an invisible character "
                    "(ZERO WIDTH SPACE); retype the code. Did you mean WM01?"
                ),
            ),
        ),
        # A control character shows as nothing: it is named by its number (a DEL or a tab
        # inside a code was not mentioned before, so the officer saw 'WM01' refused as unknown).
        (
            {"code": "WM01\x7f"},
            (
                "unknown_indicator",
                (
                    "'WM01\x7f' is not an indicator code we collect. It contains an invisible character "
                    "(U+007F); retype the code. Did you mean WM01?"
                ),
            ),
        ),
        (
            {"code": "WM\t01"},
            (
                "unknown_indicator",
                (
                    "'WM\t01' is not an indicator code we collect. It contains an invisible character "
                    "(U+0009); retype the code. Did you mean WM01?"
                ),
            ),
        ),
        # Printable ASCII, from the space to the tilde, is typed as it looks: nothing to name.
        (
            {"code": "WM 01~"},
            ("unknown_indicator", "'WM 01~' is not an indicator code we collect. Did you mean WM01?"),
        ),
        (
            {"code": "WM\u200b01\u200c"},
            (
                "unknown_indicator",
                (
                    "'WM\u200b01\u200c' is not an indicator code we collect. It contains an invisible character "
                    "(ZERO WIDTH SPACE, ZERO WIDTH NON-JOINER); retype the code. Did you mean WM01?"
                ),
            ),
        ),
        # Both kinds at once: each named.
        (
            {"code": "W\u041c01\u200b"},
            (
                "unknown_indicator",
                (
                    "'W\u041c01\u200b' is not an indicator code we collect. It contains '\u041c' (CYRILLIC "
                    "CAPITAL LETTER EM), which looks like an ordinary letter or digit but is not. It contains "
                    "an invisible character (ZERO WIDTH SPACE); retype the code. Did you mean WM01?"
                ),
            ),
        ),
        (
            {"code": "WM\ue00001"},
            (
                "unknown_indicator",
                (
                    "'WM\ue00001' is not an indicator code we collect. It contains '\ue000' (unknown "
                    "character), which looks like an ordinary letter or digit but is not. Did you mean WM01?"
                ),
            ),
        ),
        ({"code": "XQ77"}, ("unknown_indicator", "'XQ77' is not an indicator code we collect.")),
        # No look-alike: the nearest code by spelling, whatever the case it was typed in.
        (
            {"code": "wm1"},
            ("unknown_indicator", "'wm1' is not an indicator code we collect. Did you mean WM01?"),
        ),
        (
            {"code": "Z" * 81},
            ("unknown_indicator", "'" + "Z" * 80 + "…' is not an indicator code we collect."),
        ),
        (
            {"code": "Z" * 80},
            ("unknown_indicator", "'" + "Z" * 80 + "' is not an indicator code we collect."),
        ),
        # Periods: later than the return's quarter, or further back than three quarters.
        (
            {"code": "WM02", "value": "1", "period": "2024-25-Q3"},
            ("wrong_period", "'2024-25-Q3' is later than 2024/25 Q2, the quarter of this return."),
        ),
        (
            {"code": "WM02", "value": "1", "period": "2023/24 Q2"},
            (
                "wrong_period",
                (
                    "'2023/24 Q2' is too far back to revise in a return (the oldest is 2023/24 Q3); ask the "
                    "performance team to record a correction."
                ),
            ),
        ),
        # Due: annual indicators in Q4 only; others while active, judged for the row's own period.
        (
            {"code": "HO02", "value": "1"},
            ("not_due", "This indicator is not due for 2024-25-Q2: it is reported once a year, in Q4."),
        ),
        (
            {"code": "OLD1", "value": "1"},
            ("not_due", "This indicator is not due for 2024-25-Q2: it is not active in that quarter."),
        ),
        (
            {"code": "NEW1", "value": "1", "period": "2024-25-Q1"},
            ("not_due", "This indicator is not due for 2024-25-Q1: it is not active in that quarter."),
        ),
        (
            {"code": "WM02", "value": "1", "status": "Draft"},
            ("invalid_status", "'Draft' is not a status; write final, provisional or estimate."),
        ),
        # Figures: each of value, numerator and denominator named in its own message.
        ({"code": "WM02", "value": "21 3"}, ("not_a_number", "The value '21 3' " + NOT_A_NUMBER)),
        (
            {"code": "RB02", "numerator": "4x", "denominator": "5"},
            ("not_a_number", "The numerator '4x' " + NOT_A_NUMBER),
        ),
        (
            {"code": "RB02", "numerator": "4", "denominator": "five"},
            ("not_a_number", "The denominator 'five' " + NOT_A_NUMBER),
        ),
        (
            {"code": "WM02", "value": "=SUM(B2:B4)"},
            (
                "not_a_number",
                (
                    "The value '=SUM(B2:B4)' is a formula, not a figure: the file holds no result for it. "
                    "Type the figure itself."
                ),
            ),
        ),
        (
            {"code": "WM02", "value": "1" * 81 + "x"},
            ("not_a_number", "The value '" + "1" * 80 + "…' " + NOT_A_NUMBER),
        ),
        (
            {"code": "WM02", "value": "x" * 80},
            ("not_a_number", "The value '" + "x" * 80 + "' " + NOT_A_NUMBER),
        ),
        (
            {"code": "WM02", "value": "1", "status": "s" * 81},
            ("invalid_status", "'" + "s" * 80 + "…' is not a status; write final, provisional or estimate."),
        ),
        (
            {"code": "WM02", "value": "1.651", "delimiter": ";"},
            ("not_a_number", "The value '1.651' " + AMBIGUOUS),
        ),
        (
            {"code": "WM02", "numerator": "1,651", "denominator": "2", "delimiter": ";"},
            ("not_a_number", "The numerator '1,651' " + AMBIGUOUS),
        ),
        (
            {"code": "WM02", "numerator": "1", "denominator": "2.000", "delimiter": ";"},
            ("not_a_number", "The denominator '2.000' " + AMBIGUOUS),
        ),
        # Ratios.
        (
            {"code": "RB02", "numerator": "3", "denominator": "0"},
            ("zero_denominator", REASONS["zero_denominator"]),
        ),
        (
            {"code": "RB02", "numerator": "51", "denominator": "50"},
            ("numerator_exceeds_denominator", "The numerator (51) is larger than the denominator (50)."),
        ),
        (
            {"code": "RB02", "value": "66.8", "numerator": "2", "denominator": "3"},
            ("value_disagrees_with_ratio", "The value 66.8 does not match 2 / 3 = 66.667."),
        ),
        (
            {"code": "WM02", "value": "2", "numerator": "7", "denominator": "2"},
            ("value_disagrees_with_ratio", "The value 2 does not match 7 / 2 = 3.5."),
        ),
        # Ranges: both ends named, or "no limit".
        (
            {"code": "WM01", "value": "95"},
            ("out_of_range", "The value 95.0 is outside the valid range 10 to 90."),
        ),
        (
            {"code": "WM01", "value": "95.1234567"},
            ("out_of_range", "The value 95.123457 is outside the valid range 10 to 90."),
        ),
        (
            {"code": "WM02", "value": "-2.5"},
            ("out_of_range", "The value -2.5 is outside the valid range 0 to no limit."),
        ),
        (
            {"code": "WM01", "value": "", "numerator": "1", "denominator": "20"},
            ("out_of_range", "The value 5.0 is outside the valid range 10 to 90."),
        ),
    ],
)
def test_each_refusal_tells_the_officer_what_is_wrong(indicators, row, expected):
    assert one(indicators, **row) == expected


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        # The first rule a row fails gives its one reason, in the order of the table of reasons.
        ({"code": "XQ77", "value": "x", "period": "Q9", "status": "draft"}, "unknown_indicator"),
        ({"code": "WM02", "value": "x", "period": "Q9", "status": "draft"}, "wrong_period"),
        ({"code": "HO02", "value": "x", "status": "draft"}, "not_due"),
        ({"code": "WM02", "value": "x", "status": "draft"}, "invalid_status"),
        ({"code": "WM02", "value": "x", "numerator": "1", "denominator": "0"}, "not_a_number"),
        ({"code": "RB02", "value": "x", "numerator": "5", "denominator": "4"}, "not_a_number"),
        ({"code": "RB02", "value": "200", "numerator": "5", "denominator": "0"}, "zero_denominator"),
        (
            {"code": "RB02", "value": "200", "numerator": "5", "denominator": "4"},
            "numerator_exceeds_denominator",
        ),
        ({"code": "WM01", "value": "95", "numerator": "1", "denominator": "2"}, "value_disagrees_with_ratio"),
    ],
)
def test_a_row_that_breaks_several_rules_gets_the_first(indicators, row, reason):
    assert one(indicators, **row)[0] == reason


def test_a_file_the_reader_could_not_use_keeps_the_readers_reason(indicators):
    """A row the reader already refused (a hidden sheet, a damaged file) is passed on as it is,
    however good its figures look, and the rows beside it are still checked."""
    got = check(
        indicators,
        {
            "file": "submissions/b.xlsx",
            "code": "WM02",
            "value": "5",
            "file_problem": "unreadable_file",
            "file_problem_message": "The workbook's only figures are on a hidden sheet.",
        },
        {"code": "WM02", "value": "5"},
    )
    assert got[0] == ("unreadable_file", "The workbook's only figures are on a hidden sheet.")
    assert got[1][0] == "accepted"


def test_an_accepted_row_carries_what_the_audit_trail_needs(indicators):
    got = check(
        indicators,
        {
            "code": "rb02",
            "value": "",
            "numerator": "45",
            "denominator": "50",
            "commentary": "Backlog cleared",
            "status": "Provisional",
            "submitted_by": "J Smith",
        },
        {"code": "WM02", "value": "n/a", "period": "2023/24 Q3"},
        {"code": "WM01", "value": "45.5%", "status": "ESTIMATE"},
    )
    assert [verdict for verdict, _ in got] == ["accepted"] * 3
    ratio, revision, estimate = (row for _, row in got)
    assert ratio == {
        "file": "submissions/a.csv",
        "file_sha256": "abc123",
        "row": 2,
        "indicator_code": "RB02",  # the catalogue's spelling
        "period": "2024-25-Q2",  # a blank period is the folder's quarter
        "period_start": dt.date(2024, 7, 1),
        "is_revision": False,
        "value": 90.0,  # worked out from the numerator and denominator
        "numerator": 45.0,
        "denominator": 50.0,
        "reported": True,
        "raw_value": "",
        "commentary": "Backlog cleared",
        "data_status": "provisional",
        "submitted_by": "J Smith",
    }
    assert (revision["period"], revision["period_start"], revision["is_revision"]) == (
        "2023-24-Q3",
        dt.date(2023, 10, 1),
        True,
    )
    assert pd.isna(revision["value"]) and not revision["reported"] and revision["raw_value"] == "n/a"
    assert pd.isna(revision["numerator"]) and pd.isna(revision["denominator"])
    assert revision["data_status"] == "final"  # no status written: final
    assert (estimate["value"], estimate["raw_value"], estimate["data_status"]) == (45.5, "45.5%", "estimate")


@pytest.mark.parametrize(
    "text", ["", "n/a", "N/A", "tbc", "TBA", "Not available", "not reported", "-", "–", "—"]
)
def test_words_for_no_figure_are_accepted_as_not_reported(indicators, text):
    verdict, row = one(indicators, code="WM02", value=text)
    assert verdict == "accepted" and pd.isna(row["value"]) and not row["reported"]


@pytest.mark.parametrize(
    ("row", "value", "numerator", "denominator"),
    [
        # The README: `n/a`, `tbc` and blanks mean not reported, in the numerator and denominator
        # columns of the request pack as in the value's (a `n/a` numerator was refused as not a
        # number before).
        ({"value": "", "numerator": "n/a", "denominator": "n/a"}, None, None, None),
        ({"value": "tbc", "numerator": "TBC", "denominator": "-"}, None, None, None),
        ({"value": "45", "numerator": "n/a", "denominator": "N/A"}, 45.0, None, None),
        ({"value": "", "numerator": "n/a", "denominator": "50"}, None, None, 50.0),
    ],
)
def test_no_figure_words_mean_not_reported_in_every_figure_column(
    indicators, row, value, numerator, denominator
):
    verdict, accepted = one(indicators, code="RB02", **row)
    assert verdict == "accepted", accepted
    got = [None if pd.isna(accepted[k]) else accepted[k] for k in ("value", "numerator", "denominator")]
    assert got == [value, numerator, denominator]
    assert accepted["reported"] == (value is not None)


@pytest.mark.parametrize("text", ["n/a", "TBC", "-"])
def test_a_value_written_not_reported_beside_its_parts_is_refused(indicators, text):
    """A figure is never guessed: neither their ratio (the service said there was none) nor
    missing with its parts kept (they would still count in the ratio year to date)."""
    verdict, message = one(indicators, code="RB02", value=text, numerator="3", denominator="4")
    assert verdict == "value_disagrees_with_ratio"
    assert message == (
        f"The value says '{text}' (not reported), but the numerator and denominator give 3 / 4: "
        "send the figure, or leave all three blank."
    )


def test_a_file_of_junk_codes_gets_suggestions_for_the_first_thousand_only(indicators):
    """Suggesting the nearest code compares each unknown code with every code in the catalogue;
    past 1,000 distinct unknown codes (a file of junk) only look-alikes are suggested, so a junk
    file costs seconds, not minutes."""
    # Distinct unknown codes: wm1, 998 of junk, wm1y (the thousandth), then wm1x; a repeat of
    # wm1 is no new code, nor are the known codes before them.
    junk = [{"code": f"Q{n:04d}J", "value": "1"} for n in range(998)]
    known = [{"code": "WM02", "value": "1"}, {"code": "RB02", "value": "1"}]
    rows = [*known, {"code": "wm1"}, *junk, {"code": "wm1", "value": "2"}, {"code": "wm1y"}, {"code": "wm1x"}]
    got = check(indicators, *rows)
    assert [verdict for verdict, _ in got[:2]] == ["accepted", "accepted"]
    assert got[2][1].endswith("Did you mean WM01?") and got[-3][1].endswith("Did you mean WM01?")
    assert got[-2][1].endswith("Did you mean WM01?")
    assert got[-1] == ("unknown_indicator", "'wm1x' is not an indicator code we collect.")


def test_missing_text_in_a_raw_row_is_blank(indicators):
    """A field the reader left missing (None or NaN, not "") is blank: no status is final, no
    period is the folder's quarter, no commentary is none."""
    raw = raw_rows({"code": "WM02", "value": "5"}, {"code": "WM01", "value": "n/a"})
    for column in ("period", "status", "commentary", "numerator", "denominator", "submitted_by"):
        raw[column] = [None, float("nan")]
    validated, exceptions = validate_returns(raw, indicators, Q, FIRST)
    assert exceptions.empty, exceptions["message"].tolist()
    assert validated["period"].tolist() == ["2024-25-Q2"] * 2
    assert validated["data_status"].tolist() == ["final"] * 2
    assert validated["commentary"].tolist() == ["", ""] and validated["submitted_by"].tolist() == ["", ""]
    assert validated["value"].iloc[0] == 5 and not validated["reported"].iloc[1]


def test_a_value_given_with_an_agreeing_ratio_is_the_value_given(indicators):
    verdict, row = one(indicators, code="RB02", value="66.7", numerator="2", denominator="3")
    assert verdict == "accepted" and row["value"] == 66.7


def test_a_zero_denominator_alone_is_no_ratio(indicators):
    """The ratio rules need both figures (README: numerator and denominator given, denominator
    zero): a denominator of 0 beside a value and no numerator leaves the value as sent."""
    verdict, row = one(indicators, code="WM02", value="5", denominator="0")
    assert verdict == "accepted" and row["value"] == 5 and row["denominator"] == 0


def test_a_numerator_alone_is_no_figure(indicators):
    """Without its denominator no rate can be worked out: the row stands as not reported, with the
    numerator kept as sent, rather than a figure being guessed."""
    verdict, row = one(indicators, code="RB02", numerator="45")
    assert verdict == "accepted" and not row["reported"] and pd.isna(row["value"]) and row["numerator"] == 45


def test_the_oldest_quarter_a_return_may_revise_is_never_before_the_first(indicators):
    """Three quarters back, but never before the council's first quarter of records."""
    first = Quarter(2024, 1)
    assert (
        one(indicators, folder=Q, first=first, code="WM02", value="1", period="2024-25-Q1")[0] == "accepted"
    )
    assert one(indicators, folder=Q, first=first, code="WM02", value="1", period="2023-24-Q4") == (
        "wrong_period",
        (
            "'2023-24-Q4' is too far back to revise in a return (the oldest is 2024/25 Q1); ask the "
            "performance team to record a correction."
        ),
    )


def test_a_revision_is_due_as_of_its_own_quarter(indicators):
    """A retired indicator's last quarter may still be revised in the next quarter's return."""
    assert one(indicators, code="OLD1", value="3", period="2024-25-Q1")[0] == "accepted"


def test_an_unknown_code_is_put_down_to_the_service_its_file_is_for(indicators):
    """The chasing list goes to the right officer: a typo in the waste return is the waste
    service's to correct; a file of nothing but unknown codes is nobody's yet."""
    validated, exceptions = validate_returns(
        raw_rows(
            {"code": "WM01", "value": "40"},
            {"code": "WM02", "value": "5"},
            {"code": "RB02", "value": "50"},
            {"code": "WMX2", "value": "7"},
            {"file": "submissions/junk.csv", "code": "ZZ1", "value": "1"},
        ),
        indicators,
        Q,
        FIRST,
    )
    assert validated.columns.tolist() == VALIDATED_COLUMNS
    assert exceptions.columns.tolist() == EXCEPTION_COLUMNS
    by_code = exceptions.set_index("indicator_code")
    assert by_code.at["WMX2", "service"] == "waste"
    assert pd.isna(by_code.at["ZZ1", "service"])
    assert by_code.loc["WMX2", ["file", "row", "period", "raw_value", "reason", "file_sha256"]].tolist() == [
        "submissions/a.csv",
        5,
        "",
        "7",
        "unknown_indicator",
        "abc123",
    ]


def test_an_exception_quotes_the_row_as_it_was_written(indicators):
    _, exceptions = validate_returns(
        raw_rows({"code": "wm02", "value": "4%7", "period": "2024/25 Q2"}), indicators, Q, FIRST
    )
    row = exceptions.iloc[0]
    assert (row["indicator_code"], row["period"], row["raw_value"], row["service"]) == (
        "wm02",
        "2024/25 Q2",
        "4%7",
        "waste",
    )


def test_rows_of_many_files_and_periods_are_each_judged_on_their_own(indicators):
    """Verdicts never leak between rows: a mix of good and bad rows, codes and periods in two files,
    each with the verdict it would have alone."""
    rows = [
        {"code": "WM02", "value": "5"},
        {"code": "XQ77", "value": "5"},
        {"code": "WM02", "value": "6", "period": "2024-25-Q1"},
        {"code": "HO02", "value": "1"},
        {"file": "submissions/b.csv", "code": "WM01", "value": "95"},
        {"file": "submissions/b.csv", "code": "WM01", "value": "45", "period": "2023-24-Q4"},
        {"file": "submissions/b.csv", "code": "RB02", "numerator": "1", "denominator": "2"},
        {"code": "WM02", "value": "7", "period": "2024-25-Q3"},
    ]
    together = [verdict for verdict, _ in check(indicators, *rows)]
    alone = [one(indicators, **row)[0] for row in rows]
    assert (
        together
        == alone
        == [
            "accepted",
            "unknown_indicator",
            "accepted",
            "not_due",
            "out_of_range",
            "accepted",
            "accepted",
            "wrong_period",
        ]
    )


CODES = ["WM01", "wm02", "RB02", "HO02", "OLD1", "NEW1", "XQ77", "WMO1", "", "W\u041c01"]
PERIODS = ["", "2024-25-Q1", "2023/24 Q4", "2023-24-Q3", "2023-24-Q2", "2024-25-Q3", "Q5"]
FIGURES = ["", "5", "45.5%", "95", "-1", "n/a", "21 3", "=A1", "1,651", "0"]


@settings(max_examples=10, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(CODES),
            st.sampled_from(PERIODS),
            st.sampled_from(FIGURES),
            st.sampled_from(["", "4", "50", "n/a", "x"]),
            st.sampled_from(["", "0", "8", "50"]),
            st.sampled_from(["", "Final", "draft"]),
            st.sampled_from([",", ";"]),
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda r: (r[0].upper(), r[1]),
    )
)
def test_each_rows_verdict_is_the_one_it_would_have_alone(indicators, rows):
    """With no figure sent twice, a row's reason and message never depend on the rows beside it
    (the rules work a column at a time, so a slip in the bookkeeping would show here)."""
    fields = [
        {"code": c, "period": p, "value": v, "numerator": n, "denominator": d, "status": s, "delimiter": sep}
        for c, p, v, n, d, s, sep in rows
    ]
    together = check(indicators, *fields)
    alone = [one(indicators, **row) for row in fields]
    for (reason, message), (reason_alone, message_alone) in zip(together, alone):
        assert reason == reason_alone
        if reason == "accepted":
            assert {k: v for k, v in message.items() if k != "row"} == pytest.approx(
                {k: v for k, v in message_alone.items() if k != "row"}, nan_ok=True
            )
        else:
            assert message == message_alone
