"""Which runs a change to the inputs calls for, in the order they must happen.

A quarter's returns are fingerprinted by the content of the files in its folder and its lines in
the receipt log; corrections row by row. Comparing fingerprints with the last ones seen gives the
quarters whose returns changed and the quarters that changed corrections name. From those, the
runs: the reference data when corrections changed (they are in `corrections_log`), each changed
quarter's returns, then the outputs of every quarter whose figures or assessment can change, in
quarter order:

- returns of quarter Q can revise Q-3 to Q, and a quarter's assessment draws on the seven before
  it, so Q-3 to Q+7;
- a correction to quarter P changes P and the assessments of P to P+7.

Runs are a chain of steps, each started when the one before it has succeeded; the rest of the
chain travels with the run as a tag. A step names a stage (`reference`, `returns`, `outputs`);
the Dagster wiring maps each to its job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from perf_pipeline.lib.corrections import CORRECTION_FIELDS, read_corrections
from perf_pipeline.lib.files import combined_hash, sha256_of
from perf_pipeline.lib.quarters import Quarter, QuarterError, quarter_range
from perf_pipeline.lib.returns_reader import list_return_files
from perf_pipeline.lib.returns_validation import REVISION_WINDOW_QUARTERS
from perf_pipeline.lib.submissions import read_receipts

if TYPE_CHECKING:
    from perf_pipeline.settings import DataRoot

ASSESSED_QUARTERS_BEFORE = 7  # as `indicator_performance` (defs/performance.py)
REFERENCE, RETURNS, OUTPUTS = "reference", "returns", "outputs"


@dataclass(frozen=True)
class Step:
    """One run: a stage, for one quarter (None for the unpartitioned reference data)."""

    stage: str
    quarter: Quarter | None = None

    def encode(self) -> str:
        return self.stage if self.quarter is None else f"{self.stage}@{self.quarter.key}"

    @classmethod
    def decode(cls, text: str) -> Step:
        stage, _, quarter = text.partition("@")
        return cls(stage, Quarter.parse(quarter) if quarter else None)


def encode_steps(steps: list[Step]) -> str:
    return " ".join(step.encode() for step in steps)


def decode_steps(text: str) -> list[Step]:
    return [Step.decode(part) for part in text.split()]


def returns_fingerprints(root: DataRoot) -> dict[str, str]:
    """Per quarter folder under `submissions/`: a hash of its files' names and content, and of the
    quarter's lines in the receipt log (a late receipt date changes the quarter's status)."""
    receipts = read_receipts(root.submissions)
    found = {}
    for quarter in root.quarters_with_returns():
        files, _ = list_return_files(root.submissions_for(quarter), root.root)
        parts = [
            f"{path.relative_to(root.root).as_posix()}:{sha256_of(path)}" for path in files if path.is_file()
        ]
        logged = receipts[receipts["quarter"].astype(str).str.strip() == quarter.key]
        parts += [f"receipt:{row.file}:{row.received_on}" for row in logged.itertuples(index=False)]
        found[quarter.key] = combined_hash(parts)[:16]
    return found


def corrections_fingerprints(root: DataRoot) -> dict[str, str]:
    """Per correction row, whatever file it is in: a hash of its fields, and the period it names."""
    records = read_corrections(root.corrections, root.root)
    found = {}
    for record in records.to_dict("records"):
        fields = [str(record.get(c, "")) for c in CORRECTION_FIELDS]
        found[combined_hash([json.dumps(fields)])[:16]] = record.get("period", "") or ""
    return found


def fingerprints(root: DataRoot) -> dict[str, dict[str, str]]:
    """What the sensor keeps as its cursor."""
    return {"returns": returns_fingerprints(root), "corrections": corrections_fingerprints(root)}


def changed_returns(before: dict[str, str], now: dict[str, str]) -> list[Quarter]:
    """Quarters whose folder was added, changed or removed."""
    return sorted(Quarter.parse(k) for k in set(before) | set(now) if before.get(k) != now.get(k))


def changed_corrections(before: dict[str, str], now: dict[str, str]) -> tuple[bool, list[Quarter]]:
    """Whether any correction row was added, changed or removed, and the quarters those rows name."""
    rows = set(before) ^ set(now)
    quarters = set()
    for fingerprint in rows:
        try:
            quarters.add(Quarter.parse(now.get(fingerprint, before.get(fingerprint, ""))))
        except QuarterError:
            continue  # a correction naming no quarter is rejected; only the corrections log changes
    return bool(rows), sorted(quarters)


def outputs_affected(
    returns: list[Quarter], corrected: list[Quarter], first: Quarter, latest: Quarter
) -> list[Quarter]:
    """The quarters whose outputs a change can reach, within the quarters the pipeline holds."""
    reach = set()
    for q in returns:
        reach.update(quarter_range(q.shift(-REVISION_WINDOW_QUARTERS), q.shift(ASSESSED_QUARTERS_BEFORE)))
    for q in corrected:
        reach.update(quarter_range(q, q.shift(ASSESSED_QUARTERS_BEFORE)))
    return sorted(q for q in reach if first <= q <= latest)


def steps_for_changes(
    before: dict[str, dict[str, str]],
    now: dict[str, dict[str, str]],
    first: Quarter,
    latest: Quarter,
) -> list[Step]:
    """The chain of runs a change calls for (empty when nothing changed)."""
    returns = [q for q in changed_returns(before["returns"], now["returns"]) if first <= q <= latest]
    corrections_changed, corrected = changed_corrections(before["corrections"], now["corrections"])
    steps = [Step(REFERENCE)] if corrections_changed else []
    steps += [Step(RETURNS, q) for q in returns]
    steps += [Step(OUTPUTS, q) for q in outputs_affected(returns, corrected, first, latest)]
    return steps


def steps_for_quarter(quarter: Quarter, first: Quarter) -> list[Step]:
    """A quarter's returns, then the outputs of the quarters they can revise and its own."""
    revisable = quarter_range(max(quarter.shift(-REVISION_WINDOW_QUARTERS), first), quarter)
    return [Step(RETURNS, quarter), *(Step(OUTPUTS, q) for q in revisable)]
