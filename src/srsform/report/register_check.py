"""Printed forms against scanned pages: the forms the printed-forms register holds that never
came back, and the scanned pages whose serial this store never printed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..records import PageFilter, PrintedForm, StoredPage
from ..store import Store


@dataclass(frozen=True)
class RegisterCheck:
    unreturned: tuple[PrintedForm, ...]  # printed, never scanned, in print order
    unregistered: tuple[StoredPage, ...]  # scanned, with a serial this store never printed

    def sessions(self) -> dict[tuple[str, int | None], list[PrintedForm]]:
        """The unreturned roster forms by (client, session), in print order."""
        grouped: dict[tuple[str, int | None], list[PrintedForm]] = {}
        for form in self.unreturned:
            if form.client is not None:
                grouped.setdefault((form.client, form.session), []).append(form)
        return grouped

    def blank(self) -> list[PrintedForm]:
        """Unreturned blank forms (printed with no client code)."""
        return [form for form in self.unreturned if form.client is None]

    def to_dict(self) -> dict[str, Any]:
        return {"printed_not_returned": [
                    {"serial": f.serial, "template": f.template, "client": f.client,
                     "session": f.session, "date": f.date, "printed_at": f.printed_at}
                    for f in self.unreturned],
                "scanned_not_printed": [
                    {"source": p.source, "page": p.page, "serial": p.serial, "status": p.status}
                    for p in self.unregistered]}


def check_register(store: Store, where: PageFilter | None = None) -> RegisterCheck:
    """The register's forms never scanned and the scanned pages it never printed (those the
    filter selects by client, template and date)."""
    return RegisterCheck(tuple(store.printed_forms(where, unreturned=True)),
                         tuple(store.unregistered_pages(where)))


def format_register(check: RegisterCheck) -> list[str]:
    """For people: the forms that never came back per client and session, blank forms
    counted, then the pages this store never printed."""
    sessions = check.sessions()
    lines = [f"printed forms that never came back: {len(check.unreturned)}"
             + (f" ({len(sessions)} client session(s))" if sessions else "")]
    for (client, session), forms in sessions.items():
        date = next((f.date for f in forms if f.date), None)
        lines.append(f"  client {client} session {session}"
                     + (f" ({date})" if date else "") + ": "
                     + ", ".join(f"{f.template} serial {f.serial}" for f in forms))
    blank = check.blank()
    if blank:
        by_template: dict[str, int] = {}
        for form in blank:
            by_template[form.template] = by_template.get(form.template, 0) + 1
        lines.append(f"  blank forms (no client code): {len(blank)} ("
                     + ", ".join(f"{t} {n}" for t, n in by_template.items()) + ")")
    lines.append(f"scanned pages whose serial this store never printed: "
                 f"{len(check.unregistered)}")
    lines += [f"  {page.describe()}" for page in check.unregistered]
    if check.unregistered:
        lines.append("  (printed with another store, or before the register existed: "
                     "`srsform print --db` records what it prints)")
    return lines
