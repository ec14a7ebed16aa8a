"""Tests of ingest: every input is built here, under tmp_path."""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pdf2image
import pikepdf
import pytest
from PIL import Image, TiffImagePlugin
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from srsform.errors import ConfigError, DecodeError
from srsform.read import ingest
from srsform.read.ingest import PageFailure, PageRef, expand_inputs, list_pages, load_page
from support.pdf import ScanImage, g4, jpeg, write_image_pdf

DPI = 300
PAGE_MM = (100.0, 120.0)  # a small page keeps the images (and the tests) quick
PAGE_PX = (round(PAGE_MM[0] / 25.4 * DPI), round(PAGE_MM[1] / 25.4 * DPI))  # (w, h)
PAGE_PT = (PAGE_MM[0] / 25.4 * 72, PAGE_MM[1] / 25.4 * 72)


def scan(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A white page with a black block near the top-left corner and some seeded 'ink'."""
    page = np.full((height, width), 255, np.uint8)
    page[height // 20: height // 5, width // 20: width // 4] = 0
    rng = np.random.default_rng(seed)
    for y, x in rng.integers(0, min(width, height) - 40, size=(5, 2)):
        page[y + 20: y + 30, x + 20: x + 60] = 60
    return page


def dark_centre(gray: np.ndarray) -> tuple[float, float]:
    """Centre (x, y) of the dark pixels as fractions of the image size."""
    ys, xs = np.nonzero(gray < 40)
    return xs.mean() / gray.shape[1], ys.mean() / gray.shape[0]


def image_pdf(path: Path, images: list[np.ndarray], rotate: int = 0,
              ctm: str | None = None) -> Path:
    """A scanner-style PDF with one JPEG per page, each page PAGE_MM in size."""
    return write_image_pdf(path, [jpeg(pixels, DPI, quality=90) for pixels in images], rotate,
                           PAGE_PT, ctm)


def vector_pdf(path: Path) -> Path:
    canvas = Canvas(str(path), pagesize=(PAGE_MM[0] * mm, PAGE_MM[1] * mm))
    canvas.setFont("Helvetica", 14)
    canvas.drawString(10 * mm, 100 * mm, "How was today's session?")
    canvas.setLineWidth(1)
    for y_mm in (20, 40, 60, 80):
        canvas.line(10 * mm, y_mm * mm, 90 * mm, y_mm * mm)
    canvas.showPage()
    canvas.save()
    return path


def refs_of(path: Path) -> list[PageRef]:
    pages = list_pages(str(path))
    assert all(isinstance(p, PageRef) for p in pages), pages
    return pages  # type: ignore[return-value]


def failure_reason(path: Path) -> str:
    """The reason a file is refused, whether at listing or at decoding."""
    pages = list_pages(str(path))
    if len(pages) == 1 and isinstance(pages[0], PageFailure):
        assert pages[0].page == 1 and pages[0].source == str(path)
        return pages[0].reason
    with pytest.raises(DecodeError) as info:
        for ref in pages:
            load_page(ref)  # type: ignore[arg-type]
    return str(info.value)


def no_rendering(*args: object, **kwargs: object) -> None:
    raise AssertionError("the page should have been extracted, not rendered")


# --- PDF ------------------------------------------------------------------------------------

def test_image_pdf_pages_are_extracted_not_rendered(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf2image, "convert_from_path", no_rendering)
    path = image_pdf(tmp_path / "scan.pdf", [scan(*PAGE_PX, seed=n) for n in range(3)])
    refs = refs_of(path)
    assert [(r.page, r.kind, r.page_count) for r in refs] == [(1, "pdf", 3), (2, "pdf", 3),
                                                               (3, "pdf", 3)]
    assert pickle.loads(pickle.dumps(refs[1])) == refs[1]  # refs travel to worker processes
    for ref in refs:
        page = load_page(ref)
        assert page.gray.shape == (PAGE_PX[1], PAGE_PX[0]) and page.gray.dtype == np.uint8
        assert page.px_per_mm == pytest.approx(DPI / 25.4, rel=0.01)
        assert page.color is None
        x, y = dark_centre(page.gray)
        assert x < 0.5 and y < 0.5  # upright: the block is top-left
    half = load_page(refs[0], reduce=2)
    assert half.gray.shape == ((PAGE_PX[1] + 1) // 2, (PAGE_PX[0] + 1) // 2)
    assert half.px_per_mm == pytest.approx(DPI / 25.4 / 2, rel=0.01)
    quarter = load_page(refs[0], reduce=4)
    assert abs(quarter.gray.shape[1] - PAGE_PX[0] / 4) <= 1


def test_colour_scan_in_pdf_keeps_colour_only_on_request(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf2image, "convert_from_path", no_rendering)
    colour = cv2.cvtColor(scan(*PAGE_PX), cv2.COLOR_GRAY2BGR)
    colour[600:700, 300:500] = (255, 0, 0)  # a blue pen mark
    ref = refs_of(image_pdf(tmp_path / "colour.pdf", [colour]))[0]
    assert load_page(ref).color is None
    page = load_page(ref, keep_color=True)
    assert page.color is not None and page.color.shape == (*page.gray.shape, 3)
    assert page.color[650, 400, 0] > 200 and page.color[650, 400, 2] < 60


@pytest.mark.parametrize(("rotate", "ctm"), [
    (90, None),
    (180, None),
    (270, None),
    (0, f"0 {-PAGE_PT[1]:.4f} {PAGE_PT[0]:.4f} 0 0 {PAGE_PT[1]:.4f}"),  # image drawn turned
])
def test_rotated_pages_match_the_rendering(tmp_path, monkeypatch, rotate, ctm):
    pixels = scan(*PAGE_PX) if ctm is None else scan(PAGE_PX[1], PAGE_PX[0])
    ref = refs_of(image_pdf(tmp_path / "rotated.pdf", [pixels], rotate=rotate, ctm=ctm))[0]
    monkeypatch.setattr(ingest, "_single_scan", lambda page: None)
    rendered = load_page(ref, reduce=4)
    monkeypatch.undo()
    monkeypatch.setattr(pdf2image, "convert_from_path", no_rendering)
    extracted = load_page(ref, reduce=4)
    assert abs(extracted.gray.shape[0] - rendered.gray.shape[0]) <= 2
    assert abs(extracted.gray.shape[1] - rendered.gray.shape[1]) <= 2
    assert dark_centre(extracted.gray) == pytest.approx(dark_centre(rendered.gray), abs=0.02)
    assert extracted.px_per_mm == pytest.approx(rendered.px_per_mm, rel=0.01)


def test_vector_pdf_is_rendered_one_page_at_a_time(tmp_path, monkeypatch):
    calls: list[dict[str, object]] = []
    real = pdf2image.convert_from_path

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf2image, "convert_from_path", spy)
    ref = refs_of(vector_pdf(tmp_path / "form.pdf"))[0]
    page = load_page(ref, reduce=2)
    assert calls and calls[0]["first_page"] == calls[0]["last_page"] == 1
    assert calls[0]["dpi"] == DPI // 2 and calls[0]["timeout"]
    assert abs(page.gray.shape[1] - PAGE_PX[0] / 2) <= 2
    assert abs(page.gray.shape[0] - PAGE_PX[1] / 2) <= 2
    assert page.px_per_mm == pytest.approx(DPI / 2 / 25.4, rel=0.01)
    assert page.gray.min() < 100 and np.median(page.gray) > 250


def test_hung_poppler_becomes_decode_error(tmp_path, monkeypatch):
    def hang(*args: object, **kwargs: object) -> None:
        raise pdf2image.exceptions.PDFPopplerTimeoutError("timed out")

    monkeypatch.setattr(pdf2image, "convert_from_path", hang)
    ref = refs_of(vector_pdf(tmp_path / "form.pdf"))[0]
    with pytest.raises(DecodeError, match="longer than"):
        load_page(ref)


def test_bad_pdfs_are_refused_with_a_reason(tmp_path):
    encrypted = tmp_path / "locked.pdf"
    image_pdf(tmp_path / "plain.pdf", [scan(*PAGE_PX)])
    with pikepdf.open(tmp_path / "plain.pdf") as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    assert "encrypted" in failure_reason(encrypted)

    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes((tmp_path / "plain.pdf").read_bytes()[:300])
    assert "damaged" in failure_reason(truncated) or "no pages" in failure_reason(truncated)

    text = tmp_path / "notes.pdf"
    text.write_text("Dear colleague, the forms are attached.\n")
    assert "not a PDF" in failure_reason(text)


def test_pdf_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    bomb = ScanImage(b"\x00" * 16, 20000, 20000, DPI,
                     {"/BitsPerComponent": 1, "/ColorSpace": "/DeviceGray"})
    write_image_pdf(tmp_path / "bomb.pdf", [bomb], page_pt=PAGE_PT)
    assert "megapixel" in failure_reason(tmp_path / "bomb.pdf")


def bilevel_page() -> np.ndarray:
    return np.where(scan(800, 1000) < 128, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("encoding", ["g4", "flate_inverted", "image_mask", "flate_16bit"])
def test_non_jpeg_scans_in_pdf_match_the_rendering(tmp_path, monkeypatch, encoding):
    page = bilevel_page()
    height, width = page.shape
    if encoding == "g4":  # coded the less common way round, /BlackIs1 true
        image = g4(page, DPI, black_is_1=True)
    else:
        if encoding == "flate_inverted":  # bit 1 is ink, undone by /Decode [1 0]
            data = zlib.compress(np.packbits(page < 128, axis=1).tobytes())
            keys = {"/BitsPerComponent": 1, "/ColorSpace": "/DeviceGray", "/Decode": [1, 0]}
        elif encoding == "image_mask":  # bit 0 paints the (black) fill colour
            data = zlib.compress(np.packbits(page >= 128, axis=1).tobytes())
            keys = {"/ImageMask": True, "/BitsPerComponent": 1}
        else:
            data = zlib.compress((page.astype(">u2") * 257).tobytes())
            keys = {"/BitsPerComponent": 16, "/ColorSpace": "/DeviceGray"}
        image = ScanImage(data, width, height, DPI, {"/Filter": "/FlateDecode", **keys})
    write_image_pdf(tmp_path / "scan.pdf", [image])
    ref = refs_of(tmp_path / "scan.pdf")[0]
    monkeypatch.setattr(ingest, "_single_scan", lambda page: None)
    rendered = load_page(ref, reduce=2)
    monkeypatch.undo()
    monkeypatch.setattr(pdf2image, "convert_from_path", no_rendering)
    extracted = load_page(ref, reduce=2)
    assert extracted.gray.shape == rendered.gray.shape == (height // 2, width // 2)
    assert extracted.gray.mean() == pytest.approx(rendered.gray.mean(), abs=2)
    assert dark_centre(extracted.gray) == pytest.approx(dark_centre(rendered.gray), abs=0.01)
    assert extracted.px_per_mm == pytest.approx(DPI / 2 / 25.4, rel=0.01)


# --- TIFF -----------------------------------------------------------------------------------

def test_multipage_tiff_with_a_g4_page(tmp_path):
    path = tmp_path / "stack.tif"
    gray_page = Image.fromarray(scan(400, 500))
    g4_page = Image.fromarray(scan(600, 800, seed=1)).point(lambda v: 255 if v > 128 else 0)
    with TiffImagePlugin.AppendingTiffWriter(str(path), True) as tiff:
        gray_page.save(tiff, format="TIFF", dpi=(200, 200))
        tiff.newFrame()
        g4_page.convert("1").save(tiff, format="TIFF", compression="group4", dpi=(300, 300))
        tiff.newFrame()
    refs = refs_of(path)
    assert [(r.kind, r.page_count) for r in refs] == [("tiff", 2), ("tiff", 2)]
    first, second = load_page(refs[0]), load_page(refs[1])
    assert first.gray.shape == (500, 400) and first.px_per_mm == pytest.approx(200 / 25.4)
    assert second.gray.shape == (800, 600) and second.gray.dtype == np.uint8
    assert set(np.unique(second.gray)) == {0, 255}
    assert second.px_per_mm == pytest.approx(300 / 25.4)
    assert load_page(refs[1], reduce=2).gray.shape == (400, 300)


def test_tiff_orientation_tag_is_applied(tmp_path):
    path = tmp_path / "turned.tif"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: display rotated 90 degrees clockwise
    Image.fromarray(scan(400, 300)).save(path, exif=exif)
    page = load_page(refs_of(path)[0])
    assert page.gray.shape == (400, 300)
    x, y = dark_centre(page.gray)
    assert x > 0.5 and y < 0.5  # the top-left block is now top-right


# --- PNG / JPEG -----------------------------------------------------------------------------

def test_png_with_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((400, 320, 4), np.uint8)  # fully transparent black...
    rgba[100:200, 100:200] = (0, 0, 0, 255)  # ...except an opaque black square
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path, dpi=(300, 300))
    page = load_page(refs_of(path)[0])
    assert page.gray.shape == (400, 320)
    assert page.gray[10, 10] == 255 and page.gray[150, 150] == 0
    assert page.px_per_mm == pytest.approx(300 / 25.4, rel=0.01)
    assert page.color is None


def test_16_bit_png_is_scaled_to_8_bit(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 320).astype(np.uint16), (400, 1))
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), ramp)
    page = load_page(refs_of(path)[0])
    assert page.gray.dtype == np.uint8
    assert page.gray[0, 0] == 0 and page.gray[0, -1] == 255
    assert page.px_per_mm is None  # no DPI recorded
    assert load_page(refs_of(path)[0], reduce=2).gray.shape == (200, 160)


def test_jpeg_with_exif_orientation_is_upright(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(scan(800, 600)).convert("RGB").save(path, exif=exif, dpi=(200, 200))
    refs = refs_of(path)
    assert refs[0].kind == "image"
    page = load_page(refs[0])
    assert page.gray.shape == (800, 600)
    x, y = dark_centre(page.gray)
    assert x > 0.5 and y < 0.5
    assert page.px_per_mm == pytest.approx(200 / 25.4, rel=0.01)
    half = load_page(refs[0], reduce=2, keep_color=True)
    assert half.gray.shape == (400, 300) and half.color is not None
    assert half.px_per_mm == pytest.approx(100 / 25.4, rel=0.01)


def test_sniffing_ignores_the_extension(tmp_path):
    path = tmp_path / "really_a_png.pdf"
    Image.fromarray(scan(400, 500)).save(path, format="PNG")
    refs = refs_of(path)
    assert [(r.kind, r.page_count) for r in refs] == [("image", 1)]
    assert load_page(refs[0]).gray.shape == (500, 400)


@pytest.mark.parametrize(("mode", "name", "options"), [
    ("P", "palette.png", {}),
    ("LA", "gray_alpha.png", {}),
    ("CMYK", "print_shop.jpg", {}),
    ("I;16", "deep.tif", {"compression": "tiff_lzw"}),
    ("RGB", "photo.webp", {"lossless": True}),
    ("RGB", "old.bmp", {}),
    ("RGB", "named_wrong.jpg", {"format": "BMP"}),
])
def test_image_modes_give_white_paper_and_dark_ink(tmp_path, mode, name, options):
    pixels = np.full((400, 320), 255, np.uint8)
    pixels[100:200, 100:200] = 0
    page = Image.fromarray(pixels)
    converted = page.point(lambda v: v * 257, "I").convert("I;16") if mode == "I;16" else (
        page.convert(mode))
    converted.save(tmp_path / name, **options)
    gray = load_page(refs_of(tmp_path / name)[0]).gray
    assert gray.shape == (400, 320) and gray.dtype == np.uint8
    assert gray[10, 10] >= 250 and gray[150, 150] <= 10


def test_bad_images_are_refused_with_a_reason(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert "empty" in failure_reason(empty)

    tiny = tmp_path / "tiny.png"
    Image.fromarray(scan(400, 500)).resize((120, 150)).save(tiny)
    assert "too small" in failure_reason(tiny) and "120x150" in failure_reason(tiny)

    truncated = tmp_path / "truncated.png"
    Image.fromarray(scan(400, 500)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    assert "damaged" in failure_reason(truncated)


def test_huge_png_header_is_refused_before_decoding(tmp_path):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0)  # 1-bit gray
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 2501)) + chunk(b"IEND", b""))
    assert "too large" in failure_reason(path)


# --- inputs ---------------------------------------------------------------------------------

def test_expand_inputs_walks_folders_in_order_and_skips_hidden(tmp_path):
    (tmp_path / "b" / "inner").mkdir(parents=True)
    (tmp_path / ".cache").mkdir()
    for name in ("b/inner/3.pdf", "b/2.pdf", "a.pdf", ".hidden.pdf", ".cache/x.pdf"):
        (tmp_path / name).write_bytes(b"%PDF-1.4\n")
    single = tmp_path / "single.png"
    single.write_bytes(b"")
    found = expand_inputs([str(tmp_path / "b"), str(single), str(tmp_path)])
    relative = [str(Path(p).relative_to(tmp_path)) for p in found]
    assert relative == ["b/2.pdf", "b/inner/3.pdf", "single.png",
                        "a.pdf", "b/2.pdf", "b/inner/3.pdf", "single.png"]
    with pytest.raises(ConfigError, match="not found"):
        expand_inputs([str(tmp_path / "missing.pdf")])
