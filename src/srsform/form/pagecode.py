"""The page identity carried by each page's QR code: format, parsing, serials.

The payload holds the template id and version, the layout id, a page serial unique
across print runs and, on roster pages, an opaque client code and session number.
It never holds a name or any other personal detail.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

PREFIX = "SRSF1"
SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
SERIAL_LENGTH = 12
_CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


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


def parse_payload(text: str) -> PageCode | None:
    """Parse a QR payload; None when it is not an srsform page code."""
    parts = text.strip().split(";")
    if not parts or parts[0] != PREFIX:
        return None
    fields: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep:
            return None
        fields[key] = value
    if not all(k in fields for k in ("t", "v", "l", "s")):
        return None
    session = fields.get("n")
    if session is not None and not (session.isascii() and session.isdigit()):
        return None
    return PageCode(
        template_id=fields["t"],
        template_version=fields["v"],
        layout_id=fields["l"],
        serial=fields["s"],
        client=fields.get("c"),
        session=int(session) if session is not None else None,
    )
