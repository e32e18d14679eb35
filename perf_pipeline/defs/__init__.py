"""Dagster wiring: one module per stage of the quarterly cycle. Logic lives in `perf_pipeline.lib`."""

import warnings

import dagster as dg

# Data versions from input hashes, and revisions reaching later partitions, are deliberate uses
# of Dagster features still marked beta; the warnings would bury the pipeline's own messages.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
