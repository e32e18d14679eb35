"""Running quarters, request packs and reminders in the persistent Dagster instance."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import dagster as dg

from perf_pipeline import warehouse
from perf_pipeline.defs import jobs
from perf_pipeline.defs.returns import REVISING, returned_for
from perf_pipeline.defs.sources import changed_inputs, recorded_version
from perf_pipeline.instance_storage import open_instance
from perf_pipeline.lib.performance import how_assessment_uses
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reminders import SENT_LOG
from perf_pipeline.recovery import COMMAND_LINE_TAG, exclusive_run
from perf_pipeline.settings import DataRoot

# The full event log is in the Dagster instance (and its UI); the terminal shows warnings only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
FIGURES = dg.AssetKey("indicator_values")
ASSESSMENT = dg.AssetKey("indicator_performance")
ANNUAL = dg.AssetKey("annual_performance_report")
SNAPSHOT = dg.AssetKey("app_snapshot")
# The rows a quarter's returns hold for each earlier quarter they may revise.
REVISING_ROWS = [dg.AssetKey(returned_for(offset)) for offset in REVISING]
# On a run the automation conditions asked for, rather than the person at the command line.
PLANNED_TAG = "perf_pipeline/requested_by"


def instance_for(root: DataRoot) -> dg.DagsterInstance:
    """The data root's persistent Dagster instance (`DAGSTER_HOME` if set, else `<data>/.dagster`)."""
    return open_instance(str(root.dagster_home))


def _execute(
    defs: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    root: DataRoot,
    partition_key: str | None = None,
    run_config: dict | None = None,
    assets: list[dg.AssetKey] | None = None,
    planned: bool = False,
):
    job = defs.resolve_job_def(job_name)
    # The warehouse is held open for the run: every step's connection (the IO manager's, the
    # resource's: the same configuration) then shares the open database instead of opening the file
    # again, which costs DuckDB ~70 ms each (reading the catalogue, a checkpoint on the last close).
    # The command line holds the instance's lock meanwhile, so no other writer is kept waiting.
    with exclusive_run(instance, root), defs.resources["warehouse"].get_connection():
        result = job.execute_in_process(
            instance=instance,
            partition_key=partition_key,
            asset_selection=assets,
            raise_on_error=False,
            run_config={**QUIET, **(run_config or {})},
            tags={COMMAND_LINE_TAG: "true", **({PLANNED_TAG: "automation conditions"} if planned else {})},
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


@dataclass
class Cycle:
    """One command's runs against a data root: the quarters named, then what the automation
    conditions (the daemon's own, `defs/conditions.py`) request after each of them."""

    defs: dg.Definitions
    instance: dg.DagsterInstance
    root: DataRoot
    cursor: object = None
    # The quarters whose figures changed since the quarter named last was started: its own, and
    # those its returns revised. They are why the later quarters that use them are rebuilt.
    figures_changed: set[Quarter] = field(default_factory=set)
    # Whether the last run gave its quarter's figures a new version (a rebuild may change nothing).
    changed_figures: bool = False

    def run(self, job_name: str, quarter: Quarter | None = None, assets=None) -> bool:
        partition = quarter.partition_key if quarter else None
        builds_figures = quarter is not None and (assets is None or FIGURES in assets)
        before = self._figure_version(quarter) if builds_figures else None
        result = _execute(
            self.defs, job_name, self.instance, self.root, partition, assets=assets, planned=bool(assets)
        )
        self.changed_figures = builds_figures and result.success and self._figure_version(quarter) != before
        if self.changed_figures:
            self.figures_changed.add(quarter)
        return result.success

    def _figure_version(self, quarter: Quarter) -> str | None:
        return recorded_version(self.instance, FIGURES, quarter.partition_key)

    def evaluate(self) -> dict[dg.AssetKey, set[str]]:
        result = dg.evaluate_automation_conditions(self.defs, self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        keys = self.defs.resolve_asset_graph().materializable_asset_keys
        return {key: set(parts) for key in keys if (parts := result.get_requested_partitions(key))}

    def observe(self) -> None:
        """Record the versions of the input files that changed, as the daemon's sensor does."""
        from perf_pipeline.defs.automation import last_ended_quarter

        resource = self.defs.resources["data_root"]
        for observation in changed_inputs(self.instance, resource, last_ended_quarter()):
            self.instance.report_runless_asset_event(observation)

    def reference(self) -> bool:
        """Every reference table the first time (or when one is missing: an upgrade added it);
        after that the conditions ask for those whose files changed (`REFERENCE_REREAD`), so an
        unchanged 3.5-million-row benchmark table is not read again by every command."""
        keys = jobs.reference_selection.resolve(self.defs.resolve_asset_graph())
        records = self.instance.get_asset_records(list(keys))
        if all(r.asset_entry.last_materialization for r in records) and len(records) == len(keys):
            return True
        print("Reference data ...", flush=True)
        return self.run(jobs.REFERENCE_JOB)

    def catch_up(self, named: set[Quarter]) -> bool:
        """What every command does first: record the input files that changed, build the reference
        tables (all of them the first time), then rebuild what the changes reach, but for the
        quarters `named`, which are left to their own runs."""
        self.evaluate()  # the conditions' first look: changes from here on count
        # A change to a quarter not yet built starts nothing: the quarter is built by its own run.
        self.observe()
        if not self.reference():
            return False
        changed = self.follow(None, named)
        if changed is None:
            return False
        print_rebuilt(changed)
        return True

    def follow(self, named: Quarter | None, later_named: set[Quarter]) -> dict[str, list[str]] | None:
        """Run what the conditions request until they request nothing more, oldest quarter first;
        what was rebuilt beyond `named` (None: what changed files reached), with why (None when a
        run failed). A quarter still to be run by name is left to its own run."""
        lines: dict[str, list[str]] = defaultdict(list)
        while requested := self.evaluate():
            by_quarter: dict[Quarter, list[dg.AssetKey]] = defaultdict(list)
            years = sorted(requested.pop(ANNUAL, set()))
            # The app's snapshot holds every quarter: published once nothing else is asked for
            # after the command's last quarter (it stays due until it is published).
            if requested.pop(SNAPSHOT, None) is not None and not later_named and not requested and not years:
                if not self.run(jobs.APP_JOB, None, [SNAPSHOT]):
                    return None
                break  # nothing reads the snapshot: nothing more can be asked for
            if not requested and not years:
                break
            whole = [key for key, partitions in requested.items() if partitions == {None}]
            if whole and not self.run(jobs.REFERENCE_JOB, None, whole):
                return None
            requested = {key: partitions for key, partitions in requested.items() if key not in whole}
            for key, partitions in requested.items():
                for partition in partitions:
                    by_quarter[Quarter.from_partition_key(partition)].append(key)
            for quarter in sorted(q for q in by_quarter if q not in later_named):
                assets = sorted(by_quarter[quarter], key=lambda k: k.to_user_string())
                if not self.run(jobs.QUARTER_JOB, quarter, assets):
                    return None
                why = self.why(quarter, named, assets)
                if why and why not in lines[quarter.label]:
                    lines[quarter.label].append(why)
            for year in years:
                q4 = Quarter.from_partition_key(year).shift(3)
                if not _execute(
                    self.defs, jobs.ANNUAL_JOB, self.instance, self.root, year, planned=True
                ).success:
                    return None
                lines[f"{q4.fy_key} annual report"].append(f"{q4.label} reassessed")
        return lines

    def why(self, quarter: Quarter, named: Quarter | None, assets: list[dg.AssetKey]) -> str | None:
        """Why a quarter other than the one named was rebuilt, in the words of the dependency."""
        if quarter == named:
            return None
        if assets == [FIGURES]:
            if not self.changed_figures:
                return None
            return f"revised by {named.label}'s returns" if named else "its corrections or files changed"
        if quarter in self.figures_changed:
            return None  # its own figures were revised: said when they were rebuilt
        used = [c for c in self.figures_changed if c < quarter and quarter in self.uses_figures_of(c)]
        if not used:
            return "its inputs changed"
        source = max(used)
        return f"uses {source.label} for {how_assessment_uses(quarter, source)}"

    def uses_figures_of(self, quarter: Quarter) -> set[Quarter]:
        """The quarters whose assessment uses `quarter`'s figures, from the partition mapping."""
        return self._reached(ASSESSMENT, FIGURES, quarter)

    def revisable_by(self, quarter: Quarter) -> set[Quarter]:
        """The earlier quarters whose figures `quarter`'s returns can revise: those its rows for
        earlier quarters (`returned_for_quarter_minus_*`) reach, from the partition mappings."""
        return set().union(*(self._reached(FIGURES, rows, quarter) for rows in REVISING_ROWS))

    def _reached(self, child: dg.AssetKey, parent: dg.AssetKey, quarter: Quarter) -> set[Quarter]:
        """The partitions of `child` that read `parent`'s partition for `quarter`."""
        graph = self.defs.resolve_asset_graph()
        mapping = graph.get_partition_mapping(child, parent)
        partitions = graph.get(FIGURES).partitions_def
        children = mapping.get_downstream_partitions_for_partitions(
            partitions.subset_with_partition_keys([quarter.partition_key]), partitions, partitions
        )
        return {Quarter.from_partition_key(k) for k in children.get_partition_keys()}


def run_quarters(root: DataRoot, quarters: list[Quarter], dry_run: bool = False) -> bool:
    """The reference tables and corrections whose files changed, and what they reach; then quarter
    by quarter as the cycle happened: the quarter's returns and outputs in one run (as the
    `quarter_after_deadline` schedule runs it), then the earlier quarters whose figures its returns
    revised and every quarter and annual report that used what changed, itself included (the
    automation conditions decide which)."""
    from perf_pipeline.definitions import build_definitions

    defs = build_definitions(root)
    instance = instance_for(root)
    cycle = Cycle(defs, instance, root)
    print(f"Data root: {root.root}\nDagster instance: {instance.root_directory}")
    if dry_run:
        print_plan(cycle, quarters)
        return True
    if not cycle.catch_up(set(quarters)):
        return False
    for i, quarter in enumerate(quarters):
        cycle.figures_changed.clear()
        print(f"{quarter.label}: returns and outputs", flush=True)
        if not cycle.run(jobs.QUARTER_JOB, quarter):
            return False
        reached = cycle.follow(quarter, set(quarters[i + 1 :]))
        if reached is None:
            return False
        print_rebuilt(reached)
    print_summary(root, quarters)
    return True


def print_rebuilt(lines: dict[str, list[str]]) -> None:
    for what, whys in lines.items():
        if whys:
            print(f"  also rebuilt: {what} ({'; '.join(whys)})")


def print_plan(cycle: Cycle, quarters: list[Quarter]) -> None:
    """What `run` would do, from the partition mappings, without running anything."""
    built = {Quarter.from_partition_key(k) for k in cycle.instance.get_materialized_partitions(ASSESSMENT)}
    print(
        "Would run: the reference tables whose files changed (every one the first time), and what they reach"
    )
    for quarter in quarters:
        print(f"  {quarter.label}: its returns, figures and outputs, in one run")
        for earlier in sorted(q for q in cycle.revisable_by(quarter) if q in built and q not in quarters):
            print(
                f"    {earlier.label}: figures checked if {quarter.label}'s returns hold rows for it; "
                "if revised, rebuilt"
            )
        for later in sorted(q for q in cycle.uses_figures_of(quarter) if q in built and q not in quarters):
            if later != quarter:
                print(
                    f"    {later.label} (uses {quarter.label} for {how_assessment_uses(later, quarter)}), "
                    "if the figures change"
                )
        if quarter.q == 4 or any(q.q == 4 and q in built for q in cycle.uses_figures_of(quarter)):
            print("    and the annual report of each year whose Q4 is reassessed")
    print("  then the app's snapshot of every quarter, once")
    print("Nothing was run (--dry-run).")


def write_request_packs(root: DataRoot, quarter: Quarter) -> bool:
    """What changed brought up to date (the reference data first), then the quarter's request
    packs; print where they are."""
    from perf_pipeline.definitions import build_definitions

    defs = build_definitions(root)
    instance = instance_for(root)
    print(f"Data requests for {quarter.label} (Dagster instance: {instance.root_directory})", flush=True)
    if not Cycle(defs, instance, root).catch_up(set()):
        return False
    if not _execute(defs, jobs.DATA_REQUESTS_JOB, instance, root, quarter.partition_key).success:
        return False
    packs = warehouse.request_packs(root, quarter)
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
    """What changed brought up to date (the reference data first), then the day's reminders;
    print who was reminded and how."""
    from perf_pipeline.definitions import build_definitions

    defs = build_definitions(root)
    instance = instance_for(root)
    print(f"Reminders for {as_of:%A %-d %B %Y} (Dagster instance: {instance.root_directory})", flush=True)
    if not Cycle(defs, instance, root).catch_up(set()):
        return False
    config = {"ops": {"action_reminders": {"config": {"as_of": as_of.isoformat()}}}}
    if not _execute(defs, jobs.REMINDERS_JOB, instance, root, run_config=config).success:
        return False
    reminded = warehouse.reminders_sent(root)
    if reminded.empty:
        print("Nobody has an action or a data return due: no reminder needed.")
    for r in reminded.itertuples():
        owed = "; ".join(
            filter(
                None,
                [
                    r.actions and f"actions {r.actions.replace(';', ', ')}",
                    r.data_returns and f"return {r.data_returns.replace(';', ', ')}",
                ],
            )
        )
        where = f" -> {root.root / r.file}" if r.file else ""
        print(f"  {r.owner} <{r.owner_email}>: {r.outcome} ({owed}){where}")
    print(f"Log of reminders sent: {root.outbox / SENT_LOG}")
    return True


def print_summary(root: DataRoot, quarters: list[Quarter]) -> None:
    found = warehouse.run_summary(root, quarters)
    raw, accepted, rejected, values, reasons = (
        found[k] for k in ("raw", "accepted", "rejected", "values", "reasons")
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
    from perf_pipeline.lib.audit import trace_lines
    from perf_pipeline.lib.files import sha256_of

    if not root.warehouse.is_file():
        print(f"Nothing has been run for {root.root} yet: run the quarter first.")
        return False
    figure = warehouse.figure_record(root, code, quarter)
    if figure is None:
        print(f"No figure for {code} in {quarter.label}: check the code, or run the quarter first.")
        return False
    source = root.root / figure.value["source_file"] if figure.value["source_file"] else None
    on_disk = sha256_of(source) if source and source.is_file() else None
    print("\n".join(trace_lines(code, quarter, figure, on_disk)))
    return True
