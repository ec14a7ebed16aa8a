"""A person's review of the store: what needs deciding, decisions appended to the
corrections trail, and the values in force.

The trail is append-only: a decision is undone by a new entry (`undo #N: why`) that
restores the value in force before decision N. The value in force for an item is the
machine reading until a person decides, then the latest decision. A decision about a page
itself (it is not a form; or it is the form it was read as, when its identity was in doubt)
is a trail entry like any other, under the item key PAGE_KEY.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from ..errors import ConfigError, DecidedMeanwhile, TemplateError
from ..form.layout import LINE_LENGTH_MM
from ..form.templates import (
    FLAG_OPS,
    ROUNDING_RULES,
    FlagRule,
    load_bundled,
    load_template,
    score_mm,
)
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

NEEDS_PERSON = ("review", "unreadable")  # page statuses that may wait for a person
DUPLICATE_FLAGS = ("duplicate_page", "duplicate_serial")
# The trail's item key for a decision about a page itself. Template item keys are lower-case
# letters, digits and '_', so no item can have it.
PAGE_KEY = "(page)"
PAGE_VERDICTS = ("accept", "not_a_form")
_OPS_RE = "|".join(sorted(FLAG_OPS, key=len, reverse=True))  # "<=" before "<"
_MM_RE = re.compile(r"^([0-9]{1,3})(?:[.,]([0-9]))?$")  # 44.5 (or 44,5): one decimal at most
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
    """What a person decided: for an item, accept the value in force, a score, or missing;
    for a page itself, accept (it is the form it was read as) or not_a_form. A score set
    from a position on the line keeps that position (`mm`), noted in the trail's reason."""

    kind: str  # accept | score | missing | not_a_form
    score: float | int | None = None
    mm: float | None = None


@dataclass(frozen=True)
class ReviewItem:
    """One decision waiting for a person: an item, or (key None) the page itself."""

    page: StoredPage
    key: str | None
    position: int  # 1 = the top line; 0 for the page itself
    mm: float | None
    score: float | int | None
    status: str
    confidence: float
    reasons: tuple[str, ...]
    crop_path: str | None = None  # the line at true scale, when the scan kept evidence
    latest: int = 0  # the id of the item's latest trail entry when listed (0: none)
    order: tuple = ()  # its place in the queue (page_order, page id, position)

    @property
    def trail_key(self) -> str:
        """The key its decisions are kept under in the trail."""
        return PAGE_KEY if self.key is None else self.key


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
    """The page with the values in force, and the keys of the items a person decided
    (PAGE_KEY among them when a person decided about the page itself).

    Total and template flags are recomputed from the values in force. A page in `review`
    becomes `ok` once every item is `ok` or decided by a person (a confirmed blank too),
    and, when its review was (also) about the page itself, a person accepted the page. A page
    a person marked not a form is `not_a_form`, with no items."""
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
    verdict = replay(Value(None, result.status), by_key.get(PAGE_KEY, []))[-1]
    if verdict.by_person:
        corrected.add(PAGE_KEY)
        if verdict.status == "not_a_form":
            return _not_a_form(result, verdict), corrected
    if not corrected:
        return result, corrected
    total = _total([item.score for item in items])
    return replace(result, items=tuple(items), total=total,
                   flags=_flags(result, items, total),
                   status=_status(result, items, corrected)), corrected


def page_level_review(result: PageResult) -> bool:
    """Whether a page waits for a person about the page itself, not only its items: no items
    were read, its form serial could not be read, the same page or sheet was read before, or
    no item explains its review (a damaged scan)."""
    return result.status in NEEDS_PERSON and (
        not result.items or result.serial is None
        or any(flag in DUPLICATE_FLAGS for flag in result.flags)
        or all(item.status == "ok" for item in result.items))


def settled_by_person(result: PageResult, corrected: set[str]) -> bool:
    """Whether a page in force is `not_a_form` because a person said so (nothing waits)."""
    return result.status == "not_a_form" and PAGE_KEY in corrected


def _not_a_form(result: PageResult, verdict: Value) -> PageResult:
    score_flags = {rule.name for rule in flag_rules(result.rule, result.template) or ()}
    return replace(result, status="not_a_form", items=(), total=None,
                   flags=tuple(f for f in result.flags if f not in score_flags),
                   reasons=(*result.reasons, "a person marked the page not a form "
                            f"(correction #{verdict.correction_id})"))


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


def _status(result: PageResult, items: Sequence[ItemScore], corrected: set[str]) -> str:
    if result.status != "review":
        return result.status
    if page_level_review(result) and PAGE_KEY not in corrected:
        return "review"
    if all(item.status == "ok" or item.key in corrected for item in items):
        return "ok"
    return "review"


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
        sources = store.sources_by_path(path)
        if not sources:
            raise ConfigError(f"no stored file '{path}': name it as it was scanned, or give "
                              "the form serial")
        if len(sources) > 1:
            raise ConfigError(f"'{path}' names {len(sources)} stored files (different files "
                              "scanned under one name): give the form serial, or name the "
                              "page as FILE:PAGE by a file with the same content")
        found = store.page_at(sources[0], int(number))
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
    """Every decision still waiting for a person, most useful first: a page's decisions
    together (the page itself first, then its items top to bottom); pages that need the
    fewest decisions first (each decision then settles a page soonest), then lowest
    confidence, then in the order stored; pages with no items read last. The order is the
    reading's, so it stays put while decisions are made (see `ReviewItem.order`)."""
    return Waiting(store).queue()


class Waiting:
    """The review queue of one store, kept up to date between calls (the review page asks
    for it on every view): built again when pages were stored or read again; otherwise
    only pages with new trail entries (from any reviewer) are looked at again."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pages_version: tuple | None = None
        self._trail_seen = 0
        self._by_page: dict[int, list[ReviewItem]] = {}
        self._queue: list[ReviewItem] | None = None

    def queue(self) -> list[ReviewItem]:
        """Every decision waiting, in review_queue's order."""
        version = self.store.pages_version()
        if version != self._pages_version:
            self._build(version)
        else:
            new = self.store.corrections_after(self._trail_seen)
            for page_id in {entry.page_id for entry in new}:
                self._by_page[page_id] = pending(self.store, page_id)
            if new:
                self._trail_seen, self._queue = new[-1].id, None
        if self._queue is None:
            self._queue = sorted((entry for entries in self._by_page.values()
                                  for entry in entries), key=lambda entry: entry.order)
        return self._queue

    def _build(self, version: tuple) -> None:
        trail = self.store.corrections()
        trails: dict[int, list[Correction]] = {}
        for entry in trail:
            trails.setdefault(entry.page_id, []).append(entry)
        self._by_page = {page.page_id: _page_queue(page, result, trails.get(page.page_id, []),
                                                   crops)
                         for page, result, crops in self.store.pages_by_status(NEEDS_PERSON)}
        self._pages_version, self._queue = version, None
        self._trail_seen = trail[-1].id if trail else 0


def next_in_queue(queue: Sequence[ReviewItem], after: tuple | None) -> ReviewItem | None:
    """The first decision of `queue` after the place `after` (an `order`) in it, else (all
    after it decided or skipped) the first still waiting; None when nothing waits."""
    if after is not None:
        for entry in queue:
            if entry.order > after:
                return entry
    return queue[0] if queue else None


def page_order(result: PageResult) -> tuple[bool, int, float]:
    """Where a page's decisions come in the queue, from the page as read: pages with no items
    last; then by how many decisions it needs, and its lowest confidence among them."""
    flagged = [item for item in result.items if item.status != "ok"]
    needed = len(flagged) + (1 if page_level_review(result) else 0)
    lowest = min((item.confidence for item in flagged or result.items), default=0.0)
    return (not result.items, needed, lowest)


def pending(store: Store, page_id: int) -> list[ReviewItem]:
    """The decisions still waiting on one page, as review_queue lists them."""
    found = store.page_by_id(page_id)
    if found is None:
        return []
    page, result = found
    return _page_queue(page, result, store.corrections(page_id),
                       store.crop_paths(page_id))


def still_pending(store: Store, entry: ReviewItem) -> bool:
    """Whether a decision listed earlier still waits for a person (decisions made since may
    have settled it, or its whole page)."""
    return any(e.key == entry.key for e in pending(store, entry.page.page_id))


def _page_queue(page: StoredPage, result: PageResult, trail: Sequence[Correction],
                crops: dict[str, str]) -> list[ReviewItem]:
    in_force, corrected = apply_corrections(result, trail)
    if in_force.status not in NEEDS_PERSON:
        return []
    latest = {entry.item_key: entry.id for entry in trail}
    keys = [item.key for item in result.items]
    place = (*page_order(result), page.page_id)
    entries = []
    if page_level_review(result) and PAGE_KEY not in corrected:
        lowest = min((item.confidence for item in result.items), default=0.0)
        entries.append(ReviewItem(page, None, 0, None, None, page.status, lowest,
                                  _page_reasons(result.reasons, keys),
                                  latest=latest.get(PAGE_KEY, 0), order=(*place, 0)))
    entries += [ReviewItem(page, item.key, position, item.mm, item.score, item.status,
                           item.confidence, _item_reasons(result.reasons, item.key, keys),
                           crops.get(item.key), latest.get(item.key, 0), (*place, position))
                for position, item in enumerate(result.items, start=1)
                if item.status != "ok" and item.key not in corrected]
    return entries


def reasons_for(result: PageResult, key: str) -> tuple[str, ...]:
    """A page's reasons about one item (key PAGE_KEY: about the page itself), with those
    about the page as a whole."""
    keys = [item.key for item in result.items]
    if key == PAGE_KEY:
        return _page_reasons(result.reasons, keys)
    return _item_reasons(result.reasons, key, keys)


def _item_reasons(reasons: Sequence[str], key: str, keys: Sequence[str]) -> tuple[str, ...]:
    """The page's reasons about this item or about the page as a whole."""
    others = tuple(f"{k}: " for k in keys if k != key)
    return tuple(r for r in reasons if not r.startswith(others))


def _page_reasons(reasons: Sequence[str], keys: Sequence[str]) -> tuple[str, ...]:
    """The page's reasons about the page as a whole (those naming no item)."""
    items = tuple(f"{k}: " for k in keys)
    return tuple(r for r in reasons if not items or not r.startswith(items))


# --- decisions -------------------------------------------------------------------------

def parse_decision(text: str, rule: str | None = None) -> Decision:
    """`accept`, `missing` (or `a`, `m`), a score 0-10 (tenths only on a one_decimal rule),
    or a position on the line in mm (`44.5mm`: 0-100, one decimal at most), scored by the
    rounding rule recorded with the page's scores."""
    word = text.strip().lower()
    if word in ("a", "accept"):
        return Decision("accept")
    if word in ("m", "missing"):
        return Decision("missing")
    if word.endswith("mm"):
        return mm_decision(word[:-2], rule)
    try:
        number = float(word)
    except ValueError:
        number = math.nan
    if not 0 <= number <= 10:
        raise ValueError(f"'{text}' is not a score 0-10, a position such as 44.5mm, "
                         "'accept' or 'missing'")
    tenths = rule is not None and "one_decimal" in rule
    if abs(round(number * 10) - number * 10) > 1e-9 or (not tenths and not number.is_integer()):
        raise ValueError(f"'{text}': scores on this form are "
                         f"{'tenths' if tenths else 'whole numbers'} 0-10")
    return Decision("score", whole_number(round(number, 1)))


def mm_decision(text: str, rule: str | None) -> Decision:
    """A score set from the mark's distance from the line's left end, in mm (0-100, one
    decimal at most), by the rounding rule recorded with the page's scores."""
    written = _MM_RE.match(text.strip())
    mm = float(written.expand(r"\1.\2") if written else "nan")
    if not 0 <= mm <= LINE_LENGTH_MM:
        raise ValueError(f"'{text.strip()} mm': a position on the line is 0-"
                         f"{LINE_LENGTH_MM:g} mm, to one decimal at most (e.g. 44.5)")
    rounding = rounding_of(rule)
    if rounding is None:
        raise ValueError("the page's rounding rule is not recorded: give the score 0-10")
    return Decision("score", whole_number(score_mm(mm, rounding)), mm=mm)


def rounding_of(rule: str | None) -> str | None:
    """The rounding rule named in a recorded rule text ('srs@1.0 nearest_cm_half_up; ...')."""
    words = (rule or "").split("; ")[0].split()
    return words[-1] if len(words) == 2 and words[-1] in ROUNDING_RULES else None


def parse_page_decision(text: str) -> Decision:
    """`not_a_form` (or `not-a-form`, `n`), or `accept` (`a`: the page is the form it was
    read as)."""
    word = text.strip().lower().replace("-", "_")
    if word in ("a", "accept"):
        return Decision("accept")
    if word in ("n", "not_a_form"):
        return Decision("not_a_form")
    raise ValueError(f"'{text}': a page is decided 'not_a_form' or 'accept'")


def decide(store: Store, page: StoredPage, key: str, decision: Decision, who: str, why: str,
           seen: int | None = None) -> Correction:
    """Append a person's decision for one item, or (key PAGE_KEY) the page itself; the old
    value is the one in force. With `seen` (the id of the latest trail entry for it when it
    was shown, 0: none), refuse with DecidedMeanwhile if someone decided it since."""
    why = why.strip()  # checked as it will be stored: " undo #1: ..." is stored as an undo
    if is_undo_reason(why):
        raise ConfigError("a reason starting 'undo #N:' is kept for `srsform review undo`")
    _require(who, why)
    with store.transaction():
        trail = store.corrections(page.page_id, key)
        if seen is not None and (trail[-1].id if trail else 0) != seen:
            raise _meanwhile(page, key, trail[-1])
        current = replay(_machine(store, page, key), trail)[-1]
        if key == PAGE_KEY:
            new = _page_verdict(store, page, decision)
        elif decision.kind == "not_a_form":
            raise ConfigError("'not a form' is said of a whole page (srsform review page "
                              f"{page.ref} not_a_form)")
        elif decision.kind == "missing":
            new = Value(None, "missing")
        elif decision.kind == "score":
            new = Value(decision.score, "ok")
            if decision.mm is not None:  # the trail keeps scores; the position goes with why
                why = f"{why} ({decision.mm:.1f} mm)"
        elif current.score is not None:
            new = Value(current.score, "ok")
        elif current.status == "missing":
            new = Value(None, "missing")
        else:
            raise ConfigError(f"{page.describe()} {key} has no score to accept "
                              f"({current.status}): give a score 0-10 or 'missing'")
        return _append(store, page.page_id, key, current, new, who, why)


def _page_verdict(store: Store, page: StoredPage, decision: Decision) -> Value:
    if decision.kind == "not_a_form":
        return Value(None, "not_a_form")
    if decision.kind != "accept":
        raise ConfigError(f"{page.describe()}: a page is decided 'not_a_form' or 'accept'")
    found = store.page_by_id(page.page_id)
    assert found is not None  # the page was found by its caller
    result = found[1]
    if not result.items or not page_level_review(result):
        what = ("no items were read on it: scan it again, or mark it not_a_form"
                if not result.items else "nothing about the page itself waits: decide its "
                "items")
        raise ConfigError(f"{page.describe()} cannot be accepted as a whole: {what}")
    return Value(None, "ok")


def _meanwhile(page: StoredPage, key: str, entry: Correction) -> DecidedMeanwhile:
    what = "the page" if key == PAGE_KEY else key
    return DecidedMeanwhile(
        f"{entry.who} decided {what} of {page.describe()} meanwhile ("
        f"{format_score(entry.old_score, entry.old_status)} -> "
        f"{format_score(entry.new_score, entry.new_status)} at {entry.at}, #{entry.id}): "
        "nothing was changed; look at it again")


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
    if key == PAGE_KEY:
        return Value(None, page.status)  # the page's status as read
    found = store.machine_value(page.page_id, key)
    if found is None:
        keys = store.page_item_keys(page.page_id)
        known = f"one of {', '.join(keys)}" if keys else "none: no items were read on it"
        raise ConfigError(f"{page.describe()} has no item '{key}' (items: {known})")
    return Value(*found)


def _append(store: Store, page_id: int, key: str, old: Value, new: Value, who: str, why: str
            ) -> Correction:
    return store.append_correction(page_id, key, (old.score, old.status),
                                   (new.score, new.status), who.strip(), why.strip())


def format_score(value: float | int | None, status: str | None = None) -> str:
    """A score for people: `7`, `7 (uncertain)`, or the status when there is no score."""
    if value is None:
        return status or "-"
    return f"{whole_number(value)}" + (f" ({status})" if status and status != "ok" else "")


