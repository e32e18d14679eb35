"""The app's charts drawn ahead by worker processes: the same bytes as drawn one at a time here,
and a chart that fails is reported as it would be here, not left waiting."""

import threading

import pytest

from perf_pipeline.app import charts

LABELS = [f"{y}/{str(y + 1)[2:]} Q{q}" for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)][:11]
SCATTER_ROW = {
    "label": "Adult social care: spend per resident vs. outcome of short-term services",
    "period": "2023-24",
    "unit_of_cost_per_unit": "£ per resident",
    "outcome_polarity": "higher_is_better",
    "group_median_cost": 262.5,
    "group_median_outcome": 78.1,
}
# As the pages ask for them (`pages._trend`, `pages.dot_plot`, `pages._scatter`): gaps where a
# quarter had no figure or no target, more than eight quarters (one label a year), a single quarter.
CHARTS = [
    (
        "trend",
        (LABELS, [71.0, None, 73.5, 74.25, 70.0, 69.5, 72.0, 75.0, 76.5, 77.0, 78.0], [72.0] * 11, "A"),
    ),
    ("trend", (LABELS[:3], [3.0, 2.5, None], [None, None, 2.0], "B: value by quarter against target")),
    ("trend", (LABELS[:1], [-0.5], [None], "C & <D>")),
    ("trend", (LABELS[:6], [None] * 6, [1.0, 1.0, 1.5, 1.5, 2.0, 2.0], "E")),
    ("dots", ([61.2, 64.0, 66.5, 70.1, 70.1, 72.9, 75.0], 68.4, 68.3, "Darlington Borough Council", "F")),
    ("dots", ([5.0], 5.0, 5.0, "Darlington Borough Council", "G")),
    (
        "scatter",
        (
            [
                {"cost_per_unit": 240.0 + i * 7.5, "outcome": 70.0 + (i * 37 % 11), "is_council": i == 4}
                for i in range(15)
            ],
            SCATTER_ROW,
            "Darlington",
            "H: scatter of 15 councils, cost per unit across, outcome up",
        ),
    ),
]


def wanted(chart_list) -> dict:
    return {charts.chart_key(kind, args): (kind, args) for kind, args in chart_list}


def within(seconds: float, function, *args):
    """`function(*args)`'s result or error, failing the test if it has neither after `seconds`."""
    outcome = {}

    def run():
        try:
            outcome["result"] = function(*args)
        except Exception as exc:  # noqa: BLE001 - handed to the test as it was raised
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"no answer in {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def test_workers_draw_the_same_bytes_as_drawing_here():
    asked = wanted(CHARTS)
    here = charts.drawn(asked)  # too few to start workers for
    assert len(here) == len(CHARTS) and all(charts.unpack(svg).startswith("<svg ") for svg in here.values())
    # In the reverse order, so a worker draws on a figure left by other charts than here.
    reversed_order = dict(reversed(asked.items()))
    assert within(120, charts.in_workers, reversed_order, 2) == here


def test_a_chart_that_fails_in_a_worker_raises_its_own_error():
    bad = ("dots", ([1.0, "a string"], 2.0, 1.5, "Darlington", "I"))
    with pytest.raises(ValueError, match="could not convert string to float") as here:
        charts.drawn(wanted([bad]))
    with pytest.raises(ValueError, match="could not convert string to float") as there:
        within(120, charts.in_workers, wanted([*CHARTS, bad, *CHARTS[:2]]), 1)
    assert str(there.value) == str(here.value)
