"""The page identity carried by each page's QR code: format, parsing, serials.

The payload holds the template id and version, the layout id, a page serial unique
across print runs and, on roster pages, an opaque client code and session number.
It never holds a name or any other personal detail.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from ..errors import UnreadableError
from .templates import is_valid_key, is_valid_version

PREFIX = "SRSF1"
SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
SERIAL_LENGTH = 12
SESSION_MAX = 999_999  # session numbers are whole numbers 0..SESSION_MAX, printed or read
_CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
# Serials srsform prints use SERIAL_ALPHABET; a read one may be any upper-case letters and
# digits of that length (test and sample forms spell words).
_SERIAL_RE = re.compile(rf"^[0-9A-Z]{{{SERIAL_LENGTH}}}$")
_LAYOUT_RE = re.compile(r"^[0-9a-f]{8}$")


@dataclass(frozen=True)
class PageCode:
    template_id: str
    template_version: str
    layout_id: str
    serial: str
    client: str | None = None
    session: int | None = None

    def payload(self) -> str:
        parts = [PREFIX, f"t={self.template_id}", f"v={self.template_version}",
                 f"l={self.layout_id}", f"s={self.serial}"]
        if self.client is not None:
            parts.append(f"c={self.client}")
        if self.session is not None:
            parts.append(f"n={self.session}")
        return ";".join(parts)


def new_serial() -> str:
    """A random 12-character serial (60 bits): unique across print runs in practice."""
    return "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))


def is_valid_client_code(code: str) -> bool:
    """Client codes are opaque: letters, digits, '.', '_' and '-', at most 32, no spaces."""
    return bool(_CODE_RE.fullmatch(code))


def is_valid_session(text: str) -> bool:
    """A session number as printed: ASCII digits, 0..SESSION_MAX."""
    return text.isascii() and text.isdigit() and int(text) <= SESSION_MAX


def parse_payload(text: str) -> PageCode | None:
    """Parse a QR payload; None when it is not an srsform page code.

    A payload that says it is one (it starts with PREFIX) is checked against the rules that
    printing follows; one that breaks them was made or changed outside srsform, and raises
    UnreadableError saying which value is wrong (never the value: it may be a name)."""
    parts = text.strip().split(";")
    if not parts or parts[0] != PREFIX:
        return None
    fields: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep:
            raise _not_printed("it is not a list of name=value fields")
        fields[key] = value
    missing = [name for name in ("t", "v", "l", "s") if name not in fields]
    if missing:
        raise _not_printed(f"it lacks the field(s) {', '.join(missing)}")
    problem = _first_problem(fields)
    if problem:
        raise _not_printed(problem)
    session = fields.get("n")
    return PageCode(
        template_id=fields["t"],
        template_version=fields["v"],
        layout_id=fields["l"],
        serial=fields["s"],
        client=fields.get("c"),
        session=int(session) if session is not None else None,
    )


def _first_problem(fields: dict[str, str]) -> str | None:
    """Which value breaks the printing rules, if one does."""
    checks = (
        ("t", is_valid_key, "its template id is not a template id"),
        ("v", is_valid_version, "its template version is not a template version"),
        ("l", lambda v: bool(_LAYOUT_RE.fullmatch(v)), "its layout id is not a layout id"),
        ("s", lambda v: bool(_SERIAL_RE.fullmatch(v)), "its serial is not a form serial"),
        ("c", is_valid_client_code, "its client code is not an opaque client code"),
        ("n", is_valid_session, f"its session number is not a whole number 0-{SESSION_MAX}"),
    )
    for name, valid, problem in checks:
        if name in fields and not valid(fields[name]):
            return problem
    return None


def _not_printed(problem: str) -> UnreadableError:
    return UnreadableError(f"the page's QR code holds a page code srsform does not print "
                           f"({problem}): made or changed outside srsform? Check the paper "
                           "form, and key it in by hand if it is genuine")
