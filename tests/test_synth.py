"""The synthetic scan generator: determinism, coverage, truth files, marks where truth says."""

from __future__ import annotations

import math

import numpy as np
import pikepdf
import pytest
from PIL import Image

from srsform.form.layout import build_layout, page_offset_mm
from srsform.form.pagecode import PageCode
from srsform.form.templates import load_template
from support import synth

SEED = 20240314


@pytest.fixture(scope="module")
def plans() -> list[synth.PagePlan]:
    return synth.plan_stack(60, SEED)


@pytest.fixture(scope="module")
def small_stack() -> list[synth.SynthPage]:
    """Pages 1, 3 and 4 of the plan: a clean PNG scan, a 1-bit fax and a phone photo."""
    chosen = synth.plan_stack(5, SEED)
    assert [chosen[i].condition.name for i in (1, 3, 4)] == ["clean", "fax", "phone"]
    return [synth.render_plan(chosen[i]) for i in (1, 3, 4)]


def test_same_seed_gives_identical_pages_and_truth(small_stack: list[synth.SynthPage]) -> None:
    plans = synth.plan_stack(5, SEED)
    again = [synth.render_plan(plans[i]) for i in (1, 3, 4)]
    for first, second in zip(small_stack, again, strict=True):
        assert np.array_equal(first.image, second.image)
        assert (first.items, first.condition, first.serial) == (
            second.items, second.condition, second.serial)
    assert synth.plan_stack(60, SEED) == synth.plan_stack(60, SEED)
    assert synth.plan_stack(60, SEED + 1) != synth.plan_stack(60, SEED)


def test_pages_follow_their_plan(small_stack: list[synth.SynthPage]) -> None:
    clean, fax, phone = small_stack
    assert clean.image.ndim == 2 and clean.dpi == 300
    assert fax.condition.binary and set(np.unique(fax.image)) <= {0, 255} and fax.dpi == 200
    assert phone.image.ndim == 3 and phone.dpi == 0 and 1500 <= max(phone.image.shape) <= 3000
    assert all(page.kind == "form" and page.serial and len(page.items) == 4 for page in small_stack)


def test_stack_covers_every_kind_ink_and_condition(plans: list[synth.PagePlan]) -> None:
    forms = [p for p in plans if p.kind == "form"]
    marks = [m for p in forms for item in p.items for m in item.marks]
    items = [item for p in forms for item in p.items]
    assert {m.kind for m in marks} == set(synth.MARK_KINDS)
    assert {m.ink for m in marks} == set(synth.INKS)
    assert all(0.25 <= m.width_mm <= 1.0 for m in marks)
    assert any(item.expected_status == "missing" for item in items)
    assert any(len([m for m in item.marks if m.kind != "scribble"]) == 2 for item in items)
    assert all(item.expected_status == "multiple" for item in items
               if any(m.kind == "scribble" for m in item.marks))
    conditions = [p.condition for p in plans]
    assert {c.name for c in conditions} == set(synth.CONDITIONS)
    assert {c.rotation for c in conditions} == {0, 90, 180, 270}
    assert any(c.binary for c in conditions) and any(c.phone for c in conditions)
    assert any(c.print_scale < 0.99 for c in conditions)
    assert {p.kind for p in plans} == {"form", "blank", "foreign"}
    assert not any(p.condition.binary and m.ink == "pencil" for p in forms
                   for item in p.items for m in item.marks)


def test_item_truth_status_and_clamped_position() -> None:
    tick = synth.PenMark("vertical", 42.5, "black", 0.5)
    beyond = synth.PenMark("beyond", -2.5, "blue", 0.5)
    scribble = synth.PenMark("scribble", 80.0, "blue", 0.5)
    assert synth.ItemTruth("a", ()).expected_status == "missing"
    assert synth.ItemTruth("a", ()).true_mm is None
    assert (synth.ItemTruth("a", (beyond,)).expected_status, synth.ItemTruth("a", (beyond,)).true_mm
            ) == ("ok", 0.0)
    corrected = synth.ItemTruth("a", (scribble, tick))
    assert (corrected.expected_status, corrected.true_mm) == ("multiple", 42.5)
    assert synth.ItemTruth("a", (tick, beyond)).true_mm is None


def test_truth_round_trips_through_written_files(small_stack: list[synth.SynthPage],
                                                  tmp_path) -> None:
    office = synth.render_plan(synth.plan_stack(1, SEED)[0])
    clean, fax, phone = small_stack
    pages = [fax, clean, phone, office]  # fax -> stack.pdf (G4), office -> stack.tif (JPEG)
    files = synth.write_stack(pages, tmp_path)
    names = [f.name for f in files]
    assert names == ["photo-003.jpg", "scan-002.png", "stack.pdf", "stack.tif"]
    records = synth.read_truth(tmp_path / "truth.jsonl")
    assert [(r["file"], r["page"]) for r in records] == [(n, 1) for n in names]
    for record, page in zip(records, [phone, clean, fax, office], strict=True):
        assert record["items"] == page.items
        assert record["condition"] == page.condition
        assert (record["serial"], record["client"], record["session"], record["kind"]) == (
            page.serial, page.client, page.session, page.kind)
    raw = (tmp_path / "truth.jsonl").read_text().splitlines()[2]
    assert '"expected_status": "ok"' in raw and '"true_mm"' in raw

    with pikepdf.open(tmp_path / "stack.pdf") as pdf:
        image = next(iter(pdf.pages[0].get_images().values()))
        decoded = np.asarray(pikepdf.PdfImage(image).as_pil_image().convert("L"))
        box = pdf.pages[0].mediabox
        assert float(box[2]) == pytest.approx(fax.image.shape[1] * 72 / 200, abs=0.01)
    assert np.array_equal(decoded, fax.image)
    with Image.open(tmp_path / "stack.tif") as tiff:
        assert tiff.info["compression"] == "jpeg" and tiff.info["dpi"][0] == office.dpi
        diff = np.abs(np.asarray(tiff, dtype=np.int16) - office.image.astype(np.int16))
        assert diff.mean() < 2
    with Image.open(tmp_path / "scan-002.png") as png:
        assert np.array_equal(np.asarray(png), clean.image)


def test_vertical_tick_darkens_the_paper_where_the_truth_says() -> None:
    template = load_template("srs")
    layout = build_layout(template)
    code = PageCode("srs", template.version, layout.layout_id, "TESTSERIAL01")
    condition = synth.random_condition(np.random.default_rng(0), "clean")
    x_mm = 37.5
    marked = tuple(synth.ItemTruth(line.key, (synth.PenMark("vertical", x_mm, "black", 0.5),)
                                   if i == 1 else ()) for i, line in enumerate(layout.lines))
    blank = tuple(synth.ItemTruth(line.key, ()) for line in layout.lines)
    paper, dpi = synth.ideal_paper(template, code, marked, condition, seed=3)
    empty, _ = synth.ideal_paper(template, code, blank, condition, seed=3)
    ppm = dpi / 25.4
    ox, oy = page_offset_mm("a4")
    line = layout.lines[1]

    def window(img: np.ndarray, x: float, y: float) -> np.ndarray:
        cx, cy = round((ox + x) * ppm - 0.5), round((oy + y) * ppm - 0.5)
        r = math.ceil(0.3 * ppm)
        return img[cy - r:cy + r + 1, cx - r:cx + r + 1].min(axis=2)

    for dy in (-0.9, 0.0, 0.9):  # the tick crosses the line, reaching >= 1 mm either side
        assert window(paper, line.x0_mm + x_mm, line.y_mm + dy).min() < 80
    assert window(empty, line.x0_mm + x_mm, line.y_mm - 0.9).min() > 240
    assert window(paper, line.x0_mm + x_mm + 3.0, line.y_mm - 0.9).min() > 240


@pytest.mark.parametrize("kind", ["vertical", "slanted", "cross", "check", "touch", "beyond",
                                  "on_stop", "scribble"])
def test_strokes_pass_through_the_true_position(kind: str) -> None:
    line = build_layout(load_template("srs")).lines[0]
    rng = np.random.default_rng(5)
    for x_mm in (-2.0, 0.0, 12.3, 100.0):
        mark = synth.PenMark(kind, x_mm, "black", 0.6)
        strokes = synth._mark_strokes(mark, line, rng)
        point = np.array([line.x0_mm + x_mm, line.y_mm])
        if kind == "touch":  # ends on the line, ink just reaching it, never crossing
            pts = strokes[0][0]
            assert np.linalg.norm(pts[-1] - point) < 0.35
            assert pts[:, 1].max() + mark.width_mm / 2 <= line.y_mm + 0.16
            continue
        if kind == "check":
            point = point + (0, 0.25)  # the vertex sits on the line or up to 0.6 mm through it
        nearest = min(_distance_to_path(point, pts) for pts, _ in strokes)
        assert nearest < (0.61 if kind == "check" else 0.01)


def test_circle_and_dot_are_centred_on_the_true_position() -> None:
    line = build_layout(load_template("srs")).lines[2]
    rng = np.random.default_rng(9)
    for kind in ("circle", "dot"):
        strokes = synth._mark_strokes(synth.PenMark(kind, 55.0, "blue", 0.5), line, rng)
        centre = strokes[0][0].mean(axis=0)
        assert abs(centre[0] - (line.x0_mm + 55.0)) < 0.35
        assert abs(centre[1] - line.y_mm) < 0.35


def test_unknown_condition_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scan condition"):
        synth.random_condition(np.random.default_rng(0), "telegraph")


def _distance_to_path(point: np.ndarray, pts: np.ndarray) -> float:
    a, b = pts[:-1], pts[1:]
    ab = b - a
    t = np.clip(((point - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0, 1)
    return float(np.linalg.norm(a + t[:, None] * ab - point, axis=1).min())
