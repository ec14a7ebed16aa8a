"""Accuracy on a generated stack: scan it with the real pipeline and compare with its truth.

    python bench/accuracy.py --pages 120 --seed 7 [--keep DIR] [--conditions phone]
    python bench/accuracy.py --stacks bench/out/stacks/s301 bench/out/stacks/s302 [--margin MM]

With --keep DIR the stack is written there and kept; run again with the same DIR, the stack
already there (its truth.jsonl) is scanned again without generating it anew. --stacks scans
kept stacks and reports them together. --margin scans with that score-boundary margin
instead of the templates' (as `srsform scan --boundary-margin`).

Prints figures per scan condition, the issue's targets per condition group (clean; office,
colour, low and high resolution; phone; dirty: copies and faxes, with their toner specks),
what sent single-mark items to a person, and every miss; used for bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

# The test-data generators (synthetic filled and scanned forms) live with the tests,
# not in the shipped package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from srsform.form.templates import load_bundled
from srsform.read.ingest import expand_inputs
from srsform.read.pipeline import ScanConfig, iter_page_refs, process_stack
from support.accuracy import AccuracyReport, GroupStats, compare, load_truth
from support.synth import make_stack, write_stack

# The condition groups and targets: (ordinary pages needing no person, items
# accepted with the exact score).
GROUP_OF = {"clean": "clean", "office": "office", "office_color": "office",
            "low_res": "office", "high_res": "office", "phone": "phone", "copy": "dirty",
            "fax": "dirty"}
TARGETS = {"clean": (0.95, 0.99), "office": (0.90, 0.98), "phone": (0.85, 0.95),
           "dirty": (0.60, 0.85)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the stack here and keep it")
    parser.add_argument("--stacks", type=Path, nargs="+", help="scan these kept stacks")
    parser.add_argument("--conditions", help="generate only these scan conditions, e.g. "
                        "phone or copy,fax (comma-separated)")
    parser.add_argument("--margin", type=float, help="score-boundary margin (mm) to scan with")
    parser.add_argument("--causes", type=int, default=12, help="review causes to list")
    args = parser.parse_args()
    config = ScanConfig(templates=tuple(load_bundled()))
    if args.margin is not None:  # (so that the script also runs on code without the setting)
        config = dataclasses.replace(config, boundary_margin_mm=args.margin)
    folders = args.stacks or [_stack_folder(args)]
    by_condition, by_group = AccuracyReport(), AccuracyReport()
    for folder in folders:
        started = time.perf_counter()
        files = [p for p in expand_inputs([str(folder)]) if not p.endswith(".jsonl")]
        results = list(process_stack(iter_page_refs(files), config))
        truth = load_truth(folder / "truth.jsonl")
        print(f"{folder}: scanned {len(results)} records in "
              f"{time.perf_counter() - started:.1f} s")
        _merge(by_condition, compare(results, truth, "nearest_cm_half_up"), folder.name)
        _merge(by_group, compare(results, truth, "nearest_cm_half_up",
                                 group_of=lambda t: GROUP_OF[t["condition"]["name"]]))
    report = by_condition
    for name, stats in sorted(report.groups.items()):
        print(f"{name:14s} {json.dumps(stats.summary())}")
    print(f"{'ALL':14s} {json.dumps(report.overall().summary())}")
    print(f"blank items flagged {report.blank_items_flagged}/{report.blank_items} "
          f"({report.blank_items_missing} as missing), double marks flagged "
          f"{report.double_items_flagged}/{report.double_items} "
          f"({report.double_items_multiple} as multiple), blank/foreign pages flagged "
          f"{report.non_forms_flagged}/{report.non_forms}")
    print(f"missing pages {report.missing_pages}, extra {report.extra_pages}, "
          f"forms lost {report.forms_lost}")
    print_targets(by_group)
    print_causes("all groups", report.overall(), args.causes)
    for name in TARGETS:
        if name in by_group.groups:
            print_causes(name, by_group.groups[name], args.causes)
    for line in report.problems:
        print("  " + line)


def _stack_folder(args: argparse.Namespace) -> Path:
    """The stack to scan: kept and reused, or written now."""
    folder = args.keep or Path(tempfile.mkdtemp(prefix="srsform-acc-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not (args.keep and (folder / "truth.jsonl").exists()):
        started = time.perf_counter()
        conditions = args.conditions.split(",") if args.conditions else None
        write_stack(make_stack(args.pages, args.seed, conditions=conditions), folder)
        print(f"generated {args.pages} pages in {time.perf_counter() - started:.1f} s")
    return folder


def _merge(total: AccuracyReport, part: AccuracyReport, name: str = "") -> None:
    for group, stats in part.groups.items():
        total.groups.setdefault(group, GroupStats()).add(stats)
    for field in ("blank_items", "blank_items_flagged", "blank_items_missing", "double_items",
                 "double_items_flagged", "double_items_multiple", "coincident_doubles",
                 "non_forms", "non_forms_flagged"):
        setattr(total, field, getattr(total, field) + getattr(part, field))
    for field in ("missing_pages", "extra_pages", "forms_lost", "problems"):
        getattr(total, field).extend(f"{name}/{line}" if name else line
                                     for line in getattr(part, field))


def print_targets(report: AccuracyReport) -> None:
    """The issue's two targets per condition group, with wrong scores accepted. Ordinary
    pages have one mark on every line, and items one mark, none drawn right over an end
    stop (the stop hides it: a person's question); in brackets, counting those too."""
    print("\ntargets    ordinary pages needing no person (all) | single-mark items accepted"
          " exact (all) | accepted wrong (beyond 0.25 mm)")
    for name in TARGETS:
        stats = report.groups.get(name)
        if stats is None:
            continue
        pages_target, items_target = TARGETS[name]
        print(f"{name:8s}  {stats.pages_clear_ok:4d}/{stats.pages_clear:<4d} "
              f"{stats.clear_ok_rate:6.1%} (>= {pages_target:.0%}) "
              f"({stats.pages_ordinary_ok}/{stats.pages_ordinary} {stats.ordinary_ok_rate:.1%})"
              f" | {stats.ok_correct_clear:5d}/{stats.items_clear:<5d} "
              f"{stats.ok_clear_rate:6.1%} (>= {items_target:.0%}) "
              f"({stats.ok_correct}/{stats.items_single} {stats.ok_rate:.1%})"
              f" | {stats.ok_wrong} ({stats.ok_wrong_far})")


def print_causes(name: str, stats: GroupStats, count: int) -> None:
    """Why single-mark items went to a person, most frequent first (an item may have
    several reasons)."""
    if not stats.causes or count <= 0:
        return
    print(f"\n{name}: why {stats.routed} single-mark items went to a person (reasons, "
          "# = a number):")
    for cause, n in sorted(stats.causes.items(), key=lambda kv: -kv[1])[:count]:
        print(f"  {n:5d}  {cause}")


if __name__ == "__main__":
    main()
