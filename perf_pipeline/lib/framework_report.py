"""The framework's sections of the quarterly report (and the data the app's pages show).

Each function takes the quarter's tables and returns plain records, formatted for reading; the
report calls `framework_sections` once, and the app can call the parts it needs.
"""

from __future__ import annotations

import pandas as pd

from perf_pipeline.lib import report
from perf_pipeline.lib.formatting import format_value
from perf_pipeline.lib.framework import measure_table, tag_counts
from perf_pipeline.lib.framework_programmes import BENEFIT_STATUSES, MILESTONE_STATUSES
from perf_pipeline.lib.framework_risks import FALLING, RISING
from perf_pipeline.lib.quarters import Quarter

LEVELS = [
    (
        "strategic",
        "Strategic performance",
        "at-a-glance",
        "Council Plan priorities and the headline indicators",
    ),
    ("service", "Directorate and service performance", "indicators", "every indicator, by directorate"),
    ("programme", "Change and improvement", "programmes", "the change programmes and the improvement plan"),
]
MILESTONE_SYMBOLS = {"Complete": "✔", "On track": "●", "At risk": "◆", "Slipped": "▲"}
BENEFIT_SYMBOLS = {
    "Realised": "✔",
    "Not yet realised": "○",
    "Missed": "▲",
    "No data": "■",
    "Not assessed": "■",
}
TREND_SYMBOLS = {RISING: "▲ Rising", FALLING: "▼ Falling", "Steady": "► Steady", "New": "New"}


def _day(value) -> str:
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%-d %b %Y}"


def level_rows(current: pd.DataFrame, previous: pd.DataFrame) -> list[dict]:
    """RAG counts at each of the framework's three levels, with where the report shows each."""
    counts = {row["group"]: row for row in report.status_counts(current, previous, "level")}
    return [
        {"level": key, "title": title, "anchor": anchor, "shows": shows, "counts": counts.get(key)}
        for key, title, anchor, shows in LEVELS
    ]


def programme_rows(
    programmes: pd.DataFrame,
    milestones: pd.DataFrame,
    benefits: pd.DataFrame,
    current: pd.DataFrame,
    catalogue: pd.DataFrame,
) -> list[dict]:
    """Each programme with its KPIs' status this quarter, its milestones and its benefits."""
    names = catalogue.set_index("code")
    status = current.set_index("indicator_code") if len(current) else pd.DataFrame()
    out = []
    for p in programmes.sort_values("programme_id").to_dict("records"):
        codes = [c.strip() for c in str(p.get("indicator_codes") or "").split(";") if c.strip()]
        kpis = [
            {
                "code": c,
                "title": names.at[c, "title"],
                "value_text": format_value(
                    status.at[c, "value"] if c in status.index else None,
                    names.at[c, "unit"],
                    names.at[c, "decimals"],
                ),
                "rag_status": status.at[c, "rag_status"] if c in status.index else "Not due",
            }
            for c in codes
        ]
        mine = milestones[milestones["programme_id"] == p["programme_id"]].sort_values("baseline_date")
        stones = [
            {
                **m,
                "baseline": _day(m["baseline_date"]),
                "forecast": _day(m["forecast_date"]),
                "completed": _day(m["completed_on"]),
                "symbol": MILESTONE_SYMBOLS.get(m["status"], ""),
                "slip": "" if pd.isna(m["days_slipped"]) else f"{int(m['days_slipped'])} days",
            }
            for m in mine.to_dict("records")
        ]
        promised = [
            {
                **b,
                "target_text": format_value(
                    b["target_value"],
                    names.at[b["indicator_code"], "unit"],
                    names.at[b["indicator_code"], "decimals"],
                ),
                "latest_text": format_value(
                    b["latest_value"],
                    names.at[b["indicator_code"], "unit"],
                    names.at[b["indicator_code"], "decimals"],
                ),
                "symbol": BENEFIT_SYMBOLS.get(b["status"], ""),
            }
            for b in benefits[benefits["programme_id"] == p["programme_id"]].to_dict("records")
        ]
        out.append(
            {
                **p,
                "kpis": kpis,
                "milestones": stones,
                "milestone_counts": {s: sum(m["status"] == s for m in stones) for s in MILESTONE_STATUSES},
                "benefits": promised,
                "benefit_counts": {s: sum(b["status"] == s for b in promised) for s in BENEFIT_STATUSES},
            }
        )
    return out


def risk_rows(risks: pd.DataFrame) -> list[dict]:
    def pairs(text) -> list[dict]:
        items = [part.split(":", 1) for part in str(text or "").split(";") if ":" in part]
        return [{"id": a, "status": b} for a, b in items]

    return [
        {
            **r,
            "trend_text": TREND_SYMBOLS.get(r["trend"], r["trend"]),
            "last_reviewed_text": _day(r["last_reviewed"]),
            "indicator_states": pairs(r["indicators"]),
            "action_states": pairs(r["actions"]),
            "flag": r["flag"] if isinstance(r["flag"], str) else "",
        }
        for r in risks.to_dict("records")
    ]


def tag_tables(current: pd.DataFrame, tags: pd.DataFrame) -> list[dict]:
    """For every vocabulary, each value's indicators by status."""
    out = []
    indicator_tags = tags[tags["subject"] == "indicator"]
    for vocabulary, rows in indicator_tags.groupby("vocabulary", sort=False):
        table = tag_counts(current, tags, vocabulary)
        actions = tags[(tags["subject"] == "action") & (tags["vocabulary"] == vocabulary)]
        per_value = actions.groupby("value").size()
        out.append(
            {
                "vocabulary": vocabulary,
                "title": rows["vocabulary_title"].iloc[0],
                "rows": [
                    {**r, "actions": int(per_value.get(r["value"], 0))} for r in table.to_dict("records")
                ],
            }
        )
    return out


def feedback_summary(derived: pd.DataFrame, cases: pd.DataFrame, catalogue: pd.DataFrame) -> dict:
    """The quarter's figures made from the case extracts, and what the extracts held."""
    names = catalogue.set_index("code")
    refused = cases[~cases["accepted"]] if len(cases) else cases
    return {
        "derived": [
            {
                **d,
                "title": names.at[d["indicator_code"], "title"],
                "value_text": format_value(
                    d["value"],
                    names.at[d["indicator_code"], "unit"],
                    names.at[d["indicator_code"], "decimals"],
                ),
            }
            for d in derived.to_dict("records")
        ],
        "files": int(cases["file"].nunique()) if len(cases) else 0,
        "rows": int(cases["row"].notna().sum()) if len(cases) else 0,
        "accepted": int(cases["accepted"].sum()) if len(cases) else 0,
        "refused": [
            {k: ("" if pd.isna(v) else v) for k, v in r.items()}
            for r in refused[["file", "row", "case_id", "reason", "message"]].to_dict("records")
        ],
    }


def framework_sections(
    quarter: Quarter,
    history: pd.DataFrame,
    catalogue: pd.DataFrame,
    measures: pd.DataFrame,
    tags: pd.DataFrame,
    programmes: pd.DataFrame,
    milestones: pd.DataFrame,
    benefits: pd.DataFrame,
    risks: pd.DataFrame,
    derived: pd.DataFrame,
    cases: pd.DataFrame,
) -> dict:
    """Everything the framework's report sections show, from the quarter's tables."""
    current = history[history["quarter"] == quarter.key]
    previous = history[history["quarter"] == quarter.shift(-1).key]
    measured = measure_table(current, measures)
    return {
        "levels": level_rows(current, previous),
        "measures": measured.to_dict("records"),
        "measure_total": int(measured["indicators"].sum()) if len(measured) else 0,
        "tag_tables": tag_tables(current, tags),
        "programmes": programme_rows(programmes, milestones, benefits, current, catalogue),
        "milestone_statuses": MILESTONE_STATUSES,
        "benefit_statuses": BENEFIT_STATUSES,
        "risks": risk_rows(risks),
        "feedback": feedback_summary(derived, cases, catalogue),
    }


def framework_sheets(
    catalogue: pd.DataFrame,
    view: dict,
    tags: pd.DataFrame,
    milestones: pd.DataFrame,
    benefits: pd.DataFrame,
    risks: pd.DataFrame,
) -> list[tuple[str, pd.DataFrame]]:
    """The workbook's framework sheets; Tags has one row per indicator and tag, to filter by any."""
    titles = catalogue.set_index("code")["title"]
    tag_rows = tags.assign(title=tags["subject_id"].map(titles))[
        ["subject", "subject_id", "title", "vocabulary_title", "label", "vocabulary", "value"]
    ]
    measures = pd.DataFrame(view["measures"])
    return [
        ("Measures", measures),
        ("Tags", tag_rows),
        ("Milestones", milestones.drop(columns=["quarter_start"], errors="ignore")),
        ("Benefits", benefits.drop(columns=["quarter_start"], errors="ignore")),
        ("Risks", risks.drop(columns=["quarter_start"], errors="ignore")),
    ]
