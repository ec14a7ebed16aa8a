"""Dirt that crosses the lines is never read as a confident answer.

A dirty scanner glass or copier drum draws a thin straight streak down the whole page, through
every line at the same place. On a blank item it is the only ink near the line, shaped like a
vertical tick: read naively, it scores the item silently and wrongly. These pages are made
with tests/support/synth.py (known truth), then streaked as a scanner would.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.templates import load_bundled, load_template
from srsform.read.ingest import PageImage
from srsform.read.pipeline import ScanConfig, read_page
from srsform.read.score import score_mm
from support.synth import ItemTruth, PenMark, make_page, random_condition

CONDITIONS = ("clean", "office", "copy", "fax", "low_res", "office_color")
# A reading's error bar is a few tenths of a mm (3.5 sigma); a true mark nearer than this to a
# score boundary may honestly be read "uncertain" rather than ok.
NEAR_BOUNDARY_MM = 1.0
# ...and one this near may be read ok on either side: the rounding rule decides (the template's
# boundary margin), as even the intended score is ambiguous.
AMBIGUOUS_MM = 0.25


def _streaked_page(seed: int) -> tuple[tuple[ItemTruth, ...], PageImage, PageImage]:
    """Two blank items and two marked ones (random order, kinds and places), scanned in one of
    CONDITIONS: the page as scanned, and the same scan with a streak down it."""
    rng = np.random.default_rng([7, seed])
    template = load_template("srs")
    layout = build_layout(template)
    keys = [item.key for item in template.items]
    blank = set(rng.choice(4, size=2, replace=False).tolist())
    items = tuple(ItemTruth(key, () if i in blank else (
        PenMark(str(rng.choice(["vertical", "slanted", "cross", "check"])),
                round(float(rng.uniform(5, 95)), 2), "black", 0.5),))
        for i, key in enumerate(keys))
    condition = random_condition(rng, CONDITIONS[seed % len(CONDITIONS)],
                                 rotation=int(rng.choice([0, 180])))
    code = PageCode(template.id, template.version, layout.layout_id, f"DIRT{seed:08d}")
    page = make_page(template, code, items, condition, seed)
    gray = page.image if page.image.ndim == 2 else cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY)
    streaked = gray.copy()
    # A streak from top to bottom of the scan, 1-4 px wide, from faint to black, placed
    # where the lines are (the form's middle two-thirds).
    width, darkness = int(rng.integers(1, 5)), int(rng.integers(40, 170))
    x = int(rng.uniform(0.25, 0.75) * gray.shape[1])
    streaked[:, x:x + width] = np.minimum(streaked[:, x:x + width], darkness)
    px_per_mm = page.dpi / 25.4
    return (items, PageImage("clean.png", 1, gray, px_per_mm, None),
            PageImage("streaked.png", 1, streaked, px_per_mm, None))


def _mm_to_score_boundary(mm: float) -> float:
    """How far `mm` lies from the nearest boundary between two scores (5, 15, ... 95 mm)."""
    offset = (mm - 5) % 10
    return min(offset, 10 - offset)


@pytest.mark.parametrize("seed", range(12))
def test_a_scanner_streak_is_never_read_as_a_confident_answer(seed: int) -> None:
    items, clean, streaked = _streaked_page(seed)
    template = load_template("srs")
    config = ScanConfig(templates=tuple(load_bundled()), fallback=template)
    # The streak runs down the whole page through the middle two-thirds of its width, so it
    # crosses every line's mark zone (lines 45-145 mm of a 210 mm page): no line of the
    # streaked page is free of it. A marked line then holds two marks, the pen's and the
    # streak, and is rightly not ok (mostly "multiple"). What makes the streaked reading
    # mean something is the same scan without the streak: read there, every marked line is
    # ok with its true score, so the reader can be confident on this page, and it is the
    # streak alone that takes the confidence away.
    before = read_page(clean, config)
    assert len(before.items) == 4
    for truth, item in zip(items, before.items, strict=True):
        if not truth.marks:
            assert item.status != "ok", (truth.key, item)
            continue
        assert truth.true_mm is not None
        right = score_mm(truth.true_mm, "nearest_cm_half_up")
        if _mm_to_score_boundary(truth.true_mm) >= NEAR_BOUNDARY_MM:
            assert (item.status, item.score) == ("ok", right), (truth, item)
        else:  # its error bar may straddle the boundary: ok and right, or flagged
            assert (item.status, item.score) == ("ok", right) or item.status == "uncertain" or (
                item.status == "ok" and _mm_to_score_boundary(truth.true_mm) <= AMBIGUOUS_MM), (
                truth, item)

    result = read_page(streaked, config)
    assert len(result.items) == 4
    for truth, item in zip(items, result.items, strict=True):
        if not truth.marks:
            # The streak may be the only ink on a blank item: never an answer.
            assert item.status != "ok", (truth.key, item)
        else:
            # The streak does not hide the pen mark: the item has ink, maybe too much.
            assert item.status != "missing", (truth, item)
            if item.status == "ok":
                assert truth.true_mm is not None
                assert item.score == score_mm(truth.true_mm, "nearest_cm_half_up") or (
                    _mm_to_score_boundary(truth.true_mm) <= AMBIGUOUS_MM), (truth, item)


def test_a_speck_on_the_line_among_specks_is_not_read_as_a_dot(
        scan_config: ScanConfig) -> None:
    # A speckled copy: toner specks of about 0.4 mm² lie in a blank item's zone, one of them
    # right on the line, where it looks like a small pen dot. A mark no bigger than the specks
    # beside it is not taken as an answer.
    from srsform.read.register import find_markers, registration_from_markers

    template = load_template("srs")
    layout = build_layout(template)
    keys = [item.key for item in template.items]
    items = tuple(ItemTruth(key, () if key == keys[3] else (
        PenMark("vertical", 32.0 + 15 * i, "black", 0.6),)) for i, key in enumerate(keys))
    rng = np.random.default_rng(3)
    code = PageCode(template.id, template.version, layout.layout_id, "SPECKS000001")
    page = make_page(template, code, items, random_condition(rng, "clean"), 3)
    gray = page.image.copy()
    homography = registration_from_markers(find_markers(gray)).homography
    line = layout.lines[3]
    ppm = page.dpi / 25.4
    # (radius mm: the one on the line loses its middle to the line's mask)
    for dx, dy, radius in ((86.6, 0.0, 0.42), (60.0, -4.5, 0.32), (20.0, 3.8, 0.32)):
        x, y = cv2.perspectiveTransform(
            np.array([[[line.x0_mm + dx, line.y_mm + dy]]]), homography).reshape(2)
        cv2.circle(gray, (int(round(x)), int(round(y))), int(round(radius * ppm)), 20, -1)
    result = read_page(PageImage("specks.png", 1, gray, ppm, None), scan_config)
    blank = result.items[3]
    assert blank.status != "ok", blank
    assert all(item.status == "ok" for item in result.items[:3])
