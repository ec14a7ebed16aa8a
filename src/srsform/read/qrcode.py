"""Read the page code from the page's QR symbol (the payload format is form/pagecode.py).

Input is the gray page image and, when the registration marks were found, the homography
from form millimetres to image pixels (register.py): the printed QR box is cut out upright
and tried with several detectors and clean-ups, then, for a code too small or blurred for
any detector, read module by module. Without marks the whole page is searched.
"""

from __future__ import annotations

from functools import partial

import cv2
import numpy as np

from ..form.layout import QR_QUIET_MODULES, Rect
from ..form.pagecode import PageCode, parse_payload
from .register import warp_region

QR_PX_PER_MM = (6.0, 8.0, 11.0)  # canonical resolutions tried for the QR crop
QR_MARGIN_MM = 2.0
QR_ADAPTIVE_MM = 2.5  # neighbourhood of the adaptive threshold tried on hard QR codes
QR_MAX_VERSION = 6  # srsform payloads fit version 4 at level L; a little room above
QR_GRID_SHARPEN = (0.0, 0.4, 0.7, 1.0)  # how hard module samples are set off their neighbours
QR_STREAK_MAX_MM = 0.35  # thin lines across the QR code up to about this wide are filled in


def read_page_code(gray: np.ndarray, homography: np.ndarray, layout_qr_box: Rect
                   ) -> PageCode | None:
    """Decode the QR code in its printed box; None if it cannot be read."""
    m = QR_MARGIN_MM
    box = Rect(layout_qr_box.x_mm - m, layout_qr_box.y_mm - m, layout_qr_box.w_mm + 2 * m,
               layout_qr_box.h_mm + 2 * m)
    for detector in _qr_detectors():
        for px_per_mm in QR_PX_PER_MM:
            crop = warp_region(gray, homography, box, px_per_mm, cv2.INTER_AREA)
            destreak = partial(_destreak, px_per_mm=px_per_mm)
            adaptive = partial(_adaptive, px_per_mm=px_per_mm)
            for prepare in (_binarise, _unchanged, _sharpen, destreak, adaptive):
                try:
                    text, _, _ = detector.detectAndDecode(prepare(crop))
                except cv2.error:
                    continue
                code = parse_payload(text) if text else None
                if code is not None:
                    return code
    return _read_module_grid(gray, homography, layout_qr_box)


def _read_module_grid(gray: np.ndarray, homography: np.ndarray, box: Rect) -> PageCode | None:
    """The last try, for a code too small and blurred to be found in the picture (a phone
    photo of 4 px/mm): the form says where each module is, so each is sampled at its centre,
    sharpened against its neighbours and thresholded, and the clean code drawn from those
    modules is decoded (its error correction and the payload check guard the result)."""
    detector = cv2.QRCodeDetector()
    for version in range(1, QR_MAX_VERSION + 1):
        n = 17 + 4 * version
        module_mm = box.w_mm / (n + 2 * QR_QUIET_MODULES)
        centres = (QR_QUIET_MODULES + np.arange(n) + 0.5) * module_mm
        xs, ys = np.meshgrid(box.x_mm + centres, box.y_mm + centres)
        points = cv2.perspectiveTransform(np.stack([xs, ys], -1).reshape(-1, 1, 2),
                                          homography).reshape(1, -1, 2).astype(np.float32)
        values = cv2.remap(gray, points[..., 0], points[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=255)
        values = values.reshape(n, n).astype(np.float32)
        neighbours = (cv2.blur(values, (3, 3), borderType=cv2.BORDER_REPLICATE) * 9 - values) / 8
        for strength in QR_GRID_SHARPEN:
            sharp = np.clip(values - strength * (neighbours - values), 0, 255).astype(np.uint8)
            _, dark = cv2.threshold(sharp, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
            if not _finders_found(dark.astype(bool)):
                continue
            cell = 8  # pixels per module of the clean drawing
            modules = np.kron(dark, np.ones((cell, cell), np.uint8))
            canvas = np.pad(255 - 255 * modules, QR_QUIET_MODULES * cell, constant_values=255)
            try:
                text, _, _ = detector.detectAndDecode(canvas.astype(np.uint8))
            except cv2.error:
                continue
            code = parse_payload(text) if text else None
            if code is not None:
                return code
    return None


def _finders_found(dark: np.ndarray) -> bool:
    """The three finder patterns of a QR code in its corners (most of their modules)."""
    finder = np.ones((7, 7), dtype=bool)
    finder[1:6, 1:6] = False
    finder[2:5, 2:5] = True
    n = dark.shape[0]
    corners = ((0, 0), (0, n - 7), (n - 7, 0))
    return all(float((dark[a:a + 7, b:b + 7] == finder).mean()) >= 0.85 for a, b in corners)


def _unchanged(crop: np.ndarray) -> np.ndarray:
    return crop


def _adaptive(crop: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Thresholded against the neighbourhood (QR_ADAPTIVE_MM): keeps the modules of a blurred,
    unevenly lit code from a small phone photo apart where one global threshold merges them."""
    block = int(px_per_mm * QR_ADAPTIVE_MM) | 1
    return cv2.adaptiveThreshold(crop, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY,
                                 block, 2)


def _destreak(crop: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Thin straight lines across the code (a scanner streak, a fold) filled in, then Otsu:
    a closing along each axis removes dark lines up to QR_STREAK_MAX_MM wide,
    while the code's modules (about 0.9 mm) stay."""
    width = max(3, int(round(px_per_mm * QR_STREAK_MAX_MM)) | 1)
    cleaned = crop
    for shape in ((width, 1), (1, width)):
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, shape)
        cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, kernel)
    return _binarise(cleaned)


def _qr_detectors() -> tuple[cv2.QRCodeDetector, ...]:
    # On the upright, binarised crop the ArUco-based detector is quickest and reads the
    # most (measured on 300 dpi office scans); the classic one catches some it misses.
    return (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector())


def search_page_code(gray: np.ndarray) -> PageCode | None:
    """Look for an srsform QR code anywhere on the page (used when marks are missing)."""
    scale = min(1.0, 2000 / max(gray.shape))
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale,
                                                 interpolation=cv2.INTER_AREA)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(small)
    return parse_payload(text) if text else None


def _sharpen(crop: np.ndarray) -> np.ndarray:
    """Unsharp masking, then Otsu: helps blurred phone photos of the code."""
    blurred = cv2.GaussianBlur(crop, (0, 0), 2.0)
    return _binarise(cv2.addWeighted(crop, 2.0, blurred, -1.0, 0))


def _binarise(crop: np.ndarray) -> np.ndarray:
    _, binary = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return binary
