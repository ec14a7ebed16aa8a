"""Measurements + template rules -> item scores, total and flags. Pure functions.

Scores come from the measured millimetres by the template's rounding rule, halves
rounding up (45.0 mm scores 5): never Python's round(), which rounds halves to even.
A reading whose error bar straddles a score boundary is never `ok`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..form.layout import line_tenths
from ..form.templates import Template
from ..records import ItemScore
from .measure import LineMeasurement

BOUNDARY_SIGMAS = 2.5  # an item is uncertain when mm +/- this many sigma changes its score


@dataclass(frozen=True)
class Scored:
    items: tuple[ItemScore, ...]
    total: float | int | None
    flags: tuple[str, ...]
    rule: str


def score_mm(mm: float, rounding: str) -> float | int:
    """Score a position on the line (clamped to 0..LINE_LENGTH_MM) by the rounding rule."""
    tenths = line_tenths(mm)  # mm is normally held to 0.1 mm already
    if rounding == "nearest_cm_half_up":
        return (tenths + 50) // 100
    if rounding == "one_decimal":
        return ((tenths + 5) // 10) / 10
    raise ValueError(f"unknown rounding rule {rounding!r}")


def score_page(template: Template, measurements: Sequence[LineMeasurement]) -> Scored:
    """Score every item, then the total and the template's flags."""
    items = tuple(_score_item(m, template.scale.rounding) for m in measurements)
    scores = [item.score for item in items]
    total = None
    if scores and all(s is not None for s in scores):
        total = sum(scores)  # type: ignore[arg-type]
        if isinstance(total, float):
            total = round(total, 1)
    flags = tuple(rule.name for rule in template.flags if rule.raised(scores, total))
    return Scored(items=items, total=total, flags=flags, rule=template.rule_text())


def _score_item(m: LineMeasurement, rounding: str) -> ItemScore:
    if m.mm is None or m.raw_mm is None:
        return ItemScore(m.key, None, None, m.status, m.confidence, m.reasons)
    score = score_mm(m.mm, rounding)
    status, reasons, confidence = m.status, list(m.reasons), m.confidence
    low = score_mm(m.raw_mm - BOUNDARY_SIGMAS * m.sigma_mm, rounding)
    high = score_mm(m.raw_mm + BOUNDARY_SIGMAS * m.sigma_mm, rounding)
    if low != high:
        reasons.append(f"mark at {m.mm:.1f} mm is within {BOUNDARY_SIGMAS * m.sigma_mm:.2f} mm "
                       "of a score boundary")
        if status == "ok":
            status = "uncertain"
            confidence = round(confidence * 0.6, 3)
    return ItemScore(m.key, m.mm, score, status, confidence, tuple(reasons))

