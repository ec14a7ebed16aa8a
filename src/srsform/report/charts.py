"""The clinician report's charts as shapes (shapes.py: lines, boxes, dots and labels) in
points from the top left of the charts' area, y down: each measure's totals over sessions
with the template's cut-off or threshold lines, the intake and a band of +/- the reliable
change around it; then small multiples of its items. clinician_pdf draws them with
reportlab, clinician_html writes them as SVG; this module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .clinician import ClientReport, measure_lines
from .shapes import Box, Dot, Label, Line, Plot, Shape, TextWidth, rough_text_width
from .trajectory import Form, Measure

COLOURS = {"outcome": "#1f5f9f", "alliance": "#2a7f45"}
OTHER_COLOUR = "#444444"
LINE_COLOUR = "#c0392b"  # cut-offs and thresholds
BAND_COLOUR = "#9aa5b1"  # the intake and the reliable-change band around it
GRID_COLOUR = "#e4e4e4"
AXIS_COLOUR = "#000000"
MUTED = "#666666"
TOTALS_H_PT = 151.0  # a row of totals charts below its titles: plot, ticks, axis label
ITEMS_H_PT = 72.0
TOTALS_BELOW_PT = 20.0  # under a totals plot: tick labels and "session"
ITEMS_BELOW_PT = 16.0
TITLE_GAP_PT = 20.0  # above each row of plots, for their titles
GAP_PT = 32.0  # between the two totals charts of a row
ITEM_GAP_PT = 20.0
LEFT_PT = 26.0  # left of the first plots: their tick labels and the items' axis label
TICK_PT = 3.5
DASHED = (3.7, 1.6)
DOTTED = (1.0, 1.65)
_OP_TEXT = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}

@dataclass(frozen=True)
class Charts:
    """One client's charts: shapes in a `width_pt` x `height_pt` area, in drawing order."""

    width_pt: float
    height_pt: float
    shapes: tuple[Shape, ...]


def client_charts(report: ClientReport, width_pt: float,
                  text_width: TextWidth = rough_text_width) -> Charts:
    """One client's charts across `width_pt`: totals in rows of two (a panel saying so for
    a role with no form), then a row of items per measure. `text_width` sizes the legends."""
    shapes: list[Shape] = []
    y = 0.0
    panel_w = (width_pt - LEFT_PT - GAP_PT) / 2
    panels = report.panels()
    for row in range(0, len(panels), 2):
        for i, panel in enumerate(panels[row:row + 2]):
            area = (LEFT_PT + i * (panel_w + GAP_PT), y + TITLE_GAP_PT, panel_w,
                    TOTALS_H_PT - TOTALS_BELOW_PT)
            shapes += (_totals_chart(area, panel, report.sessions, text_width)
                       if isinstance(panel, Measure) else _absent_chart(area, *panel))
        y += TOTALS_H_PT + TITLE_GAP_PT
    for measure in report.measures:
        count = len(measure.template.items)
        item_w = (width_pt - LEFT_PT - ITEM_GAP_PT * (count - 1)) / count
        height = ITEMS_H_PT - ITEMS_BELOW_PT
        for i in range(count):
            area = (LEFT_PT + i * (item_w + ITEM_GAP_PT), y + TITLE_GAP_PT, item_w, height)
            shapes += _item_chart(area, measure, i, report.sessions)
        shapes.append(Label(LEFT_PT - 16, y + TITLE_GAP_PT + height / 2,
                            f"{measure.label} item", 7, anchor="middle", rotated=True))
        y += ITEMS_H_PT + TITLE_GAP_PT
    return Charts(width_pt, y, tuple(shapes))


def _colour(measure: Measure) -> str:
    return COLOURS.get(measure.template.role or "", OTHER_COLOUR)


def _session_ticks(sessions: Sequence[int], most: int) -> tuple[tuple[float, float], list[int]]:
    """The x span and ticks: every session while they fit `most` labels, else every 2nd,
    5th, 10th..."""
    first, last = (sessions[0], sessions[-1]) if sessions else (1, 1)
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, max(last, 1)) if (last - first) / s < most)
    return (first - 0.5, last + 0.5), list(range(first, last + 1, step))


def _hline(plot: Plot, value: float, colour: str, width_pt: float,
           dash_pt: tuple[float, ...]) -> Line:
    y = plot.y(value)
    return Line(((plot.left, y), (plot.right, y)), colour, width_pt, dash_pt)


def _grid(plot: Plot, y_ticks: Sequence[int]) -> list[Shape]:
    return [_hline(plot, value, GRID_COLOUR, 0.5, ()) for value in y_ticks]


def _axes(plot: Plot, x_ticks: Sequence[int], y_ticks: Sequence[int],
          x_label: str | None = None) -> list[Shape]:
    """The left and bottom axis lines, their ticks and tick labels, and the x axis's name."""
    size = 6.5
    shapes: list[Shape] = [
        Line(((plot.left, plot.top), (plot.left, plot.bottom), (plot.right, plot.bottom)),
             AXIS_COLOUR, 0.8)]
    for value in y_ticks:
        y = plot.y(value)
        shapes += [Line(((plot.left - TICK_PT, y), (plot.left, y)), AXIS_COLOUR, 0.8),
                   Label(plot.left - TICK_PT - 2, y + size * 0.36, f"{value}", size,
                         anchor="end")]
    for value in x_ticks:
        x = plot.x(value)
        shapes += [Line(((x, plot.bottom), (x, plot.bottom + TICK_PT)), AXIS_COLOUR, 0.8),
                   Label(x, plot.bottom + TICK_PT + 2 + size * 0.76, f"{value}", size,
                         anchor="middle")]
    if x_label:
        shapes.append(Label(plot.left + plot.width / 2, plot.bottom + TICK_PT + 17, x_label,
                            7, anchor="middle"))
    return shapes


def _series(plot: Plot, measure: Measure, sessions: Sequence[int],
            value: Callable[[Form], float | int | None], radius_pt: float) -> list[Shape]:
    """The values joined session to session (broken where a session has none), then a dot
    at each: hollow where the value is provisional."""
    colour = _colour(measure)
    lines: list[Shape] = []
    dots: list[Shape] = []
    run: list[tuple[float, float]] = []
    for session in sessions:
        form = measure.form_at(session)
        got = value(form) if form is not None else None
        if got is None:
            if len(run) > 1:
                lines.append(Line(tuple(run), colour, 1.4))
            run = []
            continue
        point = (plot.x(session), plot.y(float(got)))
        run.append(point)
        dots.append(Dot(*point, radius_pt, colour, hollow=form.provisional))
    if len(run) > 1:
        lines.append(Line(tuple(run), colour, 1.4))
    return lines + dots


def _legend(plot: Plot, entries: Sequence[tuple[Shape, str]], text_width: TextWidth
            ) -> list[Shape]:
    """A key in the plot's lower left corner on a pale ground: each entry's sample (a line,
    box or dot drawn at the origin, moved into place here) and its text."""
    if not entries:
        return []
    size, row, pad, sample_w = 6.0, 8.4, 3.0, 10.0
    width = pad * 2 + sample_w + 4 + max(text_width(text, size, False) for _, text in entries)
    height = pad * 2 + row * len(entries)
    left, top = plot.left + 3, plot.bottom - 3 - height
    shapes: list[Shape] = [Box(left, top, width, height, "#ffffff", 0.85)]
    for n, (sample, text) in enumerate(entries):
        x, y = left + pad, top + pad + row * n + row / 2
        if isinstance(sample, Line):
            shapes.append(Line(((x, y), (x + sample_w, y)), sample.colour, sample.width_pt,
                               sample.dash_pt))
        elif isinstance(sample, Box):
            shapes.append(Box(x, y - 3, sample_w, 6, sample.colour, sample.opacity))
        elif isinstance(sample, Dot):
            shapes.append(Dot(x + sample_w / 2, y, sample.radius_pt, sample.colour,
                              sample.hollow))
        shapes.append(Label(x + sample_w + 4, y + size * 0.36, text, size))
    return shapes


def _totals_chart(area: tuple[float, float, float, float], measure: Measure,
                  sessions: Sequence[int], text_width: TextWidth) -> list[Shape]:
    template = measure.template
    highest = template.highest_total
    x_span, x_ticks = _session_ticks(sessions, 12)
    plot = Plot(*area, x_span, (0.0, highest + 1))
    y_ticks = list(range(0, int(highest) + 1, 5))
    shapes = _grid(plot, y_ticks)
    legend: list[tuple[Shape, str]] = []
    lines = measure_lines(measure)
    if lines["band"] is not None:
        low, high = lines["band"]
        band = Box(plot.left, plot.y(high), plot.width, plot.y(low) - plot.y(high),
                   BAND_COLOUR, 0.22)
        intake = lines["intake"]
        intake_line = _hline(plot, intake["total"], BAND_COLOUR, 1.0, DOTTED)
        shapes += [band, intake_line]
        legend += [(band, f"reliable change ±{lines['reliable_change']:g} from intake"),
                   (intake_line, f"intake {intake['total']:g} (session {intake['session']})")]
    for flag in lines["total_lines"]:
        cut = _hline(plot, flag["value"], LINE_COLOUR, 1.0, DASHED)
        shapes.append(cut)
        legend.append((cut, f"{flag['flag'].replace('_', ' ')}: "
                            f"{_OP_TEXT[flag['op']]} {flag['value']:g}"))
    series = _series(plot, measure, sessions, lambda form: form.total, 2.0)
    shapes += series
    if any(isinstance(s, Dot) and s.hollow for s in series):
        legend.append((Dot(0, 0, 2.0, _colour(measure), hollow=True),
                       "provisional (awaiting review)"))
    shapes += _axes(plot, x_ticks, y_ticks, "session")
    shapes += _legend(plot, legend, text_width)
    shapes.append(Label(plot.left, plot.top - 7, f"{measure.label} total ({template.title})",
                        8, bold=True))
    return shapes


def _absent_chart(area: tuple[float, float, float, float], role: str, names: str
                  ) -> list[Shape]:
    """The place of a measure this client has no form of: said, not left out silently."""
    left, top, width, height = area
    return [Box(left, top, width, height, "#f5f5f5"),
            Label(left + width / 2, top + height / 2 + 2.5, f"No {names} form for this client",
                  7, MUTED, anchor="middle"),
            Label(left, top - 7, f"{role.capitalize()} measure", 8, bold=True)]


def _item_chart(area: tuple[float, float, float, float], measure: Measure, index: int,
                sessions: Sequence[int]) -> list[Shape]:
    template = measure.template
    x_span, x_ticks = _session_ticks(sessions, 6)
    plot = Plot(*area, x_span, (-0.5, template.scale.max + 0.5))
    y_ticks = list(range(0, template.scale.max + 1, 5))
    shapes = _grid(plot, y_ticks)
    shapes += [_hline(plot, flag["value"], LINE_COLOUR, 0.8, DASHED)
               for flag in measure_lines(measure)["item_lines"]]

    def score(form: Form) -> float | int | None:
        items = form.result.items
        return items[index].score if index < len(items) else None

    shapes += _series(plot, measure, sessions, score, 1.25)
    shapes += _axes(plot, x_ticks, y_ticks)
    shapes.append(Label(plot.left, plot.top - 6,
                        template.items[index].label.split(":")[0].strip(), 7))
    return shapes
