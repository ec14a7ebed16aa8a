"""A client's run of forms: one form per template and session, with the values in force.

The clinician report and the alerts read the store through here. Each session page becomes
a `Form` (a person's corrections applied); one form is kept per client, template and
session (a sheet read twice is not counted twice). Forms are grouped per client into one
`Measure` per template that has a report role (outcome: ORS, CORS; alliance: SRS, CSRS).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..form.templates import Template
from ..records import PageResult, SessionPage
from .review import DUPLICATE_FLAGS, apply_corrections

ROLE_ORDER = {"outcome": 0, "alliance": 1}


@dataclass(frozen=True, slots=True)
class Form:
    """One client's form of one session, with the values in force."""

    page_id: int
    result: PageResult  # values in force (totals and flags recomputed after corrections)
    corrected: frozenset[str]  # item keys a person decided
    day: str  # the session date from the printed-forms register, else the day scanned
    dated_by: str  # "register" or "scan"
    scan_run: int | None
    session: int

    @property
    def total(self) -> float | int | None:
        return self.result.total

    @property
    def provisional(self) -> bool:
        """Its values still wait for a person (the page is not `ok` in force)."""
        return self.result.status != "ok"

    def scores(self) -> list[float | int | None]:
        return [item.score for item in self.result.items]


@dataclass(frozen=True)
class Measure:
    """One template's forms of one client, in session order (at most one per session)."""

    template: Template
    forms: tuple[Form, ...]

    @property
    def label(self) -> str:
        """Its short name in tables and charts: ORS, SRS, CORS, CSRS."""
        return self.template.id.upper()

    def form_at(self, session: int) -> Form | None:
        return next((form for form in self.forms if form.session == session), None)

    def intake(self) -> Form | None:
        """The baseline: the client's first form of this measure that has a total."""
        return next((form for form in self.forms if form.total is not None), None)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert raised at one client's form: the rule (as recorded) and a plain reason."""

    client: str
    session: int
    day: str
    template: str
    name: str
    rule: str
    reason: str
    provisional: bool  # computed from values still awaiting review
    page_id: int  # the form it was raised at

    def to_dict(self) -> dict:
        return {"client": self.client, "session": self.session, "date": self.day,
                "template": self.template, "alert": self.name, "reason": self.reason,
                "provisional": self.provisional, "rule": self.rule}


def to_form(page: SessionPage) -> Form:
    """A stored session page with a person's corrections applied."""
    result, corrected = page.result, frozenset()
    if page.corrections:
        result, keys = apply_corrections(page.result, page.corrections)
        corrected = frozenset(keys)
    dated_by = "register" if page.result.date else "scan"
    assert result.session is not None  # only session pages become forms
    return Form(page.page_id, result, corrected, page.day, dated_by, page.scan_run,
                result.session)


def _preference(form: Form) -> tuple[int, int, int]:
    """Which of several pages of one template and session stands (highest first): not a
    duplicate of another, then read `ok`, then the latest stored."""
    duplicate = any(flag in DUPLICATE_FLAGS for flag in form.result.flags)
    return (not duplicate, form.result.status == "ok", form.page_id)


def measures_by_client(pages: Iterable[SessionPage], templates: Mapping[str, Template]
                       ) -> dict[str, list[Measure]]:
    """Each client's measures (outcome first, then alliance; by template id within a role),
    from session pages of templates with a report role; other pages are left out."""
    chosen: dict[tuple[str, str, int], Form] = {}
    for page in pages:
        result = page.result
        template = templates.get(result.template or "")
        if template is None or template.role is None:
            continue
        form = to_form(page)
        if form.result.status == "not_a_form":  # a person set the page aside
            continue
        key = (result.client or "", template.id, form.session)
        if key not in chosen or _preference(form) > _preference(chosen[key]):
            chosen[key] = form
    grouped: dict[str, dict[str, list[Form]]] = {}
    for (client, template_id, _), form in chosen.items():
        grouped.setdefault(client, {}).setdefault(template_id, []).append(form)
    result: dict[str, list[Measure]] = {}
    for client in sorted(grouped):
        measures = [Measure(templates[t], tuple(sorted(forms, key=lambda f: f.session)))
                    for t, forms in grouped[client].items()]
        measures.sort(key=lambda m: (ROLE_ORDER[m.template.role or ""], m.template.id))
        result[client] = measures
    return result


def session_numbers(measures: Sequence[Measure]) -> list[int]:
    """Every session from the client's first form to the last, gaps included."""
    present = {form.session for measure in measures for form in measure.forms}
    return list(range(min(present), max(present) + 1)) if present else []


def session_day(measures: Sequence[Measure], session: int) -> str | None:
    """A session's day: from its forms, a register date first (outcome form first)."""
    forms = [f for m in measures if (f := m.form_at(session)) is not None]
    registered = [f.day for f in forms if f.dated_by == "register"]
    return (registered or [f.day for f in forms] or [None])[0]
