"""Load and validate template files (templates/*.toml) into frozen dataclasses.

A template is the instrument: its id, scale and scoring rules, and every word printed on
the form (title, instructions, items, field labels, print note; English by default), with
the font files for scripts the default font lacks. Geometry derived from it lives in
layout.py; wording and fonts are not geometry. A template is chosen by bundled name (`srs`)
or by a path to a clinic's own file (`./clinic-srs.toml`).
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ..errors import TemplateError
from .layout import LINE_LENGTH_MM, line_tenths

ROUNDING_RULES = ("nearest_cm_half_up", "one_decimal")
ROLES = ("outcome", "alliance")  # which chart of the clinician report a measure is drawn on
# A reading's score stands when its error bar reaches past a score boundary by no more than
# this (see read/score.py); the default is chosen from the calibration in bench/README.md.
DEFAULT_BOUNDARY_MARGIN_MM = 0.25
MAX_BOUNDARY_MARGIN_MM = 1.0  # a person with a ruler is off by 1 mm: no larger doubt is ambiguity
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
FLAG_OPS = tuple(_COMPARE)
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# The version travels in every page's QR code (form/pagecode.py), whose fields are split on
# ';' and '=': short, and made of characters that cannot split it.
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,15}$")


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


# Alert kinds (`when`): what each checks in a client's run of forms of one template, and the
# fields it takes besides `name` and `when` (with their defaults; _MISSING: required).
ALERT_KINDS: dict[str, str] = {
    "flag": "this session's form raises `flag`",
    "intake_flag": "the intake form (the client's first with a total) raises `flag`",
    "improved": "the total is `value` or more above intake (default: scale.reliable_change)",
    "deteriorated": "the total is `value` or more below intake (default: scale.reliable_change)",
    "recovered": "intake raised `flag` (a total below a cut-off), this total does not, and "
                 "it is `value` or more above intake (default: scale.reliable_change)",
    "no_change": "`sessions` or more sessions from intake, the total is less than `value` "
                 "from intake (default: scale.reliable_change)",
    "drop": "the total is `value` or more below the client's previous total (default 1)",
    "perfect_streak": "the highest possible total on `sessions` forms in a row (default 3)",
    "missing": "a session in the client's sequence has no form of this template",
    "review": "this session's form is still awaiting review (its values are provisional)",
}
_ALERT_FIELDS = {"name", "when", "flag", "value", "sessions"}
_ALERT_USES = {  # kind -> (uses flag, uses value, uses sessions)
    "flag": (True, False, False), "intake_flag": (True, False, False),
    "improved": (False, True, False), "deteriorated": (False, True, False),
    "recovered": (True, True, False), "no_change": (False, True, True),
    "drop": (False, True, False), "perfect_streak": (False, False, True),
    "missing": (False, False, False), "review": (False, False, False),
}
_DEFAULT_SESSIONS = {"perfect_streak": 3, "no_change": 6}


@dataclass(frozen=True)
class AlertRule:
    """One alert a client's run of forms may raise: `name`, the kind of check (`when`, one
    of ALERT_KINDS) and its settings, resolved (the flag rule itself; a reliable change
    taken from the scale)."""

    name: str
    when: str
    flag: FlagRule | None = None
    value: float | None = None
    sessions: int | None = None

    def describe(self) -> str:
        """The rule as recorded with each alert it raises, e.g. 'reliably_improved:
        change from intake>=+5'."""
        value = f"{self.value:g}" if self.value is not None else ""
        flag = f"{self.flag.on}{self.flag.op}{self.flag.value:g}" if self.flag else ""
        text = {
            "flag": f"flag {self.flag.name if self.flag else ''} ({flag})",
            "intake_flag": f"intake flag {self.flag.name if self.flag else ''} ({flag})",
            "improved": f"change from intake>=+{value}",
            "deteriorated": f"change from intake<=-{value}",
            "recovered": f"intake {flag}, now not, change from intake>=+{value}",
            "no_change": f"|change from intake|<{value} after >={self.sessions} sessions",
            "drop": f"total fell >={value} from the previous session",
            "perfect_streak": f"highest total on >={self.sessions} forms in a row",
            "missing": "a session in the sequence has no form",
            "review": "form awaiting review",
        }[self.when]
        return f"{self.name}: {text}"


@dataclass(frozen=True)
class Labels:
    """The printed words besides the title, instructions and items: the field labels, the
    words before the layout id and the page serial in the footer, and the note on printing
    at true size."""

    client: str = "Client code:"
    session: str = "Session:"
    date: str = "Date:"
    layout: str = "layout"
    page: str = "page"
    print_note: str = "Print at 100% (actual size). Do not use 'fit to page'."


@dataclass(frozen=True)
class FontFiles:
    """A template's own TrueType font files, as absolute paths (bold is the regular file
    when the template names none). Checked when the form is printed, not when loaded: a
    scan never needs them."""

    regular: str
    bold: str


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    line_length_mm: float
    rounding: str
    reliable_change: float | None


def score_mm(mm: float, rounding: str) -> float | int:
    """Score a position on the line (clamped to 0..LINE_LENGTH_MM) by the rounding rule,
    halves up (45.0 mm scores 5): never Python's round(), which rounds halves to even."""
    tenths = line_tenths(mm)  # mm is normally held to 0.1 mm already
    if rounding == "nearest_cm_half_up":
        return (tenths + 50) // 100
    if rounding == "one_decimal":
        return ((tenths + 5) // 10) / 10
    raise ValueError(f"unknown rounding rule {rounding!r}")


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
    role: str | None = None  # outcome | alliance: its chart in the clinician report
    alerts: tuple[AlertRule, ...] = ()
    labels: Labels = Labels()
    review: ReviewPolicy = ReviewPolicy()
    font: FontFiles | None = None  # None: the default font (DejaVu Sans)

    @property
    def highest_total(self) -> float:
        return float(self.scale.max * len(self.items))

    def printed_texts(self) -> list[tuple[str, str, bool]]:
        """Every text of the template printed on the form: (field, text, bold), the field
        named as in the template file (`items[0].label`, `labels.client`)."""
        texts = [("title", self.title, True), ("instructions", self.instructions, False)]
        for i, item in enumerate(self.items):
            texts += [(f"items[{i}].label", item.label, True),
                      (f"items[{i}].left", item.left, False),
                      (f"items[{i}].right", item.right, False)]
        texts += [(f"labels.{name}", getattr(self.labels, name), False)
                  for name in Labels.__dataclass_fields__]
        return texts

    def rule_text(self) -> str:
        """The scoring rule recorded with every score, e.g. 'srs@1.0 nearest_cm_half_up; ...'."""
        parts = [f"{self.id}@{self.version} {self.scale.rounding}"]
        parts += [flag.describe() for flag in self.flags]
        return "; ".join(parts)


def is_valid_key(text: str) -> bool:
    """A template id or item key: lower-case letters, digits and '_', at most 32."""
    return bool(_KEY_RE.fullmatch(text))


def is_valid_version(text: str) -> bool:
    """A template version: 1-16 letters, digits, '.', '_', '+' or '-' (e.g. 1.0, 2024-03)."""
    return bool(_VERSION_RE.fullmatch(text))


def bundled_names() -> list[str]:
    """Names of the templates shipped inside the package, sorted (each is its id)."""
    return _names(resources.files("srsform.template_files"))


def example_names() -> list[str]:
    """Names of the example templates shipped inside the package (translations that keep
    the id of the measure they translate, so they are not bundled templates), sorted."""
    return _names(resources.files("srsform.template_files").joinpath("examples"))


def _names(folder: Traversable) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_template(name_or_path: str | Path) -> Template:
    """Load a bundled or example template by name, or a template file by path; validate it
    fully."""
    text, source, folder = _read_source(str(name_or_path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{source}: not valid TOML: {exc}") from None
    return parse_template(data, source, folder)


def load_bundled() -> list[Template]:
    return [load_template(name) for name in bundled_names()]


def _read_source(name_or_path: str) -> tuple[str, str, Path | None]:
    """The template's text, its name for messages, and the folder its font paths are
    relative to (None when the bundled templates are not files on disk)."""
    looks_like_path = name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path
    if not looks_like_path:
        shipped = resources.files("srsform.template_files")
        for resource in (shipped.joinpath(f"{name_or_path}.toml"),
                         shipped.joinpath("examples", f"{name_or_path}.toml")):
            if resource.is_file():
                folder = resource.parent if isinstance(resource, Path) else None
                return (resource.read_text(encoding="utf-8"), f"template '{name_or_path}'",
                        folder)
        known = ", ".join(bundled_names())
        examples = ", ".join(example_names())
        raise TemplateError(
            f"unknown template '{name_or_path}': use one of {known} (or an example: "
            f"{examples}), or a path to a .toml file")
    path = Path(name_or_path)
    if not path.is_file():
        raise TemplateError(f"{path}: template file not found")
    try:
        return path.read_text(encoding="utf-8"), str(path), path.parent
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read template file: {exc}") from None


def parse_template(data: dict[str, Any], source: str, folder: Path | None = None
                   ) -> Template:
    """Validate a parsed TOML document; errors name the file, the field and the problem.
    `folder` is where the template's font paths are relative to."""
    fields = _Fields(data, source)
    template_id = fields.text("id")
    if not is_valid_key(template_id):
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
    version = fields.text("version")
    if not is_valid_version(version):
        fields.fail("version", "must be 1-16 letters, digits, '.', '_', '+' or '-' (e.g. "
                               "\"1.0\"): it is printed in every page's QR code")
    role = fields.choice("role", ROLES) if "role" in data else None
    alerts = tuple(_parse_alert(entry, source, i, scale, flags)
                   for i, entry in enumerate(fields.array("alerts", default=[])))
    names = [alert.name for alert in alerts]
    if len(set(names)) != len(names):
        fields.fail("alerts", f"alert names must be unique, found {names}")
    review = _parse_review(fields.table("review"), source)
    return Template(
        id=template_id,
        version=version,
        title=fields.text("title"),
        instructions=fields.text("instructions", default=""),
        scale=scale,
        items=items,
        flags=flags,
        source=source,
        role=role,
        alerts=alerts,
        labels=_parse_labels(fields.table("labels"), source),
        font=_parse_font(fields, folder),
        review=review,
    )


def _parse_labels(data: dict[str, Any], source: str) -> Labels:
    fields = _Fields(data, source, "labels.")
    known = Labels.__dataclass_fields__
    for name in data:
        if name not in known:
            fields.fail(name, f"unknown label: use {', '.join(known)}")
    return Labels(**{name: fields.text(name, default=getattr(Labels, name)) for name in data})


def _parse_font(fields: _Fields, folder: Path | None) -> FontFiles | None:
    """The template's font files, resolved against its folder; None if it names none."""
    regular = fields.text("font", default="") or None
    bold = fields.text("font_bold", default="") or None
    if regular is None:
        if bold is not None:
            fields.fail("font_bold", "needs a regular font file too: set font as well")
        return None
    if folder is None:
        fields.fail("font", "a font file needs a template file to be relative to")
    assert folder is not None

    def resolve(path: str) -> str:
        return str(folder / Path(path).expanduser())

    return FontFiles(resolve(regular), resolve(bold or regular))


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
    if not is_valid_key(key):
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


def _parse_alert(entry: Any, source: str, index: int, scale: Scale,
                 flags: Sequence[FlagRule]) -> AlertRule:
    """One [[alerts]] table: its kind's fields only, the flag it names among the template's,
    a reliable change from the scale where the kind needs one and none is given."""
    if not isinstance(entry, dict):
        raise TemplateError(f"{source}: field 'alerts[{index}]': must be a table")
    fields = _Fields(entry, source, f"alerts[{index}].")
    for unknown in sorted(set(entry) - _ALERT_FIELDS):
        fields.fail(unknown, f"unknown field (an alert takes {', '.join(sorted(_ALERT_FIELDS))})")
    name = fields.text("name")
    if not _KEY_RE.match(name):
        fields.fail("name", "must be lower-case letters, digits and '_' (at most 32)")
    when = fields.choice("when", tuple(ALERT_KINDS))
    uses_flag, uses_value, uses_sessions = _ALERT_USES[when]
    for field, used in (("flag", uses_flag), ("value", uses_value), ("sessions", uses_sessions)):
        if field in entry and not used:
            fields.fail(field, f"does not apply to when = '{when}'")
    flag = _alert_flag(fields, flags, when) if uses_flag else None
    value = None
    if uses_value:
        default = 1.0 if when == "drop" else scale.reliable_change
        value = fields.number("value", default=default if default is not None else _MISSING)
        if value <= 0:
            fields.fail("value", f"must be above 0, found {value:g}")
    sessions = None
    if uses_sessions:
        sessions = fields.integer("sessions", default=_DEFAULT_SESSIONS[when])
        if sessions < 2:
            fields.fail("sessions", f"must be 2 or more, found {sessions}")
    return AlertRule(name, when, flag, value, sessions)


def _alert_flag(fields: _Fields, flags: Sequence[FlagRule], when: str) -> FlagRule:
    wanted = fields.text("flag")
    found = next((flag for flag in flags if flag.name == wanted), None)
    if found is None:
        known = ", ".join(flag.name for flag in flags) or "none"
        fields.fail("flag", f"no flag '{wanted}' in this template's [[flags]] (it has {known})")
    if when == "recovered" and (found.on != "total" or found.op not in ("<", "<=")):
        fields.fail("flag", f"recovery needs a flag on the total below a cut-off (op < or <=), "
                            f"found {found.describe()}")
    return found


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
        """A string; required ones and those given must not be blank (an optional field is
        left out, not set to "")."""
        value = self._get(name, default)
        given = name in self.data
        if not isinstance(value, str) or ((default is _MISSING or given and default)
                                          and not value.strip()):
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
