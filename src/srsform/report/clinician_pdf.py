"""The clinician report as a PDF (matplotlib's PDF backend): a page per client with the
charts, then the session table and the client's alerts, continued on further pages when
they do not fit."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .charts import chart_settings, draw_charts
from .clinician import TABLE_NOTE, ClientReport, alert_line, session_rows

PAGE_IN = (8.27, 11.69)  # A4 portrait
MARGIN_IN = 0.55
ROW_IN = 0.165
TABLE_FONT = 6.8
ALERT_WRAP = 140  # characters per line of an alert at the table's font size
CHAR_IN = 0.05  # the average width of a character at the table's font size
LINE_IN = 0.125  # one more line of a wrapped table cell
GREY = "#666666"


@dataclass(frozen=True)
class _Line:
    """One line of the flowing part of a client's pages: a table row, a heading, an alert."""

    kind: str  # heading | table_head | row | text | alert (its text, its rule)
    cells: tuple[str, ...]
    height_in: float = ROW_IN


def write_report_pdf(reports: Sequence[ClientReport], out: BinaryIO, note: str = "") -> int:
    """Write the clients' pages to a binary stream; returns the number of PDF pages."""
    pages = 0
    with chart_settings(), PdfPages(out, metadata={
            "Title": "srsform clinician report", "Creator": "srsform",
            "CreationDate": None}) as pdf:
        for report in reports:
            for fig in _client_pages(report, note):
                pdf.savefig(fig)
                pages += 1
        if not reports:
            fig = Figure(figsize=PAGE_IN)
            fig.text(0.5, 0.5, "No client forms match this selection.", ha="center")
            pdf.savefig(fig)
            pages += 1
    return pages


def _client_pages(report: ClientReport, note: str) -> list[Figure]:
    width = PAGE_IN[0] - 2 * MARGIN_IN
    fig = _page(report, note, continued=False)
    y = MARGIN_IN + 0.62
    y += draw_charts(fig, report, MARGIN_IN + 0.25, y, width - 0.25) + 0.05
    figures = [fig]
    lines = _flow(report)
    table_head = next(line for line in lines if line.kind == "table_head")
    in_table = False
    bottom = PAGE_IN[1] - MARGIN_IN - 0.25
    for line in lines:
        if y + line.height_in > bottom:
            fig = _page(report, note, continued=True)
            figures.append(fig)
            y = MARGIN_IN + 0.45
            if in_table and line.kind == "row":
                y += _draw(fig, table_head, y, report)
        in_table = line.kind in ("table_head", "row")
        y += _draw(fig, line, y, report)
    return figures


def _page(report: ClientReport, note: str, continued: bool) -> Figure:
    fig = Figure(figsize=PAGE_IN)
    first, last = report.first_day(), report.last_day()
    span = f"{first} to {last}" if first and last and first != last else (first or "")
    sessions = f"sessions {report.sessions[0]}-{report.sessions[-1]}" if len(
        report.sessions) > 1 else f"session {report.sessions[0]}" if report.sessions else ""
    title = f"Client {report.client}" + (" (continued)" if continued else "")
    _text(fig, MARGIN_IN, MARGIN_IN, title, size=13, weight="bold")
    measures = " and ".join(f"{m.label} ({m.template.title})" for m in report.measures)
    if not continued:
        _text(fig, MARGIN_IN, MARGIN_IN + 0.27, f"{sessions}, {span}; {measures}", size=8)
    _text(fig, MARGIN_IN, PAGE_IN[1] - MARGIN_IN + 0.1,
          f"srsform clinician report{'; ' + note if note else ''}", size=6, colour=GREY)
    return fig


def _flow(report: ClientReport) -> list[_Line]:
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
        flags, status = (textwrap.wrap(text, int(width / CHAR_IN)) or [""]
                         for text, width in zip((row.flags, row.status), widths, strict=True))
        extra = max(len(flags), len(status)) - 1
        lines.append(_Line("row", (*cells, "\n".join(flags), "\n".join(status)),
                           ROW_IN + extra * LINE_IN))
    lines.append(_Line("text", (TABLE_NOTE,), 0.22))
    lines.append(_Line("heading", (f"Alerts ({len(report.alerts)})",), 0.3))
    if not report.alerts:
        lines.append(_Line("text", ("None: no rule of these templates raised an alert.",)))
    for alert in report.alerts:  # an alert and its rule stay on one page
        wrapped = textwrap.wrap(alert_line(alert, with_client=False), ALERT_WRAP,
                                subsequent_indent="    ")
        lines.append(_Line("alert", ("\n".join(wrapped), f"    rule {alert.rule}"),
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


def _draw(fig: Figure, line: _Line, y: float, report: ClientReport) -> float:
    if line.kind == "heading":
        _text(fig, MARGIN_IN, y + 0.08, line.cells[0], size=9.5, weight="bold")
    elif line.kind in ("table_head", "row"):
        weight = "bold" if line.kind == "table_head" else "normal"
        for x, cell in zip(_columns(report), line.cells, strict=True):
            _text(fig, MARGIN_IN + x, y, cell, size=TABLE_FONT, weight=weight,
                  spacing=1.1)
        if line.kind == "table_head":
            _rule(fig, y + ROW_IN - 0.02)
    elif line.kind == "alert":
        text, rule = line.cells
        _text(fig, MARGIN_IN, y, text, size=TABLE_FONT, spacing=1.1)
        _text(fig, MARGIN_IN, y + line.height_in - ROW_IN - 0.03, rule,
              size=TABLE_FONT - 0.8, colour=GREY)
    else:
        _text(fig, MARGIN_IN, y, line.cells[0], size=TABLE_FONT)
    return line.height_in


def _text(fig: Figure, x_in: float, y_in: float, text: str, size: float = 7,
          weight: str = "normal", colour: str = "black", spacing: float = 1.2) -> None:
    fig.text(x_in / PAGE_IN[0], 1 - y_in / PAGE_IN[1], text, fontsize=size,
             fontweight=weight, color=colour, va="top", ha="left", linespacing=spacing)


def _rule(fig: Figure, y_in: float) -> None:
    y = 1 - y_in / PAGE_IN[1]
    fig.add_artist(Line2D([MARGIN_IN / PAGE_IN[0], 1 - MARGIN_IN / PAGE_IN[0]], [y, y],
                          linewidth=0.5, color="#999999"))
