"""The audit report's summary charts as shapes (shapes.py), in points from the top left of
their area: pages and items by status (values in force), the confidence of the items read,
and the print scale of the pages with the tolerated band shaded. audit_pdf draws them;
this module imports nothing heavy."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from ..form.layout import PRINT_SCALE_TOLERANCE
from ..records import PAGE_STATUSES
from .shapes import Box, Label, Line, Plot, Shape, nice_ticks

ITEM_STATUSES = ("ok", "uncertain", "multiple", "missing")  # in the order they are listed
BAR_COLOUR = "#4a78b5"
TOLERATED_COLOUR = "#2a9a2a"
AXIS_COLOUR = "#000000"
TITLE_PT = 8.5
TICK_LABEL_PT = 7.0
AXIS_LABEL_PT = 7.5
TICK_PT = 3.5
COLUMN_GAP_PT = 40.0
ROW_GAP_PT = 14.0
TITLE_ROOM_PT = 14.0  # above a plot, for its title
BELOW_PT = 26.0  # under a plot: tick labels and the axis's name
BAR_LEFT_PT = 52.0  # left of a bar plot: the status names
HIST_LEFT_PT = 30.0  # left of a histogram: its counts and "count"


def summary_charts(pages: Counter, items: Counter, confidences: Sequence[float],
                   scales: Sequence[float], colours: Mapping[str, str], width_pt: float,
                   height_pt: float) -> list[Shape]:
    """Four panels in two rows across `width_pt` x `height_pt`; `colours` by status."""
    panel_w = (width_pt - COLUMN_GAP_PT) / 2
    panel_h = (height_pt - ROW_GAP_PT) / 2
    shapes: list[Shape] = []
    for column, (counter, order, title) in enumerate((
            (pages, PAGE_STATUSES, "Pages by status (values in force)"),
            (items, ITEM_STATUSES, "Items by status (values in force)"))):
        shapes += _status_bars(column * (panel_w + COLUMN_GAP_PT), 0, panel_w, panel_h,
                               [(s, counter[s], colours[s]) for s in order], title)
    top = panel_h + ROW_GAP_PT
    edges = [b / 10 for b in range(11)]
    shapes += _histogram(0, top, panel_w, panel_h, confidences, edges, (0.0, 1.0),
                         f"Confidence of the items read (n = {len(confidences)})",
                         "confidence")
    low, high = 1 - PRINT_SCALE_TOLERANCE, 1 + PRINT_SCALE_TOLERANCE
    span = (min([*scales, low]) - 0.01, max([*scales, high]) + 0.01)
    bins = max(5, min(30, len(scales)))
    edges = [span[0] + (span[1] - span[0]) * b / bins for b in range(bins + 1)]
    shapes += _histogram(panel_w + COLUMN_GAP_PT, top, panel_w, panel_h, scales, edges, span,
                         f"Print scale (n = {len(scales)}; shaded: within "
                         f"{PRINT_SCALE_TOLERANCE:.0%})", "printed line length / 100 mm",
                         shaded=(low, high))
    return shapes


def _status_bars(left: float, top: float, width: float, height: float,
                 bars: Sequence[tuple[str, int, str]], title: str) -> list[Shape]:
    """Horizontal bars, one per status from the top, each with its count at its end."""
    most = max([count for _, count, _ in bars] + [1])
    plot = Plot(left + BAR_LEFT_PT, top + TITLE_ROOM_PT, width - BAR_LEFT_PT,
                 height - TITLE_ROOM_PT - BELOW_PT + 10, (0.0, most * 1.15))
    ticks = [t for t in nice_ticks(most * 1.15, 5) if t <= most * 1.15]
    shapes = _x_axis(plot, [(float(t), f"{t}") for t in ticks], None)
    slot = plot.height / len(bars)
    for n, (name, count, colour) in enumerate(bars):
        y = plot.top + slot * n + slot * 0.1
        middle = y + slot * 0.4 + TICK_LABEL_PT * 0.36
        shapes += [Box(plot.left, y, plot.x(count) - plot.left, slot * 0.8, colour),
                   Label(plot.left - TICK_PT - 2, middle, name, TICK_LABEL_PT, anchor="end"),
                   Label(plot.x(count) + 2, middle, f"{count}", TICK_LABEL_PT)]
    shapes.append(Line(((plot.left, plot.top), (plot.left, plot.bottom)), AXIS_COLOUR, 0.8))
    shapes.append(Label(left + width / 2, top + TITLE_PT, title, TITLE_PT, anchor="middle"))
    return shapes


def _histogram(left: float, top: float, width: float, height: float,
               values: Sequence[float], edges: Sequence[float], span: tuple[float, float],
               title: str, x_label: str, shaded: tuple[float, float] | None = None
               ) -> list[Shape]:
    """Counts of `values` in the bins between `edges` (the last bin includes its right
    edge), with the count axis on the left."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        at = next((i for i in range(len(counts)) if value < edges[i + 1]), len(counts) - 1)
        if edges[0] <= value <= edges[-1]:
            counts[at] += 1
    y_ticks = nice_ticks(max(counts + [1]), 6)
    plot = Plot(left + HIST_LEFT_PT, top + TITLE_ROOM_PT, width - HIST_LEFT_PT,
                 height - TITLE_ROOM_PT - BELOW_PT, span)

    def y(count: float) -> float:
        return plot.bottom - count / y_ticks[-1] * plot.height

    shapes: list[Shape] = []
    if shaded is not None:
        shapes.append(Box(plot.x(shaded[0]), plot.top, plot.x(shaded[1]) - plot.x(shaded[0]),
                          plot.height, TOLERATED_COLOUR, 0.12))
    for count, (low, high) in zip(counts, zip(edges, edges[1:], strict=False), strict=True):
        if count:
            shapes.append(Box(plot.x(low) + 0.5, y(count), plot.x(high) - plot.x(low) - 1,
                              plot.bottom - y(count), BAR_COLOUR))
    if not values:
        shapes.append(Label(plot.left + plot.width / 2, plot.top + plot.height / 2,
                            "no page with a known resolution" if shaded else "none read",
                            8, anchor="middle"))
    shapes += _x_axis(plot, _decimal_ticks(span), x_label)
    shapes.append(Line(((plot.left, plot.top), (plot.left, plot.bottom)), AXIS_COLOUR, 0.8))
    for count in y_ticks:
        shapes += [Line(((plot.left - TICK_PT, y(count)), (plot.left, y(count))),
                        AXIS_COLOUR, 0.8),
                   Label(plot.left - TICK_PT - 2, y(count) + TICK_LABEL_PT * 0.36,
                         f"{count}", TICK_LABEL_PT, anchor="end")]
    shapes.append(Label(left + 8, plot.top + plot.height / 2, "count", AXIS_LABEL_PT,
                        anchor="middle", rotated=True))
    shapes.append(Label(left + width / 2, top + TITLE_PT, title, TITLE_PT, anchor="middle"))
    return shapes


def _x_axis(plot: Plot, ticks: Sequence[tuple[float, str]], name: str | None
            ) -> list[Shape]:
    shapes: list[Shape] = [Line(((plot.left, plot.bottom), (plot.left + plot.width,
                                                           plot.bottom)), AXIS_COLOUR, 0.8)]
    for value, text in ticks:
        x = plot.x(value)
        shapes += [Line(((x, plot.bottom), (x, plot.bottom + TICK_PT)), AXIS_COLOUR, 0.8),
                   Label(x, plot.bottom + TICK_PT + 2 + TICK_LABEL_PT * 0.76, text,
                         TICK_LABEL_PT, anchor="middle")]
    if name:
        shapes.append(Label(plot.left + plot.width / 2, plot.bottom + TICK_PT + 20, name,
                            AXIS_LABEL_PT, anchor="middle"))
    return shapes


def _decimal_ticks(span: tuple[float, float], most: int = 6) -> list[tuple[float, str]]:
    """Ticks inside `span` at a step of 1, 2 or 5 times a power of ten, as few decimals as
    the step needs."""
    low, high = span
    power = 10.0 ** math.floor(math.log10((high - low) / most))
    step = next(power * f for f in (1, 2, 5, 10) if (high - low) / (power * f) <= most)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    first = math.ceil(low / step - 1e-9)
    return [(n * step, f"{n * step:.{decimals}f}")
            for n in range(first, math.floor(high / step + 1e-9) + 1)]
