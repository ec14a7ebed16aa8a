"""The PDF audit report: a summary, then one page per form with the annotated original and
each item's line at true scale with a ruler."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner

from srsform.cli import main
from support.synth import make_stack, write_scanner_pdf

PT_PER_MM = 72 / 25.4


@pytest.fixture(scope="module")
def twenty_form_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit")
    forms = [p for p in make_stack(8, 21) if p.kind == "form"]
    write_scanner_pdf(folder / "twenty.pdf", forms, count=20)
    result = CliRunner().invoke(main, ["-q", "scan", str(folder / "twenty.pdf"), "--db",
                                       str(folder / "s.db"), "-o", str(folder / "out.jsonl")])
    assert result.exit_code in (0, 4), result.output
    return folder / "s.db"


def _placed_images(page: pikepdf.Page) -> list[tuple[float, float]]:
    """(width, height) in points of every image drawn on a page."""
    sizes, stack, ctm = [], [], None
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop()
        elif op == "cm":
            ctm = [float(v) for v in operands]
        elif op == "Do" and ctm is not None:
            sizes.append((abs(ctm[0]), abs(ctm[3])))
    return sizes


def test_audit_pdf_has_a_page_per_form_with_true_scale_crops(twenty_form_store: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "audit.pdf"
    result = CliRunner().invoke(main, ["audit", "--db", str(twenty_form_store), "-o", str(out)])
    assert result.exit_code == 0, result.output
    pdf = pikepdf.open(out)
    assert len(pdf.pages) == 1 + 20
    for page in pdf.pages[1:]:
        sizes = _placed_images(page)
        crops = [w for w, h in sizes if abs(h - 14 * PT_PER_MM) < 0.5]
        assert len(crops) == 4  # one per item, each 116 mm wide: true scale
        assert all(w == pytest.approx(116 * PT_PER_MM, abs=0.5) for w in crops)
        assert len(sizes) == 5  # and the annotated original
    text = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(out), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert all(str(n) in text.split() for n in range(11))  # the 0-10 cm ruler
    assert "relationship" in text and "mm =" in text
    summary = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(out), "-"],
                             capture_output=True, text=True, check=True).stdout
    assert "Pages: 20" in summary and "Print scale" in summary


def test_audit_pdf_client_filter(twenty_form_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "none.pdf"
    result = CliRunner().invoke(main, ["audit", "--db", str(twenty_form_store), "-o", str(out),
                                       "--client", "NOBODY"])
    assert result.exit_code == 0
    assert len(pikepdf.open(out).pages) == 1


def _audit_serials(db: Path, out: Path, *options: str) -> tuple[list[str], int]:
    """The form serials on the audit report's pages, in order, and its page count."""
    result = CliRunner().invoke(main, ["audit", "--db", str(db), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    return re.findall(r"\bserial (\S+)", text), len(pikepdf.open(out).pages)


def test_only_flagged_leaves_out_exactly_the_pages_read_ok(samples_db: Path,
                                                           tmp_path: Path) -> None:
    # The scanned samples hold forms read ok throughout and forms with a page or an item
    # not ok; the report of the flagged ones has the latter only, and each of them once.
    export = CliRunner().invoke(main, ["export", "--db", str(samples_db), "--format", "jsonl"])
    forms = [json.loads(line) for line in export.stdout.splitlines()]
    forms = [r for r in forms if r["serial"]]
    read_ok = {r["serial"] for r in forms
               if r["status"] == "ok" and all(i["status"] == "ok" for i in r["items"])}
    flagged = {r["serial"] for r in forms} - read_ok
    assert read_ok and flagged

    every, every_pages = _audit_serials(samples_db, tmp_path / "all.pdf")
    assert sorted(every) == sorted(read_ok | flagged)
    assert every_pages == 1 + len(forms)
    only, only_pages = _audit_serials(samples_db, tmp_path / "flagged.pdf", "--only-flagged")
    assert sorted(only) == sorted(flagged)
    assert only_pages == 1 + len(flagged)
