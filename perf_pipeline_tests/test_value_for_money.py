"""Value for money: the published workbook read as published, per-head figures, ranks and percentiles
checked against computations made here from the files themselves, importer edge cases, the report."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.benchmarks.checks import PERIODS_RECOGNISED, benchmark_value_failures
from perf_pipeline.lib.benchmarks.groups import (
    build_comparator_groups,
    read_group_csv,
    read_nearest_neighbours,
)
from perf_pipeline.lib.benchmarks.normalise import (
    comparable_values,
    load_benchmark_values,
    normalise_benchmarks,
)
from perf_pipeline.lib.benchmarks.periods import parse_period
from perf_pipeline.lib.benchmarks.readers.mhclg_rs import read_mhclg_rs_xlsx
from perf_pipeline.lib.benchmarks.readers.wide_csv import period_of_header, read_wide_csv
from perf_pipeline.lib.benchmarks.sources import load_sources, read_sources, stage_sources
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import load_authorities, load_indicators, load_rag_rules, load_services
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline.lib.value_for_money import (
    PAIR_COLUMNS,
    cost_per_unit,
    council_value_for_money,
    load_deflator,
    load_pairs,
    pair_metrics,
    value_for_money_positions,
)
from perf_pipeline_tests.browser import external_requests, open_page, screenshot
from perf_pipeline_tests.conftest import EXAMPLE_DATA, write

BENCHMARKS = EXAMPLE_DATA / "benchmarks"
REFERENCE = EXAMPLE_DATA / "reference"
WORKBOOK = BENCHMARKS / "mhclg" / "RS_2017-18_data_by_LA.xlsx"
REGISTER = BENCHMARKS / "mysociety" / "uk_local_authorities_current.csv"
DARLINGTON = "E06000005"
QUARTER = Quarter.parse("2025-26-Q2")
GROUPS = ["nearest_neighbours", "same_type", "region", "england", "Tees Valley"]


@pytest.fixture(scope="module")
def indicators() -> pd.DataFrame:
    services = load_services(REFERENCE / "services.csv")
    return load_indicators(
        REFERENCE / "indicators.csv", services, load_rag_rules(REFERENCE / "rag_rules.toml")
    )


@pytest.fixture(scope="module")
def example(indicators):
    """The example's pairs computed from its published files, as the asset does."""
    sources = load_sources(BENCHMARKS / "sources.toml")
    raw, files = read_sources(sources, BENCHMARKS, EXAMPLE_DATA)
    authorities = load_authorities(REFERENCE / "authorities.csv")
    values, _ = normalise_benchmarks(raw, indicators, authorities)
    pairs = load_pairs(REFERENCE / "value_for_money.csv", indicators)
    wanted = values[(values["source"] + ":" + values["metric"]).isin(pair_metrics(pairs, None))]
    comparable, polarity = comparable_values(wanted)
    per_unit = cost_per_unit(comparable, pairs)
    neighbours, _ = read_nearest_neighbours(REFERENCE / "nearest_neighbours.json")
    named, _ = read_group_csv(REFERENCE / "comparator_groups.csv")
    groups = build_comparator_groups(authorities, DARLINGTON, neighbours, named)
    names = values.drop_duplicates("area_code").set_index("area_code")["area_name"]
    table, points = council_value_for_money(
        QUARTER, per_unit, groups, pairs, polarity, DARLINGTON, GROUPS, names
    )
    return {"files": files, "values": values, "per_unit": per_unit, "table": table, "points": points}


# ---------------------------------------------------------------------------------------------
# The published workbook and the per-head figure
# ---------------------------------------------------------------------------------------------


def test_the_published_workbook_gives_darlingtons_adult_social_care_spend():
    raw = read_mhclg_rs_xlsx(WORKBOOK, {})
    row = raw[(raw["area_code"] == DARLINGTON) & (raw["metric"] == "Adult Social Care")]
    assert row[["raw_value", "raw_period", "source_row", "area_name", "unit"]].values.tolist() == [
        ["28832", "2017-18", 372, "Darlington UA", "£ thousand"]
    ]
    # Police, fire and other bodies (Class O) and the totals are set aside and counted, not read.
    assert not raw["area_code"].str.match(r"^E(23|31|26|47|50)").any()
    assert raw.attrs["set_aside"]["Class O (police, fire, combined authorities and other bodies)"] == 93
    assert raw.groupby("metric")["area_code"].nunique().eq(353).all()


def _register_population(code: str) -> int:
    with REGISTER.open(encoding="utf-8") as f:
        return int(float(next(r for r in csv.DictReader(f) if r["gss-code"] == code)["pop-2020"]))


def test_the_per_head_figure_is_the_spend_over_the_declared_population(example):
    per_unit = example["per_unit"]
    mine = per_unit[(per_unit["pair_id"] == "asc_short_term") & (per_unit["area_code"] == DARLINGTON)]
    population = _register_population(DARLINGTON)
    assert population == 107402
    assert mine["cost_per_unit"].item() == pytest.approx(28_832_000 / 107_402)  # £268.45 a resident
    assert mine["unit_of_cost_per_unit"].item() == "£ per resident"
    # The population is of another year than the spend, and the output says which.
    row = example["table"].query("pair_id == 'asc_short_term' and group == 'nearest_neighbours'")
    assert row[["period", "denominator_period", "prices"]].values.tolist() == [["2017-18", "2020-21", "cash"]]


def _independent_nearest_neighbour_positions(cost_column: str, outcome_code: str, higher_is_better: bool):
    """Rank and percentile of Darlington computed here, from the files read with csv and openpyxl."""
    members = [DARLINGTON, *json.loads((REFERENCE / "nearest_neighbours.json").read_text())[DARLINGTON]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sheet = openpyxl.load_workbook(WORKBOOK, read_only=True, data_only=True)["RS LA Data 2017-18"]
        rows = list(sheet.iter_rows(min_row=7, values_only=True))
    header = list(rows[0])
    spend = {r[1]: r[header.index(cost_column)] for r in rows[1:] if r[1] in members}
    with REGISTER.open(encoding="utf-8") as f:
        people = {r["gss-code"]: float(r["pop-2020"]) for r in csv.DictReader(f) if r["gss-code"] in members}
    with (BENCHMARKS / "oflog" / "ASC_data.csv").open(encoding="utf-8-sig") as f:
        outcome = {
            r["Local authority code"]: float(r["Value"])
            for r in csv.DictReader(f)
            if r["Code"] == outcome_code and r["Financial year"] == "2017-18" and r["Value"].strip()
        }
    both = [m for m in set(members) if m in spend and m in outcome and people.get(m)]
    cost = {m: spend[m] * 1000 / people[m] for m in both}
    n = len(both)
    cost_rank = 1 + sum(cost[m] < cost[DARLINGTON] for m in both)
    better = (lambda a, b: a > b) if higher_is_better else (lambda a, b: a < b)
    outcome_rank = 1 + sum(better(outcome[m], outcome[DARLINGTON]) for m in both)
    return n, cost_rank, 100 * (n - cost_rank) / (n - 1), outcome_rank, 100 * (n - outcome_rank) / (n - 1)


def test_rank_and_percentile_among_nearest_neighbours_match_an_independent_computation(example):
    n, cost_rank, cost_pct, outcome_rank, outcome_pct = _independent_nearest_neighbour_positions(
        "Adult Social Care", "ASC5", higher_is_better=True
    )
    row = example["table"].query("pair_id == 'asc_short_term' and group == 'nearest_neighbours'").iloc[0]
    assert (row["n"], row["cost_rank"], row["outcome_rank"]) == (n, cost_rank, outcome_rank)
    assert row["cost_percentile"] == pytest.approx(cost_pct)
    assert row["outcome_percentile"] == pytest.approx(outcome_pct)
    points = example["points"].query("pair_id == 'asc_short_term' and group == 'nearest_neighbours'")
    assert len(points) == n and points["is_council"].sum() == 1


def test_every_pair_is_compared_in_every_group_with_a_quadrant(example):
    table = example["table"]
    assert sorted(table["pair_id"].unique()) == ["asc_short_term", "waste_recycling", "waste_residual"]
    assert set(table["group"]) == set(GROUPS)
    assert table["quadrant"].str.match(r"^(lower|higher|median) cost, (better|worse|median) outcome$").all()
    residual = table.query("pair_id == 'waste_residual'")
    assert (residual["outcome_polarity"] == "lower_is_better").all()  # from the source's own metadata


def test_cost_is_ranked_cheapest_first_and_ties_share_the_better_rank():
    values = pd.DataFrame(
        {
            "metric": ["s:cost"] * 4 + ["s:people"] * 4 + ["s:good"] * 4,
            "period": "2017-18",
            "area_code": ["A", "B", "C", "D"] * 3,
            "value": [100, 200, 200, 400, 1, 1, 1, 1, 5, 9, 7, 10],
            "period_start": pd.Timestamp("2017-04-01"),
            "period_end": pd.Timestamp("2018-03-31"),
            "unit": ["£ thousand"] * 4 + ["resident"] * 4 + [""] * 4,
        }
    )
    pairs = pd.DataFrame(
        [["p", "Thing: spend vs. good", "s:cost", "s:people", "s:good", "higher_is_better", "s:good"]],
        columns=[*PAIR_COLUMNS, "outcome_metric"],
    )
    groups = pd.DataFrame({"authority_code": "A", "group": "g", "member_code": ["A", "B", "C", "D"]})
    per_unit = cost_per_unit(values, pairs)
    everyone = pd.concat([groups.assign(authority_code=code) for code in "ABCD"])
    table = value_for_money_positions(QUARTER, per_unit, everyone, pairs, pd.Series(dtype=str))
    got = table.set_index("authority_code")[["cost_rank", "cost_percentile", "outcome_rank", "quadrant"]]
    assert got.loc["A"].tolist() == [1, 100.0, 4, "lower cost, worse outcome"]
    assert got.loc["B", "cost_rank"] == got.loc["C", "cost_rank"] == 2
    assert got.loc["D"].tolist() == [4, 0.0, 1, "higher cost, better outcome"]


def test_a_deflator_puts_costs_at_one_years_prices():
    def rows(metric, period, area, value, unit=""):
        start = pd.Timestamp(f"{period[:4]}-04-01")
        return [[metric, period, area, value, start, start + pd.DateOffset(years=1, days=-1), unit]]

    frame = rows("s:cost", "2017-18", "A", 100.0, "£") + rows("s:people", "2017-18", "A", 10.0)
    frame += rows("s:good", "2017-18", "A", 1.0) + rows("ons:gdp", "2017-18", "K02000001", 80.0)
    frame += rows("ons:gdp", "2022-23", "K02000001", 100.0)
    values = pd.DataFrame(
        frame, columns=["metric", "period", "area_code", "value", "period_start", "period_end", "unit"]
    )
    pairs = pd.DataFrame(
        [["p", "x", "s:cost", "s:people", "s:good", None, "s:good"]],
        columns=[*PAIR_COLUMNS, "outcome_metric"],
    )
    real = cost_per_unit(values, pairs, {"metric": "ons:gdp", "prices_at": "2022-23"})
    assert real[["cost_per_unit", "prices"]].values.tolist() == [[12.5, "real at 2022-23 prices"]]
    with pytest.raises(ReferenceDataError, match="no figure for 2024-25"):
        cost_per_unit(values, pairs, {"metric": "ons:gdp", "prices_at": "2024-25"})


def test_a_pair_naming_an_unknown_outcome_is_refused_with_file_row_and_column(tmp_path, indicators):
    path = write(
        tmp_path / "value_for_money.csv",
        "pair_id,label,cost_metric,denominator_metric,outcome,outcome_polarity\n"
        "a,A,mhclg_rs:Adult Social Care,population:population,ASC05,\n"
        "b,B,Adult Social Care,population:population,NOPE,sideways\n",
    )
    with pytest.raises(ReferenceDataError) as error:
        load_pairs(path, indicators)
    text = "\n".join(error.value.problems)
    assert "row 3, column 'cost_metric'" in text and "source:metric" in text
    assert "row 3, column 'outcome'" in text and "row 3, column 'outcome_polarity'" in text
    assert "row 2" not in text


# ---------------------------------------------------------------------------------------------
# Importer edge cases
# ---------------------------------------------------------------------------------------------

WIDE = {"metric": "csp", "columns": {"area_code": "ons_code", "area_name": "ons_name"}}


def _stage(root: Path, sources_toml: str):
    import duckdb

    benchmarks = root / "benchmarks"
    write(benchmarks / "sources.toml", sources_toml)
    sources = load_sources(benchmarks / "sources.toml")
    with duckdb.connect() as con:
        stage_sources(con, sources, benchmarks, root)
        load_benchmark_values(
            con,
            "raw_rows",
            pd.DataFrame(columns=["code", "benchmark_metric", "polarity", "unit"]),
            pd.DataFrame({"gss_code": ["E06000005"], "name": ["Darlington"]}),
            "bv",
            [s["name"] for s in sources],
        )
        return con.table("bv").df(), benchmark_value_failures(con, "bv", ["E06000005"])


WIDE_TOML = """
[[source]]
name = "csp"
file = "csp.csv"
format = "wide_csv"
metric = "core_spending_power"
unit = "£ million"
publisher = "p"
licence = "OGL-3.0"
[source.columns]
area_code = "ons_code"
area_name = "ons_name"
[source.periods]
columns = '^(\\d{4})$'
year = "YEAR"
"""


@pytest.mark.parametrize("year, header, period", [("starts", "2020", "2020-21"), ("ends", "2021", "2020-21")])
def test_wide_csv_year_headers_become_financial_years_and_dots_are_missing(tmp_path, year, header, period):
    write(
        tmp_path / "benchmarks" / "csp.csv",
        f"ons_code,ons_name,class,{header}\nE06000005,Darlington,UA,..\nE06000005 ,D,UA,0\n",
    )
    values, _ = _stage(tmp_path, WIDE_TOML.replace("YEAR", year))
    assert values["period"].tolist() == [period, period]
    assert values["value_status"].tolist() == ["not_published", "published"]
    assert np.isnan(values["value"].iloc[0]) and values["value"].iloc[1] == 0.0  # `..` is missing, never zero
    assert values["source_row"].tolist() == [2, 3] and values["file"].iloc[0] == "benchmarks/csp.csv"
    assert values["area_code"].iloc[1] == "E06000005"  # stripped


def test_wide_csv_headers_that_are_not_periods_are_warned_of_with_file_and_row(tmp_path):
    write(
        tmp_path / "benchmarks" / "csp.csv", "ons_code,ons_name,2017-18,Notes\nE06000005,Darlington,1.5,x\n"
    )
    toml = WIDE_TOML.replace("columns = '^(\\d{4})$'\n", "").replace("YEAR", "starts")
    values, failures = _stage(tmp_path, toml)
    assert values["period"].tolist() == ["2017-18", "Notes"]
    count, cases = failures[PERIODS_RECOGNISED]
    assert count == 1 and cases["index"].tolist() == ["benchmarks/csp.csv row 2"]


@pytest.mark.parametrize(
    "change, problem",
    [
        ('metric = "core_spending_power"\n', "'metric' is missing"),
        ('year = "YEAR"', "year must be one of starts, ends"),
        ("columns = '^(\\d{4})$'", "columns is not a regular expression"),
        ('area_name = "ons_name"', "unknown names region"),
    ],
)
def test_a_wide_csv_entry_with_a_mistake_is_refused_before_reading(tmp_path, change, problem):
    replacement = {
        'year = "YEAR"': 'year = "middle"',
        "columns = '^(\\d{4})$'": "columns = '^(\\d{4}$'",
        'area_name = "ons_name"': 'region = "region"',
    }.get(change, "")
    write(tmp_path / "benchmarks" / "csp.csv", "ons_code,2020\nE06000005,1\n")
    write(
        tmp_path / "benchmarks" / "sources.toml",
        WIDE_TOML.replace(change, replacement).replace("YEAR", "starts"),
    )
    with pytest.raises(ReferenceDataError, match=problem):
        load_sources(tmp_path / "benchmarks" / "sources.toml")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    year=st.integers(1990, 2098),
    reading=st.sampled_from(["starts", "ends"]),
    cells=st.lists(
        st.one_of(st.sampled_from(["", "..", "x", "1,234", "-0", "[x]"]), st.floats(-1e9, 1e9).map(repr)),
        min_size=1,
        max_size=8,
    ),
)
def test_wide_csv_keeps_every_cell_and_reads_every_year(tmp_path, year, reading, cells):
    assert parse_period(period_of_header(str(year), r"^(\d{4})$", reading)).first.year == year - (
        reading == "ends"
    )
    path = tmp_path / "w.csv"
    lines = ["ons_code,2020,2021", *(f'E0{i:07d},"{c}","{c}"' for i, c in enumerate(cells))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = read_wide_csv(path, {**WIDE, "periods": {"columns": r"^(\d{4})$", "year": reading}})
    assert len(raw) == 2 * len(cells)  # every cell accounted for
    assert sorted(raw["source_row"].unique()) == list(range(2, len(cells) + 2))
    assert (raw["raw_value"].to_numpy() == np.repeat([c.strip() for c in cells], 2)).all()


def _workbook(path: Path, rows: list[list], sheet: str = "RS LA Data 2017-18") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


HEADER = ["E-code", "ONS Code", "Local authority", None, "Class", "Adult Social Care", "Adult Social Care"]


def test_the_rs_reader_takes_councils_sets_aside_other_bodies_and_tells_repeated_headers_apart(tmp_path):
    rows = [
        ["Revenue Outturn"],
        *([[]] * 5),
        HEADER,
        ["E1301", DARLINGTON, "Darlington UA", None, "UA", 28832, None],
        ["E7013", "E23000008", "Durham Police", None, "O", 0, 0],
        [],
        [None, None, "ENGLAND", None, None, 5, 5],
    ]
    raw = read_mhclg_rs_xlsx(_workbook(tmp_path / "rs.xlsx", rows), {})
    assert raw[["metric", "area_code", "raw_value", "source_row"]].values.tolist() == [
        ["Adult Social Care (column F)", DARLINGTON, "28832", 8],
        ["Adult Social Care (column G)", DARLINGTON, "", 8],  # blank: not published, never zero
    ]
    assert raw.attrs["set_aside"] == {
        "Class O (police, fire, combined authorities and other bodies)": 1,
        "totals and notes (rows with no ONS Code)": 1,
    }


@pytest.mark.parametrize(
    "rows, sheet, problem",
    [
        ([HEADER], "Sheet1", "expected one sheet named 'RS LA Data YYYY-YY'"),
        ([["no header here"]] * 25, "RS LA Data 2017-18", "no header with 'ONS Code' and 'Class'"),
    ],
)
def test_the_rs_reader_refuses_a_workbook_of_another_layout(tmp_path, rows, sheet, problem):
    with pytest.raises(ReferenceDataError, match=problem):
        read_mhclg_rs_xlsx(_workbook(tmp_path / "rs.xlsx", rows, sheet), {})


def test_the_rs_reader_is_bounded_and_refuses_a_file_that_is_not_a_workbook(tmp_path, monkeypatch):
    from perf_pipeline.lib.benchmarks.readers import mhclg_rs

    monkeypatch.setattr(mhclg_rs, "MAX_ROWS", 10)
    with pytest.raises(ReferenceDataError, match="more than 10 rows"):
        read_mhclg_rs_xlsx(_workbook(tmp_path / "rs.xlsx", [HEADER, *([["x"]] * 20)]), {})
    with pytest.raises(ReferenceDataError, match="not an Excel workbook"):
        read_mhclg_rs_xlsx(write(tmp_path / "fake.xlsx", "ons_code,1\n"), {})


def test_the_example_sources_read_with_every_row_accounted_for(example):
    files = example["files"].set_index("source")
    assert files.loc["mhclg_rs", "rows"] == 353 * 95
    assert "Class O" in files.loc["mhclg_rs", "rows_set_aside"]
    assert files["as_declared"].all()  # the copies are byte-for-byte the published files


# ---------------------------------------------------------------------------------------------
# The report, in Chromium
# ---------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_report_shows_value_for_money_with_scatters_figures_and_sentences_axe_clean(demo):
    from axe_playwright_python.sync_playwright import Axe

    path = demo / "reports" / "2025-26-Q2" / "quarterly-monitoring-report.html"
    with open_page(path) as page:
        assert page.console_errors == [] and external_requests(page, path) == []
        sections = page.locator("section.vfm")
        assert sections.count() == 3
        first = sections.first
        assert "spends £268 per resident on adult social care (2017-18), less than" in first.inner_text()
        assert first.locator("img.scatter").evaluate("i => i.complete && i.naturalWidth > 0")
        assert "Darlington" in first.locator("tr.own th").inner_text()
        assert first.locator("tbody tr").count() == 16
        assert "of 2020-21, not 2017-18" in first.inner_text() and "Costs are in cash." in first.inner_text()
        screenshot(page, "value-for-money-2025-26-Q2.png")
        results = Axe().run(page, context={"include": [["#value-for-money"], ["section.vfm"]]})
        assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize(
    "table, expected",
    [
        ("", None),
        (
            '[deflator]\nmetric = "ons:gdp"\nprices_at = "2022/23"\n',
            {"metric": "ons:gdp", "prices_at": "2022-23"},
        ),
        ('[deflator]\nmetric = "gdp"\nprices_at = "2022-23"\n', "'metric' must be written source:metric"),
        ('[deflator]\nmetric = "ons:gdp"\nprices_at = "next year"\n', "'prices_at' must be a financial year"),
    ],
)
def test_the_deflator_is_read_from_sources_toml(tmp_path, table, expected):
    path = write(tmp_path / "sources.toml", table)
    if isinstance(expected, str):
        with pytest.raises(ReferenceDataError, match=expected):
            load_deflator(path)
    else:
        assert load_deflator(path) == expected
