"""Accuracy on a generated stack: scan it with the real pipeline and compare with its truth.

    python bench/accuracy.py --pages 120 --seed 7 [--keep DIR]

With --keep DIR the stack is written there and kept; run again with the same DIR, the stack
already there (its truth.jsonl) is scanned again without generating it anew.

Prints figures per scan condition and every miss; used for the figures in bench/README.md.
"""

from __future__ import annotations

import argparse
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
from support.accuracy import compare, load_truth
from support.synth import make_stack, write_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the stack here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="srsform-acc-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reuse = bool(args.keep and (folder / "truth.jsonl").exists())
    if not reuse:
        write_stack(make_stack(args.pages, args.seed), folder)
    made = time.perf_counter()
    config = ScanConfig(templates=tuple(load_bundled()))
    files = [p for p in expand_inputs([str(folder)]) if not p.endswith(".jsonl")]
    results = list(process_stack(iter_page_refs(files), config))
    scanned = time.perf_counter()
    report = compare(results, load_truth(folder / "truth.jsonl"), "nearest_cm_half_up")
    stack = (f"reused the stack in {folder}" if reuse
             else f"generated {args.pages} pages in {made - started:.1f} s")
    print(f"{stack}, scanned {len(results)} records in {scanned - made:.1f} s")
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
    for line in report.problems:
        print("  " + line)


if __name__ == "__main__":
    main()
