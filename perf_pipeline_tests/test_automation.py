"""Schedules and sensors, evaluated with Dagster's own test contexts: which runs, for which quarters."""

from __future__ import annotations

import datetime as dt
import json
import os
import zoneinfo
from pathlib import Path

import dagster as dg
import pytest

from perf_pipeline.defs import automation, jobs
from perf_pipeline.defs.automation import NEXT_STEPS_TAG
from perf_pipeline.defs.resources import DataRootResource
from perf_pipeline.lib.automation import Step, decode_steps, encode_steps, outputs_affected
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
    resources = {"data_root": DataRootResource(path=str(root))} if root else None
    context = dg.build_schedule_context(
        scheduled_execution_time=when, resources=resources, repository_def=repository()
    )
    return schedule.evaluate_tick(context)


def steps_in(request: dg.RunRequest) -> list[str]:
    return [f"{request.job_name}@{request.partition_key}"] + request.tags.get(NEXT_STEPS_TAG, "").split()


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
        request = data.run_requests[0]
        # The quarter's returns first, then the outputs of the quarters they can revise and its own.
        assert steps_in(request) == [f"{jobs.RETURNS_JOB}@{quarter.partition_key}"] + [
            f"outputs@{q.key}" for q in quarter_range(quarter.shift(-3), quarter)
        ]


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


def sensor_tick(root: Path, cursor: str | None):
    context = dg.build_sensor_context(
        cursor=cursor, resources={"data_root": DataRootResource(path=str(root))}, repository_def=repository()
    )
    return automation.returns_and_corrections_changed.evaluate_tick(context)


def test_the_sensor_records_what_is_there_then_ignores_unchanged_files(mini_root):
    root = a_root_with_returns(mini_root)
    first = sensor_tick(root, None)
    assert not first.run_requests and set(json.loads(first.cursor)) == {"returns", "corrections"}
    path = root / "submissions" / "2024-25-Q1" / "waste.csv"
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 3600))  # touched, same content
    again = sensor_tick(root, first.cursor)
    assert not again.run_requests and again.cursor == first.cursor


def test_a_changed_return_reruns_its_quarter_then_the_outputs_it_can_reach(mini_root):
    root = a_root_with_returns(mini_root)
    cursor = sensor_tick(root, None).cursor
    write(root / "submissions" / "2023-24-Q3" / "waste.csv", "Code,Value\nWM01,47\n")
    data = sensor_tick(root, cursor)
    (request,) = data.run_requests
    assert (request.job_name, request.partition_key) == (jobs.RETURNS_JOB, "2023-10-01")
    # Q3's returns can revise Q4 to Q2 back to 2022-23 Q4; assessments reach seven quarters on,
    # but no further than the latest quarter with returns (2024-25 Q4).
    assert decode_steps(request.tags[NEXT_STEPS_TAG]) == [
        Step("outputs", q) for q in quarter_range(Quarter(2022, 4), Quarter(2024, 4))
    ]
    assert sensor_tick(root, data.cursor).run_requests == []


def test_a_correction_to_an_old_quarter_reruns_that_quarter_and_the_later_ones_only(mini_root):
    root = a_root_with_returns(mini_root)
    cursor = sensor_tick(root, None).cursor
    with (root / "corrections" / "corrections.csv").open("a", encoding="utf-8") as handle:
        handle.write("C2,WM01,2023-24-Q1,39,,,Late tonnage,A Officer,Head of Service,2024-02-01\n")
    (request,) = sensor_tick(root, cursor).run_requests
    # The corrections log is reference data: it is rebuilt first. Then 2023-24 Q1 and the quarters
    # whose assessment draws on it; nothing for the unchanged C1 (2023-24 Q2) or for 2022-23.
    assert (request.job_name, request.partition_key) == (jobs.REFERENCE_JOB, None)
    assert decode_steps(request.tags[NEXT_STEPS_TAG]) == [
        Step("outputs", q) for q in quarter_range(Quarter(2023, 1), Quarter(2024, 4))
    ]


def test_an_edited_correction_names_the_quarter_it_left_and_the_one_it_now_names(mini_root):
    root = a_root_with_returns(mini_root)
    cursor = sensor_tick(root, None).cursor
    write(
        root / "corrections" / "corrections.csv",
        CORRECTIONS_HEADER + "C1,WM01,2024-25-Q3,41,,,Recount,A Officer,Head of Service,2023-11-01\n",
    )
    (request,) = sensor_tick(root, cursor).run_requests
    assert [s.quarter for s in decode_steps(request.tags[NEXT_STEPS_TAG])] == quarter_range(
        Quarter(2023, 2), Quarter(2024, 4)
    )


@pytest.mark.parametrize(
    "returns, corrected, expected",
    [
        ([Quarter(2021, 2)], [], quarter_range(FIRST, Quarter(2023, 1))),  # never before the first quarter
        ([], [Quarter(2025, 1)], quarter_range(Quarter(2025, 1), Quarter(2025, 2))),  # never after the latest
        (
            [],
            [Quarter(2022, 1), Quarter(2024, 4)],
            [
                *quarter_range(Quarter(2022, 1), Quarter(2023, 4)),
                *quarter_range(Quarter(2024, 4), Quarter(2025, 2)),
            ],
        ),
    ],
)
def test_outputs_affected_are_the_quarters_a_change_can_reach(returns, corrected, expected):
    assert outputs_affected(returns, corrected, FIRST, Quarter(2025, 2)) == expected


def test_steps_travel_as_a_tag_and_come_back_the_same():
    steps = [Step("reference"), Step("returns", Quarter(2025, 2)), Step("outputs", Quarter(2025, 1))]
    assert encode_steps(steps) == "reference returns@2025-26-Q2 outputs@2025-26-Q1"
    assert decode_steps(encode_steps(steps)) == steps


def finished_run(tags: dict[str, str]) -> dg.RunStatusSensorContext:
    @dg.op
    def done():
        return 1

    @dg.job(tags=tags)
    def a_step():
        done()

    instance = dg.DagsterInstance.ephemeral()
    result = a_step.execute_in_process(instance=instance)
    return dg.build_run_status_sensor_context(
        sensor_name=automation.next_step_of_the_cycle.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
    )


def test_when_a_run_of_a_chain_succeeds_the_next_one_starts_with_the_rest():
    context = finished_run({NEXT_STEPS_TAG: "outputs@2025-26-Q1 outputs@2025-26-Q2"})
    request = automation.next_step_of_the_cycle(context)
    assert (request.job_name, request.partition_key) == (jobs.OUTPUTS_JOB, "2025-04-01")
    assert request.tags == {NEXT_STEPS_TAG: "outputs@2025-26-Q2"}
    assert request.run_key == f"after-{context.dagster_run.run_id}"
    last = automation.next_step_of_the_cycle(finished_run({NEXT_STEPS_TAG: "outputs@2025-26-Q2"}))
    assert last.tags == {} and last.partition_key == "2025-07-01"


def test_a_run_outside_a_chain_starts_nothing():
    assert isinstance(automation.next_step_of_the_cycle(finished_run({})), dg.SkipReason)


def test_the_request_and_reminder_jobs_stand_apart_from_the_quarterly_outputs():
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
    assert {s.name for s in defs.sensors} == {"returns_and_corrections_changed", "next_step_of_the_cycle"}
