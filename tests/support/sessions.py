"""Clients' forms written straight into a store, as a scan would have stored them: for tests
of the clinician report and alerts, and for the 100,000-page bench (no images, no scanning).

Each `SessionForm` names a client's form of one session and its item scores; it becomes the
PageResult a scan of a roster page would give (serial, template's rule and flags, status
`review` when an item is not `ok`), and a row of the printed-forms register (the session
date), so that the store's own queries, not a shortcut, put the report together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from srsform.form.layout import build_layout
from srsform.form.templates import Template, load_template
from srsform.records import ItemScore, PageResult, PrintedForm
from srsform.store import Store

FIRST_DAY = dt.date(2026, 1, 5)


@dataclass(frozen=True)
class SessionForm:
    """One form of one client's session. `statuses` (optional) gives an item status per
    item (`uncertain` keeps the score as a best guess; `missing` drops it)."""

    client: str
    template: str
    session: int
    scores: Sequence[int]
    statuses: Sequence[str] | None = None
    day: str | None = None  # default: FIRST_DAY + (session - 1) weeks

    @property
    def serial(self) -> str:
        key = f"{self.client}/{self.template}/{self.session}".encode()
        return hashlib.sha256(key).hexdigest()[:12].upper()


@cache
def _template(name: str) -> Template:
    return load_template(name)


def session_day(session: int, first: dt.date = FIRST_DAY) -> str:
    return (first + dt.timedelta(weeks=session - 1)).isoformat()


def page_result(form: SessionForm, source: str, page: int) -> PageResult:
    """The record a scan of this form would store."""
    template = _template(form.template)
    statuses = list(form.statuses or ["ok"] * len(form.scores))
    items = tuple(ItemScore(item.key, None if status in ("missing", "multiple") else
                            10.0 * score, None if status in ("missing", "multiple") else score,
                            status, 0.95 if status == "ok" else 0.4, ())
                  for item, score, status in zip(template.items, form.scores, statuses,
                                                 strict=True))
    scores = [item.score for item in items]
    total = None if any(s is None for s in scores) else sum(scores)
    flags = tuple(rule.name for rule in template.flags if rule.raised(scores, total))
    reasons = tuple(f"{item.key}: {item.status}" for item in items if item.status != "ok")
    return PageResult(source=source, page=page, status="review" if reasons else "ok",
                      template=template.id, layout=build_layout(template).layout_id,
                      serial=form.serial, client=form.client, session=form.session,
                      rotation=0, print_scale=1.0, items=items, total=total, flags=flags,
                      rule=template.rule_text(), reasons=reasons)


def printed_form(form: SessionForm) -> PrintedForm:
    template = _template(form.template)
    return PrintedForm(form.serial, template.id, template.version,
                       build_layout(template).layout_id, form.client, form.session,
                       form.day or session_day(form.session), "a4")


def write_forms(store: Store, forms: Iterable[SessionForm], source: str = "stack.pdf",
                register: bool = True) -> int:
    """Store the forms as the pages of one scanned file `source` (in one transaction), and
    record them in the printed-forms register unless `register` is False; how many."""
    forms = list(forms)
    digest = hashlib.sha256(f"{source}/{len(forms)}".encode()).hexdigest()
    known = store.source(digest)
    source_id = known[0] if known else store.add_source(digest, source, 0, len(forms))
    if register:
        store.record_printed([printed_form(f) for f in forms])
    store.save_pages(source_id, [page_result(f, source, i)
                                 for i, f in enumerate(forms, start=1)])
    return len(forms)


def run_of(client: str, template: str, totals: Sequence[int | Sequence[int]],
           first_session: int = 1) -> list[SessionForm]:
    """A client's forms of consecutive sessions: each entry a total (spread over the items
    as evenly as it goes, higher items first) or the item scores themselves."""
    count = len(_template(template).items)
    forms = []
    for offset, entry in enumerate(totals):
        if isinstance(entry, int):
            scores = [entry // count + (1 if i < entry % count else 0) for i in range(count)]
        else:
            scores = list(entry)
        forms.append(SessionForm(client, template, first_session + offset, scores))
    return forms
