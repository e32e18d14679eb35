"""How the warehouse stores a pandas table: imported when a run opens the IO manager (see
`WarehouseIOManager` in `resources.py`), so loading the definitions imports neither DuckDB, pandas
nor this."""

from collections.abc import Sequence

import dagster as dg
import duckdb
import pandas as pd
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_duckdb import DuckDBIOManager
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

from perf_pipeline.settings import WAREHOUSE_SCHEMA


class WarehouseTypeHandler(DuckDBPandasTypeHandler):
    """Pandas tables in DuckDB that survive empty partitions and added columns.

    The stock handler skips empty frames (so a quarter with no exceptions would leave no table for
    the next step to read) and inserts by position; this one creates the table from the frame's
    schema, adds any new column, and inserts by name.
    """

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection
    ):
        table = f"{table_slice.schema}.{table_slice.table}"
        connection.register("incoming", _typed_for_duckdb(obj))
        try:
            connection.execute(f"create table if not exists {table} as select * from incoming limit 0")
            existing = {row[0]: row[1] for row in connection.execute(f"describe {table}").fetchall()}
            for name, type_name, *_ in connection.execute("describe incoming").fetchall():
                if name not in existing:
                    connection.execute(f'alter table {table} add column "{name}" {type_name}')
                elif existing[name] == '"NULL"' and type_name != '"NULL"':
                    connection.execute(f'alter table {table} alter column "{name}" type {type_name}')
            connection.execute(f"insert into {table} by name select * from incoming")
        finally:
            connection.unregister("incoming")
        row_count = {
            "dagster/partition_row_count" if context.has_partition_key else "dagster/row_count": len(obj)
        }
        context.add_output_metadata(
            {
                **row_count,
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(name=str(n), type=str(t)) for n, t in obj.dtypes.items()]
                ),
                "dagster/table_name": f"{WAREHOUSE_SCHEMA}.{table_slice.table}",
            }
        )

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection) -> pd.DataFrame:
        try:
            return super().load_input(context, table_slice, connection)
        except duckdb.CatalogException:
            return pd.DataFrame()


def _typed_for_duckdb(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns with no value yet stay text: DuckDB would otherwise give them the NULL type."""
    empty_text = [c for c in df.columns if df[c].dtype == object and df[c].isna().all()]
    return df.astype({c: "string" for c in empty_text}) if empty_text else df


class WarehouseTables(DuckDBIOManager):
    """Dagster's DuckDB IO manager, storing pandas tables as above."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [WarehouseTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        return pd.DataFrame
