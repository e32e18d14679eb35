"""Quarterly partitions: Dagster has no quarterly class, so a three-monthly time window."""

import dagster as dg

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.settings import first_quarter

quarterly_partitions = dg.TimeWindowPartitionsDefinition(
    start=first_quarter().partition_key,
    cron_schedule="0 0 1 */3 *",
    fmt="%Y-%m-%d",
    timezone="Europe/London",
)


def quarter_of(context: dg.AssetExecutionContext) -> Quarter:
    return Quarter.from_partition_key(context.partition_key)


# Financial years, for the annual report: a year's partition maps to its four quarters.
yearly_partitions = dg.TimeWindowPartitionsDefinition(
    start=first_quarter().partition_key,
    cron_schedule="0 0 1 4 *",
    fmt="%Y-%m-%d",
    timezone="Europe/London",
)


def year_of(context: dg.AssetExecutionContext) -> Quarter:
    """The Q4 of the financial year a yearly partition stands for."""
    return Quarter.from_partition_key(context.partition_key).shift(3)
