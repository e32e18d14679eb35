"""Comparator benchmarks: published data as downloaded, comparator groups, and positions in them.

Every source named in `benchmarks/sources.toml` is read by the importer for its format into one
long table (`benchmark_values`). Comparator groups come from a nearest-neighbour mapping
(`NN.json` shape), from `authorities.csv` (same type, same region, all England) and from a CSV of
`group, authority_code`. The statistics (n, median, rank, quartile, distance from the median in
median absolute deviations) are one vectorised computation over every authority, metric and
period (`group_positions`); the council's report is that computation filtered to the council.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from perf_pipeline.lib.files import is_inside, relative_to_root, sha256_of
from perf_pipeline.lib.quarters import Quarter, QuarterError, fiscal_year_key
from perf_pipeline.lib.reference import POLARITIES
from perf_pipeline.lib.returns_validation import parse_numbers
from perf_pipeline.lib.validation import ReferenceDataError

HIGHER, LOWER, NONE = POLARITIES
BUILT_IN_GROUPS = ["nearest_neighbours", "same_type", "region", "england"]
NEAREST_NEIGHBOURS, SAME_TYPE, REGION, ENGLAND = BUILT_IN_GROUPS
NEAREST_NEIGHBOURS_FILE = "nearest_neighbours.json"
GROUPS_CSV = "comparator_groups.csv"
SOURCES_FILE = "sources.toml"
OUTLIER_MADS = 3.0

# Published aggregates (England E92, regions E12) sit beside authorities in downloads such as LG
# Inform's: they are kept, but are neither unknown codes nor members of any group.
AGGREGATE_CODE = r"^E(92|12)\d{6}$"
PERIOD_LABEL = r"^\d{4}-\d{2}(-Q[1-4])?$"

# Oflog files every City of London row among the London Boroughs (ASC_data.csv `Entity_Name`), so
# for "same type" the City corporation is a London borough. Unitaries, metropolitan districts and
# London boroughs stay apart, as in Oflog's `Entity_Name` and LG Inform's standard groups.
COMPARISON_TYPE = {"CC": "LBO"}

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
# [z] not applicable, [c] confidential): missing, never zero, and not an error.
NOT_PUBLISHED = {"", "[x]", "[z]", "[c]", "..", ":", "n/a", "na"}

RAW_COLUMNS = [
    "metric",
    "metric_title",
    "unit",
    "source_polarity",
    "area_code",
    "area_name",
    "raw_period",
    "raw_value",
    "source_row",
]
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
GROUP_COLUMNS = [
    "authority_code",
    "group",
    "member_code",
    "member_name",
    "member_type",
    "valid_from",
    "valid_to",
    "member_status",
    "basis",
]
POSITION_COLUMNS = [
    "authority_code",
    "group",
    "metric",
    "period",
    "n",
    "n_missing",
    "value",
    "median",
    "mad",
    "rank",
    "quartile",
    "diff_from_median",
    "mads_from_median",
]
REPORT_COLUMNS = [
    "indicator_code",
    "metric",
    "group",
    "period",
    "n",
    "n_missing",
    "value",
    "median",
    "rank",
    "quartile",
    "diff_from_median",
    "mads_from_median",
    "lag_quarters",
    "outlier",
    "metric_title",
    "unit",
    "polarity",
    "group_size",
    "mad",
]
LONG_CSV_FIELDS = ["area_code", "area_name", "period", "metric", "value", "unit", "polarity", "metric_title"]
LONG_CSV_REQUIRED = ["area_code", "period", "metric", "value"]


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A published period: a financial year (`2022-23`) or a quarter (`2022-23-Q3`)."""

    label: str
    first: Quarter
    last: Quarter

    @property
    def kind(self) -> str:
        return "quarter" if self.first == self.last else "year"


def parse_period(text: str) -> Period:
    """`2022-23`, `2022/23`, `2022/23 Q3`, `Q3 2022-23` ... in the project's labels."""
    try:
        quarter = Quarter.parse(text)
    except QuarterError:
        year = int(fiscal_year_key(text)[:4])  # raises QuarterError for anything else
        return Period(f"{year}-{(year + 1) % 100:02d}", Quarter(year, 1), Quarter(year, 4))
    return Period(quarter.key, quarter, quarter)


def _periods_table(labels: pd.Series) -> pd.DataFrame:
    """Each distinct period text with its label, type and dates (label None when not a period)."""
    rows = {}
    for text in pd.unique(labels):
        try:
            period = parse_period(text)
        except QuarterError:
            rows[text] = (None, None, pd.NaT, pd.NaT)
            continue
        rows[text] = (
            period.label,
            period.kind,
            pd.Timestamp(period.first.start),
            pd.Timestamp(period.last.end),
        )
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["period", "period_type", "period_start", "period_end"]
    )


# ---------------------------------------------------------------------------------------------
# Sources and importers
# ---------------------------------------------------------------------------------------------


def load_sources(path: Path) -> list[dict]:
    """`benchmarks/sources.toml`: each source's name, file, format, publisher and licence."""
    if not path.is_file():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("source", [])
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError([f"benchmarks/{path.name}: not valid TOML ({exc})"]) from None
    problems, names = [], set()
    for number, entry in enumerate(entries, start=1):
        where = f"benchmarks/{path.name} source {number} ({entry.get('name', 'no name')})"
        for key in ("name", "file", "format", "publisher", "licence"):
            if not entry.get(key):
                problems.append(f"{where}: '{key}' is missing")
        name = entry.get("name", "")
        if name and not re.match(r"^[A-Za-z0-9_.-]+$", name):
            problems.append(f"{where}: the name may hold only letters, digits, '-', '_' and '.'")
        if name in names:
            problems.append(f"{where}: the name '{name}' is used twice")
        names.add(name)
        if entry.get("format") and entry["format"] not in IMPORTERS:
            problems.append(f"{where}: format '{entry['format']}' is not one of {', '.join(IMPORTERS)}")
        file = path.parent / entry.get("file", "")
        if entry.get("file") and not (file.is_file() and is_inside(file, path.parent)):
            problems.append(f"{where}: the file {entry['file']} is not in benchmarks/")
        unknown = set(entry.get("columns", {})) - set(LONG_CSV_FIELDS)
        if unknown:
            problems.append(
                f"{where}: [source.columns] has unknown names {', '.join(sorted(unknown))}; "
                f"ours are {', '.join(LONG_CSV_FIELDS)}"
            )
    if problems:
        raise ReferenceDataError(problems)
    return entries


def long_csv_columns(file_name: str, header: list[str], columns: dict[str, str]) -> dict[str, str]:
    """Our field name -> the file's column; `columns` maps our names to the file's (any case)."""
    by_lower = {str(c).strip().lower(): c for c in header}
    found, missing = {}, []
    for ours in LONG_CSV_FIELDS:
        theirs = columns.get(ours, ours)
        column = theirs if theirs in header else by_lower.get(str(theirs).strip().lower())
        if column is not None:
            found[ours] = column
        elif ours in LONG_CSV_REQUIRED:
            missing.append(f"'{theirs}' (for {ours})")
    if missing:
        raise ReferenceDataError([f"{file_name}: no column {', '.join(missing)}"])
    return found


def read_long_csv(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """A long CSV (LG Inform, Trafford Data Lab shape); `columns` maps our names to the file's."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False)
    except UnicodeDecodeError:  # saved from Excel on Windows
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252", index_col=False)
    found = {
        ours: df[theirs].str.strip()
        for ours, theirs in long_csv_columns(path.name, list(df.columns), columns).items()
    }
    blank = pd.Series("", index=df.index)
    return pd.DataFrame(
        {
            "metric": found["metric"],
            "metric_title": found.get("metric_title", found["metric"]),
            "unit": found.get("unit", blank),
            "source_polarity": found.get("polarity", blank),
            "area_code": found["area_code"],
            "area_name": found.get("area_name", blank),
            "raw_period": found["period"],
            "raw_value": found["value"],
            "source_row": df.index + 2,
        }
    )


def stage_long_csv(con, path: Path, columns: dict[str, str], table: str, stamp: dict) -> int | None:
    """A long CSV read by DuckDB straight into `table` (national files run to millions of rows).

    Only a file DuckDB reads exactly as `read_long_csv` would (UTF-8, comma-separated, every row
    complete) is read here; for anything else this returns None and the file goes to
    `read_long_csv`, which reads Windows encodings and gives pandas' messages. The file's columns
    are read under names of our own (`c0`, `c1`...), so no text from the file enters the SQL.
    Returns the rows read.
    """
    import duckdb

    try:
        header = [str(c) for c in pd.read_csv(path, nrows=0, dtype=str, encoding="utf-8-sig").columns]
        if any(name.startswith("Unnamed: ") for name in header):
            return None  # a column with no name: pandas' own naming applies
        found = long_csv_columns(path.name, header, columns)
        position = {name: i for i, name in enumerate(header)}

        def field(ours: str, default: str = "''") -> str:
            return default if ours not in found else f"trim(coalesce(c{position[found[ours]]}, ''))"

        columns_sql = (
            f"{field('metric')} as metric, {field('metric_title', field('metric'))} as metric_title, "
            f"{field('unit')} as unit, {field('polarity')} as source_polarity, {field('area_code')} as area_code, "
            f"{field('area_name')} as area_name, {field('period')} as raw_period, {field('value')} as raw_value"
        )
        inserted = con.execute(
            f"insert into {table} by name select {columns_sql}, row_number() over () + 1 as source_row, "
            "$source as source, $file as file, $file_sha256 as file_sha256 from read_csv($path, header = true, "
            "delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', auto_detect = false, columns = $columns)",
            {**stamp, "path": str(path), "columns": {f"c{i}": "VARCHAR" for i in range(len(header))}},
        ).fetchone()[0]
        return inserted
    except (duckdb.Error, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None


OFLOG_ASC_COLUMNS = [
    "Financial year",
    "Local authority code",
    "Local authority name",
    "Measure",
    "Code",
    "Value",
    "rank_order",
]


def read_oflog_asc_csv(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """Oflog's adult social care CSV: one row per authority, measure and year; `rank_order` is polarity."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in OFLOG_ASC_COLUMNS if c not in df.columns]
    if missing:
        raise ReferenceDataError([f"{path.name}: not Oflog's ASC layout (no column {', '.join(missing)})"])
    df = df.apply(lambda col: col.str.strip())
    return pd.DataFrame(
        {
            "metric": df["Code"],
            "metric_title": df["Measure"],
            "unit": "",
            "source_polarity": df["rank_order"],
            "area_code": df["Local authority code"],
            "area_name": df["Local authority name"],
            "raw_period": df["Financial year"],
            "raw_value": df["Value"],
            "source_row": df.index + 2,
        }
    )


def read_oflog_waste_json(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """Oflog's waste JSON: `flatMetricData` records, names in `areaCodeLookup`, polarity in `metaData`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        records = pd.DataFrame(data["flatMetricData"], columns=["y", "x", "xLabel", "metric", "areaCode"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ReferenceDataError([f"{path.name}: not Oflog's waste JSON layout ({exc})"]) from None
    meta = data.get("metaData", {})
    labels = {metric: str(info.get("label", metric)) for metric, info in meta.items()}
    # The unit is in the label's brackets: "Household recycling rate (%)", "Household waste (kg)".
    units = {m: re.findall(r"\(([^)]*)\)\s*$", label) for m, label in labels.items()}
    units = {m: ("percent" if found == ["%"] else (found[0] if found else "")) for m, found in units.items()}
    directions = {metric: str(info.get("direction", "")) for metric, info in meta.items()}
    periods = records["xLabel"].where(
        records["xLabel"].notna(), records["x"].map(lambda x: f"{x}-{(int(x) + 1) % 100:02d}")
    )
    text = records["y"].map(lambda y: "" if y is None else str(y).strip())
    return pd.DataFrame(
        {
            "metric": records["metric"],
            "metric_title": records["metric"].map(labels).fillna(records["metric"]),
            "unit": records["metric"].map(units).fillna(""),
            "source_polarity": records["metric"].map(directions).fillna(""),
            "area_code": records["areaCode"].str.strip(),
            "area_name": records["areaCode"].map(data.get("areaCodeLookup", {})).fillna(""),
            "raw_period": periods.astype(str),
            "raw_value": text,
            "source_row": records.index + 1,
        }
    )


IMPORTERS = {
    "long_csv": read_long_csv,
    "oflog_asc_csv": read_oflog_asc_csv,
    "oflog_waste_json": read_oflog_waste_json,
}


def create_raw_table(con, table: str = "raw_rows") -> None:
    """The temporary table the importers write raw rows to (all text, but the row number)."""
    types = {c: "VARCHAR" for c in [*RAW_COLUMNS, "source", "file", "file_sha256"]} | {"source_row": "BIGINT"}
    columns_sql = ", ".join(f"{column} {type_name}" for column, type_name in types.items())
    con.execute(f"create or replace temporary table {table} ({columns_sql})")


def stage_sources(
    con, sources: list[dict], benchmarks: Path, data_root: Path, table: str = "raw_rows"
) -> pd.DataFrame:
    """Every source read by its importer into the temporary table `table`, rows stamped with
    source, file and hash; returns a table of the files. Every unreadable source is reported."""
    create_raw_table(con, table)
    files, problems = [], []
    for source in sources:
        path = benchmarks / source["file"]
        stamp = {
            "source": source["name"],
            "file": relative_to_root(path, data_root),
            "file_sha256": sha256_of(path),
        }
        try:
            rows = None
            if source["format"] == "long_csv":
                rows = stage_long_csv(con, path, source.get("columns", {}), table, stamp)
            if rows is None:
                raw = IMPORTERS[source["format"]](path, source.get("columns", {})).assign(**stamp)
                con.register("imported", raw)
                con.execute(f"insert into {table} by name select * from imported")
                con.unregister("imported")
                rows = len(raw)
        except ReferenceDataError as error:
            problems.extend(f"benchmarks/{source['file']} ({source['name']}): {p}" for p in error.problems)
            continue
        except (
            UnicodeDecodeError,
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
            json.JSONDecodeError,
        ) as error:
            problems.append(
                f"benchmarks/{source['file']} ({source['name']}): the file could not be read as "
                f"{source['format']}: {type(error).__name__}: {str(error)[:200]}"
            )
            continue
        files.append(
            {
                "source": source["name"],
                "file": stamp["file"],
                "format": source["format"],
                "rows": rows,
                "sha256": stamp["file_sha256"],
                "as_declared": source.get("sha256") in (None, stamp["file_sha256"]),
                "publisher": source["publisher"],
                "licence": source["licence"],
            }
        )
    if problems:
        raise ReferenceDataError(problems)
    return pd.DataFrame(files)


def read_sources(sources: list[dict], benchmarks: Path, data_root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`stage_sources` in an in-memory database: the raw rows as a frame, and the files table."""
    import duckdb

    with duckdb.connect() as con:
        files = stage_sources(con, sources, benchmarks, data_root)
        raw = con.execute("select * from raw_rows").fetchdf()
    raw["source_row"] = raw["source_row"].astype("Int64")
    return raw, files


# ---------------------------------------------------------------------------------------------
# Normalisation and polarity
# ---------------------------------------------------------------------------------------------


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
    periods = _periods_table(period_texts).rename_axis("raw_period").reset_index()
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
# database, as the table does: (error, failing value, condition).
VALUE_CHECK_RULES = {
    "area_codes_known": (
        "is not an authority in authorities.csv",
        "area_code",
        "not list_contains($known, area_code) and not regexp_full_match(area_code, $aggregate)",
    ),
    "one_value_per_area_and_period": (
        "more than one row for this source, metric, period and area",
        "source || ' ' || metric || ' ' || period || ' ' || area_code",
        "count(*) over (partition by source, metric, period, area_code) > 1",
    ),
    "values_are_numbers": ("is not a number", "raw_value", "value_status = 'not_a_number'"),
    "periods_recognised": (
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


def comparable_values(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The long frame the statistics take: `metric` = `source:metric`, one value per area and period.

    Rows whose period is not recognised are left out; an identical repeat counts once; different
    figures for the same area and period are both set aside (missing), as nobody can say which is
    right. All of these are reported by the checks on `benchmark_values`. Also returns the
    polarity per metric.
    """
    df = values[values["period_end"].notna()].assign(metric=values["source"] + ":" + values["metric"])
    df = df.drop_duplicates(["metric", "period", "area_code", "value"])
    conflicting = df.duplicated(["metric", "period", "area_code"], keep=False)
    df = df.assign(value=df["value"].where(~conflicting)).drop_duplicates(["metric", "period", "area_code"])
    polarity = df.drop_duplicates("metric").set_index("metric")["polarity"]
    columns = ["metric", "period", "area_code", "value", "period_start", "period_end", "metric_title", "unit"]
    return df[columns].reset_index(drop=True), polarity


# ---------------------------------------------------------------------------------------------
# Comparator groups
# ---------------------------------------------------------------------------------------------


def read_nearest_neighbours(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An `NN.json`-style mapping `{authority: [members...]}`: members in order, each once.

    Returns the pairs (`authority_code, member_code`) and the repeats removed, so they can be
    reported: the published NN.json names Folkestone and Hythe twice in 24 districts' lists, and
    its own list of 34 entries holds every member twice.
    """
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
        pairs = pd.DataFrame(
            [
                (str(owner).strip(), str(member).strip())
                for owner, members in mapping.items()
                for member in members
            ],
            columns=["authority_code", "member_code"],
        )
    except (json.JSONDecodeError, AttributeError, TypeError) as exc:
        raise ReferenceDataError(
            [f"reference/{path.name}: not a mapping of codes to lists of codes ({exc})"]
        ) from None
    counts = pairs.groupby(["authority_code", "member_code"], sort=False).size()
    repeats = counts[counts > 1].rename("times_listed").reset_index()
    return pairs.drop_duplicates().reset_index(drop=True), repeats


def read_group_csv(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`comparator_groups.csv`: `group, authority_code`; returns the members and the repeats removed."""
    if not path.is_file():
        raise ReferenceDataError([f"reference/{path.name}: the file is missing"])
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("group", "authority_code") if c not in df.columns]
    if missing:
        raise ReferenceDataError([f"reference/{path.name}: column '{c}' is missing" for c in missing])
    df = df[["group", "authority_code"]].apply(lambda col: col.str.strip())
    df = df[df.ne("").all(axis=1)]
    derived = sorted(set(df["group"]) & {SAME_TYPE, REGION, ENGLAND})
    if derived:
        raise ReferenceDataError(
            [
                f"reference/{path.name}: '{g}' is a group the pipeline builds from authorities.csv; "
                "give yours another name"
                for g in derived
            ]
        )
    counts = df.groupby(["group", "authority_code"], sort=False).size()
    repeats = counts[counts > 1].rename("times_listed").reset_index()
    return df.drop_duplicates().reset_index(drop=True), repeats


def build_comparator_groups(
    authorities: pd.DataFrame,
    council_code: str,
    nearest_neighbours: pd.DataFrame | None = None,
    csv_groups: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every authority's comparator groups, one row per (authority, group, member).

    - `nearest_neighbours`: the published lists, as they are (an abolished or unknown member stays
      a member: it has no value, so it counts as missing; successors are not substituted).
    - `same_type`, `region`, `england`: from `authorities.csv`, each member valid from its
      `start_date` to its `end_date`, so an abolished authority is a member only for periods it
      existed in, and its successor only from its creation.
    - a CSV group: for each listed authority, and for the council (added if not listed, as a list
      of the council's own comparators is usually written without it). A CSV group named
      `nearest_neighbours` is the council's own list (lists of neighbours are not symmetric) and
      replaces the mapping's list for the council.
    Every authority is a member of its own groups.
    """
    info = authorities.assign(
        member_type=authorities["authority_type"].replace(COMPARISON_TYPE),
        member_status=np.where(
            authorities["end_date"].notna(),
            "abolished "
            + authorities["end_date"].dt.strftime("%Y-%m-%d").fillna("")
            + (", replaced by " + authorities["replaced_by"]).fillna(""),
            "",
        ),
    ).rename(columns={"gss_code": "member_code", "name": "member_name"})
    derived = info.rename(columns={"start_date": "valid_from", "end_date": "valid_to"})
    frames = []
    for group, key in ((SAME_TYPE, "member_type"), (REGION, "region"), (ENGLAND, None)):
        members = derived.dropna(subset=[key]) if key else derived
        owners = members[["member_code", *([key] if key else [])]].rename(
            columns={"member_code": "authority_code"}
        )
        joined = owners.merge(members, on=key) if key else owners.merge(members, how="cross")
        frames.append(joined.assign(group=group, basis="authorities.csv"))
    listed = []
    if nearest_neighbours is not None and len(nearest_neighbours):
        listed.append(nearest_neighbours.assign(group=NEAREST_NEIGHBOURS, basis=NEAREST_NEIGHBOURS_FILE))
    if csv_groups is not None and len(csv_groups):
        with_council = pd.concat(
            [
                csv_groups.rename(columns={"authority_code": "member_code"}),
                csv_groups[["group"]].drop_duplicates().assign(member_code=council_code),
            ]
        ).drop_duplicates()
        symmetric = with_council[with_council["group"] != NEAREST_NEIGHBOURS]
        owners = csv_groups.loc[csv_groups["group"] != NEAREST_NEIGHBOURS, ["group", "authority_code"]]
        owners = pd.concat(
            [owners, symmetric[["group"]].drop_duplicates().assign(authority_code=council_code)]
        )
        from_csv = pd.concat(
            [
                owners.drop_duplicates().merge(symmetric, on="group"),
                with_council[with_council["group"] == NEAREST_NEIGHBOURS].assign(authority_code=council_code),
            ]
        ).assign(basis=GROUPS_CSV)
        replaced = pd.MultiIndex.from_frame(from_csv[["authority_code", "group"]])
        listed = [  # a list in the CSV replaces the mapping's for the same authority and group
            frame[~pd.MultiIndex.from_frame(frame[["authority_code", "group"]]).isin(replaced)]
            for frame in listed
        ]
        listed.append(from_csv)
    if listed:
        lists = pd.concat(listed, ignore_index=True)
        selves = lists[["authority_code", "group", "basis"]].drop_duplicates(["authority_code", "group"])
        lists = pd.concat([lists, selves.assign(member_code=selves["authority_code"])])
        lists = lists.merge(
            info[["member_code", "member_name", "member_type", "member_status"]], on="member_code", how="left"
        )
        lists["member_type"] = lists["member_type"].fillna(lists["member_code"].str[:3])
        lists["member_status"] = lists["member_status"].fillna("not in authorities.csv")
        frames.append(lists.assign(valid_from=pd.NaT, valid_to=pd.NaT))
    groups = pd.concat(frames, ignore_index=True)
    groups = groups.drop_duplicates(["authority_code", "group", "member_code"])
    for column in ("valid_from", "valid_to"):
        groups[column] = pd.to_datetime(groups[column])
    return groups[GROUP_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------

# Elements of one gathered block (slices x sets x members) held in memory at a time.
_BLOCK_ELEMENTS = 4_000_000
_OUTPUT_TYPES = {
    "pair": np.int32,
    "slice": np.int32,
    "n": np.int32,
    "n_missing": np.int32,
    "value": float,
    "median": float,
    "mad": float,
    "rank": float,
    "quartile": float,
    "diff_from_median": float,
    "mads_from_median": float,
}
_NEVER = np.iinfo(np.int64).max
_ALWAYS = np.iinfo(np.int64).min


def group_positions(values: pd.DataFrame, groups: pd.DataFrame, polarity) -> pd.DataFrame:
    """Each authority's position in each of its groups, for every metric and period it has a value in.

    `values`: `metric, period, area_code, value`, one row per metric, period and area (NaN = not
    published). `groups`: `authority_code, group, member_code`, optionally `valid_from, valid_to`
    (dates the membership holds; blank = always) and `member_type`. `polarity`: metric ->
    `higher_is_better`, `lower_is_better` or `none` (a dict or Series; missing = none).

    For each (authority, group, metric, period) where the authority has a value:
    - `n`: members with a value (the authority included); `n_missing`: members with no value that
      were expected to have one: valid in the period, and of an authority type of which at least
      one authority has a value for that metric and period (districts are not missing from an
      adult social care table). A member with a value always counts.
    - `median` of the members' values; `mad`, the median absolute deviation, unscaled: the median
      of |value - median| (this is Oflog's, matched to every row of its ASC file);
      `mads_from_median` = (value - median) / mad, signed as the values are (not by polarity):
      0 when the value is the median, blank when mad is 0 and it is not.
    - `rank`: 1 = best by polarity; ties share the better rank; `quartile` = 1 + floor(4 (rank - 1) / n).
      Both blank for polarity `none`.

    Sets of members shared by many authorities (England, a region, a type) are computed once;
    the work is numpy over a dense slices x authorities matrix, in blocks of bounded size, with
    no loop over authorities or metrics. Row order is not meaningful.
    """
    if values.empty or groups.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in POSITION_COLUMNS})
    groups = groups.drop_duplicates(["authority_code", "group", "member_code"])
    selves = (
        groups[["authority_code", "group"]]
        .drop_duplicates()
        .assign(member_code=lambda d: d["authority_code"])
    )
    groups = pd.concat([groups, selves]).drop_duplicates(
        ["authority_code", "group", "member_code"], keep="first"
    )
    codes = pd.Index(
        pd.unique(
            np.concatenate(
                [
                    values["area_code"].to_numpy(object),
                    groups["member_code"].to_numpy(object),
                    groups["authority_code"].to_numpy(object),
                ]
            )
        )
    )
    pad_col = len(codes)  # an all-blank column for padding
    area = codes.get_indexer(values["area_code"])
    slice_id, (metric_code, period_code) = _factorize_together(values["metric"], values["period"])
    metrics, periods = metric_code.uniques, period_code.uniques
    metric_code, period_code = metric_code.codes, period_code.codes
    n_slices = len(metric_code)
    matrix = np.full((n_slices, pad_col + 1), np.nan)
    matrix[slice_id, area] = values["value"].to_numpy(float)
    polarity = pd.Series(polarity, dtype=object) if not isinstance(polarity, pd.Series) else polarity
    direction = (
        pd.Series(metrics).map(polarity).map({HIGHER: 1.0, LOWER: -1.0}).fillna(0.0).to_numpy()[metric_code]
    )

    # Which members are expected to have a value: valid then, and of a type that publishes it.
    member_type = groups["member_type"] if "member_type" in groups else groups["member_code"].str[:3]
    type_of_code = pd.Series(member_type.to_numpy(), index=groups["member_code"].to_numpy()).dropna()
    type_of_code = type_of_code[~type_of_code.index.duplicated()].reindex(codes)
    type_of_code = type_of_code.fillna(pd.Series(codes.str[:3], index=codes))
    type_code, types = pd.factorize(type_of_code.to_numpy())
    type_code = np.append(type_code, len(types))  # the padding column's type publishes nothing
    reports = np.zeros((n_slices, len(types) + 1), bool)
    published = ~np.isnan(matrix[slice_id, area])
    reports[slice_id[published], type_code[area[published]]] = True

    days = {}
    for column, blank in (("valid_from", _ALWAYS), ("valid_to", _NEVER)):
        dates = pd.to_datetime(groups[column]) if column in groups else pd.Series(pd.NaT, index=groups.index)
        days[column] = np.where(dates.isna(), blank, dates.to_numpy("datetime64[D]").astype(np.int64))
    # A member of a group is an entry: the member with the dates its membership holds.
    entry_id, (member, valid_from, valid_to) = _factorize_together(
        pd.Series(codes.get_indexer(groups["member_code"])),
        pd.Series(days["valid_from"]),
        pd.Series(days["valid_to"]),
    )
    entry_col = np.append(member.uniques[member.codes], pad_col)  # the last entry pads
    entry_from = np.append(valid_from.uniques[valid_from.codes], _NEVER)
    entry_to = np.append(valid_to.uniques[valid_to.codes], _ALWAYS)
    if (entry_from[:-1] == _ALWAYS).all() and (entry_to[:-1] == _NEVER).all():
        valid = np.ones((len(periods), len(entry_col)), bool)
    else:
        bounds = [parse_period(p) for p in periods]
        period_start = np.array([np.datetime64(b.first.start, "D").astype(np.int64) for b in bounds])
        period_end = np.array([np.datetime64(b.last.end, "D").astype(np.int64) for b in bounds])
        valid = (entry_from[None, :] <= period_end[:, None]) & (entry_to[None, :] > period_start[:, None])
    valid[:, -1] = False

    # Distinct member sets: England, a region or a type is one set shared by all its members.
    pair_id, (owner, group) = _factorize_together(groups["authority_code"], groups["group"])
    membership = np.zeros((len(owner.codes), len(entry_col) - 1), bool)
    membership[pair_id, entry_id] = True
    sets, set_of_pair = np.unique(membership, axis=0, return_inverse=True)
    set_of_pair = set_of_pair.ravel()
    owner_col = codes.get_indexer(owner.uniques[owner.codes])
    group_code, group_names = group.codes, group.uniques
    sizes = sets.sum(axis=1)
    width = 2 ** np.ceil(np.log2(np.maximum(sizes, 1))).astype(int)  # few distinct widths, at most 2x padding

    # One output row per pair and slice in which the pair's authority has a value: filled block by
    # block into arrays sized up front, so tens of millions of rows are never held twice.
    rows_out = int((~np.isnan(matrix)).sum(axis=0)[owner_col].sum())
    if rows_out == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in POSITION_COLUMNS})
    result = {name: np.empty(rows_out, dtype) for name, dtype in _OUTPUT_TYPES.items()}
    filled = 0
    for w in np.unique(width):
        in_bucket = np.flatnonzero(width == w)
        rows, members = np.nonzero(sets[in_bucket])
        slot = np.arange(len(rows)) - np.searchsorted(rows, rows)
        entry = np.full((len(in_bucket), w), len(entry_col) - 1)
        entry[rows, slot] = members
        bucket_pairs = np.flatnonzero(np.isin(set_of_pair, in_bucket))
        set_in_bucket = np.searchsorted(in_bucket, set_of_pair[bucket_pairs])
        own_slot = (entry_col[entry[set_in_bucket]] == owner_col[bucket_pairs, None]).argmax(axis=1)
        step = max(1, _BLOCK_ELEMENTS // (len(in_bucket) * w))
        for first in range(0, n_slices, step):
            block = slice(first, min(first + step, n_slices))
            part = _positions_block(
                matrix[block],
                direction[block],
                valid[period_code[block]],
                reports[block],
                entry,
                entry_col,
                type_code,
                set_in_bucket,
                own_slot,
                owner_col[bucket_pairs],
                bucket_pairs,
                first,
            )
            size = len(part["pair"])
            for name, array in part.items():
                result[name][filled : filled + size] = array
            filled += size
    pair, slice_ = result.pop("pair"), result.pop("slice")
    labels = {
        "authority_code": pd.Categorical.from_codes(owner_col[pair], codes.astype(str)),
        "group": pd.Categorical.from_codes(group_code[pair], group_names.astype(str)),
        "metric": pd.Categorical.from_codes(metric_code[slice_], metrics.astype(str)),
        "period": pd.Categorical.from_codes(period_code[slice_], periods.astype(str)),
    }
    # copy=False: tens of millions of rows are not copied again into consolidated blocks.
    return pd.DataFrame({c: labels[c] if c in labels else result[c] for c in POSITION_COLUMNS}, copy=False)


@dataclass(frozen=True)
class _Codes:
    codes: np.ndarray  # per distinct combination
    uniques: np.ndarray


def _factorize_together(*columns: pd.Series) -> tuple[np.ndarray, list[_Codes]]:
    """Codes for the distinct combinations of the columns, and each column's value per combination."""
    factorized = [pd.factorize(c.to_numpy()) for c in columns]
    key = np.zeros(len(columns[0]), np.int64)
    for codes, uniques in factorized:
        key = key * (len(uniques) + 1) + codes + 1
    combination_id, distinct = pd.factorize(key)
    first = np.empty(len(distinct), np.int64)
    first[combination_id[::-1]] = np.arange(len(key))[::-1]  # the first row of each combination
    return combination_id, [_Codes(codes[first], uniques) for codes, uniques in factorized]


def _median_of_sorted(ordered: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Median of the first n values along the last axis (blanks sort last); blank when n = 0."""
    low = np.maximum((n - 1) // 2, 0)[..., None]
    high = np.maximum(n // 2, 0)[..., None]
    middle = (np.take_along_axis(ordered, low, -1) + np.take_along_axis(ordered, high, -1))[..., 0] / 2
    return np.where(n > 0, middle, np.nan)


def _positions_block(
    matrix,
    direction,
    valid,
    reports,
    entry,
    entry_col,
    type_code,
    set_of_pair,
    own_slot,
    owner,
    pairs,
    first_slice,
) -> dict[str, np.ndarray]:
    """The statistics for a block of slices and one bucket of member sets of equal (padded) width."""
    values = matrix[:, entry_col[entry]]  # slices x sets x members
    has = ~np.isnan(values)
    n = has.sum(-1)
    expected = valid[:, entry] & reports[:, type_code[entry_col[entry]]]
    size = (has | expected).sum(-1)
    order = np.argsort(values, axis=-1)
    ordered = np.take_along_axis(values, order, -1)
    median = _median_of_sorted(ordered, n)
    mad = _median_of_sorted(np.sort(np.abs(values - median[..., None]), axis=-1), n)
    # Ties share the better rank: 1 + members strictly better. In ascending order a run of equal
    # values starts after the smaller ones and ends before the larger ones.
    slots = np.arange(values.shape[-1])
    starts = np.ones(ordered.shape, bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    run_start = np.maximum.accumulate(np.where(starts, slots, 0), axis=-1)
    ends = np.ones(ordered.shape, bool)
    ends[..., :-1] = starts[..., 1:]
    run_end = np.minimum.accumulate(np.where(ends, slots + 1, values.shape[-1])[..., ::-1], axis=-1)[
        ..., ::-1
    ]
    position = np.empty(order.shape, np.int64)  # where each member sits in the ordering
    np.put_along_axis(position, order, slots, -1)

    own = matrix[:, owner]  # slices x pairs
    keep = ~np.isnan(own)
    slice_index, pair_index = np.nonzero(keep)
    set_index, slot_index = set_of_pair[pair_index], own_slot[pair_index]
    sign = direction[slice_index]
    value = own[keep]
    n_kept = n[slice_index, set_index]
    mid, spread = median[slice_index, set_index], mad[slice_index, set_index]
    at = position[slice_index, set_index, slot_index]
    rank = np.where(
        sign > 0, n_kept - run_end[slice_index, set_index, at] + 1, run_start[slice_index, set_index, at] + 1
    ).astype(float)
    rank[sign == 0] = np.nan
    diff = value - mid
    with np.errstate(divide="ignore", invalid="ignore"):
        mads = np.where(diff == 0, 0.0, np.where(spread > 0, diff / spread, np.nan))
    return {
        "pair": pairs[pair_index],
        "slice": slice_index + first_slice,
        "n": n_kept,
        "n_missing": size[slice_index, set_index] - n_kept,
        "value": value,
        "median": mid,
        "mad": spread,
        "rank": rank,
        "quartile": 1 + np.floor(4 * (rank - 1) / n_kept),
        "diff_from_median": diff,
        "mads_from_median": mads,
    }


# ---------------------------------------------------------------------------------------------
# The council's benchmarks for a quarter
# ---------------------------------------------------------------------------------------------


def council_benchmarks(
    quarter: Quarter,
    values: pd.DataFrame,
    groups: pd.DataFrame,
    indicators: pd.DataFrame,
    council_code: str,
    group_names: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per benchmarked indicator and group: the council's position for the quarter.

    The period compared is the latest one ending no later than the quarter in which the council
    has a published value; a year counts as its Q4 for the lag. Also returns the indicators and
    groups that could not be compared (`indicator_code, metric, group, note`), to be reported.
    """
    comparable, polarity = comparable_values(values)
    links = catalogue_links(indicators).assign(metric=lambda d: d["source"] + ":" + d["metric"])
    comparable = comparable[comparable["metric"].isin(links["metric"])]
    mine = comparable[
        (comparable["area_code"] == council_code)
        & comparable["value"].notna()
        & (comparable["period_end"] <= pd.Timestamp(quarter.end))
    ]
    latest = mine.sort_values(["period_end", "period_start"]).drop_duplicates("metric", keep="last")
    chosen = comparable.merge(latest[["metric", "period"]], on=["metric", "period"])
    own_groups = groups[(groups["authority_code"] == council_code) & groups["group"].isin(group_names)]
    positions = group_positions(chosen[["metric", "period", "area_code", "value"]], own_groups, polarity)
    positions = positions.astype({c: str for c in ("authority_code", "group", "metric", "period")})

    grid = links[["indicator_code", "metric"]].merge(pd.DataFrame({"group": group_names}), how="cross")
    out = grid.merge(positions.drop(columns="authority_code"), on=["metric", "group"], how="left")
    described = comparable.drop_duplicates("metric").set_index("metric")
    out["metric_title"] = out["metric"].map(described["metric_title"])
    out["unit"] = out["metric"].map(described["unit"])
    out["polarity"] = out["metric"].map(polarity)
    out["group_size"] = out["n"] + out["n_missing"]
    out["lag_quarters"] = out["period"].map(
        lambda p: quarter - parse_period(p).last if isinstance(p, str) else None, na_action="ignore"
    )
    out["outlier"] = (out["mads_from_median"].abs() > OUTLIER_MADS) | (
        out["mad"].eq(0) & out["diff_from_median"].ne(0)
    )
    out["note"] = np.select(
        [
            ~out["metric"].isin(described.index),
            ~out["metric"].isin(latest["metric"]),
            ~out["group"].isin(set(own_groups["group"])),
        ],
        [
            "the benchmark metric is not in the benchmark data",
            f"no published value for the council up to {quarter.label}",
            "the council has no such comparator group",
        ],
        "",
    )
    gaps = out.loc[out["note"] != "", ["indicator_code", "metric", "group", "note"]].reset_index(drop=True)
    out = out[out["note"] == ""].copy()
    for column in ("n", "n_missing", "rank", "quartile", "lag_quarters", "group_size"):
        out[column] = out[column].astype("Int64")
    # A median of two values carries binary noise (43.900000000000006); no published figure has
    # more than 9 decimals, so the derived ones are shown to 9.
    for column in ("median", "mad", "diff_from_median", "mads_from_median"):
        out[column] = out[column].round(9)
    order = {name: i for i, name in enumerate(group_names)}
    out = out.sort_values(["indicator_code", "group"], key=lambda s: s.map(order) if s.name == "group" else s)
    return out[REPORT_COLUMNS].reset_index(drop=True), gaps


def _consistent_quartiles(d: pd.DataFrame) -> pd.Series:
    expected = 1 + np.floor(4 * (d["rank"].astype(float) - 1) / d["n"].astype(float))
    return d["quartile"].isna() | (d["quartile"].astype(float) == expected)


comparator_benchmarks_schema = pa.DataFrameSchema(
    {
        "indicator_code": pa.Column(str),
        "group": pa.Column(str),
        "period": pa.Column(str, pa.Check.str_matches(PERIOD_LABEL)),
        "n": pa.Column("Int64", pa.Check.ge(1)),
        "n_missing": pa.Column("Int64", pa.Check.ge(0)),
        "value": pa.Column(float),
        "median": pa.Column(float),
        "rank": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "quartile": pa.Column("Int64", pa.Check.isin([1, 2, 3, 4]), nullable=True),
        "lag_quarters": pa.Column("Int64", pa.Check.ge(0)),
        "outlier": pa.Column(bool),
        "polarity": pa.Column(str, pa.Check.isin(POLARITIES)),
    },
    checks=[
        pa.Check(lambda d: d["rank"].isna() | (d["rank"] <= d["n"]), error="a rank is at most n"),
        pa.Check(_consistent_quartiles, error="quartile = 1 + floor(4 (rank - 1) / n)"),
        pa.Check(lambda d: d["rank"].isna() | d["polarity"].ne(NONE), error="polarity none is never ranked"),
    ],
    unique=["indicator_code", "group"],
)
