"""Form geometry in millimetres: the single source of truth for printer and scanner.

Coordinates are in "form millimetres": origin at the top-left corner of the form area,
x to the right, y down. The form area is the same on every paper size; the renderer
centres it on the page (`page_offset_mm`), and the scanner maps it into the image through
the homography found from the registration marks. A short layout id (a hash of the
geometry that the scanner relies on) travels in the page's QR code.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import astuple, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NumPy and OpenCV load only where an image is drawn or read
    import numpy as np

    from .templates import Template

LAYOUT_SCHEME = "srsform-layout-1"
FORM_W_MM = 190.0
FORM_H_MM = 260.0
PAPERS_MM: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}

MARKER_SIZE_MM = 12.0  # ArUco 4x4 marker with its one-cell black border: 6 cells of 2 mm
MARKER_CELLS = 6
MARKER_QUIET_MM = 3.0  # white space kept around each marker
ARUCO_DICT = 0  # cv2.aruco.DICT_4X4_50, by value: this module loads no OpenCV
QR_BOX_MM = 34.0  # QR symbol including its 4-module quiet zone (about 0.9 mm modules)

MM_PER_INCH = 25.4
LINE_LENGTH_MM = 100.0  # every item's line; scores are read as mm along it, 0-100
PRINT_SCALE_TOLERANCE = 0.03  # a page printed or copied more than 3% off true size is flagged
LINE_X0_MM = (FORM_W_MM - LINE_LENGTH_MM) / 2
LINE_THICKNESS_MM = 0.3
STOP_WIDTH_MM = 0.5
STOP_HALF_HEIGHT_MM = 3.0
MARK_ZONE_HALF_HEIGHT_MM = 7.0  # pen ink counts as a mark within this distance of the line
MARK_ZONE_OVERHANG_MM = 8.0  # ...and this far beyond either end
CROP_PX_PER_MM = 8.0  # evidence crops of a line's zone: 116 mm of zone is 928 px
FIRST_LINE_Y_MM = 88.0
LAST_LINE_Y_MAX_MM = 212.0


@dataclass(frozen=True)
class Rect:
    x_mm: float
    y_mm: float
    w_mm: float
    h_mm: float


@dataclass(frozen=True)
class Marker:
    """An ArUco registration mark; `x_mm, y_mm` is its top-left corner as printed."""

    marker_id: int
    x_mm: float
    y_mm: float
    size_mm: float = MARKER_SIZE_MM

    def corners_mm(self) -> np.ndarray:
        """Corners in ArUco order (top-left, top-right, bottom-right, bottom-left)."""
        import numpy as np

        x, y, s = self.x_mm, self.y_mm, self.size_mm
        return np.array([[x, y], [x + s, y], [x + s, y + s], [x, y + s]], dtype=np.float64)


@dataclass(frozen=True)
class LineGeom:
    """One item's 100 mm line with its end stops and the text boxes printed near it."""

    key: str
    y_mm: float
    x0_mm: float
    x1_mm: float
    thickness_mm: float
    stop_width_mm: float
    stop_half_height_mm: float
    label_box: Rect
    left_anchor_box: Rect
    right_anchor_box: Rect

    @property
    def length_mm(self) -> float:
        return self.x1_mm - self.x0_mm

    def mark_zone(self) -> Rect:
        """The area in which pen ink is read as a mark on this line."""
        return Rect(
            self.x0_mm - MARK_ZONE_OVERHANG_MM,
            self.y_mm - MARK_ZONE_HALF_HEIGHT_MM,
            self.length_mm + 2 * MARK_ZONE_OVERHANG_MM,
            2 * MARK_ZONE_HALF_HEIGHT_MM,
        )


@dataclass(frozen=True)
class Layout:
    """Everything printed on a form, positioned in form millimetres."""

    template_id: str
    markers: tuple[Marker, ...]
    qr_box: Rect
    lines: tuple[LineGeom, ...]
    title_at: tuple[float, float]  # baseline start of the title
    fields_at: tuple[float, float]  # top-left of the client/session/date fields
    instructions_box: Rect
    footer_at: tuple[float, float]
    layout_id: str


# The marks and the QR box are the same on every form, so a page can be registered and
# identified before its layout is known.
MARKERS = (
    Marker(0, 0.0, 0.0),
    Marker(1, FORM_W_MM - MARKER_SIZE_MM, 0.0),
    Marker(2, FORM_W_MM - MARKER_SIZE_MM, FORM_H_MM - MARKER_SIZE_MM),
    Marker(3, 0.0, FORM_H_MM - MARKER_SIZE_MM),
)
QR_BOX = Rect(FORM_W_MM - MARKER_SIZE_MM - MARKER_QUIET_MM - QR_BOX_MM, 16.0, QR_BOX_MM, QR_BOX_MM)
QR_QUIET_MODULES = 4  # the code's white border, in modules, inside QR_BOX


def line_tenths(mm: float) -> int:
    """A position on the line in whole tenths of a millimetre, clamped to 0..LINE_LENGTH_MM,
    halves up (never Python's round(), which rounds halves to even)."""
    return math.floor(min(LINE_LENGTH_MM, max(0.0, mm)) * 10.0 + 0.5 + 1e-9)


def line_mm(mm: float) -> float:
    """A position on the line clamped to 0..LINE_LENGTH_MM and held to 0.1 mm."""
    return line_tenths(mm) / 10.0


def page_offset_mm(paper: str) -> tuple[float, float]:
    """Where the form area's top-left corner sits on a page of the given paper size."""
    page_w, page_h = PAPERS_MM[paper]
    return (page_w - FORM_W_MM) / 2, (page_h - FORM_H_MM) / 2


@lru_cache(maxsize=64)
def build_layout(template: Template) -> Layout:
    """Lay out a template's form; the same template always gives the same layout id."""
    s = MARKER_SIZE_MM
    markers = MARKERS
    qr_box = QR_BOX
    count = len(template.items)
    spacing = 40.0 if count <= 4 else (LAST_LINE_Y_MAX_MM - FIRST_LINE_Y_MM) / (count - 1)
    lines = tuple(
        _line_geom(item.key, FIRST_LINE_Y_MM + i * spacing) for i, item in enumerate(template.items)
    )
    geometry = (LAYOUT_SCHEME, ARUCO_DICT, FORM_W_MM, FORM_H_MM, len(lines),
                [astuple(m) for m in markers], astuple(qr_box),
                [astuple(line)[1:] for line in lines])
    layout_id = hashlib.sha256(repr(geometry).encode()).hexdigest()[:8]
    return Layout(
        template_id=template.id,
        markers=markers,
        qr_box=qr_box,
        lines=lines,
        title_at=(s + MARKER_QUIET_MM + 2.0, 9.0),
        fields_at=(s + MARKER_QUIET_MM + 2.0, 20.0),
        instructions_box=Rect(s + MARKER_QUIET_MM + 2.0, 53.0, 150.0, 16.0),
        footer_at=(s + MARKER_QUIET_MM + 2.0, FORM_H_MM - 6.0),
        layout_id=layout_id,
    )


def _line_geom(key: str, y_mm: float) -> LineGeom:
    x0, x1 = LINE_X0_MM, LINE_X0_MM + LINE_LENGTH_MM
    text_h = 4.0
    return LineGeom(
        key=key,
        y_mm=y_mm,
        x0_mm=x0,
        x1_mm=x1,
        thickness_mm=LINE_THICKNESS_MM,
        stop_width_mm=STOP_WIDTH_MM,
        stop_half_height_mm=STOP_HALF_HEIGHT_MM,
        label_box=Rect(x0 - 10.0, y_mm - 15.0, LINE_LENGTH_MM + 20.0, text_h + 1.0),
        left_anchor_box=Rect(x0 - 10.0, y_mm + 8.0, 45.0, text_h),
        right_anchor_box=Rect(x1 - 35.0, y_mm + 8.0, 45.0, text_h),
    )


@lru_cache(maxsize=8)
def marker_cells(marker_id: int) -> np.ndarray:
    """The marker's cells as a MARKER_CELLS x MARKER_CELLS array, True where black."""
    import cv2

    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICT)
    image = cv2.aruco.generateImageMarker(dictionary, marker_id, MARKER_CELLS)
    cells = image < 128
    cells.setflags(write=False)
    return cells
