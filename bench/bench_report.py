"""Speed of `srsform alerts` and `srsform report` on a large store: 5,000 clients with an ORS
and an SRS per session, written straight into a store (no images, no scanning).

    python bench/bench_report.py [--clients 5000] [--sessions 20] [--repeat 3] [--rebuild]

The store is built once per size (cached in bench/out/report-<clients>x<sessions>.db)
through the store's own writes (Store.save_pages, Store.record_printed), so the pages, the
printed-forms register and their indexes are what a scan would have left. Each client's ORS
follows its own drift from a random intake; the SRS sits mostly at 34-40 with dips; about 2%
of forms never came back (missing sessions) and 1% wait for review (an uncertain item).

Then, in the same run, it measures the wall time of the commands as a person runs them
(a fresh process each time, so Python's start-up and imports are in the figure) and, in this
process, the time of the same work without start-up:
  - alerts for all clients: `srsform alerts --all -o alerts.csv` (target: under 10 s);
  - the last scan's alerts: `srsform alerts -o last.csv` (the last batch written);
  - one client's report: `srsform report --client C... -o one.pdf` (target: under 1 s), and
    the same as HTML and JSON.
Each timing is the best of --repeat runs. A benchmark, not a test: it reports a missed target
and does not fail on it.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# The test-data writers live with the tests, not in the shipped package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from srsform.records import PageFilter
from srsform.report.clinician import build_reports, dated_alerts, last_scan_alerts
from srsform.store import Store
from support.sessions import SessionForm, page_result, printed_form

OUT_DIR = Path(__file__).resolve().parent / "out"
SEED = 12
CLIENTS_PER_BATCH = 250  # clients written per transaction (one source file each batch)
ALERTS_TARGET_S = 10.0
REPORT_TARGET_S = 1.0


def client_forms(rng: random.Random, client: str, sessions: int) -> Iterator[SessionForm]:
    """One synthetic client's ORS and SRS forms, session by session."""
    ors = rng.uniform(8, 34)
    drift = rng.gauss(0.3, 0.7)
    for session in range(1, sessions + 1):
        ors = min(40.0, max(0.0, ors + drift + rng.gauss(0, 2.0)))
        srs = 40 - min(40, int(abs(rng.gauss(0, 2.5))) + (rng.random() < 0.1) * 6)
        for template, total in (("ors", round(ors)), ("srs", srs)):
            if rng.random() < 0.02:
                continue  # this form never came back
            scores = _spread(total, rng)
            statuses = None
            if rng.random() < 0.01:  # one item read with doubt: the form waits for review
                statuses = ["ok"] * 4
                statuses[rng.randrange(4)] = "uncertain"
            yield SessionForm(client, template, session, scores, statuses)


def _spread(total: int, rng: random.Random) -> list[int]:
    """Four item scores 0-10 adding up to `total`."""
    scores = [total // 4 + (1 if i < total % 4 else 0) for i in range(4)]
    for _ in range(2):
        i, j = rng.sample(range(4), 2)
        if scores[i] < 10 and scores[j] > 0:
            scores[i] += 1
            scores[j] -= 1
    return scores


def build_store(path: Path, clients: int, sessions: int) -> int:
    """Write the synthetic clinic into a new store at `path`; the number of pages."""
    for old in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        old.unlink(missing_ok=True)
    rng = random.Random(SEED)
    pages = 0
    with Store(path) as store:
        for first in range(0, clients, CLIENTS_PER_BATCH):
            forms = [form for n in range(first, min(clients, first + CLIENTS_PER_BATCH))
                     for form in client_forms(rng, f"C{100000 + n}", sessions)]
            source = f"batch-{first // CLIENTS_PER_BATCH + 1:03d}.pdf"
            source_id = store.add_source(f"bench:{source}", source, 0, len(forms))
            store.record_printed([printed_form(form) for form in forms])
            store.start_run()  # each batch is a scan run: the last one is "the last scan"
            store.save_pages(source_id, [page_result(form, source, i)
                                         for i, form in enumerate(forms, start=1)])
            pages += len(forms)
            print(f"\r  {pages} pages", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return pages


def best_of(repeat: int, work: Callable[[], object]) -> tuple[float, float]:
    """The fastest of `repeat` runs: (wall seconds, CPU seconds of this process and of the
    commands it ran)."""
    runs = []
    for _ in range(repeat):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, started = time.process_time(), time.perf_counter()
        work()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = (time.process_time() - cpu + after.ru_utime - children.ru_utime
                 + after.ru_stime - children.ru_stime)
        runs.append((wall, spent))
    return min(runs)


def command(*args: str) -> Callable[[], object]:
    srsform = Path(sys.executable).with_name("srsform")
    return lambda: subprocess.run([str(srsform), "-q", *args], check=True,
                                  stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    OUT_DIR.mkdir(exist_ok=True)
    db = OUT_DIR / f"report-{args.clients}x{args.sessions}.db"
    if args.rebuild or not db.exists():
        started = time.perf_counter()
        pages = build_store(db, args.clients, args.sessions)
        print(f"built {db.name}: {pages} pages in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    with Store(db) as store:
        pages = store.counts()["pages"]
        one = store.clients()[args.clients // 2]
    out = OUT_DIR / "bench-report"
    out.mkdir(exist_ok=True)
    print(f"store: {pages} pages, {args.clients} clients x {args.sessions} sessions "
          f"(ORS + SRS); 1-minute load average before: {os.getloadavg()[0]:.2f}")

    print("\n| measured | command, wall (CPU) | in-process, wall (CPU) | target |")
    print("|---|---|---|---|")
    def measure(what: str, target: float | None, cli: Callable[[], object],
                inproc: Callable[[], object]) -> None:
        wall, cpu = best_of(args.repeat, cli)
        work, work_cpu = best_of(args.repeat, inproc)
        verdict = "" if target is None else (
            "meets" if wall < target else "misses") + f" < {target:g} s"
        print(f"| {what} | {wall:.2f} s ({cpu:.2f} s CPU) | {work:.2f} s ({work_cpu:.2f} s "
              f"CPU) | {verdict} |", flush=True)

    # As the commands open it: `report` and `alerts` skip the whole-store integrity check
    # (about 1 s per 140 MB), which would otherwise swamp the in-process figures.
    def all_alerts() -> int:
        with Store(db, check=False) as store:
            return len(dated_alerts(store, PageFilter()).alerts)

    def last_alerts() -> int:
        with Store(db, check=False) as store:
            found = last_scan_alerts(store)
            return len(found.alerts) if found else 0

    def one_report(fmt: str) -> Callable[[], object]:
        def run() -> None:
            with Store(db, check=False) as store:
                reports = build_reports(store, [one])
            if fmt == "pdf":
                from srsform.report.clinician_pdf import write_report_pdf

                write_report_pdf(reports, io.BytesIO())
            elif fmt == "html":
                from srsform.report.clinician_html import write_report_html

                write_report_html(reports, io.StringIO())
        return run

    measure("alerts, all clients (--all -o alerts.csv)", ALERTS_TARGET_S,
            command("alerts", "--all", "--db", str(db), "-o", str(out / "alerts.csv")),
            all_alerts)
    measure("alerts, the last scan (-o last.csv)", None,
            command("alerts", "--db", str(db), "-o", str(out / "last.csv")), last_alerts)
    for fmt in ("pdf", "html", "json"):
        measure(f"one client's report ({fmt})", REPORT_TARGET_S,
                command("report", "--client", one, "--db", str(db), "-o",
                        str(out / f"one.{fmt}")), one_report(fmt))
    print(f"\n1-minute load average after: {os.getloadavg()[0]:.2f}")
    with Store(db) as store:
        counted = len(dated_alerts(store, PageFilter()).alerts)
    print(f"alerts raised over all sessions: {counted}")


if __name__ == "__main__":
    main()
