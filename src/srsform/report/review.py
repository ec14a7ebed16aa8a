"""A person's review of the store: what needs deciding, decisions appended to the
corrections trail, the values in force, and an audit against independently keyed scores.

The trail is append-only: a decision is undone by a new entry (`undo #N: why`) that
restores the value in force before decision N. The value in force for an item is the
machine reading until a person decides, then the latest decision.
"""

from __future__ import annotations

import csv
import math
import os
import re
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError, TemplateError
from ..form.templates import FLAG_OPS, FlagRule, load_bundled, load_template
from ..read.score import _flag_raised
from ..records import ItemScore, PageResult
from ..store import Store, file_sha256

NEEDS_PERSON = ("review", "unreadable")  # page statuses whose every item a person checks
DUPLICATE_FLAGS = ("duplicate_page", "duplicate_serial")
_UNDO_RE = re.compile(r"^undo #(\d+):")
_OPS_RE = "|".join(sorted(FLAG_OPS, key=len, reverse=True))  # "<=" before "<"
_FLAG_RE = re.compile(rf"^(?P<name>.+): (?P<on>total|item)(?P<op>{_OPS_RE})(?P<value>[-+0-9.eE]+)$")


# --- data ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Correction:
    """One row of the corrections trail."""

    id: int
    page_id: int
    item_key: str
    old_score: float | int | None
    new_score: float | int | None
    old_status: str | None
    new_status: str
    who: str
    at: str
    why: str

    @property
    def undoes(self) -> int | None:
        """The id of the correction this entry undoes, if it is an undo."""
        match = _UNDO_RE.match(self.why)
        return int(match.group(1)) if match else None


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
class StoredPage:
    """A stored page's identity, as a person names it."""

    page_id: int
    source: str
    page: int
    status: str
    serial: str | None
    rule: str | None
    evidence_path: str | None = None

    @property
    def ref(self) -> str:
        """`path:page`, the name `srsform review set` accepts."""
        return f"{self.source}:{self.page}"

    def describe(self) -> str:
        serial = f" (serial {self.serial})" if self.serial else ""
        return f"{self.source} page {self.page}{serial}"


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
            states.append(Value(_number(entry.new_score), entry.new_status, entry.id))
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
    raised = [rule.name for rule in rules if _flag_raised(rule, items, total)]
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


def records_in_force(store: Store, sources: Sequence[tuple[int, str]] | None = None
                     ) -> Iterator[tuple[PageResult, set[str]]]:
    """Stored records with the values in force, and the keys a person decided: for the given
    (source id, path as given) files in that order, or (None) every stored file in the order
    stored."""
    for page, result in _stored_pages(store, sources):
        yield apply_corrections(result, trail(store, page.page_id))


def item_keys(store: Store) -> list[str]:
    """Item columns for a wide export: the bundled templates' keys, then any other stored."""
    keys = [item.key for template in load_bundled() for item in template.items]
    stored = [k for (k,) in store.db.execute(
        "SELECT key FROM items GROUP BY key ORDER BY MIN(position), MIN(id)")]
    return list(dict.fromkeys([*keys, *stored]))


# --- reading the store -----------------------------------------------------------------

def _has_column(store: Store, table: str, column: str) -> bool:
    return any(row[1] == column for row in store.db.execute(f"PRAGMA table_info({table})"))


def _stored_pages(store: Store, sources: Sequence[tuple[int, str]] | None = None
                  ) -> Iterator[tuple[StoredPage, PageResult]]:
    """Stored pages of (source id, label) sources (None: all, in the order stored)."""
    if sources is None:
        sources = store.db.execute("SELECT id, path FROM sources ORDER BY id").fetchall()
    evidence = "evidence_path" if _has_column(store, "pages", "evidence_path") else "NULL"
    for source_id, label in sources:
        pages = {row[1]: StoredPage(row[0], label, *row[1:5], _beside(store, row[5]))
                 for row in store.db.execute(
                     f"SELECT id, page_index, status, serial, rule, {evidence} FROM pages "
                     "WHERE source_id=?", (source_id,))}
        for result in store.records(source_id, label):
            yield pages[result.page], result


def _beside(store: Store, relative: str | None) -> str | None:
    """An evidence file's path as a person can open it (stored relative to the store)."""
    return str(store.path.parent / relative) if relative else None


def _crop_paths(store: Store, page_id: int) -> dict[str, str]:
    """Item key -> its line crop, when the store keeps them."""
    if not _has_column(store, "items", "crop_path"):
        return {}
    rows = store.db.execute("SELECT key, crop_path FROM items WHERE page_id=? AND crop_path "
                            "IS NOT NULL", (page_id,))
    return {key: _beside(store, path) or "" for key, path in rows}


def trail(store: Store, page_id: int | None = None, item_key: str | None = None
          ) -> list[Correction]:
    """Corrections in the order they were made: all, one page's, or one item's."""
    query = ("SELECT id, page_id, item_key, old_score, new_score, old_status, new_status, "
             "who, at, why FROM corrections")
    where, args = [], []
    if page_id is not None:
        where.append("page_id=?")
        args.append(page_id)
    if item_key is not None:
        where.append("item_key=?")
        args.append(item_key)
    if where:
        query += " WHERE " + " AND ".join(where)
    return [Correction(*row) for row in store.db.execute(query + " ORDER BY id", args)]


def page_refs(store: Store) -> dict[int, str]:
    """Page id -> `path:page`, for every stored page."""
    rows = store.db.execute("SELECT p.id, s.path, p.page_index FROM pages p JOIN sources s "
                            "ON s.id=p.source_id")
    return {page_id: f"{path}:{page}" for page_id, path, page in rows}


def find_page(store: Store, ref: str) -> StoredPage:
    """A stored page by form serial, or by `path:page` (the path as scanned, or any file
    with the same content)."""
    path, _, number = ref.rpartition(":")
    if path and number.isdigit():
        source_id = _source_by_path(store, path)
        if source_id is None:
            raise ConfigError(f"no stored file '{path}': name it as it was scanned, or give "
                              "the form serial")
        found = [p for p, _ in _pages_where(store, "p.source_id=? AND p.page_index=?",
                                            (source_id, int(number)))]
        if not found:
            raise ConfigError(f"'{path}' has no stored page {number}")
        return found[0]
    found = [p for p, _ in _pages_where(store, "p.serial=?", (ref,))]
    if not found:
        raise ConfigError(f"no stored form with serial '{ref}' (name a page as PATH:PAGE, "
                          "e.g. scans/stack.pdf:2)")
    if len(found) > 1:
        names = ", ".join(p.ref for p in found)
        raise ConfigError(f"serial '{ref}' was read from {len(found)} pages ({names}): name "
                          "one as PATH:PAGE")
    return found[0]


def _source_by_path(store: Store, path: str) -> int | None:
    row = store.db.execute("SELECT id FROM sources WHERE path=? ORDER BY id", (path,)
                           ).fetchone()
    if row is None and os.path.isfile(path):
        found = store.source(file_sha256(path))
        return found[0] if found else None
    return row[0] if row else None


def _pages_where(store: Store, condition: str, args: tuple
                 ) -> Iterator[tuple[StoredPage, PageResult]]:
    sources = store.db.execute(
        "SELECT DISTINCT p.source_id, s.path FROM pages p JOIN sources s ON s.id=p.source_id "
        f"WHERE {condition} ORDER BY p.source_id", args).fetchall()
    wanted = {row[0] for row in store.db.execute(f"SELECT p.id FROM pages p WHERE {condition}",
                                                 args)}
    for page, result in _stored_pages(store, sources):
        if page.page_id in wanted:
            yield page, result


# --- what needs a person -----------------------------------------------------------------

def review_queue(store: Store) -> list[ReviewItem]:
    """Items no person has decided whose reading is not `ok` or whose page (with the values
    in force) is `review` or `unreadable`, lowest confidence first; then pages with no
    items read."""
    queue, pages_only = [], []
    for page, result in _stored_pages(store):
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
    pages = _pages_where(store, "p.id=?", (entry.page.page_id,))
    return any(e.key == entry.key for page, result in pages
               for e in _page_queue(store, page, result))


def _page_queue(store: Store, page: StoredPage, result: PageResult) -> list[ReviewItem]:
    if not result.items:
        if page.status not in NEEDS_PERSON:
            return []
        return [ReviewItem(page, None, 0, None, None, page.status, 0.0, result.reasons)]
    entries = trail(store, page.page_id)
    in_force, corrected = apply_corrections(result, entries)
    crops = _crop_paths(store, page.page_id)
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
    return Decision("score", _number(round(number, 1)))


def decide(store: Store, page: StoredPage, key: str, decision: Decision, who: str, why: str
           ) -> Correction:
    """Append a person's decision for one item; the old value is the one in force."""
    if _UNDO_RE.match(why):
        raise ConfigError("a reason starting 'undo #N:' is kept for `srsform review undo`")
    _require(who, why)
    with _transaction(store):
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
    with _transaction(store):
        row = store.db.execute("SELECT page_id, item_key FROM corrections WHERE id=?",
                               (correction_id,)).fetchone()
        if row is None:
            raise ConfigError(f"there is no correction #{correction_id} (see `srsform "
                              "review trail`)")
        page_id, key = row
        entries = trail(store, page_id, key)
        if entries[-1].id != correction_id:
            raise ConfigError(f"correction #{correction_id} is not the latest for {key} on "
                              f"that page: undo #{entries[-1].id} first")
        page = next(p for p, _ in _pages_where(store, "p.id=?", (page_id,)))
        states = replay(_machine(store, page, key), entries)
        restored = states[len(entries) - 1]
        return _append(store, page_id, key, states[-1], restored, who,
                       f"undo #{correction_id}: {why}")


def _require(who: str, why: str) -> None:
    if not who.strip():
        raise ConfigError("say who decides (--who)")
    if not why.strip():
        raise ConfigError("say why (--why): it is kept with the decision")


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (reads and write as one)."""

    def __init__(self, store: Store) -> None:
        self.db = store.db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _machine(store: Store, page: StoredPage, key: str) -> Value:
    row = store.db.execute("SELECT score, status FROM items WHERE page_id=? AND key=?",
                           (page.page_id, key)).fetchone()
    if row is None:
        keys = [k for (k,) in store.db.execute(
            "SELECT key FROM items WHERE page_id=? ORDER BY position", (page.page_id,))]
        known = f"one of {', '.join(keys)}" if keys else "none: no items were read on it"
        raise ConfigError(f"{page.describe()} has no item '{key}' (items: {known})")
    return Value(_number(row[0]), row[1])


def _in_force(store: Store, page: StoredPage, key: str) -> Value:
    return replay(_machine(store, page, key), trail(store, page.page_id, key))[-1]


def _append(store: Store, page_id: int, key: str, old: Value, new: Value, who: str, why: str
            ) -> Correction:
    at = datetime.now(UTC).isoformat(timespec="seconds")
    cursor = store.db.execute(
        "INSERT INTO corrections (page_id, item_key, old_score, new_score, old_status, "
        "new_status, who, at, why) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (page_id, key, old.score, new.score, old.status, new.status, who.strip(), at,
         why.strip()))
    return Correction(int(cursor.lastrowid), page_id, key, old.score, new.score, old.status,
                      new.status, who.strip(), at, why.strip())


def _number(value: float | int | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def format_score(value: float | int | None, status: str | None = None) -> str:
    """A score for people: `7`, `7 (uncertain)`, or the status when there is no score."""
    if value is None:
        return status or "-"
    return f"{_number(value)}" + (f" ({status})" if status and status != "ok" else "")


# --- audit against independently keyed scores ---------------------------------------------

@dataclass(frozen=True)
class Discrepancy:
    page: StoredPage
    item: str  # an item key, or "total"
    stored: float | int | None
    stored_status: str
    keyed: float
    corrected: bool
    evidence: str | None = None  # the item's line crop, else the annotated page

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.page.source, "page": self.page.page, "serial": self.page.serial,
                "item": self.item, "stored": self.stored, "stored_status": self.stored_status,
                "keyed": _number(self.keyed), "corrected": self.corrected,
                "evidence": self.evidence}


@dataclass(frozen=True)
class Agreement:
    """Agreement of stored with keyed scores (differences are stored - keyed)."""

    compared: int
    exact: int
    within_one: int
    differences: tuple[float, ...]  # where both have a score

    def to_dict(self) -> dict[str, Any]:
        mean, low, high = self.limits()
        return {"compared": self.compared,
                "exact_pct": _pct(self.exact, self.compared),
                "within_one_pct": _pct(self.within_one, self.compared),
                "with_both_scores": len(self.differences), "mean_difference": mean,
                "limits_of_agreement": None if low is None else [low, high]}

    def limits(self) -> tuple[float | None, float | None, float | None]:
        """Mean difference and Bland-Altman 95% limits (mean +/- 1.96 SD)."""
        if not self.differences:
            return None, None, None
        mean = statistics.fmean(self.differences)
        if len(self.differences) < 2:
            return round(mean, 3), None, None
        spread = 1.96 * statistics.stdev(self.differences)
        return round(mean, 3), round(mean - spread, 3), round(mean + spread, 3)


@dataclass(frozen=True)
class AuditReport:
    keyed_file: str
    keyed_rows: int
    forms_matched: int
    unmatched: tuple[str, ...]  # keyed rows no stored form matched, as "line N: id"
    items: Agreement
    totals: Agreement
    discrepancies: tuple[Discrepancy, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"keyed_file": self.keyed_file, "keyed_rows": self.keyed_rows,
                "forms_matched": self.forms_matched, "keyed_rows_unmatched": list(self.unmatched),
                "items": self.items.to_dict(), "totals": self.totals.to_dict(),
                "discrepancies": [d.to_dict() for d in self.discrepancies]}


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class _Tally:
    def __init__(self) -> None:
        self.compared = self.exact = self.within_one = 0
        self.differences: list[float] = []

    def add(self, stored: float | int | None, keyed: float) -> bool:
        """Count one pair; True when they agree exactly."""
        self.compared += 1
        if stored is None:
            return False
        difference = float(stored) - keyed
        self.differences.append(difference)
        agree = abs(difference) < 1e-9
        self.exact += int(agree)
        self.within_one += int(abs(difference) <= 1 + 1e-9)
        return agree

    def result(self) -> Agreement:
        return Agreement(self.compared, self.exact, self.within_one, tuple(self.differences))


def audit_keyed(store: Store, keyed_path: str | Path) -> AuditReport:
    """Compare the values in force with scores keyed by hand from the paper forms.

    The keyed CSV identifies a form by `serial`, or by `client` + `session`; its item
    columns are named by item key, and it may have a `total` column. Blank cells are not
    compared."""
    path = Path(keyed_path)
    header, rows = _read_keyed(path)
    value_columns = [c for c in header if c in set(item_keys(store)) | {"total"}]
    if not value_columns:
        raise ConfigError(f"{path}: no score columns: name them by item key (e.g. "
                          f"{', '.join(item_keys(store)[:4])}) or 'total'")
    pages = {page.page_id: (page, *apply_corrections(result, trail(store, page.page_id)))
             for page, result in _stored_pages(store)}
    items, totals = _Tally(), _Tally()
    discrepancies: list[Discrepancy] = []
    unmatched: list[str] = []
    matched: set[int] = set()
    for line, row in rows:
        page_ids, name = _match(store, path, line, row)
        if not page_ids:
            unmatched.append(f"line {line}: {name}")
        for page_id in page_ids:
            matched.add(page_id)
            page, result, corrected = pages[page_id]
            for column in value_columns:
                keyed = _keyed_value(path, line, column, row.get(column, ""))
                if keyed is None:
                    continue
                if column == "total":
                    stored, tally = result.total, totals
                    status = "incomplete" if stored is None else "ok"
                else:
                    item = next((i for i in result.items if i.key == column), None)
                    if item is None:
                        continue
                    stored, status, tally = item.score, item.status, items
                if not tally.add(stored, keyed):
                    evidence = _crop_paths(store, page_id).get(column) or page.evidence_path
                    discrepancies.append(Discrepancy(page, column, stored, status, keyed,
                                                     column in corrected, evidence))
    if not matched:
        raise ConfigError(f"{path}: no keyed row matched a stored form (by serial, or client "
                          "and session): is --db the store these forms were scanned into?")
    return AuditReport(str(path), len(rows), len(matched), tuple(unmatched), items.result(),
                       totals.result(), tuple(discrepancies))


def _read_keyed(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, [])]
            rows = [(reader.line_num, dict(zip(header, (v.strip() for v in values),
                                               strict=False)))
                    for values in reader if any(v.strip() for v in values)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read the keyed file {path}: {exc}") from None
    if not header:
        raise ConfigError(f"{path}: the keyed file is empty (expected a header row)")
    if "serial" not in header:
        lacking = [c for c in ("client", "session") if c not in header]
        if lacking:
            raise ConfigError(f"{path}: no 'serial' column, and no '{lacking[0]}' column to "
                              "identify forms by client and session: add one of them")
    return header, rows


def _match(store: Store, path: Path, line: int, row: dict[str, str]) -> tuple[list[int], str]:
    """Stored page ids a keyed row names, and how the row named them."""
    if row.get("serial"):
        ids = store.db.execute("SELECT id FROM pages WHERE serial=? ORDER BY id",
                               (row["serial"],)).fetchall()
        return [i for (i,) in ids], f"serial {row['serial']}"
    client, session = row.get("client", ""), row.get("session", "")
    if not (client and session):
        return [], "no serial, client or session"
    if not session.isdigit():
        raise ConfigError(f"{path} line {line}, column 'session': '{session}' is not a "
                          "session number")
    ids = store.db.execute("SELECT id FROM pages WHERE client=? AND session=? ORDER BY id",
                           (client, int(session))).fetchall()
    return [i for (i,) in ids], f"client {client} session {session}"


def _keyed_value(path: Path, line: int, column: str, text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (column != "total" and value > 10):
        kind = "a total" if column == "total" else "a score 0-10"
        raise ConfigError(f"{path} line {line}, column '{column}': '{text}' is not {kind}")
    return value


def format_audit(report: AuditReport) -> str:
    """The audit for people: counts, agreement statistics, then every discrepancy."""
    lines = [f"audit against {report.keyed_file}",
             f"forms matched: {report.forms_matched}; keyed rows: {report.keyed_rows}, "
             f"unmatched: {len(report.unmatched)}"]
    lines += [f"  unmatched {entry}" for entry in report.unmatched]
    for name, agreement in (("items", report.items), ("totals", report.totals)):
        if agreement.compared:
            lines.append(_format_agreement(name, agreement))
    lines.append(f"discrepancies: {len(report.discrepancies)}")
    for d in report.discrepancies:
        note = " (a person's correction)" if d.corrected else ""
        where = f"; evidence: {d.evidence}" if d.evidence else ""
        lines.append(f"  {d.page.describe()} {d.item}: stored "
                     f"{format_score(d.stored, d.stored_status)}{note}, keyed "
                     f"{format_score(d.keyed)}{where}")
    return "\n".join(lines)


def _format_agreement(name: str, agreement: Agreement) -> str:
    mean, low, high = agreement.limits()
    text = (f"{name} compared: {agreement.compared}; exact agreement "
            f"{_pct(agreement.exact, agreement.compared)}%, within one point "
            f"{_pct(agreement.within_one, agreement.compared)}%")
    if mean is not None:
        text += f"; mean difference (stored - keyed) {mean:+.2f}"
    if low is not None and high is not None:
        text += f", 95% limits of agreement {low:+.2f} to {high:+.2f}"
    return text
