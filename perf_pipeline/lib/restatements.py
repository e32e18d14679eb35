"""Restatements: published figures that later changed, with who changed them and why.

Every time a quarter's performance is published, each figure it shows is appended to a log.
When a figure differs from the value it had when last logged, that is a restatement: the old value
stays on record beside the new one, with the correction (id, reason, approver) or the later return
that revised it. A report lists the restatements of earlier quarters made since the previous
report was first published.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PUBLISHED_COLUMNS = [
    "report_quarter",
    "figure_quarter",
    "indicator_code",
    "value",
    "corrections",
    "source_file",
    "source_row",
    "run_id",
    "published_at",
]
EVENT_COLUMNS = [
    "figure_quarter",
    "indicator_code",
    "old_value",
    "new_value",
    "correction_id",
    "revising_return",
    "reason",
    "approved_by",
    "detected_in",
    "run_id",
    "detected_at",
]
# `restated_quarter`, not `quarter`: a report's tables are stamped with the report's own quarter,
# which would hide the quarter whose figure changed.
RESTATEMENT_COLUMNS = [
    "indicator_code",
    "restated_quarter",
    "old_value",
    "new_value",
    "correction_id",
    "reason",
    "approved_by",
    "revising_return",
    "restated_at",
]
REVISION_REASON = "Revised by the service in a later return"


def figures_shown(report_quarter: str, values: pd.DataFrame, run_id: str, at: pd.Timestamp) -> pd.DataFrame:
    """The log rows for one publication: every figure of every quarter the report draws on."""
    return pd.DataFrame(
        {
            "report_quarter": report_quarter,
            "figure_quarter": values["quarter"],
            "indicator_code": values["indicator_code"],
            "value": values["value"].astype(float),
            "corrections": values["corrections"].fillna(""),
            "source_file": values["source_file"],
            "source_row": values["source_row"].astype("Int64"),
            "run_id": run_id,
            "published_at": at,
        }
    )[PUBLISHED_COLUMNS]


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    both_missing = a.isna() & b.isna()
    return both_missing | np.isclose(a.fillna(np.nan), b.fillna(np.nan), rtol=0, atol=1e-9, equal_nan=False)


def detect_restatements(
    values: pd.DataFrame, last_logged: pd.DataFrame, report_quarter: str, run_id: str, at: pd.Timestamp
) -> pd.DataFrame:
    """Figures whose current value differs from the value they had when last published.

    `last_logged` holds, per figure (figure_quarter, indicator_code), the value last logged; a
    figure never published before is not a restatement.
    """
    merged = values.merge(
        last_logged.rename(columns={"figure_quarter": "quarter", "value": "old_value"}),
        on=["quarter", "indicator_code"],
        how="inner",
    )
    changed = merged[~_same(merged["value"].astype(float), merged["old_value"].astype(float))]
    corrected = changed["corrections"].fillna("").ne("")
    revised = changed["is_revision"].fillna(False).astype(bool) & ~corrected
    events = pd.DataFrame(
        {
            "figure_quarter": changed["quarter"],
            "indicator_code": changed["indicator_code"],
            "old_value": changed["old_value"].astype(float),
            "new_value": changed["value"].astype(float),
            "correction_id": changed["corrections"].fillna("").str.split(";").str[-1].where(corrected, ""),
            "revising_return": changed["source_file"].where(revised, ""),
            "reason": changed["correction_reason"].where(corrected, np.where(revised, REVISION_REASON, "")),
            "approved_by": changed["approved_by"].where(corrected, ""),
            "detected_in": report_quarter,
            "run_id": run_id,
            "detected_at": at,
        }
    )
    return events[EVENT_COLUMNS].fillna({"reason": "", "approved_by": ""}).reset_index(drop=True)


def restatements_for_report(
    events: pd.DataFrame, report_quarter: str, earlier_quarters: list[str], since: pd.Timestamp | None
) -> pd.DataFrame:
    """The restatements report `report_quarter` lists: figures of the earlier quarters it draws on,
    restated after the previous report was first published (all of them if it never was)."""
    chosen = events[
        events["figure_quarter"].isin(earlier_quarters) & (events["figure_quarter"] < report_quarter)
    ]
    if since is not None:
        chosen = chosen[chosen["detected_at"] > since]
    chosen = chosen.sort_values(["figure_quarter", "indicator_code", "detected_at"])
    return pd.DataFrame(
        {
            "indicator_code": chosen["indicator_code"],
            "restated_quarter": chosen["figure_quarter"],
            "old_value": chosen["old_value"],
            "new_value": chosen["new_value"],
            "correction_id": chosen["correction_id"],
            "reason": chosen["reason"],
            "approved_by": chosen["approved_by"],
            "revising_return": chosen["revising_return"],
            "restated_at": chosen["detected_at"],
        }
    )[RESTATEMENT_COLUMNS].reset_index(drop=True)
