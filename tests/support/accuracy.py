"""Compare page results with known truth (the generator's truth.jsonl): the figures that
the accuracy tests assert and the benchmark reports. Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srsform.form.layout import LINE_LENGTH_MM
from srsform.records import PageResult

COINCIDENT_MM = 1.5  # two marks this close give one answer, whichever a reader takes
AMBIGUOUS_MM = 0.25  # a truth this close to a score boundary leaves even its score ambiguous


@dataclass
class GroupStats:
    """Figures for one group of pages (e.g. one scan condition)."""

    items_single: int = 0  # items holding exactly one real mark
    read_correct: int = 0  # ...whose score was read right, whatever their status
    ok_correct: int = 0  # ...read ok with the right score
    ok_wrong: int = 0  # ...read ok with a wrong score: must stay 0
    routed: int = 0  # ...sent to a person (any status other than ok)
    ok_wrong_far: int = 0  # ok_wrong with the truth beyond AMBIGUOUS_MM of the boundary
    errors_mm: list[float] = field(default_factory=list)  # |mm - truth| of ok items
    pages_ordinary: int = 0  # form pages whose every item holds exactly one mark
    pages_ordinary_ok: int = 0  # ...read ok: no person needed
    pages_clear: int = 0  # ordinary pages with no mark drawn right over an end stop
    pages_clear_ok: int = 0  # ...read ok
    items_clear: int = 0  # single-mark items whose mark is not drawn right over an end stop
    ok_correct_clear: int = 0  # ...read ok with the right score
    causes: dict[str, int] = field(default_factory=dict)  # why single-mark items were routed

    @property
    def exact_rate(self) -> float:
        """Share of items whose score was read right (the rest must all be routed)."""
        return self.read_correct / self.items_single if self.items_single else 1.0

    @property
    def ok_rate(self) -> float:
        """Share of items accepted without a person (read ok, and so right)."""
        return self.ok_correct / self.items_single if self.items_single else 1.0

    @property
    def ordinary_ok_rate(self) -> float:
        """Share of ordinary pages (one mark on every line) that need no person."""
        return self.pages_ordinary_ok / self.pages_ordinary if self.pages_ordinary else 1.0

    @property
    def ok_clear_rate(self) -> float:
        """ok_rate over items whose mark is not drawn right over an end stop."""
        return self.ok_correct_clear / self.items_clear if self.items_clear else 1.0

    @property
    def clear_ok_rate(self) -> float:
        """Share of ordinary pages with no mark hidden by an end stop that need no person."""
        return self.pages_clear_ok / self.pages_clear if self.pages_clear else 1.0

    def add(self, other: GroupStats) -> None:
        """Add another group's counts to this one's."""
        for name in ("items_single", "read_correct", "ok_correct", "ok_wrong", "routed",
                     "ok_wrong_far", "pages_ordinary", "pages_ordinary_ok", "pages_clear",
                     "pages_clear_ok", "items_clear", "ok_correct_clear"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors_mm += other.errors_mm
        for cause, n in other.causes.items():
            self.causes[cause] = self.causes.get(cause, 0) + n

    def summary(self) -> dict[str, float | int]:
        errors = np.array(self.errors_mm) if self.errors_mm else np.zeros(1)
        return {"items": self.items_single, "exact_rate": round(self.exact_rate, 4),
                "ok_rate": round(self.ok_rate, 4), "ok_wrong": self.ok_wrong,
                "ok_wrong_far": self.ok_wrong_far, "routed": self.routed,
                "ordinary_pages": self.pages_ordinary,
                "ordinary_ok_rate": round(self.ordinary_ok_rate, 4),
                "clear_pages": self.pages_clear, "clear_ok_rate": round(self.clear_ok_rate, 4),
                "mae_mm": round(float(errors.mean()), 3),
                "p95_mm": round(float(np.percentile(errors, 95)), 3),
                "max_mm": round(float(errors.max()), 3)}


@dataclass
class AccuracyReport:
    groups: dict[str, GroupStats] = field(default_factory=dict)
    missing_pages: list[str] = field(default_factory=list)  # truth pages with no record
    extra_pages: list[str] = field(default_factory=list)  # records with no truth page
    blank_items: int = 0
    blank_items_flagged: int = 0  # not read as ok (sent to a person)
    blank_items_missing: int = 0  # ...read as missing exactly
    double_items: int = 0
    double_items_flagged: int = 0  # not read as ok (sent to a person)
    double_items_multiple: int = 0  # ...read as multiple exactly
    coincident_doubles: int = 0  # two marks on one spot (one answer, emphasised): not tallied
    non_forms: int = 0
    non_forms_flagged: int = 0  # blank and foreign pages read as not_a_form
    forms_lost: list[str] = field(default_factory=list)  # forms not read as ok/review
    problems: list[str] = field(default_factory=list)  # every miss, for messages

    def overall(self) -> GroupStats:
        total = GroupStats()
        for g in self.groups.values():
            total.add(g)
        return total


def true_score_of(true_mm: float, rounding: str) -> float | int:
    """The score of an exactly known position (no 0.1 mm rounding first)."""
    mm = min(LINE_LENGTH_MM, max(0.0, true_mm))
    if rounding == "nearest_cm_half_up":
        return int(np.floor(mm / 10.0 + 0.5))
    return float(np.floor(mm + 0.5)) / 10.0


def load_truth(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def compare(results: Iterable[PageResult], truth: Sequence[dict], rounding: str,
            group_of=lambda t: t["condition"]["name"]) -> AccuracyReport:
    """Match records to truth pages by (file name, page) and tally the outcome."""
    report = AccuracyReport()
    by_page = {(Path(r.source).name, r.page): r for r in results}
    for t in truth:
        where = f"{t['file']} p{t['page']}"
        result = by_page.pop((t["file"], t["page"]), None)
        if result is None:
            report.missing_pages.append(where)
            continue
        if t["kind"] != "form":
            report.non_forms += 1
            if result.status == "not_a_form":
                report.non_forms_flagged += 1
            else:
                report.problems.append(f"{where}: {t['kind']} page read as {result.status}")
            continue
        stats = report.groups.setdefault(group_of(t), GroupStats())
        if all(len(i["marks"]) == 1 for i in t["items"]):
            # (an ordinary page that was not even read needs a person too)
            stats.pages_ordinary += 1
            stats.pages_ordinary_ok += result.status == "ok"
            if not any(m["kind"] == "on_stop" for i in t["items"] for m in i["marks"]):
                stats.pages_clear += 1
                stats.pages_clear_ok += result.status == "ok"
        if result.status not in ("ok", "review"):
            report.forms_lost.append(f"{where}: {result.status} {list(result.reasons)}")
            continue
        items = {i.key: i for i in result.items}
        for truth_item in t["items"]:
            _tally(report, stats, truth_item, items.get(truth_item["key"]), where, rounding)
    report.extra_pages = [f"{name} p{page}" for name, page in by_page]
    return report


def _tally(report: AccuracyReport, stats: GroupStats, truth_item: dict, item, where: str,
           rounding: str) -> None:
    expected = truth_item["expected_status"]
    label = f"{where} {truth_item['key']}"
    if item is None:
        report.problems.append(f"{label}: no item in the record")
        return
    if expected == "missing":
        report.blank_items += 1
        report.blank_items_flagged += item.status != "ok"
        report.blank_items_missing += item.status == "missing"
        if item.status == "ok":
            report.problems.append(f"{label}: blank item read as {item.status} {item.mm}")
        return
    if expected == "multiple":
        xs = [m["x_mm"] for m in truth_item["marks"] if m["kind"] != "scribble"]
        if len(xs) > 1 and max(xs) - min(xs) < COINCIDENT_MM and len(xs) == len(
                truth_item["marks"]):
            report.coincident_doubles += 1
            return
        report.double_items += 1
        report.double_items_flagged += item.status != "ok"
        report.double_items_multiple += item.status == "multiple"
        if item.status == "ok":
            report.problems.append(f"{label}: double mark read as {item.status} {item.mm}")
        return
    stats.items_single += 1
    clear = truth_item["marks"][0]["kind"] != "on_stop"
    stats.items_clear += clear
    true_mm = float(truth_item["true_mm"])
    true_score = true_score_of(true_mm, rounding)
    stats.read_correct += item.score == true_score
    if item.status != "ok":
        stats.routed += 1
        causes = {review_cause(why) for why in item.reasons
                  if not why.startswith("near_boundary:")}
        for cause in causes or {f"read {item.status}"}:
            stats.causes[cause] = stats.causes.get(cause, 0) + 1
        return
    stats.errors_mm.append(abs(float(item.mm) - true_mm))
    if item.score == true_score:
        stats.ok_correct += 1
        stats.ok_correct_clear += clear
    else:
        stats.ok_wrong += 1
        past = distance_past_boundary_mm(true_mm, item.score, rounding)
        stats.ok_wrong_far += past > AMBIGUOUS_MM
        report.problems.append(f"{label}: ok but score {item.score} != {true_score} "
                               f"(read {item.mm} mm, truth {true_mm:.2f} mm, "
                               f"{past:.2f} mm past the boundary)")


def distance_past_boundary_mm(true_mm: float, score: float | int, rounding: str) -> float:
    """How far the truth lies outside the positions that score `score` (0 inside them)."""
    step = 10.0 if rounding == "nearest_cm_half_up" else 1.0
    centre = float(score) * 10.0
    low = -np.inf if centre <= 0 else centre - step / 2
    high = np.inf if centre >= LINE_LENGTH_MM else centre + step / 2
    return float(max(0.0, low - true_mm, true_mm - high))


def review_cause(reason: str) -> str:
    """A reason without its numbers: what kind of doubt sent an item to a person."""
    return re.sub(r"[-+]?\d+(\.\d+)?", "#", reason)[:70]
