"""Each authority's position in each of its groups: one vectorised computation for all of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from perf_pipeline.lib.benchmarks.normalise import HIGHER, LOWER
from perf_pipeline.lib.benchmarks.periods import parse_period

POSITION_COLUMNS = [
    "authority_code",
    "group",
    "metric",
    "period",
    "n",
    "n_missing",
    "value",
    "median",
    "mad",
    "rank",
    "quartile",
    "diff_from_median",
    "mads_from_median",
]

# Elements of one gathered block (slices x sets x members) held in memory at a time.
_BLOCK_ELEMENTS = 4_000_000
_OUTPUT_TYPES = {
    "pair": np.int32,
    "slice": np.int32,
    "n": np.int32,
    "n_missing": np.int32,
    "value": float,
    "median": float,
    "mad": float,
    "rank": float,
    "quartile": float,
    "diff_from_median": float,
    "mads_from_median": float,
}
_NEVER = np.iinfo(np.int64).max
_ALWAYS = np.iinfo(np.int64).min


def group_positions(values: pd.DataFrame, groups: pd.DataFrame, polarity) -> pd.DataFrame:
    """Each authority's position in each of its groups, for every metric and period it has a value in.

    `values`: `metric, period, area_code, value`, one row per metric, period and area (NaN = not
    published). `groups`: `authority_code, group, member_code`, optionally `valid_from, valid_to`
    (dates the membership holds; blank = always) and `member_type`. `polarity`: metric ->
    `higher_is_better`, `lower_is_better` or `none` (a dict or Series; missing = none).

    For each (authority, group, metric, period) where the authority has a value:
    - `n`: members with a value (the authority included); `n_missing`: members with no value that
      were expected to have one: valid in the period, and of an authority type of which at least
      one authority has a value for that metric and period (districts are not missing from an
      adult social care table). A member with a value always counts.
    - `median` of the members' values; `mad`, the median absolute deviation, unscaled: the median
      of |value - median| (this is Oflog's, matched to every row of its ASC file);
      `mads_from_median` = (value - median) / mad, signed as the values are (not by polarity):
      0 when the value is the median, blank when mad is 0 and it is not.
    - `rank`: 1 = best by polarity; ties share the better rank; `quartile` = 1 + floor(4 (rank - 1) / n).
      Both blank for polarity `none`.

    Sets of members shared by many authorities (England, a region, a type) are computed once;
    the work is numpy over a dense slices x authorities matrix, in blocks of bounded size, with
    no loop over authorities or metrics. Row order is not meaningful.
    """
    if values.empty or groups.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in POSITION_COLUMNS})
    groups = groups.drop_duplicates(["authority_code", "group", "member_code"])
    selves = (
        groups[["authority_code", "group"]]
        .drop_duplicates()
        .assign(member_code=lambda d: d["authority_code"])
    )
    groups = pd.concat([groups, selves]).drop_duplicates(
        ["authority_code", "group", "member_code"], keep="first"
    )
    codes = pd.Index(
        pd.unique(
            np.concatenate(
                [
                    values["area_code"].to_numpy(object),
                    groups["member_code"].to_numpy(object),
                    groups["authority_code"].to_numpy(object),
                ]
            )
        )
    )
    pad_col = len(codes)  # an all-blank column for padding
    area = codes.get_indexer(values["area_code"])
    slice_id, (metric_code, period_code) = _factorize_together(values["metric"], values["period"])
    metrics, periods = metric_code.uniques, period_code.uniques
    metric_code, period_code = metric_code.codes, period_code.codes
    n_slices = len(metric_code)
    matrix = np.full((n_slices, pad_col + 1), np.nan)
    matrix[slice_id, area] = values["value"].to_numpy(float)
    polarity = pd.Series(polarity, dtype=object) if not isinstance(polarity, pd.Series) else polarity
    direction = (
        pd.Series(metrics).map(polarity).map({HIGHER: 1.0, LOWER: -1.0}).fillna(0.0).to_numpy()[metric_code]
    )

    # Which members are expected to have a value: valid then, and of a type that publishes it.
    member_type = groups["member_type"] if "member_type" in groups else groups["member_code"].str[:3]
    type_of_code = pd.Series(member_type.to_numpy(), index=groups["member_code"].to_numpy()).dropna()
    type_of_code = type_of_code[~type_of_code.index.duplicated()].reindex(codes)
    type_of_code = type_of_code.fillna(pd.Series(codes.str[:3], index=codes))
    type_code, types = pd.factorize(type_of_code.to_numpy())
    type_code = np.append(type_code, len(types))  # the padding column's type publishes nothing
    reports = np.zeros((n_slices, len(types) + 1), bool)
    published = ~np.isnan(matrix[slice_id, area])
    reports[slice_id[published], type_code[area[published]]] = True

    days = {}
    for column, blank in (("valid_from", _ALWAYS), ("valid_to", _NEVER)):
        dates = pd.to_datetime(groups[column]) if column in groups else pd.Series(pd.NaT, index=groups.index)
        days[column] = np.where(dates.isna(), blank, dates.to_numpy("datetime64[D]").astype(np.int64))
    # A member of a group is an entry: the member with the dates its membership holds.
    entry_id, (member, valid_from, valid_to) = _factorize_together(
        pd.Series(codes.get_indexer(groups["member_code"])),
        pd.Series(days["valid_from"]),
        pd.Series(days["valid_to"]),
    )
    entry_col = np.append(member.uniques[member.codes], pad_col)  # the last entry pads
    entry_from = np.append(valid_from.uniques[valid_from.codes], _NEVER)
    entry_to = np.append(valid_to.uniques[valid_to.codes], _ALWAYS)
    if (entry_from[:-1] == _ALWAYS).all() and (entry_to[:-1] == _NEVER).all():
        valid = np.ones((len(periods), len(entry_col)), bool)
    else:
        bounds = [parse_period(p) for p in periods]
        period_start = np.array([np.datetime64(b.first.start, "D").astype(np.int64) for b in bounds])
        period_end = np.array([np.datetime64(b.last.end, "D").astype(np.int64) for b in bounds])
        valid = (entry_from[None, :] <= period_end[:, None]) & (entry_to[None, :] > period_start[:, None])
    valid[:, -1] = False

    # Distinct member sets: England, a region or a type is one set shared by all its members.
    pair_id, (owner, group) = _factorize_together(groups["authority_code"], groups["group"])
    membership = np.zeros((len(owner.codes), len(entry_col) - 1), bool)
    membership[pair_id, entry_id] = True
    sets, set_of_pair = np.unique(membership, axis=0, return_inverse=True)
    set_of_pair = set_of_pair.ravel()
    owner_col = codes.get_indexer(owner.uniques[owner.codes])
    group_code, group_names = group.codes, group.uniques
    sizes = sets.sum(axis=1)
    width = 2 ** np.ceil(np.log2(np.maximum(sizes, 1))).astype(int)  # few distinct widths, at most 2x padding

    # One output row per pair and slice in which the pair's authority has a value: filled block by
    # block into arrays sized up front, so tens of millions of rows are never held twice.
    rows_out = int((~np.isnan(matrix)).sum(axis=0)[owner_col].sum())
    if rows_out == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in POSITION_COLUMNS})
    result = {name: np.empty(rows_out, dtype) for name, dtype in _OUTPUT_TYPES.items()}
    filled = 0
    for w in np.unique(width):
        in_bucket = np.flatnonzero(width == w)
        rows, members = np.nonzero(sets[in_bucket])
        slot = np.arange(len(rows)) - np.searchsorted(rows, rows)
        entry = np.full((len(in_bucket), w), len(entry_col) - 1)
        entry[rows, slot] = members
        bucket_pairs = np.flatnonzero(np.isin(set_of_pair, in_bucket))
        set_in_bucket = np.searchsorted(in_bucket, set_of_pair[bucket_pairs])
        own_slot = (entry_col[entry[set_in_bucket]] == owner_col[bucket_pairs, None]).argmax(axis=1)
        step = max(1, _BLOCK_ELEMENTS // (len(in_bucket) * w))
        for first in range(0, n_slices, step):
            block = slice(first, min(first + step, n_slices))
            part = _positions_block(
                matrix[block],
                direction[block],
                valid[period_code[block]],
                reports[block],
                entry,
                entry_col,
                type_code,
                set_in_bucket,
                own_slot,
                owner_col[bucket_pairs],
                bucket_pairs,
                first,
            )
            size = len(part["pair"])
            for name, array in part.items():
                result[name][filled : filled + size] = array
            filled += size
    pair, slice_ = result.pop("pair"), result.pop("slice")
    labels = {
        "authority_code": pd.Categorical.from_codes(owner_col[pair], codes.astype(str)),
        "group": pd.Categorical.from_codes(group_code[pair], group_names.astype(str)),
        "metric": pd.Categorical.from_codes(metric_code[slice_], metrics.astype(str)),
        "period": pd.Categorical.from_codes(period_code[slice_], periods.astype(str)),
    }
    # copy=False: tens of millions of rows are not copied again into consolidated blocks.
    return pd.DataFrame({c: labels[c] if c in labels else result[c] for c in POSITION_COLUMNS}, copy=False)


@dataclass(frozen=True)
class _Codes:
    codes: np.ndarray  # per distinct combination
    uniques: np.ndarray


def _factorize_together(*columns: pd.Series) -> tuple[np.ndarray, list[_Codes]]:
    """Codes for the distinct combinations of the columns, and each column's value per combination."""
    factorized = [pd.factorize(c.to_numpy()) for c in columns]
    key = np.zeros(len(columns[0]), np.int64)
    for codes, uniques in factorized:
        key = key * (len(uniques) + 1) + codes + 1
    combination_id, distinct = pd.factorize(key)
    first = np.empty(len(distinct), np.int64)
    first[combination_id[::-1]] = np.arange(len(key))[::-1]  # the first row of each combination
    return combination_id, [_Codes(codes[first], uniques) for codes, uniques in factorized]


def _median_of_sorted(ordered: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Median of the first n values along the last axis (blanks sort last); blank when n = 0."""
    low = np.maximum((n - 1) // 2, 0)[..., None]
    high = np.maximum(n // 2, 0)[..., None]
    middle = (np.take_along_axis(ordered, low, -1) + np.take_along_axis(ordered, high, -1))[..., 0] / 2
    return np.where(n > 0, middle, np.nan)


def _positions_block(
    matrix,
    direction,
    valid,
    reports,
    entry,
    entry_col,
    type_code,
    set_of_pair,
    own_slot,
    owner,
    pairs,
    first_slice,
) -> dict[str, np.ndarray]:
    """The statistics for a block of slices and one bucket of member sets of equal (padded) width."""
    values = matrix[:, entry_col[entry]]  # slices x sets x members
    has = ~np.isnan(values)
    n = has.sum(-1)
    expected = valid[:, entry] & reports[:, type_code[entry_col[entry]]]
    size = (has | expected).sum(-1)
    order = np.argsort(values, axis=-1)
    ordered = np.take_along_axis(values, order, -1)
    median = _median_of_sorted(ordered, n)
    mad = _median_of_sorted(np.sort(np.abs(values - median[..., None]), axis=-1), n)
    # Ties share the better rank: 1 + members strictly better. In ascending order a run of equal
    # values starts after the smaller ones and ends before the larger ones.
    slots = np.arange(values.shape[-1])
    starts = np.ones(ordered.shape, bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    run_start = np.maximum.accumulate(np.where(starts, slots, 0), axis=-1)
    ends = np.ones(ordered.shape, bool)
    ends[..., :-1] = starts[..., 1:]
    run_end = np.minimum.accumulate(np.where(ends, slots + 1, values.shape[-1])[..., ::-1], axis=-1)[
        ..., ::-1
    ]
    position = np.empty(order.shape, np.int64)  # where each member sits in the ordering
    np.put_along_axis(position, order, slots, -1)

    own = matrix[:, owner]  # slices x pairs
    keep = ~np.isnan(own)
    slice_index, pair_index = np.nonzero(keep)
    set_index, slot_index = set_of_pair[pair_index], own_slot[pair_index]
    sign = direction[slice_index]
    value = own[keep]
    n_kept = n[slice_index, set_index]
    mid, spread = median[slice_index, set_index], mad[slice_index, set_index]
    at = position[slice_index, set_index, slot_index]
    rank = np.where(
        sign > 0, n_kept - run_end[slice_index, set_index, at] + 1, run_start[slice_index, set_index, at] + 1
    ).astype(float)
    rank[sign == 0] = np.nan
    diff = value - mid
    with np.errstate(divide="ignore", invalid="ignore"):
        mads = np.where(diff == 0, 0.0, np.where(spread > 0, diff / spread, np.nan))
    return {
        "pair": pairs[pair_index],
        "slice": slice_index + first_slice,
        "n": n_kept,
        "n_missing": size[slice_index, set_index] - n_kept,
        "value": value,
        "median": mid,
        "mad": spread,
        "rank": rank,
        "quartile": 1 + np.floor(4 * (rank - 1) / n_kept),
        "diff_from_median": diff,
        "mads_from_median": mads,
    }
