"""Shared by the app's tests: the example's snapshot in a root of its own, accounts, signed-in clients."""

from __future__ import annotations

import functools
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

from perf_pipeline.app.accounts import ACCOUNTS_FILE, Accounts
from perf_pipeline.app.server import Settings, create_app
from perf_pipeline.lib.app_snapshot import SNAPSHOT_FILE, SNAPSHOT_FOLDER

PASSWORD = "correct horse battery staple"
DRAFT, APPROVED = "2025-26-Q2", "2025-26-Q1"  # the example approves every quarter but the last
OWN, OTHER = "RB01", "ASC02"  # a Resources indicator, and an Adults one
# name: (role, portfolio)
USERS = {
    "viewer": ("viewer", None),
    "holder": ("portfolio_holder", "Resources"),
    "officer": ("officer", None),
    "team": ("performance_team", None),
}
CANARY = "CANARY"
CANARY_VALUE = 987654.321


def app_root(demo: Path, target: Path) -> Path:
    """The example's published snapshot and reference files, with one account per role."""
    (target / SNAPSHOT_FOLDER).mkdir(parents=True)
    shutil.copy(demo / SNAPSHOT_FOLDER / SNAPSHOT_FILE, target / SNAPSHOT_FOLDER / SNAPSHOT_FILE)
    shutil.copytree(demo / "reference", target / "reference")
    accounts = target / SNAPSHOT_FOLDER / ACCOUNTS_FILE
    accounts.write_bytes(_accounts_file())
    accounts.chmod(0o600)
    return target


@functools.cache
def _accounts_file() -> bytes:
    """The accounts file of `USERS`, made once per worker and copied into each root: argon2 makes
    hashing a password cost about a quarter of a second by design."""
    with tempfile.TemporaryDirectory() as folder:
        accounts = Accounts(Path(folder))
        for name, (role, portfolio) in USERS.items():
            accounts.add(name, role, PASSWORD, portfolio)
        return accounts.path.read_bytes()


def plant_canaries(root: Path) -> None:
    """Mark every draft figure and text so that a leak of any of them can be found in a response:
    the draft quarter's values and commentary, and a restatement of an approved figure found in it."""
    with sqlite3.connect(root / SNAPSHOT_FOLDER / SNAPSHOT_FILE) as con:
        con.execute(
            "update performance set value = ?, ytd_value = ?, commentary = ? || ' ' || indicator_code "
            "where quarter = ?",
            [CANARY_VALUE, CANARY_VALUE, CANARY, DRAFT],
        )
        # A later return revised an approved figure: the warehouse holds the revised one, which is
        # a draft until the quarter that brought it is approved.
        con.execute(
            "update performance set value = ?, commentary = ? where quarter = ? and indicator_code = ?",
            [CANARY_VALUE, f"{CANARY} revised", APPROVED, OTHER],
        )
        con.execute(
            "insert into restatements (figure_quarter, indicator_code, old_value, new_value, reason, "
            "revising_return, detected_in, detected_at) values (?, ?, 75.5, ?, ?, ?, ?, '2025-10-20')",
            [APPROVED, OTHER, CANARY_VALUE, f"{CANARY} reason", f"{CANARY}.csv", DRAFT],
        )
        con.execute("update plan set last_update_note = ? where quarter = ?", [f"{CANARY} plan", DRAFT])
        con.execute(
            "update provenance set source_file = ? || ' ' || indicator_code where quarter = ?",
            [CANARY, DRAFT],
        )
        # The draft quarter's value for money: its labels, costs and the scatters' points.
        con.execute(
            "update value_for_money set label = ? || ' ' || pair_id || ': spend vs. outcome', "
            "cost_per_unit = ? where quarter = ?",
            [CANARY, CANARY_VALUE, DRAFT],
        )
        con.execute(
            "update value_for_money_points set area_name = ? || ' ' || area_code, cost_per_unit = ? "
            "where quarter = ?",
            [CANARY, CANARY_VALUE, DRAFT],
        )


def client(root: Path, **settings):
    from starlette.testclient import TestClient

    return TestClient(create_app(Settings(data_root=root, **settings)), follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in(root: Path, name: str, **settings):
    c = client(root, **settings)
    token = csrf_of(c.get("/login").text)
    response = c.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text
    return c
