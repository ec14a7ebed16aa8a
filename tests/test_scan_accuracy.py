"""Accuracy of the whole scan pipeline on a seeded generated stack (issue targets).

The stack is rendered from the project's own forms, filled with every kind of pen mark
and put through simulated printers, scanners, copiers, faxes and phone cameras
(support.synth); each page's truth is known. Targets asserted here:
- every input page yields exactly one record, in input order;
- no item read `ok` carries a wrong score, unless its truth lies within 0.25 mm of a score
  boundary (the review policy's margin: the rounding rule decides there);
- accepted items: mean absolute error <= 0.15 mm, 95th percentile <= 0.4 mm;
- exact score on >= 99% of items of scanner pages and >= 95% of phone photos (every
  item read wrong is routed to a person: see the test above);
- every blank item, double mark, blank page and foreign page is flagged;
- at least 95% of single-mark items and 90% of ordinary pages need no person.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from srsform.read.ingest import expand_inputs
from srsform.read.pipeline import ScanConfig, iter_page_refs, process_stack
from srsform.read.score import NEAR_BOUNDARY_FLAG, is_near_boundary_note
from support.accuracy import compare, load_truth, true_score_of
from support.synth import CONDITIONS, INKS, MARK_KINDS, make_stack, write_stack

STACK_PAGES = 64
SEED = 11


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, scan_config: ScanConfig):
    folder = tmp_path_factory.mktemp("stack")
    pages = make_stack(STACK_PAGES, SEED)
    write_stack(pages, folder)
    truth = load_truth(folder / "truth.jsonl")
    files = [p for p in expand_inputs([str(folder)]) if not p.endswith(".jsonl")]
    refs = list(iter_page_refs(files))
    results = list(process_stack(refs, scan_config))
    report = compare(results, truth, "nearest_cm_half_up")
    return pages, truth, refs, results, report


def test_stack_covers_every_mark_kind_and_scan_condition(scanned) -> None:
    pages, truth, *_ = scanned
    assert len(truth) >= 60
    kinds = {m["kind"] for t in truth for i in t["items"] for m in i["marks"]}
    inks = {m["ink"] for t in truth for i in t["items"] for m in i["marks"]}
    conditions = {t["condition"]["name"] for t in truth if t["kind"] == "form"}
    assert kinds == set(MARK_KINDS)
    assert inks == set(INKS)
    assert conditions == set(CONDITIONS)
    forms = [t for t in truth if t["kind"] == "form"]
    assert {t["condition"]["rotation"] for t in forms} >= {0, 90, 180}
    assert any(t["condition"]["binary"] for t in forms)
    assert {t["condition"]["dpi"] for t in forms} >= {200, 300}
    assert any(t["condition"]["print_scale"] < 0.97 for t in forms)
    statuses = Counter(i["expected_status"] for t in forms for i in t["items"])
    assert statuses["missing"] >= 3 and statuses["multiple"] >= 3
    assert Counter(t["kind"] for t in truth)["blank"] >= 2
    assert Counter(t["kind"] for t in truth)["foreign"] >= 2


def test_every_page_yields_one_record_in_input_order(scanned) -> None:
    _, truth, refs, results, report = scanned
    assert len(results) == len(refs) == len(truth)
    assert [(r.source, r.page) for r in results] == [(r.source, r.page) for r in refs]
    assert [(Path(r.source).name, r.page) for r in results] == [
        (t["file"], t["page"]) for t in truth]
    assert not report.missing_pages and not report.extra_pages
    assert not report.forms_lost, report.forms_lost


def test_no_item_read_ok_has_a_wrong_score(scanned) -> None:
    # ...except where the truth lies within AMBIGUOUS_MM (0.25 mm) of a score boundary: there
    # the reading's error bar reaches past it by no more than the template's margin, and the
    # rounding rule decides (read/score.py), as even the intended score is ambiguous.
    _, truth, _, results, report = scanned
    overall = report.overall()
    assert overall.ok_wrong_far == 0, report.problems
    assert overall.ok_wrong <= 2, report.problems
    # ...and every such score says that the rounding rule decided it.
    by_page = {(Path(r.source).name, r.page): r for r in results}
    for t in truth:
        result = by_page[(t["file"], t["page"])]
        for truth_item, item in zip(t["items"], result.items, strict=False):
            if item.status == "ok" and truth_item["true_mm"] is not None and (
                    item.score != true_score_of(truth_item["true_mm"], "nearest_cm_half_up")):
                assert any(is_near_boundary_note(why) for why in item.reasons), item
                assert NEAR_BOUNDARY_FLAG in result.flags


def test_accepted_items_are_measured_to_a_fraction_of_a_millimetre(scanned) -> None:
    summary = scanned[4].overall().summary()
    assert summary["mae_mm"] <= 0.15, summary
    assert summary["p95_mm"] <= 0.4, summary


def test_scores_are_exact_on_scans_and_phone_photos(scanned) -> None:
    groups = scanned[4].groups
    scans = [g for name, g in groups.items() if name != "phone"]
    read_right = sum(g.read_correct for g in scans)
    items = sum(g.items_single for g in scans)
    assert read_right / items >= 0.99, {n: g.summary() for n, g in groups.items()}
    assert groups["phone"].exact_rate >= 0.95, groups["phone"].summary()
    # A clean scan needs almost no review.
    assert groups["clean"].ok_rate >= 0.95, groups["clean"].summary()


def test_a_person_is_asked_only_where_a_person_adds_information(scanned) -> None:
    # Readings whose only doubt is a score boundary within the reader's resolution are no
    # longer sent to a person (on this stack, before the review policy: 93.5% of single-mark
    # items and 80% of ordinary pages were accepted).
    overall = scanned[4].overall()
    assert overall.ok_rate >= 0.95, overall.summary()
    # Ordinary pages: one mark on every line, none drawn over an end stop (which hides it).
    assert overall.clear_ok_rate >= 0.9, overall.summary()


def test_blank_items_double_marks_and_non_forms_are_flagged(scanned) -> None:
    report = scanned[4]
    assert report.blank_items >= 3
    assert report.blank_items_flagged == report.blank_items, report.problems
    assert report.double_items >= 3
    assert report.double_items_flagged == report.double_items, report.problems
    assert report.non_forms >= 4
    assert report.non_forms_flagged == report.non_forms, report.problems


def test_rotation_and_print_scale_are_reported(scanned) -> None:
    _, truth, _, results, _ = scanned
    by_page = {(Path(r.source).name, r.page): r for r in results}
    checked = 0
    for t in truth:
        result = by_page[(t["file"], t["page"])]
        if t["kind"] != "form" or t["condition"]["phone"]:
            continue
        assert result.rotation == t["condition"]["rotation"]
        scale = t["condition"]["print_scale"]
        assert result.print_scale == pytest.approx(scale, abs=0.005)
        if abs(scale - 1) > 0.036:  # clearly off the 3% tolerance: flagged, not failed
            assert "print_scale_off" in result.flags and result.status != "error"
        elif abs(scale - 1) < 0.026:
            assert "print_scale_off" not in result.flags
        checked += 1
    assert checked >= 30
