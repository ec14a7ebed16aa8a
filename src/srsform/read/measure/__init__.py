"""Per line: find the printed line and its end stops in the image, find the pen mark(s),
and measure the mark relative to the detected ends.

Each line's mark zone is resampled upright at `WORK_PX_PER_MM` through the page
homography; all tolerances (`tolerances.py`) are in millimetres and converted once per
line. The stages, in order: `line` (the print), `marks` (the pen ink, grouped into
candidates), `locate` (one candidate's crossing point), `judge` (status, sigma, confidence).
"""

from __future__ import annotations

import numpy as np

from ...form.layout import LineGeom, line_mm
from ..register import warp_region
from .judge import STREAK_REASON, estimate_confidence, estimate_sigma, judge_marks
from .line import LineFrame, find_line, find_stop, ink_darkness
from .marks import find_marked_stop, read_marks, stop_extra_ink, streak_through
from .model import LineMeasurement, MarkCandidate
from .tolerances import NEAR_END_MM, STOP_HINT_INK_MM2, STOP_HINT_RATIO, WORK_PX_PER_MM

__all__ = ["LineMeasurement", "MarkCandidate", "measure_line"]


def measure_line(gray: np.ndarray, homography: np.ndarray, geom: LineGeom,
                 image_px_per_mm: float) -> LineMeasurement:
    """Measure the pen mark on one line of a registered page."""
    zone = geom.mark_zone()
    r = WORK_PX_PER_MM
    ink = ink_darkness(warp_region(gray, homography, zone, r), r)
    nominal_row = (geom.y_mm - zone.y_mm) * r - 0.5
    x0_col = (geom.x0_mm - zone.x_mm) * r - 0.5
    x1_col = (geom.x1_mm - zone.x_mm) * r - 0.5
    line = find_line(ink, nominal_row, x0_col, x1_col, r)
    reasons: list[str] = []
    if line is None:
        return _unmeasured(geom, "the printed line was not found where expected")
    row_at, contrast, half_t = line
    ink = ink / contrast
    left, left_ok = find_stop(ink, row_at, x0_col, geom, r)
    right, right_ok = find_stop(ink, row_at, x1_col, geom, r)
    ends_found = left_ok and right_ok
    if not left_ok or not right_ok:
        predicted_left, predicted_right = x0_col, x1_col
        # With one end found, keep the printed length from it; with none, trust the marks.
        if left_ok:
            right = left + (predicted_right - predicted_left)
        elif right_ok:
            left = right - (predicted_right - predicted_left)
        reasons.append("an end stop of the line was not found; its position was predicted")
    frame = LineFrame.of(ink, row_at, half_t, left, right, geom, r)
    marks, stops = read_marks(frame)
    first = marks[0] if marks else None
    if first is not None and ends_found:
        # A mark on or near an end stop can pull that stop's detected centre; the far end
        # and the printed length (from the registration marks) place it instead.
        printed = x1_col - x0_col
        if first.x_mm > geom.length_mm - NEAR_END_MM:
            frame = frame.with_ends(left, left + printed)
            marks, stops = read_marks(frame)
        elif first.x_mm < NEAR_END_MM:
            frame = frame.with_ends(right - printed, right)
            marks, stops = read_marks(frame)
    stop_ink = None
    if not any(m.at_stop for m in marks):
        stop_ink = stop_extra_ink(frame, stops)
        marks += find_marked_stop(*stop_ink)
    status, chosen, more, bounds = judge_marks(marks)
    if status == "missing" and stop_ink is not None:
        # No mark found; but a pencil stroke lying wholly within an end stop's
        # mask shows only as a little extra ink there: the person confirming a blank
        # is told where to look.
        x_mm, extra, ratio = stop_ink
        if extra >= STOP_HINT_INK_MM2 and ratio >= STOP_HINT_RATIO:
            side = "left" if x_mm == 0.0 else "right"
            more = [f"the {side}-hand end stop carries a little more ink than the other "
                    f"({extra:.2f} mm2): a mark drawn over it?"]
    if not ends_found:  # (its ink bounds where it crosses only between ends found)
        bounds = None
    reasons += more
    # (An uncertain item whose ink bounds its score may yet be accepted: look at it too.)
    if (status == "ok" or bounds is not None) and chosen is not None:
        x_col = frame.column(chosen.x_mm)
        if streak_through(gray, homography, zone, zone.x_mm + (x_col + 0.5) / r, contrast, r):
            status = "uncertain"
            reasons.append(STREAK_REASON)
            bounds = None
    blur_mm = frame.blur_px / r
    sigma = estimate_sigma(chosen, ends_found, image_px_per_mm, blur_mm)
    confidence = estimate_confidence(status, chosen, ends_found, sigma)
    raw = chosen.x_mm if chosen is not None else None
    mm = None if raw is None else line_mm(raw)

    def to_form(col: float) -> tuple[float, float]:
        return zone.x_mm + (col + 0.5) / r, zone.y_mm + (row_at(col) + 0.5) / r

    return LineMeasurement(
        key=geom.key, status=status, mm=mm, raw_mm=raw, sigma_mm=sigma, confidence=confidence,
        length_mm=frame.length_px / r, ends_found=ends_found, candidates=tuple(marks),
        reasons=tuple(reasons), left_end_mm=to_form(frame.left_col),
        right_end_mm=to_form(frame.right_col), blur_mm=round(blur_mm, 4),
        bounds_mm=bounds,
    )


def _unmeasured(geom: LineGeom, reason: str) -> LineMeasurement:
    """The record of a line that could not be measured: uncertain, with its reason."""
    return LineMeasurement(
        key=geom.key, status="uncertain", mm=None, raw_mm=None, sigma_mm=0.0, confidence=0.0,
        length_mm=None, ends_found=False, candidates=(), reasons=(reason,),
        left_end_mm=(geom.x0_mm, geom.y_mm), right_end_mm=(geom.x1_mm, geom.y_mm),
    )
