"""One importer per `format` in `sources.toml`: each reads a file as published into raw rows."""

from perf_pipeline.lib.benchmarks.readers.long_csv import read_long_csv
from perf_pipeline.lib.benchmarks.readers.mhclg_rs import read_mhclg_rs_xlsx
from perf_pipeline.lib.benchmarks.readers.oflog import read_oflog_asc_csv, read_oflog_waste_json
from perf_pipeline.lib.benchmarks.readers.wide_csv import read_wide_csv

IMPORTERS = {
    "long_csv": read_long_csv,
    "oflog_asc_csv": read_oflog_asc_csv,
    "oflog_waste_json": read_oflog_waste_json,
    "mhclg_rs_xlsx": read_mhclg_rs_xlsx,
    "wide_csv": read_wide_csv,
}
