"""The fonts of every PDF srsform writes: embedded Unicode fonts, never reportlab's base 14.

reportlab's built-in Helvetica is not embedded and draws only Latin-1: anything else comes
out as boxes. Every PDF writer (the form renderer, the audit report, the clinician report)
therefore draws with fonts registered here, which reportlab embeds as subsets:

- `default_fonts()`: DejaVu Sans and DejaVu Sans Bold (Latin, Greek, Cyrillic and more),
  taken from the copy matplotlib ships (mpl-data/fonts/ttf), never from the machine's fonts.
- `template_fonts(template)`: a template's own TrueType font file(s) (`font`, `font_bold`,
  paths relative to the template file) for scripts DejaVu lacks, else the default pair.
- `check_drawable(text, font, field, source)`: a template's text must be drawable in full:
  a character the font has no glyph for, or a script srsform cannot lay out (right to left,
  or needing shaping), is a TemplateError (exit 3) naming the characters and the field.
- `drawable(text, font)`: for text that is not the template's (file names, reasons, a
  reviewer's note in a report): what the font cannot draw is written as `\\uXXXX`, never
  as a box or in the wrong order.
- `wrap(text, font, size, width_pt)`: lines that fit a width, breaking between words (and
  between the characters of Chinese and Japanese, which have no spaces).
- `EmbeddedCanvas(target, fonts, pagesize=...)`: a reportlab Canvas for srsform's PDFs. It
  starts in `fonts.regular` (a plain Canvas starts in Helvetica and names it on every page,
  drawn or not), and its drawString, drawRightString and drawCentredString pass their text
  through `drawable` in the current font. Draw with `fonts.regular` and `fonts.bold` only.
  A reportlab Drawing drawn on it needs `initialFontName=fonts.regular` for the same reason.
  With platypus, pass `canvasmaker=EmbeddedCanvas` and styles with `fontName=fonts.regular`
  (`<b>` maps to the bold face); Paragraphs draw through text objects, not drawString, so
  pass their text through `drawable` (and escape it for Paragraph markup) yourself.

`pdffonts` on a PDF made this way lists only embedded fonts (a test checks each writer).
"""

from __future__ import annotations

import hashlib
import importlib.util
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ..errors import ConfigError, TemplateError
from .templates import Template

DEJAVU = "DejaVuSans"
DEJAVU_BOLD = "DejaVuSans-Bold"
_DEJAVU_FILES = {DEJAVU: "DejaVuSans.ttf", DEJAVU_BOLD: "DejaVuSans-Bold.ttf",
                 "DejaVuSans-Oblique": "DejaVuSans-Oblique.ttf",
                 "DejaVuSans-BoldOblique": "DejaVuSans-BoldOblique.ttf"}
# Bidirectional classes of right-to-left letters, digits and embedding controls.
_RTL_CLASSES = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI"})
# Scripts whose letters change shape and order when joined: drawn one code point after
# another they are wrong, so srsform refuses them as it refuses right-to-left text.
_SHAPED_SCRIPTS = ((0x0900, 0x0DFF, "Indic"), (0x0F00, 0x0FFF, "Tibetan"),
                   (0x1000, 0x109F, "Myanmar"), (0x1780, 0x17FF, "Khmer"),
                   (0x1800, 0x18AF, "Mongolian"))
_registered: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class Fonts:
    """Two reportlab font names, registered and embeddable: body text and bold."""

    regular: str
    bold: str

    def pick(self, bold: bool) -> str:
        return self.bold if bold else self.regular


def default_fonts() -> Fonts:
    """DejaVu Sans and DejaVu Sans Bold, registered with reportlab (once per process), with
    the family's obliques so that `<b>` and `<i>` in platypus Paragraphs stay embedded.
    Raises ConfigError if matplotlib's copy of the font cannot be found."""
    if DEJAVU not in pdfmetrics.getRegisteredFontNames():
        folder = _dejavu_folder()
        for name, file in _DEJAVU_FILES.items():
            pdfmetrics.registerFont(TTFont(name, str(folder / file), shapable=False))
        pdfmetrics.registerFontFamily(DEJAVU, normal=DEJAVU, bold=DEJAVU_BOLD,
                                      italic="DejaVuSans-Oblique",
                                      boldItalic="DejaVuSans-BoldOblique")
    return Fonts(DEJAVU, DEJAVU_BOLD)


def template_fonts(template: Template) -> Fonts:
    """The fonts a template's text is printed in: its own font files if it names any (the
    bold one defaults to the regular one), else `default_fonts()`. A file that is missing,
    unreadable or not a TrueType font is a TemplateError naming the file and the field."""
    if template.font is None:
        return default_fonts()
    regular = _register_file(template.font.regular, "font", template.source)
    if template.font.bold == template.font.regular:
        return Fonts(regular, regular)
    return Fonts(regular, _register_file(template.font.bold, "font_bold", template.source))


class EmbeddedCanvas(Canvas):
    """A Canvas whose pages name only the embedded fonts and never draw a box: it starts in
    `fonts.regular`, and text it cannot draw in the current font is written as escapes."""

    def __init__(self, target: Any, fonts: Fonts | None = None, **kwargs: Any) -> None:
        self.fonts = fonts or default_fonts()
        # Whatever a caller (platypus passes its own, Helvetica by default) asks for.
        kwargs["initialFontName"] = self.fonts.regular
        super().__init__(target, **kwargs)

    def drawString(self, x: float, y: float, text: str, *args: Any,  # noqa: N802
                   **kwargs: Any) -> None:
        super().drawString(x, y, drawable(text, self._fontname), *args, **kwargs)

    def drawRightString(self, x: float, y: float, text: str, *args: Any,  # noqa: N802
                        **kwargs: Any) -> None:
        super().drawRightString(x, y, drawable(text, self._fontname), *args, **kwargs)

    def drawCentredString(self, x: float, y: float, text: str, *args: Any,  # noqa: N802
                          **kwargs: Any) -> None:
        super().drawCentredString(x, y, drawable(text, self._fontname), *args, **kwargs)


def font_label(font: str) -> str:
    """A font's own PostScript name (e.g. 'DejaVuSans-Bold'), for messages."""
    name = getattr(pdfmetrics.getFont(font).face, "name", font)
    return name.decode("latin-1") if isinstance(name, bytes) else str(name)


def missing_glyphs(text: str, font: str) -> list[str]:
    """The characters of `text` that `font` has no glyph for, each once, in order."""
    covered = _glyphs(font)
    return list(dict.fromkeys(ch for ch in text if ord(ch) not in covered))


def check_drawable(text: str, font: str, field: str, source: str) -> None:
    """Raise TemplateError, naming the field and the characters, unless `font` can draw all
    of `text` as written: a character without a glyph (which would print as a box) or
    right-to-left or shaped script (which would print in the wrong order or form)."""
    rtl = [ch for ch in text if _is_rtl(ch)]
    if rtl:
        raise TemplateError(
            f"{source}: field '{field}': right-to-left text ({_scripts(rtl)}: "
            f"{describe_chars(rtl)}) cannot be printed: srsform does not lay out right-to-left "
            "scripts, and printing them left to right would be wrong")
    shaped = [ch for ch in text if _shaped_script(ch)]
    if shaped:
        raise TemplateError(
            f"{source}: field '{field}': {_shaped_script(shaped[0])} script "
            f"({describe_chars(shaped)}) cannot be printed: its letters must be shaped and "
            "reordered, which srsform does not do")
    missing = missing_glyphs(text, font)
    if missing:
        hint = ("name a font file that has them with font = \"...\" in the template (a path "
                "relative to the template file)")
        if any(not ch.isprintable() for ch in missing):
            hint = "remove the control or invisible characters, or " + hint
        raise TemplateError(
            f"{source}: field '{field}': the font {font_label(font)} has no glyph for "
            f"{describe_chars(missing)}: {hint}")


def drawable(text: str, font: str) -> str:
    """`text` with each character `font` cannot draw as written (no glyph, right-to-left,
    shaped script, a control character) replaced by its `\\uXXXX` escape: for report text
    that is not a template's (file names, reasons, notes), which must print, never as
    boxes."""
    covered = _glyphs(font)

    def draws(ch: str) -> bool:
        return (ord(ch) in covered and ch.isprintable() and not _is_rtl(ch)
                and not _shaped_script(ch))

    if all(draws(ch) for ch in text):
        return text
    return "".join(ch if draws(ch) else _escape(ch) for ch in text)


def describe_chars(chars: list[str], limit: int = 8) -> str:
    """Characters for a message: "'中' (U+4E2D), '\\x07' (U+0007)", at most `limit`."""
    unique = list(dict.fromkeys(chars))
    shown = [f"'{ch if ch.isprintable() and not ch.isspace() else _escape(ch)}' "
             f"(U+{ord(ch):04X})" for ch in unique[:limit]]
    more = f" and {len(unique) - limit} more" if len(unique) > limit else ""
    return ", ".join(shown) + more


def wrap(text: str, font: str, size: float, width_pt: float) -> list[str]:
    """`text` in lines no wider than `width_pt` (a newline always breaks). Lines break at
    spaces, and between wide (CJK) characters; a word longer than a line stays whole."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for piece in _pieces(paragraph):
            joined = line + piece if line else piece.lstrip()
            if line and pdfmetrics.stringWidth(joined.rstrip(), font, size) > width_pt:
                lines.append(line.rstrip())
                line = piece.lstrip()
            else:
                line = joined
        lines.append(line.rstrip())
    return lines


def _pieces(paragraph: str) -> list[str]:
    """Units that are never broken: a word with the spaces before it, or one wide char."""
    pieces: list[str] = []
    current = ""
    for ch in paragraph:
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        if (ch.isspace() and current.strip()) or (wide and current.strip()):
            pieces.append(current)
            current = ""
        current += ch
        if wide:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else (
        f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def _is_rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in _RTL_CLASSES


def _shaped_script(ch: str) -> str | None:
    """The name of the script `ch` belongs to if it is one srsform cannot shape."""
    code = ord(ch)
    return next((name for low, high, name in _SHAPED_SCRIPTS if low <= code <= high), None)


def _glyphs(font: str) -> dict[int, int]:
    """The code points `font` has glyphs for; ValueError for a font that is not embedded."""
    covered = getattr(pdfmetrics.getFont(font).face, "charToGlyph", None)
    if covered is None:
        raise ValueError(f"{font} is not an embedded TrueType font: draw srsform's PDFs with "
                         "the fonts of fonts.default_fonts() or fonts.template_fonts()")
    return covered


def _scripts(chars: list[str]) -> str:
    """The scripts of these characters by their Unicode names, e.g. 'Hebrew' or 'Arabic'."""
    names = dict.fromkeys(unicodedata.name(ch, "UNKNOWN").split()[0].title() for ch in chars)
    return " and ".join(names)


def _dejavu_folder() -> Path:
    """matplotlib's font folder, found without importing matplotlib (printing stays quick);
    a matplotlib whose data lives elsewhere (a Linux distribution's) is asked."""
    spec = importlib.util.find_spec("matplotlib")
    folders = [Path(base) / "mpl-data" / "fonts" / "ttf"
               for base in (spec.submodule_search_locations or []) if spec]
    if not any((folder / _DEJAVU_FILES[DEJAVU]).is_file() for folder in folders):
        try:
            import matplotlib

            folders.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
        except ImportError:
            pass
    for folder in folders:
        if all((folder / file).is_file() for file in _DEJAVU_FILES.values()):
            return folder
    raise ConfigError("the DejaVu Sans font files were not found in matplotlib's data "
                      "(mpl-data/fonts/ttf): reinstall matplotlib "
                      "(pip install --force-reinstall matplotlib)")


def _register_file(path: str, field: str, source: str) -> str:
    """Register a template's font file with reportlab once; its reportlab name."""
    file = Path(path)
    try:
        stat = file.stat()
    except OSError as exc:
        raise TemplateError(f"{source}: field '{field}': font file {file} not found "
                            f"({exc.strerror}); the path is relative to the template "
                            "file") from None
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _registered:
        return _registered[key]
    name = "srsform-" + hashlib.sha256(repr(key).encode()).hexdigest()[:12]
    try:
        font = TTFont(name, str(file), shapable=False)
    except OSError as exc:
        raise TemplateError(f"{source}: field '{field}': cannot read font file {file}: "
                            f"{exc}") from None
    except Exception as exc:  # reportlab's parser raises assorted errors on a damaged file
        why = ("it has PostScript (CFF) outlines, which cannot be embedded: use a "
               "TrueType-outline (.ttf) version of the font" if "postscript" in str(exc)
               else f"not a usable TrueType font ({exc})")
        raise TemplateError(f"{source}: field '{field}': font file {file}: {why}") from None
    pdfmetrics.registerFont(font)
    _registered[key] = name
    return name
