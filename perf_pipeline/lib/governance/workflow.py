"""Every governance write: the role is checked, then the rules of the stage or state, then the
record is appended (once per request id). The app's forms call these and nothing else."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from perf_pipeline.lib.governance.records import SCRUTINY_STATES, Record
from perf_pipeline.lib.governance.roles import allowed
from perf_pipeline.lib.governance.stages import (
    GOVERNANCE_FOLDER,
    ReviewStage,
    check_sign,
    figures_hash,
    load_stages_for,
    review_chain,
)
from perf_pipeline.lib.governance.store import Actor, GovernanceStore, Refused


class NotAllowed(Refused):
    """The actor's role may not do this (the app answers 403)."""


# Who may move a scrutiny item into each state, and from which state.
SCRUTINY_MOVES = {
    "accepted": ("proposed", "accept_scrutiny"),
    "reported_back": ("accepted", "report_back_scrutiny"),
    "closed": ("reported_back", "close_scrutiny"),
}


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise NotAllowed(f"Your role may not {what}.")


class Governance:
    """The governance workflow of one data root."""

    def __init__(self, data_root: Path, stages: list[ReviewStage] | None = None):
        self.root = Path(data_root)
        self.store = GovernanceStore(self.root / GOVERNANCE_FOLDER)
        self.stages = load_stages_for(self.root) if stages is None else stages

    # Review ---------------------------------------------------------------------------------

    def chain(self, quarter: str, figures: dict[str, str]):
        return review_chain(self.stages, self.store.records("signoff", quarter), figures)

    def sign(
        self, actor: Actor, quarter: str, stage: str, figures: dict[str, str], comment: str, request_id: str
    ) -> tuple[Record, bool]:
        found = next((s for s in self.stages if s.name == stage), None)
        if found is None:
            raise Refused(f"There is no review stage '{stage}'.")
        _require(allowed(actor, "sign", signed_by=found.signed_by), f"sign '{found.title}'")
        return self.store.append(
            "signoff",
            quarter=quarter,
            actor=actor,
            content={
                "stage": stage,
                "comment": comment,
                "figures": figures,
                "figures_hash": figures_hash(figures),
            },
            request_id=request_id,
            check=check_sign(self.stages, stage, quarter, figures),
        )

    # Narrative ------------------------------------------------------------------------------

    def write_narrative(
        self,
        actor: Actor,
        quarter: str,
        scope: str,
        subject: str,
        text: str,
        request_id: str,
        replaces: str | None = None,
    ) -> tuple[Record, bool]:
        _require(
            allowed(actor, "write_narrative", scope=scope, subject=subject),
            f"write the narrative for {subject}",
        )
        if replaces is not None and (
            (old := self.store.get("narrative", replaces)) is None
            or (old.quarter, old.content["scope"], old.content["subject"]) != (quarter, scope, subject)
        ):
            raise Refused(f"{replaces} is not a version of the narrative for {subject}.")

        def first_version_only(records: list[Record]) -> None:
            # A second "first version" of the same subject would fork its history: it must
            # replace the latest version instead (and two edits of one version conflict).
            if replaces is None:
                for r in records:
                    if (r.quarter, r.content["scope"], r.content["subject"]) == (quarter, scope, subject):
                        raise Refused(
                            f"A narrative for {subject} already exists ({r.id} by {r.account}): edit it."
                        )

        return self.store.append(
            "narrative",
            quarter=quarter,
            actor=actor,
            content={"scope": scope, "subject": subject, "text": text},
            request_id=request_id,
            replaces=replaces,
            check=first_version_only,
        )

    def latest_narrative(self, quarter: str, scope: str, subject: str) -> Record | None:
        heads = [
            r
            for r in self.store.current("narrative", quarter)
            if (r.content["scope"], r.content["subject"]) == (scope, subject)
        ]
        return heads[-1] if heads else None

    def approve_narrative(self, actor: Actor, quarter: str, narrative_id: str, request_id: str):
        version = self.store.get("narrative", narrative_id)
        if version is None or version.quarter != quarter:
            raise Refused(f"There is no narrative {narrative_id} for this quarter.")
        _require(
            allowed(
                actor,
                "approve_narrative",
                scope=version.content["scope"],
                subject=version.content["subject"],
                author=version.account,
            ),
            "approve this narrative (nobody approves a version they wrote)",
        )
        return self.store.append(
            "narrative_approval",
            quarter=quarter,
            actor=actor,
            content={"narrative_id": narrative_id},
            request_id=request_id,
        )

    def approved_narratives(self, quarter: str) -> list[tuple[Record, Record]]:
        """For each subject, its latest approved version and the approval: (version, approval)."""
        versions = {r.id: r for r in self.store.records("narrative", quarter)}
        latest: dict[tuple[str, str], tuple[Record, Record]] = {}
        for approval in self.store.records("narrative_approval", quarter):
            version = versions.get(approval.content["narrative_id"])
            if version is None:
                continue
            key = (version.content["scope"], version.content["subject"])
            if key not in latest or _number(version.id) >= _number(latest[key][0].id):
                latest[key] = (version, approval)
        return [latest[k] for k in sorted(latest)]

    # Corrective actions --------------------------------------------------------------------

    def record_corrective_action(
        self,
        actor: Actor,
        quarter: str,
        indicator_code: str,
        action: str,
        owner: str,
        owner_email: str,
        due_date: dt.date | str,
        request_id: str,
        exceptions: set[str] | None = None,
    ) -> tuple[Record, bool]:
        _require(allowed(actor, "record_corrective_action"), "record corrective actions")
        if exceptions is not None and indicator_code not in exceptions:
            raise Refused(f"{indicator_code} is not an exception this quarter.")
        return self.store.append(
            "corrective_action",
            quarter=quarter,
            actor=actor,
            content={
                "indicator_code": indicator_code,
                "action": action,
                "owner": owner,
                "owner_email": owner_email,
                "due_date": str(due_date),
            },
            request_id=request_id,
        )

    def promote(self, actor: Actor, quarter: str, action_id: str, request_id: str) -> tuple[Record, bool]:
        """Make a corrective action an action of the Corporate Improvement Plan."""
        _require(allowed(actor, "promote_corrective_action"), "add actions to the improvement plan")
        old = self.store.get("corrective_action", action_id)
        if old is None or old.quarter != quarter:
            raise Refused(f"There is no corrective action {action_id} for this quarter.")
        if old.content.get("plan_action_id"):
            raise Refused(f"{action_id} is already improvement plan action {old.content['plan_action_id']}.")
        return self.store.append(
            "corrective_action",
            quarter=quarter,
            actor=actor,
            content={**old.content, "plan_action_id": plan_action_id(action_id)},
            request_id=request_id,
            replaces=action_id,
        )

    # Scrutiny ------------------------------------------------------------------------------

    def propose_scrutiny(
        self, actor: Actor, quarter: str, subject_type: str, subject: str, question: str, request_id: str
    ) -> tuple[Record, bool]:
        committee = actor.committee or ""
        _require(allowed(actor, "propose_scrutiny", committee=committee), "propose scrutiny items")
        return self.store.append(
            "scrutiny",
            quarter=quarter,
            actor=actor,
            content={
                "committee": committee,
                "subject_type": subject_type,
                "subject": subject,
                "question": question,
                "state": "proposed",
            },
            request_id=request_id,
        )

    def move_scrutiny(
        self, actor: Actor, quarter: str, item_id: str, state: str, request_id: str, answer: str = ""
    ) -> tuple[Record, bool]:
        old = self.store.get("scrutiny", item_id)
        if old is None or old.quarter != quarter:
            raise Refused(f"There is no scrutiny item {item_id} for this quarter.")
        if state not in SCRUTINY_MOVES:
            raise Refused(f"'{state}' is not a state an item moves to ({', '.join(SCRUTINY_STATES[1:])}).")
        before, action = SCRUTINY_MOVES[state]
        _require(allowed(actor, action, committee=old.content["committee"]), action.replace("_", " "))
        if old.content["state"] != before:
            raise Refused(
                f"Only a {before.replace('_', ' ')} item can be moved to {state.replace('_', ' ')}."
            )
        if state == "reported_back" and not answer.strip():
            raise Refused("Reporting back needs the answer.")
        return self.store.append(
            "scrutiny",
            quarter=quarter,
            actor=actor,
            content={**old.content, "state": state, "answer": answer or old.content["answer"]},
            request_id=request_id,
            replaces=item_id,
        )

    # Feedback ------------------------------------------------------------------------------

    def leave_feedback(self, actor: Actor, quarter: str, text: str, request_id: str) -> tuple[Record, bool]:
        _require(allowed(actor, "leave_feedback"), "leave feedback")
        return self.store.append(
            "feedback", quarter=quarter, actor=actor, content={"text": text}, request_id=request_id
        )


def plan_action_id(corrective_action_id: str) -> str:
    return f"CIP-{corrective_action_id}"


def _number(record_id: str) -> int:
    return int(record_id[2:])
