"""Write the demo clinic: three clients' ORS and SRS roster forms over several sessions,
filled in with designed scores and scanned (1-bit 300 dpi, small files), for `srsform report`
and `srsform alerts` in the demo (sh .ci/dev demo).

Run from anywhere: `python samples/make_clinic.py`. The output is deterministic:
  samples/clinic/stack.pdf, samples/clinic/stack.tif   the scans (ORS then SRS, by session)
  samples/clinic-truth.jsonl                            what is on every page

  C2002  ORS 31 24 20 22 27: reliable deterioration, then back within the band;
         SRS 40 32 36 38 39: an alliance drop at session 2 (the issue's client)
  C2001  ORS 19 22 26 29 31: below the cut-off at intake, then recovered;
         SRS 40 40 40 39 40: three perfect scores in a row, then a drop of one
  C2003  sessions 1, 2 and 4 came back (session 3 is missing); steady scores
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from reportlab import rl_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.clinic import plan_forms, scan_forms

HERE = Path(__file__).resolve().parent
SEED = 2026
TOTALS = {  # (template, client) -> item scores per session
    ("ors", "C2001"): [[5, 5, 5, 4], [6, 6, 5, 5], [7, 7, 6, 6], [8, 7, 7, 7], [8, 8, 8, 7]],
    ("srs", "C2001"): [[10] * 4, [10] * 4, [10] * 4, [10, 10, 10, 9], [10] * 4],
    ("ors", "C2002"): [[8, 8, 8, 7], [6, 6, 6, 6], [5, 5, 5, 5], [6, 6, 5, 5], [7, 7, 7, 6]],
    ("srs", "C2002"): [[10] * 4, [8] * 4, [9] * 4, [10, 10, 9, 9], [10, 10, 10, 9]],
    ("ors", "C2003"): [[7, 7, 6, 6], [7, 7, 7, 6], [7, 7, 7, 6], [7, 7, 7, 7]],
    ("srs", "C2003"): [[10, 10, 9, 9], [10, 10, 10, 9], [10, 10, 10, 9], [10, 10, 10, 9]],
}
MISSING = {("C2003", 3), ("C2003", 5)}  # forms that never came back (C2003 had 4 sessions)


def main() -> None:
    rl_config.invariant = 1  # no creation dates or random ids: the same bytes every run
    scores = {(template, client, session): marks
              for (template, client), runs in TOTALS.items()
              for session, marks in enumerate(runs, start=1)}
    forms = [f for f in plan_forms(clients=("C2001", "C2002", "C2003"), sessions=5, seed=SEED,
                                   scores=scores)
             if (f.code.client, f.code.session) not in MISSING]
    forms.sort(key=lambda f: (f.code.session, f.code.client, f.template))
    folder = HERE / "clinic"
    shutil.rmtree(folder, ignore_errors=True)
    # Clean 1-bit 300 dpi scans (CCITT G4): a few KB a page keeps the checkout small.
    scan_forms(forms, folder, seed=SEED, dpi=300, binary=True, noise=0.0, jpeg_quality=None)
    (folder / "truth.jsonl").replace(HERE / "clinic-truth.jsonl")
    for path in sorted(folder.iterdir()):
        print(f"{path.relative_to(HERE)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
