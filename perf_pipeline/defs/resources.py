"""Resources: the data root, the DuckDB warehouse under it, and the mail server for reminders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_duckdb import DuckDBIOManager, DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.settings import DEFAULT_FIRST_QUARTER, WAREHOUSE_SCHEMA, DataRoot

WAREHOUSE_POOL = "duckdb_warehouse"


class DataRootResource(dg.ConfigurableResource):
    """The data root every asset reads its inputs from and writes its reports under, and the first
    quarter the pipeline holds."""

    path: str
    first_quarter: str = DEFAULT_FIRST_QUARTER

    @property
    def paths(self) -> DataRoot:
        return DataRoot(Path(self.path))

    @property
    def first(self) -> Quarter:
        return Quarter.parse(self.first_quarter)

    def council(self) -> dict:
        """`reference/council.toml`, checked: the one place it is read."""
        from perf_pipeline.defs.common import reference_checked
        from perf_pipeline.lib.reference import load_council

        with reference_checked():
            return load_council(self.paths.reference / "council.toml")

    def approvals(self) -> pd.DataFrame:
        """Every approval: `reference/approvals.csv` (quarter, approved_by, approved_on, meeting),
        then Cabinet's sign-offs in the governance store (`quarter_approved` decides from these)."""
        from perf_pipeline.lib.governance.stages import approvals_table, load_review_stages

        return approvals_table(self.paths.root, load_review_stages(self.council()))


SMTP_ENV = {
    "host": "PERF_PIPELINE_SMTP_HOST",
    "port": "PERF_PIPELINE_SMTP_PORT",
    "sender": "PERF_PIPELINE_SMTP_SENDER",
    "user": "PERF_PIPELINE_SMTP_USER",
    "password": "PERF_PIPELINE_SMTP_PASSWORD",
}


class MailResource(dg.ConfigurableResource):
    """Where reminders go: an SMTP server (STARTTLS) when a host is set, else `.eml` files in outbox/."""

    host: str = ""
    port: int = 587
    sender: str = ""
    user: str = ""
    password: str = ""

    @classmethod
    def from_environment(cls) -> MailResource:
        """Settings from the `PERF_PIPELINE_SMTP_*` variables that are set, as references to them: the
        UI shows the variable's name, never its value (the password above all)."""
        settings = {
            field: dg.EnvVar.int(name) if field == "port" else dg.EnvVar(name)
            for field, name in SMTP_ENV.items()
            if os.environ.get(name)
        }
        return cls(**settings)

    def send(self, message: EmailMessage) -> None:
        import smtplib
        import ssl

        with smtplib.SMTP(self.host, self.port, timeout=60) as smtp:
            smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


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


class WarehouseIOManager(DuckDBIOManager):
    """The DuckDB warehouse: one table per asset; a quarter's re-run replaces only its own rows."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [WarehouseTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        return pd.DataFrame

    def create_io_manager(self, context):
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return super().create_io_manager(context)


class WarehouseResource(DuckDBResource):
    """Direct SQL on the warehouse, for the append-only logs that no IO manager may overwrite."""

    def get_connection(self):
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return super().get_connection()
