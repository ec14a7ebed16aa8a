"""Place the form in the image: find the registration marks, the page's orientation and
homography.

Input is a gray page image in any orientation; output is a `Registration`: the
homography from form millimetres (layout.py) to image pixels and the rotation the page
had in the image. `warp_region` cuts a form region out upright through it; the page's
QR code is read in qrcode.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..errors import NotAFormError, UnreadableError
from ..form.layout import (
    ARUCO_DICT,
    FORM_H_MM,
    FORM_W_MM,
    MARKER_CELLS,
    MARKERS,
    Rect,
)

# Marks are searched on a reduced copy (cells ~7 px on a full A4 page), again larger when
# some are missing (a phone photo with the page small in the frame).
DETECT_LONG_SIDE_PX = (1000, 2200)
QUICK_WINDOW_PX = 15  # adaptive threshold window of the quick first try, on the reduced copy
MAX_REPROJECTION_MM = 1.0  # marks that disagree more than this are not one printed page
FLAT_MISFIT_MM = 0.25  # three marks fitting an affine map worse than this: a perspective photo
BLANK_INK_FRACTION = 0.002
_MARKER_IDS = frozenset(m.marker_id for m in MARKERS)
_FORM_CENTRE_MM = (FORM_W_MM / 2, FORM_H_MM / 2)  # where scale and rotation are judged


@dataclass(frozen=True)
class Registration:
    """How a page sits in its image."""

    homography: np.ndarray  # 3x3, form mm -> image px
    markers_found: tuple[int, ...]
    rotation: int  # clockwise turn of the page in the image: 0, 90, 180 or 270
    reprojection_mm: float  # rms disagreement of the marks with the homography
    px_per_mm: float  # image pixels per form mm, near the page centre
    reasons: tuple[str, ...]  # judgement calls for a person (e.g. a mark missing)


@lru_cache(maxsize=2)
def _detector(quick: bool) -> cv2.aruco.ArucoDetector:
    """The ArUco detector: `quick` thresholds at one window size (enough for scans, about
    3x faster); the full one tries five, for uneven light and unusual sizes."""
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    if quick:
        params.adaptiveThreshWinSizeMin = params.adaptiveThreshWinSizeMax = QUICK_WINDOW_PX
    else:
        params.adaptiveThreshWinSizeMin = 5
        params.adaptiveThreshWinSizeMax = 45
        params.adaptiveThreshWinSizeStep = 10
    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICT)
    return cv2.aruco.ArucoDetector(dictionary, params)


def find_markers(gray: np.ndarray) -> dict[int, np.ndarray]:
    """Registration marks in the image: id -> 4x2 corners in image px (ArUco order).

    Marks are found on a reduced copy (quickly first, then thoroughly, then on a larger
    copy) and their corners refined on the full image.
    """
    best: dict[int, np.ndarray] = {}
    for long_side in DETECT_LONG_SIDE_PX:
        # A whole-number reduction: area averaging is exact and several times quicker then.
        factor = max(1, round(max(gray.shape) / long_side))
        small = gray if factor == 1 else cv2.resize(
            gray, (gray.shape[1] // factor, gray.shape[0] // factor),
            interpolation=cv2.INTER_AREA)
        for quick in (True, False):
            found = _detect(small, gray.shape, _detector(quick))
            if len(found) > len(best):
                best = found
            if len(best) == len(_MARKER_IDS):
                return {k: _refine_corners(gray, v) for k, v in best.items()}
        if factor == 1:
            break
    return {k: _refine_corners(gray, v) for k, v in best.items()}


def _detect(small: np.ndarray, full_shape: tuple[int, ...], detector: cv2.aruco.ArucoDetector
            ) -> dict[int, np.ndarray]:
    corners, ids, _ = detector.detectMarkers(small)
    if ids is None:
        return {}
    # Pixel centres: small pixel (i + 0.5) covers full-image pixels around (i + 0.5) * scale.
    scale = np.array([full_shape[1] / small.shape[1], full_shape[0] / small.shape[0]])
    found: dict[int, np.ndarray] = {}
    for quad, marker_id in zip(corners, ids.ravel(), strict=True):
        marker_id = int(marker_id)
        quad = (quad.reshape(4, 2).astype(np.float64) + 0.5) * scale - 0.5
        if marker_id not in _MARKER_IDS:
            continue
        # Keep the largest when an id appears twice (a stray copy is smaller or equal).
        if marker_id in found and cv2.contourArea(quad.astype(np.float32)) <= cv2.contourArea(
                found[marker_id].astype(np.float32)):
            continue
        found[marker_id] = quad
    return found


def _refine_corners(gray: np.ndarray, quad: np.ndarray) -> np.ndarray:
    side_px = float(np.mean(np.linalg.norm(quad - np.roll(quad, 1, axis=0), axis=1)))
    half_window = int(max(2, min(15, side_px / MARKER_CELLS * 0.4)))
    pts = quad.astype(np.float32).reshape(-1, 1, 2)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.01)
    refined = cv2.cornerSubPix(gray, pts, (half_window, half_window), (-1, -1), criteria)
    refined = refined.reshape(4, 2).astype(np.float64)
    # A refinement that wanders off (blur, damage) is worse than the detector's estimate.
    moved = np.linalg.norm(refined - quad, axis=1)
    return np.where((moved < half_window)[:, None], refined, quad)


def registration_from_markers(markers: dict[int, np.ndarray]) -> Registration:
    """Fit the form to the image from the registration marks found (any 2 of 4 will do).

    Raises UnreadableError when too few marks are found or they do not fit one page.
    """
    by_id = {m.marker_id: m for m in MARKERS}
    if len(markers) < 2:
        raise UnreadableError(
            f"only {len(markers)} of 4 registration marks found; at least 2 are needed")
    src = np.vstack([by_id[i].corners_mm() for i in sorted(markers)])
    dst = np.vstack([markers[i] for i in sorted(markers)])
    homography, rms_mm = _fit(src, dst, len(markers))
    px_per_mm = local_px_per_mm(homography, _FORM_CENTRE_MM)
    if rms_mm > MAX_REPROJECTION_MM:
        raise UnreadableError(
            f"registration marks disagree by {rms_mm:.1f} mm: page folded, curled or damaged")
    reasons = []
    if len(markers) < 4:
        missing = sorted(set(by_id) - set(markers))
        reasons.append(f"registration mark(s) {missing} not found (covered or torn?)")
    return Registration(
        homography=homography,
        markers_found=tuple(sorted(markers)),
        rotation=_rotation(homography),
        reprojection_mm=rms_mm,
        px_per_mm=px_per_mm,
        reasons=tuple(reasons),
    )


def _fit(src: np.ndarray, dst: np.ndarray, n_marks: int) -> tuple[np.ndarray, float]:
    """Form mm -> image px from the marks' corners, and its rms misfit in mm.

    Four marks span the page and fix a full homography (perspective, phone photos). From
    three or two, perspective terms would rest on the 12 mm inside each mark and swing
    the far side of the page, so an affine (three) or similarity (two) map is used unless
    the page clearly is not flat.
    """
    candidates = []
    if n_marks >= 3:
        homography, _ = cv2.findHomography(src, dst, 0)
        if homography is not None:
            candidates.append(homography)
        ones = np.ones((len(src), 1))
        coeffs, *_ = np.linalg.lstsq(np.hstack([src, ones]), dst, rcond=None)
        candidates.append(np.vstack([coeffs.T, [0.0, 0.0, 1.0]]))
    else:
        matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
        if matrix is not None:
            candidates.append(np.vstack([matrix, [0.0, 0.0, 1.0]]))
    if not candidates:
        raise UnreadableError("registration marks found but their positions are inconsistent")
    fits = [(h, _misfit_mm(h, src, dst)) for h in candidates]
    best, best_rms = fits[-1]  # the simplest model first...
    if n_marks == 3 and best_rms > FLAT_MISFIT_MM and fits[0][1] < best_rms / 2:
        best, best_rms = fits[0]  # ...unless the page is clearly photographed in perspective
    if n_marks >= 4:
        best, best_rms = fits[0]
    return best, best_rms


def _misfit_mm(homography: np.ndarray, src: np.ndarray, dst: np.ndarray) -> float:
    projected = cv2.perspectiveTransform(src.reshape(-1, 1, 2), homography).reshape(-1, 2)
    rms_px = float(np.sqrt(np.mean(np.sum((projected - dst) ** 2, axis=1))))
    return rms_px / local_px_per_mm(homography, _FORM_CENTRE_MM)


def local_px_per_mm(homography: np.ndarray, at_mm: tuple[float, float]) -> float:
    """Image pixels per form millimetre around a form point (geometric mean of both axes)."""
    x, y = at_mm
    pts = np.array([[[x, y]], [[x + 1.0, y]], [[x, y + 1.0]]], dtype=np.float64)
    p = cv2.perspectiveTransform(pts, homography).reshape(3, 2)
    return float(np.sqrt(np.linalg.norm(p[1] - p[0]) * np.linalg.norm(p[2] - p[0])))


def _rotation(homography: np.ndarray) -> int:
    x, y = _FORM_CENTRE_MM
    pts = np.array([[[x, y]], [[x + 10.0, y]]], dtype=np.float64)
    p = cv2.perspectiveTransform(pts, homography).reshape(2, 2)
    angle = np.degrees(np.arctan2(p[1, 1] - p[0, 1], p[1, 0] - p[0, 0]))
    return int(round(angle / 90.0)) % 4 * 90


def warp_region(gray: np.ndarray, homography: np.ndarray, box: Rect, px_per_mm: float,
                interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """The form region `box` resampled upright at `px_per_mm`; outside the image is white.

    Pixel (col, row) of the result is centred on form point
    (box.x_mm + (col + 0.5) / px_per_mm, box.y_mm + (row + 0.5) / px_per_mm).
    """
    width = int(round(box.w_mm * px_per_mm))
    height = int(round(box.h_mm * px_per_mm))
    s = 1.0 / px_per_mm
    canvas_to_mm = np.array([[s, 0.0, box.x_mm + 0.5 * s], [0.0, s, box.y_mm + 0.5 * s],
                             [0.0, 0.0, 1.0]])
    matrix = homography @ canvas_to_mm
    return cv2.warpPerspective(gray, matrix, (width, height),
                               flags=interpolation | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def describe_non_form(gray: np.ndarray) -> NotAFormError:
    """The not-a-form outcome, saying whether the page looks blank."""
    small = cv2.resize(gray, (400, int(400 * gray.shape[0] / gray.shape[1])),
                       interpolation=cv2.INTER_AREA)
    background = float(np.percentile(small, 90))
    ink = float(np.mean(small < background - 60))
    if ink < BLANK_INK_FRACTION:
        return NotAFormError("blank page (no registration marks, no ink): a back side?")
    return NotAFormError("not an srsform form: no registration marks or page code found "
                         "(another document?)")
