"""Input paths -> page images, one page at a time (PDF, TIFF, JPEG, PNG, BMP, WebP).

`list_pages` is cheap (file headers and page counts only) and `load_page` decodes a single page,
so memory does not grow with the length of a stack. A PDF page that is one embedded scan is
extracted as stored; any other PDF page is rendered by poppler (poppler.py), one page per call.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import cv2
import numpy as np
import pikepdf
from PIL import Image, ImageOps

from ..errors import ConfigError, DecodeError
from ..form.layout import MM_PER_INCH, PAPERS_MM
from ..inputs import (
    STDIN_NAME,
    NotARegularFile,
    describe_kind,
    irregular_kind,
    not_regular_reason,
    open_regular,
)
from .poppler import render_page

log = logging.getLogger(__name__)

MAX_PIXELS = 200_000_000  # refuse larger images before decoding (decompression bombs)
MAX_MEGAPIXELS = MAX_PIXELS // 1_000_000  # the same limit, as people are told it
# ...and refuse images whose decoded samples would take more than this: 16-bit colour with
# alpha is 8 bytes a pixel, so a small file under the pixel limit could still take gigabytes.
MAX_DECODED_BYTES = 500_000_000
MAX_DECODED_MB = MAX_DECODED_BYTES // 1_000_000
# Pillow refuses images over twice its MAX_IMAGE_PIXELS on opening: set so that its limit is
# ours, and the limit a person is told is the one applied.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2
MIN_SIDE_PX = 300  # a scanned form is never smaller than this on either side
MIN_DPI = 50  # DPI metadata below this is a placeholder, not a scan resolution
# ...as is DPI that makes the image longer than any scanner glass (A3 is 420 mm): cameras and
# screenshots write 72 or 96 dpi whatever the picture shows.
MAX_PAGE_MM = 450.0
RENDER_DPI = 300
RENDER_PX_PER_MM = RENDER_DPI / MM_PER_INCH
RENDER_TIMEOUT_S = 60  # a hung poppler is stopped after this
REDUCTIONS = (1, 2, 4)
AUTO = 0  # reduce=AUTO: the largest reduction that keeps AUTO_MIN_PX_PER_MM
AUTO_MIN_PX_PER_MM = 5.5  # about 140 dpi: enough to measure pen marks to 0.1 mm
AUTO_SLACK = 0.85  # a page measuring below this share of it was reduced too far: decode again
A4_LONG_SIDE_MM = PAPERS_MM["a4"][1]
PT_PER_INCH = 72.0
# The box poppler assumes for a page that states none (US Letter, in points).
DEFAULT_PAGE_BOX_PT = (0.0, 0.0, 612.0, 792.0)
MIN_COVER = 0.9  # an extractable scan covers at least this share of the page (intersection/union)

_JPEG_MAGIC = b"\xff\xd8\xff"
_JPEG_TAIL_BYTES = 64  # enough of a JPEG's end to find its end-of-image marker past any padding
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image"),
    (_JPEG_MAGIC, "image"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"BM", "image"),
)
STDIN_SOURCE = STDIN_NAME  # a scan read from standard input ('-'), in its records and the store
_SKIPPED_FILES = frozenset({"thumbs.db", "desktop.ini"})
_JPEG_GRAY = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
              4: cv2.IMREAD_REDUCED_GRAYSCALE_4}
_JPEG_COLOR = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4}
_PAINT_OPS = frozenset({"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "BI", "INLINE IMAGE"})
_TEXT_SHOW_OPS = frozenset({"Tj", "TJ", "'", '"'})
_INVISIBLE_TEXT = 3  # text render mode of OCR layers: draws nothing
_EXTRACTION_ERRORS = (pikepdf.PikepdfError, NotImplementedError, OSError, ValueError, cv2.error)

Matrix = tuple[float, float, float, float, float, float]

ENCRYPTED = "PDF is encrypted; remove the password and scan again."
DAMAGED_PDF = "The PDF is damaged or incomplete and cannot be opened; scan or export it again."
NO_PAGES = "The PDF has no pages; scan or export it again."
DAMAGED_PAGE = ("The PDF page is damaged (its content cannot be decoded), so it would show "
                "blank or incomplete; scan or export it again.")
DAMAGED_IMAGE = "The image file is damaged or incomplete and cannot be opened; scan it again."
TRUNCATED_JPEG = ("the page's scan image is incomplete (its JPEG data ends early: a damaged "
                  "or partly copied file), so part of the page may be missing; check it or scan "
                  "it again")
UNDECODABLE = "The page image could not be decoded; the file may be damaged, so scan it again."
EMPTY_FILE = "The file is empty (0 bytes); scan or copy it again."
NOT_AN_IMAGE = ("The file is not a PDF, TIFF, JPEG, PNG, BMP or WebP image; "
                "check that the right file was given.")
BOMB = (f"The image is too large to read safely (over {MAX_MEGAPIXELS} megapixels); "
        "scan at 300 dpi or lower.")


@dataclass(frozen=True)
class PageRef:
    """One page to read: cheap to create, picklable (it is sent to worker processes)."""

    source: str  # the input path as given (or as found inside a given folder)
    page: int  # 1-based page index within its file
    kind: str  # "pdf" | "tiff" | "image" (sniffed from content) | "unknown"
    page_count: int  # pages in the file


@dataclass(frozen=True)
class PageImage:
    """One decoded page: gray is 2-D uint8 with white paper near 255 and dark ink."""

    source: str
    page: int
    gray: np.ndarray
    px_per_mm: float | None  # scan resolution when known, else None
    color: np.ndarray | None  # BGR uint8 when the source was colour and keep_color=True
    damage: str | None = None  # decoded, but the data was incomplete: what a person should know
    reduced_by: int = 1  # the pixels are the source's, reduced by this factor


@dataclass(frozen=True)
class PageFailure:
    """A file (or page) that could not be opened at all, with a reason a person can act on."""

    source: str
    page: int
    reason: str


@dataclass(frozen=True)
class _Placement:
    """The one image a PDF page draws, where it is drawn, and the page's /Rotate."""

    image: pikepdf.Object
    ctm: Matrix
    rotate: int


def expand_inputs(inputs: Sequence[str], skip: Collection[str | os.PathLike[str]] = ()
                  ) -> list[str]:
    """Files as given, folders walked recursively (sorted by path, hidden entries skipped).

    The files and folders in `skip` (the record store, its journals and evidence, the
    output) are left out wherever they lie. A folder that cannot be read is listed as an
    input of its own, so that it gets a record saying so. Raises ConfigError for a path that
    does not exist.
    """
    skipped = {os.path.realpath(path) for path in skip}
    paths: list[str] = []
    for given in inputs:
        if os.path.realpath(given) in skipped:
            log.warning("%s is the record store, its journal or evidence, or the output: it is "
                        "never read as a scan", given)
        elif os.path.isdir(given):
            paths.extend(_walk_folder(given, skipped))
        elif os.path.exists(given):
            paths.append(given)
        else:
            raise ConfigError(f"Input not found: {given}; check the path and try again.")
    return paths


@contextmanager
def spooled_stdin(stream: BinaryIO | None = None) -> Iterator[str]:
    """Standard input copied whole to a temporary file readable by its owner only, removed
    when the block ends: a pipe can be read once, a scan is sniffed, hashed and then read
    page by page (by worker processes), like any file."""
    fd, path = tempfile.mkstemp(prefix="srsform-stdin-", suffix=".scan")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as spool:
            shutil.copyfileobj(stream or sys.stdin.buffer, spool, 1 << 20)
        yield path
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def _walk_folder(folder: str, skipped: Collection[str]) -> list[str]:
    found: list[str] = []

    def unreadable(error: OSError) -> None:
        found.append(error.filename)  # a folder that cannot be listed: its own record

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")
                   and os.path.realpath(os.path.join(root, d)) not in skipped]
        found.extend(path for path in (os.path.join(root, name) for name in files
                                       if not name.startswith(".")
                                       and name.lower() not in _SKIPPED_FILES)
                     if os.path.realpath(path) not in skipped)
    return sorted(found, key=lambda path: os.path.relpath(path, folder).split(os.sep))


def list_pages(path: str) -> list[PageRef | PageFailure]:
    """The pages of one file, from its header only; a file that cannot be opened at all, or
    an input that is not a regular file (never opened), gives exactly one
    PageFailure(path, 1, reason)."""
    not_a_file = irregular_kind(path)
    if not_a_file == "a folder":
        return [PageFailure(path, 1, _folder_reason(path))]
    if not_a_file is not None:
        return [PageFailure(path, 1, not_regular_reason(not_a_file))]
    try:
        kind = _sniff(path)
        count = _count_pages(path, kind)
    except DecodeError as err:
        return [PageFailure(path, 1, str(err))]
    except pikepdf.PikepdfError:
        return [PageFailure(path, 1, DAMAGED_PDF)]
    except (OSError, ValueError, EOFError):  # a TIFF whose chain of pages is broken
        return [PageFailure(path, 1, DAMAGED_IMAGE)]
    return [PageRef(path, page, kind, count) for page in range(1, count + 1)]


def load_page(ref: PageRef, reduce: int = 1, *, keep_color: bool = False) -> PageImage:
    """Decode one page, downscaled by `reduce` (1, 2 or 4; AUTO picks per page from its
    resolution). Raises DecodeError on failure."""
    if reduce not in (*REDUCTIONS, AUTO):
        raise ConfigError(f"reduce must be 0 (auto), 1, 2 or 4, not {reduce}.")
    loaders = {"pdf": _load_pdf_page, "tiff": _load_tiff_page, "image": _load_image}
    if ref.kind not in loaders:
        raise DecodeError(NOT_AN_IMAGE)
    try:
        with warnings.catch_warnings():  # MAX_PIXELS is our limit; Pillow's lower one only warns
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return loaders[ref.kind](ref, reduce, keep_color)
    except Image.DecompressionBombError:
        raise DecodeError(BOMB) from None
    except pikepdf.PikepdfError as err:
        raise DecodeError(DAMAGED_PDF) from err
    except OSError as err:
        raise DecodeError(_os_reason(err)) from err


def _folder_reason(path: str) -> str:
    """Why a folder given or met among the inputs gets a record: it cannot be listed."""
    try:
        with os.scandir(path):
            pass
    except OSError as err:
        return (f"The folder cannot be read ({err.strerror}); check its permissions, then "
                "scan it again.")
    return not_regular_reason(describe_kind(os.stat(path).st_mode) or "a folder")


def _sniff(path: str) -> str:
    try:
        with open_regular(path) as file:
            head = file.read(1024)
    except NotARegularFile as err:
        raise DecodeError(str(err)) from None
    except OSError as err:
        raise DecodeError(_os_reason(err)) from err
    if not head:
        raise DecodeError(EMPTY_FILE)
    if b"%PDF" in head:
        return "pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    raise DecodeError(NOT_AN_IMAGE)


def _os_reason(err: OSError) -> str:
    if isinstance(err, FileNotFoundError | PermissionError):
        return (f"The file cannot be read ({err.strerror}); "
                "check that it still exists and that you may open it.")
    return UNDECODABLE


def _count_pages(path: str, kind: str) -> int:
    if kind == "pdf":
        with _open_pdf(path) as pdf:
            count = len(pdf.pages)
        if count == 0:
            raise DecodeError(NO_PAGES)
        return count
    with _open_pil(path) as img:
        _check_size(*img.size, _bytes_per_pixel(img))
        return getattr(img, "n_frames", 1) if kind == "tiff" else 1


def _open_pdf(path: str) -> pikepdf.Pdf:
    try:
        return pikepdf.Pdf.open(path)
    except pikepdf.PasswordError:
        raise DecodeError(ENCRYPTED) from None
    except (pikepdf.PdfError, OSError) as err:
        raise DecodeError(DAMAGED_PDF) from err


def _open_pil(source: str | BinaryIO) -> Image.Image:
    """Open an image header with Pillow (no pixels decoded yet)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source)
    except Image.DecompressionBombError:
        raise DecodeError(BOMB) from None
    except (OSError, ValueError, SyntaxError) as err:
        raise DecodeError(DAMAGED_IMAGE) from err


def _check_size(width: int, height: int, bytes_per_pixel: int = 1) -> None:
    """Refuse, before decoding, an image too large in pixels or in decoded bytes, or too
    small to be a form."""
    if width * height > MAX_PIXELS:
        raise DecodeError(f"The image is {width}x{height} px, over the "
                          f"{MAX_MEGAPIXELS}-megapixel limit; scan at 300 dpi or lower.")
    decoded = width * height * bytes_per_pixel
    if decoded > MAX_DECODED_BYTES:
        raise DecodeError(f"The image is {width}x{height} px of {bytes_per_pixel} bytes each: "
                          f"{decoded / 1e6:,.0f} MB once decoded, over the {MAX_DECODED_MB} MB "
                          "limit; scan at 300 dpi, 8 bits per colour, or lower.")
    if min(width, height) < MIN_SIDE_PX:
        raise DecodeError(f"Image too small to be a scanned form ({width}x{height} px); "
                          "scan the whole page at 300 dpi.")


def _bytes_per_pixel(img: Image.Image) -> int:
    """Bytes a pixel of `img` takes once decoded, by Pillow or OpenCV (the larger), from its
    header: samples per pixel times bytes per sample."""
    bands = {"P": 4, "PA": 4, "1": 1}.get(img.mode, len(img.getbands()))
    raw = " ".join(str(tile[3]) for tile in getattr(img, "tile", None) or ())
    if img.mode in ("I", "F") or img.mode.startswith("I;32"):
        depth = 4
    elif img.mode.startswith("I;16") or ";16" in raw:
        depth = 2
    else:
        depth = 1
    return bands * depth


def _px_per_mm_from_dpi(dpi: Sequence[float] | None, size: tuple[int, int]) -> float | None:
    """The scan resolution an image file states, or None where it is a placeholder."""
    try:
        values = [float(v) for v in dpi or ()]
    except (TypeError, ValueError):
        return None
    if not values or min(values) < MIN_DPI:
        return None
    px_per_mm = sum(values) / len(values) / MM_PER_INCH
    return None if max(size) / px_per_mm > MAX_PAGE_MM else px_per_mm


def _load_image(ref: PageRef, reduce: int, keep_color: bool) -> PageImage:
    with _open_pil(ref.source) as header:
        _check_size(*header.size, _bytes_per_pixel(header))
        is_gray = header.mode in ("1", "L")
        px_per_mm = _px_per_mm_from_dpi(header.info.get("dpi"), header.size)
        # Without a resolution, assume the page fills the image (photos: it does not quite).
        guess = px_per_mm or max(header.size) / A4_LONG_SIDE_MM * 0.8
        reduce = _resolve_reduce(reduce, guess)
    data = np.fromfile(ref.source, dtype=np.uint8)
    damage = None
    if data[:3].tobytes() == _JPEG_MAGIC:
        # DCT-domain scaling; these flags also apply the EXIF orientation.
        table = _JPEG_COLOR if keep_color and not is_gray else _JPEG_GRAY
        pixels, reduced = cv2.imdecode(data, table[reduce]), True
        damage = TRUNCATED_JPEG if jpeg_truncated(data[-_JPEG_TAIL_BYTES:].tobytes()) else None
    else:
        pixels, reduced = cv2.imdecode(data, cv2.IMREAD_UNCHANGED), False
    if pixels is None:
        raise DecodeError(UNDECODABLE)
    image = _page_image(ref, pixels, px_per_mm, reduce, keep_color, reduced)
    return dataclasses.replace(image, damage=damage) if damage else image


def jpeg_truncated(tail: bytes) -> bool:
    """Whether JPEG data (its last _JPEG_TAIL_BYTES suffice) lacks the end-of-image marker: the
    file was cut short. Decoders still return an image, its missing part filled with grey."""
    return not tail.rstrip(b"\x00\r\n\t ").endswith(b"\xff\xd9")


def _load_tiff_page(ref: PageRef, reduce: int, keep_color: bool) -> PageImage:
    # A file object, not a path: Pillow memory-maps uncompressed TIFFs opened by name and then
    # lays out turned ones (orientation 5-8) with the wrong size.
    with open(ref.source, "rb") as file, _open_pil(file) as img:
        try:
            img.seek(ref.page - 1)
        except EOFError:
            raise DecodeError(_missing_page(ref)) from None
        _check_size(*img.size, _bytes_per_pixel(img))
        px_per_mm = _px_per_mm_from_dpi(img.info.get("dpi"), img.size)
        reduce = _resolve_reduce(reduce, px_per_mm or max(img.size) / A4_LONG_SIDE_MM)
        pixels = _pil_to_array(ImageOps.exif_transpose(img))  # a no-op where Pillow turned it
    return _page_image(ref, pixels, px_per_mm, reduce, keep_color, reduced=False)


def _missing_page(ref: PageRef) -> str:
    return f"Page {ref.page} is missing from the file; it may have changed, so add it again."


def _page_image(ref: PageRef, pixels: np.ndarray, px_per_mm: float | None, reduce: int,
                keep_color: bool, reduced: bool) -> PageImage:
    """Full-size px_per_mm; `reduced` says the pixels are already downscaled by `reduce`."""
    gray, color = _gray_and_color(pixels, keep_color)
    if not reduced and reduce > 1:
        gray = _shrink(gray, reduce)
        color = None if color is None else _shrink(color, reduce)
    return PageImage(
        source=ref.source,
        page=ref.page,
        gray=np.ascontiguousarray(gray),
        px_per_mm=None if px_per_mm is None else px_per_mm / reduce,
        color=None if color is None else np.ascontiguousarray(color),
        reduced_by=reduce,
    )


def _shrink(pixels: np.ndarray, reduce: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    size = (max(1, width // reduce), max(1, height // reduce))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def _gray_and_color(pixels: np.ndarray, keep_color: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Gray (and BGR when kept) uint8 from gray, BGR or BGRA pixels of any integer depth."""
    pixels = _to_uint8(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 2:
        return pixels, None
    if pixels.shape[2] == 4:
        pixels = _flatten_alpha(pixels)
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY), pixels if keep_color else None


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype.kind in "ui":  # 16-bit samples (or Pillow's 32-bit "I" holding them)
        return (np.clip(pixels, 0, 65535) // 257).astype(np.uint8)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _flatten_alpha(bgra: np.ndarray) -> np.ndarray:
    """Composite on white paper; integer maths stays within uint16."""
    alpha = bgra[:, :, 3:4].astype(np.uint16)
    bgr = bgra[:, :, :3].astype(np.uint16)
    return ((bgr * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _pil_to_array(img: Image.Image) -> np.ndarray:
    """Gray, BGR or BGRA array from a Pillow image of any mode."""
    if img.mode == "1":
        return np.asarray(img.convert("L"))
    if img.mode in ("L", "I", "F") or img.mode.startswith("I;16"):
        return np.asarray(img)
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        return cv2.cvtColor(np.asarray(img.convert("RGBA")), cv2.COLOR_RGBA2BGRA)
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2BGR)


# The PDF whose pages are being read, kept open between pages of the same file: opening a
# large stack again for every page costs more than extracting the page's scan from it.
_open_file: list[tuple[tuple[str, int, int, int], pikepdf.Pdf]] = []


def _pdf_for_pages(path: str) -> pikepdf.Pdf:
    """The open PDF at `path`, reused while the same unchanged file is read page by page."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise DecodeError(_os_reason(err)) from None
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size, st.st_ino)
    if _open_file and _open_file[0][0] == key:
        return _open_file[0][1]
    release_open_files()
    pdf = _open_pdf(path)
    _open_file.append((key, pdf))
    return pdf


def release_open_files() -> None:
    """Close the PDF kept open between pages (at the end of a run)."""
    while _open_file:
        _open_file.pop()[1].close()


def _load_pdf_page(ref: PageRef, reduce: int, keep_color: bool) -> PageImage:
    pdf = _pdf_for_pages(ref.source)
    if not 1 <= ref.page <= len(pdf.pages):
        raise DecodeError(_missing_page(ref))
    page = pdf.pages[ref.page - 1]
    _check_content(page.obj)
    placement = _single_scan(page.obj)
    jpeg = _stored_jpeg(placement.image) if placement is not None else None
    truncated = jpeg is not None and jpeg_truncated(jpeg[-_JPEG_TAIL_BYTES:])
    damage = TRUNCATED_JPEG if truncated else None
    if placement is not None:
        extracted = _extract_scan(ref, placement, jpeg, reduce, keep_color)
        if extracted is not None:
            return dataclasses.replace(extracted, damage=damage) if damage else extracted
    box = _page_box(page.obj) or DEFAULT_PAGE_BOX_PT
    rendered = _render_pdf_page(ref, reduce, keep_color, box)
    return dataclasses.replace(rendered, damage=damage) if damage else rendered


def _stored_jpeg(image: pikepdf.Object) -> bytes | None:
    """The JPEG data of a scan stored as one plain JPEG (read once: it is decoded from these
    bytes and checked for being cut short); None for any other image."""
    try:
        if pikepdf.PdfImage(image).filters != ["/DCTDecode"]:
            return None
        return image.read_raw_bytes()
    except _EXTRACTION_ERRORS:
        return None


def _check_content(page: pikepdf.Object) -> None:
    """Raise DecodeError when the page's drawing instructions cannot be decoded at all (qpdf
    only warns about mere truncation): poppler would draw nothing, or part of the page, and the
    damage would pass for a blank page or a spoilt form."""
    contents = page.get("/Contents")
    parts = [contents] if isinstance(contents, pikepdf.Stream) else (
        list(contents) if isinstance(contents, pikepdf.Array) else [])
    for stream in parts:
        if not isinstance(stream, pikepdf.Stream):
            continue
        try:
            stream.read_bytes()
        except pikepdf.PdfError as err:
            raise DecodeError(DAMAGED_PAGE) from err


def _inherited(node: pikepdf.Object, key: str) -> pikepdf.Object | None:
    """A page attribute, looked up through the page tree as PDF inheritance requires."""
    for _ in range(64):  # bounded: a damaged page tree may loop
        if key in node:
            return node[key]
        if "/Parent" not in node:
            return None
        node = node["/Parent"]
    return None


def _page_box(page: pikepdf.Object) -> tuple[float, float, float, float] | None:
    box = _inherited(page, "/CropBox") or _inherited(page, "/MediaBox")
    if box is None or len(box) != 4:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """m x n in PDF's row-vector convention (`cm` sets CTM to operand x CTM)."""
    return (m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3],
            m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3],
            m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5])


def _single_scan(page: pikepdf.Object) -> _Placement | None:
    """The placement of the page's only visible content, an axis-aligned image covering the
    page; None when the page must be rendered instead."""
    rotate = int(_inherited(page, "/Rotate") or 0) % 360
    if rotate % 90 or len(page.get("/Annots", [])) > 0:
        return None
    try:
        instructions = pikepdf.parse_content_stream(page)
    except pikepdf.PikepdfError:
        return None
    ctm: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    text_mode = 0
    stack: list[tuple[Matrix, int]] = []
    drawn: list[tuple[pikepdf.Object, Matrix]] = []
    for instruction in instructions:
        op, operands = str(instruction.operator), instruction.operands
        if op == "q":
            stack.append((ctm, text_mode))
        elif op == "Q" and stack:
            ctm, text_mode = stack.pop()
        elif op == "cm" and len(operands) == 6:
            a, b, c, d, e, f = (float(v) for v in operands)
            ctm = _multiply((a, b, c, d, e, f), ctm)
        elif op == "Tr" and operands:
            text_mode = int(operands[0])
        elif op == "Do" and operands:
            drawn.append((operands[0], ctm))
        elif op in _PAINT_OPS or (op in _TEXT_SHOW_OPS and text_mode != _INVISIBLE_TEXT):
            return None
    if len(drawn) != 1:
        return None
    name, ctm = drawn[0]
    resources = _inherited(page, "/Resources")
    xobjects = resources.get("/XObject") if resources is not None else None
    image = xobjects.get(name) if xobjects is not None else None
    if image is None or image.get("/Subtype") != pikepdf.Name.Image:
        return None
    if not _axis_aligned(ctm) or _cover(ctm, _page_box(page)) < MIN_COVER:
        return None
    return _Placement(image, ctm, rotate)


def _axis_aligned(ctm: Matrix) -> bool:
    a, b, c, d = (abs(v) for v in ctm[:4])
    return min(a + d, b + c) <= 0.01 * max(a + d, b + c)


def _cover(ctm: Matrix, box: tuple[float, float, float, float] | None) -> float:
    """Intersection over union of the drawn image's unit square and the page box."""
    if box is None:
        return 0.0
    xs = [ctm[0] * u + ctm[2] * v + ctm[4] for u, v in ((0, 0), (1, 0), (0, 1), (1, 1))]
    ys = [ctm[1] * u + ctm[3] * v + ctm[5] for u, v in ((0, 0), (1, 0), (0, 1), (1, 1))]
    ix = max(0.0, min(max(xs), box[2]) - max(min(xs), box[0]))
    iy = max(0.0, min(max(ys), box[3]) - max(min(ys), box[1]))
    inter = ix * iy
    union = (max(xs) - min(xs)) * (max(ys) - min(ys)) + (box[2] - box[0]) * (box[3] - box[1])
    return inter / (union - inter) if union > inter else 0.0


def _extract_scan(ref: PageRef, placement: _Placement, jpeg: bytes | None, reduce: int,
                  keep_color: bool) -> PageImage | None:
    """The page's scan as stored in the PDF, upright; None if it must be rendered instead."""
    image, ctm = placement.image, placement.ctm
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    _check_size(width, height, _pdf_bytes_per_pixel(image))
    px_per_mm = (width / np.hypot(ctm[0], ctm[1]) + height / np.hypot(ctm[2], ctm[3])) / 2
    px_per_mm *= PT_PER_INCH / MM_PER_INCH
    reduce = _resolve_reduce(reduce, float(px_per_mm))
    try:
        decoded = _decode_pdf_image(image, jpeg, reduce, keep_color)
    except _EXTRACTION_ERRORS:
        return None
    if decoded is None:
        return None
    pixels, reduced = decoded
    pixels = _orient(pixels, ctm, placement.rotate)
    return _page_image(ref, pixels, float(px_per_mm), reduce, keep_color, reduced)


def _pdf_bytes_per_pixel(image: pikepdf.Object) -> int:
    """Bytes a pixel of a PDF image takes once decoded: its colour components (4 when they
    cannot be told) times bytes per component."""
    try:
        bands = {"1": 1, "L": 1, "P": 3, "RGB": 3, "CMYK": 4}.get(pikepdf.PdfImage(image).mode, 4)
    except _EXTRACTION_ERRORS:
        bands = 4
    return bands * (2 if int(image.get("/BitsPerComponent", 8)) == 16 else 1)


def _decode_pdf_image(image: pikepdf.Object, jpeg: bytes | None, reduce: int,
                      keep_color: bool) -> tuple[np.ndarray, bool] | None:
    """Pixels in stored orientation, and whether they are already reduced (`jpeg`: the
    image's data when it is stored as a plain JPEG, see _stored_jpeg)."""
    pdf_image = pikepdf.PdfImage(image)
    if jpeg is None:
        return _pil_to_array(pdf_image.as_pil_image()), False
    if pdf_image.mode == "CMYK":
        return None  # Adobe-inverted CMYK JPEGs: let poppler decide, as viewers do
    table = _JPEG_COLOR if keep_color and pdf_image.mode != "L" else _JPEG_GRAY
    # PDF viewers ignore EXIF orientation inside embedded JPEGs, so must we.
    flags = table[reduce] | cv2.IMREAD_IGNORE_ORIENTATION
    pixels = cv2.imdecode(np.frombuffer(jpeg, np.uint8), flags)
    if pixels is None:
        return None
    decode = image.get("/Decode")
    if decode is not None and len(decode) >= 2 and float(decode[0]) > float(decode[1]):
        pixels = 255 - pixels
    return pixels, True


def _orient(pixels: np.ndarray, ctm: Matrix, rotate: int) -> np.ndarray:
    """Turn stored image pixels the way the page displays them (the CTM, then /Rotate)."""
    # Directions on the displayed page (y down) in which image columns and rows increase;
    # image row 0 is drawn at the top of the unit square.
    col, row = (ctm[0], -ctm[1]), (-ctm[2], ctm[3])
    for _ in range(rotate // 90):  # /Rotate turns the page clockwise
        col, row = (-col[1], col[0]), (-row[1], row[0])
    if abs(col[1]) > abs(col[0]):
        pixels, col, row = np.swapaxes(pixels, 0, 1), row, col
    if col[0] < 0:
        pixels = pixels[:, ::-1]
    if row[1] < 0:
        pixels = pixels[::-1]
    return pixels


def _render_pdf_page(ref: PageRef, reduce: int, keep_color: bool,
                     box: tuple[float, float, float, float]) -> PageImage:
    """Render one page with poppler; a hung poppler is stopped after RENDER_TIMEOUT_S."""
    width, height = (round(size / PT_PER_INCH * RENDER_DPI) for size in
                     (box[2] - box[0], box[3] - box[1]))
    _check_size(width, height, 1 if not keep_color else 3)
    reduce = _resolve_reduce(reduce, RENDER_PX_PER_MM)
    pixels = render_page(ref.source, ref.page, dpi=RENDER_DPI // reduce, gray=not keep_color,
                         timeout_s=RENDER_TIMEOUT_S)
    if pixels is None:
        raise DecodeError(_missing_page(ref))
    if pixels.ndim == 3 and _is_neutral(pixels):
        pixels = pixels[:, :, 0]
    return _page_image(ref, pixels, RENDER_PX_PER_MM, reduce, keep_color, reduced=True)


def reduction_for(px_per_mm: float, reduced_by: int) -> int:
    """The AUTO reduction a page measured at `px_per_mm` (after a reduction by `reduced_by`)
    should have had: smaller than `reduced_by` when its stated resolution misled AUTO (not
    merely a print a few percent small: AUTO_SLACK)."""
    if px_per_mm >= AUTO_MIN_PX_PER_MM * AUTO_SLACK:
        return reduced_by
    return min(reduced_by, _resolve_reduce(AUTO, px_per_mm * reduced_by))


def _resolve_reduce(reduce: int, px_per_mm: float) -> int:
    """`reduce` itself, or for AUTO the largest factor that keeps AUTO_MIN_PX_PER_MM."""
    if reduce != AUTO:
        return reduce
    fitting = [r for r in REDUCTIONS if px_per_mm / r >= AUTO_MIN_PX_PER_MM]
    return max(fitting, default=1)


def _is_neutral(bgr: np.ndarray) -> bool:
    """True when a colour rendering holds only grays (a page printed in black)."""
    return bool(np.array_equal(bgr[:, :, 0], bgr[:, :, 1])
                and np.array_equal(bgr[:, :, 1], bgr[:, :, 2]))
