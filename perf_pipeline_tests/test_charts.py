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
