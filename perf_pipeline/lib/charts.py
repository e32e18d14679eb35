"""Charts for the reports, as PNG data URIs so the HTML stays one self-contained file.

matplotlib is imported here, inside the functions, never when the definitions load; one figure
is reused for all the small multiples and closed at the end.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np

TREND_SIZE = (1.9, 0.55)  # inches: a small multiple beside each indicator's row
DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _data_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, transparent=False, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _present(values) -> list[int]:
    return [i for i, v in enumerate(values) if v is not None and not (isinstance(v, float) and math.isnan(v))]


class TrendCharts:
    """Small multiples: the last eight quarters of one indicator with its target as a dashed line.

    One figure and its lines are made once and only their data change from chart to chart:
    a report draws hundreds, and redrawing the axes for each would be most of its cost.
    """

    def __init__(self):
        plt = _pyplot()
        self._plt = plt
        self._fig, self._ax = plt.subplots(figsize=TREND_SIZE)
        self._fig.subplots_adjust(left=0.02, right=0.98, top=0.92, bottom=0.08)
        ax = self._ax
        (self._values,) = ax.plot([], [], color="#1f4e79", linewidth=1.6, marker="o", markersize=2.5)
        (self._latest,) = ax.plot([], [], color="#1f4e79", marker="o", markersize=4.5)
        (self._target,) = ax.step([], [], where="mid", color="#888888", linewidth=1, linestyle="--")
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)

    def render(self, values: list, targets: list) -> str | None:
        shown = _present(values)
        if not shown:
            return None
        target_points = _present(targets)
        self._values.set_data(shown, [values[i] for i in shown])
        self._latest.set_data([shown[-1]], [values[shown[-1]]])
        self._target.set_data(target_points, [targets[i] for i in target_points])
        ax = self._ax
        ax.relim()
        ax.autoscale_view()
        ax.set_xlim(-0.5, len(values) - 0.5)
        return _data_uri(self._fig)

    def close(self) -> None:
        self._plt.close(self._fig)


class ComparatorDotPlots:
    """The council (highlighted) among its comparators, with the group median marked.

    Like the trends, one figure is reused and only its points move from chart to chart.
    """

    def __init__(self, council_label: str):
        plt = _pyplot()
        self._plt = plt
        self._fig, ax = plt.subplots(figsize=(5.2, 0.9))
        self._ax = ax
        self._others = ax.scatter([], [], s=28, color="#9e9e9e", alpha=0.8, label="Comparators", zorder=2)
        self._median = ax.axvline(0, color="#444444", linestyle="--", linewidth=1, label="Median", zorder=1)
        self._council = ax.scatter([], [], s=90, color="#1f4e79", edgecolor="white", label=council_label, zorder=3)
        ax.set_yticks([])
        ax.set_ylim(-1, 1)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.55), ncol=3, fontsize=7, frameon=False)
        self._fig.subplots_adjust(left=0.03, right=0.97, top=0.62, bottom=0.3)

    def render(self, others: list[float], council_value: float, median: float) -> str:
        self._others.set_offsets([[x, 0] for x in others] or np.empty((0, 2)))
        self._council.set_offsets([[council_value, 0]])
        self._median.set_xdata([median, median])
        points = [*others, council_value, median]
        low, high = min(points), max(points)
        pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
        self._ax.set_xlim(low - pad, high + pad)
        return _data_uri(self._fig)

    def close(self) -> None:
        self._plt.close(self._fig)
