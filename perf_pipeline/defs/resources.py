"""Resources: the data root, the DuckDB warehouse under it, and the mail server for reminders."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.settings import DEFAULT_FIRST_QUARTER, DataRoot

if TYPE_CHECKING:
    import pandas as pd

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


# The warehouse's IO manager and resource are Dagster's DuckDB ones (`dagster-duckdb`), made when a
# run opens them: that package imports DuckDB, and the type handler pandas, which loading the
# definitions (the code server, the daemon, every step's process) then does without.
class WarehouseIOManager(dg.ConfigurableIOManagerFactory):
    """The DuckDB warehouse: one table per asset; a quarter's re-run replaces only its own rows.

    Dagster's `DuckDBIOManager` with the type handler of `warehouse_tables.py`, configured as it is."""

    database: str = Field(description="Path to the DuckDB database.")
    connection_config: dict[str, Any] = Field(default={}, description="DuckDB configuration options.")
    schema_: str | None = Field(default=None, alias="schema", description="Name of the schema to use.")

    def create_io_manager(self, context):
        from perf_pipeline.defs.warehouse_tables import WarehouseTables

        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        tables = WarehouseTables(
            database=self.database, connection_config=self.connection_config, schema=self.schema_
        )
        return tables.create_io_manager(context)


class WarehouseResource(dg.ConfigurableResource):
    """Direct SQL on the warehouse, for the append-only logs that no IO manager may overwrite:
    `dagster-duckdb`'s `DuckDBResource` connection (it retries while another process holds the file)."""

    database: str = Field(description="Path to the DuckDB database.")
    connection_config: dict[str, Any] = Field(default={}, description="DuckDB configuration options.")

    def get_connection(self):
        from dagster_duckdb import DuckDBResource

        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return DuckDBResource(
            database=self.database, connection_config=self.connection_config
        ).get_connection()
