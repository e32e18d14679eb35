"""The app's charts as inline SVG drawn by matplotlib (imported here, on first use).

matplotlib's pyplot keeps global state, so charts are drawn on plain `Figure` objects, one at a
time under a lock: pages are served by several threads. Each chart comes with its figures in a
table on the page, so nothing is shown by the picture alone.

Charts are drawn when the snapshot is published (`app/ahead.py`, through `drawn`) and found by
`chart_key`: what a chart shows (its kind and the arguments of its function in `DRAW`) and how it
is drawn (this module's source, the scatter's and matplotlib's version), so a changed drawing is
never mistaken for the old one.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import re
import threading
import zlib
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

_LOCK = threading.Lock()
_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
INK, TARGET, OTHERS, MEDIAN = "#1f4e79", "#505050", "#767676", "#303030"


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "perf-pipeline"  # stable ids: the same chart, the same SVG
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: smaller, and searchable in tests
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=72, facecolor="white")


def _svg(fig, label: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _PROLOG.sub("", buffer.getvalue(), count=1)
    # The picture is described by the label; the figures are in the table beside it.
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(label)}" focusable="false" ', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


class _Trend:
    """One figure for every trend chart: made once, only its lines and scales change per chart
    (a new figure each time costs nearly as much again as drawing it)."""

    def __init__(self):
        self.fig = _figure(9.5, 2.6)
        self.ax = ax = self.fig.add_axes((0.07, 0.14, 0.91, 0.8))
        (self.target,) = ax.step(
            [], [], where="mid", color=TARGET, linestyle="--", linewidth=1.2, label="Target"
        )
        (self.value,) = ax.plot([], [], color=INK, marker="o", linewidth=2, markersize=4, label="Value")
        ax.tick_params(axis="y", labelsize=8)
        ax.tick_params(axis="x", labelsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

    def draw(self, labels: list[str], values: list, targets: list, label: str) -> str:
        xs = range(len(labels))
        lines = []
        for line, series in ((self.target, targets), (self.value, values)):
            points = [(x, v) for x, v in zip(xs, series) if v is not None]
            line.set_data([p[0] for p in points], [p[1] for p in points])
            if points:
                lines.append(line)
        ax = self.ax
        ax.relim()
        ax.autoscale_view()
        ax.set_xlim(-0.5, len(labels) - 0.5)
        # Beyond eight quarters, one label a year (at Q1) keeps the labels legible.
        ticks = [x for x in xs if len(labels) <= 8 or labels[x].endswith("Q1")] or [0]
        ax.set_xticks(ticks, [labels[x] for x in ticks])
        legend = ax.legend(handles=lines, fontsize=8, frameon=False, loc="best")
        try:
            return _svg(self.fig, label)
        finally:
            legend.remove()


_trend: _Trend | None = None


def trend_svg(labels: list[str], values: list[float | None], targets: list[float | None], label: str) -> str:
    """An indicator's value quarter by quarter, with its target as a dashed step line."""
    global _trend
    with _LOCK:
        if _trend is None:
            _trend = _Trend()
        return _trend.draw(labels, values, targets, label)


def dot_plot_svg(others: list[float], council: float, median: float, council_name: str, label: str) -> str:
    """The council among its comparators (grey), the group median dashed."""
    with _LOCK:
        fig = _figure(6.4, 1.3)
        ax = fig.add_axes((0.04, 0.32, 0.92, 0.4))
        ax.scatter(others, [0] * len(others), s=40, color=OTHERS, label="Comparators", zorder=2)
        ax.axvline(median, color=MEDIAN, linestyle="--", linewidth=1, label="Median", zorder=1)
        ax.scatter(
            [council], [0], s=110, color=INK, edgecolor="white", marker="D", label=council_name, zorder=3
        )
        points = [*others, council, median]
        low, high = min(points), max(points)
        pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
        ax.set_xlim(low - pad, high + pad)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=8)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 2.3), ncol=3, fontsize=8, frameon=False)
        return _svg(fig, label)


def scatter_svg(points: list[dict], row: dict, council_name: str, label: str) -> str:
    """A value-for-money pair's scatter (`lib/value_for_money_view.draw_scatter`), as inline SVG."""
    import pandas as pd

    from perf_pipeline.lib.value_for_money_view import SCATTER_SIZE, draw_scatter

    with _LOCK:
        fig = _figure(*SCATTER_SIZE)
        draw_scatter(fig, pd.DataFrame(points), row, council_name)
        return _svg(fig, label)


DRAW = {"trend": trend_svg, "dots": dot_plot_svg, "scatter": scatter_svg}


def _drawing() -> str:
    # The scatter's module found, not imported: a worker drawing trends has no need of pandas.
    scatter = find_spec("perf_pipeline.lib.value_for_money_view").origin
    sources = b"".join(Path(m).read_bytes() for m in (__file__, scatter))
    return hashlib.sha256(sources + version("matplotlib").encode()).hexdigest()


DRAWING = _drawing()


def chart_key(kind: str, args: tuple) -> str:
    """The chart `DRAW[kind](*args)` draws, named by what it shows and how it is drawn."""
    text = json.dumps([DRAWING, kind, args], default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def pack(svg: str) -> bytes:
    """A chart as the snapshot keeps it: SVG is text that compresses about fourfold."""
    return zlib.compress(svg.encode(), 6)


def unpack(packed: bytes) -> str:
    return zlib.decompress(packed).decode()


# Below this many charts a worker, starting the workers (a fresh interpreter each, importing
# matplotlib: about 0.8 s of CPU) costs more than drawing them here (measured: README, "Speed").
PER_WORKER = 100


def drawn(wanted: dict[str, tuple[str, tuple]]) -> dict[str, bytes]:
    """Each chart `DRAW[kind](*args)` of `wanted` (`kind, args` by key), packed, by key: drawn
    here one at a time, or by worker processes on the cores this process may use when there are
    enough charts to pay for starting them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(cores, len(wanted) // PER_WORKER)
    if workers < 2:
        return {key: _packed(chart) for key, chart in wanted.items()}
    return in_workers(wanted, workers)


def in_workers(wanted: dict[str, tuple[str, tuple]], workers: int) -> dict[str, bytes]:
    """`drawn`'s charts drawn by `workers` processes: the same bytes as drawn here (a chart's SVG
    depends on its arguments alone; its ids are salted with a constant). A chart that fails
    raises its own error here, and those not yet drawn are cancelled."""
    # Spawned, not forked: the caller may be a Dagster run with threads and open database
    # connections. A worker imports this module, matplotlib (pandas only to draw a scatter) and,
    # as any spawned process, the main module (`perf-pipeline`'s imports only its command line).
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        # A few chunks a worker: few messages, and the last chunks short enough to end together.
        chunk = max(1, len(wanted) // (workers * 8))
        return dict(zip(wanted, pool.map(_packed, wanted.values(), chunksize=chunk)))
    finally:
        pool.shutdown(cancel_futures=True)


def _packed(chart: tuple[str, tuple]) -> bytes:
    kind, args = chart
    return pack(DRAW[kind](*args))
