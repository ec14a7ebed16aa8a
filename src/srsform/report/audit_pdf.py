"""The audit report: a PDF that lets a person check every score against the original.

A first page summarises the pages by status, the items needing review, and the spread of
print scale and confidence. Then one page per form: the annotated original, and for each
item its line cut out at true scale with a 0-10 cm ruler laid from the line's detected ends
and the mark read. Draws from the store and the evidence files; never measures.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import BinaryIO

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ..form.layout import CROP_PX_PER_MM, MARK_ZONE_HALF_HEIGHT_MM, PRINT_SCALE_TOLERANCE
from ..records import AuditItem, AuditPage
from ..store import Store

MARGIN_MM = 15.0
THUMB_W_MM = 52.0
ITEM_BLOCK_MM = 34.0
STATUS_RGB = {"ok": (0.16, 0.6, 0.16), "uncertain": (1.0, 0.55, 0.0),
              "multiple": (0.75, 0.0, 0.75), "missing": (0.85, 0.0, 0.0)}


def select_pages(store: Store, only_flagged: bool = False, client: str | None = None,
                 since: str | None = None) -> list[AuditPage]:
    """The stored pages to report, oldest first, with their items and evidence."""
    pages = store.audit_pages(client=client, since=since)
    if only_flagged:
        pages = [page for page in pages
                 if page.status != "ok" or any(i.status != "ok" for i in page.items)]
    return pages


def write_audit_pdf(store: Store, pages: list[AuditPage], out: str | Path | BinaryIO,
                    title_note: str = "") -> int:
    """Write the report to a path or binary stream; returns the number of form pages in it."""
    canvas = Canvas(str(out) if isinstance(out, Path) else out, pagesize=A4)
    canvas.setTitle("srsform audit report")
    canvas.setCreator("srsform")
    _summary_page(canvas, pages, title_note)
    base = store.path.parent
    forms = 0
    for page in pages:
        if page.status in ("ok", "review"):
            _form_page(canvas, page, base)
            forms += 1
    canvas.save()
    return forms


def _y(mm_from_top: float) -> float:
    return A4[1] - mm_from_top * mm


def _summary_page(canvas: Canvas, pages: list[AuditPage], note: str) -> None:
    x = MARGIN_MM * mm
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(x, _y(20), "srsform audit report")
    canvas.setFont("Helvetica", 9)
    if note:
        canvas.drawString(x, _y(27), note)
    lines = [f"Pages: {len(pages)}"]
    lines += [f"  {status}: {n}" for status, n in sorted(Counter(p.status for p in pages)
                                                          .items())]
    items = [i for p in pages for i in p.items]
    review = [i for i in items if i.status != "ok"]
    by_status = Counter(i.status for i in review)
    detail = ", ".join(f"{s} {n}" for s, n in sorted(by_status.items())) or "none"
    lines += ["", f"Items: {len(items)}; needing review: {len(review)} ({detail})",
              f"Items corrected by a person: {sum(i.corrected for i in items)}"]
    scales = sorted(p.print_scale for p in pages if p.print_scale is not None)
    if scales:
        lines += ["", f"Print scale (line length / 100 mm): min {scales[0]:.3f}, median "
                  f"{scales[len(scales) // 2]:.3f}, max {scales[-1]:.3f}; off by more than "
                  f"{PRINT_SCALE_TOLERANCE:.0%}: "
                  f"{sum(abs(s - 1) > PRINT_SCALE_TOLERANCE for s in scales)} page(s)"]
    confidences = [i.confidence for i in items if i.status != "missing"]
    if confidences:
        buckets = Counter(min(9, int(c * 10)) for c in confidences)
        lines += ["", "Confidence of items read (count per band):"]
        lines += [f"  {b / 10:.1f}-{(b + 1) / 10:.1f}: {buckets[b]}" for b in range(10)
                  if buckets[b]]
    for n, text in enumerate(lines):
        canvas.drawString(x, _y(36 + n * 5), text)
    canvas.showPage()


def _form_page(canvas: Canvas, page: AuditPage, base: Path) -> None:
    x = MARGIN_MM * mm
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(x, _y(15), f"{page.source}  page {page.page}")
    canvas.setFont("Helvetica", 8.5)
    who = f"client {page.client} session {page.session}" if page.client else "blank form"
    canvas.drawString(x, _y(21), f"{page.template}  serial {page.serial}  {who}  scanned "
                      f"{page.scanned_at}")
    total = "-" if page.total is None else f"{page.total:g}"
    canvas.drawString(x, _y(26), f"status {page.status}   total {total}   flags "
                      f"{', '.join(page.flags) or 'none'}")
    if page.evidence_path and (base / page.evidence_path).exists():
        thumb_h = THUMB_W_MM * 1.42
        canvas.drawImage(str(base / page.evidence_path), A4[0] - (MARGIN_MM + THUMB_W_MM) * mm,
                         _y(32 + thumb_h), THUMB_W_MM * mm, thumb_h * mm,
                         preserveAspectRatio=True, anchor="n")
    for n, item in enumerate(page.items):
        _item_block(canvas, item, base, 36 + n * ITEM_BLOCK_MM)
    reasons_y = 36 + len(page.items) * ITEM_BLOCK_MM + 4
    canvas.setFont("Helvetica", 7.5)
    for n, reason in enumerate(page.reasons[:12]):
        canvas.drawString(x, _y(reasons_y + n * 4), reason[:150])
    canvas.showPage()


def _item_block(canvas: Canvas, item: AuditItem, base: Path, top_mm: float) -> None:
    """The item's line at true scale (1 mm on paper = 1 mm of form), a ruler, the mark."""
    x0 = MARGIN_MM * mm
    r, g, b = STATUS_RGB.get(item.status, (0.3, 0.3, 0.3))
    canvas.setFillColorRGB(r, g, b)
    canvas.setFont("Helvetica-Bold", 9)
    reading = (f"{item.mm:.1f} mm = {item.score:g}" if item.mm is not None
               and item.score is not None else "no reading")
    corrected = "  (corrected by a person since)" if item.corrected else ""
    canvas.drawString(x0, _y(top_mm + 3), f"{item.key}: {reading}   {item.status}, confidence "
                      f"{item.confidence:.2f}{corrected}")
    canvas.setFillColorRGB(0, 0, 0)
    if not item.crop_path or not (base / item.crop_path).exists():
        canvas.setFont("Helvetica", 8)
        canvas.drawString(x0, _y(top_mm + 9), "(no evidence image: scanned with --no-evidence)")
        return
    crop_top = top_mm + 5
    height_mm = 2 * MARK_ZONE_HALF_HEIGHT_MM
    with Image.open(base / item.crop_path) as image:
        width_mm = image.width / CROP_PX_PER_MM
    canvas.drawImage(str(base / item.crop_path), x0, _y(crop_top + height_mm),
                     width_mm * mm, height_mm * mm)
    if item.left_end_mm is None or item.right_end_mm is None or item.crop_x_mm is None:
        return
    left = x0 + (item.left_end_mm - item.crop_x_mm) * mm
    right = x0 + (item.right_end_mm - item.crop_x_mm) * mm
    ruler_y = _y(crop_top + height_mm + 1)
    canvas.setLineWidth(0.3)
    canvas.line(left, ruler_y, right, ruler_y)
    canvas.setFont("Helvetica", 6)
    for tick in range(101):
        tx = left + (right - left) * tick / 100
        size = 3.0 if tick % 10 == 0 else (2.0 if tick % 5 == 0 else 1.0)
        canvas.line(tx, ruler_y, tx, ruler_y - size * mm)
        if tick % 10 == 0:
            canvas.drawCentredString(tx, ruler_y - 6 * mm, str(tick // 10))
    if item.mark_x_mm is not None:
        mx = x0 + (item.mark_x_mm - item.crop_x_mm) * mm
        canvas.setStrokeColorRGB(r, g, b)
        canvas.setLineWidth(0.8)
        canvas.line(mx, _y(crop_top), mx, ruler_y - 3 * mm)
        canvas.setStrokeColorRGB(0, 0, 0)
