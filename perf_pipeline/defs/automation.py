"""The cycle runs itself: request packs when a quarter ends, the quarter's run after its return
deadline, reminders every working day, and reruns of exactly what a changed return or correction
affects. All times are Europe/London.

A change can need several runs in order (a quarter's returns, then the outputs of the quarters
they revise, oldest first). Dagster's run queue does not promise an order, so they run as a chain:
the first run carries the rest of the chain in the `perf_pipeline/next_steps` tag, and
`next_step_of_the_cycle` starts the next one when a run succeeds. A failed run stops its chain.
"""

import datetime as dt
import json
import zoneinfo

import dagster as dg

from perf_pipeline.defs import jobs
from perf_pipeline.defs.partitions import quarterly_partitions
from perf_pipeline.defs.resources import DataRootResource
from perf_pipeline.lib.automation import (
    OUTPUTS,
    REFERENCE,
    RETURNS,
    Step,
    decode_steps,
    encode_steps,
    fingerprints,
    steps_for_changes,
    steps_for_quarter,
)
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import load_council
from perf_pipeline.lib.submissions import add_working_days, is_working_day, return_deadline
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline.settings import first_quarter

TIMEZONE = "Europe/London"
NEXT_STEPS_TAG = "perf_pipeline/next_steps"
JOB_OF = {REFERENCE: jobs.REFERENCE_JOB, RETURNS: jobs.RETURNS_JOB, OUTPUTS: jobs.OUTPUTS_JOB}
RUNNING = dg.DefaultScheduleStatus.RUNNING
SENSOR_RUNNING = dg.DefaultSensorStatus.RUNNING


def run_request(steps: list[Step], run_key: str | None = None) -> dg.RunRequest:
    """The first step of a chain as a run, carrying the rest of the chain in a tag."""
    first, rest = steps[0], steps[1:]
    return dg.RunRequest(
        run_key=run_key,
        job_name=JOB_OF[first.stage],
        partition_key=first.quarter.partition_key if first.quarter else None,
        tags={NEXT_STEPS_TAG: encode_steps(rest)} if rest else {},
    )


def last_ended_quarter() -> Quarter:
    """The latest quarter Dagster holds a partition for: the last one that has ended."""
    return Quarter.from_partition_key(quarterly_partitions.get_last_partition_key())


def scheduled_day(context: dg.ScheduleEvaluationContext) -> dt.date:
    return context.scheduled_execution_time.astimezone(zoneinfo.ZoneInfo(TIMEZONE)).date()


@dg.schedule(
    job=jobs.data_requests_job,
    cron_schedule="0 7 1 1,4,7,10 *",
    execution_timezone=TIMEZONE,
    default_status=RUNNING,
)
def data_requests_schedule(context: dg.ScheduleEvaluationContext):
    """Write the request packs at 7am on the day after each quarter ends."""
    ended = Quarter.containing(scheduled_day(context)).shift(-1)
    if ended < first_quarter():
        return dg.SkipReason(f"{ended.label} is before the first quarter the pipeline holds")
    return dg.RunRequest(partition_key=ended.partition_key)


@dg.schedule(
    job=jobs.returns_job, cron_schedule="0 6 * * *", execution_timezone=TIMEZONE, default_status=RUNNING
)
def quarter_after_deadline(context: dg.ScheduleEvaluationContext, data_root: DataRootResource):
    """Run the last quarter at 6am on the first working day after its return deadline."""
    today = scheduled_day(context)
    quarter = Quarter.containing(today).shift(-1)
    try:
        council = load_council(data_root.paths.reference / "council.toml")
    except ReferenceDataError as error:
        return dg.SkipReason(f"council.toml cannot be read: {error}")
    run_day = add_working_days(return_deadline(quarter, council["return_deadline_working_days"]), 1)
    if today != run_day or quarter < first_quarter():
        return dg.SkipReason(
            f"{quarter.label} runs on {run_day:%A %-d %B %Y}, the working day after its deadline"
        )
    return run_request(steps_for_quarter(quarter, first_quarter()))


@dg.schedule(
    job=jobs.reminders_job, cron_schedule="0 8 * * 1-5", execution_timezone=TIMEZONE, default_status=RUNNING
)
def daily_reminders(context: dg.ScheduleEvaluationContext):
    """Send the day's reminders at 8am on working days."""
    today = scheduled_day(context)
    if not is_working_day(today):
        return dg.SkipReason(f"{today:%-d %B %Y} is a bank holiday")
    return dg.RunRequest(run_config={"ops": {"action_reminders": {"config": {"as_of": today.isoformat()}}}})


@dg.sensor(
    jobs=[jobs.reference_job, jobs.returns_job], minimum_interval_seconds=60, default_status=SENSOR_RUNNING
)
def returns_and_corrections_changed(context: dg.SensorEvaluationContext, data_root: DataRootResource):
    """Rerun what a new or changed return or correction affects, and nothing else.

    The cursor holds the content fingerprints last seen. The first evaluation only records them:
    files already there when the sensor is switched on are for `perf-pipeline run`.
    """
    root = data_root.paths
    now = fingerprints(root)
    cursor = json.dumps(now, sort_keys=True)
    if context.cursor is None:
        return dg.SensorResult(skip_reason="First look: changes from now on start runs.", cursor=cursor)
    # Outputs are rebuilt up to the latest quarter that has returns (and has ended: a partition).
    held = root.quarters_with_returns()
    latest = min(max(held), last_ended_quarter()) if held else first_quarter().shift(-1)
    steps = steps_for_changes(json.loads(context.cursor), now, first_quarter(), latest)
    if not steps:
        return dg.SensorResult(skip_reason="No return or correction has changed.", cursor=cursor)
    return dg.SensorResult(run_requests=[run_request(steps)], cursor=cursor)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[jobs.reference_job, jobs.returns_job, jobs.outputs_job],
    request_jobs=[jobs.returns_job, jobs.outputs_job],
    default_status=SENSOR_RUNNING,
)
def next_step_of_the_cycle(context: dg.RunStatusSensorContext):
    """Start the next run of a chain once the run before it has succeeded."""
    remaining = context.dagster_run.tags.get(NEXT_STEPS_TAG)
    if not remaining:
        return dg.SkipReason("The run was not part of a chain.")
    return run_request(decode_steps(remaining), run_key=f"after-{context.dagster_run.run_id}")


schedules = [data_requests_schedule, quarter_after_deadline, daily_reminders]
sensors = [returns_and_corrections_changed, next_step_of_the_cycle]
