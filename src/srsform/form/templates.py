"""Load and validate template files (templates/*.toml) into frozen dataclasses.

A template is the instrument: its id, wording, items, scale and scoring rules. Geometry
derived from it lives in layout.py. A template is chosen by bundled name (`srs`) or by a
path to a clinic's own file (`./clinic-srs.toml`).
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import TemplateError
from .layout import LINE_LENGTH_MM

ROUNDING_RULES = ("nearest_cm_half_up", "one_decimal")
# A reading's score stands when its error bar reaches past a score boundary by no more than
# this (see read/score.py); the default is chosen from the calibration in bench/README.md.
DEFAULT_BOUNDARY_MARGIN_MM = 0.25
MAX_BOUNDARY_MARGIN_MM = 1.0  # a person with a ruler is off by 1 mm: no larger doubt is ambiguity
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
FLAG_OPS = tuple(_COMPARE)
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    left: str
    right: str


@dataclass(frozen=True)
class FlagRule:
    """A scoring flag: raise `name` when the total (or any item) compares `op` `value`."""

    name: str
    on: str  # "total" or "item"
    op: str
    value: float

    def describe(self) -> str:
        return f"{self.name}: {self.on}{self.op}{self.value:g}"

    def raised(self, scores: Sequence[float | int | None], total: float | int | None) -> bool:
        """Whether the flag is raised by these item scores and total (None: no score)."""
        compare = _COMPARE[self.op]
        if self.on == "total":
            return total is not None and compare(total, self.value)
        return any(score is not None and compare(score, self.value) for score in scores)


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    line_length_mm: float
    rounding: str
    reliable_change: float | None


@dataclass(frozen=True)
class ReviewPolicy:
    """When a reading goes to a person: `boundary_margin_mm` is how far past a score
    boundary its error bar may reach for the rounding rule's score to stand."""

    boundary_margin_mm: float = DEFAULT_BOUNDARY_MARGIN_MM


@dataclass(frozen=True)
class Template:
    id: str
    version: str
    title: str
    instructions: str
    scale: Scale
    items: tuple[Item, ...]
    flags: tuple[FlagRule, ...]
    source: str  # where it was loaded from, for messages
    review: ReviewPolicy = ReviewPolicy()

    def rule_text(self) -> str:
        """The scoring rule recorded with every score, e.g. 'srs@1.0 nearest_cm_half_up; ...'."""
        parts = [f"{self.id}@{self.version} {self.scale.rounding}"]
        parts += [flag.describe() for flag in self.flags]
        return "; ".join(parts)


def bundled_names() -> list[str]:
    """Names of the templates shipped inside the package, sorted."""
    folder = resources.files("srsform.template_files")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_template(name_or_path: str | Path) -> Template:
    """Load a bundled template by name, or a template file by path; validate it fully."""
    text, source = _read_source(str(name_or_path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{source}: not valid TOML: {exc}") from None
    return parse_template(data, source)


def load_bundled() -> list[Template]:
    return [load_template(name) for name in bundled_names()]


def _read_source(name_or_path: str) -> tuple[str, str]:
    looks_like_path = name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path
    if not looks_like_path:
        resource = resources.files("srsform.template_files").joinpath(f"{name_or_path}.toml")
        if resource.is_file():
            return resource.read_text(encoding="utf-8"), f"template '{name_or_path}'"
        known = ", ".join(bundled_names())
        raise TemplateError(
            f"unknown template '{name_or_path}': use one of {known}, or a path to a .toml file"
        )
    path = Path(name_or_path)
    if not path.is_file():
        raise TemplateError(f"{path}: template file not found")
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read template file: {exc}") from None


def parse_template(data: dict[str, Any], source: str) -> Template:
    """Validate a parsed TOML document; errors name the file, the field and the problem."""
    fields = _Fields(data, source)
    template_id = fields.text("id")
    if not _KEY_RE.match(template_id):
        fields.fail("id", "must be lower-case letters, digits and '_' (at most 32)")
    scale_data = fields.table("scale")
    scale_fields = _Fields(scale_data, source, "scale.")
    scale = Scale(
        min=scale_fields.integer("min", default=0),
        max=scale_fields.integer("max", default=10),
        line_length_mm=scale_fields.number("line_length_mm", default=LINE_LENGTH_MM),
        rounding=scale_fields.choice("rounding", ROUNDING_RULES, default="nearest_cm_half_up"),
        reliable_change=scale_fields.number("reliable_change", default=None),
    )
    if (scale.min, scale.max) != (0, 10):
        scale_fields.fail("min/max", "only a 0-10 scale is supported")
    if scale.line_length_mm != LINE_LENGTH_MM:
        scale_fields.fail("line_length_mm", "the measures are defined on 100 mm lines")
    items = tuple(_parse_item(entry, source, i) for i, entry in enumerate(fields.array("items")))
    if not 1 <= len(items) <= 6:
        fields.fail("items", f"expected 1 to 6 items, found {len(items)}")
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        fields.fail("items", f"item keys must be unique, found {keys}")
    flags = tuple(
        _parse_flag(entry, source, i) for i, entry in enumerate(fields.array("flags", default=[]))
    )
    review = _parse_review(fields.table("review"), source)
    return Template(
        id=template_id,
        version=fields.text("version"),
        title=fields.text("title"),
        instructions=fields.text("instructions", default=""),
        scale=scale,
        items=items,
        flags=flags,
        source=source,
        review=review,
    )


def _parse_review(data: dict[str, Any], source: str) -> ReviewPolicy:
    fields = _Fields(data, source, "review.")
    unknown = sorted(set(data) - {"boundary_margin_mm"})
    if unknown:
        fields.fail(unknown[0], "unknown setting (known: boundary_margin_mm)")
    margin = fields.number("boundary_margin_mm", default=DEFAULT_BOUNDARY_MARGIN_MM)
    if not 0.0 <= margin <= MAX_BOUNDARY_MARGIN_MM:
        fields.fail("boundary_margin_mm", f"must be between 0 and {MAX_BOUNDARY_MARGIN_MM:g} "
                    f"(mm), found {margin:g}")
    return ReviewPolicy(boundary_margin_mm=margin)


def _parse_item(entry: Any, source: str, index: int) -> Item:
    prefix = f"items[{index}]."
    if not isinstance(entry, dict):
        raise TemplateError(f"{source}: field 'items[{index}]': must be a table")
    fields = _Fields(entry, source, prefix)
    key = fields.text("key")
    if not _KEY_RE.match(key):
        fields.fail("key", "must be lower-case letters, digits and '_' (at most 32)")
    return Item(key=key, label=fields.text("label"), left=fields.text("left"),
                right=fields.text("right"))


def _parse_flag(entry: Any, source: str, index: int) -> FlagRule:
    if not isinstance(entry, dict):
        raise TemplateError(f"{source}: field 'flags[{index}]': must be a table")
    fields = _Fields(entry, source, f"flags[{index}].")
    return FlagRule(
        name=fields.text("name"),
        on=fields.choice("on", ("total", "item")),
        op=fields.choice("op", FLAG_OPS),
        value=fields.number("value"),
    )


_MISSING = object()


class _Fields:
    """Typed access to one TOML table, raising TemplateError naming file and field."""

    def __init__(self, data: dict[str, Any], source: str, prefix: str = "") -> None:
        self.data, self.source, self.prefix = data, source, prefix

    def fail(self, name: str, problem: str) -> None:
        raise TemplateError(f"{self.source}: field '{self.prefix}{name}': {problem}")

    def _get(self, name: str, default: Any) -> Any:
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            self.fail(name, "is required but missing")
        return default

    def text(self, name: str, default: Any = _MISSING) -> str:
        value = self._get(name, default)
        if not isinstance(value, str) or (default is _MISSING and not value.strip()):
            self.fail(name, f"must be a non-empty string, found {value!r}")
        return value

    def integer(self, name: str, default: Any = _MISSING) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"must be a whole number, found {value!r}")
        return value

    def number(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, f"must be a number, found {value!r}")
        return float(value)

    def choice(self, name: str, options: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self._get(name, default)
        if value not in options:
            self.fail(name, f"must be one of {', '.join(options)}, found {value!r}")
        return value

    def table(self, name: str) -> dict[str, Any]:
        value = self._get(name, {})
        if not isinstance(value, dict):
            self.fail(name, "must be a table")
        return value

    def array(self, name: str, default: Any = _MISSING) -> list[Any]:
        value = self._get(name, default)
        if not isinstance(value, list):
            self.fail(name, "must be an array of tables")
        return value
