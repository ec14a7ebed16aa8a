"""A guessed reading bounded by its ink: where an end stop hides part of a mark, or a grainy
stroke broke into pieces, the reader cannot say exactly where the mark crosses the line;
but it crosses within its ink, and if all of that ink scores alike, no person could score
it otherwise: the score stands, with a `within_ink` note. What the mark is (a speck, a
second answer, a scribble) still goes to a person."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.templates import load_bundled, load_template
from srsform.read.measure import LineMeasurement, MarkCandidate
from srsform.read.measure.judge import judge_marks
from srsform.read.pipeline import ScanConfig, iter_page_refs, process_stack
from srsform.read.score import WITHIN_INK_NOTE, score_mm, score_page
from support.synth import ItemTruth, PenMark, make_page, random_condition, write_stack

SRS = load_template("srs")
KEYS = [item.key for item in SRS.items]
IRREGULAR = "mark shape is irregular (smudge or scribble?)"


def _guessed(raw_mm: float, bounds: tuple[float, float] | None,
             reasons: tuple[str, ...] = (IRREGULAR,)) -> LineMeasurement:
    mm = math.floor(min(100.0, max(0.0, raw_mm)) * 10 + 0.5) / 10
    return LineMeasurement(key=KEYS[0], status="uncertain", mm=mm, raw_mm=raw_mm, sigma_mm=1.3,
                           confidence=0.5, length_mm=100.0, ends_found=True, candidates=(),
                           reasons=reasons, left_end_mm=(45.0, 88.0),
                           right_end_mm=(145.0, 88.0), bounds_mm=bounds)


def _clear(key: str) -> LineMeasurement:
    return LineMeasurement(key=key, status="ok", mm=80.0, raw_mm=80.0, sigma_mm=0.05,
                           confidence=0.9, length_mm=100.0, ends_found=True, candidates=(),
                           reasons=(), left_end_mm=(45.0, 88.0), right_end_mm=(145.0, 88.0))


def _score_first(line: LineMeasurement, margin: float | None = None):
    return score_page(SRS, [line] + [_clear(k) for k in KEYS[1:]], margin).items[0]


def test_a_guess_whose_ink_all_scores_alike_stands_with_a_note() -> None:
    item = _score_first(_guessed(98.9, (97.6, 100.5)))
    assert (item.status, item.score) == ("ok", 10)
    assert len(item.reasons) == 1 and item.reasons[0].startswith(f"{WITHIN_INK_NOTE}: ")
    assert "97.6-100.0 mm" in item.reasons[0] and IRREGULAR in item.reasons[0]


def test_a_guess_whose_ink_reaches_past_a_boundary_goes_to_a_person() -> None:
    # A circle round a point near the end: its ink reaches 94.2 mm, where scores are 9.
    item = _score_first(_guessed(96.8, (94.2, 100.5)))
    assert item.status == "uncertain" and item.score == 10
    assert not any(r.startswith(WITHIN_INK_NOTE) for r in item.reasons)
    assert any("score boundary" in r for r in item.reasons)


def test_a_guess_without_bounds_goes_to_a_person() -> None:
    assert _score_first(_guessed(99.0, None)).status == "uncertain"


def test_the_margin_applies_to_the_ink_as_to_a_sigma() -> None:
    # Ink reaching 0.2 mm past 95 mm: within the default 0.25 mm margin, not within 0.
    assert _score_first(_guessed(97.0, (94.8, 100.5))).status == "ok"
    assert _score_first(_guessed(97.0, (94.8, 100.5)), margin=0.0).status == "uncertain"


@given(lo=st.floats(-2, 102), width=st.floats(0.0, 8.0), share=st.floats(0.0, 1.0))
def test_an_accepted_guess_is_wrong_only_within_the_margin(lo: float, width: float,
                                                           share: float) -> None:
    """Whatever the ink: a truth inside it scores what was accepted, or lies within the
    margin (0.25 mm) past a boundary."""
    hi = lo + width
    raw = lo + share * width
    item = _score_first(_guessed(raw, (lo, hi)))
    if item.status == "ok":
        truth = min(100.0, max(0.0, lo + (1 - share) * width))
        true_score = int(math.floor(truth / 10 + 0.5))
        if true_score != item.score:
            boundary = (min(item.score, true_score) + 0.5) * 10
            assert abs(truth - boundary) <= 0.25 + 1e-9


def _candidate(x: float, area: float, extent: tuple[float, float], **more) -> MarkCandidate:
    return MarkCandidate(x_mm=x, area_mm2=area, contrast=0.6, distance_mm=0.0,
                         fit_rms_mm=0.05, extent_mm=extent, **more)


def test_pieces_of_one_grainy_stroke_bound_it_and_ink_elsewhere_does_not() -> None:
    mark = _candidate(84.7, 0.9, (82.2, 86.2))
    piece = _candidate(85.7, 0.45, (85.1, 86.3))
    status, chosen, reasons, bounds = judge_marks([mark, piece])
    assert status == "uncertain" and chosen is mark
    assert reasons == ["small extra ink near the line"]
    assert bounds == (82.2, 86.3)  # the piece included: 85.7 mm would score 9
    # A speck 10 mm away may be a second answer: a person decides, whatever the scores.
    speck = _candidate(74.0, 0.45, (73.6, 74.6))
    assert judge_marks([mark, speck])[3] is None
    # A faint mark is a question about what it is, whatever its ink's extent.
    faint = _candidate(50.0, 1.0, (49.0, 51.0))
    faint = MarkCandidate(**{**faint.__dict__, "contrast": 0.1})
    assert judge_marks([faint])[3] is None


def test_a_mark_clear_of_doubt_is_bounded_by_its_own_ink() -> None:
    mark = _candidate(50.0, 1.0, (49.0, 51.0))
    assert judge_marks([mark]) == ("ok", mark, [], (49.0, 51.0))


# --- through the reader: marks drawn over the end stops ----------------------------------

# (The pages below were read 'uncertain' before: the stop hides part of each mark.)
PAGES = (("office", 2), ("phone", 1), ("phone", 2))
MARKS = (("vertical", 99.75, "black", 0.6), ("slanted", 99.65, "black", 0.55),
         ("touch", 0.3, "blue", 0.7), ("vertical", 0.2, "blue", 0.9))


@pytest.fixture(scope="module")
def end_pages(tmp_path_factory: pytest.TempPathFactory) -> list:
    folder = tmp_path_factory.mktemp("ends")
    layout_id = build_layout(SRS).layout_id
    pages = []
    for n, (condition, seed) in enumerate(PAGES):
        items = tuple(ItemTruth(key, (PenMark(kind, x, ink, width),))
                      for key, (kind, x, ink, width) in zip(KEYS, MARKS, strict=True))
        code = PageCode(SRS.id, SRS.version, layout_id, f"WITHINK{n:05d}")
        pages.append(make_page(SRS, code, items,
                               random_condition(np.random.default_rng(seed), condition), seed))
    write_stack(pages, folder)
    files = sorted(str(p) for p in Path(folder).iterdir() if not p.name.endswith(".jsonl"))
    config = ScanConfig(templates=tuple(load_bundled()))
    return list(process_stack(iter_page_refs(files), config))


def test_marks_over_the_end_stops_are_scored_by_their_ink(end_pages: list) -> None:
    assert len(end_pages) == len(PAGES)
    notes = 0
    for record in end_pages:
        assert record.status == "ok", record.reasons
        for item, (_, x, _, _) in zip(record.items, MARKS, strict=True):
            assert (item.status, item.score) == ("ok", score_mm(x, "nearest_cm_half_up"))
            notes += any(r.startswith(WITHIN_INK_NOTE) for r in item.reasons)
    assert notes >= 3  # (without the rule these items went to a person)
