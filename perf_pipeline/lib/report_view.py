"""The quarterly report's content, assembled from the tables and formatted for reading."""

from __future__ import annotations

import pandas as pd

from perf_pipeline.lib import report
from perf_pipeline.lib.charts import trend_chart
from perf_pipeline.lib.formatting import format_value
from perf_pipeline.lib.performance import RAG_STATUSES
from perf_pipeline.lib.quarters import ASSESSED_QUARTERS_BEFORE, Quarter
from perf_pipeline.lib.report_render import value_texts

NO_GOVERNANCE = {
    "chain": [],
    "narratives": [],
    "actions": {},
    "scrutiny": [],
    "feedback_count": 0,
    "problems": [],
}
PLAN_STATUSES = ["Complete", "On track", "Behind schedule", "Overdue", "Not started"]
PLAN_STYLE = {
    "Complete": ("#1b7837", "✔"),
    "On track": ("#1b7837", "●"),
    "Behind schedule": ("#9a4a00", "◆"),
    "Overdue": ("#b2182b", "▲"),
    "Not started": ("#5c5c5c", "○"),
}


def quarterly_view(
    quarter: Quarter,
    council: dict,
    history: pd.DataFrame,
    catalogue: pd.DataFrame,
    restatements: pd.DataFrame,
    status: pd.DataFrame,
    return_exceptions: pd.DataFrame,
    corrections: pd.DataFrame,
    approvals: pd.DataFrame,
    input_files: pd.DataFrame,
    provenance: dict,
    benchmarks: pd.DataFrame | None = None,
    dot_plots: list[dict] | None = None,
    plan: pd.DataFrame | None = None,
    value_for_money: list[dict] | None = None,
    governance: dict | None = None,
) -> dict:
    """Everything the template shows, in order; `history` is the performance of the last 8 quarters.

    `governance`: the review chain, narrative, corrective actions and scrutiny of the quarter
    (`perf_pipeline.lib.governance.report.governance_view`)."""
    names = catalogue.set_index("code")
    current = history[history["quarter"] == quarter.key].copy()
    previous = history[history["quarter"] == quarter.shift(-1).key].copy()
    current["service_name"] = current["indicator_code"].map(names["service_name"])
    current["unit_label"] = current["indicator_code"].map(names["unit_label"])
    current = value_texts(current, {"value": "value_text", "target": "target_text", "ytd_value": "ytd_text"})
    due = current[current["rag_status"] != "Not due"]

    quarters = [quarter.shift(-i).key for i in range(ASSESSED_QUARTERS_BEFORE, -1, -1)]
    series = report.trend_series(history, quarters)
    empty = ([None] * len(quarters), [None] * len(quarters))
    due = due.assign(trend=[trend_chart(*series.get(code, empty)) for code in due["indicator_code"]])

    glance = [
        ("Overall", report.status_counts(current, previous, None)),
        (
            "By Council Plan priority",
            report.status_counts(
                current.fillna({"priority": "No priority"}),
                previous.fillna({"priority": "No priority"}),
                "priority",
            ),
        ),
        ("By directorate", report.status_counts(current, previous, "directorate")),
    ]
    exceptions = report.exceptions(due, previous)
    by_directorate = [
        (name, rows.sort_values("indicator_code").to_dict("records"))
        for name, rows in due.groupby("directorate", sort=True)
    ]
    dq = report.data_quality(status, return_exceptions, corrections, restatements, quarter)
    applied = dq["corrections_applied"]
    restated = restatements.copy()
    if len(restated):
        units = names[["unit", "decimals"]]
        restated = restated.join(units, on="indicator_code")
        restated = value_texts(restated, {"old_value": "old_text", "new_value": "new_text"})
    bench_rows, comparator_period = _benchmark_rows(benchmarks, names)
    return {
        "council": council["name"],
        "quarter_label": quarter.label,
        "period_text": f"{quarter.start:%-d %B %Y} to {quarter.end:%-d %B %Y}",
        "approval": report.approval_text(approvals, quarter),
        "data_date": provenance["data_date"],
        "comparator_period": comparator_period,
        "due_count": len(due),
        "statuses": RAG_STATUSES,
        "counted": report.COUNTED,
        "glance": glance,
        "tiles": due[due["level"] == "strategic"].sort_values("indicator_code").to_dict("records"),
        "summary": report.plain_words_summary(due, previous),
        "exceptions": exceptions.to_dict("records"),
        "by_directorate": by_directorate,
        "benchmarks": bench_rows,
        "dot_plots": dot_plots or [],
        "value_for_money": value_for_money or [],
        **_plan_view(plan),
        "dq": dq,
        "corrections": [
            {
                **c,
                "value_text": format_value(
                    c["new_value"],
                    names.at[c["indicator_code"], "unit"],
                    names.at[c["indicator_code"], "decimals"],
                ),
                "approved_on": pd.Timestamp(c["approved_on"]).strftime("%-d %B %Y")
                if pd.notna(c["approved_on"])
                else "",
            }
            for c in applied.to_dict("records")
        ],
        "restatements": restated.to_dict("records"),
        "generated_at": provenance["generated_at"],
        "code_version": provenance["code_version"],
        "run_id": provenance["run_id"],
        "input_files": input_files.to_dict("records"),
        "governance": governance or NO_GOVERNANCE,
    }


def _benchmark_rows(benchmarks: pd.DataFrame | None, names: pd.DataFrame) -> tuple[list[dict], str]:
    if benchmarks is None or benchmarks.empty:
        return [], "No comparator data"
    rows = []
    ordered = benchmarks.sort_values(["indicator_code", "group"])
    # Each row's unit, precision and title in one lookup, not three `names.at` a row.
    looked_up = names.loc[ordered["indicator_code"], ["unit", "decimals", "title"]].itertuples(
        index=False, name=None
    )
    for b, (unit, decimals, title) in zip(ordered.to_dict("records"), looked_up, strict=True):
        rows.append(
            {
                **b,
                "title": title,
                "group_label": str(b["group"]).replace("_", " ").capitalize(),
                "value_text": format_value(b["value"], unit, decimals),
                "median_text": format_value(b["median"], unit, decimals),
                "rank_text": "–" if pd.isna(b["rank"]) else f"{int(b['rank'])} of {int(b['n'])}",
                "quartile_text": "–" if pd.isna(b["quartile"]) else str(int(b["quartile"])),
                "n": int(b["n"]),
                "n_missing": int(b["n_missing"]),
                "lag_quarters": "–" if pd.isna(b["lag_quarters"]) else int(b["lag_quarters"]),
                "outlier": bool(b["outlier"]) if pd.notna(b["outlier"]) else False,
            }
        )
    periods = sorted({str(b["period"]) for b in rows})
    lags = sorted({b["lag_quarters"] for b in rows if b["lag_quarters"] != "–"})
    lag_text = f" (lagging this quarter by {lags[0]}–{lags[-1]} quarters)" if lags else ""
    return rows, ", ".join(periods) + lag_text


def _plan_view(plan: pd.DataFrame | None) -> dict:
    if plan is None or plan.empty:
        return {"plan": [], "plan_statuses": PLAN_STATUSES, "plan_counts": {}, "plan_overdue": []}
    rows = []
    for a in plan.sort_values("action_id").to_dict("records"):
        colour, symbol = PLAN_STYLE.get(a["status"], ("#5c5c5c", ""))
        due = a.get("effective_due_date") or a.get("due_date")
        rows.append(
            {
                "action_id": a["action_id"],
                "title": a["title"],
                "source": a.get("source", ""),
                "owner": a.get("owner", ""),
                "due": pd.Timestamp(due).strftime("%-d %b %Y") if pd.notna(due) else "",
                "percent": "" if pd.isna(a.get("percent_complete")) else f"{int(a['percent_complete'])}%",
                "status": a["status"],
                "colour": colour,
                "symbol": symbol,
                "days_overdue": "" if pd.isna(a.get("days_overdue")) else int(a["days_overdue"]),
                "note": a.get("last_update_note") or "",
            }
        )
    counts = plan["status"].value_counts().to_dict()
    return {
        "plan": rows,
        "plan_statuses": PLAN_STATUSES,
        "plan_counts": counts,
        "plan_overdue": [r for r in rows if r["status"] == "Overdue"],
    }


def annual_view(
    year_q4: Quarter, council: dict, outturns: pd.DataFrame, approvals: pd.DataFrame, provenance: dict
) -> dict:
    """The year's outturn (Q4 year to date) against annual target, beside the three years before.

    `outturns` holds the Q4 assessments of this year and earlier years (`quarter` column).
    """
    from perf_pipeline.lib.performance import direction_of_travel

    years = [year_q4.shift(-4 * i) for i in range(3, -1, -1)]
    labels = [q.fy_key.replace("-", "/") for q in years]
    current = outturns[(outturns["quarter"] == year_q4.key) & (outturns["rag_status"] != "Not due")]
    by_year = {q.key: outturns[outturns["quarter"] == q.key].set_index("indicator_code") for q in years}

    def outturn(q: Quarter, code: str):
        frame = by_year[q.key]
        if code not in frame.index:
            return None
        value = frame.at[code, "ytd_value"]
        return None if pd.isna(value) else float(value)

    rows = []
    for r in current.sort_values("indicator_code").to_dict("records"):
        series = [outturn(q, r["indicator_code"]) for q in years]
        rows.append(
            {
                **r,
                "year_texts": [format_value(v, r["unit"], r["decimals"]) for v in series],
                "target_text": format_value(r["ytd_target"], r["unit"], r["decimals"]),
                "status": r["ytd_rag_status"],
                "dot": direction_of_travel(series[-1], series[-2], r["polarity"], r["decimals"]),
                "trend": trend_chart(series, [None, None, None, r["ytd_target"]]),
            }
        )
    counts = pd.Series([r["status"] for r in rows]).value_counts().to_dict()
    rated = sum(counts.get(s, 0) for s in report.RATED)
    summary = []
    if rated:
        summary.append(
            f"Of {rated} indicators with an annual target, {counts.get('Green', 0)} met it, "
            f"{counts.get('Amber', 0)} missed it within tolerance and {counts.get('Red', 0)} missed it."
        )
    improved = sum(r["dot"] == "Improving" for r in rows)
    worsened = sum(r["dot"] == "Worsening" for r in rows)
    summary.append(f"Against {labels[-2]}, {improved} indicators improved and {worsened} worsened.")
    return {
        "council": council["name"],
        "year_label": labels[-1],
        "period_text": f"{year_q4.shift(-3).start:%-d %B %Y} to {year_q4.end:%-d %B %Y}",
        "approval": report.approval_text(approvals, year_q4),
        "years": labels,
        "rows": rows,
        "counted": report.COUNTED,
        "counts": counts,
        "summary": summary,
        "by_directorate": [
            (d, [r for r in rows if r["directorate"] == d]) for d in sorted({r["directorate"] for r in rows})
        ],
        "quarter_reports": [year_q4.shift(-i).label for i in range(3, -1, -1)],
        **provenance,
    }


def dot_plots(
    benchmarks: pd.DataFrame, members: pd.DataFrame, names: pd.DataFrame, council_code: str, council_name: str
) -> list[dict]:
    """For each benchmarked indicator, the council among its nearest neighbours, median marked.

    `members` holds the neighbours' published values: `metric, period, area_code, value`.
    """
    from perf_pipeline.lib.charts import ComparatorDotPlots

    rows = benchmarks[(benchmarks["group"] == "nearest_neighbours") & benchmarks["value"].notna()]
    if rows.empty:
        return []
    # Each comparison's neighbours, grouped once rather than the whole table filtered per indicator,
    # in area code order: the order a query returns them in is not fixed, and a chart
    # drawn from another order is another chart to `kept` (so every quarter drew them all again)
    # and can differ in a pixel where points overlap.
    shown = members[members["value"].notna() & (members["area_code"] != council_code)].sort_values(
        "area_code", kind="stable"
    )
    neighbours = {
        key: group.astype(float).tolist() for key, group in shown.groupby(["metric", "period"])["value"]
    }
    charts = ComparatorDotPlots(council_name)
    plots = []
    try:
        for b in rows.sort_values("indicator_code").itertuples(index=False):
            others = neighbours.get((b.metric, b.period), [])
            unit, decimals = names.at[b.indicator_code, "unit"], names.at[b.indicator_code, "decimals"]
            position = (
                f"rank {int(b.rank)} of {int(b.n)}"
                if pd.notna(b.rank)
                else f"{int(b.n)} councils, not ranked"
            )
            plots.append(
                {
                    "title": names.at[b.indicator_code, "title"],
                    "period": b.period,
                    "image": charts.render(others, float(b.value), float(b.median)),
                    "alt": (
                        f"{council_name} {format_value(b.value, unit, decimals)} against a nearest-neighbour median "
                        f"of {format_value(b.median, unit, decimals)}; {position}"
                    ),
                }
            )
    finally:
        charts.close()
    return plots
