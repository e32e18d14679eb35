"""The real Dagster graph on the bundled example data, in a persistent instance in a temp folder."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pandas as pd
import pytest

from perf_pipeline.lib.check_return import load_catalogue, return_verdicts
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.returns_reader import read_return
from perf_pipeline.runner import PLANNED_TAG
from perf_pipeline.settings import DataRoot
from perf_pipeline_tests.conftest import EXAMPLE_DATA, INPUT_FOLDERS, REPOSITORY, run_cli, write

pytestmark = pytest.mark.e2e


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def test_the_run_changes_nothing_in_the_input_folders(demo):
    for folder in INPUT_FOLDERS:
        if (EXAMPLE_DATA / folder).is_dir():
            assert tree_digest(demo / folder) == tree_digest(EXAMPLE_DATA / folder), folder


def query(root: Path, sql: str, params=None) -> pd.DataFrame:
    with duckdb.connect(str(DataRoot(root).warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchdf()


def test_every_row_of_every_example_return_is_accounted_for(demo):
    counts = query(
        demo,
        """
        with r as (select file, count(*) n from perf.service_returns_raw group by file),
             v as (select file, count(*) n from perf.service_returns_validated group by file),
             e as (select file, count(*) n from perf.return_exceptions group by file)
        select r.file, r.n read, coalesce(v.n, 0) accepted, coalesce(e.n, 0) exceptions
        from r left join v using (file) left join e using (file)""",
    )
    assert len(counts) >= 18 * 8
    assert (counts["read"] == counts["accepted"] + counts["exceptions"]).all()
    on_disk = {
        p.relative_to(demo).as_posix()
        for p in (demo / "submissions").rglob("*")
        if p.is_file() and p.parent != demo / "submissions"
    }
    assert set(counts["file"]) == on_disk


def test_every_quarter_has_one_value_per_due_indicator(demo):
    values = query(demo, "select quarter, indicator_code, count(*) n from perf.indicator_values group by all")
    assert values["n"].eq(1).all()
    assert values["quarter"].nunique() == len(DataRoot(demo).quarters_with_returns())


def test_the_example_exercises_every_problem_a_real_return_has(demo):
    reasons = set(query(demo, "select distinct reason from perf.return_exceptions")["reason"])
    for reason in (
        "unknown_indicator",
        "not_a_number",
        "conflicting_duplicate",
        "duplicate",
        "wrong_period",
        "out_of_range",
        "numerator_exceeds_denominator",
        "missing_column",
        "unreadable_file",
    ):
        assert reason in reasons
    revised = query(demo, "select count(*) n from perf.indicator_values where is_revision")["n"].iloc[0]
    corrected = query(demo, "select count(*) n from perf.indicator_values where corrections <> ''")["n"].iloc[
        0
    ]
    late = query(demo, "select count(*) n from perf.submission_status where timeliness = 'Late'")["n"].iloc[0]
    assert revised > 0 and corrected > 0 and late > 0


def test_the_command_says_revised_only_of_the_figures_a_later_return_revised(demo, demo_output):
    """Every earlier quarter's figures are checked against each new return; the command names as
    revised exactly those whose figures a return changed: the restatements logged by return."""
    said = set(re.findall(r"also rebuilt: (\S+ Q\d) \(revised by (\S+ Q\d)'s returns\)", demo_output))
    logged = query(
        demo,
        "select distinct figure_quarter, split_part(revising_return, '/', 2) as by_return "
        "from perf.restatement_events where revising_return <> ''",
    )
    revised = {
        (Quarter.parse(r.figure_quarter).label, Quarter.parse(r.by_return).label) for r in logged.itertuples()
    }
    assert revised, "the example's returns revise earlier figures"
    assert said == revised


def test_reports_are_written_for_every_quarter_with_the_contract_columns(demo):
    for quarter in DataRoot(demo).quarters_with_returns():
        folder = DataRoot(demo).reports_for(quarter)
        exceptions = pd.read_csv(folder / "return-exceptions.csv")
        assert list(exceptions.columns[:7]) == [
            "file",
            "row",
            "indicator_code",
            "period",
            "raw_value",
            "reason",
            "message",
        ]
        status = pd.read_csv(folder / "submission-status.csv")
        assert {"service", "timeliness", "missing_codes", "chase"} <= set(status.columns)


@pytest.mark.long
def test_check_return_gives_exactly_the_pipelines_verdicts(demo):
    root = DataRoot(demo)
    indicators = load_catalogue(root)
    exceptions = query(demo, "select file, row, reason from perf.return_exceptions")
    accepted = query(demo, "select file, row from perf.service_returns_validated")
    for quarter in root.quarters_with_returns():
        paths = sorted(p for p in root.submissions_for(quarter).iterdir() if p.is_file())
        received = [read_return(p, demo) for p in paths]  # read once per quarter, not once per file
        for path in paths:
            name = path.relative_to(demo).as_posix()
            verdicts = return_verdicts(root, path, quarter, indicators, received)
            expected = pd.concat(
                [
                    exceptions.loc[exceptions["file"] == name, ["row", "reason"]].rename(
                        columns={"reason": "verdict"}
                    ),
                    accepted.loc[accepted["file"] == name, ["row"]].assign(verdict="accepted"),
                ]
            )
            got = verdicts.assign(verdict=verdicts["verdict"].str.replace(" (not reported)", "", regex=False))
            key = lambda d: sorted((-1 if pd.isna(r) else int(r), v) for r, v in zip(d["row"], d["verdict"]))
            assert key(got) == key(expected), name


def test_check_return_command_exit_codes(demo, capsys):
    quarter = Quarter(2025, 3)  # no returns received yet, so nothing to clash with
    assert not DataRoot(demo).submissions_for(quarter).exists()
    code = (
        load_catalogue(DataRoot(demo)).query("frequency == 'quarterly' and unit == 'percent'")["code"].iloc[0]
    )
    clean = write(demo.parent / "clean.csv", f"Indicator Code,Value\n{code},50%\n")
    assert run_cli("--data", str(demo), "check-return", str(clean), "--quarter", quarter.key) == 0
    bad = write(demo.parent / "bad.csv", f"Indicator Code,Value\n{code},50%\nNOPE,1\n")
    assert run_cli("--data", str(demo), "check-return", str(bad), "--quarter", quarter.label) == 1
    out = capsys.readouterr().out
    assert "row 3" in out and "NOPE" in out and "unknown_indicator" in out
    with pytest.raises(SystemExit) as usage:
        run_cli("--data", str(demo), "check-return", str(bad), "--quarter", "2025-26-Q7")
    assert usage.value.code == 2
    assert (
        run_cli("--data", str(demo), "check-return", str(demo / "missing.csv"), "--quarter", quarter.key) == 2
    )


def test_rebuilding_a_quarter_replaces_only_its_rows_and_gives_identical_tables(recent):
    """Re-run one quarter from unchanged inputs: its warehouse rows are replaced, not added to, every
    other quarter's stay, and its published CSVs come out byte-identical apart from run ids and times."""
    demo, target = recent, Quarter(2025, 1)
    folder = DataRoot(demo).reports_for(target)
    names = sorted(p.name for p in folder.glob("*.csv")) + [
        "audit/input-manifest.csv",
        "audit/figure-provenance.csv",
    ]
    tables = ["service_returns_validated", "indicator_values", "indicator_performance"]
    before = {t: query(demo, f"select * from perf.{t} order by all") for t in tables}
    published = {name: stable_csv(folder / name) for name in names}
    notes = (folder / "audit" / "calculation-notes.md").read_text(encoding="utf-8")
    assert run_cli("--data", str(demo), "run", "--quarter", target.key) == 0
    for table in tables:
        pd.testing.assert_frame_equal(before[table], query(demo, f"select * from perf.{table} order by all"))
    assert {name: stable_csv(folder / name) for name in names} == published
    assert (folder / "audit" / "calculation-notes.md").read_text(encoding="utf-8") == notes
    assert len(names) >= 8


def stable_csv(path) -> str:
    """A CSV with its run ids and restatement times blanked."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for row in rows:
        for volatile in ("run_id", "restated_at"):
            if volatile in row:
                row[volatile] = ""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def materialised_since(root: Path, storage_id: int, keys: list[str]) -> set[str]:
    """Which of `keys` were materialised after the event `storage_id`."""
    with dg.DagsterInstance.from_config(str(root / ".dagster")) as instance:
        return {
            key
            for key in keys
            if instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), after_storage_id=storage_id), limit=1
            ).records
        }


def test_a_run_reads_again_only_the_reference_tables_whose_files_changed(recent):
    """A changed target is read again before the quarter is built, so the quarter is assessed
    against it; a reference table whose files did not change (the national benchmark table) is
    not read again by every command."""
    quarter = Quarter(2025, 2)
    targets = recent / "reference" / "targets.csv"
    text = targets.read_text(encoding="utf-8")
    row = 'RB01,2025-26,Q2,56,,2025-03-12,"Council Plan 2025-26 target, profiled by quarter"'
    assert row in text
    write(targets, text.replace(row, row.replace(",Q2,56,", ",Q2,57.5,")))
    mark = latest_event(recent)
    assert run_cli("--data", str(recent), "run", "--quarter", quarter.key) == 0
    target = query(
        recent,
        "select target from perf.indicator_performance where quarter = ? and indicator_code = 'RB01'",
        [quarter.key],
    )["target"].iloc[0]
    assert target == pytest.approx(57.5)
    # `reference_files` is one version for the reference folder: the tables read from it are read
    # again (cheap); the 3.5-million-row national table, from the benchmark files only, is not.
    tables = ["indicator_targets", "benchmark_values"]
    assert materialised_since(recent, mark, tables) == {"indicator_targets"}


def test_a_correction_to_an_old_quarter_is_restated_in_the_next_reports(recent, capsys):
    """Correct a published figure and run its quarter: the later quarter that used it is rebuilt
    too, the earlier one is not, and the restatement is found."""
    demo = recent
    old, last = Quarter(2025, 1), Quarter(2025, 2)
    row = query(
        demo,
        "select indicator_code, value, received_value from perf.indicator_values "
        "where quarter = ? and reporting_status = 'reported' and corrections = '' "
        "and not is_revision order by indicator_code limit 1",
        [old.key],
    ).iloc[0]
    code, new_value = row["indicator_code"], round(float(row["value"]) * 0.9, 1)
    untouched = (
        "select * exclude (quarter_start) from perf.indicator_performance "
        f"where quarter = '{old.shift(-1).key}' order by all"
    )  # the quarter before: unaffected
    before = query(demo, untouched)
    write(
        demo / "corrections" / "zz-test-correction.csv",
        "correction_id,indicator_code,period,value,numerator,denominator,reason,requested_by,approved_by,approved_on\n"
        f"TEST-1,{code},{old.label},{new_value},,,Recount by the service,A Analyst,Head of Performance,2026-11-01\n",
    )
    capsys.readouterr()
    assert run_cli("--data", str(demo), "run", "--quarter", old.key, "--dry-run") == 0
    plan = capsys.readouterr().out
    assert "2025/26 Q2 (uses 2025/26 Q1 for direction of travel), if the figures change" in plan
    # The earlier quarter held, from the partition mappings: checked only if the returns hold rows for it.
    assert "2024/25 Q4: figures checked if 2025/26 Q1's returns hold rows for it; if revised, rebuilt" in plan
    assert reassessed_since(demo, None) and not reassessed_since(demo, (mark := latest_event(demo)))
    assert run_cli("--data", str(demo), "run", "--quarter", old.key) == 0
    out = capsys.readouterr().out
    assert "also rebuilt: 2025/26 Q2 (uses 2025/26 Q1 for direction of travel)" in out
    assert "2024/25 Q4 (" not in out  # the quarter before only had its figures checked
    assert reassessed_since(demo, mark) == {old, last}
    value = query(
        demo,
        "select value, received_value, corrections, correction_reason, approved_by "
        "from perf.indicator_values where quarter = ? and indicator_code = ?",
        [old.key, code],
    ).iloc[0]
    assert value["value"] == pytest.approx(new_value)
    assert value["received_value"] == pytest.approx(row["received_value"])
    assert value["corrections"] == "TEST-1"
    assert (value["correction_reason"], value["approved_by"]) == (
        "Recount by the service",
        "Head of Performance",
    )
    performance = query(
        demo,
        "select value from perf.indicator_performance where quarter = ? and indicator_code = ?",
        [old.key, code],
    )
    assert performance["value"].iloc[0] == pytest.approx(new_value)
    restated = pd.read_csv(DataRoot(demo).reports_for(last) / "restatements.csv")
    mine = restated[(restated["indicator_code"] == code) & (restated["restated_quarter"] == old.key)]
    assert len(mine) == 1
    assert mine.iloc[0]["old_value"] == pytest.approx(row["value"])
    assert mine.iloc[0]["new_value"] == pytest.approx(new_value)
    assert (mine.iloc[0]["correction_id"], mine.iloc[0]["reason"], mine.iloc[0]["approved_by"]) == (
        "TEST-1",
        "Recount by the service",
        "Head of Performance",
    )
    html = (DataRoot(demo).reports_for(last) / "quarterly-monitoring-report.html").read_text(encoding="utf-8")
    assert f"<td>{code}</td><td>{old.key}</td>" in html, "the HTML names the quarter restated"
    assert "TEST-1" in html
    book = openpyxl.load_workbook(DataRoot(demo).reports_for(last) / "quarterly-monitoring-report.xlsx")
    sheet = list(book["Restatements"].values)
    mine = [dict(zip(sheet[0], row)) for row in sheet[1:] if row[sheet[0].index("indicator_code")] == code]
    assert [(r["restated_quarter"], r["quarter"]) for r in mine] == [(old.key, last.key)]
    pd.testing.assert_frame_equal(before, query(demo, untouched))
    events = query(
        demo,
        "select old_value, new_value from perf.restatement_events where indicator_code = ? "
        "and figure_quarter = ?",
        [code, old.key],
    )
    assert len(events) == 1  # recorded once, however many reports list it


def latest_event(root: Path) -> int:
    with dg.DagsterInstance.from_config(str(root / ".dagster")) as instance:
        return instance.event_log_storage.get_maximum_record_id()


def reassessed_since(root: Path, storage_id: int | None) -> set[Quarter]:
    """The quarters whose assessment was materialised after the event `storage_id`."""
    with dg.DagsterInstance.from_config(str(root / ".dagster")) as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("indicator_performance"), after_storage_id=storage_id
            ),
            limit=1000,
        ).records
    return {Quarter.from_partition_key(r.partition_key) for r in records}


def test_runs_and_checks_are_recorded_in_the_persistent_instance(demo):
    with dg.DagsterInstance.from_config(str(demo / ".dagster")) as instance:
        runs = instance.get_runs()
        assert {r.job_name for r in runs} >= {"reference_data", "quarterly_cycle"}
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        record = instance.get_latest_materialization_event(dg.AssetKey("indicator_values"))
        assert record is not None
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("service_returns_validated"), "every_row_accounted_for"), limit=5
        )
        assert checks
        # Every annual report was built because the automation conditions asked for it, once its
        # year's quarters were assessed: nobody named it.
        annual = instance.fetch_materializations(dg.AssetKey("annual_performance_report"), limit=100).records
        assert {r.partition_key for r in annual} == {"2021-04-01", "2022-04-01", "2023-04-01", "2024-04-01"}
        for record in annual:
            run = instance.get_run_by_id(record.run_id)
            assert run.tags.get(PLANNED_TAG) == "automation conditions"


def test_loading_the_definitions_is_cheap():
    """What a code server, the daemon and every step's process load: the definitions and their jobs,
    with none of the heavy libraries the assets use when they run."""
    heavy = ("duckdb", "great_expectations", "matplotlib", "numpy", "openpyxl", "pandas", "pandera")
    code = (
        "import sys, perf_pipeline.definitions as d; d.defs.get_repository_def().get_all_jobs(); "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, "PERF_PIPELINE_DATA": "/nonexistent"},
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_the_example_shows_every_status_and_every_direction_of_travel(demo):
    from perf_pipeline.lib.performance import DOT_VALUES, RAG_STATUSES

    seen = query(
        demo, "select rag_status, dot_short, dot_long, ytd_rag_status from perf.indicator_performance"
    )
    assert set(RAG_STATUSES) <= set(seen["rag_status"])
    assert set(RAG_STATUSES) <= set(seen["ytd_rag_status"])
    assert set(DOT_VALUES) <= set(seen["dot_short"]) | set(seen["dot_long"])
    restated = query(demo, "select count(*) n from perf.restatement_events")["n"].iloc[0]
    assert restated >= 3  # the revisions services sent with later returns


def test_every_asset_has_a_code_version_and_a_description():
    from perf_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.code_version, key
        assert node.description and len(node.description) > 20, key
        assert node.owners == ["team:performance"], key


def daemon_ticks(defs, instance, cursor) -> tuple[list[dict[str, set[Quarter]]], object]:
    """What the automation sensor does between file ticks: evaluate the conditions, make the run
    requests the sensor makes of what they ask for (Dagster's own function, as the sensor calls it
    with `emit_backfills=False`), and run them one at a time in that order, as the instance's run
    queue of one does, until the conditions ask nothing. Each run must come after the runs it
    reads: Dagster sorts a tick's requests (unpartitioned first, then by partition key) without
    promising to, so this is where a change of that order would show."""
    from dagster._core.definitions.automation_tick_evaluation_context import build_run_requests

    asked = []
    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def()
    while True:
        result = dg.evaluate_automation_conditions(defs, instance, cursor=cursor)
        cursor = result.cursor
        plan = {
            key: {p and Quarter.from_partition_key(p) for p in result.get_requested_partitions(key)}
            for key in graph.materializable_asset_keys
            if result.get_requested_partitions(key)
        }
        if not plan:
            return asked, cursor
        asked.append({key.to_user_string(): quarters for key, quarters in plan.items()})
        requests = build_run_requests(result._requested_subsets, graph, None, emit_backfills=False)
        order = [r.partition_key for r in requests]
        assert order == sorted(order, key=lambda k: k or ""), order  # unpartitioned, then oldest first
        for request in requests:
            run = job.execute_in_process(
                instance=instance,
                partition_key=request.partition_key,
                asset_selection=list(request.asset_selection),
            )
            assert run.success


def test_a_correction_by_the_daemon_or_the_ui_rebuilds_the_quarters_after_it_and_logs_it_once(recent):
    """The two routes besides the command line: a correction file dropped in while the daemon
    runs (its file sensor, then the automation's ticks), and "Materialize" on the corrected
    quarter's figures in the UI (then the automation's ticks)."""
    from perf_pipeline.definitions import build_definitions
    from perf_pipeline.defs import automation, jobs

    root = DataRoot(recent)
    defs = build_definitions(root)
    values = "select value from perf.indicator_values where quarter = ? and indicator_code = ?"
    code = "RB01"
    with dg.DagsterInstance.from_config(str(root.dagster_home)) as instance:
        cursor = dg.evaluate_automation_conditions(defs, instance).cursor  # the sensor's first look
        # The daemon: a correction to 2025-26 Q1 is dropped in.
        write(
            recent / "corrections" / "zz-daemon.csv",
            "correction_id,indicator_code,period,value,numerator,denominator,reason,requested_by,approved_by,approved_on\n"
            f"D-1,{code},2025-26 Q1,31.5,,,Recount,A Analyst,Head of Performance,2026-11-02\n",
        )
        context = dg.build_sensor_context(instance=instance, resources=defs.resources)
        for event in automation.input_files_changed.evaluate_tick(context).asset_events:
            instance.report_runless_asset_event(event)
        asked, cursor = daemon_ticks(defs, instance, cursor)
        q1, q2, q4 = Quarter(2025, 1), Quarter(2025, 2), Quarter(2024, 4)
        assert asked[0] == {"corrections_log": {None}, "indicator_values": {q1}}
        assert asked[1]["indicator_performance"] == asked[1]["quarterly_monitoring_report"] == {q1, q2}
        assert query(recent, values, [q1.key, code])["value"].iloc[0] == pytest.approx(31.5)

        # The UI: a correction to 2024-25 Q4, then "Materialize" on that quarter's figures.
        write(
            recent / "corrections" / "zz-ui.csv",
            "correction_id,indicator_code,period,value,numerator,denominator,reason,requested_by,approved_by,approved_on\n"
            f"U-1,{code},2024-25 Q4,97.5,,,Recount,A Analyst,Head of Performance,2026-11-03\n",
        )
        # "Materialize" on the corrections log (the other reference tables have not changed).
        corrections = [dg.AssetKey("corrections_log")]
        assert (
            defs.resolve_job_def(jobs.REFERENCE_JOB)
            .execute_in_process(instance=instance, asset_selection=corrections)
            .success
        )
        figures = defs.resolve_job_def(jobs.QUARTER_JOB).execute_in_process(
            instance=instance,
            partition_key=q4.partition_key,
            asset_selection=[dg.AssetKey("indicator_values")],
        )
        assert figures.success
        asked, _ = daemon_ticks(defs, instance, cursor)
        assert asked[0]["indicator_performance"] == asked[0]["audit_pack"] == {q4, q1, q2}
        assert query(recent, values, [q4.key, code])["value"].iloc[0] == pytest.approx(97.5)
    events = query(
        recent,
        "select figure_quarter, correction_id, count(*) n from perf.restatement_events "
        "where indicator_code = ? group by all",
        [code],
    )
    logged = {(r.figure_quarter, r.correction_id): r.n for r in events.itertuples()}
    assert logged[(q1.key, "D-1")] == 1 and logged[(q4.key, "U-1")] == 1
    restated = pd.read_csv(root.reports_for(q2) / "restatements.csv")
    assert {"D-1", "U-1"} <= set(restated["correction_id"])
