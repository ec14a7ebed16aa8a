"""Layout -> PDF with reportlab: the only module that draws PDFs.

Every position comes from layout.py in form millimetres and passes through `_to_pt`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from .layout import (
    PAPERS_MM,
    QR_QUIET_MODULES,
    Layout,
    LineGeom,
    Rect,
    marker_cells,
    page_offset_mm,
)
from .pagecode import PageCode
from .templates import Template

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
PRINT_NOTE = "Print at 100% (actual size). Do not use 'fit to page'."


@dataclass(frozen=True)
class PageSpec:
    """What to print on one page: its identity and the pre-filled fields, if any."""

    code: PageCode
    date: str | None = None


class _Page:
    """Draws one page, converting form millimetres to PDF points."""

    def __init__(self, canvas: Canvas, paper: str) -> None:
        self.c = canvas
        self.off_x, self.off_y = page_offset_mm(paper)
        self.page_h = PAPERS_MM[paper][1]

    def pt(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        """Form mm (origin top-left, y down) to PDF points (origin bottom-left, y up)."""
        return (self.off_x + x_mm) * mm, (self.page_h - self.off_y - y_mm) * mm

    def rect(self, box: Rect) -> None:
        x, y = self.pt(box.x_mm, box.y_mm + box.h_mm)
        self.c.rect(x, y, box.w_mm * mm, box.h_mm * mm, stroke=0, fill=1)

    def text(self, x_mm: float, y_mm: float, text: str, size: float = 9,
             font: str = FONT, align: str = "left") -> None:
        self.c.setFont(font, size)
        x, y = self.pt(x_mm, y_mm)
        draw = {"left": self.c.drawString, "right": self.c.drawRightString,
                "centre": self.c.drawCentredString}[align]
        draw(x, y, text)


def render_pdf(template: Template, layout: Layout, pages: Iterable[PageSpec], paper: str,
               out: str | Path | BinaryIO) -> int:
    """Write one form page per PageSpec to `out`; return the number of pages written."""
    target = str(out) if isinstance(out, Path) else out
    canvas = Canvas(target, pagesize=(PAPERS_MM[paper][0] * mm, PAPERS_MM[paper][1] * mm))
    canvas.setTitle(f"{template.title} (srsform {template.id})")
    canvas.setCreator("srsform")
    count = 0
    for spec in pages:
        _draw_page(_Page(canvas, paper), template, layout, spec)
        canvas.showPage()
        count += 1
    canvas.save()
    return count


def _draw_page(page: _Page, template: Template, layout: Layout, spec: PageSpec) -> None:
    page.c.setFillColorRGB(0, 0, 0)
    page.c.setStrokeColorRGB(0, 0, 0)
    for marker in layout.markers:
        _draw_marker(page, marker.marker_id, marker.x_mm, marker.y_mm, marker.size_mm)
    _draw_qr(page, layout.qr_box, spec.code.payload())
    x, y = layout.title_at
    page.text(x, y, template.title, size=15, font=FONT_BOLD)
    _draw_fields(page, layout, spec)
    box = layout.instructions_box
    for i, line in enumerate(simpleSplit(template.instructions, FONT, 10, box.w_mm * mm)[:4]):
        page.text(box.x_mm, box.y_mm + 4.0 + i * 4.5, line, size=10)
    for item, geom in zip(template.items, layout.lines, strict=True):
        _draw_line(page, geom, item.label, item.left, item.right)
    fx, fy = layout.footer_at
    page.text(fx, fy - 5.0, PRINT_NOTE, size=8)
    page.text(fx, fy, f"srsform {template.id} {template.version} | layout {layout.layout_id} | "
              f"page {spec.code.serial}", size=7)


def _draw_marker(page: _Page, marker_id: int, x_mm: float, y_mm: float, size_mm: float) -> None:
    cells = marker_cells(marker_id)
    cell_mm = size_mm / cells.shape[0]
    for row in range(cells.shape[0]):
        for col in range(cells.shape[1]):
            if cells[row, col]:
                # Overlap neighbours slightly so no hairline gaps appear between cells.
                page.rect(Rect(x_mm + col * cell_mm, y_mm + row * cell_mm,
                               cell_mm + 0.02, cell_mm + 0.02))


def _draw_qr(page: _Page, box: Rect, payload: str) -> None:
    # Level L keeps the modules large: phone photos lose sharpness, not whole modules.
    widget = QrCodeWidget(payload, barLevel="L", barBorder=QR_QUIET_MODULES)
    x0, y0, x1, y1 = widget.getBounds()
    scale = box.w_mm * mm / max(x1 - x0, y1 - y0)
    drawing = Drawing(box.w_mm * mm, box.h_mm * mm, transform=[scale, 0, 0, scale, 0, 0])
    drawing.add(widget)
    x, y = page.pt(box.x_mm, box.y_mm + box.h_mm)
    renderPDF.draw(drawing, page.c, x, y)


def _draw_fields(page: _Page, layout: Layout, spec: PageSpec) -> None:
    x, y = layout.fields_at
    values = [
        ("Client code", spec.code.client),
        ("Session", str(spec.code.session) if spec.code.session is not None else None),
        ("Date", spec.date),
    ]
    page.c.setLineWidth(0.3)
    for i, (label, value) in enumerate(values):
        row_y = y + 6.0 + i * 8.0
        page.text(x, row_y, f"{label}:", size=10)
        x0, y0 = page.pt(x + 24.0, row_y + 1.0)
        x1, _ = page.pt(x + 80.0, row_y + 1.0)
        page.c.line(x0, y0, x1, y0)
        if value:
            page.text(x + 26.0, row_y, value, size=11, font=FONT_BOLD)


def _draw_line(page: _Page, geom: LineGeom, label: str, left: str, right: str) -> None:
    label_box = geom.label_box
    page.text(geom.x0_mm, label_box.y_mm + label_box.h_mm - 1.0, label, size=10, font=FONT_BOLD)
    half_t = geom.thickness_mm / 2
    page.rect(Rect(geom.x0_mm, geom.y_mm - half_t, geom.length_mm, geom.thickness_mm))
    half_w = geom.stop_width_mm / 2
    for x in (geom.x0_mm, geom.x1_mm):
        page.rect(Rect(x - half_w, geom.y_mm - geom.stop_half_height_mm,
                       geom.stop_width_mm, 2 * geom.stop_half_height_mm))
    baseline = geom.left_anchor_box.y_mm + geom.left_anchor_box.h_mm - 1.0
    page.text(geom.x0_mm, baseline, left, size=8)
    page.text(geom.x1_mm, baseline, right, size=8, align="right")
