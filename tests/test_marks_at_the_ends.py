"""Small marks at an end of the line: a dot or a thin pencil stroke on an end stop, which
hides part of it. Every point within 5 mm of an end scores 0 (or 10), so where exactly such
a mark crosses does not matter; what does is that it is read as a mark, and the stop's
share of its ink counts (it was "only a very small or faint speck"), and that a stroke
crossing the stop below the line is one mark, not a mark and a speck beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.templates import load_bundled, load_template
from srsform.read.measure import MarkCandidate
from srsform.read.measure.judge import estimate_sigma
from srsform.read.pipeline import ScanConfig, iter_page_refs, process_stack
from srsform.read.score import score_mm
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
# (kind, true mm, ink, width): a broad dot half under the right-hand stop, a thin pencil
# stroke slanting across the left-hand one, and their mirror images.
MARKS = (("dot", 99.54, "black", 1.0), ("slanted", 0.62, "pencil", 0.33),
         ("dot", 0.45, "black", 1.0), ("slanted", 99.4, "pencil", 0.33))
SEEDS = (132, 172, 7)


def _read_pages(folder: Path, marks: tuple, seeds: tuple[int, ...], condition: str) -> list:
    """Pages with one of `marks` on each line (None: left blank), made with `seeds` under
    `condition`, read."""
    layout_id = build_layout(SRS).layout_id
    pages = []
    for n, seed in enumerate(seeds):
        items = tuple(ItemTruth(key, (PenMark(*mark),) if mark else ())
                      for key, mark in zip(KEYS, marks, strict=True))
        code = PageCode(SRS.id, SRS.version, layout_id, f"ATTHEEND{n:04d}")
        pages.append(make_page(SRS, code, items,
                               random_condition(np.random.default_rng(seed), condition), seed))
    write_stack(pages, folder)
    files = sorted(str(p) for p in folder.iterdir() if not p.name.endswith(".jsonl"))
    return list(process_stack(iter_page_refs(files), ScanConfig(templates=tuple(load_bundled()))))


@pytest.fixture(scope="module")
def end_pages(tmp_path_factory: pytest.TempPathFactory) -> list:
    return _read_pages(tmp_path_factory.mktemp("small-ends"), MARKS, SEEDS, "clean")


def test_small_marks_on_an_end_stop_are_read_and_scored(end_pages: list) -> None:
    assert len(end_pages) == len(SEEDS)
    for record in end_pages:
        for item, (_, x, _, _) in zip(record.items, MARKS, strict=True):
            assert (item.status, item.score) == ("ok", score_mm(x, "nearest_cm_half_up")), \
                (record.source, item.key, item.reasons)
        assert record.status == "ok"


def _cross(x_mm: float = 95.3, **more) -> MarkCandidate:
    return MarkCandidate(x_mm=x_mm, area_mm2=15.0, contrast=1.0, distance_mm=0.0,
                         fit_rms_mm=0.25, **more)


def test_a_cross_read_where_its_strokes_cross_is_as_sure_beside_a_stop() -> None:
    # An X whose arm reaches the stop, its strokes crossing in view 4.7 mm from the end:
    # the stop hides the arm's end, not the crossing, so its reading is as sure as any X's
    # (with a stop's doubt added, 3.5 sigma reached 1 mm and sent it to a person).
    free = estimate_sigma(_cross(), True, 6.0, 0.1)
    assert estimate_sigma(_cross(at_stop=True, crossing_in_view=True), True, 6.0, 0.1) == free
    assert estimate_sigma(_cross(at_stop=True), True, 6.0, 0.1) > free + 0.1
    # Crossing 2 mm from the end, the hidden arm pulls the fit (errors to 0.46 mm): the
    # stop's doubt stays (its score, 10, is clear of any boundary either way).
    near = estimate_sigma(_cross(98.0, at_stop=True, crossing_in_view=True), True, 6.0, 0.1)
    assert near > free + 0.1


# A circle drawn round the left-hand stop (its arcs cross the stop 2 mm above and below
# the line, where the stop's mask cuts them) and one round a point near the right end.
RINGS = (("circle", 0.06, "pencil", 0.44), ("circle", 0.3, "black", 0.5),
         ("circle", 99.2, "blue", 0.6), ("circle", 99.9, "pencil", 0.44))


def test_a_circle_round_an_end_stop_is_one_mark_at_that_end(tmp_path: Path) -> None:
    records = _read_pages(tmp_path, RINGS, (5, 11), "office")
    assert len(records) == 2
    for record in records:
        for item, (_, x, _, _) in zip(record.items, RINGS, strict=True):
            # (Before, its two arcs meeting the line either side of the stop read as "marks
            # drawn touching each other".)
            assert (item.status, item.score) == ("ok", score_mm(x, "nearest_cm_half_up")), \
                (record.source, item.key, item.reasons)


HINT = "end stop carries a little more ink than the other"


@pytest.mark.parametrize(("index", "key"), [(96, "overall"), (196, "relationship")])
def test_a_stroke_hidden_in_an_end_stop_is_missing_with_a_hint(
        tmp_path: Path, index: int, key: str) -> None:
    # Pencil strokes 0.6 and 0.4 mm wide hugging a stop (99.87 and 0.19 mm, seed 601): no
    # ink shows beyond the stop's mask, so nothing is read; but the person confirming a
    # blank is told that one stop holds a little more ink than the other.
    plan = plan_stack(index + 1, 601, conditions=("clean",))[index]
    truth = next(item for item in plan.items if item.key == key)
    assert truth.marks[0].ink == "pencil"
    files = write_stack([render_plan(plan)], tmp_path)
    (record,) = process_stack(iter_page_refs([str(f) for f in files if f.suffix != ".jsonl"]),
                              ScanConfig(templates=tuple(load_bundled())))
    item = next(i for i in record.items if i.key == key)
    assert item.status == "missing" and any(HINT in r for r in item.reasons), item
    side = "right" if truth.marks[0].x_mm > 50 else "left"
    assert any(f"the {side}-hand" in r for r in item.reasons)


def test_a_line_left_blank_carries_no_hint(tmp_path: Path) -> None:
    (record,) = _read_pages(tmp_path, (None, MARKS[1], None, None), (3,), "office")
    assert [i.status for i in record.items] == ["missing", "ok", "missing", "missing"]
    assert all(i.reasons == () for i in record.items if i.status == "missing")
