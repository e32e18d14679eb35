"""Indicator values: one figure per due indicator and quarter, with where it came from.

A quarter's figure is the one in that quarter's return, unless a return of one of the next three
quarters revised it (the latest revision wins), and then any approved corrections in the order they
were approved (the latest wins). The figure as first received stays beside it.
"""

from __future__ import annotations

import pandas as pd

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import due_in
from perf_pipeline.lib.returns_validation import parse_numbers

VALUE_COLUMNS = [
    "indicator_code",
    "quarter",
    "value",
    "numerator",
    "denominator",
    "reporting_status",
    "data_status",
    "commentary",
    "source_file",
    "source_sha256",
    "source_row",
    "source_quarter",
    "raw_value",
    "received_value",
    "is_revision",
    "corrections",
    "correction_reason",
    "approved_by",
    "approved_on",
]


def build_indicator_values(
    quarter: Quarter,
    validated: pd.DataFrame,
    corrections_log: pd.DataFrame,
    indicators: pd.DataFrame,
) -> pd.DataFrame:
    """`validated` holds accepted rows of the returns of `quarter` and the quarters after it.

    It needs a `source_quarter` column: the quarter folder each row was received in.
    """
    due = indicators.loc[due_in(indicators, quarter), ["code"]].rename(columns={"code": "indicator_code"})
    rows = validated[validated["period"] == quarter.key].copy()
    rows["_order"] = rows["source_quarter"].map(lambda k: Quarter.parse(k)) if len(rows) else []
    rows = rows.sort_values(["_order", "file", "row"]) if len(rows) else rows
    latest = rows.drop_duplicates("indicator_code", keep="last").set_index("indicator_code")
    first = rows.drop_duplicates("indicator_code", keep="first").set_index("indicator_code")

    out = due.set_index("indicator_code")
    out["quarter"] = quarter.key
    for column in ("value", "numerator", "denominator", "commentary", "data_status", "raw_value"):
        out[column] = latest[column].reindex(out.index)
    out["source_file"] = latest["file"].reindex(out.index)
    out["source_sha256"] = latest["file_sha256"].reindex(out.index)
    out["source_row"] = latest["row"].reindex(out.index)
    out["source_quarter"] = latest["source_quarter"].reindex(out.index)
    out["received_value"] = first["value"].reindex(out.index)
    out["is_revision"] = out["source_quarter"].notna() & (out["source_quarter"] != quarter.key)
    received = out.index.isin(latest.index)
    out["reporting_status"] = "missing"
    out.loc[received, "reporting_status"] = "not_reported"
    out.loc[received & out["value"].notna(), "reporting_status"] = "reported"

    out["corrections"] = ""
    for column in ("correction_reason", "approved_by"):
        out[column] = None
    out["approved_on"] = None
    accepted = corrections_log[
        (corrections_log["status"] == "accepted") & (corrections_log["period"] == quarter.key)
    ].sort_values(["approved_on", "correction_id"])
    for correction in accepted.itertuples(index=False):
        code = correction.indicator_code
        if code not in out.index:
            continue
        out.loc[code, "value"] = correction.new_value
        # As written (`1,234`, `85%`), read by the same rules as the correction was checked with.
        out.loc[code, "numerator"] = parse_numbers(pd.Series([correction.numerator]))[0][0]
        out.loc[code, "denominator"] = parse_numbers(pd.Series([correction.denominator]))[0][0]
        out.loc[code, "corrections"] = ";".join(
            filter(None, [out.loc[code, "corrections"], correction.correction_id])
        )
        out.loc[code, "correction_reason"] = correction.reason
        out.loc[code, "approved_by"] = correction.approved_by
        out.loc[code, "approved_on"] = correction.approved_on
        out.loc[code, "reporting_status"] = "reported"
        if pd.isna(out.loc[code, "data_status"]):
            out.loc[code, "data_status"] = "final"
    out = out.reset_index()
    out["value"] = out["value"].astype(float)
    out["numerator"] = pd.to_numeric(out["numerator"]).astype(float)
    out["denominator"] = pd.to_numeric(out["denominator"]).astype(float)
    out["received_value"] = out["received_value"].astype(float)
    out["source_row"] = out["source_row"].astype("Int64")
    out["is_revision"] = out["is_revision"].astype(bool)
    return out[VALUE_COLUMNS]
