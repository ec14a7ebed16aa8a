"""The PDF audit report: a summary, then one page per form with the annotated original and
each item's line at true scale with a ruler."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pikepdf
import pytest
from click.testing import CliRunner, Result

from srsform.cli import main
from srsform.records import PAGE_STATUSES
from support.pdffonts import pdf_fonts
from support.synth import make_stack, write_scanner_pdf

if TYPE_CHECKING:
    from conftest import Clinic
    from support.clinic import ClinicForm

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


def test_audit_pdf_has_two_pages_per_form_with_true_scale_crops_and_the_original(
        twenty_form_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.pdf"
    result = CliRunner().invoke(main, ["audit", "--db", str(twenty_form_store), "-o", str(out)])
    assert result.exit_code == 0, result.output
    pdf = pikepdf.open(out)
    assert len(pdf.pages) == 1 + 2 * 20
    for page in pdf.pages[1::2]:
        sizes = _placed_images(page)
        crops = [w for w, h in sizes if abs(h - 14 * PT_PER_MM) < 0.5]
        assert len(crops) == 4  # one per item, each 116 mm wide: true scale
        assert all(w == pytest.approx(116 * PT_PER_MM, abs=0.5) for w in crops)
        assert len(sizes) == 5  # and a thumbnail of the annotated original
    for page in pdf.pages[2::2]:
        (size,) = _placed_images(page)  # the original, as large as the paper allows:
        assert size[0] > 175 * PT_PER_MM or size[1] > 225 * PT_PER_MM  # 180 x 233 mm at most
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
    assert "no stored page matches --client NOBODY" in result.stderr
    assert len(pikepdf.open(out).pages) == 1


def _audit_serials(db: Path, out: Path, *options: str) -> tuple[list[str], int]:
    """The serials of the forms on the audit report, in order (each form's second page names
    it, read from its page code), and its page count."""
    result = CliRunner().invoke(main, ["audit", "--db", str(db), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    return (re.findall(r"\bserial (\S+); read from the page code", text),
            len(pikepdf.open(out).pages))


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
    assert every_pages == 1 + 2 * len(forms)
    only, only_pages = _audit_serials(samples_db, tmp_path / "flagged.pdf", "--only-flagged")
    assert sorted(only) == sorted(flagged)
    assert only_pages == 1 + 2 * len(flagged)


# --- on the clinic's stack: values in force, who corrected them, keyed discrepancies --------

def _pdf_pages(pdf: Path) -> list[str]:
    """The text of each page (pdftotext, in reading order)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")[:-1]


def _shown(pdf: Path) -> set[str]:
    """The serials of the forms the report shows (each form's second page names it)."""
    return {m[1] for m in re.finditer(r"serial (\S+); read from the page code",
                                      "\n".join(_pdf_pages(pdf)))}


def _audit(*args: str) -> Result:
    return CliRunner().invoke(main, ["-q", "audit", *args])


def _clinic_form(clinic: Clinic, template: str, client: str, session: int) -> ClinicForm:
    return next(f for f in clinic.forms if (f.template, f.code.client, f.code.session) ==
                (template, client, session))


def test_a_corrected_item_shows_the_value_in_force_the_reading_and_who(
        clinic_db: Path, clinic: Clinic, tmp_path: Path) -> None:
    form = _clinic_form(clinic, "ors", "C1001", 2)
    truth = form.scores["interpersonally"]
    decided = truth - 1 if truth > 0 else 1
    assert CliRunner().invoke(main, [
        "review", "set", form.code.serial, "interpersonally", str(decided), "--who",
        "ana.auditor", "--why", "checked the paper", "--db", str(clinic_db)]).exit_code == 0
    out = tmp_path / "audit.pdf"
    assert _audit("--db", str(clinic_db), "-o", str(out)).exit_code == 0
    (page,) = [p for p in _pdf_pages(out) if form.code.serial in p and "value in force" in p]
    lines = [" ".join(line.split()) for line in page.splitlines()]
    assert f"interpersonally: {decided} (value in force, set by a person)" in lines
    reading = next(line for line in lines if line.startswith("machine's reading:"))
    assert f" mm = {truth} (ok, confidence" in reading
    who = next(line for line in lines if line.startswith("corrected by"))
    assert "ana.auditor" in who and "checked the paper" in " ".join(lines)
    assert f"total {form.total - truth + decided} " in " ".join(lines)  # the total in force


def test_the_report_embeds_its_fonts_and_prints_any_script_or_escapes(
        clinic_db: Path, clinic: Clinic, tmp_path: Path) -> None:
    # A reviewer's name and note in Greek print as written; Chinese, which DejaVu Sans
    # lacks, and Hebrew, which would print in the wrong order, print as escapes.
    form = _clinic_form(clinic, "srs", "C1003", 1)
    assert CliRunner().invoke(main, [
        "review", "set", form.code.serial, "overall", "accept", "--who", "Ελένη",
        "--why", "έλεγχος 检查 שלום", "--db", str(clinic_db)]).exit_code == 0
    out = tmp_path / "audit.pdf"
    assert _audit("--db", str(clinic_db), "-o", str(out)).exit_code == 0
    fonts = pdf_fonts(out)
    assert fonts and all(fonts.values()), fonts  # `pdffonts`: every font embedded
    assert {"DejaVuSans", "DejaVuSans-Bold"} <= set(fonts)
    text = " ".join(" ".join(_pdf_pages(out)).split())
    assert "corrected by Ελένη" in text
    assert "έλεγχος \\u68c0\\u67e5 \\u05e9\\u05dc\\u05d5\\u05dd" in text


def test_keyed_discrepancies_are_marked_on_their_form(clinic: Clinic, tmp_path: Path) -> None:
    form = _clinic_form(clinic, "srs", "C1002", 2)
    truth = form.scores["overall"]
    keyed = tmp_path / "keyed.csv"
    rows = ["template,client,session,overall"] + [
        f"{f.template},{f.code.client},{f.code.session},"
        f"{truth - 1 if f is form else f.scores['overall']}" for f in clinic.forms]
    keyed.write_text("\n".join(rows) + "\n")
    out = tmp_path / "audit.pdf"
    result = _audit("--db", str(clinic.db), "-o", str(out), "--against", str(keyed))
    assert result.exit_code == 4 and "discrepancies: 1" in result.stdout
    pages = _pdf_pages(out)
    marked = [p for p in pages if "KEYED DISCREPANCY" in p]
    assert len(marked) == 1 and form.code.serial in marked[0]
    assert f"keyed {truth - 1} from the paper, stored {truth}" in " ".join(marked[0].split())
    summary = " ".join(pages[0].split())
    assert "Keyed audit against" in summary and "discrepancies: 1" in summary
    assert "kappa" in summary and "ICC(2,1)" in summary


def test_every_page_has_its_number_and_the_report_date(clinic: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "audit.pdf"
    assert _audit("--db", str(clinic.db), "-o", str(out)).exit_code == 0
    pages = _pdf_pages(out)
    assert len(pages) == 1 + 2 * 24
    today = datetime.now(UTC).date().isoformat()
    for number, text in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in text
        assert f"made {today}" in text


def test_the_summary_draws_its_distributions_as_charts(clinic: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "audit.pdf"
    assert _audit("--db", str(clinic.db), "-o", str(out)).exit_code == 0
    # Drawn as lines, boxes and text on the page (sharp at any zoom), not as a picture.
    pdf = pikepdf.open(out)
    assert _placed_images(pdf.pages[0]) == []
    summary = " ".join(_pdf_pages(out)[0].split())
    assert "Pages: 24 (ok 24)" in summary and "Items: 96; needing review: 0" in summary
    assert all(title in summary for title in (
        "Pages by status (values in force)", "Items by status (values in force)",
        "Confidence of the items read (n = 96)", "Print scale (n = 24; shaded: within 3%)",
        "printed line length / 100 mm"))


def _export_statuses(db: Path) -> Counter:
    exported = CliRunner().invoke(main, ["export", "--db", str(db), "--format", "jsonl"])
    return Counter(json.loads(line)["status"] for line in exported.stdout.splitlines())


SETTLE = {"relationship": "accept", "goals_topics": "6", "approach_method": "5", "overall": "7"}


def test_summary_and_only_flagged_use_the_values_in_force(samples_db: Path,
                                                          tmp_path: Path) -> None:
    # SAMP00000012 is a page in review (uncertain, two marks, no mark): settled by a person,
    # export counts it ok; so must the summary, and --only-flagged must leave it out.
    before = tmp_path / "before.pdf"
    assert _audit("--db", str(samples_db), "-o", str(before), "--only-flagged").exit_code == 0
    assert "SAMP00000012" in _shown(before)
    ok_before = _export_statuses(samples_db)["ok"]
    for key, value in SETTLE.items():
        assert CliRunner().invoke(main, ["review", "set", "SAMP00000012", key, value, "--why",
                                         "checked", "--db", str(samples_db)]).exit_code == 0
    statuses = _export_statuses(samples_db)
    assert statuses["ok"] == ok_before + 1  # the ok pages, and the one settled
    out = tmp_path / "all.pdf"
    assert _audit("--db", str(samples_db), "-o", str(out)).exit_code == 0
    summary = " ".join(_pdf_pages(out)[0].split())
    counts = ", ".join(f"{s} {statuses[s]}" for s in PAGE_STATUSES if statuses[s])
    assert f"Pages: {sum(statuses.values())} ({counts})" in summary
    flagged = tmp_path / "flagged.pdf"
    assert _audit("--db", str(samples_db), "-o", str(flagged), "--only-flagged").exit_code == 0
    assert _shown(flagged) == _shown(before) - {"SAMP00000012"}
    assert "SAMP00000013" in _shown(flagged)  # still in review


def test_the_filters_select_the_forms_of_the_report(clinic: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "audit.pdf"
    result = _audit("--db", str(clinic.db), "-o", str(out), "--client", "C1001", "--template",
                    "srs", "--status", "ok")
    assert result.exit_code == 0, result.output
    assert _shown(out) == {_clinic_form(clinic, "srs", "C1001", n).code.serial
                           for n in (1, 2, 3)}
    assert "--client C1001 --template srs --status ok" in _pdf_pages(out)[0]
    # No register in this store: a page's day is the day it was scanned.
    none = tmp_path / "none.pdf"
    result = CliRunner().invoke(main, ["audit", "--db", str(clinic.db), "-o", str(none),
                                       "--until", "2000-01-01"])
    assert result.exit_code == 0 and _shown(none) == set()
    assert "no stored page matches --until 2000-01-01" in result.stderr
