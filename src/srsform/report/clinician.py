"""The clinician's view of each client: ORS and SRS across sessions, paired by session, with
the alerts the measures call for; and the front desk's list of alerts.

This module gathers and decides (it imports nothing heavy); charts.py, clinician_pdf.py and
clinician_html.py draw what it gives. `to_dict` is the JSON form of the same content.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..form.templates import Template, load_bundled
from ..records import PageFilter, whole_number
from ..store import Store
from .alerts import client_alerts
from .trajectory import (
    ROLE_ORDER,
    Alert,
    Form,
    Measure,
    measures_by_client,
    session_day,
    session_numbers,
)

log = logging.getLogger("srsform")
CLIENTS_PER_READ = 500  # clients whose forms are read from the store at a time


@dataclass(frozen=True)
class ClientReport:
    """One client's measures (outcome first), every session from first to last (missing
    ones included) and the alerts raised."""

    client: str
    measures: tuple[Measure, ...]
    sessions: tuple[int, ...]
    alerts: tuple[Alert, ...]
    absent: tuple[tuple[str, str], ...] = ()  # (role, its templates) with no form of this client

    def panels(self) -> list[Measure | tuple[str, str]]:
        """The totals charts in order: each measure, and a place for each absent role."""
        panels: list[Measure | tuple[str, str]] = [*self.measures, *self.absent]
        return sorted(panels, key=lambda p: ROLE_ORDER.get(
            p.template.role or "" if isinstance(p, Measure) else p[0], 9))

    def day(self, session: int) -> str | None:
        return session_day(self.measures, session)

    def first_day(self) -> str | None:
        days = [d for s in self.sessions if (d := self.day(s))]
        return min(days) if days else None

    def last_day(self) -> str | None:
        days = [d for s in self.sessions if (d := self.day(s))]
        return max(days) if days else None

    def alerts_at(self, session: int) -> list[Alert]:
        return [alert for alert in self.alerts if alert.session == session]


def report_templates(extra: Iterable[Template] = ()) -> dict[str, Template]:
    """The templates whose roles and alert rules apply, by id: the bundled ones, replaced by
    any given (a clinic's own file of the same id)."""
    return {t.id: t for t in [*load_bundled(), *extra]}


def build_reports(store: Store, clients: Sequence[str] | None = None,
                  templates: Mapping[str, Template] | None = None) -> list[ClientReport]:
    """The reports of the given clients (None: every client), in client-code order."""
    return list(iter_reports(store, clients, templates))


def iter_reports(store: Store, clients: Sequence[str] | None = None,
                 templates: Mapping[str, Template] | None = None) -> Iterator[ClientReport]:
    """build_reports, a batch of clients at a time: a whole store's alerts are raised
    without holding every form in memory at once."""
    templates = templates or report_templates()
    wanted = sorted(set(store.clients() if clients is None else clients))
    skipped = 0
    for first in range(0, len(wanted), CLIENTS_PER_READ):
        with _cycle_collector_paused():
            pages = store.session_pages(wanted[first:first + CLIENTS_PER_READ])
            by_client = measures_by_client(pages, templates)
            skipped += len(pages) - sum(len(m.forms) for ms in by_client.values() for m in ms)
            reports = [ClientReport(client, tuple(measures), tuple(session_numbers(measures)),
                                    tuple(client_alerts(client, measures)),
                                    _absent(measures, templates))
                       for client, measures in by_client.items()]
        yield from reports
    if skipped:
        log.info("%d stored page(s) not charted: another page of the same form and session "
                 "stands, or the template has no report role", skipped)


def _absent(measures: Sequence[Measure], templates: Mapping[str, Template]
            ) -> tuple[tuple[str, str], ...]:
    """The report roles none of a client's forms fill, each with the templates that would
    (('outcome', 'CORS or ORS'),)."""
    present = {m.template.role for m in measures}
    return tuple((role, " or ".join(sorted(t.id.upper() for t in templates.values()
                                           if t.role == role)))
                 for role in ROLE_ORDER if role not in present)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a batch of records is built: they hold no
    cycles, and collecting as they pile up (hundreds of thousands of objects) cost a fifth of
    the time of a whole store's alerts."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def select_clients(store: Store, where: PageFilter | None) -> list[str] | None:
    """The clients a report covers: those with a session page `where` selects (by client
    and date); None (every client) when nothing narrows it."""
    if where is None or not where:
        return None
    return store.clients(where)


# --- the session table -------------------------------------------------------------------

PROVISIONAL_MARK = "*"  # a value awaiting review
UNSURE_MARK = "?"  # an item not read with certainty (its score is the best guess)
TABLE_NOTE = (f"{PROVISIONAL_MARK} provisional: the form awaits review; {UNSURE_MARK} an item "
              "not read with certainty; - no score")


@dataclass(frozen=True)
class SessionRow:
    """One row of the session table: per measure its total and items (as shown), the
    flags raised and what still waits."""

    session: int
    day: str | None
    totals: tuple[str, ...]  # per measure, in the report's measure order
    items: tuple[tuple[str, ...], ...]
    flags: str
    status: str


def _shown(value: float | int | None) -> str:
    return "-" if value is None else f"{whole_number(value)}"


def session_rows(report: ClientReport) -> list[SessionRow]:
    """The session table: every session from the first to the last, missing ones included."""
    rows = []
    for session in report.sessions:
        totals, items, flags, status = [], [], [], []
        for measure in report.measures:
            form = measure.form_at(session)
            if form is None:
                totals.append("")
                items.append(tuple("" for _ in measure.template.items))
                status.append(f"no {measure.label}")
                continue
            mark = PROVISIONAL_MARK if form.provisional else ""
            totals.append(_shown(form.total) + mark)
            items.append(tuple(_shown(i.score) + (UNSURE_MARK if i.status == "uncertain"
                                                  else "") for i in form.result.items))
            flags += [f for f in form.result.flags if f not in flags]
            if form.result.status == "review":
                status.append(f"{measure.label} awaiting review")
            elif form.provisional:
                status.append(f"{measure.label} {form.result.status}")
            elif form.corrected:
                status.append(f"{measure.label} corrected")
        rows.append(SessionRow(session, report.day(session), tuple(totals), tuple(items),
                               ", ".join(flags), "; ".join(status) or "ok"))
    return rows


# --- alerts for the front desk ---------------------------------------------------------------

@dataclass(frozen=True)
class AlertSelection:
    """Which alerts `srsform alerts` lists, and how to say so."""

    alerts: list[Alert]
    described: str  # "the last scan (run 3, started ...)" or "sessions since ..."


def last_scan_alerts(store: Store, templates: Mapping[str, Template] | None = None
                     ) -> AlertSelection | None:
    """The alerts raised at the forms the latest scan run stored (each client's history is
    read whole to raise them); None when the store recorded no scan run."""
    found = store.last_scan()
    if found is None:
        return None
    run, started, clients = found
    alerts = []
    for report in (iter_reports(store, clients, templates) if clients else ()):
        pages = {form.page_id for m in report.measures for form in m.forms
                 if form.scan_run == run}
        alerts += [alert for alert in report.alerts if alert.page_id in pages]
    return AlertSelection(alerts, f"the last scan (run {run}, started {started} UTC)")


def dated_alerts(store: Store, where: PageFilter,
                 templates: Mapping[str, Template] | None = None) -> AlertSelection:
    """The alerts raised at forms of sessions `where` selects by client and date (each
    client's whole history is read to raise them)."""
    alerts = [alert for r in iter_reports(store, select_clients(store, where), templates)
              for alert in r.alerts
              if (not where.since or alert.day >= where.since)
              and (not where.until or alert.day <= where.until)]
    dated = where.since or where.until
    described = "sessions" if dated else "every session"
    return AlertSelection(alerts, f"{described} {where.describe()}".strip())


# --- the JSON form ---------------------------------------------------------------------------

def measure_lines(measure: Measure) -> dict[str, Any]:
    """What the charts draw besides the totals: the template's total flags (cut-off,
    threshold), its item flags, the intake and the reliable-change band around it."""
    template = measure.template
    intake = measure.intake()
    change = template.scale.reliable_change
    band = None
    if intake is not None and intake.total is not None and change:
        band = [max(0.0, intake.total - change), min(template.highest_total,
                                                     intake.total + change)]
    return {
        "total_lines": [{"flag": f.name, "op": f.op, "value": f.value}
                        for f in template.flags if f.on == "total"],
        "item_lines": [{"flag": f.name, "op": f.op, "value": f.value}
                       for f in template.flags if f.on == "item"],
        "intake": None if intake is None else {"session": intake.session,
                                               "total": intake.total},
        "reliable_change": change,
        "band": band,
    }


def _form_dict(form: Form) -> dict[str, Any]:
    result = form.result
    return {
        "serial": result.serial, "source": result.source, "page": result.page,
        "date": form.day, "dated_by": form.dated_by, "status": result.status,
        "provisional": form.provisional, "total": result.total,
        "items": [{"key": i.key, "score": i.score, "status": i.status,
                   "corrected": i.key in form.corrected} for i in result.items],
        "flags": list(result.flags), "rule": result.rule,
    }


def report_dict(report: ClientReport) -> dict[str, Any]:
    """One client's report as data: the same content as the PDF and HTML pages."""
    return {
        "client": report.client,
        "first_date": report.first_day(),
        "last_date": report.last_day(),
        "measures": [{
            "template": m.template.id, "version": m.template.version,
            "title": m.template.title, "label": m.label, "role": m.template.role,
            "highest_total": whole_number(m.template.highest_total),
            "items": [{"key": i.key, "label": i.label} for i in m.template.items],
            **measure_lines(m),
        } for m in report.measures],
        "sessions": [{
            "session": s, "date": report.day(s),
            "forms": {m.template.id: (_form_dict(f) if (f := m.form_at(s)) else None)
                      for m in report.measures},
        } for s in report.sessions],
        "alerts": [alert.to_dict() for alert in report.alerts],
        "absent": [{"role": role, "templates": names} for role, names in report.absent],
    }


def alert_line(alert: Alert, with_client: bool = True) -> str:
    """One alert on one line, as `srsform alerts` prints it."""
    who = f"{alert.client}  " if with_client else ""
    note = " (provisional)" if alert.provisional else ""
    return (f"{who}session {alert.session}  {alert.day}  {alert.template.upper()}  "
            f"{alert.name}: {alert.reason}{note}")


def to_dict(reports: Sequence[ClientReport], note: str = "") -> dict[str, Any]:
    return {"report": "srsform clinician report", "selection": note,
            "clients": [report_dict(r) for r in reports]}
