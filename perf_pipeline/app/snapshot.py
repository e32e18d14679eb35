"""Reading the snapshot the pipeline publishes (`<data>/app/snapshot.sqlite`), never the warehouse.

What every page needs (the quarters, the catalogue) is read once per snapshot and kept in memory
with what is made from it (pages, charts), keyed by the snapshot's id. A request asks `loaded()`,
which only looks at the file's inode, time and size (the pipeline renames a new file into place,
never changes one), so a page already made is served without opening the snapshot, and a new
snapshot is picked up by the next request (through `current()`), without a restart. Building a
page opens the file read-only and keeps that one connection to the end, so a page is built from
one snapshot even if a new one is renamed into place meanwhile (the open file stays readable).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path


class NoSnapshot(Exception):
    """The pipeline has not published a snapshot yet (or it cannot be read)."""


@dataclass
class Published:
    """What one snapshot holds that every page needs."""

    id: str
    meta: dict
    quarters: list[str]
    indicators: dict[str, dict]
    tables: frozenset[str]  # a snapshot of an older version may lack some (charts, value for money)
    caches: dict = field(default_factory=dict)
    making: dict = field(default_factory=dict)  # (kind, key) -> the lock of the one making it
    stamp: tuple | None = None  # the file's (inode, mtime, size) when `current()` last saw it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kept(self, kind: str, key):
        """The value `remembered` holds for `key`, or None: a look in memory, no waiting."""
        with self.lock:
            cache = self.caches.get(kind)
            if cache is None or key not in cache:
                return None
            cache.move_to_end(key)
            return cache[key]

    def remembered(self, kind: str, key, make, limit: int):
        """A value computed once per snapshot (a chart, a page), the `limit` most recent of each kind
        kept: the snapshot never changes in place, so neither does what is made from it. Those who
        ask for a value while it is being made wait for it instead of making it again."""
        with self.lock:
            cache = self.caches.setdefault(kind, OrderedDict())
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
            making = self.making.setdefault((kind, key), threading.Lock())
        with making:
            with self.lock:
                if key in cache:
                    return cache[key]
            try:
                value = make()
                with self.lock:
                    cache[key] = value
                    while len(cache) > limit:
                        cache.popitem(last=False)
            finally:
                with self.lock:
                    self.making.pop((kind, key), None)
        return value


class SnapshotReader:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._published: Published | None = None

    def connect(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise NoSnapshot(f"no snapshot at {self.path}")
        # immutable: the file is replaced whole, never changed in place, so SQLite need not lock it.
        con = sqlite3.connect(
            f"{self.path.absolute().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        con.row_factory = sqlite3.Row
        return con

    def _stamp(self) -> tuple:
        try:
            st = os.stat(self.path)
        except OSError:
            raise NoSnapshot(f"no snapshot at {self.path}") from None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def loaded(self) -> Published | None:
        """The snapshot in place now if it is the one already loaded, else None: one look at the
        file, so fit to be asked on the server's event loop (`current()` may open the file)."""
        try:
            return self._loaded_as(self._stamp())
        except NoSnapshot:
            return None

    def _loaded_as(self, stamp: tuple) -> Published | None:
        with self._lock:
            loaded = self._published
        return loaded if loaded is not None and loaded.stamp == stamp else None

    def current(self) -> Published:
        """The snapshot in place now, opened only if it is not the one already loaded."""
        stamp = self._stamp()
        if (loaded := self._loaded_as(stamp)) is not None:
            return loaded
        with closing(self.connect()) as con:
            loaded = self.published(con)
        # Renamed over again since the stat? Then the next request sees another stamp and looks again.
        loaded.stamp = stamp
        return loaded

    def published(self, con: sqlite3.Connection) -> Published:
        """The in-memory part of the snapshot `con` has open (loaded on first sight of it)."""
        try:
            snapshot_id = json.loads(
                con.execute("select value from meta where key = 'snapshot_id'").fetchone()[0]
            )
        except (sqlite3.Error, TypeError) as exc:
            raise NoSnapshot(f"the snapshot at {self.path} cannot be read: {exc}") from None
        with self._lock:
            current = self._published
        if current is not None and current.id == snapshot_id:
            return current
        meta = {row["key"]: json.loads(row["value"]) for row in con.execute("select key, value from meta")}
        quarters = [r[0] for r in con.execute("select distinct quarter from performance order by quarter")]
        indicators = {r["code"]: dict(r) for r in con.execute("select * from indicators order by code")}
        tables = frozenset(r[0] for r in con.execute("select name from sqlite_master where type = 'table'"))
        loaded = Published(snapshot_id, meta, quarters, indicators, tables)
        with self._lock:
            self._published = loaded
        return loaded
