"""What each governance record holds, with every field's size bounded.

Records are validated with pydantic before they are written and again when they are read, so a
hand-edited or damaged line is reported (file and line), never trusted. Text from users is kept
exactly as typed apart from line ends; it is escaped wherever it is shown and neutralised in CSV.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from perf_pipeline.lib.quarters import Quarter

# Control characters other than tab and newline have no place in a comment, and some (NUL, the
# bidirectional overrides) are used to hide text from a reader.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _FORBIDDEN.search(text):
        raise ValueError("contains control characters")
    return text


def _quarter_key(text: str) -> str:
    return Quarter.parse(text).key


def _text(max_length: int, min_length: int = 0):
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_clean),
    ]


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
RecordId = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[0-9]{1,9}$")]
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
QuarterKey = Annotated[str, AfterValidator(_quarter_key)]
Short = _text(200, 1)
Comment = _text(2000)
LongText = _text(10_000, 1)
MAX_FIGURES = 5000

SCRUTINY_STATES = ["proposed", "accepted", "reported_back", "closed"]
SCRUTINY_STATE_LABELS = {
    "proposed": "Proposed",
    "accepted": "Accepted into the work plan",
    "reported_back": "Reported back",
    "closed": "Closed",
}
NARRATIVE_SCOPES = ["priority", "directorate", "portfolio"]


class Content(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignOff(Content):
    """A review stage signed for a quarter, on the figures published when it was signed."""

    stage: Code
    comment: Comment = ""
    figures: dict[Code, Annotated[str, StringConstraints(max_length=40)]] = Field(max_length=MAX_FIGURES)
    figures_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Narrative(Content):
    """One version of the narrative for a priority, directorate or portfolio."""

    scope: Literal["priority", "directorate", "portfolio"]
    subject: Short
    text: LongText


class NarrativeApproval(Content):
    """Approval of one version of a narrative: that version is the one published."""

    narrative_id: RecordId


class CorrectiveAction(Content):
    """What a service will do about an exception; `plan_action_id` once it joins the improvement plan."""

    indicator_code: Code
    action: _text(2000, 1)
    owner: Short
    owner_email: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    due_date: dt.date
    plan_action_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,40}$")] | None = None


class ScrutinyItem(Content):
    """A committee's proposal for in-depth scrutiny, in its current state."""

    committee: Short
    subject_type: Literal["indicator", "directorate", "action"]
    subject: Short
    question: _text(2000, 1)
    state: Literal["proposed", "accepted", "reported_back", "closed"] = "proposed"
    answer: _text(5000) = ""


class Feedback(Content):
    """A member's feedback on a quarter's report."""

    text: _text(2000, 1)


class Record(BaseModel):
    """One line of the store: who did what, when, for which quarter, and what it replaces."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RecordId
    kind: str
    quarter: QuarterKey
    account: Name
    role: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
    at: dt.datetime
    replaces: RecordId | None = None
    request_id: RequestId
    content: dict


# kind → (file under governance/, id prefix, content model)
KINDS: dict[str, tuple[str, str, type[Content]]] = {
    "signoff": ("signoffs.jsonl", "SO", SignOff),
    "narrative": ("narratives.jsonl", "NA", Narrative),
    "narrative_approval": ("narrative-approvals.jsonl", "NP", NarrativeApproval),
    "corrective_action": ("corrective-actions.jsonl", "CA", CorrectiveAction),
    "scrutiny": ("scrutiny.jsonl", "SC", ScrutinyItem),
    "feedback": ("feedback.jsonl", "FB", Feedback),
}


def content_of(record: Record) -> Content:
    return KINDS[record.kind][2].model_validate(record.content)
