"""How quickly the review page shows each item on a large store (target: under 200 ms on a
store of 10,000 pages), and how quickly a decision is saved.

    python bench/bench_review.py [--pages 10000] [--flagged 0.25] [--items 60] [--browser]
                                 [--db PATH] [--markdown]

It builds a store of N pages quickly, without scanning: synthetic SRS page records, each with
evidence (an annotated page JPEG and four line crops at 8 px/mm, drawn once with Pillow and
reused), written through Store.save_pages, a file of 100 pages at a time. A share
of the pages (--flagged) waits for a person: items read `uncertain`, `multiple` or `missing`.
With --db the store is kept there and reused when it exists; else it lives in a temporary
folder, deleted afterwards.

It then serves the review page (on a free port of 127.0.0.1, on a thread, as the tests do)
and works through --items decisions the way a reviewer does: open the view the previous
decision led to, fetch its line crop and page image, then post the decision and follow the
answer to the next view. Timed: the first view after the server starts (it builds the
queue of decisions waiting once; later views keep it up to date); then per item: the
view's HTML; the view ready (HTML, then the
line crop and the page image, one after another); the decision's POST (saving it and
finding the next decision). With --browser it also drives Debian's Chromium by keyboard and
reads each view's load time (navigation start to the load event, images included) from the
browser's own Navigation Timing, beside that of a plain-text 404 page from the same server
(what any page costs that browser on that machine). A benchmark, not a test: it reports a
missed target.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageDraw

from srsform.form.layout import CROP_PX_PER_MM, build_layout
from srsform.form.templates import load_template
from srsform.records import Evidence, ItemScore, LineCrop, PageResult
from srsform.report import review
from srsform.report.review_web import running
from srsform.store import Store

TARGET_MS = 200.0
PAGES_PER_FILE = 100
SEED = 10


# --- a large store, quickly -------------------------------------------------------------

def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _evidence_images(layout) -> tuple[bytes, dict[int, bytes]]:
    """An annotated-page stand-in (1000 px high, as the scan keeps it) and a line crop per
    score 0-10, with a tick at that place."""
    page = Image.new("L", (707, 1000), 255)
    draw = ImageDraw.Draw(page)
    scale = 1000 / 297
    for geom in layout.lines:
        y = geom.y_mm * scale
        draw.line([(geom.x0_mm * scale, y), (geom.x1_mm * scale, y)], fill=0, width=2)
    zone = layout.lines[0].mark_zone()
    width, height = round(zone.w_mm * CROP_PX_PER_MM), round(zone.h_mm * CROP_PX_PER_MM)
    crops = {}
    for score in range(11):
        crop = Image.new("L", (width, height), 250)
        draw = ImageDraw.Draw(crop)
        left = (layout.lines[0].x0_mm - zone.x_mm) * CROP_PX_PER_MM
        draw.line([(left, height / 2), (left + 800, height / 2)], fill=20, width=3)
        for end in (left, left + 800):
            draw.line([(end, height / 2 - 20), (end, height / 2 + 20)], fill=20, width=3)
        mark = left + score * 80
        draw.line([(mark - 6, height / 2 + 30), (mark + 6, height / 2 - 30)], fill=40, width=4)
        crops[score] = _jpeg(crop)
    return _jpeg(page), crops


def build_store(db: Path, pages: int, flagged: float) -> float:
    """Write `pages` synthetic page records with evidence; seconds taken."""
    template = load_template("srs")
    layout = build_layout(template)
    page_jpeg, crops = _evidence_images(layout)
    rule = "srs@1.0 nearest_cm_half_up; alliance_concern: total<=36; item_check_in: item<9"
    rng = random.Random(SEED)
    started = time.perf_counter()
    with Store(db) as store:
        for first in range(0, pages, PAGES_PER_FILE):
            count = min(PAGES_PER_FILE, pages - first)
            name = f"bench/stack-{first // PAGES_PER_FILE:04d}.pdf"
            source = store.add_source(hashlib.sha256(name.encode()).hexdigest(), name,
                                      count * 500_000, count)
            store.save_pages(source, [
                _page(first + page, name, page, layout, rule, rng, rng.random() < flagged,
                      page_jpeg, crops) for page in range(1, count + 1)])
    return time.perf_counter() - started


def _page(number: int, name: str, page: int, layout, rule: str, rng: random.Random,
          flag: bool, page_jpeg: bytes, crops: dict[int, bytes]) -> PageResult:
    items, line_crops, reasons = [], [], []
    doubtful = rng.sample(range(4), rng.choice((1, 1, 2))) if flag else []
    for n, geom in enumerate(layout.lines):
        mm = round(rng.uniform(60, 100), 1)
        score = int(mm / 10 + 0.5)
        status, confidence = "ok", round(rng.uniform(0.85, 0.99), 2)
        if n in doubtful:
            status = rng.choice(("uncertain", "uncertain", "multiple", "missing"))
            confidence = round(rng.uniform(0.3, 0.6), 2)
            reasons.append(f"{geom.key}: " + {
                "uncertain": "mark shape is irregular (smudge or scribble?)",
                "multiple": "2 marks on the line (at 57 mm, 78 mm)",
                "missing": "no mark on the line"}[status])
        reading = (mm, score) if status in ("ok", "uncertain") else (None, None)
        items.append(ItemScore(geom.key, *reading, status, confidence, ()))
        zone = geom.mark_zone()
        line_crops.append(LineCrop(geom.key, crops[score], zone.x_mm, geom.x0_mm, geom.x1_mm,
                                   geom.x0_mm + mm if reading[0] is not None else None))
    scores = [item.score for item in items]
    total = None if None in scores else sum(scores)
    return PageResult(
        source=name, page=page, status="review" if flag else "ok", template="srs",
        layout=layout.layout_id, serial=f"BENCH{number:07d}", client=f"C{number % 900:04d}",
        session=number % 30 + 1, rotation=0, print_scale=1.0, items=tuple(items),
        total=total, flags=(), rule=rule, reasons=tuple(reasons),
        image_sha256=hashlib.sha256(f"{name}:{page}".encode()).hexdigest(),
        evidence=Evidence(page_jpeg, tuple(line_crops)))


# --- timing the review page ------------------------------------------------------------------

def _get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.geturl(), answer.read()


def _timed(step: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = step()
    return (time.perf_counter() - started) * 1000, result


def _view_data(page: bytes) -> dict:
    text = page.decode()
    start = text.index('<script type="application/json" id="data">') + 42
    return json.loads(text[start:text.index("</script>", start)].replace("<\\/", "</"))


def measure_http(url: str, items: int) -> dict[str, list[float]]:
    """Work through `items` decisions over HTTP; per-item times in ms."""
    origin = url.split("/", 3)
    root = f"{origin[0]}//{origin[2]}"
    times: dict[str, list[float]] = {"view html": [], "view ready": [], "decision": []}
    # Opening the page builds the queue once (the views after it keep it up to date).
    open_ms, (address, page) = _timed(lambda: _get(url))
    times["first view after start"] = [open_ms]
    for _ in range(items):
        html_ms, (address, page) = _timed(lambda a=address: _get(a))
        data = _view_data(page)
        crop = f"{root}{data['urls']['here'].rsplit('/item/', 1)[0]}/crop/{data['page_id']}/"
        images_ms, _ = _timed(lambda d=data, c=crop: (_get(c + d["key"]), _get(
            f"{root}{d['urls']['here'].rsplit('/item/', 1)[0]}/evidence/{d['page_id']}")))
        times["view html"].append(html_ms)
        times["view ready"].append(html_ms + images_ms)
        body = {"page_id": data["page_id"], "key": data["key"], "seen": data["seen"],
                "who": "bench", "why": "benchmark", **(
                    {"action": "accept"} if data["can_accept"] else
                    {"action": "score", "score": 7})}
        request = urllib.request.Request(
            root + data["urls"]["decide"], data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-CSRF-Token": data["csrf"]})
        post_ms, answer = _timed(lambda r=request: json.loads(urllib.request.urlopen(
            r, timeout=30).read()))
        times["decision"].append(post_ms)
        address = root + answer["next"]  # type: ignore[index]
    return times


def measure_browser(url: str, items: int) -> dict[str, list[float]]:
    """Decide `items` items by keyboard in Chromium; each view's load time (navigation start
    to load event, images included) and the time from the key to the next view loaded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1360,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    times: dict[str, list[float]] = {"browser: plain 404 page loaded": [],
                                     "browser: response": [], "browser: view loaded": [],
                                     "browser: key to view loaded": []}
    timing = ("const n = performance.getEntriesByType('navigation')[0];"
              "return [n.responseEnd - n.startTime, n.loadEventEnd - n.startTime];")
    try:
        for _ in range(20):  # the browser's own cost of a page, for comparison
            driver.get(url + "no-such-page")
            times["browser: plain 404 page loaded"].append(driver.execute_script(timing)[1])
        driver.get(url)
        ActionChains(driver).send_keys("bench", Keys.ENTER).perform()
        for _ in range(items):
            before = driver.current_url
            data = driver.execute_script(
                "return JSON.parse(document.getElementById('data').textContent)")
            started = time.perf_counter()
            ActionChains(driver).send_keys(Keys.ENTER if data["can_accept"] else "7").perform()
            WebDriverWait(driver, 30, poll_frequency=0.005).until(
                lambda d, b=before: d.current_url != b
                and d.execute_script("return document.readyState") == "complete")
            times["browser: key to view loaded"].append((time.perf_counter() - started) * 1000)
            response, loaded = driver.execute_script(timing)
            times["browser: response"].append(response)
            times["browser: view loaded"].append(loaded)
    finally:
        driver.quit()
    return times


# --- the report ---------------------------------------------------------------------------

@contextmanager
def _store_at(db: str | None) -> Iterator[Path]:
    if db:
        yield Path(db)
        return
    with tempfile.TemporaryDirectory(prefix="srsform-bench-review-") as folder:
        yield Path(folder) / "bench.db"


def _commit() -> str:
    here = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=here,
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown"
    return rev


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--flagged", type=float, default=0.25,
                        help="share of pages waiting for a person")
    parser.add_argument("--items", type=int, default=60, help="decisions to time")
    parser.add_argument("--db", help="keep the store here (reused when it exists)")
    parser.add_argument("--browser", action="store_true",
                        help="also time the views in Chromium (Debian's chromium-driver)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    with _store_at(args.db) as db:
        if db.exists():
            print(f"reusing the store {db}", file=sys.stderr)
        else:
            seconds = build_store(db, args.pages, args.flagged)
            print(f"built {args.pages} pages in {seconds:.1f} s ({db})", file=sys.stderr)
        with Store(db) as store:
            pages = store.counts()["pages"]
            queue_ms, queue = _timed(lambda s=store: review.review_queue(s))
        waiting = len(queue)  # type: ignore[arg-type]
        with running(db) as url:
            times = measure_http(url, args.items)
            if args.browser:
                times |= measure_browser(url, args.items)
    load = os.getloadavg()[0]
    rows = []
    for name, values in times.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        rows.append((name, len(values), statistics.median(values), p95, max(values)))
    header = (f"{pages} pages, {waiting} decisions waiting; review_queue alone "
              f"{queue_ms:.0f} ms; commit {_commit()}; load average {load:.2f}")
    if args.markdown:
        print(header + "\n\n| timed | n | median ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|")
        for name, n, median, p95, worst in rows:
            print(f"| {name} | {n} | {median:.0f} | {p95:.0f} | {worst:.0f} |")
    else:
        print(header)
        for name, n, median, p95, worst in rows:
            print(f"{name:28s} n={n:3d}  median {median:6.1f} ms  p95 {p95:6.1f} ms  "
                  f"max {worst:6.1f} ms")
    ready = [r for r in rows if r[0] in ("view ready", "browser: view loaded")]
    for name, _, _, p95, _ in ready:
        verdict = "met" if p95 < TARGET_MS else "MISSED"
        print(f"{verdict}: {name} p95 {p95:.0f} ms (target < {TARGET_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
