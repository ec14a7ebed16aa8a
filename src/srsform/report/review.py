"""A person's review of the store: what needs deciding, decisions appended to the
corrections trail, and the values in force.

The trail is append-only: a decision is undone by a new entry (`undo #N: why`) that
restores the value in force before decision N. The value in force for an item is the
machine reading until a person decides, then the latest decision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from ..errors import ConfigError, TemplateError
from ..form.templates import FLAG_OPS, FlagRule, load_bundled, load_template
from ..records import (
    Correction,
    ItemScore,
    PageFilter,
    PageResult,
    StoredPage,
    is_undo_reason,
    whole_number,
)
from ..store import Store

NEEDS_PERSON = ("review", "unreadable")  # page statuses whose every item a person checks
DUPLICATE_FLAGS = ("duplicate_page", "duplicate_serial")
_OPS_RE = "|".join(sorted(FLAG_OPS, key=len, reverse=True))  # "<=" before "<"
_FLAG_RE = re.compile(rf"^(?P<name>.+): (?P<on>total|item)(?P<op>{_OPS_RE})(?P<value>[-+0-9.eE]+)$")


# --- data ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    """An item's score and status, and the correction that set it (None: the machine's)."""

    score: float | int | None
    status: str
    correction_id: int | None = None

    @property
    def by_person(self) -> bool:
        return self.correction_id is not None


@dataclass(frozen=True)
class Decision:
    """What a person decided for one item: accept the value in force, a score, or missing."""

    kind: str  # accept | score | missing
    score: float | int | None = None


@dataclass(frozen=True)
class ReviewItem:
    """One item waiting for a person (key None: a page with no items read)."""

    page: StoredPage
    key: str | None
    position: int
    mm: float | None
    score: float | int | None
    status: str
    confidence: float
    reasons: tuple[str, ...]
    crop_path: str | None = None  # the line at true scale, when the scan kept evidence


# --- the value in force ----------------------------------------------------------------

def replay(machine: Value, trail: Sequence[Correction]) -> list[Value]:
    """The value in force before the first entry and after each one (len(trail) + 1)."""
    states = [machine]
    index: dict[int, int] = {}
    for position, entry in enumerate(trail):
        index[entry.id] = position
        undone = entry.undoes
        if undone is not None and undone in index:
            states.append(states[index[undone]])  # back to what was in force before it
        else:
            states.append(Value(whole_number(entry.new_score), entry.new_status, entry.id))
    return states


def apply_corrections(result: PageResult, trail: Sequence[Correction]
                      ) -> tuple[PageResult, set[str]]:
    """The page with the values in force, and the keys of the items a person decided.

    Total and template flags are recomputed from the values in force; the page becomes
    `ok` once every item is `ok`, unless its review was for the page itself (a duplicate,
    or a QR code that could not be read)."""
    by_key: dict[str, list[Correction]] = {}
    for entry in trail:
        by_key.setdefault(entry.item_key, []).append(entry)
    items, corrected = [], set()
    for item in result.items:
        value = replay(Value(item.score, item.status), by_key.get(item.key, []))[-1]
        if value.by_person:
            corrected.add(item.key)
            item = replace(item, score=value.score, status=value.status)
        items.append(item)
    if not corrected:
        return result, corrected
    total = _total([item.score for item in items])
    return replace(result, items=tuple(items), total=total,
                   flags=_flags(result, items, total),
                   status=_status(result, items)), corrected


def _total(scores: Sequence[float | int | None]) -> float | int | None:
    if not scores or any(s is None for s in scores):
        return None
    total = sum(scores)  # type: ignore[arg-type]
    return round(total, 1) if isinstance(total, float) else total


def _flags(result: PageResult, items: Sequence[ItemScore], total: float | int | None
           ) -> tuple[str, ...]:
    rules = flag_rules(result.rule, result.template)
    if rules is None:  # the rule is unknown here: the stored flags stand
        return result.flags
    names = {rule.name for rule in rules}
    scores = [item.score for item in items]
    raised = [rule.name for rule in rules if rule.raised(scores, total)]
    return tuple(dict.fromkeys([*raised, *(f for f in result.flags if f not in names)]))


def _status(result: PageResult, items: Sequence[ItemScore]) -> str:
    page_level = result.serial is None or any(f in DUPLICATE_FLAGS for f in result.flags)
    if result.status == "review" and not page_level and all(i.status == "ok" for i in items):
        return "ok"
    return result.status


def flag_rules(rule: str | None, template_id: str | None) -> tuple[FlagRule, ...] | None:
    """The flag rules a page was scored with: read from its recorded rule text, else from
    the bundled template of its id; None when neither is known."""
    if rule:
        parts = rule.split("; ")[1:]
        matches = [_FLAG_RE.match(part) for part in parts]
        if all(matches):
            return tuple(FlagRule(m["name"], m["on"], m["op"], float(m["value"]))
                         for m in matches if m)
    if template_id:
        try:
            return load_template(template_id).flags
        except TemplateError:
            return None
    return None


def records_in_force(store: Store, sources: Sequence[tuple[int, str]] | None = None,
                     where: PageFilter | None = None
                     ) -> Iterator[tuple[PageResult, set[str]]]:
    """Stored records with the values in force, and the keys a person decided: for the given
    (source id, path as given) files in that order, or (None) every stored file in the order
    stored; only the pages `where` selects (its statuses compared in force)."""
    for _, in_force, corrected, _ in pages_in_force(store, sources, where):
        yield in_force, corrected


def pages_in_force(store: Store, sources: Sequence[tuple[int, str]] | None = None,
                   where: PageFilter | None = None
                   ) -> Iterator[tuple[StoredPage, PageResult, set[str], list[Correction]]]:
    """As records_in_force, with each page's identity and its whole corrections trail."""
    for page, result in store.pages(sources, where):
        trail = store.corrections(page.page_id)
        in_force, corrected = apply_corrections(result, trail)
        if where is None or not where.statuses or in_force.status in where.statuses:
            yield page, in_force, corrected, trail


@dataclass(frozen=True)
class FormInForce:
    """A stored page as read by the machine and with the values in force, and for each item
    whose value in force a person set, the decision that set it."""

    page: StoredPage
    machine: PageResult
    in_force: PageResult
    decisions: Mapping[str, Correction]


def decisions_in_force(result: PageResult, trail: Sequence[Correction]
                       ) -> dict[str, Correction]:
    """Item key -> the trail entry whose value is in force, for the items a person decided
    (an item whose decisions were all undone is back to the machine's and is not listed)."""
    by_id = {entry.id: entry for entry in trail}
    decided = {}
    for item in result.items:
        entries = [entry for entry in trail if entry.item_key == item.key]
        value = replay(Value(item.score, item.status), entries)[-1]
        if value.correction_id is not None:
            decided[item.key] = by_id[value.correction_id]
    return decided


def forms_in_force(store: Store, where: PageFilter | None = None) -> Iterator[FormInForce]:
    """Every stored page (or those `where` selects, its statuses compared in force), in the
    order stored, with its machine reading, the values in force and the decisions in force."""
    for page, result in store.pages(None, where):
        trail = store.corrections(page.page_id)
        in_force = apply_corrections(result, trail)[0]
        if where is None or not where.statuses or in_force.status in where.statuses:
            yield FormInForce(page, result, in_force, decisions_in_force(result, trail))


def item_keys(store: Store) -> list[str]:
    """Every item key a form may have: the bundled templates' keys, then any other stored."""
    keys = [item.key for template in load_bundled() for item in template.items]
    return list(dict.fromkeys([*keys, *store.item_keys()]))


# --- naming a page ---------------------------------------------------------------------

def find_page(store: Store, ref: str) -> StoredPage:
    """A stored page by form serial, or by `path:page` (the path as scanned, or any file
    with the same content)."""
    path, _, number = ref.rpartition(":")
    if path and number.isdigit():
        source_id = store.source_by_path(path)
        if source_id is None:
            raise ConfigError(f"no stored file '{path}': name it as it was scanned, or give "
                              "the form serial")
        found = store.page_at(source_id, int(number))
        if found is None:
            raise ConfigError(f"'{path}' has no stored page {number}")
        return found[0]
    pages = [page for page, _ in store.pages_with_serial(ref)]
    if not pages:
        raise ConfigError(f"no stored form with serial '{ref}' (name a page as PATH:PAGE, "
                          "e.g. scans/stack.pdf:2)")
    if len(pages) > 1:
        names = ", ".join(p.ref for p in pages)
        raise ConfigError(f"serial '{ref}' was read from {len(pages)} pages ({names}): name "
                          "one as PATH:PAGE")
    return pages[0]


# --- what needs a person -----------------------------------------------------------------

def review_queue(store: Store) -> list[ReviewItem]:
    """Items no person has decided whose reading is not `ok` or whose page (with the values
    in force) is `review` or `unreadable`, lowest confidence first; then pages with no
    items read."""
    queue, pages_only = [], []
    for page, result in store.pages():
        entries = _page_queue(store, page, result)
        if entries and entries[0].key is None:
            pages_only += entries
        else:
            queue += entries
    queue.sort(key=lambda i: (i.confidence, i.page.page_id, i.position))
    return queue + pages_only


def still_pending(store: Store, entry: ReviewItem) -> bool:
    """Whether an item listed earlier still waits for a person (decisions made since may
    have settled it, or its whole page)."""
    found = store.page_by_id(entry.page.page_id)
    return found is not None and any(e.key == entry.key for e in _page_queue(store, *found))


def _page_queue(store: Store, page: StoredPage, result: PageResult) -> list[ReviewItem]:
    if not result.items:
        if page.status not in NEEDS_PERSON:
            return []
        return [ReviewItem(page, None, 0, None, None, page.status, 0.0, result.reasons)]
    in_force, corrected = apply_corrections(result, store.corrections(page.page_id))
    crops = store.crop_paths(page.page_id)
    keys = [item.key for item in result.items]
    return [ReviewItem(page, item.key, position, item.mm, item.score, item.status,
                       item.confidence, _item_reasons(result.reasons, item.key, keys),
                       crops.get(item.key))
            for position, item in enumerate(result.items, start=1)
            if item.key not in corrected
            and (item.status != "ok" or in_force.status in NEEDS_PERSON)]


def _item_reasons(reasons: Sequence[str], key: str, keys: Sequence[str]) -> tuple[str, ...]:
    """The page's reasons about this item or about the page as a whole."""
    others = tuple(f"{k}: " for k in keys if k != key)
    return tuple(r for r in reasons if not r.startswith(others))


# --- decisions -------------------------------------------------------------------------

def parse_decision(text: str, rule: str | None = None) -> Decision:
    """`accept`, `missing` (or `a`, `m`) or a score 0-10 (tenths only on a one_decimal rule)."""
    word = text.strip().lower()
    if word in ("a", "accept"):
        return Decision("accept")
    if word in ("m", "missing"):
        return Decision("missing")
    try:
        number = float(word)
    except ValueError:
        number = math.nan
    if not 0 <= number <= 10:
        raise ValueError(f"'{text}' is not a score 0-10, 'accept' or 'missing'")
    tenths = rule is not None and "one_decimal" in rule
    if abs(round(number * 10) - number * 10) > 1e-9 or (not tenths and not number.is_integer()):
        raise ValueError(f"'{text}': scores on this form are "
                         f"{'tenths' if tenths else 'whole numbers'} 0-10")
    return Decision("score", whole_number(round(number, 1)))


def decide(store: Store, page: StoredPage, key: str, decision: Decision, who: str, why: str
           ) -> Correction:
    """Append a person's decision for one item; the old value is the one in force."""
    why = why.strip()  # checked as it will be stored: " undo #1: ..." is stored as an undo
    if is_undo_reason(why):
        raise ConfigError("a reason starting 'undo #N:' is kept for `srsform review undo`")
    _require(who, why)
    with store.transaction():
        current = _in_force(store, page, key)
        if decision.kind == "missing":
            new = Value(None, "missing")
        elif decision.kind == "score":
            new = Value(decision.score, "ok")
        elif current.score is not None:
            new = Value(current.score, "ok")
        elif current.status == "missing":
            new = Value(None, "missing")
        else:
            raise ConfigError(f"{page.describe()} {key} has no score to accept "
                              f"({current.status}): give a score 0-10 or 'missing'")
        return _append(store, page.page_id, key, current, new, who, why)


def undo(store: Store, correction_id: int, who: str, why: str) -> Correction:
    """Append an entry restoring the value in force before correction `correction_id`,
    which must be the latest for its item."""
    _require(who, why)
    with store.transaction():
        undone = store.correction(correction_id)
        if undone is None:
            raise ConfigError(f"there is no correction #{correction_id} (see `srsform "
                              "review trail`)")
        page_id, key = undone.page_id, undone.item_key
        entries = store.corrections(page_id, key)
        if entries[-1].id != correction_id:
            raise ConfigError(f"correction #{correction_id} is not the latest for {key} on "
                              f"that page: undo #{entries[-1].id} first")
        found = store.page_by_id(page_id)
        assert found is not None  # the trail's foreign key keeps its page
        states = replay(_machine(store, found[0], key), entries)
        restored = states[len(entries) - 1]
        return _append(store, page_id, key, states[-1], restored, who,
                       f"undo #{correction_id}: {why}")


def _require(who: str, why: str) -> None:
    if not who.strip():
        raise ConfigError("say who decides (--who)")
    if not why.strip():
        raise ConfigError("say why (--why): it is kept with the decision")


def _machine(store: Store, page: StoredPage, key: str) -> Value:
    found = store.machine_value(page.page_id, key)
    if found is None:
        keys = store.page_item_keys(page.page_id)
        known = f"one of {', '.join(keys)}" if keys else "none: no items were read on it"
        raise ConfigError(f"{page.describe()} has no item '{key}' (items: {known})")
    return Value(*found)


def _in_force(store: Store, page: StoredPage, key: str) -> Value:
    return replay(_machine(store, page, key), store.corrections(page.page_id, key))[-1]


def _append(store: Store, page_id: int, key: str, old: Value, new: Value, who: str, why: str
            ) -> Correction:
    return store.append_correction(page_id, key, (old.score, old.status),
                                   (new.score, new.status), who.strip(), why.strip())


def format_score(value: float | int | None, status: str | None = None) -> str:
    """A score for people: `7`, `7 (uncertain)`, or the status when there is no score."""
    if value is None:
        return status or "-"
    return f"{whole_number(value)}" + (f" ({status})" if status and status != "ok" else "")


