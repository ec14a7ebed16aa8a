"""process_page: one page (ingest -> register -> measure -> score) behind the per-page
error boundary; process_stack: pages in input order, the next one read ahead.

Workers are pure: a PageRef in, a PageResult out. Every input page yields exactly one
PageResult, whatever happens to it.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np

from ..errors import PageError, UnreadableError
from ..form.layout import LINE_LENGTH_MM, PRINT_SCALE_TOLERANCE, QR_BOX, Layout, build_layout
from ..form.pagecode import PageCode
from ..form.templates import Template
from ..records import PageResult
from .evidence import make_evidence
from .ingest import (
    AUTO,
    PageFailure,
    PageImage,
    PageRef,
    list_pages,
    load_page,
    reduction_for,
    release_open_files,
)
from .measure import LineMeasurement, measure_line
from .qrcode import read_page_code, search_page_code
from .register import Registration, describe_non_form, find_markers, registration_from_markers
from .score import score_page

log = logging.getLogger(__name__)

T = TypeVar("T")

IMPLAUSIBLE_SCALE_OFF = 0.15  # further off than any copier's "fit": another cause is likelier


@dataclass(frozen=True)
class ScanConfig:
    """What a worker needs besides the page: the templates it may meet."""

    templates: tuple[Template, ...]
    fallback: Template | None = None  # used, with review, when a page's QR cannot be read
    reduce: int = AUTO  # decode each page at the smallest size that still measures well
    evidence: bool = False  # draw the annotated page and line crops (see evidence.py)
    boundary_margin_mm: float | None = None  # overrides every template's (see score.py)

    def find_layout(self, code: PageCode) -> tuple[Template, Layout] | None:
        """The template and layout a page was printed with (same version preferred)."""
        matches = [(t, layout) for t in self.templates
                   if t.id == code.template_id
                   and (layout := build_layout(t)).layout_id == code.layout_id]
        matches.sort(key=lambda pair: pair[0].version != code.template_version)
        return matches[0] if matches else None


def iter_page_refs(paths: Sequence[str]) -> Iterator[PageRef | PageFailure]:
    """Every page of every file, in input order (files that fail yield one failure)."""
    for path in paths:
        yield from list_pages(path)


def process_page(ref: PageRef | PageFailure, config: ScanConfig) -> PageResult:
    """Read one page; never raises: failures become a record with a status and reason."""
    return finish_page(load_stage(ref, config), config)


@dataclass(frozen=True)
class RegisteredPage:
    """A decoded page placed on its form: where its marks are, how the form sits in the
    image, its page code (None if unreadable), and the hash of its pixels."""

    image: PageImage
    sha256: str
    markers: dict[int, np.ndarray]
    registration: Registration
    code: PageCode | None


def load_stage(ref: PageRef | PageFailure, config: ScanConfig) -> RegisteredPage | PageResult:
    """ingest -> register one page; never raises: a page that cannot be decoded or placed
    yields its record (error, not_a_form, unreadable) instead."""
    if isinstance(ref, PageFailure):
        return PageResult(ref.source, ref.page, "error", reasons=(ref.reason,))

    def load() -> RegisteredPage:
        image = load_page(ref, reduce=config.reduce)
        try:
            page = register_page(image)
        except PageError as exc:
            if image.damage:  # the likely cause, or at least worth knowing
                raise PageError(f"{exc}; {image.damage}", exc.status) from None
            raise
        if config.reduce == AUTO:
            # The file's stated resolution chose the reduction; the marks measure the real one.
            # When it was overstated, decode again at the size the page needs.
            better = reduction_for(page.registration.px_per_mm, image.reduced_by)
            if better < image.reduced_by:
                page = register_page(load_page(ref, reduce=better))
        return page

    return _guarded(ref.source, ref.page, load)


def finish_page(loaded: RegisteredPage | PageResult, config: ScanConfig) -> PageResult:
    """measure -> score a registered page (or pass on a failed one's record); never raises."""
    if isinstance(loaded, PageResult):
        return loaded
    return _guarded(loaded.image.source, loaded.image.page,
                    lambda: measure_page(loaded, config))


def image_sha256(gray: np.ndarray) -> str:
    """The hash that recognises a page image scanned again (its decoded pixels)."""
    return hashlib.sha256(np.ascontiguousarray(gray).data).hexdigest()


def _guarded(source: str, page: int, step: Callable[[], T]) -> T | PageResult:
    """The per-page error boundary: one page never sinks a stack."""
    try:
        return step()
    except PageError as exc:
        return PageResult(source, page, exc.status, reasons=(str(exc),))
    except MemoryError:
        return PageResult(source, page, "error", reasons=("out of memory on this page",))
    except Exception as exc:  # noqa: BLE001 - the per-page boundary
        log.debug("unexpected error on %s page %d:\n%s", source, page, traceback.format_exc())
        return PageResult(source, page, "error",
                          reasons=(f"internal error ({type(exc).__name__}); run with -vv "
                                   "for details and please report it",))


def read_page(image: PageImage, config: ScanConfig) -> PageResult:
    """register -> identify -> measure -> score one decoded page (raises PageError)."""
    return measure_page(register_page(image), config)


def register_page(image: PageImage) -> RegisteredPage:
    """Find the page's registration marks, place the form and read its page code.

    Raises NotAFormError (no marks, no code) or UnreadableError (ours, but not placeable).
    """
    gray = image.gray
    markers = find_markers(gray)
    if not markers:
        code = search_page_code(gray)
        if code is None:
            raise describe_non_form(gray)
        raise UnreadableError("srsform page code found but no registration marks: "
                              "page damaged, cropped or badly photographed")
    registration = registration_from_markers(markers)
    code = read_page_code(gray, registration.homography, QR_BOX)
    return RegisteredPage(image, image_sha256(gray), markers, registration, code)


def measure_page(page: RegisteredPage, config: ScanConfig) -> PageResult:
    """identify -> measure -> score a registered page (raises PageError)."""
    image, registration, code = page.image, page.registration, page.code
    gray = image.gray
    reasons = list(registration.reasons)
    template, layout = _identify(code, config, reasons)
    measurements = [measure_line(gray, registration.homography, geom, registration.px_per_mm)
                    for geom in layout.lines]
    scored = score_page(template, measurements, config.boundary_margin_mm)
    print_scale = _print_scale(measurements, registration.homography, image.px_per_mm)
    flags = list(scored.flags)
    if print_scale is not None and abs(print_scale - 1.0) > PRINT_SCALE_TOLERANCE:
        flags.append("print_scale_off")
        cause = ("fit to page or a copy?" if abs(print_scale - 1.0) <= IMPLAUSIBLE_SCALE_OFF
                 else "printed two to a sheet, or the image's stated resolution is wrong?")
        reasons.append(f"form printed at {print_scale:.1%} of true size ({cause}); scores are "
                       "measured against the line ends, so they stand")
    for item in scored.items:
        reasons += [f"{item.key}: {why}" for why in item.reasons]
    if image.damage:
        reasons.append(image.damage)
    needs_person = (any(item.status != "ok" for item in scored.items) or code is None
                    or image.damage is not None)
    return PageResult(
        source=image.source, page=image.page, status="review" if needs_person else "ok",
        template=template.id, layout=layout.layout_id,
        serial=code.serial if code else None, client=code.client if code else None,
        session=code.session if code else None, rotation=registration.rotation,
        print_scale=print_scale, items=scored.items, total=scored.total, flags=tuple(flags),
        rule=scored.rule, reasons=tuple(reasons), image_sha256=page.sha256,
        evidence=make_evidence(gray, registration, page.markers, layout.lines, measurements,
                               scored.items) if config.evidence else None,
    )


def _identify(code: PageCode | None, config: ScanConfig, reasons: list[str]
              ) -> tuple[Template, Layout]:
    if code is None:
        if config.fallback is None:
            raise UnreadableError("the page's QR code could not be read; to read it anyway "
                                  "as a given form, pass --template")
        reasons.append(f"QR code unreadable: read as '{config.fallback.id}' (given with "
                       "--template); check the page identity")
        return config.fallback, build_layout(config.fallback)
    found = config.find_layout(code)
    if found is None:
        raise UnreadableError(f"page printed with layout {code.layout_id} of template "
                              f"'{code.template_id}', which is not known here: pass that "
                              "template file with --template")
    return found


def _print_scale(measurements: Iterable[LineMeasurement], homography: np.ndarray,
                 scan_px_per_mm: float | None) -> float | None:
    """Printed line length over LINE_LENGTH_MM, from the scan's own resolution; None if unknown."""
    if not scan_px_per_mm:
        return None
    lengths = []
    for m in measurements:
        if not m.ends_found:
            continue
        ends = np.array([[m.left_end_mm], [m.right_end_mm]], dtype=np.float64)
        p = cv2.perspectiveTransform(ends, homography).reshape(2, 2)
        lengths.append(float(np.linalg.norm(p[1] - p[0])) / scan_px_per_mm / LINE_LENGTH_MM)
    return round(float(np.median(lengths)), 4) if lengths else None


def process_stack(refs: Iterable[PageRef | PageFailure], config: ScanConfig,
                  read_ahead: bool = True) -> Iterator[PageResult]:
    """Process pages one at a time, in input order, in this process.

    With `read_ahead`, a second thread decodes and registers the next page while this one is
    measured (OpenCV releases the GIL), so that at most two decoded pages are held at once.
    """
    try:
        if not read_ahead:
            for ref in refs:
                yield process_page(ref, config)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="srsform-decode") as pool:
            pending: deque[Future[RegisteredPage | PageResult]] = deque()
            for ref in refs:
                pending.append(pool.submit(load_stage, ref, config))
                if len(pending) > 1:
                    yield finish_page(pending.popleft().result(), config)
            while pending:
                yield finish_page(pending.popleft().result(), config)
    finally:
        release_open_files()
