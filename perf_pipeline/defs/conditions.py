"""When Dagster rebuilds a partition by itself: the automation conditions of the quarterly cycle.

One rule, read from the asset graph and its partition mappings (`defs/partitions.py`): a
partition that has been built is rebuilt when something it reads has changed, and not before
what it reads has finished. The automation sensor applies it while the daemon runs, and
`perf-pipeline run` applies the same conditions to plan its runs.

- A quarter's returns are read again when the files in its folder change.
- The corrections log is rebuilt when any correction row changes; a quarter's figures are
  rebuilt after it when the rows naming that quarter changed, or when returns that can revise it were read again or a correction
  naming it changed.
- Everything after the figures (assessment, benchmarks, reports, audit pack, the annual report)
  is rebuilt when the figures it uses have a new data version: figures rebuilt unchanged (a return
  that revised nothing) go no further. Each stage after that follows in the same request.
- Only partitions already built are rebuilt: a quarter is built first by its own run (the
  `quarter_after_deadline` schedule or `perf-pipeline run`), once its returns are in. The annual
  report is the exception: it is built as soon as its year's quarters have been assessed.
- Files every quarter reads (reference data, `council.toml`, the improvement plan, benchmark
  downloads) make every quarter stale in the UI but rebuild nothing by themselves: republishing
  years of reports is a person's decision (`perf-pipeline run --from ... --to ...`).
"""

import dagster as dg

AC = dg.AutomationCondition

# Inputs that every quarter reads: they mark quarters stale, they do not start rebuilds.
EVERY_QUARTER_READS = dg.AssetSelection.groups("reference") | dg.AssetSelection.assets(
    "corrections_log", "benchmark_values", "comparator_groups", "council_settings", "improvement_plan_files"
)
FIGURES = dg.AssetSelection.assets("indicator_values")


def _when_settled(trigger: AC) -> AC:
    return trigger.since_last_handled() & ~AC.any_deps_in_progress() & ~AC.in_progress()


_updated = AC.any_deps_match(AC.newly_updated() | AC.will_be_requested()).ignore(EVERY_QUARTER_READS)

# The corrections log: when a correction row changed (every quarter's figures read it, but each
# is rebuilt only when its own rows changed).
CORRECTIONS_LOGGED = _when_settled(_updated)
# Returns: when the quarter's files change.
RETURNS_READ = _when_settled(_updated) & ~AC.missing()
# Figures: when returns that can revise them, or corrections naming them, changed.
FIGURES_REBUILT = _when_settled(_updated) & ~AC.missing()
# After the figures: only when figures they use changed content; then stage after stage.
_figures_changed = AC.any_deps_match(AC.data_version_changed()).ignore(EVERY_QUARTER_READS)
_follows = AC.any_deps_match(AC.will_be_requested() | AC.data_version_changed()).ignore(
    EVERY_QUARTER_READS | FIGURES
)
OUTPUTS_REBUILT = _when_settled(_figures_changed | _follows) & ~AC.missing()
# The annual report: whenever its year's assessment changed, once its Q4 has been assessed.
ANNUAL_BUILT = _when_settled(_figures_changed | _follows) & ~AC.any_deps_missing()


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

    return [a if isinstance(a, dg.SourceAsset) else dg.map_asset_specs(default, [a])[0] for a in assets]
