"""Judging a line's mark candidates: which one is the answer, whether a person should look
(a status and the reasons), and how sure the reading is (its sigma and confidence)."""

from __future__ import annotations

from ...form.layout import LINE_LENGTH_MM
from .model import MarkCandidate
from .tolerances import (
    AT_STOP_PER_SCATTER,
    AT_STOP_SIGMA_MM,
    BASE_SIGMA_MM,
    CONTRAST_POWER,
    CROSSING_SURE_OF_STOP_MM,
    FAINT_CONTRAST,
    FULL_CONTRAST,
    HEAVY_CONTRAST_POWER,
    HEAVY_LAYERED,
    HEAVY_MARK_AREA_MM2,
    IRREGULAR_RMS_MM,
    LAYERED_HEAVY_AREA_MM2,
    MAX_SIGMA_LOSS,
    MIN_MARK_AREA_MM2,
    MISSING_CONFIDENCE,
    NEAR_END_MM,
    NEAR_LINE_MM,
    NO_ENDS_FACTOR,
    NO_ENDS_SIGMA_MM,
    NO_MARK_CONFIDENCE,
    NOT_OK_FACTOR,
    SCRIBBLE_LAYERED,
    SCRIBBLE_MIN_AREA_MM2,
    SIGMA_PER_BLUR,
    SIGMA_PER_PIXEL,
    SIGMA_PER_SCATTER,
    SIGMA_PER_SCATTER_BLUR,
    SMALL_MARK_MM2,
    SOLID_MARK_AREA_MM2,
    SPECK_SHARE,
    STROKE_MIN_LENGTH_MM,
    WIDE_MARK_MM,
)

STREAK_REASON = ("a straight line runs through the mark zone and beyond it: a scanner streak, "
                 "a fold or a ruled line rather than a pen mark?")


def judge_marks(marks: list[MarkCandidate]
                ) -> tuple[str, MarkCandidate | None, list[str], tuple[float, float] | None]:
    """The line's status (ok | missing | multiple | uncertain), the mark read (None when no
    single one is), the reasons a person should look, and, when every one of those doubts
    only where the mark crosses the line within its ink (a stop hides part of it, a grainy
    stroke broke up), not what it is, the extent of that ink along the line (mm): then
    the score stands if all of it scores alike (score.py)."""
    real = [m for m in marks if not _speck(m)]
    if not real:
        if marks:
            return ("uncertain", marks[0], ["only a very small or faint speck near the line"],
                    None)
        return "missing", None, [], None
    real.sort(key=lambda m: -m.area_mm2)
    first = real[0]
    # Pieces at the same end as the first (either side of its stop) score as it does.
    real = [first, *(m for m in real[1:] if not _same_end(first, m))]
    competing = [m for m in real[1:] if m.area_mm2 >= SOLID_MARK_AREA_MM2]
    # (A mark round an end stop meets the line either side of it: one mark, read by its
    # ink around the stop.)
    if first.meetings and not (first.at_stop or first.touches_stop):
        where = ", ".join(f"{x:.0f} mm" for x in first.meetings)
        return ("multiple", None, [f"marks drawn touching each other meet the line at {where}"],
                None)
    if competing:
        where = ", ".join(f"{m.x_mm:.0f} mm" for m in [first, *competing])
        return "multiple", None, [f"{1 + len(competing)} marks on the line (at {where})"], None
    reasons = []
    where_only = []  # the reasons that only doubt where, within its ink, the mark crosses
    pieces = [first]  # the ink that bounds where it crosses
    if first.inferred:
        reasons.append("an end stop carries extra ink: a mark drawn right over the end?")
    # (Pieces of a mark around an end stop stack up in its columns: not a scribble. A pen
    # darker than the blurred print counts its blurred edges as full ink: so much is
    # forgiven a mark read as a cross, whose two strokes were found crossing; not a blob
    # of another shape, which may be two marks drawn touching, a circle and a stroke.)
    heavy = first.area_mm2
    if first.crossing_in_view:
        heavy /= max(1.0, first.contrast) ** HEAVY_CONTRAST_POWER
    layered = not first.at_stop and (
        (first.layered > SCRIBBLE_LAYERED and first.area_mm2 >= SCRIBBLE_MIN_AREA_MM2)
        or (first.layered > HEAVY_LAYERED and first.area_mm2 >= LAYERED_HEAVY_AREA_MM2))
    if heavy > HEAVY_MARK_AREA_MM2 or layered:
        reasons.append("heavy or scribbled ink: a crossed-out answer?")
    if first.contrast < FAINT_CONTRAST:
        reasons.append(f"faint mark (contrast {first.contrast:.2f} of the print)")
    if first.distance_mm > NEAR_LINE_MM:
        reasons.append(f"mark is {first.distance_mm:.1f} mm from the line")
    # (Specks further from the line are no answer, and no part of one: toner, dust.)
    extra = [m for m in real[1:] if m.distance_mm <= NEAR_LINE_MM]
    if extra:
        reasons.append("small extra ink near the line")
        # Pieces overlapping the mark's own extent along the line (a grainy pencil stroke
        # breaks up; a speck on the mark) move where it crosses within their joint extent
        # at most; ink elsewhere may be a second answer.
        if first.extent_mm is not None and all(_overlaps(first, m) for m in extra):
            where_only.append(reasons[-1])
            pieces += extra
    if first.fit_rms_mm > IRREGULAR_RMS_MM:
        reasons.append("mark shape is irregular (smudge or scribble?)")
        if (first.at_stop or first.touches_stop) and not first.inferred:
            # (The stop hides part of the mark: its crossing was guessed from what shows.)
            where_only.append(reasons[-1])
    if first.spans_zone:
        reasons.append(STREAK_REASON)
    if first.area_mm2 < SMALL_MARK_MM2 and any(
            m is not first and m.area_mm2 >= SPECK_SHARE * first.area_mm2 for m in marks):
        # On a speckled copy a speck on the line looks like a small dot: a mark no bigger
        # than the specks beside it is not taken on trust.
        reasons.append("a small mark among specks of its size (toner on a copy?)")
    if (first.touches_stop and not first.crossing_in_view
            and NEAR_END_MM <= first.x_mm <= LINE_LENGTH_MM - NEAR_END_MM):
        # Away from the end, a stop that hides part of a mark can change its score (a
        # circle round a point near the end shows only its far side).
        reasons.append("the mark wraps round an end stop, which may hide part of it")
        where_only.append(reasons[-1])
    if first.near_width_mm > WIDE_MARK_MM and not first.at_stop:
        reasons.append(f"ink {first.near_width_mm:.0f} mm wide along the line: two marks "
                       "drawn touching, or a crossed-out answer beside the answer?")
    bounds = None
    if len(where_only) == len(reasons) and all(m.extent_mm is not None for m in pieces):
        bounds = (min(m.extent_mm[0] for m in pieces),  # type: ignore[index]
                  max(m.extent_mm[1] for m in pieces))  # type: ignore[index]
    return ("uncertain" if reasons else "ok"), first, reasons, bounds


def _speck(mark: MarkCandidate) -> bool:
    """Whether a candidate is too little ink to be a mark: under MIN_MARK_AREA_MM2, unless
    it is a faint stroke, as large at its own contrast and STROKE_MIN_LENGTH_MM long (its
    area, weighted by darkness, undercounts a light pencil; a speck or dust is not long)."""
    if mark.area_mm2 >= MIN_MARK_AREA_MM2:
        return False
    footprint = mark.area_mm2 / max(mark.contrast, FAINT_CONTRAST)
    return mark.length_mm < STROKE_MIN_LENGTH_MM or footprint < MIN_MARK_AREA_MM2


def _overlaps(a: MarkCandidate, b: MarkCandidate) -> bool:
    """Whether two candidates' extents along the line overlap."""
    if a.extent_mm is None or b.extent_mm is None:
        return False
    return a.extent_mm[0] <= b.extent_mm[1] and b.extent_mm[0] <= a.extent_mm[1]


def _same_end(a: MarkCandidate, b: MarkCandidate) -> bool:
    """Both readings within NEAR_END_MM of the same end: they score alike."""
    return (max(a.x_mm, b.x_mm) < NEAR_END_MM
            or min(a.x_mm, b.x_mm) > LINE_LENGTH_MM - NEAR_END_MM)


def estimate_sigma(mark: MarkCandidate | None, ends_found: bool, image_px_per_mm: float,
                   blur_mm: float = 0.0) -> float:
    """The reading's standard error (mm), from resolution, blur, the mark's scatter, an end
    stop touching it and the line's ends: calibrated so that errors / sigma ~ N(0, 1)."""
    if mark is None:
        return 0.0
    pixel_mm = 1.0 / max(image_px_per_mm, 1.0)
    scatter = mark.fit_rms_mm
    sigma = (BASE_SIGMA_MM + SIGMA_PER_PIXEL * pixel_mm + SIGMA_PER_BLUR * blur_mm
             + scatter * (SIGMA_PER_SCATTER + SIGMA_PER_SCATTER_BLUR * blur_mm))
    # (An X read where its strokes cross, well clear of the stop one arm reaches, is read
    # as surely as any X.)
    clear_of_stop = (mark.crossing_in_view and min(mark.x_mm, LINE_LENGTH_MM - mark.x_mm)
                     >= CROSSING_SURE_OF_STOP_MM)
    if (mark.at_stop or mark.touches_stop) and not clear_of_stop:
        sigma += AT_STOP_SIGMA_MM + AT_STOP_PER_SCATTER * scatter
    if not ends_found:
        sigma += NO_ENDS_SIGMA_MM
    return round(sigma, 3)


def estimate_confidence(status: str, mark: MarkCandidate | None, ends_found: bool,
                        sigma: float) -> float:
    """How sure the reading is, 0..1: less for a larger sigma, a fainter mark, predicted
    ends or a status other than ok."""
    if status == "missing":
        return MISSING_CONFIDENCE
    if mark is None:
        return NO_MARK_CONFIDENCE
    value = 1.0 - min(MAX_SIGMA_LOSS, sigma)
    value *= min(1.0, mark.contrast / FULL_CONTRAST) ** CONTRAST_POWER
    if not ends_found:
        value *= NO_ENDS_FACTOR
    if status != "ok":
        value *= NOT_OK_FACTOR
    return round(max(0.0, min(1.0, value)), 3)
