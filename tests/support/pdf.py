"""Image-only PDFs as a document scanner writes them: each page draws one image XObject
over the whole page, the page being the image's size at its resolution.

The synthetic stacks (synth.write_stack), the speed benchmark's stacks, the hostile corpus and
the ingest and store tests all write their scanner PDFs here. The bytes written for the same
images are the same on every run (deterministic ids), which the benchmarks' baselines rely on.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from PIL import Image

_COLOR_SPACES = {"L": "/DeviceGray", "RGB": "/DeviceRGB", "CMYK": "/DeviceCMYK"}


@dataclass(frozen=True)
class ScanImage:
    """One encoded page image: its stream data, size in pixels, resolution, and the image
    dictionary keys (Filter, ColorSpace, BitsPerComponent, DecodeParms, ...) that describe it."""

    data: bytes
    width: int
    height: int
    dpi: float
    keys: Mapping[str, object] = field(default_factory=dict)

    @property
    def size_pt(self) -> tuple[float, float]:
        """The page size (width, height) in points that shows the image at its resolution."""
        return self.width * 72 / self.dpi, self.height * 72 / self.dpi


def jpeg(pixels: np.ndarray, dpi: float, quality: int) -> ScanImage:
    """`pixels` (8-bit gray, or BGR as OpenCV holds colour) as a baseline JPEG page image."""
    ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    space = "/DeviceRGB" if pixels.ndim == 3 else "/DeviceGray"
    return ScanImage(data.tobytes(), pixels.shape[1], pixels.shape[0], dpi,
                     {"/Filter": "/DCTDecode", "/ColorSpace": space, "/BitsPerComponent": 8})


def jpeg_data(data: bytes, dpi: float) -> ScanImage:
    """JPEG bytes already encoded (gray, RGB or CMYK, as their header says) as a page image.
    An Adobe CMYK JPEG (as Pillow and Photoshop write it) stores its inks inverted, undone by
    the image's /Decode array."""
    with Image.open(io.BytesIO(data)) as header:
        (width, height), mode = header.size, header.mode
    keys: dict[str, object] = {"/Filter": "/DCTDecode", "/ColorSpace": _COLOR_SPACES[mode],
                               "/BitsPerComponent": 8}
    if mode == "CMYK":
        keys["/Decode"] = [1, 0] * 4
    return ScanImage(data, width, height, dpi, keys)


def g4(gray: np.ndarray, dpi: float, black_is_1: bool = False) -> ScanImage:
    """A two-level page (0 black, 255 white) as CCITT G4 data in one strip, as fax machines
    and scanners write it. With `black_is_1` the coded runs are inverted and /BlackIs1 says
    so: the same picture, the less common way."""
    # The G4 coder codes 0 bits as white runs: paper must be 0 for a conventional stream.
    image = Image.fromarray(gray if black_is_1 else 255 - gray).convert("1")
    buf = io.BytesIO()
    image.save(buf, format="TIFF", compression="group4", tiffinfo={278: image.height})
    tiff = Image.open(buf)
    start, size = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    height, width = gray.shape
    parms = {"/K": -1, "/Columns": width, "/Rows": height, "/BlackIs1": black_is_1}
    return ScanImage(buf.getvalue()[start:start + size], width, height, dpi,
                     {"/Filter": "/CCITTFaxDecode", "/DecodeParms": parms,
                      "/ColorSpace": "/DeviceGray", "/BitsPerComponent": 1})


def _pdf_value(value: object) -> object:
    """A key's value as a PDF object: "/Name" strings become names, dicts dictionaries."""
    if isinstance(value, str) and value.startswith("/"):
        return pikepdf.Name(value)
    if isinstance(value, Mapping):
        return pikepdf.Dictionary({k: _pdf_value(v) for k, v in value.items()})
    return value


def add_image_page(pdf: pikepdf.Pdf, image: ScanImage, rotate: int = 0,
                   page_pt: tuple[float, float] | None = None,
                   ctm: str | None = None) -> pikepdf.Page:
    """Append a page that draws `image` (as /Im0) over all of it; the page is `page_pt` in
    points (default: the image at its resolution), shown turned by `rotate` degrees. `ctm`
    replaces the placement matrix (six numbers), e.g. to draw the image turned."""
    stream = pikepdf.Stream(pdf, image.data)
    stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    stream.Width, stream.Height = image.width, image.height
    for key, value in image.keys.items():
        stream[key] = _pdf_value(value)
    width_pt, height_pt = page_pt or image.size_pt
    page = pdf.add_blank_page(page_size=(width_pt, height_pt))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
    placement = ctm or f"{width_pt:.4f} 0 0 {height_pt:.4f} 0 0"
    page.Contents = pdf.make_stream(f"q {placement} cm /Im0 Do Q".encode())
    if rotate:
        page.Rotate = rotate
    return page


def write_image_pdf(path: Path, images: Iterable[ScanImage], rotate: int = 0,
                    page_pt: tuple[float, float] | None = None, ctm: str | None = None) -> Path:
    """An image-only PDF, one page per image, each page as add_image_page makes it. Saved with
    a deterministic id, through a temporary file beside `path`: the same images give the same
    bytes, and an interrupted write leaves no half file."""
    pdf = pikepdf.new()
    for image in images:
        add_image_page(pdf, image, rotate, page_pt, ctm)
    tmp = path.with_name(path.name + ".tmp")
    pdf.save(tmp, deterministic_id=True)
    tmp.replace(path)
    return path
