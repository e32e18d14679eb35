"""The report's charts: trends written as SVG, dot plots drawn by blitting on one reused figure, and
each chart is its own data."""

import base64
import io
import math
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from perf_pipeline.lib.charts import SVG_URI, ComparatorDotPlots, trend_chart

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


SVG = "{http://www.w3.org/2000/svg}"


def drawing(uri: str) -> ET.Element:
    assert uri.startswith(SVG_URI)
    return ET.fromstring(base64.b64decode(uri.removeprefix(SVG_URI)))


def dots(svg: ET.Element) -> list[tuple[float, float]]:
    return [(float(c.get("cx")), float(c.get("cy"))) for c in svg.iter(f"{SVG}circle")]


def test_a_trend_is_an_svg_of_the_set_size_showing_only_its_own_quarters():
    full = drawing(trend_chart([1, 2, 3, 4, 5, 6, 7, 8], [4] * 8))
    assert (full.get("width"), full.get("height")) == ("150", "43")  # `img.trend` in the stylesheet
    across = sorted({x for x, _ in dots(full)})
    assert len(across) == 8 and across[0] < 150 * 0.1 and across[-1] > 150 * 0.9
    heights = [y for _, y in dots(full)][:8]
    assert heights == sorted(heights, reverse=True)  # rising values are drawn higher up the chart
    # a chart with only the last two quarters reported: its dots are at the right, nothing earlier
    short = drawing(trend_chart([None] * 6 + [5, 6], [None] * 8))
    assert all(x > 150 * 0.7 for x, _ in dots(short))
    assert short.find(f"{SVG}path") is None  # no target, no dashed line


def test_a_trend_with_no_value_is_no_chart():
    assert trend_chart([None] * 8, [1] * 8) is None
    assert trend_chart([float("nan")] * 4, [1] * 4) is None


def test_the_same_trend_is_the_same_chart_and_another_trend_its_own():
    data = ([3, 1, 4, 1, 5, 9, 2, 6], [4] * 8)
    assert trend_chart(*data) == trend_chart(*data)
    assert trend_chart([3, 1, 4, 1, 5, 9, 2, 7], [4] * 8) != trend_chart(*data)


figures = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=False), st.integers(-(10**12), 10**12)
)


@given(
    st.lists(figures, min_size=1, max_size=12).flatmap(
        lambda values: st.tuples(
            st.just(values), st.lists(figures, min_size=len(values), max_size=len(values))
        )
    )
)
def test_any_figures_give_a_well_formed_trend_inside_its_frame_or_none(series):
    """Whatever a quarter's figures are (none, not a number, equal, vast or tiny), the trend is
    well-formed SVG with every dot and line inside the chart, or no chart when no figure is there."""
    values, targets = series
    uri = trend_chart(values, targets)
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not present:
        assert uri is None
        return
    svg = drawing(uri)
    placed = dots(svg)
    assert len(placed) == len(present) + 1  # a dot a quarter, and the latest marked again
    for x, y in placed:
        assert 0 <= x <= 150 and 0 <= y <= 43
    for element in svg.iter():
        for name in ("points", "d"):
            assert "nan" not in (element.get(name) or "").lower()
            assert "inf" not in (element.get(name) or "").lower()


def test_the_same_comparison_draws_the_same_dot_plot_once_and_another_council_its_own():
    first = ComparatorDotPlots("Darlington")
    data = ([10.0, 20.0, 30.0], 25.0, 20.0)
    drawn = first.render(*data)
    assert ComparatorDotPlots("Darlington").render(*data) == drawn  # kept, not drawn again
    assert ComparatorDotPlots("Hartlepool").render(*data) != drawn  # the legend names the council
    moved = picture(first.render([10.0, 20.0, 30.0], 12.0, 20.0))
    assert navy_columns(moved) and navy_columns(moved) != navy_columns(picture(drawn))
    first.close()


DRAW_IN_A_NEW_PROCESS = """
import json, sys
from pathlib import Path
import pandas as pd
from perf_pipeline.lib.charts import ComparatorDotPlots, kept_on_disk, trend_chart
from perf_pipeline.lib.value_for_money_view import scatter_png

store, last = Path(sys.argv[1]), float(sys.argv[2])
points = pd.DataFrame(
    {"cost_per_unit": [1.0, 2.0, 3.0], "outcome": [40.0, 50.0, last], "is_council": [False, False, True]}
)
row = {"label": "Waste: recycling rate", "period": "2023-24", "unit_of_cost_per_unit": "£ per household",
       "outcome_polarity": "higher", "group_median_cost": 2.0, "group_median_outcome": 50.0}
with kept_on_disk(store):
    dots = ComparatorDotPlots("Darlington")
    uris = [trend_chart([1, 2, 3, last], [2, 2, 2, 2]), dots.render([10.0, 20.0], last, 15.0)]
    uris.append(scatter_png(points, row, "Darlington"))
    dots.close()
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
    trend, *pictures = first["uris"]
    assert trend.startswith(SVG_URI)  # written, not drawn
    assert first["matplotlib"] and all(uri.startswith("data:image/png;base64,") for uri in pictures)
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
    trend, *pictures = first["uris"]
    assert trend.startswith(SVG_URI)  # written, not drawn
    assert first["matplotlib"] and all(uri.startswith("data:image/png;base64,") for uri in pictures)
    assert draw_in_a_new_process(store, 60.0) == {"uris": first["uris"], "matplotlib": False}
