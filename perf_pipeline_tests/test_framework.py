"""The framework's shape: tags, measure types, milestones, benefits and risks (SPEC §14)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from perf_pipeline.lib.framework import (
    load_action_links,
    load_indicator_framework,
    load_tag_vocabularies,
    measure_table,
    tag_counts,
    with_tag,
)
from perf_pipeline.lib.framework_programmes import (
    AT_RISK,
    COMPLETE,
    MISSED,
    NO_DATA,
    NOT_ASSESSED,
    NOT_YET,
    ON_TRACK,
    REALISED,
    SLIPPED,
    benefit_state,
    load_milestones,
    milestone_state,
    milestone_status,
    milestones_to_remind,
)
from perf_pipeline.lib.framework_risks import (
    FALLING,
    NEW,
    RISING,
    STEADY,
    load_risks,
    risk_status,
    score_trend,
)
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline_tests.conftest import write

TAGS = """\
[operating_principle]
title = "Operating principle"
[operating_principle.values]
digital = "Digital self-service"
people_first = "People first"

[value_for_money]
title = "Value for money"
[value_for_money.values]
economy = "Economy"
efficiency = "Efficiency"
"""

D = dt.date


@pytest.mark.parametrize(
    ("baseline", "forecast", "completed", "as_at", "status", "slipped"),
    [
        # complete on or before the as-at date, whatever the dates
        (D(2025, 6, 30), None, D(2025, 6, 1), D(2025, 9, 30), COMPLETE, None),
        (D(2025, 6, 30), D(2025, 8, 1), D(2025, 9, 30), D(2025, 9, 30), COMPLETE, None),
        # completed after the as-at date: not complete yet then, and its baseline has passed
        (D(2025, 6, 30), None, D(2025, 10, 5), D(2025, 9, 30), SLIPPED, 92),
        # forecast later than baseline: slipped by the difference, even before the baseline
        (D(2025, 12, 1), D(2026, 1, 31), None, D(2025, 9, 30), SLIPPED, 61),
        # baseline passed and not complete: slipped by the days to the later of forecast and date
        (D(2025, 8, 29), None, None, D(2025, 9, 30), SLIPPED, 32),
        (D(2025, 8, 29), D(2025, 10, 31), None, D(2025, 9, 30), SLIPPED, 63),
        # due within 28 days: at risk; 29 days away: on track
        (D(2025, 10, 28), None, None, D(2025, 9, 30), AT_RISK, None),
        (D(2025, 10, 29), None, None, D(2025, 9, 30), ON_TRACK, None),
        # the owner's forecast (earlier than baseline) has gone by: at risk
        (D(2025, 12, 31), D(2025, 9, 1), None, D(2025, 9, 30), AT_RISK, None),
        # due on the day itself: not yet slipped, at risk
        (D(2025, 9, 30), None, None, D(2025, 9, 30), AT_RISK, None),
        (D(2026, 3, 31), None, None, D(2025, 9, 30), ON_TRACK, None),
    ],
)
def test_milestone_status_rules(baseline, forecast, completed, as_at, status, slipped):
    assert milestone_state(baseline, forecast, completed, as_at) == (status, slipped)


def test_a_milestone_as_at_a_day_shows_no_completion_recorded_for_a_later_day():
    milestones = pd.DataFrame(
        {
            "programme_id": ["CP1", "CP1"],
            "milestone_id": ["M1", "M2"],
            "baseline_date": pd.to_datetime(["2025-08-29", "2025-05-01"]),
            "forecast_date": pd.to_datetime([None, None]),
            "completed_on": pd.to_datetime(["2025-08-20", "2025-04-28"]),
        }
    )
    programmes = pd.DataFrame({"programme_id": ["CP1"], "name": ["Digital"], "sponsor": ["A Director"]})
    june = milestone_status(milestones, programmes, D(2025, 6, 30)).set_index("milestone_id")
    assert june.at["M1", "status"] == ON_TRACK and pd.isna(june.at["M1", "completed_on"])
    assert june.at["M2", "status"] == COMPLETE and june.at["M2", "completed_on"] == pd.Timestamp("2025-04-28")
    september = milestone_status(milestones, programmes, D(2025, 9, 30)).set_index("milestone_id")
    assert september.at["M1", "completed_on"] == pd.Timestamp("2025-08-20")


@pytest.mark.parametrize(
    ("value", "target", "polarity", "decimals", "due", "status"),
    [
        (88.3, 80, "higher_is_better", 1, True, REALISED),
        (79.96, 80, "higher_is_better", 1, True, REALISED),  # 80.0 at the reported precision
        (79.9, 80, "higher_is_better", 1, True, MISSED),
        (79.9, 80, "higher_is_better", 1, False, NOT_YET),
        (39, 35, "lower_is_better", 0, False, NOT_YET),
        (35, 35, "lower_is_better", 0, True, REALISED),
        (None, 35, "lower_is_better", 0, True, NO_DATA),
        (float("nan"), 35, "lower_is_better", 0, False, NO_DATA),
        (67185, 60000, "none", 0, True, NOT_ASSESSED),
    ],
)
def test_benefit_status_rules(value, target, polarity, decimals, due, status):
    assert benefit_state(value, target, polarity, decimals, due) == status


def test_milestone_owners_are_reminded_of_open_milestones_near_or_slipped():
    milestones = pd.DataFrame(
        {
            "programme_id": ["P1"] * 4,
            "milestone_id": ["near", "far", "slipped", "done"],
            "title": ["a", "b", "c", "d"],
            "owner": ["A"] * 4,
            "owner_email": ["a@x.example"] * 4,
            "baseline_date": pd.to_datetime(["2025-10-10", "2026-03-31", "2025-12-01", "2025-01-01"]),
            "forecast_date": pd.to_datetime([None, None, "2026-06-01", None]),
            "completed_on": pd.to_datetime([None, None, None, "2025-01-01"]),
        }
    )
    programmes = pd.DataFrame({"programme_id": ["P1"], "name": ["Programme"], "sponsor": ["S"]})
    status = milestone_status(milestones, programmes, D(2025, 10, 1))
    assert list(status["status"]) == [AT_RISK, ON_TRACK, SLIPPED, COMPLETE]
    assert sorted(milestones_to_remind(status, 14)["milestone_id"]) == ["near", "slipped"]


def _risks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "risk_id": ["R1", "R2", "R3", "LATER"],
            "title": ["falling with red", "falling with green", "rising with red", "registered later"],
            "owner": ["O"] * 4,
            "owner_email": ["o@x.example"] * 4,
            "likelihood": [4, 4, 2, 3],
            "impact": [5, 5, 2, 3],
            "target_likelihood": [2] * 4,
            "target_impact": [2] * 4,
            "controls": [""] * 4,
            "review_date": pd.to_datetime(["2024-04-01", "2024-04-01", "2024-04-01", "2025-12-01"]),
            "indicator_codes": ["A;B", "B", "A", "A"],
            "action_ids": ["X", "", "", ""],
        }
    )


def test_a_risk_falling_while_its_evidence_is_red_is_flagged():
    reviews = pd.DataFrame(
        {
            "risk_id": ["R1", "R2", "R3", "R1"],
            "review_date": pd.to_datetime(["2025-07-01", "2025-07-01", "2025-07-01", "2025-11-01"]),
            "likelihood": [3, 3, 3, 5],
            "impact": [5, 5, 3, 5],
            "note": ["better", "better", "worse", "after the quarter"],
            "reviewed_by": ["CMT"] * 4,
        }
    )
    performance = pd.DataFrame({"indicator_code": ["A", "B"], "rag_status": ["Red", "Green"]})
    plan = pd.DataFrame({"action_id": ["X"], "status": ["Overdue"]})
    status = risk_status(_risks(), reviews, performance, plan, D(2025, 9, 30)).set_index("risk_id")
    assert list(status.index) == ["R1", "R2", "R3"]  # registered later: not yet on the register
    assert status.loc["R1", ["score", "previous_score", "trend"]].tolist() == [15, 20, FALLING]
    assert "A is Red" in status.loc["R1", "flag"]
    assert status.loc["R1", "indicators"] == "A:Red;B:Green"
    assert status.loc["R1", "actions"] == "X:Overdue"
    assert status.loc["R2", "trend"] == FALLING and status.loc["R2", "flag"] == ""
    assert status.loc["R3", "trend"] == RISING and status.loc["R3", "flag"] == ""


@pytest.mark.parametrize(
    ("score", "previous", "trend"), [(12, 16, FALLING), (16, 12, RISING), (9, 9, STEADY), (9, None, NEW)]
)
def test_risk_trend(score, previous, trend):
    assert score_trend(score, previous) == trend


def _indicators(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["code", "title", "tags", "measure_type", "measure_source"]
        )
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_tags_and_measure_types_are_read_and_counted(tmp_path):
    vocab = load_tag_vocabularies(write(tmp_path / "tags.toml", TAGS))
    path = _indicators(
        tmp_path / "indicators.csv",
        [
            {
                "code": "A",
                "title": "a",
                "tags": "operating_principle:digital; value_for_money:economy",
                "measure_type": "outcome",
                "measure_source": "external",
            },
            {
                "code": "B",
                "title": "b",
                "tags": "operating_principle:digital",
                "measure_type": "process",
                "measure_source": "internal",
            },
            {"code": "C", "title": "c", "tags": "", "measure_type": "", "measure_source": ""},
        ],
    )
    measures, tags = load_indicator_framework(path, vocab)
    assert with_tag(tags, "indicator", "operating_principle", "digital") == ["A", "B"]
    assert with_tag(tags, "indicator", "value_for_money") == ["A"]
    performance = pd.DataFrame(
        {
            "indicator_code": ["A", "B", "C"],
            "rag_status": ["Green", "Red", "Amber"],
            "target": [1.0, 1.0, 1.0],
        }
    )
    counts = tag_counts(performance, tags, "operating_principle").set_index("value")
    assert counts.loc["digital", ["Green", "Red", "indicators"]].tolist() == [1, 1, 2]
    table = measure_table(performance, measures).set_index("group")
    assert table.loc["External outcomes", "Green"] == 1
    assert table.loc["Internal business processes", "Red"] == 1
    assert table.loc["Not classified", "Amber"] == 1


def test_a_bad_tag_or_measure_type_names_file_row_and_column(tmp_path):
    vocab = load_tag_vocabularies(write(tmp_path / "tags.toml", TAGS))
    path = _indicators(
        tmp_path / "indicators.csv",
        [
            {
                "code": "A",
                "title": "a",
                "tags": "operating_principle:digital",
                "measure_type": "outcome",
                "measure_source": "external",
            },
            {
                "code": "B",
                "title": "b",
                "tags": "principle:digital;value_for_money:cheap;nocolon",
                "measure_type": "result",
                "measure_source": "outside",
            },
        ],
    )
    with pytest.raises(ReferenceDataError) as error:
        load_indicator_framework(path, vocab)
    problems = error.value.problems
    assert (
        "reference/indicators.csv row 3, column 'measure_type': 'result' is not one of outcome, output, process"
        in problems
    )
    assert any(
        p.startswith("reference/indicators.csv row 3, column 'measure_source': 'outside'") for p in problems
    )
    assert any(
        "row 3, column 'tags': 'principle:digital' names vocabulary 'principle'" in p for p in problems
    )
    assert any(
        "row 3, column 'tags': 'value_for_money:cheap' is not a value of 'value_for_money'" in p
        for p in problems
    )
    assert any("row 3, column 'tags': 'nocolon' is not written vocabulary:value" in p for p in problems)
    assert len(problems) == 5


def test_action_links_name_unknown_indicators_with_row(tmp_path):
    vocab = load_tag_vocabularies(write(tmp_path / "tags.toml", TAGS))
    actions = write(
        tmp_path / "actions.csv",
        "action_id,title,tags,indicator_codes\nA1,x,operating_principle:people_first,WM01;XX9\nA2,y,,\n",
    )
    with pytest.raises(ReferenceDataError) as error:
        load_action_links(actions, vocab, {"WM01"})
    assert error.value.problems == [
        "improvement_plan/actions.csv row 2, column 'indicator_codes': 'XX9' is not an indicator in indicators.csv"
    ]


def test_reference_files_report_file_row_and_column(tmp_path):
    write(
        tmp_path / "milestones.csv",
        "programme_id,milestone_id,title,owner,owner_email,baseline_date,forecast_date,completed_on\n"
        "P1,M1,ok,A,a@x.example,2025-01-01,,\n"
        "P9,M2,bad,A,not-an-email,31/12/2025,,\n",
    )
    with pytest.raises(ReferenceDataError) as error:
        load_milestones(tmp_path, ["P1"])
    problems = error.value.problems
    assert (
        "reference/milestones.csv row 3, column 'programme_id': 'P9' is not a programme in programmes.csv"
        in problems
    )
    assert (
        "reference/milestones.csv row 3, column 'owner_email': 'not-an-email' is not an e-mail address"
        in problems
    )
    assert any(
        p.startswith("reference/milestones.csv row 3, column 'baseline_date': '31/12/2025'") for p in problems
    )
    write(
        tmp_path / "risks.csv",
        "risk_id,title,owner,owner_email,likelihood,impact,target_likelihood,target_impact,controls,review_date,"
        "indicator_codes,action_ids\n"
        "R1,x,O,o@x.example,6,3,2,2,,2025-01-01,WM01;ZZ1,\n",
    )
    with pytest.raises(ReferenceDataError) as error:
        load_risks(tmp_path, {"WM01"}, set())
    assert (
        "reference/risks.csv row 2, column 'likelihood': '6' is not a whole number from 1 to 5"
        in error.value.problems
    )


LATEST = "2025-26-Q2"


def _independent_measure_counts(demo: Path) -> dict[str, dict[str, int]]:
    """The brief's table computed from the published CSVs with the csv module alone."""
    with open(demo / "reference" / "indicators.csv", encoding="utf-8-sig", newline="") as handle:
        kinds = {r["code"]: (r["measure_source"], r["measure_type"]) for r in csv.DictReader(handle)}
    names = {
        ("external", "outcome"): "External outcomes",
        ("internal", "process"): "Internal business processes",
    }
    counts: dict[str, dict[str, int]] = {}
    path = demo / "reports" / LATEST / "indicator-performance.csv"
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for r in csv.DictReader(handle):
            if r["target"] == "" or r["rag_status"] == "Not due":
                continue
            group = names.get(kinds[r["indicator_code"]])
            if group:
                entry = counts.setdefault(group, {"indicators": 0, "Green": 0, "Amber": 0, "Red": 0})
                entry["indicators"] += 1
                if r["rag_status"] in entry:
                    entry[r["rag_status"]] += 1
    return counts


@pytest.mark.e2e
def test_the_external_outcome_and_internal_process_table_is_right(demo):
    import openpyxl

    expected = _independent_measure_counts(demo)
    book = openpyxl.load_workbook(
        demo / "reports" / LATEST / "quarterly-monitoring-report.xlsx", read_only=True
    )
    rows = list(book["Measures"].values)
    header = list(rows[0])
    got = {
        r[header.index("group")]: {k: r[header.index(k)] for k in ("indicators", "Green", "Amber", "Red")}
        for r in rows[1:]
    }
    assert (
        expected["External outcomes"]["indicators"] > 5
        and expected["Internal business processes"]["indicators"] > 5
    )
    for group, counts in expected.items():
        assert got[group] == counts


@pytest.mark.e2e
def test_trace_reaches_the_case_rows_of_a_derived_figure(demo, capsys):
    from perf_pipeline_tests.conftest import run_cli

    capsys.readouterr()
    assert run_cli("--data", str(demo), "trace", "CS03", "--quarter", "2025-26-Q1") == 0
    out = capsys.readouterr().out
    assert "Derived from customer feedback cases: 155 of 177 answered within 10 working days" in out
    assert (
        "feedback/feedback-cases-2024-25.csv (sha256" in out
        and "feedback/feedback-cases-2025-26.xlsx (sha256" in out
    )
    assert "the file on disk still has this hash" in out
    assert "Rows counted: " in out and "Answered after 10 working days (not in the numerator): rows " in out
    # the returned figure for the same quarter agrees, and the derived one took its place
    provenance = pd.read_csv(demo / "reports" / "2025-26-Q1" / "figure-provenance.csv", dtype=str)
    cs03 = provenance[provenance["indicator_code"] == "CS03"].iloc[0]
    assert cs03["source_file"].startswith("feedback/") and pd.isna(cs03["source_row"])


@pytest.mark.e2e
def test_the_framework_sections_render_accessibly_in_chromium(demo):
    from axe_playwright_python.sync_playwright import Axe

    from perf_pipeline_tests.browser import external_requests, open_page

    path = demo / "reports" / LATEST / "quarterly-monitoring-report.html"
    with open_page(path) as page:
        assert page.console_errors == [] and external_requests(page, path) == []
        levels = page.inner_text("#levels ~ table")
        assert "Strategic performance" in levels and "Change and improvement" in levels
        assert page.locator("section.programme").count() == 5
        assert (
            page.locator("#programmes ~ section .milestone-Slipped")
            .first.inner_text()
            .startswith("▲ Slipped by")
        )
        flagged = page.locator("#risks ~ table .flag")
        assert flagged.count() >= 1 and "is Red" in flagged.first.inner_text()
        assert "Operating principle" in page.inner_text("#tags ~ h3")
        assert "Case rows refused" in page.content()
        results = Axe().run(page)  # the whole report: the new sections sit among the others
        assert results.response["violations"] == [], results.generate_report()
