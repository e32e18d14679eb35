"""Great Expectations Data Docs for the audit pack, from suites kept in the repository.

Great Expectations takes seconds to import, so it is imported here, inside the function the
audit pack calls, never when the definitions load; its usage analytics are switched off.
The Data Docs it writes link to stylesheets and scripts on public CDNs and a tracking image; for
an auditor's offline copy those tags are removed, so the pages open with no network requests.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

SUITES = Path(__file__).resolve().parents[1] / "expectations"
_EXTERNAL = re.compile(
    r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>|<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*>"
    r"|<img[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>",
    re.IGNORECASE,
)


def load_suite_config(name: str) -> dict:
    return json.loads((SUITES / f"{name}.json").read_text(encoding="utf-8"))


def validate_and_document(tables: dict[str, pd.DataFrame], docs_dir: Path, run_name: str) -> dict[str, dict]:
    """Validate each table against its suite and write Data Docs into `docs_dir`.

    Returns, per table, whether it passed and how many expectations failed.
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    results = {}
    with tempfile.TemporaryDirectory(prefix="gx-") as project:
        context = gx.get_context(mode="file", project_root_dir=project)
        context.variables.progress_bars = ProgressBarsConfig(globally=False)  # logs, not progress bars
        context.add_data_docs_site(
            site_name="audit",
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
            },
        )
        source = context.data_sources.add_pandas("perf_pipeline")
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
                gx.Checkpoint(
                    name=f"audit_{name}",
                    validation_definitions=[validation],
                    actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["audit"])],
                )
            )
            result = checkpoint.run(batch_parameters={"dataframe": frame})
            run = next(iter(result.run_results.values()))
            results[name] = {
                "success": bool(result.success),
                "expectations": int(run.statistics["evaluated_expectations"]),
                "failed": int(run.statistics["unsuccessful_expectations"]),
            }
    for page in docs_dir.rglob("*.html"):
        page.write_text(_EXTERNAL.sub("", page.read_text(encoding="utf-8")), encoding="utf-8")
    return results
