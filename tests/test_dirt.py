"""Dirt that crosses the lines is never read as a confident answer.

A dirty scanner glass or copier drum draws a thin straight streak down the whole page, through
every line at the same place. On a blank item it is the only ink near the line, shaped like a
vertical tick: read naively, it scores the item silently and wrongly. These pages are made
with srsform.synth (known truth), then streaked as a scanner would.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from srsform.ingest import PageImage
from srsform.layout import build_layout
from srsform.pagecode import PageCode
from srsform.pipeline import ScanConfig, read_page
from srsform.score import score_mm
from srsform.synth import ItemTruth, PenMark, make_page, random_condition
from srsform.templates import load_bundled, load_template

CONDITIONS = ("clean", "office", "copy", "fax", "low_res", "office_color")


def _streaked_page(seed: int) -> tuple[tuple[ItemTruth, ...], PageImage]:
    rng = np.random.default_rng([7, seed])
    template = load_template("srs")
    layout = build_layout(template)
    keys = [item.key for item in template.items]
    # Two blank items and two marked ones, in a random order.
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
    gray = gray.copy()
    # A streak from top to bottom of the scan, 1-4 px wide, from faint to black, placed
    # where the lines are (the form's middle two-thirds).
    width, darkness = int(rng.integers(1, 5)), int(rng.integers(40, 170))
    x = int(rng.uniform(0.25, 0.75) * gray.shape[1])
    gray[:, x:x + width] = np.minimum(gray[:, x:x + width], darkness)
    return items, PageImage("streaked.png", 1, gray, page.dpi / 25.4, None)


@pytest.mark.parametrize("seed", range(12))
def test_a_scanner_streak_is_never_read_as_a_confident_answer(seed: int) -> None:
    items, image = _streaked_page(seed)
    template = load_template("srs")
    config = ScanConfig(templates=tuple(load_bundled()), fallback=template)
    result = read_page(image, config)
    assert len(result.items) == 4
    for truth, item in zip(items, result.items, strict=True):
        if not truth.marks:
            # The streak may be the only ink on a blank item: never an answer.
            assert item.status != "ok", (truth.key, item)
        elif item.status == "ok":
            assert truth.true_mm is not None
            assert item.score == score_mm(truth.true_mm, "nearest_cm_half_up"), (truth, item)
