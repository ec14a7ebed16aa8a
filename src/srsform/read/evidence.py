"""Evidence of how a page was read: the original scan annotated with what was found, and
each line's zone cut out upright at a known scale. Draws, never measures. Pure: returns
encoded image bytes; the parent process writes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..form.layout import CROP_PX_PER_MM, LINE_LENGTH_MM, LineGeom
from ..records import Evidence, ItemScore, LineCrop
from .measure import LineMeasurement
from .register import Registration, warp_region

PAGE_LONG_SIDE_PX = 1000  # the annotated page is kept at most this size
PAGE_JPEG_QUALITY = 80
CROP_JPEG_QUALITY = 88
STATUS_COLOURS = {  # BGR
    "ok": (40, 160, 40), "uncertain": (0, 140, 255), "multiple": (200, 0, 200),
    "missing": (0, 0, 230),
}
MARKER_COLOUR = (230, 120, 0)
ENDS_COLOUR = (230, 120, 0)


def make_evidence(image: np.ndarray, registration: Registration, markers: dict[int, np.ndarray],
                  lines: Sequence[LineGeom], measurements: Sequence[LineMeasurement],
                  items: Sequence[ItemScore]) -> Evidence:
    """The annotated page (as scanned, in its own orientation) and one crop per line."""
    page = _annotate(image, registration.homography, markers, lines, measurements, items)
    ok, jpeg = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, PAGE_JPEG_QUALITY])
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    crops = tuple(_crop(gray, registration.homography, geom, m)
                  for geom, m in zip(lines, measurements, strict=True))
    return Evidence(page_jpeg=jpeg.tobytes() if ok else b"", crops=crops)


def _mark_x(m: LineMeasurement) -> float | None:
    if m.mm is None:
        return None
    (lx, _), (rx, _) = m.left_end_mm, m.right_end_mm
    return lx + (rx - lx) * m.mm / LINE_LENGTH_MM


def _annotate(image: np.ndarray, homography: np.ndarray, markers: dict[int, np.ndarray],
              lines: Sequence[LineGeom], measurements: Sequence[LineMeasurement],
              items: Sequence[ItemScore]) -> np.ndarray:
    # A whole-number reduction to at most PAGE_LONG_SIDE_PX: area averaging is quick then.
    factor = -(-max(image.shape[:2]) // PAGE_LONG_SIDE_PX)
    small = image if factor == 1 else cv2.resize(
        image, (image.shape[1] // factor, image.shape[0] // factor), interpolation=cv2.INTER_AREA)
    scale = small.shape[1] / image.shape[1]
    canvas = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR) if small.ndim == 2 else small.copy()
    thick = max(1, int(round(2 * scale * max(image.shape[:2]) / 2000)))

    def to_px(points_mm: np.ndarray) -> np.ndarray:
        pts = cv2.perspectiveTransform(points_mm.reshape(-1, 1, 2).astype(np.float64),
                                       homography).reshape(-1, 2)
        return np.round(pts * scale).astype(np.int32)

    for quad in markers.values():
        cv2.polylines(canvas, [np.round(quad * scale).astype(np.int32)], True, MARKER_COLOUR,
                      thick)
    for geom, m, item in zip(lines, measurements, items, strict=True):
        colour = STATUS_COLOURS.get(item.status, (0, 0, 230))
        for x, y in (m.left_end_mm, m.right_end_mm):
            tick = geom.stop_half_height_mm + 1.0  # just longer than the printed stop
            a, b = to_px(np.array([[x, y - tick], [x, y + tick]]))
            cv2.line(canvas, tuple(map(int, a)), tuple(map(int, b)), ENDS_COLOUR, thick)
        mark_x = _mark_x(m)
        if mark_x is not None:
            zone = geom.mark_zone()
            a, b = to_px(np.array([[mark_x, zone.y_mm], [mark_x, zone.y_mm + zone.h_mm]]))
            cv2.line(canvas, tuple(map(int, a)), tuple(map(int, b)), colour, thick + 1)
        label = (f"{item.key}: {item.mm:.1f} mm = {item.score} ({item.status})"
                 if item.mm is not None else f"{item.key}: {item.status}")
        label_box = geom.label_box  # written just under the printed item label
        anchor = to_px(np.array([[geom.x0_mm, label_box.y_mm + label_box.h_mm + 1.5]]))[0]
        cv2.putText(canvas, label, tuple(map(int, anchor)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45 * thick, colour, thick, cv2.LINE_AA)
    return canvas


def _crop(gray: np.ndarray, homography: np.ndarray, geom: LineGeom, m: LineMeasurement
          ) -> LineCrop:
    zone = geom.mark_zone()
    upright = warp_region(gray, homography, zone, CROP_PX_PER_MM, cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", upright, [cv2.IMWRITE_JPEG_QUALITY, CROP_JPEG_QUALITY])
    return LineCrop(key=geom.key, jpeg=data.tobytes() if ok else b"", zone_x_mm=zone.x_mm,
                    left_end_mm=m.left_end_mm[0], right_end_mm=m.right_end_mm[0],
                    mark_x_mm=_mark_x(m))
