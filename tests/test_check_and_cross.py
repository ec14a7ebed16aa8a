"""Check marks and crosses on blurred phone photos: a check mark is read at its point and a
cross at its crossing, and a thick cross is not taken for a scribble, while a scribble still
goes to a person. Pages are made with the project's own generator (tests/support/synth.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.templates import load_template
from srsform.read.ingest import PageRef
from srsform.read.pipeline import ScanConfig, iter_page_refs, process_page
from support.synth import (
    ItemTruth,
    PenMark,
    make_page,
    plan_stack,
    random_condition,
    render_plan,
    write_stack,
)

SRS = load_template("srs")
KEYS = [item.key for item in SRS.items]


def _photo(tmp_path: Path, marks: list[tuple[PenMark, ...]], seed: int, scan_config: ScanConfig):
    """A blurred phone photo of an SRS form with these marks, read as `srsform scan` reads it."""
    layout = build_layout(SRS)
    items = tuple(ItemTruth(key, item) for key, item in zip(KEYS, marks, strict=True))
    condition = replace(random_condition(np.random.default_rng(seed), "phone"), blur_px=1.4)
    code = PageCode(SRS.id, SRS.version, layout.layout_id, f"VXPHOTO{seed:05d}")
    files = write_stack([make_page(SRS, code, items, condition, seed)], tmp_path)
    return process_page(PageRef(str(files[0]), 1, "image", 1), scan_config)


@pytest.mark.parametrize("seed", [11])
def test_a_thick_check_mark_on_a_blurred_photo_is_read_at_its_point(
        tmp_path: Path, scan_config: ScanConfig, seed: int) -> None:
    # Blur joins a thick pen's two strokes well above their meeting, and the short arm's
    # rounded end bends its fit: the point extrapolated from the strokes read 0.3-0.6 mm
    # left of the truth. Where the point shows below the line it is read there.
    truth = [33.3, 52.6, 71.2, 86.7]
    marks = [(PenMark("check", x, "black", 0.9),) for x in truth]
    result = _photo(tmp_path, marks, seed, scan_config)
    errors = [item.mm - x for item, x in zip(result.items, truth, strict=True)
              if item.mm is not None]
    assert len(errors) == len(truth), result.items
    assert max(abs(e) for e in errors) <= 0.25, errors


def test_a_thick_cross_on_a_blurred_photo_is_no_scribble_but_a_scribble_is(
        tmp_path: Path, scan_config: ScanConfig) -> None:
    # A 0.9 mm pen on a blurred photo is darker than the blurred print, and its blurred edges
    # counted as full ink: plain crosses went to a person as "heavy or scribbled ink".
    truth = [33.3, 52.6, 71.2]
    marks = [(PenMark("cross", x, "black", 0.9),) for x in truth]
    marks.append((PenMark("scribble", 86.7, "black", 0.9),))
    result = _photo(tmp_path, marks, 7, scan_config)
    for item, x in zip(result.items[:3], truth, strict=True):
        assert not any("scribbled" in why for why in item.reasons), item
        assert item.status == "ok" and abs(item.mm - x) <= 0.25, item
    assert result.items[3].status != "ok", result.items[3]


def test_a_check_mark_whose_point_is_not_found_is_not_read_by_a_straight_fit(
        tmp_path: Path, scan_config: ScanConfig) -> None:
    # A thick check on a blurred, coarse phone photo (about 4.5 px/mm): its strokes merge
    # into one blob a millimetre above the line and its point stays inside the print, so
    # neither the strokes' meeting nor the point is found. A straight fit through the
    # blob's rows read it 0.47 mm left, with a sigma of 0.06 mm: accepted, wrong by a
    # score near a boundary. Found on a generated phone stack (seed 901); made again here.
    from support.synth import plan_stack, render_plan

    plan = plan_stack(120, 901, conditions=("phone",))[71]
    marks = [("check", 29.46, 0.88), ("cross", 70.69, 0.86), ("check", 2.0, 0.8),
             ("cross", 97.87, 0.88)]
    items = tuple(ItemTruth(key, (PenMark(kind, x, "black", width),))
                  for key, (kind, x, width) in zip(KEYS, marks, strict=True))
    files = write_stack([render_plan(replace(plan, items=items))], tmp_path)
    result = process_page(PageRef(str(files[0]), 1, "image", 1), scan_config)
    check = result.items[0]
    assert check.status != "ok" or abs(check.mm - 29.46) <= 0.25, check


@pytest.mark.parametrize(("condition", "seed"), [("office", 1), ("office", 3), ("clean", 1)])
def test_a_cross_whose_arms_reach_an_end_stop_is_read_where_it_crosses(
        tmp_path: Path, scan_config: ScanConfig, condition: str, seed: int) -> None:
    # A cross 3 mm from an end touches the stop with its arms; its strokes still cross in
    # view. It was read by the middle of its ink, the stop's share guessed: a reading that
    # went to a person (and could have changed the score had the cross been further in).
    marks = [("black", 0.5, 3.0), ("blue", 0.7, 96.4), ("pencil", 0.4, 2.8),
             ("black", 0.9, 96.9)]
    items = tuple(ItemTruth(key, (PenMark("cross", x, ink, width),))
                  for key, (ink, width, x) in zip(KEYS, marks, strict=True))
    code = PageCode(SRS.id, SRS.version, build_layout(SRS).layout_id, f"XSTOP{seed:07d}")
    page = make_page(SRS, code, items, random_condition(np.random.default_rng(seed), condition),
                     seed)
    files = write_stack([page], tmp_path)
    (ref,) = iter_page_refs([str(f) for f in files if f.suffix != ".jsonl"])
    result = process_page(ref, scan_config)
    assert result.status == "ok", result.reasons
    for item, (_, _, x) in zip(result.items, marks, strict=True):
        assert item.status == "ok" and item.score == (0 if x < 50 else 10)
        assert abs(item.mm - x) <= 0.3, (item.key, item.mm, x)


def test_a_circle_and_a_stroke_drawn_touching_on_a_blurred_photo_still_go_to_a_person(
        tmp_path: Path, scan_config: ScanConfig) -> None:
    # A circle round 79.6 mm and a stroke at 82.6 mm, drawn touching, make one blob that a
    # straight fit reads at 80.1 mm. Only its ink (27 mm2) gives it away: the allowance for
    # a dark pen's blurred edges is for a mark read as a cross, not for any blob.
    (plan,) = [p for p in plan_stack(100, 511, conditions=("phone",))[99:100]]
    overall = next(item for item in plan.items if item.key == "overall")
    assert sorted(m.kind for m in overall.marks) == ["circle", "slanted"]
    files = write_stack([render_plan(plan)], tmp_path)
    (ref,) = iter_page_refs([str(f) for f in files if f.suffix != ".jsonl"])
    result = process_page(ref, scan_config)
    item = next(i for i in result.items if i.key == "overall")
    assert item.status != "ok", item


def test_a_grainy_pencil_stroke_is_no_scribble_a_zigzag_is() -> None:
    from srsform.read.measure import MarkCandidate
    from srsform.read.measure.judge import judge_marks

    def mark(area: float) -> MarkCandidate:
        # A quarter of its columns cross three strokes or more: gaps in grainy pencil, or
        # the passes of a zig-zag.
        return MarkCandidate(x_mm=94.5, area_mm2=area, contrast=0.44, distance_mm=0.05,
                             fit_rms_mm=0.05, layered=0.25, extent_mm=(93.7, 95.4))

    assert judge_marks([mark(1.7)])[0] == "ok"  # a 0.3 mm pencil stroke (seed 205)
    status, _, reasons, _ = judge_marks([mark(4.3)])  # the smallest generated scribble
    assert status == "uncertain" and reasons == ["heavy or scribbled ink: a crossed-out answer?"]


def test_a_zigzag_over_a_tick_is_scribbled_ink_though_little_of_it_is_layered() -> None:
    from srsform.read.measure import MarkCandidate
    from srsform.read.measure.judge import judge_marks

    def mark(area: float, layered: float) -> MarkCandidate:
        return MarkCandidate(x_mm=82.9, area_mm2=area, contrast=0.93, distance_mm=0.05,
                             fit_rms_mm=0.7, layered=layered, extent_mm=(79.2, 86.8))

    # A zig-zag drawn over a vertical tick (seed 601, page 5): the tick's stroke fills
    # most columns once, so only 17% of them cross three strokes; but no single tick,
    # cross or circle holds 24.8 mm2 with any layering.
    status, _, reasons, _ = judge_marks([mark(24.8, 0.17)])
    assert status == "uncertain" and reasons == ["heavy or scribbled ink: a crossed-out answer?"]
    assert judge_marks([mark(24.8, 0.01)])[0] == "ok"  # a big cross or circle: no layers
    assert judge_marks([mark(12.0, 0.17)])[0] == "ok"  # a heavy tick with a grainy gap


def test_two_marks_whose_ink_joins_near_the_line_meet_it_twice() -> None:
    import cv2
    import numpy as np

    from srsform.read.measure.marks import _split_at_ridges

    # 8 px/mm, the line's centre at row 40, its print masked 6 px either side, and a
    # blurred scan's thin strip of the print's own edge beyond the mask (2 px) joining
    # everything near the line. A tick at column 60 and a check whose point touches the
    # line at column 78 (2.25 mm on), its short arm reaching the tick 2 mm above the line:
    # ink near the line all the way (no gap of MEETING_GAP_MM), but between the tick and
    # the check's point it leaves the line by more than MEETING_RIDGE_MM.
    def meetings(ink: np.ndarray) -> list:
        ink = ink.copy()
        ink[34:47] = 0  # the print hides the pen there
        ink[32:34, 40:130] = 1  # the print's blurred edge
        ink[47:49, 40:130] = 1
        signed = np.arange(80, dtype=np.float32)[:, None] - 40 + np.zeros((1, 140), np.float32)
        cols = np.nonzero((ink.astype(bool) & (np.abs(signed) <= 8)).any(axis=0))[0]
        return _split_at_ridges(cols, ink.astype(bool), signed, 6.0, 8.0)

    tick = np.zeros((80, 140), np.uint8)
    cv2.line(tick, (60, 10), (60, 70), 1, 3)
    check = np.zeros_like(tick)
    cv2.line(check, (78, 38), (61, 22), 1, 3)  # its short arm, up to the tick
    cv2.line(check, (78, 38), (115, 0), 1, 3)  # its long arm
    parts = meetings(tick | check)
    assert len(parts) == 2 and 62 < parts[1].min() < 72  # (cut between the two)
    assert len(meetings(check)) == 1  # a check alone meets the line once...
    assert len(meetings(tick)) == 1  # ...as does a tick
