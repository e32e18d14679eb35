"""`perf-pipeline app` and `perf-pipeline users`: the performance app's server and its accounts."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from perf_pipeline.app.permissions import ROLES
from perf_pipeline.settings import DataRoot

TRUSTED_HEADER_ENV = "PERF_PIPELINE_APP_TRUSTED_HEADER"
SECURE_COOKIES_ENV = "PERF_PIPELINE_APP_SECURE_COOKIES"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def add_commands(commands) -> None:
    app = commands.add_parser("app", help="the performance app for councillors and officers (SPEC §11)")
    app.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    app.add_argument("--port", type=int, default=8080)

    users = commands.add_parser("users", help="the performance app's accounts")
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an account (the password is read from the terminal or stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--portfolio", help="a portfolio holder's Cabinet portfolio, as services.csv names it")
    add.add_argument("--committee", help="the scrutiny committee the member sits on")
    actions.add_parser("list", help="every account, with its role and whether it is disabled")
    disable = actions.add_parser("disable", help="disable an account (it stays on record)")
    disable.add_argument("name")


def run_command(root: DataRoot, args: argparse.Namespace) -> int:
    if args.command == "app":
        return serve(root, args.host, args.port)
    return users(root, args)


def app_settings(root: DataRoot):
    from perf_pipeline.app.server import Settings
    from perf_pipeline.lib.reference import load_council

    council = load_council(root.reference / "council.toml")
    return Settings(
        data_root=root.root,
        public=bool(council.get("app", {}).get("public", False)),
        trusted_header=os.environ.get(TRUSTED_HEADER_ENV) or None,
        secure_cookies=os.environ.get(SECURE_COOKIES_ENV, "") not in ("", "0", "false"),
    )


def serve(root: DataRoot, host: str, port: int) -> int:
    import uvicorn

    from perf_pipeline.app.server import create_app

    settings = app_settings(root)
    if settings.trusted_header and host not in LOOPBACK:
        # Anyone reaching the app directly could name themselves in the header.
        print(
            f"perf-pipeline: {TRUSTED_HEADER_ENV} is set, so the app listens only on 127.0.0.1, "
            "behind the reverse proxy that sets the header",
            file=sys.stderr,
        )
        return 2
    mode = (
        f"single sign-on by the {settings.trusted_header} header" if settings.trusted_header else "accounts"
    )
    print(f"Performance app for {root.root} on http://{host}:{port} ({mode}; Ctrl+C to stop)", flush=True)
    # Behind a reverse proxy only the proxy on this machine is trusted for the client's address.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        log_level="info",
    )
    return 0


def users(root: DataRoot, args: argparse.Namespace) -> int:
    from perf_pipeline.app.accounts import AccountError, Accounts
    from perf_pipeline.lib.app_snapshot import SNAPSHOT_FOLDER

    accounts = Accounts(root.root / SNAPSHOT_FOLDER)
    if args.users_command == "list":
        for a in accounts.all():
            state = f"disabled {a.disabled_at}" if a.disabled_at else "active"
            extra = ", ".join(filter(None, [a.portfolio, a.committee]))
            print(f"{a.name}\t{a.role}\t{extra}\t{state}")
        return 0
    if args.users_command == "disable":
        if accounts.disable(args.name):
            print(f"{args.name} is disabled")
            return 0
        print(f"perf-pipeline: no active account called {args.name}", file=sys.stderr)
        return 1
    password = read_password()
    try:
        accounts.add(args.name, args.role, password, args.portfolio, args.committee)
    except AccountError as exc:
        print(f"perf-pipeline: {exc}", file=sys.stderr)
        return 2
    print(f"{args.name} added as {args.role}")
    return 0


def read_password() -> str:
    """From the terminal (asked twice, not echoed), else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            print("perf-pipeline: the passwords differ", file=sys.stderr)
            sys.exit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")
