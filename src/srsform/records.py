"""The records every stage passes on: a page's outcome, its items, and the evidence of how
it was read. Plain frozen dataclasses; this module imports nothing heavy, so writing a CSV
or reviewing the store never loads OpenCV, NumPy or reportlab.
"""

from __future__ import annotations

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
