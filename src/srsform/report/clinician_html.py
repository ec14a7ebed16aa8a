"""The clinician report as one self-contained HTML file: per client the charts (inline SVG,
shapes.py's rendering of charts.py's shapes), the session table with a column per item, and the
alerts. No external assets: styles are inline, charts are part of the page, and it opens
from a USB stick as from a server."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import IO

from .charts import client_charts
from .clinician import TABLE_NOTE, ClientReport, session_rows
from .shapes import to_svg

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 60rem;
       color: #1b1b1b; line-height: 1.35; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.2rem; margin-top: 2.5rem;
       border-top: 2px solid #ccc; padding-top: 1rem; }
h3 { font-size: 1rem; margin-bottom: .3rem; }
.note, .rule { color: #555; font-size: .82rem; }
table { border-collapse: collapse; font-size: .82rem; }
th, td { padding: .15rem .45rem; text-align: left; border-bottom: 1px solid #e2e2e2; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.missing td { color: #888; font-style: italic; }
.provisional { background: #fff4d6; }
ul.alerts { padding-left: 1.1rem; } ul.alerts li { margin-bottom: .35rem; }
nav a { margin-right: .6rem; }
svg { max-width: 100%; height: auto; }
"""
CHARTS_W_PT = 560.0


def write_report_html(reports: Sequence[ClientReport], out: IO[str], note: str = "") -> int:
    """Write the clients' report as one HTML document; returns the number of clients."""
    out.write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<title>srsform clinician report</title>"
              f"<style>{_STYLE}</style></head><body>\n")
    out.write("<h1>srsform clinician report</h1>\n")
    if note:
        out.write(f"<p class=\"note\">{escape(note)}</p>\n")
    if not reports:
        out.write("<p>No client forms match this selection.</p>\n")
    elif len(reports) > 1:
        out.write("<nav>" + "".join(f"<a href=\"#{_anchor(r.client)}\">{escape(r.client)}</a>"
                                    for r in reports) + "</nav>\n")
    for report in reports:
        _client(out, report)
    out.write("</body></html>\n")
    return len(reports)


def _anchor(client: str) -> str:
    return "client-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in client)


def _client(out: IO[str], report: ClientReport) -> None:
    first, last = report.first_day(), report.last_day()
    measures = " and ".join(f"{m.label} ({m.template.title})" for m in report.measures)
    span = f"{first} to {last}" if first != last else (first or "")
    sessions = (f"Sessions {report.sessions[0]}-{report.sessions[-1]}"
                if len(report.sessions) > 1 else f"Session {report.sessions[0]}")
    out.write(f"<section id=\"{_anchor(report.client)}\">"
              f"<h2>Client {escape(report.client)}</h2>\n"
              f"<p>{sessions}, {escape(span)}; {escape(measures)}</p>\n")
    charts = client_charts(report, CHARTS_W_PT)
    out.write(to_svg(charts.shapes, charts.width_pt, charts.height_pt) + "\n")
    _table(out, report)
    _alerts(out, report)
    out.write("</section>\n")


def _table(out: IO[str], report: ClientReport) -> None:
    head = ["Session", "Date"]
    for measure in report.measures:
        head += [measure.label] + [f"{measure.label} {item.key}"
                                   for item in measure.template.items]
    head += ["Flags", "Status"]
    out.write("<h3>Sessions</h3>\n<table><thead><tr>"
              + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>\n")
    for row in session_rows(report):
        missing = all(total == "" for total in row.totals)
        waiting = "awaiting review" in row.status or "unreadable" in row.status
        css = " class=\"missing\"" if missing else " class=\"provisional\"" if waiting else ""
        cells = [f"<td class=\"n\">{row.session}</td><td>{escape(row.day or '')}</td>"]
        for total, items in zip(row.totals, row.items, strict=True):
            cells.append(f"<td class=\"n\"><b>{escape(total)}</b></td>")
            cells += [f"<td class=\"n\">{escape(item)}</td>" for item in items]
        cells.append(f"<td>{escape(row.flags)}</td><td>{escape(row.status)}</td>")
        out.write(f"<tr{css}>" + "".join(cells) + "</tr>\n")
    out.write(f"</tbody></table>\n<p class=\"note\">{escape(TABLE_NOTE)}</p>\n")


def _alerts(out: IO[str], report: ClientReport) -> None:
    out.write(f"<h3>Alerts ({len(report.alerts)})</h3>\n")
    if not report.alerts:
        out.write("<p>None: no rule of these templates raised an alert.</p>\n")
        return
    out.write("<ul class=\"alerts\">\n")
    for alert in report.alerts:
        provisional = " <em>(provisional)</em>" if alert.provisional else ""
        out.write(f"<li>Session {alert.session} ({escape(alert.day)}), "
                  f"{escape(alert.template.upper())}: <b>{escape(alert.name)}</b>: "
                  f"{escape(alert.reason)}{provisional}<br>"
                  f"<span class=\"rule\">rule {escape(alert.rule)}</span></li>\n")
    out.write("</ul>\n")

