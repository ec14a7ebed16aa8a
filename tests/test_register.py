"""The mark finder on real renders: a printed page rasterised by poppler at 200 dpi.

Where the form's line ends are in an image is found from the ink (the end stops and the
line), not from the homography under test, so the homography is checked against the page.
"""

from __future__ import annotations

import itertools
import math
import subprocess

import cv2
import numpy as np
import pytest

from srsform.errors import UnreadableError
from srsform.form.layout import MARKERS, QR_BOX, Layout, build_layout, page_offset_mm
from srsform.form.pagecode import PageCode
from srsform.form.render import PageSpec, render_pdf
from srsform.form.templates import load_template
from srsform.read.qrcode import read_page_code
from srsform.read.register import (
    Registration,
    describe_non_form,
    find_markers,
    registration_from_markers,
)

DPI = 200
PX_PER_MM = DPI / 25.4
LINE_END_TOLERANCE_MM = 0.3
PAPER = "a4"


@pytest.fixture(scope="module")
def layout() -> Layout:
    return build_layout(load_template("srs"))


@pytest.fixture(scope="module")
def code(layout: Layout) -> PageCode:
    return PageCode("srs", "1.0", layout.layout_id, "7T7D8408FXZZ", "C-0042", 5)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, layout: Layout, code: PageCode) -> np.ndarray:
    """One personalised SRS page, rendered by srsform and rasterised by pdftoppm."""
    folder = tmp_path_factory.mktemp("register")
    pdf = folder / "form.pdf"
    render_pdf(load_template("srs"), layout, [PageSpec(code, "2024-03-05")], PAPER, pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-singlefile", str(pdf),
                    str(folder / "page")], check=True)
    gray = cv2.imread(str(folder / "page.pgm"), cv2.IMREAD_GRAYSCALE)
    assert gray is not None
    return gray


def form_mm_to_px(x_mm: float, y_mm: float) -> tuple[float, float]:
    """Nominal image position of a form point, in OpenCV's pixel-centre coordinates."""
    off_x, off_y = page_offset_mm(PAPER)
    return (off_x + x_mm) * PX_PER_MM - 0.5, (off_y + y_mm) * PX_PER_MM - 0.5


def _ink(gray: np.ndarray) -> np.ndarray:
    return (255.0 - gray.astype(np.float64)) / 255.0


def find_line_end(gray: np.ndarray, x_mm: float, y_mm: float) -> np.ndarray:
    """Where a line end is in the upright page image, from its ink alone.

    x is the centre of the end stop (measured above the line, where only the stop is
    inked); y is the centre of the line (measured 2-6 mm inward, clear of the stop).
    """
    ink = _ink(gray)
    xc, yc = form_mm_to_px(x_mm, y_mm)
    cols = np.arange(int(xc - 1.5 * PX_PER_MM), int(xc + 1.5 * PX_PER_MM) + 1)
    rows = np.arange(int(yc - 2.6 * PX_PER_MM), int(yc - 0.6 * PX_PER_MM) + 1)
    weights = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].sum(axis=0)
    x = float((weights * cols).sum() / weights.sum())
    inward = 1 if x_mm < 95.0 else -1
    c0, c1 = sorted((int(xc + inward * 2 * PX_PER_MM), int(xc + inward * 6 * PX_PER_MM)))
    rows = np.arange(int(yc - 1.5 * PX_PER_MM), int(yc + 1.5 * PX_PER_MM) + 1)
    weights = ink[rows[0]:rows[-1] + 1, c0:c1].sum(axis=1)
    y = float((weights * rows).sum() / weights.sum())
    return np.array([x, y])


@pytest.fixture(scope="module")
def line_ends(page: np.ndarray, layout: Layout) -> list[tuple[tuple[float, float], np.ndarray]]:
    """(form mm, image px found from the ink) for both ends of every line."""
    ends = []
    for line in layout.lines:
        for x_mm in (line.x0_mm, line.x1_mm):
            found = find_line_end(page, x_mm, line.y_mm)
            # The finder is checked against the nominal print position, to a pixel.
            assert np.linalg.norm(found - form_mm_to_px(x_mm, line.y_mm)) < 1.0
            ends.append(((x_mm, line.y_mm), found))
    return ends


def worst_line_end_error_mm(homography: np.ndarray,
                            ends: list[tuple[tuple[float, float], np.ndarray]],
                            to_image=lambda p: p) -> float:
    """Largest distance (mm) between where the homography puts a line end and where it is."""
    form = np.array([[mm] for mm, _ in ends], dtype=np.float64)
    projected = cv2.perspectiveTransform(form, homography).reshape(-1, 2)
    actual = np.array([to_image(px) for _, px in ends])
    return float(np.max(np.linalg.norm(projected - actual, axis=1))) / PX_PER_MM


def register(gray: np.ndarray) -> Registration:
    return registration_from_markers(find_markers(gray))


# --- orientation -------------------------------------------------------------------------


def rotate_clockwise(gray: np.ndarray, quarter_turns: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(gray, -quarter_turns))


def point_after_clockwise_turns(point: np.ndarray, shape: tuple[int, ...],
                                quarter_turns: int) -> np.ndarray:
    """Where pixel (x, y) of the upright image lands after np.rot90(image, -k)."""
    x, y = point
    height, width = shape[:2]
    for _ in range(quarter_turns % 4):
        x, y = height - 1 - y, x
        height, width = width, height
    return np.array([x, y])


@pytest.mark.parametrize("quarter_turns", [0, 1, 2, 3])
def test_finds_all_marks_and_reports_clockwise_rotation(
        page: np.ndarray, code: PageCode, line_ends, quarter_turns: int) -> None:
    """Registration.rotation is the page's clockwise turn in the image."""
    image = rotate_clockwise(page, quarter_turns)
    markers = find_markers(image)
    assert sorted(markers) == [0, 1, 2, 3]
    registration = registration_from_markers(markers)
    assert registration.rotation == 90 * quarter_turns
    assert registration.reasons == ()
    assert registration.px_per_mm == pytest.approx(PX_PER_MM, rel=0.005)
    error = worst_line_end_error_mm(
        registration.homography, line_ends,
        lambda p: point_after_clockwise_turns(p, page.shape, quarter_turns))
    assert error <= LINE_END_TOLERANCE_MM
    assert read_page_code(image, registration.homography, QR_BOX) == code


# --- a covered mark ----------------------------------------------------------------------


def paint_out_marker(gray: np.ndarray, marker_id: int) -> np.ndarray:
    """The page with one registration mark (and 1 mm around it) painted white."""
    marker = next(m for m in MARKERS if m.marker_id == marker_id)
    x0, y0 = form_mm_to_px(marker.x_mm - 1.0, marker.y_mm - 1.0)
    x1, y1 = form_mm_to_px(marker.x_mm + marker.size_mm + 1.0,
                           marker.y_mm + marker.size_mm + 1.0)
    out = gray.copy()
    out[int(y0):int(math.ceil(y1)) + 1, int(x0):int(math.ceil(x1)) + 1] = 255
    return out


@pytest.mark.parametrize("covered", [m.marker_id for m in MARKERS])
def test_three_marks_still_register_and_say_which_is_missing(
        page: np.ndarray, code: PageCode, covered: int) -> None:
    image = paint_out_marker(page, covered)
    markers = find_markers(image)
    assert sorted(markers) == sorted({0, 1, 2, 3} - {covered})
    registration = registration_from_markers(markers)
    assert registration.rotation == 0
    assert any(f"[{covered}]" in reason for reason in registration.reasons)
    assert read_page_code(image, registration.homography, QR_BOX) == code


def test_three_mark_homography_maps_line_ends_within_tolerance(page: np.ndarray,
                                                               line_ends) -> None:
    errors = {}
    for covered in (m.marker_id for m in MARKERS):
        registration = register(paint_out_marker(page, covered))
        errors[covered] = round(worst_line_end_error_mm(registration.homography, line_ends), 3)
    assert max(errors.values()) <= LINE_END_TOLERANCE_MM, f"worst mm by covered mark: {errors}"


def test_four_mark_homography_maps_line_ends_within_tolerance(page: np.ndarray,
                                                              line_ends) -> None:
    assert worst_line_end_error_mm(register(page).homography, line_ends) <= 0.1


def test_fewer_than_two_marks_is_unreadable(page: np.ndarray) -> None:
    image = page
    for marker_id in (0, 1, 2):
        image = paint_out_marker(image, marker_id)
    markers = find_markers(image)
    assert sorted(markers) == [3]
    with pytest.raises(UnreadableError):
        registration_from_markers(markers)


# --- pages that are not forms ------------------------------------------------------------


def text_like_page(shape: tuple[int, int], seed: int = 7) -> np.ndarray:
    """White page with rows of dark word-sized blocks, like a printed letter."""
    rng = np.random.default_rng(seed)
    gray = np.full(shape, 255, dtype=np.uint8)
    for top in range(150, shape[0] - 150, 45):
        left = 150
        while left < shape[1] - 250:
            width = int(rng.integers(20, 120))
            gray[top:top + int(rng.integers(18, 28)), left:left + width] = int(rng.integers(0, 60))
            left += width + int(rng.integers(10, 25))
    return gray


def test_blank_page_has_no_marks_and_is_called_blank(page: np.ndarray) -> None:
    blank = np.full_like(page, 255)
    assert find_markers(blank) == {}
    assert "blank" in str(describe_non_form(blank))


def test_text_page_has_no_marks_and_is_not_called_blank(page: np.ndarray) -> None:
    text = text_like_page(page.shape)
    assert find_markers(text) == {}
    message = str(describe_non_form(text))
    assert "blank" not in message and "not an srsform form" in message


# --- print and copy distortions ----------------------------------------------------------


def form_x_axis_angle_deg(homography: np.ndarray) -> float:
    p = cv2.perspectiveTransform(np.array([[[45.0, 130.0]], [[145.0, 130.0]]]),
                                 homography).reshape(2, 2)
    return math.degrees(math.atan2(p[1, 1] - p[0, 1], p[1, 0] - p[0, 0]))


@pytest.mark.parametrize("skew_deg", [2.0, -2.0])
def test_small_skew_registers_upright(page: np.ndarray, code: PageCode, line_ends,
                                      skew_deg: float) -> None:
    height, width = page.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), skew_deg, 1.0)
    image = cv2.warpAffine(page, matrix, (width, height), flags=cv2.INTER_LINEAR,
                           borderValue=255)
    registration = register(image)
    assert registration.markers_found == (0, 1, 2, 3)
    assert registration.rotation == 0
    # OpenCV turns counter-clockwise for positive angles; with y down that is -angle.
    assert form_x_axis_angle_deg(registration.homography) == pytest.approx(-skew_deg, abs=0.05)
    assert registration.px_per_mm == pytest.approx(PX_PER_MM, rel=0.005)
    error = worst_line_end_error_mm(registration.homography, line_ends,
                                    lambda p: matrix @ np.array([p[0], p[1], 1.0]))
    assert error <= LINE_END_TOLERANCE_MM
    assert read_page_code(image, registration.homography, QR_BOX) == code


def test_copier_shrink_registers_and_reports_the_scale(page: np.ndarray, code: PageCode,
                                                       line_ends) -> None:
    scale = 0.97
    small = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    image = np.full_like(page, 255)
    top, left = (page.shape[0] - small.shape[0]) // 2, (page.shape[1] - small.shape[1]) // 2
    image[top:top + small.shape[0], left:left + small.shape[1]] = small
    registration = register(image)
    assert registration.markers_found == (0, 1, 2, 3)
    assert registration.rotation == 0
    assert registration.px_per_mm == pytest.approx(scale * PX_PER_MM, rel=0.003)

    def shrunk(p: np.ndarray) -> np.ndarray:
        return (p + 0.5) * scale - 0.5 + np.array([left, top])

    assert worst_line_end_error_mm(registration.homography, line_ends, shrunk) <= (
        LINE_END_TOLERANCE_MM)
    assert read_page_code(image, registration.homography, QR_BOX) == code


def test_rotation_and_cover_combined(page: np.ndarray, code: PageCode) -> None:
    """A covered mark does not confuse the orientation of a turned page."""
    for covered, quarter_turns in itertools.product((0, 2), (1, 3)):
        image = rotate_clockwise(paint_out_marker(page, covered), quarter_turns)
        registration = register(image)
        assert registration.rotation == 90 * quarter_turns
        assert read_page_code(image, registration.homography, QR_BOX) == code


def test_a_small_blurred_phone_photo_still_gives_its_page_code() -> None:
    # A phone photo of the page at 3.8 px/mm with 1.3 px of blur (made by support.synth for a
    # generated stack, seed 10): no QR detector finds the code in the picture, but sampling
    # its modules where the form puts them reads it.
    import cv2

    from srsform.form.layout import QR_BOX
    from srsform.read.qrcode import read_page_code
    from srsform.read.register import find_markers, registration_from_markers
    from support.synth import plan_stack, render_plan

    plans = [p for p in plan_stack(120, 10) if p.kind == "form" and p.condition.phone]
    plan = next(p for p in plans if p.code is not None and p.code.serial == "2QKQSC6A1NMA")
    page = render_plan(plan)
    gray = cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY) if page.image.ndim == 3 else page.image
    registration = registration_from_markers(find_markers(gray))
    assert registration.px_per_mm < 4.5
    code = read_page_code(gray, registration.homography, QR_BOX)
    assert code is not None and code.serial == plan.code.serial
