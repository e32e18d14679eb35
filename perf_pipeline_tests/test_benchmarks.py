"""Comparator benchmarks: importers on the real published files, groups, and the statistics.

The files read are the repository's copies in `data/` (byte-for-byte the published ones), so the
tests need nothing outside the repository.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from perf_pipeline.lib.benchmarks.checks import (
    AREAS_KNOWN,
    ONE_VALUE_EACH,
    PERIODS_RECOGNISED,
    VALUES_NUMERIC,
    benchmark_value_failures,
)
from perf_pipeline.lib.benchmarks.council import council_benchmarks, council_positions
from perf_pipeline.lib.benchmarks.groups import (
    BUILT_IN_GROUPS,
    GROUPS_CSV,
    NEAREST_NEIGHBOURS_FILE,
    build_comparator_groups,
    read_group_csv,
    read_nearest_neighbours,
)
from perf_pipeline.lib.benchmarks.normalise import (
    BENCHMARK_COLUMNS,
    comparable_values,
    normalise_benchmarks,
    resolve_polarity,
)
from perf_pipeline.lib.benchmarks.periods import Period, parse_period
from perf_pipeline.lib.benchmarks.positions import group_positions
from perf_pipeline.lib.benchmarks.readers.long_csv import read_long_csv, stage_long_csv
from perf_pipeline.lib.benchmarks.sources import SOURCES_FILE, create_raw_table, load_sources, read_sources
from perf_pipeline.lib.quarters import Quarter, QuarterError
from perf_pipeline.lib.reference import load_authorities, load_indicators, load_rag_rules, load_services
from perf_pipeline.lib.schemas import comparator_benchmarks_schema
from perf_pipeline.lib.validation import ReferenceDataError, schema_failures
from perf_pipeline_tests.conftest import EXAMPLE_DATA, write

BENCHMARKS = EXAMPLE_DATA / "benchmarks"
REFERENCE = EXAMPLE_DATA / "reference"
DARLINGTON = "E06000005"
HIGHER, LOWER, NONE = "higher_is_better", "lower_is_better", "none"


@pytest.fixture(scope="module")
def authorities() -> pd.DataFrame:
    return load_authorities(REFERENCE / "authorities.csv")


@pytest.fixture(scope="module")
def indicators() -> pd.DataFrame:
    services = load_services(REFERENCE / "services.csv")
    return load_indicators(
        REFERENCE / "indicators.csv", services, load_rag_rules(REFERENCE / "rag_rules.toml")
    )


@pytest.fixture(scope="module")
def values(indicators, authorities) -> pd.DataFrame:
    raw, _ = read_sources(load_sources(BENCHMARKS / SOURCES_FILE), BENCHMARKS, EXAMPLE_DATA)
    return normalise_benchmarks(raw, indicators, authorities)[0]


@pytest.fixture(scope="module")
def groups(authorities) -> pd.DataFrame:
    nearest, _ = read_nearest_neighbours(REFERENCE / NEAREST_NEIGHBOURS_FILE)
    named, _ = read_group_csv(REFERENCE / GROUPS_CSV)
    return build_comparator_groups(authorities, DARLINGTON, nearest, named)


# ---------------------------------------------------------------------------------------------
# Periods and importers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, label, first, last",
    [
        ("2022-23", "2022-23", Quarter(2022, 1), Quarter(2022, 4)),
        ("2022/23", "2022-23", Quarter(2022, 1), Quarter(2022, 4)),
        ("2022-2023", "2022-23", Quarter(2022, 1), Quarter(2022, 4)),
        ("2022/23 Q3", "2022-23-Q3", Quarter(2022, 3), Quarter(2022, 3)),
        ("Q3 2022-23", "2022-23-Q3", Quarter(2022, 3), Quarter(2022, 3)),
        ("2022-23-Q3", "2022-23-Q3", Quarter(2022, 3), Quarter(2022, 3)),
    ],
)
def test_periods_are_normalised_to_the_projects_labels(text, label, first, last):
    assert parse_period(text) == Period(label, first, last)


@pytest.mark.parametrize("text", ["2022", "2022-24", "Q5 2022/23", "FY22"])
def test_a_period_that_is_neither_year_nor_quarter_is_refused(text):
    with pytest.raises(QuarterError):
        parse_period(text)


def test_the_oflog_asc_csv_reads_as_published(values):
    asc = values[values["source"] == "oflog_asc"]
    assert len(asc) == 6376 and set(asc["metric"]) == {f"ASC{i}" for i in range(1, 8)}
    darlington = asc[
        (asc["area_code"] == DARLINGTON) & (asc["metric"] == "ASC5") & (asc["period"] == "2022-23")
    ]
    assert darlington["value"].tolist() == [90.8] and darlington["source_row"].tolist() == [3983]
    blanks = asc[asc["raw_value"] == ""]
    assert len(blanks) == 298 and blanks["value"].isna().all()  # missing, never zero
    assert set(blanks["value_status"]) == {"not_published"}
    assert asc["metric_title"].str.startswith("Outcome, ").all()
    # rank_order is written desc, DESC and None: read case-insensitively
    polarity = asc.groupby("metric")["polarity"].unique().map(list).to_dict()
    assert polarity == {**{f"ASC{i}": [HIGHER] for i in range(1, 6)}, "ASC6": [NONE], "ASC7": [NONE]}


def test_the_oflog_waste_json_reads_as_published(values):
    waste = values[values["source"] == "oflog_waste"]
    assert len(waste) == 7458 and waste["value"].notna().all()
    first = waste.iloc[0]
    assert (first["raw_value"], first["value"], first["period"], first["area_name"]) == (
        "39.4",
        39.4,
        "2022-23",
        "Adur",
    )
    by_metric = waste.drop_duplicates("metric").set_index("metric")
    assert by_metric["polarity"].to_dict() == {
        "Household waste recycling rate": HIGHER,
        "Recycling contamination rate": LOWER,
        "Residual household waste": LOWER,
    }
    assert by_metric["unit"].to_dict()["Household waste recycling rate"] == "percent"
    assert (by_metric["polarity_from"] == "source").all()


def test_a_long_csv_in_lg_inform_shape_reads_with_only_a_column_mapping(values):
    receipts = values[values["source"] == "dluhc_ct_receipts"]
    assert sorted(receipts["period"].unique()) == [
        f"{y}-Q{q}" for y in ("2021-22", "2022-23") for q in (1, 2, 3, 4)
    ]
    assert set(receipts["period_type"]) == {"quarter"}
    darlington = receipts[(receipts["area_code"] == DARLINGTON) & (receipts["period"] == "2022-23-Q3")]
    assert darlington["value"].tolist() == [18767.0] and darlington["unit"].tolist() == ["£ thousand"]
    abolished = receipts[receipts["raw_value"] == "[z]"]
    assert len(abolished) == 200 and abolished["value"].isna().all()
    assert {"E92000001", "E12000001"} <= set(receipts["area_code"])  # aggregates are kept


def value_failures(values: pd.DataFrame, authorities: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The failure cases of the checks on `benchmark_values`, as the asset runs them."""
    with duckdb.connect() as con:
        con.register("benchmark_values", values)
        found = benchmark_value_failures(con, "benchmark_values", list(authorities["gss_code"]))
    assert all(count == len(cases) for count, cases in found.values())
    return {name: cases for name, (_, cases) in found.items()}


def long_csv_source(tmp_path, body: str, columns: dict | None = None) -> pd.DataFrame:
    write(tmp_path / "benchmarks" / "lginform" / "planning.csv", body)
    mapping = "".join(f'{k} = "{v}"\n' for k, v in (columns or {"metric": "indicator"}).items())
    write(
        tmp_path / "benchmarks" / "sources.toml",
        '[[source]]\nname = "lginform_planning"\nfile = "lginform/planning.csv"\nformat = "long_csv"\n'
        'publisher = "LG Inform"\nlicence = "OGL-3.0"\n[source.columns]\n' + mapping,
    )
    sources = load_sources(tmp_path / "benchmarks" / "sources.toml")
    raw, _ = read_sources(sources, tmp_path / "benchmarks", tmp_path)
    return raw


TRAFFORD_SHAPE = """\
area_code,area_name,period,indicator,measure,unit,value
E06000005,Darlington,2022/23 Q3,Major applications decided on time,Percentage,Applications,"39.4"
E06000001,Hartlepool,2022/23 Q3,Major applications decided on time,Percentage,Applications,
E06000002,Middlesbrough,2022/23 Q3,Major applications decided on time,Percentage,Applications,"1,234"
E06000003,Redcar and Cleveland,2022-23,Major applications decided on time,Percentage,Applications,n/a
E06000004,Stockton-on-Tees,2022-23,Major applications decided on time,Percentage,Applications,see note
E99999999,Nowhere,2022/23 Q3,Major applications decided on time,Percentage,Applications,50
"""


def test_a_long_csv_keeps_blanks_missing_and_reports_what_it_cannot_read(tmp_path, indicators, authorities):
    raw = long_csv_source(tmp_path, TRAFFORD_SHAPE)
    values, _ = normalise_benchmarks(raw, indicators, authorities)
    assert values["period"].tolist() == ["2022-23-Q3"] * 3 + ["2022-23"] * 2 + ["2022-23-Q3"]
    assert values["value"].fillna(-1).tolist() == [39.4, -1, 1234.0, -1, -1, 50.0]  # blanks stay missing
    assert values["value_status"].tolist() == [
        "published",
        "not_published",
        "published",
        "not_published",
        "not_a_number",
        "published",
    ]
    assert values["source_row"].tolist() == [2, 3, 4, 5, 6, 7]
    failures = value_failures(values, authorities)
    assert failures[VALUES_NUMERIC][["failure_case", "index"]].values.tolist() == [
        ["see note", "benchmarks/lginform/planning.csv row 6"]
    ]
    assert failures[AREAS_KNOWN][["failure_case", "index"]].values.tolist() == [
        ["E99999999", "benchmarks/lginform/planning.csv row 7"]
    ]


def test_a_long_csv_without_a_mapped_column_names_it(tmp_path):
    with pytest.raises(ReferenceDataError, match=r"no column 'metric_id' \(for metric\)"):
        long_csv_source(tmp_path, TRAFFORD_SHAPE, {"metric": "metric_id"})


def test_sources_toml_mistakes_are_all_reported(tmp_path):
    write(tmp_path / "benchmarks" / "a.csv", "x\n")
    write(
        tmp_path / "benchmarks" / "sources.toml",
        '[[source]]\nname = "a"\nfile = "a.csv"\nformat = "excel"\npublisher = "P"\nlicence = "L"\n'
        '[[source]]\nname = "a"\nfile = "gone.csv"\nformat = "long_csv"\npublisher = "P"\n',
    )
    with pytest.raises(ReferenceDataError) as error:
        load_sources(tmp_path / "benchmarks" / "sources.toml")
    text = "\n".join(error.value.problems)
    for expected in (
        "format 'excel' is not one of",
        "'licence' is missing",
        "'a' is used twice",
        "gone.csv is not in",
    ):
        assert expected in text


def test_duplicates_and_unknown_periods_are_reported_not_dropped(tmp_path, indicators, authorities):
    body = (
        "area_code,period,indicator,value\nE06000005,2022-23,M,1\nE06000005,2022-23,M,2\nE06000001,2022,M,3\n"
    )
    raw = long_csv_source(tmp_path, body)
    values, _ = normalise_benchmarks(raw, indicators, authorities)
    assert len(values) == 3
    failures = value_failures(values, authorities)
    assert failures[ONE_VALUE_EACH]["index"].tolist() == [
        "benchmarks/lginform/planning.csv row 2",
        "benchmarks/lginform/planning.csv row 3",
    ]
    assert failures[PERIODS_RECOGNISED]["failure_case"].tolist() == ["2022"]
    comparable, _ = comparable_values(values)
    # different figures for the same area and period: neither is used; an unknown period is left out
    assert comparable[["area_code", "period"]].values.tolist() == [["E06000005", "2022-23"]]
    assert comparable["value"].isna().all()


# ---------------------------------------------------------------------------------------------
# Polarity
# ---------------------------------------------------------------------------------------------


def test_polarity_from_the_source_wins_and_a_disagreement_is_reported(values, indicators, authorities):
    asc7 = values[(values["source"] == "oflog_asc") & (values["metric"] == "ASC7")]
    assert set(asc7["polarity"]) == {NONE} and set(asc7["polarity_from"]) == {"source"}
    raw, _ = read_sources(load_sources(BENCHMARKS / SOURCES_FILE), BENCHMARKS, EXAMPLE_DATA)
    _, problems = resolve_polarity(raw, indicators)
    assert problems[["source", "metric"]].values.tolist() == [["oflog_asc", "ASC7"]]
    assert (
        "the source says none, the indicator catalogue (ASC07) says lower_is_better"
        in problems["problem"].iloc[0]
    )


@pytest.mark.parametrize(
    "source_words, catalogue, polarity, polarity_from, problem",
    [
        (["", ""], None, NONE, "default", None),
        (["", ""], LOWER, LOWER, "indicator catalogue", None),
        (["Higher is better", "HIGHER IS BETTER"], LOWER, HIGHER, "source", "says higher_is_better"),
        (["asc", ""], None, LOWER, "source", None),
        (["desc", "asc"], LOWER, LOWER, "indicator catalogue", "more than one polarity"),
        (["sideways", ""], None, NONE, "default", "'sideways' is not one we can read"),
    ],
)
def test_polarity_rules(indicators, source_words, catalogue, polarity, polarity_from, problem):
    raw = pd.DataFrame({"source": "src", "metric": "M", "source_polarity": source_words})
    catalogue_rows = (
        indicators.head(1).assign(benchmark_metric="src:M", polarity=catalogue)
        if catalogue
        else indicators.head(0)
    )
    table, problems = resolve_polarity(raw, catalogue_rows)
    assert table[["polarity", "polarity_from"]].values.tolist() == [[polarity, polarity_from]]
    if problem:
        assert problem in " ".join(problems["problem"])
    else:
        assert problems.empty


# ---------------------------------------------------------------------------------------------
# Comparator groups
# ---------------------------------------------------------------------------------------------


def test_the_published_neighbour_lists_are_deduplicated_and_the_repeats_reported():
    pairs, repeats = read_nearest_neighbours(REFERENCE / NEAREST_NEIGHBOURS_FILE)
    assert repeats["authority_code"].nunique() == 25
    sizes = pairs.groupby("authority_code").size()
    assert sizes[repeats["authority_code"].unique()].eq(16).all()
    folkestone = repeats[repeats["authority_code"] == "E07000112"]  # a list of 34 entries
    assert sizes["E07000112"] == 16 and (folkestone["times_listed"] - 1).sum() == 34 - 16


def test_darlingtons_groups(groups, authorities):
    own = groups[groups["authority_code"] == DARLINGTON]
    sizes = own.groupby("group").size().to_dict()
    assert sizes["nearest_neighbours"] == 16 and sizes["Tees Valley"] == 5
    assert sizes["england"] == len(authorities)
    same_type = own[own["group"] == "same_type"]
    assert set(same_type["member_type"]) == {"UA"}
    bournemouth = same_type[same_type["member_code"] == "E06000028"].iloc[0]
    assert bournemouth["member_status"] == "abolished 2019-03-31, replaced by E06000058"
    assert bournemouth["valid_to"] == pd.Timestamp("2019-03-31")
    assert set(own.loc[own["group"] == "region", "member_code"]) >= {"E06000001", "E08000037"}


def test_the_city_of_london_is_compared_with_the_london_boroughs_as_oflog_does(groups):
    city = groups[(groups["authority_code"] == "E09000001") & (groups["group"] == "same_type")]
    assert len(city) == 33 and set(city["member_type"]) == {"LBO"}


def test_a_csv_group_belongs_to_its_members_and_the_council(authorities):
    named = pd.DataFrame(
        {
            "group": ["Tees Valley", "Tees Valley", "Family"],
            "authority_code": ["E06000001", DARLINGTON, "E06000002"],
        }
    )
    groups = build_comparator_groups(authorities, DARLINGTON, None, named)
    tees = groups[groups["group"] == "Tees Valley"]
    assert set(tees["authority_code"]) == {"E06000001", DARLINGTON}
    family = groups[(groups["group"] == "Family") & (groups["authority_code"] == DARLINGTON)]
    assert set(family["member_code"]) == {"E06000002", DARLINGTON}  # the council is added


def test_a_csv_group_may_not_take_a_built_in_groups_name(tmp_path):
    path = write(tmp_path / "comparator_groups.csv", "group,authority_code\nregion,E06000001\n")
    with pytest.raises(ReferenceDataError, match="'region' is a group the pipeline builds"):
        read_group_csv(path)


def test_a_csv_list_of_nearest_neighbours_replaces_the_mappings_list_for_the_council_only(authorities):
    nearest = pd.DataFrame(
        {
            "authority_code": [DARLINGTON, DARLINGTON, "E06000001"],
            "member_code": [DARLINGTON, "E06000004", "E06000002"],
        }
    )
    named = pd.DataFrame({"group": ["nearest_neighbours"] * 2, "authority_code": ["E06000003", "E06000001"]})
    groups = build_comparator_groups(authorities, DARLINGTON, nearest, named)
    nn = groups[groups["group"] == "nearest_neighbours"]
    assert set(nn.loc[nn["authority_code"] == DARLINGTON, "member_code"]) == {
        DARLINGTON,
        "E06000003",
        "E06000001",
    }
    assert set(nn.loc[nn["authority_code"] == "E06000001", "member_code"]) == {"E06000001", "E06000002"}


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


def one_group(values: dict[str, float], polarity: str = HIGHER, metric: str = "M", period: str = "2022-23"):
    """Positions of every authority in one group made of all of them."""
    frame = pd.DataFrame(
        {"metric": metric, "period": period, "area_code": list(values), "value": list(values.values())}
    )
    members = pd.DataFrame({"member_code": list(values)})
    group = (
        members.rename(columns={"member_code": "authority_code"})
        .merge(members, how="cross")
        .assign(group="g")
    )
    out = group_positions(frame, group, {metric: polarity})
    return out.astype({"authority_code": str}).set_index("authority_code").sort_index()


@pytest.mark.parametrize(
    "polarity, expected",
    [(HIGHER, {"a": 4, "b": 2, "c": 2, "d": 1}), (LOWER, {"a": 1, "b": 2, "c": 2, "d": 4})],
)
def test_ties_share_the_better_rank(polarity, expected):
    out = one_group({"a": 10.0, "b": 20.0, "c": 20.0, "d": 30.0}, polarity)
    assert out["rank"].to_dict() == expected


@pytest.mark.parametrize(
    "n, quartiles",
    [(1, [1]), (4, [1, 2, 3, 4]), (5, [1, 1, 2, 3, 4]), (16, [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4)],
)
def test_quartile_edges(n, quartiles):
    out = one_group({f"A{i:02d}": float(100 - i) for i in range(n)})  # A00 is best
    assert out["rank"].tolist() == list(range(1, n + 1))
    assert out["quartile"].tolist() == quartiles


def test_polarity_none_is_shown_but_never_ranked():
    out = one_group({"a": 1.0, "b": 2.0, "c": 4.0}, NONE)
    assert out["rank"].isna().all() and out["quartile"].isna().all()
    assert out["median"].tolist() == [2.0] * 3 and out.loc["c", "diff_from_median"] == 2.0


def test_median_mad_and_distance_in_mads():
    out = one_group({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 100.0})
    # median 3; |x - 3| = 2, 1, 0, 1, 97; MAD (unscaled) = 1
    assert out["median"].eq(3.0).all() and out["mad"].eq(1.0).all()
    assert out["mads_from_median"].to_dict() == {"a": -2.0, "b": -1.0, "c": 0.0, "d": 1.0, "e": 97.0}


def test_a_zero_mad_gives_no_distance_unless_the_value_is_the_median():
    out = one_group({"a": 5.0, "b": 5.0, "c": 5.0, "d": 9.0})
    assert out.loc["a", "mads_from_median"] == 0.0 and np.isnan(out.loc["d", "mads_from_median"])


def test_a_comparator_with_no_value_is_missing_abolished_or_not(authorities):
    """A published list of 16 with one blank and one abolished member: "14 of 16 reported"."""
    members = (
        [DARLINGTON, "E06000028"]
        + [f"E0600000{i}" for i in (1, 2, 3, 4)]
        + [f"E060000{i}" for i in range(10, 20)]
    )
    values = pd.DataFrame({"metric": "M", "period": "2022-23", "area_code": members, "value": 50.0})
    values.loc[values["area_code"] == "E06000001", "value"] = np.nan
    values = values[values["area_code"] != "E06000028"]  # Bournemouth, abolished in 2019
    listed = pd.DataFrame(
        {"authority_code": DARLINGTON, "group": "nearest_neighbours", "member_code": members}
    )
    out = group_positions(values, listed, {"M": HIGHER})
    assert out[["n", "n_missing"]].values.tolist() == [[14, 2]]


def test_derived_groups_count_only_authorities_that_existed_and_deliver_the_service(authorities):
    groups = build_comparator_groups(authorities, DARLINGTON)
    groups = groups[(groups["authority_code"] == DARLINGTON) & (groups["group"] == "same_type")]
    unitaries = authorities[authorities["authority_type"] == "UA"]

    def existed(period: str) -> set[str]:
        p = parse_period(period)
        start, end = pd.Timestamp(p.first.start), pd.Timestamp(p.last.end)
        alive = (unitaries["start_date"].isna() | (unitaries["start_date"] <= end)) & (
            unitaries["end_date"].isna() | (unitaries["end_date"] > start)
        )
        return set(unitaries.loc[alive, "gss_code"])

    for period in ("2016-17", "2022-23"):
        alive = sorted(existed(period))
        values = pd.DataFrame({"metric": "M", "period": period, "area_code": alive, "value": 1.0})
        values.loc[values.index[:3], "value"] = np.nan  # three blanks: missing
        districts = pd.DataFrame(
            {"metric": "M", "period": period, "area_code": ["E07000223"], "value": [np.nan]}
        )
        out = group_positions(pd.concat([values, districts]), groups, {"M": HIGHER})
        assert out[["n", "n_missing"]].values.tolist() == [[len(alive) - 3, 3]], period
    # Bournemouth (abolished 2019) is in the group for 2016-17 only
    assert "E06000028" in existed("2016-17") and "E06000028" not in existed("2022-23")


def test_the_statistics_match_plain_sql_on_random_data_with_ties():
    rng = np.random.default_rng(7)
    codes = [f"E0700{i:04d}" for i in range(40)]
    values = pd.DataFrame(
        [
            (f"m{m}", f"{2019 + y}-{(20 + y) % 100:02d}", c, float(rng.integers(0, 12)))
            for m in range(6)
            for y in range(3)
            for c in codes
        ],
        columns=["metric", "period", "area_code", "value"],
    )
    values.loc[rng.random(len(values)) < 0.1, "value"] = np.nan
    polarity = {"m0": HIGHER, "m1": LOWER, "m2": NONE, "m3": HIGHER, "m4": LOWER, "m5": HIGHER}
    lists = [(c, m) for c in codes for m in [c, *rng.choice([x for x in codes if x != c], 7, replace=False)]]
    nn = pd.DataFrame(lists, columns=["authority_code", "member_code"]).assign(group="nearest_neighbours")
    everyone = pd.DataFrame({"authority_code": codes}).merge(
        pd.DataFrame({"member_code": codes}), how="cross"
    )
    groups = pd.concat([nn, everyone.assign(group="england")])
    ours = group_positions(values, groups, polarity).astype(
        {c: str for c in ("authority_code", "group", "metric", "period")}
    )
    with duckdb.connect() as con:
        con.register("v", values)
        con.register("g", groups)
        con.register("p", pd.DataFrame(list(polarity.items()), columns=["metric", "polarity"]))
        sql = con.execute("""
            with o as (select v.*, case polarity when 'higher_is_better' then value
                                                 when 'lower_is_better' then -value end o
                       from v join p using (metric) where value is not null)
            select g.authority_code, g."group", m.metric, m.period, count(*) n, median(m.value) median,
                   case when any_value(own.o) is not null
                        then 1 + count(*) filter (where m.o > own.o) end rank
            from g join o m on m.area_code = g.member_code
            join o own on own.area_code = g.authority_code and own.metric = m.metric and own.period = m.period
            group by all""").fetchdf()
    joined = ours.merge(sql, on=["authority_code", "group", "metric", "period"], suffixes=("", "_sql"))
    assert len(joined) == len(ours) == len(sql) > 0
    assert (joined["n"] == joined["n_sql"]).all()
    assert np.allclose(joined["median"], joined["median_sql"])
    assert (
        (joined["rank"] == joined["rank_sql"]) | (joined["rank"].isna() & joined["rank_sql"].isna())
    ).all()
    expected = 1 + np.floor(4 * (joined["rank"] - 1) / joined["n"])
    assert ((joined["quartile"] == expected) | joined["rank"].isna()).all()


def test_oflogs_own_median_and_mads_from_median_are_reproduced_on_every_row(values):
    """Oflog published MEDIAN and MADs_from_median across all authorities with a value for the
    same measure and year: the unscaled median absolute deviation reproduces both."""
    published = pd.read_csv(BENCHMARKS / "oflog" / "ASC_data.csv", dtype=str, keep_default_na=False)
    comparable, polarity = comparable_values(values[values["source"] == "oflog_asc"])
    everyone = pd.DataFrame({"member_code": comparable["area_code"].unique()})
    group = (
        everyone.rename(columns={"member_code": "authority_code"})
        .merge(everyone, how="cross")
        .assign(group="all")
    )
    ours = group_positions(comparable, group, polarity).astype(
        {c: str for c in ("authority_code", "metric", "period")}
    )
    rows = published[published["Value"] != ""].assign(metric="oflog_asc:" + published["Code"])
    joined = rows.merge(
        ours,
        left_on=["metric", "Financial year", "Local authority code"],
        right_on=["metric", "period", "authority_code"],
        how="left",
    )
    assert len(joined) == len(rows) == 6078
    assert np.allclose(joined["median"], joined["MEDIAN"].astype(float), rtol=0, atol=1e-6)
    assert np.allclose(
        joined["mads_from_median"], joined["MADs_from_median"].astype(float), rtol=0, atol=1e-6
    )


def test_every_authoritys_position_is_one_computation_and_the_councils_is_part_of_it(
    values, groups, indicators
):
    comparable, polarity = comparable_values(values[values["source"] == "oflog_waste"])
    comparable = comparable[comparable["period"] == "2022-23"]
    built_in = groups[groups["group"].isin(BUILT_IN_GROUPS)]
    everyone = group_positions(comparable, built_in, polarity).astype(
        {"authority_code": str, "group": str, "metric": str}
    )
    reported = comparable.loc[comparable["value"].notna(), ["metric", "area_code"]]
    expected = (
        built_in[["authority_code", "group"]]
        .drop_duplicates()
        .merge(reported, left_on="authority_code", right_on="area_code")
    )
    assert len(everyone) == len(expected) > 300 * 3 * 3  # every authority with a value, in each of its groups
    assert not everyone.duplicated(["authority_code", "group", "metric"]).any()
    table, gaps = benchmarks_for(Quarter(2025, 2), values, groups, indicators, BUILT_IN_GROUPS)
    mine = everyone[everyone["authority_code"] == DARLINGTON].merge(
        table, on=["metric", "group"], suffixes=("", "_report")
    )
    assert len(mine) == 12 and gaps.empty
    assert (mine["rank"] == mine["rank_report"]).all() and np.allclose(mine["median"], mine["median_report"])


# ---------------------------------------------------------------------------------------------
# The council's benchmarks for a quarter
# ---------------------------------------------------------------------------------------------


def benchmarks_for(quarter, values, groups, indicators, group_names):
    """The council's table for a quarter as the assets make it: its positions for every period
    (once), then the quarter's choice among them."""
    positions = council_positions(values, groups, indicators, DARLINGTON, group_names)
    return council_benchmarks(quarter, positions, indicators, group_names)


def council_case(rows, polarity=HIGHER, link="src:M"):
    values = pd.DataFrame(rows, columns=["area_code", "period", "raw_value"]).assign(
        source="src", metric="M", metric_title="Metric", unit="percent", polarity=polarity, area_name=""
    )
    values["value"] = pd.to_numeric(values["raw_value"])
    periods = values["period"].map(parse_period)
    values["period"] = periods.map(lambda p: p.label)
    values["period_start"] = periods.map(lambda p: pd.Timestamp(p.first.start))
    values["period_end"] = periods.map(lambda p: pd.Timestamp(p.last.end))
    codes = values["area_code"].unique()
    groups = pd.DataFrame({"authority_code": DARLINGTON, "group": "england", "member_code": codes})
    indicators = pd.DataFrame(
        {"code": ["X01"], "benchmark_metric": [link], "polarity": [polarity], "unit": ["percent"]}
    )
    return values, groups, indicators


@pytest.mark.parametrize(
    "quarter, council_2021_22, period, lag",
    [
        (Quarter(2022, 3), 2, "2021-22", 3),  # 2022-23 ends after 2022-23 Q3: not yet comparable
        (Quarter(2022, 4), 2, "2022-23", 0),
        (Quarter(2025, 2), 2, "2022-23", 10),
        (Quarter(2021, 4), 2, "2021-22", 0),
        (Quarter(2021, 4), None, "2020-21", 4),  # the council's own 2021-22 figure is blank
    ],
)
def test_the_latest_period_the_council_has_a_value_in_and_its_lag(quarter, council_2021_22, period, lag):
    rows = [
        (DARLINGTON, "2020-21", 1),
        (DARLINGTON, "2021-22", council_2021_22),
        ("E06000001", "2021-22", 3),
        (DARLINGTON, "2022-23", 3),
        ("E06000001", "2022-23", 4),
    ]
    values, groups, indicators = council_case(rows)
    table, gaps = benchmarks_for(quarter, values, groups, indicators, ["england"])
    assert table[["period", "lag_quarters"]].values.tolist() == [[period, lag]] and gaps.empty


@pytest.mark.parametrize("quarter", [Quarter(2022, 3), Quarter(2022, 4), Quarter(2025, 2)])
def test_positions_computed_once_for_every_period_are_those_of_the_period_a_quarter_chooses(
    quarter, values, groups, indicators
):
    names = [*BUILT_IN_GROUPS, "Tees Valley"]
    table, _ = benchmarks_for(quarter, values, groups, indicators, names)
    comparable, polarity = comparable_values(values)
    chosen = comparable.merge(table[["metric", "period"]].drop_duplicates())
    own = groups[(groups["authority_code"] == DARLINGTON) & groups["group"].isin(names)]
    alone = group_positions(chosen[["metric", "period", "area_code", "value"]], own, polarity)
    alone = alone.astype({"group": str, "metric": str, "period": str})
    both = table.merge(alone, on=["metric", "group", "period"], suffixes=("", "_alone"))
    assert len(both) == len(table) == len(alone) > 0
    for column in ("n", "n_missing", "value", "rank", "quartile"):
        assert both[column].astype(float).equals(both[f"{column}_alone"].astype(float)), column
    for column in ("median", "mad", "diff_from_median", "mads_from_median"):
        assert both[column].equals(both[f"{column}_alone"].round(9)), column


def test_a_quarterly_period_lags_by_quarters():
    values, groups, indicators = council_case([(DARLINGTON, "2022/23 Q2", 5), ("E06000001", "2022/23 Q2", 6)])
    table, _ = benchmarks_for(Quarter(2022, 3), values, groups, indicators, ["england"])
    assert table[["period", "lag_quarters", "n", "rank"]].values.tolist() == [["2022-23-Q2", 1, 2, 2]]


@pytest.mark.parametrize("value, outlier", [(13.0, False), (13.5, True), (7.0, False), (6.5, True)])
def test_more_than_three_mads_from_the_median_is_flagged_for_a_person_to_check(value, outlier):
    # comparators 9, 10, 10, 11 and the council: median 10, MAD 1
    rows = [
        ("E06000001", "2022-23", 9),
        ("E06000002", "2022-23", 10),
        ("E06000003", "2022-23", 10),
        ("E06000004", "2022-23", 11),
        (DARLINGTON, "2022-23", value),
    ]
    values, groups, indicators = council_case(rows)
    table, _ = benchmarks_for(Quarter(2025, 2), values, groups, indicators, ["england"])
    assert table["median"].iloc[0] == 10.0 and table["mad"].iloc[0] == 1.0
    assert bool(table["outlier"].iloc[0]) is outlier


def test_what_cannot_be_compared_is_reported_not_dropped():
    values, groups, indicators = council_case([(DARLINGTON, "2023-24", 1)])
    indicators = pd.concat([indicators, indicators.assign(code="X02", benchmark_metric="src:Nope")])
    table, gaps = benchmarks_for(Quarter(2022, 4), values, groups, indicators, ["england", "region"])
    assert table.empty
    assert gaps.values.tolist() == [
        ["X01", "src:M", "england", "no published value for the council up to 2022/23 Q4"],
        ["X01", "src:M", "region", "no published value for the council up to 2022/23 Q4"],
        ["X02", "src:Nope", "england", "the benchmark metric is not in the benchmark data"],
        ["X02", "src:Nope", "region", "the benchmark metric is not in the benchmark data"],
    ]


def test_a_council_with_no_benchmark_data_yet_gets_its_gaps_listed(tmp_path, indicators, authorities):
    raw, _ = read_sources(load_sources(tmp_path / SOURCES_FILE), tmp_path, tmp_path)
    values, problems = normalise_benchmarks(raw, indicators, authorities)
    assert values.empty and problems.empty and list(values.columns) == BENCHMARK_COLUMNS
    groups = build_comparator_groups(authorities, DARLINGTON)
    table, gaps = benchmarks_for(Quarter(2025, 2), values, groups, indicators, ["england"])
    assert table.empty and len(gaps) == indicators["benchmark_metric"].notna().sum()


def test_the_council_table_passes_its_own_checks(values, groups, indicators):
    table, _ = benchmarks_for(Quarter(2025, 2), values, groups, indicators, [*BUILT_IN_GROUPS, "Tees Valley"])
    assert schema_failures(comparator_benchmarks_schema, table).empty
    assert list(table.columns[:14]) == [
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
    ]
    assert table.groupby("indicator_code")["group"].apply(list).map(tuple).unique().tolist() == [
        ("nearest_neighbours", "same_type", "region", "england", "Tees Valley")
    ]


# ---------------------------------------------------------------------------------------------
# End to end
# ---------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_demo_benchmarks_every_linked_indicator_against_every_group(demo, indicators):
    table = pd.read_csv(demo / "reports" / "2025-26-Q2" / "comparator-benchmarks.csv", dtype={"period": str})
    linked = sorted(indicators.loc[indicators["benchmark_metric"].notna(), "code"])
    assert sorted(table["indicator_code"].unique()) == linked
    assert set(table["group"]) == {"nearest_neighbours", "same_type", "region", "england", "Tees Valley"}
    assert len(table) == len(linked) * 5
    assert set(table["period"]) == {"2022-23"} and set(table["lag_quarters"]) == {10}
    nn = table[table["group"] == "nearest_neighbours"]
    assert (nn["n"] + nn["n_missing"]).eq(16).all()
    asc02 = table[(table["indicator_code"] == "ASC02") & (table["group"] == "england")].iloc[0]
    assert (asc02["n"], asc02["n_missing"], asc02["median"], asc02["rank"]) == (149, 3, 0.413, 46)
    assert table.loc[table["indicator_code"] == "ASC07", "rank"].isna().all()  # Oflog ranks turnover as none
    with duckdb.connect(str(demo / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        quarters = con.execute("select count(distinct quarter) from perf.comparator_benchmarks").fetchone()[0]
        receipts = con.execute(
            "select count(*) from perf.benchmark_values where source = 'dluhc_ct_receipts' "
            "and period = '2022-23-Q3' and value is not null"
        ).fetchone()[0]
    assert quarters == 18 and receipts > 300


# ---------------------------------------------------------------------------------------------
# Reading long CSVs in the database: the same rows as pandas, or pandas itself
# ---------------------------------------------------------------------------------------------

HEADER = "area_code,period,metric,value"
SHAPES = {
    "plain": (f"{HEADER}\nE1,2022-23,M,1\nE2,2022-23,M,\n", True),
    "byte order mark": (f"\ufeff{HEADER}\nE1,2022-23,M,1\n", True),
    "Windows line ends": (f"{HEADER}\r\nE1,2022-23,M,1\r\nE2,2022-23,M,2\r\n", True),
    "a blank line": (f"{HEADER}\nE1,2022-23,M,1\n\nE2,2022-23,M,2\n", True),
    "a newline in quotes": (f'{HEADER}\nE1,2022-23,"M\nX",1\nE2,2022-23,M,2\n', True),
    "spaces around fields": ("area_code , period,metric,value\n E1 ,2022-23, M ,  1 \n", True),
    "no final line end": (f"{HEADER}\nE1,2022-23,M,1", True),
    "header only": (f"{HEADER}\n", True),
    "a short row": (f"{HEADER}\nE1,2022-23,M\n", False),
    "a long row": (f"{HEADER}\nE1,2022-23,M,1,9\n", False),
    "Windows-1252": (f"{HEADER}\nE1,2022-23,M\xe9,1\n", False),
    "a repeated column": (f"{HEADER},value\nE1,2022-23,M,1,2\n", True),
}
COMPARED = [
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


def staged(path, columns=None):
    with duckdb.connect() as con:
        create_raw_table(con)
        rows = stage_long_csv(
            con, path, columns or {}, "raw_rows", {"source": "s", "file": "f", "file_sha256": "h"}
        )
        return rows, con.execute(f"select {', '.join(COMPARED)} from raw_rows").fetchdf()


@pytest.mark.parametrize("shape", SHAPES)
def test_the_database_reads_a_long_csv_as_pandas_does_or_leaves_it_to_pandas(tmp_path, shape):
    body, in_database = SHAPES[shape]
    path = tmp_path / "long.csv"
    path.write_bytes(body.encode("cp1252" if shape == "Windows-1252" else "utf-8"))
    rows, frame = staged(path)
    assert (rows is not None) == in_database
    if in_database:
        expected = read_long_csv(path, {})[COMPARED]
        assert rows == len(expected)
        assert (
            frame.astype({"source_row": "int64"}).values.tolist()
            == expected.astype({"source_row": "int64"}).values.tolist()
        )


def test_a_large_long_csv_keeps_every_row_in_file_order(tmp_path):
    """DuckDB reads a large file in parallel; `source_row` must still be the row in the file."""
    n = 300_000
    codes = [f"E{i:08d}" for i in range(n)]
    pd.DataFrame({"area_code": codes, "period": "2022-23", "metric": "M", "value": range(n)}).to_csv(
        tmp_path / "big.csv", index=False
    )
    rows, frame = staged(tmp_path / "big.csv")
    assert rows == n
    assert (frame["area_code"] == codes).all() and (frame["source_row"] == range(2, n + 2)).all()
    assert (frame["raw_value"] == [str(i) for i in range(n)]).all()
