"""Schedules, sensors and the automation conditions, evaluated with Dagster's own test contexts and
a real instance: which runs, for which quarters."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import json
import os
import shutil
import tempfile
import zoneinfo
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from perf_pipeline.defs import automation, jobs
from perf_pipeline.defs.resources import DataRootResource
from perf_pipeline.instance_storage import open_instance
from perf_pipeline.lib.quarters import Quarter, quarter_range
from perf_pipeline_tests.conftest import write

LONDON = zoneinfo.ZoneInfo("Europe/London")
FIRST = Quarter(2021, 1)
CORRECTIONS_HEADER = "correction_id,indicator_code,period,value,numerator,denominator,reason,requested_by,approved_by,approved_on\n"


def at(day: str, hour: int) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=LONDON)


def repository() -> dg.RepositoryDefinition:
    """The real definitions, so a run request's job and partition key are checked against them."""
    from perf_pipeline.definitions import defs

    return defs.get_repository_def()


def schedule_tick(schedule: dg.ScheduleDefinition, when: dt.datetime, root: Path | None = None):
    resources = {"data_root": DataRootResource(path=str(root or "/nonexistent"))}
    context = dg.build_schedule_context(
        scheduled_execution_time=when, resources=resources, repository_def=repository()
    )
    return schedule.evaluate_tick(context)


@pytest.mark.parametrize(
    "day, partition",
    [
        ("2025-10-01", "2025-07-01"),
        ("2026-01-01", "2025-10-01"),
        ("2026-04-01", "2026-01-01"),
        ("2025-07-01", "2025-04-01"),
    ],
)
def test_request_packs_are_built_the_day_after_each_quarter_ends(day, partition):
    data = schedule_tick(automation.data_requests_schedule, at(day, 7))
    assert [(r.partition_key, r.job_name or jobs.DATA_REQUESTS_JOB) for r in data.run_requests] == [
        (partition, jobs.DATA_REQUESTS_JOB)
    ]


def test_no_pack_for_a_quarter_before_the_first_one_held():
    data = schedule_tick(automation.data_requests_schedule, at("2021-04-01", 7))
    assert not data.run_requests and "before the first quarter" in data.skip_message


@pytest.mark.parametrize(
    "day, runs",
    [
        ("2025-10-21", False),  # 2025-26 Q2's deadline: 15 working days after 30 September
        ("2025-10-22", True),  # the working day after it
        ("2025-10-23", False),
        ("2026-01-22", False),  # 2025-26 Q3: Christmas, Boxing Day and New Year's Day are not working days
        ("2026-01-23", True),
    ],
)
def test_the_quarter_runs_on_the_working_day_after_its_return_deadline(mini_root, day, runs):
    data = schedule_tick(automation.quarter_after_deadline, at(day, 6), mini_root)
    assert bool(data.run_requests) == runs
    if runs:
        quarter = Quarter.containing(dt.date.fromisoformat(day)).shift(-1)
        (request,) = data.run_requests
        # The whole quarter in one run; the automation then rebuilds the quarters its returns revised.
        assert (request.job_name or jobs.QUARTER_JOB, request.partition_key) == (
            jobs.QUARTER_JOB,
            quarter.partition_key,
        )


@pytest.mark.parametrize(
    "day, sends",
    [
        ("2025-12-24", True),
        ("2025-12-25", False),
        ("2025-12-26", False),
        ("2025-12-29", True),
        ("2026-01-01", False),
    ],
)
def test_reminders_go_out_on_working_days_with_the_day_as_their_date(day, sends):
    data = schedule_tick(automation.daily_reminders, at(day, 8))
    assert bool(data.run_requests) == sends
    if sends:
        config = data.run_requests[0].run_config["ops"]["action_reminders"]["config"]
        assert config == {"as_of": day}


def test_every_schedule_keeps_london_time():
    assert {s.execution_timezone for s in automation.schedules} == {"Europe/London"}
    assert automation.daily_reminders.cron_schedule == "0 8 * * 1-5"


def a_root_with_returns(root: Path) -> Path:
    for quarter in quarter_range(Quarter(2023, 1), Quarter(2024, 4)):
        write(root / "submissions" / quarter.key / "waste.csv", f"Code,Value\nWM01,{40 + quarter.q}\n")
    write(
        root / "corrections" / "corrections.csv",
        CORRECTIONS_HEADER + "C1,WM01,2023-24-Q2,41,,,Recount,A Officer,Head of Service,2023-11-01\n",
    )
    return root


def sensor_tick(
    root: Path, instance: dg.DagsterInstance, cursor: str | None = None
) -> dg.SensorExecutionData:
    """One tick of the file sensor; its observations recorded in the instance, as the daemon does."""
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"data_root": DataRootResource(path=str(root))},
        repository_def=repository(),
    )
    data = automation.input_files_changed.evaluate_tick(context)
    for observation in data.asset_events:
        instance.report_runless_asset_event(observation)
    return data


def observed(data: dg.SensorExecutionData) -> set[tuple[str, str | None]]:
    return {(e.asset_key.to_user_string(), e.partition) for e in data.asset_events}


def test_the_file_sensor_records_versions_once_and_ignores_files_saved_unchanged(mini_root):
    root = a_root_with_returns(mini_root)
    with dg.instance_for_test() as instance:
        first = observed(sensor_tick(root, instance))
        assert {(k, p) for k, p in first if k == "return_files"} == {
            ("return_files", q.partition_key) for q in quarter_range(Quarter(2023, 1), Quarter(2024, 4))
        }
        assert ("correction_records", "2023-07-01") in first and ("council_settings", None) in first
        path = root / "submissions" / "2024-25-Q1" / "waste.csv"
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 3600))  # touched, same content
        assert sensor_tick(root, instance).asset_events == []


def test_the_file_sensor_reads_the_files_when_one_was_added_removed_or_saved_and_once_a_minute(mini_root):
    root = a_root_with_returns(mini_root)
    with dg.instance_for_test() as instance:
        cursor = sensor_tick(root, instance).cursor
        unchanged = sensor_tick(root, instance, cursor)
        assert unchanged.skip_message == "No input file was added, removed or saved."
        assert unchanged.cursor == cursor  # as it was
        # What the pipeline writes is not looked at.
        write(root / "reports" / "2024-25-Q1" / "quarterly-monitoring-report.html", "<p>report</p>")
        write(root / "warehouse" / "warehouse.duckdb", "tables")
        write(root / "app" / "snapshot.sqlite", "snapshot")
        assert sensor_tick(root, instance, cursor).skip_message == unchanged.skip_message
        # A return replaced by one of the same size with the same time (as a copy keeping the
        # original's time can make) is not seen by its name, size and time ...
        path = root / "submissions" / "2024-25-Q1" / "waste.csv"
        before = path.stat()
        path.write_text(path.read_text(encoding="utf-8").replace("WM01,41", "WM01,14"), encoding="utf-8")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert sensor_tick(root, instance, cursor).skip_message == unchanged.skip_message
        # ... but by the full look made at least once a minute.
        stale = json.dumps({**json.loads(cursor), "looked": json.loads(cursor)["looked"] - 61})
        assert observed(sensor_tick(root, instance, stale)) == {("return_files", "2024-04-01")}
        # A file saved is read at the next tick.
        cursor = sensor_tick(root, instance, cursor).cursor
        write(
            root / "corrections" / "more.csv",
            CORRECTIONS_HEADER + "C9,WM01,2023-24-Q4,44,,,Recount,A B,C D,2024-02-01\n",
        )
        assert observed(sensor_tick(root, instance, cursor)) == {("correction_records", "2024-01-01")}


def test_a_changed_return_or_correction_gives_its_quarter_a_new_version(mini_root):
    root = a_root_with_returns(mini_root)
    with dg.instance_for_test() as instance:
        sensor_tick(root, instance)
        write(root / "submissions" / "2023-24-Q3" / "waste.csv", "Code,Value\nWM01,47\n")
        with (root / "corrections" / "corrections.csv").open("a", encoding="utf-8") as handle:
            handle.write("C2,WM01,2023-24-Q1,39,,,Late tonnage,A Officer,Head of Service,2024-02-01\n")
        assert observed(sensor_tick(root, instance)) == {
            ("return_files", "2023-10-01"),
            ("correction_records", "2023-04-01"),
        }


def test_a_correction_moved_to_another_quarter_changes_both(mini_root):
    root = a_root_with_returns(mini_root)
    with dg.instance_for_test() as instance:
        sensor_tick(root, instance)
        write(
            root / "corrections" / "corrections.csv",
            CORRECTIONS_HEADER + "C1,WM01,2024-25-Q3,41,,,Recount,A Officer,Head of Service,2023-11-01\n",
        )
        assert observed(sensor_tick(root, instance)) == {
            ("correction_records", "2023-07-01"),  # its old quarter, now with no correction
            ("correction_records", "2024-10-01"),
        }


FEEDBACK_HEADER = "Case Ref,Date Received,Date Responded,Case Type,Stage\n"


def test_the_file_sensor_versions_feedback_cases_by_the_quarters_they_are_dated_in(mini_root):
    extract = write(
        mini_root / "feedback" / "cases-2024-25.csv",
        FEEDBACK_HEADER + "F1,2024-05-01,2024-05-09,Complaint,1\nF2,2024-06-20,2024-07-02,Complaint,1\n"
        "F3,2024-08-01,,Compliment,\n",
    )
    with dg.instance_for_test() as instance:
        first = observed(sensor_tick(mini_root, instance))
        # F2 was received in Q1 and answered in Q2: it counts in both, by the rules' dates.
        assert {p for k, p in first if k == "feedback_case_rows"} == {"2024-04-01", "2024-07-01"}
        assert {("feedback_extracts", None), ("framework_files", None)} <= first
        # A case of Q3 in a new file: only Q3 (and the files) have a new version.
        write(mini_root / "feedback" / "cases-q3.csv", FEEDBACK_HEADER + "F4,2024-10-03,,Comment,\n")
        assert observed(sensor_tick(mini_root, instance)) == {
            ("feedback_extracts", None),
            ("feedback_case_rows", "2024-10-01"),
        }
        # The same reference again with other details (neither is counted): Q1's version too.
        with extract.open("a", encoding="utf-8") as handle:
            handle.write("F1,2024-10-05,,Comment,\n")
        assert observed(sensor_tick(mini_root, instance)) == {
            ("feedback_extracts", None),
            ("feedback_case_rows", "2024-04-01"),
            ("feedback_case_rows", "2024-10-01"),
        }
        # A row with no date is refused and counts in no quarter: the files alone change.
        with extract.open("a", encoding="utf-8") as handle:
            handle.write("F9,someday,,Complaint,1\n")
        assert observed(sensor_tick(mini_root, instance)) == {("feedback_extracts", None)}
        write(mini_root / "reference" / "milestones.csv", "programme_id,milestone_id\n")
        assert observed(sensor_tick(mini_root, instance)) == {("framework_files", None)}


# The automation conditions, on a real instance: every partition of 2023-24 Q1 to 2025-26 Q2 is
# recorded as built, then one change is recorded, as a run or the file sensor would record it.
BUILT = quarter_range(Quarter(2023, 1), Quarter(2025, 2))
QUARTERLY_OUTPUTS = {
    "indicator_performance",
    "restatements",
    "quarterly_monitoring_report",
    "audit_pack",
}
# The app's snapshot holds every quarter: one publication after whatever a plan rebuilt.
PUBLISHED = {"app_snapshot": {None}}


def built_instance(instance: dg.DagsterInstance):
    from perf_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        partitions = graph.get(key).partitions_def
        if partitions is None:
            keys = [None]
        elif key.to_user_string() == "annual_performance_report":
            keys = ["2023-04-01", "2024-04-01"]
        else:
            keys = [q.partition_key for q in BUILT]
        for partition in keys:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(key, partition=partition, tags={DATA_VERSION: "1"})
            )
    for source in (
        "council_settings",
        "reference_files",
        "benchmark_files",
        "improvement_plan_files",
        "framework_files",
        "feedback_extracts",
    ):
        instance.report_runless_asset_event(dg.AssetObservation(source, tags={DATA_VERSION: "1"}))
    for source in ("return_files", "correction_records", "approvals", "feedback_case_rows"):
        for q in BUILT:
            instance.report_runless_asset_event(
                dg.AssetObservation(source, partition=q.partition_key, tags={DATA_VERSION: "1"})
            )
    return defs


DATA_VERSION = "dagster/data_version"


def requested(defs, instance, cursor) -> tuple[dict[str, set[str]], object]:
    result = dg.evaluate_automation_conditions(defs, instance, cursor=cursor)
    found = {
        key.to_user_string(): {
            p and Quarter.from_partition_key(p).key for p in result.get_requested_partitions(key)
        }
        for key in defs.resolve_asset_graph().materializable_asset_keys
    }
    return {k: v for k, v in found.items() if v}, result.cursor


@functools.cache
def _built_template() -> tuple[Path, object]:
    """The instance `built_instance` records, and the conditions' first look at it, made once per
    test process (recording it is most of a test's time)."""
    folder = Path(tempfile.mkdtemp(prefix="built-instance-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / "home").mkdir()
    with open_instance(str(folder / "home")) as instance:
        defs = built_instance(instance)
        _, cursor = requested(defs, instance, None)
    return folder / "home", cursor


@contextlib.contextmanager
def built():
    """A real instance on which every partition of `BUILT` is recorded as built and the conditions
    have had their first look: a copy of the template, for one test to change. Opened as the
    command line opens its instance (`open_instance`: Dagster's SQLite storage, its connections kept
    open), which evaluates these conditions too; recording the events is most of a test's time."""
    from perf_pipeline.definitions import defs

    template, cursor = _built_template()
    with tempfile.TemporaryDirectory() as folder:
        home = shutil.copytree(template, Path(folder) / "home")
        with open_instance(str(home)) as instance:
            yield defs, instance, cursor


def keys(first: Quarter, last: Quarter) -> set[str]:
    return {q.key for q in quarter_range(first, last)}


def test_changed_figures_rebuild_that_quarter_and_the_seven_after_it_and_nothing_else():
    """What "Materialize" on a corrected quarter in the UI sets off: its figures have a new data
    version, so every later quarter whose assessment uses them is reassessed and republished, with
    the annual report of the year whose Q4 is reassessed."""
    with built() as (defs, instance, cursor):
        corrected = Quarter(2023, 3)
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "indicator_values", partition=corrected.partition_key, tags={DATA_VERSION: "2"}
            )
        )
        plan, cursor = requested(defs, instance, cursor)
        reach = keys(corrected, corrected.shift(7))
        assert all(plan[name] == reach for name in QUARTERLY_OUTPUTS)
        assert set().union(*plan.values()) == reach and "indicator_values" not in plan
        # The annual report is a yearly partition, so it runs once the reassessment is done.
        for quarter in quarter_range(corrected, corrected.shift(7)):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "indicator_performance", partition=quarter.partition_key, tags={DATA_VERSION: "2"}
                )
            )
        plan, cursor = requested(defs, instance, cursor)
        # The years in reach, and the app's snapshot once, after the quarters.
        assert plan == {"annual_performance_report": {"2023-24-Q1", "2024-25-Q1"}, **PUBLISHED}
        cursor = carried_out(defs, instance, cursor, plan)
        assert requested(defs, instance, cursor)[0] == {}  # requested once, not again next tick


def test_an_evaluation_made_as_a_run_ends_does_not_ask_again_for_what_the_run_just_built(monkeypatch):
    """The daemon evaluates the conditions while its runs go on. An evaluation reads the event log
    up to the record it starts at, and what is in progress later: a run that materialised its last
    asset and ended in between left that asset neither updated, as far as the evaluation knew, nor
    in progress, and it was asked for again (a whole extra run). Here a plan's runs are created and
    carried out quarter by quarter, with a look after each, as the daemon does; the last look (the
    last record and the assets' records it reads) is taken just before the plan's last
    materialisation, and reads the runs' status after the run ended: nothing is asked for again,
    then or at the next look."""
    from dagster._core.events import DagsterEvent, DagsterEventType

    with built() as (defs, instance, cursor):
        corrected = Quarter(2024, 4)  # it reaches the three last quarters built
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "indicator_values", partition=corrected.partition_key, tags={DATA_VERSION: "2"}
            )
        )
        plan, cursor = requested(defs, instance, cursor)
        last = BUILT[-1]
        assert plan["audit_pack"] == keys(corrected, last) and len(keys(corrected, last)) == 3
        # Each quarter's run builds what the plan asked for, in the graph's order: the audit pack last.
        order = [k for k in defs.resolve_asset_graph().toposorted_asset_keys if k.to_user_string() in plan]
        assert order[-1] == dg.AssetKey("audit_pack")
        job = defs.resolve_job_def(jobs.QUARTER_JOB)
        runs = {
            quarter: instance.create_run_for_job(
                job, asset_selection=set(order), tags={"dagster/partition": quarter.partition_key}
            )
            for quarter in quarter_range(corrected, last)
        }
        for quarter, run in runs.items():
            for key in order:
                if (key.to_user_string(), quarter) == ("audit_pack", last):  # the last look's view
                    look = instance.event_log_storage.get_maximum_record_id()
                    records = {r.asset_entry.asset_key: r for r in instance.get_asset_records()}
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(key, partition=quarter.partition_key, tags={DATA_VERSION: "2"})
                )
            instance.report_dagster_event(
                DagsterEvent(DagsterEventType.RUN_SUCCESS.value, job_name=job.name), run_id=run.run_id
            )
            if quarter < last:
                again, cursor = requested(defs, instance, cursor)
                assert not {k.to_user_string() for k in order} & set(again), (quarter, again)
        with monkeypatch.context() as m:
            storage = instance.event_log_storage
            m.setattr(storage, "get_maximum_record_id", lambda: look)
            m.setattr(
                storage, "get_asset_records", lambda keys=None: [records[k] for k in keys if k in records]
            )
            again, cursor = requested(defs, instance, cursor)
        assert not {k.to_user_string() for k in order} & set(again), again
        again, cursor = requested(defs, instance, cursor)
        assert not {k.to_user_string() for k in order} & set(again), again


def test_two_corrections_saved_close_together_are_planned_as_one_and_each_quarter_built_once():
    """Corrections to two quarters saved within one look of the sensor: one plan takes both, each
    quarter's figures once; then every quarter either reaches is reassessed once, not once per
    correction, and the next tick asks for nothing more."""
    with built() as (defs, instance, cursor):
        early, late = Quarter(2023, 3), Quarter(2024, 2)
        for quarter in (late, early):
            instance.report_runless_asset_event(
                dg.AssetObservation(
                    "correction_records", partition=quarter.partition_key, tags={DATA_VERSION: "2"}
                )
            )
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {"corrections_log": {None}, "indicator_values": {early.key, late.key}}
        instance.report_runless_asset_event(
            dg.AssetMaterialization("corrections_log", tags={DATA_VERSION: "2"})
        )
        for quarter in (early, late):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "indicator_values", partition=quarter.partition_key, tags={DATA_VERSION: "2"}
                )
            )
        plan, cursor = requested(defs, instance, cursor)
        reach = (keys(early, early.shift(7)) | keys(late, late.shift(7))) & {q.key for q in BUILT}
        assert all(plan[name] == reach for name in QUARTERLY_OUTPUTS)
        assert "indicator_values" not in plan
        for name in QUARTERLY_OUTPUTS:
            for key in reach:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(
                        name, partition=Quarter.parse(key).partition_key, tags={DATA_VERSION: "2"}
                    )
                )
        plan, cursor = requested(defs, instance, cursor)
        # The annual report of each year whose Q4 was reassessed, once, and the app's snapshot
        # once for both corrections; then nothing more.
        assert plan == {"annual_performance_report": {"2023-24-Q1", "2024-25-Q1"}, **PUBLISHED}
        cursor = carried_out(defs, instance, cursor, plan)
        assert requested(defs, instance, cursor)[0] == {}


def carried_out(defs, instance, cursor, plan: dict[str, set[str]]):
    """Record what `plan` requested as built, with new content, as its backfill runs it: the
    quarters, then (the automation having looked meanwhile, as it does every few seconds while the
    snapshot waits its turn) the snapshot. The conditions' cursor after that look."""
    for name, quarters in plan.items():
        for key in quarters if name != "app_snapshot" else []:
            partition = key and Quarter.parse(key).partition_key
            instance.report_runless_asset_event(
                dg.AssetMaterialization(name, partition=partition, tags={DATA_VERSION: "2"})
            )
    if "app_snapshot" in plan:
        if len(plan) > 1:
            cursor = requested(defs, instance, cursor)[1]
        instance.report_runless_asset_event(dg.AssetMaterialization("app_snapshot", tags={DATA_VERSION: "2"}))
    return cursor


def plan_after(*events) -> dict[str, set[str]]:
    """What the conditions request after `events` are recorded on a built instance."""
    with built() as (defs, instance, cursor):
        for event in events:
            instance.report_runless_asset_event(event)
        return requested(defs, instance, cursor)[0]


@pytest.mark.parametrize("last", ["the snapshot", "a quarter's report"])
def test_the_snapshot_is_never_left_behind_what_it_shows(last):
    """Published and a quarter's report rebuilt between two looks of the automation, in either
    order: the snapshot is published again (the conditions cannot tell which came last); then,
    published after everything it shows, it is not asked for again."""
    report = dg.AssetMaterialization("audit_pack", partition="2024-01-01", tags={DATA_VERSION: "2"})
    snapshot = dg.AssetMaterialization("app_snapshot", tags={DATA_VERSION: "2"})
    with built() as (defs, instance, cursor):
        for event in [report, snapshot] if last == "the snapshot" else [snapshot, report]:
            instance.report_runless_asset_event(event)
        plan, cursor = requested(defs, instance, cursor)
        assert plan == PUBLISHED
        cursor = carried_out(defs, instance, cursor, plan)
        assert requested(defs, instance, cursor)[0] == {}


def test_a_snapshot_asked_for_stays_due_until_it_is_published():
    """A command building several quarters leaves the snapshot to its last one: asked for and not
    run, it is asked for again after the next quarter, and not before anything changes."""
    report = dg.AssetMaterialization("audit_pack", partition="2024-01-01", tags={DATA_VERSION: "2"})
    with built() as (defs, instance, cursor):
        instance.report_runless_asset_event(report)
        plan, cursor = requested(defs, instance, cursor)
        assert plan == PUBLISHED
        plan, cursor = requested(defs, instance, cursor)
        assert plan == PUBLISHED  # still due: asked for, not yet published
        cursor = carried_out(defs, instance, cursor, plan)
        assert requested(defs, instance, cursor)[0] == {}


def test_figures_rebuilt_unchanged_go_no_further():
    same = dg.AssetMaterialization("indicator_values", partition="2024-01-01", tags={DATA_VERSION: "1"})
    assert plan_after(same) == {}


def test_a_new_correction_rebuilds_the_figures_of_its_quarter_only():
    # The corrections log, then the figures of the quarter the correction names.
    assert plan_after(
        dg.AssetObservation("correction_records", partition="2024-04-01", tags={DATA_VERSION: "2"})
    ) == {"corrections_log": {None}, "indicator_values": {"2024-25-Q1"}}


def test_a_changed_return_is_read_again_and_the_figures_it_can_revise_are_checked():
    with built() as (defs, instance, cursor):
        instance.report_runless_asset_event(
            dg.AssetObservation("return_files", partition="2024-10-01", tags={DATA_VERSION: "2"})
        )
        plan, cursor = requested(defs, instance, cursor)
        returns = {
            "service_returns_raw",
            "service_returns_validated",
            "return_exceptions",
            "submission_status",
        }
        # The quarter's report and audit pack show its returns (chase list, exceptions): rebuilt too,
        # with its figures; no earlier quarter's before the returns have been read.
        shown = {"quarterly_monitoring_report", "audit_pack", "indicator_values"}
        assert plan == {name: {"2024-25-Q3"} for name in returns | shown}
        # Read, the returns hold rows for the quarter before: that quarter's figures are checked
        # against them, not the two before it.
        returns_read(instance, Quarter(2024, 3), rows_for(Quarter(2024, 3), [0, 1]))
        plan, cursor = requested(defs, instance, cursor)
        assert plan["indicator_values"] == {"2024-25-Q2"}


def rows_for(quarter: Quarter, offsets: list[int]) -> pd.DataFrame:
    """Accepted rows of `quarter`'s returns, one for each of the quarters `offsets` before it."""
    return pd.DataFrame(
        {
            "file": f"submissions/{quarter.key}/waste.csv",
            "row": [2 + offset for offset in offsets],
            "indicator_code": "WM01",
            "period": [quarter.shift(-offset).key for offset in offsets],
            "value": [40.0 + offset for offset in offsets],
        }
    )


def returns_read(instance: dg.DagsterInstance, quarter: Quarter, validated: pd.DataFrame) -> None:
    """What reading `quarter`'s returns records, in the order its step records it: its tables,
    then the rows it holds for earlier quarters (the step's own function)."""
    from perf_pipeline.defs.returns import returned_rows_changed

    for name in (
        "service_returns_raw",
        "service_returns_validated",
        "return_exceptions",
        "submission_status",
    ):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(name, partition=quarter.partition_key, tags={DATA_VERSION: "2"})
        )
    for event in returned_rows_changed(instance, quarter, validated):
        instance.report_runless_asset_event(event)


@pytest.mark.parametrize(
    "offsets, checked",
    [
        ([1], [1]),  # rows for the previous quarter only: that quarter's figures alone
        ([0], []),  # no row for an earlier quarter: no earlier figure is checked
        ([], []),  # (nor with no row at all)
        ([3], [3]),  # rows for three quarters back only
        ([0, 2], [2]),
        ([1, 2, 3], [1, 2, 3]),
    ],
)
def test_a_return_is_checked_against_the_earlier_quarters_it_holds_rows_for_and_no_others(offsets, checked):
    """A quarter's returns read (by `run`, the quarter's own run or the file sensor's): its own
    figures are built or rebuilt with them, and an earlier quarter's only where they hold rows
    for it."""
    quarter = Quarter(2024, 3)
    with built() as (defs, instance, cursor):
        returns_read(instance, quarter, rows_for(quarter, offsets))
        plan, _ = requested(defs, instance, cursor)
        earlier = plan.get("indicator_values", set()) - {quarter.key}
        assert earlier == {quarter.shift(-offset).key for offset in checked}


def test_a_return_read_again_checks_only_the_earlier_quarters_whose_rows_changed():
    quarter = Quarter(2024, 3)

    def read(offsets: list[int]) -> set[str]:
        """The figures requested after the returns are read with rows for `offsets`, then rebuilt
        with no figure changed, and the automation's look after that run."""
        nonlocal cursor
        returns_read(instance, quarter, rows_for(quarter, offsets))
        plan, cursor = requested(defs, instance, cursor)
        for key in plan["indicator_values"]:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "indicator_values", partition=Quarter.parse(key).partition_key, tags={DATA_VERSION: "1"}
                )
            )
        cursor = requested(defs, instance, cursor)[1]
        return plan["indicator_values"]

    with built() as (defs, instance, cursor):
        assert read([1, 2]) == {"2024-25-Q1", "2024-25-Q2", "2024-25-Q3"}
        assert read([1, 2]) == {"2024-25-Q3"}  # the same rows again: no earlier figure to check
        # The row for the quarter before withdrawn: its figure must lose the revision.
        assert read([2]) == {"2024-25-Q2", "2024-25-Q3"}


def test_a_quarter_not_yet_built_is_left_to_its_own_run():
    # Only the corrections log, which lists every correction whatever quarter it names.
    assert plan_after(
        dg.AssetObservation("return_files", partition="2025-10-01", tags={DATA_VERSION: "1"}),
        dg.AssetObservation("correction_records", partition="2025-10-01", tags={DATA_VERSION: "1"}),
    ) == {"corrections_log": {None}}


def test_reference_data_marks_quarters_stale_without_rebuilding_years_of_reports():
    changed = [
        dg.AssetMaterialization(key, tags={DATA_VERSION: "2"})
        for key in ("indicator_catalogue", "corrections_log", "indicator_targets")
    ]
    assert plan_after(*changed) == {}


READ_FROM_REFERENCE = {
    "services",
    "indicator_catalogue",
    "indicator_targets",
    "authorities",
    "comparator_groups",
    "comparator_positions",
}


@pytest.mark.parametrize(
    "source, read_again",
    [
        # targets.csv (or any reference file) changed: the reference tables are read again, and
        # their data versions (their files' content) decide what goes stale; no quarter is rebuilt.
        ("reference_files", READ_FROM_REFERENCE),
        # council.toml: the tables that read it.
        ("council_settings", {"authorities", "comparator_groups", "comparator_positions"}),
        # A benchmark download replaced: the national table is read again.
        ("benchmark_files", {"benchmark_values", "comparator_positions"}),
    ],
)
def test_a_changed_reference_file_is_read_again_and_rebuilds_no_quarter(source, read_again):
    plan = plan_after(dg.AssetObservation(source, tags={DATA_VERSION: "2"}))
    assert plan == {name: {None} for name in read_again}


def framework_registers() -> set[str]:
    """What is read from the framework's files: the source's children in the graph."""
    from perf_pipeline.definitions import defs

    node = defs.resolve_asset_graph().get(dg.AssetKey("framework_files"))
    return {key.to_user_string() for key in node.child_keys}


REPORTED = {"quarterly_monitoring_report", "audit_pack"}


def test_new_cases_rebuild_their_quarters_derived_figures_and_no_other_quarters():
    with built() as (defs, instance, cursor):
        # A file of refused rows only (no date, no case reference): read again, its exceptions
        # listed at once, and no quarter's figures touched.
        instance.report_runless_asset_event(
            dg.AssetObservation("feedback_extracts", tags={DATA_VERSION: "2"})
        )
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {"feedback_cases": {None}}
        instance.report_runless_asset_event(
            dg.AssetMaterialization("feedback_cases", tags={DATA_VERSION: "2"})
        )
        # Read, the extracts reach no report by themselves (each quarter's report shows them when
        # it is next built; reports/feedback-exceptions.csv is current).
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {}
        # An extract with cases of 2024-25 Q2: only that quarter's figures made from the cases,
        # then its figures (what uses those follows by their data version, as for a correction).
        instance.report_runless_asset_event(
            dg.AssetObservation("feedback_extracts", tags={DATA_VERSION: "3"})
        )
        instance.report_runless_asset_event(
            dg.AssetObservation("feedback_case_rows", partition="2024-07-01", tags={DATA_VERSION: "2"})
        )
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {
            "feedback_cases": {None},
            "feedback_indicator_values": {"2024-25-Q2"},
            "indicator_values": {"2024-25-Q2"},
        }


def test_a_changed_framework_file_reaches_only_what_its_content_changes():
    with built() as (defs, instance, cursor):
        # A framework file changed: every register is read again, and the rules that make figures.
        instance.report_runless_asset_event(dg.AssetObservation("framework_files", tags={DATA_VERSION: "2"}))
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {name: {None} for name in framework_registers()}
        assert {"feedback_rules", "framework_tags", "programme_milestones", "risk_reviews"} <= set(plan)
        # Read again, only the milestones differ: each built quarter's programme status is
        # rebuilt as at its end; no report yet, and no figure.
        for name in framework_registers():
            version = "2" if name == "programme_milestones" else "1"
            instance.report_runless_asset_event(dg.AssetMaterialization(name, tags={DATA_VERSION: version}))
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {
            "milestone_status": keys(BUILT[0], BUILT[-1]),
            "benefit_status": keys(BUILT[0], BUILT[-1]),
        }
        # Only 2025-26 Q1's milestones read differently as at its end: only its report is republished.
        for quarter in BUILT:
            version = "2" if quarter == Quarter(2025, 1) else "1"
            for name in ("milestone_status", "benefit_status"):
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(
                        name, partition=quarter.partition_key, tags={DATA_VERSION: version}
                    )
                )
        plan, cursor = requested(defs, instance, cursor)
        # (The app's snapshot shows every quarter's programme status: published once again.)
        assert plan == {**{name: {"2025-26-Q1"} for name in REPORTED}, **PUBLISHED}
        cursor = carried_out(defs, instance, cursor, plan)
        assert requested(defs, instance, cursor)[0] == {}


def test_a_register_reaches_what_uses_it_only_when_its_content_changed():
    every = keys(BUILT[0], BUILT[-1])
    with built() as (defs, instance, cursor):
        # The reference run reads every register again: unchanged, they start nothing.
        for name in framework_registers():
            instance.report_runless_asset_event(dg.AssetMaterialization(name, tags={DATA_VERSION: "1"}))
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {}
        # Changed rules: every built quarter's figures made from the cases, and its figures.
        instance.report_runless_asset_event(
            dg.AssetMaterialization("feedback_rules", tags={DATA_VERSION: "2"})
        )
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {"feedback_indicator_values": every, "indicator_values": every}
        # Changed tags or measure types describe indicators, as the catalogue does: every built
        # report is marked stale, none is republished by itself (a person decides, as for the catalogue).
        for name in ("framework_tags", "indicator_measures", "action_indicator_links", "change_programmes"):
            instance.report_runless_asset_event(dg.AssetMaterialization(name, tags={DATA_VERSION: "2"}))
        plan, cursor = requested(defs, instance, cursor)
        assert plan == {}  # (changed milestones do reach further: the test before this one)


def test_the_definitions_carry_one_automation_sensor_and_the_file_sensor():
    from perf_pipeline.definitions import defs

    selected = {
        name: {k.to_user_string() for k in defs.resolve_job_def(name).asset_layer.selected_asset_keys}
        for name in (jobs.DATA_REQUESTS_JOB, jobs.REMINDERS_JOB, jobs.OUTPUTS_JOB)
    }
    assert selected[jobs.DATA_REQUESTS_JOB] == {"data_request_packs"}
    assert selected[jobs.REMINDERS_JOB] == {"action_reminders"}
    assert "improvement_plan_status" in selected[jobs.OUTPUTS_JOB]
    assert not {"data_request_packs", "action_reminders"} & selected[jobs.OUTPUTS_JOB]
    assert {s.name for s in defs.schedules} == {
        "data_requests_schedule",
        "quarter_after_deadline",
        "daily_reminders",
    }
    assert {s.name for s in defs.sensors} == {"input_files_changed", "rebuild_what_changed"}
    assert isinstance(defs.resolve_sensor_def("rebuild_what_changed"), dg.AutomationConditionSensorDefinition)


def test_a_return_whose_name_is_not_utf8_is_versioned_not_a_crash(tmp_path):
    # Another system's file name (Latin-1 bytes) must not stop the sensor that watches returns.
    from perf_pipeline.lib.automation import returns_versions
    from perf_pipeline.settings import DataRoot

    folder = tmp_path / "submissions" / "2024-25-Q3"
    folder.mkdir(parents=True)
    odd = os.fsdecode(b"r\xe9sum\xe9.csv")
    (folder / odd).write_text("indicator_code,value\nRB01,1\n", encoding="utf-8")
    first = returns_versions(DataRoot(tmp_path))
    (folder / odd).write_text("indicator_code,value\nRB01,2\n", encoding="utf-8")
    assert set(first) == {"2024-25-Q3"}
    assert returns_versions(DataRoot(tmp_path))["2024-25-Q3"] != first["2024-25-Q3"]
