"""What measuring a line hands on: its mark candidates and the line's measurement."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarkCandidate:
    """One group of pen ink in a line's mark zone."""

    x_mm: float  # estimated crossing point, in mm from the detected left end (unclamped)
    area_mm2: float  # ink area, weighted by darkness
    contrast: float  # darkness relative to the printed line (1.0 = as dark as the print)
    distance_mm: float  # closest approach to the line
    fit_rms_mm: float  # scatter of the rows used to locate the crossing point
    at_stop: bool = False  # touches an end stop, which hides part of it
    inferred: bool = False  # not seen: inferred from extra ink around an end stop
    meetings: tuple[float, ...] = ()  # where it meets the line, when in more than one place
    layered: float = 0.0  # share of its columns crossed by 3+ strokes: a scribble
    spans_zone: bool = False  # runs from edge to edge of the mark zone: no pen tick does
    near_width_mm: float = 0.0  # width of its visible ink within FIT_HALF_HEIGHT_MM of the line
    touches_stop: bool = False  # meets an end stop above and below the line (may hide part)
    # Where on the line (mm, with slack) its ink near the line lies, the stop it touches
    # included: wherever it crosses the line, it is within this.
    extent_mm: tuple[float, float] | None = None
    crossing_in_view: bool = False  # an X read where its strokes cross, clear of the end stops
    length_mm: float = 0.0  # how far its visible ink reaches, corner to corner of its box


@dataclass(frozen=True)
class LineMeasurement:
    """What was read on one line; `mm` is None when no single mark was found."""

    key: str
    status: str  # ok | missing | multiple | uncertain
    mm: float | None  # 0..100, clamped, 0.1 mm resolution
    raw_mm: float | None  # unclamped
    sigma_mm: float  # estimated standard error of mm
    confidence: float
    length_mm: float | None  # detected line length in form mm (100 when printed at scale)
    ends_found: bool
    candidates: tuple[MarkCandidate, ...]
    reasons: tuple[str, ...]
    # Detected geometry in form mm, for evidence images: line ends and the mark read.
    left_end_mm: tuple[float, float]
    right_end_mm: tuple[float, float]
    blur_mm: float = 0.0  # the image's blur as the printed line shows it (a sigma input)
    # Where the mark surely crosses the line (mm, unclamped), when the reader's only doubt
    # about it is where in its ink that is (not what the mark is): the score stands if
    # every point there scores alike (score.py). None otherwise.
    bounds_mm: tuple[float, float] | None = None
