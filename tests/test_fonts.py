"""Forms in the clinic's language: every printed word from the template, in an embedded font.

Forms are printed through the command line and read back with poppler (pdffonts, pdftotext,
pdftoppm), which shares no code with srsform; scans of them go through the real pipeline.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import astuple
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner, Result

from srsform.cli import main
from srsform.errors import ExitCode
from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.templates import bundled_names, example_names, load_template
from srsform.read.ingest import PageRef
from srsform.read.pipeline import ScanConfig, process_page
from support.pdffonts import pdf_fonts
from support.synth import ItemTruth, PenMark, make_page, random_condition

# The layout id every printed SRS, ORS, CSRS and CORS form carries in its QR code: the
# scanner measures a page only against the layout it was printed with, so no change of
# wording or font may move it.
BUNDLED_LAYOUT_ID = "e8bc85ee"
MARKS_MM = (12.4, 47.0, 71.8, 93.5)
MM_TOLERANCE = 0.5

GREEK_CYRILLIC = """\
id = "srs"
version = "1.0"
title = "Κλίμακα αξιολόγησης συνεδρίας"
instructions = "Поставьте отметку на каждой линии: левее — ниже, правее — выше."

[labels]
client = "Κωδικός πελάτη:"
session = "Сеанс:"
date = "Ημερομηνία:"
layout = "макет"
page = "страница"
print_note = "Печатать в масштабе 100 % (фактический размер), не «по размеру страницы»."

[[items]]
key = "relationship"
label = "Σχέση: με άκουσαν και με σεβάστηκαν"
left = "Καθόλου"
right = "Απόλυτα"

[[items]]
key = "goals_topics"
label = "Цели и темы: то, над чем я хотел работать"
left = "Совсем нет"
right = "Полностью"

[[items]]
key = "approach_method"
label = "Προσέγγιση ή μέθοδος: ταιριάζει σε μένα"
left = "Καθόλου"
right = "Απόλυτα"

[[items]]
key = "overall"
label = "В целом: сессия мне подошла"
left = "Совсем нет"
right = "Полностью"
"""


def run_print(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["-q", "print", "--db", "s.db", *args], input=input)


def write_template(folder: Path, text: str, name: str = "clinic.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def with_title(title: str) -> str:
    return GREEK_CYRILLIC.replace("Κλίμακα αξιολόγησης συνεδρίας", title)


def extracted_lines(pdf: Path) -> list[str]:
    """The non-blank lines pdftotext extracts, in its reading order."""
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if line.strip() and line != "\f"]


def one_error_line(result: Result, *needles: str) -> str:
    """Exit 3 and one `srsform: error:` line holding every needle."""
    assert result.exit_code == ExitCode.CONFIG, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("srsform: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def matplotlib_font(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


# --- the layout never moves ----------------------------------------------------------------


def test_bundled_and_example_templates_keep_their_layout_id() -> None:
    names = [*bundled_names(), *example_names()]
    assert {"srs", "ors", "csrs", "cors", "srs-de"} <= set(names)
    for name in names:
        assert build_layout(load_template(name)).layout_id == BUNDLED_LAYOUT_ID, name


def test_wording_and_font_leave_the_geometry_alone(tmp_path: Path) -> None:
    shutil.copy(matplotlib_font("DejaVuSerif.ttf"), tmp_path / "serif.ttf")
    translated = load_template(write_template(tmp_path, GREEK_CYRILLIC))
    with_font = load_template(write_template(
        tmp_path, 'font = "serif.ttf"\n' + GREEK_CYRILLIC, "font.toml"))
    english = build_layout(load_template("srs"))
    for template in (translated, with_font):
        layout = build_layout(template)
        assert layout.layout_id == english.layout_id
        assert [astuple(line) for line in layout.lines] == [astuple(line)
                                                            for line in english.lines]
        assert (layout.markers, layout.qr_box) == (english.markers, english.qr_box)


# --- Greek and Cyrillic: printed, embedded, extracted as written, scanned back -------------


def test_greek_and_cyrillic_print_embedded_and_extract_as_written(tmp_path: Path) -> None:
    path = write_template(tmp_path, GREEK_CYRILLIC)
    out = tmp_path / "forms.pdf"
    result = run_print("--template", str(path), "--roster", "-", "-o", str(out),
                       input="client,session,date\nC-0042,3,2026-05-04\n")
    assert result.exit_code == 0, result.output
    fonts = pdf_fonts(out)
    assert fonts and all(fonts.values()), fonts  # every font named is embedded
    assert {"DejaVuSans", "DejaVuSans-Bold"} == set(fonts)

    template = load_template(path)
    lines = extracted_lines(out)
    (footer,) = [line for line in lines if line.startswith("srsform ")]
    assert re.fullmatch(rf"srsform srs 1\.0 \| макет {BUNDLED_LAYOUT_ID} \| страница "
                        r"[0-9A-Z]{12}", footer)
    values = {"C-0042", "3", "2026-05-04"}
    shown = [line for line in lines if line != footer and line not in values]
    footer_words = ("labels.layout", "labels.page")  # in the footer, checked above
    texts = [text for field, text, _ in template.printed_texts() if field not in footer_words]
    assert Counter(shown) == Counter(texts)
    assert values <= set(lines)


@pytest.mark.parametrize("name", ["greek-cyrillic", "srs-de"])
def test_a_translated_form_scans_back_ok_with_its_marks(name: str, tmp_path: Path,
                                                        scan_config: ScanConfig) -> None:
    template = (load_template(write_template(tmp_path, GREEK_CYRILLIC))
                if name == "greek-cyrillic" else load_template(name))
    code = PageCode(template.id, template.version, build_layout(template).layout_id,
                    "LANG00000001", "C-0042", 3)
    items = tuple(ItemTruth(item.key, (PenMark("vertical", mm, "black", 0.5),))
                  for item, mm in zip(template.items, MARKS_MM, strict=True))
    page = make_page(template, code, items, random_condition(np.random.default_rng(4),
                                                             "clean"), 4)
    cv2.imwrite(str(tmp_path / "page.png"), page.image)
    # Read with the bundled templates alone, as `srsform scan` reads with no --template.
    result = process_page(PageRef(str(tmp_path / "page.png"), 1, "image", 1), scan_config)
    assert result.status == "ok", result.reasons
    assert (result.template, result.serial, result.client) == ("srs", "LANG00000001", "C-0042")
    assert [i.status for i in result.items] == ["ok"] * 4
    for item, mm in zip(result.items, MARKS_MM, strict=True):
        assert abs(item.mm - mm) <= MM_TOLERANCE, (item.key, item.mm, mm)


def test_the_german_example_prints_and_scans_through_the_commands(tmp_path: Path) -> None:
    pdf = tmp_path / "de.pdf"
    assert run_print("--template", "srs-de", "-o", str(pdf)).exit_code == 0
    assert all(pdf_fonts(pdf).values())
    text = " ".join(extracted_lines(pdf))
    assert "Bewertung der Sitzung" in text and "Überhaupt nicht" in text
    assert "Klientencode:" in text and "„an Seite anpassen“" in text
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-png", str(pdf),
                    str(tmp_path / "scan")], check=True)
    (scan,) = tmp_path.glob("scan*.png")
    result = CliRunner().invoke(main, ["-q", "scan", str(scan), "--db", "s.db", "-o", "-",
                                       "--no-evidence"])
    assert result.exit_code == ExitCode.REVIEW, result.output  # a blank form: no marks
    record = json.loads(result.stdout)
    assert (record["template"], record["layout"]) == ("srs", BUNDLED_LAYOUT_ID)
    assert [item["status"] for item in record["items"]] == ["missing"] * 4
    printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                             check=True).stdout
    assert f"Bogen {record['serial']}" in printed  # the serial printed is the one read


# --- what cannot be printed is an error, never boxes ---------------------------------------


@pytest.mark.parametrize(("field", "text", "needles"), [
    ("title", "中文 Κλίμακα", ("field 'title'", "'中' (U+4E2D)", "'文' (U+6587)",
                                "DejaVuSans-Bold")),
    ("items[1].label", "Цели\\u0007 и темы", ("field 'items[1].label'", "'\\x07' (U+0007)",
                                             "control")),
    ("labels.date", "日付:", ("field 'labels.date'", "'日' (U+65E5)", "'付' (U+4ED8)")),
    ("title", "Κλίμακα\\nαξιολόγησης", ("field 'title'", "'\\x0a' (U+000A)")),
])
def test_a_character_the_font_lacks_exits_3_naming_it_and_the_field(
        field: str, text: str, needles: tuple[str, ...], tmp_path: Path) -> None:
    source = {"title": ("Κλίμακα αξιολόγησης συνεδρίας", text),
              "items[1].label": ("Цели и темы: то, над чем я хотел работать", text),
              "labels.date": ("Ημερομηνία:", text)}[field]
    path = write_template(tmp_path, GREEK_CYRILLIC.replace(*source))
    out = tmp_path / "forms.pdf"
    one_error_line(run_print("--template", str(path), "-o", str(out)), str(path), *needles)
    assert not out.exists()


@pytest.mark.parametrize(("text", "script"), [("שלום", "Hebrew"), ("مرحبا", "Arabic")])
def test_right_to_left_text_is_refused_with_a_message_saying_so(
        text: str, script: str, tmp_path: Path) -> None:
    path = write_template(tmp_path, GREEK_CYRILLIC.replace('"Καθόλου"', f'"{text}"', 1))
    out = tmp_path / "forms.pdf"
    one_error_line(run_print("--template", str(path), "-o", str(out)),
                   "field 'items[0].left'", "right-to-left", script)
    assert not out.exists()


def test_text_too_long_for_its_place_names_the_field(tmp_path: Path) -> None:
    long_label = "Σχέση " * 40
    path = write_template(tmp_path, GREEK_CYRILLIC.replace(
        "Σχέση: με άκουσαν και με σεβάστηκαν", long_label))
    one_error_line(run_print("--template", str(path), "-o", str(tmp_path / "f.pdf")),
                   "field 'items[0].label'", "too long", "shorten it")
    path = write_template(tmp_path, GREEK_CYRILLIC.replace(
        "Поставьте отметку на каждой линии", "Поставьте отметку " * 60), "long.toml")
    one_error_line(run_print("--template", str(path), "-o", str(tmp_path / "f.pdf")),
                   "field 'instructions'", "too long")


def test_a_long_label_is_set_smaller_rather_than_past_its_place(tmp_path: Path) -> None:
    label = "Цели и темы: то, над чем я хотел работать, и то, что было важно"
    path = write_template(tmp_path, GREEK_CYRILLIC.replace(
        "Цели и темы: то, над чем я хотел работать", label))
    out = tmp_path / "forms.pdf"
    assert run_print("--template", str(path), "-o", str(out)).exit_code == 0
    words = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True,
                           text=True, check=True).stdout
    right_edges = [float(m[1]) for m in re.finditer(r'xMax="([\d.]+)"[^>]*>важно<', words)]
    # The label box of the form ends 10 mm right of the line's end: 155 mm into the form.
    assert right_edges and right_edges[0] <= (10.0 + 155.0) * 72 / 25.4 + 1.0


@pytest.mark.parametrize(("change", "needles"), [
    (("[labels]\n", '[labels]\nfooter = "x"\n'), ("'labels.footer'", "unknown label")),
    (('session = "Сеанс:"', 'session = " "'), ("'labels.session'", "non-empty")),
    (('id = "srs"', 'font_bold = "b.ttf"\nid = "srs"'), ("'font_bold'", "font as well")),
])
def test_bad_labels_and_font_fields_are_config_errors(change: tuple[str, str],
                                                      needles: tuple[str, ...],
                                                      tmp_path: Path) -> None:
    path = write_template(tmp_path, GREEK_CYRILLIC.replace(*change))
    one_error_line(run_print("--template", str(path), "-o", str(tmp_path / "f.pdf")),
                   str(path), *needles)


# --- a template's own font file ------------------------------------------------------------


def test_a_template_font_file_is_found_relative_to_the_template(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    (clinic / "fonts").mkdir(parents=True)
    shutil.copy(matplotlib_font("DejaVuSerif.ttf"), clinic / "fonts" / "Serif.ttf")
    path = write_template(clinic, 'font = "fonts/Serif.ttf"\n' + GREEK_CYRILLIC)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = elsewhere / "forms.pdf"
    done = subprocess.run([sys.executable, "-m", "srsform", "-q", "print", "--template",
                           str(path), "-o", str(out), "--db", str(elsewhere / "s.db")],
                          cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert pdf_fonts(out) == {"DejaVuSerif": True}  # bold defaults to the same file
    assert "Κλίμακα αξιολόγησης συνεδρίας" in extracted_lines(out)


def test_a_template_font_lacking_a_character_is_named_in_the_error(tmp_path: Path) -> None:
    shutil.copy(matplotlib_font("DejaVuSerif.ttf"), tmp_path / "serif.ttf")
    shutil.copy(matplotlib_font("DejaVuSerif-Bold.ttf"), tmp_path / "serif-bold.ttf")
    path = write_template(tmp_path, 'font = "serif.ttf"\nfont_bold = "serif-bold.ttf"\n'
                          + with_title("Κλίμακα 中"))
    one_error_line(run_print("--template", str(path), "-o", str(tmp_path / "f.pdf")),
                   "field 'title'", "DejaVuSerif-Bold", "'中' (U+4E2D)")


def _cff_font(path: Path) -> None:
    """A tiny OpenType font with PostScript (CFF) outlines, as Noto Sans CJK ships."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    pen = T2CharStringPen(600, None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 700))
    pen.lineTo((500, 700))
    pen.closePath()
    glyph = pen.getCharString()
    builder = FontBuilder(1000, isTTF=False)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({ord("A"): "A"})
    builder.setupCFF("TinyCFF", {"FullName": "Tiny CFF"}, {".notdef": glyph, "A": glyph}, {})
    builder.setupHorizontalMetrics({".notdef": (600, 100), "A": (600, 100)})
    builder.setupHorizontalHeader(ascent=800, descent=200)
    builder.setupNameTable({"familyName": "Tiny", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(str(path))


@pytest.mark.parametrize("problem", ["missing", "not_a_font", "cff"])
def test_an_unusable_template_font_file_is_a_config_error(problem: str, tmp_path: Path) -> None:
    font = tmp_path / "fonts" / "clinic.otf"
    font.parent.mkdir()
    if problem == "not_a_font":
        font.write_text("not a font")
    elif problem == "cff":
        _cff_font(font)
    path = write_template(tmp_path, 'font = "fonts/clinic.otf"\n' + GREEK_CYRILLIC)
    needles = {"missing": ("not found", "relative to the template"),
               "not_a_font": ("not a usable TrueType font",),
               "cff": ("PostScript (CFF) outlines", ".ttf")}[problem]
    out = tmp_path / "f.pdf"
    one_error_line(run_print("--template", str(path), "-o", str(out)), "field 'font'",
                   str(font), *needles)
    assert not out.exists()
    # A scan never needs the font: the template still loads.
    assert load_template(path).font is not None


# --- the font module's own promises --------------------------------------------------------


def test_report_text_the_font_cannot_draw_becomes_escapes() -> None:
    from srsform.form.fonts import default_fonts, drawable

    regular = default_fonts().regular
    assert drawable("Ελένη: проверено", regular) == "Ελένη: проверено"
    assert drawable("scan 检查.pdf", regular) == "scan \\u68c0\\u67e5.pdf"
    assert drawable("שלום x", regular) == "\\u05e9\\u05dc\\u05d5\\u05dd x"
    assert drawable("tab\there", regular) == "tab\\x09here"


def test_wrap_breaks_between_words_and_between_cjk_characters() -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from srsform.form.fonts import default_fonts, wrap

    regular = default_fonts().regular
    width = stringWidth("Поставьте отметку на", regular, 10)
    assert wrap("Поставьте отметку на каждой линии", regular, 10, width) == [
        "Поставьте отметку на", "каждой линии"]
    lines = wrap("中" * 30, regular, 10, stringWidth("中" * 10, regular, 10) + 0.01)
    assert len(lines) == 3 and all(line == "中" * 10 for line in lines)
    assert wrap("one\ntwo", regular, 10, 1000) == ["one", "two"]


def test_printing_finds_dejavu_without_importing_matplotlib() -> None:
    probe = ("from srsform.form.fonts import default_fonts; default_fonts()\n"
             "import sys; print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_a_platypus_report_on_the_embedded_canvas_embeds_every_font(tmp_path: Path) -> None:
    # How another report (the clinician report) is to use the module: see fonts.py.
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    from srsform.form.fonts import EmbeddedCanvas, default_fonts, drawable

    fonts = default_fonts()
    out = tmp_path / "report.pdf"
    style = ParagraphStyle("body", fontName=fonts.regular)
    SimpleDocTemplate(str(out)).build(
        [Paragraph(f"Ελένη <b>C1042</b> <i>{drawable('检查', fonts.regular)}</i>", style)],
        canvasmaker=EmbeddedCanvas)
    assert pdf_fonts(out) == {"DejaVuSans": True, "DejaVuSans-Bold": True,
                              "DejaVuSans-Oblique": True}
    assert extracted_lines(out) == ["Ελένη C1042 \\u68c0\\u67e5"]
