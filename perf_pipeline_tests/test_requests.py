"""Data request packs: what a pack holds, and a pack sent back, filled in or not, is accepted as it is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from perf_pipeline.lib.check_return import load_catalogue, return_verdicts
from perf_pipeline.lib.corrections import LOG_COLUMNS
from perf_pipeline.lib.data_requests import PackInfo, request_rows, write_pack
from perf_pipeline.lib.indicator_values import build_indicator_values
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import load_indicators, load_rag_rules, load_services, load_targets
from perf_pipeline.lib.returns_reader import raw_frame, read_return
from perf_pipeline.lib.returns_validation import validate_returns
from perf_pipeline.settings import DataRoot
from perf_pipeline_tests.conftest import run_cli

Q = Quarter(2024, 2)
FIRST = Quarter(2021, 1)
FORMULA_LIKE = "-3% on last year: =SUM(A1) is not a formula"
HELD = pd.DataFrame(
    [
        {
            "indicator_code": "WM01",
            "quarter": "2024-25-Q1",
            "value": 44.5,
            "commentary": FORMULA_LIKE,
            "data_status": "final",
        },
        {
            "indicator_code": "WM02",
            "quarter": "2024-25-Q1",
            "value": 12.0,
            "commentary": "",
            "data_status": "final",
        },
        {
            "indicator_code": "WM01",
            "quarter": "2023-24-Q4",
            "value": 43.0,
            "commentary": "",
            "data_status": "provisional",
        },
        {
            "indicator_code": "WM02",
            "quarter": "2023-24-Q4",
            "value": None,
            "commentary": None,
            "data_status": None,
        },
    ]
).assign(numerator=None, denominator=None)


def reference(root: Path):
    ref = root / "reference"
    services = load_services(ref / "services.csv")
    indicators = load_indicators(ref / "indicators.csv", services, load_rag_rules(ref / "rag_rules.toml"))
    return indicators, load_targets(ref / "targets.csv", indicators)


def a_pack(root: Path, service: str = "waste", quarter: Quarter = Q) -> Path:
    indicators, targets = reference(root)
    rows = request_rows(quarter, service, indicators, targets, HELD, FIRST)
    info = PackInfo(
        "Testshire Council",
        "Waste and Recycling",
        "Pat Bin",
        quarter,
        dt.date(2024, 10, 21),
        15,
        "performance@council.example",
    )
    return write_pack(root / "submissions" / quarter.key / f"{service}.xlsx", info, rows)


def read_back(root: Path, path: Path, quarter: Quarter = Q):
    indicators, _ = reference(root)
    return validate_returns(raw_frame([read_return(path, root)]), indicators, quarter, FIRST)


def test_rows_are_the_quarter_then_the_three_before_with_what_is_held(mini_root):
    indicators, targets = reference(mini_root)
    rows = request_rows(Q, "waste", indicators, targets, HELD, FIRST)
    assert list(zip(rows["indicator_code"], rows["period"], rows["is_current"])) == [
        ("WM01", "2024-25-Q2", True),
        ("WM01", "2024-25-Q1", False),
        ("WM01", "2023-24-Q4", False),
        ("WM01", "2023-24-Q3", False),
        ("WM02", "2024-25-Q2", True),
        ("WM02", "2024-25-Q1", False),
        ("WM02", "2023-24-Q4", False),
        ("WM02", "2023-24-Q3", False),
    ]
    wm01 = rows[rows["indicator_code"] == "WM01"].set_index("period")
    assert pd.isna(wm01.loc["2024-25-Q2", "value"]) and wm01.loc["2024-25-Q1", "value"] == 44.5
    assert wm01.loc["2024-25-Q2", "target"] == 45 and pd.isna(
        wm01.loc["2023-24-Q4", "target"]
    )  # no 2023-24 target
    assert wm01.loc["2023-24-Q4", "status"] == "provisional"


@pytest.mark.parametrize(
    "service, quarter, expected",
    [
        ("housing", Quarter(2024, 3), [("HO01", 4)]),  # the annual HO02 is due in Q4 only
        ("housing", Quarter(2024, 4), [("HO01", 4), ("HO02", 1)]),  # and has no earlier quarter to revise
        ("waste", Quarter(2021, 2), [("WM01", 2), ("WM02", 2)]),  # nothing before the first quarter held
    ],
)
def test_which_indicators_and_quarters_a_pack_offers(mini_root, service, quarter, expected):
    indicators, targets = reference(mini_root)
    rows = request_rows(quarter, service, indicators, targets, HELD.iloc[0:0], FIRST)
    assert list(rows.groupby("indicator_code", sort=True).size().items()) == expected


def test_a_pack_sent_back_untouched_is_accepted_and_changes_no_figure(mini_root):
    validated, exceptions = read_back(mini_root, a_pack(mini_root))
    assert exceptions.empty
    assert len(validated) == 8
    current = validated[~validated["is_revision"]]
    assert set(current["indicator_code"]) == {"WM01", "WM02"} and not current["reported"].any()
    earlier = validated[validated["is_revision"]].set_index(["indicator_code", "period"])
    assert earlier.loc[("WM01", "2024-25-Q1"), "value"] == 44.5
    assert earlier.loc[("WM01", "2024-25-Q1"), "commentary"] == FORMULA_LIKE  # read back exactly as held
    assert earlier.loc[("WM01", "2023-24-Q4"), "data_status"] == "provisional"
    assert earlier.loc[("WM02", "2024-25-Q1"), "value"] == 12.0


def fill(path: Path, entries: dict[tuple[str, str], dict[str, object]]) -> None:
    """Type into the return sheet as a service officer would, by indicator, period and heading."""
    wb = openpyxl.load_workbook(path)
    sheet = wb["Return"]
    headings = {cell.value: cell.column for cell in sheet[4]}
    for row in sheet.iter_rows(min_row=5):
        key = (row[0].value, row[1].value)
        for heading, value in entries.get(key, {}).items():
            cell = sheet.cell(row=row[0].row, column=headings[heading])
            cell.value = value
            if isinstance(value, float) and heading == "Value" and value < 1:
                cell.number_format = "0.0%"  # typed as 46.2%
    wb.save(path)


def test_a_filled_in_pack_round_trips_with_revisions_of_earlier_quarters(mini_root):
    path = a_pack(mini_root)
    fill(
        path,
        {
            ("WM01", "2024/25 Q2"): {
                "Value": 0.462,
                "Commentary": "Garden waste up",
                "Submitted by": "Pat Bin",
            },
            ("WM02", "2024/25 Q2"): {"Value": 0},
            ("WM01", "2024/25 Q1"): {"Value": 44.9, "Commentary": "Late tonnage from the contractor"},
            ("WM02", "2023/24 Q3"): {"Value": "n/a"},
        },
    )
    validated, exceptions = read_back(mini_root, path)
    assert exceptions.empty
    got = validated.set_index(["indicator_code", "period"])
    assert got.loc[("WM01", "2024-25-Q2"), "value"] == pytest.approx(46.2)
    assert got.loc[("WM01", "2024-25-Q2"), "submitted_by"] == "Pat Bin"
    assert (
        got.loc[("WM02", "2024-25-Q2"), "reported"] and got.loc[("WM02", "2024-25-Q2"), "value"] == 0
    )  # a real zero
    assert not got.loc[("WM02", "2023-24-Q3"), "reported"]  # n/a: not reported
    # The revision replaces the figure held for 2024-25 Q1; the figure first received stays beside it.
    first_received = pd.DataFrame(
        [
            {
                "file": "submissions/2024-25-Q1/waste.csv",
                "file_sha256": "x",
                "row": 2,
                "indicator_code": "WM01",
                "period": "2024-25-Q1",
                "value": 44.5,
                "raw_value": "44.5",
                "commentary": "",
                "data_status": "final",
                "source_quarter": "2024-25-Q1",
            }
        ]
    )
    indicators, _ = reference(mini_root)
    values = build_indicator_values(
        Q.shift(-1),
        pd.concat([first_received, validated.assign(source_quarter=Q.key)]),
        pd.DataFrame(columns=LOG_COLUMNS),
        indicators,
    ).set_index("indicator_code")
    assert (values.loc["WM01", "value"], values.loc["WM01", "received_value"]) == (44.9, 44.5)
    assert values.loc["WM01", "is_revision"] and values.loc["WM02", "value"] == 12.0


def test_the_pack_guides_and_guards_what_is_typed(mini_root):
    wb = openpyxl.load_workbook(a_pack(mini_root))
    assert wb.sheetnames == ["Instructions", "Return"] and wb.active.title == "Return"
    guide = "\n".join(str(c.value) for c in wb["Instructions"]["A"] if c.value)
    for expected in ("Monday 21 October 2024", "performance@council.example", "n/a", "0 (zero)", "not 0.85"):
        assert expected in guide
    sheet = wb["Return"]
    assert sheet.protection.sheet
    headings = [c.value for c in sheet[4]]
    assert headings[:2] == ["Code", "Period"] and "Value" in headings and "Commentary" in headings
    code, value = sheet["A5"], sheet.cell(row=5, column=headings.index("Value") + 1)
    assert code.protection.locked and not value.protection.locked
    rules = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
    assert (
        f"{value.coordinate}>=0" in rules[value.coordinate].formula1
        and "n/a" in rules[value.coordinate].formula1
    )
    assert any(dv.type == "list" and "provisional" in dv.formula1 for dv in rules.values())
    commentary = sheet.cell(row=6, column=headings.index("Commentary") + 1)
    assert commentary.value == FORMULA_LIKE and commentary.data_type == "s" and commentary.quotePrefix


@pytest.mark.e2e
def test_requests_command_writes_packs_the_pipeline_accepts_as_they_are(recent, capsys):
    quarter = Quarter(2025, 3)
    assert run_cli("--data", str(recent), "requests", "--quarter", quarter.key) == 0
    out = capsys.readouterr().out
    packs = sorted((recent / "requests" / quarter.key).glob("*.xlsx"))
    assert len(packs) == 10 and all(str(p) in out for p in packs)
    root = DataRoot(recent)
    indicators = load_catalogue(root)
    for pack in packs:
        verdicts = return_verdicts(root, pack, quarter, indicators)
        assert verdicts["verdict"].str.startswith("accepted").all(), pack.name
    held = pd.read_excel(recent / "requests" / quarter.key / "waste.xlsx", sheet_name="Return", header=3)
    assert held["Period"].tolist()[:4] == ["2025/26 Q3", "2025/26 Q2", "2025/26 Q1", "2024/25 Q4"]
    not_ended = Quarter.containing(dt.date.today())
    assert run_cli("--data", str(recent), "requests", "--quarter", not_ended.key) == 2


@pytest.mark.e2e
def test_the_requests_command_reads_a_changed_catalogue_before_it_writes_the_packs(recent):
    """The command brings what changed up to date first, as `run` does: a renamed indicator is in
    its service's pack (and nothing unchanged is read again)."""
    catalogue = recent / "reference" / "indicators.csv"
    frame = pd.read_csv(catalogue, dtype=str, keep_default_na=False)
    frame.loc[frame["code"] == "RB01", "title"] = "Council tax collected (renamed)"
    frame.to_csv(catalogue, index=False)
    quarter = Quarter(2025, 3)
    assert run_cli("--data", str(recent), "requests", "--quarter", quarter.key) == 0
    texts = set()
    for pack in (recent / "requests" / quarter.key).glob("*.xlsx"):
        for row in openpyxl.load_workbook(pack, read_only=True)["Return"].iter_rows(values_only=True):
            texts |= {str(v) for v in row if v is not None}
    assert "Council tax collected (renamed)" in texts
    assert "% of council tax collected" not in texts
