"""What each page of the app shows, built from the snapshot for one actor.

Every builder takes a `Ctx` (the request's snapshot connection, the actor, the approvals) and
returns a `Page`: the template's view and the table behind it, which is also the page's CSV.
Every row a page shows passes through `Ctx.sees`, that is `permissions.may_see`; anything
refused raises `NotFound`, exactly as something that does not exist.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

import pandas as pd

from perf_pipeline.app import charts
from perf_pipeline.app.permissions import Actor, Approvals, may_open, may_see
from perf_pipeline.app.snapshot import Published
from perf_pipeline.lib import report
from perf_pipeline.lib.formatting import format_value
from perf_pipeline.lib.quarters import Quarter, QuarterError
from perf_pipeline.lib.report_view import PLAN_STYLE
from perf_pipeline.lib.value_for_money import OUTPUT_COLUMNS
from perf_pipeline.lib.value_for_money_view import (
    GROUP_WORDS,
    SCATTER_FIELDS,
    SCATTER_POINTS,
    value_for_money_section,
)

GROUPINGS = {
    "directorates": ("directorate", "Directorate"),
    "portfolios": ("portfolio", "Cabinet portfolio"),
    "committees": ("scrutiny_committee", "Scrutiny committee"),
    "priorities": ("priority", "Council Plan priority"),
    "levels": ("level", "Level"),
}
GROUP_LABELS = {
    "nearest_neighbours": "Nearest neighbours",
    "same_type": "Same type of council",
    "region": "Region",
    "england": "England",
}
MAX_SEARCH = 200
CHARTS_KEPT = 2048  # per snapshot; an SVG is 10-20 kB
INDICATOR_TABLE = [
    "quarter",
    "indicator_code",
    "title",
    "directorate",
    "portfolio",
    "priority",
    "level",
    "value",
    "target",
    "rag_status",
    "dot_short",
    "dot_long",
    "ytd_value",
    "ytd_target",
    "ytd_rag_status",
    "data_status",
    "commentary",
]


class NotFound(Exception):
    """Nothing here for this actor: unknown, or not theirs to see (the same answer for both)."""


class BadRequest(Exception):
    """A request that cannot be answered as written (the message is shown)."""


@dataclass
class Page:
    template: str
    title: str
    view: dict
    table: pd.DataFrame | None = None
    csv_name: str = "table"
    quarter: str | None = None
    draft: bool = False
    breadcrumbs: list = field(default_factory=list)


@dataclass
class Ctx:
    con: sqlite3.Connection
    published: Published
    actor: Actor | None
    approvals: Approvals

    approved_memo: dict = field(default_factory=dict)

    def approved(self, quarter: str) -> bool:
        if quarter not in self.approved_memo:
            self.approved_memo[quarter] = self.approvals.is_approved(quarter)
        return self.approved_memo[quarter]

    def sees(self, quarter: str, portfolio: str | None = None) -> bool:
        return may_see(self.actor, quarter, self.approved(quarter), portfolio)

    def opens(self, quarter: str) -> bool:
        return may_open(self.actor, quarter, self.approved(quarter))

    def quarters(self) -> list[str]:
        return [q for q in self.published.quarters if self.opens(q)]

    def frame(self, sql: str, params=()) -> pd.DataFrame:
        # As pd.read_sql_query makes it, without its look for date columns (a third of its time).
        cursor = self.con.execute(sql, list(params))
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns, coerce_float=True)

    def rows(self, sql: str, params=()) -> list[dict]:
        """The rows as SQLite gives them (a missing value is None), for a page that shows them as
        they are: a frame costs more to make than a row or two is worth."""
        return [dict(row) for row in self.con.execute(sql, list(params))]

    def publication(self, quarter: str) -> str:
        return "Approved" if self.approved(quarter) else "DRAFT"

    def chart(self, kind: str, *args) -> str:
        """The chart `charts.DRAW[kind](*args)`, as drawn when the snapshot was published; one not
        drawn then (a view that approvals changed since) is drawn now and kept for the snapshot."""
        key = charts.chart_key(kind, args)
        if "charts" in self.published.tables:
            row = self.con.execute("select svgz from charts where key = ?", [key]).fetchone()
            if row is not None:
                return charts.unpack(row[0])
        return self.published.remembered("charts", key, lambda: charts.DRAW[kind](*args), CHARTS_KEPT)


def records(frame: pd.DataFrame) -> list[dict]:
    """`frame.to_dict("records")`, the same Python values, in a twentieth of the time on the small
    frames of a page (pandas makes a Series per column to build each record)."""
    columns = list(frame.columns)
    return [dict(zip(columns, row)) for row in frame.to_numpy(dtype=object).tolist()]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "none"


def quarter_key(ctx: Ctx, text: str) -> str:
    """The quarter in the address, written as the contract has it (`2025-26-Q2`), and open to the actor."""
    try:
        key = Quarter.parse(text).key
    except QuarterError:
        raise NotFound() from None
    if key != text or key not in ctx.published.quarters or not ctx.opens(key):
        raise NotFound()
    return key


CATALOGUE_COLUMNS = ["portfolio", "scrutiny_committee", "service_name", "unit_label", "definition"]


def _catalogue(ctx: Ctx) -> pd.DataFrame:
    """The catalogue's details the pages join to figures, by code: made once per snapshot."""
    return ctx.published.remembered(
        "catalogue",
        None,
        lambda: pd.DataFrame(ctx.published.indicators.values()).set_index("code")[CATALOGUE_COLUMNS],
        1,
    )


def _with_catalogue(ctx: Ctx, rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return rows.assign(
            **{
                c: pd.Series(dtype=object)
                for c in ("portfolio", "scrutiny_committee", "service_name", "unit_label")
            }
        )
    out = rows.drop(columns=CATALOGUE_COLUMNS, errors="ignore")
    out = out.join(_catalogue(ctx), on="indicator_code")
    out["portfolio"] = out["portfolio"].fillna("")
    return out


def _published_rows(ctx: Ctx) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Every indicator row of the snapshot with catalogue details and display texts, in quarter
    order, and the same by code: made once per snapshot (the pages choose what an actor sees)."""

    def make():
        rows = _texts(_with_catalogue(ctx, ctx.frame("select * from performance order by quarter")))
        return rows, dict(tuple(rows.groupby("indicator_code", sort=False)))

    return ctx.published.remembered("tables", "performance", make, 2)


def _restatements(ctx: Ctx) -> pd.DataFrame:
    """Every restatement with catalogue details, as detected: made once per snapshot."""
    return ctx.published.remembered(
        "tables",
        "restatements",
        lambda: _with_catalogue(ctx, ctx.frame("select * from restatements order by detected_at")),
        2,
    )


def visible_rows(ctx: Ctx, *quarters: str, code: str | None = None) -> pd.DataFrame:
    """The quarters' indicator rows this actor may see (of one indicator, or all), with catalogue
    details and display texts; figures restated in a quarter the actor may not see are shown as
    published before it (`_as_published`)."""
    table, by_code = _published_rows(ctx)
    rows = by_code.get(code, table.iloc[0:0]) if code else table
    rows = rows[rows["quarter"].isin(quarters)]
    rows = _keep(rows, [ctx.sees(q, p) for q, p in zip(rows["quarter"], rows["portfolio"])])
    events = _restatements(ctx)
    events = events[
        events["figure_quarter"].isin(quarters) & ((events["indicator_code"] == code) if code else True)
    ]
    hidden = _keep(events, [not ctx.sees(d, p) for d, p in zip(events["detected_in"], events["portfolio"])])
    return _as_published(rows, hidden)


def _keep(frame: pd.DataFrame, mask: list[bool]) -> pd.DataFrame:
    """The rows where `mask` is true (a list, so an empty frame stays an empty frame of rows)."""
    return frame[pd.Series(mask, index=frame.index, dtype=bool)]


TEXTS = ["value_text", "target_text", "ytd_text", "ytd_target_text"]


def _texts(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return rows.assign(**{t: [] for t in TEXTS})
    out = rows.copy()
    for source, target in zip(("value", "target", "ytd_value", "ytd_target"), TEXTS):
        out[target] = [
            format_value(v, u, int(d) if pd.notna(d) else 1, lbl)
            for v, u, d, lbl in zip(out[source], out["unit"], out["decimals"], out["unit_label"])
        ]
    return out


def _table(ctx: Ctx, rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    table = rows.reindex(columns=columns).copy()
    quarters = rows["quarter"] if "quarter" in rows else pd.Series([], dtype=object)
    table["publication_status"] = [ctx.publication(q) for q in quarters]
    return table


def _page_for_quarter(ctx: Ctx, quarter: str, **kwargs) -> Page:
    return Page(quarter=quarter, draft=not ctx.approved(quarter), **kwargs)


def home(ctx: Ctx) -> str | None:
    """The latest quarter the actor may open (the address `/` sends them to)."""
    quarters = ctx.quarters()
    return quarters[-1] if quarters else None


def overview(ctx: Ctx, quarter_text: str) -> Page:
    quarter = quarter_key(ctx, quarter_text)
    current = visible_rows(ctx, quarter)
    due = current[current["rag_status"] != "Not due"]
    before = Quarter.parse(quarter).shift(-1).key
    previous = visible_rows(ctx, before) if before in ctx.published.quarters and ctx.opens(before) else None
    if previous is not None:
        previous = previous[previous["indicator_code"].isin(due["indicator_code"])]
    else:
        previous = due.iloc[0:0]
    glance = [("Overall", report.status_counts(due, previous, None), None)]
    for grouping, (column, label) in GROUPINGS.items():
        filled = {column: f"No {label.lower()}"}
        rows = report.status_counts(
            due.replace({column: {"": None}}).fillna(filled),
            previous.replace({column: {"": None}}).fillna(filled),
            column,
        )
        glance.append((f"By {label.lower()}", [{**r, "slug": slug(r["group"])} for r in rows], grouping))
    approval = ctx.approvals.approval(quarter)
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/overview.html.j2",
        title=f"Overview, {Quarter.parse(quarter).label}",
        csv_name=f"overview-{quarter}",
        view={
            "glance": glance,
            "groupings": GROUPINGS,
            "counted": report.COUNTED,
            "tiles": records(due[due["level"] == "strategic"].sort_values("indicator_code")),
            "rows": records(due.sort_values(["directorate", "indicator_code"])),
            "approval": approval,
            "due_count": len(due),
            "partial": not ctx.sees(quarter),
        },
        table=_table(ctx, due.sort_values("indicator_code"), INDICATOR_TABLE),
    )


def indicator(ctx: Ctx, quarter_text: str, code: str) -> Page:
    quarter = quarter_key(ctx, quarter_text)
    info = ctx.published.indicators.get(code)
    if info is None:
        raise NotFound()
    portfolio = info.get("portfolio") or ""
    if not ctx.sees(quarter, portfolio):
        raise NotFound()
    earlier = [q for q in ctx.published.quarters if q <= quarter]
    history = visible_rows(ctx, *earlier, code=code)
    history = history.assign(publication_draft=[not ctx.approved(q) for q in history["quarter"]])
    events = _restatements(ctx)
    events = events[events["indicator_code"] == code]
    seen_events = _keep(
        events,
        [
            ctx.sees(d, p) and f <= quarter
            for d, p, f in zip(events["detected_in"], events["portfolio"], events["figure_quarter"])
        ],
    )
    if history.empty or quarter not in set(history["quarter"]):
        raise NotFound()
    current = history[history["quarter"] == quarter].iloc[0].to_dict()
    history = _shown(history, quarter)
    unit, decimals, label = info["unit"], int(info["decimals"] or 1), info.get("unit_label")
    trend = _trend(ctx, info, history)
    restated = [
        {
            **e,
            "old_text": format_value(e["old_value"], unit, decimals, label),
            "new_text": format_value(e["new_value"], unit, decimals, label),
        }
        for e in records(seen_events)
    ]
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/indicator.html.j2",
        title=f"{info['title']} ({code})",
        csv_name=f"indicator-{code}-{quarter}",
        view={
            "info": info,
            "current": current,
            "history": records(history.sort_values("quarter", ascending=False)),
            "trend": trend,
            "restatements": restated,
            "benchmarks": _benchmark_trajectory(ctx, code, quarter, unit, decimals),
            "dot_plot": dot_plot(ctx, code, quarter, info),
            "provenance": []
            if current["masked"]
            else ctx.rows(
                "select * from provenance where indicator_code = ? and quarter = ?", [code, quarter]
            ),
            "actions": _actions_naming(ctx, code, quarter),
            "pairs": _pairs_naming(ctx, code, quarter),
        },
        table=_table(ctx, history, INDICATOR_TABLE),
    )


def _shown(history: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """Quarters in which the indicator was not due (an annual one outside Q4) have no figure to show."""
    return history[(history["rag_status"] != "Not due") | (history["quarter"] == quarter)]


def _trend(ctx: Ctx, info: dict, history: pd.DataFrame) -> str:
    """The indicator's value quarter by quarter against its target, over the quarters shown."""
    labels = [Quarter.parse(q).label for q in history["quarter"]]
    return ctx.chart(
        "trend",
        labels,
        [None if pd.isna(v) else float(v) for v in history["value"]],
        [None if pd.isna(t) else float(t) for t in history["target"]],
        f"{info['title']}: value by quarter against target, {labels[0]} to {labels[-1]}",
    )


def trend_charts(ctx: Ctx, quarter: str) -> None:
    """Every indicator page's trend chart at `quarter` as this actor sees it (`indicator`'s own
    steps, for all indicators in one pass): for drawing the charts when the snapshot is published."""
    rows = _shown(visible_rows(ctx, *[q for q in ctx.published.quarters if q <= quarter]), quarter)
    current = set(rows.loc[rows["quarter"] == quarter, "indicator_code"])
    for code, history in rows.groupby("indicator_code", sort=False):
        info = ctx.published.indicators.get(code)
        if code in current and info is not None and ctx.sees(quarter, info.get("portfolio") or ""):
            _trend(ctx, info, history)


def _as_published(rows: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """Figures restated in a quarter the actor may not see are shown as they were published before
    it: the earlier value, and nothing worked out from or sent with the restated one."""
    rows = rows.assign(masked=False)
    if hidden.empty or rows.empty:
        return rows
    first = hidden.drop_duplicates(["figure_quarter", "indicator_code"], keep="first").set_index(
        ["figure_quarter", "indicator_code"]
    )["old_value"]
    keys = list(zip(rows["quarter"], rows["indicator_code"]))
    masked = pd.Series([k in first.index for k in keys], index=rows.index)
    rows.loc[masked, "value"] = [first[k] for k, m in zip(keys, masked) if m]
    for column in ("rag_status", "dot_short", "dot_long", "ytd_rag_status"):
        rows.loc[masked, column] = "Not shown"
    rows.loc[masked, ["ytd_value", "commentary"]] = None
    rows.loc[masked, "masked"] = True
    rows.loc[masked, TEXTS] = _texts(rows[masked])[TEXTS]
    return rows


def _benchmark_trajectory(ctx: Ctx, code: str, quarter: str, unit: str, decimals: int) -> list[dict]:
    end = Quarter.parse(quarter).end.isoformat()
    rows = ctx.frame(
        "select * from benchmark_history where indicator_code = ? and period_end <= ? order by period_end",
        [code, end],
    )
    groups = []
    for group, part in rows.groupby("group", sort=False):
        groups.append(
            {
                "group": GROUP_LABELS.get(group, group),
                "periods": [
                    {
                        "period": r["period"],
                        "value": format_value(r["value"], unit, decimals),
                        "median": format_value(r["median"], unit, decimals),
                        "quartile": "–" if pd.isna(r["quartile"]) else int(r["quartile"]),
                        "rank": "not ranked" if pd.isna(r["rank"]) else f"{int(r['rank'])} of {int(r['n'])}",
                    }
                    for r in records(part)
                ],
            }
        )
    return groups


def dot_plot(ctx: Ctx, code: str, quarter: str, info: dict) -> dict | None:
    row = ctx.con.execute(
        "select * from benchmarks where quarter = ? and indicator_code = ? and \"group\" = 'nearest_neighbours' "
        "and value is not null",
        [quarter, code],
    ).fetchone()
    if row is None:
        return None
    points = ctx.frame(
        "select area_code, area_name, value from neighbours where metric = ? and period = ? order by value",
        [row["metric"], row["period"]],
    )
    council_code, council_name = ctx.published.meta["gss_code"], ctx.published.meta["council"]
    others = points[points["area_code"] != council_code]
    unit, decimals = info["unit"], int(info["decimals"] or 1)
    label = (
        f"{council_name} {format_value(row['value'], unit, decimals)} among its nearest neighbours in "
        f"{row['period']}; median {format_value(row['median'], unit, decimals)}"
    )
    svg = ctx.chart(
        "dots",
        others["value"].astype(float).tolist(),
        float(row["value"]),
        float(row["median"]),
        council_name,
        label,
    )
    return {
        "period": row["period"],
        "svg": svg,
        "label": label,
        "points": [
            {
                "name": p["area_name"] or p["area_code"],
                "value": format_value(p["value"], unit, decimals),
                "council": p["area_code"] == council_code,
            }
            for p in records(points)
        ],
    }


def _actions_naming(ctx: Ctx, code: str, quarter: str) -> list[dict]:
    """Improvement plan actions that name the indicator (`indicator_codes` in actions.csv)."""
    if not ctx.sees(quarter):
        return []
    columns = {r[1] for r in ctx.con.execute("pragma table_info(plan)")}
    if "indicator_codes" not in columns:
        return []
    # instr finds the candidates; the codes are then compared whole (RB1 is not in "RB11").
    plan = ctx.rows("select * from plan where quarter = ? and instr(indicator_codes, ?) > 0", [quarter, code])
    return [_action(a) for a in plan if code in {c.strip() for c in str(a["indicator_codes"]).split(";")}]


def _action(a: dict) -> dict:
    colour, symbol = PLAN_STYLE.get(a["status"], ("#5c5c5c", ""))
    due = a.get("effective_due_date") or a.get("due_date")
    return {
        **a,
        "colour": colour,
        "symbol": symbol,
        "due": pd.Timestamp(due).strftime("%-d %b %Y") if due else "",
        "percent": "" if pd.isna(a.get("percent_complete")) else f"{int(a['percent_complete'])}%",
    }


ATTENTION_TABLE = [
    "quarter",
    "indicator_code",
    "title",
    "directorate",
    "portfolio",
    "why",
    "value",
    "target",
    "rag_status",
    "dot_short",
    "quarters_off_target",
    "commentary",
]


def attention(ctx: Ctx, quarter_text: str) -> Page:
    """What isn't working: Red, worsening two quarters running, off target two or more quarters
    running, not reported, and benchmark outliers, each with the service's commentary. Only
    quarters the actor may see count towards a run."""
    quarter = quarter_key(ctx, quarter_text)
    current = visible_rows(ctx, quarter)
    earlier = [Quarter.parse(quarter).shift(-i).key for i in range(1, 8)]
    shown = [q for q in earlier if q in ctx.published.quarters and ctx.opens(q)]
    before_rows = visible_rows(ctx, *shown) if shown else current.iloc[0:0]
    history = {q: part.set_index("indicator_code") for q, part in before_rows.groupby("quarter")}
    outliers = ctx.frame(
        'select indicator_code, "group", period from benchmarks where quarter = ? and outlier', [quarter]
    )
    flagged = []
    for row in records(current):
        code, reasons = row["indicator_code"], []
        if row["rag_status"] == "Red":
            reasons.append("Red")
        before = history.get(earlier[0])
        if (
            row["dot_short"] == "Worsening"
            and before is not None
            and code in before.index
            and before.at[code, "dot_short"] == "Worsening"
        ):
            reasons.append("worsening two quarters running")
        run = 0
        if row["rag_status"] in ("Amber", "Red"):
            run = 1
            for q in earlier:
                frame = history.get(q)
                if (
                    frame is None
                    or code not in frame.index
                    or frame.at[code, "rag_status"] not in ("Amber", "Red")
                ):
                    break
                run += 1
        if run >= 2:
            reasons.append(f"off target {run} quarters running")
        if row["rag_status"] == "Not reported":
            reasons.append("not reported")
        groups = outliers.loc[outliers["indicator_code"] == code, "group"].tolist()
        if groups:
            reasons.append("benchmark outlier (" + ", ".join(GROUP_LABELS.get(g, g) for g in groups) + ")")
        if reasons:
            flagged.append(
                {
                    **row,
                    "why": "; ".join(reasons),
                    "quarters_off_target": run,
                    "commentary_missing": not str(row.get("commentary") or "").strip(),
                }
            )
    frame = pd.DataFrame(
        flagged, columns=[*current.columns, "why", "quarters_off_target", "commentary_missing"]
    )
    frame = frame.sort_values(["directorate", "indicator_code"]) if len(frame) else frame
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/attention.html.j2",
        title=f"What isn't working, {Quarter.parse(quarter).label}",
        csv_name=f"attention-{quarter}",
        view={"rows": records(frame), "partial": not ctx.sees(quarter)},
        table=_table(ctx, frame, ATTENTION_TABLE),
    )


def grouping_index(ctx: Ctx, quarter_text: str, grouping: str) -> Page:
    quarter = quarter_key(ctx, quarter_text)
    if grouping not in GROUPINGS:
        raise NotFound()
    column, label = GROUPINGS[grouping]
    due = visible_rows(ctx, quarter)
    due = due[due["rag_status"] != "Not due"]
    filled = due.replace({column: {"": None}}).fillna({column: f"No {label.lower()}"})
    counts = report.status_counts(filled, filled.iloc[0:0], column)
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/grouping.html.j2",
        title=f"By {label.lower()}, {Quarter.parse(quarter).label}",
        view={
            "grouping": grouping,
            "label": label,
            "groups": [{**c, "slug": slug(c["group"])} for c in counts],
            "counted": report.COUNTED,
        },
    )


def group(ctx: Ctx, quarter_text: str, grouping: str, name: str) -> Page:
    """The indicators of one directorate, portfolio, priority or level in a quarter."""
    quarter = quarter_key(ctx, quarter_text)
    if grouping not in GROUPINGS:
        raise NotFound()
    column, label = GROUPINGS[grouping]
    due = visible_rows(ctx, quarter)
    due = due[due["rag_status"] != "Not due"]
    names = due[column].replace("", None).fillna(f"No {label.lower()}")
    rows = due[names.map(slug) == name]
    if rows.empty:
        raise NotFound()
    title = names[rows.index[0]]
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/group.html.j2",
        title=f"{title}, {Quarter.parse(quarter).label}",
        csv_name=f"{grouping}-{name}-{quarter}",
        view={
            "grouping": grouping,
            "label": label,
            "name": title,
            "rows": records(rows.sort_values("indicator_code")),
            "counts": report.status_counts(rows, rows.iloc[0:0], None),
        },
        table=_table(ctx, rows.sort_values("indicator_code"), INDICATOR_TABLE),
    )


PLAN_TABLE = [
    "quarter",
    "action_id",
    "title",
    "source",
    "owner",
    "directorate",
    "start_date",
    "effective_due_date",
    "percent_complete",
    "expected_percent",
    "status",
    "days_overdue",
    "last_update_date",
    "last_update_note",
]


def plan(ctx: Ctx, quarter_text: str) -> Page:
    """The Corporate Improvement Plan as at the quarter's end, with each action's updates."""
    quarter = quarter_key(ctx, quarter_text)
    if not ctx.sees(quarter):
        raise NotFound()
    actions = ctx.frame("select * from plan where quarter = ? order by action_id", [quarter])
    updates = ctx.frame(
        "select * from plan_updates where quarter = ? order by action_id, update_date", [quarter]
    )
    trail = {a: records(part) for a, part in updates.groupby("action_id")}
    # An action linked to indicators (a promoted corrective action) shows their latest status.
    statuses = dict(
        ctx.con.execute(
            "select indicator_code, rag_status from performance where quarter = ?", [quarter]
        ).fetchall()
    )
    rows = [
        {
            **_action(a),
            "updates": trail.get(a["action_id"], []),
            "indicators": [
                (c, statuses.get(c)) for c in str(a.get("indicator_codes") or "").split(";") if c.strip()
            ],
        }
        for a in records(actions)
    ]
    counts = actions["status"].value_counts().to_dict() if len(actions) else {}
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/plan.html.j2",
        title=f"Corporate Improvement Plan, {Quarter.parse(quarter).label}",
        csv_name=f"improvement-plan-{quarter}",
        view={"actions": rows, "counts": counts, "statuses": list(PLAN_STYLE), "styles": PLAN_STYLE},
        table=_table(ctx, actions, PLAN_TABLE),
    )


SEARCH_TABLE = [
    "indicator_code",
    "title",
    "directorate",
    "portfolio",
    "quarter",
    "value",
    "target",
    "rag_status",
]


def search(ctx: Ctx, text: str) -> Page:
    """Indicators whose code is the text, or whose title has every word of it, each at the latest
    quarter the actor may see it in."""
    text = " ".join(str(text).split())
    if len(text) > MAX_SEARCH:
        raise BadRequest(f"Search for at most {MAX_SEARCH} characters.")
    words = [w.lower() for w in text.split()]
    found = []
    if words:
        for code, info in ctx.published.indicators.items():
            title = str(info["title"]).lower()
            if code.lower() == text.lower() or all(w in title or w == code.lower() for w in words):
                found.append(code)
    rows = []
    if found:
        marks = ",".join("?" * len(found))
        latest = _with_catalogue(
            ctx,
            ctx.frame(
                f"select * from performance where indicator_code in ({marks}) order by quarter desc", found
            ),
        )
        for code in found:
            mine = latest[latest["indicator_code"] == code]
            seen = _keep(mine, [ctx.sees(q, p) for q, p in zip(mine["quarter"], mine["portfolio"])])
            if len(seen):
                rows.append(seen.iloc[0])
    frame = (
        _texts(pd.DataFrame(rows))
        if rows
        else pd.DataFrame(columns=[*SEARCH_TABLE, "value_text", "target_text"])
    )
    return Page(
        template="app/search.html.j2",
        title=f"Search: {text}" if text else "Search",
        csv_name="search",
        view={"query": text, "results": records(frame)},
        table=_table(ctx, frame, SEARCH_TABLE),
    )


VALUE_FOR_MONEY_TABLE = ["quarter", *OUTPUT_COLUMNS]


def _pairs(ctx: Ctx, quarter: str) -> pd.DataFrame:
    """The quarter's value-for-money rows of the pairs this actor may see.

    A pair is seen as the indicators whose benchmark metric is its outcome are: the whole quarter's
    viewers see every pair, a portfolio holder a draft quarter's pairs of their own portfolio's
    indicators (a pair whose outcome no indicator follows belongs to no portfolio)."""
    if "value_for_money" not in ctx.published.tables:  # a snapshot published before pairs were
        return pd.DataFrame(columns=VALUE_FOR_MONEY_TABLE)
    table = ctx.frame("select * from value_for_money where quarter = ? order by rowid", [quarter])
    portfolios: dict[str, set] = {}
    for info in ctx.published.indicators.values():
        if info.get("benchmark_metric"):
            portfolios.setdefault(info["benchmark_metric"], set()).add(info.get("portfolio") or "")
    seen = {
        metric
        for metric in set(table["outcome_metric"])
        if ctx.sees(quarter) or any(ctx.sees(quarter, p) for p in portfolios.get(metric, ()))
    }
    return table[table["outcome_metric"].isin(seen)]


def _scatter(ctx: Ctx, points: pd.DataFrame, row: dict, council: str) -> str:
    """`value_for_money_section`'s chart for the app: SVG, drawn when the snapshot was published."""
    return ctx.chart(
        "scatter",
        points[SCATTER_POINTS].to_dict("records"),
        {k: row[k] for k in SCATTER_FIELDS},
        council,
        f"{row['label']}: scatter of {len(points)} councils, cost per unit across, outcome up",
    )


def value_for_money(ctx: Ctx, quarter_text: str) -> Page:
    """Each pair's cost per unit beside its outcome among the comparators (SPEC §13): the
    report's section (the sentence, the scatter and its figures, the notes on years and prices)
    and the council's position in every comparator group."""
    quarter = quarter_key(ctx, quarter_text)
    table = _pairs(ctx, quarter)
    if table.empty and not ctx.sees(quarter):
        raise NotFound()
    # The points of the pairs seen (value_for_money_section takes each pair's own from them).
    points = (
        ctx.frame("select * from value_for_money_points where quarter = ? order by rowid", [quarter])
        if len(table)
        else pd.DataFrame(columns=["pair_id", "group", "is_council"])
    ).astype({"is_council": bool})
    council = ctx.published.meta["council"]
    sections = value_for_money_section(
        table, points, council, draw=lambda here, row, name: _scatter(ctx, here, row, name)
    )
    for section in sections:
        rows = records(table[table["pair_id"] == section["pair_id"]])
        section["groups"] = [
            {
                "group": GROUP_WORDS.get(r["group"], r["group"]),
                "n": int(r["n"]),
                "cost_per_unit": f"£{r['cost_per_unit']:,.2f}",
                "cost_rank": f"{int(r['cost_rank'])} of {int(r['n'])}",
                "cost_percentile": _percent(r["cost_percentile"]),
                "outcome_rank": "not ranked"
                if pd.isna(r["outcome_rank"])
                else f"{int(r['outcome_rank'])} of {int(r['n'])}",
                "outcome_percentile": _percent(r["outcome_percentile"]),
                "quadrant": r["quadrant"],
                "median_cost": f"£{r['group_median_cost']:,.2f}",
            }
            for r in rows
        ]
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/value_for_money.html.j2",
        title=f"Value for money, {Quarter.parse(quarter).label}",
        csv_name=f"value-for-money-{quarter}",
        view={"sections": sections, "partial": not ctx.sees(quarter)},
        table=_table(ctx, table, VALUE_FOR_MONEY_TABLE),
    )


def _percent(value) -> str:
    return "–" if pd.isna(value) else f"{value:.0f}"


def _pairs_naming(ctx: Ctx, code: str, quarter: str) -> list[dict]:
    """The value-for-money pairs whose outcome is this indicator's benchmark metric."""
    metric = ctx.published.indicators[code].get("benchmark_metric")
    if not metric:
        return []
    table = _pairs(ctx, quarter)
    return records(table[table["outcome_metric"] == metric].drop_duplicates("pair_id")[["pair_id", "label"]])
