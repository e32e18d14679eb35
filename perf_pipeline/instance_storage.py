"""The command line's Dagster instance: Dagster's own embedded SQLite storage, with each database's
connection kept open while the command runs.

Dagster's SQLite event log opens a new engine and connection for every event it stores or reads,
and closes it straight after. Closing a database's last connection checkpoints its write-ahead log
into the database file, so each event paid an open, a commit and a checkpoint: about 3.8 ms on this
project's machines against 0.9 ms with the connection kept (`benchmarks/event_log.py`), and a run
of a quarter stores some 250 events. Here each database file (the index, a run's own file) keeps
one connection for the process. Everything else is Dagster's: the same files and tables, each event
committed in its own transaction as before (so as durable), the same lock around every use, and
what the UI, the daemon and `dagster` commands read is unchanged. Only the command line's own
instance (`runner.instance_for`) uses it; the daemon and the UI use Dagster's storage as configured.

Dagster's PostgreSQL storage (`docs/deploy.md`) likewise opens a new connection for every read and
write (`NullPool`): a TCP connection and a password exchange each time, about half of a quarter's
run. The command line asks it to hold one connection per store instead, with Dagster's own switch
for that (`optimize_for_webserver`, what `dagster-webserver` does), with no statement time limit.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool


class EventLogKeptOpen(SqliteEventLogStorage):
    """Dagster's SQLite event log (`history/runs/*.db`) with one connection per database file for
    the process, instead of one per event."""

    # The index, the run being written, and a few runs read lately: a long-lived process reading many
    # runs' logs does not hold a file open for each.
    KEPT = 8

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._kept: OrderedDict[str, tuple[int, Engine, Connection]] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            connection = self._connection(shard)
            with connection.begin():
                yield connection

    def _connection(self, shard: str) -> Connection:
        kept = self._kept.get(shard)
        # A process made by fork holds its parent's connections: it opens its own.
        if kept is not None and kept[0] == os.getpid():
            self._kept.move_to_end(shard)
            return kept[2]
        engine = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=NullPool,
            # Used under `_db_lock` from whichever thread holds it, as Dagster's own are.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        connection = engine.connect()
        self._kept[shard] = (os.getpid(), engine, connection)
        while len(self._kept) > self.KEPT:
            self._close(*self._kept.popitem(last=False)[1])
        return connection

    @staticmethod
    def _close(pid: int, engine: Engine, connection: Connection) -> None:
        if pid == os.getpid():
            connection.close()
            engine.dispose()

    def _close_all(self) -> None:
        with self._db_lock:
            while self._kept:
                self._close(*self._kept.popitem(last=False)[1])

    def wipe(self) -> None:
        self._close_all()  # the run files are deleted: no connection may go on writing to them
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


class SqliteStorageKeptOpen(DagsterSqliteStorage):
    """Dagster's embedded SQLite storage, its event log keeping its connections open."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage = EventLogKeptOpen(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value) -> SqliteStorageKeptOpen:
        return cls.from_local(inst_data=inst_data, **config_value)


def open_instance(home: str) -> dg.DagsterInstance:
    """The persistent instance in `home`, as Dagster would open it, but keeping its connections
    open when it uses Dagster's default SQLite storage or its PostgreSQL storage."""
    ref = InstanceRef.from_dir(home)
    data = ref.storage_data
    if data is not None and (data.module_name, data.class_name) == (
        DagsterSqliteStorage.__module__,
        DagsterSqliteStorage.__name__,
    ):
        ref = ref._replace(
            storage_data=ConfigurableClassData(__name__, SqliteStorageKeptOpen.__name__, data.config_yaml)
        )
    instance = dg.DagsterInstance.from_ref(ref)
    if data is not None and data.module_name.startswith("dagster_postgres"):
        # 0: no time limit on a statement (the UI's is 15 s); connections older than an hour are
        # opened again; beyond the one held, up to two more at once are opened as needed.
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=2)
    return instance
