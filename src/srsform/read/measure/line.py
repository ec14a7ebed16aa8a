"""The printed line in a mark zone's work image: its ink, centre, thickness and end stops.

`find_line` and `find_stop` locate the print; `LineFrame` bundles what they found for the
passes that look for pen marks, and `print_mask` says where the print hides pen ink.
All work in pixels of the upright zone image, `r` (= WORK_PX_PER_MM) pixels per mm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ...form.layout import LineGeom
from .medians import median
from .tolerances import (
    END_SEARCH_MM,
    FALLBACK_HALF_THICKNESS_MM,
    INK_THRESHOLD,
    LINE_END_CLEAR_MM,
    LINE_FIT_PASSES,
    LINE_PEAK_SHARE,
    LINE_SEARCH_MM,
    LINE_STRETCH_MM,
    MASK_PAST_END_MARGINS,
    MIN_HALF_THICKNESS_PX,
    MIN_LINE_CONTRAST,
    MIN_LINE_STRETCHES,
    MIN_STOP_COLS,
    MIN_STOP_CONTRAST,
    MIN_STOP_ROWS,
    OUTLIER_MEDIANS,
    OUTLIER_MIN_PX,
    PAPER_WINDOW_MM,
    PEAK_FLOOR,
    PEAK_HALF_ROWS,
    PRINT_MASK_MARGIN_MM,
    STOP_EDGE_SHARE,
    STOP_LINE_CLEAR_MM,
    STOP_MASK_SIDE_MARGINS,
    STOP_MASK_TIP_MARGINS,
    STOP_PROFILE_MARGIN_MM,
    STOP_TIP_TRIM_MM,
    STOP_WIDE_RATIO,
    STOP_WIDE_SLACK_PX,
)


def ink_darkness(raw: np.ndarray, r: float) -> np.ndarray:
    """Darkness against the local paper colour (uneven light and shading removed)."""
    k = int(PAPER_WINDOW_MM * r) | 1
    band = raw.astype(np.float32)
    # The maximum is exact in the image's own type, and quicker there.
    paper = cv2.dilate(raw, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    paper = cv2.blur(paper.astype(np.float32), (k, k))
    return np.maximum(paper - band, 0.0)


@dataclass(frozen=True, slots=True)
class LineFit:
    """The printed line's centre row as a function of column (a straight-line fit)."""

    a: float
    b: float

    def __call__(self, col: float | np.ndarray) -> float | np.ndarray:
        return self.a + self.b * col


def find_line(ink: np.ndarray, nominal_row: float, x0: float, x1: float, r: float
              ) -> tuple[LineFit, float, float] | None:
    """Fit the printed line: its row along the columns, its contrast and half-thickness
    (px); None when no line shows near `nominal_row` between columns `x0` and `x1`."""
    search = int(LINE_SEARCH_MM * r)
    top = max(0, int(nominal_row) - search)
    bottom = min(ink.shape[0], int(nominal_row) + search + 2)
    cols, rows, peaks = [], [], []
    step = int(LINE_STRETCH_MM * r)
    starts = range(int(x0 + LINE_END_CLEAR_MM * r), int(x1 - LINE_END_CLEAR_MM * r) - step + 1,
                   step)
    if len(starts) < MIN_LINE_STRETCHES:
        return None
    # The median over a stretch ignores pen strokes that cross it.
    stretch = ink[top:bottom, starts[0]:starts[0] + len(starts) * step]
    profiles = median(stretch.reshape(bottom - top, len(starts), step), axis=2)
    # Each stretch's peak row, and weights over the rows around it (zero-padded).
    stretches = np.arange(len(starts))
    peak_rows = np.argmax(profiles, axis=0)
    peak_values = profiles[peak_rows, stretches]
    lows = np.maximum(peak_rows - PEAK_HALF_ROWS, 0)
    highs = np.minimum(peak_rows + PEAK_HALF_ROWS + 1, profiles.shape[0])
    index = np.arange(2 * PEAK_HALF_ROWS + 1)
    around = lows[:, None] + index[None, :]
    values = profiles[np.minimum(around, profiles.shape[0] - 1), stretches[:, None]]
    weights = np.where(around < highs[:, None],
                       np.maximum(values - PEAK_FLOOR * peak_values[:, None], 0.0), 0.0)
    totals = weights.sum(axis=1)
    for i in np.nonzero((peak_values > 0) & (totals > 0))[0]:
        size = int(highs[i] - lows[i])
        cols.append(starts[i] + step / 2)
        rows.append(top + int(lows[i])
                    + float(np.dot(weights[i, :size], index[:size]) / totals[i]))
        peaks.append(float(peak_values[i]))
    if len(cols) < MIN_LINE_STRETCHES:
        return None
    cols_a, rows_a, peaks_a = np.array(cols), np.array(rows), np.array(peaks)
    contrast = float(median(peaks_a))
    if contrast < MIN_LINE_CONTRAST:
        return None
    keep = peaks_a > LINE_PEAK_SHARE * contrast
    for _ in range(LINE_FIT_PASSES):
        if keep.sum() < MIN_LINE_STRETCHES:
            return None
        b, a = np.polyfit(cols_a[keep], rows_a[keep], 1)
        residual = np.abs(rows_a - (a + b * cols_a))
        keep = keep & (residual < max(OUTLIER_MIN_PX,
                                      OUTLIER_MEDIANS * float(median(residual[keep]))))
    fit = LineFit(float(a), float(b))
    # Half-thickness: rows around the centre where the median profile stays dark.
    centre = int(round(fit((x0 + x1) / 2)))
    lo = max(0, centre - search)
    mid = slice(int(x0 + LINE_END_CLEAR_MM * r), int(x1 - LINE_END_CLEAR_MM * r))
    straightened = median(ink[lo:centre + search + 1, mid], axis=1)
    dark = np.nonzero(straightened > INK_THRESHOLD * contrast)[0] + lo
    half_t = (max(float(dark.max() - dark.min() + 1) / 2, MIN_HALF_THICKNESS_PX) if dark.size
              else FALLBACK_HALF_THICKNESS_MM * r)
    return fit, contrast, half_t


def find_stop(ink: np.ndarray, row_at: LineFit, nominal_col: float, geom: LineGeom,
              r: float) -> tuple[float, bool]:
    """Locate one end stop's centre column, or return the prediction and False.

    The median over the stop's rows (away from the line) ignores pen strokes that cross
    only some of them, as a mark drawn on an end stop does.
    """
    search = END_SEARCH_MM * r
    row_c = float(row_at(nominal_col))
    span = geom.stop_half_height_mm * r
    lo_col = int(max(0, nominal_col - search - STOP_PROFILE_MARGIN_MM * r))
    hi_col = int(min(ink.shape[1], nominal_col + search + STOP_PROFILE_MARGIN_MM * r + 1))
    rows = np.r_[int(row_c - span + STOP_TIP_TRIM_MM * r):int(row_c - STOP_LINE_CLEAR_MM * r),
                 int(row_c + STOP_LINE_CLEAR_MM * r) + 1:
                 int(row_c + span - STOP_TIP_TRIM_MM * r) + 1]
    rows = rows[(rows >= 0) & (rows < ink.shape[0])]
    if rows.size < MIN_STOP_ROWS or hi_col - lo_col < MIN_STOP_COLS:
        return nominal_col, False
    profile = median(ink[rows, lo_col:hi_col], axis=0)
    peak = int(np.argmax(profile))
    if profile[peak] < MIN_STOP_CONTRAST:
        return nominal_col, False
    dark = profile > STOP_EDGE_SHARE * profile[peak]
    a = b = peak
    while a > 0 and dark[a - 1]:
        a -= 1
    while b < len(profile) - 1 and dark[b + 1]:
        b += 1
    if b - a + 1 > STOP_WIDE_RATIO * geom.stop_width_mm * r + STOP_WIDE_SLACK_PX:
        return nominal_col, False  # wider than a stop: a pen stroke runs along it
    w = profile[a:b + 1]
    found = lo_col + a + float(np.dot(w, np.arange(b - a + 1)) / w.sum())
    if abs(found - nominal_col) > search:
        return nominal_col, False
    return found, True


@dataclass(frozen=True, eq=False, slots=True)
class LineFrame:
    """One line as found in its mark zone's work image: what every pass over it shares.

    Marks are measured in this frame, in mm from `left_col` with `right_col` at the line's
    length; a frame with other ends (`with_ends`) is another frame.
    """

    ink: np.ndarray  # the zone's darkness, in units of the print's (1.0 = as dark as the line)
    row_at: LineFit  # the line's centre row along the columns
    signed: np.ndarray  # each pixel's distance (rows) from the line's centre, + below it
    off_line: np.ndarray  # the same distance's size, |signed|
    half_thickness_px: float  # the line's half-thickness as seen (blur included)
    left_col: float  # the left end stop's centre column, found or predicted
    right_col: float  # ...and the right one's
    geom: LineGeom  # the line as printed, in form mm
    px_per_mm: float  # the work image's scale (WORK_PX_PER_MM)

    @classmethod
    def of(cls, ink: np.ndarray, row_at: LineFit, half_thickness_px: float, left_col: float,
           right_col: float, geom: LineGeom, px_per_mm: float) -> LineFrame:
        """The frame of a line found in `ink` (made once per line: the distances are shared)."""
        signed = (np.arange(ink.shape[0], dtype=np.float32)[:, None]
                  - row_at(np.arange(ink.shape[1], dtype=np.float32))[None, :])
        return cls(ink, row_at, signed, np.abs(signed), half_thickness_px, left_col, right_col,
                   geom, px_per_mm)

    def with_ends(self, left_col: float, right_col: float) -> LineFrame:
        """The same line measured from other end columns."""
        return replace(self, left_col=left_col, right_col=right_col)

    @property
    def length_px(self) -> float:
        """The line's length between its ends, in pixels."""
        return self.right_col - self.left_col

    @property
    def blur_px(self) -> float:
        """The line's half-thickness beyond its printed one: the blur of this image."""
        return max(0.0, self.half_thickness_px - self.geom.thickness_mm * self.px_per_mm / 2)

    def column(self, x_mm: float) -> float:
        """The column of a reading `x_mm` from the left end."""
        return self.left_col + x_mm / self.geom.length_mm * self.length_px


def print_mask(frame: LineFrame) -> tuple[np.ndarray, np.ndarray]:
    """Where the printed line and the end stops are (pen ink there cannot be seen), and
    where the end stops alone are."""
    offset, half_t, r = frame.off_line, frame.half_thickness_px, frame.px_per_mm
    left, right = frame.left_col, frame.right_col
    shape = offset.shape
    cols = np.arange(shape[1], dtype=np.float32)[None, :]
    margin = PRINT_MASK_MARGIN_MM * r
    along = ((cols >= left - MASK_PAST_END_MARGINS * margin)
             & (cols <= right + MASK_PAST_END_MARGINS * margin))
    on_line = (offset <= half_t + margin) & along
    # The stops spread by as much as the line does: the blur of this scan.
    spread = frame.blur_px
    stop_half_w = frame.geom.stop_width_mm * r / 2 + spread + STOP_MASK_SIDE_MARGINS * margin
    stop_span = frame.geom.stop_half_height_mm * r + spread + STOP_MASK_TIP_MARGINS * margin
    on_stop = np.zeros(shape, dtype=bool)
    for col in (left, right):
        on_stop |= (np.abs(cols - col) <= stop_half_w) & (offset <= stop_span)
    return on_line | on_stop, on_stop
