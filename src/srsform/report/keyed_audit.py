"""An audit against independently keyed scores: a person keys a sample of the paper forms
by hand, and every stored value in force is compared with it, with agreement statistics
(exact, within one point, Bland-Altman limits) and every discrepancy listed.
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..records import StoredPage, whole_number
from ..store import Store
from .review import apply_corrections, format_score, item_keys


@dataclass(frozen=True)
class Discrepancy:
    page: StoredPage
    item: str  # an item key, or "total"
    stored: float | int | None
    stored_status: str
    keyed: float
    corrected: bool
    evidence: str | None = None  # the item's line crop, else the annotated page

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.page.source, "page": self.page.page, "serial": self.page.serial,
                "item": self.item, "stored": self.stored, "stored_status": self.stored_status,
                "keyed": whole_number(self.keyed), "corrected": self.corrected,
                "evidence": self.evidence}


@dataclass(frozen=True)
class Agreement:
    """Agreement of stored with keyed scores (differences are stored - keyed)."""

    compared: int
    exact: int
    within_one: int
    differences: tuple[float, ...]  # where both have a score

    def to_dict(self) -> dict[str, Any]:
        mean, low, high = self.limits()
        return {"compared": self.compared,
                "exact_pct": _pct(self.exact, self.compared),
                "within_one_pct": _pct(self.within_one, self.compared),
                "with_both_scores": len(self.differences), "mean_difference": mean,
                "limits_of_agreement": None if low is None else [low, high]}

    def limits(self) -> tuple[float | None, float | None, float | None]:
        """Mean difference and Bland-Altman 95% limits (mean +/- 1.96 SD)."""
        if not self.differences:
            return None, None, None
        mean = statistics.fmean(self.differences)
        if len(self.differences) < 2:
            return round(mean, 3), None, None
        spread = 1.96 * statistics.stdev(self.differences)
        return round(mean, 3), round(mean - spread, 3), round(mean + spread, 3)


@dataclass(frozen=True)
class AuditReport:
    keyed_file: str
    keyed_rows: int
    forms_matched: int
    unmatched: tuple[str, ...]  # keyed rows no stored form matched, as "line N: id"
    items: Agreement
    totals: Agreement
    discrepancies: tuple[Discrepancy, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"keyed_file": self.keyed_file, "keyed_rows": self.keyed_rows,
                "forms_matched": self.forms_matched, "keyed_rows_unmatched": list(self.unmatched),
                "items": self.items.to_dict(), "totals": self.totals.to_dict(),
                "discrepancies": [d.to_dict() for d in self.discrepancies]}


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class _Tally:
    def __init__(self) -> None:
        self.compared = self.exact = self.within_one = 0
        self.differences: list[float] = []

    def add(self, stored: float | int | None, keyed: float) -> bool:
        """Count one pair; True when they agree exactly."""
        self.compared += 1
        if stored is None:
            return False
        difference = float(stored) - keyed
        self.differences.append(difference)
        agree = abs(difference) < 1e-9
        self.exact += int(agree)
        self.within_one += int(abs(difference) <= 1 + 1e-9)
        return agree

    def result(self) -> Agreement:
        return Agreement(self.compared, self.exact, self.within_one, tuple(self.differences))


def audit_keyed(store: Store, keyed_path: str | Path) -> AuditReport:
    """Compare the values in force with scores keyed by hand from the paper forms.

    The keyed CSV identifies a form by `serial`, or by `client` + `session`; its item
    columns are named by item key, and it may have a `total` column. Blank cells are not
    compared."""
    path = Path(keyed_path)
    header, rows = _read_keyed(path)
    value_columns = [c for c in header if c in set(item_keys(store)) | {"total"}]
    if not value_columns:
        raise ConfigError(f"{path}: no score columns: name them by item key (e.g. "
                          f"{', '.join(item_keys(store)[:4])}) or 'total'")
    pages = {page.page_id: (page, *apply_corrections(result, store.corrections(page.page_id)))
             for page, result in store.pages()}
    items, totals = _Tally(), _Tally()
    discrepancies: list[Discrepancy] = []
    unmatched: list[str] = []
    matched: set[int] = set()
    for line, row in rows:
        page_ids, name = _match(store, path, line, row)
        if not page_ids:
            unmatched.append(f"line {line}: {name}")
        for page_id in page_ids:
            matched.add(page_id)
            page, result, corrected = pages[page_id]
            for column in value_columns:
                keyed = _keyed_value(path, line, column, row.get(column, ""))
                if keyed is None:
                    continue
                if column == "total":
                    stored, tally = result.total, totals
                    status = "incomplete" if stored is None else "ok"
                else:
                    item = next((i for i in result.items if i.key == column), None)
                    if item is None:
                        continue
                    stored, status, tally = item.score, item.status, items
                if not tally.add(stored, keyed):
                    evidence = store.crop_paths(page_id).get(column) or page.evidence_path
                    discrepancies.append(Discrepancy(page, column, stored, status, keyed,
                                                     column in corrected, evidence))
    if not matched:
        raise ConfigError(f"{path}: no keyed row matched a stored form (by serial, or client "
                          "and session): is --db the store these forms were scanned into?")
    return AuditReport(str(path), len(rows), len(matched), tuple(unmatched), items.result(),
                       totals.result(), tuple(discrepancies))


def _read_keyed(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, [])]
            rows = [(reader.line_num, dict(zip(header, (v.strip() for v in values),
                                               strict=False)))
                    for values in reader if any(v.strip() for v in values)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read the keyed file {path}: {exc}") from None
    if not header:
        raise ConfigError(f"{path}: the keyed file is empty (expected a header row)")
    if "serial" not in header:
        lacking = [c for c in ("client", "session") if c not in header]
        if lacking:
            raise ConfigError(f"{path}: no 'serial' column, and no '{lacking[0]}' column to "
                              "identify forms by client and session: add one of them")
    return header, rows


def _match(store: Store, path: Path, line: int, row: dict[str, str]) -> tuple[list[int], str]:
    """Stored page ids a keyed row names, and how the row named them."""
    if row.get("serial"):
        return store.page_ids_with_serial(row["serial"]), f"serial {row['serial']}"
    client, session = row.get("client", ""), row.get("session", "")
    if not (client and session):
        return [], "no serial, client or session"
    if not session.isdigit():
        raise ConfigError(f"{path} line {line}, column 'session': '{session}' is not a "
                          "session number")
    return (store.page_ids_of_session(client, int(session)),
            f"client {client} session {session}")


def _keyed_value(path: Path, line: int, column: str, text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (column != "total" and value > 10):
        kind = "a total" if column == "total" else "a score 0-10"
        raise ConfigError(f"{path} line {line}, column '{column}': '{text}' is not {kind}")
    return value


def format_audit(report: AuditReport) -> str:
    """The audit for people: counts, agreement statistics, then every discrepancy."""
    lines = [f"audit against {report.keyed_file}",
             f"forms matched: {report.forms_matched}; keyed rows: {report.keyed_rows}, "
             f"unmatched: {len(report.unmatched)}"]
    lines += [f"  unmatched {entry}" for entry in report.unmatched]
    for name, agreement in (("items", report.items), ("totals", report.totals)):
        if agreement.compared:
            lines.append(_format_agreement(name, agreement))
    lines.append(f"discrepancies: {len(report.discrepancies)}")
    for d in report.discrepancies:
        note = " (a person's correction)" if d.corrected else ""
        where = f"; evidence: {d.evidence}" if d.evidence else ""
        lines.append(f"  {d.page.describe()} {d.item}: stored "
                     f"{format_score(d.stored, d.stored_status)}{note}, keyed "
                     f"{format_score(d.keyed)}{where}")
    return "\n".join(lines)


def _format_agreement(name: str, agreement: Agreement) -> str:
    mean, low, high = agreement.limits()
    text = (f"{name} compared: {agreement.compared}; exact agreement "
            f"{_pct(agreement.exact, agreement.compared)}%, within one point "
            f"{_pct(agreement.within_one, agreement.compared)}%")
    if mean is not None:
        text += f"; mean difference (stored - keyed) {mean:+.2f}"
    if low is not None and high is not None:
        text += f", 95% limits of agreement {low:+.2f} to {high:+.2f}"
    return text
