"""Hostile inputs for `srsform scan`, each with what a correct reading of it is.

`build_corpus(folder)` writes every file (deterministic, about 4 MB, a few seconds) and returns,
per file name, the records a correct scan gives it: how many, the statuses each may have and,
where the reason matters, a phrase it must contain. Names start with a number, so a scan of the
folder meets the files in the order they are listed here.

Forms are made as the other tests make them: the real form PDF rasterised, pen marks drawn at
known places, then a simulated scan or phone photo (support.synth); the damage is done here.
"""

from __future__ import annotations

import io
import struct
import tomllib
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from PIL import Image, TiffImagePlugin
from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from srsform.form.layout import MARKERS, PAPERS_MM, QR_BOX, build_layout, page_offset_mm
from srsform.form.pagecode import PageCode
from srsform.form.render import PageSpec, render_pdf
from srsform.form.templates import Template, load_template, parse_template
from support import pdf, synth

READ = frozenset({"ok", "review"})
ERROR = frozenset({"error"})
NOT_A_FORM = frozenset({"not_a_form"})
UNREADABLE = frozenset({"unreadable"})
DAMAGED = frozenset({"review", "not_a_form", "unreadable", "error"})  # anything but a clean ok

DPI = 200  # scanner pages: enough to read, small enough to keep the corpus quick
COLOR_DPI = 150  # colour pages are bigger files: scanned at the lowest resolution read well
PAPER = "a4"
SERIAL = "HST1LE0CRPVS"
UNKNOWN_TEMPLATE = "wellbeing.toml"  # a clinic's own form, which a plain scan does not know
_UNKNOWN_TOML = """\
id = "wellbeing"
version = "0.3"
title = "Weekly Wellbeing Check"
instructions = "Put a mark on each line: further right means better."

[scale]
min = 0
max = 10
line_length_mm = 100.0
rounding = "nearest_cm_half_up"
{items}"""
UNKNOWN_ITEMS = ("sleep", "mood", "energy", "work", "friends")


@dataclass(frozen=True)
class Expect:
    """A correct reading of one file: per record (page), the allowed statuses and a phrase
    that one of its reasons must contain (None: any reason will do)."""

    statuses: tuple[frozenset[str], ...]
    reasons: tuple[str | None, ...]

    @property
    def records(self) -> int:
        return len(self.statuses)


def expect(statuses: frozenset[str], reason: str | None = None) -> Expect:
    """One record with one of `statuses` (and `reason` in its reasons)."""
    return Expect((statuses,), (reason,))


def pages(*expected: Expect) -> Expect:
    """The records of a multi-page file, page by page."""
    return Expect(tuple(s for e in expected for s in e.statuses),
                  tuple(r for e in expected for r in e.reasons))


# ---------------------------------------------------------------------------------- pages


def _scanner(color: bool = False) -> synth.ScanCondition:
    """A straight, clean flatbed scan: form mm map to pixels exactly (px = mm * dpi / 25.4)."""
    return synth.ScanCondition(name="hostile", dpi=COLOR_DPI if color else DPI, rotation=0,
                               skew_deg=0.0, print_scale=1.0, offset_mm=(0.0, 0.0), blur_px=0.5,
                               noise=0.0, jpeg_quality=None, binary=False, phone=False,
                               color=color)


def _phone(seed: int, rotation: int = 0) -> synth.ScanCondition:
    return synth.random_condition(np.random.default_rng(seed), "phone", rotation)


def _code(template: Template, client: str | None = "C1042", session: int | None = 3) -> PageCode:
    return PageCode(template.id, template.version, build_layout(template).layout_id, SERIAL,
                    client, session)


def _filled(template: Template, condition: synth.ScanCondition, seed: int) -> np.ndarray:
    """A form with one clear pen tick on every line, printed and scanned under `condition`."""
    keys = [item.key for item in template.items]
    marks = synth.random_marks(np.random.default_rng(seed), ("vertical",), keys, "blue")
    return synth.make_page(template, _code(template), marks, condition, seed, PAPER).image


def _shared(image: np.ndarray) -> np.ndarray:
    """A page several cases start from: read-only, so a case must copy it to damage it."""
    image.setflags(write=False)
    return image


@cache
def _form_gray() -> np.ndarray:
    return _shared(_filled(load_template("srs"), _scanner(), seed=11))


@cache
def _form_color() -> np.ndarray:
    return _shared(_filled(load_template("ors"), _scanner(color=True), seed=12))


@cache
def _blank() -> np.ndarray:
    return _shared(synth.make_blank_page(_scanner(), seed=3, paper=PAPER).image)


@cache
def _foreign() -> np.ndarray:
    return _shared(synth.make_foreign_page(_scanner(), seed=5, paper=PAPER).image)


def _px(x_mm: float, y_mm: float) -> tuple[int, int]:
    """Page millimetres to pixels of the straight scans above."""
    return round(x_mm * DPI / 25.4), round(y_mm * DPI / 25.4)


def _page_mm(x_mm: float, y_mm: float) -> tuple[float, float]:
    """Form millimetres to page millimetres."""
    dx, dy = page_offset_mm(PAPER)
    return x_mm + dx, y_mm + dy


def _save_photo(path: Path, image: np.ndarray, long_side: int = 1600) -> None:
    """A phone photo as phones write it (72 dpi in the header, whatever the picture shows),
    with fewer pixels than a phone takes: enough to read, and a small corpus."""
    scale = long_side / max(image.shape[:2])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    _rgb(small).save(path, format="JPEG", quality=82, dpi=(72, 72))


def _jpeg(image: np.ndarray, quality: int = 75) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def _rgb(image: np.ndarray) -> Image.Image:
    if image.ndim == 2:
        return Image.fromarray(image).convert("RGB")
    return Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def _bilevel(image: np.ndarray) -> Image.Image:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return Image.fromarray(np.where(gray < 150, 0, 255).astype(np.uint8)).convert("1")


# ---------------------------------------------------------------------------------- PDFs


@contextmanager
def _invariant_pdfs() -> Iterator[None]:
    """reportlab without timestamps and random ids, so its PDFs are the same on every build."""
    before = rl_config.invariant
    rl_config.invariant = 1
    try:
        yield
    finally:
        rl_config.invariant = before


@cache
def _form_pdf() -> bytes:
    """What `srsform print` writes: one vector SRS form."""
    template = load_template("srs")
    buf = io.BytesIO()
    with _invariant_pdfs():
        render_pdf(template, build_layout(template), [PageSpec(_code(template, None, None))],
                   PAPER, buf)
    return buf.getvalue()


def _scan_image(image: np.ndarray, cmyk: bool = False) -> pdf.ScanImage:
    """A scanner's page image: a JPEG at DPI (colour pages at COLOR_DPI; `cmyk` as an Adobe
    CMYK JPEG)."""
    if cmyk:
        buf = io.BytesIO()
        _rgb(image).convert("CMYK").save(buf, format="JPEG", quality=60)
        return pdf.jpeg_data(buf.getvalue(), COLOR_DPI)
    return pdf.jpeg(image, COLOR_DPI if image.ndim == 3 else DPI, quality=75)


def _damaged_scan_pdf(path: Path, damage: Callable[[bytes], bytes]) -> None:
    """A one-page scanner PDF whose page image's JPEG data is `damage`d."""
    image = _scan_image(_form_gray())
    pdf.write_image_pdf(path, [replace(image, data=damage(image.data))])


def _rc4(user: str, allow: pikepdf.Permissions | None = None) -> pikepdf.Encryption:
    """128-bit RC4: unlike AES it needs no random IV, so the file is the same on every build."""
    return pikepdf.Encryption(user=user, owner="owner", R=4, aes=False, metadata=False,
                              allow=allow or pikepdf.Permissions())


def _invert_middle(data: bytes, run: int = 64) -> bytes:
    """`data` with (up to) `run` bytes inverted around its middle."""
    start = max(0, len(data) // 2 - run // 2)
    return data[:start] + bytes(b ^ 0xFF for b in data[start:start + run]) + data[start + run:]


def _flip_stream_bytes(data: bytes, run: int = 24) -> bytes:
    """Invert `run` bytes in the middle of every stream of a PDF, leaving its structure whole."""
    out = bytearray(data)
    start = 0
    while (begin := data.find(b"stream", start)) != -1:
        if data[begin - 3:begin] == b"end":
            start = begin + len(b"stream")
            continue
        body = begin + len(b"stream") + (2 if data[begin + 6:begin + 8] == b"\r\n" else 1)
        end = data.find(b"endstream", body)
        if end == -1:
            break
        out[body:end] = _invert_middle(data[body:end], run)
        start = end + len(b"endstream")
    return bytes(out)


# ---------------------------------------------------------------------------------- the cases


def empty(path: Path) -> Expect:
    path.write_bytes(b"")
    return expect(ERROR, "empty")


def truncated_form_pdf(path: Path) -> Expect:
    data = _form_pdf()
    path.write_bytes(data[:len(data) // 2])
    return expect(ERROR, "damaged")


def flipped_bytes_form_pdf(path: Path) -> Expect:
    """Bytes inverted in the middle of every stream: the page's content cannot be decoded."""
    path.write_bytes(_flip_stream_bytes(_form_pdf()))
    return expect(ERROR, "damaged")


def flipped_bytes_scan_pdf(path: Path) -> Expect:
    """A scanner PDF with bytes inverted in the middle of every stream: its page draws nothing
    (and must not pass for a blank back)."""
    pdf.write_image_pdf(path, [_scan_image(_form_gray())])
    path.write_bytes(_flip_stream_bytes(path.read_bytes()))
    return expect(ERROR, "damaged")


def damaged_jpeg_pdf(path: Path) -> Expect:
    """A scanner PDF whose page image has bytes inverted in the middle of its JPEG data."""
    _damaged_scan_pdf(path, _invert_middle)
    return expect(DAMAGED)


def cut_jpeg_pdf(path: Path) -> Expect:
    """A scanner PDF whose page image's JPEG data stops at 70% (a partly copied file): what
    was decoded may be read, but the record says the image is incomplete."""
    _damaged_scan_pdf(path, lambda data: data[:len(data) * 7 // 10])
    return expect(DAMAGED, "incomplete")


def encrypted_pdf(path: Path) -> Expect:
    with pikepdf.open(io.BytesIO(_form_pdf())) as doc:
        doc.save(path, encryption=_rc4(user="secret"), static_id=True)
    return expect(ERROR, "encrypted")


def owner_password_pdf(path: Path) -> Expect:
    """Restricted (no printing, no copying) but no password to open: readable."""
    doc = pikepdf.new()
    pdf.add_image_page(doc, _scan_image(_form_gray()))
    no_rights = pikepdf.Permissions(extract=False, modify_other=False, print_highres=False,
                                    print_lowres=False)
    doc.save(path, encryption=_rc4(user="", allow=no_rights), static_id=True)
    return expect(READ)


def no_pages_pdf(path: Path) -> Expect:
    pikepdf.new().save(path, deterministic_id=True)
    return expect(ERROR, "no pages")


def text_named_pdf(path: Path) -> Expect:
    path.write_text("Dear colleague,\nthe forms from Tuesday are attached.\n", encoding="utf-8")
    return expect(ERROR, "not a PDF")


def html_page(path: Path) -> Expect:
    path.write_text("<!DOCTYPE html>\n<html><head><title>Session forms</title></head>\n"
                    "<body><p>Download: <a href='forms.pdf'>forms.pdf</a></p></body></html>\n",
                    encoding="utf-8")
    return expect(ERROR, "not a PDF")


def zip_archive(path: Path) -> Expect:
    buf = io.BytesIO()
    Image.fromarray(_form_gray()).save(buf, format="PNG")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        info = zipfile.ZipInfo("scans/form.png", date_time=(2024, 3, 14, 9, 0, 0))
        archive.writestr(info, buf.getvalue())
    return expect(ERROR, "not a PDF")


def gif_image(path: Path) -> Expect:
    _rgb(_form_gray()).convert("P").save(path, format="GIF")
    return expect(ERROR, "not a PDF")


def alpha_png(path: Path) -> Expect:
    """RGBA whose margins are transparent black: a reader that drops alpha sees black edges."""
    rgba = np.asarray(_rgb(_form_color()).convert("RGBA")).copy()
    band = _px(6, 6)[0]
    edge = np.ones(rgba.shape[:2], bool)
    edge[band:-band, band:-band] = False
    rgba[edge] = (0, 0, 0, 0)
    rgba[~edge, 3] = 230  # the paper itself slightly see-through
    Image.fromarray(rgba, "RGBA").save(path, dpi=(COLOR_DPI, COLOR_DPI))
    return expect(READ)


def deep_png(path: Path) -> Expect:
    cv2.imwrite(str(path), _form_gray().astype(np.uint16) * 257)
    return expect(READ)


def cmyk_jpeg(path: Path) -> Expect:
    _rgb(_form_color()).convert("CMYK").save(path, format="JPEG", quality=60,
                                             dpi=(COLOR_DPI, COLOR_DPI))
    return expect(READ)


def palette_png(path: Path) -> Expect:
    _rgb(_form_color()).quantize(colors=16).save(path, dpi=(COLOR_DPI, COLOR_DPI))
    return expect(READ)


def bilevel_png(path: Path) -> Expect:
    _bilevel(_form_gray()).save(path, dpi=(DPI, DPI))
    return expect(READ)


def g4_tiff(path: Path) -> Expect:
    _bilevel(_form_gray()).save(path, compression="group4", dpi=(DPI, DPI))
    return expect(READ)


def screen_dpi_png(path: Path) -> Expect:
    """A 200 dpi scan whose file says 72 dpi, as screenshots and some apps write."""
    Image.fromarray(_form_gray()).save(path, dpi=(72, 72))
    return expect(READ)


def jpeg_named_pdf(path: Path) -> Expect:
    path.write_bytes(_jpeg(_form_gray()))
    return expect(READ)


def png_bomb(path: Path) -> Expect:
    """A valid 30000 x 30000 PNG (900 Mpx) of one colour: 110 kB on disk."""
    side = 30000
    row = b"\x00" * (1 + side // 8)  # filter byte, then 1-bit pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row * 1000) for _ in range(side // 1000)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))
    return expect(ERROR, "megapixel")


def huge_page_pdf(path: Path) -> Expect:
    """A vector page 5 m square: rendered at 300 dpi it would be 3.5 gigapixels."""
    canvas = Canvas(str(path), pagesize=(5000 * mm, 5000 * mm), invariant=1)
    canvas.drawString(100 * mm, 100 * mm, "poster")
    canvas.showPage()
    canvas.save()
    return expect(ERROR, "megapixel")


def tiny_png(path: Path) -> Expect:
    Image.fromarray(cv2.resize(_form_gray(), (50, 50), interpolation=cv2.INTER_AREA)).save(path)
    return expect(ERROR, "too small")


def truncated_jpeg(path: Path) -> Expect:
    data = _jpeg(_form_gray())
    path.write_bytes(data[:len(data) // 2])
    return expect(ERROR, "damaged")


def corrupt_png(path: Path) -> Expect:
    """A PNG whose compressed pixels are overwritten in the middle."""
    buf = io.BytesIO()
    Image.fromarray(_form_gray()).save(buf, format="PNG", dpi=(DPI, DPI))
    data = bytearray(buf.getvalue())
    middle = len(data) // 2
    data[middle:middle + 256] = bytes(range(256))
    path.write_bytes(bytes(data))
    return expect(ERROR, "damaged")


def blank_png(path: Path) -> Expect:
    Image.fromarray(_blank()).save(path, dpi=(DPI, DPI))
    return expect(NOT_A_FORM, "blank")


def blank_pdf(path: Path) -> Expect:
    pdf.write_image_pdf(path, [_scan_image(_blank())])
    return expect(NOT_A_FORM, "blank")


def other_document_png(path: Path) -> Expect:
    Image.fromarray(_foreign()).save(path, dpi=(DPI, DPI))
    return expect(NOT_A_FORM, "another document")


def other_document_pdf(path: Path) -> Expect:
    """A letter typed in a word processor and saved as PDF: rendered by poppler."""
    width, height = PAPERS_MM[PAPER]
    canvas = Canvas(str(path), pagesize=(width * mm, height * mm), invariant=1)
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(25 * mm, 260 * mm, "Appointment letter")
    canvas.setFont("Helvetica", 11)
    for i in range(30):
        canvas.drawString(25 * mm, (245 - 7 * i) * mm,
                          "Please arrive ten minutes early and bring your referral letter.")
    canvas.rect(25 * mm, 20 * mm, 60 * mm, 15 * mm)
    canvas.showPage()
    canvas.save()
    return expect(NOT_A_FORM, "another document")


def other_form_photo(path: Path) -> Expect:
    """A phone photo of some other paper form: boxes, a table, ticked checkboxes."""
    _save_photo(path, synth.make_foreign_page(_phone(21), seed=22, paper=PAPER).image)
    return expect(NOT_A_FORM, "another document")


def mixed_pdf(path: Path) -> Expect:
    pdf.write_image_pdf(path, [_scan_image(page) for page in (_form_gray(), _blank(), _foreign())])
    return pages(expect(READ), expect(NOT_A_FORM, "blank"),
                 expect(NOT_A_FORM, "another document"))


def tiff_with_corrupt_page(path: Path) -> Expect:
    """Two deflate pages; the second page's compressed pixels are overwritten."""
    frames = [Image.fromarray(_form_gray()), Image.fromarray(_foreign())]
    with TiffImagePlugin.AppendingTiffWriter(str(path), new=True) as tiff:
        for frame in frames:
            frame.encoderinfo = {"dpi": (DPI, DPI), "compression": "tiff_adobe_deflate"}
            frame.encoderconfig = ()
            TiffImagePlugin._save(frame, tiff, str(path))
            tiff.newFrame()
    with Image.open(path) as img:
        img.seek(1)
        offset, size = img.tag_v2[273][0], img.tag_v2[279][0]
    data = bytearray(path.read_bytes())
    data[offset + size // 3: offset + size // 3 + 512] = bytes(range(256)) * 2
    path.write_bytes(bytes(data))
    return pages(expect(READ), expect(ERROR, "damaged"))


def _unknown_toml() -> str:
    items = "".join(f'\n[[items]]\nkey = "{key}"\nlabel = "{key.title()} this week"\n'
                    f'left = "Poor"\nright = "Good"\n' for key in UNKNOWN_ITEMS)
    return _UNKNOWN_TOML.format(items=items)


def write_unknown_template(path: Path) -> Path:
    """The template file of the unknown-layout page, to pass with --template."""
    path.write_text(_unknown_toml(), encoding="utf-8")
    return path


def unknown_layout(path: Path) -> Expect:
    """A form printed from a clinic's own 5-item template that the scan is not given."""
    template = parse_template(tomllib.loads(_unknown_toml()), UNKNOWN_TEMPLATE)
    Image.fromarray(_filled(template, _scanner(), seed=31)).save(path, dpi=(DPI, DPI))
    return expect(UNREADABLE, "--template")


def qr_painted_over(path: Path) -> Expect:
    """Correction fluid over the QR code (and a scribble on top of it)."""
    image = _form_gray().copy()
    x0, y0 = _px(*_page_mm(QR_BOX.x_mm - 1, QR_BOX.y_mm - 1))
    x1, y1 = _px(*_page_mm(QR_BOX.x_mm + QR_BOX.w_mm + 1, QR_BOX.y_mm + QR_BOX.h_mm + 1))
    image[y0:y1, x0:x1] = 245
    cv2.line(image, (x0 + 20, y1 - 30), (x1 - 20, y0 + 40), 40, 3, cv2.LINE_AA)
    Image.fromarray(image).save(path, dpi=(DPI, DPI))
    return expect(UNREADABLE, "QR code")


def mark_torn_off(path: Path) -> Expect:
    """The top-right corner, with its registration mark, torn off; the scanner lid is white."""
    image = _form_gray().copy()
    marker = next(m for m in MARKERS if m.marker_id == 1)
    right, top = _page_mm(marker.x_mm + marker.size_mm, marker.y_mm)
    width_mm = PAPERS_MM[PAPER][0]
    rng = np.random.default_rng(41)
    # A ragged tear from the top edge down to the right edge, passing left of and below the mark.
    ts = np.linspace(0, 1, 40)
    tear = np.column_stack([right - 18 + (width_mm - right + 18) * ts ** 2,
                            (top + marker.size_mm + 16) * ts ** 0.5 + rng.normal(0, 0.6, 40)])
    corner = np.vstack([tear, [[width_mm, 0.0]]])
    polygon = np.array([_px(x, y) for x, y in corner], np.int32)
    cv2.fillPoly(image, [polygon], 255)
    cv2.polylines(image, [polygon[:-1]], False, 170, 2, cv2.LINE_AA)  # the torn edge's shadow
    Image.fromarray(image).save(path, dpi=(DPI, DPI))
    return expect(READ)


def upside_down_photo(path: Path) -> Expect:
    _save_photo(path, _filled(load_template("srs"), _phone(51, 180), seed=52))
    return expect(READ)


def rotate_90_pdf(path: Path) -> Expect:
    """The scan stored sideways, with /Rotate 90 to show it upright (as some scanners do)."""
    turned = cv2.rotate(_form_gray(), cv2.ROTATE_90_COUNTERCLOCKWISE)
    pdf.write_image_pdf(path, [_scan_image(turned)], rotate=90)
    return expect(READ)


def cmyk_scan_pdf(path: Path) -> Expect:
    """A CMYK JPEG page: left to poppler to render."""
    pdf.write_image_pdf(path, [_scan_image(_form_color(), cmyk=True)])
    return expect(READ)


Case = Callable[[Path], Expect]
CASES: tuple[tuple[str, Case], ...] = (
    ("01-empty.pdf", empty),
    ("02-truncated-form.pdf", truncated_form_pdf),
    ("03-flipped-bytes-form.pdf", flipped_bytes_form_pdf),
    ("04-flipped-bytes-scan.pdf", flipped_bytes_scan_pdf),
    ("05-damaged-jpeg-in-pdf.pdf", damaged_jpeg_pdf),
    ("06-encrypted.pdf", encrypted_pdf),
    ("07-owner-password-only.pdf", owner_password_pdf),
    ("08-no-pages.pdf", no_pages_pdf),
    ("09-text-named.pdf", text_named_pdf),
    ("10-page.html", html_page),
    ("11-scans.zip", zip_archive),
    ("12-form.gif", gif_image),
    ("13-form-alpha.png", alpha_png),
    ("14-form-16bit.png", deep_png),
    ("15-form-cmyk.jpg", cmyk_jpeg),
    ("16-form-palette.png", palette_png),
    ("17-form-1bit.png", bilevel_png),
    ("18-form-g4.tif", g4_tiff),
    ("19-form-72dpi.png", screen_dpi_png),
    ("20-form-jpeg-named.pdf", jpeg_named_pdf),
    ("21-bomb.png", png_bomb),
    ("22-huge-page.pdf", huge_page_pdf),
    ("23-tiny.png", tiny_png),
    ("24-truncated.jpg", truncated_jpeg),
    ("25-corrupt.png", corrupt_png),
    ("26-blank-back.png", blank_png),
    ("27-blank-back.pdf", blank_pdf),
    ("28-other-document.png", other_document_png),
    ("29-other-document.pdf", other_document_pdf),
    ("30-other-form-photo.jpg", other_form_photo),
    ("31-form-blank-other.pdf", mixed_pdf),
    ("32-corrupt-page-2.tif", tiff_with_corrupt_page),
    ("33-unknown-layout.png", unknown_layout),
    ("34-qr-painted-over.png", qr_painted_over),
    ("35-mark-torn-off.png", mark_torn_off),
    ("36-upside-down-photo.jpg", upside_down_photo),
    ("37-rotate-90.pdf", rotate_90_pdf),
    ("38-cmyk-scan.pdf", cmyk_scan_pdf),
    ("39-cut-jpeg-in-pdf.pdf", cut_jpeg_pdf),
)


def build_corpus(folder: Path) -> dict[str, Expect]:
    """Write every hostile file into `folder`; return each file's expected reading, in the
    order a scan of the folder meets them."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: case(folder / name) for name, case in CASES}
