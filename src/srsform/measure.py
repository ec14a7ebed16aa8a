"""Per line: find the printed line and its end stops in the image, find the pen mark(s),
and measure the mark relative to the detected ends.

Each line's mark zone is resampled upright at `WORK_PX_PER_MM` through the page
homography; all tolerances below are in millimetres and converted once per line.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .layout import LineGeom
from .register import warp_region

WORK_PX_PER_MM = 10.0
END_SEARCH_MM = 1.5  # how far a detected end stop may sit from where the marks predict it
LINE_SEARCH_MM = 1.5  # same for the line itself, vertically
INK_THRESHOLD = 0.28  # ink darker than this fraction of the printed line's contrast counts
PRINT_MASK_MARGIN_MM = 0.15  # printed strokes are masked this much wider than they measure
MIN_MARK_AREA_MM2 = 0.35  # smaller ink is dust or noise
MARK_GROUP_GAP_MM = 1.8  # ink pieces closer than this belong to one mark
FIT_HALF_HEIGHT_MM = 2.0  # rows this close to the line locate the crossing point
NEAR_LINE_MM = 1.5  # a mark that never comes this close to the line is "far"
FAINT_CONTRAST = 0.45  # marks fainter than this (vs the printed line) are uncertain
COMPETING_AREA_RATIO = 0.25  # a second mark this large (vs the first) makes an item multiple
BASE_SIGMA_MM = 0.05


@dataclass(frozen=True)
class MarkCandidate:
    """One group of pen ink in a line's mark zone."""

    x_mm: float  # estimated crossing point, in mm from the detected left end (unclamped)
    area_mm2: float  # ink area, weighted by darkness
    contrast: float  # darkness relative to the printed line (1.0 = as dark as the print)
    distance_mm: float  # closest approach to the line
    fit_rms_mm: float  # scatter of the rows used to locate the crossing point


@dataclass(frozen=True)
class LineMeasurement:
    """What was read on one line; `mm` is None when no single mark was found."""

    key: str
    status: str  # ok | missing | multiple | uncertain
    mm: float | None  # 0..100, clamped, 0.1 mm resolution
    raw_mm: float | None  # unclamped
    sigma_mm: float  # estimated standard error of mm
    confidence: float
    length_mm: float | None  # detected line length in form mm (100 when printed at scale)
    ends_found: bool
    candidates: tuple[MarkCandidate, ...]
    reasons: tuple[str, ...]
    # Detected geometry in form mm, for evidence images: line ends and the mark read.
    left_end_mm: tuple[float, float]
    right_end_mm: tuple[float, float]


def measure_line(gray: np.ndarray, homography: np.ndarray, geom: LineGeom,
                 image_px_per_mm: float) -> LineMeasurement:
    """Measure the pen mark on one line of a registered page."""
    zone = geom.mark_zone()
    r = WORK_PX_PER_MM
    band = warp_region(gray, homography, zone, r).astype(np.float32)
    ink = _ink(band, r)
    nominal_row = (geom.y_mm - zone.y_mm) * r - 0.5
    x0_col = (geom.x0_mm - zone.x_mm) * r - 0.5
    x1_col = (geom.x1_mm - zone.x_mm) * r - 0.5
    line = _find_line(ink, nominal_row, x0_col, x1_col, r)
    reasons: list[str] = []
    if line is None:
        return _unmeasured(geom, "the printed line was not found where expected", zone, r)
    row_at, contrast, half_t = line
    ink = ink / contrast
    left, left_ok = _find_stop(ink, row_at, x0_col, geom, r)
    right, right_ok = _find_stop(ink, row_at, x1_col, geom, r)
    ends_found = left_ok and right_ok
    if not left_ok or not right_ok:
        predicted_left, predicted_right = x0_col, x1_col
        # With one end found, keep the printed length from it; with none, trust the marks.
        if left_ok:
            right = left + (predicted_right - predicted_left)
        elif right_ok:
            left = right - (predicted_right - predicted_left)
        reasons.append("an end stop of the line was not found; its position was predicted")
    length_px = right - left
    mask, stops = _print_mask(ink.shape, row_at, half_t, left, right, geom, r)
    marks = _find_marks(ink, mask, stops, row_at, left, length_px, geom, r)
    status, chosen, more = _judge(marks)
    reasons += more
    sigma = _sigma(chosen, ends_found, image_px_per_mm)
    confidence = _confidence(status, chosen, ends_found, sigma)
    raw = chosen.x_mm if chosen is not None else None
    mm = None if raw is None else round(min(100.0, max(0.0, raw)), 1)

    def to_form(col: float) -> tuple[float, float]:
        return zone.x_mm + (col + 0.5) / r, zone.y_mm + (row_at(col) + 0.5) / r

    return LineMeasurement(
        key=geom.key, status=status, mm=mm, raw_mm=raw, sigma_mm=sigma, confidence=confidence,
        length_mm=length_px / r, ends_found=ends_found, candidates=tuple(marks),
        reasons=tuple(reasons), left_end_mm=to_form(left), right_end_mm=to_form(right),
    )


def _ink(band: np.ndarray, r: float) -> np.ndarray:
    """Darkness against the local paper colour (uneven light and shading removed)."""
    k = int(3.0 * r) | 1
    paper = cv2.dilate(band, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    paper = cv2.blur(paper, (k, k))
    return np.clip(paper - band, 0.0, None)


class _LineFit:
    """The printed line's centre row as a function of column (a straight-line fit)."""

    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = a, b

    def __call__(self, col: float | np.ndarray) -> float | np.ndarray:
        return self.a + self.b * col


def _find_line(ink: np.ndarray, nominal_row: float, x0: float, x1: float, r: float
               ) -> tuple[_LineFit, float, float] | None:
    """Fit the printed line: its row along the columns, its contrast and half-thickness."""
    search = int(LINE_SEARCH_MM * r)
    top = max(0, int(nominal_row) - search)
    bottom = min(ink.shape[0], int(nominal_row) + search + 2)
    cols, rows, peaks = [], [], []
    step = int(5 * r)
    for start in range(int(x0 + 2 * r), int(x1 - 2 * r) - step + 1, step):
        # The median over a 5 mm stretch ignores pen strokes that cross it.
        profile = np.median(ink[top:bottom, start:start + step], axis=1)
        peak = int(np.argmax(profile))
        if profile[peak] <= 0:
            continue
        lo, hi = max(0, peak - 3), min(len(profile), peak + 4)
        weights = np.clip(profile[lo:hi] - 0.3 * profile[peak], 0.0, None)
        if weights.sum() <= 0:
            continue
        cols.append(start + step / 2)
        rows.append(top + lo + float(np.dot(weights, np.arange(hi - lo)) / weights.sum()))
        peaks.append(float(profile[peak]))
    if len(cols) < 6:
        return None
    cols_a, rows_a, peaks_a = np.array(cols), np.array(rows), np.array(peaks)
    contrast = float(np.median(peaks_a))
    if contrast < 15.0:
        return None
    keep = peaks_a > 0.5 * contrast
    for _ in range(2):
        if keep.sum() < 6:
            return None
        b, a = np.polyfit(cols_a[keep], rows_a[keep], 1)
        residual = np.abs(rows_a - (a + b * cols_a))
        keep = keep & (residual < max(1.0, 3 * float(np.median(residual[keep]))))
    fit = _LineFit(float(a), float(b))
    # Half-thickness: rows around the centre where the median profile stays dark.
    centre = int(round(fit((x0 + x1) / 2)))
    lo = max(0, centre - search)
    mid = slice(int(x0 + 2 * r), int(x1 - 2 * r))
    straightened = np.median(ink[lo:centre + search + 1, mid], axis=1)
    dark = np.nonzero(straightened > INK_THRESHOLD * contrast)[0] + lo
    half_t = max(float(dark.max() - dark.min() + 1) / 2, 0.5) if dark.size else 0.15 * r
    return fit, contrast, half_t


def _find_stop(ink: np.ndarray, row_at: _LineFit, nominal_col: float, geom: LineGeom,
               r: float) -> tuple[float, bool]:
    """Locate one end stop's centre column, or return the prediction and False.

    The median over the stop's rows (away from the line) ignores pen strokes that cross
    only some of them, as a mark drawn on an end stop does.
    """
    search = END_SEARCH_MM * r
    row_c = float(row_at(nominal_col))
    span = geom.stop_half_height_mm * r
    lo_col = int(max(0, nominal_col - search - r))
    hi_col = int(min(ink.shape[1], nominal_col + search + r + 1))
    rows = np.r_[int(row_c - span + 0.3 * r):int(row_c - 0.6 * r),
                 int(row_c + 0.6 * r) + 1:int(row_c + span - 0.3 * r) + 1]
    rows = rows[(rows >= 0) & (rows < ink.shape[0])]
    if rows.size < 4 or hi_col - lo_col < 3:
        return nominal_col, False
    profile = np.median(ink[rows, lo_col:hi_col], axis=0)
    peak = int(np.argmax(profile))
    if profile[peak] < 0.6:
        return nominal_col, False
    dark = profile > 0.5 * profile[peak]
    a = b = peak
    while a > 0 and dark[a - 1]:
        a -= 1
    while b < len(profile) - 1 and dark[b + 1]:
        b += 1
    if b - a + 1 > 2.5 * geom.stop_width_mm * r + 2:
        return nominal_col, False  # wider than a stop: a pen stroke runs along it
    w = profile[a:b + 1]
    found = lo_col + a + float(np.dot(w, np.arange(b - a + 1)) / w.sum())
    if abs(found - nominal_col) > search:
        return nominal_col, False
    return found, True


def _print_mask(shape: tuple[int, int], row_at: _LineFit, half_t: float, left: float,
                right: float, geom: LineGeom, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the printed line and the end stops are (pen ink there cannot be seen)."""
    rows = np.arange(shape[0], dtype=np.float32)[:, None]
    cols = np.arange(shape[1], dtype=np.float32)[None, :]
    margin = PRINT_MASK_MARGIN_MM * r
    offset = np.abs(rows - row_at(cols))
    along = (cols >= left - 2 * margin) & (cols <= right + 2 * margin)
    on_line = (offset <= half_t + margin) & along
    stop_half_w = max(geom.stop_width_mm * r / 2 + 1.5 * margin, half_t)
    stop_span = geom.stop_half_height_mm * r + 2 * margin
    on_stop = np.zeros(shape, dtype=bool)
    for col in (left, right):
        on_stop |= (np.abs(cols - col) <= stop_half_w) & (offset <= stop_span)
    return on_line | on_stop, on_stop


def _find_marks(ink: np.ndarray, mask: np.ndarray, stops: np.ndarray, row_at: _LineFit,
                left: float, length_px: float, geom: LineGeom, r: float) -> list[MarkCandidate]:
    """Group the pen ink outside the print into marks and locate each one."""
    pen = np.where(mask, 0.0, ink)
    # Ink that runs into an end stop continues under it, down to the line.
    near_stops = cv2.dilate(stops.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    binary = (pen > INK_THRESHOLD).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    pieces = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 3]
    groups = _group_pieces(pieces, stats, MARK_GROUP_GAP_MM * r)
    marks = []
    for group in groups:
        member = np.isin(labels, group)
        weights = np.where(member, pen, 0.0)
        area = float(np.minimum(weights, 1.0).sum()) / (r * r)
        if area < MIN_MARK_AREA_MM2 * 0.4:
            continue
        candidate = _locate(weights, member, row_at, left, length_px, geom, r)
        contrast = float(np.percentile(pen[member], 90))
        distance = 0.0 if (member & near_stops).any() else candidate[1]
        marks.append(MarkCandidate(x_mm=candidate[0], area_mm2=area, contrast=contrast,
                                   distance_mm=distance, fit_rms_mm=candidate[2]))
    marks.sort(key=lambda m: -m.area_mm2)
    return marks


def _group_pieces(pieces: list[int], stats: np.ndarray, gap: float) -> list[list[int]]:
    """Merge ink pieces whose column ranges lie within `gap` of each other."""
    spans = sorted((stats[i, cv2.CC_STAT_LEFT],
                    stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH], i) for i in pieces)
    groups: list[list[int]] = []
    end = -np.inf
    for start, stop, i in spans:
        if groups and start - end <= gap:
            groups[-1].append(i)
            end = max(end, stop)
        else:
            groups.append([i])
            end = stop
    return groups


def _locate(weights: np.ndarray, member: np.ndarray, row_at: _LineFit, left: float,
            length_px: float, geom: LineGeom, r: float) -> tuple[float, float, float]:
    """Where a mark meets the line: (mm from the left end, distance mm, fit scatter mm).

    Rows near the line give the ink's centre per row; a straight fit through them,
    evaluated on the line, finds the crossing point of ticks, crosses, circles, dots and
    the vertex of check marks alike.
    """
    rows, cols = np.nonzero(member)
    line_rows = row_at(cols)
    offsets = rows - line_rows
    distance_px = float(np.min(np.abs(offsets)))
    near = np.abs(offsets) <= FIT_HALF_HEIGHT_MM * r
    if near.sum() < 3:
        # Far from the line: take the part of the mark nearest to it.
        near = np.abs(offsets) <= distance_px + 1.0 * r
    w = weights[rows[near], cols[near]]
    y = offsets[near]
    x = cols[near].astype(np.float64)
    # Centre of ink per row, then a weighted straight fit x = c0 + c1 * y.
    keys = np.round(y).astype(int)
    uniq, inverse = np.unique(keys, return_inverse=True)
    row_w = np.bincount(inverse, weights=w)
    row_x = np.bincount(inverse, weights=w * x) / np.maximum(row_w, 1e-9)
    row_y = np.bincount(inverse, weights=w * y) / np.maximum(row_w, 1e-9)
    if len(uniq) >= 3 and np.ptp(row_y) >= 1.0:
        c1, c0 = np.polyfit(row_y, row_x, 1, w=np.sqrt(row_w))
        if distance_px > 0.6 * r and abs(c1) > 0:
            # The mark stops short of the line: do not extrapolate a slant far.
            c0 = float(row_x[np.argmin(np.abs(row_y))]) if abs(c1 * distance_px) > r else c0
        residual = row_x - (c0 + c1 * row_y)
        rms = float(np.sqrt(np.average(residual ** 2, weights=row_w)))
    else:
        c0 = float(np.average(row_x, weights=row_w))
        rms = float(np.sqrt(np.average((row_x - c0) ** 2, weights=row_w)))
    x_mm = (float(c0) - left) / length_px * geom.length_mm
    return x_mm, distance_px / r, rms / r


def _judge(marks: list[MarkCandidate]) -> tuple[str, MarkCandidate | None, list[str]]:
    real = [m for m in marks if m.area_mm2 >= MIN_MARK_AREA_MM2]
    if not real:
        if marks:
            return "uncertain", marks[0], ["only a very small or faint speck near the line"]
        return "missing", None, []
    first = real[0]
    competing = [m for m in real[1:] if m.area_mm2 >= COMPETING_AREA_RATIO * first.area_mm2]
    if competing:
        where = ", ".join(f"{m.x_mm:.0f} mm" for m in [first, *competing])
        return "multiple", None, [f"{1 + len(competing)} marks on the line (at {where})"]
    reasons = []
    if first.contrast < FAINT_CONTRAST:
        reasons.append(f"faint mark (contrast {first.contrast:.2f} of the print)")
    if first.distance_mm > NEAR_LINE_MM:
        reasons.append(f"mark is {first.distance_mm:.1f} mm from the line")
    if len(real) > 1:
        reasons.append("small extra ink near the line")
    if first.fit_rms_mm > 1.2:
        reasons.append("mark shape is irregular (smudge or scribble?)")
    return ("uncertain" if reasons and not reasons == ["small extra ink near the line"]
            else "ok"), first, reasons


def _sigma(mark: MarkCandidate | None, ends_found: bool, image_px_per_mm: float) -> float:
    """A conservative standard error of the reading, from resolution, fit and ends."""
    if mark is None:
        return 0.0
    pixel_mm = 1.0 / max(image_px_per_mm, 1.0)
    sigma = BASE_SIGMA_MM + 0.25 * pixel_mm + 0.15 * mark.fit_rms_mm
    if not ends_found:
        sigma += 0.3
    return round(sigma, 3)


def _confidence(status: str, mark: MarkCandidate | None, ends_found: bool, sigma: float
                ) -> float:
    if status == "missing":
        return 0.95
    if mark is None:
        return 0.5
    value = 1.0 - min(0.5, sigma)
    value *= min(1.0, mark.contrast / 0.8) ** 0.5
    if not ends_found:
        value *= 0.7
    if status != "ok":
        value *= 0.6
    return round(max(0.0, min(1.0, value)), 3)


def _unmeasured(geom: LineGeom, reason: str, zone, r: float) -> LineMeasurement:
    return LineMeasurement(
        key=geom.key, status="uncertain", mm=None, raw_mm=None, sigma_mm=0.0, confidence=0.0,
        length_mm=None, ends_found=False, candidates=(), reasons=(reason,),
        left_end_mm=(geom.x0_mm, geom.y_mm), right_end_mm=(geom.x1_mm, geom.y_mm),
    )
