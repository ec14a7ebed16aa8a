"""The audit report: a PDF that lets a person check every score against the original.

A summary counts the pages and items with the values in force (as `export` does) and draws
their distributions (statuses, confidence, print scale) as charts; with a keyed audit it
adds the agreement figures and lists every discrepancy. Then, per form, a page with the
value in force of each item (beside a corrected one, the machine's reading and who decided
when and why; a keyed discrepancy marked) and each line cut out at true scale with a 0-10 cm
ruler laid from the line's detected ends and the mark read; and a page with the original as
large as the paper allows. Every page carries its number and the report's date. Text is
set in DejaVu Sans, embedded (form/fonts.py): a file name or note in another script prints
as written, and what the font cannot draw prints as escapes, never as boxes.

Draws from the store and the evidence files; never measures. reportlab and Pillow load
only here (the CLI imports this module only to write a PDF); the summary's charts are
shapes (audit_charts.py) drawn straight onto the page, without a plotting library.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen.canvas import Canvas

from ..form.fonts import DEJAVU, DEJAVU_BOLD, EmbeddedCanvas, Fonts
from ..form.layout import CROP_PX_PER_MM, MARK_ZONE_HALF_HEIGHT_MM, PRINT_SCALE_TOLERANCE
from ..records import PAGE_STATUSES, AuditItem, AuditPage, ItemScore, PageFilter
from ..store import Store
from .audit_charts import ITEM_STATUSES, summary_charts
from .keyed_audit import (
    TOTAL,
    AuditReport,
    Discrepancy,
    agreement_notes,
    agreement_rows,
    describe_agreement,
    describe_discrepancy,
)
from .register_check import RegisterCheck, format_register
from .review import FormInForce, format_score, forms_in_force
from .shapes import draw_on_canvas

FONT, FONT_BOLD = DEJAVU, DEJAVU_BOLD  # embedded; EmbeddedCanvas registers them
MARGIN_MM = 15.0
PAGE_W_MM, PAGE_H_MM = A4[0] / mm, A4[1] / mm
FOOTER_MM = 8.0  # from the bottom edge
THUMB_W_MM = 48.0
TEXT_W_MM = PAGE_W_MM - 2 * MARGIN_MM - THUMB_W_MM - 4.0  # beside the thumbnail
LINE_MM = 4.0
CHART_H_MM = 92.0
REGISTER_LINES = 12  # entries of each register list shown in the PDF
STATUS_RGB = {"ok": (0.16, 0.6, 0.16), "uncertain": (1.0, 0.55, 0.0),
              "multiple": (0.75, 0.0, 0.75), "missing": (0.85, 0.0, 0.0),
              "review": (1.0, 0.55, 0.0), "not_a_form": (0.45, 0.45, 0.45),
              "unreadable": (0.85, 0.0, 0.0), "error": (0.55, 0.0, 0.0)}
DISCREPANCY_RGB = (0.85, 0.0, 0.0)
PERSON_RGB = (0.0, 0.3, 0.75)


# --- what the report shows -----------------------------------------------------------------

@dataclass(frozen=True)
class FormView:
    """One stored page: the machine's readings with their evidence, the values in force
    with the decisions that set them, and the keyed-audit discrepancies found on it."""

    audit: AuditPage
    form: FormInForce
    discrepancies: dict[str, Discrepancy] = field(default_factory=dict)  # item key | total

    @property
    def flagged(self) -> bool:
        """Not ok with the values in force, or differing from the keyed values."""
        result = self.form.in_force
        return (result.status != "ok" or any(i.status != "ok" for i in result.items)
                or bool(self.discrepancies))

    @property
    def has_form_pages(self) -> bool:
        return bool(self.audit.items) or self.audit.evidence_path is not None

    def in_force(self, key: str) -> ItemScore | None:
        return next((i for i in self.form.in_force.items if i.key == key), None)


def select_forms(store: Store, where: PageFilter | None = None, only_flagged: bool = False,
                 keyed: AuditReport | None = None) -> list[FormView]:
    """The stored pages to report (those `where` selects), in the order stored.
    `only_flagged` keeps the pages that are not ok with the values in force (a page a person
    has settled is ok) or that differ from the keyed audit."""
    forms = list(forms_in_force(store, where))
    evidence = {page.page_id: page
                for page in store.audit_pages([form.page.page_id for form in forms])}
    found: dict[int, dict[str, Discrepancy]] = {}
    for d in keyed.discrepancies if keyed else ():
        found.setdefault(d.page.page_id, {})[d.item] = d
    views = [FormView(evidence[form.page.page_id], form, found.get(form.page.page_id, {}))
             for form in forms]
    return [v for v in views if v.flagged] if only_flagged else views


def write_audit_pdf(store: Store, forms: Sequence[FormView], out: str | Path | BinaryIO,
                    title_note: str = "", keyed: AuditReport | None = None,
                    register: RegisterCheck | None = None, made: datetime | None = None
                    ) -> int:
    """Write the report to a path or binary stream; returns the number of forms shown."""
    made = made or datetime.now(UTC)
    canvas = _NumberedCanvas(str(out) if isinstance(out, Path) else out, pagesize=A4,
                             footer=f"srsform audit report, made {made:%Y-%m-%d %H:%M} UTC")
    canvas.setTitle("srsform audit report")
    canvas.setCreator("srsform")
    _summary(_Flow(canvas), forms, title_note, keyed, register)
    base = store.path.parent
    shown = [view for view in forms if view.has_form_pages]
    for view in shown:
        _form_page(canvas, view, base)
        _original_page(canvas, view, base)
    canvas.save()
    return len(shown)


class _NumberedCanvas(EmbeddedCanvas):
    """A canvas that numbers its pages "page N of M" and dates them, once M is known."""

    def __init__(self, *args: Any, footer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(FONT, 7.5)
            self.setFillColorRGB(0.3, 0.3, 0.3)
            self.drawString(MARGIN_MM * mm, FOOTER_MM * mm, self._footer)
            self.drawRightString((PAGE_W_MM - MARGIN_MM) * mm, FOOTER_MM * mm,
                                 f"page {number} of {len(self._pages)}")
            super().showPage()
        super().save()


def _y(mm_from_top: float) -> float:
    return (PAGE_H_MM - mm_from_top) * mm


class _Flow:
    """Lines of text down the page, onto a new page when the paper runs out."""

    def __init__(self, canvas: Canvas, top_mm: float = 18.0) -> None:
        self.canvas, self.top, self.at = canvas, top_mm, top_mm

    def need(self, height_mm: float) -> float:
        """Room for `height_mm` below the cursor (a new page if not); the top of it."""
        if self.at + height_mm > PAGE_H_MM - FOOTER_MM - 8.0:
            self.canvas.showPage()
            self.at = self.top
        top, self.at = self.at, self.at + height_mm
        return top

    def text(self, text: str, size: float = 9.0, bold: bool = False, indent_mm: float = 0.0,
             rgb: tuple[float, float, float] = (0, 0, 0), font: str = "") -> None:
        font = font or (FONT_BOLD if bold else FONT)
        width = (PAGE_W_MM - 2 * MARGIN_MM - indent_mm) * mm
        for line in simpleSplit(text, font, size, width) or [""]:
            top = self.need(size * 0.45)
            self.canvas.setFont(font, size)
            self.canvas.setFillColorRGB(*rgb)
            self.canvas.drawString((MARGIN_MM + indent_mm) * mm, _y(top + size * 0.35), line)
        self.canvas.setFillColorRGB(0, 0, 0)

    def space(self, height_mm: float = 2.5) -> None:
        self.at += height_mm


# --- the summary ---------------------------------------------------------------------------

def _summary(flow: _Flow, forms: Sequence[FormView], note: str,
             keyed: AuditReport | None, register: RegisterCheck | None) -> None:
    """Counts from the values in force (as export counts them), charts, the keyed audit."""
    flow.text("srsform audit report", size=16, bold=True)
    if note:
        flow.text(note, size=8.5, rgb=(0.3, 0.3, 0.3))
    flow.space()
    results = [view.form.in_force for view in forms]
    pages = Counter(r.status for r in results)
    items = [i for r in results for i in r.items]
    by_item = Counter(i.status for i in items)
    decided = sum(len(view.form.decisions) for view in forms)
    flow.text(f"Pages: {len(forms)} ({_counts(pages, PAGE_STATUSES)}), with the values in "
              "force: a person's corrections applied, as srsform export writes them.")
    needing = len(items) - by_item["ok"]
    flow.text(f"Items: {len(items)}; needing review: {needing} "
              f"({_counts(by_item, ITEM_STATUSES[1:]) or 'none'}); values set by a person: "
              f"{decided}.")
    scales = sorted(view.audit.print_scale for view in forms
                    if view.audit.print_scale is not None)
    if scales:
        off = sum(abs(s - 1) > PRINT_SCALE_TOLERANCE for s in scales)
        flow.text(f"Print scale (line length / 100 mm): min {scales[0]:.3f}, median "
                  f"{scales[len(scales) // 2]:.3f}, max {scales[-1]:.3f}; off by more than "
                  f"{PRINT_SCALE_TOLERANCE:.0%}: {off} page(s).")
    confidences = [i.confidence for view in forms for i in view.audit.items
                   if i.status != "missing"]
    flow.space()
    top = flow.need(CHART_H_MM)
    colours = {status: "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in rgb))
               for status, rgb in STATUS_RGB.items()}
    charts = summary_charts(pages, by_item, confidences, scales, colours,
                            (PAGE_W_MM - 2 * MARGIN_MM) * mm, CHART_H_MM * mm)
    draw_on_canvas(flow.canvas, charts, MARGIN_MM * mm, _y(top), Fonts(FONT, FONT_BOLD))
    if keyed is not None:
        _keyed_summary(flow, keyed)
    if register is not None:
        _register_summary(flow, register)
    others = [view for view in forms if not view.has_form_pages]
    if others:
        flow.space()
        flow.text(f"Pages with nothing read to show ({len(others)}):", bold=True)
        for view in others:
            reasons = "; ".join(view.audit.reasons)
            flow.text(f"{view.audit.source} page {view.audit.page}: {view.audit.status}"
                      f"{': ' + reasons if reasons else ''}", size=8, indent_mm=3)
    flow.canvas.showPage()


def _counts(counter: Counter, order: Sequence[str]) -> str:
    return ", ".join(f"{status} {counter[status]}" for status in order if counter[status])


def _keyed_summary(flow: _Flow, keyed: AuditReport) -> None:
    flow.space(4)
    flow.text(f"Keyed audit against {keyed.keyed_file}", size=11, bold=True)
    flow.text(f"Keyed rows: {keyed.keyed_rows}; forms matched: {keyed.forms_matched}; rows "
              f"or cells not compared: {len(keyed.problems)}; discrepancies: "
              f"{len(keyed.discrepancies)} (each is marked on its form's page).")
    for name, agreement in (("Items", keyed.items), ("Totals", keyed.totals)):
        if agreement.compared:
            flow.text(describe_agreement(name, agreement), size=8.5)
    rows = agreement_rows(keyed)
    if rows:
        flow.space(1.5)
        _table(flow, [("", "n", "exact", "within 1", "mean diff", "95% limits", "kappa_w",
                       "ICC(2,1)"), *rows])
        for line in agreement_notes(keyed):
            flow.text(line, size=7.5, rgb=(0.3, 0.3, 0.3))
    if keyed.discrepancies:
        flow.space(1.5)
        flow.text("Discrepancies (stored value in force against the value keyed):", bold=True)
        for d in keyed.discrepancies:
            flow.text(describe_discrepancy(d), size=8, indent_mm=3, rgb=DISCREPANCY_RGB)
    if keyed.problems:
        flow.space(1.5)
        flow.text("Keyed rows or cells not compared:", bold=True)
        for problem in keyed.problems:
            flow.text(problem.describe(), size=8, indent_mm=3)


def _register_summary(flow: _Flow, register: RegisterCheck) -> None:
    """Printed forms that never came back, and pages never printed (a long list is cut:
    `srsform audit --json` gives it whole)."""
    flow.space(4)
    flow.text("Printed forms against scanned pages", size=11, bold=True)
    listed = 0
    for line in format_register(register):
        if not line.startswith("  ") or line.startswith("  ("):
            flow.text(line, size=9)
            listed = 0
        elif listed < REGISTER_LINES:
            flow.text(line.strip(), size=8, indent_mm=3)
            listed += 1
        elif listed == REGISTER_LINES:
            flow.text("... (srsform audit --json lists them all)", size=8, indent_mm=3)
            listed += 1


def _table(flow: _Flow, rows: Sequence[Sequence[str]]) -> None:
    columns_mm = (0, 44, 56, 72, 88, 106, 140, 158)
    for n, row in enumerate(rows):
        top = flow.need(4.2)
        flow.canvas.setFont(FONT_BOLD if n == 0 else FONT, 8)
        for i, (cell, x) in enumerate(zip(row, columns_mm, strict=True)):
            if i == 0:
                flow.canvas.drawString((MARGIN_MM + x) * mm, _y(top + 3), cell)
            else:
                right = columns_mm[i + 1] - 3 if i + 1 < len(columns_mm) else 178
                flow.canvas.drawRightString((MARGIN_MM + right) * mm, _y(top + 3), cell)


# --- one form --------------------------------------------------------------------------------

def _form_page(canvas: Canvas, view: FormView, base: Path) -> None:
    page, result = view.audit, view.form.in_force
    x = MARGIN_MM * mm
    canvas.setFont(FONT_BOLD, 11)
    canvas.drawString(x, _y(15), f"{page.source}  page {page.page}")
    canvas.setFont(FONT, 8.5)
    who = f"client {page.client} session {page.session}" if page.client else "blank form"
    date = f"  session date {result.date}" if result.date else ""
    canvas.drawString(x, _y(21), f"{page.template}  serial {page.serial}  {who}{date}  "
                      f"scanned {page.scanned_at}")
    total = "-" if result.total is None else f"{result.total:g}"
    status = result.status + (f" (as read: {page.status})" if page.status != result.status
                              else "")
    canvas.drawString(x, _y(26), f"status {status}   total {total}   flags "
                      f"{', '.join(result.flags) or 'none'}")
    top = 31.0
    if TOTAL in view.discrepancies:
        top = _discrepancy_note(canvas, view.discrepancies[TOTAL], top)
    _thumbnail(canvas, view, base)
    for item in page.items:
        top = _item_block(canvas, view, item, base, top + 3.0)
    canvas.setFont(FONT, 7.5)
    for reason in page.reasons:
        lines = simpleSplit(reason, FONT, 7.5, (PAGE_W_MM - 2 * MARGIN_MM) * mm)
        if top + 4 + 3.5 * len(lines) > PAGE_H_MM - FOOTER_MM - 6:
            break
        for line in lines:
            top += 3.5
            canvas.drawString(x, _y(top + 3), line)
    canvas.showPage()


def _discrepancy_note(canvas: Canvas, d: Discrepancy, top_mm: float) -> float:
    """A red line under the header: the keyed value this stored one differs from."""
    canvas.setFillColorRGB(*DISCREPANCY_RGB)
    canvas.setFont(FONT_BOLD, 8.5)
    keyed = "blank" if d.keyed is None else format_score(d.keyed)
    canvas.drawString(MARGIN_MM * mm, _y(top_mm + 3.5), f"KEYED DISCREPANCY {d.item}: stored "
                      f"{format_score(d.stored, d.stored_status)}, keyed {keyed} (keyed file "
                      f"line {d.line})")
    canvas.setFillColorRGB(0, 0, 0)
    return top_mm + 4.5


def _thumbnail(canvas: Canvas, view: FormView, base: Path) -> None:
    image = _upright_original(view, base)
    if image is None:
        return
    height = THUMB_W_MM * image.height / image.width
    canvas.drawImage(ImageReader(image), (PAGE_W_MM - MARGIN_MM - THUMB_W_MM) * mm,
                     _y(30 + height), THUMB_W_MM * mm, height * mm)
    canvas.setFont(FONT, 6.5)
    canvas.drawString((PAGE_W_MM - MARGIN_MM - THUMB_W_MM) * mm, _y(32.5 + height),
                      "original: full size on the next page")


def _upright_original(view: FormView, base: Path) -> Image.Image | None:
    """The annotated original kept at scan time, turned upright; None if not kept."""
    relative = view.audit.evidence_path
    if not relative or not (base / relative).exists():
        return None
    with Image.open(base / relative) as image:
        image.load()
        rotation = view.form.machine.rotation or 0
        # `rotation` is how the page lay in the image, clockwise: turn it back.
        return image.rotate(rotation, expand=True) if rotation else image.copy()


def _item_lines(view: FormView, item: AuditItem) -> list[tuple[str, str, tuple, float]]:
    """(text, font, colour, size) lines above an item's line crop."""
    value = view.in_force(item.key)
    decision = view.form.decisions.get(item.key)
    reading = (f"{item.mm:.1f} mm = {format_score(item.score)}" if item.mm is not None
               and item.score is not None else "no reading")
    machine = f"{reading} ({item.status}, confidence {item.confidence:.2f})"
    if value is None or decision is None:
        lines = [(f"{item.key}: {machine}", FONT_BOLD,
                  STATUS_RGB.get(item.status, (0.3, 0.3, 0.3)), 9.0)]
    else:
        lines = [(f"{item.key}: {format_score(value.score, value.status)}   (value in force, "
                  "set by a person)", FONT_BOLD, PERSON_RGB, 9.0),
                 (f"machine's reading: {machine}", FONT, (0, 0, 0), 8.0)]
        why = (f"corrected by {decision.who} at {decision.at} (correction #{decision.id}): "
               f"{decision.why}")
        lines += [(part, FONT, PERSON_RGB, 8.0)
                  for part in simpleSplit(why, FONT, 8.0, TEXT_W_MM * mm)[:3]]
    found = view.discrepancies.get(item.key)
    if found is not None:
        keyed = "blank" if found.keyed is None else format_score(found.keyed)
        lines.append((f"KEYED DISCREPANCY: keyed {keyed} from the paper, stored "
                      f"{format_score(found.stored, found.stored_status)} (keyed file line "
                      f"{found.line})", FONT_BOLD, DISCREPANCY_RGB, 8.5))
    return lines


def _item_block(canvas: Canvas, view: FormView, item: AuditItem, base: Path,
                top_mm: float) -> float:
    """The item's values, then its line at true scale (1 mm on paper = 1 mm of form) with
    a ruler and the mark read. Returns where the block ends (mm from the top)."""
    x0 = MARGIN_MM * mm
    lines = _item_lines(view, item)
    for n, (text, font, rgb, size) in enumerate(lines):
        canvas.setFillColorRGB(*rgb)
        canvas.setFont(font, size)
        canvas.drawString(x0, _y(top_mm + 3 + n * LINE_MM), text)
    canvas.setFillColorRGB(0, 0, 0)
    crop_top = top_mm + 1.5 + len(lines) * LINE_MM
    if item.key in view.discrepancies:
        canvas.setStrokeColorRGB(*DISCREPANCY_RGB)
        canvas.setLineWidth(1.2)
        canvas.line(x0 - 3 * mm, _y(top_mm), x0 - 3 * mm, _y(crop_top + 22))
        canvas.setStrokeColorRGB(0, 0, 0)
    if not item.crop_path or not (base / item.crop_path).exists():
        canvas.setFont(FONT, 8)
        canvas.drawString(x0, _y(crop_top + 3), "(no evidence image: scanned with "
                          "--no-evidence)")
        return crop_top + 6
    height_mm = 2 * MARK_ZONE_HALF_HEIGHT_MM
    with Image.open(base / item.crop_path) as image:
        width_mm = image.width / CROP_PX_PER_MM
    canvas.drawImage(str(base / item.crop_path), x0, _y(crop_top + height_mm),
                     width_mm * mm, height_mm * mm)
    if item.left_end_mm is None or item.right_end_mm is None or item.crop_x_mm is None:
        return crop_top + height_mm + 2
    _ruler(canvas, item, x0, crop_top, height_mm)
    return crop_top + height_mm + 8


def _ruler(canvas: Canvas, item: AuditItem, x0: float, crop_top: float, height_mm: float
           ) -> None:
    assert item.left_end_mm is not None and item.right_end_mm is not None
    assert item.crop_x_mm is not None
    left = x0 + (item.left_end_mm - item.crop_x_mm) * mm
    right = x0 + (item.right_end_mm - item.crop_x_mm) * mm
    ruler_y = _y(crop_top + height_mm + 1)
    canvas.setLineWidth(0.3)
    canvas.line(left, ruler_y, right, ruler_y)
    canvas.setFont(FONT, 6)
    for tick in range(101):
        tx = left + (right - left) * tick / 100
        size = 3.0 if tick % 10 == 0 else (2.0 if tick % 5 == 0 else 1.0)
        canvas.line(tx, ruler_y, tx, ruler_y - size * mm)
        if tick % 10 == 0:
            canvas.drawCentredString(tx, ruler_y - 6 * mm, str(tick // 10))
    if item.mark_x_mm is not None:
        r, g, b = STATUS_RGB.get(item.status, (0.3, 0.3, 0.3))
        mx = x0 + (item.mark_x_mm - item.crop_x_mm) * mm
        canvas.setStrokeColorRGB(r, g, b)
        canvas.setLineWidth(0.8)
        canvas.line(mx, _y(crop_top), mx, ruler_y - 3 * mm)
        canvas.setStrokeColorRGB(0, 0, 0)


def _original_page(canvas: Canvas, view: FormView, base: Path) -> None:
    """The original as large as the paper allows, upright, for the client-code field."""
    page = view.audit
    canvas.setFont(FONT_BOLD, 11)
    canvas.drawString(MARGIN_MM * mm, _y(15), f"{page.source}  page {page.page}: the original")
    canvas.setFont(FONT, 8.5)
    code = (f"client {page.client}, session {page.session}" if page.client
            else "no client code in the page code (a blank form)")
    canvas.drawString(MARGIN_MM * mm, _y(21), f"serial {page.serial}; read from the page "
                      f"code: {code}. Check it against the client code written on the form.")
    image = _upright_original(view, base)
    if image is None:
        canvas.drawString(MARGIN_MM * mm, _y(30), "(no evidence image: scanned with "
                          "--no-evidence; see the scan itself)")
        canvas.showPage()
        return
    box_w, box_h = PAGE_W_MM - 2 * MARGIN_MM, PAGE_H_MM - 24 - FOOTER_MM - 15
    scale = min(box_w / image.width, box_h / image.height)
    width, height = image.width * scale, image.height * scale
    canvas.drawImage(ImageReader(image), (PAGE_W_MM - width) / 2 * mm, _y(24 + height),
                     width * mm, height * mm)
    canvas.setLineWidth(0.3)
    canvas.rect((PAGE_W_MM - width) / 2 * mm, _y(24 + height), width * mm, height * mm)
    canvas.setFont(FONT, 7)
    caption = (f"The evidence image kept at scan time ({image.width} x {image.height} px, at "
               "most 1000 px on its long side), annotated with what was read. For finer "
               f"detail open the scan: {page.source} page {page.page}.")
    for n, line in enumerate(simpleSplit(caption, FONT, 7, box_w * mm)[:2]):
        canvas.drawString(MARGIN_MM * mm, _y(24 + height + 4 + n * 3), line)
    canvas.showPage()
