"""Value for money: each pair's cost per unit beside its outcome, in the council's comparator groups."""

import dagster as dg

from perf_pipeline.defs.benchmarks import council_inputs
from perf_pipeline.defs.checks import frame_check, pandera_check
from perf_pipeline.defs.common import KINDS, OWNERS, files_table, reference_failure, with_quarter
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource, WarehouseResource
from perf_pipeline.lib.validation import ReferenceDataError

VFM_CONSISTENT = "value_for_money_consistent"
EVERY_PAIR_COMPARED = "every_pair_compared"
OUT = {"owners": OWNERS, "kinds": KINDS, "code_version": "1", "metadata": {"partition_expr": "quarter_start"}}


@dg.multi_asset(
    outs={
        "value_for_money": dg.AssetOut(
            description="Per pair and comparator group: cost per unit and outcome, ranks, percentiles, quadrant.",
            **OUT,
        ),
        "value_for_money_points": dg.AssetOut(
            description="Each member of the council's groups with both figures: the points of the scatters.",
            **OUT,
        ),
    },
    deps=["benchmark_values", "comparator_groups", "reference_files", "benchmark_files"],
    check_specs=[
        dg.AssetCheckSpec(
            VFM_CONSISTENT,
            asset="value_for_money",
            blocking=True,
            description="n, ranks and percentiles agree; prices say cash or real at a year.",
        ),
        dg.AssetCheckSpec(
            EVERY_PAIR_COMPARED,
            asset="value_for_money",
            description="Pairs in value_for_money.csv with no comparison for the council this quarter.",
        ),
    ],
    group_name="benchmarks",
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
)
def value_for_money(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    warehouse: WarehouseResource,
    indicator_catalogue,
):
    """What each service costs per head or per unit beside how well it performs, against the comparators."""
    from perf_pipeline.lib.benchmarks.normalise import comparable_values
    from perf_pipeline.lib.benchmarks.sources import SOURCES_FILE
    from perf_pipeline.lib.publish import publish_csv
    from perf_pipeline.lib.value_for_money import (
        PAIRS_FILE,
        VALUE_FOR_MONEY_CSV,
        cost_per_unit,
        council_value_for_money,
        load_deflator,
        load_pairs,
        pair_metrics,
        uncompared_pairs,
    )

    quarter = quarter_of(context)
    paths = data_root.paths
    council = data_root.council()
    try:
        pairs = load_pairs(paths.reference / PAIRS_FILE, indicator_catalogue)
        deflator = load_deflator(paths.benchmarks / SOURCES_FILE)
    except ReferenceDataError as error:
        raise reference_failure(error) from None
    with warehouse.get_connection() as con:
        values, groups = council_inputs(con, pair_metrics(pairs, deflator), council["gss_code"])
    comparable, polarity = comparable_values(values)
    try:
        per_unit = cost_per_unit(comparable, pairs, deflator)
    except ReferenceDataError as error:
        raise reference_failure(error) from None
    table, points = council_value_for_money(
        quarter,
        per_unit,
        groups,
        pairs,
        polarity,
        council["gss_code"],
        council["comparator_groups"],
        values.drop_duplicates("area_code").set_index("area_code")["area_name"],
    )
    publish_csv(table, paths.reports_for(quarter) / VALUE_FOR_MONEY_CSV)
    yield dg.Output(
        with_quarter(table, quarter),
        output_name="value_for_money",
        metadata={
            "pairs": int(table["pair_id"].nunique()),
            "quadrants": files_table(
                table.loc[
                    table["group"] == council["comparator_groups"][0], ["pair_id", "period", "quadrant"]
                ]
            ),
        },
    )
    yield dg.Output(with_quarter(points, quarter), output_name="value_for_money_points")
    from perf_pipeline.lib import schemas  # pandera: when the check runs, not at load

    yield pandera_check(
        VFM_CONSISTENT, schemas.value_for_money_schema, table, asset_key=dg.AssetKey("value_for_money")
    )
    yield frame_check(
        EVERY_PAIR_COMPARED,
        uncompared_pairs(pairs, table, per_unit, quarter),
        asset_key=dg.AssetKey("value_for_money"),
        severity=dg.AssetCheckSeverity.WARN,
    )
