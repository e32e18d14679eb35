"""Dagster wiring: one module per stage of the quarterly cycle. Logic lives in `perf_pipeline.lib`."""
