"""What `benchmark_values` and `comparator_benchmarks` are held to: the checks' names and rules."""

from __future__ import annotations

# The checks' names, used by the assets that run them and by the tests.
AREAS_KNOWN = "area_codes_known"
ONE_VALUE_EACH = "one_value_per_area_and_period"
VALUES_NUMERIC = "values_are_numbers"
PERIODS_RECOGNISED = "periods_recognised"
POLARITY_AGREES = "polarity_agrees_with_catalogue"
LISTS_WITHOUT_REPEATS = "group_lists_without_repeats"
MEMBERS_KNOWN = "group_members_known"
POSITIONS_CONSISTENT = "positions_consistent"
EVERY_INDICATOR_BENCHMARKED = "every_indicator_benchmarked"

# Published aggregates (England E92, regions E12) sit beside authorities in downloads such as LG
# Inform's: they are kept, but are neither unknown codes nor members of any group.
AGGREGATE_CODE = r"^E(92|12)\d{6}$"

VALUE_CHECK_RULES = {
    AREAS_KNOWN: (
        "is not an authority in authorities.csv",
        "area_code",
        "not list_contains($known, area_code) and not regexp_full_match(area_code, $aggregate)",
    ),
    ONE_VALUE_EACH: (
        "more than one row for this source, metric, period and area",
        "source || ' ' || metric || ' ' || period || ' ' || area_code",
        "count(*) over (partition by source, metric, period, area_code) > 1",
    ),
    VALUES_NUMERIC: ("is not a number", "raw_value", "value_status = 'not_a_number'"),
    PERIODS_RECOGNISED: (
        "is not a financial year (2022-23) or a quarter (2022/23 Q3)",
        "period",
        "period_type is null",
    ),
}


def benchmark_value_failures(con, table: str, known_codes: list[str], shown: int | None = None) -> dict:
    """Each check's failures: `(count, cases)`, the cases (at most `shown`) naming file and row."""
    found, parameters = {}, {"known": list(known_codes), "aggregate": AGGREGATE_CODE}
    for name, (error, case, where) in VALUE_CHECK_RULES.items():
        failing = (
            f"(select file, source_row, {case} as failure_case, {where} as failed from {table}) where failed"
        )
        used = {k: v for k, v in parameters.items() if f"${k}" in where}
        count = con.execute(f"select count(*) from {failing}", used).fetchone()[0]
        cases = con.execute(
            f"select file || ' row ' || source_row as index, $error as check, failure_case from {failing} "
            "order by file, source_row limit $shown",
            {**used, "error": error, "shown": count if shown is None else shown},
        ).fetchdf()
        found[name] = (count, cases)
    return found
