"""The pen marks on a line: its ink grouped into candidates, each located and described.

`read_marks` finds the visible ink off the print, the ink presumed under it, groups it
into marks (ink touching an end stop is one mark) and describes each for judging;
`find_marked_stop` infers a mark drawn right over an end stop; `streak_through` tells a
scanner streak or fold from a pen stroke.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...form.layout import Rect
from ..register import warp_region
from .line import LineFrame, print_mask
from .locate import (
    keep_within_ink,
    locate_at_stop,
    locate_crossing,
    locate_half_hidden,
    read_at_crossing,
)
from .medians import median, running_median
from .model import MarkCandidate
from .tolerances import (
    BOX_MARGIN_MM,
    CANDIDATE_AREA_SHARE,
    CROSSING_CLEAR_OF_STOP_MM,
    EDGE_STRIP_PX,
    FIT_HALF_HEIGHT_MM,
    HIDDEN_CROSSING_MM,
    INFERRED_RMS_MM,
    INK_THRESHOLD,
    MAD_TO_SIGMA,
    MARK_BRIDGE_MM,
    MARK_CLOSE_MM,
    MARK_CONTRAST_PERCENTILE,
    MEETING_BAND_MM,
    MEETING_GAP_MM,
    MEETING_RIDGE_MM,
    MEETING_RIDGE_WIDTH_MM,
    MEETING_TOUCH_MM,
    MIN_MARK_AREA_MM2,
    NEAR_STOP_KERNEL_PX,
    NOISE_SIGMAS,
    PAPER_SAMPLE_STEP,
    PRINT_MASK_MARGIN_MM,
    RING_EDGE_MM,
    SCRIBBLE_STROKES,
    STOP_EXTRA_INK_MM2,
    STOP_EXTRA_RATIO,
    STOP_GROUP_MM,
    STOP_WINDOW_CLEAR_MM,
    STOP_WINDOW_MM,
    STREAK_CHECK_MM,
    STREAK_CONTRAST,
    STREAK_HALF_WIDTH_MM,
    STREAK_PAPER_PERCENTILE,
    STREAK_ROW_SHARE,
    STROKE_GAP_MM,
    THICK_BASELINE_MM,
    THICK_END_GAP_MM,
    THICK_LINE_MM,
    UNDER_STOP_INK,
    WEAK_INK_THRESHOLD,
    WEAK_NOISE_SIGMAS,
    WIDE_ONE_SIDED_MM,
    ZONE_EDGE_PX,
)


def read_marks(frame: LineFrame) -> tuple[list[MarkCandidate], np.ndarray]:
    """Find the pen marks on a line, measured from the frame's ends.

    Returns them, largest first, and where the end stops' print is.
    """
    ink, off_line, signed, r = frame.ink, frame.off_line, frame.signed, frame.px_per_mm
    mask, stops = print_mask(frame)
    pen = ink.copy()
    pen[mask] = 0.0
    strong, weak = _ink_thresholds(pen, mask)
    visible = (pen > strong).astype(np.uint8)
    hidden, hidden_weight = _hidden_ink(frame, visible, mask, stops)
    k = int(MARK_CLOSE_MM * r) | 1
    joined = cv2.morphologyEx(visible | hidden, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    # Pieces of one faint or grainy stroke are one mark where weaker ink joins them, across
    # the printed line too; the mark is measured on its visible ink only (a blurred pen's
    # halo would widen it). Weak ink joining no visible ink labels nothing: it is no mark.
    faint = (pen > weak).astype(np.uint8)
    faint |= _bridged_across_line(faint, mask & ~stops, r)
    count, labels = cv2.connectedComponents(joined | faint, connectivity=8)
    labels[joined == 0] = 0
    points = cv2.findNonZero(joined)  # (col, row) in raster order, like np.nonzero but faster
    points = np.zeros((0, 2), np.int32) if points is None else points.reshape(-1, 2)
    label_rows, label_cols = points[:, 1], points[:, 0]
    which = labels[label_rows, label_cols]
    sizes = np.bincount(which, minlength=count)
    # Ink touching an end stop anywhere along it is one mark, whichever side of the stop it
    # shows on: the stop hides what joins it (the middle of a tick drawn over it, the arcs
    # of a circle round it, a stroke crossing it below the line). (Two marks at one end
    # would score the same anyway.)
    near_stops = cv2.dilate(stops.astype(np.uint8),
                            np.ones((NEAR_STOP_KERNEL_PX, NEAR_STOP_KERNEL_PX), np.uint8)) > 0
    meeting_band = frame.half_thickness_px + (PRINT_MASK_MARGIN_MM + MEETING_BAND_MM) * r
    groups = _group_at_stops(frame, labels, count, near_stops)
    # But only ink at a stop near the line can have its crossing point hidden by it, or ink
    # meeting the stop's own ends, straight above or below it (a check's arm passing the
    # stop 3 mm up is read as any check).
    at_stops = near_stops & ((off_line <= FIT_HALF_HEIGHT_MM * r) | stops.any(axis=0)[None, :])
    # Work on each group's bounding box, with room around it for the morphology and the
    # print next to it; helpers get the box's origin to keep zone coordinates.
    margin = int(BOX_MARGIN_MM * r)
    height, width = ink.shape
    seen_all = visible > 0
    under = None  # pen ink under the stops, made when a mark meets one
    marks = []
    for group in groups:
        if sizes[group].sum() < MIN_MARK_AREA_MM2 * CANDIDATE_AREA_SHARE * r * r:
            continue  # each pixel weighs at most 1: too little ink whatever its darkness
        top, box_left, bottom, box_right = _box(label_rows, label_cols, which, group)
        box = (slice(max(0, top - margin), min(height, bottom + margin)),
               slice(max(0, box_left - margin), min(width, box_right + margin)))
        origin = (box[0].start, box[1].start)
        part = labels[box]
        component = part == group[0] if len(group) == 1 else np.isin(part, group)
        seen = component & seen_all[box]
        pen_box = pen[box]
        area = (float(np.minimum(pen_box[seen], 1.0).sum())
                + float(hidden_weight[box][component].sum())) / (r * r)
        if area < MIN_MARK_AREA_MM2 * CANDIDATE_AREA_SHARE:
            continue
        x_mm, distance, rms = locate_crossing(frame, pen_box, seen, component, origin)
        at_stop = bool((seen & at_stops[box]).any())
        if at_stop and under is None:
            under = _under_stops(frame, stops)
        if at_stop:  # (what the stop hides of it is ink of it too)
            area += _ink_under_stop(component, under[box], stops[box]) / (r * r)
        near_span = _near_span(seen, off_line[box], r)
        # An X whose strokes cross in view, clear of the stop: the stop hides an arm's end,
        # not where it crosses the line.
        crossing = (read_at_crossing(rms)
                    and min(x_mm, frame.geom.length_mm - x_mm) >= CROSSING_CLEAR_OF_STOP_MM)
        if at_stop and not crossing:
            if near_span is not None and near_span > WIDE_ONE_SIDED_MM:
                # Visible ink near the line wider than a tick: a circle or a cross.
                x_mm, rms = locate_half_hidden(
                    frame, component | (under[box] > UNDER_STOP_INK), off_line[box], origin)
            elif min(x_mm, frame.geom.length_mm - x_mm) < HIDDEN_CROSSING_MM:
                # The crossing point may be under the stop: read what shows around it.
                x_mm, distance, rms = locate_at_stop(frame, pen_box, seen, under[box],
                                                     stops[box], near_stops[box], origin)
        x_mm, rms, extent = keep_within_ink(frame, x_mm, rms, component, origin)
        if at_stop:  # the stop it touches may hide its crossing: the extent reaches the end
            length = frame.geom.length_mm
            extent = ((min(extent[0], 0.0), extent[1]) if x_mm < length / 2
                      else (extent[0], max(extent[1], length)))
        contrast = (float(np.percentile(pen_box[seen], MARK_CONTRAST_PERCENTILE))
                    if seen.any() else 1.0)
        marks.append(MarkCandidate(x_mm=x_mm, area_mm2=area, contrast=contrast,
                                   distance_mm=distance, fit_rms_mm=rms,
                                   at_stop=at_stop,
                                   meetings=_meetings(frame, seen, component, signed[box],
                                                      origin, meeting_band),
                                   layered=_layered(seen, mask[box], r),
                                   spans_zone=(top <= ZONE_EDGE_PX
                                               and bottom >= height - ZONE_EDGE_PX)
                                   or (box_left <= ZONE_EDGE_PX
                                       and box_right >= width - ZONE_EDGE_PX),
                                   near_width_mm=0.0 if near_span is None
                                   else near_span + 1.0 / r,
                                   touches_stop=_hugs_stop(component & near_stops[box],
                                                           signed[box], meeting_band),
                                   extent_mm=extent, crossing_in_view=crossing,
                                   length_mm=_reach(seen, r)))
    marks.sort(key=lambda m: -m.area_mm2)
    return marks, stops


def _group_at_stops(frame: LineFrame, labels: np.ndarray, count: int, near_stops: np.ndarray
                    ) -> list[list[int]]:
    """The labels of `count` connected pieces of ink grouped into marks: at each end, the
    pieces touching its stop (`near_stops`, anywhere along it) are one mark; every other
    piece is its own."""
    groups: list[list[int]] = []
    taken: set[int] = set()
    for end in (frame.left_col, frame.right_col):
        span = np.nonzero(np.abs(np.arange(labels.shape[1]) - end)
                          < STOP_GROUP_MM * frame.px_per_mm)[0]
        if span.size == 0:
            continue
        cut = slice(int(span[0]), int(span[-1]) + 1)
        touching = [int(label) for label in np.unique(labels[:, cut][near_stops[:, cut]])
                    if label > 0 and int(label) not in taken]
        if touching:
            groups.append(touching)
            taken.update(touching)
    groups += [[label] for label in range(1, count) if label not in taken]
    return groups


def _box(rows: np.ndarray, cols: np.ndarray, which: np.ndarray, group: list[int]
         ) -> tuple[int, int, int, int]:
    """The bounding box (top, left, bottom, right; exclusive) of the labelled pixels at
    `rows`, `cols` whose label `which` is in `group`."""
    pick = which == group[0] if len(group) == 1 else np.isin(which, group)
    rows, cols = rows[pick], cols[pick]
    return int(rows[0]), int(cols.min()), int(rows[-1]) + 1, int(cols.max()) + 1


def _ink_thresholds(pen: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """The ink threshold, raised above the paper's own noise (grainy photos, speckled
    copies), and the weaker one that ink joined to ink above it must pass."""
    step = PAPER_SAMPLE_STEP  # a sample of the paper says as much, faster
    paper = pen[::step, ::step][~mask[::step, ::step]]
    if paper.size == 0:
        return INK_THRESHOLD, WEAK_INK_THRESHOLD
    level = float(median(paper))
    spread = MAD_TO_SIGMA * float(median(np.abs(paper - level)))
    return (max(INK_THRESHOLD, level + NOISE_SIGMAS * spread),
            max(WEAK_INK_THRESHOLD, level + WEAK_NOISE_SIGMAS * spread))


def _hidden_ink(frame: LineFrame, visible: np.ndarray, mask: np.ndarray, stops: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Pen ink presumed under the print: strokes continuing across the line or a stop, and
    columns where the line is darker than printed (a dot or a stroke along the line).

    Returns where it is (uint8) and how much ink each such pixel stands for (0..1).
    """
    ink, r = frame.ink, frame.px_per_mm
    hidden = _bridged(visible, r) & mask.astype(np.uint8)
    weight = hidden.astype(np.float32)
    line_only = mask & ~stops
    # The sums and maxima over the line need only its band of rows.
    line_rows = np.nonzero(line_only.any(axis=1))[0]
    rows = slice(int(line_rows[0]), int(line_rows[-1]) + 1) if line_rows.size else slice(0, 0)
    line_only = line_only[rows]
    column_ink = np.where(line_only, np.minimum(ink[rows], 1.0), 0.0).sum(axis=0)
    # Only between the stops (their blurred edges are no mark); the baseline follows the
    # line's printed thickness, which a photo's perspective makes vary along it.
    lo = int(frame.left_col + THICK_END_GAP_MM * r)
    hi = int(frame.right_col - THICK_END_GAP_MM * r)
    window = int(THICK_BASELINE_MM * r) | 1
    if hi - lo > window:
        baseline = running_median(column_ink[lo:hi], window)
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


def _bridged(visible: np.ndarray, r: float) -> np.ndarray:
    """`visible` (uint8) closed over MARK_BRIDGE_MM either side: a stroke's pieces either
    side of the printed line joined across it."""
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
    return bridged


def _bridged_across_line(ink: np.ndarray, line: np.ndarray, r: float) -> np.ndarray:
    """Where the printed line (`line`) hides a stroke of `ink` (uint8) going on across it:
    `_bridged` on the rows within its reach of the line only (the same there, quicker).
    (A square instead of its disc, quicker still, joined a circle on a blurred photo to the
    line's own blur beyond the mask, 5 mm away.)"""
    k = int(2 * MARK_BRIDGE_MM * r) | 1
    bridged = np.zeros_like(ink)
    rows = np.nonzero(line.any(axis=1))[0]
    if rows.size:
        band = slice(max(0, int(rows[0]) - k), int(rows[-1]) + k + 1)
        bridged[band] = _bridged(ink[band], r) & line[band]
    return bridged


def _under_stops(frame: LineFrame, stops: np.ndarray) -> np.ndarray:
    """Pen ink presumed under each end stop (0..1 per pixel, zero outside the stops): the
    darkness there beyond the other stop's at the same place. Both stops are printed alike, so
    the other one is this one's print without the pen (at the other end, a mark is rare)."""
    ink, row_at = frame.ink, frame.row_at
    left, right = frame.left_col, frame.right_col
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


def _ink_under_stop(component: np.ndarray, under: np.ndarray, stops: np.ndarray) -> float:
    """How much pen ink (px of full ink) an end stop hides of a mark touching it (`component`,
    in a box of the zone, with the stop's `under` ink and its mask `stops` there): the
    stop's pixels darker than the other stop's by UNDER_STOP_INK or more, in pieces that
    touch the mark, and not already counted in it (bridged between its visible pieces)."""
    hidden = ((under > UNDER_STOP_INK) & stops & ~component).astype(np.uint8)
    if not hidden.any():
        return 0.0
    count, labels = cv2.connectedComponents(hidden, connectivity=8)
    near = cv2.dilate(component.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    touching = np.unique(labels[near & (hidden > 0)])
    kept = np.isin(labels, touching[touching > 0])
    return float(np.minimum(under[kept], 1.0).sum())


def _layered(seen: np.ndarray, mask: np.ndarray, r: float) -> float:
    """Share of the mark's columns that cross SCRIBBLE_STROKES strokes or more (a zig-zag
    scribble; a tick, cross, circle or check crosses at most two). Gaps shorter than
    STROKE_GAP_MM (grainy pencil) do not separate strokes, nor does the print: a stroke that
    reaches it from above or below goes on through it, and what shows of a cross's arms
    above and below it, not reaching it, is two strokes, not three."""
    cols = seen.any(axis=0)
    if not cols.any():
        return 0.0
    k = int(STROKE_GAP_MM * r) | 1
    shape = seen.astype(np.uint8)
    shape |= _reaching_print(shape, mask, k)
    closed = cv2.morphologyEx(shape, cv2.MORPH_CLOSE, np.ones((k, 1), np.uint8))
    starts = np.diff(closed.astype(np.int8), axis=0, prepend=0) == 1
    runs = starts.sum(axis=0)[cols]
    return float(np.mean(runs >= SCRIBBLE_STROKES))


def _reaching_print(shape: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """Per pixel of the print (`mask`), whether ink lies within `k` px (of its column) of
    the print's edge just above or just below it: the print hides a stroke going on there."""
    reach = np.zeros(mask.shape, dtype=np.uint8)
    masked = np.nonzero(mask.any(axis=1))[0]
    if masked.size == 0:
        return reach
    # Only the rows of the print and one either side matter (most boxes: the line's band).
    top, bottom = max(int(masked[0]) - 1, 0), min(int(masked[-1]) + 2, mask.shape[0])
    band = mask[top:bottom]
    pad_top, pad_bottom = max(top - k, 0), min(bottom + k, mask.shape[0])
    near = cv2.dilate(shape[pad_top:pad_bottom], np.ones((k, 1), np.uint8))
    near = near[top - pad_top:bottom - pad_top] > 0
    rows = np.arange(bottom - top, dtype=np.int32)[:, None]
    above = np.maximum.accumulate(np.where(band, -1, rows), axis=0)  # last clear row above
    below = np.minimum.accumulate(np.where(band, len(rows), rows)[::-1], axis=0)[::-1]
    cols = np.arange(band.shape[1])[None, :]
    from_above = near[np.maximum(above, 0), cols] & (above >= 0)
    from_below = near[np.minimum(below, len(rows) - 1), cols] & (below < len(rows))
    reach[top:bottom] = band & (from_above | from_below)
    return reach


def _meetings(frame: LineFrame, seen: np.ndarray, component: np.ndarray, signed: np.ndarray,
              origin: tuple[int, int], band: float) -> tuple[float, ...]:
    """Where one connected mark meets the line (its visible ink within `band` px of the
    line's centre), if in two places or more that are not the two sides of a circle: two
    marks drawn touching each other. In mm from the left end. The arrays are a box of the
    zone whose top-left pixel is at `origin`."""
    r = frame.px_per_mm
    cols = np.nonzero((seen & (np.abs(signed) <= band)).any(axis=0))[0]
    if cols.size == 0:
        return ()
    groups = np.split(cols, np.nonzero(np.diff(cols) > MEETING_GAP_MM * r)[0] + 1)
    edge = frame.half_thickness_px + PRINT_MASK_MARGIN_MM * r
    groups = [part for cols in groups
              for part in _split_at_ridges(cols, component, signed, edge, r)]
    if len(groups) < 2:
        return ()
    left, length_px, length_mm = frame.left_col, frame.length_px, frame.geom.length_mm
    for first, second in zip(groups, groups[1:], strict=False):
        if not _ring_between(component, signed, band, first, second, r):
            return tuple((float((g + origin[1]).mean()) - left) * length_mm / length_px
                         for g in groups)
    return ()


def _split_at_ridges(cols: np.ndarray, ink: np.ndarray, signed: np.ndarray, edge: float,
                     r: float) -> list[np.ndarray]:
    """One run of columns where a mark's ink comes near the line, split where the ink
    leaves the line between two places it touches it (the print's edge at `edge` px from
    the line's centre): over MEETING_RIDGE_WIDTH_MM of columns or more, none touching, ink
    in every one, reaching MEETING_RIDGE_MM beyond the print. A tick beside a check whose
    arm joins it, a cross beside a check: their meetings lie closer than MEETING_GAP_MM,
    the ink near the line between them being that arm. `ink` is the mark with its grainy
    gaps closed (a hole is no ridge)."""
    beyond = ink[:, cols] & (np.abs(signed[:, cols]) > edge)
    # (Without the blurred print's own edge, a thin strip along it that a blurred scan
    # shows beyond the mask: strokes are taller than that in every column they cross.)
    strokes = cv2.morphologyEx(beyond.astype(np.uint8), cv2.MORPH_OPEN,
                               np.ones((EDGE_STRIP_PX + 1, 1), np.uint8))
    dist = np.where(strokes > 0, np.abs(signed[:, cols]), np.inf).min(axis=0)
    touching = np.nonzero(dist <= edge + MEETING_TOUCH_MM * r)[0]
    cuts = []
    for a, b in zip(touching[:-1], touching[1:], strict=True):
        between = dist[a + 1:b]
        if (between.size >= MEETING_RIDGE_WIDTH_MM * r and np.isfinite(between).all()
                and float(between.max()) >= edge + MEETING_RIDGE_MM * r):
            cuts.append((a + b + 1) // 2)
    return np.split(cols, cuts) if cuts else [cols]


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


def _reach(seen: np.ndarray, r: float) -> float:
    """How far (mm) a mark's visible ink reaches: its bounding box's diagonal, pixel
    centre to pixel centre (a speck's is its width; a stroke's, its length)."""
    rows, cols = np.nonzero(seen.any(axis=1))[0], np.nonzero(seen.any(axis=0))[0]
    if rows.size == 0:
        return 0.0
    return float(np.hypot(np.ptp(rows), np.ptp(cols))) / r


def _near_span(seen: np.ndarray, off_line: np.ndarray, r: float) -> float | None:
    """How far (mm) a mark's visible ink within FIT_HALF_HEIGHT_MM of the line spans, from
    its first column's centre to its last's; None when it has none there."""
    cols = np.nonzero((seen & (off_line <= FIT_HALF_HEIGHT_MM * r)).any(axis=0))[0]
    return float(np.ptp(cols)) / r if cols.size else None


def find_marked_stop(x_mm: float, extra: float, ratio: float) -> list[MarkCandidate]:
    """A mark inferred on the end stop that holds clearly more ink than the other (its
    `stop_extra_ink`).

    Both stops are printed alike, so a mark drawn right over one, hidden by the stop's
    mask, still shows as extra ink inside that mask.
    """
    if extra < STOP_EXTRA_INK_MM2 or ratio < STOP_EXTRA_RATIO:
        return []
    return [MarkCandidate(x_mm=x_mm, area_mm2=extra, contrast=1.0, distance_mm=0.0,
                          fit_rms_mm=INFERRED_RMS_MM, at_stop=True, inferred=True)]


def stop_extra_ink(frame: LineFrame, stops: np.ndarray) -> tuple[float, float, float]:
    """Which end stop holds more ink (its x in mm: 0 or the line's length), how much more
    (mm2 of full ink, beside the line's band) and how many times as much as the other."""
    ink, r = frame.ink, frame.px_per_mm
    masses = []
    cols = np.arange(ink.shape[1], dtype=np.float32)
    off_line = frame.off_line > frame.half_thickness_px + STOP_WINDOW_CLEAR_MM * r
    for end in (frame.left_col, frame.right_col):
        window = stops & off_line & (np.abs(cols - end) < STOP_WINDOW_MM * r)[None, :]
        masses.append(float(np.minimum(ink[window], 1.0).sum()) / (r * r))
    small, large = sorted(masses)
    x_mm = 0.0 if masses[0] > masses[1] else frame.geom.length_mm
    return x_mm, large - small, large / max(small, 1e-6)


def streak_through(gray: np.ndarray, homography: np.ndarray, zone: Rect, x_mm: float,
                   contrast: float, r: float) -> bool:
    """Whether a thin dark line goes on straight above and below the mark zone at form x
    `x_mm`: a scanner streak or a fold crossing the page, which a pen tick never does."""
    for y_mm in (zone.y_mm - STREAK_CHECK_MM, zone.y_mm + zone.h_mm):
        strip = warp_region(gray, homography,
                            Rect(x_mm - STREAK_HALF_WIDTH_MM, y_mm, 2 * STREAK_HALF_WIDTH_MM,
                                 STREAK_CHECK_MM), r).astype(np.float32)
        darkness = np.maximum(float(np.percentile(strip, STREAK_PAPER_PERCENTILE)) - strip, 0.0)
        # One column dark in most rows; its ink is summed over three pixels, over which a
        # thin streak crossing the page at a slight angle spreads.
        columns = darkness[:, :-2] + darkness[:, 1:-1] + darkness[:, 2:]
        dark = columns > STREAK_CONTRAST * contrast
        if dark.size == 0 or float(dark.mean(axis=0).max()) < STREAK_ROW_SHARE:
            return False
    return True
