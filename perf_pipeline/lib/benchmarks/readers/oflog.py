"""Oflog's adult social care CSV and waste JSON, as published."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.validation import ReferenceDataError

OFLOG_ASC_COLUMNS = [
    "Financial year",
    "Local authority code",
    "Local authority name",
    "Measure",
    "Code",
    "Value",
    "rank_order",
]


def read_oflog_asc_csv(path: Path, source: dict) -> pd.DataFrame:
    """Oflog's adult social care CSV: one row per authority, measure and year; `rank_order` is polarity."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in OFLOG_ASC_COLUMNS if c not in df.columns]
    if missing:
        raise ReferenceDataError([f"{path.name}: not Oflog's ASC layout (no column {', '.join(missing)})"])
    df = df.apply(lambda col: col.str.strip())
    return pd.DataFrame(
        {
            "metric": df["Code"],
            "metric_title": df["Measure"],
            "unit": "",
            "source_polarity": df["rank_order"],
            "area_code": df["Local authority code"],
            "area_name": df["Local authority name"],
            "raw_period": df["Financial year"],
            "raw_value": df["Value"],
            "source_row": df.index + 2,
        }
    )


def read_oflog_waste_json(path: Path, source: dict) -> pd.DataFrame:
    """Oflog's waste JSON: `flatMetricData` records, names in `areaCodeLookup`, polarity in `metaData`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        records = pd.DataFrame(data["flatMetricData"], columns=["y", "x", "xLabel", "metric", "areaCode"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ReferenceDataError([f"{path.name}: not Oflog's waste JSON layout ({exc})"]) from None
    meta = data.get("metaData", {})
    labels = {metric: str(info.get("label", metric)) for metric, info in meta.items()}
    # The unit is in the label's brackets: "Household recycling rate (%)", "Household waste (kg)".
    units = {m: re.findall(r"\(([^)]*)\)\s*$", label) for m, label in labels.items()}
    units = {m: ("percent" if found == ["%"] else (found[0] if found else "")) for m, found in units.items()}
    directions = {metric: str(info.get("direction", "")) for metric, info in meta.items()}
    periods = records["xLabel"].where(
        records["xLabel"].notna(), records["x"].map(lambda x: f"{x}-{(int(x) + 1) % 100:02d}")
    )
    text = records["y"].map(lambda y: "" if y is None else str(y).strip())
    return pd.DataFrame(
        {
            "metric": records["metric"],
            "metric_title": records["metric"].map(labels).fillna(records["metric"]),
            "unit": records["metric"].map(units).fillna(""),
            "source_polarity": records["metric"].map(directions).fillna(""),
            "area_code": records["areaCode"].str.strip(),
            "area_name": records["areaCode"].map(data.get("areaCodeLookup", {})).fillna(""),
            "raw_period": periods.astype(str),
            "raw_value": text,
            "source_row": records.index + 1,
        }
    )
