"""Quarterly partitions, and how quarters depend on one another (what a change to one reaches).

Dagster has no quarterly class, so a three-monthly time window. The partition mappings below are
the only statement of which quarters use which: the UI's staleness, the automation and the
command line's plan all follow them.
"""

import dagster as dg

from perf_pipeline.lib.quarters import ASSESSED_QUARTERS_BEFORE, REVISION_WINDOW_QUARTERS, Quarter
from perf_pipeline.settings import first_quarter

quarterly_partitions = dg.TimeWindowPartitionsDefinition(
    start=first_quarter().partition_key,
    cron_schedule="0 0 1 */3 *",
    fmt="%Y-%m-%d",
    timezone="Europe/London",
)

# Financial years, for the annual report.
yearly_partitions = dg.TimeWindowPartitionsDefinition(
    start=first_quarter().partition_key,
    cron_schedule="0 0 1 4 *",
    fmt="%Y-%m-%d",
    timezone="Europe/London",
)


def returns_of_quarter_after(offset: int) -> dg.TimeWindowPartitionMapping:
    """From a quarter's figures to the rows the returns of the quarter `offset` after it hold for
    it (a quarter's figure can be revised by the returns of the next three quarters: their
    request packs carry the previous quarters' values)."""
    return dg.TimeWindowPartitionMapping(
        start_offset=offset, end_offset=offset, allow_nonexistent_upstream_partitions=True
    )


# A quarter's assessment, and its report's trends, use the seven quarters before it.
ASSESSED_WINDOW = dg.TimeWindowPartitionMapping(
    start_offset=-ASSESSED_QUARTERS_BEFORE, end_offset=0, allow_nonexistent_upstream_partitions=True
)
# A request pack carries the figures held for the three quarters before its quarter.
PREVIOUS_QUARTERS = dg.TimeWindowPartitionMapping(
    start_offset=-REVISION_WINDOW_QUARTERS, end_offset=-1, allow_nonexistent_upstream_partitions=True
)


def quarter_of(context: dg.AssetExecutionContext) -> Quarter:
    return Quarter.from_partition_key(context.partition_key)


def year_of(context: dg.AssetExecutionContext) -> Quarter:
    """The Q4 of the financial year a yearly partition stands for."""
    return Quarter.from_partition_key(context.partition_key).shift(3)
