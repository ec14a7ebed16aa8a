"""Layout -> PDF with reportlab: the only module that draws forms.

Every position comes from layout.py in form millimetres and passes through `_Page.pt`. Every
word printed comes from the template, in the template's fonts (fonts.py), embedded. A text
that cannot be drawn, or that does not fit its place even set smaller, stops the print with
a TemplateError naming the field, before anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from ..errors import TemplateError
from .fonts import EmbeddedCanvas, Fonts, check_drawable, template_fonts, wrap
from .layout import (
    FORM_W_MM,
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

SMALLEST = 0.75  # a text too wide for its place is set smaller, down to 75% of its size
TITLE_PT, LABEL_PT, ANCHOR_PT, FIELD_PT, VALUE_PT, NOTE_PT, FOOTER_PT = 15, 10, 8, 10, 11, 8, 7
INSTRUCTION_PTS = (10.0, 9.5, 9.0, 8.5, 8.0)  # tried in turn until the instructions fit
TITLE_GAP_MM = 3.0  # between the title's end and the QR code
FIELD_LABEL_MAX_MM = 40.0  # the field lines start after the widest field label
FIELD_LINE_MIN_MM = 50.0  # room on each field line for a written client code or date
# Client codes, session numbers, dates and the footer are printed in the template's fonts
# too, so those fonts need these characters.
CODE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_|: "


@dataclass(frozen=True)
class PageSpec:
    """What to print on one page: its identity and the pre-filled fields, if any."""

    code: PageCode
    date: str | None = None


@dataclass(frozen=True)
class _Text:
    """One text as printed: baseline start (or end, or centre) in form mm, font and size."""

    text: str
    x_mm: float
    y_mm: float
    font: str
    size: float
    align: str = "left"


@dataclass(frozen=True)
class _FieldRow:
    """A field (client code, session, date): its label, and the line a value goes on."""

    label: _Text
    line_x0_mm: float
    line_x1_mm: float


@dataclass(frozen=True)
class _Lettering:
    """The template's texts placed, checked and fitted once for a whole print run."""

    fonts: Fonts
    texts: tuple[_Text, ...]
    fields: tuple[_FieldRow, ...]


class _Page:
    """Draws one page, converting form millimetres to PDF points."""

    def __init__(self, canvas: EmbeddedCanvas, paper: str) -> None:
        self.c = canvas
        self.off_x, self.off_y = page_offset_mm(paper)
        self.page_h = PAPERS_MM[paper][1]

    def pt(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        """Form mm (origin top-left, y down) to PDF points (origin bottom-left, y up)."""
        return (self.off_x + x_mm) * mm, (self.page_h - self.off_y - y_mm) * mm

    def rect(self, box: Rect) -> None:
        x, y = self.pt(box.x_mm, box.y_mm + box.h_mm)
        self.c.rect(x, y, box.w_mm * mm, box.h_mm * mm, stroke=0, fill=1)

    def text(self, text: _Text) -> None:
        self.c.setFont(text.font, text.size)
        x, y = self.pt(text.x_mm, text.y_mm)
        draw = {"left": self.c.drawString, "right": self.c.drawRightString,
                "centre": self.c.drawCentredString}[text.align]
        draw(x, y, text.text)


def render_pdf(template: Template, layout: Layout, pages: Iterable[PageSpec], paper: str,
               out: str | Path | BinaryIO) -> int:
    """Write one form page per PageSpec to `out`; return the number of pages written.
    Raises TemplateError before writing anything when a text of the template cannot be
    drawn in its font or does not fit the form."""
    lettering = _letter_form(template, layout)
    target = str(out) if isinstance(out, Path) else out
    canvas = EmbeddedCanvas(target, lettering.fonts,
                            pagesize=(PAPERS_MM[paper][0] * mm, PAPERS_MM[paper][1] * mm))
    canvas.setTitle(f"{template.title} (srsform {template.id})")
    canvas.setCreator("srsform")
    count = 0
    for spec in pages:
        _draw_page(_Page(canvas, paper), template, layout, lettering, spec)
        canvas.showPage()
        count += 1
    canvas.save()
    return count


def _letter_form(template: Template, layout: Layout) -> _Lettering:
    """Every text of the template checked against its font and placed on the layout, set
    smaller where it would not fit (down to SMALLEST); TemplateError naming the field when
    a text cannot be drawn or fitted."""
    fonts = template_fonts(template)
    source = template.source
    for field, text, bold in template.printed_texts():
        # A newline breaks the instructions' lines; anywhere else it would print as a box.
        checked = text.replace("\n", " ") if field == "instructions" else text
        check_drawable(checked, fonts.pick(bold), field, source)
    for font in dict.fromkeys((fonts.regular, fonts.bold)):
        check_drawable(CODE_CHARS, font, "font (client codes, dates and the page footer "
                       "need Latin letters and digits)", source)
    x, y = layout.title_at
    title_room = layout.qr_box.x_mm - TITLE_GAP_MM - x
    texts = [_Text(template.title, x, y, fonts.bold,
                   _fit(template.title, fonts.bold, TITLE_PT, title_room, "title", source))]
    texts += _instructions(template, layout.instructions_box, fonts.regular)
    for i, (item, geom) in enumerate(zip(template.items, layout.lines, strict=True)):
        texts += _line_texts(i, item.label, item.left, item.right, geom, fonts, source)
    fx, fy = layout.footer_at
    room = FORM_W_MM - 2 * fx
    note = template.labels.print_note
    texts.append(_Text(note, fx, fy - 5.0, fonts.regular,
                       _fit(note, fonts.regular, NOTE_PT, room, "labels.print_note", source)))
    return _Lettering(fonts, tuple(texts), _field_rows(template, layout, fonts.regular))


def _fit(text: str, font: str, size: float, room_mm: float, field: str, source: str) -> float:
    """The size `text` is set in to fit `room_mm`: `size`, or smaller down to SMALLEST."""
    width_mm = stringWidth(text, font, size) / mm
    if width_mm <= room_mm:
        return size
    if width_mm * SMALLEST <= room_mm:
        return math.floor(size * room_mm / width_mm * 10) / 10
    raise TemplateError(
        f"{source}: field '{field}': too long for its place on the form ({width_mm * SMALLEST:.0f}"
        f" mm at {size * SMALLEST:g} pt, where {room_mm:.0f} mm fit): shorten it")


def _instructions(template: Template, box: Rect, font: str) -> list[_Text]:
    """The instructions wrapped to the box, at the largest size at which they fit."""
    text, width = template.instructions, box.w_mm * mm
    for size in INSTRUCTION_PTS:
        first_mm, leading_mm = box.y_mm + 0.4 * size, 0.45 * size
        room = 1 + int((box.y_mm + box.h_mm + 2.0 - first_mm) // leading_mm)
        lines = wrap(text, font, size, width)
        if len(lines) <= room and all(stringWidth(ln, font, size) <= width for ln in lines):
            return [_Text(line, box.x_mm, first_mm + i * leading_mm, font, size)
                    for i, line in enumerate(lines) if line]
    raise TemplateError(
        f"{template.source}: field 'instructions': too long for the form ({len(lines)} lines "
        f"of {box.w_mm:.0f} mm at {INSTRUCTION_PTS[-1]:g} pt, where {room} fit): shorten it")


def _line_texts(index: int, label: str, left: str, right: str, geom: LineGeom, fonts: Fonts,
                source: str) -> list[_Text]:
    """An item's label above its line, and its anchors below the two ends."""
    field = f"items[{index}]."
    box = geom.label_box
    label_room = box.x_mm + box.w_mm - geom.x0_mm
    baseline = geom.left_anchor_box.y_mm + geom.left_anchor_box.h_mm - 1.0
    return [
        _Text(label, geom.x0_mm, box.y_mm + box.h_mm - 1.0, fonts.bold,
              _fit(label, fonts.bold, LABEL_PT, label_room, field + "label", source)),
        _Text(left, geom.x0_mm, baseline, fonts.regular,
              _fit(left, fonts.regular, ANCHOR_PT, geom.left_anchor_box.w_mm, field + "left",
                   source)),
        _Text(right, geom.x1_mm, baseline, fonts.regular,
              _fit(right, fonts.regular, ANCHOR_PT, geom.right_anchor_box.w_mm,
                   field + "right", source), align="right"),
    ]


def _field_rows(template: Template, layout: Layout, font: str) -> tuple[_FieldRow, ...]:
    """Client code, session and date: the labels, one size for all three, and the lines
    for their values starting after the widest label."""
    x, y = layout.fields_at
    labels = template.labels
    named = (("labels.client", labels.client), ("labels.session", labels.session),
             ("labels.date", labels.date))
    field, widest = max(named, key=lambda pair: stringWidth(pair[1], font, FIELD_PT))
    size = _fit(widest, font, FIELD_PT, FIELD_LABEL_MAX_MM, field, template.source)
    start = x + max(24.0, stringWidth(widest, font, size) / mm + 2.0)
    end = max(x + 80.0, start + FIELD_LINE_MIN_MM)
    return tuple(_FieldRow(_Text(text, x, y + 6.0 + i * 8.0, font, size), start, end)
                 for i, (_, text) in enumerate(named))


def _draw_page(page: _Page, template: Template, layout: Layout, lettering: _Lettering,
               spec: PageSpec) -> None:
    page.c.setFillColorRGB(0, 0, 0)
    page.c.setStrokeColorRGB(0, 0, 0)
    for marker in layout.markers:
        _draw_marker(page, marker.marker_id, marker.x_mm, marker.y_mm, marker.size_mm)
    _draw_qr(page, layout.qr_box, spec.code.payload(), lettering.fonts.regular)
    for text in lettering.texts:
        page.text(text)
    _draw_fields(page, lettering, spec)
    for geom in layout.lines:
        _draw_line(page, geom)
    fx, fy = layout.footer_at
    labels = template.labels
    footer = (f"srsform {template.id} {template.version} | {labels.layout} "
              f"{layout.layout_id} | {labels.page} {spec.code.serial}")
    size = _fit(footer, lettering.fonts.regular, FOOTER_PT, FORM_W_MM - 2 * fx,
                "labels.layout/labels.page", template.source)
    page.text(_Text(footer, fx, fy, lettering.fonts.regular, size))


def _draw_marker(page: _Page, marker_id: int, x_mm: float, y_mm: float, size_mm: float) -> None:
    cells = marker_cells(marker_id)
    cell_mm = size_mm / cells.shape[0]
    for row in range(cells.shape[0]):
        for col in range(cells.shape[1]):
            if cells[row, col]:
                # Overlap neighbours slightly so no hairline gaps appear between cells.
                page.rect(Rect(x_mm + col * cell_mm, y_mm + row * cell_mm,
                               cell_mm + 0.02, cell_mm + 0.02))


def _draw_qr(page: _Page, box: Rect, payload: str, font: str) -> None:
    # Level L keeps the modules large: phone photos lose sharpness, not whole modules.
    widget = QrCodeWidget(payload, barLevel="L", barBorder=QR_QUIET_MODULES)
    x0, y0, x1, y1 = widget.getBounds()
    scale = box.w_mm * mm / max(x1 - x0, y1 - y0)
    # The drawing's initial font is the embedded one: reportlab's default would put a
    # Helvetica that is not embedded on the page, though the code draws no text.
    drawing = Drawing(box.w_mm * mm, box.h_mm * mm, transform=[scale, 0, 0, scale, 0, 0],
                      initialFontName=font)
    drawing.add(widget)
    x, y = page.pt(box.x_mm, box.y_mm + box.h_mm)
    renderPDF.draw(drawing, page.c, x, y)


def _draw_fields(page: _Page, lettering: _Lettering, spec: PageSpec) -> None:
    values = (spec.code.client,
              str(spec.code.session) if spec.code.session is not None else None,
              spec.date)
    page.c.setLineWidth(0.3)
    for row, value in zip(lettering.fields, values, strict=True):
        page.text(row.label)
        x0, y0 = page.pt(row.line_x0_mm, row.label.y_mm + 1.0)
        x1, _ = page.pt(row.line_x1_mm, row.label.y_mm + 1.0)
        page.c.line(x0, y0, x1, y0)
        if value:
            page.text(_Text(value, row.line_x0_mm + 2.0, row.label.y_mm,
                            lettering.fonts.bold, VALUE_PT))


def _draw_line(page: _Page, geom: LineGeom) -> None:
    half_t = geom.thickness_mm / 2
    page.rect(Rect(geom.x0_mm, geom.y_mm - half_t, geom.length_mm, geom.thickness_mm))
    half_w = geom.stop_width_mm / 2
    for x in (geom.x0_mm, geom.x1_mm):
        page.rect(Rect(x - half_w, geom.y_mm - geom.stop_half_height_mm,
                       geom.stop_width_mm, 2 * geom.stop_half_height_mm))
