"""What holds for the performance rules whatever the figures (Hypothesis): the RAG status, the
direction of travel, the year to date and rounding, each stated as the README's *Performance
against targets* gives it. The examples beside each rule are in test_performance.py; these
look for the figures nobody thought to write down. Runs in seconds.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.performance import (
    AMBER,
    DOWN,
    GREEN,
    GREY,
    IMPROVING,
    NO_CHANGE,
    NO_COMPARISON,
    NOT_REPORTED,
    RED,
    UP,
    WORSENING,
    RagRule,
    at_precision,
    direction_of_travel,
    rag_status,
    year_to_date,
)

HIGHER, LOWER, NONE = "higher_is_better", "lower_is_better", "none"
RANK = {RED: 0, AMBER: 1, GREEN: 2}
QUICK = settings(max_examples=100, deadline=None)

# Figures as returns give them: up to a few decimals, positive or negative.
figures = st.decimals(min_value=-10_000, max_value=10_000, places=3, allow_nan=False).map(float)
maybe = st.one_of(st.none(), figures)
decimals = st.integers(0, 3)
rules = st.builds(
    RagRule,
    green_within=st.sampled_from([0.0, 0.02, 0.1, 1.0]),
    amber_within=st.sampled_from([0.0, 0.05, 0.1, 2.0]),
    tolerance_type=st.sampled_from(["relative", "absolute"]),
    amber_if_improved=st.booleans(),
)
polarities = st.sampled_from([HIGHER, LOWER])


@QUICK
@given(target=maybe, polarity=st.sampled_from([HIGHER, LOWER, NONE]), rule=rules, places=decimals)
def test_no_figure_is_never_rated(target, polarity, rule, places):
    """A due indicator without a figure is Not reported: never Green, whatever its target."""
    for missing in (None, float("nan")):
        assert rag_status(missing, target, polarity, rule, places) == NOT_REPORTED


@QUICK
@given(value=figures, target=maybe, rule=rules, places=decimals, polarity=polarities)
def test_data_only_or_without_a_target_is_grey(value, target, rule, places, polarity):
    assert rag_status(value, target, NONE, rule, places) == GREY
    assert rag_status(value, None, polarity, rule, places) == GREY
    assert rag_status(value, float("nan"), polarity, rule, places) == GREY


@QUICK
@given(target=figures, polarity=polarities, rule=rules, places=decimals, amber=maybe, last_year=maybe)
def test_a_figure_on_target_is_green(target, polarity, rule, places, amber, last_year):
    assert rag_status(target, target, polarity, rule, places, amber, last_year) == GREEN


@QUICK
@given(
    a=figures,
    b=figures,
    target=figures,
    polarity=polarities,
    rule=rules,
    places=decimals,
    amber=maybe,
    last_year=maybe,
)
def test_a_better_figure_never_has_a_worse_status(a, b, target, polarity, rule, places, amber, last_year):
    """Red, Amber, Green in order of the figure: the status of a better figure is at least as good,
    under every rule, with or without an amber threshold or last year's figure."""
    worse, better = sorted([a, b]) if polarity == HIGHER else sorted([a, b], reverse=True)
    statuses = [rag_status(v, target, polarity, rule, places, amber, last_year) for v in (worse, better)]
    assert RANK[statuses[0]] <= RANK[statuses[1]], statuses


@QUICK
@given(value=figures, target=figures, rule=rules, places=decimals, amber=maybe, last_year=maybe)
def test_polarity_is_only_a_direction(value, target, rule, places, amber, last_year):
    """Lower is better is higher is better seen in a mirror: negating every figure and reversing
    the polarity gives the same status (so neither polarity is judged by a different rule)."""

    def neg(x):
        return None if x is None else -x

    assert rag_status(value, target, HIGHER, rule, places, amber, last_year) == rag_status(
        -value, -target, LOWER, rule, places, neg(amber), neg(last_year)
    )


@QUICK
@given(
    value=figures,
    target=figures,
    green=st.sampled_from([0.0, 0.02]),
    amber=st.sampled_from([0.0, 0.05, 0.1]),
    relative=st.booleans(),
    places=decimals,
)
def test_reversing_polarity_swaps_green_and_red_beyond_tolerance(
    value, target, green, amber, relative, places
):
    """The classic bug: a "lower is better" measure well under its target shown Red. Beyond the
    tolerance on either side, one polarity gives Green and the other Red."""
    rule = RagRule(
        green_within=green, amber_within=amber, tolerance_type="relative" if relative else "absolute"
    )
    v, t = at_precision(value, places), at_precision(target, places)
    band = max(green, amber) * (abs(t) if relative else 1.0)
    assume(abs(v - t) > band + 10.0**-places)
    assert {
        rag_status(value, target, HIGHER, rule, places),
        rag_status(value, target, LOWER, rule, places),
    } == {
        GREEN,
        RED,
    }


@QUICK
@given(a=maybe, b=maybe, polarity=st.sampled_from([HIGHER, LOWER, NONE]), places=decimals)
def test_direction_of_travel_reads_the_same_both_ways(a, b, polarity, places):
    """From a to b is the opposite of from b to a; reversing the polarity swaps Improving and
    Worsening; equal at the reported precision is No change; a missing figure is No comparison."""
    forward, backward = (
        direction_of_travel(a, b, polarity, places),
        direction_of_travel(b, a, polarity, places),
    )
    opposite = {IMPROVING: WORSENING, WORSENING: IMPROVING, UP: DOWN, DOWN: UP}
    assert backward == opposite.get(forward, forward)
    if a is None or b is None:
        assert forward == NO_COMPARISON
        return
    same = at_precision(a, places) == at_precision(b, places)
    assert (forward == NO_CHANGE) == same
    if polarity != NONE and not same:
        other = LOWER if polarity == HIGHER else HIGHER
        assert direction_of_travel(a, b, other, places) == opposite[forward]
        assert (forward == IMPROVING) == ((a > b) == (polarity == HIGHER))
    if polarity == NONE and not same:
        assert forward == (UP if a > b else DOWN)


counts = st.integers(0, 1000).map(float)


@QUICK
@given(
    values=st.lists(st.one_of(st.none(), counts), min_size=1, max_size=4),
    targets=st.lists(counts, min_size=4, max_size=4),
)
def test_year_to_date_by_method_whatever_the_figures(values, targets):
    targets = targets[: len(values)]
    blank = [None] * len(values)
    reported = [v for v in values if v is not None]
    # cumulative and last: the latest quarter's figure and target, as reported.
    for method in ("cumulative", "last"):
        assert year_to_date(method, "count", values, blank, blank, targets) == (values[-1], targets[-1])
    # sum: only when every quarter is reported; its target is the sum of the quarters'.
    total, total_target = year_to_date("sum", "count", values, blank, blank, targets)
    assert total == (sum(values) if len(reported) == len(values) else None)
    assert total_target == sum(targets)
    # mean: of the quarters reported, within their range.
    mean, mean_target = year_to_date("mean", "days", values, blank, blank, targets)
    if values[-1] is not None:
        assert min(reported) - 1e-9 <= mean <= max(reported) + 1e-9
    assert min(targets) - 1e-9 <= mean_target <= max(targets) + 1e-9


@QUICK
@given(
    quarters=st.lists(
        st.tuples(st.integers(1, 500), st.integers(0, 500), st.integers(0, 100)).map(
            lambda t: (min(t[1], t[0]), t[0], float(t[2]))
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_ratio_year_to_date_lies_between_its_quarters_rates(quarters):
    """Summed numerators over summed denominators is a rate weighted by the denominators: never
    above the best quarter nor below the worst; so is its target."""
    nums = [float(n) for n, _, _ in quarters]
    dens = [float(d) for _, d, _ in quarters]
    targets = [t for _, _, t in quarters]
    rates = [100 * n / d for n, d in zip(nums, dens)]
    value, target = year_to_date("ratio", "percent", rates, nums, dens, targets)
    assert min(rates) - 1e-9 <= value <= max(rates) + 1e-9
    assert value == 100 * sum(nums) / sum(dens)
    assert min(targets) - 1e-9 <= target <= max(targets) + 1e-9


@QUICK
@given(value=figures, places=decimals)
def test_rounding_is_to_the_nearest_with_halves_away_from_zero(value, places):
    rounded = at_precision(value, places)
    unit = Decimal(10) ** -places
    error = Decimal(repr(rounded)) - Decimal(repr(value))
    assert abs(error) <= unit / 2
    if abs(error) == unit / 2:  # a half: rounded away from zero, as people round
        assert abs(rounded) > abs(value)
    assert at_precision(rounded, places) == rounded
