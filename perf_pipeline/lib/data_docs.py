"""Great Expectations Data Docs for the audit pack, from suites kept in the repository.

Great Expectations takes seconds to import, and this module imports it: the audit pack imports
this module inside the function that uses it, never when the definitions load. Its usage
analytics are switched off.

Each call validates in an ephemeral context of its own (in memory: no project files, no YAML or
JSON stores), so one quarter's results can never reach another quarter's pages, and builds the
Data Docs once, after its validations, into the quarter's folder. The pages are Great
Expectations' own: its renderers and Jinja views. A view makes a new Jinja environment, which
would compile its fifty or so templates again for every pack (most of the time a build took);
the views named in the site's configuration here are Great Expectations' page views sharing one
Jinja bytecode cache for the process (Jinja's hook for templates compiled once and loaded by
many environments; it checks each template's source, so a page is what the plain view renders).
The `view` keys are read by Great Expectations' `SiteBuilder`, though its 1.x guides call only
`base_directory` supported: the version is pinned, and the README says what would show a change.

The Data Docs link to stylesheets and scripts on public CDNs and a tracking image; for an
auditor's offline copy those tags are removed, so the pages open with no network requests.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

SUITES = Path(__file__).resolve().parents[1] / "expectations"
_EXTERNAL = re.compile(
    r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>|<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*>"
    r"|<img[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>",
    re.IGNORECASE,
)
SITE = "audit"


class _ProcessBytecode(BytecodeCache):
    """Compiled templates kept in memory, under Jinja's key (the template's name and file)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:  # the bucket discards it if the template's source has changed
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _ProcessBytecode()


class _SharedTemplates:
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _TEMPLATES  # set before the environment loads any template


class PageView(_SharedTemplates, DefaultJinjaPageView):
    """Great Expectations' page view (suites and validation results), its templates compiled once."""


class IndexPageView(_SharedTemplates, DefaultJinjaIndexPageView):
    """Great Expectations' index page view, its templates compiled once."""


def load_suite_config(name: str) -> dict:
    return json.loads((SUITES / f"{name}.json").read_text(encoding="utf-8"))


def _site_config(docs_dir: Path) -> dict:
    """A Data Docs site in `docs_dir`, rendered by the views above."""
    page = {"module_name": __name__, "class_name": PageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": __name__, "class_name": IndexPageView.__name__},
        },
        "site_section_builders": {
            section: {"view": page} for section in ("expectations", "validations", "profiling")
        },
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
    }


def validate_and_document(tables: dict[str, pd.DataFrame], docs_dir: Path, run_name: str) -> dict[str, dict]:
    """Validate each table against its suite and write Data Docs into `docs_dir`.

    Returns, per table, whether it passed and how many expectations failed.
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # before the context is made
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # logs, not progress bars
    context.add_data_docs_site(site_name=SITE, site_config=_site_config(docs_dir))
    source = context.data_sources.add_pandas("perf_pipeline")
    results = {}
    for name, frame in tables.items():
        config = load_suite_config(name)
        suite = gx.ExpectationSuite(name=config["name"], notes=config.get("notes"))
        for expectation in config["expectations"]:
            suite.add_expectation_configuration(ExpectationConfiguration(**expectation))
        suite = context.suites.add(suite)
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(run_name)
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(name=f"audit_{name}", validation_definitions=[validation])
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        run = next(iter(result.run_results.values()))
        results[name] = {
            "success": bool(result.success),
            "expectations": int(run.statistics["evaluated_expectations"]),
            "failed": int(run.statistics["unsuccessful_expectations"]),
        }
    # Once for all the tables: every suite and result in this context is this call's.
    context.build_data_docs(site_names=[SITE])
    for page in docs_dir.rglob("*.html"):
        page.write_text(_EXTERNAL.sub("", page.read_text(encoding="utf-8")), encoding="utf-8")
    return results
