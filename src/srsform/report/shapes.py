"""The few shapes srsform's charts are made of (lines, boxes, dots and labels), in points
from the top left of a chart's area with y down, and the two ways they are written: onto a
reportlab canvas (`draw_on_canvas`) and as an SVG element (`to_svg`).

Charts built from these cost no plotting library's start-up: matplotlib and its PDF backend
took about a second to load, the whole target for one client's report. This module imports
nothing heavy (the canvas is whatever the caller passes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from typing import Any

SVG_FONTS = "DejaVu Sans, Verdana, sans-serif"  # the PDFs' font where the browser has it

TextWidth = Callable[[str, float, bool], float]  # (text, size in points, bold) -> points


@dataclass(frozen=True)
class Line:
    """A straight or broken line through `points`; `dash_pt` empty for a solid line."""

    points: tuple[tuple[float, float], ...]
    colour: str
    width_pt: float
    dash_pt: tuple[float, ...] = ()


@dataclass(frozen=True)
class Box:
    """A filled rectangle (no outline)."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    opacity: float = 1.0


@dataclass(frozen=True)
class Dot:
    """A marker: filled, or white with a coloured rim (a provisional value)."""

    x: float
    y: float
    radius_pt: float
    colour: str
    hollow: bool = False


@dataclass(frozen=True)
class Label:
    """Text on one line; (x, y) is its baseline's start, middle or end (`anchor`). Rotated
    text reads upwards, its baseline vertical through x."""

    x: float
    y: float
    text: str
    size_pt: float
    colour: str = "#000000"
    bold: bool = False
    anchor: str = "start"  # start | middle | end
    rotated: bool = False


Shape = Line | Box | Dot | Label


def rough_text_width(text: str, size_pt: float, bold: bool = False) -> float:
    """A width near DejaVu Sans's, for text whose font is not known (SVG in a browser)."""
    return len(text) * size_pt * (0.64 if bold else 0.58)


def nice_ticks(high: float, most: int = 6) -> list[int]:
    """Whole-number ticks from 0 to `high` or just above, at most `most` steps of 1, 2 or 5
    times a power of ten."""
    power = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * power
            if high / step <= most:
                top = max(step, -(-int(math.ceil(high)) // step) * step)
                return list(range(0, top + 1, step))
        power *= 10


# --- onto a reportlab canvas -------------------------------------------------------------

def draw_on_canvas(canvas: Any, shapes: Iterable[Shape], left_pt: float, top_pt: float,
                   fonts: Any) -> None:
    """Draw `shapes` on a reportlab canvas (an EmbeddedCanvas) in its own coordinates (y
    up), their area's top left corner at (left_pt, top_pt); `fonts` (form.fonts.Fonts) sets
    the text."""

    def at(x: float, y: float) -> tuple[float, float]:
        return left_pt + x, top_pt - y

    canvas.saveState()
    canvas.setLineJoin(1)
    for shape in shapes:
        if isinstance(shape, Line):
            canvas.setStrokeColor(shape.colour)
            canvas.setLineWidth(shape.width_pt)
            canvas.setDash(list(shape.dash_pt))
            path = canvas.beginPath()
            path.moveTo(*at(*shape.points[0]))
            for point in shape.points[1:]:
                path.lineTo(*at(*point))
            canvas.drawPath(path, stroke=1, fill=0)
        elif isinstance(shape, Box):
            canvas.setFillColor(shape.colour)
            canvas.setFillAlpha(shape.opacity)
            canvas.rect(*at(shape.x, shape.y + shape.height), shape.width, shape.height,
                        stroke=0, fill=1)
            canvas.setFillAlpha(1)
        elif isinstance(shape, Dot):
            canvas.setFillColor("#ffffff" if shape.hollow else shape.colour)
            canvas.setStrokeColor(shape.colour)
            canvas.setLineWidth(0.8)
            canvas.setDash([])
            canvas.circle(*at(shape.x, shape.y), shape.radius_pt, stroke=1, fill=1)
        else:
            _label_on_canvas(canvas, shape, *at(shape.x, shape.y), fonts)
    canvas.restoreState()


def _label_on_canvas(canvas: Any, label: Label, x: float, y: float, fonts: Any) -> None:
    canvas.setFont(fonts.bold if label.bold else fonts.regular, label.size_pt)
    canvas.setFillColor(label.colour)
    draw = {"start": canvas.drawString, "middle": canvas.drawCentredString,
            "end": canvas.drawRightString}[label.anchor]
    if not label.rotated:
        draw(x, y, label.text)
        return
    canvas.saveState()
    canvas.translate(x, y)
    canvas.rotate(90)
    draw(0, 0, label.text)
    canvas.restoreState()


# --- as SVG ------------------------------------------------------------------------------

def to_svg(shapes: Iterable[Shape], width_pt: float, height_pt: float) -> str:
    """One SVG element (text kept as text), sized in points, with no external reference."""
    width, height = _n(width_pt), _n(height_pt)
    return (f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}pt\" "
            f"height=\"{height}pt\" viewBox=\"0 0 {width} {height}\" "
            f"font-family=\"{SVG_FONTS}\">\n"
            + "\n".join(_svg_shape(shape) for shape in shapes) + "\n</svg>")


def _svg_shape(shape: Shape) -> str:
    if isinstance(shape, Line):
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in shape.points)
        dash = (f" stroke-dasharray=\"{' '.join(map(_n, shape.dash_pt))}\""
                if shape.dash_pt else "")
        return (f"<polyline points=\"{points}\" fill=\"none\" stroke=\"{shape.colour}\" "
                f"stroke-width=\"{_n(shape.width_pt)}\" stroke-linejoin=\"round\"{dash}/>")
    if isinstance(shape, Box):
        opacity = f" fill-opacity=\"{_n(shape.opacity)}\"" if shape.opacity < 1 else ""
        return (f"<rect x=\"{_n(shape.x)}\" y=\"{_n(shape.y)}\" width=\"{_n(shape.width)}\" "
                f"height=\"{_n(shape.height)}\" fill=\"{shape.colour}\"{opacity}/>")
    if isinstance(shape, Dot):
        fill = "#ffffff" if shape.hollow else shape.colour
        return (f"<circle cx=\"{_n(shape.x)}\" cy=\"{_n(shape.y)}\" "
                f"r=\"{_n(shape.radius_pt)}\" fill=\"{fill}\" stroke=\"{shape.colour}\" "
                "stroke-width=\"0.8\"/>")
    x, y = _n(shape.x), _n(shape.y)
    rotate = f" transform=\"rotate(-90 {x} {y})\"" if shape.rotated else ""
    bold = " font-weight=\"bold\"" if shape.bold else ""
    anchor = f" text-anchor=\"{shape.anchor}\"" if shape.anchor != "start" else ""
    return (f"<text x=\"{x}\" y=\"{y}\" font-size=\"{_n(shape.size_pt)}\" "
            f"fill=\"{shape.colour}\"{anchor}{bold}{rotate}>{escape(shape.text)}</text>")


def _n(value: float) -> str:
    """A coordinate to a hundredth of a point, without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Plot:
    """A plot's area (points, y down) and the values at its edges; `y_span` matters only
    to plots that place values up their y axis (the audit's bars and histograms don't)."""

    left: float
    top: float
    width: float
    height: float
    x_span: tuple[float, float]
    y_span: tuple[float, float] = (0.0, 1.0)

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def x(self, value: float) -> float:
        low, high = self.x_span
        return self.left + (value - low) / (high - low) * self.width

    def y(self, value: float) -> float:
        low, high = self.y_span
        return self.bottom - (value - low) / (high - low) * self.height
