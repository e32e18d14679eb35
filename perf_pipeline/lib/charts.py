"""Charts for the reports, as PNG data URIs so the HTML stays one self-contained file.

matplotlib is imported here, inside the functions, never when the definitions load; one figure
is reused for all the small multiples and closed at the end.
"""

from __future__ import annotations

import base64
import io
import math

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
    """Small multiples: the last eight quarters of one indicator with its target as a dashed line."""

    def __init__(self):
        plt = _pyplot()
        self._plt = plt
        self._fig, self._ax = plt.subplots(figsize=TREND_SIZE)
        self._fig.subplots_adjust(left=0.02, right=0.98, top=0.92, bottom=0.08)

    def render(self, values: list, targets: list) -> str | None:
        ax = self._ax
        ax.clear()
        shown = _present(values)
        if not shown:
            return None
        ax.plot(shown, [values[i] for i in shown], color="#1f4e79", linewidth=1.6, marker="o", markersize=2.5)
        ax.plot(shown[-1], values[shown[-1]], marker="o", markersize=4.5, color="#1f4e79")
        target_points = _present(targets)
        if target_points:
            ax.step(target_points, [targets[i] for i in target_points], where="mid", color="#888888",
                    linewidth=1, linestyle="--")  # fmt: skip
        ax.set_xlim(-0.5, len(values) - 0.5)
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        return _data_uri(self._fig)

    def close(self) -> None:
        self._plt.close(self._fig)


def comparator_dot_plot(others: list[float], council_value: float, median: float, label: str) -> str:
    """The council (highlighted) among its comparators, with the group median marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 0.9))
    try:
        ax.scatter(others, [0] * len(others), s=28, color="#9e9e9e", alpha=0.8, label="Comparators", zorder=2)
        ax.axvline(median, color="#444444", linestyle="--", linewidth=1, label="Median", zorder=1)
        ax.scatter([council_value], [0], s=90, color="#1f4e79", edgecolor="white", label=label, zorder=3)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.55), ncol=3, fontsize=7, frameon=False)
        fig.subplots_adjust(left=0.03, right=0.97, top=0.62, bottom=0.3)
        return _data_uri(fig)
    finally:
        plt.close(fig)
