"""Read a roster CSV (columns client, session, date) into personalised page specs."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..errors import RosterError
from ..inputs import open_text
from .pagecode import SESSION_MAX, is_valid_client_code, is_valid_session

REQUIRED_COLUMNS = ("client", "session", "date")


@dataclass(frozen=True)
class RosterRow:
    client: str
    session: int
    date: str  # the session's day, YYYY-MM-DD, or "" when left blank


def read_roster(path: str | Path) -> list[RosterRow]:
    """Parse and validate a roster ('-': standard input); errors name the file, the row and
    the problem."""
    path = Path(path)
    try:
        with open_text(path) as handle:
            reader = csv.DictReader(handle)
            header = [name.strip().lower() for name in (reader.fieldnames or [])]
            if not header:
                raise RosterError(f"{path}: roster is empty; expected a header row "
                                  f"with columns {', '.join(REQUIRED_COLUMNS)}")
            missing = [name for name in REQUIRED_COLUMNS if name not in header]
            if missing:
                raise RosterError(f"{path}: roster lacks column(s) {', '.join(missing)}; "
                                  f"found {', '.join(header)}")
            reader.fieldnames = header
            rows = [_parse_row(path, number, raw) for number, raw in enumerate(reader, start=2)]
    except FileNotFoundError:
        raise RosterError(f"{path}: roster file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"{path}: cannot read roster: {exc}") from None
    if not rows:
        raise RosterError(f"{path}: roster has a header but no rows")
    return rows


def _parse_row(path: Path, number: int, raw: dict[str, str | None]) -> RosterRow:
    client = (raw.get("client") or "").strip()
    session = (raw.get("session") or "").strip()
    date = (raw.get("date") or "").strip()
    if not is_valid_client_code(client):
        raise RosterError(
            # The value is not repeated: it may be a name, which must not reach a log.
            f"{path}: row {number}: the client code is not an opaque code "
            "(use 1-32 letters, digits, '.', '_' or '-'; never a name)"
        )
    if not is_valid_session(session):
        raise RosterError(f"{path}: row {number}: session must be a whole number 0-"
                          f"{SESSION_MAX}, found {session!r}")
    if date and not _is_iso_day(date):
        raise RosterError(f"{path}: row {number}: date must be YYYY-MM-DD (e.g. 2026-12-01) "
                          f"or left blank, found {date!r}")
    return RosterRow(client=client, session=int(session), date=date)


def _is_iso_day(text: str) -> bool:
    try:
        return len(text) == 10 and dt.date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False
