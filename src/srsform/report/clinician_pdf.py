"""The clinician report as a PDF, written with reportlab in embedded DejaVu Sans: a page per
client with the charts (charts.py's shapes), then the session table and the client's
alerts, continued on further pages when they do not fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from reportlab.pdfbase.pdfmetrics import stringWidth

from ..form.fonts import EmbeddedCanvas, Fonts, default_fonts, wrap
from .charts import LEFT_PT, client_charts
from .clinician import TABLE_NOTE, ClientReport, alert_line, session_rows
from .shapes import TextWidth, draw_on_canvas

PT_PER_IN = 72.0
PAGE_IN = (8.27, 11.69)  # A4 portrait
MARGIN_IN = 0.55
CHARTS_INDENT_IN = 0.25  # the plots' left edge from the margin: their tick labels fit in it
ROW_IN = 0.165
TABLE_FONT = 6.8
LINE_IN = 0.125  # one more line of a wrapped table cell or alert
ALERT_INDENT = "    "  # before the wrapped lines of an alert, and its rule
GREY = "#666666"


@dataclass(frozen=True)
class _Line:
    """One line of the flowing part of a client's pages: a table row, a heading, an alert."""

    kind: str  # heading | table_head | row | text | alert (its text, its rule)
    cells: tuple[str, ...]
    height_in: float = ROW_IN


def write_report_pdf(reports: Sequence[ClientReport], out: BinaryIO, note: str = "") -> int:
    """Write the clients' pages to a binary stream; returns the number of PDF pages."""
    fonts = default_fonts()
    canvas = EmbeddedCanvas(out, fonts, pagesize=(PAGE_IN[0] * PT_PER_IN,
                                                  PAGE_IN[1] * PT_PER_IN),
                            pageCompression=1)
    canvas.setTitle("srsform clinician report")
    canvas.setCreator("srsform")
    pages = 0
    for report in reports:
        pages += _client_pages(canvas, report, note, fonts)
    if not reports:
        canvas.setFont(fonts.regular, 10)
        canvas.drawCentredString(PAGE_IN[0] * PT_PER_IN / 2, PAGE_IN[1] * PT_PER_IN / 2,
                                 "No client forms match this selection.")
        canvas.showPage()
        pages = 1
    canvas.save()
    return pages


def _client_pages(canvas: EmbeddedCanvas, report: ClientReport, note: str, fonts: Fonts
                  ) -> int:
    """Draw one client's pages (each ended); returns how many."""
    _page(canvas, report, note, continued=False)
    y = MARGIN_IN + 0.62
    left_pt = (MARGIN_IN + CHARTS_INDENT_IN) * PT_PER_IN - LEFT_PT
    charts = client_charts(report, (PAGE_IN[0] - MARGIN_IN) * PT_PER_IN - left_pt,
                           _text_width(fonts))
    draw_on_canvas(canvas, charts.shapes, left_pt, (PAGE_IN[1] - y) * PT_PER_IN, fonts)
    y += charts.height_pt / PT_PER_IN + 0.05
    pages = 1
    lines = _flow(report, fonts)
    table_head = next(line for line in lines if line.kind == "table_head")
    in_table = False
    bottom = PAGE_IN[1] - MARGIN_IN - 0.25
    for line in lines:
        if y + line.height_in > bottom:
            canvas.showPage()
            pages += 1
            _page(canvas, report, note, continued=True)
            y = MARGIN_IN + 0.45
            if in_table and line.kind == "row":
                y += _draw(canvas, table_head, y, report)
        in_table = line.kind in ("table_head", "row")
        y += _draw(canvas, line, y, report)
    canvas.showPage()
    return pages


def _text_width(fonts: Fonts) -> TextWidth:
    return lambda text, size, bold: stringWidth(text, fonts.pick(bold), size)


def _page(canvas: EmbeddedCanvas, report: ClientReport, note: str, continued: bool) -> None:
    first, last = report.first_day(), report.last_day()
    span = f"{first} to {last}" if first and last and first != last else (first or "")
    sessions = f"sessions {report.sessions[0]}-{report.sessions[-1]}" if len(
        report.sessions) > 1 else f"session {report.sessions[0]}" if report.sessions else ""
    title = f"Client {report.client}" + (" (continued)" if continued else "")
    _text(canvas, MARGIN_IN, MARGIN_IN, title, size=13, bold=True)
    measures = " and ".join(f"{m.label} ({m.template.title})" for m in report.measures)
    if not continued:
        _text(canvas, MARGIN_IN, MARGIN_IN + 0.27, f"{sessions}, {span}; {measures}", size=8)
    _text(canvas, MARGIN_IN, PAGE_IN[1] - MARGIN_IN + 0.1,
          f"srsform clinician report{'; ' + note if note else ''}", size=6, colour=GREY)


def _flow(report: ClientReport, fonts: Fonts) -> list[_Line]:
    """The session table, its note, then the alerts (each reason wrapped, with its rule)."""
    labels = [m.label for m in report.measures]
    head = ("Session", "Date", *[c for label in labels for c in (label, f"{label} items")],
            "Flags", "Status")
    lines = [_Line("heading", ("Sessions",), 0.26), _Line("table_head", head)]
    edges = _columns(report)
    widths = (edges[-1] - edges[-2] - 0.08, PAGE_IN[0] - 2 * MARGIN_IN - edges[-1])
    for row in session_rows(report):
        cells = [str(row.session), row.day or ""]
        for total, items in zip(row.totals, row.items, strict=True):
            cells += [total, " ".join(items).strip()]
        flags, status = (wrap(text, fonts.regular, TABLE_FONT, width * PT_PER_IN)
                         for text, width in zip((row.flags, row.status), widths, strict=True))
        extra = max(len(flags), len(status)) - 1
        lines.append(_Line("row", (*cells, "\n".join(flags), "\n".join(status)),
                           ROW_IN + extra * LINE_IN))
    lines.append(_Line("text", (TABLE_NOTE,), 0.22))
    lines.append(_Line("heading", (f"Alerts ({len(report.alerts)})",), 0.3))
    if not report.alerts:
        lines.append(_Line("text", ("None: no rule of these templates raised an alert.",)))
    width_pt = ((PAGE_IN[0] - 2 * MARGIN_IN) * PT_PER_IN
                - stringWidth(ALERT_INDENT, fonts.regular, TABLE_FONT))
    for alert in report.alerts:  # an alert and its rule stay on one page
        wrapped = wrap(alert_line(alert, with_client=False), fonts.regular, TABLE_FONT,
                       width_pt)
        text = "\n".join([wrapped[0], *(ALERT_INDENT + line for line in wrapped[1:])])
        lines.append(_Line("alert", (text, f"{ALERT_INDENT}rule {alert.rule}"),
                           ROW_IN * 2 + 0.03 + (len(wrapped) - 1) * LINE_IN))
    return lines


def _columns(report: ClientReport) -> list[float]:
    """Left edge (inches from the page's left margin) of each table column."""
    edges = [0.0, 0.55]
    x = 1.35
    for measure in report.measures:
        item_width = 0.17 * len(measure.template.items) + 0.15
        edges += [x, x + 0.42]
        x += 0.42 + item_width
    edges.append(x + 0.05)
    edges.append(x + 0.05 + max(1.6, (PAGE_IN[0] - 2 * MARGIN_IN - x) * 0.52))
    return edges


def _draw(canvas: EmbeddedCanvas, line: _Line, y: float, report: ClientReport) -> float:
    if line.kind == "heading":
        _text(canvas, MARGIN_IN, y + 0.08, line.cells[0], size=9.5, bold=True)
    elif line.kind in ("table_head", "row"):
        bold = line.kind == "table_head"
        for x, cell in zip(_columns(report), line.cells, strict=True):
            _text(canvas, MARGIN_IN + x, y, cell, size=TABLE_FONT, bold=bold)
        if bold:
            _rule(canvas, y + ROW_IN - 0.02)
    elif line.kind == "alert":
        text, rule = line.cells
        _text(canvas, MARGIN_IN, y, text, size=TABLE_FONT)
        _text(canvas, MARGIN_IN, y + line.height_in - ROW_IN - 0.03, rule,
              size=TABLE_FONT - 0.8, colour=GREY)
    else:
        _text(canvas, MARGIN_IN, y, line.cells[0], size=TABLE_FONT)
    return line.height_in


def _text(canvas: EmbeddedCanvas, x_in: float, y_in: float, text: str, size: float = 7,
          bold: bool = False, colour: str = "#000000") -> None:
    """Text whose first line's top is `y_in` from the page's top; a newline starts another
    line, LINE_IN lower."""
    canvas.setFont(canvas.fonts.pick(bold), size)
    canvas.setFillColor(colour)
    baseline = (PAGE_IN[1] - y_in) * PT_PER_IN - size * 0.8
    for n, part in enumerate(text.split("\n")):
        canvas.drawString(x_in * PT_PER_IN, baseline - n * LINE_IN * PT_PER_IN, part)


def _rule(canvas: EmbeddedCanvas, y_in: float) -> None:
    y = (PAGE_IN[1] - y_in) * PT_PER_IN
    canvas.setStrokeColor("#999999")
    canvas.setLineWidth(0.5)
    canvas.setDash([])
    canvas.line(MARGIN_IN * PT_PER_IN, y, (PAGE_IN[0] - MARGIN_IN) * PT_PER_IN, y)

