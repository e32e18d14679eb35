"""Review stages: the order a quarter's report is signed in, and what each sign-off signed.

A sign-off keeps the figures it signed (indicator code → value), so when a figure changes after a
stage was signed (a correction, a late revision) the chain can say which: "2 figures changed since
Cabinet approved on 13 November 2025: HS03, RB01". The stage may then be signed again; the earlier
sign-off stays on record.

Stages go in order on the figures as they stand: a stage can be signed once every earlier stage is
signed on the same figures, so after a correction the chain is walked again from the first stage
that signed the old figures.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.governance.records import Record
from perf_pipeline.lib.governance.store import GovernanceStore, Refused
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.validation import ReferenceDataError

GOVERNANCE_FOLDER = "governance"
APPROVALS_FILE = "approvals.csv"
APPROVAL_COLUMNS = ["quarter", "approved_by", "approved_on", "meeting"]
CAPACITIES = ["viewer", "portfolio_holder", "officer", "performance_team", "scrutiny_member"]


@dataclass(frozen=True)
class ReviewStage:
    name: str
    title: str  # reads after "since": "Cabinet approved"
    signed_by: tuple[str, ...]
    approves: bool  # signing this stage approves the quarter (Cabinet)


def load_review_stages(council: dict) -> list[ReviewStage]:
    """`[[review_stage]]` tables of council.toml, in order; none configured means no sign-offs."""
    stages, problems = [], []
    for number, table in enumerate(council.get("review_stage", []), start=1):
        where = f"council.toml [[review_stage]] {number}"
        name, signed_by = table.get("name"), table.get("signed_by")
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            problems.append(f"{where}: 'name' must be a word such as cabinet_approved")
            continue
        if not isinstance(signed_by, list) or not signed_by or set(signed_by) - set(CAPACITIES):
            problems.append(f"{where} ({name}): 'signed_by' must list some of {', '.join(CAPACITIES)}")
            continue
        if name in {s.name for s in stages}:
            problems.append(f"{where}: stage '{name}' is named twice")
            continue
        stages.append(
            ReviewStage(
                name=name,
                title=str(table.get("title") or name.replace("_", " ")),
                signed_by=tuple(signed_by),
                approves=bool(table.get("approves", False)),
            )
        )
    if sum(s.approves for s in stages) > 1:
        problems.append("council.toml: only one review stage can approve the quarter ('approves = true')")
    if problems:
        raise ReferenceDataError(problems)
    return stages


# The published figures ----------------------------------------------------------------------


def figures_of(performance: pd.DataFrame) -> dict[str, str]:
    """The quarter's published figures as signed: each indicator's value, blank when not reported."""
    figures = {}
    for code, value in zip(performance["indicator_code"], performance["value"]):
        number = None if value is None or pd.isna(value) else float(value)
        figures[str(code)] = "" if number is None or math.isnan(number) else f"{number:.10g}"
    return dict(sorted(figures.items()))


def figures_hash(figures: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()


def changed_codes(signed: dict[str, str], now: dict[str, str]) -> list[str]:
    """Indicators whose figure differs from the one signed (added or dropped ones too)."""
    return sorted(code for code in signed.keys() | now.keys() if signed.get(code) != now.get(code))


# The chain ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageStatus:
    stage: ReviewStage
    signoffs: list[Record]  # every sign-off of this stage for the quarter, oldest first
    changed: list[str]  # figures changed since the latest sign-off
    may_sign: bool  # every earlier stage is signed on the current figures, this one is not

    @property
    def latest(self) -> Record | None:
        return self.signoffs[-1] if self.signoffs else None

    @property
    def current(self) -> bool:
        """Signed on the figures as they stand."""
        return self.latest is not None and not self.changed

    @property
    def state(self) -> str:
        if self.latest is None:
            return "Not signed"
        return "Signed" if not self.changed else "Figures changed since signing"

    @property
    def warning(self) -> str:
        if not self.changed or self.latest is None:
            return ""
        n = len(self.changed)
        return (
            f"{n} figure{'s' if n != 1 else ''} changed since {self.stage.title} on "
            f"{self.latest.at:%-d %B %Y}: {', '.join(self.changed)}"
        )


def review_chain(
    stages: list[ReviewStage], signoffs: list[Record], figures: dict[str, str]
) -> list[StageStatus]:
    """Where each stage of one quarter stands against the figures as they are now."""
    chain, earlier_current = [], True
    for stage in stages:
        mine = [r for r in signoffs if r.content["stage"] == stage.name]
        changed = changed_codes(mine[-1].content["figures"], figures) if mine else []
        status = StageStatus(stage, mine, changed, may_sign=False)
        status = StageStatus(stage, mine, changed, may_sign=earlier_current and not status.current)
        earlier_current = earlier_current and status.current
        chain.append(status)
    return chain


def check_sign(stages: list[ReviewStage], stage_name: str, quarter: str, figures: dict[str, str]):
    """The rule a sign-off must pass, run under the store's lock with every sign-off recorded."""

    def check(records: list[Record]) -> None:
        chain = review_chain(stages, [r for r in records if r.quarter == quarter], figures)
        for status in chain:
            if status.stage.name != stage_name:
                continue
            if status.current:
                raise Refused(
                    f"{status.stage.title} is already signed on these figures "
                    f"(by {status.latest.account} on {status.latest.at:%-d %B %Y})."
                )
            if not status.may_sign:
                waiting = next(s for s in chain if not s.current)
                raise Refused(f"Stages are signed in order: '{waiting.stage.title}' comes first.")
            return
        raise Refused(f"There is no review stage '{stage_name}'.")

    return check


# Approval -----------------------------------------------------------------------------------


def approvals_table(data_root: Path, stages: list[ReviewStage]) -> pd.DataFrame:
    """Every approval: the hand-kept `reference/approvals.csv` rows, then the approving stage's
    sign-offs from the store (which come later, so they win for a quarter that has both)."""
    path = data_root / "reference" / APPROVALS_FILE
    kept = (
        pd.read_csv(path, dtype=str, keep_default_na=False)
        if path.is_file()
        else pd.DataFrame(columns=APPROVAL_COLUMNS)
    )
    approving = {s.name: s for s in stages if s.approves}
    signed = [
        {
            "quarter": r.quarter,
            "approved_by": approving[r.content["stage"]].title.removesuffix(" approved"),
            "approved_on": r.at.date().isoformat(),
            "meeting": r.content.get("comment", ""),
            "recorded_by": f"{r.account} ({r.role})",
            "signoff_id": r.id,
        }
        for r in GovernanceStore(data_root / GOVERNANCE_FOLDER).records("signoff")
        if r.content["stage"] in approving
    ]
    return pd.concat([kept, pd.DataFrame(signed, columns=[*APPROVAL_COLUMNS, "recorded_by", "signoff_id"])])


def quarter_approved(approvals: pd.DataFrame, quarter: Quarter) -> dict | None:
    """The approval of a quarter (the latest on record), or None for a draft.

    The one rule the app and the reports share: a quarter is approved when its approving stage
    (Cabinet) is signed in the app or it has a row in the hand-kept `approvals.csv`.
    """
    if approvals.empty:
        return None
    keys = approvals["quarter"].map(_quarter_key)
    rows = approvals[keys == quarter.key]
    return None if rows.empty else rows.iloc[-1].to_dict()


def _quarter_key(text) -> str | None:
    try:
        return Quarter.parse(str(text)).key
    except ValueError:
        return None


def load_stages_for(data_root: Path) -> list[ReviewStage]:
    from perf_pipeline.lib.reference import load_council

    return load_review_stages(load_council(data_root / "reference" / "council.toml"))
