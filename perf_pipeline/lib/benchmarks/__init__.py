"""Comparator benchmarks: published data as downloaded, comparator groups, and positions in them.

Every source named in `benchmarks/sources.toml` is read by the importer for its format into one
long table (`benchmark_values`). Comparator groups come from a nearest-neighbour mapping
(`NN.json` shape), from `authorities.csv` (same type, same region, all England) and from a CSV of
`group, authority_code`. The statistics (n, median, rank, quartile, distance from the median in
median absolute deviations) are one vectorised computation over every authority, metric and
period (`group_positions`); the council's report is that computation filtered to the council.

Where each part lives: `sources` (sources.toml, staging the raw rows), `readers/` (one importer per
format), `periods`, `normalise` (raw rows to `benchmark_values`), `checks` (check names and rules),
`groups` (comparator groups), `positions` (`group_positions`), `council` (the council's positions
in every period, and a quarter's choice among them).
"""
