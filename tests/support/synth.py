"""Seeded synthetic filled-in, scanned forms with the truth they were made from.

Used by the tests (accuracy within stated tolerances), by samples/ and by benchmarks. A page is
made as in life: the real form PDF is rasterised at high resolution (the ideal paper), pen marks
are drawn on it at known form-millimetre positions, and the paper goes through a simulated print
and scan (flatbed, copier, fax or phone photo). Everything is a function of the seed.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pdf2image import convert_from_bytes
from PIL import Image, TiffImagePlugin

from srsform.form.layout import PAPERS_MM, LineGeom, build_layout, page_offset_mm
from srsform.form.pagecode import SERIAL_ALPHABET, SERIAL_LENGTH, PageCode
from srsform.form.render import PageSpec, render_pdf
from srsform.form.templates import Template, load_template

from . import pdf

MARK_KINDS = ("vertical", "slanted", "cross", "circle", "dot", "check", "touch", "beyond",
              "on_stop", "scribble")
INKS = ("black", "blue", "pencil")
CONDITIONS = ("clean", "office", "office_color", "low_res", "high_res", "copy", "fax", "phone")
# Item recipes: a mark kind, or "blank" (no mark) or "double" (two real marks).
RECIPES = (*MARK_KINDS, "blank", "double")
_RECIPE_WEIGHTS = (0.30, 0.20, 0.10, 0.05, 0.04, 0.08, 0.05, 0.03, 0.03, 0.04, 0.04, 0.04)
_SCHEDULE = (("office", 0), ("clean", 0), ("office", 180), ("fax", 0), ("phone", 0), ("copy", 0),
             ("office_color", 0), ("office", 90), ("low_res", 0), ("fax", 180), ("phone", 180),
             ("copy", 270), ("office", 0), ("high_res", 0), ("phone", 90))
_BINARY_THRESHOLD = 150  # grey level below which a 1-bit scanner prints black


@dataclass(frozen=True)
class PenMark:
    kind: str  # one of MARK_KINDS
    x_mm: float  # true position from the line's left end, before clamping to 0..100
    ink: str  # one of INKS
    width_mm: float  # pen width, 0.25-1.0


@dataclass(frozen=True)
class ItemTruth:
    key: str
    marks: tuple[PenMark, ...]  # () = blank item; 2+ = double mark or corrected answer

    @property
    def expected_status(self) -> str:
        if not self.marks:
            return "missing"
        return "ok" if len(self.marks) == 1 else "multiple"

    @property
    def true_mm(self) -> float | None:
        """The intended answer: the single mark that is not crossed out, clamped to the line."""
        real = [m for m in self.marks if m.kind != "scribble"]
        return min(100.0, max(0.0, real[0].x_mm)) if len(real) == 1 else None


@dataclass(frozen=True)
class ScanCondition:
    name: str  # free text used in reports, e.g. one of CONDITIONS
    dpi: int  # 150..600; 0 for phone photos
    rotation: int  # 0, 90, 180, 270: clockwise turn of the page in the image
    skew_deg: float
    print_scale: float  # the printer or copier shrank the printed page about its centre
    offset_mm: tuple[float, float]
    blur_px: float
    noise: float  # std of gaussian noise in grey levels
    jpeg_quality: int | None
    binary: bool  # 1-bit output, thresholded like a fax or an MFP "text" mode
    phone: bool  # perspective photo on a table, uneven light, colour
    color: bool  # BGR output instead of gray
    contrast: float = 1.0  # >1 darkens ink and greys the way a photocopier does
    speckle: float = 0.0  # toner specks per square centimetre


@dataclass(frozen=True, eq=False)  # compared by identity: it holds an image array
class SynthPage:
    image: np.ndarray  # uint8, 2-D gray or 3-D BGR
    dpi: int  # 0 for phone photos
    kind: str  # "form" | "blank" | "foreign"
    template_id: str | None
    serial: str | None
    client: str | None
    session: int | None
    items: tuple[ItemTruth, ...]  # empty for blank and foreign pages
    condition: ScanCondition
    paper: str = "a4"


@dataclass(frozen=True)
class PagePlan:
    """Everything about one stack page except its pixels; `render_plan` makes the page."""

    kind: str
    template_name: str | None
    code: PageCode | None
    paper: str
    items: tuple[ItemTruth, ...]
    condition: ScanCondition
    seed: int


# ---------------------------------------------------------------------------------- truth


def random_marks(rng: np.random.Generator, kinds: Sequence[str] | None = None,
                 keys: Sequence[str] | None = None,
                 ink: str | None = None) -> tuple[ItemTruth, ...]:
    """Marks for one form, in one pen. `kinds` gives each item's recipe in turn (cycled), from
    RECIPES; None draws mostly single ticks, with some blank items and double marks."""
    keys = keys or _template_keys("srs")
    ink = ink or str(rng.choice(INKS, p=(0.5, 0.35, 0.15)))
    width = rng.uniform(0.25, 0.6) if ink == "pencil" else rng.uniform(0.3, 1.0)
    items = []
    for i, key in enumerate(keys):
        recipe = kinds[i % len(kinds)] if kinds else str(rng.choice(RECIPES, p=_RECIPE_WEIGHTS))
        items.append(ItemTruth(key, _item_marks(rng, recipe, ink, width)))
    return tuple(items)


def _item_marks(rng: np.random.Generator, recipe: str, ink: str,
                width: float) -> tuple[PenMark, ...]:
    def mark(kind: str, x_mm: float) -> PenMark:
        w = float(np.clip(width * rng.uniform(0.9, 1.1), 0.25, 1.0))
        return PenMark(kind, round(float(x_mm), 2), ink, round(w, 2))

    if recipe == "blank":
        return ()
    if recipe == "beyond":
        return (mark("beyond", rng.choice([-1, 1]) * rng.uniform(1, 4) + rng.choice([0, 100])),)
    if recipe == "on_stop":
        return (mark("on_stop", rng.choice([0.0, 100.0])),)
    if recipe in ("double", "scribble"):
        first = _random_x(rng)
        second = first + rng.choice([-1, 1]) * rng.uniform(8, 40)
        second = -second if second < 0 else 200 - second if second > 100 else second
        ticks = ("vertical", "slanted", "cross", "check", "circle")
        first_kind = "scribble" if recipe == "scribble" else str(rng.choice(ticks))
        return mark(first_kind, first), mark(str(rng.choice(ticks)), second)
    return (mark(recipe, _random_x(rng)),)


def _random_x(rng: np.random.Generator) -> float:
    """Scores cluster high, and some marks sit right at an end."""
    u = rng.random()
    if u < 0.08:
        return rng.uniform(0, 3)
    if u < 0.22:
        return rng.uniform(97, 100)
    return rng.uniform(70, 100) if u < 0.55 else rng.uniform(0, 100)


@lru_cache(maxsize=8)
def _template(name: str) -> Template:
    return load_template(name)


def _template_keys(name: str) -> tuple[str, ...]:
    return tuple(item.key for item in _template(name).items)


def random_condition(rng: np.random.Generator, name: str, rotation: int = 0) -> ScanCondition:
    """A scan condition of the named kind (one of CONDITIONS) with randomised parameters."""
    def u(a: float, b: float) -> float:
        return round(float(rng.uniform(a, b)), 3)

    fit = u(0.94, 0.975) if rng.random() < 0.2 else 1.0  # "fit to page" printing
    c: dict[str, Any] = dict(
        name=name, dpi=int(rng.choice([200, 300])), rotation=rotation, skew_deg=u(-2, 2),
        print_scale=fit, offset_mm=(u(-4, 4), u(-4, 4)), blur_px=u(0.4, 0.9), noise=u(1.5, 4),
        jpeg_quality=int(rng.integers(75, 91)), binary=False, phone=False, color=False)
    if name == "clean":
        c.update(dpi=300, skew_deg=u(-0.3, 0.3), print_scale=1.0, offset_mm=(u(-1, 1), u(-1, 1)),
                 blur_px=0.3, noise=0.0, jpeg_quality=None)
    elif name == "office_color":
        c.update(dpi=300, color=True, jpeg_quality=int(rng.integers(85, 93)))
    elif name == "low_res":
        c.update(dpi=150, skew_deg=u(-1.5, 1.5), blur_px=u(0.3, 0.6))
    elif name == "high_res":
        c.update(dpi=600, skew_deg=u(-1, 1), blur_px=u(0.8, 1.3), jpeg_quality=int(
            rng.integers(85, 93)))
    elif name == "copy":
        c.update(print_scale=u(0.94, 0.98), skew_deg=u(-1.5, 1.5), blur_px=u(0.6, 1.0),
                 noise=u(3, 5), jpeg_quality=int(rng.integers(75, 86)), contrast=u(1.2, 1.4),
                 speckle=u(0.05, 0.2))
    elif name == "fax":
        c.update(dpi=200, skew_deg=u(-1, 1), offset_mm=(u(-3, 3), u(-3, 3)), blur_px=u(0.5, 0.8),
                 noise=u(4, 8), jpeg_quality=None, binary=True, speckle=u(0.02, 0.08))
    elif name == "phone":
        c.update(dpi=0, skew_deg=u(-5, 5), offset_mm=(0.0, 0.0), blur_px=u(0.6, 1.5),
                 noise=u(3, 6), jpeg_quality=int(rng.integers(80, 91)), phone=True, color=True)
    elif name != "office":
        raise ValueError(f"unknown scan condition '{name}': use one of {', '.join(CONDITIONS)}")
    return ScanCondition(**c)


# ---------------------------------------------------------------------------------- pages


def make_page(template: Template, code: PageCode, items: Sequence[ItemTruth],
              condition: ScanCondition, seed: int, paper: str = "a4") -> SynthPage:
    """A filled-in form with `items` marked on it, printed and scanned under `condition`."""
    rng = np.random.default_rng(seed)
    dpi = _paper_dpi(condition)
    paper_img = _fill_form(template, code, items, paper, dpi, rng)
    return SynthPage(_scan(paper_img, dpi, paper, condition, rng), _image_dpi(condition), "form",
                     template.id, code.serial, code.client, code.session, tuple(items), condition,
                     paper)


def ideal_paper(template: Template, code: PageCode, items: Sequence[ItemTruth],
                condition: ScanCondition, seed: int, paper: str = "a4") -> tuple[np.ndarray, int]:
    """The marked paper (BGR, page pixels) and its dpi, exactly as `make_page` scans it."""
    rng = np.random.default_rng(seed)
    dpi = _paper_dpi(condition)
    return _fill_form(template, code, items, paper, dpi, rng), dpi


def make_blank_page(condition: ScanCondition, seed: int, paper: str = "a4") -> SynthPage:
    """An empty sheet in the stack, often with faint show-through from its other side."""
    rng = np.random.default_rng(seed)
    dpi = _paper_dpi(condition)
    img = np.full((*_page_shape(paper, dpi), 3), 255, np.uint8)
    if rng.random() < 0.6:
        ghost = cv2.flip(_foreign_paper(rng, paper, dpi), 1).astype(np.float32)
        img = (255 - (255 - ghost) * rng.uniform(0.03, 0.08)).astype(np.uint8)
    return _other_page("blank", img, dpi, paper, condition, rng)


def make_foreign_page(condition: ScanCondition, seed: int, paper: str = "a4") -> SynthPage:
    """A page of some other document: text, boxes, a table, ticked checkboxes, no page code."""
    rng = np.random.default_rng(seed)
    dpi = _paper_dpi(condition)
    img = _foreign_paper(rng, paper, dpi)
    return _other_page("foreign", img, dpi, paper, condition, rng)


def _other_page(kind: str, img: np.ndarray, dpi: int, paper: str, condition: ScanCondition,
                rng: np.random.Generator) -> SynthPage:
    return SynthPage(_scan(img, dpi, paper, condition, rng), _image_dpi(condition), kind, None,
                     None, None, None, (), condition, paper)


def plan_stack(n_pages: int, seed: int, template_name: str = "srs",
               conditions: Sequence[str] | None = None) -> list[PagePlan]:
    """The truth of a stack: a cycle of scan conditions and rotations, every recipe and ink in
    the first three forms, then random marks; a blank and a foreign page in every 20.
    `conditions` keeps only the cycle's entries of those conditions (e.g. phone photos only)."""
    schedule = _SCHEDULE
    if conditions:
        unknown = set(conditions) - set(CONDITIONS)
        if unknown:
            raise ValueError(f"unknown scan conditions {sorted(unknown)}: use {CONDITIONS}")
        schedule = tuple(entry for entry in _SCHEDULE if entry[0] in conditions)
        schedule += tuple((name, 0) for name in conditions
                          if name not in {entry[0] for entry in schedule})
    rng = np.random.default_rng(seed)
    template = _template(template_name)
    layout_id = build_layout(template).layout_id
    keys = _template_keys(template_name)
    plans: list[PagePlan] = []
    forms = 0
    for i in range(n_pages):
        name, rotation = schedule[i % len(schedule)]
        condition = random_condition(rng, name, rotation)
        paper = "letter" if rng.random() < 0.25 else "a4"
        page_seed = int(rng.integers(2**31))
        kind = {9: "blank", 15: "foreign"}.get(i % 20, "form")
        if kind != "form":
            plans.append(PagePlan(kind, None, None, paper, (), condition, page_seed))
            continue
        forced = RECIPES[forms * len(keys):(forms + 1) * len(keys)]
        ink = INKS[forms] if forms < len(INKS) else str(rng.choice(INKS, p=(0.5, 0.35, 0.15)))
        if condition.binary and ink == "pencil":
            ink = "black"  # pencil is lost by a 1-bit scan; the truth would be meaningless
        items = random_marks(rng, forced or None, keys, ink)
        roster = rng.random() < 0.6
        code = PageCode(template.id, template.version, layout_id, _serial(rng),
                        f"C{rng.integers(100, 10000):04d}" if roster else None,
                        int(rng.integers(1, 31)) if roster else None)
        plans.append(PagePlan("form", template_name, code, paper, items, condition, page_seed))
        forms += 1
    return plans


def render_plan(plan: PagePlan) -> SynthPage:
    if plan.kind == "blank":
        return make_blank_page(plan.condition, plan.seed, plan.paper)
    if plan.kind == "foreign":
        return make_foreign_page(plan.condition, plan.seed, plan.paper)
    assert plan.template_name is not None and plan.code is not None
    return make_page(_template(plan.template_name), plan.code, plan.items, plan.condition,
                     plan.seed, plan.paper)


def make_stack(n_pages: int, seed: int, template_name: str = "srs",
               conditions: Sequence[str] | None = None) -> list[SynthPage]:
    """A deterministic stack covering every mark kind, ink and scan condition (see plan_stack)."""
    return [render_plan(plan) for plan in plan_stack(n_pages, seed, template_name, conditions)]


def _serial(rng: np.random.Generator) -> str:
    return "".join(rng.choice(list(SERIAL_ALPHABET), SERIAL_LENGTH))


def _paper_dpi(condition: ScanCondition) -> int:
    """Ideal paper resolution: comfortably above the scan's, so the scan downsamples."""
    return 600 if condition.dpi > 300 else 400 if condition.dpi > 200 else 300


def _image_dpi(condition: ScanCondition) -> int:
    return 0 if condition.phone else condition.dpi


def _page_shape(paper: str, dpi: int) -> tuple[int, int]:
    w_mm, h_mm = PAPERS_MM[paper]
    return math.ceil(h_mm * dpi / 25.4), math.ceil(w_mm * dpi / 25.4)


# ---------------------------------------------------------------------------------- pen

Strokes = list[tuple[np.ndarray, bool]]  # (N x 2 points in mm, filled)


def _fill_form(template: Template, code: PageCode, items: Sequence[ItemTruth], paper: str,
               dpi: int, rng: np.random.Generator) -> np.ndarray:
    layout = build_layout(template)
    date = "2024-03-14" if rng.random() < 0.3 else None
    buf = io.BytesIO()
    render_pdf(template, layout, [PageSpec(code, date)], paper, buf)
    gray = np.asarray(convert_from_bytes(buf.getvalue(), dpi=dpi, grayscale=True)[0])
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    offset = np.array(page_offset_mm(paper))
    ppm = dpi / 25.4
    inks = [m for item in items for m in item.marks]
    for item, line in zip(items, layout.lines, strict=True):
        if item.key != line.key:
            raise ValueError(f"item '{item.key}' does not match the form's line '{line.key}'")
        for mark in item.marks:
            strokes = [(pts + offset, filled) for pts, filled in _mark_strokes(mark, line, rng)]
            _draw_ink(img, strokes, mark.ink, mark.width_mm, ppm, rng)
    if date is None and inks and rng.random() < 0.6:
        fx, fy = layout.fields_at
        hand = _handwriting(np.array([fx + 26.0, fy + 22.0]) + offset, rng.uniform(15, 25), rng)
        _draw_ink(img, hand, inks[0].ink, min(inks[0].width_mm, 0.6), ppm, rng)
    return img


def _mark_strokes(mark: PenMark, line: LineGeom, rng: np.random.Generator) -> Strokes:
    """The pen's path in form mm for one mark, passing exactly through its true position."""
    p = np.array([line.x0_mm + mark.x_mm, line.y_mm])
    u = rng.uniform
    kind = mark.kind
    if kind in ("vertical", "beyond", "on_stop"):
        return [_tick(p, float(np.clip(rng.normal(0, 3), -7, 7)), rng)]
    if kind == "slanted":
        return [_tick(p, rng.choice([-1, 1]) * u(10, 35), rng)]
    if kind == "touch":  # ink ends on the line without crossing it
        end = p - (0, mark.width_mm / 2 - u(0, 0.15))
        start = end - u(4, 9) * _down(u(-15, 15))
        return [(_wobbly(start, end, 1.0, rng), False)]
    if kind == "cross":
        strokes = []
        for sign in (1, -1):
            d, t = _down(sign * u(30, 60)), u(0.4, 0.6)
            a, b = p - 2 * u(3, 6) * t * d, p + 2 * u(3, 6) * (1 - t) * d
            strokes.append((_wobbly(a, b, float(t), rng), False))
        return strokes
    if kind == "circle":
        r, ecc, turn, start = u(1.5, 3), u(0.85, 1.15), u(0, math.pi), u(0, 2 * math.pi)
        phi = np.linspace(start, start + 2 * math.pi + u(0.2, 0.9), 60)
        rr = r * (1 + 0.05 * np.sin(2 * phi + u(0, 6)))
        ring = np.column_stack([rr * np.cos(phi) * ecc, rr * np.sin(phi) / ecc])
        return [(p + ring @ _rotation(turn).T, False)]
    if kind == "dot":
        phi = np.linspace(0, 2 * math.pi, 24, endpoint=False)
        rr = u(0.5, 1.2) * (1 + 0.08 * np.sin(3 * phi + u(0, 6)))
        return [(p + (0, u(-0.2, 0.2)) + np.column_stack([rr * np.cos(phi), rr * np.sin(phi)]),
                 True)]
    if kind == "check":  # vertex on (or just through) the line; short arm left, long arm right
        v = p + (0, u(-0.1, 0.6))
        a_s, a_l = math.radians(u(35, 60)), math.radians(u(50, 75))
        left = v + u(2, 4) * np.array([-math.cos(a_s), -math.sin(a_s)])
        right = v + u(5, 10) * np.array([math.cos(a_l), -math.sin(a_l)])
        path = np.vstack([_wobbly(left, v, 1.0, rng), _wobbly(v, right, 0.0, rng)[1:]])
        return [(path, False)]
    if kind == "scribble":  # an answer crossed out by a dense zig-zag over it
        passes, half_w = int(rng.integers(6, 13)), u(2, 4)
        ys = np.linspace(p[1] - u(3, 6), p[1] + u(3, 6), passes) + rng.normal(0, 0.3, passes)
        xs = p[0] + half_w * np.resize([-1.0, 1.0], passes) * rng.uniform(0.7, 1.1, passes)
        zigzag = p + (np.column_stack([xs, ys]) - p) @ _rotation(math.radians(u(-20, 20))).T
        return [_tick(p, float(rng.normal(0, 4)), rng), (zigzag, False)]
    raise ValueError(f"unknown mark kind '{kind}'")


def _down(deg: float) -> np.ndarray:
    """Unit vector pointing down the page, turned `deg` degrees towards +x."""
    rad = math.radians(deg)
    return np.array([math.sin(rad), math.cos(rad)])


def _rotation(rad: float) -> np.ndarray:
    return np.array([[math.cos(rad), -math.sin(rad)], [math.sin(rad), math.cos(rad)]])


def _tick(p: np.ndarray, deg: float, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """A 4-12 mm stroke crossing the line exactly at `p`."""
    length, above = rng.uniform(4, 12), rng.uniform(0.35, 0.75)
    d = _down(deg)
    return _wobbly(p - above * length * d, p + (1 - above) * length * d, above, rng), False


def _wobbly(a: np.ndarray, b: np.ndarray, anchor: float, rng: np.random.Generator) -> np.ndarray:
    """Points from a to b with a slight hand-made bow that is zero at fraction `anchor`."""
    length = float(np.linalg.norm(b - a))
    t = np.linspace(0, 1, max(8, int(length * 4)))
    normal = np.array([-(b - a)[1], (b - a)[0]]) / max(length, 1e-9)
    bow = rng.uniform(-0.04, 0.04) * length
    freq, phase = rng.uniform(1, 3), rng.uniform(0, 2 * math.pi)

    def offset(x: np.ndarray | float) -> Any:
        return bow * np.sin(np.pi * x) + 0.04 * np.sin(2 * np.pi * freq * x + phase)

    shift = offset(t) - offset(anchor)
    return a + np.outer(t, b - a) + np.outer(shift, normal)


def _handwriting(start: np.ndarray, length: float, rng: np.random.Generator) -> Strokes:
    """A looping cursive-like scrawl, for the date field."""
    t = np.linspace(0, 1, int(length * 8))
    loops = length / rng.uniform(2.0, 3.0)
    r = rng.uniform(0.8, 1.3)
    wave = 2 * np.pi * loops * t
    x = start[0] + length * t + r * np.sin(wave)
    y = start[1] - r - r * np.cos(wave) * (1 + 0.3 * np.sin(wave / 3.7))
    return [(np.column_stack([x, y]), False)]


def _draw_ink(img: np.ndarray, strokes: Strokes, ink: str, width_mm: float, ppm: float,
              rng: np.random.Generator) -> None:
    """Multiply antialiased ink into the BGR paper `img` (page pixels, `ppm` px per mm)."""
    pts = [(p * ppm - 0.5, filled) for p, filled in strokes]  # pixel centres at (i + 0.5) / ppm
    every = np.vstack([p for p, _ in pts])
    pad = width_mm * ppm + 4
    x0, y0 = np.maximum(np.floor(every.min(axis=0) - pad).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(every.max(axis=0) + pad).astype(int), img.shape[1::-1])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    thickness = max(1, round(width_mm * ppm))
    for p, filled in pts:
        poly = np.round((p - (x0, y0)) * 16).astype(np.int32).reshape(-1, 1, 2)
        if filled:
            cv2.fillPoly(mask, [poly], 255, cv2.LINE_AA, shift=4)
        else:
            cv2.polylines(mask, [poly], False, 255, thickness, cv2.LINE_AA, shift=4)
    grain = cv2.GaussianBlur(rng.standard_normal(mask.shape).astype(np.float32), (0, 0), 1.0) * 3.5
    alpha = mask.astype(np.float32) / 255
    if ink == "pencil":
        alpha *= np.clip(0.7 + 0.45 * grain, 0.15, 1.0)
        colour = np.full(3, rng.uniform(110, 170))
    elif ink == "blue":
        alpha *= np.clip(0.95 + 0.08 * grain, 0.8, 1.0)
        colour = np.array([rng.uniform(140, 175), rng.uniform(55, 80), rng.uniform(20, 45)])
    else:
        alpha *= np.clip(0.95 + 0.08 * grain, 0.8, 1.0)
        grey = rng.uniform(20, 40)
        colour = np.array([grey + rng.uniform(0, 8), grey, grey])
    factor = 1 - alpha[..., None] * (1 - colour.astype(np.float32) / 255)
    patch = img[y0:y1, x0:x1].astype(np.float32) * factor
    img[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------- other paper


def _foreign_paper(rng: np.random.Generator, paper: str, dpi: int) -> np.ndarray:
    """Another document's page: title, paragraphs, a table, boxes, ticked checkboxes."""
    img = np.full((*_page_shape(paper, dpi), 3), 255, np.uint8)
    ppm = dpi / 25.4
    w_mm, h_mm = PAPERS_MM[paper]
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX,
                           cv2.FONT_HERSHEY_COMPLEX]))

    def px(x: float, y: float) -> tuple[int, int]:
        return round(x * ppm), round(y * ppm)

    def text(x: float, y: float, words: str, height_mm: float) -> None:
        scale = height_mm * ppm / 22
        cv2.putText(img, words, px(x, y), font, scale, (25, 25, 25), max(1, round(scale * 0.9)),
                    cv2.LINE_AA)

    def sentence(width_mm: float, height_mm: float) -> str:
        words: list[str] = []
        while True:
            word = "".join(rng.choice(list("etaoinshrdlucmfwypvbgk"), rng.integers(1, 9)))
            (w, _), _ = cv2.getTextSize(" ".join([*words, word]), font, height_mm * ppm / 22, 1)
            if w > width_mm * ppm and words:
                return " ".join(words)
            words.append(word)

    thin = max(1, round(0.3 * ppm))
    text(20, 28, sentence(120, 7).title(), 7)
    y = 40.0
    while y < h_mm - 40:
        block = rng.choice(["paragraph", "table", "box", "checkboxes", "scale", "signature"])
        if block == "paragraph":
            for _ in range(int(rng.integers(3, 9))):
                text(20, y, sentence(w_mm - 40, 2.6), 2.6)
                y += 5.0
        elif block == "table":
            rows, cols = int(rng.integers(3, 8)), int(rng.integers(2, 6))
            cw = (w_mm - 40) / cols
            for r in range(rows + 1):
                cv2.line(img, px(20, y + r * 7), px(w_mm - 20, y + r * 7), (0, 0, 0), thin)
            for c in range(cols + 1):
                cv2.line(img, px(20 + c * cw, y), px(20 + c * cw, y + rows * 7), (0, 0, 0), thin)
            for r in range(rows):
                for c in range(cols):
                    text(22 + c * cw, y + r * 7 + 5, sentence(cw - 6, 2.4), 2.4)
            y += rows * 7 + 6
        elif block == "box":
            cv2.rectangle(img, px(20, y), px(w_mm - 20, y + 22), (0, 0, 0), thin * 2)
            for k in range(3):
                text(24, y + 7 + k * 5, sentence(w_mm - 50, 2.6), 2.6)
            y += 28
        elif block == "checkboxes":
            for _ in range(int(rng.integers(3, 7))):
                cv2.rectangle(img, px(22, y - 4), px(26, y), (0, 0, 0), thin)
                text(30, y, sentence(90, 2.6), 2.6)
                if rng.random() < 0.4:
                    tick = [(np.array([[22.5, y - 2.5], [23.8, y - 0.5], [27.5, y - 6]]), False)]
                    _draw_ink(img, tick, "blue", 0.5, ppm, rng)
                y += 7
        elif block == "scale":  # another questionnaire's rating line, with a pen tick
            text(30, y + 3, sentence(100, 2.6), 2.6)
            cv2.line(img, px(30, y + 10), px(130, y + 10), (0, 0, 0), thin)
            for x in (30, 80, 130):
                cv2.line(img, px(x, y + 8), px(x, y + 12), (0, 0, 0), thin)
            _draw_ink(img, [_tick(np.array([rng.uniform(30, 130), y + 10]), 5.0, rng)], "black",
                      0.5, ppm, rng)
            y += 18
        else:
            cv2.line(img, px(20, y + 6), px(100, y + 6), (0, 0, 0), thin)
            text(20, y + 10, "signature", 2.4)
            y += 14
        y += 6
    return img


# ---------------------------------------------------------------------------------- scan


def _scan(paper_img: np.ndarray, dpi: int, paper: str, cond: ScanCondition,
          rng: np.random.Generator) -> np.ndarray:
    """Print (scale) and scan (place, rotate, sample, degrade) the ideal BGR paper."""
    if cond.phone:
        return _degrade(_photograph(paper_img, dpi, paper, cond, rng), cond, rng)
    src = paper_img if cond.color else cv2.cvtColor(paper_img, cv2.COLOR_BGR2GRAY)
    w_mm, h_mm = PAPERS_MM[paper]
    out_w_mm, out_h_mm = (h_mm, w_mm) if cond.rotation % 180 else (w_mm, h_mm)
    ppm = cond.dpi / 25.4
    src, src_ppm = _downsample(src, dpi / 25.4, ppm * cond.print_scale)
    centre = np.array([out_w_mm / 2, out_h_mm / 2]) + cond.offset_mm
    page_to_out = (_shift(*centre) @ _turn(cond.rotation + cond.skew_deg)
                   @ _scale(cond.print_scale) @ _shift(-w_mm / 2, -h_mm / 2))
    m = _mm_to_px(ppm, ppm) @ page_to_out @ np.linalg.inv(_mm_to_px(*src_ppm))
    size = (round(out_w_mm * ppm), round(out_h_mm * ppm))
    white = (255, 255, 255) if cond.color else 255
    out = cv2.warpAffine(src, m[:2], size, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=white)
    return _degrade(out, cond, rng)


def _photograph(paper_img: np.ndarray, dpi: int, paper: str, cond: ScanCondition,
                rng: np.random.Generator) -> np.ndarray:
    """The page on a table, photographed at an angle in uneven light."""
    long_side = int(rng.integers(1500, 3001))
    sideways = cond.rotation % 180 == 90
    fw, fh = (long_side, long_side * 3 // 4) if sideways else (long_side * 3 // 4, long_side)
    w_mm, h_mm = PAPERS_MM[paper]
    app_w, app_h = (h_mm, w_mm) if sideways else (w_mm, h_mm)
    k = rng.uniform(0.65, 0.9) * min(fw / app_w, fh / app_h)  # frame px per page mm
    centre = np.array([fw, fh]) / 2 + rng.uniform(-0.04, 0.04, 2) * (fw, fh)
    placed = (_shift(*centre) @ _turn(cond.rotation + cond.skew_deg) @ _scale(k)
              @ _shift(-w_mm / 2, -h_mm / 2))
    corners = np.array([[0, 0], [w_mm, 0], [w_mm, h_mm], [0, h_mm]], np.float64)
    dst = _apply(placed, corners)
    angles = rng.uniform(0, 2 * math.pi, 4)
    moves = rng.uniform(0.02, 0.08, 4) * k * (app_w + app_h) / 2
    dst += np.column_stack([np.cos(angles), np.sin(angles)]) * moves[:, None]
    fit = min(1.0, *(0.98 * np.array([fw, fh]) / np.ptp(dst, axis=0)))
    dst = dst.mean(axis=0) + (dst - dst.mean(axis=0)) * fit
    dst = np.clip(dst, 0.01 * np.array([fw, fh]), 0.99 * np.array([fw, fh]))
    page_to_frame = cv2.getPerspectiveTransform(corners.astype(np.float32),
                                                dst.astype(np.float32))
    src, src_ppm = _downsample(paper_img, dpi / 25.4, k * cond.print_scale)
    printed = _shift(w_mm / 2, h_mm / 2) @ _scale(cond.print_scale) @ _shift(-w_mm / 2, -h_mm / 2)
    h = _shift(-0.5, -0.5) @ page_to_frame @ printed @ np.linalg.inv(_mm_to_px(*src_ppm))
    page = cv2.warpPerspective(src, h, (fw, fh), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    mask = np.zeros((fh, fw), np.uint8)
    cv2.fillPoly(mask, [np.round((dst - 0.5) * 16).astype(np.int32).reshape(-1, 1, 2)], 255,
                 cv2.LINE_AA, shift=4)
    alpha = (mask.astype(np.float32) / 255)[..., None]
    frame = _table(rng, fh, fw) * (1 - alpha) + page.astype(np.float32) * alpha
    ang, depth = rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.4)
    xs, ys = np.linspace(-1, 1, fw)[None, :], np.linspace(-1, 1, fh)[:, None]
    ramp = (math.cos(ang) * xs + math.sin(ang) * ys + 1.42) / 2.84
    light = (1 - depth * ramp - 0.08 * (xs**2 + ys**2)).astype(np.float32)
    cast = np.array([rng.uniform(0.86, 0.96), rng.uniform(0.94, 1.0), 1.0], np.float32)
    frame *= light[..., None] * cast * rng.uniform(0.9, 1.0)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _table(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A darker textured surface: wood, grey desk or cloth."""
    bases = [(60, 95, 135), (85, 85, 92), (110, 78, 52), (48, 52, 58)]
    base = np.array(bases[int(rng.integers(len(bases)))], np.float32) * rng.uniform(0.8, 1.1)
    low = cv2.resize(rng.standard_normal((6, 8)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    grain = cv2.resize(rng.standard_normal((h // 12, w // 150 + 2)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_LINEAR)
    texture = 15 * low + 5 * grain + 4 * rng.standard_normal((h, w)).astype(np.float32)
    return base + texture[..., None]


def _degrade(img: np.ndarray, cond: ScanCondition, rng: np.random.Generator) -> np.ndarray:
    """Optics, copier contrast, toner specks, sensor noise, then 1-bit or JPEG output."""
    f = img.astype(np.float32)
    if cond.blur_px > 0:
        f = cv2.GaussianBlur(f, (0, 0), cond.blur_px)
    if cond.contrast != 1.0:
        f = 255 - (255 - f) * cond.contrast
    if cond.speckle > 0 and cond.dpi > 0:
        area_cm2 = f.shape[0] * f.shape[1] / (cond.dpi / 2.54) ** 2
        for _ in range(int(cond.speckle * area_cm2)):
            centre = (int(rng.integers(f.shape[1])), int(rng.integers(f.shape[0])))
            grey = float(rng.uniform(30, 140))
            cv2.circle(f, centre, int(rng.integers(1, 3)), (grey, grey, grey), -1, cv2.LINE_AA)
    if cond.noise > 0:
        f += rng.standard_normal(f.shape, dtype=np.float32) * cond.noise
    out = np.clip(f + 0.5, 0, 255).astype(np.uint8)
    if cond.binary:
        return np.where(out < _BINARY_THRESHOLD, 0, 255).astype(np.uint8)
    if cond.jpeg_quality is not None:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, cond.jpeg_quality])
        flag = cv2.IMREAD_COLOR if out.ndim == 3 else cv2.IMREAD_GRAYSCALE
        out = cv2.imdecode(data, flag)
    return out


def _downsample(img: np.ndarray, ppm_in: float, ppm_target: float) -> tuple[np.ndarray,
                                                                             tuple[float, float]]:
    """Area-average down to about `ppm_target`; return the image and its exact px/mm per axis."""
    if ppm_target >= ppm_in * 0.9:
        return img, (ppm_in, ppm_in)
    h, w = img.shape[:2]
    nw, nh = round(w * ppm_target / ppm_in), round(h * ppm_target / ppm_in)
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    return small, (ppm_in * nw / w, ppm_in * nh / h)


def _mm_to_px(ppm_x: float, ppm_y: float) -> np.ndarray:
    """Millimetres to pixel indices: pixel i is centred on (i + 0.5) / ppm."""
    return _shift(-0.5, -0.5) @ np.diag([ppm_x, ppm_y, 1.0])


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0, dx], [0, 1.0, dy], [0, 0, 1.0]])


def _scale(s: float) -> np.ndarray:
    return np.diag([s, s, 1.0])


def _turn(deg: float) -> np.ndarray:
    """Clockwise as seen in an image (y down)."""
    m = np.eye(3)
    m[:2, :2] = _rotation(math.radians(deg))
    return m


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:2, :2].T + m[:2, 2]


# ---------------------------------------------------------------------------------- files


def write_stack(pages: Sequence[SynthPage], folder: str | Path) -> list[Path]:
    """Write the pages as a scanner would and truth.jsonl beside them; return the scan files.

    Phone photos become photo-NNN.jpg, lossless clean scans scan-NNN.png, and the other
    scanner pages go, in order, half into stack.pdf (one JPEG or G4 image per page) and half into
    stack.tif (G4 for 1-bit pages, JPEG otherwise). NNN is the page's 1-based stack position.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scanner = [i for i, p in enumerate(pages) if not p.condition.phone and not _lossless(p)]
    half = (len(scanner) + 1) // 2
    routes: dict[str, list[int]] = {}
    for i, page in enumerate(pages):
        if page.condition.phone:
            name = f"photo-{i + 1:03d}.jpg"
        elif _lossless(page):
            name = f"scan-{i + 1:03d}.png"
        else:
            name = "stack.pdf" if scanner.index(i) < half else "stack.tif"
        routes.setdefault(name, []).append(i)
    records = []
    for name in sorted(routes):
        chosen = [pages[i] for i in routes[name]]
        path = folder / name
        if name.endswith(".pdf"):
            _write_pdf(path, chosen)
        elif name.endswith(".tif"):
            _write_tiff(path, chosen)
        elif name.endswith(".jpg"):
            quality = chosen[0].condition.jpeg_quality or 90
            cv2.imwrite(str(path), chosen[0].image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        else:
            _pil(chosen[0]).save(path, dpi=(chosen[0].dpi, chosen[0].dpi))
        records += [truth_record(p, name, n + 1) for n, p in enumerate(chosen)]
    with open(folder / "truth.jsonl", "w", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in records)
    return [folder / name for name in sorted(routes)]


def truth_record(page: SynthPage, file: str, page_no: int) -> dict[str, Any]:
    """The JSON truth of one written page."""
    return {
        "file": file, "page": page_no, "kind": page.kind, "template": page.template_id,
        "serial": page.serial, "client": page.client, "session": page.session,
        "paper": page.paper, "dpi": page.dpi, "condition": asdict(page.condition),
        "items": [{"key": item.key, "marks": [asdict(m) for m in item.marks],
                   "expected_status": item.expected_status, "true_mm": item.true_mm}
                  for item in page.items],
    }


def read_truth(path: str | Path) -> list[dict[str, Any]]:
    """truth.jsonl as records, with `items` as ItemTruth and `condition` as ScanCondition."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cond = dict(record["condition"], offset_mm=tuple(record["condition"]["offset_mm"]))
        record["condition"] = ScanCondition(**cond)
        record["items"] = tuple(ItemTruth(it["key"], tuple(PenMark(**m) for m in it["marks"]))
                                for it in record["items"])
        records.append(record)
    return records


def _lossless(page: SynthPage) -> bool:
    return page.condition.jpeg_quality is None and not page.condition.binary


def _pil(page: SynthPage) -> Image.Image:
    if page.image.ndim == 3:
        return Image.fromarray(cv2.cvtColor(page.image, cv2.COLOR_BGR2RGB))
    return Image.fromarray(page.image).convert("1") if page.condition.binary else \
        Image.fromarray(page.image)


def _write_pdf(path: Path, pages: Sequence[SynthPage]) -> None:
    images = [pdf.g4(page.image, page.dpi) if page.condition.binary
              else pdf.jpeg(page.image, page.dpi, page.condition.jpeg_quality or 92)
              for page in pages]
    pdf.write_image_pdf(path, images)


def write_scanner_pdf(path: Path, pages: Sequence[SynthPage], count: int,
                      dpi: int = 200) -> Path:
    """An image-only PDF of `count` pages cycling through the 8-bit gray scanner pages (200 or
    300 dpi, not 1-bit) among `pages`, each resized to `dpi` and stored as JPEG (quality 85):
    a long stack quickly, its repeats being the same sheets fed again."""
    chosen = [p for p in pages
              if p.image.ndim == 2 and p.dpi in (200, 300) and not p.condition.binary]
    images = [pdf.jpeg(cv2.resize(p.image, None, fx=dpi / p.dpi, fy=dpi / p.dpi,
                                  interpolation=cv2.INTER_AREA), dpi, quality=85)
              for p in chosen]
    return pdf.write_image_pdf(path, (images[i % len(images)] for i in range(count)))


def _write_tiff(path: Path, pages: Sequence[SynthPage]) -> None:
    # Pillow's save_all applies the first frame's settings to every frame; a scanner's TIFF mixes
    # G4 and JPEG frames, so each frame is written with its own settings.
    with TiffImagePlugin.AppendingTiffWriter(str(path), new=True) as tiff:
        for page in pages:
            frame = _pil(page)
            frame.encoderinfo = {"dpi": (page.dpi, page.dpi)}
            if page.condition.binary:
                frame.encoderinfo["compression"] = "group4"
            else:
                frame.encoderinfo.update(compression="jpeg",
                                         quality=page.condition.jpeg_quality or 92)
            frame.encoderconfig = ()
            TiffImagePlugin._save(frame, tiff, str(path))
            tiff.newFrame()
