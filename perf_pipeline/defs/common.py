"""Settings every asset of the cycle shares."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.defs.partitions import quarterly_partitions
from perf_pipeline.defs.resources import WAREHOUSE_POOL
from perf_pipeline.lib.automation import files_version as input_files_version
from perf_pipeline.lib.files import combined_hash
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.validation import ReferenceDataError

if TYPE_CHECKING:
    import pandas as pd

OWNERS = ["team:performance"]
KINDS = {"duckdb", "pandas"}
# How a table of the warehouse is declared: owned by the performance team, one writer at a time
# (the pool); a quarterly one is stored by its quarter's first day.
WAREHOUSE_TABLE = {"code_version": "1", "owners": OWNERS, "kinds": KINDS, "pool": WAREHOUSE_POOL}
QUARTERLY_TABLE = {
    **WAREHOUSE_TABLE,
    "partitions_def": quarterly_partitions,
    "metadata": {"partition_expr": "quarter_start"},
}


def files_version(paths: list[Path]) -> dg.DataVersion:
    """A data version from the content of input files: same bytes, same version."""
    return dg.DataVersion(input_files_version(paths))


def frame_version(df: pd.DataFrame) -> dg.DataVersion:
    """A data version from a table's content, so what reads it is rebuilt only when it changed."""
    import pandas as pd

    rows = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes().hex()
    return dg.DataVersion(combined_hash([",".join(map(str, df.columns)), rows])[:16])


@contextmanager
def reference_checked():
    """Stop the step with every problem in a reference file listed (file, row, column), not just
    the first."""
    try:
        yield
    except ReferenceDataError as error:
        raise reference_failure(error) from None


def reference_failure(error: ReferenceDataError) -> dg.Failure:
    """Stop the run with every problem in the reference data listed, not just the first."""
    listing = "\n".join(f"- {problem}" for problem in error.problems)
    return dg.Failure(
        description=f"The reference data has {len(error.problems)} problem(s):\n{listing}",
        metadata={"problems": dg.MetadataValue.md(listing)},
    )


def with_quarter(df: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """Stamp a quarter's rows with the partition column (a timestamp, as the IO manager needs)."""
    import pandas as pd

    out = df.drop(columns=["quarter_start", "quarter"], errors="ignore")
    out.insert(0, "quarter", quarter.key)
    out.insert(0, "quarter_start", pd.Timestamp(quarter.start))
    return out


def files_table(df: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(df.astype(str).to_markdown(index=False) if len(df) else "none")


def column_lineage(deps: dict[str, list[str]]) -> dg.TableColumnLineage:
    """Column lineage from `{"column": ["asset.column", ...]}`, for the auditor's walk in the UI."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [
                dg.TableColumnDep(asset_key=dg.AssetKey(ref.split(".")[0]), column_name=ref.split(".")[1])
                for ref in refs
            ]
            for column, refs in deps.items()
        }
    )
