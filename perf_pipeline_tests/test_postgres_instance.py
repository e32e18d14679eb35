"""Dagster's storage in PostgreSQL (dagster-postgres), for real: the server set-up of docs/deploy.md.

The instance's `dagster.yaml` is the command line's own (`INSTANCE_CONFIG`: the warehouse pool, one
step at a time) with a `storage: postgres:` block whose settings are all `{env: ...}`, and the
daemon's run monitoring; docs/deploy.md shows exactly this file. A quarter run
through the real command line must leave its runs, their event logs and the asset records in
PostgreSQL (read here with SQL, not through Dagster) and nothing in SQLite files under
`DAGSTER_HOME`; a second instance with another `DAGSTER_HOME`, pointed at the same database, sees
the same runs and materialisations, as the webserver and the daemon on a server do.

`PERF_PIPELINE_TEST_POSTGRES_URL` names a role that may create databases; the test works in a
database of its own, dropped afterwards, so runs never collide. `.ci/postgres-up` starts Debian's
PostgreSQL and prints such a URL, and `.ci/run` sets it. Without it the test skips, except under CI
(`CI=true`), where it fails.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from perf_pipeline.cli import INSTANCE_CONFIG
from perf_pipeline.defs.resources import WAREHOUSE_POOL
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.settings import DataRoot
from perf_pipeline_tests.conftest import REPOSITORY, write

pytestmark = pytest.mark.e2e

URL_ENV = "PERF_PIPELINE_TEST_POSTGRES_URL"
QUARTER = Quarter(2024, 1)
PERF_PIPELINE = Path(sys.executable).with_name("perf-pipeline")
DEPLOY_GUIDE = REPOSITORY / "docs" / "deploy.md"
MATERIALIZATION = dg.DagsterEventType.ASSET_MATERIALIZATION
EXPECTED_EVENTS = [
    dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.STEP_SUCCESS,
    MATERIALIZATION,
    dg.DagsterEventType.RUN_SUCCESS,
]

# The variables the `storage:` block reads (docs/deploy.md uses the same names).
PG_ENV = {
    "username": "PERF_PIPELINE_PG_USER",
    "password": "PERF_PIPELINE_PG_PASSWORD",
    "hostname": "PERF_PIPELINE_PG_HOST",
    "port": "PERF_PIPELINE_PG_PORT",
    "db_name": "PERF_PIPELINE_PG_DB",
}
# SQLAlchemy 2.1 takes a bare `postgresql://` to mean psycopg 3, which dagster-postgres does not
# install; it brings psycopg2, so the driver is named.
PG_SCHEME = "postgresql+psycopg2"


def server_instance_config() -> dict:
    """The command line's instance settings, with Dagster's storage in PostgreSQL and the daemon's run
    monitoring on (it frees the warehouse slot of a run that ended without giving it back)."""
    config = copy.deepcopy(yaml.safe_load(INSTANCE_CONFIG))
    db = {field: {"env": name} for field, name in PG_ENV.items()}
    config["storage"] = {"postgres": {"postgres_db": {**db, "scheme": PG_SCHEME}}}
    config["run_monitoring"] = {"enabled": True, "free_slots_after_run_end_seconds": 300}
    return config


def test_the_server_instance_keeps_the_command_lines_settings_and_the_guide_shows_it():
    config = server_instance_config()
    # DuckDB's single writer, and the daemon's runs one at a time in the order asked for.
    assert config["concurrency"] == {"pools": {"default_limit": 1}, "runs": {"max_concurrent_runs": 1}}
    for key, value in yaml.safe_load(INSTANCE_CONFIG).items():
        assert config[key] == value, key
    # The guide's dagster.yaml is this one, so what a council copies is what is tested.
    blocks = re.findall(
        r"```yaml\n# \$DAGSTER_HOME/dagster.yaml\n(.*?)```", DEPLOY_GUIDE.read_text(), re.DOTALL
    )
    assert len(blocks) == 1, "docs/deploy.md should show the instance's dagster.yaml once"
    assert yaml.safe_load(blocks[0]) == config


@pytest.fixture
def postgres() -> Iterator[sa.URL]:
    """A fresh, empty database for this test (its URL, password included), dropped afterwards."""
    url = os.environ.get(URL_ENV)
    if not url:
        reason = f'{URL_ENV} is not set (as root: `export {URL_ENV}="$(.ci/postgres-up)"`)'
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI this test must run, not skip")
        pytest.skip(reason)
    admin_url = sa.make_url(url).set(drivername=PG_SCHEME)
    name = f"perf_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as con:
            try:
                con.execute(sa.text(f'create database "{name}"'))
            except sa.exc.ProgrammingError as error:
                pytest.fail(f"the role in {URL_ENV} cannot create a database (needs CREATEDB): {error.orig}")
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def point_at(monkeypatch, url: sa.URL) -> dict[str, str]:
    """Set the `PERF_PIPELINE_PG_*` variables for `url`; return them."""
    values = {
        "username": url.username,
        "password": url.password or "",
        "hostname": url.host,
        "port": str(url.port or 5432),
        "db_name": url.database,
    }
    env = {PG_ENV[field]: value for field, value in values.items()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_a_quarter_run_by_the_command_line_is_recorded_in_postgres(
    mini_root, postgres, monkeypatch, tmp_path
):
    root = DataRoot(mini_root)
    write(root.reference / "nearest_neighbours.json", '{"E06000005": ["E06000001"]}\n')
    for name, text in [
        ("waste.csv", "Indicator Code,Value\nWM01,41\nWM02,88\nWM0l,3\n"),
        ("revenues.csv", "PI Code,Actual\nRB01,31%\nRB02,n/a\n"),
    ]:
        write(root.submissions_for(QUARTER) / name, text)
    home = mini_root / ".dagster"
    write(home / "dagster.yaml", yaml.safe_dump(server_instance_config(), sort_keys=False))
    monkeypatch.delenv(URL_ENV, raising=False)  # the command sees only the PERF_PIPELINE_PG_* variables
    pg_env = point_at(monkeypatch, postgres)
    password = pg_env[PG_ENV["password"]]

    env = {**os.environ, "DAGSTER_HOME": str(home)}
    command = [str(PERF_PIPELINE), "--data", str(mini_root), "run", "--quarter", QUARTER.key]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # The password is in the environment only: not printed, not in any file of the instance. (Worked
    # out before the assertions, so that a failure does not show it either.)
    printed = bool(password) and password in done.stdout + done.stderr
    files = [p for p in home.rglob("*") if p.is_file()]
    stored = [p.name for p in files if password and password.encode() in p.read_bytes()]
    assert not printed, "the command printed the PostgreSQL password"
    assert not stored, f"the PostgreSQL password is in {stored}"
    # Nothing went to the SQLite storage Dagster uses without the `storage:` block.
    assert not list(home.rglob("*.db")), sorted(str(p.relative_to(home)) for p in home.rglob("*.db"))

    # What is in PostgreSQL, read with SQL.
    engine = sa.create_engine(postgres)
    try:
        with engine.connect() as con:
            runs = con.execute(sa.text("select run_id, pipeline_name, status, partition from runs")).all()
            events = con.execute(
                sa.text(
                    "select run_id, dagster_event_type, asset_key, partition "
                    "from event_logs where run_id = any(:ids)"
                ),
                {"ids": [r.run_id for r in runs]},
            ).all()
            asset_keys = (
                con.execute(
                    sa.text(
                        "select asset_key from asset_keys where last_materialization_timestamp is not null"
                    )
                )
                .scalars()
                .all()
            )
            limits = con.execute(sa.text('select concurrency_key, "limit" from concurrency_limits')).all()
            # Sessions opened on the database so far (the command's, ours, and any Dagster opens).
            sessions = con.execute(
                sa.text("select sessions from pg_stat_database where datname = current_database()")
            ).scalar_one()
    finally:
        engine.dispose()

    assert sorted((r.pipeline_name, r.status, r.partition) for r in runs) == [
        ("app_publication", "SUCCESS", None),
        ("quarterly_cycle", "SUCCESS", QUARTER.partition_key),
        ("reference_data", "SUCCESS", None),
    ]
    run_of = {r.run_id: r.pipeline_name for r in runs}
    by_run = {name: [e for e in events if run_of[e.run_id] == name] for name in run_of.values()}
    for name, logged in by_run.items():
        kinds = {e.dagster_event_type for e in logged}
        assert {kind.value for kind in EXPECTED_EVENTS} <= kinds, (name, kinds)
    materialised = {
        (json.loads(e.asset_key)[-1], e.partition)
        for e in events
        if e.dagster_event_type == MATERIALIZATION.value
    }
    for asset in [
        "service_returns_raw",
        "service_returns_validated",
        "indicator_values",
        "indicator_performance",
    ]:
        assert (asset, QUARTER.partition_key) in materialised, asset
    assert ("indicator_catalogue", None) in materialised
    assert {json.loads(k)[-1] for k in asset_keys} >= {
        "indicator_catalogue",
        "indicator_values",
        "indicator_performance",
    }
    assert (WAREHOUSE_POOL, 1) in [tuple(r) for r in limits], "the one-writer pool lives in PostgreSQL too"
    # The command holds its connections (`instance_storage.open_instance`): about a hundred sessions
    # for the quarter, where Dagster's default (a connection for each read and write) opened ~1,900.
    assert sessions < 250, f"{sessions} sessions: the command line opened a connection per event"

    # A second instance elsewhere (the webserver or the daemon on a server) sees the same.
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "dagster.yaml", (home / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(elsewhere)) as instance:
        records = instance.get_run_records()
        assert {r.dagster_run.run_id for r in records} == set(run_of)
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
        latest = instance.get_latest_materialization_event(dg.AssetKey("indicator_values"))
        assert latest is not None and latest.run_id in run_of
        assert latest.dagster_event.partition == QUARTER.partition_key
        assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == 1
