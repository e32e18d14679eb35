"""Running quarters, request packs and reminders in the persistent Dagster instance."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pandas as pd

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reminders import SENT_LOG
from perf_pipeline.recovery import COMMAND_LINE_TAG, exclusive_run
from perf_pipeline.settings import WAREHOUSE_SCHEMA, DataRoot, first_quarter

# The full event log is in the Dagster instance (and its UI); the terminal shows warnings only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _execute(
    defs: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    partition_key: str | None = None,
    run_config: dict | None = None,
):
    job = defs.resolve_job_def(job_name)
    with exclusive_run(instance):  # and first clean up after a run that was killed
        result = job.execute_in_process(
            instance=instance,
            partition_key=partition_key,
            raise_on_error=False,
            run_config={**QUIET, **(run_config or {})},
            tags={COMMAND_LINE_TAG: "true"},
        )
    if not result.success:
        for event in result.all_events:
            if event.is_failure and event.event_specific_data is not None:
                error = getattr(event.event_specific_data, "error", None)
                step = event.step_key or job_name
                print(f"  FAILED {step}: {error.message.strip() if error else event.message}")
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                print(f"  check failed: {evaluation.asset_key.to_user_string()} {evaluation.check_name}")
    return result


def run_quarters(root: DataRoot, quarters: list[Quarter]) -> bool:
    """Reference data, then quarter by quarter as the cycle happened: the quarter's returns, the
    earlier quarters those returns revise, then the quarter's own outputs."""
    from perf_pipeline.definitions import build_definitions
    from perf_pipeline.defs import jobs

    defs = build_definitions()
    instance = dg.DagsterInstance.get()
    print(f"Data root: {root.root}\nDagster instance: {instance.root_directory}")
    print("Reference data ...", flush=True)
    if not _execute(defs, jobs.REFERENCE_JOB, instance).success:
        return False
    for quarter in quarters:
        print(f"{quarter.label}: returns", end="", flush=True)
        if not _execute(defs, jobs.RETURNS_JOB, instance, quarter.partition_key).success:
            return False
        for earlier in sorted(q for q in revised_quarters(root, [quarter]) if q < quarter):
            print(f", revised {earlier.label}", end="", flush=True)
            if not _execute(defs, jobs.OUTPUTS_JOB, instance, earlier.partition_key).success:
                return False
        print(", outputs", end="" if quarter.q == 4 else "\n", flush=True)
        if not _execute(defs, jobs.OUTPUTS_JOB, instance, quarter.partition_key).success:
            return False
        if quarter.q == 4:
            print(", annual report", flush=True)
            if not _execute(defs, jobs.ANNUAL_JOB, instance, quarter.shift(-3).partition_key).success:
                return False
    print_summary(root, quarters)
    return True


def write_request_packs(root: DataRoot, quarter: Quarter) -> bool:
    """The reference data, then the quarter's request packs; print where they are."""
    from perf_pipeline.definitions import build_definitions
    from perf_pipeline.defs import jobs

    defs = build_definitions()
    instance = dg.DagsterInstance.get()
    print(f"Data requests for {quarter.label} (Dagster instance: {instance.root_directory})", flush=True)
    if not _execute(defs, jobs.REFERENCE_JOB, instance).success:
        return False
    if not _execute(defs, jobs.DATA_REQUESTS_JOB, instance, quarter.partition_key).success:
        return False
    with duckdb.connect(str(root.warehouse), read_only=True) as con:
        packs = con.execute(
            f"select service_name, owner, deadline, file, indicators, previous_figures "
            f"from {WAREHOUSE_SCHEMA}.data_request_packs where quarter = ? order by file",
            [quarter.key],
        ).fetchdf()
    if packs.empty:
        print("No service has an indicator due in this quarter: no pack written.")
        return True
    print(f"Deadline: {packs['deadline'].iloc[0]:%A %-d %B %Y}\nWritten:")
    for p in packs.itertuples():
        print(
            f"  {root.root / p.file}  {p.service_name} ({p.owner}): {p.indicators} indicators, "
            f"{p.previous_figures} earlier figures to confirm"
        )
    return True


def send_reminders(root: DataRoot, as_of: dt.date) -> bool:
    """The reference data, then the day's reminders; print who was reminded and how."""
    from perf_pipeline.definitions import build_definitions
    from perf_pipeline.defs import jobs

    defs = build_definitions()
    instance = dg.DagsterInstance.get()
    print(f"Reminders for {as_of:%A %-d %B %Y} (Dagster instance: {instance.root_directory})", flush=True)
    if not _execute(defs, jobs.REFERENCE_JOB, instance).success:
        return False
    config = {"ops": {"action_reminders": {"config": {"as_of": as_of.isoformat()}}}}
    if not _execute(defs, jobs.REMINDERS_JOB, instance, run_config=config).success:
        return False
    with duckdb.connect(str(root.warehouse), read_only=True) as con:
        reminded = con.execute(f"select * from {WAREHOUSE_SCHEMA}.action_reminders order by owner").fetchdf()
    if reminded.empty:
        print("Nobody has an action, a milestone or a data return due: no reminder needed.")
    for r in reminded.itertuples():
        owed = "; ".join(
            filter(
                None,
                [
                    r.actions and f"actions {r.actions.replace(';', ', ')}",
                    r.milestones and f"milestones {r.milestones.replace(';', ', ')}",
                    r.data_returns and f"return {r.data_returns.replace(';', ', ')}",
                ],
            )
        )
        where = f" -> {root.root / r.file}" if r.file else ""
        print(f"  {r.owner} <{r.owner_email}>: {r.outcome} ({owed}){where}")
    print(f"Log of reminders sent: {root.outbox / SENT_LOG}")
    return True


def revised_quarters(root: DataRoot, quarters: list[Quarter]) -> set[Quarter]:
    """Earlier quarters whose figures the given quarters' returns revise: they are rebuilt too."""
    keys = [q.key for q in quarters]
    with duckdb.connect(str(root.warehouse), read_only=True) as con:
        rows = con.execute(
            f"select distinct period from {WAREHOUSE_SCHEMA}.service_returns_validated "
            "where is_revision and list_contains(?, quarter)",
            [keys],
        ).fetchall()
    earliest = first_quarter()
    return {q for q in (Quarter.parse(r[0]) for r in rows) if q >= earliest}


def print_summary(root: DataRoot, quarters: list[Quarter]) -> None:
    keys = [q.key for q in quarters]
    with duckdb.connect(str(root.warehouse), read_only=True) as con:

        def per_quarter(sql: str) -> pd.DataFrame:
            return con.execute(sql.format(s=WAREHOUSE_SCHEMA), [keys]).fetchdf()

        raw = per_quarter(
            "select quarter, count(distinct file) files, count(row_number) rows_read "
            "from {s}.service_returns_raw where list_contains(?, quarter) group by quarter"
        )
        accepted = per_quarter(
            "select quarter, count(*) accepted from {s}.service_returns_validated "
            "where list_contains(?, quarter) group by quarter"
        )
        rejected = per_quarter(
            "select quarter, count(*) exceptions from {s}.return_exceptions "
            "where list_contains(?, quarter) group by quarter"
        )
        values = per_quarter(
            "select quarter, reporting_status, count(*) n from {s}.indicator_values "
            "where list_contains(?, quarter) group by all"
        )
        reasons = per_quarter(
            "select reason, count(*) n from {s}.return_exceptions "
            "where list_contains(?, quarter) group by reason order by n desc"
        )
    table = raw.merge(accepted, on="quarter", how="left").merge(rejected, on="quarter", how="left")
    status = values.pivot_table(index="quarter", columns="reporting_status", values="n", fill_value=0)
    table = table.merge(status, left_on="quarter", right_index=True, how="left").fillna(0)
    table = table.sort_values("quarter")
    print("\nSummary")
    print(
        table.to_string(index=False, formatters={c: "{:.0f}".format for c in table.columns if c != "quarter"})
    )
    if len(reasons):
        print("\nExceptions by reason: " + ", ".join(f"{r.reason} {r.n}" for r in reasons.itertuples()))
    print("\nWritten:")
    print(f"  warehouse  {root.warehouse}")
    for quarter in quarters:
        folder = root.reports_for(quarter)
        names = sorted(p.name for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
        print(f"  {folder}/  {', '.join(names)}")


def trace(root: DataRoot, code: str, quarter: Quarter) -> bool:
    """Print, in plain words, the chain from source row to published value for one figure."""
    from perf_pipeline.lib.audit import BLOCKING_CHECKS, ROW_RULES
    from perf_pipeline.lib.feedback import derivation_lines
    from perf_pipeline.lib.files import sha256_of
    from perf_pipeline.lib.formatting import format_value

    if not root.warehouse.is_file():
        print(f"Nothing has been run for {root.root} yet: run the quarter first.")
        return False
    with duckdb.connect(str(root.warehouse), read_only=True) as con:

        def one(sql: str, params: list) -> dict | None:
            frame = con.execute(sql.format(s=WAREHOUSE_SCHEMA), params).fetchdf()
            return frame.iloc[0].to_dict() if len(frame) else None

        key = [code, quarter.key]
        value = one("select * from {s}.indicator_values where indicator_code = ? and quarter = ?", key)
        if value is None:
            print(f"No figure for {code} in {quarter.label}: check the code, or run the quarter first.")
            return False
        assessed = one(
            "select * from {s}.indicator_performance where indicator_code = ? and quarter = ?", key
        )
        indicator = one("select * from {s}.indicator_catalogue where code = ?", [code])
        published = one(
            "select code_version, run_id from {s}.audit_pack where indicator_code = ? and quarter = ?", key
        )
        raw = None
        if value["source_file"] and pd.notna(value["source_row"]):
            raw = one(
                "select * from {s}.service_returns_raw where file = ? and row_number = ? and quarter = ?",
                [value["source_file"], int(value["source_row"]), value["source_quarter"]],
            )
        corrections = con.execute(
            f"select * from {WAREHOUSE_SCHEMA}.corrections_log where indicator_code = ? and period = ? "
            "order by approved_on, correction_id",
            key,
        ).fetchdf()
        derivation = derivation_lines(con, root.root, code, quarter)
    unit, decimals = indicator["unit"], int(indicator["decimals"])

    def shown(x) -> str:
        return format_value(x, unit, decimals, indicator.get("unit_label"))

    print(f"{code} {indicator['title']}, {quarter.label}")
    print(
        f"  Published value: {shown(value['value'])} ({value['reporting_status'].replace('_', ' ')}, "
        f"{value['data_status'] or 'no'} data)"
    )
    step = 1
    if derivation:
        print(f"{step}. " + "\n".join(derivation))
        step += 1
    elif value["source_file"]:
        on_disk = root.root / value["source_file"]
        now = sha256_of(on_disk) if on_disk.is_file() else None
        state = (
            "the file on disk still has this hash"
            if now == value["source_sha256"]
            else "the file on disk has CHANGED since"
            if now
            else "the file is no longer on disk"
        )
        print(
            f"{step}. Received in {value['source_file']}, row {int(value['source_row'])} "
            f"(sha256 {value['source_sha256']}; {state})."
        )
        if raw:
            print(
                f"   As written: value '{raw['value']}', numerator '{raw['numerator']}', denominator "
                f"'{raw['denominator']}', period '{raw['period'] or '(blank: the folder quarter)'}', status "
                f"'{raw['status'] or '(blank: final)'}'; read as {shown(value['received_value'] if not value['is_revision'] else value['value'])}."
            )
        if value["is_revision"]:
            print(
                f"   This is a revision sent with the {Quarter.parse(value['source_quarter']).label} return; the figure "
                f"first received was {shown(value['received_value'])}."
            )
        step += 1
        print(f"{step}. Checks passed: {ROW_RULES}; then the blocking checks {', '.join(BLOCKING_CHECKS)}.")
        step += 1
    else:
        print(f"{step}. No service return gave this figure.")
        step += 1
    applied = corrections[corrections["status"] == "accepted"]
    rejected = corrections[corrections["status"] == "rejected"]
    if len(applied):
        print(f"{step}. Corrections applied in order of approval (the last wins):")
        for c in applied.itertuples():
            print(
                f"   {c.correction_id}: {shown(c.new_value)}, because '{c.reason}', requested by {c.requested_by}, "
                f"approved by {c.approved_by} on {pd.Timestamp(c.approved_on):%-d %B %Y} ({c.file} row {c.row})."
            )
    else:
        print(f"{step}. No correction applies.")
    for c in rejected.itertuples():
        print(f"   Not applied: {c.correction_id} ({c.file} row {c.row}): {c.problem}")
    step += 1
    if assessed:
        print(
            f"{step}. Assessed as {assessed['rag_status']} against a target of {shown(assessed['target'])} "
            f"(rule '{assessed['rag_rule']}', target set {pd.Timestamp(assessed['target_set_on']):%-d %B %Y}: "
            f"{assessed['target_reason']})."
            if pd.notna(assessed["target"])
            else f"{step}. Assessed as {assessed['rag_status']} (no target)."
        )
        print(
            f"   Direction of travel: {assessed['dot_short']} on last quarter ({shown(assessed['previous_quarter_value'])}), "
            f"{assessed['dot_long']} on the same quarter last year ({shown(assessed['same_quarter_last_year_value'])}); "
            f"year to date ({indicator['ytd_method']}) {shown(assessed['ytd_value'])}, {assessed['ytd_rag_status']}."
        )
        step += 1
    if published:
        print(
            f"{step}. Computed by code version {published['code_version']} in Dagster run {published['run_id']}."
        )
    return True
