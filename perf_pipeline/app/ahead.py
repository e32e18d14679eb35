"""Charts drawn when the snapshot is published, so that pages do not draw them when asked.

A chart depends on who asks: a draft quarter's figures, or a figure restated in a quarter not yet
approved, are in some people's charts and not in others'. Every role's view is made of two: all
the figures (officers, the performance team, a portfolio holder's own portfolio) and the approved
quarters' only (viewers, and a portfolio holder's view of other portfolios), as the approvals
stand when the snapshot is published. So the pages are asked, as one actor of each, which charts
they would show, by the same functions that show them (`Ctx.chart` is only recorded here). A view
that approvals changed since is drawn by the page that first needs it, and kept in memory.

A chart already in the previous snapshot is copied, not drawn again: charts are found by what they
show (`charts.chart_key`), so only a new quarter's or a changed figure's are drawn: by worker
processes across the cores when there are enough of them to pay for the workers' start
(`charts.drawn`), as a first publication of a large council's has (1,100 for 500 indicators).

Only the latest two quarters' pages are drawn ahead (the quarter under review and the one before
it: the pages councillors follow links to); an older quarter's page draws its charts on its first
visit and keeps them in memory. The snapshot is published once after a plan of runs, not once per
quarter it rebuilt (`SNAPSHOT_REPUBLISHED`): drawing every chart of every quarter at every
publication once took the example's replay of eighteen quarters 66 publications of up to 1,122
charts.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from perf_pipeline.app import charts, pages
from perf_pipeline.app.permissions import PERFORMANCE_TEAM, VIEWER, Actor, Approvals
from perf_pipeline.app.snapshot import SnapshotReader

log = logging.getLogger(__name__)
AHEAD_QUARTERS = 2
EVERYTHING = Actor(name="(publishing: everything)", role=PERFORMANCE_TEAM)
APPROVED_ONLY = Actor(name="(publishing: approved only)", role=VIEWER)


@dataclass
class _Asked(pages.Ctx):
    """A page context that records the charts a page asks for instead of finding or drawing them."""

    asked: dict = field(default_factory=dict)

    def chart(self, kind: str, *args) -> str:
        self.asked[charts.chart_key(kind, args)] = (kind, args)
        return ""


def charts_ahead(snapshot: Path, data_root: Path, previous: Path | None) -> tuple[pd.DataFrame, dict]:
    """Every chart the latest quarters' pages of `snapshot` would show either view (`key`, `svgz`:
    `charts.pack`), and how many were drawn and copied from `previous`."""
    asked = wanted(snapshot, data_root)
    kept = _kept(previous, list(asked))
    drawn = charts.drawn({key: chart for key, chart in asked.items() if key not in kept})
    return (
        pd.DataFrame({"key": [*kept, *drawn], "svgz": [*kept.values(), *drawn.values()]}),
        {"charts_drawn": len(drawn), "charts_copied": len(kept)},
    )


def wanted(snapshot: Path, data_root: Path) -> dict[str, tuple[str, tuple]]:
    """The charts the latest quarters' pages of `snapshot` would show either view, by key
    (`charts.chart_key`): each one's kind and arguments (`charts.DRAW`)."""
    asked: dict = {}
    reader = SnapshotReader(snapshot)
    approvals = Approvals(data_root)
    with closing(reader.connect()) as con:
        published = reader.published(con)
        for actor in (EVERYTHING, APPROVED_ONLY):
            ctx = _Asked(con, published, actor, approvals, asked=asked)
            for quarter in published.quarters[-AHEAD_QUARTERS:]:
                if not ctx.opens(quarter):
                    continue
                pages.trend_charts(ctx, quarter)
                if actor is EVERYTHING:  # comparators' figures are published: the same for everyone
                    for code, info in published.indicators.items():
                        pages.dot_plot(ctx, code, quarter, info)
                    pages.value_for_money(ctx, quarter)
    return asked


def _kept(previous: Path | None, keys: list[str]) -> dict[str, str]:
    """The charts among `keys` that the previous snapshot holds (packed, copied as they are)."""
    if previous is None or not previous.is_file():
        return {}
    try:
        with closing(sqlite3.connect(f"{previous.absolute().as_uri()}?mode=ro", uri=True)) as con:
            con.execute("create temp table wanted (key text primary key)")
            con.executemany("insert into temp.wanted values (?)", [(k,) for k in keys])
            return dict(con.execute("select key, svgz from charts join temp.wanted using (key)"))
    except sqlite3.Error as exc:  # an older snapshot without charts, or an unreadable one: draw all
        log.info("no charts reused from %s: %s", previous, exc)
        return {}
