"""What the interchange exports (FHIR, REDCap) share: the stored forms they can express, with
the values in force and where each came from, and each template as an instrument.

A page is expressed only when it is a form with a template and a client code: a FHIR response
hangs on a Patient and a REDCap row on a record id, and both come from the client code alone.
Other pages (a blank form, a page that is not a form) are counted, not written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from ..errors import TemplateError
from ..form.templates import Template, bundled_names, load_template
from ..records import Correction, PageFilter, PageResult, ScanOrigin
from ..store import Store
from .review import Value, pages_in_force, replay

SCALE_MIN, SCALE_MAX = 0, 10  # every template scores 0-10 (templates.py refuses others)
NOT_A_FORM = ("not_a_form", "error")


@dataclass(frozen=True)
class Form:
    """One stored form to express: the page with the values in force, the items a person
    decided and the decisions in force for them (trail order), and the scan it came from."""

    result: PageResult
    corrected: frozenset[str]
    decisions: tuple[Correction, ...]
    origin: ScanOrigin

    @property
    def template(self) -> str:
        return self.result.template or ""

    @property
    def version(self) -> str:
        """The template version the page was scored with (from its recorded rule)."""
        return rule_version(self.result.rule) or _bundled_version(self.template) or "0"


@dataclass(frozen=True)
class Instrument:
    """A template as the exports describe it: its items' keys and labels in form order."""

    id: str
    version: str
    title: str
    items: tuple[tuple[str, str], ...]  # (key, label)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.items)


def skip_reason(result: PageResult) -> str | None:
    """Why a page cannot be expressed (None: it can)."""
    if result.status in NOT_A_FORM:
        return "not a form, or not read"
    if result.template is None:
        return "no template"
    if result.client is None:
        return "no client code (a blank form)"
    return None


def gather(store: Store, where: PageFilter | None = None) -> tuple[list[Form], Counter[str]]:
    """The stored forms `where` selects that can be expressed, in store order, and how many
    selected pages were left out, by reason."""
    forms: list[Form] = []
    skipped: Counter[str] = Counter()
    for page, result, corrected, trail in pages_in_force(store, where=where):
        reason = skip_reason(result)
        origin = None if reason else store.scan_origin(page.page_id)
        if origin is None:
            skipped[reason or "no stored scan"] += 1
            continue
        forms.append(Form(result, frozenset(corrected), decisions_in_force(trail), origin))
    return forms, skipped


def decisions_in_force(trail: Sequence[Correction]) -> tuple[Correction, ...]:
    """The trail's entries that set an item's value in force (an undone decision is not)."""
    by_id = {entry.id: entry for entry in trail}
    by_key: dict[str, list[Correction]] = {}
    for entry in trail:
        by_key.setdefault(entry.item_key, []).append(entry)
    in_force = [replay(Value(None, "missing"), entries)[-1].correction_id
                for entries in by_key.values()]
    return tuple(sorted((by_id[i] for i in in_force if i is not None), key=lambda c: c.id))


def rule_version(rule: str | None) -> str | None:
    """The template version in a recorded rule ('srs@1.0 nearest_cm_half_up; ...')."""
    head = (rule or "").split(" ", 1)[0]
    _, at, version = head.partition("@")
    return version if at and version else None


def instruments_met(forms: Iterable[Form]) -> list[Instrument]:
    """One instrument per template and version met among the forms, in that order."""
    keys: dict[tuple[str, str], dict[str, None]] = {}
    for form in forms:
        met = keys.setdefault((form.template, form.version), {})
        met.update(dict.fromkeys(item.key for item in form.result.items))
    return [_instrument(template_id, version, list(met))
            for (template_id, version), met in sorted(keys.items())]


def every_instrument(forms: Iterable[Form]) -> list[Instrument]:
    """One instrument per bundled template and per other template met, by id: the same
    project definition whatever pages are exported."""
    keys: dict[str, dict[str, None]] = {name: {} for name in bundled_names()}
    versions: dict[str, str] = {}
    for form in forms:
        keys.setdefault(form.template, {}).update(
            dict.fromkeys(item.key for item in form.result.items))
        versions.setdefault(form.template, form.version)
    return [_instrument(template_id, _bundled_version(template_id) or versions[template_id],
                        list(met)) for template_id, met in sorted(keys.items())]


def _instrument(template_id: str, version: str, keys_met: Sequence[str]) -> Instrument:
    """The bundled template's items and labels, then any other item key met (labelled by
    its key): a clinic's own labels never leave it, only the neutral bundled ones."""
    template = _bundled(template_id)
    items = [(item.key, item.label) for item in template.items] if template else []
    known = {key for key, _ in items}
    items += [(key, key) for key in keys_met if key not in known]
    return Instrument(template_id, version, template.title if template else template_id,
                      tuple(items))


@cache
def _bundled(template_id: str) -> Template | None:
    if template_id not in bundled_names():
        return None
    try:
        return load_template(template_id)
    except TemplateError:
        return None


def _bundled_version(template_id: str) -> str | None:
    template = _bundled(template_id)
    return template.version if template else None
