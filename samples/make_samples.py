"""Write the sample blank forms and a small set of filled-in, scanned samples with their truth.

Run from anywhere: `python samples/make_samples.py`. The output is deterministic:
  samples/blank-srs-a4.pdf, samples/blank-ors-letter.pdf   blank forms to print
  samples/scans/stack.pdf     four office scans (gray JPEG; one upside down, one fit-to-page)
  samples/scans/stack.tif     a fax (1-bit G4), a photocopy and a sideways ORS scan
  samples/scans/photo-*.jpg   two phone photos
  samples/scans/scan-*.png    a blank sheet that came through with the stack
  samples/truth.jsonl         what is on every page (see support.synth.write_stack); kept
                              outside scans/ so that scanning the folder reads only scans
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from reportlab import rl_config

# The test-data generators (synthetic filled and scanned forms) live with the tests,
# not in the shipped package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.render import PageSpec, render_pdf
from srsform.form.templates import load_template
from support import synth

HERE = Path(__file__).resolve().parent
SEED = 2024


def write_blank_forms() -> None:
    for name, paper, serial in (("srs", "a4", "SAMP00000001"), ("ors", "letter", "SAMP00000002")):
        template = load_template(name)
        layout = build_layout(template)
        code = PageCode(template.id, template.version, layout.layout_id, serial)
        render_pdf(template, layout, [PageSpec(code)], paper, HERE / f"blank-{name}-{paper}.pdf")


def sample_pages() -> list[synth.SynthPage]:
    rng = np.random.default_rng(SEED)
    plan = [  # (template, paper, condition, rotation, kinds)
        ("srs", "a4", "office", 0, ("vertical", "slanted", "cross", "check")),
        ("srs", "a4", "office", 180, ("circle", "dot", "touch", "beyond")),
        ("srs", "letter", "office", 0, ("on_stop", "scribble", "blank", "double")),
        ("srs", "a4", "office", 0, None),
        ("srs", "a4", "fax", 0, None),
        ("srs", "a4", "copy", 0, None),
        ("ors", "a4", "office", 90, None),
        ("srs", "a4", "phone", 0, ("slanted", "vertical", "check", "cross")),
        ("srs", "letter", "phone", 180, None),
    ]
    pages = []
    for i, (name, paper, condition_name, rotation, kinds) in enumerate(plan):
        template = load_template(name)
        condition = synth.random_condition(rng, condition_name, rotation)
        if condition_name == "office":  # keep the committed files small
            condition = replace(condition, dpi=200 if i else 300)
        if i == 3:
            condition = replace(condition, print_scale=0.96)
        ink = "black" if condition.binary else None
        items = synth.random_marks(rng, kinds, [item.key for item in template.items], ink)
        client = f"C{1001 + i}" if i % 3 else None
        code = PageCode(template.id, template.version, build_layout(template).layout_id,
                        f"SAMP{i + 10:08d}", client, 3 + i if client else None)
        pages.append(synth.make_page(template, code, items, condition, SEED + i, paper))
    clean = synth.random_condition(rng, "clean")
    pages.append(synth.make_blank_page(replace(clean, dpi=150), SEED + 99))
    return pages


def main() -> None:
    rl_config.invariant = 1  # no creation dates or random ids: the same PDF bytes every run
    write_blank_forms()
    folder = HERE / "scans"
    for old in folder.glob("*"):
        old.unlink()
    for path in synth.write_stack(sample_pages(), folder):
        print(f"{path.relative_to(HERE.parent)}  {path.stat().st_size // 1024} KiB")
    (folder / "truth.jsonl").replace(HERE / "truth.jsonl")


if __name__ == "__main__":
    main()
