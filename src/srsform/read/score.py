"""Measurements + template rules -> item scores, total and flags. Pure functions.

Scores come from the measured millimetres by the template's rounding rule, halves
rounding up (45.0 mm scores 5): never Python's round(), which rounds halves to even.

Near a score boundary the review policy applies (`boundary_check`): the truth lies within
BOUNDARY_SIGMAS sigma of the reading. Where that reaches past a boundary by no more than
the template's margin, no person could settle it better than the reader (a ruler is off by
1 mm in a third of readings): the rounding rule's score stands, with a `near_boundary`
note. Where it reaches further (a blurred mark with a wide error bar), the item is
`uncertain` and goes to a person.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..form.layout import LINE_LENGTH_MM
from ..form.templates import Template, score_mm
from ..records import ItemScore
from .measure import LineMeasurement

# The truth lies within this many of the reader's sigmas of its reading. The sigma is
# calibrated (bench/calibrate.py: errors / sigma have an SD of about 1), but the errors'
# tails are heavier than a normal's (check marks): 0.3-0.5% of clear readings on held-out
# stacks lie beyond 3.5 sigma, as 0.27% of a normal's lie beyond 3 (see bench/README.md).
BOUNDARY_SIGMAS = 3.5
NEAR_BOUNDARY_FLAG = "near_boundary"  # page flag: an ok item's score rests on the rounding rule
NEAR_BOUNDARY_NOTE = "near_boundary"  # how an item's note on it begins
WITHIN_INK_NOTE = "within_ink"  # how the note on a score its ink's extent settled begins
UNCERTAIN_FACTOR = 0.6  # confidence kept when the boundary sends an item to a person


@dataclass(frozen=True)
class Scored:
    items: tuple[ItemScore, ...]
    total: float | int | None
    flags: tuple[str, ...]
    rule: str


def score_span(score: float | int, rounding: str) -> tuple[float, float]:
    """The positions (mm) that score `score` exactly: [low, high). The end scores reach
    past the line's ends, where marks are clamped to them."""
    step = {"nearest_cm_half_up": 10.0, "one_decimal": 1.0}.get(rounding)
    if step is None:
        raise ValueError(f"unknown rounding rule {rounding!r}")
    centre = round(float(score) * 10.0 / step) * step  # the score's position on the line
    low = -math.inf if centre <= 0 else centre - step / 2
    high = math.inf if centre >= LINE_LENGTH_MM else centre + step / 2
    return low, high


def boundary_check(mm: float, raw_mm: float, sigma_mm: float, rounding: str,
                   margin_mm: float, bounds_mm: tuple[float, float] | None = None) -> str:
    """Whether a reading's score stands: "clear" (the truth, within BOUNDARY_SIGMAS sigma,
    scores the same), "near" (it may lie past a score boundary, by margin_mm at most: the
    rounding rule decides) or "review" (it may lie further past: a person decides).
    `bounds_mm`, where the ink of a guessed reading puts the truth, replaces that range."""
    low, high = score_span(score_mm(mm, rounding), rounding)
    first, last = truth_range(raw_mm, sigma_mm, bounds_mm)
    if first >= low and last < high:
        return "clear"
    if first >= low - margin_mm and last <= high + margin_mm:
        return "near"
    return "review"


def truth_range(raw_mm: float, sigma_mm: float, bounds_mm: tuple[float, float] | None
                ) -> tuple[float, float]:
    """Where the truth of a reading lies: within BOUNDARY_SIGMAS sigma of it or, for a
    guessed reading (a stop hid part of the mark, the stroke broke up), within the ink
    that bounds it, whatever its sigma says."""
    if bounds_mm is not None:
        return bounds_mm
    return raw_mm - BOUNDARY_SIGMAS * sigma_mm, raw_mm + BOUNDARY_SIGMAS * sigma_mm


def score_page(template: Template, measurements: Sequence[LineMeasurement],
               margin_mm: float | None = None) -> Scored:
    """Score every item, then the total and the template's flags; `margin_mm` overrides
    the template's boundary margin (see `boundary_check`)."""
    margin = template.review.boundary_margin_mm if margin_mm is None else margin_mm
    items = tuple(_score_item(m, template.scale.rounding, margin) for m in measurements)
    scores = [item.score for item in items]
    total = None
    if scores and all(s is not None for s in scores):
        total = sum(scores)  # type: ignore[arg-type]
        if isinstance(total, float):
            total = round(total, 1)
    flags = [rule.name for rule in template.flags if rule.raised(scores, total)]
    if any(item.status == "ok" and any(map(is_near_boundary_note, item.reasons))
           for item in items):
        flags.append(NEAR_BOUNDARY_FLAG)
    return Scored(items=items, total=total, flags=tuple(flags), rule=template.rule_text())


def is_near_boundary_note(reason: str) -> bool:
    """Whether an item's reason is the note on a score the rounding rule decided."""
    return reason.startswith(NEAR_BOUNDARY_NOTE + ":")


def _score_item(m: LineMeasurement, rounding: str, margin_mm: float) -> ItemScore:
    if m.mm is None or m.raw_mm is None:
        return ItemScore(m.key, None, None, m.status, m.confidence, m.reasons)
    score = score_mm(m.mm, rounding)
    status, reasons, confidence = m.status, list(m.reasons), m.confidence
    # A clear reading's sigma says where its truth lies; a guessed one's, its ink.
    bounds = m.bounds_mm if status != "ok" else None
    verdict = boundary_check(m.mm, m.raw_mm, m.sigma_mm, rounding, margin_mm, bounds)
    first, last = truth_range(m.raw_mm, m.sigma_mm, bounds)
    reach = max(m.raw_mm - first, last - m.raw_mm)
    if bounds is not None and verdict != "review":
        # Its only doubt was where in its ink the mark crosses (a stop hides part of it),
        # and every point of that ink scores alike: no person could score it otherwise.
        def on_line(mm: float) -> float:
            return min(LINE_LENGTH_MM, max(0.0, mm))

        where = f"{on_line(first):.1f}-{on_line(last):.1f} mm"
        if on_line(first) == on_line(last):  # (all of it past an end)
            where = f"the line's end, {on_line(first):.1f} mm"
        reasons = [f"{WITHIN_INK_NOTE}: the mark's ink lies at {where}, all of which scores "
                   f"{score:g} ({'; '.join(reasons)})"]
        status = "ok"
    if verdict == "near":
        reasons.append(f"{NEAR_BOUNDARY_NOTE}: {m.mm:.1f} mm, a score boundary within "
                       f"{reach:.2f} mm; scored {score:g} by the rounding rule")
    elif verdict == "review":
        reasons.append(f"mark at {m.mm:.1f} mm is within {reach:.2f} mm of a score boundary, "
                       f"more than the {margin_mm:g} mm margin")
        if status == "ok":
            status = "uncertain"
            confidence = round(confidence * UNCERTAIN_FACTOR, 3)
    return ItemScore(m.key, m.mm, score, status, confidence, tuple(reasons))
