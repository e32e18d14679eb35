"""The framework's pages of the app: change programmes (one page each), strategic risks, and tags.

Built from the snapshot with the report's own functions (`lib/framework_report.py`). Programmes,
milestones and risks belong to the whole council, so these pages need the whole quarter
(`Ctx.sees(quarter)`): a portfolio holder looking at a draft gets the same 404 as for anything
else not theirs to see. The indicator statuses they show come through `visible_rows`.
"""

from __future__ import annotations

import pandas as pd

from perf_pipeline.app.pages import NotFound, Page, _page_for_quarter, _table, quarter_key, visible_rows
from perf_pipeline.lib import report
from perf_pipeline.lib.framework import with_tag
from perf_pipeline.lib.framework_report import programme_rows, risk_rows, tag_tables
from perf_pipeline.lib.quarters import Quarter


def _whole_quarter(ctx, quarter_text: str) -> str:
    quarter = quarter_key(ctx, quarter_text)
    if not ctx.sees(quarter):
        raise NotFound()
    return quarter


def _frame(ctx, table: str, quarter: str | None = None) -> pd.DataFrame:
    """A framework table of the snapshot (empty when the snapshot predates it)."""
    names = {r[0] for r in ctx.con.execute("select name from sqlite_master where type = 'table'")}
    if table not in names:
        return pd.DataFrame()
    if quarter is None:
        return ctx.frame(f"select * from {table}")
    return ctx.frame(f"select * from {table} where quarter = ?", [quarter])


def _programmes(ctx, quarter: str) -> list[dict]:
    programmes = _frame(ctx, "programmes")
    if programmes.empty:
        return []
    milestones = _frame(ctx, "milestones", quarter)
    benefits = _frame(ctx, "benefits", quarter)
    for column in ("baseline_date", "forecast_date", "completed_on"):
        milestones[column] = pd.to_datetime(milestones.get(column), errors="coerce")
    catalogue = pd.DataFrame(ctx.published.indicators.values())
    return programme_rows(programmes, milestones, benefits, visible_rows(ctx, quarter), catalogue)


def programmes(ctx, quarter_text: str) -> Page:
    """Every change programme: its milestones and benefits at a glance, linking to its own page."""
    quarter = _whole_quarter(ctx, quarter_text)
    rows = _programmes(ctx, quarter)
    table = pd.DataFrame(
        [
            {
                "programme_id": p["programme_id"],
                "name": p["name"],
                "sponsor": p["sponsor"],
                **{f"milestones_{k.lower().replace(' ', '_')}": v for k, v in p["milestone_counts"].items()},
                **{f"benefits_{k.lower().replace(' ', '_')}": v for k, v in p["benefit_counts"].items()},
                "quarter": quarter,
            }
            for p in rows
        ]
    )
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/programmes.html.j2",
        title=f"Change programmes, {Quarter.parse(quarter).label}",
        csv_name=f"programmes-{quarter}",
        view={"programmes": rows},
        table=_table(ctx, table, list(table.columns)) if len(table) else None,
    )


def programme(ctx, quarter_text: str, programme_id: str) -> Page:
    """One change programme: aim, sponsor, KPIs this quarter, milestones and benefits."""
    quarter = _whole_quarter(ctx, quarter_text)
    chosen = [p for p in _programmes(ctx, quarter) if p["programme_id"] == programme_id]
    if not chosen:
        raise NotFound()
    p = chosen[0]
    table = pd.DataFrame(p["milestones"]).reindex(
        columns=[
            "milestone_id",
            "title",
            "owner",
            "baseline",
            "forecast",
            "completed",
            "status",
            "days_slipped",
        ]
    )
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/programme.html.j2",
        title=f"{p['name']}, {Quarter.parse(quarter).label}",
        csv_name=f"programme-{programme_id}-{quarter}",
        view={"p": p},
        table=table.assign(quarter=quarter, publication_status=ctx.publication(quarter)),
        breadcrumbs=[(f"/q/{quarter}/programmes", "Change programmes")],
    )


def risks(ctx, quarter_text: str) -> Page:
    """The strategic risks at the quarter's end, with the evidence and the flags for a person to check."""
    quarter = _whole_quarter(ctx, quarter_text)
    frame = _frame(ctx, "risks", quarter)
    rows = risk_rows(frame.fillna({"flag": ""})) if len(frame) else []
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/risks.html.j2",
        title=f"Strategic risks, {Quarter.parse(quarter).label}",
        csv_name=f"risks-{quarter}",
        view={"risks": rows},
        table=_table(ctx, frame, list(frame.columns)) if len(frame) else None,
    )


def tags(ctx, quarter_text: str, vocabulary: str = "", value: str = "") -> Page:
    """Indicators by the council's tags: counts for every vocabulary, or one tag's indicators."""
    quarter = quarter_key(ctx, quarter_text)
    all_tags = _frame(ctx, "tags")
    current = visible_rows(ctx, quarter)
    current = current[current["rag_status"] != "Not due"]
    chosen = []
    if vocabulary:
        if all_tags.empty or vocabulary not in set(all_tags["vocabulary"]):
            raise NotFound()
        codes = set(with_tag(all_tags, "indicator", vocabulary, value or None))
        chosen = current[current["indicator_code"].isin(codes)].sort_values("indicator_code")
    tables = tag_tables(current, all_tags) if len(all_tags) else []
    shown = chosen if len(chosen) else current.iloc[0:0]
    labels = (
        all_tags.drop_duplicates(["vocabulary", "value"]).set_index(["vocabulary", "value"])["label"]
        if len(all_tags)
        else {}
    )
    return _page_for_quarter(
        ctx,
        quarter,
        template="app/tags.html.j2",
        title=f"By tag, {Quarter.parse(quarter).label}",
        csv_name=f"tags-{quarter}",
        view={
            "tag_tables": tables,
            "counted": report.COUNTED,
            "vocabulary": vocabulary,
            "value": value,
            "value_label": labels.get((vocabulary, value), value) if value else "",
            "chosen": shown.to_dict("records"),
        },
        table=_table(ctx, shown, ["quarter", "indicator_code", "title", "value", "target", "rag_status"]),
    )
