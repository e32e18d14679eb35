"""What the command line reads back from the warehouse to show people: the one place its SQL is."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.settings import WAREHOUSE_SCHEMA, DataRoot


def _read(root: DataRoot, sql: str, params: list) -> pd.DataFrame:
    with duckdb.connect(str(root.warehouse), read_only=True) as con:
        return con.execute(sql.format(s=WAREHOUSE_SCHEMA), params).fetchdf()


def _one(con, sql: str, params: list) -> dict | None:
    frame = con.execute(sql.format(s=WAREHOUSE_SCHEMA), params).fetchdf()
    return frame.iloc[0].to_dict() if len(frame) else None


@dataclass
class FigureRecord:
    """Everything the warehouse holds about one published figure."""

    value: dict
    assessed: dict | None
    indicator: dict
    published: dict | None
    raw: dict | None
    corrections: pd.DataFrame
    derivation: list[str] | None  # how a figure derived from other indicators was made


def figure_record(root: DataRoot, code: str, quarter: Quarter) -> FigureRecord | None:
    from perf_pipeline.lib.feedback import derivation_lines

    with duckdb.connect(str(root.warehouse), read_only=True) as con:
        key = [code, quarter.key]
        value = _one(con, "select * from {s}.indicator_values where indicator_code = ? and quarter = ?", key)
        if value is None:
            return None
        raw = None
        if value["source_file"] and pd.notna(value["source_row"]):
            raw = _one(
                con,
                "select * from {s}.service_returns_raw where file = ? and row_number = ? and quarter = ?",
                [value["source_file"], int(value["source_row"]), value["source_quarter"]],
            )
        return FigureRecord(
            value=value,
            assessed=_one(
                con, "select * from {s}.indicator_performance where indicator_code = ? and quarter = ?", key
            ),
            indicator=_one(con, "select * from {s}.indicator_catalogue where code = ?", [code]),
            published=_one(
                con,
                "select code_version, run_id from {s}.audit_pack where indicator_code = ? and quarter = ?",
                key,
            ),
            raw=raw,
            corrections=con.execute(
                f"select * from {WAREHOUSE_SCHEMA}.corrections_log where indicator_code = ? and period = ? "
                "order by approved_on, correction_id",
                key,
            ).fetchdf(),
            derivation=derivation_lines(con, root.root, code, quarter),
        )


def request_packs(root: DataRoot, quarter: Quarter) -> pd.DataFrame:
    return _read(
        root,
        "select service_name, owner, deadline, file, indicators, previous_figures "
        "from {s}.data_request_packs where quarter = ? order by file",
        [quarter.key],
    )


def reminders_sent(root: DataRoot) -> pd.DataFrame:
    return _read(root, "select * from {s}.action_reminders order by owner", [])


def run_summary(root: DataRoot, quarters: list[Quarter]) -> dict[str, pd.DataFrame]:
    """Per quarter: files and rows read, accepted, exceptions, figures by reporting status; and
    the exceptions by reason."""
    keys = [[q.key for q in quarters]]
    queries = {
        "raw": "select quarter, count(distinct file) files, count(row_number) rows_read "
        "from {s}.service_returns_raw where list_contains(?, quarter) group by quarter",
        "accepted": "select quarter, count(*) accepted from {s}.service_returns_validated "
        "where list_contains(?, quarter) group by quarter",
        "rejected": "select quarter, count(*) exceptions from {s}.return_exceptions "
        "where list_contains(?, quarter) group by quarter",
        "values": "select quarter, reporting_status, count(*) n from {s}.indicator_values "
        "where list_contains(?, quarter) group by all",
        "reasons": "select reason, count(*) n from {s}.return_exceptions "
        "where list_contains(?, quarter) group by reason order by n desc",
    }
    with duckdb.connect(str(root.warehouse), read_only=True) as con:
        return {
            name: con.execute(sql.format(s=WAREHOUSE_SCHEMA), keys).fetchdf() for name, sql in queries.items()
        }
