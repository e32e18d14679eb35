"""When Dagster rebuilds a partition by itself: the automation conditions of the quarterly cycle.

One rule, read from the asset graph and its partition mappings (`defs/partitions.py`): a
partition that has been built is rebuilt when something it reads has changed, and not before
what it reads has finished. The automation sensor applies it while the daemon runs, and
`perf-pipeline run` applies the same conditions to plan its runs.

- A quarter's returns are read again when the files in its folder change.
- The corrections log is rebuilt when any correction row changes; a quarter's figures are
  rebuilt after it when the rows naming that quarter changed, when its own returns were read
  again, when a later quarter's returns were read with changed rows for it (recorded only where
  there are some: a later return with no row for it reaches no figure), or when a correction
  naming it changed.
- Everything after the figures (assessment, benchmarks, reports, audit pack, the annual report)
  is rebuilt when the figures it uses have a new data version: figures rebuilt unchanged (a return
  that revised nothing) go no further. Each stage after that follows in the same request, but
  for the annual report, asked for once its year's quarters have been rebuilt (the automation's
  runs go in partition key order, and a year's key is its first quarter's).
- The framework's registers (`defs/framework.py`, `feedback_rules`) are read again when its
  reference files change (`framework_files`), and the case extracts when a file in `feedback/`
  changes. A register's data version is its content, so what uses it (every built quarter's
  figures made from the cases, programme and risk status, reports) is rebuilt only when the
  content changed; and the status of the programmes and risks as at a quarter's end is itself
  versioned by content, so a quarter's report is rebuilt only when what it should say changed.
- A quarter's figures made from the case extracts are rebuilt when the case rows dated in that
  quarter change (`feedback_case_rows`); the figures follow, and what uses them as above.
- Only partitions already built are rebuilt: a quarter is built first by its own run (the
  `quarter_after_deadline` schedule or `perf-pipeline run`), once its returns are in. The annual
  report is the exception: it is built as soon as its year's quarters have been assessed.
- The app's snapshot (one file, every quarter) is published again once whatever it shows has been
  rebuilt and nothing it reads is still to be: once after a plan of runs, however many quarters
  the plan rebuilt.
- The reference data (services, the catalogue and RAG rules, targets, authorities, comparator
  groups, value-for-money pairs, `council.toml`: `reference_files`, `council_settings`) and the
  benchmark downloads (`benchmark_files`) are read again when their files change.
- Those tables, `council.toml` and the improvement plan's files are read by every quarter: a
  change makes every quarter stale in the UI but rebuilds no quarter by itself: republishing
  years of reports is a person's decision (`perf-pipeline run --from ... --to ...`).
"""

import dagster as dg

AC = dg.AutomationCondition

# Descriptions of indicators, actions and programmes (measure types, tags, the indicators an action
# moves, a programme's sponsor and aim): like the catalogue, a change marks every quarter's report
# stale and republishes none by itself. Milestones, benefits, risks and the feedback rules are not
# descriptions: what they change is each quarter's status or figures, and that is rebuilt.
DESCRIPTIONS = dg.AssetSelection.assets(
    "indicator_measures", "framework_tags", "action_indicator_links", "change_programmes"
)
# Inputs that every quarter reads: they mark quarters stale, they do not start rebuilds.
EVERY_QUARTER_READS = (
    dg.AssetSelection.groups("reference")
    | dg.AssetSelection.assets(
        "corrections_log",
        "benchmark_values",
        "comparator_groups",
        "comparator_positions",
        "council_settings",
        "reference_files",
        "benchmark_files",
        "improvement_plan_files",
    )
    | DESCRIPTIONS
)
FIGURES = dg.AssetSelection.assets("indicator_values")
# Figures made from the case extracts: they reach every output through `indicator_values`.
DERIVED = dg.AssetSelection.assets("feedback_indicator_values")
# The framework's registers: what is read from its files (`defs/framework.py`, `feedback_rules`),
# read by every quarter but versioned by their content.
REGISTERS = dg.AssetSelection.assets("framework_files").downstream(depth=1, include_self=False) - DESCRIPTIONS
# A quarter's programmes and risks as at its end, versioned by content: what reads them follows
# only when they changed (a new risk review changes no earlier quarter's status).
AS_AT = dg.AssetSelection.assets("milestone_status", "benefit_status", "risk_status")


class NotBuiltSinceTheLook(dg.AutomationCondition):
    """Partitions with no materialization after the event log record the evaluation reads up to.

    An evaluation reads what was updated up to one record of the event log, read as it starts, and
    what is in progress when it comes to each asset, later. A run ending in between (an asset
    materialized, then its run finished) leaves a partition neither updated as far as the
    evaluation knows nor in progress, and whatever triggered its run looks unhandled: it would be
    asked for again (dagster-io/dagster#24389). Such a partition waits for the next evaluation,
    which sees it updated. One query of the event log per asset evaluated."""

    @property
    def name(self) -> str:
        return "not_built_since_the_look"

    @property
    def description(self) -> str:
        return "Not materialized since this evaluation read the event log"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        candidates, read_up_to = context.candidate_subset, context.max_storage_id
        if candidates.is_empty or read_up_to is None:
            return dg.AutomationResult(context, candidates)
        records = context.asset_graph_view.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=context.key, after_storage_id=read_up_to), limit=1000
        ).records
        if not records:
            return dg.AutomationResult(context, candidates)
        if candidates.is_partitioned:
            built = candidates.compute_intersection_with_partition_keys({r.partition_key for r in records})
        else:
            built = candidates
        return dg.AutomationResult(context, candidates.compute_difference(built))


def _when_settled(trigger: AC) -> AC:
    return (
        trigger.since_last_handled() & ~AC.any_deps_in_progress() & ~AC.in_progress() & NotBuiltSinceTheLook()
    )


_updated = AC.any_deps_match(AC.newly_updated() | AC.will_be_requested()).ignore(EVERY_QUARTER_READS)
# Registers are rebuilt by every reference run: only a change of content counts.
_registers_changed = AC.any_deps_match(AC.data_version_changed()).allow(REGISTERS)

# The reference data and benchmark tables: read again when their files change (every one of them
# at once, each after the tables it reads; their data versions are their files' content, so only
# what a changed file reaches goes stale). Quarters go stale, and are not rebuilt by this alone.
REFERENCE_FILES = dg.AssetSelection.assets("reference_files", "benchmark_files", "council_settings")
REFERENCE_REREAD = _when_settled(AC.any_deps_match(AC.newly_updated()).allow(REFERENCE_FILES)) & ~AC.missing()

# Tables of files every quarter reads, rebuilt when their files change: the corrections log
# (every quarter's figures read it, but each is rebuilt only when its own rows changed), the
# framework's registers and the case extracts.
FILES_READ = _when_settled(_updated)
# Returns: when the quarter's files change.
RETURNS_READ = _when_settled(_updated) & ~AC.missing()
# Figures: when their quarter's returns, the rows a later quarter's returns hold for them
# (`returned_for_quarter_minus_*`: recorded only when there are some), corrections or case rows
# naming them, or the rules that make figures from the cases, changed.
FIGURES_REBUILT = _when_settled(_updated | _registers_changed) & ~AC.missing()
# After the figures: only when figures or registers they use changed content; then stage after
# stage.
_figures_changed = AC.any_deps_match(AC.data_version_changed()).ignore(EVERY_QUARTER_READS | DERIVED)
_follows = AC.any_deps_match(AC.will_be_requested() | AC.data_version_changed()).ignore(
    EVERY_QUARTER_READS | FIGURES | DERIVED | AS_AT
)
OUTPUTS_REBUILT = _when_settled(_figures_changed | _registers_changed | _follows) & ~AC.missing()
# The annual report: whenever its year's assessment changed, once its Q4 has been assessed. It
# waits for the quarters to be rebuilt rather than being asked for with them: the automation's
# runs go in partition key order, and a year's key is its first quarter's, so asked for in the
# same tick as its Q4 it would run before it.
ANNUAL_BUILT = _when_settled(_figures_changed) & ~AC.any_deps_missing()
# The app's snapshot holds every quarter: published again once any quarter's outputs were rebuilt
# (the reference tables, like every quarter's, mark it stale and start nothing by themselves).
# It is asked for the tick after the quarters it follows, never with them (unpartitioned, it would
# run first among a tick's runs); `perf-pipeline run` publishes it after its last quarter. It stays
# due until it is published, not merely requested, and not while it or anything it reads is in
# progress or still to be asked for: once after a plan.
# When it and something it shows were both updated since the last look, the conditions cannot
# tell which came last, so it is published again rather than perhaps left behind.
_shown_changed = AC.any_deps_match(AC.newly_updated()).ignore(EVERY_QUARTER_READS)
SNAPSHOT_REPUBLISHED = (
    (
        _shown_changed.since(AC.newly_updated() | AC.initial_evaluation())
        | (_shown_changed & AC.newly_updated())
    )
    & ~AC.any_deps_in_progress()
    & ~AC.in_progress()
    & NotBuiltSinceTheLook()
    & ~AC.any_deps_match(AC.will_be_requested())
)


# Sent to people when they run (request packs, reminders): never rebuilt by the automation.
SENT = {"requests", "reminders"}


def with_outputs_rebuilt(assets: list) -> list:
    """Every quarterly asset without a condition of its own is a quarter's output: it is rebuilt
    like the others (`OUTPUTS_REBUILT`) when what it reads changes. Request packs and reminders
    are sent to people, so they are left to their schedules."""
    from perf_pipeline.defs.partitions import quarterly_partitions

    def default(spec: dg.AssetSpec) -> dg.AssetSpec:
        if (
            spec.automation_condition
            or spec.group_name in SENT
            or spec.group_name == "inputs"
            or spec.partitions_def != quarterly_partitions
        ):
            return spec
        return spec.replace_attributes(automation_condition=OUTPUTS_REBUILT)

    return [
        a if isinstance(a, dg.SourceAsset) or not a.is_executable else dg.map_asset_specs(default, [a])[0]
        for a in assets
    ]
