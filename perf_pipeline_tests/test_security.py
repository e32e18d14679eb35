"""Security: what comes in from returns, names and files cannot run, climb out or leak (SECURITY.md)."""

from __future__ import annotations

import ast
import csv
import email.message
import subprocess
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from perf_pipeline.defs.resources import SMTP_ENV, MailResource
from perf_pipeline.lib.files import is_inside, relative_to_root, safe_file_name
from perf_pipeline.lib.publish import neutralise, publish_csv
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.reminders import write_eml
from perf_pipeline.lib.report_render import TEMPLATES, environment
from perf_pipeline.settings import DataRoot
from perf_pipeline_tests.conftest import REPOSITORY, run_cli

HOSTILE_NAMES = [
    "../../etc/x",
    "/etc/passwd",
    "..",
    ".",
    "",
    "...",
    "a/../../b",
    "..\\..\\windows\\x",
    "con",
    "x\x00y",
    "Waste & Recycling",
    "名前",
    "~/.ssh/id_rsa",
    "-rf",
    ".hidden",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_service_name_cannot_write_a_request_pack_outside_its_folder(tmp_path, name):
    root = DataRoot(tmp_path / "data")
    quarter = Quarter(2025, 2)
    pack = root.request_pack(quarter, name)
    assert pack.parent == root.requests_for(quarter)
    assert is_inside(pack, root.requests_for(quarter))
    assert not pack.name.startswith(".") and pack.suffix == ".xlsx"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_file_name_made_from_text_holds_only_safe_characters(name):
    cleaned = safe_file_name(name)
    assert cleaned and set(cleaned) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
    )
    assert ".." not in cleaned.split("/") and not cleaned.startswith(".")


@pytest.mark.parametrize("address", ["../../../tmp/evil@x.example", "/etc/passwd", "a\x00b@x", "..@.."])
def test_a_reminder_for_a_hostile_address_stays_in_the_outbox(tmp_path, address):
    outbox = tmp_path / "outbox"
    message = email.message.EmailMessage()
    message.set_content("reminder")
    written = write_eml(message, outbox, address)
    assert written.parent == outbox and list(tmp_path.rglob("*.eml")) == [written]


def test_a_path_outside_the_data_root_has_no_name_inside_it(tmp_path):
    root = tmp_path / "data"
    (root / "submissions").mkdir(parents=True)
    with pytest.raises(ValueError):
        relative_to_root(tmp_path / "elsewhere.csv", root)
    link = root / "submissions" / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    assert not is_inside(link, root)


@pytest.mark.parametrize(
    "text, shown",
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example","Click")', '\'=HYPERLINK("http://evil.example","Click")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),
        ("+5", "+5"),
        ("-12.5%", "-12.5%"),
        ("1e3", "1e3"),
        ("plain words", "plain words"),
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_run_is_published_as_text(tmp_path, text, shown):
    assert neutralise(text) == shown
    path = publish_csv(pd.DataFrame({"commentary": [text], "value": [-5.0]}), tmp_path / "table.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["commentary", "value"], [shown, "-5.0"]]


def test_a_carriage_return_in_published_text_cannot_start_a_row_of_its_own(tmp_path):
    forged = "fine\rWM01,2025-26-Q2,100,100,Green"
    path = publish_csv(
        pd.DataFrame({"indicator_code": ["WM02"], "commentary": [forged]}), tmp_path / "table.csv"
    )
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == [["indicator_code", "commentary"], ["WM02", forged]]
    assert pd.read_csv(path)["commentary"].tolist() == [forged]


def test_report_text_is_escaped_in_html():
    env = environment()
    html = env.from_string('<td>{{ text }}</td><a title="{{ text }}">x</a>').render(
        text='<script>alert(1)</script>" onmouseover="alert(2)'
    )
    assert "<script>" not in html and '" onmouseover' not in html
    assert "&lt;script&gt;" in html and "&#34; onmouseover" in html


def test_no_template_marks_text_as_safe_html():
    for template in TEMPLATES.glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template.name


# Interpolated into SQL text: identifiers from the code (schema and table names, and the column
# names of the code's own frames), and SQL the code builds from its own constants: `raw` (a table
# name), `columns_sql` (column lists, the file's columns by position as c0, c1...), `where` and
# `case` (the checks' rules), `classified` and `failing` (subqueries from those). Every value from
# data goes in as a `?` or `$name` parameter.
SQL_IDENTIFIERS = {
    "WAREHOUSE_SCHEMA",
    "PUBLISHED_LOG",
    "EVENTS_LOG",
    "table",
    "name",
    "type_name",
    "raw",
    "columns_sql",
    "classified",
    "failing",
}


def sql_interpolations(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, expression) for everything formatted into the SQL of `execute`/`sql` calls."""
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("execute", "sql")
            and node.args
        ):
            continue
        sql = node.args[0]
        if isinstance(sql, ast.JoinedStr):
            found += [
                (node.lineno, ast.unparse(part.value))
                for part in sql.values
                if isinstance(part, ast.FormattedValue)
            ]
        elif isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr == "format":
            found += [
                (node.lineno, ast.unparse(arg)) for arg in [*sql.args, *(k.value for k in sql.keywords)]
            ]
        elif isinstance(sql, ast.BinOp):
            found.append((node.lineno, ast.unparse(sql)))
    return found


def test_sql_takes_values_only_as_parameters():
    sources = sorted((REPOSITORY / "perf_pipeline").rglob("*.py"))
    checked, unexpected = 0, []
    for source in sources:
        for line, expression in sql_interpolations(ast.parse(source.read_text(encoding="utf-8"))):
            checked += 1
            if expression not in SQL_IDENTIFIERS:
                unexpected.append(f"{source.relative_to(REPOSITORY)}:{line}: {expression}")
    assert checked > 10 and not unexpected, unexpected


def test_the_ui_listens_on_the_loopback_address_only(tmp_path, monkeypatch):
    # Starting the real UI takes a server and a port; the command it is given is what decides.
    launched = []
    monkeypatch.setattr(subprocess, "call", lambda command, **_: launched.append(command) or 0)
    (tmp_path / "data").mkdir()
    assert run_cli("--data", str(tmp_path / "data"), "ui", "--port", "3999") == 0
    (command,) = launched
    assert command[command.index("-h") + 1] == "127.0.0.1"
    assert "0.0.0.0" not in command


def test_smtp_credentials_come_from_the_environment_and_are_never_shown(monkeypatch):
    secret = "correct horse battery staple"
    for variable in SMTP_ENV.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(SMTP_ENV["host"], "smtp.council.example")
    monkeypatch.setenv(SMTP_ENV["user"], "performance")
    monkeypatch.setenv(SMTP_ENV["password"], secret)
    mail = MailResource.from_environment()
    assert isinstance(mail.password, dg.EnvVar) and mail.password.get_value() == secret
    assert secret not in repr(mail)
    assert SMTP_ENV["password"] in repr(mail)  # what the UI shows: the variable's name


def test_no_credential_is_read_from_a_file_in_the_data_root():
    for source in sorted((REPOSITORY / "perf_pipeline").rglob("*.py")):
        text = source.read_text(encoding="utf-8").lower()
        for word in ("password", "secret", "token"):
            for line in (line for line in text.splitlines() if word in line):
                assert "toml" not in line and "read_text" not in line, f"{source.name}: {line.strip()}"


def test_nothing_in_the_repository_holds_a_credential():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPOSITORY, capture_output=True, text=True, check=True
    ).stdout
    for name in tracked.splitlines():
        path = Path(REPOSITORY / name)
        if path.suffix in (".toml", ".yaml", ".yml", ".env", ".cfg", ".ini") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace").lower()
            assert "password =" not in text and "password:" not in text, name
