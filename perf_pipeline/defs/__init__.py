"""Dagster wiring: one module per stage of the quarterly cycle. Logic lives in `perf_pipeline.lib`.

Loading the definitions (the code server, the daemon, every run's process) imports none of pandas,
numpy, DuckDB, pandera, openpyxl, matplotlib or Great Expectations: an asset imports the `lib`
functions it calls, and pandas, in its body. Its table inputs and outputs carry no `pd.DataFrame`
annotation, because Dagster resolves annotations when the definitions load (and `from __future__
import annotations` breaks its `context` annotations in 1.13); the warehouse IO manager loads every
input as a DataFrame and refuses to store anything else. `test_loading_the_definitions_is_cheap`
holds this.
"""

import warnings

import dagster as dg

# Data versions from input hashes, and revisions reaching later partitions, are deliberate uses
# of Dagster features still marked beta; the warnings would bury the pipeline's own messages.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
