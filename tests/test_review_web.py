"""The review page in the browser: its gate (token, CSRF), two reviewers at once, and a
flagged stack cleared by keyboard alone in Debian's Chromium, checked in the store and the
export. The server runs on a thread, on a free port of 127.0.0.1, and is always stopped."""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from srsform.cli import main
from srsform.errors import ExitCode
from srsform.report import review
from srsform.report.review_web import DEFAULT_REASONS, running
from srsform.store import Store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOT = "review-page.png"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def served(samples_db: Path) -> Iterator[str]:
    """The review page of a copy of the scanned samples: its address, with the token."""
    with running(samples_db, who="ana") as url:
        yield url


def _request(url: str, method: str = "GET", body: dict | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, answer.read().decode("latin-1")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("latin-1")


def _view_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert found, page[:500]
    return json.loads(found.group(1).replace("<\\/", "</"))


def _trail(db: Path) -> list:
    with Store(db) as store:
        return store.corrections()


# --- the gate -------------------------------------------------------------------------------

def test_a_request_without_the_token_is_refused(served: str) -> None:
    root = served.rsplit("/", 2)[0]  # http://127.0.0.1:PORT
    token = served.rstrip("/").rsplit("/", 1)[1]
    wrong = token[:-1] + ("x" if token[-1] != "x" else "y")
    for url in (root + "/", f"{root}/item/1/overall", f"{root}/{wrong}/",
                f"{root}/evidence/1", f"{root}/x{token}/"):
        status, text = _request(url)
        assert status == 403, url
        assert "token" in text
    status, page = _request(served)  # with the token: the first decision waiting
    assert status == 200 and "srsform review" in page
    assert "http://" not in page.replace(served.split("/", 3)[2], "")  # no external asset


def test_a_post_without_the_csrf_token_is_refused(served: str, samples_db: Path) -> None:
    first = _view_data(_request(served)[1])
    decision = {"page_id": first["page_id"], "key": first["key"], "action": "missing",
                "who": "mallory", "why": "x", "seen": first["seen"]}
    decide = first["urls"]["decide"]
    base = served.split("/", 3)
    url = f"{base[0]}//{base[2]}{decide}"
    for headers in ({}, {"X-CSRF-Token": "not-the-token"},
                    {"X-CSRF-Token": first["csrf"], "Origin": "http://evil.example"}):
        status, _ = _request(url, "POST", decision, headers)
        assert status == 403, headers
    assert _trail(samples_db) == []
    status, answer = _request(url, "POST", decision, {"X-CSRF-Token": first["csrf"]})
    assert status == 200, answer
    assert [c.who for c in _trail(samples_db)] == ["mallory"]


def test_evidence_is_served_only_as_the_store_names_it(served: str) -> None:
    first = _view_data(_request(served)[1])
    base = served.rstrip("/")
    status, _ = _request(f"{base}/crop/{first['page_id']}/{first['key']}")
    assert status == 200
    for path in ("/crop/1/..%2F..%2Fs.db", "/crop/1/nosuchitem", "/evidence/9999",
                 "/../s.db", "/static/s.db"):
        assert _request(base + path)[0] in (403, 404), path


def test_two_reviewers_never_overwrite_each_other_unseen(served: str, samples_db: Path) -> None:
    # Both open the same item; the first decision is kept, the second is refused (409) and
    # says who decided and what; deciding again on what is now shown is appended on top.
    view = _view_data(_request(served)[1])
    base = served.split("/", 3)
    url = f"{base[0]}//{base[2]}{view['urls']['decide']}"
    headers = {"X-CSRF-Token": view["csrf"]}

    def decision(who: str, score: int, seen: int) -> dict:
        return {"page_id": view["page_id"], "key": view["key"], "action": "score",
                "score": score, "who": who, "why": "paper", "seen": seen}

    assert _request(url, "POST", decision("ana", 7, view["seen"]), headers)[0] == 200
    status, answer = _request(url, "POST", decision("ben", 6, view["seen"]), headers)
    assert status == 409
    assert "ana decided" in json.loads(answer)["error"]
    assert [(c.who, c.new_score) for c in _trail(samples_db)] == [("ana", 7)]
    latest = _trail(samples_db)[-1].id
    assert _request(url, "POST", decision("ben", 6, latest), headers)[0] == 200
    assert [(c.who, c.new_score) for c in _trail(samples_db)] == [("ana", 7), ("ben", 6)]


def test_a_page_in_doubt_itself_is_decided_as_a_whole(samples_db: Path, sample_scans: Path,
                                                      tmp_path: Path) -> None:
    again = tmp_path / "again.jpg"  # the same photo as another file: a duplicate page
    again.write_bytes((sample_scans / "photo-009.jpg").read_bytes() + b"\0")
    CliRunner().invoke(main, ["-q", "scan", str(again), "--db", str(samples_db), "-o", "-"])
    with Store(samples_db) as store:
        entry = next(e for e in review.review_queue(store) if e.page.source == str(again))
    assert entry.key is None
    with running(samples_db) as url:
        status, page = _request(f"{url}page/{entry.page.page_id}")
        assert status == 200 and "The page itself" in page and "already read" in page
        view = _view_data(page)
        assert view["is_page"] and view["can_accept"] and view["key"] == review.PAGE_KEY
        base = url.split("/", 3)
        status, answer = _request(f"{base[0]}//{base[2]}{view['urls']['decide']}", "POST", {
            "page_id": view["page_id"], "key": view["key"], "action": "accept", "who": "ana",
            "why": "two clients, one photo?", "seen": view["seen"]},
            {"X-CSRF-Token": view["csrf"]})
        assert status == 200, answer
        # (photo-009's goals_topics holds two marks: a question the page's own is not)
        assert json.loads(answer)["next"].split("?")[0].endswith(f"/item/{entry.page.page_id}"
                                                                 "/goals_topics")
    with Store(samples_db) as store:
        left = [e for e in review.review_queue(store) if e.page.page_id == entry.page.page_id]
    assert [e.key for e in left] == ["goals_topics"]


def test_a_score_is_set_from_a_position_in_mm(served: str, samples_db: Path) -> None:
    view = _view_data(_request(served)[1])
    base = served.split("/", 3)
    url = f"{base[0]}//{base[2]}{view['urls']['decide']}"
    headers = {"X-CSRF-Token": view["csrf"]}

    def decision(mm: str) -> dict:
        return {"page_id": view["page_id"], "key": view["key"], "action": "mm", "mm": mm,
                "who": "ana", "why": DEFAULT_REASONS["mm"], "seen": view["seen"]}

    for bad in ("100.5", "-1", "44.55", "x", ""):
        status, answer = _request(url, "POST", decision(bad), headers)
        assert status == 400 and "0-100 mm" in json.loads(answer)["error"], bad
    assert _trail(samples_db) == []
    status, answer = _request(url, "POST", decision("44.9"), headers)
    assert status == 200, answer
    (entry,) = _trail(samples_db)
    assert (entry.item_key, entry.new_score, entry.new_status, entry.why) == (
        view["key"], 4, "ok", f"{DEFAULT_REASONS['mm']} (44.9 mm)")


# --- in a real browser, by keyboard ---------------------------------------------------------

def _browser():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are needed (apt-get install chromium "
                        "chromium-driver; .ci/dev installs them)")
        pytest.skip("no chromium/chromedriver here (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1360,900",
                     "--force-device-scale-factor=1", "--no-first-run"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _keys(driver, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def _settled(driver, before: str) -> dict:
    """Wait for the next view after a key that leaves this one; its data."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(
        lambda d: d.current_url != before
        and d.execute_script("return document.readyState") == "complete")
    return _shown(driver)


def _shown(driver) -> dict:
    return driver.execute_script(
        "const d = document.getElementById('data');"
        "return d ? JSON.parse(d.textContent) : null;") or {}


@pytest.mark.browser
def test_a_flagged_stack_is_cleared_by_keyboard_alone(served: str, samples_db: Path,
                                                      sample_scans: Path,
                                                      tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with Store(samples_db) as store:
        waiting = review.review_queue(store)
    serials = {(e.page.page_id, e.key): e.page.serial for e in waiting}
    assert len(waiting) >= 8
    driver = _browser()
    strokes: list[tuple[str, int]] = []
    try:
        driver.get(served)
        # The name is asked once, the login name offered (selected: typing replaces it).
        name_box = driver.find_element(By.ID, "who-box")
        assert name_box.is_displayed()
        assert driver.find_element(By.ID, "who-input").get_attribute("value") == "ana"
        _keys(driver, "Bea", Keys.ENTER)
        assert not name_box.is_displayed()
        view = _shown(driver)
        assert (view["page_id"], view["key"]) == (waiting[0].page.page_id, waiting[0].key)
        driver.refresh()  # a reload shows the same item, and does not ask the name again
        assert _shown(driver)["urls"]["here"] == view["urls"]["here"]
        assert not driver.find_element(By.ID, "who-box").is_displayed()

        # n goes on without deciding; the skipped item comes round again at the end.
        before = driver.current_url
        _keys(driver, "n")
        view = _settled(driver, before)
        assert (view["page_id"], view["key"]) != (waiting[0].page.page_id, waiting[0].key)

        screenshot = None
        for _ in range(40):
            if not view:
                break
            serial = serials.get((view["page_id"], view["key"]))
            if serial == "SAMP00000012":
                keys = ["x", "x"]  # the whole page is not a form
            elif view["can_accept"]:
                keys = [Keys.ENTER]
            elif serial == "SAMP00000014":
                keys = ["1", "0"]
            elif serial == "SAMP00000018":
                keys = ["m"]
            else:
                keys = ["7"]
            if screenshot is None and serial == "SAMP00000013":  # ink over an end stop
                screenshot = tmp_path / SCREENSHOT
                driver.save_screenshot(str(screenshot))
            strokes.append((view["key"], len(keys)))
            before = driver.current_url
            _keys(driver, *keys)
            view = _settled(driver, before)
            assert "saved=" in driver.current_url
        assert driver.find_element(By.TAG_NAME, "h1").text == "Nothing waits for a person"
        assert screenshot is not None and screenshot.stat().st_size > 10_000
        _keep_screenshot(screenshot)
    finally:
        driver.quit()

    assert max(n for _, n in strokes) <= 2
    with Store(samples_db) as store:
        assert review.review_queue(store) == []
        trail = store.corrections()
    assert len(trail) == len(strokes) < len(waiting)  # one x x settled a whole page
    assert {c.who for c in trail} == {"Bea"}
    assert {c.why for c in trail} <= set(DEFAULT_REASONS.values())
    assert [c.new_status for c in trail if c.item_key == review.PAGE_KEY] == ["not_a_form"]

    exported = CliRunner().invoke(main, ["-q", "export", "--db", str(samples_db)])
    records = {r["serial"]: r for r in map(json.loads, exported.stdout.splitlines())
               if r["serial"]}
    assert records["SAMP00000012"]["status"] == "not_a_form"
    assert {r["status"] for s, r in records.items() if s != "SAMP00000012"} == {"ok"}
    blank = next(i for i in records["SAMP00000015"]["items"] if i["key"] == "goals_topics")
    assert (blank["status"], blank["corrected"]) == ("missing", True)  # a confirmed blank
    ten = next(i for i in records["SAMP00000014"]["items"] if i["key"] == "goals_topics")
    assert (ten["score"], ten["corrected"]) == (10, True)
    for stack in ("stack.pdf", "stack.tif"):  # the scan's exit code follows the decisions
        again = CliRunner().invoke(main, ["-q", "scan", str(sample_scans / stack), "--db",
                                          str(samples_db), "-o", "-"])
        assert again.exit_code == ExitCode.OK, (stack, again.output)


@pytest.mark.browser
def test_r_sets_a_score_from_a_position_typed_in_mm(served: str, samples_db: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = _browser()
    try:
        driver.get(served)
        _keys(driver, "Bea", Keys.ENTER)
        view = _shown(driver)
        assert not view["is_page"]
        field = driver.find_element(By.ID, "mm-input")
        before = driver.current_url
        _keys(driver, "r")
        assert driver.switch_to.active_element == field
        _keys(driver, "101", Keys.ENTER)  # refused on the page (nothing is sent), to retype
        assert "0-100 mm" in driver.find_element(By.ID, "status").text
        _keys(driver, "45", Keys.ENTER)
        _settled(driver, before)
        assert "saved=" in driver.current_url
        assert "(45.0 mm)" in driver.find_element(By.CLASS_NAME, "saved").text
    finally:
        driver.quit()
    (entry,) = _trail(samples_db)
    assert (entry.page_id, entry.item_key, entry.who) == (view["page_id"], view["key"], "Bea")
    assert (entry.new_score, entry.new_status) == (5, "ok")  # 45.0 mm: halves up
    assert entry.why == f"{DEFAULT_REASONS['mm']} (45.0 mm)"


def _keep_screenshot(path: Path) -> None:
    """SRSFORM_SCREENSHOTS=folder keeps the screenshot there, in 256 colours to stay small
    (the README shows docs/review-page.png)."""
    folder = os.environ.get("SRSFORM_SCREENSHOTS")  # relative: to the checkout
    if folder:
        from PIL import Image

        with Image.open(path) as shot:
            shot.convert("RGB").quantize(256).save(ROOT / folder / path.name, optimize=True)
