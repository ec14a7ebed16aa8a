"""A small clinic's paper, for tests of audits, exports and reports: each client has an ORS
(opening) and an SRS (closing) form per session, printed for them (roster codes: client and
session on the page), filled in with known marks and scanned as an office stack.

Marks are placed inside a centimetre, 2 mm or more from a score boundary and 3.5 mm or more
from the line's ends, so that every item reads `ok` with a known score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from srsform.form.layout import build_layout
from srsform.form.pagecode import SERIAL_ALPHABET, SERIAL_LENGTH, PageCode
from srsform.form.templates import Template, load_template
from support.synth import ItemTruth, PenMark, make_page, random_condition, write_stack

CLIENTS = ("C1001", "C1002", "C1003", "C1004")
SESSIONS = 3
FIRST_DATE = dt.date(2026, 10, 5)  # session n is held n-1 weeks later
TEMPLATES = ("ors", "srs")  # the order a session's forms are filled in


@dataclass(frozen=True)
class ClinicForm:
    """One printed form: its page code and session date, and the scores marked on it."""

    template: str
    code: PageCode
    date: str  # ISO date of the session
    scores: Mapping[str, int]  # item key -> the score its mark is placed for

    @property
    def total(self) -> int:
        return sum(self.scores.values())


def session_date(session: int) -> str:
    return (FIRST_DATE + dt.timedelta(weeks=session - 1)).isoformat()


def plan_forms(clients: Sequence[str] = CLIENTS, sessions: int = SESSIONS, seed: int = 0,
               scores: Mapping[tuple[str, str, int], Sequence[int]] | None = None,
               serials: Mapping[tuple[str, str, int], str] | None = None) -> list[ClinicForm]:
    """Every client's ORS and SRS for sessions 1..`sessions`. `scores` may fix the item scores
    of (template, client, session); the others are drawn (ORS 2-9, SRS 7-10 per item).
    `serials` may give the serials (e.g. as printed by `srsform print --roster`)."""
    rng = np.random.default_rng(seed)
    forms = []
    for client in clients:
        for session in range(1, sessions + 1):
            for name in TEMPLATES:
                template = load_template(name)
                keys = [item.key for item in template.items]
                low, high = (2, 9) if name == "ors" else (7, 10)
                chosen = (scores or {}).get((name, client, session)) or [
                    int(rng.integers(low, high + 1)) for _ in keys]
                serial = (serials or {}).get((name, client, session)) or "".join(
                    rng.choice(list(SERIAL_ALPHABET), SERIAL_LENGTH))
                code = PageCode(template.id, template.version, build_layout(template).layout_id,
                                serial, client, session)
                forms.append(ClinicForm(name, code, session_date(session),
                                        dict(zip(keys, chosen, strict=True))))
    return forms


def roster_rows(clients: Sequence[str] = CLIENTS, sessions: int = SESSIONS) -> list[str]:
    """The roster CSV (lines) that prints these clients' sessions."""
    return ["client,session,date"] + [f"{client},{session},{session_date(session)}"
                                      for client in clients for session in range(1, sessions + 1)]


def _mark_mm(score: int, rng: np.random.Generator) -> float:
    return float(np.clip(10 * score + rng.uniform(-2.0, 2.0), 3.5, 96.5))


def _items(template: Template, form: ClinicForm, rng: np.random.Generator
           ) -> tuple[ItemTruth, ...]:
    return tuple(ItemTruth(item.key, (PenMark("vertical", _mark_mm(form.scores[item.key], rng),
                                              "black", 0.5),))
                 for item in template.items)


def scan_forms(forms: Sequence[ClinicForm], folder: str | Path, seed: int = 0,
               **changes: Any) -> list[Path]:
    """Fill in and scan the forms (office scans, upright; with `changes` to the scan
    condition when given, e.g. small 1-bit scans for the samples) into `folder`; the scan
    files."""
    rng = np.random.default_rng(seed)
    pages = []
    for form in forms:
        template = load_template(form.template)
        condition = replace(random_condition(rng, "office"), **changes)
        pages.append(make_page(template, form.code, _items(template, form, rng), condition,
                               int(rng.integers(2**31))))
    return [p for p in write_stack(pages, folder) if p.suffix != ".jsonl"]


def print_roster(folder: Path, db: Path) -> dict[tuple[str, str, int], str]:
    """Print every client's ORS and SRS from the roster with `srsform print --db`, as a clinic
    does; the serial the printed-forms register holds for each (template, client, session)."""
    from click.testing import CliRunner

    from srsform.cli import main
    from srsform.store import Store

    roster = folder / "roster.csv"
    roster.write_text("\n".join(roster_rows()) + "\n")
    for name in TEMPLATES:
        result = CliRunner().invoke(main, ["print", "-t", name, "--roster", str(roster),
                                           "--db", str(db), "-o", str(folder / f"{name}.pdf")])
        assert result.exit_code == 0, result.stderr
    with Store(db) as store:
        return {(f.template, f.client, f.session): f.serial for f in store.printed_forms()}
