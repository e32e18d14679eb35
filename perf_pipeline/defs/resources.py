"""Resources: the data root, the DuckDB warehouse under it, and the mail server for reminders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from dagster_duckdb import DuckDBIOManager, DuckDBResource

from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.settings import DEFAULT_FIRST_QUARTER, DataRoot

if TYPE_CHECKING:
    import pandas as pd
    from dagster._core.storage.db_io_manager import DbTypeHandler

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


class WarehouseIOManager(DuckDBIOManager):
    """The DuckDB warehouse: one table per asset; a quarter's re-run replaces only its own rows."""

    # Both are asked for when a run opens the IO manager, not when the definitions load: pandas
    # (and its DuckDB type handler) is imported then, by the steps that read or write a table.
    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        from perf_pipeline.defs.warehouse_tables import WarehouseTypeHandler

        return [WarehouseTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        import pandas as pd

        return pd.DataFrame

    def create_io_manager(self, context):
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return super().create_io_manager(context)


class WarehouseResource(DuckDBResource):
    """Direct SQL on the warehouse, for the append-only logs that no IO manager may overwrite."""

    def get_connection(self):
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return super().get_connection()
