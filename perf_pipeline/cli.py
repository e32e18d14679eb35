"""`perf-pipeline`: run quarters, check a return, write request packs, send reminders, open the UI."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import zoneinfo
from pathlib import Path

from perf_pipeline.lib.quarters import Quarter, QuarterError, quarter_range
from perf_pipeline.settings import DATA_ENV, DataRoot, data_root_path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
LONDON = zoneinfo.ZoneInfo("Europe/London")
INSTANCE_CONFIG = """\
# Written by perf-pipeline. DuckDB allows one writer at a time, so every asset that writes the
# warehouse shares the pool `duckdb_warehouse`, and pools default to one step at a time. Runs
# launched by the daemon (the automation, schedules, "Materialize" in the UI) go one at a time,
# in the order they were asked for: the automation asks for each quarter after those it reads.
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 1
run_queue:
  dequeue_interval_seconds: 1
telemetry:
  enabled: false
# No first-run newsletter pop-up in the UI.
nux:
  enabled: false
"""


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit 2)."""


def _quarter(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except QuarterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as 2025-10-15") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perf-pipeline",
        description="A council's quarterly performance cycle, from service returns to Cabinet reports.",
    )
    parser.add_argument(
        "--data", type=Path, help=f"the data root (default: ${DATA_ENV} or the repository's data/)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="materialise everything for one or more quarters")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--quarter", type=_quarter, help="one quarter, e.g. 2025-26-Q2")
    which.add_argument("--all", action="store_true", help="every quarter with a folder under submissions/")
    which.add_argument("--from", dest="first", type=_quarter, help="the first of a range of quarters")
    run.add_argument("--to", dest="last", type=_quarter, help="the last of the range (with --from)")
    run.add_argument("--dry-run", action="store_true", help="print what would be rebuilt, and run nothing")

    check = commands.add_parser("check-return", help="what the pipeline would accept and reject in a return")
    check.add_argument("file", type=Path)
    check.add_argument("--quarter", type=_quarter, required=True)

    trace = commands.add_parser("trace", help="the chain from source row to published value for one figure")
    trace.add_argument("indicator")
    trace.add_argument("--quarter", type=_quarter, required=True)

    requests = commands.add_parser("requests", help="write a quarter's data request pack for every service")
    requests.add_argument("--quarter", type=_quarter, required=True)

    reminders = commands.add_parser("reminders", help="send the day's reminders (by e-mail, or to outbox/)")
    reminders.add_argument(
        "--as-of", dest="as_of", type=_date, metavar="DATE", help="the reminder date (default: today)"
    )

    ui = commands.add_parser("ui", help="the Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)

    from perf_pipeline.app.command import add_commands

    add_commands(commands)
    return parser


def prepare_instance(data: Path | None) -> DataRoot:
    """The data root, with its persistent Dagster instance's settings written the first time."""
    root = DataRoot((data or data_root_path()).absolute())
    if not root.root.is_dir():
        raise UsageError(f"the data folder {root.root} does not exist")
    home = root.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    # Written when there is none, and brought up to date when it is one this command wrote (its
    # first line says so); a file put there by hand (a server's, `docs/deploy.md`) is kept.
    written = config.read_text(encoding="utf-8") if config.exists() else None
    if written is None or (
        written != INSTANCE_CONFIG and written.startswith(INSTANCE_CONFIG.splitlines()[0])
    ):
        config.write_text(INSTANCE_CONFIG, encoding="utf-8")
    return root


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        root = prepare_instance(args.data)
        if args.command == "run":
            return command_run(root, args)
        if args.command == "check-return":
            return command_check_return(root, args.file, args.quarter)
        if args.command == "trace":
            from perf_pipeline.runner import trace

            return EXIT_OK if trace(root, args.indicator, args.quarter) else EXIT_FAILED
        if args.command == "requests":
            return command_requests(root, args.quarter)
        if args.command == "reminders":
            return command_reminders(root, args.as_of)
        if args.command == "ui":
            return command_ui(root, args.port)
        if args.command in ("app", "users"):
            from perf_pipeline.app.command import run_command

            return run_command(root, args)
    except UsageError as exc:
        print(f"perf-pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


def selected_quarters(root: DataRoot, args: argparse.Namespace) -> list[Quarter]:
    from perf_pipeline.settings import first_quarter

    if args.quarter:
        quarters = [args.quarter]
    elif args.all:
        quarters = root.quarters_with_returns()
        if not quarters:
            raise UsageError(f"no quarter folders under {root.submissions}")
    else:
        if not args.last:
            raise UsageError("--from needs --to")
        if args.last < args.first:
            raise UsageError("--to is before --from")
        quarters = quarter_range(args.first, args.last)
    too_early = [q for q in quarters if q < first_quarter()]
    if too_early:
        raise UsageError(
            f"{too_early[0].key} is before the first quarter the pipeline holds ({first_quarter().key})"
        )
    return quarters


def command_run(root: DataRoot, args: argparse.Namespace) -> int:
    from perf_pipeline.runner import run_quarters

    quarters = selected_quarters(root, args)
    return EXIT_OK if run_quarters(root, quarters, dry_run=args.dry_run) else EXIT_FAILED


def command_check_return(root: DataRoot, file: Path, quarter: Quarter) -> int:
    from perf_pipeline.lib.check_return import check_return

    if not file.is_file():
        raise UsageError(f"{file} is not a file")
    accepted, lines = check_return(root, file, quarter)
    print("\n".join(lines))
    return EXIT_OK if accepted else EXIT_FAILED


def command_requests(root: DataRoot, quarter: Quarter) -> int:
    from perf_pipeline.runner import write_request_packs
    from perf_pipeline.settings import first_quarter

    if quarter < first_quarter():
        raise UsageError(
            f"{quarter.key} is before the first quarter the pipeline holds ({first_quarter().key})"
        )
    if quarter.end >= dt.datetime.now(LONDON).date():
        day_after = quarter.end + dt.timedelta(days=1)
        raise UsageError(f"{quarter.label} has not ended yet: its packs can be written from {day_after}")
    return EXIT_OK if write_request_packs(root, quarter) else EXIT_FAILED


def command_reminders(root: DataRoot, as_of: dt.date | None) -> int:
    from perf_pipeline.runner import send_reminders

    return EXIT_OK if send_reminders(root, as_of or dt.datetime.now(LONDON).date()) else EXIT_FAILED


def command_ui(root: DataRoot, port: int) -> int:
    workspace = Path(__file__).resolve().parents[1] / "workspace.yaml"
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]
    print(f"Dagster UI for {root.root} on http://127.0.0.1:{port} (Ctrl+C to stop)", flush=True)
    env = {**os.environ, DATA_ENV: str(root.root), "DAGSTER_HOME": str(root.dagster_home)}
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return EXIT_OK


def entry_point() -> None:
    sys.exit(main())
