"""The clinician report's charts, drawn with matplotlib (Agg backend; loaded only by the
`report` command): each measure's totals over sessions, with its cut-off or threshold lines,
the intake and the reliable-change band; and small multiples of its items.

Positions are given in inches on a figure, so the same drawing fills a region of a PDF page
or a figure of its own (an SVG or PNG in the HTML report).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402 - after choosing the backend
from matplotlib.figure import Figure  # noqa: E402

from .clinician import ClientReport, measure_lines  # noqa: E402
from .trajectory import Measure  # noqa: E402

COLOURS = {"outcome": "#1f5f9f", "alliance": "#2a7f45"}
LINE_COLOUR = "#c0392b"
BAND_COLOUR = "#9aa5b1"
TOTALS_H_IN = 2.1
ITEMS_H_IN = 1.0
TITLE_GAP_IN = 0.28
GAP_IN = 0.45
_OP_TEXT = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}  # the PDF's core fonts have no ≤
RC = {"font.size": 7, "axes.titlesize": 8, "axes.labelsize": 7, "xtick.labelsize": 6.5,
      "ytick.labelsize": 6.5, "legend.fontsize": 6, "axes.spines.top": False,
      "axes.spines.right": False, "svg.fonttype": "none", "svg.hashsalt": "srsform",
      # Every PDF srsform writes embeds its font (issue 15): DejaVu Sans, matplotlib's own,
      # as a subset TrueType font (type 42), so client codes and labels in any script it
      # covers print as written, never as the viewer's substitute.
      "pdf.use14corefonts": False, "pdf.fonttype": 42, "font.family": "sans-serif",
      "font.sans-serif": ["DejaVu Sans"]}


@contextmanager
def chart_settings() -> Iterator[None]:
    """The report's matplotlib settings, and no notes from its font lookup."""
    fonts = logging.getLogger("matplotlib.font_manager")
    level = fonts.level
    fonts.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context(RC):
            yield
    finally:
        fonts.setLevel(level)


def charts_height(report: ClientReport) -> float:
    """Inches the charts of one client take (totals in rows of two, then a row of items
    per measure)."""
    rows = math.ceil(len(report.panels()) / 2)
    return rows * (TOTALS_H_IN + TITLE_GAP_IN) + len(report.measures) * (
        ITEMS_H_IN + TITLE_GAP_IN)


def draw_charts(fig: Figure, report: ClientReport, left_in: float, top_in: float,
                width_in: float) -> float:
    """Draw one client's charts into `fig` from (left, top), in inches; returns the height
    used."""
    y = top_in
    panels = report.panels()
    for row in range(0, len(panels), 2):
        pair = panels[row:row + 2]
        width = (width_in - GAP_IN * (len(pair) - 1)) / len(pair) if len(pair) > 1 else (
            (width_in - GAP_IN) / 2)
        for i, panel in enumerate(pair):
            ax = _axes_at(fig, left_in + i * (width + GAP_IN), y + TITLE_GAP_IN, width,
                          TOTALS_H_IN - 0.28)
            if isinstance(panel, Measure):
                _totals_chart(ax, panel, report.sessions)
            else:
                _absent_chart(ax, *panel)
        y += TOTALS_H_IN + TITLE_GAP_IN
    for measure in report.measures:
        count = len(measure.template.items)
        gap = 0.28
        width = (width_in - gap * (count - 1)) / count
        for i in range(count):
            ax = _axes_at(fig, left_in + i * (width + gap), y + TITLE_GAP_IN, width,
                          ITEMS_H_IN - 0.22)
            _item_chart(ax, measure, i, report.sessions)
            if i == 0:
                ax.set_ylabel(f"{measure.label} item", labelpad=2)
        y += ITEMS_H_IN + TITLE_GAP_IN
    return y - top_in


def charts_svg(report: ClientReport, width_in: float = 7.4) -> str:
    """One client's charts as an SVG document (text kept as text), for the HTML report."""
    with chart_settings():
        height = charts_height(report) + 0.1
        fig = Figure(figsize=(width_in + 0.6, height))
        draw_charts(fig, report, 0.45, 0.0, width_in)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _axes_at(fig: Figure, left_in: float, top_in: float, width_in: float, height_in: float
             ) -> Axes:
    fig_w, fig_h = fig.get_size_inches()
    return fig.add_axes((left_in / fig_w, 1 - (top_in + height_in) / fig_h, width_in / fig_w,
                         height_in / fig_h))


def _sessions_axis(ax: Axes, sessions: Sequence[int], ticks: int = 12) -> None:
    """Sessions along x: every one while they fit `ticks` labels, else every 2nd, 5th..."""
    first, last = (sessions[0], sessions[-1]) if sessions else (1, 1)
    ax.set_xlim(first - 0.5, last + 0.5)
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, last) if (last - first) / s < ticks)
    ax.set_xticks(list(range(first, last + 1, step)))
    ax.grid(axis="y", color="#e4e4e4", linewidth=0.5)
    ax.set_axisbelow(True)


def _series(measure: Measure, sessions: Sequence[int], value) -> tuple[list, list, list]:
    """x, y (NaN where there is no value: the line breaks there) and which are provisional."""
    xs, ys, provisional = [], [], []
    for session in sessions:
        form = measure.form_at(session)
        got = value(form) if form is not None else None
        xs.append(session)
        ys.append(math.nan if got is None else float(got))
        provisional.append(form is not None and form.provisional)
    return xs, ys, provisional


def _plot(ax: Axes, xs: list, ys: list, provisional: list, colour: str, size: float) -> None:
    ax.plot(xs, ys, color=colour, linewidth=1.4, zorder=3)
    firm = [(x, y) for x, y, p in zip(xs, ys, provisional, strict=True) if not p]
    loose = [(x, y) for x, y, p in zip(xs, ys, provisional, strict=True) if p]
    if firm:
        ax.plot(*zip(*firm, strict=True), "o", color=colour, markersize=size, zorder=4)
    if loose:
        ax.plot(*zip(*loose, strict=True), "o", markerfacecolor="white",
                markeredgecolor=colour, markersize=size, zorder=4,
                label="provisional (awaiting review)")


def _totals_chart(ax: Axes, measure: Measure, sessions: Sequence[int]) -> None:
    template = measure.template
    colour = COLOURS.get(template.role or "", "#444444")
    lines = measure_lines(measure)
    highest = template.highest_total
    if lines["band"] is not None:
        low, high = lines["band"]
        ax.axhspan(low, high, color=BAND_COLOUR, alpha=0.22, linewidth=0,
                   label=f"reliable change ±{lines['reliable_change']:g} from intake")
        intake = lines["intake"]
        ax.axhline(intake["total"], color=BAND_COLOUR, linewidth=1.0, linestyle=":",
                   label=f"intake {intake['total']:g} (session {intake['session']})")
    for flag in lines["total_lines"]:
        ax.axhline(flag["value"], color=LINE_COLOUR, linewidth=1.0, linestyle="--",
                   label=f"{flag['flag'].replace('_', ' ')}: "
                         f"{_OP_TEXT[flag['op']]} {flag['value']:g}")
    xs, ys, provisional = _series(measure, sessions, lambda form: form.total)
    _plot(ax, xs, ys, provisional, colour, 4.0)
    _sessions_axis(ax, sessions)
    ax.set_ylim(0, highest + 1)
    ax.set_yticks([v for v in range(0, int(highest) + 1, 5)])
    ax.set_xlabel("session", labelpad=1)
    ax.set_title(f"{measure.label} total ({template.title})", loc="left", fontweight="bold")
    ax.legend(loc="lower left", frameon=True, framealpha=0.85, edgecolor="none",
              borderpad=0.3, handlelength=1.6)


def _absent_chart(ax: Axes, role: str, names: str) -> None:
    """The place of a measure this client has no form of: said, not left out silently."""
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_facecolor("#f5f5f5")
    ax.set_title(f"{role.capitalize()} measure", loc="left", fontweight="bold")
    ax.text(0.5, 0.5, f"No {names} form for this client", ha="center", va="center",
            color="#666666", transform=ax.transAxes)


def _item_chart(ax: Axes, measure: Measure, index: int, sessions: Sequence[int]) -> None:
    template = measure.template
    item = template.items[index]
    colour = COLOURS.get(template.role or "", "#444444")
    for flag in measure_lines(measure)["item_lines"]:
        ax.axhline(flag["value"], color=LINE_COLOUR, linewidth=0.8, linestyle="--")

    def score(form):
        return form.result.items[index].score if index < len(form.result.items) else None

    xs, ys, provisional = _series(measure, sessions, score)
    _plot(ax, xs, ys, provisional, colour, 2.5)
    _sessions_axis(ax, sessions, ticks=6)
    ax.set_ylim(-0.5, template.scale.max + 0.5)
    ax.set_yticks([0, 5, 10])
    ax.set_title(item.label.split(":")[0].strip(), loc="left", fontsize=7)
