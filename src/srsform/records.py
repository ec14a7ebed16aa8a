"""The records every stage passes on: a page's outcome, its items, and the evidence of how
it was read. Plain frozen dataclasses; this module imports nothing heavy, so writing a CSV
or reviewing the store never loads OpenCV, NumPy or reportlab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PAGE_STATUSES = ("ok", "review", "not_a_form", "unreadable", "error")
ITEM_STATUSES = ("ok", "missing", "multiple", "uncertain")


@dataclass(frozen=True)
class ItemScore:
    """One item as read and scored: `mm` and `score` are None when no single mark was read."""

    key: str
    mm: float | None
    score: float | int | None
    status: str  # ok | missing | multiple | uncertain
    confidence: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class LineCrop:
    """One line's zone, upright: its JPEG, and where the line and mark lie in it (mm)."""

    key: str
    jpeg: bytes
    zone_x_mm: float  # form x of the crop's left edge
    left_end_mm: float  # detected line ends, form x
    right_end_mm: float
    mark_x_mm: float | None  # form x of the mark read (None when no single mark)


@dataclass(frozen=True)
class Evidence:
    """The annotated page (JPEG) and one crop per line: what a person checks a reading by."""

    page_jpeg: bytes
    crops: tuple[LineCrop, ...]


@dataclass(frozen=True)
class PageResult:
    """One input page's outcome: the record the store and the exports are made from."""

    source: str
    page: int
    status: str
    template: str | None = None
    layout: str | None = None
    serial: str | None = None
    client: str | None = None
    session: int | None = None
    rotation: int | None = None
    print_scale: float | None = None
    items: tuple[ItemScore, ...] = ()
    total: float | int | None = None
    flags: tuple[str, ...] = ()
    rule: str | None = None
    reasons: tuple[str, ...] = field(default=())
    image_sha256: str | None = None  # the decoded page image, to recognise it again
    evidence: Evidence | None = field(default=None, repr=False, compare=False)
    date: str | None = None  # the session date (ISO), from the printed-forms register


@dataclass(frozen=True)
class PrintedForm:
    """One page `srsform print` made: what the printed-forms register keeps of it."""

    serial: str
    template: str
    template_version: str
    layout: str
    client: str | None
    session: int | None
    date: str | None  # the session date (ISO) from the roster
    paper: str
    printed_at: str = ""  # UTC, set by the store


@dataclass(frozen=True)
class PageFilter:
    """Which stored pages a command takes: each given criterion must hold (empty: all).

    Dates are ISO days, inclusive; a page's date is its session date from the printed-forms
    register, else the day it was scanned (UTC). Statuses are compared in force (after a
    person's corrections)."""

    clients: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    statuses: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.clients or self.templates or self.since or self.until
                    or self.statuses)

    def describe(self) -> str:
        """The criteria as a person gave them, e.g. `--client C1 --since 2026-01-01`."""
        parts = [f"--client {c}" for c in self.clients]
        parts += [f"--template {t}" for t in self.templates]
        parts += [f"--since {self.since}"] if self.since else []
        parts += [f"--until {self.until}"] if self.until else []
        parts += [f"--status {s}" for s in self.statuses]
        return " ".join(parts)


# --- what the store gives back besides page records ---------------------------------------

_UNDO_RE = re.compile(r"^undo #(\d+):")


def whole_number(value: float | int | None) -> float | int | None:
    """Scores and totals are kept as REAL; whole ones are given back as int (7, not 7.0)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def is_undo_reason(why: str) -> bool:
    """Whether a reason has the form kept for undo entries (`undo #N: why`)."""
    return _UNDO_RE.match(why) is not None


@dataclass(frozen=True)
class Correction:
    """One row of the append-only corrections trail: a person's decision on one item."""

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
class StoredPage:
    """A stored page's identity, as a person names it."""

    page_id: int
    source: str
    page: int
    status: str
    serial: str | None
    rule: str | None
    evidence_path: str | None = None  # the annotated page, as a person can open it

    @property
    def ref(self) -> str:
        """`path:page`, the name `srsform review set` accepts."""
        return f"{self.source}:{self.page}"

    def describe(self) -> str:
        serial = f" (serial {self.serial})" if self.serial else ""
        return f"{self.source} page {self.page}{serial}"


@dataclass(frozen=True, slots=True)
class SessionPage:
    """A stored page of one client's session, as the clinician report reads it: the machine
    record (its `date` the register's session date), its items' corrections trail, when it
    was read and by which scan run."""

    page_id: int
    result: PageResult
    corrections: tuple[Correction, ...]
    scanned_at: str  # UTC, ISO
    scan_run: int | None  # None: stored before srsform recorded scan runs

    @property
    def day(self) -> str:
        """The session's day: the register's session date, else the day it was scanned."""
        return self.result.date or self.scanned_at[:10]


@dataclass(frozen=True)
class ScanOrigin:
    """Where a stored page came from: its file's content hash, the page in that file, and
    when it was read (UTC). What a provenance record names, never the file's path."""

    sha256: str
    page: int
    scanned_at: str


@dataclass(frozen=True)
class AuditItem:
    """One stored item with where its evidence crop shows the line ends and the mark."""

    key: str
    mm: float | None
    score: float | None
    status: str
    confidence: float
    crop_path: str | None  # relative to the store's folder
    crop_x_mm: float | None
    left_end_mm: float | None
    right_end_mm: float | None
    mark_x_mm: float | None
    corrected: bool


@dataclass(frozen=True)
class AuditPage:
    """One stored page as the audit report shows it (machine readings and evidence)."""

    page_id: int
    source: str
    page: int
    status: str
    template: str | None
    serial: str | None
    client: str | None
    session: int | None
    print_scale: float | None
    total: float | None
    flags: tuple[str, ...]
    reasons: tuple[str, ...]
    evidence_path: str | None  # relative to the store's folder
    scanned_at: str
    items: tuple[AuditItem, ...]
