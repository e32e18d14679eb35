"""The audit trail: from any published figure back to the file and row it came from.

`figure_provenance` gives one row per published figure; `calculation_notes` says how every
figure was computed, with the rule parameters in force, so an auditor can recalculate by hand.
"""

from __future__ import annotations

import pandas as pd

from perf_pipeline.lib.formatting import format_value
from perf_pipeline.lib.performance import RagRule
from perf_pipeline.lib.quarters import Quarter

# The row rules each accepted row passed, in order, and the blocking asset checks a figure passed
# before it could be published (a failed blocking check stops everything downstream of it).
ROW_RULES = "code known; period valid; due; status valid; number; ratio consistent; in range; not duplicated"
BLOCKING_CHECKS = [
    "service_returns_validated:every_row_accounted_for",
    "service_returns_validated:validated_rows_well_formed",
    "indicator_values:one_row_per_indicator_and_quarter",
    "indicator_values:values_within_valid_range",
    "indicator_performance:one_assessment_per_indicator",
]
PROVENANCE_COLUMNS = [
    "indicator_code",
    "quarter",
    "published_value",
    "source_file",
    "source_sha256",
    "source_row",
    "raw_value",
    "parsed_value",
    "corrections",
    "correction_details",
    "checks",
    "code_version",
    "run_id",
    "rag_status",
    "target",
    "data_status",
    "is_revision",
    "source_quarter",
]


def figure_provenance(
    values: pd.DataFrame,
    performance: pd.DataFrame,
    corrections_log: pd.DataFrame,
    code_version: str,
    run_id: str,
) -> pd.DataFrame:
    """One row per figure the quarter publishes, tracing it to its source and every correction."""
    published = performance[performance["value"].notna()][["indicator_code", "value", "rag_status", "target"]]
    merged = published.merge(values, on="indicator_code", how="left", suffixes=("", "_values"))
    # Only applied corrections are named in a figure's trail; their ids are unique (a repeated id
    # is rejected), unlike the whole log's.
    applied = corrections_log[corrections_log["status"] == "accepted"]
    details = applied.set_index("correction_id") if len(applied) else None

    def describe(ids: str) -> str:
        if not ids or details is None:
            return ""
        parts = []
        for cid in ids.split(";"):
            c = details.loc[cid]
            approved_on = (
                pd.Timestamp(c["approved_on"]).date().isoformat() if pd.notna(c["approved_on"]) else ""
            )
            parts.append(
                f"{cid}: {c['reason']} (requested by {c['requested_by']}, approved by "
                f"{c['approved_by']} on {approved_on}; {c['file']} row {c['row']})"
            )
        return " | ".join(parts)

    out = pd.DataFrame(
        {
            "indicator_code": merged["indicator_code"],
            "quarter": merged["quarter"],
            "published_value": merged["value"],
            "source_file": merged["source_file"],
            "source_sha256": merged["source_sha256"],
            "source_row": merged["source_row"].astype("Int64"),
            "raw_value": merged["raw_value"],
            "parsed_value": merged["received_value"],
            "corrections": merged["corrections"].fillna(""),
            "correction_details": merged["corrections"].fillna("").map(describe),
            "checks": f"{ROW_RULES}; " + "; ".join(BLOCKING_CHECKS),
            "code_version": code_version,
            "run_id": run_id,
            "rag_status": merged["rag_status"],
            "target": merged["target"],
            "data_status": merged["data_status"],
            "is_revision": merged["is_revision"],
            "source_quarter": merged["source_quarter"],
        }
    )
    return out[PROVENANCE_COLUMNS].sort_values("indicator_code").reset_index(drop=True)


def _rule_text(name: str, rule: RagRule) -> str:
    unit = "of the target" if rule.tolerance_type == "relative" else "in the indicator's own units"
    scale = (lambda x: f"{x:.0%}") if rule.tolerance_type == "relative" else (lambda x: f"{x:g}")
    text = (
        f"- `{name}`: Green when the shortfall is at most {scale(rule.green_within)} {unit}; Amber when at most "
        f"{scale(rule.amber_within)} {unit}"
    )
    if rule.amber_if_improved:
        text += "; beyond that, Amber if better than the same quarter last year"
    return text + "; otherwise Red."


def calculation_notes(
    quarter: Quarter,
    rules: dict[str, RagRule],
    catalogue: pd.DataFrame,
    targets: pd.DataFrame,
    code_version: str,
) -> str:
    """How every figure in the quarter's report was computed, with the parameters in force."""
    lines = [
        f"# Calculation notes: {quarter.label}",
        "",
        f"Code version `{code_version}`. Every rule below is applied as written; the parameters are those in",
        "force for this quarter. A figure can be recalculated by hand from its source row",
        "(`figure-provenance.csv`) with these notes.",
        "",
        "## Indicator values",
        "- A quarter's figure is the one in that quarter's return, unless a return of one of the next three",
        "  quarters revised it (the latest return wins), then approved corrections in order of approval (the",
        "  latest wins). Corrections without a reason or approver are never applied.",
        "- Numbers are read as services write them: `85%` is 85, `1,234` is 1234, `£2,500` is 2500; `n/a`,",
        "  `tbc` and blanks are not reported. Where value is blank, it is numerator ÷ denominator (× 100 for",
        "  percentages).",
        "",
        "## Target in force",
        "- The quarter's profiled target if there is one, else the year's. Of several set for the same period,",
        "  the latest set on or before the quarter's last day applies.",
        "",
        "## RAG status",
        "- Value and target are first rounded half up to the indicator's reported precision (`decimals`).",
        "- The shortfall is target − value when higher is better, value − target when lower is better.",
        "- A relative tolerance is a fraction of |target|; on a zero target it is zero. A value exactly on a",
        "  boundary takes the better status. An explicit `amber_threshold` on the target replaces the rule's",
        "  amber tolerance: Amber when the value is at least as good as the threshold.",
        "- Grey: polarity none, or no target. Not reported: due but no value. Not due: annual indicators outside",
        "  Q4, indicators not yet active or retired.",
        "",
        "Rules in force:",
        *[_rule_text(name, rule) for name, rule in sorted(rules.items())],
        "",
        "## Direction of travel",
        "- Short term against the previous quarter, long term against the same quarter last year, compared at",
        "  reported precision: Improving, Worsening, No change; Up, Down, No change for polarity none; No",
        "  comparison when either is missing. Cumulative indicators compare their quarter's own part (this",
        "  quarter's year-to-date figure minus the last quarter's) in the short term.",
        "",
        "## Year to date",
        "- sum: total of the year's quarters so far (all must be reported); target the sum of their targets.",
        "- mean: mean of the quarters reported; target the mean of their targets.",
        "- last: the latest quarter's value and target.",
        "- ratio: summed numerators ÷ summed denominators (× 100 for percentages); target weighted by denominator.",
        "- cumulative: the value reported is already year to date; target the quarter's (profiled) target.",
        "",
        "## Comparator position",
        "- n counts the group's authorities with a value for the period compared (the council included); rank 1",
        "  is best by polarity and ties share the better rank; quartile = 1 + floor(4 × (rank − 1) ÷ n);",
        "  distance from the median is in median absolute deviations; beyond 3 is flagged for checking.",
        "",
        "## Indicators and their rules this quarter",
        "",
        "| code | unit | polarity | decimals | ytd_method | rag_rule | target | amber_threshold | target set on | reason |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    in_force = targets.set_index("code") if len(targets) else pd.DataFrame()
    for row in catalogue.sort_values("code").itertuples(index=False):
        target = in_force.loc[row.code] if row.code in in_force.index else None
        cells = [row.code, row.unit, row.polarity, str(row.decimals), row.ytd_method, row.rag_rule]
        if target is not None:
            set_on = (
                pd.Timestamp(target["target_set_on"]).date().isoformat()
                if pd.notna(target["target_set_on"])
                else ""
            )
            amber = "" if pd.isna(target["amber_threshold"]) else f"{target['amber_threshold']:g}"
            cells += [f"{target['target']:g}", amber, set_on, str(target["target_reason"]).replace("|", "/")]
        else:
            cells += ["", "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def trace_lines(code: str, quarter: Quarter, figure, on_disk: str | None) -> list[str]:
    """The chain from source row to published value for one figure, in plain words (`perf-pipeline
    trace`). `figure` holds the warehouse's records of it; `on_disk` is the sha256 of its source
    file as it is now (None when the file is gone)."""
    value, assessed, indicator, published, raw, corrections = (
        figure.value,
        figure.assessed,
        figure.indicator,
        figure.published,
        figure.raw,
        figure.corrections,
    )
    unit, decimals = indicator["unit"], int(indicator["decimals"])
    lines: list[str] = []
    say = lines.append

    def shown(x) -> str:
        return format_value(x, unit, decimals, indicator.get("unit_label"))

    say(f"{code} {indicator['title']}, {quarter.label}")
    say(
        f"  Published value: {shown(value['value'])} ({value['reporting_status'].replace('_', ' ')}, "
        f"{value['data_status'] or 'no'} data)"
    )
    step = 1
    if figure.derivation:
        say(f"{step}. " + "\n".join(figure.derivation))
        step += 1
    elif value["source_file"]:
        now = on_disk
        state = (
            "the file on disk still has this hash"
            if now == value["source_sha256"]
            else "the file on disk has CHANGED since"
            if now
            else "the file is no longer on disk"
        )
        say(
            f"{step}. Received in {value['source_file']}, row {int(value['source_row'])} "
            f"(sha256 {value['source_sha256']}; {state})."
        )
        if raw:
            say(
                f"   As written: value '{raw['value']}', numerator '{raw['numerator']}', denominator "
                f"'{raw['denominator']}', period '{raw['period'] or '(blank: the folder quarter)'}', status "
                f"'{raw['status'] or '(blank: final)'}'; read as {shown(value['received_value'] if not value['is_revision'] else value['value'])}."
            )
        if value["is_revision"]:
            say(
                f"   This is a revision sent with the {Quarter.parse(value['source_quarter']).label} return; the figure "
                f"first received was {shown(value['received_value'])}."
            )
        step += 1
        say(f"{step}. Checks passed: {ROW_RULES}; then the blocking checks {', '.join(BLOCKING_CHECKS)}.")
        step += 1
    else:
        say(f"{step}. No service return gave this figure.")
        step += 1
    applied = corrections[corrections["status"] == "accepted"]
    rejected = corrections[corrections["status"] == "rejected"]
    if len(applied):
        say(f"{step}. Corrections applied in order of approval (the last wins):")
        for c in applied.itertuples():
            say(
                f"   {c.correction_id}: {shown(c.new_value)}, because '{c.reason}', requested by {c.requested_by}, "
                f"approved by {c.approved_by} on {pd.Timestamp(c.approved_on):%-d %B %Y} ({c.file} row {c.row})."
            )
    else:
        say(f"{step}. No correction applies.")
    for c in rejected.itertuples():
        say(f"   Not applied: {c.correction_id} ({c.file} row {c.row}): {c.problem}")
    step += 1
    if assessed:
        say(
            f"{step}. Assessed as {assessed['rag_status']} against a target of {shown(assessed['target'])} "
            f"(rule '{assessed['rag_rule']}', target set {pd.Timestamp(assessed['target_set_on']):%-d %B %Y}: "
            f"{assessed['target_reason']})."
            if pd.notna(assessed["target"])
            else f"{step}. Assessed as {assessed['rag_status']} (no target)."
        )
        # The figures each judgement was made on: a cumulative indicator's short direction of
        # travel compares the quarter's own part with the previous quarter's own part.
        own = " (the quarter's own part)" if indicator["ytd_method"] == "cumulative" else ""
        say(
            f"   Direction of travel: {assessed['dot_short']} on last quarter{own}: "
            f"{shown(assessed['quarter_value'])} against {shown(assessed['previous_quarter_part'])}; "
            f"{assessed['dot_long']} on the same quarter last year: {shown(assessed['value'])} against "
            f"{shown(assessed['same_quarter_last_year_value'])}; "
            f"year to date ({indicator['ytd_method']}) {shown(assessed['ytd_value'])}, {assessed['ytd_rag_status']}."
        )
        step += 1
    if published:
        say(
            f"{step}. Computed by code version {published['code_version']} in Dagster run {published['run_id']}."
        )
    return lines
