"""Raw rows to `benchmark_values`: our period labels, numbers, polarity, names and units."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perf_pipeline.lib.benchmarks.periods import periods_table
from perf_pipeline.lib.benchmarks.sources import RAW_COLUMNS
from perf_pipeline.lib.reference import POLARITIES
from perf_pipeline.lib.returns_validation import parse_numbers

HIGHER, LOWER, NONE = POLARITIES

# How sources write polarity: ours, Oflog waste's `direction`, Oflog ASC's `rank_order` (ranked
# descending = the highest value is best). Compared case-insensitively.
POLARITY_WORDS = {
    "higher_is_better": HIGHER,
    "higher is better": HIGHER,
    "desc": HIGHER,
    "descending": HIGHER,
    "lower_is_better": LOWER,
    "lower is better": LOWER,
    "asc": LOWER,
    "ascending": LOWER,
    "none": NONE,
    "neutral": NONE,
}

# Blank and the GOV.UK statistical symbols for a figure that is not published ([x] not available,
# [z] not applicable, [c] confidential; `..`, `...`, `…` in older MHCLG tables): missing, never
# zero, and not an error.
NOT_PUBLISHED = {"", "[x]", "[z]", "[c]", "..", "...", "\u2026", ":", "n/a", "na"}

BENCHMARK_COLUMNS = [
    "source",
    "metric",
    "metric_title",
    "unit",
    "polarity",
    "area_code",
    "area_name",
    "period",
    "value",
    "polarity_from",
    "period_type",
    "period_start",
    "period_end",
    "raw_period",
    "raw_value",
    "value_status",
    "file",
    "file_sha256",
    "source_row",
]


def catalogue_links(indicators: pd.DataFrame) -> pd.DataFrame:
    """Indicators with a `benchmark_metric`, split into source and metric."""
    linked = indicators.loc[
        indicators["benchmark_metric"].notna(), ["code", "benchmark_metric", "polarity", "unit"]
    ]
    parts = linked["benchmark_metric"].str.split(":", n=1)
    return linked.assign(source=parts.str[0].str.strip(), metric=parts.str[1].str.strip()).rename(
        columns={"code": "indicator_code"}
    )


def resolve_polarity(raw: pd.DataFrame, indicators: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Polarity per source and metric: the source's own metadata, else the indicator catalogue.

    Returns the polarity table (`source, metric, polarity, polarity_from`) and the problems: words
    we cannot read, a source giving two polarities, and disagreements with the catalogue.
    """
    problems = pd.DataFrame(columns=["source", "metric", "problem"])
    if raw.empty:
        return pd.DataFrame(columns=["source", "metric", "polarity", "polarity_from"]), problems
    words = raw[["source", "metric", "source_polarity"]].drop_duplicates()
    words = words[words["source_polarity"].str.strip().ne("")]
    words = words.assign(
        said=words["source_polarity"].str.strip().str.lower().map(POLARITY_WORDS),
        problem="the source's polarity '" + words["source_polarity"] + "' is not one we can read",
    )
    unread = words[words["said"].isna()]
    said = words.dropna(subset=["said"]).groupby(["source", "metric"])["said"].agg(lambda s: sorted(set(s)))
    links = catalogue_links(indicators)
    catalogue = links.groupby(["source", "metric"]).agg(
        catalogue=("polarity", lambda s: sorted(set(s))), indicators=("indicator_code", ", ".join)
    )
    table = raw[["source", "metric"]].drop_duplicates().set_index(["source", "metric"])
    table = table.join(said.rename("said")).join(catalogue)
    from_source = table["said"].map(lambda s: s[0] if isinstance(s, list) and len(s) == 1 else None)
    from_catalogue = table["catalogue"].map(lambda s: s[0] if isinstance(s, list) and len(s) == 1 else None)
    table["polarity"] = from_source.fillna(from_catalogue).fillna(NONE)
    table["polarity_from"] = np.select(
        [from_source.notna(), from_catalogue.notna()], ["source", "indicator catalogue"], "default"
    )
    two = table[table["said"].map(lambda s: isinstance(s, list) and len(s) > 1)]
    disagree = table[from_source.notna() & from_catalogue.notna() & (from_source != from_catalogue)]
    problems = pd.concat(
        [
            problems,
            unread[["source", "metric", "problem"]],
            two.reset_index().assign(
                problem="the source gives more than one polarity: " + two["said"].map(", ".join).to_numpy()
            )[["source", "metric", "problem"]],
            disagree.reset_index().assign(
                problem=(
                    "the source says "
                    + from_source[disagree.index]
                    + ", the indicator catalogue ("
                    + disagree["indicators"]
                    + ") says "
                    + from_catalogue[disagree.index]
                    + "; the source's is used"
                ).to_numpy()
            )[["source", "metric", "problem"]],
        ],
        ignore_index=True,
    )
    return table[["polarity", "polarity_from"]].reset_index(), problems


# A plain decimal number, which DuckDB and pandas read alike; anything else (`1,234`, `85%`,
# `(12)`) goes through `parse_numbers`, the same rules as services' returns.
PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def load_benchmark_values(
    con, raw: str, indicators: pd.DataFrame, authorities: pd.DataFrame, table: str, source_order: list[str]
) -> pd.DataFrame:
    """Create `table` (`benchmark_values`) in DuckDB from the raw rows in the relation `raw`.

    National downloads run to millions of rows, so the rows never leave the database: only the
    distinct period texts, the values that are not plain numbers, and the polarity words come out
    to be read by the same Python rules as everywhere else, and go back as small lookup tables.
    Returns the polarity problems.
    """
    polarity, problems = resolve_polarity(
        con.execute(f"select distinct source, metric, source_polarity from {raw}").fetchdf(), indicators
    )
    period_texts = con.execute(f"select distinct raw_period from {raw}").fetchdf()["raw_period"]
    periods = periods_table(period_texts).rename_axis("raw_period").reset_index()
    # Each raw row's value as text, whether it is a "not published" mark, whether a plain number.
    classified = (
        "(select *, list_contains($not_published, lower(text)) as not_published, "
        "coalesce(regexp_full_match(text, $plain) and isfinite(try_cast(text as double)), false) as plain "
        f"from (select *, trim(coalesce(raw_value, '')) as text from {raw}))"
    )
    words = {"not_published": sorted(NOT_PUBLISHED), "plain": PLAIN_NUMBER}
    written = con.execute(
        f"select distinct text from {classified} where not plain and not not_published", words
    ).fetchdf()["text"]
    numbers, parsed = parse_numbers(written)
    lookups = {
        "bv_periods": periods,
        "bv_polarity": polarity,
        "bv_written": pd.DataFrame({"text": written, "number": numbers, "parsed": parsed}),
        "bv_units": catalogue_links(indicators).drop_duplicates(["source", "metric"])[
            ["source", "metric", "unit"]
        ],
        "bv_names": authorities[["gss_code", "name"]].drop_duplicates("gss_code"),
        "bv_sources": pd.DataFrame({"source": source_order, "position": range(len(source_order))}),
    }
    for name, frame in lookups.items():
        con.register(name, frame)
    try:
        con.execute(
            f"""
            create or replace table {table} as
            with r as {classified}
            select r.source, r.metric, r.metric_title, coalesce(nullif(r.unit, ''), u.unit, '') as unit,
                   coalesce(pol.polarity, $no_polarity) as polarity, r.area_code,
                   coalesce(nullif(r.area_name, ''), a.name, '') as area_name,
                   coalesce(p.period, r.raw_period) as period,
                   case when r.not_published then null when r.plain then cast(r.text as double)
                        when w.parsed then w.number end as value,
                   coalesce(pol.polarity_from, 'default') as polarity_from, p.period_type,
                   p.period_start, p.period_end, r.raw_period, r.raw_value,
                   case when r.not_published then 'not_published' when r.plain or w.parsed then 'published'
                        else 'not_a_number' end as value_status,
                   r.file, r.file_sha256, cast(r.source_row as bigint) as source_row
            from r
            left join bv_periods p on p.raw_period = r.raw_period
            left join bv_polarity pol on pol.source = r.source and pol.metric = r.metric
            left join bv_units u on u.source = r.source and u.metric = r.metric
            left join bv_names a on a.gss_code = r.area_code
            left join bv_written w on w.text = r.text
            left join bv_sources s on s.source = r.source
            order by s.position, r.source_row
        """,
            {**words, "no_polarity": NONE},
        )
    finally:
        for name in lookups:
            con.unregister(name)
    return problems


def normalise_benchmarks(
    raw: pd.DataFrame, indicators: pd.DataFrame, authorities: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`benchmark_values` as a frame: `load_benchmark_values` run in an in-memory database."""
    import duckdb

    with duckdb.connect() as con:
        con.register("raw_rows", raw.reindex(columns=[*RAW_COLUMNS, "source", "file", "file_sha256"]))
        problems = load_benchmark_values(
            con, "raw_rows", indicators, authorities, "benchmark_values", list(pd.unique(raw["source"]))
        )
        values = con.table("benchmark_values").df()
    values["source_row"] = values["source_row"].astype("Int64")
    return values[BENCHMARK_COLUMNS], problems


# What `benchmark_values` is held to. Published files are not ours to correct: each problem is
# reported with the file and row it came from, and the rows are kept. The checks run in the


def comparable_values(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The long frame the statistics take: `metric` = `source:metric`, one value per area and period.

    Rows whose period is not recognised are left out; an identical repeat counts once; different
    figures for the same area and period are both set aside (missing), as nobody can say which is
    right. All of these are reported by the checks on `benchmark_values`. Also returns the
    polarity per metric.
    """
    df = values[values["period_end"].notna()]
    # Hundreds of thousands of rows: `source:metric` is written once per pair, not once per row,
    # and the repeats are found on one integer code per metric, period and area.
    source, sources = pd.factorize(df["source"], use_na_sentinel=False)
    metric, metrics = pd.factorize(df["metric"], use_na_sentinel=False)
    width = max(len(metrics), 1)
    pair, pairs = pd.factorize(source.astype(np.int64) * width + metric)
    labels = (pd.Series(sources[pairs // width]) + ":" + pd.Series(metrics[pairs % width])).to_numpy(object)
    label = pd.factorize(labels)[0][pair]  # a blank source or metric is one blank label, as text would be
    key = label
    for column in ("period", "area_code"):
        codes, uniques = pd.factorize(df[column])
        key = pd.factorize(key.astype(np.int64) * (len(uniques) + 1) + codes + 1)[0]
    value = df["value"].to_numpy(float)
    repeat = pd.Series(key.astype(np.int64) * (len(value) + 1) + pd.factorize(value)[0] + 1).duplicated()
    rows = np.flatnonzero(~repeat.to_numpy())
    once = pd.Series(key[rows])
    conflicting = once.duplicated(keep=False).to_numpy()
    first = ~once.duplicated().to_numpy()
    take = rows[first]
    columns = ["metric", "period", "area_code", "value", "period_start", "period_end", "metric_title", "unit"]
    out = pd.DataFrame({c: df[c].to_numpy()[take] for c in columns if c not in ("metric", "value")})
    out.insert(0, "metric", labels[pair[take]])
    out.insert(3, "value", np.where(conflicting[first], np.nan, value[take]))
    described = np.sort(np.unique(label[take], return_index=True)[1])
    polarity = pd.Series(
        df["polarity"].to_numpy()[take][described],
        index=pd.Index(out["metric"].to_numpy()[described], name="metric"),
        name="polarity",
    )
    return out, polarity
