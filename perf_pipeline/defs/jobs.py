"""Jobs: reference data, then each quarter's returns, then each quarter's outputs.

Returns come first for every quarter because a later quarter's return may revise an earlier
quarter's figure; the outputs of a quarter are built once the returns that can revise it are in.
Beside the cycle: the data request packs when a quarter ends, and the daily reminders.
"""

import dagster as dg

REFERENCE_JOB = "reference_data"
RETURNS_JOB = "quarterly_returns"
OUTPUTS_JOB = "quarterly_outputs"
QUARTER_JOB = "quarterly_cycle"
ANNUAL_JOB = "annual_report"
APP_JOB = "app_publication"
DATA_REQUESTS_JOB = "data_requests"
REMINDERS_JOB = "reminders"

reference_selection = dg.AssetSelection.groups("reference") | dg.AssetSelection.assets(
    "corrections_log", "benchmark_values", "comparator_groups", "comparator_positions"
)
returns_selection = dg.AssetSelection.groups("returns")
annual_selection = dg.AssetSelection.assets("annual_performance_report")
# The app's snapshot holds every quarter: published after a plan's quarters, not with each one.
app_selection = dg.AssetSelection.groups("app")
# Packs go out when a quarter ends and reminders daily: neither is rebuilt with a quarter's outputs.
requests_selection = dg.AssetSelection.groups("requests")
reminders_selection = dg.AssetSelection.groups("reminders")
outputs_selection = (
    dg.AssetSelection.all()
    - reference_selection
    - returns_selection
    - annual_selection
    - app_selection
    - requests_selection
    - reminders_selection
)

reference_job = dg.define_asset_job(
    REFERENCE_JOB,
    selection=reference_selection,
    description="Load and check the reference data and the corrections log.",
)
returns_job = dg.define_asset_job(
    RETURNS_JOB,
    selection=returns_selection,
    description="Read and check one quarter's service returns; write its exceptions and chase list.",
)
outputs_job = dg.define_asset_job(
    OUTPUTS_JOB,
    selection=outputs_selection,
    description="Build one quarter's indicator values and everything published from them.",
)
quarter_job = dg.define_asset_job(
    QUARTER_JOB,
    selection=returns_selection | outputs_selection,
    description="Build one quarter: its returns, figures and everything published from them.",
)
annual_job = dg.define_asset_job(
    ANNUAL_JOB,
    selection=annual_selection,
    description="Build a financial year's annual performance report, once its Q4 is assessed.",
)
app_job = dg.define_asset_job(
    APP_JOB,
    selection=app_selection,
    description="Publish the performance app's snapshot of every quarter the warehouse holds.",
)
data_requests_job = dg.define_asset_job(
    DATA_REQUESTS_JOB,
    selection=requests_selection,
    description="Write one quarter's data request pack for every service.",
)
reminders_job = dg.define_asset_job(
    REMINDERS_JOB,
    selection=reminders_selection,
    description="Remind each person, once a day, of the improvement plan actions and data returns they owe.",
)
