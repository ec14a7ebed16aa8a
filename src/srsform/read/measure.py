"""Per line: find the printed line and its end stops in the image, find the pen mark(s),
and measure the mark relative to the detected ends.

Each line's mark zone is resampled upright at `WORK_PX_PER_MM` through the page
homography; all tolerances below are in millimetres and converted once per line.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..form.layout import LINE_LENGTH_MM, LineGeom, Rect, line_mm
from .register import warp_region

WORK_PX_PER_MM = 8.0
END_SEARCH_MM = 1.5  # how far a detected end stop may sit from where the marks predict it
LINE_SEARCH_MM = 1.5  # same for the line itself, vertically
INK_THRESHOLD = 0.14  # ink darker than this fraction of the printed line's contrast counts
NOISE_SIGMAS = 6.0  # ...and darker than the paper's noise by this many standard deviations
PRINT_MASK_MARGIN_MM = 0.15  # printed strokes are masked this much wider than they measure
MIN_MARK_AREA_MM2 = 0.35  # smaller ink is dust or noise
MARK_BRIDGE_MM = 1.0  # a stroke's pieces either side of the printed line are joined
MARK_CLOSE_MM = 0.45  # gaps in grainy or broken strokes up to this are closed
FIT_HALF_HEIGHT_MM = 1.5  # rows this close to the line locate the crossing point
NEAR_LINE_MM = 1.5  # a mark that never comes this close to the line is "far"
FAINT_CONTRAST = 0.22  # marks fainter than this (vs the printed line) are uncertain
NEAR_END_MM = 3.0  # a mark this close to an end may pull that end stop's detection
THICK_LINE_MM = 0.15  # extra darkness across the line (in mm of full ink) that is a mark
THICK_END_GAP_MM = 0.8  # ...looked for this far inside the end stops
THICK_BASELINE_MM = 12.0  # ...against the line's own thickness over this stretch
V_HALF_HEIGHT_MM = 3.0  # rows this close to the line are searched for the two strokes of a V
V_MEET_MM = 1.5  # a V's strokes must meet this close to the line
STOP_HIDDEN_WEIGHT = 1.0  # ink presumed under an end stop counts in a mark's centre
UNDER_STOP_INK = 0.3  # ...and where it is this dark beyond the other stop, in its extent
VERTEX_SCATTER_MM = 0.5  # a V's point, extrapolated from its strokes, is less sure
STOP_WINDOW_MM = 1.5  # half-width of the window compared around each end stop
STOP_EXTRA_INK_MM2 = 0.5  # one stop with this much more ink than the other is marked...
STOP_EXTRA_RATIO = 1.10  # ...and this many times as much
STROKE_GAP_MM = 0.5  # strokes closer than this in a column are one (grainy pencil)
SCRIBBLE_LAYERED = 0.2  # a mark with this share of columns crossing 3+ strokes is scribbled
HEAVY_MARK_AREA_MM2 = 26.0  # more ink than any single tick, cross or circle: a scribble
MEETING_BAND_MM = 0.5  # ink this close to the line's masked band meets the line
RING_EDGE_MM = 0.8  # a circle's sides leave the line within this height of its band
MEETING_GAP_MM = 1.2  # meetings further apart than this are separate
WIDE_ONE_SIDED_MM = 2.5  # wider than a tick where it meets the line from one side
HIDDEN_CROSSING_MM = 2.0  # a reading this close to an end may lie under its stop
PLAUSIBLE_BAND_MM = 1.5  # a mark's reading must fall within its ink this close to the line
PLAUSIBLE_SLACK_MM = 0.5  # ...give or take this much
IRREGULAR_RMS_MM = 1.2  # scatter beyond this: a smudge or scribble, not a clear mark
SOLID_MARK_AREA_MM2 = 0.8  # a second mark at least this large makes an item "multiple"
SMALL_MARK_MM2 = 0.6  # a mark this small is doubted when specks of half its size lie near it
WIDE_MARK_MM = 8.5  # one mark's ink near the line is narrower than this (crosses: <= 8)
STREAK_CHECK_MM = 5.0  # a thin dark line going on this far above and below the mark zone...
STREAK_HALF_WIDTH_MM = 2.0  # ...within this of the mark, in most rows (STREAK_ROW_SHARE)...
STREAK_ROW_SHARE = 0.8
STREAK_CONTRAST = 0.25  # ...at least this dark (vs the print): a scanner streak or a fold
# The reading's standard error, calibrated on generated stacks (bench/accuracy.py): a
# floor, a share of the scan's pixel size, a share of the mark's own scatter, and a
# penalty when the line's ends had to be predicted.
BASE_SIGMA_MM = 0.025
SIGMA_PER_PIXEL = 0.2
SIGMA_PER_SCATTER = 0.25
SIGMA_PER_BLUR = 0.1  # per mm the printed line shows wider than printed (blur)
NO_ENDS_SIGMA_MM = 0.3


@dataclass(frozen=True)
class MarkCandidate:
    """One group of pen ink in a line's mark zone."""

    x_mm: float  # estimated crossing point, in mm from the detected left end (unclamped)
    area_mm2: float  # ink area, weighted by darkness
    contrast: float  # darkness relative to the printed line (1.0 = as dark as the print)
    distance_mm: float  # closest approach to the line
    fit_rms_mm: float  # scatter of the rows used to locate the crossing point
    at_stop: bool = False  # touches an end stop, which hides part of it
    inferred: bool = False  # not seen: inferred from extra ink around an end stop
    meetings: tuple[float, ...] = ()  # where it meets the line, when in more than one place
    layered: float = 0.0  # share of its columns crossed by 3+ strokes: a scribble
    spans_zone: bool = False  # runs from edge to edge of the mark zone: no pen tick does
    near_width_mm: float = 0.0  # width of its visible ink within FIT_HALF_HEIGHT_MM of the line
    touches_stop: bool = False  # meets an end stop above and below the line (may hide part)


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
    ink = _ink(warp_region(gray, homography, zone, r), r)
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
    # Each pixel's signed distance (rows) from the line's centre, shared by every pass.
    signed = (np.arange(ink.shape[0], dtype=np.float32)[:, None]
              - row_at(np.arange(ink.shape[1], dtype=np.float32))[None, :])
    marks, stops = _read_marks(ink, row_at, signed, half_t, left, right, geom, r)
    first = marks[0] if marks else None
    if first is not None and ends_found:
        # A mark on or near an end stop can pull that stop's detected centre; the far end
        # and the printed length (from the registration marks) place it instead.
        printed = x1_col - x0_col
        if first.x_mm > geom.length_mm - NEAR_END_MM:
            right = left + printed
        elif first.x_mm < NEAR_END_MM:
            left = right - printed
        if first.x_mm > geom.length_mm - NEAR_END_MM or first.x_mm < NEAR_END_MM:
            marks, stops = _read_marks(ink, row_at, signed, half_t, left, right, geom, r)
    length_px = right - left
    if not any(m.at_stop for m in marks):
        marks += _marked_stop(ink, stops, signed, half_t, left, right, geom, r)
    status, chosen, more = _judge(marks)
    reasons += more
    if status == "ok" and chosen is not None:
        x_col = left + chosen.x_mm / geom.length_mm * (right - left)
        if _streak_through(gray, homography, zone, zone.x_mm + (x_col + 0.5) / r,
                           contrast, r):
            status = "uncertain"
            reasons.append(STREAK_REASON)
    sigma = _sigma(chosen, ends_found, image_px_per_mm, _blur_px(half_t, geom, r) / r)
    confidence = _confidence(status, chosen, ends_found, sigma)
    raw = chosen.x_mm if chosen is not None else None
    mm = None if raw is None else line_mm(raw)

    def to_form(col: float) -> tuple[float, float]:
        return zone.x_mm + (col + 0.5) / r, zone.y_mm + (row_at(col) + 0.5) / r

    return LineMeasurement(
        key=geom.key, status=status, mm=mm, raw_mm=raw, sigma_mm=sigma, confidence=confidence,
        length_mm=length_px / r, ends_found=ends_found, candidates=tuple(marks),
        reasons=tuple(reasons), left_end_mm=to_form(left), right_end_mm=to_form(right),
    )


def _ink(raw: np.ndarray, r: float) -> np.ndarray:
    """Darkness against the local paper colour (uneven light and shading removed)."""
    k = int(3.0 * r) | 1
    band = raw.astype(np.float32)
    # The maximum is exact in the image's own type, and quicker there.
    paper = cv2.dilate(raw, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    paper = cv2.blur(paper.astype(np.float32), (k, k))
    return np.maximum(paper - band, 0.0)


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
    starts = range(int(x0 + 2 * r), int(x1 - 2 * r) - step + 1, step)
    if len(starts) < 6:
        return None
    # The median over a 5 mm stretch ignores pen strokes that cross it.
    stretch = ink[top:bottom, starts[0]:starts[0] + len(starts) * step]
    profiles = _median(stretch.reshape(bottom - top, len(starts), step), axis=2)
    # Each stretch's peak row, and weights over the rows around it (zero-padded to 7).
    stretches = np.arange(len(starts))
    peak_rows = np.argmax(profiles, axis=0)
    peak_values = profiles[peak_rows, stretches]
    lows = np.maximum(peak_rows - 3, 0)
    highs = np.minimum(peak_rows + 4, profiles.shape[0])
    index = np.arange(7)
    around = lows[:, None] + index[None, :]
    values = profiles[np.minimum(around, profiles.shape[0] - 1), stretches[:, None]]
    weights = np.where(around < highs[:, None],
                       np.maximum(values - 0.3 * peak_values[:, None], 0.0), 0.0)
    totals = weights.sum(axis=1)
    for i in np.nonzero((peak_values > 0) & (totals > 0))[0]:
        size = int(highs[i] - lows[i])
        cols.append(starts[i] + step / 2)
        rows.append(top + int(lows[i])
                    + float(np.dot(weights[i, :size], index[:size]) / totals[i]))
        peaks.append(float(peak_values[i]))
    if len(cols) < 6:
        return None
    cols_a, rows_a, peaks_a = np.array(cols), np.array(rows), np.array(peaks)
    contrast = float(_median(peaks_a))
    if contrast < 15.0:
        return None
    keep = peaks_a > 0.5 * contrast
    for _ in range(2):
        if keep.sum() < 6:
            return None
        b, a = np.polyfit(cols_a[keep], rows_a[keep], 1)
        residual = np.abs(rows_a - (a + b * cols_a))
        keep = keep & (residual < max(1.0, 3 * float(_median(residual[keep]))))
    fit = _LineFit(float(a), float(b))
    # Half-thickness: rows around the centre where the median profile stays dark.
    centre = int(round(fit((x0 + x1) / 2)))
    lo = max(0, centre - search)
    mid = slice(int(x0 + 2 * r), int(x1 - 2 * r))
    straightened = _median(ink[lo:centre + search + 1, mid], axis=1)
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
    profile = _median(ink[rows, lo_col:hi_col], axis=0)
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


def _blur_px(half_t: float, geom: LineGeom, r: float) -> float:
    """The line's measured half-thickness beyond its printed one: the blur of this image."""
    return max(0.0, half_t - geom.thickness_mm * r / 2)


def _print_mask(offset: np.ndarray, half_t: float, left: float, right: float,
                geom: LineGeom, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the printed line and the end stops are (pen ink there cannot be seen), given
    each pixel's distance (rows) from the line's centre."""
    shape = offset.shape
    cols = np.arange(shape[1], dtype=np.float32)[None, :]
    margin = PRINT_MASK_MARGIN_MM * r
    along = (cols >= left - 2 * margin) & (cols <= right + 2 * margin)
    on_line = (offset <= half_t + margin) & along
    # The stops spread by as much as the line does: the blur of this scan.
    spread = _blur_px(half_t, geom, r)
    stop_half_w = geom.stop_width_mm * r / 2 + spread + 1.5 * margin
    stop_span = geom.stop_half_height_mm * r + spread + 2 * margin
    on_stop = np.zeros(shape, dtype=bool)
    for col in (left, right):
        on_stop |= (np.abs(cols - col) <= stop_half_w) & (offset <= stop_span)
    return on_line | on_stop, on_stop


def _read_marks(ink: np.ndarray, row_at: _LineFit, signed: np.ndarray, half_t: float,
                left: float, right: float, geom: LineGeom, r: float
                ) -> tuple[list[MarkCandidate], np.ndarray]:
    """Find the pen marks on a line whose ends are at columns `left` and `right`.

    Returns them, largest first, and where the end stops' print is.
    """
    off_line = np.abs(signed)
    mask, stops = _print_mask(off_line, half_t, left, right, geom, r)
    pen = ink.copy()
    pen[mask] = 0.0
    visible = (pen > _ink_threshold(pen, mask)).astype(np.uint8)
    hidden, hidden_weight = _hidden_ink(ink, visible, mask, stops, left, right, r)
    k = int(MARK_CLOSE_MM * r) | 1
    joined = cv2.morphologyEx(visible | hidden, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    points = cv2.findNonZero(joined)  # (col, row) in raster order, like np.nonzero but faster
    points = np.zeros((0, 2), np.int32) if points is None else points.reshape(-1, 2)
    label_rows, label_cols = points[:, 1], points[:, 0]
    which = labels[label_rows, label_cols]
    sizes = np.bincount(which, minlength=count)
    # Ink touching an end stop is one mark, whichever side of the stop it shows on: the
    # stop hides its middle. (Two marks at one end would score the same anyway.)
    near_stops = cv2.dilate(stops.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    meeting_band = half_t + (PRINT_MASK_MARGIN_MM + MEETING_BAND_MM) * r
    # Only ink at a stop near the line can have its crossing point hidden by it...
    stop_core = near_stops & (off_line <= FIT_HALF_HEIGHT_MM * r)
    # ...or ink meeting the stop's own ends, straight above or below it.
    stop_caps = near_stops & stops.any(axis=0)[None, :]
    at_stops = stop_core | stop_caps
    groups: list[list[int]] = []
    taken: set[int] = set()
    for end in (left, right):
        span = np.nonzero(np.abs(np.arange(ink.shape[1]) - end) < 2 * r)[0]
        if span.size == 0:
            continue
        cut = slice(int(span[0]), int(span[-1]) + 1)
        touching = [int(label) for label in np.unique(labels[:, cut][at_stops[:, cut]])
                    if label > 0 and int(label) not in taken]
        if touching:
            groups.append(touching)
            taken.update(touching)
    groups += [[label] for label in range(1, count) if label not in taken]
    # Work on each group's bounding box, with room around it for the morphology and the
    # print next to it; helpers get the box's origin to keep zone coordinates.
    margin = int(3 * r)
    height, width = ink.shape
    seen_all = visible > 0
    under = None  # pen ink under the stops, made when a mark meets one
    marks = []
    for group in groups:
        if sizes[group].sum() < MIN_MARK_AREA_MM2 * 0.4 * r * r:
            continue  # each pixel weighs at most 1: too little ink whatever its darkness
        top, left_col, bottom, right_col = _box(label_rows, label_cols, which, group)
        box = (slice(max(0, top - margin), min(height, bottom + margin)),
               slice(max(0, left_col - margin), min(width, right_col + margin)))
        origin = (box[0].start, box[1].start)
        part = labels[box]
        component = part == group[0] if len(group) == 1 else np.isin(part, group)
        seen = component & seen_all[box]
        pen_box = pen[box]
        area = (float(np.minimum(pen_box[seen], 1.0).sum())
                + float(hidden_weight[box][component].sum())) / (r * r)
        if area < MIN_MARK_AREA_MM2 * 0.4:
            continue
        x_mm, distance, rms = _locate(pen_box, seen, component, origin, row_at, left,
                                      right - left, geom, r)
        at_stop = bool((seen & at_stops[box]).any())
        if at_stop and under is None:
            under = _under_stops(ink, stops, row_at, left, right)
        near_span = _near_span(seen, off_line[box], r)
        # Visible ink near the line wider than a tick: a circle or a cross.
        if at_stop and near_span is not None and near_span > WIDE_ONE_SIDED_MM:
            x_mm, rms = _half_hidden(component | (under[box] > UNDER_STOP_INK), off_line[box],
                                     origin, left, right - left, geom, r)
        elif at_stop and min(x_mm, geom.length_mm - x_mm) < HIDDEN_CROSSING_MM:
            # The crossing point may be under the stop: read what shows around it instead.
            x_mm, distance, rms = _locate_at_stop(pen_box, seen, under[box], stops[box],
                                                  near_stops[box], origin, row_at,
                                                  left, right - left, geom, r)
        x_mm, rms = _within_ink(x_mm, rms, component, origin, row_at, left, right - left,
                                geom, r)
        contrast = float(np.percentile(pen_box[seen], 90)) if seen.any() else 1.0
        marks.append(MarkCandidate(x_mm=x_mm, area_mm2=area, contrast=contrast,
                                   distance_mm=distance, fit_rms_mm=rms,
                                   at_stop=at_stop,
                                   meetings=_meetings(seen, component, signed[box], origin,
                                                      meeting_band, left, right - left,
                                                      geom, r),
                                   layered=_layered(seen, mask[box], r),
                                   spans_zone=(top <= 1 and bottom >= height - 1)
                                   or (left_col <= 1 and right_col >= width - 1),
                                   near_width_mm=0.0 if near_span is None
                                   else near_span + 1.0 / r,
                                   touches_stop=_hugs_stop(component & near_stops[box],
                                                           signed[box], meeting_band)))
    marks.sort(key=lambda m: -m.area_mm2)
    return marks, stops


def _box(rows: np.ndarray, cols: np.ndarray, which: np.ndarray, group: list[int]
         ) -> tuple[int, int, int, int]:
    """The bounding box (top, left, bottom, right; exclusive) of the labelled pixels at
    `rows`, `cols` whose label `which` is in `group`."""
    pick = which == group[0] if len(group) == 1 else np.isin(which, group)
    rows, cols = rows[pick], cols[pick]
    return int(rows[0]), int(cols.min()), int(rows[-1]) + 1, int(cols.max()) + 1


def _running_median(values: np.ndarray, window: int) -> np.ndarray:
    """A running median: medians of blocks of half a window, interpolated between them."""
    step = max(1, window // 2)
    starts = np.arange(0, len(values), step)
    size = step + 2 * (step // 2)
    # Blocks clear of both ends are all the same size: their medians in one call.
    inner = (starts >= step // 2) & (starts - step // 2 + size <= len(values))
    medians = np.empty(len(starts))
    if inner.any():
        blocks = np.lib.stride_tricks.sliding_window_view(values, size)
        medians[inner] = _median(blocks[starts[inner] - step // 2], axis=1)
    for i in np.nonzero(~inner)[0]:
        a = int(starts[i])
        medians[i] = _median(values[max(0, a - step // 2):a + step + step // 2])
    return np.interp(np.arange(len(values)), starts + step / 2, medians)


def _median(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """np.median along `axis` of values without NaNs: the same values, bit for bit, but
    by sorting, which is much quicker than numpy's selection on ink's many equal values."""
    ordered = np.sort(values, axis=axis)
    half = ordered.shape[axis] // 2
    upper = np.take(ordered, half, axis=axis)
    if ordered.shape[axis] % 2:
        return upper
    return (np.take(ordered, half - 1, axis=axis) + upper) / 2


def _layered(seen: np.ndarray, mask: np.ndarray, r: float) -> float:
    """Share of the mark's columns that cross three strokes or more (a zig-zag scribble;
    a tick, cross, circle or check crosses at most two). Gaps shorter than
    STROKE_GAP_MM (grainy pencil), or hidden by the print, do not separate strokes."""
    cols = seen.any(axis=0)
    if not cols.any():
        return 0.0
    shape = seen.astype(np.uint8)
    k = int(STROKE_GAP_MM * r) | 1
    across = int(2 * MARK_BRIDGE_MM * r) | 1
    shape |= cv2.morphologyEx(shape, cv2.MORPH_CLOSE, np.ones((across, 1), np.uint8)) & mask
    closed = cv2.morphologyEx(shape, cv2.MORPH_CLOSE, np.ones((k, 1), np.uint8))
    starts = np.diff(closed.astype(np.int8), axis=0, prepend=0) == 1
    runs = starts.sum(axis=0)[cols]
    return float(np.mean(runs >= 3))


def _meetings(seen: np.ndarray, component: np.ndarray, signed: np.ndarray,
              origin: tuple[int, int], band: float, left: float, length_px: float,
              geom: LineGeom, r: float) -> tuple[float, ...]:
    """Where one connected mark meets the line (its visible ink within `band` px of the
    line's centre), if in two places or more that are not the two sides of a circle: two
    marks drawn touching each other. In mm from the left end. The arrays are a box of the
    zone whose top-left pixel is at `origin`."""
    cols = np.nonzero((seen & (np.abs(signed) <= band)).any(axis=0))[0]
    if cols.size == 0:
        return ()
    groups = np.split(cols, np.nonzero(np.diff(cols) > MEETING_GAP_MM * r)[0] + 1)
    if len(groups) < 2:
        return ()
    for first, second in zip(groups, groups[1:], strict=False):
        if not _ring_between(component, signed, band, first, second, r):
            return tuple((float((g + origin[1]).mean()) - left) * geom.length_mm / length_px
                         for g in groups)
    return ()


def _ring_between(ink: np.ndarray, signed: np.ndarray, band: float, first: np.ndarray,
                  second: np.ndarray, r: float) -> bool:
    """A circle round the point: its two meetings with the line are joined by ink that
    stays above the line and by ink that stays below it. Two marks drawn touching each
    other are joined on one side at most."""
    edge = RING_EDGE_MM * r
    for side in (-1, 1):
        part = (ink & (signed * side > band)).astype(np.uint8)
        _, labels = cv2.connectedComponents(part, connectivity=8)
        near = (signed * side > band) & (signed * side <= band + edge)
        ends = []
        for cols in (first, second):
            span = slice(int(cols.min()), int(cols.max()) + 1)
            ends.append(set(np.unique(labels[:, span][near[:, span]])) - {0})
        if not ends[0] & ends[1]:
            return False
    return True


def _hugs_stop(contact: np.ndarray, signed: np.ndarray, band: float) -> bool:
    """Whether a mark meets an end stop both above and below the line (`contact`: its ink
    next to the stop): it wraps round the stop's column, as a circle whose far side runs
    down the stop does, and the stop may hide where it crosses the line."""
    return bool((contact & (signed < -band)).any() and (contact & (signed > band)).any())


def _near_span(seen: np.ndarray, off_line: np.ndarray, r: float) -> float | None:
    """How far (mm) a mark's visible ink within FIT_HALF_HEIGHT_MM of the line spans, from
    its first column's centre to its last's; None when it has none there."""
    cols = np.nonzero((seen & (off_line <= FIT_HALF_HEIGHT_MM * r)).any(axis=0))[0]
    return float(np.ptp(cols)) / r if cols.size else None


def _half_hidden(component: np.ndarray, off_line: np.ndarray, origin: tuple[int, int],
                 left: float, length_px: float, geom: LineGeom, r: float
                 ) -> tuple[float, float]:
    """A wide mark (circle, cross) partly under an end stop: the middle of its extent near
    the line, hidden part included. Near enough to an end not to matter it is accepted;
    further in, where it could change a score, it goes to a person."""
    cols = np.nonzero((component & (off_line <= FIT_HALF_HEIGHT_MM * r)).any(axis=0))[0]
    cols = cols + origin[1]
    x_mm = ((float(cols.min()) + float(cols.max())) / 2 - left) * geom.length_mm / length_px
    from_end = min(x_mm, geom.length_mm - x_mm)
    return x_mm, (0.3 if from_end < NEAR_END_MM else IRREGULAR_RMS_MM + 0.1)


def _within_ink(x_mm: float, rms: float, component: np.ndarray, origin: tuple[int, int],
                row_at: _LineFit, left: float, length_px: float, geom: LineGeom, r: float
                ) -> tuple[float, float]:
    """Keep an estimate that lies where the mark has ink near the line; otherwise fall
    back to the middle of that ink, with a scatter that sends the item to a person."""
    rows, cols = _pixels(component, origin)
    offsets = np.abs(rows - row_at(cols))
    near = offsets <= max(PLAUSIBLE_BAND_MM * r, float(offsets.min()) + 0.5 * r)
    lo, hi = float(cols[near].min()), float(cols[near].max())
    col = left + x_mm / geom.length_mm * length_px
    if lo - PLAUSIBLE_SLACK_MM * r <= col <= hi + PLAUSIBLE_SLACK_MM * r:
        return x_mm, rms
    return ((lo + hi) / 2 - left) * geom.length_mm / length_px, max(rms, IRREGULAR_RMS_MM + 0.1)


def _ink_threshold(pen: np.ndarray, mask: np.ndarray) -> float:
    """INK_THRESHOLD, raised above the paper's own noise (grainy photos, speckled copies)."""
    paper = pen[::2, ::2][~mask[::2, ::2]]  # every fourth pixel says as much, faster
    if paper.size == 0:
        return INK_THRESHOLD
    median = float(_median(paper))
    spread = 1.4826 * float(_median(np.abs(paper - median)))
    return max(INK_THRESHOLD, median + NOISE_SIGMAS * spread)


def _hidden_ink(ink: np.ndarray, visible: np.ndarray, mask: np.ndarray, stops: np.ndarray,
                left: float, right: float, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Pen ink presumed under the print: strokes continuing across the line or a stop, and
    columns where the line is darker than printed (a dot or a stroke along the line).

    Returns where it is (uint8) and how much ink each such pixel stands for (0..1).
    """
    k = int(2 * MARK_BRIDGE_MM * r) | 1
    # Closing only fills in within reach of ink: close just the box around the visible
    # ink, with room for the kernel twice over (the same result, for a fraction of the work).
    bridged = np.zeros_like(visible)
    rows, cols = np.nonzero(visible.any(axis=1))[0], np.nonzero(visible.any(axis=0))[0]
    if rows.size:
        box = (slice(max(0, int(rows[0]) - k), int(rows[-1]) + k + 1),
               slice(max(0, int(cols[0]) - k), int(cols[-1]) + k + 1))
        bridged[box] = cv2.morphologyEx(visible[box], cv2.MORPH_CLOSE,
                                        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    hidden = bridged & mask.astype(np.uint8)
    weight = hidden.astype(np.float32)
    line_only = mask & ~stops
    # The sums and maxima over the line need only its band of rows.
    line_rows = np.nonzero(line_only.any(axis=1))[0]
    rows = slice(int(line_rows[0]), int(line_rows[-1]) + 1) if line_rows.size else slice(0, 0)
    line_only = line_only[rows]
    column_ink = np.where(line_only, np.minimum(ink[rows], 1.0), 0.0).sum(axis=0)
    # Only between the stops (their blurred edges are no mark); the baseline follows the
    # line's printed thickness, which a photo's perspective makes vary along it.
    lo, hi = int(left + THICK_END_GAP_MM * r), int(right - THICK_END_GAP_MM * r)
    window = int(THICK_BASELINE_MM * r) | 1
    if hi - lo > window:
        baseline = _running_median(column_ink[lo:hi], window)
        excess = np.zeros(column_ink.shape, dtype=np.float32)
        excess[lo:hi] = column_ink[lo:hi] - baseline
        thick = excess > THICK_LINE_MM * r
        band = line_only & thick[None, :]
        hidden[rows] |= band.astype(np.uint8)
        # Each such column holds only its excess ink, spread over the masked band.
        per_pixel = excess / np.maximum(line_only.sum(axis=0), 1)
        spread = np.where(band, np.minimum(per_pixel, 1.0)[None, :], 0.0)
        weight = weight.astype(spread.dtype)
        weight[rows] = np.maximum(weight[rows], spread)
    return hidden, weight


def _under_stops(ink: np.ndarray, stops: np.ndarray, row_at: _LineFit, left: float,
                 right: float) -> np.ndarray:
    """Pen ink presumed under each end stop (0..1 per pixel, zero outside the stops): the
    darkness there beyond the other stop's at the same place. Both stops are printed alike, so
    the other one is this one's print without the pen (at the other end, a mark is rare)."""
    under = np.zeros(ink.shape, dtype=np.float32)
    height, width = ink.shape
    for this, other in ((left, right), (right, left)):
        dx = int(round(other - this))
        dy = int(round(float(row_at(other)) - float(row_at(this))))
        rows, cols = np.nonzero(stops & (np.abs(np.arange(width) - this) < (right - left) / 2)
                                [None, :])
        src_rows, src_cols = rows + dy, cols + dx
        fine = (src_rows >= 0) & (src_rows < height) & (src_cols >= 0) & (src_cols < width)
        rows, cols = rows[fine], cols[fine]
        under[rows, cols] = np.clip(ink[rows, cols] - ink[src_rows[fine], src_cols[fine]],
                                    0.0, 1.0)
    return under


def _locate(pen: np.ndarray, seen: np.ndarray, component: np.ndarray, origin: tuple[int, int],
            row_at: _LineFit, left: float, length_px: float, geom: LineGeom, r: float
            ) -> tuple[float, float, float]:
    """Where a mark meets the line: (mm from the left end, distance mm, fit scatter mm).

    A V (check mark) or X (cross) is placed at the meeting point of its two strokes; any
    other mark at a straight fit through its per-row ink centres, evaluated on the line.
    The arrays are a box of the zone whose top-left pixel is at `origin`.
    """
    rows, cols = _pixels(component, origin)
    distance_px = float(np.min(np.abs(rows - row_at(cols))))
    to_mm = geom.length_mm / length_px
    vrows, vcols = _pixels(seen, origin)
    if vrows.size == 0:  # entirely under the print: a dot on the line
        return (float(cols.mean()) - left) * to_mm, 0.0, 0.0
    offsets = vrows - row_at(vcols)
    vertex = _vertex(seen, origin, vrows, vcols, offsets, r)
    if vertex is not None:
        return (vertex - left) * to_mm, distance_px / r, VERTEX_SCATTER_MM
    near = np.abs(offsets) <= FIT_HALF_HEIGHT_MM * r
    if near.sum() < 3:
        near = np.abs(offsets) <= np.min(np.abs(offsets)) + 1.0 * r
    # A wide mark meeting the line from one side only, with no V found: a check mark whose
    # point is hidden by the line. Its centre of ink is not its point.
    closest = np.abs(offsets) <= np.min(np.abs(offsets)) + 0.6 * r
    one_sided = not ((offsets[near] < 0).any() and (offsets[near] > 0).any())
    hidden_point = one_sided and np.ptp(vcols[closest]) > WIDE_ONE_SIDED_MM * r
    w = pen[vrows[near] - origin[0], vcols[near] - origin[1]]
    y = offsets[near]
    x = vcols[near].astype(np.float64)
    keys = np.round(y).astype(int)
    _, inverse = np.unique(keys, return_inverse=True)
    row_w = np.bincount(inverse, weights=w)
    row_x = np.bincount(inverse, weights=w * x) / np.maximum(row_w, 1e-9)
    row_y = np.bincount(inverse, weights=w * y) / np.maximum(row_w, 1e-9)
    if len(row_w) >= 3 and np.ptp(row_y) >= 1.0:
        c1, c0 = np.polyfit(row_y, row_x, 1, w=np.sqrt(row_w))
        if distance_px > 0.6 * r and abs(c1 * distance_px) > r:
            c0 = float(row_x[np.argmin(np.abs(row_y))])  # stops short: no long extrapolation
        residual = row_x - (c0 + c1 * row_y)
    else:
        c0 = float(np.average(row_x, weights=row_w))
        residual = row_x - c0
    rms = float(np.sqrt(np.average(residual ** 2, weights=row_w))) / r
    if hidden_point:
        rms = max(rms, IRREGULAR_RMS_MM + 0.1)
    return (float(c0) - left) * to_mm, distance_px / r, rms


def _locate_at_stop(pen: np.ndarray, seen: np.ndarray, under: np.ndarray, stops: np.ndarray,
                    near_stops: np.ndarray, origin: tuple[int, int], row_at: _LineFit,
                    left: float, length_px: float, geom: LineGeom, r: float
                    ) -> tuple[float, float, float]:
    """A mark partly hidden by an end stop: placed at the point of a V or X, else by a
    straight fit through the rows where the stroke shows whole, else at the centre of its
    ink near the line (counting the ink presumed under the stop)."""
    to_mm = geom.length_mm / length_px
    rows, cols = _pixels(seen, origin)
    offsets = rows - row_at(cols)
    vertex = _vertex(seen, origin, rows, cols, offsets, r)
    if vertex is not None:
        return (vertex - left) * to_mm, 0.0, VERTEX_SCATTER_MM
    fit = _fit_whole_runs(seen, near_stops, origin, row_at, r)
    if fit is not None:
        return (fit[0] - left) * to_mm, 0.0, fit[1]
    weights = np.where(seen, pen, 0.0) + STOP_HIDDEN_WEIGHT * np.where(stops, under, 0.0)
    rows, cols = _pixels(weights, origin)
    near = np.abs(rows - row_at(cols)) <= FIT_HALF_HEIGHT_MM * r
    if near.any():
        rows, cols = rows[near], cols[near]
    w = weights[rows - origin[0], cols - origin[1]]
    x = float(np.average(cols, weights=w))
    spread = min(float(np.sqrt(np.average((cols - x) ** 2, weights=w))) / r, 1.0)
    x_mm = (x - left) * to_mm
    if NEAR_END_MM < x_mm < geom.length_mm - NEAR_END_MM:
        # A wide mark half hidden by the stop (a circle round a point near the end): its
        # centre of ink is only a guess, away from the end where it could change a score.
        spread = IRREGULAR_RMS_MM + 0.1
    return x_mm, 0.0, spread


def _fit_whole_runs(seen: np.ndarray, hiding: np.ndarray, origin: tuple[int, int],
                    row_at: _LineFit, r: float) -> tuple[float, float] | None:
    """A straight stroke's crossing column, from the rows where the stroke shows whole.

    A run of ink that ends against `hiding` (the print) may be cut short, so only runs
    clear of it on both sides are used. Returns (column on the line, scatter mm) or None.
    """
    ys, xs, ws = [], [], []
    for row in np.nonzero(seen.any(axis=1))[0]:
        line = seen[row].astype(np.int8)
        edges = np.diff(np.concatenate(([0], line, [0])))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        if len(starts) != 1:
            continue
        a, b = int(starts[0]), int(ends[0])
        if (a > 0 and hiding[row, a - 1]) or (b < seen.shape[1] and hiding[row, b]):
            continue
        centre = (a + b - 1) / 2 + origin[1]
        ys.append(row + origin[0] - float(row_at(centre)))
        xs.append(centre)
        ws.append(b - a)
    if len(ys) < 4:
        return None
    y, x, w = np.array(ys), np.array(xs), np.array(ws, dtype=np.float64)
    nearest = 0.0 if y.min() < 0 < y.max() else min(abs(y.min()), abs(y.max()))
    if np.ptp(y) < 1.5 * r or nearest > 3 * r:
        return None  # too short to fit, or all of it far from the line
    c1, c0 = np.polyfit(y, x, 1, w=np.sqrt(w))
    rms = float(np.sqrt(np.average((x - c0 - c1 * y) ** 2, weights=w))) / r
    return (float(c0), rms) if rms < 0.5 else None


def _vertex(seen: np.ndarray, origin: tuple[int, int], rows: np.ndarray, cols: np.ndarray,
            offsets: np.ndarray, r: float) -> float | None:
    """The column where two strokes meet near the line (a V or an X), or None.

    `rows` and `cols` are the pixels of `seen` in zone coordinates, in raster order;
    `seen` is a box of the zone whose top-left pixel is at `origin`.
    """
    row_values, row_starts, row_counts = np.unique(rows, return_index=True, return_counts=True)
    edges = np.diff(seen[row_values - origin[0]].astype(np.int8), axis=1, prepend=0, append=0)
    two = (edges == 1).sum(axis=1) == 2  # rows crossing exactly two strokes
    if two.sum() < 4:
        return None
    starts = np.nonzero(edges[two] == 1)[1].reshape(-1, 2)
    ends = np.nonzero(edges[two] == -1)[1].reshape(-1, 2)
    centres = (starts + ends - 1) / 2 + origin[1]
    widths = ends - starts  # each row's two run widths
    heights = np.array([abs(float(np.mean(offsets[a:a + n])))
                        for a, n in zip(row_starts[two], row_counts[two], strict=True)])
    estimates = []
    for side in (-1, 1):
        pick = (offsets * side > 0) & (np.abs(offsets) <= V_HALF_HEIGHT_MM * r)
        chosen = np.logical_or.reduceat(pick, row_starts)[two]
        if chosen.sum() < 4:
            continue
        h, xl, xr = heights[chosen], centres[chosen, 0], centres[chosen, 1]
        # Where a stroke ends inside the search height (the short arm of a check), its
        # rounded end narrows the last rows and holds still while the stroke would go on,
        # which tilts the fit and shifts the point: those narrow end rows are left out.
        wl, wr = widths[chosen, 0], widths[chosen, 1]
        whole = (wl >= 0.8 * np.median(wl)) & (wr >= 0.8 * np.median(wr))
        top = np.argsort(-h)  # from the far end towards the line
        cut = int(np.argmax(whole[top])) if whole.any() else 0
        keep = np.ones(len(h), dtype=bool)
        keep[top[:cut]] = False
        if keep.sum() >= 4 and np.ptp(h[keep]) >= 0.5 * r:  # (else too little is left)
            h, xl, xr = h[keep], xl[keep], xr[keep]
        if np.ptp(h) < 0.5 * r:
            continue
        bl, al = np.polyfit(h, xl, 1)
        br, ar = np.polyfit(h, xr, 1)
        if br - bl < 0.4:  # strokes that do not spread away from the line: not a V
            continue
        h0 = (al - ar) / (br - bl)  # height at which the two strokes meet
        if abs(h0) > V_MEET_MM * r:
            continue
        estimates.append(al + bl * h0)
    return float(np.mean(estimates)) if estimates else None


def _pixels(image: np.ndarray, origin: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The rows and columns of a box's nonzero pixels, in zone coordinates (raster order)."""
    rows, cols = np.nonzero(image)
    return rows + origin[0], cols + origin[1]


def _marked_stop(ink: np.ndarray, stops: np.ndarray, signed: np.ndarray, half_t: float,
                 left: float, right: float, geom: LineGeom, r: float) -> list[MarkCandidate]:
    """A mark inferred on the end stop that holds clearly more ink than the other.

    Both stops are printed alike, so a mark drawn right over one, hidden by the stop's
    mask, still shows as extra ink inside that mask.
    """
    masses = []
    cols = np.arange(ink.shape[1], dtype=np.float32)
    off_line = np.abs(signed) > half_t + 0.2 * r
    for end in (left, right):
        window = stops & off_line & (np.abs(cols - end) < STOP_WINDOW_MM * r)[None, :]
        masses.append(float(np.minimum(ink[window], 1.0).sum()) / (r * r))
    small, large = sorted(masses)
    if large - small < STOP_EXTRA_INK_MM2 or large < STOP_EXTRA_RATIO * small:
        return []
    x_mm = 0.0 if masses[0] > masses[1] else geom.length_mm
    return [MarkCandidate(x_mm=x_mm, area_mm2=large - small, contrast=1.0, distance_mm=0.0,
                          fit_rms_mm=1.0, at_stop=True, inferred=True)]


STREAK_REASON = ("a straight line runs through the mark zone and beyond it: a scanner streak, "
                 "a fold or a ruled line rather than a pen mark?")


def _streak_through(gray: np.ndarray, homography: np.ndarray, zone: Rect, x_mm: float,
                    contrast: float, r: float) -> bool:
    """Whether a thin dark line goes on straight above and below the mark zone at form x
    `x_mm`: a scanner streak or a fold crossing the page, which a pen tick never does."""
    for y_mm in (zone.y_mm - STREAK_CHECK_MM, zone.y_mm + zone.h_mm):
        strip = warp_region(gray, homography,
                            Rect(x_mm - STREAK_HALF_WIDTH_MM, y_mm, 2 * STREAK_HALF_WIDTH_MM,
                                 STREAK_CHECK_MM), r).astype(np.float32)
        darkness = np.maximum(float(np.percentile(strip, 90)) - strip, 0.0)
        # One column dark in most rows; its ink is summed over three pixels, over which a
        # thin streak crossing the page at a slight angle spreads.
        columns = darkness[:, :-2] + darkness[:, 1:-1] + darkness[:, 2:]
        dark = columns > STREAK_CONTRAST * contrast
        if dark.size == 0 or float(dark.mean(axis=0).max()) < STREAK_ROW_SHARE:
            return False
    return True


def _judge(marks: list[MarkCandidate]) -> tuple[str, MarkCandidate | None, list[str]]:
    real = [m for m in marks if m.area_mm2 >= MIN_MARK_AREA_MM2]
    if not real:
        if marks:
            return "uncertain", marks[0], ["only a very small or faint speck near the line"]
        return "missing", None, []
    real.sort(key=lambda m: -m.area_mm2)
    first = real[0]
    # Pieces at the same end as the first (either side of its stop) score as it does.
    real = [first, *(m for m in real[1:] if not _same_end(first, m))]
    competing = [m for m in real[1:] if m.area_mm2 >= SOLID_MARK_AREA_MM2]
    if first.meetings and not first.at_stop:
        where = ", ".join(f"{x:.0f} mm" for x in first.meetings)
        return "multiple", None, [f"marks drawn touching each other meet the line at {where}"]
    if competing:
        where = ", ".join(f"{m.x_mm:.0f} mm" for m in [first, *competing])
        return "multiple", None, [f"{1 + len(competing)} marks on the line (at {where})"]
    reasons = []
    if first.inferred:
        reasons.append("an end stop carries extra ink: a mark drawn right over the end?")
    # (Pieces of a mark around an end stop stack up in its columns: not a scribble.)
    if first.area_mm2 > HEAVY_MARK_AREA_MM2 or (first.layered > SCRIBBLE_LAYERED
                                                and not first.at_stop):
        reasons.append("heavy or scribbled ink: a crossed-out answer?")
    if first.contrast < FAINT_CONTRAST:
        reasons.append(f"faint mark (contrast {first.contrast:.2f} of the print)")
    if first.distance_mm > NEAR_LINE_MM:
        reasons.append(f"mark is {first.distance_mm:.1f} mm from the line")
    # (Specks further from the line are no answer, and no part of one: toner, dust.)
    if any(m.distance_mm <= NEAR_LINE_MM for m in real[1:]):
        reasons.append("small extra ink near the line")
    if first.fit_rms_mm > IRREGULAR_RMS_MM:
        reasons.append("mark shape is irregular (smudge or scribble?)")
    if first.spans_zone:
        reasons.append(STREAK_REASON)
    if first.area_mm2 < SMALL_MARK_MM2 and any(
            m is not first and m.area_mm2 >= 0.5 * first.area_mm2 for m in marks):
        # On a speckled copy a speck on the line looks like a small dot: a mark no bigger
        # than the specks beside it is not taken on trust.
        reasons.append("a small mark among specks of its size (toner on a copy?)")
    if first.touches_stop and NEAR_END_MM <= first.x_mm <= LINE_LENGTH_MM - NEAR_END_MM:
        # Away from the end, a stop that hides part of a mark can change its score (a
        # circle round a point near the end shows only its far side).
        reasons.append("the mark wraps round an end stop, which may hide part of it")
    if first.near_width_mm > WIDE_MARK_MM and not first.at_stop:
        reasons.append(f"ink {first.near_width_mm:.0f} mm wide along the line: two marks "
                       "drawn touching, or a crossed-out answer beside the answer?")
    return ("uncertain" if reasons else "ok"), first, reasons


def _same_end(a: MarkCandidate, b: MarkCandidate) -> bool:
    """Both readings within NEAR_END_MM of the same end: they score alike."""
    return (max(a.x_mm, b.x_mm) < NEAR_END_MM
            or min(a.x_mm, b.x_mm) > LINE_LENGTH_MM - NEAR_END_MM)


def _sigma(mark: MarkCandidate | None, ends_found: bool, image_px_per_mm: float,
           blur_mm: float = 0.0) -> float:
    """A conservative standard error of the reading, from resolution, blur, fit and ends."""
    if mark is None:
        return 0.0
    pixel_mm = 1.0 / max(image_px_per_mm, 1.0)
    sigma = (BASE_SIGMA_MM + SIGMA_PER_PIXEL * pixel_mm + SIGMA_PER_BLUR * blur_mm
             + SIGMA_PER_SCATTER * mark.fit_rms_mm)
    if not ends_found:
        sigma += NO_ENDS_SIGMA_MM
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
