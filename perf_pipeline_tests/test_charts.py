"""The report's charts: drawn by blitting on one reused figure, and each chart is its own data."""

import base64
import io

import pytest
from PIL import Image

from perf_pipeline.lib.charts import DPI, TREND_SIZE, ComparatorDotPlots, TrendCharts

NAVY = (0x1F, 0x4E, 0x79)


def picture(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")


def navy_columns(image: Image.Image) -> list[int]:
    """The x positions where the council's colour is drawn."""
    pixels = image.load()
    return sorted(
        {
            x
            for x in range(image.width)
            for y in range(image.height)
            if all(abs(a - b) < 40 for a, b in zip(pixels[x, y], NAVY))
        }
    )


@pytest.fixture(scope="module")
def trends():
    charts = TrendCharts()
    yield charts
    charts.close()


def test_a_trend_is_a_png_of_the_set_size_showing_only_its_own_quarters(trends):
    full = picture(trends.render([1, 2, 3, 4, 5, 6, 7, 8], [4] * 8))
    assert full.size == (int(TREND_SIZE[0] * DPI), int(TREND_SIZE[1] * DPI))
    # a later chart with only the last two quarters reported: nothing of the earlier chart remains
    short = picture(trends.render([None] * 6 + [5, 6], [None] * 8))
    drawn = navy_columns(short)
    assert drawn and min(drawn) > full.width * 0.6


def test_a_trend_with_no_value_is_no_chart(trends):
    assert trends.render([None] * 8, [1] * 8) is None


def test_the_same_comparison_draws_the_same_dot_plot_once_and_another_council_its_own():
    first = ComparatorDotPlots("Darlington")
    data = ([10.0, 20.0, 30.0], 25.0, 20.0)
    drawn = first.render(*data)
    assert ComparatorDotPlots("Darlington").render(*data) == drawn  # kept, not drawn again
    assert ComparatorDotPlots("Hartlepool").render(*data) != drawn  # the legend names the council
    moved = picture(first.render([10.0, 20.0, 30.0], 12.0, 20.0))
    assert navy_columns(moved) and navy_columns(moved) != navy_columns(picture(drawn))
    first.close()


def test_a_trend_drawn_before_is_kept_and_another_trend_is_its_own(trends):
    data = ([3, 1, 4, 1, 5, 9, 2, 6], [4] * 8)
    drawn = trends.render(*data)
    other = trends.render([3, 1, 4, 1, 5, 9, 2, 7], [4] * 8)
    assert trends.render(*data) is drawn  # kept, not drawn again
    assert other != drawn and picture(other) != picture(drawn)


DRAW_IN_A_NEW_PROCESS = """
import json, sys
from pathlib import Path
import pandas as pd
from perf_pipeline.lib.charts import ComparatorDotPlots, TrendCharts, kept_on_disk
from perf_pipeline.lib.value_for_money_view import scatter_png

store, last = Path(sys.argv[1]), float(sys.argv[2])
points = pd.DataFrame(
    {"cost_per_unit": [1.0, 2.0, 3.0], "outcome": [40.0, 50.0, last], "is_council": [False, False, True]}
)
row = {"label": "Waste: recycling rate", "period": "2023-24", "unit_of_cost_per_unit": "£ per household",
       "outcome_polarity": "higher", "group_median_cost": 2.0, "group_median_outcome": 50.0}
with kept_on_disk(store):
    trends, dots = TrendCharts(), ComparatorDotPlots("Darlington")
    uris = [trends.render([1, 2, 3, last], [2, 2, 2, 2]), dots.render([10.0, 20.0], last, 15.0)]
    uris.append(scatter_png(points, row, "Darlington"))
    trends.close(), dots.close()
print(json.dumps({"uris": uris, "matplotlib": "matplotlib" in sys.modules}))
"""


def draw_in_a_new_process(store, last: float) -> dict:
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", DRAW_IN_A_NEW_PROCESS, str(store), str(last)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_charts_kept_on_disk_are_read_back_by_a_later_process_which_draws_only_what_changed(tmp_path):
    """A report rebuilt in a new process (a run the daemon launched) takes the charts an earlier
    build drew from the file beside the warehouse, the same bytes, without loading matplotlib; a
    chart whose data changed is drawn."""
    store = tmp_path / "warehouse" / "charts.sqlite"
    first = draw_in_a_new_process(store, 60.0)
    assert first["matplotlib"] and all(uri.startswith("data:image/png;base64,") for uri in first["uris"])
    again = draw_in_a_new_process(store, 60.0)
    assert again == {"uris": first["uris"], "matplotlib": False}
    changed = draw_in_a_new_process(store, 70.0)
    assert changed["matplotlib"]
    assert all(new != old for new, old in zip(changed["uris"], first["uris"]))


def test_a_chart_drawn_by_other_code_is_not_read_back_and_the_least_used_are_dropped(tmp_path, monkeypatch):
    from perf_pipeline.lib import charts

    path = tmp_path / "charts.sqlite"
    store = charts.ChartStore(path, limit=4)
    png = [charts.PNG_URI + base64.b64encode(f"chart {n}".encode()).decode() for n in range(4)]
    for n in range(3):
        store.put("trend", (n,), png[n])
    store.put("trend", ("none",), None)  # a trend with no value is no chart, and kept as such
    store.close()
    store = charts.ChartStore(path, limit=4)
    assert store.get("trend", (0,)) == png[0]  # used again: kept
    assert store.get("trend", ("none",)) is None
    assert store.get("dot plot", (0,)) is charts.ChartStore.MISSING  # another kind of chart
    store.put("trend", (3,), png[3])
    store.close()
    store = charts.ChartStore(path, limit=4)
    kept = {n for n in range(4) if store.get("trend", (n,)) is not charts.ChartStore.MISSING}
    assert len(kept) == 3 and {0, 3} <= kept  # one of the two not used since was dropped
    monkeypatch.setattr(charts, "drawing_version", lambda: "other drawing code")
    assert store.get("trend", (0,)) is charts.ChartStore.MISSING
    store.close()


def test_a_damaged_file_of_kept_charts_never_stops_a_report(tmp_path):
    """The charts are drawn, and the damaged file is replaced by one that keeps them."""
    store = tmp_path / "warehouse" / "charts.sqlite"
    store.parent.mkdir()
    store.write_bytes(b"not a database, " * 100)
    first = draw_in_a_new_process(store, 60.0)
    assert first["matplotlib"] and all(uri.startswith("data:image/png;base64,") for uri in first["uris"])
    assert draw_in_a_new_process(store, 60.0) == {"uris": first["uris"], "matplotlib": False}
