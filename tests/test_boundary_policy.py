"""The review policy at a score boundary: a reading whose only doubt is how close it lies to
a boundary, within the reader's own error, is scored by the rounding rule with a
`near_boundary` note; a wider doubt goes to a person; the margin between the two is a
template setting and a scan option."""

from __future__ import annotations

import json
import math
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from srsform.cli import main
from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.templates import load_template
from srsform.read.measure import LineMeasurement
from srsform.read.score import (
    BOUNDARY_SIGMAS,
    NEAR_BOUNDARY_FLAG,
    boundary_check,
    is_near_boundary_note,
    score_mm,
    score_page,
    score_span,
)
from support.synth import ItemTruth, PenMark, make_page, random_condition, write_stack

SRS = load_template("srs")
KEYS = [item.key for item in SRS.items]


def _measured(key: str, raw_mm: float, sigma: float, status: str = "ok",
              reasons: tuple[str, ...] = ()) -> LineMeasurement:
    mm = math.floor(raw_mm * 10 + 0.5) / 10
    return LineMeasurement(key=key, status=status, mm=mm, raw_mm=raw_mm, sigma_mm=sigma,
                           confidence=0.9, length_mm=100.0, ends_found=True, candidates=(),
                           reasons=reasons, left_end_mm=(45.0, 88.0),
                           right_end_mm=(145.0, 88.0))


def _first_item(raw_mm: float, sigma: float, margin: float | None = None):
    """Score a page whose first line reads raw_mm +/- sigma, the others clearly 8."""
    lines = [_measured(KEYS[0], raw_mm, sigma)] + [_measured(k, 80.0, 0.05) for k in KEYS[1:]]
    return score_page(SRS, lines, margin)


def test_a_reading_within_the_readers_resolution_of_a_boundary_is_scored_with_a_note() -> None:
    # 45.05 mm +/- 3.5 x 0.05 mm: the truth may lie 0.125 mm on the other side, within 0.25.
    scored = _first_item(45.05, 0.05)
    item = scored.items[0]
    assert (item.status, item.score, item.mm) == ("ok", 5, 45.1)
    assert [is_near_boundary_note(why) for why in item.reasons] == [True]
    assert item.reasons[0].startswith("near_boundary: 45.1 mm")
    assert NEAR_BOUNDARY_FLAG in scored.flags
    assert all(i.status == "ok" and not i.reasons for i in scored.items[1:])
    # The other side of the boundary: the rounding rule's score, 4.
    below = _first_item(44.93, 0.05).items[0]
    assert (below.status, below.score) == ("ok", 4)
    assert is_near_boundary_note(below.reasons[0])


def test_a_reading_clear_of_every_boundary_carries_no_note() -> None:
    scored = _first_item(47.0, 0.1)
    assert (scored.items[0].status, scored.items[0].reasons) == ("ok", ())
    assert NEAR_BOUNDARY_FLAG not in scored.flags


def test_a_boundary_doubt_wider_than_the_margin_goes_to_a_person() -> None:
    # A blurred mark: 45.05 +/- 3.5 x 0.2 mm reaches 0.65 mm past the boundary.
    scored = _first_item(45.05, 0.2)
    item = scored.items[0]
    assert item.status == "uncertain" and item.score == 5  # the best guess is kept
    assert "score boundary" in item.reasons[0] and "0.25 mm margin" in item.reasons[0]
    assert item.confidence < 0.9
    assert NEAR_BOUNDARY_FLAG not in scored.flags
    # Further from the boundary, the same error bar no longer reaches past it by 0.25 mm.
    assert _first_item(45.5, 0.2).items[0].status == "ok"


def test_the_margin_changes_the_outcome() -> None:
    assert _first_item(45.05, 0.05, margin=0.0).items[0].status == "uncertain"
    assert _first_item(45.05, 0.2, margin=0.7).items[0].status == "ok"
    # A template that sets the margin to 0 sends every boundary doubt to a person.
    strict = SRS.__class__(**{**SRS.__dict__,
                              "review": SRS.review.__class__(boundary_margin_mm=0.0)})
    lines = [_measured(KEYS[0], 45.05, 0.05)] + [_measured(k, 80.0, 0.05) for k in KEYS[1:]]
    assert score_page(strict, lines).items[0].status == "uncertain"
    assert score_page(strict, lines, 0.25).items[0].status == "ok"  # the scan option wins


def test_doubts_about_the_mark_itself_still_go_to_a_person() -> None:
    faint = _measured(KEYS[0], 45.05, 0.05, status="uncertain",
                      reasons=("faint mark (contrast 0.15 of the print)",))
    scored = score_page(SRS, [faint] + [_measured(k, 80.0, 0.05) for k in KEYS[1:]])
    assert scored.items[0].status == "uncertain"
    # (the note still tells the person the boundary is near; the page flag is for scores
    # that stand)
    assert any(is_near_boundary_note(why) for why in scored.items[0].reasons)
    assert NEAR_BOUNDARY_FLAG not in scored.flags


def test_one_decimal_boundaries_are_every_millimetre() -> None:
    assert score_span(4.5, "one_decimal") == (44.5, 45.5)
    assert score_span(0.0, "one_decimal") == (-math.inf, 0.5)
    assert score_span(10, "nearest_cm_half_up") == (95.0, math.inf)
    assert boundary_check(44.5, 44.52, 0.05, "one_decimal", 0.25) == "near"
    assert boundary_check(44.5, 44.52, 0.05, "one_decimal", 0.0) == "review"
    assert boundary_check(44.9, 44.9, 0.05, "one_decimal", 0.0) == "clear"


def _true_score(mm: float) -> int:
    return int(math.floor(min(100.0, max(0.0, mm)) / 10 + 0.5))


def _past_boundary(truth: float, score: int) -> float:
    low, high = score_span(score, "nearest_cm_half_up")
    return max(0.0, low - truth, truth - high)


@given(raw=st.floats(-3, 103), sigma=st.floats(0.0, 1.5), margin=st.floats(0.0, 1.0),
       share=st.floats(-1.0, 1.0))
def test_an_accepted_score_is_wrong_only_within_the_margin_of_a_boundary(
        raw: float, sigma: float, margin: float, share: float) -> None:
    """Whatever the reading: a truth within BOUNDARY_SIGMAS sigma of it either scores what
    was accepted or lies within the margin past a boundary."""
    mm = math.floor(min(100.0, max(0.0, raw)) * 10 + 0.5) / 10
    verdict = boundary_check(mm, raw, sigma, "nearest_cm_half_up", margin)
    truth = raw + share * BOUNDARY_SIGMAS * sigma
    score = score_mm(mm, "nearest_cm_half_up")
    if verdict != "review":
        assert _true_score(truth) == score or _past_boundary(truth, score) <= margin + 1e-9
    if verdict == "clear":
        assert _true_score(truth) == score or _past_boundary(truth, score) <= 1e-9


# --- through the scan command ------------------------------------------------------------

def _near_boundary_page(folder: Path) -> None:
    """A clean scan whose first mark lies 0.04 mm past the 45 mm boundary, the others in
    the middle of a centimetre."""
    layout = build_layout(SRS)
    marks = [44.96, 62.0, 78.0, 91.0]
    items = tuple(ItemTruth(key, (PenMark("vertical", x, "black", 0.5),))
                  for key, x in zip(KEYS, marks, strict=True))
    code = PageCode(SRS.id, SRS.version, layout.layout_id, "NEARBOUNDAR1")
    condition = random_condition(np.random.default_rng(5), "clean")
    write_stack([make_page(SRS, code, items, condition, 5)], folder)


@pytest.fixture(scope="module")
def near_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("near")
    _near_boundary_page(folder)
    return next(folder.glob("scan-*.png"))


def _scan(page: Path, db: Path, *options: str) -> dict:
    result = CliRunner().invoke(main, ["scan", str(page), "--db", str(db),
                                       "--no-evidence", "-o", "-", *options])
    assert result.exit_code in (0, 4), (result.exit_code, result.stderr)
    return json.loads(result.stdout.splitlines()[0])


def test_scan_accepts_a_near_boundary_reading_with_its_note(near_page: Path,
                                                            tmp_path: Path) -> None:
    record = _scan(near_page, tmp_path / "s.db")
    first = record["items"][0]
    assert record["status"] == "ok", record
    assert first["status"] == "ok" and first["score"] in (4, 5)
    assert abs(first["mm"] - 44.96) <= 0.2
    assert NEAR_BOUNDARY_FLAG in record["flags"]
    assert any(r.startswith(f"{KEYS[0]}: near_boundary: ") for r in record["reasons"])


def test_scan_option_and_template_setting_send_it_to_a_person(near_page: Path,
                                                              tmp_path: Path) -> None:
    record = _scan(near_page, tmp_path / "option.db", "--boundary-margin", "0")
    assert record["status"] == "review"
    assert record["items"][0]["status"] == "uncertain"
    assert [i["status"] for i in record["items"][1:]] == ["ok"] * 3
    # A clinic's copy of the template with the margin set to 0 does the same...
    text = resources.files("srsform.template_files").joinpath("srs.toml").read_text("utf-8")
    strict = tmp_path / "strict-srs.toml"
    strict.write_text(text.replace("boundary_margin_mm = 0.25", "boundary_margin_mm = 0"),
                      encoding="utf-8")
    record = _scan(near_page, tmp_path / "template.db", "-t", str(strict))
    assert record["items"][0]["status"] == "uncertain"
    # ...and the scan option overrides the template's setting.
    record = _scan(near_page, tmp_path / "both.db", "-t", str(strict),
                   "--boundary-margin", "0.25")
    assert record["items"][0]["status"] == "ok"


def test_scan_rejects_a_margin_out_of_range(near_page: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", str(near_page), "--db", str(tmp_path / "s.db"),
                                       "--boundary-margin", "3"])
    assert result.exit_code == 2 and "boundary-margin" in result.stderr


def test_watch_takes_the_same_margin_option(near_page: Path, tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    shutil.copy(near_page, hot / near_page.name)
    result = CliRunner().invoke(main, ["-q", "watch", str(hot), "--once", "--settle", "0",
                                       "--interval", "0.1", "--db", str(tmp_path / "w.db"),
                                       "-j", "1", "--boundary-margin", "0"])
    assert result.exit_code == 0, result.output
    exported = CliRunner().invoke(main, ["-q", "export", "--db", str(tmp_path / "w.db")])
    record = json.loads(exported.stdout.splitlines()[0])
    assert (record["status"], record["items"][0]["status"]) == ("review", "uncertain")
    refused = CliRunner().invoke(main, ["watch", str(hot), "--once", "--db",
                                        str(tmp_path / "w.db"), "--boundary-margin", "3"])
    assert refused.exit_code == 2 and "boundary-margin" in refused.stderr
