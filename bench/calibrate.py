"""Calibrate the reader's error model on generated stacks: is its stated sigma honest?

    python bench/calibrate.py bench/out/stacks/s101 bench/out/stacks/s102 ...
    python bench/calibrate.py --seeds 101-106 --pages 120 --out bench/out/stacks

Each stack is a folder written by `bench/accuracy.py --keep` (the scans and truth.jsonl);
with --seeds, stacks missing under --out are generated first. Every line of every form page
is measured as `srsform scan` measures it, and each item holding one true mark that the
reader judged clear (status ok before the score-boundary check) gives
z = (reading - truth) / sigma, the reading and the truth both clamped to the line.

Prints, per mark kind and per scan condition: n, mean and SD of z, the share of |z| > 2 and
> 3 (a standard normal has 4.6% and 0.27%), the median sigma and the mean absolute error;
then what each boundary margin would do with these readings (--margins). --rows FILE also
writes one JSON line per reading (the sigma model's inputs), for fitting.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from srsform.form.templates import load_bundled
from srsform.read.ingest import expand_inputs
from srsform.read.measure import measure_line
from srsform.read.pipeline import RegisteredPage, ScanConfig, iter_page_refs, load_stage
from support.synth import make_stack, write_stack

NEAR_END_MM = 3.0  # readings this close to an end are tallied apart: no cm boundary lies there


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stacks", nargs="*", type=Path, help="stack folders (with truth.jsonl)")
    parser.add_argument("--seeds", default="", help="e.g. 101-106,201: stacks under --out")
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--out", type=Path, default=Path("bench/out/stacks"))
    parser.add_argument("--rows", type=Path, help="also write every reading here (JSON lines)")
    parser.add_argument("--from-rows", type=Path, nargs="+", default=[],
                        help="read the readings from --rows files instead of measuring")
    parser.add_argument("--fit", action="store_true",
                        help="fit the sigma model's constants to these readings (maximum "
                             "likelihood) and show the tables with them")
    parser.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                        help="with --fit: hold this constant at VALUE (e.g. SIGMA_PER_PIXEL=0.05)")
    parser.add_argument("--markdown", action="store_true", help="tables in Markdown")
    parser.add_argument("--margins", default="0,0.1,0.2,0.25,0.3,0.5",
                        help="boundary margins (mm) to try on these readings")
    args = parser.parse_args()
    folders = list(args.stacks)
    for seed in parse_seeds(args.seeds):
        folder = args.out / f"s{seed}"
        if not (folder / "truth.jsonl").exists():
            print(f"generating seed {seed} ({args.pages} pages) in {folder}", file=sys.stderr)
            write_stack(make_stack(args.pages, seed), folder)
        folders.append(folder)
    if not folders and not args.from_rows:
        parser.error("give stack folders, --seeds or --from-rows")
    rows = [row for folder in folders for row in measure_stack(folder)]
    for path in args.from_rows:
        rows += _load_truth(path)
    if args.rows:
        with open(args.rows, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(row) + "\n" for row in rows)
    stacks = sorted({row["stack"] for row in rows})
    print(f"{len(rows)} clear single-mark readings from {len(stacks)} stacks "
          f"({', '.join(stacks)})")
    if args.fit:
        fixed = {name: float(value) for name, _, value in (f.partition("=") for f in args.fix)}
        constants = fit_sigma_model(rows, fixed)
        print("maximum-likelihood constants: " + ", ".join(
            f"{name} = {value:.4f}" for name, value in constants.items()))
        for row in rows:
            row["sigma_mm"] = model_sigma(row, constants)
    show = markdown_table if args.markdown else text_table
    mid = [r for r in rows if not r["near_end"]]
    print("\nby mark kind, readings more than 3 mm from an end:")
    show(z_table(mid, lambda r: r["kind"]))
    print("\nby scan condition, readings more than 3 mm from an end:")
    show(z_table(mid, lambda r: r["condition"]))
    print("\nwithin 3 mm of an end (no cm boundary there), by mark kind:")
    show(z_table([r for r in rows if r["near_end"]], lambda r: r["kind"]))
    margins = [float(m) for m in args.margins.split(",") if m]
    if margins:
        print("\nboundary margins on these readings (nearest_cm_half_up):")
        show(margin_table(rows, margins))


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        seeds += range(int(low), int(high or low) + 1)
    return seeds


def measure_stack(folder: Path) -> Iterable[dict]:
    """One row per clear single-mark reading of a stack: truth, reading, sigma and the
    sigma model's inputs."""
    truth = {(t["file"], t["page"]): t for t in _load_truth(folder / "truth.jsonl")}
    config = ScanConfig(templates=tuple(load_bundled()))
    files = [p for p in expand_inputs([str(folder)]) if not p.endswith(".jsonl")]
    for ref in iter_page_refs(files):
        t = truth.get((Path(ref.source).name, ref.page))
        if t is None or t["kind"] != "form":
            continue
        page = load_stage(ref, config)
        if not isinstance(page, RegisteredPage) or page.code is None:
            continue
        found = config.find_layout(page.code)
        if found is None:
            continue
        reg = page.registration
        items = {i["key"]: i for i in t["items"]}
        for geom in found[1].lines:
            item = items.get(geom.key)
            if item is None or item["expected_status"] != "ok":
                continue
            m = measure_line(page.image.gray, reg.homography, geom, reg.px_per_mm)
            if m.status != "ok" or m.raw_mm is None:
                continue
            mark = next((c for c in m.candidates if c.x_mm == m.raw_mm), None)
            true_mm = float(item["true_mm"])
            reading = min(100.0, max(0.0, m.raw_mm))
            yield {
                "stack": folder.name, "file": t["file"], "page": t["page"], "key": geom.key,
                "condition": t["condition"]["name"], "kind": item["marks"][0]["kind"],
                "ink": item["marks"][0]["ink"], "pen_mm": item["marks"][0]["width_mm"],
                "truth_mm": true_mm, "raw_mm": m.raw_mm, "mm": m.mm,
                "error_mm": reading - true_mm, "sigma_mm": m.sigma_mm,
                "px_per_mm": reg.px_per_mm, "blur_mm": getattr(m, "blur_mm", None),
                "fit_rms_mm": mark.fit_rms_mm if mark else None,
                "contrast": mark.contrast if mark else None,
                "touches_stop": bool(mark and (mark.at_stop or mark.touches_stop)),
                "ends_found": m.ends_found,
                "near_end": min(true_mm, 100.0 - true_mm) < NEAR_END_MM,
            }


SIGMA_TERMS = ("BASE_SIGMA_MM", "SIGMA_PER_PIXEL", "SIGMA_PER_BLUR", "SIGMA_PER_SCATTER",
               "SIGMA_PER_SCATTER_BLUR", "AT_STOP_SIGMA_MM", "AT_STOP_PER_SCATTER")


def model_sigma(row: dict, constants: dict[str, float]) -> float:
    """The sigma `judge.estimate_sigma` gives a reading, with these constants (ends found)."""
    terms = _sigma_terms([row])[0]
    return float(sum(constants[name] * t for name, t in zip(SIGMA_TERMS, terms, strict=True)))


def _sigma_terms(rows: Sequence[dict]) -> np.ndarray:
    """Per reading, what each constant multiplies (see judge.estimate_sigma)."""
    return np.array([[1.0, 1.0 / max(r["px_per_mm"], 1.0), r["blur_mm"], r["fit_rms_mm"],
                      r["fit_rms_mm"] * r["blur_mm"], float(r["touches_stop"]),
                      r["fit_rms_mm"] * float(r["touches_stop"])]
                     for r in rows])


def fit_sigma_model(rows: Sequence[dict], fixed: dict[str, float] | None = None
                    ) -> dict[str, float]:
    """The constants (all >= 0; those in `fixed` held) that make the errors most likely
    under N(0, sigma) with judge.estimate_sigma's model, on readings whose line ends were
    found."""
    fixed = fixed or {}
    unknown = set(fixed) - set(SIGMA_TERMS)
    if unknown:
        raise SystemExit(f"--fix: unknown constant(s) {sorted(unknown)}; known: {SIGMA_TERMS}")
    free = [name for name in SIGMA_TERMS if name not in fixed]
    used = [r for r in rows if r["ends_found"] and r["fit_rms_mm"] is not None]
    terms = _sigma_terms(used)
    errors = np.array([r["error_mm"] for r in used])

    def constants(params: np.ndarray) -> dict[str, float]:
        return {**dict(zip(free, np.abs(params), strict=True)), **fixed}

    def cost(params: np.ndarray) -> float:
        values = constants(params)
        sigma = terms @ np.array([values[name] for name in SIGMA_TERMS])
        return float(np.sum(np.log(sigma) + 0.5 * (errors / sigma) ** 2))

    start = {"BASE_SIGMA_MM": 0.03, "SIGMA_PER_PIXEL": 0.1, "SIGMA_PER_BLUR": 0.05,
             "SIGMA_PER_SCATTER": 0.1, "SIGMA_PER_SCATTER_BLUR": 0.5, "AT_STOP_SIGMA_MM": 0.1,
             "AT_STOP_PER_SCATTER": 0.1}
    best = _nelder_mead(cost, np.array([start[name] for name in free]))
    return {name: float(value) for name, value in constants(best).items()}


def _nelder_mead(cost: Callable[[np.ndarray], float], start: np.ndarray,
                 iterations: int = 4000) -> np.ndarray:
    """A plain Nelder-Mead minimiser (no SciPy here)."""
    simplex = [start] + [start + np.eye(len(start))[i] * max(abs(start[i]) * 0.5, 0.01)
                         for i in range(len(start))]
    values = [cost(p) for p in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex, values = [simplex[i] for i in order], [values[i] for i in order]
        if values[-1] - values[0] < 1e-9:
            break
        centre = np.mean(simplex[:-1], axis=0)
        reflected = centre + (centre - simplex[-1])
        value = cost(reflected)
        if value < values[0]:
            expanded = centre + 2 * (centre - simplex[-1])
            expanded_value = cost(expanded)
            simplex[-1], values[-1] = ((expanded, expanded_value) if expanded_value < value
                                       else (reflected, value))
        elif value < values[-2]:
            simplex[-1], values[-1] = reflected, value
        else:
            inner = centre + 0.5 * (simplex[-1] - centre)
            inner_value = cost(inner)
            if inner_value < values[-1]:
                simplex[-1], values[-1] = inner, inner_value
            else:
                simplex = [simplex[0] + 0.5 * (p - simplex[0]) for p in simplex]
                values = [cost(p) for p in simplex]
    return simplex[int(np.argmin(values))]


def _load_truth(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def z_stats(rows: Sequence[dict]) -> dict[str, float | int]:
    """n, mean and SD of z, tail shares beyond 2 and 3, median sigma, MAE (mm)."""
    errors = np.array([r["error_mm"] for r in rows], dtype=float)
    sigmas = np.array([r["sigma_mm"] for r in rows], dtype=float)
    z = errors / np.maximum(sigmas, 1e-6)
    return {"n": len(rows), "mean_z": float(z.mean()), "sd_z": float(z.std()),
            "over_2": float(np.mean(np.abs(z) > 2)), "over_3": float(np.mean(np.abs(z) > 3)),
            "sigma_mm": float(np.median(sigmas)), "mae_mm": float(np.abs(errors).mean())}


def z_table(rows: Sequence[dict], group: Callable[[dict], str]) -> list[list[str]]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(group(row), []).append(row)
    table = [["group", "n", "mean z", "SD z", "|z|>2", "|z|>3", "median sigma mm", "MAE mm"]]
    for name, members in [*sorted(groups.items()), ("ALL", list(rows))]:
        if not members:
            continue
        s = z_stats(members)
        table.append([name, str(s["n"]), f"{s['mean_z']:+.2f}", f"{s['sd_z']:.2f}",
                      f"{s['over_2']:.1%}", f"{s['over_3']:.1%}", f"{s['sigma_mm']:.3f}",
                      f"{s['mae_mm']:.3f}"])
    return table


def margin_table(rows: Sequence[dict], margins: Sequence[float]) -> list[list[str]]:
    """For each margin: readings sent to a person for the boundary alone, readings accepted
    with a near_boundary note, and accepted scores that are wrong (all; and with the truth
    more than 0.25 mm past the boundary)."""
    from srsform.read.score import boundary_check, score_mm

    table = [["margin mm", "readings", "to a person", "near_boundary notes", "accepted wrong",
              "wrong beyond 0.25 mm"]]
    for margin in margins:
        routed = noted = wrong = far_wrong = 0
        for r in rows:
            verdict = boundary_check(r["mm"], r["raw_mm"], r["sigma_mm"], "nearest_cm_half_up",
                                     margin)
            if verdict == "review":
                routed += 1
                continue
            noted += verdict == "near"
            if score_mm(r["mm"], "nearest_cm_half_up") != score_mm_cm(r["truth_mm"]):
                wrong += 1
                far_wrong += _past_boundary_mm(r["truth_mm"], r["mm"]) > 0.25
        table.append([f"{margin:g}", str(len(rows)), str(routed), str(noted), str(wrong),
                      str(far_wrong)])
    return table


def _past_boundary_mm(true_mm: float, mm: float) -> float:
    """How far the truth lies outside the positions that score what `mm` scores."""
    from srsform.read.score import score_span

    low, high = score_span(score_mm_cm(mm), "nearest_cm_half_up")
    return max(0.0, low - true_mm, true_mm - high)


def score_mm_cm(mm: float) -> int:
    return int(np.floor(min(100.0, max(0.0, mm)) / 10.0 + 0.5))


def text_table(table: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))))


def markdown_table(table: list[list[str]]) -> None:
    print("| " + " | ".join(table[0]) + " |")
    print("|---|" + "---:|" * (len(table[0]) - 1))
    for row in table[1:]:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
