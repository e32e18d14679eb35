"""The cycle runs itself: request packs when a quarter ends, the quarter's run after its return
deadline, reminders every working day; and, between them, Dagster's declarative automation
rebuilds exactly what a changed input reaches (`defs/conditions.py`). All times Europe/London.

`input_files_changed` records a new data version for each input file that changed (a return
dropped into a quarter's folder, a correction row added, an approval); the automation sensor
then evaluates every asset's condition against the asset graph and launches what they request
as runs, one per partition, oldest quarter first. The instance's run queue starts them one at a
time in that order (`concurrency: runs: max_concurrent_runs: 1`, written by `perf-pipeline`), so
each runs after the partitions it reads. Not as a backfill: Dagster's backfill daemon looks at its
backfills every 30 seconds (fixed in 1.13), launching one wave of partitions each time, and a
correction takes four waves (corrections log, figures, later quarters, annual report).
"""

import datetime as dt
import json
import os
import time
import zoneinfo

import dagster as dg

from perf_pipeline.defs import jobs
from perf_pipeline.defs.partitions import quarterly_partitions
from perf_pipeline.defs.resources import DataRootResource
from perf_pipeline.defs.sources import changed_inputs
from perf_pipeline.lib.automation import files_stamp
from perf_pipeline.lib.quarters import Quarter

TIMEZONE = "Europe/London"
RUNNING = dg.DefaultScheduleStatus.RUNNING
SENSOR_RUNNING = dg.DefaultSensorStatus.RUNNING
# Both sensors look at every turn of the daemon's sensor loop, which comes every 5 s (a minimum of
# 5 would skip every other turn that came a moment early). The file sensor looks at the input
# files' names, sizes and times (no file is read), and at every input's version against the one
# recorded when any of those changed, and at least once a minute whatever they say (a file
# replaced within its file system's time resolution by one of the same size is seen then). An
# evaluation of the conditions made while a run ends does not ask again for what the run just
# built (`conditions.NotBuiltSinceTheLook`).
LOOK_EVERY_SECONDS = 4
FULL_LOOK_SECONDS = 60


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
def data_requests_schedule(context: dg.ScheduleEvaluationContext, data_root: DataRootResource):
    """Write the request packs at 7am on the day after each quarter ends."""
    ended = Quarter.containing(scheduled_day(context)).shift(-1)
    if ended < data_root.first:
        return dg.SkipReason(f"{ended.label} is before the first quarter the pipeline holds")
    return dg.RunRequest(partition_key=ended.partition_key)


@dg.schedule(
    job=jobs.quarter_job, cron_schedule="0 6 * * *", execution_timezone=TIMEZONE, default_status=RUNNING
)
def quarter_after_deadline(context: dg.ScheduleEvaluationContext, data_root: DataRootResource):
    """Build the last quarter at 6am on the first working day after its return deadline; the
    automation then rebuilds the earlier quarters its returns revised."""
    from perf_pipeline.lib.submissions import add_working_days, return_deadline

    today = scheduled_day(context)
    quarter = Quarter.containing(today).shift(-1)
    try:
        council = data_root.council()
    except dg.Failure as failure:
        return dg.SkipReason(f"council.toml cannot be read: {failure.description}")
    run_day = add_working_days(return_deadline(quarter, council["return_deadline_working_days"]), 1)
    if today != run_day or quarter < data_root.first:
        return dg.SkipReason(
            f"{quarter.label} runs on {run_day:%A %-d %B %Y}, the working day after its deadline"
        )
    return dg.RunRequest(partition_key=quarter.partition_key)


@dg.schedule(
    job=jobs.reminders_job, cron_schedule="0 8 * * 1-5", execution_timezone=TIMEZONE, default_status=RUNNING
)
def daily_reminders(context: dg.ScheduleEvaluationContext):
    """Send the day's reminders at 8am on working days."""
    from perf_pipeline.lib.submissions import is_working_day

    today = scheduled_day(context)
    if not is_working_day(today):
        return dg.SkipReason(f"{today:%-d %B %Y} is a bank holiday")
    return dg.RunRequest(run_config={"ops": {"action_reminders": {"config": {"as_of": today.isoformat()}}}})


@dg.sensor(minimum_interval_seconds=LOOK_EVERY_SECONDS, default_status=SENSOR_RUNNING)
def input_files_changed(context: dg.SensorEvaluationContext, data_root: DataRootResource):
    """Record a new data version for every input file whose content changed since last recorded."""
    paths = data_root.paths
    stamp = files_stamp(paths.root, {os.path.abspath(folder) for folder in paths.written})
    last = json.loads(context.cursor) if context.cursor else {}
    now = time.time()
    if last.get("stamp") == stamp and 0 <= now - last.get("looked", 0) < FULL_LOOK_SECONDS:
        return dg.SkipReason("No input file was added, removed or saved.")
    observations = changed_inputs(context.instance, data_root, last_ended_quarter())
    return dg.SensorResult(
        asset_events=observations,
        cursor=json.dumps({"stamp": stamp, "looked": now}),
        skip_reason=None if observations else "No input file has changed.",
    )


rebuild_what_changed = dg.AutomationConditionSensorDefinition(
    "rebuild_what_changed",
    target=dg.AssetSelection.all(),
    default_status=SENSOR_RUNNING,
    minimum_interval_seconds=LOOK_EVERY_SECONDS,
    # Runs, not a backfill (see the module's docstring): in a tick's runs the unpartitioned assets
    # (the corrections log, the reference tables) come first, then partitions in key order.
    emit_backfills=False,
    # Evaluated by the code server, as a sensor is: the conditions include one of this project's
    # own (`conditions.NotBuiltSinceTheLook`), which the daemon alone cannot load.
    use_user_code_server=True,
    description="Evaluate every asset's automation condition and launch what they request.",
)

schedules = [data_requests_schedule, quarter_after_deadline, daily_reminders]
sensors = [input_files_changed, rebuild_what_changed]
