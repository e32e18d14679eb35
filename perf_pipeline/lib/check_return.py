"""`check-return`: the pipeline's verdict on one file before it is loaded, row by row.

The file is read and checked by the very functions the returns assets use (`read_return`,
`validate_returns`), beside the returns already received for the quarter, so its verdicts are
the pipeline's. For every accepted row it shows the figure read, as a service officer would
write it (`accepted: 21.3 days`), so a misread is seen before the deadline, not after the report.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.files import relative_to_root
from perf_pipeline.lib.formatting import format_value
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reference import load_council, load_indicators, load_rag_rules, load_services
from perf_pipeline.lib.returns_reader import (
    ReadLimits,
    ReturnFile,
    list_return_files,
    raw_frame,
    read_limits,
    read_return,
)
from perf_pipeline.lib.returns_validation import validate_returns
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline.settings import DataRoot, first_quarter

# A figure is shown with the indicator's precision, or more where the file gave more, up to this.
MOST_DECIMALS_SHOWN = 6


def load_catalogue(root: DataRoot) -> pd.DataFrame:
    reference = root.reference
    services = load_services(reference / "services.csv")
    return load_indicators(
        reference / "indicators.csv", services, load_rag_rules(reference / "rag_rules.toml")
    )


def figure_read(value: float, unit: str, decimals: int, unit_label: str | None = None) -> str:
    """The figure as read, in the indicator's unit, never rounded away: 21.35 days stays 21.35."""
    shown = f"{value:.{MOST_DECIMALS_SHOWN}f}".rstrip("0").split(".")
    given = len(shown[1]) if len(shown) > 1 else 0
    return format_value(value, unit, max(int(decimals), given), unit_label)


def return_verdicts(
    root: DataRoot,
    file: Path,
    quarter: Quarter,
    indicators: pd.DataFrame,
    received: list[ReturnFile] | None = None,
    limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """The pipeline's verdict on every row of `file`, as if it were in `quarter`'s folder.

    The file is checked beside the returns already received for the quarter, exactly as the
    pipeline would see it, so duplicates across files are found too. Inputs are only read.
    `received` may pass the folder's returns already read (as `read_return` gives them).
    Accepted rows carry the figure read (`figure`), in the indicator's unit.
    """
    folder = root.submissions_for(quarter)
    with tempfile.TemporaryDirectory() as scratch:
        staged_root = Path(scratch)
        staged = staged_root / "submissions" / quarter.key
        staged.mkdir(parents=True)
        name = relative_to_root(staged / file.name, staged_root)
        if received is None:
            others, _ = list_return_files(folder, root.root)
            received = [read_return(other, root.root, limits) for other in others]
        shutil.copy2(file, staged / file.name)
        # In the folder's order, as the pipeline reads it: which of two repeats is the later one
        # depends on it.
        checked = read_return(staged / file.name, staged_root, limits)
        read = sorted([r for r in received if r.file != name] + [checked], key=lambda r: r.file)
        validated, exceptions = validate_returns(raw_frame(read), indicators, quarter, first_quarter())
    accepted = validated[validated["file"] == name]
    rejected = exceptions[exceptions["file"] == name]
    units = indicators.set_index("code").reindex(accepted["indicator_code"])
    figures = [
        figure_read(value, unit, decimals, label) if pd.notna(value) else ""
        for value, unit, decimals, label in zip(
            accepted["value"], units["unit"], units["decimals"].fillna(1), units["unit_label"]
        )
    ]
    verdicts = pd.concat(
        [
            pd.DataFrame(
                {
                    "row": accepted["row"],
                    "indicator_code": accepted["indicator_code"],
                    "verdict": accepted["reported"].map({True: "accepted", False: "accepted (not reported)"}),
                    "figure": figures,
                    "message": "",
                }
            ),
            pd.DataFrame(
                {
                    "row": rejected["row"],
                    "indicator_code": rejected["indicator_code"],
                    "verdict": rejected["reason"],
                    "figure": "",
                    "message": rejected["message"],
                }
            ),
        ]
    )
    return verdicts.sort_values("row", na_position="first").reset_index(drop=True)


def check_return(root: DataRoot, file: Path, quarter: Quarter) -> tuple[bool, list[str]]:
    """The lines `check-return` prints, and whether every row would be accepted."""
    try:
        indicators = load_catalogue(root)
        limits = read_limits(load_council(root.reference / "council.toml"))
    except ReferenceDataError as error:
        return False, ["The reference data has problems:", *(f"  {p}" for p in error.problems)]
    verdicts = return_verdicts(root, file, quarter, indicators, limits=limits)
    rejected = ~verdicts["verdict"].str.startswith("accepted")
    accepted, refused = int((~rejected).sum()), int(rejected.sum())
    lines = [f"{file} as a return for {quarter.label}: {accepted} row(s) accepted, {refused} not accepted"]
    for v in verdicts.itertuples():
        row = "file" if pd.isna(v.row) else f"row {int(v.row)}"
        said = f": {v.figure}" if v.figure else f": {v.message}" if v.message else ""
        lines.append(f"  {row:>8}  {str(v.indicator_code)[:20]:<20} {v.verdict}{said}")
    return not rejected.any(), lines
