"""Speed and memory of `srsform scan` on image-only 300 dpi PDF stacks, beside `pdftoppm`.

    python bench/bench_scan.py [--pages 30,200,300] [--repeat 2] [--rebuild] [--markdown]

For each page count N it builds (once, cached in bench/out/) an image-only PDF of N distinct
filled SRS forms (each its own serial and marks, from support.synth) scanned as office scans at
300 dpi gray, one JPEG image per page. It then measures, in the same run, the wall time and peak
memory of `pdftoppm -r 300 -gray` merely rasterising the file and of `srsform scan` reading it
with one worker process into a fresh store. Each timing is the best of --repeat runs; peak memory
is the measured process's own maximum resident set size. The scan's records are checked: one per
page and no "error" pages. Targets (from the issue): scan time at most a quarter of pdftoppm's,
peak memory under 400 MB and about the same for every N. A benchmark, not a test: it reports a
missed target and does not fail on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# The test-data generators (synthetic filled and scanned forms) live with the tests,
# not in the shipped package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from srsform.form.layout import build_layout
from srsform.form.pagecode import SERIAL_ALPHABET, SERIAL_LENGTH, PageCode
from srsform.form.templates import load_template
from support.pdf import jpeg_data, write_image_pdf
from support.synth import make_page, random_condition, random_marks

OUT_DIR = Path(__file__).resolve().parent / "out"
DPI = 300
JPEG_QUALITY = 85
SEED = 2024
RATIO_TARGET = 0.25
PEAK_MB_TARGET = 400.0
SCAN_OK_EXIT_CODES = (0, 4, 5)  # all ok / some pages for review / some pages failed
_TIME = "/usr/bin/time"
# Fallback when GNU time is missing: a fresh wrapper process whose only child is the command,
# so its RUSAGE_CHILDREN peak is that command's own peak (KiB on Linux).
_RSS_WRAPPER = ("import resource, subprocess, sys; "
                "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
                "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
                "print(u.ru_maxrss, u.ru_utime, u.ru_stime, file=sys.stderr); "
                "sys.exit(code)")


@dataclass(frozen=True)
class Run:
    """One measured command: wall and CPU (user + system) seconds, peak resident memory in MB,
    exit code and the end of its stderr."""

    seconds: float
    cpu_seconds: float
    peak_mb: float
    exit_code: int
    stderr_tail: str


@dataclass(frozen=True)
class Row:
    """The figures for one page count."""

    pages: int
    pdf_mb: float
    pdftoppm: Run
    scan: Run
    statuses: Counter[str]
    records: int

    @property
    def ratio(self) -> float:
        return self.scan.seconds / self.pdftoppm.seconds


# ---------------------------------------------------------------------------------- stacks


def render_scan(index: int) -> bytes:
    """Stack page `index`: a filled SRS form with its own serial and marks, scanned as an office
    scan at 300 dpi gray, as JPEG bytes. A function of SEED and `index` only."""
    rng = np.random.default_rng([SEED, index])
    template = load_template("srs")
    condition = dataclasses.replace(random_condition(rng, "office"), dpi=DPI, rotation=0,
                                    jpeg_quality=JPEG_QUALITY)
    roster = rng.random() < 0.6
    code = PageCode(template.id, template.version, build_layout(template).layout_id,
                    "".join(rng.choice(list(SERIAL_ALPHABET), SERIAL_LENGTH)),
                    f"C{rng.integers(100, 10000):04d}" if roster else None,
                    int(rng.integers(1, 31)) if roster else None)
    page = make_page(template, code, random_marks(rng), condition, int(rng.integers(2**31)))
    ok, data = cv2.imencode(".jpg", page.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def ensure_scans(count: int, rebuild: bool) -> list[Path]:
    """The cached JPEG scans of stack pages 0..count-1, rendering the missing ones on all
    cores (rendering costs ~0.3 s a page)."""
    folder = OUT_DIR / f"pages-{SEED}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:04d}.jpg" for i in range(count)]
    todo = [i for i, p in enumerate(paths) if rebuild or not p.exists()]
    if todo:
        started = time.perf_counter()
        with ProcessPoolExecutor() as pool:
            for i, data in zip(todo, pool.map(render_scan, todo, chunksize=4), strict=True):
                paths[i].write_bytes(data)
        log(f"rendered {len(todo)} page scan(s) in {time.perf_counter() - started:.1f} s")
    return paths


def write_stack_pdf(path: Path, scans: Sequence[Path], pages: int) -> None:
    """An image-only PDF of `pages` pages cycling through the 8-bit gray JPEG `scans`; every page
    has its own image object, page size = image size at 300 dpi."""
    write_image_pdf(path, (jpeg_data(scans[i % len(scans)].read_bytes(), DPI)
                           for i in range(pages)))


def ensure_stacks(counts: Sequence[int], distinct: int, rebuild: bool) -> dict[int, Path]:
    """The cached stack PDF for each page count, building those missing (or all with rebuild).
    Pages are all distinct forms, or cycle through `distinct` of them when it is positive."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    suffix = f"-cycle{distinct}" if distinct else ""
    paths = {n: OUT_DIR / f"stack-{n}{suffix}.pdf" for n in counts}
    todo = [n for n, p in paths.items() if rebuild or not p.exists()]
    if todo:
        scans = ensure_scans(distinct or max(todo), rebuild)
        for n in todo:
            write_stack_pdf(paths[n], scans, n)
        log(f"built {', '.join(paths[n].name for n in todo)}")
    return paths


# ---------------------------------------------------------------------------------- measuring


def measure(cmd: Sequence[str], cwd: Path) -> Run:
    """Run `cmd` in `cwd` (stdout discarded): its wall time, CPU time and its own peak RSS."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        if os.access(_TIME, os.X_OK):
            wrapped = [_TIME, "-f", "%M %U %S", "-o", report.name, *cmd]
        else:
            wrapped = [sys.executable, "-c", _RSS_WRAPPER, *cmd]
        started = time.perf_counter()
        proc = subprocess.run(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, check=False, cwd=cwd)
        seconds = time.perf_counter() - started
        text = report.read() if wrapped[0] == _TIME else proc.stderr
    figures = [line.split() for line in text.splitlines() if len(line.split()) == 3]
    try:
        kib, user, system = (float(v) for v in figures[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f"no resource figures from {' '.join(cmd)}: "
                           f"{proc.stderr.strip()}") from None
    tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
    return Run(seconds, user + system, kib / 1024, proc.returncode, tail)


def srsform_exe() -> list[str]:
    """The srsform entry point of this interpreter's environment."""
    beside = Path(sys.executable).with_name("srsform")
    found = str(beside) if beside.exists() else shutil.which("srsform")
    if found is None:
        raise SystemExit("bench_scan: srsform is not installed (pip install -e .)")
    return [found]


def scan_command(pdf: Path, out: Path, db: Path) -> list[str]:
    """`srsform scan` quietly with one worker (when the command has --jobs), recording into
    the fresh store `db` (when it has --db) so that every page is really read."""
    exe = srsform_exe()
    help_text = subprocess.run([*exe, "scan", "--help"], capture_output=True, text=True,
                               check=True).stdout
    options = []
    if "--jobs" in help_text:
        options += ["--jobs", "1"]
    if "--db" in help_text:
        options += ["--db", str(db)]
    quiet = ["-q"] if "--quiet" in help_text else []
    root_quiet = [] if quiet else ["-q"]
    return [*exe, *root_quiet, "scan", str(pdf.resolve()), "-o", str(out), *options, *quiet]


def best(runs: Sequence[Run]) -> Run:
    """The fastest run, with the highest peak memory seen in any run."""
    fastest = min(runs, key=lambda r: r.seconds)
    return dataclasses.replace(fastest, peak_mb=max(r.peak_mb for r in runs))


def bench_pages(pages: int, pdf: Path, repeat: int) -> Row:
    """Measure pdftoppm and srsform scan on one stack, alternating them `repeat` times."""
    toppm_runs: list[Run] = []
    scan_runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        work = Path(tmp)
        out = work / "out.jsonl"
        for i in range(repeat):
            raster = work / "raster"
            raster.mkdir()
            toppm_runs.append(measure(["pdftoppm", "-r", str(DPI), "-gray", str(pdf),
                                       str(raster / "p")], work))
            shutil.rmtree(raster)
            scan_runs.append(measure(scan_command(pdf, out, work / f"run{i}.db"), work))
            if scan_runs[-1].exit_code not in SCAN_OK_EXIT_CODES:
                raise SystemExit(f"bench_scan: srsform scan failed with exit code "
                                 f"{scan_runs[-1].exit_code} on {pdf.name}: "
                                 f"{scan_runs[-1].stderr_tail}")
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    failed = [r for r in toppm_runs if r.exit_code]
    if failed:
        raise SystemExit(f"bench_scan: pdftoppm failed on {pdf.name}: {failed[0].stderr_tail}")
    statuses = Counter(str(r["status"]) for r in records)
    return Row(pages, pdf.stat().st_size / 1e6, best(toppm_runs), best(scan_runs), statuses,
               len(records))


# ---------------------------------------------------------------------------------- report


HEADERS = ("pages", "PDF MB", "pdftoppm s", "pdftoppm MB", "scan s", "scan CPU s", "pages/s",
           "ms/page", "scan/pdftoppm", "scan peak MB", "statuses")


def table_cells(row: Row) -> tuple[str, ...]:
    statuses = " ".join(f"{s}:{n}" for s, n in sorted(row.statuses.items()))
    return (str(row.pages), f"{row.pdf_mb:.1f}", f"{row.pdftoppm.seconds:.2f}",
            f"{row.pdftoppm.peak_mb:.0f}", f"{row.scan.seconds:.2f}",
            f"{row.scan.cpu_seconds:.1f}",
            f"{row.pages / row.scan.seconds:.1f}", f"{1000 * row.scan.seconds / row.pages:.0f}",
            f"{row.ratio:.2f}", f"{row.scan.peak_mb:.0f}", statuses)


def format_table(rows: Sequence[Row], markdown: bool) -> str:
    cells = [HEADERS, *(table_cells(r) for r in rows)]
    if markdown:
        lines = ["| " + " | ".join(c) + " |" for c in cells]
        lines.insert(1, "|" + "|".join("---:" for _ in HEADERS[:-1]) + "|:---|")
        return "\n".join(lines)
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)).rstrip()
                     for c in cells)


def verdicts(rows: Sequence[Row]) -> list[str]:
    """One line per target and per sanity check: met or missed, with the figures."""
    lines = []
    worst = max(r.ratio for r in rows)
    lines.append(f"{'met' if worst <= RATIO_TARGET else 'MISSED'}: scan time <= "
                 f"{RATIO_TARGET:.2f} x pdftoppm time (worst {worst:.2f})")
    peaks = [r.scan.peak_mb for r in rows]
    lines.append(f"{'met' if max(peaks) < PEAK_MB_TARGET else 'MISSED'}: scan peak memory < "
                 f"{PEAK_MB_TARGET:.0f} MB (max {max(peaks):.0f} MB)")
    spread = max(peaks) / min(peaks) - 1
    lines.append(f"{'met' if spread <= 0.1 else 'MISSED'}: peak memory about equal across page "
                 f"counts ({min(peaks):.0f}-{max(peaks):.0f} MB, spread {spread:.0%})")
    for r in rows:
        good = r.statuses["ok"] + r.statuses["review"]
        sane = r.records == r.pages and not r.statuses["error"] and good >= 0.9 * r.pages
        lines.append(f"{'ok' if sane else 'SUSPECT'}: {r.pages} pages -> {r.records} records, "
                     f"{good} ok or review, {r.statuses['error']} error")
    return lines


def code_version() -> str:
    """The checkout's commit, marked dirty when tracked source files are edited: scan speed
    follows the code being measured."""
    root = Path(__file__).resolve().parent.parent
    try:
        return subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def log(message: str) -> None:
    print(f"bench_scan: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", default="30,200,300",
                        help="comma-separated page counts (default: 30,200,300)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per timing; best is kept")
    parser.add_argument("--rebuild", action="store_true",
                        help="render the page scans and build the PDFs again")
    parser.add_argument("--distinct", type=int, default=0,
                        help="cycle through this many distinct forms (quick, but the store "
                             "flags the repeats as duplicates); default: every page distinct")
    parser.add_argument("--build-only", action="store_true",
                        help="build the cached PDFs and stop")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    try:
        counts = sorted({int(n) for n in args.pages.split(",") if n.strip()})
    except ValueError:
        parser.error(f"--pages takes comma-separated page counts, not '{args.pages}'")
    if not counts or min(counts) < 1 or args.repeat < 1 or args.distinct < 0:
        parser.error("--pages needs positive page counts, --repeat at least 1 and --distinct "
                     "at least 0")
    if shutil.which("pdftoppm") is None:
        raise SystemExit("bench_scan: pdftoppm not found (apt-get install poppler-utils)")
    stacks = ensure_stacks(counts, args.distinct, args.rebuild)
    if args.build_only:
        return
    load = os.getloadavg()[0]  # how busy the machine was (raised by a build just done)
    rows = []
    for n in counts:
        log(f"measuring {n} pages ({args.repeat} run(s) each)")
        rows.append(bench_pages(n, stacks[n], args.repeat))
    print(format_table(rows, args.markdown))
    print()
    for line in verdicts(rows):
        print(("- " if args.markdown else "") + line)
    print(f"{'- ' if args.markdown else ''}code {code_version()}, {os.cpu_count()} CPUs, 1-min "
          f"load average before the run {load:.2f}; best of {args.repeat} run(s); peak = max "
          "RSS of the measured process")


if __name__ == "__main__":
    main()
