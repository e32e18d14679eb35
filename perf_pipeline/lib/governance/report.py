"""What the pipeline makes of the governance records: the report's sections, the improvement plan
actions promoted from corrective actions, and the CSV export in the audit pack."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perf_pipeline.lib.governance.records import KINDS, SCRUTINY_STATE_LABELS
from perf_pipeline.lib.governance.stages import figures_of
from perf_pipeline.lib.governance.text import render_narrative
from perf_pipeline.lib.governance.workflow import Governance
from perf_pipeline.lib.publish import publish_csv
from perf_pipeline.lib.quarters import Quarter

EXPORT_COLUMNS = ["id", "kind", "quarter", "account", "role", "at", "replaces", "request_id"]


def _when(record) -> str:
    return f"{record.at:%-d %B %Y %H:%M} UTC"


def governance_view(data_root: Path, quarter: Quarter, performance: pd.DataFrame) -> dict:
    """The report's governance sections for a quarter; `performance` is the quarter's assessment."""
    gov = Governance(data_root)
    key = quarter.key
    chain = [
        {
            "title": s.stage.title,
            "state": s.state,
            "signed_by": f"{s.latest.account} ({s.latest.role.replace('_', ' ')})" if s.latest else "",
            "signed_at": _when(s.latest) if s.latest else "",
            "comment": s.latest.content["comment"] if s.latest else "",
            "warning": s.warning,
            "earlier": [f"{r.account} on {_when(r)}" for r in s.signoffs[:-1]],
        }
        for s in gov.chain(key, figures_of(performance))
    ]
    narratives = [
        {
            "scope": version.content["scope"],
            "subject": version.content["subject"],
            "html": render_narrative(version.content["text"]),
            "author": version.account,
            "written_at": _when(version),
            "approved_by": approval.account,
            "approved_at": _when(approval),
            "id": version.id,
        }
        for version, approval in gov.approved_narratives(key)
    ]
    actions: dict[str, list[dict]] = {}
    for r in gov.store.current("corrective_action", key):
        c = r.content
        actions.setdefault(c["indicator_code"], []).append(
            {**c, "id": r.id, "recorded_by": r.account, "recorded_at": _when(r)}
        )
    scrutiny = [
        {
            **r.content,
            "id": r.id,
            "state_label": SCRUTINY_STATE_LABELS[r.content["state"]],
            "changed_by": r.account,
            "changed_at": _when(r),
        }
        for r in gov.store.current("scrutiny", key)
    ]
    return {
        "chain": chain,
        "narratives": narratives,
        "actions": actions,
        "scrutiny": sorted(scrutiny, key=lambda s: (s["committee"], s["id"])),
        "feedback_count": len(gov.store.records("feedback", key)),
        "problems": gov.store.problems(),
    }


def plan_actions(data_root: Path, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Corrective actions promoted to the Corporate Improvement Plan, as rows of `actions.csv`."""
    directorates = catalogue.set_index("code")["directorate"]
    rows = []
    for r in Governance(data_root, stages=[]).store.current("corrective_action"):
        c = r.content
        if not c.get("plan_action_id"):
            continue
        agreed = pd.Timestamp(r.at.date())
        rows.append(
            {
                "action_id": c["plan_action_id"],
                "title": c["action"],
                "source": f"Corrective action on {c['indicator_code']}, {Quarter.parse(r.quarter).label}",
                "owner": c["owner"],
                "owner_email": c["owner_email"],
                "directorate": directorates.get(c["indicator_code"], ""),
                "start_date": agreed,
                "due_date": max(pd.Timestamp(c["due_date"]), agreed),
                "revised_due_date": pd.NaT,
                "revision_reason": None,
                "completed_on": pd.NaT,
                "agreed_on": agreed,
                "indicator_codes": c["indicator_code"],
            }
        )
    return pd.DataFrame(rows)


def export_records(data_root: Path, folder: Path) -> list[Path]:
    """Every governance record, one CSV per kind (content fields as columns), text neutralised."""
    gov = Governance(data_root, stages=[])
    written = []
    for kind, (file_name, _, model) in KINDS.items():
        fields = list(model.model_fields)
        rows = [
            {
                **{c: getattr(r, c) for c in EXPORT_COLUMNS},
                "at": r.at.isoformat(),
                **{f: r.content.get(f) for f in fields},
                # What a sign-off signed, readable in a spreadsheet: code=value pairs.
                **(
                    {"figures": "; ".join(f"{k}={v}" for k, v in r.content["figures"].items())}
                    if kind == "signoff"
                    else {}
                ),
            }
            for r in gov.store.records(kind)
        ]
        frame = pd.DataFrame(rows, columns=[*EXPORT_COLUMNS, *fields])
        written.append(publish_csv(frame, folder / file_name.replace(".jsonl", ".csv")))
    return written


def workbook_sheets(view: dict) -> list[tuple[str, pd.DataFrame]]:
    """The governance sections as sheets of the report's workbook (its writer neutralises text)."""
    chain = pd.DataFrame(
        [
            {k: s[k] for k in ("title", "state", "signed_by", "signed_at", "comment", "warning")}
            for s in view["chain"]
        ],
        columns=["title", "state", "signed_by", "signed_at", "comment", "warning"],
    )
    actions = pd.DataFrame(
        [
            {
                k: a.get(k)
                for k in (
                    "id",
                    "indicator_code",
                    "action",
                    "owner",
                    "due_date",
                    "plan_action_id",
                    "recorded_by",
                )
            }
            for listed in view["actions"].values()
            for a in listed
        ],
        columns=["id", "indicator_code", "action", "owner", "due_date", "plan_action_id", "recorded_by"],
    )
    scrutiny = pd.DataFrame(
        [
            {
                k: s[k]
                for k in ("id", "committee", "subject_type", "subject", "question", "state_label", "answer")
            }
            for s in view["scrutiny"]
        ],
        columns=["id", "committee", "subject_type", "subject", "question", "state_label", "answer"],
    )
    return [("Review", chain), ("Corrective actions", actions), ("Scrutiny", scrutiny)]
