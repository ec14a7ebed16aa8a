"""Render one PDF page with poppler (through pdf2image): the page's pixels, or a DecodeError.

Only PDF pages that are not one embedded scan come here (ingest.py extracts those as stored),
so pdf2image is imported when a page is actually rendered, never when this module loads.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import DecodeError

RENDER_FAILED = ("The PDF page could not be rendered; the file may be damaged, "
                 "so scan or export it again.")


def timeout_reason(timeout_s: float) -> str:
    """The reason given for a page poppler did not render within `timeout_s`."""
    return (f"The PDF page took longer than {timeout_s:g} s to render; "
            "scan it again or export it as a simpler PDF.")


def render_page(path: str, page: int, *, dpi: int, gray: bool, timeout_s: float
                ) -> np.ndarray | None:
    """Page `page` (1-based) of the PDF at `path`, cropped to its CropBox, at `dpi`: 2-D uint8
    when `gray`, else BGR uint8; None when poppler returns no such page.

    Raises DecodeError (timeout_reason) when poppler takes longer than `timeout_s`, and
    DecodeError (RENDER_FAILED) when it cannot render the page.
    """
    import pdf2image
    from pdf2image.exceptions import (
        PDFInfoNotInstalledError,
        PDFPageCountError,
        PDFPopplerTimeoutError,
        PDFSyntaxError,
    )

    render_errors = (PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError, OSError,
                     ValueError)
    try:
        # convert_from_path asks pdfinfo for the page count without a time limit; a document
        # that hangs poppler hangs pdfinfo too, so that question is asked first, with one.
        pdf2image.pdfinfo_from_path(path, timeout=timeout_s)
        images = pdf2image.convert_from_path(
            path, dpi=dpi, first_page=page, last_page=page, grayscale=gray, use_cropbox=True,
            timeout=timeout_s)
    except PDFPopplerTimeoutError:
        raise DecodeError(timeout_reason(timeout_s)) from None
    except render_errors as err:
        raise DecodeError(RENDER_FAILED) from err
    if not images:
        return None
    pixels = np.asarray(images[0])
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels[:, :, :3], cv2.COLOR_RGB2BGR)
    return pixels
