"""The printed PDF, checked independently of the code that drew it.

Forms are printed through the command line; pages are then read back with tools that share
no code with render.py: pikepdf for the page boxes, poppler (pdftoppm, pdftotext) for pixels
and text, and OpenCV's QR decoder for the page code.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from srsform.cli import main
from srsform.errors import UnreadableError
from srsform.form.layout import build_layout
from srsform.form.pagecode import (
    SESSION_MAX,
    PageCode,
    is_valid_client_code,
    new_serial,
    parse_payload,
)
from srsform.form.templates import load_template
from support.pdffonts import pdf_fonts

PAPER_PT = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}
PAGE_SIZE_TOLERANCE_PT = 0.5
LINE_MM = 100.0
LINE_TOLERANCE_MM = 0.1
LONG_RUN_MM = 80.0
LINE_DPI = 600
STOP_PROBE_ABOVE_MM = 1.5  # above the 0.3 mm line, inside the 6 mm tall end stops
SERIAL_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{12}$")  # Crockford base32, 12 characters

ROSTER_ROWS = (
    {"client": "C-0001", "session": "1", "date": "2024-03-05", "note": "Jane Doe"},
    {"client": "C-0002", "session": "7", "date": "2024-03-06", "note": "John Roe"},
    {"client": "x.y_9", "session": "12", "date": "2024-03-07", "note": "Ann Poe"},
)


@dataclass(frozen=True)
class PrintCase:
    """One `srsform print` invocation and what its PDF should hold."""

    name: str
    args: tuple[str, ...]
    template: str
    paper: str
    pages: int


CASES = (
    PrintCase("blank", (), "srs", "a4", 1),
    PrintCase("letter", ("--paper", "letter"), "srs", "letter", 1),
    PrintCase("ors", ("--template", "ors"), "ors", "a4", 1),
    PrintCase("csrs", ("--template", "csrs"), "csrs", "a4", 1),
    PrintCase("copies", ("--copies", "3"), "srs", "a4", 3),
    PrintCase("roster", ("--roster", "{roster}"), "srs", "a4", len(ROSTER_ROWS)),
)
CASE_IDS = [case.name for case in CASES]


# --- independent readers ---------------------------------------------------------------


def rasterise(pdf: Path, dpi: int, workdir: Path) -> list[np.ndarray]:
    """Every page of `pdf` as an 8-bit gray image, drawn by poppler (not by srsform)."""
    prefix = workdir / f"{pdf.stem}-{dpi}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(pdf), str(prefix)], check=True)
    files = sorted(workdir.glob(f"{prefix.name}-*.pgm"),
                   key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    pages = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files]
    for f in files:
        f.unlink()
    return pages


def page_texts(pdf: Path) -> list[str]:
    """The text of each page, extracted by pdftotext."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return out.split("\f")[:-1]


def decode_qr(gray: np.ndarray) -> str:
    """The QR payload read from the page's top-right quarter (or, failing that, all of it).

    OpenCV's classic decoder misses roughly one clean symbol in a hundred at some
    resolutions (it depends on the random serial), so its ArUco-based sibling gets a turn.
    """
    height, width = gray.shape
    for image in (gray[: height // 4, width // 2:], gray):
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            text, _, _ = detector.detectAndDecode(np.ascontiguousarray(image))
            if text:
                return text
    return ""


@dataclass(frozen=True)
class MeasuredLine:
    row_px: float
    extent_mm: float  # the line's dark run, from the outer edge of one stop to the other's
    stop_widths_mm: tuple[float, ...]
    between_stops_mm: float  # centre of the left stop to centre of the right stop

    @property
    def length_from_extent_mm(self) -> float:
        return self.extent_mm - float(np.mean(self.stop_widths_mm))


def _runs(dark_row: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, end) column ranges of consecutive dark pixels."""
    edges = np.diff(np.concatenate(([0], dark_row.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _ink_centre(ink_row: np.ndarray, start: int, end: int, pad: int = 3) -> tuple[float, float]:
    """Ink-weighted centre column and ink width (px) of a run, counting its grey edges."""
    cols = np.arange(start - pad, end + pad)
    weights = ink_row[start - pad:end + pad]
    return float((weights * cols).sum() / weights.sum()), float(weights.sum())


def measure_long_lines(gray: np.ndarray, dpi: int) -> list[MeasuredLine]:
    """Horizontal dark runs longer than 80 mm, grouped into lines and measured to sub-pixel."""
    px_per_mm = dpi / 25.4
    dark = gray < 128
    ink = (255.0 - gray.astype(np.float64)) / 255.0
    min_px = LONG_RUN_MM * px_per_mm
    rows = [r for r in np.flatnonzero(dark.sum(axis=1) >= min_px)
            if any(end - start >= min_px for start, end in _runs(dark[r]))]
    groups: list[list[int]] = []
    for r in rows:
        if groups and r == groups[-1][-1] + 1:
            groups[-1].append(int(r))
        else:
            groups.append([int(r)])
    lines = []
    for group in groups:
        centre = int(round(float(np.mean(group))))
        start, end = max(_runs(dark[centre]), key=lambda run: run[1] - run[0])
        extent_px = float(ink[centre, start - 3:end + 3].sum())
        probe = int(round(centre - STOP_PROBE_ABOVE_MM * px_per_mm))
        margin = int(px_per_mm)
        stops = [run for run in _runs(dark[probe]) if start - margin <= run[0] < end + margin]
        measured = [_ink_centre(ink[probe], a, b) for a, b in stops]
        between = (measured[-1][0] - measured[0][0]) if len(measured) >= 2 else float("nan")
        lines.append(MeasuredLine(
            row_px=float(np.mean(group)),
            extent_mm=extent_px / px_per_mm,
            stop_widths_mm=tuple(width / px_per_mm for _, width in measured),
            between_stops_mm=between / px_per_mm,
        ))
    return lines


# --- printing through the command line ---------------------------------------------------


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    return result


def write_roster(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["client", "session", "date", "note"])
        writer.writeheader()
        writer.writerows(ROSTER_ROWS)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("print")


@pytest.fixture(scope="module")
def printed(workdir: Path) -> dict[str, Path]:
    """Each case printed once through the CLI: case name -> PDF path."""
    roster = write_roster(workdir / "roster.csv")
    pdfs = {}
    for case in CASES:
        out = workdir / f"{case.name}.pdf"
        args = [a.replace("{roster}", str(roster)) for a in case.args]
        result = invoke("print", *args, "-o", str(out))
        assert f"wrote {case.pages} page(s)" in result.stderr
        pdfs[case.name] = out
    return pdfs


@pytest.fixture(scope="module")
def measured_lines(printed: dict[str, Path], workdir: Path) -> dict[str, list[list[MeasuredLine]]]:
    return {name: [measure_long_lines(page, LINE_DPI) for page in rasterise(pdf, LINE_DPI, workdir)]
            for name, pdf in printed.items()}


def expected_code_fields(template_name: str) -> dict[str, str]:
    template = load_template(template_name)
    return {"template_id": template.id, "template_version": template.version,
            "layout_id": build_layout(template).layout_id}


# --- page size ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_page_has_the_paper_size(case: PrintCase, printed: dict[str, Path]) -> None:
    want_w, want_h = PAPER_PT[case.paper]
    with pikepdf.open(printed[case.name]) as pdf:
        assert len(pdf.pages) == case.pages
        for page in pdf.pages:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            assert abs((x1 - x0) - want_w) <= PAGE_SIZE_TOLERANCE_PT
            assert abs((y1 - y0) - want_h) <= PAGE_SIZE_TOLERANCE_PT
            assert int(page.obj.get("/Rotate", 0)) == 0  # a turned page would print sideways


# --- the four 100 mm lines ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_page_has_four_100mm_lines(
        case: PrintCase, measured_lines: dict[str, list[list[MeasuredLine]]]) -> None:
    pages = measured_lines[case.name]
    assert len(pages) == case.pages
    for lines in pages:
        assert len(lines) == 4, [line.row_px for line in lines]
        for line in lines:
            assert len(line.stop_widths_mm) == 2, "each line needs an end stop at both ends"
            assert all(0.3 <= w <= 0.7 for w in line.stop_widths_mm), line
            assert abs(line.between_stops_mm - LINE_MM) <= LINE_TOLERANCE_MM, line
            assert abs(line.length_from_extent_mm - LINE_MM) <= LINE_TOLERANCE_MM, line


def _draw_test_lines(path: Path, lengths_mm: tuple[float, ...]) -> None:
    """A reference page drawn straight with reportlab: lines of known length with 0.5 mm stops."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=(210 * mm, 297 * mm))
    for i, length in enumerate(lengths_mm):
        x0, y = 50.0, 250.0 - 40.0 * i
        canvas.rect(x0 * mm, (y - 0.15) * mm, length * mm, 0.3 * mm, stroke=0, fill=1)
        for x in (x0, x0 + length):
            canvas.rect((x - 0.25) * mm, (y - 3.0) * mm, 0.5 * mm, 6.0 * mm, stroke=0, fill=1)
    canvas.save()


def test_line_measurement_would_catch_a_wrong_length(tmp_path: Path) -> None:
    """The instrument itself: 99.5 mm and 101 mm lines fail the check, 100 mm passes."""
    lengths = (99.5, 100.0, 101.0)
    pdf = tmp_path / "reference.pdf"
    _draw_test_lines(pdf, lengths)
    lines = measure_long_lines(rasterise(pdf, LINE_DPI, tmp_path)[0], LINE_DPI)
    assert len(lines) == 3
    for line, length in zip(lines, lengths, strict=True):
        assert abs(line.between_stops_mm - length) <= 0.03
        assert abs(line.length_from_extent_mm - length) <= 0.03
    assert [abs(line.between_stops_mm - LINE_MM) <= LINE_TOLERANCE_MM for line in lines] == [
        False, True, False]


# --- the QR page code --------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [150, 200, 300])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_qr_code_decodes_to_the_template_and_layout(
        case: PrintCase, dpi: int, printed: dict[str, Path], workdir: Path) -> None:
    expected = expected_code_fields(case.template)
    pages = rasterise(printed[case.name], dpi, workdir)
    assert len(pages) == case.pages
    for gray in pages:
        text = decode_qr(gray)
        assert text, f"no QR code decoded at {dpi} dpi"
        code = parse_payload(text)
        assert code is not None, text
        assert {k: getattr(code, k) for k in expected} == expected
        assert SERIAL_RE.match(code.serial), code.serial


@pytest.fixture(scope="module")
def roster_codes(printed: dict[str, Path], workdir: Path) -> list[tuple[str, PageCode]]:
    """(payload text, parsed code) of each roster page, read at 200 dpi."""
    texts = [decode_qr(page) for page in rasterise(printed["roster"], 200, workdir)]
    codes = [parse_payload(text) for text in texts]
    assert all(codes), texts
    return list(zip(texts, codes, strict=True))  # type: ignore[arg-type]


def test_roster_pages_carry_their_own_client_and_session(
        roster_codes: list[tuple[str, PageCode]]) -> None:
    assert [(code.client, code.session) for _, code in roster_codes] == [
        (row["client"], int(row["session"])) for row in ROSTER_ROWS]
    serials = [code.serial for _, code in roster_codes]
    assert len(set(serials)) == len(serials)


def test_roster_payload_holds_nothing_but_the_code_fields(
        roster_codes: list[tuple[str, PageCode]]) -> None:
    expected = expected_code_fields("srs")
    for (text, code), row in zip(roster_codes, ROSTER_ROWS, strict=True):
        for private in (row["date"], row["note"], *row["note"].split()):
            assert private not in text
        fields = dict(part.split("=", 1) for part in text.split(";")[1:])
        assert fields == {"t": expected["template_id"], "v": expected["template_version"],
                          "l": expected["layout_id"], "s": code.serial,
                          "c": row["client"], "n": row["session"]}


def test_roster_page_shows_code_session_and_date_but_no_other_column(
        printed: dict[str, Path]) -> None:
    texts = page_texts(printed["roster"])
    assert len(texts) == len(ROSTER_ROWS)
    for text, row in zip(texts, ROSTER_ROWS, strict=True):
        assert row["client"] in text and row["date"] in text
        assert re.search(rf"Session:\s+{row['session']}\b", text), text
        for other in ROSTER_ROWS:
            assert other["note"] not in text
            if other is not row:
                assert other["client"] not in text


def test_blank_copies_have_distinct_serials_and_no_client(
        printed: dict[str, Path], workdir: Path) -> None:
    codes = [parse_payload(decode_qr(p)) for p in rasterise(printed["copies"], 200, workdir)]
    assert all(code is not None and code.client is None and code.session is None
               for code in codes)
    assert len({code.serial for code in codes}) == 3  # type: ignore[union-attr]


def test_two_print_runs_get_different_serials(tmp_path: Path) -> None:
    serials = []
    for run in ("first", "second"):
        out = tmp_path / f"{run}.pdf"
        invoke("print", "--copies", "2", "-o", str(out))
        serials += [parse_payload(decode_qr(p)).serial  # type: ignore[union-attr]
                    for p in rasterise(out, 200, tmp_path)]
    assert len(set(serials)) == 4


@settings(database=None)  # tests write only under tmp_path
@given(
    template_id=st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True),
    template_version=st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True),
    layout_id=st.from_regex(r"[0-9a-f]{8}", fullmatch=True),
    client=st.none() | st.from_regex(r"[A-Za-z0-9._-]{1,32}", fullmatch=True),
    session=st.none() | st.integers(min_value=0, max_value=SESSION_MAX),
)
def test_payload_round_trips(template_id: str, template_version: str, layout_id: str,
                             client: str | None, session: int | None) -> None:
    assert client is None or is_valid_client_code(client)
    code = PageCode(template_id, template_version, layout_id, new_serial(), client, session)
    assert SERIAL_RE.match(code.serial)
    assert parse_payload(code.payload()) == code


def test_payload_with_non_ascii_digit_session_is_refused() -> None:
    with pytest.raises(UnreadableError, match="session"):
        parse_payload("SRSF1;t=srs;v=1.0;l=5cf44f24;s=ABCDEFGHJKMN;n=\u00b2")


# --- text on the page --------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_print_at_100_percent_note_is_on_every_page(
        case: PrintCase, printed: dict[str, Path]) -> None:
    texts = page_texts(printed[case.name])
    assert len(texts) == case.pages
    for text in texts:
        assert "Print at 100%" in text and "fit to page" in text


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_font_on_the_page_is_embedded(case: PrintCase, printed: dict[str, Path]) -> None:
    fonts = pdf_fonts(printed[case.name])
    assert set(fonts) == {"DejaVuSans", "DejaVuSans-Bold"} and all(fonts.values()), fonts


def test_templates_lists_bundled_forms_with_version_and_title() -> None:
    rows = [line.split("\t") for line in invoke("templates").stdout.splitlines()]
    listed = {row[0]: (row[1], row[2]) for row in rows}
    assert listed["srs"] == ("1.0", "Session Rating Scale")
    assert listed["ors"] == ("1.0", "Outcome Rating Scale")
    assert listed["csrs"] == ("1.0", "Child Session Rating Scale")


def test_version_option() -> None:
    assert invoke("--version").stdout.strip() == f"srsform, version {version('srsform')}"


# --- the installed command, from a folder that is not the repository ------------------


def _installed_command() -> str:
    beside = Path(sys.executable).with_name("srsform")
    found = str(beside) if beside.exists() else shutil.which("srsform")
    assert found, "the srsform command is not installed"
    return found


def test_installed_command_prints_from_any_folder(tmp_path: Path) -> None:
    command = _installed_command()
    listing = subprocess.run([command, "templates"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert {"srs", "ors", "csrs"} <= {line.split("\t")[0] for line in listing.stdout.splitlines()}

    done = subprocess.run([command, "print", "-o", "blank.pdf"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # stdout is for data; the progress line goes to stderr
    expected = expected_code_fields("srs")
    # The layout id is a hash of geometry: the same in a fresh process as in this one.
    assert f"layout {expected['layout_id']}" in done.stderr
    pdf = tmp_path / "blank.pdf"
    with pikepdf.open(pdf) as doc:
        assert len(doc.pages) == 1
        x0, y0, x1, y1 = (float(v) for v in doc.pages[0].mediabox)
        assert abs(x1 - x0 - PAPER_PT["a4"][0]) <= PAGE_SIZE_TOLERANCE_PT
        assert abs(y1 - y0 - PAPER_PT["a4"][1]) <= PAGE_SIZE_TOLERANCE_PT
    code = parse_payload(decode_qr(rasterise(pdf, 200, tmp_path)[0]))
    assert code is not None
    assert {k: getattr(code, k) for k in expected} == expected
