"""Charts for the reports, as data URIs so the HTML stays one self-contained file.

The trends beside each indicator are SVG written here (`trend_chart`): hundreds a report, each a
few lines and dots. The comparator dot plots (and the value for money scatters) are PNG drawn by
matplotlib, imported inside the functions, never when the definitions load, and only when a chart
has to be drawn; one figure is reused for all of them and closed at the end.

A picture drawn by matplotlib is a pure function of its data and of the code that draws it. Those
are kept in the process (`kept`) and, while a report is written, in a file beside the warehouse
(`kept_on_disk`): a quarter's report rebuilt after a correction, in a new process (a run the
daemon launched, `perf-pipeline run --quarter`), draws only the charts whose data changed.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import itertools
import logging
import math
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np

DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _canvas_uri(canvas) -> str:
    """The canvas as it stands (after blitting), as a PNG data URI: no redraw of the figure. zlib's
    fastest level: the same pixels in half the time of its default, in a file about 5% larger."""
    from PIL import Image

    buffer = io.BytesIO()
    width, height = canvas.get_width_height(physical=True)
    Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB").save(
        buffer, format="png", compress_level=1
    )
    return PNG_URI + base64.b64encode(buffer.getvalue()).decode("ascii")


# The charts kept on disk: at most this many, those used last (about 3 KB each).
KEPT_ON_DISK = 20_000
PNG_URI = "data:image/png;base64,"
SVG_URI = "data:image/svg+xml;base64,"
# The modules whose code draws the charts: a change to either draws every chart afresh.
DRAWN_BY = ("charts.py", "value_for_money_view.py")


@functools.cache
def drawing_version() -> str:
    """What a kept chart was drawn with: the drawing code and the versions of matplotlib and
    Pillow. A chart kept on disk is used only if drawn with the same."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for name in DRAWN_BY:
        digest.update(Path(__file__).with_name(name).read_bytes())
    digest.update(f"{version('matplotlib')} {version('pillow')}".encode())
    return digest.hexdigest()


class ChartStore:
    """Charts drawn before, in one SQLite file, as PNG bytes: known by their kind and data and the
    drawing version, hashed, so a key's chart never changes. Every chart a report shows is written
    (if new) and marked as used in one transaction when the store is closed; the least recently
    used beyond `KEPT_ON_DISK` are then dropped."""

    MISSING = object()

    def __init__(self, path: Path, limit: int = KEPT_ON_DISK):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(path, timeout=60)
        self._con.execute("create table if not exists drawn (key text primary key, png blob, used real)")
        self._limit = limit
        self._shown: dict[str, str | None] = {}  # key -> data URI, of charts not read from the file
        self._read: set[str] = set()

    @staticmethod
    def key(kind: str, data: Hashable) -> str:
        return hashlib.sha256(f"{drawing_version()}|{kind}|{data!r}".encode()).hexdigest()

    def get(self, kind: str, data: Hashable):
        """The chart's data URI, None for no chart, or `MISSING` if it is not kept."""
        key = self.key(kind, data)
        row = self._con.execute("select png from drawn where key = ?", (key,)).fetchone()
        if row is None:
            return self.MISSING
        self._read.add(key)
        return None if row[0] is None else PNG_URI + base64.b64encode(row[0]).decode("ascii")

    def put(self, kind: str, data: Hashable, uri: str | None) -> None:
        """A chart shown that was not read from the file: drawn, or kept in the process."""
        if uri is None or uri.startswith(PNG_URI):
            self._shown[self.key(kind, data)] = uri

    def close(self) -> None:
        now = time.time()
        try:
            with self._con:  # one transaction
                self._con.executemany(
                    "insert or ignore into drawn values (?, ?, ?)",
                    [
                        (key, uri and base64.b64decode(uri.removeprefix(PNG_URI)), now)
                        for key, uri in self._shown.items()
                    ],
                )
                self._con.executemany(
                    "update drawn set used = ? where key = ?",
                    [(now, k) for k in self._read | self._shown.keys()],
                )
                (count,) = self._con.execute("select count(*) from drawn").fetchone()
                if count > self._limit:
                    self._con.execute(
                        "delete from drawn where key not in (select key from drawn order by used desc limit ?)",
                        (self._limit,),
                    )
        finally:
            self._con.close()


_store: ChartStore | None = None


def _open_store(path: Path) -> ChartStore | None:
    """The store in `path`; one that cannot be read (a damaged file) is replaced by an empty one,
    and if that fails too, charts are drawn with none: a cache never stops a report."""
    for attempt in (1, 2):
        try:
            return ChartStore(path)
        except sqlite3.Error as error:
            logging.getLogger(__name__).warning("The charts kept in %s cannot be read (%s)", path, error)
            if attempt == 1:
                path.unlink(missing_ok=True)
    return None


@contextlib.contextmanager
def kept_on_disk(path: Path) -> Iterator[ChartStore | None]:
    """While in this block, charts not drawn in this process are looked for in the file `path`, and
    every chart shown is written to it (with when it was last used) when the block ends."""
    global _store
    store, previous = _open_store(path), _store
    _store = store
    try:
        yield store
    finally:
        _store = previous
        if store is not None:
            try:
                store.close()
            except sqlite3.Error as error:
                logging.getLogger(__name__).warning(
                    "The charts drawn could not be kept in %s (%s)", path, error
                )


def kept(
    drawn: OrderedDict, kind: str, key: Hashable, draw: Callable[[], str | None], size: int = 2048
) -> str | None:
    """The chart of `kind` that `key` names: from `drawn` if it was drawn in this process, else from
    the file charts are kept in (`kept_on_disk`), else `draw()`; kept in both.

    Most of a quarter's pictures recur: published comparator data changes once a year, and a
    quarter is rebuilt when a later return revises it or a correction reaches it. The most recent
    `size` charts are kept in the process (a few KB each)."""
    if key in drawn:
        drawn.move_to_end(key)
        if _store is not None:
            _store.put(kind, key, drawn[key])  # kept on disk too, as used now
        return drawn[key]
    uri = _store.get(kind, key) if _store is not None else ChartStore.MISSING
    if uri is ChartStore.MISSING:
        uri = draw()
        if _store is not None:
            _store.put(kind, key, uri)
    drawn[key] = uri
    while len(drawn) > size:
        drawn.popitem(last=False)
    return uri


def _present(values) -> list[int]:
    return [i for i, v in enumerate(values) if v is not None and not (isinstance(v, float) and math.isnan(v))]


# A trend's frame, in CSS pixels (`img.trend` in base.css.j2), its plotting area as fractions of
# the width and height, and its colours: those of the PNG matplotlib drew before.
TREND_WIDTH, TREND_HEIGHT = 150, 43
TREND_LEFT, TREND_RIGHT, TREND_TOP, TREND_BOTTOM = 0.02, 0.98, 0.08, 0.92
NAVY, GREY = "#1f4e79", "#888888"


def trend_chart(values: list, targets: list) -> str | None:
    """Small multiple: the last quarters of one indicator, its latest quarter marked, with its target
    as a dashed step line; an SVG data URI, or None when no quarter has a value.

    Each is a few hundred bytes of SVG: its lines and dots are written directly, so it stays sharp
    at any zoom and in print, and costs a few hundredths of a millisecond. A report shows hundreds:
    drawn as pictures by matplotlib, they were a tenth of a backfill's time. The layout follows the
    pictures they replace: the same size, colours, margins and scale (the data's range, 5% spare
    above and below, the quarters evenly spaced).
    """
    shown = _present(values)
    if not shown:
        return None
    targeted = _present(targets)
    data = [float(values[i]) for i in shown] + [float(targets[i]) for i in targeted]
    scale = max(abs(v) for v in data) or 1.0  # figures over it lie in [-1, 1]: no range overflows
    low, high = min(data) / scale, max(data) / scale
    spare = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    low, high = low - spare, high + spare
    left, width = TREND_LEFT * TREND_WIDTH, (TREND_RIGHT - TREND_LEFT) * TREND_WIDTH
    top, height = TREND_TOP * TREND_HEIGHT, (TREND_BOTTOM - TREND_TOP) * TREND_HEIGHT

    def x(i: float) -> float:
        return left + (i + 0.5) / len(values) * width

    def y(v) -> float:
        return top + (high - float(v) / scale) / (high - low) * height

    points = [(x(i), y(values[i])) for i in shown]
    frame = f'width="{TREND_WIDTH}" height="{TREND_HEIGHT}" viewBox="0 0 {TREND_WIDTH} {TREND_HEIGHT}"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {frame}><rect width="100%" height="100%" fill="white"/>'
    ]
    if targeted:  # a step at each midpoint between quarters, as matplotlib's step(where="mid")
        steps = [f"M{x(targeted[0]):.2f} {y(targets[targeted[0]]):.2f}"]
        for before, after in itertools.pairwise(targeted):
            steps.append(f"H{x((before + after) / 2):.2f}V{y(targets[after]):.2f}H{x(after):.2f}")
        parts.append(
            f'<path d="{"".join(steps)}" fill="none" stroke="{GREY}" stroke-width="1.1" '
            'stroke-dasharray="4 1.8"/>'
        )
    line = " ".join(f"{px:.2f},{py:.2f}" for px, py in points)
    parts.append(
        f'<polyline points="{line}" fill="none" stroke="{NAVY}" stroke-width="1.75" stroke-linejoin="round"/>'
    )
    parts.extend(f'<circle cx="{px:.2f}" cy="{py:.2f}" r="1.4" fill="{NAVY}"/>' for px, py in points)
    parts.append(f'<circle cx="{points[-1][0]:.2f}" cy="{points[-1][1]:.2f}" r="2.5" fill="{NAVY}"/>')
    parts.append("</svg>")
    return SVG_URI + base64.b64encode("".join(parts).encode("ascii")).decode("ascii")


class ComparatorDotPlots:
    """The council (highlighted) among its comparators, with the group median marked.

    Like the trends, one figure is reused: its legend and axis line are drawn once, and each chart
    draws only its points, median and the x axis's scale on that background. Published comparator
    data changes once a year, so the same chart recurs from quarter to quarter: charts already
    drawn in this process are not drawn again (`kept`).
    """

    _drawn: ClassVar[OrderedDict] = OrderedDict()

    def __init__(self, council_label: str):
        self._label = council_label
        self._fig = None  # made when the first chart not kept has to be drawn

    def _make(self) -> None:
        council_label = self._label
        plt = _pyplot()
        self._plt = plt
        self._fig, ax = plt.subplots(figsize=(5.2, 0.9), dpi=DPI, facecolor="white")
        self._ax = ax
        self._others = ax.scatter([], [], s=28, color="#9e9e9e", alpha=0.8, label="Comparators", zorder=2)
        self._median = ax.axvline(0, color="#444444", linestyle="--", linewidth=1, label="Median", zorder=1)
        self._council = ax.scatter(
            [], [], s=90, color="#1f4e79", edgecolor="white", label=council_label, zorder=3
        )
        ax.set_yticks([])
        ax.set_ylim(-1, 1)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="x", labelsize=7)
        # The axis has no label: fixing where it would go spares placing it anew around the tick
        # labels in every chart (about a tenth of the time to draw one); an empty label draws nothing.
        ax.xaxis.set_label_coords(0.5, 0)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.55), ncol=3, fontsize=7, frameon=False)
        self._fig.subplots_adjust(left=0.03, right=0.97, top=0.62, bottom=0.3)
        self._moving = (ax.xaxis, self._median, self._others, self._council)
        for artist in self._moving:
            artist.set_animated(True)
        self._fig.canvas.draw()
        self._background = self._fig.canvas.copy_from_bbox(self._fig.bbox)

    def render(self, others: list[float], council_value: float, median: float) -> str:
        key = (self._label, tuple(others), council_value, median)
        return kept(self._drawn, "dot plot", key, lambda: self._draw(others, council_value, median))

    def _draw(self, others: list[float], council_value: float, median: float) -> str:
        if self._fig is None:
            self._make()
        self._others.set_offsets([[x, 0] for x in others] or np.empty((0, 2)))
        self._council.set_offsets([[council_value, 0]])
        self._median.set_xdata([median, median])
        points = [*others, council_value, median]
        low, high = min(points), max(points)
        pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
        self._ax.set_xlim(low - pad, high + pad)
        canvas = self._fig.canvas
        canvas.restore_region(self._background)
        for artist in self._moving:
            self._ax.draw_artist(artist)
        return _canvas_uri(canvas)

    def close(self) -> None:
        if self._fig is not None:
            self._plt.close(self._fig)
