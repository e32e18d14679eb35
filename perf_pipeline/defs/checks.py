"""Asset checks built from pandera schemas, with the failure cases kept in the check's metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.lib.validation import schema_failures

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

MAX_CASES_SHOWN = 50


def failures_metadata(failures: pd.DataFrame) -> dict:
    shown = failures.head(MAX_CASES_SHOWN).astype(str)
    return {
        "failure_count": len(failures),
        "failure_cases": dg.MetadataValue.md(shown.to_markdown(index=False) if len(shown) else "none"),
    }


def pandera_check(
    check_name: str,
    schema: pa.DataFrameSchema,
    df: pd.DataFrame,
    asset_key: dg.AssetKey | None = None,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """Validate lazily; pass or fail with every failure case listed (not just the first)."""
    failures = schema_failures(schema, df)
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=failures.empty,
        severity=severity,
        metadata=failures_metadata(failures),
    )


def frame_check(
    check_name: str,
    failures: pd.DataFrame,
    asset_key: dg.AssetKey | None = None,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    **metadata,
) -> dg.AssetCheckResult:
    """A check whose failures are the rows of a frame (empty frame: passed)."""
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=failures.empty,
        severity=severity,
        metadata={**failures_metadata(failures), **metadata},
    )
