"""Shared fixtures: a small council built in a temporary folder, and the bundled example data."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

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


def pytest_generate_tests(metafunc):
    """Tests of the example run carry `[example]` in their id, so they can be scheduled together."""
    if "demo" in metafunc.fixturenames:
        metafunc.parametrize("demo", ["example"], indirect=True, scope="session")


def pytest_xdist_make_scheduler(config, log):
    """Two workers for two cores: every test of the example run on one worker (so the run is built
    once), the other tests spread over both."""
    from xdist.scheduler import LoadScopeScheduling

    class ExampleRunTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "example" if "example" in nodeid[nodeid.rfind("[") :] else nodeid

    return ExampleRunTogether(config, log)


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
    """Every quarter of the example materialised once, as `make demo` does."""
    root = tmp_path_factory.mktemp("demo") / "data"
    for folder in INPUT_FOLDERS:
        if (EXAMPLE_DATA / folder).is_dir():
            shutil.copytree(EXAMPLE_DATA / folder, root / folder)
    assert run_cli("--data", str(root), "run", "--all") == 0
    return root


@pytest.fixture
def recent(tmp_path: Path) -> Path:
    """The example's last three quarters materialised in a private copy, for tests that change it."""
    root = tmp_path / "data"
    for folder in INPUT_FOLDERS:
        if (EXAMPLE_DATA / folder).is_dir():
            shutil.copytree(EXAMPLE_DATA / folder, root / folder)
    assert run_cli("--data", str(root), "run", "--from", "2024-25-Q4", "--to", "2025-26-Q2") == 0
    return root


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
