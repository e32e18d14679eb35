"""Benchmarks: published comparator data, comparator groups, and the council's position in each."""

from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.defs.checks import MAX_CASES_SHOWN, frame_check, pandera_check
from perf_pipeline.defs.common import (
    KINDS,
    OWNERS,
    column_lineage,
    files_table,
    files_version,
    reference_checked,
    reference_failure,
    with_quarter,
)
from perf_pipeline.defs.conditions import REFERENCE_REREAD
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource, WarehouseResource
from perf_pipeline.lib.benchmarks.checks import (
    AREAS_KNOWN,
    EVERY_INDICATOR_BENCHMARKED,
    LISTS_WITHOUT_REPEATS,
    MEMBERS_KNOWN,
    ONE_VALUE_EACH,
    PERIODS_RECOGNISED,
    POLARITY_AGREES,
    POSITIONS_CONSISTENT,
    VALUES_NUMERIC,
    benchmark_value_failures,
)
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline.settings import WAREHOUSE_SCHEMA

if TYPE_CHECKING:
    import pandas as pd

BENCHMARKS = {"group_name": "benchmarks", "owners": OWNERS, "kinds": KINDS, "pool": WAREHOUSE_POOL}
WARN = dg.AssetCheckSeverity.WARN

# Published files are not ours to correct: their problems are reported (warnings), the rows kept.
VALUE_CHECKS = {
    AREAS_KNOWN: "Area codes not in authorities.csv (England and region aggregates excepted).",
    ONE_VALUE_EACH: "Two rows for one source, metric, period and area; different figures are not used.",
    VALUES_NUMERIC: "Published values that are neither a number nor a 'not published' mark; not used.",
    PERIODS_RECOGNISED: "Periods that are neither a financial year nor a quarter; those rows are not used.",
    POLARITY_AGREES: "Polarity the source gives that we cannot read, or that disagrees with the catalogue.",
}


@dg.asset(
    code_version="2",
    check_specs=[
        dg.AssetCheckSpec(name, asset="benchmark_values", description=text)
        for name, text in VALUE_CHECKS.items()
    ],
    deps=["benchmark_files"],
    automation_condition=REFERENCE_REREAD,
    **BENCHMARKS,
)
def benchmark_values(
    data_root: DataRootResource,
    warehouse: WarehouseResource,
    indicator_catalogue,
    authorities,
):
    """Every published benchmark figure, one row per source, metric, area and period, in our labels.

    National files run to millions of rows, so the table is built in the warehouse by SQL (in one
    transaction: a failed or killed run leaves the previous table) rather than passed through pandas.
    """
    from perf_pipeline.lib.benchmarks.normalise import load_benchmark_values
    from perf_pipeline.lib.benchmarks.sources import SOURCES_FILE, load_sources, stage_sources

    paths = data_root.paths
    sources_path = paths.benchmarks / SOURCES_FILE
    table = f"{WAREHOUSE_SCHEMA}.benchmark_values"
    with warehouse.get_connection() as con:
        con.execute(f"create schema if not exists {WAREHOUSE_SCHEMA}")
        con.begin()
        try:
            sources = load_sources(sources_path)
            files = stage_sources(con, sources, paths.benchmarks, paths.root)
        except ReferenceDataError as error:
            con.rollback()
            raise reference_failure(error) from None
        polarity_problems = load_benchmark_values(
            con, "raw_rows", indicator_catalogue, authorities, table, [s["name"] for s in sources]
        )
        con.execute("drop table raw_rows")
        failures = benchmark_value_failures(con, table, list(authorities["gss_code"]), shown=MAX_CASES_SHOWN)
        metrics = con.execute(f"select count(distinct (source, metric)) from {table}").fetchone()[0]
        by_status = con.execute(
            f"select value_status, count(*) from {table} group by all order by 2 desc"
        ).fetchall()
        con.commit()
    yield dg.MaterializeResult(
        data_version=files_version([sources_path, *(paths.benchmarks / s["file"] for s in sources)]),
        metadata={
            "sources": files_table(files),
            "rows": int(files["rows"].sum()) if len(files) else 0,
            "metrics": int(metrics),
            "by_status": dg.MetadataValue.json({status: int(n) for status, n in by_status}),
        },
    )
    # Failure cases name the file and row each came from.
    for name, (count, cases) in failures.items():
        yield frame_check(name, cases, severity=WARN, failure_count=int(count))
    yield frame_check(POLARITY_AGREES, polarity_problems, severity=WARN)


@dg.asset(
    code_version="1",
    deps=["reference_files", "council_settings"],
    automation_condition=REFERENCE_REREAD,
    check_specs=[
        dg.AssetCheckSpec(
            LISTS_WITHOUT_REPEATS,
            asset="comparator_groups",
            description="Codes listed twice in a group; each counted once.",
        ),
        dg.AssetCheckSpec(
            MEMBERS_KNOWN,
            asset="comparator_groups",
            description="Listed members not in authorities.csv; counted as missing.",
        ),
    ],
    **BENCHMARKS,
)
def comparator_groups(data_root: DataRootResource, authorities):
    """Whom each authority is compared with: nearest neighbours, same type, region, England, named groups."""
    import pandas as pd

    from perf_pipeline.lib.benchmarks.groups import (
        BUILT_IN_GROUPS,
        GROUPS_CSV,
        NEAREST_NEIGHBOURS_FILE,
        build_comparator_groups,
        read_group_csv,
        read_nearest_neighbours,
    )

    reference = data_root.paths.reference
    nn_path, csv_path = reference / NEAREST_NEIGHBOURS_FILE, reference / GROUPS_CSV
    council = data_root.council()
    with reference_checked():
        nearest, nn_repeats = (
            read_nearest_neighbours(nn_path) if nn_path.is_file() else (None, pd.DataFrame())
        )
        named, csv_repeats = read_group_csv(csv_path) if csv_path.is_file() else (None, pd.DataFrame())
    code = council["gss_code"]
    groups = build_comparator_groups(authorities, code, nearest, named)
    own = groups[groups["authority_code"] == code]
    undefined = [g for g in council["comparator_groups"] if g not in set(own["group"])]
    if undefined:
        raise reference_failure(
            ReferenceDataError(
                [
                    f"council.toml: comparator group '{g}' has no members for {code}: the built-in groups are "
                    f"{', '.join(BUILT_IN_GROUPS)} (nearest_neighbours needs {code} in "
                    f"reference/{NEAREST_NEIGHBOURS_FILE} or reference/{GROUPS_CSV}); others must be named in "
                    f"reference/{GROUPS_CSV}"
                    for g in undefined
                ]
            )
        )
    summary = (
        own.assign(
            abolished=own["member_status"].str.startswith("abolished"),
            unknown=own["member_status"].eq("not in authorities.csv"),
        )
        .groupby("group", sort=False)
        .agg(
            members=("member_code", "size"),
            abolished=("abolished", "sum"),
            not_in_authorities=("unknown", "sum"),
            basis=("basis", "first"),
        )
    )
    yield dg.Output(
        groups,
        data_version=files_version(
            [nn_path, csv_path, reference / "authorities.csv", reference / "council.toml"]
        ),
        metadata={
            "authorities": int(groups["authority_code"].nunique()),
            "council_groups": files_table(summary.reset_index()),
        },
    )
    repeats = pd.concat(
        [
            nn_repeats.assign(file=f"reference/{NEAREST_NEIGHBOURS_FILE}"),
            csv_repeats.assign(file=f"reference/{GROUPS_CSV}"),
        ],
        ignore_index=True,
    )
    yield frame_check(LISTS_WITHOUT_REPEATS, repeats, severity=WARN, repeats_removed=len(repeats))
    listed = groups[groups["basis"] != "authorities.csv"]
    import pandera.pandas as pa  # when the check runs: not with the definitions

    known = pa.DataFrameSchema(
        {
            "member_code": pa.Column(
                str,
                pa.Check.isin(list(authorities["gss_code"]), error="is not an authority in authorities.csv"),
            )
        }
    )
    located = listed.set_index(listed["basis"] + ": " + listed["authority_code"])
    yield pandera_check(MEMBERS_KNOWN, known, located, severity=WARN)


POSITIONS_LINEAGE = column_lineage(
    {
        "metric": ["indicator_catalogue.benchmark_metric", "benchmark_values.metric"],
        "metric_title": ["benchmark_values.metric_title"],
        "unit": ["benchmark_values.unit"],
        "polarity": ["benchmark_values.polarity"],
        "period": ["benchmark_values.period"],
        "period_start": ["benchmark_values.period_start"],
        "period_end": ["benchmark_values.period_end"],
        "group": ["comparator_groups.group"],
        "n": ["benchmark_values.value", "comparator_groups.member_code"],
        "n_missing": [
            "benchmark_values.value",
            "comparator_groups.member_code",
            "comparator_groups.valid_to",
        ],
        "value": ["benchmark_values.value"],
        "median": ["benchmark_values.value", "comparator_groups.member_code"],
        "mad": ["benchmark_values.value", "comparator_groups.member_code"],
        "rank": ["benchmark_values.value", "benchmark_values.polarity", "comparator_groups.member_code"],
        "quartile": ["benchmark_values.value", "benchmark_values.polarity", "comparator_groups.member_code"],
        "diff_from_median": ["benchmark_values.value", "comparator_groups.member_code"],
        "mads_from_median": ["benchmark_values.value", "comparator_groups.member_code"],
    }
)
# A quarter's table is its choice among the positions: each column is the positions' own.
QUARTER_LINEAGE = column_lineage(
    {
        "indicator_code": ["indicator_catalogue.code"],
        "lag_quarters": ["comparator_positions.period"],
        **{
            column: [f"comparator_positions.{column}"]
            for column in (
                "metric",
                "group",
                "period",
                "value",
                "n",
                "n_missing",
                "median",
                "rank",
                "quartile",
                "diff_from_median",
                "mads_from_median",
            )
        },
    }
)


def council_inputs(con, metrics: list[str], council_code: str) -> "tuple[pd.DataFrame, pd.DataFrame]":
    """The published values of these `source:metric`s, and the council's own comparator groups.

    National files hold every authority and many metrics: only what is asked for leaves the warehouse.
    """
    values = con.execute(
        "select source, metric, period, area_code, area_name, value, period_start, period_end, metric_title, "
        f"unit, polarity from {WAREHOUSE_SCHEMA}.benchmark_values where list_contains(?, source || ':' || metric)",
        [metrics],
    ).fetchdf()
    groups = con.execute(
        f"select * from {WAREHOUSE_SCHEMA}.comparator_groups where authority_code = ?", [council_code]
    ).fetchdf()
    return values, groups


@dg.asset(
    code_version="1",
    deps=["benchmark_values", "comparator_groups", "benchmark_files", "reference_files", "council_settings"],
    automation_condition=REFERENCE_REREAD,
    **BENCHMARKS,
)
def comparator_positions(data_root: DataRootResource, warehouse: WarehouseResource, indicator_catalogue):
    """The council's position per benchmarked metric and comparator group in every period it has a
    published value: what each quarter's `comparator_benchmarks` chooses from, computed once when
    the benchmark data, the groups, the catalogue or `council.toml` change, not every quarter."""
    from perf_pipeline.lib.benchmarks.council import council_positions

    council = data_root.council()
    metrics = sorted(indicator_catalogue["benchmark_metric"].dropna().unique())
    with warehouse.get_connection() as con:
        values, groups = council_inputs(con, metrics, council["gss_code"])
    positions = council_positions(
        values, groups, indicator_catalogue, council["gss_code"], council["comparator_groups"]
    )
    return dg.Output(
        positions,
        metadata={
            "metrics": int(positions["metric"].nunique()),
            "periods": int(positions[["metric", "period"]].dropna().drop_duplicates().shape[0]),
            "dagster/column_lineage": POSITIONS_LINEAGE,
        },
    )


@dg.asset(
    code_version="1",
    partitions_def=quarterly_partitions,
    metadata={"partition_expr": "quarter_start"},
    deps=["council_settings"],
    check_specs=[
        dg.AssetCheckSpec(
            POSITIONS_CONSISTENT,
            asset="comparator_benchmarks",
            blocking=True,
            description="n, rank and quartile agree; polarity none is never ranked.",
        ),
        dg.AssetCheckSpec(
            EVERY_INDICATOR_BENCHMARKED,
            asset="comparator_benchmarks",
            description="Indicators with a benchmark_metric but no comparison this quarter.",
        ),
    ],
    **BENCHMARKS,
)
def comparator_benchmarks(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    indicator_catalogue,
    comparator_positions,
):
    """The council's position per benchmarked indicator and comparator group, latest published period."""
    from perf_pipeline.lib.benchmarks.council import council_benchmarks
    from perf_pipeline.lib.publish import publish_csv

    quarter = quarter_of(context)
    paths = data_root.paths
    council = data_root.council()
    if comparator_positions.columns.empty:  # the table is new: a data root built before has none
        raise dg.Failure(
            "comparator_positions has not been built in this data root yet: run the reference_data job "
            "(any `perf-pipeline run` does), then this quarter again"
        )
    table, gaps = council_benchmarks(
        quarter, comparator_positions, indicator_catalogue, council["comparator_groups"]
    )
    publish_csv(table, paths.reports_for(quarter) / "comparator-benchmarks.csv")
    outliers = table.loc[table["outlier"], ["indicator_code", "group", "value", "median", "mads_from_median"]]
    yield dg.Output(
        with_quarter(table, quarter),
        metadata={
            "indicators": int(table["indicator_code"].nunique()),
            "dagster/column_lineage": QUARTER_LINEAGE,
            "periods_compared": dg.MetadataValue.json(
                table.groupby("indicator_code")["period"].first().to_dict()
            ),
            # Oflog's practice: a value more than 3 MADs from the median is checked by a person
            # before publication, not labelled automatically.
            "outliers_to_check": files_table(outliers),
        },
    )
    from perf_pipeline.lib import schemas  # pandera: when the check runs, not at load

    yield pandera_check(POSITIONS_CONSISTENT, schemas.comparator_benchmarks_schema, table)
    yield frame_check(EVERY_INDICATOR_BENCHMARKED, gaps, severity=WARN)
