"""Shared fixtures: a small council built in a temporary folder, and the bundled example data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from filelock import FileLock

from perf_pipeline import cli

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLE_DATA = REPOSITORY / "data"
SHARED_REAL_DATA = REPOSITORY.parent / "shared" / "real-data"
INPUT_FOLDERS = (
    "reference",
    "submissions",
    "corrections",
    "benchmarks",
    "improvement_plan",
    "feedback",
    "governance",
)

SERVICES = """\
service,name,directorate,owner,owner_email
waste,Waste and Recycling,Place,Pat Bin,pat.bin@council.example
revs,Revenues and Benefits,Resources,Rae Venue,rae.venue@council.example
housing,Housing Options,People,Hal Home,hal.home@council.example
"""

INDICATORS = """\
code,title,definition,unit,unit_label,polarity,frequency,ytd_method,decimals,min_value,max_value,service,priority,level,rag_rule,benchmark_metric,active_from,active_to
WM01,Household waste recycled,,percent,,higher_is_better,quarterly,mean,1,,,waste,Green,strategic,,,,
WM02,Missed bins,,count,,lower_is_better,quarterly,sum,0,,,waste,Green,service,,,,
RB01,Council tax collected,,percent,,higher_is_better,quarterly,cumulative,1,,,revs,Money,strategic,,,,
RB02,Benefit claims processed in time,,percent,,higher_is_better,quarterly,ratio,1,,,revs,Money,service,,,,
HO01,Households in temporary accommodation,,count,,none,quarterly,last,0,,,housing,Homes,service,,,,
HO02,Homelessness preventions,,count,,higher_is_better,annual,sum,0,,,housing,Homes,programme,,,,
"""

TARGETS = """\
code,year,quarter,target,amber_threshold,set_on,reason
WM01,2024-25,,45,,2024-03-01,Annual target
WM02,2024-25,,100,,2024-03-01,Annual target
RB01,2024-25,Q2,56,,2024-03-01,Profiled
"""

RAG_RULES = """\
[standard]
green_within = 0.0
amber_within = 0.05
"""

COUNCIL = """\
name = "Testshire Council"
gss_code = "E06000005"
comparator_groups = ["nearest_neighbours", "same_type", "region", "england"]
return_deadline_working_days = 15
reminder_window_days = 14
"""

AUTHORITIES = """\
gss_code,name,authority_type,region
E06000005,Darlington,UA,North East
E06000001,Hartlepool,UA,North East
"""


class SharedRun:
    """`perf-pipeline run ...` on a copy of the example's inputs, once per test session, in a folder
    every xdist worker of the session shares. It runs as a process of its own, started as the session
    begins, while the workers run the tests that do not need it (those that do are ordered last)."""

    def __init__(self, folder: Path, *run_args: str) -> None:
        self.folder, self.run_args = folder, run_args
        self.root = folder / "data"
        self.log, self.exit_code = folder / "run.log", folder / "exit-code"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(self.folder / "start.lock"):
            if self.root.exists():
                return  # started by the other worker
            (self.folder / "started").touch()
            for folder in INPUT_FOLDERS:
                if (EXAMPLE_DATA / folder).is_dir():
                    shutil.copytree(EXAMPLE_DATA / folder, self.root / folder)
            # The shell writes the exit code when the run ends, whichever worker is still waiting.
            script = '"$0" "$@" >"$LOG" 2>&1; echo $? >"$EXIT.part" && mv "$EXIT.part" "$EXIT"'
            subprocess.Popen(
                [
                    "/bin/sh",
                    "-c",
                    script,
                    str(PERF_PIPELINE),
                    "--data",
                    str(self.root),
                    "run",
                    *self.run_args,
                ],
                env={**os.environ, "LOG": str(self.log), "EXIT": str(self.exit_code)},
                stdin=subprocess.DEVNULL,
            )

    def wait(self) -> Path:
        self.start()
        deadline = time.monotonic() + SHARED_RUN_TIMEOUT_S
        while not self.exit_code.exists():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"`perf-pipeline run {' '.join(self.run_args)}` still running after "
                    f"{SHARED_RUN_TIMEOUT_S} s; its output so far: {self.log}"
                )
            time.sleep(0.5)
        code = int(self.exit_code.read_text())
        if code != 0:
            pytest.fail(
                f"`perf-pipeline run {' '.join(self.run_args)}` ended with {code}:\n"
                + self.log.read_text(errors="replace")[-6000:]
            )
        return self.root


PERF_PIPELINE = Path(sys.executable).with_name("perf-pipeline")
SHARED_RUN_TIMEOUT_S = 30 * 60
# fixture name -> what the shared run is asked to do
SHARED_RUNS = {  # shortest first: the tests that read it are run first
    "recent": ("--from", "2024-25-Q4", "--to", "2025-26-Q2"),  # the last three quarters
    "demo": ("--all",),  # every quarter, as `make demo` does
}


def shared_run(tmp_path_factory, fixture: str) -> SharedRun:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the workers' temp folders are siblings in the session's folder
    return SharedRun(base / f"shared-{fixture}", *SHARED_RUNS[fixture])


def pytest_terminal_summary(terminalreporter, config):
    """How long each shared run took: the suite's critical path when the other tests end first."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for fixture, args in SHARED_RUNS.items():
        run = SharedRun(config._tmp_path_factory.getbasetemp() / f"shared-{fixture}", *args)
        started = run.folder / "started"
        if started.exists() and run.exit_code.exists():
            seconds = run.exit_code.stat().st_mtime - started.stat().st_mtime
            terminalreporter.write_line(
                f"shared run `{fixture}` (perf-pipeline run {' '.join(args)}): {seconds:.0f} s"
            )


def _uses(item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items):
    """The tests that read a shared run last, so the workers have other tests to run meanwhile:
    those of the short run (`recent`) before those of the long one (`demo`), so that no worker waits
    for the long run while tests it could run are queued behind it. Among the tests of a run, those
    marked `long` first: the last minute of the suite is shared out in short tests, rather than one
    worker running a long one alone while the other has finished."""
    items.sort(
        key=lambda item: (
            max((rank for rank, f in enumerate(SHARED_RUNS, 1) if _uses(item, f)), default=0),
            item.get_closest_marker("long") is None,
        )
    )


# The shared runs are the suite's critical path: a worker's tests can run in any order, the quarters
# of a shared run only one after another. Once a worker has started them (at normal priority), it
# lowers its own priority, so on two cores the long run keeps a core to itself and the workers share
# what is left, rather than three processes slowing each other down equally.
WORKER_NICENESS = 5


@pytest.fixture(scope="session", autouse=True)
def _shared_runs_started(request, tmp_path_factory):
    for fixture in SHARED_RUNS:
        if any(_uses(item, fixture) for item in request.session.items):
            shared_run(tmp_path_factory, fixture).start()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.nice(WORKER_NICENESS)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(textwrap.dedent(text).encode(encoding))
    return path


@pytest.fixture
def mini_root(tmp_path: Path) -> Path:
    """A small, valid data root with reference data and no returns yet."""
    root = tmp_path / "data"
    ref = root / "reference"
    write(ref / "services.csv", SERVICES)
    write(ref / "indicators.csv", INDICATORS)
    write(ref / "targets.csv", TARGETS)
    write(ref / "rag_rules.toml", RAG_RULES)
    write(ref / "council.toml", COUNCIL)
    write(ref / "authorities.csv", AUTHORITIES)
    (root / "submissions").mkdir()
    (root / "corrections").mkdir()
    return root


def run_cli(*args: str) -> int:
    """Run the command line in-process."""
    return cli.main(list(args))


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """Every quarter of the example materialised once, as `make demo` does (read it, never change it)."""
    return shared_run(tmp_path_factory, "demo").wait()


@pytest.fixture(scope="session")
def demo_output(demo: Path, tmp_path_factory) -> str:
    """What `perf-pipeline run --all` printed while building `demo`."""
    return shared_run(tmp_path_factory, "demo").log.read_text(encoding="utf-8")


@pytest.fixture
def demo_copy(demo: Path, tmp_path: Path) -> Path:
    """A private copy of the example's full run, for a test that runs a command which writes to it
    (the tests reading `demo` run on both workers at once)."""
    return Path(shutil.copytree(demo, tmp_path / "data", symlinks=True))


@pytest.fixture
def recent(tmp_path: Path, tmp_path_factory) -> Path:
    """The example's last three quarters materialised, in a private copy for a test that changes it
    (the data root carries its own Dagster instance, so the copy is a whole installation)."""
    return Path(
        shutil.copytree(shared_run(tmp_path_factory, "recent").wait(), tmp_path / "data", symlinks=True)
    )


@pytest.fixture(scope="session")
def example_data() -> Path:
    if not (EXAMPLE_DATA / "reference" / "indicators.csv").is_file():
        pytest.fail("the bundled example data is missing from data/")
    return EXAMPLE_DATA


@pytest.fixture
def example_copy(tmp_path: Path, example_data: Path) -> Path:
    """A private copy of the example's inputs, so a test can add files without touching data/."""
    root = tmp_path / "data"
    for folder in INPUT_FOLDERS:
        if (example_data / folder).is_dir():
            shutil.copytree(example_data / folder, root / folder)
    return root
