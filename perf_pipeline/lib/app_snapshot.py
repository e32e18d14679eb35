"""The performance app's snapshot: what the pipeline has published, in one read-only SQLite file.

The app never opens the working warehouse (a run may be writing it). After the quarters a plan of
runs rebuilt, the pipeline copies the published tables into a new SQLite file beside the old one
and renames it into place, so the app reads either the previous snapshot or the new whole one,
never a mixture. SQLite because every request opens it afresh in a few microseconds, from any thread, and an open
connection keeps reading the file it opened after a rename replaces it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.benchmarks.council import STATISTICS, linked_metrics
from perf_pipeline.lib.files import write_atomically
from perf_pipeline.settings import APP_FOLDER

SNAPSHOT_FOLDER = APP_FOLDER
SNAPSHOT_FILE = "snapshot.sqlite"
INDICATOR_COLUMNS = [
    "code",
    "title",
    "definition",
    "unit",
    "unit_label",
    "polarity",
    "frequency",
    "ytd_method",
    "decimals",
    "service",
    "service_name",
    "directorate",
    "portfolio",
    "scrutiny_committee",
    "priority",
    "level",
    "benchmark_metric",
]
# Indexes for the app's lookups: by quarter, and by indicator across quarters.
INDEXES = [
    "create index performance_quarter on performance (quarter)",
    "create index performance_indicator on performance (indicator_code, quarter)",
    "create index benchmarks_quarter on benchmarks (quarter, indicator_code)",
    "create index benchmark_history_indicator on benchmark_history (indicator_code)",
    "create index neighbours_metric on neighbours (metric, period)",
    "create index provenance_indicator on provenance (indicator_code, quarter)",
    "create index restatements_indicator on restatements (indicator_code)",
    "create index plan_quarter on plan (quarter)",
    "create index plan_updates_quarter on plan_updates (quarter, action_id)",
    "create index value_for_money_quarter on value_for_money (quarter)",
    "create index value_for_money_points_quarter on value_for_money_points (quarter, pair_id)",
]


def snapshot_path(data_root: Path) -> Path:
    return data_root / SNAPSHOT_FOLDER / SNAPSHOT_FILE


def benchmark_history(
    positions: pd.DataFrame, indicators: pd.DataFrame, group_order: list[str]
) -> pd.DataFrame:
    """The council's position in each comparator group for every period it has a published value,
    per indicator, from `comparator_positions`: the trajectory, not only the latest year
    (`comparator_benchmarks` holds the latest). Within a period the groups come in `group_order`,
    the order the app lists them in."""
    # Periods with no group (the council has none) say only that the council has a value.
    measured = positions[positions["group"].notna()].astype({"n": "int32", "n_missing": "int32"})
    columns = ["metric", "group", "period", *STATISTICS, "period_end", "polarity"]
    # Either side may be empty (a council with no linked benchmark), and empty columns are float.
    out = (
        linked_metrics(indicators)[["indicator_code", "metric"]]
        .astype({"metric": object})
        .merge(measured[columns].astype({"metric": object}), on="metric")
    )
    order = {name: i for i, name in enumerate(group_order)}
    out = out.sort_values(
        ["indicator_code", "group", "period_end"], key=lambda s: s.map(order) if s.name == "group" else s
    )
    return out.reset_index(drop=True)


def for_sqlite(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO text and the pipeline's partition column dropped: what SQLite stores plainly."""
    out = df.drop(columns=["quarter_start"], errors="ignore").copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
        elif out[column].dtype == object:
            out[column] = out[column].map(
                lambda v: v.isoformat() if hasattr(v, "isoformat") else v, na_action="ignore"
            )
    return out


def write_snapshot(
    path: Path,
    tables: dict[str, pd.DataFrame],
    meta: dict,
    charts: Callable[[Path, Path], pd.DataFrame] | None = None,
) -> Path:
    """Write every table and the metadata to a new SQLite file, then the charts `charts(new file,
    path)` draws from them (`key`, `svgz`: it may copy those `path`, the snapshot being replaced,
    already holds), then rename it over `path`."""

    def unsynced(tmp: Path) -> sqlite3.Connection:
        # A file written aside and renamed whole: no journal and no sync per table (a crash leaves
        # only the temporary file, removed by the next command), a third of the time to write.
        con = sqlite3.connect(tmp)
        con.execute("pragma journal_mode = off")
        con.execute("pragma synchronous = off")
        return con

    def write(tmp: Path) -> None:
        with closing(unsynced(tmp)) as con:
            for name, frame in tables.items():
                for_sqlite(frame).to_sql(name, con, index=False, if_exists="replace")
            for statement in INDEXES:
                con.execute(statement)
            con.execute("create table meta (key text primary key, value text)")
            con.executemany(
                "insert into meta values (?, ?)", [(k, json.dumps(v, default=str)) for k, v in meta.items()]
            )
            con.commit()
        if charts is None:
            return
        drawn = charts(tmp, path)
        with closing(unsynced(tmp)) as con:
            con.execute("create table charts (key text primary key, svgz blob not null)")
            con.executemany("insert into charts values (?, ?)", zip(drawn["key"], drawn["svgz"]))
            con.commit()

    return write_atomically(path, write)
