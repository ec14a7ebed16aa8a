"""Where one pen mark crosses the line: in mm from the line's left end, with the scatter
of the ink that placed it.

Each function gets one mark as arrays over a box of the mark zone whose top-left pixel is
at `origin` (`seen`: its visible ink; `component`: that and the ink presumed under the
print; `pen`: the darkness with the print masked out), and the line's `LineFrame`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .line import LineFrame
from .tolerances import (
    CLOSEST_BAND_MM,
    DOUBTFUL_RMS_MM,
    FIT_FALLBACK_MM,
    FIT_HALF_HEIGHT_MM,
    HALF_HIDDEN_END_RMS_MM,
    MAX_EXTRAPOLATION_MM,
    MAX_STOP_SPREAD_MM,
    MIN_FIT_PIXELS,
    MIN_FIT_ROWS,
    MIN_FIT_SPAN_PX,
    MIN_V_ROWS,
    MIN_WHOLE_RUNS,
    NEAR_END_MM,
    PLAUSIBLE_BAND_MM,
    PLAUSIBLE_NEAREST_MM,
    PLAUSIBLE_SLACK_MM,
    SHORT_OF_LINE_MM,
    STOP_HIDDEN_WEIGHT,
    V_HALF_HEIGHT_MM,
    V_MEET_MM,
    V_MIN_HEIGHT_MM,
    V_MIN_SPREAD,
    V_POINT_SCATTER_MM,
    V_SPREAD_MIN_ROWS,
    V_TIP_MAX_DEPTH_MM,
    V_TIP_MAX_WIDTH_MM,
    V_TIP_MIN_PX,
    V_TIP_SCATTER_MM,
    V_WHOLE_WIDTH_SHARE,
    VERTEX_SCATTER_MM,
    WHOLE_RUNS_MAX_DISTANCE_MM,
    WHOLE_RUNS_MAX_RMS_MM,
    WHOLE_RUNS_MIN_HEIGHT_MM,
    WIDE_ONE_SIDED_MM,
)


def locate_crossing(frame: LineFrame, pen: np.ndarray, seen: np.ndarray,
                    component: np.ndarray, origin: tuple[int, int]
                    ) -> tuple[float, float, float]:
    """Where a mark meets the line: (mm from the left end, distance mm, fit scatter mm).

    A V (check mark) or X (cross) is placed at the meeting point of its two strokes; any
    other mark at a straight fit through its per-row ink centres, evaluated on the line.
    """
    row_at, left, r = frame.row_at, frame.left_col, frame.px_per_mm
    rows, cols = _pixels(component, origin)
    distance_px = float(np.min(np.abs(rows - row_at(cols))))
    to_mm = frame.geom.length_mm / frame.length_px
    vrows, vcols = _pixels(seen, origin)
    if vrows.size == 0:  # entirely under the print: a dot on the line
        return (float(cols.mean()) - left) * to_mm, 0.0, 0.0
    offsets = vrows - row_at(vcols)
    vertex = _vertex(pen, seen, origin, vrows, offsets, r)
    if vertex is not None and vertex[0] is not None:
        return (vertex[0] - left) * to_mm, distance_px / r, vertex[1]
    near = np.abs(offsets) <= FIT_HALF_HEIGHT_MM * r
    if near.sum() < MIN_FIT_PIXELS:
        near = np.abs(offsets) <= np.min(np.abs(offsets)) + FIT_FALLBACK_MM * r
    # A wide mark meeting the line from one side only, or two strokes spreading from it
    # whose meeting was not found (vertex[0] None), is a check mark whose point is hidden
    # by the line or blurred away: its centre of ink is not its point.
    closest = np.abs(offsets) <= np.min(np.abs(offsets)) + CLOSEST_BAND_MM * r
    one_sided = not ((offsets[near] < 0).any() and (offsets[near] > 0).any())
    hidden_point = ((one_sided and np.ptp(vcols[closest]) > WIDE_ONE_SIDED_MM * r)
                    or vertex is not None)
    w = pen[vrows[near] - origin[0], vcols[near] - origin[1]]
    y = offsets[near]
    x = vcols[near].astype(np.float64)
    keys = np.round(y).astype(int)
    _, inverse = np.unique(keys, return_inverse=True)
    row_w = np.bincount(inverse, weights=w)
    row_x = np.bincount(inverse, weights=w * x) / np.maximum(row_w, 1e-9)
    row_y = np.bincount(inverse, weights=w * y) / np.maximum(row_w, 1e-9)
    if len(row_w) >= MIN_FIT_ROWS and np.ptp(row_y) >= MIN_FIT_SPAN_PX:
        c1, c0 = np.polyfit(row_y, row_x, 1, w=np.sqrt(row_w))
        if distance_px > SHORT_OF_LINE_MM * r and abs(c1 * distance_px) > MAX_EXTRAPOLATION_MM * r:
            c0 = float(row_x[np.argmin(np.abs(row_y))])  # stops short: no long extrapolation
        residual = row_x - (c0 + c1 * row_y)
    else:
        c0 = float(np.average(row_x, weights=row_w))
        residual = row_x - c0
    rms = float(np.sqrt(np.average(residual ** 2, weights=row_w))) / r
    if hidden_point:
        rms = max(rms, DOUBTFUL_RMS_MM)
    return (float(c0) - left) * to_mm, distance_px / r, rms


def read_at_crossing(scatter_mm: float) -> bool:
    """Whether `locate_crossing` placed a mark where an X's two strokes cross, fitted on
    both sides of the line (the only reading given exactly VERTEX_SCATTER_MM)."""
    return scatter_mm == VERTEX_SCATTER_MM


def locate_at_stop(frame: LineFrame, pen: np.ndarray, seen: np.ndarray, under: np.ndarray,
                   stops: np.ndarray, near_stops: np.ndarray, origin: tuple[int, int]
                   ) -> tuple[float, float, float]:
    """A mark partly hidden by an end stop: placed at the point of a V or X, else by a
    straight fit through the rows where the stroke shows whole, else at the centre of its
    ink near the line (counting the ink presumed under the stop, `under`, where `stops`)."""
    row_at, left, r, geom = frame.row_at, frame.left_col, frame.px_per_mm, frame.geom
    to_mm = geom.length_mm / frame.length_px
    rows, cols = _pixels(seen, origin)
    offsets = rows - row_at(cols)
    vertex = _vertex(pen, seen, origin, rows, offsets, r)
    if vertex is not None and vertex[0] is not None:
        return (vertex[0] - left) * to_mm, 0.0, vertex[1]
    fit = _fit_whole_runs(frame, seen, near_stops, origin)
    if fit is not None:
        return (fit[0] - left) * to_mm, 0.0, fit[1]
    weights = np.where(seen, pen, 0.0) + STOP_HIDDEN_WEIGHT * np.where(stops, under, 0.0)
    rows, cols = _pixels(weights, origin)
    near = np.abs(rows - row_at(cols)) <= FIT_HALF_HEIGHT_MM * r
    if near.any():
        rows, cols = rows[near], cols[near]
    w = weights[rows - origin[0], cols - origin[1]]
    x = float(np.average(cols, weights=w))
    spread = min(float(np.sqrt(np.average((cols - x) ** 2, weights=w))) / r, MAX_STOP_SPREAD_MM)
    x_mm = (x - left) * to_mm
    if NEAR_END_MM < x_mm < geom.length_mm - NEAR_END_MM:
        # A wide mark half hidden by the stop (a circle round a point near the end): its
        # centre of ink is only a guess, away from the end where it could change a score.
        spread = DOUBTFUL_RMS_MM
    return x_mm, 0.0, spread


def locate_half_hidden(frame: LineFrame, component: np.ndarray, off_line: np.ndarray,
                       origin: tuple[int, int]) -> tuple[float, float]:
    """A wide mark (circle, cross) partly under an end stop: the middle of its extent near
    the line, hidden part included. Near enough to an end not to matter it is accepted;
    further in, where it could change a score, it goes to a person."""
    geom, r = frame.geom, frame.px_per_mm
    cols = np.nonzero((component & (off_line <= FIT_HALF_HEIGHT_MM * r)).any(axis=0))[0]
    cols = cols + origin[1]
    x_mm = (((float(cols.min()) + float(cols.max())) / 2 - frame.left_col) * geom.length_mm
            / frame.length_px)
    from_end = min(x_mm, geom.length_mm - x_mm)
    return x_mm, (HALF_HIDDEN_END_RMS_MM if from_end < NEAR_END_MM else DOUBTFUL_RMS_MM)


def keep_within_ink(frame: LineFrame, x_mm: float, rms: float, component: np.ndarray,
                    origin: tuple[int, int]) -> tuple[float, float, tuple[float, float]]:
    """Keep an estimate that lies where the mark has ink near the line; otherwise fall
    back to the middle of that ink, with a scatter that sends the item to a person.
    Also returns that ink's extent along the line (mm, PLAUSIBLE_SLACK_MM either side):
    wherever the mark crosses the line, it is there."""
    r = frame.px_per_mm
    rows, cols = _pixels(component, origin)
    offsets = np.abs(rows - frame.row_at(cols))
    near = offsets <= max(PLAUSIBLE_BAND_MM * r, float(offsets.min()) + PLAUSIBLE_NEAREST_MM * r)
    lo, hi = float(cols[near].min()), float(cols[near].max())
    to_mm = frame.geom.length_mm / frame.length_px
    extent = ((lo - frame.left_col) * to_mm - PLAUSIBLE_SLACK_MM,
              (hi - frame.left_col) * to_mm + PLAUSIBLE_SLACK_MM)
    col = frame.column(x_mm)
    if lo - PLAUSIBLE_SLACK_MM * r <= col <= hi + PLAUSIBLE_SLACK_MM * r:
        return x_mm, rms, extent
    return ((lo + hi) / 2 - frame.left_col) * to_mm, max(rms, DOUBTFUL_RMS_MM), extent


def _fit_whole_runs(frame: LineFrame, seen: np.ndarray, hiding: np.ndarray,
                    origin: tuple[int, int]) -> tuple[float, float] | None:
    """A straight stroke's crossing column, from the rows where the stroke shows whole.

    A run of ink that ends against `hiding` (the print) may be cut short, so only runs
    clear of it on both sides are used. Returns (column on the line, scatter mm) or None.
    """
    row_at, r = frame.row_at, frame.px_per_mm
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
    if len(ys) < MIN_WHOLE_RUNS:
        return None
    y, x, w = np.array(ys), np.array(xs), np.array(ws, dtype=np.float64)
    nearest = 0.0 if y.min() < 0 < y.max() else min(abs(y.min()), abs(y.max()))
    if np.ptp(y) < WHOLE_RUNS_MIN_HEIGHT_MM * r or nearest > WHOLE_RUNS_MAX_DISTANCE_MM * r:
        return None  # too short to fit, or all of it far from the line
    c1, c0 = np.polyfit(y, x, 1, w=np.sqrt(w))
    rms = float(np.sqrt(np.average((x - c0 - c1 * y) ** 2, weights=w))) / r
    return (float(c0), rms) if rms < WHOLE_RUNS_MAX_RMS_MM else None


@dataclass(frozen=True)
class _Arms:
    """A V's two strokes on one side of the line: the rows crossing both, their heights
    (px from the line's centre) and the two strokes' centres (columns, box coordinates)."""

    height: np.ndarray
    left: np.ndarray
    right: np.ndarray


def _vertex(pen: np.ndarray, seen: np.ndarray, origin: tuple[int, int], rows: np.ndarray,
            offsets: np.ndarray, r: float) -> tuple[float | None, float] | None:
    """The column where two strokes meet near the line (a V or an X) and the scatter that
    reading is given; (None, DOUBTFUL_RMS_MM) for two strokes spreading from one side of
    the line whose meeting was not found; None for any other mark.

    `rows` are the rows of the pixels of `seen` in zone coordinates, in raster order, and
    `offsets` those pixels' distances from the line's centre. An X's strokes are each
    fitted across the line, through both sides (VERTEX_SCATTER_MM). A V's point (a check
    mark's) is read where its rounded end shows beyond the line (V_TIP_SCATTER_MM); else it
    is extrapolated from one side, through strokes whose meeting blur rounds off: less sure
    (V_POINT_SCATTER_MM).
    """
    row_values, row_starts, row_counts = np.unique(rows, return_index=True, return_counts=True)
    edges = np.diff(seen[row_values - origin[0]].astype(np.int8), axis=1, prepend=0, append=0)
    runs = (edges == 1).sum(axis=1)
    if (runs == 2).sum() < MIN_V_ROWS:
        return None
    heights = np.add.reduceat(offsets, row_starts) / row_counts  # signed, px
    arms = {side: arm for side in (-1, 1)
            if (arm := _arms(edges, runs, heights * side, r)) is not None}
    meets, spread = {}, []
    for side, arm in arms.items():
        bl, al = np.polyfit(arm.height, arm.left, 1)
        br, ar = np.polyfit(arm.height, arm.right, 1)
        if br - bl < V_MIN_SPREAD:  # strokes that do not spread away from the line: not a V
            continue
        spread.append(side)
        h0 = (al - ar) / (br - bl)  # height at which the two strokes meet
        if abs(h0) <= V_MEET_MM * r:
            meets[side] = al + bl * h0
    if len(meets) == 2:
        crossing = _crossing(arms[-1], arms[1], V_MEET_MM * r)
        x = float(np.mean(list(meets.values()))) if crossing is None else crossing
        return x + origin[1], VERTEX_SCATTER_MM
    if len(spread) == 1:
        tip = _tip(pen, seen, offsets, -spread[0], r)
        if tip is not None:
            return tip + origin[1], V_TIP_SCATTER_MM
    if len(meets) == 1:
        return float(next(iter(meets.values()))) + origin[1], V_POINT_SCATTER_MM
    if sum(_spreading(edges, runs, heights * side, r) for side in (-1, 1)) == 1:
        return None, DOUBTFUL_RMS_MM
    return None


def _spreading(edges: np.ndarray, runs: np.ndarray, heights: np.ndarray, r: float) -> bool:
    """Whether, on the side of the line where `heights` (px, one per row of `edges`) are
    positive, a few rows cross two strokes that draw apart away from the line (a V, however
    short or blurred its arms): a circle's sides draw together, a tick shows one stroke."""
    pair = np.nonzero((heights > 0) & (heights <= V_HALF_HEIGHT_MM * r) & (runs == 2))[0]
    if len(pair) < V_SPREAD_MIN_ROWS or np.ptp(heights[pair]) == 0:
        return False
    starts = np.nonzero(edges[pair] == 1)[1].reshape(-1, 2)
    ends = np.nonzero(edges[pair] == -1)[1].reshape(-1, 2)
    apart = (starts[:, 1] + ends[:, 1] - starts[:, 0] - ends[:, 0]) / 2
    return bool(np.polyfit(heights[pair], apart, 1)[0] > 0)


def _arms(edges: np.ndarray, runs: np.ndarray, heights: np.ndarray, r: float) -> _Arms | None:
    """The two strokes of a V on the side of the line where `heights` (px, one per row of
    `edges`, the rows' run edges) are positive, or None if too few rows show both."""
    pair = np.nonzero((heights > 0) & (heights <= V_HALF_HEIGHT_MM * r) & (runs == 2))[0]
    if len(pair) < MIN_V_ROWS:
        return None
    starts = np.nonzero(edges[pair] == 1)[1].reshape(-1, 2)
    ends = np.nonzero(edges[pair] == -1)[1].reshape(-1, 2)
    h = heights[pair]
    # Where a stroke ends inside the search height (the short arm of a check), its rounded
    # end narrows the last rows and holds still while the stroke would go on, which tilts
    # the fit and shifts the point: those narrow end rows are left out.
    wl, wr = (ends - starts).T
    whole = ((wl >= V_WHOLE_WIDTH_SHARE * np.median(wl))
             & (wr >= V_WHOLE_WIDTH_SHARE * np.median(wr)))
    top = np.argsort(-h)  # from the far end towards the line
    cut = int(np.argmax(whole[top])) if whole.any() else 0
    keep = np.ones(len(h), dtype=bool)
    keep[top[:cut]] = False
    if keep.sum() >= MIN_V_ROWS and np.ptp(h[keep]) >= V_MIN_HEIGHT_MM * r:
        h, starts, ends = h[keep], starts[keep], ends[keep]  # (else too little is left)
    if np.ptp(h) < V_MIN_HEIGHT_MM * r:
        return None
    centres = (starts + ends - 1) / 2
    return _Arms(h, centres[:, 0], centres[:, 1])


def _crossing(up: _Arms, down: _Arms, reach: float) -> float | None:
    """Where an X's two strokes cross (box column), each fitted through its centres on
    both sides of the line: the upper left arm goes on as the lower right one, and the
    upper right as the lower left. A hand's stroke bows; a straight line through both sides
    and one extrapolated from each err to opposite sides of a bowed stroke's crossing, so
    each stroke is fitted with a bow (a parabola). None if they do not cross within `reach`
    (px) of the line."""
    y = np.concatenate([-up.height, down.height])
    stroke_a = np.polyfit(y, np.concatenate([up.left, down.right]), 2)
    stroke_b = np.polyfit(y, np.concatenate([up.right, down.left]), 2)
    roots = np.roots(stroke_a - stroke_b)
    roots = roots[np.isreal(roots)].real
    roots = roots[np.abs(roots) <= reach]
    if roots.size == 0:
        return None
    return float(np.polyval(stroke_a, roots[np.argmin(np.abs(roots))]))


def _tip(pen: np.ndarray, seen: np.ndarray, offsets: np.ndarray, side: int, r: float
         ) -> float | None:
    """The column (box coordinates) of a V's point where its rounded end shows beyond the
    line, on `side` (a check mark drawn down through the line): the middle of that small
    end's ink, or None if too little or too much shows there to be one."""
    far = offsets * side > 0
    if far.sum() < V_TIP_MIN_PX:
        return None
    rows, cols = np.nonzero(seen)
    rows, cols = rows[far], cols[far]
    if (np.ptp(cols) > V_TIP_MAX_WIDTH_MM * r
            or float(np.max(np.abs(offsets[far]))) > V_TIP_MAX_DEPTH_MM * r):
        return None
    return float(np.average(cols, weights=pen[rows, cols]))


def _pixels(image: np.ndarray, origin: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The rows and columns of a box's nonzero pixels, in zone coordinates (raster order)."""
    rows, cols = np.nonzero(image)
    return rows + origin[0], cols + origin[1]
