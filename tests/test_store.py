"""The record store: schema, idempotent scans, crash-safe resume, duplicates, parallel
workers, and owner-only files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from click.testing import CliRunner

from srsform.cli import main
from srsform.store import SCHEMA_VERSION, Store
from support.synth import make_stack, write_scanner_pdf


def _scan(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-q", "scan", *args])
    return result.exit_code, result.stdout


def _dump(db: Path) -> list[tuple]:
    """Every stored row but the scan times, to compare stores."""
    con = sqlite3.connect(db)
    rows = []
    for table in ("sources", "pages", "items", "page_flags", "page_reasons", "corrections"):
        for row in con.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            rows.append((table, *[v for v in row if not (isinstance(v, str) and "T" in v
                                                          and v[:2] == "20")]))
    con.close()
    return rows


@pytest.fixture(scope="module")
def sixty_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-page scanner PDF (gray, office scans) built from a few generated forms."""
    return write_scanner_pdf(tmp_path_factory.mktemp("big") / "sixty.pdf", make_stack(10, 5),
                             count=60)


def test_store_schema_is_versioned_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        store.db.execute("INSERT INTO sources VALUES (1, 'x', 'p', 1, 1, 't')")
        store.db.execute("INSERT INTO pages (id, source_id, page_index, status, scanned_at) "
                         "VALUES (1, 1, 1, 'ok', 't')")
        store.db.execute("INSERT INTO corrections (page_id, item_key, new_status, who, at, "
                         "why) VALUES (1, 'overall', 'ok', 'me', 't', 'checked')")
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute("UPDATE corrections SET who='you'")
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute("DELETE FROM corrections")
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute("INSERT INTO pages (source_id, page_index, status, scanned_at) "
                             "VALUES (99, 1, 'ok', 't')")
    assert db.stat().st_mode & 0o077 == 0
    with Store(db) as again:  # reopening migrates nothing and keeps the data
        assert again.counts()["corrections"] == 1


def test_scanning_again_adds_and_changes_nothing(tmp_path: Path, sample_scans: Path) -> None:
    db = tmp_path / "s.db"
    first_code, first = _scan(str(sample_scans), "--db", str(db), "-o", "-", "-j", "1")
    before = _dump(db)
    second_code, second = _scan(str(sample_scans), "--db", str(db), "-o", "-")
    assert (second_code, second) == (first_code, first)
    assert _dump(db) == before
    # The same bytes under another name are recognised by content, not name.
    copy = tmp_path / "renamed.pdf"
    copy.write_bytes((sample_scans / "stack.pdf").read_bytes())
    _, out = _scan(str(copy), "--db", str(db), "-o", "-")
    assert _dump(db) == before
    assert [json.loads(line)["source"] for line in out.splitlines()] == [str(copy)] * 4


def test_a_sheet_scanned_twice_is_flagged_not_counted_twice(tmp_path: Path,
                                                            sample_scans: Path) -> None:
    db = tmp_path / "s.db"
    _scan(str(sample_scans / "stack.pdf"), "--db", str(db), "-o", "-")
    page = pikepdf.open(sample_scans / "stack.pdf")
    again = pikepdf.new()
    again.pages.append(page.pages[0])
    again.save(tmp_path / "fed-twice.pdf")
    _, out = _scan(str(tmp_path / "fed-twice.pdf"), "--db", str(db), "-o", "-")
    record = json.loads(out)
    assert record["status"] != "ok"
    assert {"duplicate_page", "duplicate_serial"} & set(record["flags"])
    assert "already read from" in " ".join(record["reasons"])


def _blank_form_copy(path: Path, marks_mm: tuple[float, ...], seed: int) -> None:
    """A photocopy of one printed blank SRS form (serial COPIEDBLANK1, no client), filled
    with vertical ticks at `marks_mm` and scanned clean."""
    from srsform.form.layout import build_layout
    from srsform.form.pagecode import PageCode
    from srsform.form.templates import load_template
    from support.synth import ItemTruth, PenMark, make_page, random_condition

    template = load_template("srs")
    code = PageCode("srs", template.version, build_layout(template).layout_id, "COPIEDBLANK1")
    items = tuple(ItemTruth(item.key, (PenMark("vertical", mm, "black", 0.5),))
                  for item, mm in zip(template.items, marks_mm, strict=True))
    page = make_page(template, code, items,
                     random_condition(np.random.default_rng(seed), "clean"), seed)
    cv2.imwrite(str(path), page.image)


def test_photocopies_of_one_blank_form_are_told_from_a_sheet_scanned_twice(
        tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    first, other, again = (tmp_path / name for name in ("a.png", "b.png", "c.png"))
    _blank_form_copy(first, (72.3, 83.7, 91.2, 66.4), seed=1)
    _blank_form_copy(other, (33.6, 57.3, 78.4, 95.7), seed=2)  # another client's answers
    _blank_form_copy(again, (72.3, 83.7, 91.2, 66.4), seed=3)  # the first sheet, rescanned
    records = {}
    for path in (first, other, again):
        _, out = _scan(str(path), "--db", str(db), "-o", "-")
        records[path.name] = json.loads(out)
    copy_flags = {"shared_serial", "duplicate_serial", "duplicate_page"}
    assert records["a.png"]["status"] == "ok"
    assert not copy_flags & set(records["a.png"]["flags"])
    # Same serial, other marks: a copy of the blank form, kept and told apart by its marks.
    assert records["b.png"]["status"] == "ok"
    assert copy_flags & set(records["b.png"]["flags"]) == {"shared_serial"}
    assert any("photocopies" in r for r in records["b.png"]["reasons"])
    # Same serial, same marks: the same sheet again, flagged and sent to a person.
    assert records["c.png"]["status"] == "review"
    assert "duplicate_serial" in records["c.png"]["flags"]
    assert any("a.png page 1" in r for r in records["c.png"]["reasons"])


def test_rescan_keeps_a_persons_corrections(tmp_path: Path, sample_scans: Path) -> None:
    db = tmp_path / "s.db"
    _scan(str(sample_scans / "stack.pdf"), "--db", str(db), "-o", "-")
    with Store(db) as store:
        store.db.execute("INSERT INTO corrections (page_id, item_key, old_score, new_score, "
                         "new_status, who, at, why) VALUES (1, 'overall', 3, 4, 'ok', 'ana', "
                         "'2026-11-24T10:00:00+00:00', 'checked against the paper')")
    code, _ = _scan(str(sample_scans / "stack.pdf"), "--db", str(db), "-o", "-", "--rescan")
    assert code in (0, 4)
    with Store(db) as store:
        assert store.counts()["corrections"] == 1
        assert store.counts()["pages"] == 4


def test_two_workers_give_the_same_records_as_one(tmp_path: Path, sample_scans: Path) -> None:
    _, one = _scan(str(sample_scans), "--db", str(tmp_path / "a.db"), "-o", "-", "-j", "1")
    _, two = _scan(str(sample_scans), "--db", str(tmp_path / "b.db"), "-o", "-", "-j", "2")
    assert one == two and len(one.splitlines()) == 10


def test_kill_during_a_scan_then_resume_stores_every_page_once(sixty_pages: Path,
                                                               tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    command = [sys.executable, "-c", "from srsform.cli import main; main()", "-q", "scan",
               str(sixty_pages), "--db", str(db), "-o", str(tmp_path / "first.jsonl"),
               "-j", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            stored = con.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
            con.close()
        except sqlite3.Error:
            continue
        if stored >= 5:
            break
    assert process.poll() is None, "the scan ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 5 <= stored < 60

    code, out = _scan(str(sixty_pages), "--db", str(db), "-o", "-", "-j", "2")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["page"] for r in records] == list(range(1, 61))
    assert code in (4, 5)
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT page_index) FROM pages").fetchone() == (
        60, 60)
    assert con.execute("SELECT COUNT(*) FROM sources").fetchone()[0] == 1
    con.close()
    before = _dump(db)
    _, third = _scan(str(sixty_pages), "--db", str(db), "-o", "-")
    assert third == out
    assert _dump(db) == before


def test_evidence_is_kept_beside_the_store_and_traceable(tmp_path: Path,
                                                         sample_scans: Path) -> None:
    db = tmp_path / "s.db"
    _scan(str(sample_scans / "stack.pdf"), "--db", str(db), "-o", "-")
    con = sqlite3.connect(db)
    pages = con.execute("SELECT id, evidence_path FROM pages ORDER BY page_index").fetchall()
    assert len(pages) == 4
    for page_id, evidence in pages:
        image = cv2.imread(str(tmp_path / evidence))
        assert image is not None and max(image.shape[:2]) <= 1000
        assert (tmp_path / evidence).stat().st_mode & 0o077 == 0
        crops = con.execute("SELECT crop_path, crop_x_mm, left_end_mm, right_end_mm, mark_x_mm,"
                            " mm FROM items WHERE page_id=?", (page_id,)).fetchall()
        assert len(crops) == 4
        for crop_path, crop_x, left, right, mark_x, mm in crops:
            crop = cv2.imread(str(tmp_path / crop_path), cv2.IMREAD_GRAYSCALE)
            assert crop.shape == (112, 928)  # the 116 x 14 mm zone at 8 px/mm
            assert right - left == pytest.approx(100.0, abs=0.5)
            assert crop_x < left < right
            if mm is not None:
                assert mark_x == pytest.approx(left + (right - left) * mm / 100, abs=0.05)
    con.close()
    _scan(str(sample_scans / "photo-008.jpg"), "--db", str(tmp_path / "n.db"), "-o", "-",
          "--no-evidence")
    assert not (tmp_path / "n.db.evidence").exists()
