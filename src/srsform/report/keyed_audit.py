"""An audit against independently keyed scores: a person keys a sample of the paper forms
by hand, and every stored value in force is compared with it, with agreement statistics
and every discrepancy listed.

A keyed row names one form: by `serial`, or by `template` + `client` + `session` (a clinic
fills an ORS and an SRS in every session, so client and session alone name two forms). A
row that names no stored form, or several, is listed and not compared. A cell left empty
is not keyed; a cell keyed `blank`, `missing` or `-` says the paper has no mark there: it
agrees with a stored `missing` item (or, for `total`, with a form that has no total) and
disagrees with a score.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError
from ..inputs import input_name, open_text
from ..records import Correction, PageFilter, StoredPage, whole_number
from ..store import Store
from .agreement import Agreement, Pair, Statistic, percent
from .export import csv_cell
from .review import FormInForce, format_score, forms_in_force

BLANK_CELLS = ("blank", "missing", "-")  # keyed as blank: the paper has no mark there
KEY_COLUMNS = ("serial", "template", "client", "session")
TOTAL = "total"
ALL_ITEMS = "all items"
REPORT_HEADER = ("kind", "line", "source", "page", "serial", "template", "client", "session",
                 "item", "stored", "stored_status", "keyed", "difference", "corrected",
                 "corrected_by", "corrected_at", "corrected_why", "evidence", "note")


# --- data ------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyedRow:
    """One row of the keyed file: how it names a form, and the values keyed (None: keyed
    as blank; a column left empty is absent)."""

    line: int
    serial: str | None
    template: str | None
    client: str | None
    session: int | None
    values: dict[str, float | None]

    def name(self) -> str:
        if self.serial:
            return f"serial {self.serial}"
        parts = [self.template or "", f"client {self.client or '?'}",
                 f"session {'?' if self.session is None else self.session}"]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Discrepancy:
    """A stored value in force that differs from the value keyed from the paper."""

    line: int  # of the keyed file
    form: FormInForce
    item: str  # an item key, or "total"
    stored: float | int | None
    stored_status: str
    keyed: float | int | None  # None: keyed as blank
    decision: Correction | None  # the person's decision that set the stored value
    evidence: str | None = None  # the item's line crop, else the annotated page

    @property
    def page(self) -> StoredPage:
        return self.form.page

    @property
    def difference(self) -> float | int | None:
        if self.stored is None or self.keyed is None:
            return None
        return whole_number(round(float(self.stored) - float(self.keyed), 1))

    def to_dict(self) -> dict[str, Any]:
        page, result, decision = self.form.page, self.form.in_force, self.decision
        return {"line": self.line, "source": page.source, "page": page.page,
                "serial": page.serial, "template": result.template, "client": result.client,
                "session": result.session, "item": self.item, "stored": self.stored,
                "stored_status": self.stored_status, "keyed": self.keyed,
                "keyed_blank": self.keyed is None, "difference": self.difference,
                "corrected": decision is not None,
                "corrected_by": decision.who if decision else None,
                "corrected_at": decision.at if decision else None,
                "corrected_why": decision.why if decision else None,
                "evidence": self.evidence}


@dataclass(frozen=True)
class RowProblem:
    """A keyed row, or one cell of it, that was not compared, and why."""

    kind: str  # unmatched | ambiguous | stray
    line: int
    name: str
    note: str

    def describe(self) -> str:
        return f"line {self.line}: {self.name}: {self.note}"


@dataclass(frozen=True)
class AuditReport:
    keyed_file: str
    keyed_rows: int
    forms_matched: int
    problems: tuple[RowProblem, ...]  # rows or cells not compared
    agreement: dict[tuple[str, str], Agreement]  # (template, item key | ALL_ITEMS | TOTAL)
    items: Agreement  # every item compared, all templates together
    totals: Agreement
    discrepancies: tuple[Discrepancy, ...] = field(default=())
    outside: int = 0  # keyed rows naming a form the filters leave out: not compared
    filters: str = ""  # the filters, as given (e.g. `--client C1042`)

    @property
    def all_agree(self) -> bool:
        """No discrepancy and no keyed row left uncompared."""
        return not self.discrepancies and not self.problems

    def to_dict(self) -> dict[str, Any]:
        by_template: dict[str, dict[str, Any]] = {}
        for (template, what), agreement in self.agreement.items():
            by_template.setdefault(template, {})[what] = agreement.to_dict()
        return {"keyed_file": self.keyed_file, "keyed_rows": self.keyed_rows,
                "forms_matched": self.forms_matched, "filters": self.filters or None,
                "rows_outside_filters": self.outside,
                "keyed_rows_unmatched": [p.describe() for p in self.problems
                                         if p.kind != "stray"],
                "not_compared": [{"kind": p.kind, "line": p.line, "name": p.name,
                                  "note": p.note} for p in self.problems],
                "items": self.items.to_dict(), "totals": self.totals.to_dict(),
                "by_template": by_template,
                "discrepancies": [d.to_dict() for d in self.discrepancies]}


# --- the audit ---------------------------------------------------------------------------

def audit_keyed(store: Store, keyed_path: str | Path, where: PageFilter | None = None
                ) -> AuditReport:
    """Compare the values in force with scores keyed by hand from the paper forms (only the
    forms `where` selects: a row naming another form is counted, not compared; rows are
    matched against every stored form all the same, so a filter never changes which form a
    row names).

    Raises ConfigError (naming the file, line and column) for a keyed file that cannot be
    used: no way to name forms, no score columns, a value that is not a score, rows keyed by
    client and session without a template column where a session has forms of several
    templates, or no row matching a stored form."""
    name = input_name(keyed_path)  # '-' (standard input) is <stdin>
    forms = list(forms_in_force(store))
    selected = None if not where else {f.page.page_id for f in forms_in_force(store, where)}
    item_keys = {item.key for form in forms for item in form.machine.items}
    header, rows = read_keyed(keyed_path, item_keys)
    index = _FormIndex(forms)
    if "template" not in header:
        _refuse_mixed_sessions(name, rows, index)
    pairs: dict[tuple[str, str], list[Pair]] = {}
    discrepancies: list[Discrepancy] = []
    problems: list[RowProblem] = []
    matched: set[int] = set()
    outside = 0
    for row in rows:
        found, note = index.match(row)
        if len(found) != 1:
            problems.append(_row_problem(row, found, note))
            continue
        form = found[0]
        if selected is not None and form.page.page_id not in selected:
            outside += 1
            continue
        matched.add(form.page.page_id)
        for column, keyed in row.values.items():
            compared = _compare(store, row, form, column, keyed)
            if isinstance(compared, RowProblem):
                problems.append(compared)
                continue
            pair, discrepancy = compared
            template = form.in_force.template or "?"
            groups = ([(template, TOTAL), ("", TOTAL)] if column == TOTAL else
                      [(template, column), (template, ALL_ITEMS), ("", ALL_ITEMS)])
            for group in groups:
                pairs.setdefault(group, []).append(pair)
            if discrepancy is not None:
                discrepancies.append(discrepancy)
    if not matched and outside:
        assert where is not None
        raise ConfigError(f"{name}: no keyed row names a stored form that {where.describe()} "
                          f"selects ({outside} row(s) name forms it leaves out)")
    if not matched:
        raise ConfigError(f"{name}: no keyed row matched a stored form (by serial, or "
                          "template, client and session): is --db the store these forms "
                          "were scanned into?")
    order = _group_order(forms)
    agreement = {key: Agreement(tuple(pairs[key]))
                 for key in sorted((k for k in pairs if k[0]), key=order)}
    return AuditReport(name, len(rows), len(matched), tuple(problems), agreement,
                       Agreement(tuple(pairs.get(("", ALL_ITEMS), ()))),
                       Agreement(tuple(pairs.get(("", TOTAL), ()))), tuple(discrepancies),
                       outside, where.describe() if where else "")


def _compare(store: Store, row: KeyedRow, form: FormInForce, column: str,
             keyed: float | None) -> RowProblem | tuple[Pair, Discrepancy | None]:
    """One keyed cell against the form's value in force: the pair and, when they differ,
    the discrepancy; or the problem that kept it from being compared."""
    result = form.in_force
    decision: Correction | None = None
    if column == TOTAL:
        stored, status = result.total, "ok" if result.total is not None else "no total"
        blank = stored is None and bool(result.items)
        decision = max(form.decisions.values(), key=lambda c: c.id, default=None)
    elif not result.items:  # a page no item was read from: every keyed item differs
        stored, status, blank = None, f"page {result.status}", False
    else:
        item = next((i for i in result.items if i.key == column), None)
        if item is None:
            return RowProblem("stray", row.line, row.name(),
                              f"column '{column}' is keyed, but the {result.template} form "
                              f"has no such item (items: "
                              f"{', '.join(i.key for i in result.items)})")
        stored, status, blank = item.score, item.status, item.status == "missing"
        decision = form.decisions.get(column)
    pair = Pair.of(None if stored is None else float(stored), keyed, stored_blank=blank)
    if pair.agrees:
        return pair, None
    crops = store.crop_paths(form.page.page_id)
    evidence = crops.get(column) or form.page.evidence_path
    return pair, Discrepancy(row.line, form, column, stored, status,
                             whole_number(keyed), decision, evidence)


def _group_order(forms: Iterable[FormInForce]) -> Callable[[tuple[str, str]], tuple]:
    """Sort key of agreement groups: by template, then its items in form order, then all
    its items, then its totals."""
    positions: dict[tuple[str, str], int] = {}
    for form in forms:
        for position, item in enumerate(form.machine.items):
            positions.setdefault((form.in_force.template or "?", item.key), position)
    last = {ALL_ITEMS: 1000, TOTAL: 1001}
    return lambda key: (key[0], last.get(key[1], positions.get(key, 999)), key[1])


def _row_problem(row: KeyedRow, found: Sequence[FormInForce], note: str) -> RowProblem:
    if not found:
        return RowProblem("unmatched", row.line, row.name(),
                          "matches no stored form" + (f" ({note})" if note else ""))
    names = ", ".join(f"{f.page.ref} {f.in_force.template}" for f in found)
    hint = ("key it by template too" if not row.serial and not row.template
            else "key it by path:page in review to tell them apart")
    return RowProblem("ambiguous", row.line, row.name(),
                      f"matches {len(found)} stored forms ({names}): not compared; {hint}")


class _FormIndex:
    """The stored forms by serial and by client and session."""

    def __init__(self, forms: Iterable[FormInForce]) -> None:
        self.by_serial: dict[str, list[FormInForce]] = {}
        self.by_session: dict[tuple[str, int], list[FormInForce]] = {}
        for form in forms:
            result = form.in_force
            if result.serial:
                self.by_serial.setdefault(result.serial, []).append(form)
            if result.client is not None and result.session is not None:
                self.by_session.setdefault((result.client, result.session), []).append(form)

    def match(self, row: KeyedRow) -> tuple[list[FormInForce], str]:
        """The stored forms a row names, and a note when a serial's form contradicts the
        row's other keys."""
        if row.serial:
            found = self.by_serial.get(row.serial, [])
            kept = [f for f in found if _consistent(f, row)]
            if found and not kept:
                r = found[0].in_force
                return [], (f"in the store, serial {row.serial} is the {r.template} form of "
                            f"client {r.client} session {r.session}")
            return kept, ""
        if row.client is None or row.session is None:
            return [], "no serial, and no client and session"
        found = self.by_session.get((row.client, row.session), [])
        return [f for f in found if _consistent(f, row)], ""


def _consistent(form: FormInForce, row: KeyedRow) -> bool:
    """Whether the row's keys agree with the form's, where both have one."""
    result = form.in_force
    checks = ((row.template, (result.template or "").lower()), (row.client, result.client),
              (row.session, result.session))
    return all(keyed is None or stored is None or keyed == stored for keyed, stored in checks)


def _refuse_mixed_sessions(name: str, rows: Sequence[KeyedRow], index: _FormIndex) -> None:
    """Without a template column, a row keyed by client and session must not name forms of
    several templates (an ORS and an SRS of one session)."""
    for row in rows:
        if row.serial or row.client is None or row.session is None:
            continue
        found, _ = index.match(row)
        templates = sorted({f.in_force.template or "?" for f in found})
        if len(templates) > 1:
            raise ConfigError(
                f"{name}: line {row.line} names client {row.client} session {row.session}, "
                f"which has {' and '.join(t.upper() for t in templates)} forms: add a "
                f"'template' column ({', '.join(templates)}) saying which form each row was "
                "keyed from, or key the rows by 'serial'")


# --- reading the keyed file -----------------------------------------------------------------

def read_keyed(path: str | Path, item_keys: Iterable[str]
               ) -> tuple[list[str], list[KeyedRow]]:
    """The keyed file's header (lower case) and rows ('-': read from standard input);
    ConfigError names what is wrong."""
    name = input_name(path)
    try:
        with open_text(path) as handle:
            reader = csv.reader(handle)
            header = [column.strip().lower() for column in next(reader, [])]
            raw = [(reader.line_num, dict(zip(header, (v.strip() for v in values),
                                              strict=False)))
                   for values in reader if any(v.strip() for v in values)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read the keyed file {name}: {exc}") from None
    if not header:
        raise ConfigError(f"{name}: the keyed file is empty (expected a header row)")
    if "serial" not in header:
        lacking = [c for c in ("client", "session") if c not in header]
        if lacking:
            raise ConfigError(f"{name}: no 'serial' column, and no '{lacking[0]}' column to "
                              "identify forms by template, client and session: add one of "
                              "them")
    known = sorted(item_keys)
    value_columns = [c for c in header if c in set(known) | {TOTAL}]
    if not value_columns:
        raise ConfigError(f"{name}: no score columns: name them by item key (e.g. "
                          f"{', '.join(known[:4])}) or 'total'")
    rows = [_row(name, line, cells, value_columns) for line, cells in raw]
    return header, rows


def _row(name: str, line: int, cells: dict[str, str], value_columns: Sequence[str]
         ) -> KeyedRow:
    session_text = cells.get("session", "")
    if session_text and not session_text.isdigit():
        raise ConfigError(f"{name} line {line}, column 'session': '{session_text}' is not a "
                          "session number")
    values = {}
    for column in value_columns:
        text = cells.get(column, "")
        if text:
            values[column] = _keyed_value(name, line, column, text)
    return KeyedRow(line, cells.get("serial") or None,
                    cells.get("template", "").lower() or None, cells.get("client") or None,
                    int(session_text) if session_text else None, values)


def _keyed_value(name: str, line: int, column: str, text: str) -> float | None:
    """A keyed score (None: keyed as blank)."""
    if text.lower() in BLANK_CELLS:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (column != TOTAL and value > 10):
        kind = "a total" if column == TOTAL else "a score 0-10"
        raise ConfigError(f"{name} line {line}, column '{column}': '{text}' is not {kind} "
                          f"(or {', '.join(BLANK_CELLS)} for no mark on the paper)")
    return value


# --- reports ----------------------------------------------------------------------------------

def write_report_csv(report: AuditReport, out: IO[str]) -> int:
    """Every discrepancy, then every keyed row or cell not compared, as CSV; returns rows."""
    writer = csv.writer(out)
    writer.writerow(REPORT_HEADER)
    for d in report.discrepancies:
        rec = d.to_dict()
        writer.writerow([csv_cell(v) for v in (
            "discrepancy", d.line, rec["source"], rec["page"], rec["serial"], rec["template"],
            rec["client"], rec["session"], d.item, rec["stored"], d.stored_status,
            "blank" if d.keyed is None else d.keyed, rec["difference"],
            "true" if d.decision else "false", rec["corrected_by"], rec["corrected_at"],
            rec["corrected_why"], d.evidence, "")])
    for p in report.problems:
        writer.writerow([csv_cell(v) for v in (p.kind, p.line, *[""] * 16, f"{p.name}: "
                                               f"{p.note}")])
    out.flush()
    return len(report.discrepancies) + len(report.problems)


def format_audit(report: AuditReport) -> str:
    """The audit for people: counts, agreement statistics, then every discrepancy."""
    lines = [f"audit against {report.keyed_file}",
             f"keyed rows: {report.keyed_rows}; forms matched: {report.forms_matched}; "
             + (f"rows naming forms outside the filters ({report.filters}): "
                f"{report.outside}; " if report.filters else "")
             + f"rows or cells not compared: {len(report.problems)}"]
    lines += [f"  not compared: {p.describe()}" for p in report.problems]
    for name, agreement in (("items", report.items), ("totals", report.totals)):
        if agreement.compared:
            lines.append(describe_agreement(name, agreement))
    lines += ["", "agreement by template and item (difference = stored - keyed):",
              *agreement_table(report)]
    notes = agreement_notes(report)
    if notes:
        lines += ["", *notes]
    lines += ["", f"discrepancies: {len(report.discrepancies)}"]
    lines += [f"  {describe_discrepancy(d)}" for d in report.discrepancies]
    if report.problems and not report.discrepancies:
        lines.append(f"not every keyed row was compared: see the {len(report.problems)} "
                     "listed above")
    return "\n".join(lines)


def describe_discrepancy(d: Discrepancy) -> str:
    """One line: where, which item, the stored and keyed values, who set the stored one."""
    result = d.form.in_force
    who = ""
    if d.decision is not None:
        how = "recomputed after a correction by" if d.item == TOTAL else "set by"
        who = (f" ({how} {d.decision.who} at {d.decision.at}, correction "
               f"#{d.decision.id}: {d.decision.why})")
    where = f"; evidence: {d.evidence}" if d.evidence else ""
    form = f"{result.template} client {result.client} session {result.session}"
    return (f"line {d.line}: {d.page.describe()} {form} {d.item}: stored "
            f"{format_score(d.stored, d.stored_status)}{who}, keyed "
            f"{'blank' if d.keyed is None else format_score(d.keyed)}{where}")


def describe_agreement(name: str, agreement: Agreement) -> str:
    mean, low, high = agreement.limits()
    text = (f"{name} compared: {agreement.compared}; exact agreement "
            f"{percent(agreement.exact, agreement.compared)}%, within one point "
            f"{percent(agreement.within_one, agreement.compared)}%")
    if mean.value is not None:
        text += f"; mean difference (stored - keyed) {mean.value:+.2f}"
    if low.value is not None and high.value is not None:
        text += f", 95% limits of agreement {low.value:+.2f} to {high.value:+.2f}"
    return (text + f"; quadratic-weighted kappa {_stat(agreement.kappa())}; ICC(2,1) "
            f"{_stat(agreement.icc())}")


TABLE_HEAD = ("", "n", "exact", "within 1", "mean diff", "95% limits", "kappa_w", "ICC(2,1)")


def agreement_rows(report: AuditReport) -> list[tuple[str, ...]]:
    """The agreement table's rows (per template: each item, all its items, its totals)."""
    rows = []
    for (template, what), agreement in report.agreement.items():
        mean, low, high = agreement.limits()
        limits = ("-" if low.value is None or high.value is None
                  else f"{low.value:+.2f} to {high.value:+.2f}")
        rows.append((f"{template} {what}", str(agreement.compared),
                     f"{percent(agreement.exact, agreement.compared)}%",
                     f"{percent(agreement.within_one, agreement.compared)}%",
                     "-" if mean.value is None else f"{mean.value:+.2f}", limits,
                     _stat(agreement.kappa()), _stat(agreement.icc())))
    return rows


def agreement_table(report: AuditReport) -> list[str]:
    rows = [TABLE_HEAD, *agreement_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEAD))]
    return ["  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
            for row in rows]


def agreement_notes(report: AuditReport) -> list[str]:
    """Why a statistic is missing ('-') from the table, once per reason."""
    reasons: dict[str, list[str]] = {}
    for (template, what), agreement in report.agreement.items():
        for name, stat in (("kappa", agreement.kappa()), ("ICC", agreement.icc())):
            if stat.reason:
                reasons.setdefault(f"{name}: {stat.reason}", []).append(f"{template} {what}")
    return [f"'-' {reason} ({', '.join(where)})" for reason, where in reasons.items()]


def _stat(stat: Statistic) -> str:
    return "-" if stat.value is None else f"{stat.value:.3f}"
