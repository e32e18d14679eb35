"""The app's accounts: `<data>/app/accounts.sqlite`, apart from the warehouse and the snapshot.

Passwords are kept only as argon2id hashes (argon2-cffi); nothing here logs or prints one. An
account is disabled, never deleted, so who had access stays on record.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from perf_pipeline.app.permissions import PORTFOLIO_HOLDER, ROLES, Actor

ACCOUNTS_FILE = "accounts.sqlite"
NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 hashes any length; a bound keeps a login from being made expensive
RACY_SECONDS = 2  # a file changed this recently may change again without its stamp changing


class AccountError(ValueError):
    """An account that cannot be added or changed as asked (the message says why)."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    portfolio: str | None
    committee: str | None
    created_at: str
    disabled_at: str | None

    def actor(self) -> Actor:
        return Actor(self.name, self.role, self.portfolio, self.committee)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


class Accounts:
    def __init__(self, folder: Path):
        self.path = folder / ACCOUNTS_FILE
        self._hasher = None
        self._dummy = None
        self._kept: tuple | None = None  # (the file's stamp, its active accounts by name)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        con.execute(
            "create table if not exists accounts (name text primary key, role text not null, "
            "portfolio text, committee text, password_hash text not null, created_at text not null, "
            "disabled_at text)"
        )
        self.path.chmod(0o600)
        return con

    def _read(self) -> sqlite3.Connection:
        """A connection for reading an existing file: unlike `_connect` it leaves the file as it is,
        times too, so signing in does not make the server read the accounts again (see
        `_active_accounts`). Not read-only: it may have to roll back a writer's crashed transaction."""
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        return con

    @property
    def hasher(self):
        if self._hasher is None:
            self._hasher = _hasher()
            self._dummy = self._hasher.hash("a password no account has")
        return self._hasher

    def add(
        self, name: str, role: str, password: str, portfolio: str | None = None, committee: str | None = None
    ):
        if not NAME.match(name):
            raise AccountError("a name is 1 to 64 letters, digits or . _ @ -")
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}")
        if role == PORTFOLIO_HOLDER and not portfolio:
            raise AccountError("a portfolio holder needs --portfolio (as services.csv names it)")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise AccountError(f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as con, con:
            try:
                con.execute(
                    "insert into accounts values (?, ?, ?, ?, ?, ?, null)",
                    [name, role, portfolio or None, committee or None, self.hasher.hash(password), now],
                )
            except sqlite3.IntegrityError:
                raise AccountError(f"there is already an account called {name}") from None

    def disable(self, name: str) -> bool:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as con, con:
            changed = con.execute(
                "update accounts set disabled_at = ? where name = ? and disabled_at is null", [now, name]
            ).rowcount
        return bool(changed)

    def all(self) -> list[Account]:
        with closing(self._connect()) as con:
            rows = con.execute(
                "select name, role, portfolio, committee, created_at, disabled_at from accounts order by name"
            ).fetchall()
        return [Account(**dict(r)) for r in rows]

    def active(self, name: str | None) -> Account | None:
        """The account called `name` unless it is disabled, asked on every request: answered from
        the active accounts held in memory, read again whenever the file changes, so a disabled
        account or a changed role takes effect from the next request (see `_active_accounts`)."""
        if not name:
            return None
        return self._active_accounts().get(name)

    def _active_accounts(self) -> dict[str, Account]:
        """Every active account, reread when the file's inode, size or times differ from when it was
        last read: a look at the file per request instead of a query.

        A file's times have the kernel clock's granularity (milliseconds), so a change made just
        after a read could leave all four the same. As Git does with its "racily clean" files, the
        accounts are kept only once the file is older than `RACY_SECONDS` when read; until then
        each request reads them again (in the seconds after a change)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return {}
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        kept = self._kept
        if kept is not None and kept[0] == stamp:
            return kept[1]
        read_at = time.time_ns()
        # A new connection each time: this happens once per change of the file. fetchall: the
        # statement runs to its end, so no read lock is left to hold up a writer.
        with closing(self._read()) as con:
            rows = con.execute(
                "select name, role, portfolio, committee, created_at, disabled_at from accounts "
                "where disabled_at is null"
            ).fetchall()
        accounts = {row["name"]: Account(**dict(row)) for row in rows}
        if read_at - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_SECONDS * 1_000_000_000:
            self._kept = (stamp, accounts)
        return accounts

    def verify(self, name: str, password: str) -> Account | None:
        """The active account if the password is right; the same work is done when it is not."""
        from argon2.exceptions import InvalidHashError, VerificationError

        hasher = self.hasher
        stored = None
        if NAME.match(name or "") and self.path.is_file():
            with closing(self._read()) as con:
                row = con.execute(
                    "select password_hash from accounts where name = ? and disabled_at is null", [name]
                ).fetchone()
            stored = row["password_hash"] if row else None
        try:
            hasher.verify(stored or self._dummy, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        return self.active(name) if stored else None
