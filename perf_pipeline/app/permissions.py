"""Who sees what: one function, `may_see`, decides for every page, chart, download, search result
and error; what it refuses is answered as if it did not exist (404)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from perf_pipeline.lib.governance.store import Actor
from perf_pipeline.lib.quarters import Quarter, QuarterError

VIEWER, PORTFOLIO_HOLDER, OFFICER, PERFORMANCE_TEAM = (
    "viewer",
    "portfolio_holder",
    "officer",
    "performance_team",
)
ROLES = (VIEWER, PORTFOLIO_HOLDER, OFFICER, PERFORMANCE_TEAM)
SEES_EVERY_DRAFT = {OFFICER, PERFORMANCE_TEAM}


PUBLIC = Actor(name="(public)", role=VIEWER)


def may_see(actor: Actor | None, quarter: str, approved: bool, portfolio: str | None = None) -> bool:
    """May `actor` see figures of `quarter`? `portfolio` None asks for the whole quarter; a
    portfolio name asks for that portfolio's figures only ("" for a service with no portfolio).

    Approved quarters: everyone signed in (and the public, where the council allows it).
    Drafts: officers and the performance team; a portfolio holder, their own portfolio's figures.
    """
    if actor is None or actor.role not in ROLES:
        return False
    if approved or actor.role in SEES_EVERY_DRAFT:
        return True
    return actor.role == PORTFOLIO_HOLDER and bool(portfolio) and portfolio == actor.portfolio


def may_open(actor: Actor | None, quarter: str, approved: bool) -> bool:
    """May `actor` open a quarter's pages at all (the whole of it, or their own portfolio's part)."""
    return may_see(actor, quarter, approved) or (
        actor is not None and may_see(actor, quarter, approved, actor.portfolio)
    )


class Approvals:
    """Which quarters are approved: `quarter_approved` over Cabinet's sign-offs in the governance
    store and the hand-kept `reference/approvals.csv`, reread when either file changes."""

    def __init__(self, data_root: Path):
        from perf_pipeline.lib.governance.stages import GOVERNANCE_FOLDER, load_stages_for
        from perf_pipeline.lib.governance.store import GovernanceStore

        self._root = data_root
        self._stages = load_stages_for(data_root)
        self._files = (
            data_root / "reference" / "approvals.csv",
            GovernanceStore(data_root / GOVERNANCE_FOLDER).path("signoff"),
        )
        self._lock = threading.Lock()
        self._seen: tuple | None = None
        self._rows: dict[str, dict] = {}

    def version(self) -> tuple:
        """Changes whenever either file does: part of the key of anything worked out from approvals."""
        return tuple(_stamp(path) for path in self._files)

    def _current(self) -> dict[str, dict]:
        key = self.version()
        with self._lock:
            if key != self._seen:
                self._rows = self._read()
                self._seen = key
            return self._rows

    def _read(self) -> dict[str, dict]:
        from perf_pipeline.lib.governance.stages import approvals_table, quarter_approved

        table = approvals_table(self._root, self._stages)
        rows = {}
        for text in table["quarter"].unique():
            try:
                quarter = Quarter.parse(text)
            except QuarterError:
                continue
            rows[quarter.key] = quarter_approved(table, quarter)
        return rows

    def is_approved(self, quarter: str) -> bool:
        return quarter in self._current()

    def approval(self, quarter: str) -> dict | None:
        return self._current().get(quarter)


def _stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
