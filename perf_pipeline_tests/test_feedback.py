"""Customer feedback as data: case extracts read leniently, checked strictly, turned into indicators."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.feedback import (
    check_cases,
    counted_cases,
    derive_values,
    extract_versions,
    load_feedback_rules,
    parse_date,
    read_case_file,
    read_cases,
    replace_returned,
    returned_indicators,
    rows_unaccounted,
    rule_text,
    rules_from_table,
    rules_table,
    working_days_between,
)
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.returns_reader import ReadLimits
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline_tests.conftest import write

D = dt.date
Q2 = Quarter.parse("2025-26-Q2")
RULES = """\
first_quarter = "2025-26-Q1"
[[indicator]]
code = "CS03"
measure = "percent_within_working_days"
working_days = 10
types = ["complaint"]
stages = [1]
counted_by = "responded"
[[indicator]]
code = "CS06"
measure = "per_1000_residents"
residents = 100000
types = ["complaint"]
stages = [1]
counted_by = "received"
[[indicator]]
code = "CS07"
measure = "count"
types = ["compliment"]
"""
HEADER = "Case Ref,Date Received,Date Responded,Service Area,Case Type,Stage,Outcome,Channel\n"


@pytest.mark.parametrize(
    ("received", "responded", "days"),
    [
        (D(2025, 7, 4), D(2025, 7, 7), 1),  # Friday to Monday: one working day
        (D(2025, 7, 7), D(2025, 7, 21), 10),  # two weeks, no holiday
        (D(2025, 7, 7), D(2025, 7, 22), 11),
        (D(2025, 8, 18), D(2025, 9, 1), 9),  # across the August bank holiday (25 August 2025)
        (D(2025, 4, 15), D(2025, 4, 29), 8),  # across Good Friday and Easter Monday 2025
        (D(2024, 12, 20), D(2025, 1, 6), 8),  # Christmas Day, Boxing Day and New Year's Day
        (D(2025, 7, 5), D(2025, 7, 7), 1),  # received on a Saturday: the clock starts on Monday
        (D(2025, 7, 7), D(2025, 7, 7), 0),  # answered the same day
    ],
)
def test_working_days_count_england_and_wales_bank_holidays(received, responded, days):
    assert working_days_between(received, responded) == days


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-07-03", D(2025, 7, 3)),
        ("03/07/2025", D(2025, 7, 3)),  # UK day-first
        ("3/7/25", D(2025, 7, 3)),
        ("2025-07-03T14:22:00", D(2025, 7, 3)),
        ("03/07/2025 14:22", D(2025, 7, 3)),
        ("07/31/2025", None),  # US month-first is not a UK date
        ("31/02/2025", None),
        ("1900-01-01", None),  # not a plausible case date
        ("yesterday", None),
        ("", None),
    ],
)
def test_dates_are_read_day_first_and_strictly(text, expected):
    assert parse_date(text) == expected


def _rules(tmp_path: Path) -> dict:
    return load_feedback_rules(write(tmp_path / "feedback_rules.toml", RULES), {"CS03", "CS06", "CS07"})


def _extract(tmp_path: Path, body: str, name: str = "cases.csv") -> Path:
    return write(tmp_path / "data" / "feedback" / name, "Customer feedback export\n\n" + HEADER + body)


def test_every_row_is_accounted_for_and_a_broken_row_is_reported_with_file_and_row(tmp_path):
    _extract(
        tmp_path,
        "C1,2025-07-07,2025-07-21,Housing,Complaint,Stage 1,Upheld,Email\n"
        "C2,2025-07-07,2025-07-22,Housing,complaint,1,Not upheld,Email\n"
        "C3,2025-07-10,2025-07-01,Planning,Complaint,1,Upheld,Letter\n"
        "\n"
        "C4,2025-08-01,,Waste,Compliments,,,Online form\n"
        "C5,31/07/2025,,Waste,Enquiry,,,Telephone\n"
        "C6,2025-08-01,2025-08-05,Waste,Complaint,,Upheld,Email\n"
        "C7,07/31/2025,,Waste,Comment,,,Email\n"
        ",2025-08-01,,Waste,Comment,,,Email\n"
        "C1,2025-07-07,2025-07-21,Housing,Complaint,Stage 1,Upheld,Email\n"
        "C8,2025-08-01,,Waste,Comment,,,Email\n"
        "C8,2025-08-02,,Waste,Comment,,,Email\n",
    )
    cases, counts = read_cases(tmp_path / "data" / "feedback", tmp_path / "data")
    assert counts == {"feedback/cases.csv": 11}  # the blank line is not a row
    assert rows_unaccounted(cases, counts).empty
    refused = cases[~cases["accepted"]].set_index("row")
    assert refused["reason"].to_dict() == {
        6: "responded_before_received",
        9: "unknown_type",
        10: "invalid_stage",
        11: "not_a_date",
        12: "missing_value",
        13: "duplicate",
        14: "conflicting_duplicate",
        15: "conflicting_duplicate",
    }
    assert set(refused["file"]) == {"feedback/cases.csv"}
    assert "before it was received on 10 July 2025" in refused.at[6, "message"]
    accepted = cases[cases["accepted"]].set_index("case_id")
    assert accepted.loc["C1", ["type", "stage", "working_days"]].tolist() == ["complaint", 1, 10]
    assert accepted.loc["C4", "type"] == "compliment"


def test_unreadable_and_headerless_files_are_one_exception_each(tmp_path):
    folder = tmp_path / "data" / "feedback"
    write(folder / "notes.txt", "not an extract")
    write(folder / "nohead.csv", "a,b,c\n1,2,3\n")
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    cases, _ = read_cases(folder, tmp_path / "data")
    by_file = cases.set_index("file")["reason"].to_dict()
    assert by_file == {
        "feedback/broken.xlsx": "unreadable_file",
        "feedback/nohead.csv": "missing_column",
        "feedback/notes.txt": "unreadable_file",
    }
    assert cases["row"].isna().all()


def test_a_workbook_extract_with_real_dates_is_read(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Feedback cases"])
    sheet.append(["Reference", "Received", "Responded", "Type", "Stage"])
    sheet.append(["W1", dt.datetime(2025, 7, 7, 9, 30), dt.date(2025, 7, 21), "Complaint", 1])
    sheet.append(["W2", dt.date(2025, 7, 8), None, "Compliment", None])
    path = tmp_path / "data" / "feedback" / "cases.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    read = read_case_file(path, tmp_path / "data")
    assert read.problem is None
    assert read.rows["row"].tolist() == [3, 4]  # the sheet's own row numbers
    cases = check_cases([read])
    assert cases["accepted"].all() and cases["working_days"].tolist()[0] == 10


def test_a_workbook_is_measured_before_it_is_read_and_keeps_excels_row_numbers(tmp_path):
    book = openpyxl.Workbook()
    cover = book.active
    cover.append(["Notes only"])
    sheet = book.create_sheet("Cases")
    sheet.append(["Reference", "Received", "Type"])
    sheet.append([])
    sheet.append(["W1", dt.date(2025, 7, 8), "Compliment"])
    path = tmp_path / "data" / "feedback" / "cases.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    read = read_case_file(path, tmp_path / "data")
    assert read.problem is None and read.rows["row"].tolist() == [3]  # the blank row 2 still counts
    # The returns' limits ([limits] in council.toml) bound an extract too: refused, not read.
    small = read_case_file(path, tmp_path / "data", ReadLimits(max_cells=4))
    assert small.problem == "unreadable_file" and "over 4 cells" in small.message


def test_rules_turn_cases_into_indicator_values(tmp_path):
    _extract(
        tmp_path,
        "A,2025-07-07,2025-07-21,Housing,Complaint,1,Upheld,Email\n"  # in time (10 days)
        "B,2025-07-07,2025-07-22,Housing,Complaint,1,Upheld,Email\n"  # late (11 days)
        "C,2025-06-20,2025-07-02,Housing,Complaint,1,Upheld,Email\n"  # received in Q1, answered in Q2
        "D,2025-09-29,,Housing,Complaint,1,,Email\n"  # open: counts as received, not as answered
        "E,2025-07-07,2025-07-09,Housing,Complaint,2,Upheld,Email\n"  # stage 2: not in CS03 or CS06
        "F,2025-08-01,,Waste,Compliment,,,Email\n"
        "G,2025-10-01,,Waste,Compliment,,,Email\n",  # next quarter
    )
    cases, _ = read_cases(tmp_path / "data" / "feedback", tmp_path / "data")
    derived = derive_values(cases, _rules(tmp_path), Q2, {"CS03", "CS06", "CS07"}).set_index("indicator_code")
    assert derived.loc["CS03", ["numerator", "denominator"]].tolist() == [2.0, 3.0]
    assert derived.loc["CS03", "value"] == pytest.approx(200 / 3)
    assert derived.loc["CS06", "value"] == pytest.approx(1000 * 3 / 100000)  # A, B and D received in Q2
    assert derived.loc["CS07", "value"] == 1.0
    assert derived.loc["CS03", "source_files"] == "feedback/cases.csv"
    counted = counted_cases(cases, _rules(tmp_path)["indicators"][0], Q2)
    assert counted["row"].tolist() == [4, 5, 6] and counted["in_numerator"].tolist() == [True, False, True]
    # before first_quarter, and in a quarter with no case at all, nothing is derived (no zero guessed)
    assert derive_values(cases, _rules(tmp_path), Quarter.parse("2024-25-Q4"), {"CS03"}).empty
    assert derive_values(cases, _rules(tmp_path), Quarter.parse("2026-27-Q1"), {"CS07"}).empty


def test_a_derived_figure_replaces_the_returned_one_and_keeps_its_commentary():
    validated = pd.DataFrame(
        {
            "indicator_code": ["CS03", "CS01", "CS03"],
            "period": [Q2.key, Q2.key, Quarter.parse("2025-26-Q1").key],
            "source_quarter": [Q2.key] * 3,
            "file": ["r.csv"] * 3,
            "row": pd.array([2, 3, 4], dtype="Int64"),
            "value": [91.0, 80.0, 88.0],
            "commentary": ["Backlog cleared", None, None],
        }
    )
    derived = pd.DataFrame(
        {
            "indicator_code": ["CS03"],
            "value": [89.3],
            "numerator": [151.0],
            "denominator": [169.0],
            "source_files": ["feedback/x.xlsx"],
            "source_sha256": ["abc"],
            "description": ["derived from the case extract: 151 of 169"],
        }
    )
    out = replace_returned(validated, derived, Q2)
    now = out[(out["indicator_code"] == "CS03") & (out["period"] == Q2.key)]
    assert len(now) == 1 and now.iloc[0]["value"] == 89.3 and now.iloc[0]["file"] == "feedback/x.xlsx"
    assert now.iloc[0]["commentary"] == "Backlog cleared"
    assert len(out[out["indicator_code"] == "CS03"]) == 2  # the revision of Q1 is untouched


def test_rules_are_checked_and_derived_indicators_are_not_asked_of_services(tmp_path):
    bad = write(
        tmp_path / "bad.toml", 'first_quarter = "soon"\n[[indicator]]\ncode = "XX"\nmeasure = "average"\n'
    )
    with pytest.raises(ReferenceDataError) as error:
        load_feedback_rules(bad, {"CS03"})
    assert (
        "reference/bad.toml [[indicator]] 1: code 'XX' is not an indicator in indicators.csv"
        in error.value.problems
    )
    assert any("measure 'average'" in p for p in error.value.problems)
    write(tmp_path / "feedback_rules.toml", RULES)
    catalogue = pd.DataFrame({"code": ["CS01", "CS03", "CS06", "CS07"]})
    assert list(returned_indicators(catalogue, tmp_path, Q2)["code"]) == ["CS01"]
    assert list(returned_indicators(catalogue, tmp_path, Quarter.parse("2024-25-Q4"))["code"]) == list(
        catalogue["code"]
    )


GOOD_RULE = (
    'code = "CS03"\nmeasure = "percent_within_working_days"\nworking_days = 10\ncounted_by = "responded"\n'
)


@pytest.mark.parametrize(
    "text, problem",
    [
        ('first_quarter = "2024-25-Q1"\n[[indicator]\n', "not valid TOML (Expected"),
        ("[[indicator]]\n" + GOOD_RULE, "first_quarter must be the first quarter the extracts cover"),
        ("first_quarter = 2024\n", "first_quarter must be the first quarter"),
        ('first_quarter = "2024-25-Q1"\n[indicator]\n' + GOOD_RULE, "indicator must be [[indicator]] tables"),
        ('first_quarter = "2024-25-Q1"\n[[indicators]]\n' + GOOD_RULE, "'indicators' is not a setting"),
        (
            'first_quarter = "2024-25-Q1"\nindicator = [1, 2]\n',
            "[[indicator]] 1: must be a table of settings",
        ),
        ("[[indicator]]\nstage = [1]\n" + GOOD_RULE, "[[indicator]] 1: 'stage' is not a setting of a rule"),
        ('[[indicator]]\ncode = "XX"\nmeasure = "count"\n', "[[indicator]] 1: code 'XX' is not an indicator"),
        ('[[indicator]]\ncode = ["CS03"]\nmeasure = "count"\n', "[[indicator]] 1: code '['CS03']' is not"),
        ('[[indicator]]\ncode = "CS07"\nmeasure = "average"\n', "measure 'average' is not one of"),
        ('[[indicator]]\ncode = "CS07"\nmeasure = {a = 1}\n', "measure '{'a': 1}' is not one of"),
        ('[[indicator]]\ncode = "CS07"\nmeasure = "count"\ntypes = "complaint"\n', "types must list"),
        ('[[indicator]]\ncode = "CS07"\nmeasure = "count"\ntypes = [["complaint"]]\n', "types must list"),
        ('[[indicator]]\ncode = "CS07"\nmeasure = "count"\ntypes = []\n', "types must list"),
        ('[[indicator]]\ncode = "CS07"\nmeasure = "count"\nstages = [3]\n', "stages must list 1, 2"),
        ('[[indicator]]\ncode = "CS07"\nmeasure = "count"\nstages = [true]\n', "stages must list 1, 2"),
        ('[[indicator]]\ncode = "CS07"\nmeasure = "count"\ncounted_by = "closed"\n', "counted_by must be"),
        (
            '[[indicator]]\ncode = "CS07"\nmeasure = "count"\ncounted_by = ["received"]\n',
            "counted_by must be",
        ),
        ("[[indicator]]\n" + GOOD_RULE.replace("10", '"ten"'), "working_days must be a whole number"),
        ("[[indicator]]\n" + GOOD_RULE.replace("10", "true"), "working_days must be a whole number"),
        ("[[indicator]]\n" + GOOD_RULE.replace("10", "-1"), "working_days must be a whole number"),
        (
            "[[indicator]]\n" + GOOD_RULE.replace("responded", "received"),
            "counts cases by their responded date",
        ),
        (
            '[[indicator]]\ncode = "CS06"\nmeasure = "per_1000_residents"\n',
            "residents must be a whole number",
        ),
        (
            '[[indicator]]\ncode = "CS06"\nmeasure = "per_1000_residents"\nresidents = 0\n',
            "residents must be",
        ),
        ("[[indicator]]\n" + GOOD_RULE + "[[indicator]]\n" + GOOD_RULE, "CS03 has more than one rule"),
    ],
)
def test_a_bad_rules_file_names_the_file_the_rule_and_the_problem(tmp_path, text, problem):
    if not text.startswith("first_quarter") and "first_quarter must" not in problem:
        text = 'first_quarter = "2024-25-Q1"\n' + text
    path = write(tmp_path / "feedback_rules.toml", text)
    with pytest.raises(ReferenceDataError) as error:
        load_feedback_rules(path, {"CS03", "CS06", "CS07"})
    assert any(
        p.startswith("reference/feedback_rules.toml") and problem in p for p in error.value.problems
    ), error.value.problems


def test_the_reference_run_checks_the_rules_with_the_rest_of_the_reference_data(mini_root):
    """A broken rules file stops the reference data run with the file and the problem, before any
    quarter is built; the other reference tables are still loaded."""
    import dagster as dg

    from perf_pipeline.definitions import build_definitions
    from perf_pipeline.defs import jobs
    from perf_pipeline.settings import DataRoot

    write(
        mini_root / "reference" / "feedback_rules.toml",
        'first_quarter = "2024-25-Q1"\n[[indicator]]\ncode = "ZZ9"\n',
    )
    with dg.instance_for_test() as instance:
        result = (
            build_definitions(DataRoot(mini_root))
            .resolve_job_def(jobs.REFERENCE_JOB)
            .execute_in_process(
                instance=instance,
                raise_on_error=False,
                # The mini council has no comparator data: the tables the rules need, and one beside.
                asset_selection=[
                    dg.AssetKey(k)
                    for k in ("services", "indicator_catalogue", "indicator_targets", "feedback_rules")
                ],
            )
        )
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["feedback_rules"]
    message = failures[0].step_failure_data.user_failure_data.description
    assert "reference/feedback_rules.toml [[indicator]] 1: code 'ZZ9' is not an indicator" in message
    assert "measure 'None' is not one of" in message  # every problem at once
    assert {"indicator_catalogue", "indicator_targets"} <= {
        e.asset_key.to_user_string() for e in result.all_events if e.is_step_materialization
    }


def test_rules_not_in_utf8_are_refused_by_name(tmp_path):
    path = tmp_path / "feedback_rules.toml"
    path.write_bytes('first_quarter = "2024-25-Q1"  # r\xe9sum\xe9\n'.encode("cp1252"))
    with pytest.raises(ReferenceDataError, match="reference/feedback_rules.toml: not valid TOML"):
        load_feedback_rules(path, {"CS03"})


def test_checked_rules_survive_the_warehouse_table_unchanged(tmp_path):
    rules = load_feedback_rules(write(tmp_path / "feedback_rules.toml", RULES), {"CS03", "CS06", "CS07"})
    assert rules_from_table(rules_table(rules)) == {
        "first_quarter": "2025-26-Q1",
        "indicators": [
            {k: rule.get(k) for k in ("code", "measure", "working_days", "residents", "types", "stages")}
            | {"counted_by": rule["counted_by"], "number": rule["number"]}
            for rule in rules["indicators"]
        ],
    }


def _toml(value) -> str:
    """A value written as TOML (JSON's strings, numbers and arrays are TOML's; tables inline)."""
    import json

    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


scalar = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["CS03", "CS07", "count", "per_1000_residents", "percent_within_working_days"]),
    st.sampled_from(["complaint", "compliment", "received", "responded", "2024-25-Q1"]),
    st.integers(-3, 200_000),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
setting = st.sampled_from(
    sorted({"code", "measure", "working_days", "residents", "types", "stages", "counted_by", "other"})
)
rule = st.dictionaries(setting, value, max_size=7)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=value,
    rules=st.one_of(st.lists(rule, max_size=3), value),
    junk=st.text(max_size=30),
)
def test_no_rules_file_crashes_the_check(tmp_path_factory, first, rules, junk):
    """Whatever the file holds, the rules are either read or refused with every problem named by
    file; never an exception of another kind."""
    folder = tmp_path_factory.mktemp("rules")
    for text in (f"first_quarter = {_toml(first)}\nindicator = {_toml(rules)}\n", junk):
        path = folder / "feedback_rules.toml"
        path.write_text(text, encoding="utf-8")
        try:
            read = load_feedback_rules(path, {"CS03", "CS06", "CS07"})
        except ReferenceDataError as error:
            assert error.problems and all(
                p.startswith("reference/feedback_rules.toml") for p in error.problems
            )
        else:
            assert rules_from_table(rules_table(read))["indicators"] == [
                {k: r[k] for k in ("code", "measure", "types", "stages", "counted_by", "number")}
                | {"working_days": r.get("working_days"), "residents": r.get("residents")}
                for r in read["indicators"]
            ]
            assert all(rule_text(r) for r in read["indicators"])


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
date_text = st.one_of(
    st.dates(min_value=D(1990, 1, 1), max_value=D(2110, 1, 1)).map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates(min_value=D(1990, 1, 1), max_value=D(2110, 1, 1)).map(str),
    cell,
)
row = st.tuples(
    st.one_of(st.just(""), st.from_regex(r"C[0-9]{1,3}", fullmatch=True)),
    date_text,
    st.one_of(st.just(""), date_text),
    cell,
    st.sampled_from(["Complaint", "compliments", "Comment", "Enquiry", "", "COMPLAINT"]),
    st.sampled_from(["1", "Stage 2", "", "3", "one"]),
    cell,
    cell,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=25), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_any_extract_is_read_with_every_row_accounted_for(tmp_path_factory, rows, encoding):
    """Whatever the cells hold, reading never raises and each non-blank row ends accepted or refused."""
    import csv
    import io

    root = tmp_path_factory.mktemp("hyp")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["Case reference", "Received", "Responded", "Service", "Type", "Stage", "Outcome", "Channel"]
    )
    writer.writerows(rows)
    path = root / "feedback" / "x.csv"
    path.parent.mkdir()
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    cases, counts = read_cases(root / "feedback", root)
    assert rows_unaccounted(cases, counts).empty
    assert cases["row"].notna().sum() == counts["feedback/x.csv"]
    assert len(cases) >= 1  # a file without rows is itself one exception (empty_file)
    refused = cases[~cases["accepted"]]
    assert refused["reason"].notna().all() and refused["message"].notna().all()
    accepted = cases[cases["accepted"]]
    assert accepted["received_date"].notna().all()
    assert (
        accepted["responded_date"].isna() | (accepted["responded_date"] >= accepted["received_date"])
    ).all()
    assert set(accepted["type"]) <= {"complaint", "compliment", "comment"}
    assert accepted["case_id"].str.upper().is_unique
    # The file sensor versions the same file every few seconds: it must never stop on one, and
    # every accepted case's quarter has a version.
    files, by_quarter = extract_versions(root / "feedback", root)
    assert files and all(Quarter.parse(key).key == key for key in by_quarter)
    assert {Quarter.containing(d.date()).key for d in accepted["received_date"]} <= set(by_quarter)


@pytest.mark.e2e
def test_the_daemon_rebuilds_a_quarter_for_its_new_cases_and_a_report_for_its_milestones(recent):
    """Files dropped in while the daemon runs (its file sensor, then the automation's ticks): a
    compliment of 2025-26 Q2 rebuilds that quarter only; a milestone completed in Q2 changes no
    earlier quarter's status as at its end, so only Q2's report is republished."""
    import dagster as dg

    from perf_pipeline.definitions import build_definitions
    from perf_pipeline.defs import automation
    from perf_pipeline.settings import DataRoot
    from perf_pipeline_tests.test_end_to_end import daemon_ticks, query

    root = DataRoot(recent)
    defs = build_definitions(root)
    q4, q1, q2 = Quarter(2024, 4), Quarter(2025, 1), Quarter(2025, 2)
    compliments = "select value from perf.indicator_values where indicator_code = 'CS07' and quarter = ?"
    before = query(recent, compliments, [q2.key])["value"].iloc[0]

    def sensor_tick(instance):
        context = dg.build_sensor_context(instance=instance, resources=defs.resources)
        for event in automation.input_files_changed.evaluate_tick(context).asset_events:
            instance.report_runless_asset_event(event)

    with dg.DagsterInstance.from_config(str(root.dagster_home)) as instance:
        cursor = dg.evaluate_automation_conditions(defs, instance).cursor  # the sensor's first look
        write(
            recent / "feedback" / "late-cases.csv",
            HEADER + "CF-LATE-1,2025-08-04,,Waste,Compliment,,,Email\n",
        )
        sensor_tick(instance)
        asked, cursor = daemon_ticks(defs, instance, cursor)
        assert asked[0] == {
            "feedback_cases": {None},
            "feedback_indicator_values": {q2},
            "indicator_values": {q2},
        }
        assert all(
            quarters == {q2}
            for tick in asked[1:]
            for name, quarters in tick.items()
            if name != "app_snapshot"
        )
        assert "quarterly_monitoring_report" in asked[1]
        assert asked[-1] == {"app_snapshot": {None}}  # after the rest, once
        assert query(recent, compliments, [q2.key])["value"].iloc[0] == before + 1

        milestones = recent / "reference" / "milestones.csv"
        milestones.write_text(
            milestones.read_text(encoding="utf-8").replace("2025-08-29,,\n", "2025-08-29,,2025-08-20\n"),
            encoding="utf-8",
        )
        sensor_tick(instance)
        asked, _ = daemon_ticks(defs, instance, cursor)
        assert set(asked[0]) >= {
            "change_programmes",
            "programme_milestones",
            "risk_register",
            "feedback_rules",
        }
        assert asked[1] == {"milestone_status": {q4, q1, q2}, "benefit_status": {q4, q1, q2}}
        assert asked[2:] == [
            {
                **{name: {q2} for name in ("quarterly_monitoring_report", "audit_pack")},
                "app_snapshot": {None},
            },
            {"app_snapshot": {None}},  # then published, once
        ]
    status = pd.read_csv(root.reports_for(q2) / "programme-milestones.csv").set_index("milestone_id")
    assert status.at["CP4-M3", "status"] == "Complete"
